-- Organisations (schools, universities, property managers, agencies) and their rosters.
CREATE TABLE orgs (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    time_zone       TEXT NOT NULL,
    -- Owns the org's chats, so that no person's account does.
    service_user_id INTEGER NOT NULL REFERENCES users (id),
    created_at      INTEGER NOT NULL
);

-- Org-wide roles given by admins (admin, safeguarding_lead); roster roles live in org_places.
CREATE TABLE org_roles (
    org_id          INTEGER NOT NULL REFERENCES orgs (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    role            TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id, role)
);
CREATE INDEX org_roles_by_user ON org_roles (user_id);

-- Classes and other units; archived, never deleted, when they leave the roster.
CREATE TABLE org_units (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES orgs (id),
    name            TEXT NOT NULL,
    archived_at     INTEGER,
    UNIQUE (org_id, name)
);

-- People of the roster, matched across imports by key; linked to an account once claimed.
CREATE TABLE org_people (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES orgs (id),
    key             TEXT NOT NULL,
    name            TEXT NOT NULL,
    student         INTEGER NOT NULL,
    user_id         INTEGER REFERENCES users (id),
    archived_at     INTEGER,
    UNIQUE (org_id, key)
);
CREATE INDEX org_people_by_user ON org_people (user_id) WHERE user_id IS NOT NULL;

-- What each person is in each unit: student, guardian (detail: the child's key), class_teacher
-- or teacher (detail: subjects).
CREATE TABLE org_places (
    person_id       INTEGER NOT NULL REFERENCES org_people (id),
    unit_id         INTEGER NOT NULL REFERENCES org_units (id),
    role            TEXT NOT NULL,
    detail          TEXT NOT NULL,
    PRIMARY KEY (person_id, unit_id, role, detail)
);

-- The chats an org keeps for itself: per unit, or org-wide when unit_id is NULL.
CREATE TABLE org_chats (
    chat_id         INTEGER PRIMARY KEY REFERENCES chats (id),
    org_id          INTEGER NOT NULL REFERENCES orgs (id),
    unit_id         INTEGER REFERENCES org_units (id),
    purpose         TEXT NOT NULL
);
CREATE INDEX org_chats_by_org ON org_chats (org_id);

-- One-time codes that link an account to a person of the roster. Only the SHA-256 of a code is
-- kept; a person has at most one code at a time (issuing again replaces it).
CREATE TABLE claim_codes (
    code_hash       BLOB PRIMARY KEY,
    person_id       INTEGER NOT NULL UNIQUE REFERENCES org_people (id),
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);

-- Messages whose author asked readers to acknowledge them ("Ознакомлен(а)"), and who did.
CREATE TABLE ack_requests (
    chat_id         INTEGER NOT NULL REFERENCES chats (id),
    seq             INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (chat_id, seq)
);

CREATE TABLE acks (
    chat_id         INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    acked_at        INTEGER NOT NULL,
    PRIMARY KEY (chat_id, seq, user_id),
    FOREIGN KEY (chat_id, seq) REFERENCES ack_requests (chat_id, seq)
);
