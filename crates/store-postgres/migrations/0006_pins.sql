-- The message pinned at the top of a chat (at most one per chat).

CREATE TABLE pins (
    chat_id         BIGINT PRIMARY KEY REFERENCES chats (id),
    seq             BIGINT NOT NULL,
    pinned_by       BIGINT NOT NULL REFERENCES users (id),
    pinned_at       BIGINT NOT NULL
);
