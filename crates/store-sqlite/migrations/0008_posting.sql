-- Who may post in a chat and how often, and members muted for a while.

ALTER TABLE chats ADD COLUMN posting TEXT NOT NULL DEFAULT 'everyone';
ALTER TABLE chats ADD COLUMN slow_mode_secs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN muted_until INTEGER;
ALTER TABLE members ADD COLUMN last_post_at INTEGER;
