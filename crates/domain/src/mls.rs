//! What the server reads of MLS (RFC 9420): the framing of the messages it delivers, never their
//! content. The server is MLS's delivery service; it needs to know which group and epoch a message
//! is for, who a commit adds and removes, and whether a key package is well formed and signed by
//! the device that publishes it. This module reads those facts from the bytes, with no crypto
//! (the server verifies signatures over the spans it returns) and no I/O, and decides what a
//! commit does to a chat's leaves ([`apply_commit`]).
//!
//! The reader is strict: variable-length integers only in their shortest form (as openmls's
//! tls_codec requires), no trailing bytes, nothing Kolokol does not use (GroupInfo messages,
//! proposals sent alone or by reference, Update, PSK, ReInit proposals, other ciphersuites).

use std::collections::{BTreeMap, BTreeSet};

use kolokol_proto::{ErrorCode, UserId};

use crate::{Rejection, reject};

/// `mls10`, the only protocol version.
pub const PROTOCOL_VERSION: u16 = 1;
/// MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: the one ciphersuite Kolokol speaks.
pub const CIPHERSUITE: u16 = 1;
/// RFC 9420's `last_resort` key package extension.
pub const EXTENSION_LAST_RESORT: u16 = 0x000A;
/// The basic credential: an identity string, here `kolokol:<user_id>:<device_id>`.
pub const CREDENTIAL_BASIC: u16 = 1;

/// Labels of the signatures and hashes the server computes (RFC 9420 §5.1.2, §5.2).
pub const LABEL_KEY_PACKAGE_TBS: &str = "KeyPackageTBS";
pub const LABEL_LEAF_NODE_TBS: &str = "LeafNodeTBS";
pub const LABEL_KEY_PACKAGE_REF: &str = "KeyPackage Reference";

/// Ed25519 public keys and signatures.
const SIGNATURE_KEY_LEN: usize = 32;
const SIGNATURE_LEN: usize = 64;

const WIRE_PUBLIC: u16 = 1;
const WIRE_PRIVATE: u16 = 2;
const WIRE_WELCOME: u16 = 3;
const WIRE_KEY_PACKAGE: u16 = 5;

const CONTENT_APPLICATION: u8 = 1;
const CONTENT_COMMIT: u8 = 3;

const SENDER_MEMBER: u8 = 1;

const PROPOSAL_ADD: u16 = 1;
const PROPOSAL_REMOVE: u16 = 3;

/// A message the server can deliver, as far as it may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire<'a> {
    KeyPackage(KeyPackageView<'a>),
    Commit(PublicCommit<'a>),
    Application(PrivateHeader<'a>),
    Welcome(WelcomeView<'a>),
}

/// A key package, with the spans its two signatures cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPackageView<'a> {
    pub cipher_suite: u16,
    pub init_key: &'a [u8],
    pub leaf: LeafView<'a>,
    pub extensions: Vec<Extension<'a>>,
    /// What `signature` signs (as "KeyPackageTBS").
    pub tbs: &'a [u8],
    pub signature: &'a [u8],
    /// The whole KeyPackage, which its reference hashes.
    pub encoded: &'a [u8],
}

impl KeyPackageView<'_> {
    pub fn is_last_resort(&self) -> bool {
        self.extensions
            .iter()
            .any(|extension| extension.kind == EXTENSION_LAST_RESORT)
    }
}

/// A leaf node: a member's keys, credential and capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafView<'a> {
    pub encryption_key: &'a [u8],
    pub signature_key: &'a [u8],
    pub credential: Credential<'a>,
    pub capabilities: Capabilities,
    pub source: LeafSource<'a>,
    pub extensions: Vec<Extension<'a>>,
    /// The leaf's fields before its signature; what it signs, followed by the group id and leaf
    /// index when its source is an update or a commit.
    pub content: &'a [u8],
    pub signature: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    Basic {
        identity: &'a [u8],
    },
    /// X.509 or anything else: read, but never Kolokol's.
    Other {
        kind: u16,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub versions: Vec<u16>,
    pub cipher_suites: Vec<u16>,
    pub extensions: Vec<u16>,
    pub proposals: Vec<u16>,
    pub credentials: Vec<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafSource<'a> {
    /// Seconds since the Unix epoch.
    KeyPackage {
        not_before: u64,
        not_after: u64,
    },
    Update,
    Commit {
        parent_hash: &'a [u8],
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    pub kind: u16,
    pub data: &'a [u8],
}

/// A commit sent as a PublicMessage, its proposals by value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicCommit<'a> {
    pub group_id: &'a [u8],
    pub epoch: u64,
    pub sender_leaf: u32,
    pub authenticated_data: &'a [u8],
    pub proposals: Vec<Proposal<'a>>,
    /// The committer's new leaf, when the commit has an update path.
    pub path_leaf: Option<LeafView<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal<'a> {
    Add(Box<KeyPackageView<'a>>),
    Remove { leaf: u32 },
}

/// What is in clear on an application message (a PrivateMessage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivateHeader<'a> {
    pub group_id: &'a [u8],
    pub epoch: u64,
    pub authenticated_data: &'a [u8],
}

/// A Welcome: its ciphersuite and the key packages (by reference) it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomeView<'a> {
    pub cipher_suite: u16,
    pub new_members: Vec<&'a [u8]>,
}

