-- Media: file bytes live in the object store (a folder or S3); the database keeps what each file
-- is, who uploaded it, and which messages show it (a file nothing shows is collected).

CREATE TABLE blobs (
    id          BIGSERIAL PRIMARY KEY,
    object_key  TEXT NOT NULL,
    thumb_key   TEXT,
    kind        TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio', 'voice', 'file')),
    mime        TEXT NOT NULL,                 -- from the bytes, or what they were re-encoded to
    size        BIGINT NOT NULL,
    name        TEXT,
    width       BIGINT,
    height      BIGINT,
    duration_ms BIGINT,
    waveform    TEXT,                          -- voice: JSON array of up to 100 bytes
    uploader_id BIGINT NOT NULL,              -- no foreign key: account deletion decides
    org_id      BIGINT,                       -- whose quota it uses; NULL: the uploader's
    state       TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'infected', 'deleting')),
    created_at  BIGINT NOT NULL,
    touched_at  BIGINT NOT NULL               -- uploaded or last attached
);
CREATE INDEX blobs_by_touch ON blobs (touched_at);

CREATE TABLE uploads (
    id          BIGSERIAL PRIMARY KEY,
    capability  BYTEA UNIQUE,                   -- SHA-256 of a bot upload URL's secret
    owner_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    chat_id     BIGINT,
    kind        TEXT NOT NULL,
    name        TEXT,
    size        BIGINT,                       -- declared, or from the first Content-Range
    duration_ms BIGINT,                        -- voice and video, as the client measured
    waveform    TEXT,
    blob_id     BIGINT REFERENCES blobs(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX uploads_by_expiry ON uploads (expires_at);

-- The pieces of a resumable upload, each its own object until the whole file is there.
CREATE TABLE upload_parts (
    upload_id   BIGINT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    first_byte  BIGINT NOT NULL,
    length      BIGINT NOT NULL,
    object_key  TEXT NOT NULL,
    PRIMARY KEY (upload_id, first_byte)
);

-- Which chats show a file: who may read it, and whether anything still needs it.
CREATE TABLE blob_refs (
    blob_id     BIGINT NOT NULL REFERENCES blobs(id),
    chat_id     BIGINT NOT NULL,
    -- No foreign key: messages.id is not unique on its own (messages are keyed for
    -- partitioning by chat). A message's refs go when it is deleted, a chat's with the chat.
    message_id  BIGINT,
    held_id     BIGINT REFERENCES held_messages(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
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
    value BYTEA NOT NULL
);
