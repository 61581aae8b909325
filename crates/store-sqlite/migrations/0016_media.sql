-- Media: file bytes live in the object store (a folder or S3); the database keeps what each file
-- is, who uploaded it, and which messages show it (a file nothing shows is collected).

CREATE TABLE blobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    object_key  TEXT NOT NULL,
    thumb_key   TEXT,
    kind        TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio', 'voice', 'file')),
    mime        TEXT NOT NULL,                 -- from the bytes, or what they were re-encoded to
    size        INTEGER NOT NULL,
    name        TEXT,
    width       INTEGER,
    height      INTEGER,
    duration_ms INTEGER,
    waveform    TEXT,                          -- voice: JSON array of up to 100 bytes
    uploader_id INTEGER NOT NULL,              -- no foreign key: account deletion decides
    org_id      INTEGER,                       -- whose quota it uses; NULL: the uploader's
    state       TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'infected', 'deleting')),
    created_at  INTEGER NOT NULL,
    touched_at  INTEGER NOT NULL               -- uploaded or last attached
);
CREATE INDEX blobs_by_touch ON blobs (touched_at);

CREATE TABLE uploads (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    capability  BLOB UNIQUE,                   -- SHA-256 of a bot upload URL's secret
    owner_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    chat_id     INTEGER,
    kind        TEXT NOT NULL,
    name        TEXT,
    size        INTEGER,                       -- declared, or from the first Content-Range
    duration_ms INTEGER,                        -- voice and video, as the client measured
    waveform    TEXT,
    blob_id     INTEGER REFERENCES blobs(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX uploads_by_expiry ON uploads (expires_at);

-- The pieces of a resumable upload, each its own object until the whole file is there.
CREATE TABLE upload_parts (
    upload_id   INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    first_byte  INTEGER NOT NULL,
    length      INTEGER NOT NULL,
    object_key  TEXT NOT NULL,
    PRIMARY KEY (upload_id, first_byte)
);

-- Which chats show a file: who may read it, and whether anything still needs it.
CREATE TABLE blob_refs (
    blob_id     INTEGER NOT NULL REFERENCES blobs(id),
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    held_id     INTEGER REFERENCES held_messages(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    CHECK ((message_id IS NULL) <> (held_id IS NULL))
);
CREATE INDEX blob_refs_by_blob ON blob_refs (blob_id, chat_id);
CREATE INDEX blob_refs_by_message ON blob_refs (message_id);
CREATE INDEX blob_refs_by_held ON blob_refs (held_id);
CREATE INDEX blob_refs_by_chat ON blob_refs (chat_id, created_at);  -- retention
CREATE INDEX blobs_by_org ON blobs (org_id);                         -- quotas
CREATE INDEX blobs_by_uploader ON blobs (uploader_id);

ALTER TABLE messages ADD COLUMN attachments TEXT;       -- JSON [Attachment], NULL when none
ALTER TABLE held_messages ADD COLUMN attachments TEXT;

-- Keys the server makes once and every node shares (the media signing key).
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
