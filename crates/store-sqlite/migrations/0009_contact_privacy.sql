-- Contact privacy: others see a user's username only if they chose to show it.

ALTER TABLE users ADD COLUMN show_username INTEGER NOT NULL DEFAULT 0;
