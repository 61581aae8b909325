-- Moderation: messages members report to their org's queue, and the org's audit log.

-- The reported text is kept as it was when reported: the reporter chose to show it to the
-- org's admins, and the author may edit or delete it afterwards.
CREATE TABLE reports (
    id              BIGSERIAL PRIMARY KEY,
    org_id          BIGINT NOT NULL REFERENCES orgs (id),
    chat_id         BIGINT NOT NULL REFERENCES chats (id),
    seq             BIGINT NOT NULL,
    reporter_id     BIGINT NOT NULL REFERENCES users (id),
    author_id       BIGINT NOT NULL REFERENCES users (id),
    text            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    resolved_by     BIGINT REFERENCES users (id),
    resolution      TEXT,
    resolved_at     BIGINT,
    UNIQUE (chat_id, seq, reporter_id)
);
CREATE INDEX open_reports ON reports (org_id, id) WHERE resolved_at IS NULL;

-- Every admin and moderation action in an org: who, what, on what (ids, never message text).
CREATE TABLE audit_log (
    id              BIGSERIAL PRIMARY KEY,
    org_id          BIGINT NOT NULL REFERENCES orgs (id),
    actor_id        BIGINT NOT NULL REFERENCES users (id),
    action          TEXT NOT NULL,
    detail          TEXT NOT NULL,
    at              BIGINT NOT NULL
);
CREATE INDEX audit_log_by_org ON audit_log (org_id, id);
