-- End-to-end encryption (MLS, RFC 9420). The server relays ciphertext it cannot read and keeps only
-- what a delivery service must: devices' public keys and key packages, each group's epoch and who
-- holds which leaf, and Welcomes until their devices take them.

ALTER TABLE chats ADD COLUMN privacy TEXT NOT NULL DEFAULT 'community'
    CHECK (privacy IN ('community', 'encrypted'));          -- fixed at creation: nothing updates it

-- A device is a session that publishes key packages; revoking the session revokes the device.
CREATE TABLE mls_devices (
    session_id    BIGINT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL REFERENCES users(id),
    signature_key BYTEA NOT NULL CHECK (octet_length(signature_key) = 32),
    created_at    BIGINT NOT NULL
);
CREATE INDEX mls_devices_by_user ON mls_devices (user_id);

CREATE TABLE mls_key_packages (
    ref         BYTEA PRIMARY KEY CHECK (octet_length(ref) = 32),
    device_id   BIGINT NOT NULL REFERENCES mls_devices(session_id) ON DELETE CASCADE,
    data        BYTEA NOT NULL,                             -- the MLSMessage as published
    last_resort BOOLEAN NOT NULL DEFAULT false,             -- never used up; a newer one replaces it
    not_after   BIGINT NOT NULL,                            -- ms
    created_at  BIGINT NOT NULL
);
CREATE INDEX mls_key_packages_by_device ON mls_key_packages (device_id, last_resort, created_at);

CREATE TABLE mls_groups (
    chat_id    BIGINT PRIMARY KEY REFERENCES chats(id),
    generation BIGINT NOT NULL,                             -- group id "kolokol:chat:<chat_id>:<generation>"
    epoch      BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) WITH (fillfactor = 80);                                   -- the epoch moves with every commit

CREATE TABLE mls_leaves (
    chat_id       BIGINT NOT NULL REFERENCES mls_groups(chat_id),
    leaf          BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    device_id     BIGINT NOT NULL,                          -- no foreign key: a revoked device keeps
    signature_key BYTEA NOT NULL CHECK (octet_length(signature_key) = 32), -- its leaf until removed
    since_epoch   BIGINT NOT NULL,
    PRIMARY KEY (chat_id, leaf)
);
CREATE UNIQUE INDEX mls_leaves_by_device ON mls_leaves (chat_id, device_id);

CREATE TABLE mls_welcomes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY (MAXVALUE 9007199254740991) PRIMARY KEY,
    chat_id    BIGINT NOT NULL,
    epoch      BIGINT NOT NULL,                             -- the epoch it joins
    commit_seq BIGINT NOT NULL,                             -- the chat's messages after it are to process
    data       BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX mls_welcomes_by_chat ON mls_welcomes (chat_id);
CREATE TABLE mls_welcome_recipients (
    welcome_id      BIGINT NOT NULL REFERENCES mls_welcomes(id) ON DELETE CASCADE,
    device_id       BIGINT NOT NULL,
    key_package_ref BYTEA NOT NULL,
    PRIMARY KEY (device_id, welcome_id)
);

-- Messages of encrypted chats: text stays '' and the MLSMessage is kept as sent.
ALTER TABLE messages ADD COLUMN mls_kind TEXT CHECK (mls_kind IN ('application', 'commit'));
ALTER TABLE messages ADD COLUMN mls_epoch BIGINT;           -- sent in (a commit: the epoch it starts)
ALTER TABLE messages ADD COLUMN mls_data BYTEA;             -- NULL once deleted
ALTER TABLE messages ADD COLUMN mls_digest BYTEA CHECK (octet_length(mls_digest) = 32);
ALTER TABLE messages ADD COLUMN franking_tag BYTEA CHECK (octet_length(franking_tag) = 32);
CREATE UNIQUE INDEX messages_by_mls_digest ON messages (chat_id, mls_digest) WHERE mls_digest IS NOT NULL;

-- Locking a chat for a change reads its privacy too.
DROP FUNCTION kolokol_lock_chat(BIGINT, BIGINT);

CREATE FUNCTION kolokol_lock_chat(p_chat BIGINT, p_user BIGINT)
RETURNS TABLE (
    id BIGINT, kind TEXT, title TEXT, member_count BIGINT, last_seq BIGINT, created_at BIGINT,
    last_activity_at BIGINT, posting TEXT, slow_mode_secs BIGINT, privacy TEXT, event_pos BIGINT,
    role TEXT
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
               c.last_activity_at, c.posting, c.slow_mode_secs, c.privacy, c.event_pos, m.role
        FROM chats c JOIN members m ON m.chat_id = c.id AND m.user_id = p_user
        WHERE c.id = p_chat;
END;
$$;

-- The text send (0008) refuses encrypted chats: their messages go through the MLS path.
CREATE OR REPLACE FUNCTION kolokol_send(
    p_chat BIGINT, p_sender BIGINT, p_client_msg_id TEXT, p_text TEXT, p_reply_to BIGINT,
    p_mentioned TEXT[], p_may_post TEXT[], p_limited TEXT[], p_now BIGINT,
    OUT o_outcome TEXT, OUT o_kind TEXT, OUT o_role TEXT, OUT o_id BIGINT, OUT o_seq BIGINT,
    OUT o_pos BIGINT, OUT o_mentions BIGINT[], OUT o_posting TEXT, OUT o_slow_mode_secs BIGINT,
    OUT o_muted_until BIGINT, OUT o_last_post_at BIGINT
)
LANGUAGE plpgsql AS $$
DECLARE
    v_last_seq BIGINT;
    v_privacy TEXT;
BEGIN
    PERFORM 1 FROM members m WHERE m.chat_id = p_chat AND m.user_id = p_sender;
    IF NOT FOUND THEN
        o_outcome := 'not_member';
        RETURN;
    END IF;
    SELECT c.kind, c.last_seq, c.posting, c.slow_mode_secs, c.privacy
    INTO o_kind, v_last_seq, o_posting, o_slow_mode_secs, v_privacy
    FROM chats c WHERE c.id = p_chat FOR NO KEY UPDATE;
    -- Read again under the lock: the sender may have been removed while we waited.
    SELECT m.role, m.muted_until, m.last_post_at INTO o_role, o_muted_until, o_last_post_at
    FROM members m WHERE m.chat_id = p_chat AND m.user_id = p_sender;
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
    IF NOT (o_kind || ':' || o_role || ':' || o_posting) = ANY (p_may_post) THEN
        o_outcome := 'refused';
        RETURN;
    END IF;
    IF o_role = ANY (p_limited) AND (
        o_muted_until > p_now
        OR (o_slow_mode_secs > 0 AND p_now < o_last_post_at + o_slow_mode_secs * 1000)
    ) THEN
        o_outcome := 'paced';
        RETURN;
    END IF;
    IF v_privacy = 'encrypted' THEN
        o_outcome := 'encrypted';
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
    -- What you wrote yourself is read; and it is when you last posted, for slow mode.
    UPDATE members m SET read_seq = o_seq, last_post_at = p_now
    WHERE m.chat_id = p_chat AND m.user_id = p_sender;
    o_outcome := 'created';
END;
$$;
