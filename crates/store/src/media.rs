//! What the database knows of media: uploads in progress, the files they became ("blobs"), and
//! (in the backends) which messages show each file. The bytes are in the object store.

use kolokol_proto::{Attachment, AttachmentKind, ChatId, Millis, UserId};

use crate::OrgId;

/// How long an upload stays open after it begins or after its latest piece.
pub const UPLOAD_KEPT_MS: Millis = 24 * 60 * 60 * 1000;

/// A file marked for deletion this long ago and still recorded was left by a collector that
/// died; another takes it.
pub const STUCK_COLLECTION_MS: Millis = 60 * 60 * 1000;

/// At most this many files in one message.
pub const MAX_ATTACHMENTS: usize = 10;

/// An upload to begin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpload {
    /// SHA-256 of the secret in a bot's upload URL, which is all the URL's holder needs.
    pub capability: Option<[u8; 32]>,
    pub owner_id: UserId,
    /// The chat a person uploads into.
    pub chat_id: Option<ChatId>,
    pub kind: AttachmentKind,
    pub name: Option<String>,
    /// The whole file's size, when known in advance.
    pub size: Option<u64>,
    /// A voice message's or video's length and a voice message's loudness, as the client
    /// measured them (the server does not parse audio or video).
    pub duration_ms: Option<u64>,
    pub waveform: Vec<u8>,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    pub id: i64,
    pub owner_id: UserId,
    pub chat_id: Option<ChatId>,
    pub kind: AttachmentKind,
    pub name: Option<String>,
    pub size: Option<u64>,
    pub duration_ms: Option<u64>,
    pub waveform: Vec<u8>,
    /// The file it became, once complete.
    pub blob_id: Option<i64>,
    pub expires_at: Millis,
}

/// How an upload is found: by its URL's secret (bots) or by id (its owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindUpload {
    Capability([u8; 32]),
    Id(i64),
}

/// A received piece of a resumable upload: bytes `first_byte..first_byte + length`, stored as
/// its own object until the file is whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPart {
    pub first_byte: u64,
    pub length: u64,
    pub object_key: String,
}

/// Whose room a file takes: the org that keeps the chat it was uploaded into, or else its
/// uploader's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payer {
    Org(OrgId),
    User(UserId),
}

/// A file to record: where its bytes are and what they were found to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBlob {
    pub object_key: String,
    pub thumb_key: Option<String>,
    pub kind: AttachmentKind,
    pub mime: String,
    pub size: u64,
    pub name: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    pub waveform: Vec<u8>,
}

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRecord {
    pub id: i64,
    pub uploader_id: UserId,
    pub created_at: Millis,
    pub file: NewBlob,
}

impl BlobRecord {
    /// The file as a message shows it.
    pub fn attachment(&self) -> Attachment {
        let file = &self.file;
        Attachment {
            id: self.id,
            kind: file.kind,
            mime: file.mime.clone(),
            size: file.size,
            name: file.name.clone(),
            width: file.width,
            height: file.height,
            duration_ms: file.duration_ms,
            waveform: file.waveform.clone(),
            thumb: file.thumb_key.is_some(),
        }
    }
}

/// Reads a `kind` column.
pub fn parse_kind(text: &str) -> Result<AttachmentKind, String> {
    AttachmentKind::parse(text).ok_or_else(|| format!("attachment kind {text}"))
}