fn malformed<T>(reason: &'static str) -> Result<T, Rejection> {
    reject(ErrorCode::MlsInvalid, reason)
}

/// Reads one MLSMessage, to its last byte.
pub fn read(bytes: &[u8]) -> Result<Wire<'_>, Rejection> {
    let mut reader = Reader::new(bytes);
    if reader.u16()? != PROTOCOL_VERSION {
        return malformed("not MLS 1.0");
    }
    let wire = match reader.u16()? {
        WIRE_PUBLIC => Wire::Commit(read_public_commit(&mut reader)?),
        WIRE_PRIVATE => Wire::Application(read_private_header(&mut reader)?),
        WIRE_WELCOME => Wire::Welcome(read_welcome(&mut reader)?),
        WIRE_KEY_PACKAGE => Wire::KeyPackage(key_package(&mut reader)?),
        _ => return malformed("an MLS message of a kind Kolokol does not deliver"),
    };
    reader.finish()?;
    Ok(wire)
}

/// Reads a key package sent as an MLSMessage; refusals carry `mls_invalid_key_package`.
pub fn read_key_package(bytes: &[u8]) -> Result<KeyPackageView<'_>, Rejection> {
    match read(bytes) {
        Ok(Wire::KeyPackage(key_package)) => Ok(key_package),
        Ok(_) => reject(ErrorCode::MlsInvalidKeyPackage, "not a key package"),
        Err(rejection) => Err(Rejection::new(
            ErrorCode::MlsInvalidKeyPackage,
            rejection.message,
        )),
    }
}

fn read_public_commit<'a>(reader: &mut Reader<'a>) -> Result<PublicCommit<'a>, Rejection> {
    let group_id = reader.opaque()?;
    let epoch = reader.u64()?;
    if reader.u8()? != SENDER_MEMBER {
        return malformed("a handshake from outside the group");
    }
    let sender_leaf = reader.u32()?;
    let authenticated_data = reader.opaque()?;
    if reader.u8()? != CONTENT_COMMIT {
        return malformed("a public message that is not a commit");
    }
    let mut proposals = Vec::new();
    let mut list = reader.vector()?;
    while !list.is_empty() {
        if list.u8()? != 1 {
            return malformed("a proposal by reference (Kolokol commits proposals by value)");
        }
        proposals.push(match list.u16()? {
            PROPOSAL_ADD => Proposal::Add(Box::new(key_package(&mut list)?)),
            PROPOSAL_REMOVE => Proposal::Remove { leaf: list.u32()? },
            _ => return malformed("a proposal other than add or remove"),
        });
    }
    let path_leaf = match reader.u8()? {
        0 => None,
        1 => {
            let leaf = read_leaf(reader)?;
            reader.opaque()?; // the path's nodes: encrypted for members, nothing for the server
            Some(leaf)
        }
        _ => return malformed("a bad optional marker"),
    };
    reader.opaque()?; // signature
    reader.opaque()?; // confirmation tag
    reader.opaque()?; // membership tag
    Ok(PublicCommit {
        group_id,
        epoch,
        sender_leaf,
        authenticated_data,
        proposals,
        path_leaf,
    })
}

