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

/// Key packages a device publishes (`POST /mls/key-packages`): each an MLSMessage, all signed
/// by the device's one signing key; the first call makes the session an MLS device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublishKeyPackagesRequest {
    /// At most 100.
    #[serde(default)]
    pub key_packages: Vec<Base64Bytes>,
    /// A last-resort key package (RFC 9420's `last_resort` extension): handed out when the
    /// others are used up, never used up itself; replaces the one before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_resort: Option<Base64Bytes>,
}

/// How many key packages the calling device has left for others to add it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyPackageStatus {
    pub available: u32,
    pub last_resort: bool,
    /// Fewer than 10 left: publish more.
    pub low: bool,
}

/// A device of a user, for safety numbers and key-change warnings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceInfo {
    pub id: i64,
    /// Its Ed25519 public key, which signs all its key packages and leaves.
    pub signature_key: Base64Bytes,
    /// `YYYY-MM-DD`.
    pub created_on: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceList {
    pub devices: Vec<DeviceInfo>,
}

/// A device by whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MlsDevice {
    pub user_id: crate::UserId,
    pub device_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MlsLeaf {
    pub leaf: u32,
    pub user_id: crate::UserId,
    pub device_id: i64,
    pub signature_key: Base64Bytes,
}

/// An encrypted chat's MLS group as the server sees it (`GET /chats/{id}/mls`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MlsGroupState {
    /// `kolokol:chat:<chat_id>:<generation>`, as bytes.
    pub group_id: Base64Bytes,
    pub generation: u32,
    pub epoch: u64,
    pub leaves: Vec<MlsLeaf>,
    /// Members' devices not yet in the group: the next commit adds them.
    pub pending_add: Vec<MlsDevice>,
    /// Leaves of those who left and of revoked devices: the next commit must remove them.
    pub pending_remove: Vec<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClaimKeyPackagesRequest {
    /// Only these devices (of those waiting to be added); all of them when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<i64>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClaimedKeyPackage {
    pub user_id: crate::UserId,
    pub device_id: i64,
    pub key_package: Base64Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClaimedKeyPackages {
    pub key_packages: Vec<ClaimedKeyPackage>,
    /// Devices waiting to be added that have no key package left.
    pub missing: Vec<MlsDevice>,
}

/// A commit to an encrypted chat's group (`POST /chats/{id}/mls/commits`), sent as a
/// PublicMessage, with the Welcome for the devices it adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CommitRequest {
    pub client_msg_id: String,
    pub commit: Base64Bytes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<Base64Bytes>,
}

/// A Welcome waiting for the calling device: join the group with it, then process the chat's
/// messages after `commit_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WelcomeInfo {
    pub id: i64,
    pub chat_id: crate::ChatId,
    pub epoch: u64,
    pub commit_seq: crate::Seq,
    pub welcome: Base64Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WelcomeList {
    pub welcomes: Vec<WelcomeInfo>,
}
