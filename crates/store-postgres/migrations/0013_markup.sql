-- Formatting of bots' messages: spans over the text (JSON, NULL when none), as Max's markup.

ALTER TABLE messages ADD COLUMN markup TEXT;
ALTER TABLE held_messages ADD COLUMN markup TEXT;