fn read_private_header<'a>(reader: &mut Reader<'a>) -> Result<PrivateHeader<'a>, Rejection> {
    let group_id = reader.opaque()?;
    let epoch = reader.u64()?;
    if reader.u8()? != CONTENT_APPLICATION {
        return malformed("an encrypted handshake (Kolokol sends handshakes in clear)");
    }
    let authenticated_data = reader.opaque()?;
    reader.opaque()?; // encrypted sender data
    reader.opaque()?; // ciphertext
    Ok(PrivateHeader {
        group_id,
        epoch,
        authenticated_data,
    })
}

fn read_welcome<'a>(reader: &mut Reader<'a>) -> Result<WelcomeView<'a>, Rejection> {
    let cipher_suite = reader.u16()?;
    let mut new_members = Vec::new();
    let mut secrets = reader.vector()?;
    while !secrets.is_empty() {
        new_members.push(secrets.opaque()?);
        secrets.opaque()?; // HPKE kem output
        secrets.opaque()?; // HPKE ciphertext
    }
    reader.opaque()?; // encrypted group info
    Ok(WelcomeView {
        cipher_suite,
        new_members,
    })
}

fn key_package<'a>(reader: &mut Reader<'a>) -> Result<KeyPackageView<'a>, Rejection> {
    let start = reader.position();
    if reader.u16()? != PROTOCOL_VERSION {
        return malformed("a key package not for MLS 1.0");
    }
    let cipher_suite = reader.u16()?;
    let init_key = reader.opaque()?;
    let leaf = read_leaf(reader)?;
    let extensions = read_extensions(reader)?;
    let tbs = reader.since(start);
    let signature = reader.opaque()?;
    Ok(KeyPackageView {
        cipher_suite,
        init_key,
        leaf,
        extensions,
        tbs,
        signature,
        encoded: reader.since(start),
    })
}

fn read_leaf<'a>(reader: &mut Reader<'a>) -> Result<LeafView<'a>, Rejection> {
    let start = reader.position();
    let encryption_key = reader.opaque()?;
    let signature_key = reader.opaque()?;
    let credential = match reader.u16()? {
        CREDENTIAL_BASIC => Credential::Basic {
            identity: reader.opaque()?,
        },
        kind => {
            reader.opaque()?; // a vector of certificates
            Credential::Other { kind }
        }
    };
    let capabilities = Capabilities {
        versions: reader.u16_list()?,
        cipher_suites: reader.u16_list()?,
        extensions: reader.u16_list()?,
        proposals: reader.u16_list()?,
        credentials: reader.u16_list()?,
    };
    let source = match reader.u8()? {
        1 => LeafSource::KeyPackage {
            not_before: reader.u64()?,
            not_after: reader.u64()?,
        },
        2 => LeafSource::Update,
        3 => LeafSource::Commit {
            parent_hash: reader.opaque()?,
        },
        _ => return malformed("a leaf of unknown source"),
    };
    let extensions = read_extensions(reader)?;
    let content = reader.since(start);
    let signature = reader.opaque()?;
    if signature_key.len() != SIGNATURE_KEY_LEN || signature.len() != SIGNATURE_LEN {
        return malformed("a leaf whose signature is not Ed25519");
    }
    Ok(LeafView {
        encryption_key,
        signature_key,
        credential,
        capabilities,
        source,
        extensions,
        content,
        signature,
    })
}

fn read_extensions<'a>(reader: &mut Reader<'a>) -> Result<Vec<Extension<'a>>, Rejection> {
    let mut extensions = Vec::new();
    let mut list = reader.vector()?;
    while !list.is_empty() {
        let kind = list.u16()?;
        if extensions.iter().any(|seen: &Extension| seen.kind == kind) {
            return malformed("an extension twice");
        }
        extensions.push(Extension {
            kind,
            data: list.opaque()?,
        });
    }
    Ok(extensions)
}

/// The bytes an MLS signature covers: `SignContent { "MLS 1.0 " + label, content }` (RFC 9420 §5.1.2).
pub fn sign_content(label: &str, content: &[u8]) -> Vec<u8> {
    labelled(label, content)
}

/// The bytes hashed into a reference: `RefHashInput { "MLS 1.0 " + label, value }` (§5.2).
pub fn ref_hash_input(label: &str, value: &[u8]) -> Vec<u8> {
    labelled(label, value)
}

