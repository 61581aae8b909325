//! The checks the server makes on MLS messages with public keys only (RFC 9420): key packages'
//! two Ed25519 signatures and lifetimes, a commit's added key packages, its update path's leaf
//! signature and its Welcome's recipients, an application message's group and franking tag.
//! What needs a group secret (a commit's own signature, confirmation tag, anything encrypted) is
//! left to the members.

use kolokol_domain::mls::{
    self, CheckedApplication, CheckedCommit, CheckedKeyPackage, CheckedWelcome, CommitFacts,
    Credential, Device, FRANKING_TAG_LEN, FRANKING_VERSION, KeyPackageView, LABEL_KEY_PACKAGE_REF,
    LABEL_KEY_PACKAGE_TBS, LABEL_LEAF_NODE_TBS, LeafSource, LeafView, Proposal, Wire,
};
use kolokol_domain::{Rejection, reject};
use kolokol_proto::{ChatId, ErrorCode, Millis};
use sha2::{Digest, Sha256};

const HOUR_MS: Millis = 60 * 60 * 1000;
const DAY_MS: Millis = 24 * HOUR_MS;
/// A key package may start at most this far ahead of the server's clock (clocks drift).
pub const KEY_PACKAGE_CLOCK_SKEW_MS: Millis = HOUR_MS;
/// It must still be valid a day from now, so it is not handed out on its last minute.
pub const KEY_PACKAGE_MIN_REMAINING_MS: Millis = DAY_MS;
/// And live at most 92 days (openmls makes 84 days and an hour).
pub const KEY_PACKAGE_MAX_LIFETIME_MS: Millis = 92 * DAY_MS;

fn invalid<T>(code: ErrorCode, reason: &'static str) -> Result<T, Rejection> {
    reject(code, reason)
}

/// A key package published by, or added for, a device: refusals carry `code`.
fn key_package(
    view: &KeyPackageView<'_>,
    data: &[u8],
    now: Millis,
    code: ErrorCode,
) -> Result<CheckedKeyPackage, Rejection> {
    if view.cipher_suite != mls::CIPHERSUITE {
        return invalid(code, "a key package of another ciphersuite");
    }
    if view.init_key == view.leaf.encryption_key {
        return invalid(code, "a key package whose init key is its leaf's key");
    }
    let device = leaf_device(&view.leaf, code)?;
    let LeafSource::KeyPackage {
        not_before,
        not_after,
    } = view.leaf.source
    else {
        return invalid(code, "a key package's leaf without a lifetime");
    };
    let (not_before, not_after) = (seconds_to_ms(not_before), seconds_to_ms(not_after));
    if not_before > now + KEY_PACKAGE_CLOCK_SKEW_MS {
        return invalid(
            code,
            "a key package valid only later (is the device's clock right?)",
        );
    }
    if not_after < now + KEY_PACKAGE_MIN_REMAINING_MS {
        return invalid(code, "a key package that expires within a day");
    }
    if not_after - not_before > KEY_PACKAGE_MAX_LIFETIME_MS {
        return invalid(code, "a key package that lives longer than 92 days");
    }
    verify(
        &view.leaf,
        &mls::sign_content(LABEL_LEAF_NODE_TBS, view.leaf.content),
        view.leaf.signature,
        code,
    )?;
    verify(
        &view.leaf,
        &mls::sign_content(LABEL_KEY_PACKAGE_TBS, view.tbs),
        view.signature,
        code,
    )?;
    Ok(CheckedKeyPackage {
        reference: reference(view.encoded),
        device,
        last_resort: view.is_last_resort(),
        not_after,
        data: data.to_vec(),
    })
}

fn seconds_to_ms(seconds: u64) -> Millis {
    Millis::try_from(seconds.saturating_mul(1000)).unwrap_or(Millis::MAX)
}

/// The device a leaf belongs to, if it is a Kolokol device as RFC 9420 §7.2 requires a leaf to
/// describe itself: MLS 1.0, ciphersuite 1, its own credential type and extensions listed.
fn leaf_device(leaf: &LeafView<'_>, code: ErrorCode) -> Result<Device, Rejection> {
    let Credential::Basic { identity } = leaf.credential else {
        return invalid(code, "a credential that is not a Kolokol device's");
    };
    let Some((user_id, device_id)) = mls::parse_identity(identity) else {
        return invalid(code, "a credential that is not a Kolokol device's");
    };
    let capabilities = &leaf.capabilities;
    if !capabilities.versions.contains(&mls::PROTOCOL_VERSION)
        || !capabilities.cipher_suites.contains(&mls::CIPHERSUITE)
        || !capabilities.credentials.contains(&mls::CREDENTIAL_BASIC)
    {
        return invalid(
            code,
            "a leaf without MLS 1.0, ciphersuite 1 or basic credentials",
        );
    }
    if leaf
        .extensions
        .iter()
        .any(|extension| !capabilities.extensions.contains(&extension.kind))
    {
        return invalid(code, "a leaf with an extension it does not list");
    }
    Ok(Device {
        user_id,
        device_id,
        signature_key: leaf.signature_key.to_vec(),
    })
}

