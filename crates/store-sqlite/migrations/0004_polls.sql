-- Polls: a message may carry one (its definition as JSON, `kolokol_proto::Poll`); votes apart.

ALTER TABLE messages ADD COLUMN poll TEXT;
CREATE INDEX messages_with_polls ON messages (chat_id, seq) WHERE poll IS NOT NULL;

CREATE TABLE poll_votes (
    chat_id         INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id),
    choice          INTEGER NOT NULL,
    voted_at        INTEGER NOT NULL,
    PRIMARY KEY (chat_id, seq, user_id, choice)
);

-- A poll held back by quiet hours waits with its message.
ALTER TABLE held_messages ADD COLUMN poll TEXT;
