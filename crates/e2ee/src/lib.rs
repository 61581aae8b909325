//! Kolokol's end-to-end encryption client: each device is one MLS (RFC 9420) member, on openmls.
//!
//! The server is MLS's delivery service and never holds a key; it reads only the framing
//! (`kolokol_domain::mls`). Everything here runs on the device: key packages, commits, Welcomes,
//! and encrypting and decrypting application messages. Handshakes travel as PublicMessage so the
//! server can check who is added and removed; application messages are always PrivateMessage.
//!
//! One ciphersuite only, the same as the browser's ts-mls: `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519`.

pub mod content;
mod device;
mod member;
mod provider;
pub mod safety;
pub mod sealed;

pub use content::Content;
pub use device::{Device, KEY_PACKAGES, Received};
pub use member::{Group, Incoming, MlsClient, Outgoing};

/// The one ciphersuite Kolokol speaks (0x0001), in Rust and in the browser.
pub const CIPHERSUITE: openmls::prelude::Ciphersuite =
    openmls::prelude::Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// Who a leaf is: a Kolokol user's device. Its MLS credential is `kolokol:<user_id>:<device_id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceIdentity {
    pub user_id: i64,
    pub device_id: i64,
}

impl DeviceIdentity {
    pub fn credential(&self) -> Vec<u8> {
        format!("kolokol:{}:{}", self.user_id, self.device_id).into_bytes()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum E2eeError {
    /// Bytes that are not the MLS message expected here (not one, or another kind).
    #[error("not a usable MLS message: {0}")]
    Malformed(String),
    /// openmls refused the operation (a bad signature, a wrong epoch, a replay, …).
    #[error("MLS refused: {0}")]
    Refused(String),
    /// The server refused a call, or could not be reached.
    #[error(transparent)]
    Api(#[from] kolokol_client::ClientError),
    /// The device's state file could not be read or written, or not opened with its key.
    #[error("device state: {0}")]
    Storage(String),
    /// This device is not (or no longer) in the chat's group.
    #[error("this device is not in the group of chat {0}")]
    NotInGroup(i64),
}

pub type E2eeResult<T> = Result<T, E2eeError>;

fn refused(error: impl std::fmt::Display) -> E2eeError {
    E2eeError::Refused(error.to_string())
}