/// What a leaf from a commit's update path signs: its content, the group id and its index (§7.2).
pub fn commit_leaf_tbs(leaf: &LeafView<'_>, group_id: &[u8], leaf_index: u32) -> Vec<u8> {
    let mut tbs = leaf.content.to_vec();
    push_opaque(&mut tbs, group_id);
    tbs.extend_from_slice(&leaf_index.to_be_bytes());
    tbs
}

fn labelled(label: &str, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + label.len() + content.len());
    push_opaque(&mut out, format!("MLS 1.0 {label}").as_bytes());
    push_opaque(&mut out, content);
    out
}

/// Appends a variable-length vector (RFC 9420 §2.1.2), its length in the shortest form.
fn push_opaque(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&(0x4000 | len as u16).to_be_bytes());
    } else {
        assert!(len < MAX_LEN, "an MLS vector is shorter than 2^30 bytes");
        out.extend_from_slice(&(0x8000_0000 | len as u32).to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

/// Vectors are at most 2^30 bytes (their 4-byte length prefix has 30 bits).
const MAX_LEN: usize = 1 << 30;

/// A cursor over TLS-presentation bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn position(&self) -> usize {
        self.at
    }

    fn since(&self, start: usize) -> &'a [u8] {
        &self.bytes[start..self.at]
    }

    fn is_empty(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn finish(&self) -> Result<(), Rejection> {
        if self.is_empty() {
            Ok(())
        } else {
            malformed("bytes after the end of the message")
        }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], Rejection> {
        match self.bytes.get(self.at..self.at.saturating_add(len)) {
            Some(span) => {
                self.at += len;
                Ok(span)
            }
            None => malformed("cut short"),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Rejection> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn u8(&mut self) -> Result<u8, Rejection> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, Rejection> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, Rejection> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, Rejection> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A vector's length: 1, 2 or 4 bytes, the top two bits saying which, in the shortest form.
    fn length(&mut self) -> Result<usize, Rejection> {
        let first = self.u8()?;
        let (len, least) = match first >> 6 {
            0 => (usize::from(first), 0),
            1 => (
                usize::from(u16::from_be_bytes([first & 0x3F, self.u8()?])),
                1 << 6,
            ),
            2 => {
                let rest: [u8; 3] = self.array()?;
                let len = u32::from_be_bytes([first & 0x3F, rest[0], rest[1], rest[2]]);
                (len as usize, 1 << 14)
            }
            _ => return malformed("a length of 2^30 bytes or more"),
        };
        if len < least {
            return malformed("a length not in its shortest form");
        }
        Ok(len)
    }

    fn opaque(&mut self) -> Result<&'a [u8], Rejection> {
        let len = self.length()?;
        self.take(len)
    }

    /// A reader over the next vector's bytes.
    fn vector(&mut self) -> Result<Reader<'a>, Rejection> {
        Ok(Reader::new(self.opaque()?))
    }

    fn u16_list(&mut self) -> Result<Vec<u16>, Rejection> {
        let mut list = self.vector()?;
        if list.bytes.len() % 2 != 0 {
            return malformed("a list of 16-bit values of odd length");
        }
        let mut values = Vec::with_capacity(list.bytes.len() / 2);
        while !list.is_empty() {
            values.push(list.u16()?);
        }
        Ok(values)
    }
}

/// The user and device a credential's identity names: `kolokol:<user_id>:<device_id>`, both
/// positive decimals without leading zeros.
pub fn parse_identity(identity: &[u8]) -> Option<(UserId, i64)> {
    let text = std::str::from_utf8(identity).ok()?;
    let (user, device) = text.strip_prefix("kolokol:")?.split_once(':')?;
    Some((positive(user)?, positive(device)?))
}

fn positive(digits: &str) -> Option<i64> {
    let canonical = !digits.is_empty()
        && !digits.starts_with('0')
        && digits.bytes().all(|byte| byte.is_ascii_digit());
    canonical.then(|| digits.parse().ok()).flatten()
}

/// The group id of a chat's MLS group; a reset starts the next generation.
pub fn group_id(chat_id: i64, generation: u32) -> Vec<u8> {
    format!("kolokol:chat:{chat_id}:{generation}").into_bytes()
}

