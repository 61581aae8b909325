-- Polls: a message may carry one (its definition as JSON, `kolokol_proto::Poll`); votes apart.

ALTER TABLE messages ADD COLUMN poll TEXT;
CREATE INDEX messages_with_polls ON messages (chat_id, seq) WHERE poll IS NOT NULL;

CREATE TABLE poll_votes (
    chat_id         BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    choice          BIGINT NOT NULL,
    voted_at        BIGINT NOT NULL,
    PRIMARY KEY (chat_id, seq, user_id, choice)
);

-- A poll held back by quiet hours waits with its message.
ALTER TABLE held_messages ADD COLUMN poll TEXT;
