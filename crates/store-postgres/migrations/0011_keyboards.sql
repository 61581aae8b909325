-- Inline keyboards: the buttons under a bot's message (JSON, NULL when none), and the presses of
-- callback buttons the bot may still answer. Presses are pruned with the event log.

ALTER TABLE messages ADD COLUMN keyboard TEXT;
ALTER TABLE held_messages ADD COLUMN keyboard TEXT;

CREATE TABLE bot_callbacks (
    id         BIGSERIAL PRIMARY KEY,
    bot_id     BIGINT NOT NULL REFERENCES bots(user_id) ON DELETE CASCADE,
    chat_id    BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX bot_callbacks_by_time ON bot_callbacks (created_at);