fn verify(
    leaf: &LeafView<'_>,
    signed: &[u8],
    signature: &[u8],
    code: ErrorCode,
) -> Result<(), Rejection> {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, leaf.signature_key)
        .verify(signed, signature)
        .or_else(|_| invalid(code, "a signature that does not verify"))
}

fn reference(encoded_key_package: &[u8]) -> Vec<u8> {
    Sha256::digest(mls::ref_hash_input(
        LABEL_KEY_PACKAGE_REF,
        encoded_key_package,
    ))
    .to_vec()
}

/// A key package a device publishes.
pub fn published_key_package(data: &[u8], now: Millis) -> Result<CheckedKeyPackage, Rejection> {
    let view = mls::read_key_package(data)?;
    key_package(&view, data, now, ErrorCode::MlsInvalidKeyPackage)
}

/// The generation of chat `chat_id`'s group that `group_id` names.
fn generation_of(group_id: &[u8], chat_id: ChatId) -> Result<u32, Rejection> {
    match mls::parse_group_id(group_id) {
        Some((chat, generation)) if chat == chat_id => Ok(generation),
        _ => invalid(ErrorCode::MlsInvalid, "a message for another chat's group"),
    }
}

/// A commit to chat `chat_id`'s group, with the Welcome it needs when it adds devices.
pub fn commit(
    data: &[u8],
    welcome: Option<&[u8]>,
    chat_id: ChatId,
    now: Millis,
) -> Result<CheckedCommit, Rejection> {
    let Wire::Commit(commit) = mls::read(data)? else {
        return invalid(ErrorCode::MlsInvalid, "not a commit");
    };
    let generation = generation_of(commit.group_id, chat_id)?;
    let group_id = commit.group_id;
    let mut removes = Vec::new();
    let mut added = Vec::new();
    for proposal in &commit.proposals {
        match proposal {
            Proposal::Remove { leaf } => removes.push(*leaf),
            Proposal::Add(view) => {
                added.push(key_package(view, view.encoded, now, ErrorCode::MlsInvalid)?)
            }
        }
    }
    let path_signature_key = match &commit.path_leaf {
        None => None,
        Some(leaf) => {
            if !matches!(leaf.source, LeafSource::Commit { .. }) {
                return invalid(
                    ErrorCode::MlsInvalid,
                    "an update path whose leaf is not a commit's",
                );
            }
            let tbs = mls::commit_leaf_tbs(leaf, group_id, commit.sender_leaf);
            let signed = mls::sign_content(LABEL_LEAF_NODE_TBS, &tbs);
            verify(leaf, &signed, leaf.signature, ErrorCode::MlsInvalid)?;
            leaf_device(leaf, ErrorCode::MlsInvalid)?;
            Some(leaf.signature_key.to_vec())
        }
    };
    let welcome = match (welcome, added.is_empty()) {
        (None, true) => None,
        (Some(_), true) => {
            return invalid(
                ErrorCode::MlsInvalid,
                "a Welcome for a commit that adds no one",
            );
        }
        (None, false) => {
            return invalid(
                ErrorCode::MlsInvalid,
                "a commit that adds devices needs their Welcome",
            );
        }
        (Some(bytes), false) => Some(welcome_for(bytes, &added)?),
    };
    Ok(CheckedCommit {
        generation,
        epoch: commit.epoch,
        facts: CommitFacts {
            sender_leaf: commit.sender_leaf,
            removes,
            adds: added.into_iter().map(|package| package.device).collect(),
            path_signature_key,
        },
        welcome,
        data: data.to_vec(),
    })
}

