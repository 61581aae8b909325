-- Kolokol on PostgreSQL: the same data as the SQLite schema, typed for PostgreSQL.
--
-- Ids are BIGINT identities capped at 2^53 - 1 so JavaScript reads them exactly. Times are BIGINT
-- milliseconds since the epoch. Tokens are never stored, only their SHA-256 (BYTEA, 32 bytes).
--
-- Stream positions (chats.last_seq, chats.event_pos, users.event_pos) are counters on the owning
-- row, never global sequences: a writer takes the next position by updating that row, which
-- row-locks it until commit. So within one stream positions commit in order, and a reader that
-- has seen position 42 can never later discover an uncommitted 41 (see docs/ARCHITECTURE.md,
-- "Event streams and resume cursors"). Identity sequences below only name rows.
--
-- Partitioning: messages, reactions and chat_events are keyed by chat_id first, and no unique
-- index on them lacks chat_id, so each can later be hash-partitioned by chat_id
-- (PARTITION BY HASH (chat_id)) without changing a query. messages.id is a global identity for
-- display only; it deliberately has no unique index of its own.

-- Rows whose counters move on every write (users, chats, members) leave room on their pages
-- (fillfactor 80) so those updates stay HOT: no index entry is written for them.

-- Accounts. Usernames are stored lower-cased, so UNIQUE is case-insensitive uniqueness.
CREATE TABLE users (
    id              BIGINT GENERATED ALWAYS AS IDENTITY (MAXVALUE 9007199254740991) PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    about           TEXT NOT NULL DEFAULT '',
    password_hash   TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    -- The user's own event stream: last position used, and positions pruned so far.
    event_pos       BIGINT NOT NULL DEFAULT 0,
    events_pruned   BIGINT NOT NULL DEFAULT 0
) WITH (fillfactor = 80);

-- Only the SHA-256 of a token is kept; times are kept but only dates are ever shown.
CREATE TABLE sessions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY (MAXVALUE 9007199254740991) PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users(id),
    token_hash      BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    device_name     TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE ws_tickets (
    ticket_hash     BYTEA PRIMARY KEY CHECK (octet_length(ticket_hash) = 32),
    session_id      BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX ws_tickets_by_session ON ws_tickets(session_id);
CREATE INDEX ws_tickets_by_expiry ON ws_tickets(expires_at);

CREATE TABLE chats (
    id              BIGINT GENERATED ALWAYS AS IDENTITY (MAXVALUE 9007199254740991) PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('direct', 'group', 'channel')),
    title           TEXT,
    -- "<smaller user id>:<larger user id>" for direct chats, so a pair has one chat.
    direct_key      TEXT UNIQUE,
    created_by      BIGINT NOT NULL REFERENCES users(id),
    created_at      BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL,
    member_count    BIGINT NOT NULL DEFAULT 0,
    -- The newest message's seq; the next send takes last_seq + 1 while holding this row's lock.
    last_seq        BIGINT NOT NULL DEFAULT 0,
    -- The chat's event stream: last position used, and positions pruned so far.
    event_pos       BIGINT NOT NULL DEFAULT 0,
    events_pruned   BIGINT NOT NULL DEFAULT 0
) WITH (fillfactor = 80);

CREATE TABLE members (
    chat_id         BIGINT NOT NULL REFERENCES chats(id),
    user_id         BIGINT NOT NULL REFERENCES users(id),
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at       BIGINT NOT NULL,
    -- Position of the event that added this member: their view of the stream starts there.
    joined_pos      BIGINT NOT NULL,
    read_seq        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (chat_id, user_id)
) WITH (fillfactor = 80);
CREATE INDEX members_by_user ON members(user_id, chat_id);

-- Keyed by (chat_id, seq); ready for PARTITION BY HASH (chat_id), see the top of this file.
CREATE TABLE messages (
    chat_id         BIGINT NOT NULL REFERENCES chats(id),
    seq             BIGINT NOT NULL,
    id              BIGINT GENERATED ALWAYS AS IDENTITY (MAXVALUE 9007199254740991),
    sender_id       BIGINT NOT NULL REFERENCES users(id),
    client_msg_id   TEXT NOT NULL,
    text            TEXT NOT NULL,
    reply_to        BIGINT,
    mentions        BIGINT[] NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL,
    edited_at       BIGINT,
    deleted         BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (chat_id, seq),
    -- Idempotent sends; includes chat_id, so it stays valid on a partitioned table.
    UNIQUE (chat_id, sender_id, client_msg_id)
);

CREATE TABLE reactions (
    chat_id         BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    user_id         BIGINT NOT NULL,
    emoji           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (chat_id, seq, emoji, user_id)
);

CREATE TABLE invites (
    code            TEXT PRIMARY KEY,
    chat_id         BIGINT NOT NULL REFERENCES chats(id),
    created_by      BIGINT NOT NULL REFERENCES users(id),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    max_uses        BIGINT,
    uses            BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX invites_by_chat ON invites(chat_id);

-- One row per event per chat, never per recipient. Message events point at the message row
-- (msg_seq) and are rendered from its current state, so deleted text is gone from here too.
-- Keyed by (chat_id, pos); ready for PARTITION BY HASH (chat_id).
CREATE TABLE chat_events (
    chat_id         BIGINT NOT NULL,
    pos             BIGINT NOT NULL,
    msg_seq         BIGINT,
    kind            TEXT NOT NULL,
    payload         TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (chat_id, pos)
);
CREATE INDEX chat_events_by_time ON chat_events(created_at);

CREATE TABLE user_events (
    user_id         BIGINT NOT NULL,
    pos             BIGINT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, pos)
);
CREATE INDEX user_events_by_time ON user_events(created_at);

