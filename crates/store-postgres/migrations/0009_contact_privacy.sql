-- Contact privacy: others see a user's username only if they chose to show it.

ALTER TABLE users ADD COLUMN show_username BOOLEAN NOT NULL DEFAULT false;