/// A Welcome must name exactly the key packages its commit adds.
fn welcome_for(data: &[u8], added: &[CheckedKeyPackage]) -> Result<CheckedWelcome, Rejection> {
    let Wire::Welcome(welcome) = mls::read(data)? else {
        return invalid(ErrorCode::MlsInvalid, "not a Welcome");
    };
    if welcome.cipher_suite != mls::CIPHERSUITE {
        return invalid(ErrorCode::MlsInvalid, "a Welcome of another ciphersuite");
    }
    let mut named: Vec<&[u8]> = welcome.new_members.clone();
    let mut adds: Vec<&[u8]> = added
        .iter()
        .map(|package| package.reference.as_slice())
        .collect();
    named.sort_unstable();
    adds.sort_unstable();
    if named != adds {
        return invalid(
            ErrorCode::MlsInvalid,
            "a Welcome not for exactly the devices the commit adds",
        );
    }
    Ok(CheckedWelcome {
        recipients: added
            .iter()
            .map(|package| (package.device.device_id, package.reference.clone()))
            .collect(),
        data: data.to_vec(),
    })
}

/// An application message to chat `chat_id`'s group, with its franking tag.
pub fn application(data: &[u8], chat_id: ChatId) -> Result<CheckedApplication, Rejection> {
    let Wire::Application(header) = mls::read(data)? else {
        return invalid(ErrorCode::MlsInvalid, "not an application message");
    };
    let generation = generation_of(header.group_id, chat_id)?;
    match header.authenticated_data {
        [FRANKING_VERSION, tag @ ..] if tag.len() == FRANKING_TAG_LEN => Ok(CheckedApplication {
            generation,
            epoch: header.epoch,
            franking_tag: tag.to_vec(),
            data: data.to_vec(),
        }),
        _ => invalid(
            ErrorCode::MlsInvalid,
            "an application message without its franking tag",
        ),
    }
}

/// What a reporter disclosed of an encrypted message, checked against the franking tag its sender
/// sent with it: `HMAC-SHA256(fk, content) == tag`, where `fk` is inside the content. Returns the
/// text to keep with the report.
pub fn disclosure(content: &[u8], tag: &[u8]) -> Result<String, Rejection> {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mismatch = || {
        Rejection::new(
            ErrorCode::DisclosureMismatch,
            "the disclosed content is not what was sent",
        )
    };
    let parsed: serde_json::Value = serde_json::from_slice(content).map_err(|_| mismatch())?;
    let key = parsed["fk"]
        .as_str()
        .and_then(|fk| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(fk)
                .ok()
        })
        .ok_or_else(mismatch)?;
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).map_err(|_| mismatch())?;
    mac.update(content);
    mac.verify_slice(tag).map_err(|_| mismatch())?;
    let shown = parsed["text"]
        .as_str()
        .or(parsed["emoji"].as_str())
        .unwrap_or_default();
    Ok(shown.to_owned())
}