/// The chat and generation a group id names, written as [`group_id`] writes it.
pub fn parse_group_id(group_id: &[u8]) -> Option<(i64, u32)> {
    let text = std::str::from_utf8(group_id).ok()?;
    let (chat, generation) = text.strip_prefix("kolokol:chat:")?.split_once(':')?;
    let generation = u32::try_from(positive(generation)?).ok()?;
    Some((positive(chat)?, generation))
}

/// A device as the server knows it: whose it is and the key it signs with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Device {
    pub user_id: UserId,
    pub device_id: i64,
    pub signature_key: Vec<u8>,
}

/// A leaf of a chat's group and the device in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub leaf: u32,
    pub device: Device,
}

/// What a commit does, as read and checked by the server: who sent it, which leaves it removes,
/// which devices it adds (from their key packages' credentials and keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitFacts {
    pub sender_leaf: u32,
    pub removes: Vec<u32>,
    pub adds: Vec<Device>,
    /// The signature key of the committer's new leaf, if the commit has an update path.
    pub path_signature_key: Option<Vec<u8>>,
}

/// What the chat allows a commit to do now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowed {
    /// Leaves of people who left the chat, of revoked devices, of devices that lost their state.
    pub removable: BTreeSet<u32>,
    /// Members' devices that may be added (they hold no leaf, or only one being removed), by
    /// device id.
    pub addable: BTreeMap<i64, Device>,
}

/// A commit's effect on the leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeafChanges {
    pub removed: Vec<u32>,
    pub added: Vec<Leaf>,
}

fn forbidden<T>(reason: &'static str) -> Result<T, Rejection> {
    reject(ErrorCode::MlsForbidden, reason)
}

/// Applies a commit by `committer` to a chat's leaves under the chat's rules: the sender leaf is
/// the committer's own (or, in a group with no leaves yet, leaf 0 becomes it); removes are only of
/// removable leaves, never the committer's; adds only of addable devices with the keys they
/// registered; an update path keeps the committer's key. Removes go first, then each add takes
/// the smallest free leaf, as MLS itself places them (RFC 9420 §12.1.1, §12.3).
pub fn apply_commit(
    leaves: &[Leaf],
    committer: &Device,
    commit: &CommitFacts,
    allowed: &Allowed,
) -> Result<LeafChanges, Rejection> {
    let mut occupied: BTreeMap<u32, &Device> = leaves
        .iter()
        .map(|leaf| (leaf.leaf, &leaf.device))
        .collect();
    let mut changes = LeafChanges::default();
    if occupied.is_empty() {
        if commit.sender_leaf != 0 {
            return forbidden("the first commit of a group comes from leaf 0");
        }
        occupied.insert(0, committer);
        changes.added.push(Leaf {
            leaf: 0,
            device: committer.clone(),
        });
    }
    let sender_key = match occupied.get(&commit.sender_leaf) {
        Some(device) if device.device_id == committer.device_id => device.signature_key.clone(),
        _ => return forbidden("the commit's sender leaf is not this device's"),
    };
    if commit
        .path_signature_key
        .as_ref()
        .is_some_and(|key| *key != sender_key)
    {
        return forbidden("a commit may not change its sender's signature key");
    }
    for &leaf in &commit.removes {
        if leaf == commit.sender_leaf {
            return forbidden("a commit may not remove its own sender");
        }
        if !allowed.removable.contains(&leaf) || occupied.remove(&leaf).is_none() {
            return forbidden(
                "a commit may remove only leaves of those who left or lost their device",
            );
        }
        changes.removed.push(leaf);
    }
    for device in &commit.adds {
        if allowed.addable.get(&device.device_id) != Some(device) {
            return forbidden(
                "a commit may add only devices of the chat's members, with the keys they registered",
            );
        }
        if occupied
            .values()
            .any(|held| held.device_id == device.device_id)
        {
            return forbidden("a device is added once, and only while it holds no leaf");
        }
        let leaf = (0..)
            .find(|leaf| !occupied.contains_key(leaf))
            .expect("fewer than 2^32 leaves");
        occupied.insert(leaf, device);
        changes.added.push(Leaf {
            leaf,
            device: device.clone(),
        });
    }
    Ok(changes)
}

