//! The wire shapes of end-to-end encrypted chats (MLS, RFC 9420). MLS messages travel as
//! standard, padded base64 (RFC 4648 §4) inside JSON.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

/// Bytes, as base64 on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default, ToSchema)]
#[schema(value_type = String, format = Byte)]
pub struct Base64Bytes(pub Vec<u8>);

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Base64Bytes)
            .map_err(|_| serde::de::Error::custom("not standard base64"))
    }
}

/// Whether the server can read a chat. Fixed when the chat is made: an encrypted chat never
/// becomes a community chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatPrivacy {
    /// The server reads it: bots, search, moderation and history for newcomers work.
    #[default]
    Community,
    /// End-to-end encrypted with MLS: the server carries ciphertext it cannot read.
    Encrypted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MlsKind {
    /// A PrivateMessage: content only the group's members can read.
    Application,
    /// A PublicMessage commit: the group moves to the next epoch.
    Commit,
}

/// The MLS part of a message in an encrypted chat (its `text` is empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MlsPayload {
    pub kind: MlsKind,
    /// The epoch an application message was sent in; for a commit, the epoch it starts.
    pub epoch: u64,
    /// The MLSMessage as sent; null once the message is deleted.
    pub data: Option<Base64Bytes>,
}