#[cfg(test)]
mod tests {
    //! On messages made by ts-mls and openmls (crates/domain/tests/fixtures/mls).
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../domain/tests/fixtures/mls/");
        std::fs::read(format!("{dir}{name}")).unwrap()
    }

    /// The fixtures' group is `kolokol:chat:5:1`.
    const GROUP: ChatId = 5;

    /// An hour into the lifetime of a library's key packages (made an hour before their start).
    fn now_for(library: &str) -> Millis {
        let data = fixture(&format!("{library}-key-package.bin"));
        let LeafSource::KeyPackage { not_before, .. } =
            mls::read_key_package(&data).unwrap().leaf.source
        else {
            unreachable!()
        };
        seconds_to_ms(not_before) + HOUR_MS
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    #[test]
    fn both_libraries_key_packages_verify() {
        for library in ["ts-mls", "openmls"] {
            let now = now_for(library);
            let checked =
                published_key_package(&fixture(&format!("{library}-key-package.bin")), now)
                    .unwrap();
            assert_eq!((checked.device.user_id, checked.device.device_id), (2, 21));
            assert!(!checked.last_resort);
            assert!(checked.not_after > now + 80 * DAY_MS);
            let spare = published_key_package(
                &fixture(&format!("{library}-key-package-last-resort.bin")),
                now,
            )
            .unwrap();
            assert!(spare.last_resort, "{library}");
        }
        let facts: serde_json::Value = serde_json::from_slice(&fixture("ts-mls.json")).unwrap();
        let checked =
            published_key_package(&fixture("ts-mls-key-package.bin"), now_for("ts-mls")).unwrap();
        assert_eq!(hex(&checked.reference), facts["key_package"]["reference"]);
    }

    #[test]
    fn a_changed_byte_or_a_lifetime_out_of_bounds_is_refused() {
        let data = fixture("openmls-key-package.bin");
        let now = now_for("openmls");
        let refusal = |data: &[u8], now| published_key_package(data, now).unwrap_err();
        let mut forged = data.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(refusal(&forged, now).code, ErrorCode::MlsInvalidKeyPackage);
        assert_eq!(
            refusal(&forged, now).message,
            "a signature that does not verify"
        );
        // The identity changed from kolokol:2:21 to kolokol:2:22: no longer what was signed.
        let at = data.windows(12).position(|w| w == b"kolokol:2:21").unwrap();
        let mut other = data.clone();
        other[at + 11] = b'2';
        assert_eq!(
            refusal(&other, now).message,
            "a signature that does not verify"
        );
        assert!(
            refusal(&data, now - 3 * HOUR_MS)
                .message
                .contains("valid only later")
        );
        assert!(
            refusal(&data, now + 84 * DAY_MS)
                .message
                .contains("expires within a day")
        );
        assert_eq!(
            refusal(&fixture("openmls-commit-add.bin"), now).code,
            ErrorCode::MlsInvalidKeyPackage
        );
    }

    #[test]
    fn commits_verify_their_adds_path_and_welcome() {
        for library in ["ts-mls", "openmls"] {
            let now = now_for(library);
            let add = fixture(&format!("{library}-commit-add.bin"));
            let welcome = fixture(&format!("{library}-welcome.bin"));
            let checked = commit(&add, Some(&welcome), GROUP, now).unwrap();
            assert_eq!((checked.epoch, checked.facts.sender_leaf), (0, 0));
            let added: Vec<_> = checked.facts.adds.iter().map(|d| d.device_id).collect();
            let recipients: Vec<_> = checked
                .welcome
                .as_ref()
                .unwrap()
                .recipients
                .iter()
                .map(|r| r.0)
                .collect();
            assert_eq!(added, recipients, "{library}");
            assert!(added.contains(&21));

            assert_eq!(
                commit(&add, None, GROUP, now).unwrap_err().message,
                "a commit that adds devices needs their Welcome"
            );
            assert_eq!(
                commit(&add, Some(&welcome), 6, now).unwrap_err().message,
                "a message for another chat's group"
            );

            // A key update's path leaf is signed over the group id and the sender's leaf index.
            let update = fixture(&format!("{library}-commit-update.bin"));
            let checked = commit(&update, None, GROUP, now).unwrap();
            assert!(checked.facts.path_signature_key.is_some(), "{library}");
            assert!(checked.facts.adds.is_empty() && checked.facts.removes.is_empty());
            assert!(commit(&update, Some(&welcome), GROUP, now).is_err());

            let remove = fixture(&format!("{library}-commit-remove.bin"));
            assert_eq!(
                commit(&remove, None, GROUP, now).unwrap().facts.removes,
                [2]
            );
        }
        // A Welcome for other key packages than the commit adds.
        let now = now_for("ts-mls");
        assert_eq!(
            commit(
                &fixture("ts-mls-commit-add.bin"),
                Some(&fixture("openmls-welcome.bin")),
                GROUP,
                now
            )
            .unwrap_err()
            .message,
            "a Welcome not for exactly the devices the commit adds"
        );
        // A path leaf claiming another leaf index no longer verifies.
        let update = fixture("openmls-commit-update.bin");
        let group_len = usize::from(update[4]);
        let mut moved = update.clone();
        let sender_at = 4 + 1 + group_len + 8 + 1 + 3;
        moved[sender_at] = 0;
        assert_eq!(
            commit(&moved, None, GROUP, now).unwrap_err().message,
            "a signature that does not verify"
        );
    }

    #[test]
    fn a_disclosure_is_accepted_only_as_it_was_sent() {
        use hmac::Mac as _;
        let content = r#"{"v":1,"fk":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8","t":"text","text":"Реклама"}"#.as_bytes();
        let key: Vec<u8> = (0..32).collect();
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(content);
        let tag = mac.finalize().into_bytes().to_vec();
        assert_eq!(disclosure(content, &tag).unwrap(), "Реклама");
        let changed = std::str::from_utf8(content)
            .unwrap()
            .replace("Реклама", "Привет!");
        let refused = disclosure(changed.as_bytes(), &tag).unwrap_err();
        assert_eq!(refused.code, ErrorCode::DisclosureMismatch);
        assert!(disclosure(b"not json", &tag).is_err());
    }

    #[test]
    fn application_messages_carry_their_franking_tag() {
        for library in ["ts-mls", "openmls"] {
            let data = fixture(&format!("{library}-application.bin"));
            let checked = application(&data, GROUP).unwrap();
            assert_eq!(checked.epoch, 1);
            assert_eq!(checked.franking_tag, [7u8; 32]);
            assert!(application(&data, 6).is_err());
            assert_eq!(
                application(&fixture(&format!("{library}-commit-update.bin")), GROUP)
                    .unwrap_err()
                    .message,
                "not an application message"
            );
        }
    }
}