/// A key package the server has verified: well formed, signed twice by its leaf's key, with a
/// lifetime it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedKeyPackage {
    /// Its KeyPackageRef (SHA-256), how a Welcome names it.
    pub reference: Vec<u8>,
    pub device: Device,
    pub last_resort: bool,
    /// End of its lifetime, in milliseconds.
    pub not_after: kolokol_proto::Millis,
    /// The MLSMessage as published, handed out as it came.
    pub data: Vec<u8>,
}

/// A commit the server has read and checked as far as it can (it cannot check what only members
/// can: the commit's signature and its confirmation tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCommit {
    /// The group generation its group id names.
    pub generation: u32,
    /// The epoch the commit was made in; accepted, it starts `epoch + 1`.
    pub epoch: u64,
    pub facts: CommitFacts,
    /// The Welcome for the devices it adds (present exactly when it adds some).
    pub welcome: Option<CheckedWelcome>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedWelcome {
    /// The added devices and the references of the key packages the Welcome names for them.
    pub recipients: Vec<(i64, Vec<u8>)>,
    pub data: Vec<u8>,
}

/// An application message as far as the server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedApplication {
    pub generation: u32,
    pub epoch: u64,
    /// HMAC-SHA256 of the content under a key inside it: an abuse report can prove one message's
    /// content without disclosing any other.
    pub franking_tag: Vec<u8>,
    pub data: Vec<u8>,
}

/// What an application message's authenticated data must be: a version byte, then the tag.
pub const FRANKING_VERSION: u8 = 1;
pub const FRANKING_TAG_LEN: usize = 32;

/// A message fits its chat's privacy: MLS messages only in encrypted chats, and nothing else there.
pub fn check_privacy(privacy: kolokol_proto::ChatPrivacy, is_mls: bool) -> Result<(), Rejection> {
    use kolokol_proto::ChatPrivacy::{Community, Encrypted};
    match (privacy, is_mls) {
        (Encrypted, false) => Err(encryption_required()),
        (Community, true) => reject(
            ErrorCode::NotEncrypted,
            "this chat is not end-to-end encrypted",
        ),
        _ => Ok(()),
    }
}

/// Text (or anything else in clear) sent to an encrypted chat.
pub fn encryption_required() -> Rejection {
    Rejection::new(
        ErrorCode::EncryptionRequired,
        "this chat is end-to-end encrypted: send MLS messages, not text",
    )
}

/// A commit must be made at the group's current generation and epoch; otherwise another commit
/// (or a reset) came first, and the committer processes it and tries again.
pub fn check_commit_epoch(current: (u32, u64), commit: (u32, u64)) -> Result<(), Rejection> {
    if current == commit {
        Ok(())
    } else {
        reject(
            ErrorCode::MlsEpochConflict,
            "another commit moved the group on first: process it, then commit again",
        )
    }
}

/// An application message must be encrypted at the current epoch, and only once nobody who must
/// go is still in the group (so nothing new is ever encrypted to them).
pub fn check_application(
    current: (u32, u64),
    message: (u32, u64),
    removals_pending: bool,
) -> Result<(), Rejection> {
    if current != message {
        return reject(
            ErrorCode::MlsEpochStale,
            "the message was encrypted in another epoch than the group's",
        );
    }
    if removals_pending {
        return reject(
            ErrorCode::MlsCommitRequired,
            "the group still holds someone who left or a revoked device: commit their removal first",
        );
    }
    Ok(())
}

/// The same MLS message delivered again.
pub fn replayed() -> Rejection {
    Rejection::new(
        ErrorCode::MlsReplayed,
        "this MLS message was delivered already",
    )
}

/// A message may be deleted unless it is a commit: devices that are behind still need every
/// commit to follow the group.
pub fn check_deletable(message: &kolokol_proto::Message) -> Result<(), Rejection> {
    match &message.mls {
        Some(mls) if mls.kind == kolokol_proto::MlsKind::Commit => reject(
            ErrorCode::Forbidden,
            "a commit cannot be deleted: devices that are behind still need it",
        ),
        _ => Ok(()),
    }
}

/// Edits and reactions in clear would show the server what an encrypted chat says.
pub fn check_clear_change(privacy: kolokol_proto::ChatPrivacy) -> Result<(), Rejection> {
    match privacy {
        kolokol_proto::ChatPrivacy::Encrypted => Err(encryption_required()),
        kolokol_proto::ChatPrivacy::Community => Ok(()),
    }
}
