-- Bots: accounts programs use through the Max-compatible bot API, each owned by a person.
-- A bot's token is an ordinary session of the bot's user. Its long polling position is an event
-- cursor saved under a small number, the marker Max clients send back.

ALTER TABLE users ADD COLUMN is_bot BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE bots (
    user_id      BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    owner_id     BIGINT NOT NULL REFERENCES users(id),
    description  TEXT NOT NULL DEFAULT '',
    commands     TEXT NOT NULL DEFAULT '[]',
    acked_marker BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX bots_by_owner ON bots (owner_id, user_id);

CREATE TABLE bot_markers (
    bot_id     BIGINT NOT NULL REFERENCES bots(user_id) ON DELETE CASCADE,
    marker     BIGINT NOT NULL,
    cursor     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (bot_id, marker)
);
