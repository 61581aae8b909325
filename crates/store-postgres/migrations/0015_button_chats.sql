-- The group a bot's `chat` button made: one per button (its uuid, or its place) of a message.

CREATE TABLE button_chats (
    chat_id         BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    button_key      TEXT NOT NULL,
    created_chat_id BIGINT NOT NULL,
    PRIMARY KEY (chat_id, seq, button_key)
);
