-- Bots: accounts programs use through the Max-compatible bot API, each owned by a person.
-- A bot's token is an ordinary session of the bot's user. Its long polling position is an event
-- cursor saved under a small number, the marker Max clients send back.

ALTER TABLE users ADD COLUMN is_bot INTEGER NOT NULL DEFAULT 0;

CREATE TABLE bots (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    owner_id     INTEGER NOT NULL REFERENCES users(id),
    description  TEXT NOT NULL DEFAULT '',
    commands     TEXT NOT NULL DEFAULT '[]',
    acked_marker INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX bots_by_owner ON bots (owner_id, user_id);

CREATE TABLE bot_markers (
    bot_id     INTEGER NOT NULL REFERENCES bots(user_id) ON DELETE CASCADE,
    marker     INTEGER NOT NULL,
    cursor     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (bot_id, marker)
) WITHOUT ROWID;
