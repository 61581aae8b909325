-- Webhooks: at most one subscription per bot, with the event cursor delivery has reached. It
-- starts where long polling was acknowledged, and long polling resumes where it ended, so a bot
-- can switch between the two without losing updates.
-- The secret is sent back to the bot in a header, so it is kept as given. One node at a time
-- delivers a bot's updates: the one holding the lease.

CREATE TABLE bot_subscriptions (
    bot_id          INTEGER PRIMARY KEY REFERENCES bots(user_id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    secret          TEXT,
    update_types    TEXT,
    version         TEXT,
    cursor          TEXT,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    failing_since   INTEGER,
    next_attempt_at INTEGER,
    lease_holder    TEXT,
    lease_until     INTEGER
);
