-- Moderation: messages members report to their org's queue, and the org's audit log.

-- The reported text is kept as it was when reported: the reporter chose to show it to the
-- org's admins, and the author may edit or delete it afterwards.
CREATE TABLE reports (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES orgs (id),
    chat_id         INTEGER NOT NULL REFERENCES chats (id),
    seq             INTEGER NOT NULL,
    reporter_id     INTEGER NOT NULL REFERENCES users (id),
    author_id       INTEGER NOT NULL REFERENCES users (id),
    text            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    resolved_by     INTEGER REFERENCES users (id),
    resolution      TEXT,
    resolved_at     INTEGER,
    UNIQUE (chat_id, seq, reporter_id)
);
CREATE INDEX open_reports ON reports (org_id, id) WHERE resolved_at IS NULL;

-- Every admin and moderation action in an org: who, what, on what (ids, never message text).
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES orgs (id),
    actor_id        INTEGER NOT NULL REFERENCES users (id),
    action          TEXT NOT NULL,
    detail          TEXT NOT NULL,
    at              INTEGER NOT NULL
);
CREATE INDEX audit_log_by_org ON audit_log (org_id, id);
