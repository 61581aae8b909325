//! What the store keeps for end-to-end encrypted chats, as the MLS delivery service: devices and
//! their key packages, each chat's group (generation, epoch, who holds which leaf), Welcomes until
//! their devices take them. Never a key that decrypts anything.

use std::collections::BTreeSet;

use kolokol_domain::mls::{Allowed, CheckedCommit, CheckedKeyPackage, Device, Leaf};
use kolokol_proto::{Base64Bytes, ChatId, ChatPrivacy, Millis, MlsKind, MlsPayload};

/// Below this many key packages, a device is told to publish more (`mls.key_packages_low`).
pub const KEY_PACKAGES_LOW: u32 = 10;
/// At most this many unused key packages per device.
pub const MAX_KEY_PACKAGES: u32 = 500;

/// Key packages a device publishes, already checked (`server::mls::check`) to be signed by
/// `signature_key` and to name the publishing device.
#[derive(Debug, Clone)]
pub struct KeyPackageBatch {
    pub signature_key: Vec<u8>,
    pub packages: Vec<CheckedKeyPackage>,
}

/// How many key packages a device has left for others to add it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPackageCount {
    pub available: u32,
    pub last_resort: bool,
}

impl KeyPackageCount {
    pub fn low(&self) -> bool {
        self.available < KEY_PACKAGES_LOW
    }
}

/// A device as its user's contacts see it, for safety numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: i64,
    pub signature_key: Vec<u8>,
    pub created_at: Millis,
}

/// A chat's MLS group as the delivery service sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub generation: u32,
    pub epoch: u64,
    pub leaves: Vec<Leaf>,
    /// Members' devices that hold no leaf yet: the next commit should add them.
    pub pending_add: Vec<Device>,
    /// Leaves of those who left, or of revoked devices: the next commit must remove them.
    pub pending_remove: Vec<u32>,
}

impl GroupView {
    /// The group of `leaves` in a chat whose members now have `member_devices`. A leaf must go
    /// when its device is gone or now signs with another key (it lost its state and started
    /// again); such a device waits to be added afresh.
    pub fn of(generation: u32, epoch: u64, leaves: Vec<Leaf>, member_devices: Vec<Device>) -> Self {
        let held: BTreeSet<&Device> = leaves.iter().map(|leaf| &leaf.device).collect();
        let current: BTreeSet<&Device> = member_devices.iter().collect();
        let pending_remove = leaves
            .iter()
            .filter(|leaf| !current.contains(&leaf.device))
            .map(|leaf| leaf.leaf)
            .collect();
        let pending_add = member_devices
            .iter()
            .filter(|device| !held.contains(device))
            .cloned()
            .collect();
        GroupView {
            generation,
            epoch,
            leaves,
            pending_add,
            pending_remove,
        }
    }

    /// What a commit may do now: remove what must go, add who waits.
    pub fn allowed(&self) -> Allowed {
        Allowed {
            removable: self.pending_remove.iter().copied().collect(),
            addable: self
                .pending_add
                .iter()
                .map(|device| (device.device_id, device.clone()))
                .collect(),
        }
    }

    /// The device's leaf, if it holds one (with any key).
    pub fn leaf_of(&self, device_id: i64) -> Option<u32> {
        self.leaves
            .iter()
            .find(|leaf| leaf.device.device_id == device_id)
            .map(|leaf| leaf.leaf)
    }
}

/// Key packages handed to a member who is about to add devices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimedKeyPackages {
    pub packages: Vec<(Device, Vec<u8>)>,
    /// Devices waiting to be added that have no key package left at all.
    pub missing: Vec<Device>,
}

/// A commit to store, as the next message of its chat.
#[derive(Debug, Clone)]
pub struct NewCommit {
    pub client_msg_id: String,
    pub commit: CheckedCommit,
    /// SHA-256 of the commit: the same bytes are never delivered twice.
    pub digest: Vec<u8>,
}

/// An application message of an encrypted chat, to store in place of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMls {
    pub generation: u32,
    pub epoch: u64,
    pub data: Vec<u8>,
    /// SHA-256 of `data`: a replay is refused.
    pub digest: Vec<u8>,
    pub franking_tag: Vec<u8>,
}

/// A Welcome waiting for one of the caller's devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomeRecord {
    pub id: i64,
    pub chat_id: ChatId,
    /// The epoch it joins.
    pub epoch: u64,
    /// The seq of the commit that made it: the device processes the chat's messages after it.
    pub commit_seq: i64,
    pub data: Vec<u8>,
}

/// How a chat's privacy is stored.
pub fn privacy_str(privacy: ChatPrivacy) -> &'static str {
    match privacy {
        ChatPrivacy::Community => "community",
        ChatPrivacy::Encrypted => "encrypted",
    }
}

pub fn parse_privacy(text: &str) -> ChatPrivacy {
    match text {
        "encrypted" => ChatPrivacy::Encrypted,
        _ => ChatPrivacy::Community,
    }
}

/// The MLS part of a message row: `mls_kind`, `mls_epoch` and `mls_data` as stored.
pub fn mls_payload(
    kind: Option<&str>,
    epoch: Option<i64>,
    data: Option<Vec<u8>>,
) -> Option<MlsPayload> {
    let kind = match kind? {
        "commit" => MlsKind::Commit,
        _ => MlsKind::Application,
    };
    Some(MlsPayload {
        kind,
        epoch: epoch
            .and_then(|epoch| u64::try_from(epoch).ok())
            .unwrap_or_default(),
        data: data.map(Base64Bytes),
    })
}

/// An epoch as a database integer (epochs stay far below 2^63).
pub fn epoch_column(epoch: u64) -> i64 {
    i64::try_from(epoch).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(user_id: i64, device_id: i64, key: u8) -> Device {
        Device {
            user_id,
            device_id,
            signature_key: vec![key; 32],
        }
    }

    #[test]
    fn a_device_that_started_again_with_a_new_key_is_removed_and_added_afresh() {
        let leaves = vec![
            Leaf {
                leaf: 0,
                device: device(1, 11, 1),
            },
            Leaf {
                leaf: 1,
                device: device(2, 21, 2),
            },
            Leaf {
                leaf: 2,
                device: device(3, 31, 3),
            },
        ];
        // Boris's device has a new key; Vera's device is gone; Gleb's is new.
        let now = vec![device(1, 11, 1), device(2, 21, 9), device(4, 41, 4)];
        let view = GroupView::of(1, 5, leaves, now);
        assert_eq!(view.pending_remove, [1, 2]);
        assert_eq!(view.pending_add, [device(2, 21, 9), device(4, 41, 4)]);
        let allowed = view.allowed();
        assert!(allowed.addable.contains_key(&21) && allowed.removable.contains(&1));
    }
}
