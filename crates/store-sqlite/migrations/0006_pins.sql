-- The message pinned at the top of a chat (at most one per chat).

CREATE TABLE pins (
    chat_id         INTEGER PRIMARY KEY REFERENCES chats (id),
    seq             INTEGER NOT NULL,
    pinned_by       INTEGER NOT NULL REFERENCES users (id),
    pinned_at       INTEGER NOT NULL
);
