-- Threads: a reply may live in the thread under another message of the same chat.

ALTER TABLE messages ADD COLUMN thread_of BIGINT;
CREATE INDEX messages_in_threads ON messages (chat_id, thread_of, seq) WHERE thread_of IS NOT NULL;

-- A reply held back by quiet hours waits for its thread.
ALTER TABLE held_messages ADD COLUMN thread_of BIGINT;
