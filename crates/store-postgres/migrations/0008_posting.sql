-- Who may post in a chat and how often, and members muted for a while.

ALTER TABLE chats ADD COLUMN posting TEXT NOT NULL DEFAULT 'everyone';
ALTER TABLE chats ADD COLUMN slow_mode_secs BIGINT NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN muted_until BIGINT;
ALTER TABLE members ADD COLUMN last_post_at BIGINT;

-- Sending, as in 0001, with the chat's posting rule and each member's mute and slow mode.
-- The rules stay in Rust (`kolokol_domain::permissions`): `p_may_post` lists the
-- `kind:role:posting` triples that may post and `p_limited` the roles that mutes and slow mode
-- hold; a refusal returns what the rule needs to word it. The 0001 function (eight arguments)
-- stays as an overload, so nodes still on the previous release keep sending during a rolling
-- upgrade; a later release drops it.

CREATE FUNCTION kolokol_send(
    p_chat BIGINT, p_sender BIGINT, p_client_msg_id TEXT, p_text TEXT, p_reply_to BIGINT,
    p_mentioned TEXT[], p_may_post TEXT[], p_limited TEXT[], p_now BIGINT,
    OUT o_outcome TEXT, OUT o_kind TEXT, OUT o_role TEXT, OUT o_id BIGINT, OUT o_seq BIGINT,
    OUT o_pos BIGINT, OUT o_mentions BIGINT[], OUT o_posting TEXT, OUT o_slow_mode_secs BIGINT,
    OUT o_muted_until BIGINT, OUT o_last_post_at BIGINT
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
    SELECT c.kind, c.last_seq, c.posting, c.slow_mode_secs
    INTO o_kind, v_last_seq, o_posting, o_slow_mode_secs
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

-- Locking a chat for a change, as in 0001, reads the new columns too.
DROP FUNCTION kolokol_lock_chat(BIGINT, BIGINT);

CREATE FUNCTION kolokol_lock_chat(p_chat BIGINT, p_user BIGINT)
RETURNS TABLE (
    id BIGINT, kind TEXT, title TEXT, member_count BIGINT, last_seq BIGINT, created_at BIGINT,
    last_activity_at BIGINT, posting TEXT, slow_mode_secs BIGINT, event_pos BIGINT, role TEXT
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
               c.last_activity_at, c.posting, c.slow_mode_secs, c.event_pos, m.role
        FROM chats c JOIN members m ON m.chat_id = c.id AND m.user_id = p_user
        WHERE c.id = p_chat;
END;
$$;