-- Locks a chat for a change by one of its members and returns the chat with that member's role;
-- no row when the user is not a member (then nothing is locked).
--
-- The lock comes first and membership is read by a later statement: under READ COMMITTED each
-- statement sees everything committed before it started, so once the lock is held the role read
-- is the current one (a single locking join would re-check a stale membership row after waiting).
-- Every change to a chat's members, roles, messages or stream happens under this lock, so rules
-- checked against what this returns cannot be raced.
CREATE FUNCTION kolokol_lock_chat(p_chat BIGINT, p_user BIGINT)
RETURNS TABLE (
    id BIGINT, kind TEXT, title TEXT, member_count BIGINT, last_seq BIGINT, created_at BIGINT,
    last_activity_at BIGINT, event_pos BIGINT, role TEXT
)
LANGUAGE plpgsql AS $$
BEGIN
    -- Outsiders take no lock at all.
    PERFORM 1 FROM members m WHERE m.chat_id = p_chat AND m.user_id = p_user;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM 1 FROM chats c WHERE c.id = p_chat FOR NO KEY UPDATE;
    RETURN QUERY
        SELECT c.id, c.kind, c.title, c.member_count, c.last_seq, c.created_at,
               c.last_activity_at, c.event_pos, m.role
        FROM chats c JOIN members m ON m.chat_id = c.id AND m.user_id = p_user
        WHERE c.id = p_chat;
END;
$$;

-- Sends a message in one round trip: the hot path.
--
-- Under the chat's row lock, in this order: membership, a repeated client_msg_id (which returns
-- the original and takes no seq, so concurrent duplicates, even from two nodes, store one message
-- and seqs stay gap-free), the posting rule, reply_to, then seq and event position from the chat
-- row's counters. The posting rule itself lives in kolokol_domain::permissions: the caller passes
-- the 'kind:role' pairs that rule allows (p_may_post) and, when refused, asks the rule for its
-- exact refusal.
--
-- o_outcome is one of: 'created', 'repeated' (o_seq names the original), 'not_member',
-- 'refused' (o_kind and o_role say why), 'bad_reply'.
CREATE FUNCTION kolokol_send(
    p_chat BIGINT, p_sender BIGINT, p_client_msg_id TEXT, p_text TEXT, p_reply_to BIGINT,
    p_mentioned TEXT[], p_may_post TEXT[], p_now BIGINT,
    OUT o_outcome TEXT, OUT o_kind TEXT, OUT o_role TEXT, OUT o_id BIGINT, OUT o_seq BIGINT,
    OUT o_pos BIGINT, OUT o_mentions BIGINT[]
)
LANGUAGE plpgsql AS $$
DECLARE
    v_last_seq BIGINT;
BEGIN
    PERFORM 1 FROM members m WHERE m.chat_id = p_chat AND m.user_id = p_sender;
    IF NOT FOUND THEN
        o_outcome := 'not_member';
        RETURN;
    END IF;
    SELECT c.kind, c.last_seq INTO o_kind, v_last_seq
    FROM chats c WHERE c.id = p_chat FOR NO KEY UPDATE;
    -- Read again under the lock: the sender may have been removed while we waited.
    SELECT m.role INTO o_role FROM members m WHERE m.chat_id = p_chat AND m.user_id = p_sender;
    IF NOT FOUND THEN
        o_outcome := 'not_member';
        RETURN;
    END IF;
    SELECT x.seq INTO o_seq FROM messages x
    WHERE x.chat_id = p_chat AND x.sender_id = p_sender AND x.client_msg_id = p_client_msg_id;
    IF FOUND THEN
        o_outcome := 'repeated';
        RETURN;
    END IF;
    IF NOT (o_kind || ':' || o_role) = ANY (p_may_post) THEN
        o_outcome := 'refused';
        RETURN;
    END IF;
    IF p_reply_to IS NOT NULL AND (p_reply_to < 1 OR p_reply_to > v_last_seq) THEN
        o_outcome := 'bad_reply';
        RETURN;
    END IF;
    o_mentions := ARRAY(
        SELECT u.id FROM unnest(p_mentioned) WITH ORDINALITY AS n(name, ord)
        JOIN users u ON u.username = n.name
        ORDER BY n.ord
    );
    UPDATE chats c
    SET last_seq = c.last_seq + 1, last_activity_at = p_now, event_pos = c.event_pos + 1
    WHERE c.id = p_chat
    RETURNING c.last_seq, c.event_pos INTO o_seq, o_pos;
    INSERT INTO messages (chat_id, seq, sender_id, client_msg_id, text, reply_to, mentions, created_at)
    VALUES (p_chat, o_seq, p_sender, p_client_msg_id, p_text, p_reply_to, o_mentions, p_now)
    RETURNING messages.id INTO o_id;
    INSERT INTO chat_events (chat_id, pos, msg_seq, kind, payload, created_at)
    VALUES (p_chat, o_pos, o_seq, 'message.new', NULL, p_now);
    -- What you wrote yourself is read.
    UPDATE members m SET read_seq = o_seq WHERE m.chat_id = p_chat AND m.user_id = p_sender;
    o_outcome := 'created';
END;
$$;
