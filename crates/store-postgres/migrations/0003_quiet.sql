-- Org policies, do-not-disturb, held messages and reminders.

-- The org's rules as JSON (`kolokol_proto::OrgPolicy`); '{}' is every default.
ALTER TABLE orgs ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';

-- A user's do-not-disturb: direct messages to them wait until `until`.
CREATE TABLE do_not_disturb (
    user_id         BIGINT PRIMARY KEY REFERENCES users (id),
    until           BIGINT NOT NULL
);

-- Messages held by quiet hours or do-not-disturb, delivered at `release_at` through the normal
-- send path (so a release that runs twice is deduplicated by `client_msg_id`).
CREATE TABLE held_messages (
    id              BIGSERIAL PRIMARY KEY,
    chat_id         BIGINT NOT NULL REFERENCES chats (id),
    sender_id       BIGINT NOT NULL REFERENCES users (id),
    client_msg_id   TEXT NOT NULL,
    text            TEXT NOT NULL,
    reply_to        BIGINT,
    request_ack     BOOLEAN NOT NULL,
    reason          TEXT NOT NULL,
    release_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (chat_id, sender_id, client_msg_id)
);
CREATE INDEX held_messages_by_release ON held_messages (release_at);

-- When readers who had not read a message were last reminded of it.
CREATE TABLE reminders (
    chat_id         BIGINT NOT NULL REFERENCES chats (id),
    seq             BIGINT NOT NULL,
    reminded_at     BIGINT NOT NULL,
    PRIMARY KEY (chat_id, seq)
);
