-- Accounts. Usernames are stored lower-cased, so UNIQUE is case-insensitive uniqueness.
CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    about           TEXT NOT NULL DEFAULT '',
    password_hash   TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    -- The user's own event stream: last position used, and positions pruned so far.
    event_pos       INTEGER NOT NULL DEFAULT 0,
    events_pruned   INTEGER NOT NULL DEFAULT 0
);

-- Only the SHA-256 of a token is kept; times are kept but only dates are ever shown.
CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    token_hash      BLOB NOT NULL UNIQUE,
    device_name     TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE ws_tickets (
    ticket_hash     BLOB PRIMARY KEY,
    session_id      INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    expires_at      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE chats (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('direct', 'group', 'channel')),
    title           TEXT,
    -- "<smaller user id>:<larger user id>" for direct chats, so a pair has one chat.
    direct_key      TEXT UNIQUE,
    created_by      INTEGER NOT NULL REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    member_count    INTEGER NOT NULL DEFAULT 0,
    last_seq        INTEGER NOT NULL DEFAULT 0,
    -- The chat's event stream: last position used, and positions pruned so far.
    event_pos       INTEGER NOT NULL DEFAULT 0,
    events_pruned   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE members (
    chat_id         INTEGER NOT NULL REFERENCES chats(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at       INTEGER NOT NULL,
    -- Position of the event that added this member: their view of the stream starts there.
    joined_pos      INTEGER NOT NULL,
    read_seq        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members(user_id, chat_id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL REFERENCES chats(id),
    seq             INTEGER NOT NULL,
    sender_id       INTEGER NOT NULL REFERENCES users(id),
    client_msg_id   TEXT NOT NULL,
    text            TEXT NOT NULL,
    reply_to        INTEGER,
    -- JSON array of user ids.
    mentions        TEXT NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL,
    edited_at       INTEGER,
    deleted         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (chat_id, seq),
    UNIQUE (chat_id, sender_id, client_msg_id)
);

CREATE TABLE reactions (
    chat_id         INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    emoji           TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (chat_id, seq, emoji, user_id)
) WITHOUT ROWID;

CREATE TABLE invites (
    code            TEXT PRIMARY KEY,
    chat_id         INTEGER NOT NULL REFERENCES chats(id),
    created_by      INTEGER NOT NULL REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    max_uses        INTEGER,
    uses            INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX invites_by_chat ON invites(chat_id);

-- One row per event per chat, never per recipient. Message events point at the message row
-- (msg_seq) and are rendered from its current state, so deleted text is gone from here too.
CREATE TABLE chat_events (
    chat_id         INTEGER NOT NULL,
    pos             INTEGER NOT NULL,
    msg_seq         INTEGER,
    kind            TEXT NOT NULL,
    payload         TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (chat_id, pos)
) WITHOUT ROWID;
CREATE INDEX chat_events_by_time ON chat_events(created_at);

CREATE TABLE user_events (
    user_id         INTEGER NOT NULL,
    pos             INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, pos)
) WITHOUT ROWID;
CREATE INDEX user_events_by_time ON user_events(created_at);
