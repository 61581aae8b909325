-- End-to-end encryption (MLS, RFC 9420). The server relays ciphertext it cannot read and keeps only
-- what a delivery service must: devices' public keys and key packages, each group's epoch and who
-- holds which leaf, and Welcomes until their devices take them.

ALTER TABLE chats ADD COLUMN privacy TEXT NOT NULL DEFAULT 'community'
    CHECK (privacy IN ('community', 'encrypted'));          -- fixed at creation: nothing updates it

-- A device is a session that publishes key packages; revoking the session revokes the device.
CREATE TABLE mls_devices (
    session_id    INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id),
    signature_key BLOB NOT NULL,                            -- Ed25519: all its key packages and leaves
    created_at    INTEGER NOT NULL
);
CREATE INDEX mls_devices_by_user ON mls_devices (user_id);

CREATE TABLE mls_key_packages (
    ref         BLOB PRIMARY KEY,                           -- KeyPackageRef (SHA-256)
    device_id   INTEGER NOT NULL REFERENCES mls_devices(session_id) ON DELETE CASCADE,
    data        BLOB NOT NULL,                              -- the MLSMessage as published
    last_resort INTEGER NOT NULL DEFAULT 0,                 -- never used up; a newer one replaces it
    not_after   INTEGER NOT NULL,                           -- ms
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX mls_key_packages_by_device ON mls_key_packages (device_id, last_resort, created_at);

CREATE TABLE mls_groups (
    chat_id    INTEGER PRIMARY KEY REFERENCES chats(id),
    generation INTEGER NOT NULL,                            -- group id "kolokol:chat:<chat_id>:<generation>"
    epoch      INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE mls_leaves (
    chat_id       INTEGER NOT NULL REFERENCES mls_groups(chat_id),
    leaf          INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    device_id     INTEGER NOT NULL,                         -- no foreign key: a revoked device keeps
    signature_key BLOB NOT NULL,                            -- its leaf until a commit removes it
    since_epoch   INTEGER NOT NULL,
    PRIMARY KEY (chat_id, leaf)
) WITHOUT ROWID;
CREATE UNIQUE INDEX mls_leaves_by_device ON mls_leaves (chat_id, device_id);

CREATE TABLE mls_welcomes (
    id         INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL,
    epoch      INTEGER NOT NULL,                            -- the epoch it joins
    commit_seq INTEGER NOT NULL,                            -- the chat's messages after it are to process
    data       BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX mls_welcomes_by_chat ON mls_welcomes (chat_id);
CREATE TABLE mls_welcome_recipients (
    welcome_id      INTEGER NOT NULL REFERENCES mls_welcomes(id) ON DELETE CASCADE,
    device_id       INTEGER NOT NULL,
    key_package_ref BLOB NOT NULL,
    PRIMARY KEY (device_id, welcome_id)
) WITHOUT ROWID;

-- Messages of encrypted chats: text stays '' and the MLSMessage is kept as sent.
ALTER TABLE messages ADD COLUMN mls_kind TEXT CHECK (mls_kind IN ('application', 'commit'));
ALTER TABLE messages ADD COLUMN mls_epoch INTEGER;          -- sent in (a commit: the epoch it starts)
ALTER TABLE messages ADD COLUMN mls_data BLOB;              -- NULL once deleted
ALTER TABLE messages ADD COLUMN mls_digest BLOB;            -- SHA-256 of mls_data: a replay is refused
ALTER TABLE messages ADD COLUMN franking_tag BLOB;          -- from the authenticated data, for reports
CREATE UNIQUE INDEX messages_by_mls_digest ON messages (chat_id, mls_digest) WHERE mls_digest IS NOT NULL;
