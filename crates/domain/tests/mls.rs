//! The server's MLS reader on real messages from both libraries Kolokol's clients use: ts-mls
//! (browser; `web/scripts/mls-fixtures.mjs` writes them) and openmls (Rust; `KOLOKOL_WRITE_FIXTURES=1
//! cargo test -p kolokol-e2ee` writes them), and on everything a hostile client could send instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use kolokol_domain::mls::{
    self, Allowed, CommitFacts, Credential, Device, LABEL_KEY_PACKAGE_REF, Leaf, LeafSource,
    Proposal, Wire,
};
use kolokol_proto::ErrorCode;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mls")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn all_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mls");
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".bin"))
        .map(|name| {
            let bytes = fixture(&name);
            (name, bytes)
        })
        .collect();
    all.sort();
    all
}

fn facts() -> serde_json::Value {
    serde_json::from_slice(&fixture("ts-mls.json")).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn identity<'a>(credential: &Credential<'a>) -> &'a str {
    match credential {
        Credential::Basic { identity } => std::str::from_utf8(identity).unwrap(),
        Credential::Other { kind } => panic!("credential type {kind}"),
    }
}

fn reference(encoded_key_package: &[u8]) -> String {
    hex(&Sha256::digest(mls::ref_hash_input(
        LABEL_KEY_PACKAGE_REF,
        encoded_key_package,
    )))
}

fn commit(bytes: &[u8]) -> mls::PublicCommit<'_> {
    match mls::read(bytes).unwrap() {
        Wire::Commit(commit) => commit,
        other => panic!("not a commit: {other:?}"),
    }
}

fn added_identities<'a>(commit: &mls::PublicCommit<'a>) -> Vec<&'a str> {
    commit
        .proposals
        .iter()
        .filter_map(|proposal| match proposal {
            Proposal::Add(key_package) => Some(identity(&key_package.leaf.credential)),
            Proposal::Remove { .. } => None,
        })
        .collect()
}

fn removed_leaves(commit: &mls::PublicCommit<'_>) -> Vec<u32> {
    commit
        .proposals
        .iter()
        .filter_map(|proposal| match proposal {
            Proposal::Remove { leaf } => Some(*leaf),
            Proposal::Add(_) => None,
        })
        .collect()
}

#[test]
fn both_libraries_fixtures_are_there() {
    let names: Vec<_> = all_fixtures().into_iter().map(|(name, _)| name).collect();
    for library in ["ts-mls", "openmls"] {
        for kind in [
            "application",
            "commit-add",
            "commit-remove",
            "commit-update",
            "key-package",
            "key-package-last-resort",
            "welcome",
        ] {
            let name = format!("{library}-{kind}.bin");
            assert!(names.contains(&name), "{name} is missing");
        }
    }
}

#[test]
fn key_packages_read_with_their_credential_lifetime_and_reference() {
    let facts = facts();
    for library in ["ts-mls", "openmls"] {
        let bytes = fixture(&format!("{library}-key-package.bin"));
        let key_package = mls::read_key_package(&bytes).unwrap();
        assert_eq!(key_package.cipher_suite, mls::CIPHERSUITE);
        assert_eq!(identity(&key_package.leaf.credential), "kolokol:2:21");
        assert_eq!(
            mls::parse_identity(b"kolokol:2:21"),
            Some((2, 21)),
            "{library}"
        );
        let LeafSource::KeyPackage {
            not_before,
            not_after,
        } = key_package.leaf.source
        else {
            panic!("{library}: a key package's leaf has a lifetime");
        };
        assert!(not_after - not_before <= 92 * 86400, "{library}");
        assert!(!key_package.is_last_resort(), "{library}");
        assert_ne!(key_package.init_key, key_package.leaf.encryption_key);
        assert!(key_package.tbs.len() < key_package.encoded.len());
        assert!(key_package.encoded.ends_with(key_package.signature));

        let spare = fixture(&format!("{library}-key-package-last-resort.bin"));
        assert!(
            mls::read_key_package(&spare).unwrap().is_last_resort(),
            "{library}"
        );
    }
    let bytes = fixture("ts-mls-key-package.bin");
    let key_package = mls::read_key_package(&bytes).unwrap();
    assert_eq!(
        hex(key_package.leaf.signature_key),
        facts["key_package"]["signature_key"]
    );
    assert_eq!(
        reference(key_package.encoded),
        facts["key_package"]["reference"]
    );
}

#[test]
fn commits_read_with_their_sender_proposals_and_path() {
    let facts = facts();
    let add = fixture("ts-mls-commit-add.bin");
    let add = commit(&add);
    assert_eq!(add.group_id, b"kolokol:chat:5:1");
    assert_eq!((add.epoch, add.sender_leaf), (0, 0));
    assert_eq!(
        added_identities(&add),
        facts["commit_add"]["adds"].as_array().unwrap().as_slice()
    );

    let update = fixture("ts-mls-commit-update.bin");
    let update = commit(&update);
    assert_eq!((update.epoch, update.sender_leaf), (1, 1));
    assert!(update.proposals.is_empty());
    let path = update.path_leaf.expect("a key update has a path");
    assert_eq!(
        hex(path.signature_key),
        facts["commit_update"]["path_signature_key"]
    );
    assert!(matches!(path.source, LeafSource::Commit { .. }));

    let remove = fixture("ts-mls-commit-remove.bin");
    let remove = commit(&remove);
    assert_eq!((remove.epoch, remove.sender_leaf), (2, 1));
    assert_eq!(removed_leaves(&remove), [2]);

    let add = fixture("openmls-commit-add.bin");
    let add = commit(&add);
    assert_eq!((add.epoch, add.sender_leaf), (0, 0));
    assert_eq!(add.group_id, b"kolokol:chat:5:1");
    assert_eq!(added_identities(&add), ["kolokol:2:21"]);
    assert_eq!(identity(&add.path_leaf.unwrap().credential), "kolokol:1:11");
    let update = fixture("openmls-commit-update.bin");
    let update = commit(&update);
    assert_eq!((update.epoch, update.sender_leaf), (1, 1));
    assert!(update.proposals.is_empty() && update.path_leaf.is_some());
    let remove = fixture("openmls-commit-remove.bin");
    let remove = commit(&remove);
    assert_eq!((remove.epoch, remove.sender_leaf), (2, 1));
    assert_eq!(removed_leaves(&remove), [2]);
}

#[test]
fn welcomes_name_the_key_packages_their_commits_add() {
    for library in ["ts-mls", "openmls"] {
        let welcome = fixture(&format!("{library}-welcome.bin"));
        let Wire::Welcome(welcome) = mls::read(&welcome).unwrap() else {
            panic!("{library}: not a welcome");
        };
        assert_eq!(welcome.cipher_suite, mls::CIPHERSUITE);
        let add = fixture(&format!("{library}-commit-add.bin"));
        let added: BTreeSet<String> = commit(&add)
            .proposals
            .iter()
            .map(|proposal| match proposal {
                Proposal::Add(key_package) => reference(key_package.encoded),
                Proposal::Remove { .. } => unreachable!(),
            })
            .collect();
        let named: BTreeSet<String> = welcome.new_members.iter().map(|r| hex(r)).collect();
        assert_eq!(named, added, "{library}");
    }
}

#[test]
fn application_messages_show_only_group_epoch_and_authenticated_data() {
    for library in ["ts-mls", "openmls"] {
        let bytes = fixture(&format!("{library}-application.bin"));
        let Wire::Application(header) = mls::read(&bytes).unwrap() else {
            panic!("{library}: not an application message");
        };
        assert_eq!(header.group_id, b"kolokol:chat:5:1");
        assert_eq!(header.epoch, 1);
        let mut franking = vec![1u8];
        franking.extend([7u8; 32]);
        assert_eq!(header.authenticated_data, franking.as_slice(), "{library}");
        assert!(
            !bytes.windows(8).any(|w| w == "Собр".as_bytes()),
            "{library}: text in clear"
        );
    }
}

#[test]
fn every_truncation_and_any_trailing_byte_is_refused() {
    for (name, bytes) in all_fixtures() {
        for len in 0..bytes.len() {
            let refusal = mls::read(&bytes[..len]).unwrap_err();
            assert_eq!(refusal.code, ErrorCode::MlsInvalid, "{name} cut at {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(mls::read(&longer).is_err(), "{name} with a trailing byte");
    }
}

#[test]
fn lengths_must_be_in_their_shortest_form() {
    let bytes = fixture("ts-mls-application.bin");
    // version, wire format, then the group id's one-byte length: write it in two bytes instead.
    let len = bytes[4];
    assert!(len < 64);
    let mut padded = bytes[..4].to_vec();
    padded.extend([0x40, len]);
    padded.extend(&bytes[5..]);
    assert_eq!(
        mls::read(&padded).unwrap_err().message,
        "a length not in its shortest form"
    );
}

#[test]
fn what_kolokol_does_not_deliver_is_refused() {
    // A GroupInfo (wire format 4), another protocol version.
    assert!(mls::read(&[0, 1, 0, 4]).is_err());
    let mut bytes = fixture("ts-mls-application.bin");
    bytes[1] = 2;
    assert_eq!(mls::read(&bytes).unwrap_err().message, "not MLS 1.0");
    // An application message's content type turned into a commit's: an encrypted handshake.
    let mut bytes = fixture("openmls-application.bin");
    let group_len = usize::from(bytes[4]);
    bytes[4 + 1 + group_len + 8] = 3;
    assert!(mls::read(&bytes).unwrap_err().message.contains("handshake"));
    // A key package is not a commit, nor the other way round.
    let key_package = fixture("openmls-key-package.bin");
    assert!(matches!(mls::read(&key_package), Ok(Wire::KeyPackage(_))));
    let commit = fixture("openmls-commit-add.bin");
    assert_eq!(
        mls::read_key_package(&commit).unwrap_err().code,
        ErrorCode::MlsInvalidKeyPackage
    );
}

#[test]
fn identities_are_kolokol_user_and_device_ids_written_one_way() {
    assert_eq!(mls::parse_identity(b"kolokol:7:31"), Some((7, 31)));
    for bad in [
        &b"kolokol:07:31"[..],
        b"kolokol:7:031",
        b"kolokol:0:1",
        b"kolokol:-7:31",
        b"kolokol:+7:31",
        b"kolokol:7",
        b"kolokol:7:31:1",
        b"kolokol:7:",
        b"other:7:31",
        b"kolokol:99999999999999999999:1",
        b"\xffkolokol:7:31",
    ] {
        assert_eq!(
            mls::parse_identity(bad),
            None,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(mls::group_id(5, 1), b"kolokol:chat:5:1");
}

fn device(user_id: i64, device_id: i64) -> Device {
    Device {
        user_id,
        device_id,
        signature_key: vec![device_id as u8; 32],
    }
}

fn leaves(devices: &[(u32, Device)]) -> Vec<Leaf> {
    devices
        .iter()
        .map(|(leaf, device)| Leaf {
            leaf: *leaf,
            device: device.clone(),
        })
        .collect()
}

fn addable(devices: &[Device]) -> BTreeMap<i64, Device> {
    devices.iter().map(|d| (d.device_id, d.clone())).collect()
}

fn facts_of(sender_leaf: u32, removes: &[u32], adds: &[Device]) -> CommitFacts {
    CommitFacts {
        sender_leaf,
        removes: removes.to_vec(),
        adds: adds.to_vec(),
        path_signature_key: None,
    }
}

#[test]
fn the_first_commit_makes_its_sender_leaf_zero_and_adds_follow() {
    let anna = device(1, 11);
    let boris = device(2, 21);
    let allowed = Allowed {
        addable: addable(std::slice::from_ref(&boris)),
        ..Allowed::default()
    };
    let changes = mls::apply_commit(
        &[],
        &anna,
        &facts_of(0, &[], std::slice::from_ref(&boris)),
        &allowed,
    )
    .unwrap();
    assert_eq!(
        changes.added,
        leaves(&[(0, anna.clone()), (1, boris.clone())])
    );
    let refused = mls::apply_commit(&[], &anna, &facts_of(1, &[], &[]), &allowed).unwrap_err();
    assert_eq!(refused.code, ErrorCode::MlsForbidden);
}

#[test]
fn commits_add_only_waiting_devices_with_their_keys_and_remove_only_removable_leaves() {
    let (anna, boris, vera) = (device(1, 11), device(2, 21), device(3, 31));
    let now = leaves(&[(0, anna.clone()), (1, boris.clone())]);
    let allowed = Allowed {
        removable: BTreeSet::from([1]),
        addable: addable(std::slice::from_ref(&vera)),
    };
    let refused = |facts: CommitFacts, committer: &Device| {
        mls::apply_commit(&now, committer, &facts, &allowed)
            .unwrap_err()
            .code
    };
    // Not from the committer's own leaf.
    assert_eq!(
        refused(facts_of(1, &[], &[]), &anna),
        ErrorCode::MlsForbidden
    );
    // A device not waiting to be added, or with another key than it registered.
    assert_eq!(
        refused(facts_of(0, &[], &[device(4, 41)]), &anna),
        ErrorCode::MlsForbidden
    );
    let mut forged = vera.clone();
    forged.signature_key = vec![0; 32];
    assert_eq!(
        refused(facts_of(0, &[], &[forged]), &anna),
        ErrorCode::MlsForbidden
    );
    // The same device twice.
    assert_eq!(
        refused(facts_of(0, &[], &[vera.clone(), vera.clone()]), &anna),
        ErrorCode::MlsForbidden
    );
    // A leaf that is not removable, one that is empty, the committer's own.
    assert_eq!(
        refused(facts_of(1, &[0], &[]), &boris),
        ErrorCode::MlsForbidden
    );
    assert_eq!(
        refused(facts_of(0, &[5], &[]), &anna),
        ErrorCode::MlsForbidden
    );
    assert_eq!(
        refused(facts_of(1, &[1], &[]), &boris),
        ErrorCode::MlsForbidden
    );
    // A key update may not swap the committer's signature key.
    let mut swap = facts_of(0, &[], &[]);
    swap.path_signature_key = Some(vec![9; 32]);
    assert_eq!(refused(swap, &anna), ErrorCode::MlsForbidden);
    let mut update = facts_of(0, &[], &[]);
    update.path_signature_key = Some(anna.signature_key.clone());
    assert_eq!(
        mls::apply_commit(&now, &anna, &update, &allowed).unwrap(),
        Default::default()
    );

    // Removes go first: Vera takes Boris's leaf.
    let changes = mls::apply_commit(
        &now,
        &anna,
        &facts_of(0, &[1], std::slice::from_ref(&vera)),
        &allowed,
    )
    .unwrap();
    assert_eq!(changes.removed, [1]);
    assert_eq!(changes.added, leaves(&[(1, vera)]));
}

#[test]
fn a_device_that_lost_its_state_is_removed_and_added_again_in_one_commit() {
    let (anna, boris) = (device(1, 11), device(2, 21));
    let mut renewed = boris.clone();
    renewed.signature_key = vec![77; 32];
    let now = leaves(&[(0, anna.clone()), (1, boris)]);
    let allowed = Allowed {
        removable: BTreeSet::from([1]),
        addable: addable(&[renewed.clone()]),
    };
    let without_removal = facts_of(0, &[], &[renewed.clone()]);
    assert!(mls::apply_commit(&now, &anna, &without_removal, &allowed).is_err());
    let changes = mls::apply_commit(
        &now,
        &anna,
        &facts_of(0, &[1], &[renewed.clone()]),
        &allowed,
    )
    .unwrap();
    assert_eq!(changes.added, leaves(&[(1, renewed)]));
}

proptest! {
    #[test]
    fn reading_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = mls::read(&bytes);
    }

    #[test]
    fn reading_never_panics_on_a_changed_byte(which in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), value in any::<u8>()) {
        let all = all_fixtures();
        let (_, bytes) = &all[which.index(all.len())];
        let mut bytes = bytes.clone();
        let at = at.index(bytes.len());
        bytes[at] = value;
        let _ = mls::read(&bytes);
    }

    /// Whatever leaves a group has and whatever a commit removes and adds, the result is the
    /// model's: removed leaves gone, each added device in the smallest leaf free at its turn,
    /// no leaf or device twice.
    #[test]
    fn commits_place_adds_in_the_smallest_free_leaves(
        held in proptest::collection::btree_set(0u32..40, 1..20),
        remove_mask in proptest::collection::vec(any::<bool>(), 40),
        adds in 0usize..12,
    ) {
        let held: Vec<u32> = held.into_iter().collect();
        let now: Vec<Leaf> = held.iter().map(|&leaf| Leaf { leaf, device: device(i64::from(leaf) + 1, 1000 + i64::from(leaf)) }).collect();
        let committer = now[0].device.clone();
        let removes: Vec<u32> = held[1..].iter().copied().filter(|&leaf| remove_mask[leaf as usize]).collect();
        let newcomers: Vec<Device> = (0..adds as i64).map(|i| device(100 + i, 2000 + i)).collect();
        let allowed = Allowed { removable: removes.iter().copied().collect(), addable: addable(&newcomers) };
        let changes = mls::apply_commit(&now, &committer, &facts_of(held[0], &removes, &newcomers), &allowed).unwrap();

        let mut model: BTreeSet<u32> = held.iter().copied().filter(|leaf| !removes.contains(leaf)).collect();
        let mut expected = Vec::new();
        for newcomer in &newcomers {
            let leaf = (0..).find(|leaf| !model.contains(leaf)).unwrap();
            model.insert(leaf);
            expected.push(Leaf { leaf, device: newcomer.clone() });
        }
        prop_assert_eq!(&changes.removed, &removes);
        prop_assert_eq!(&changes.added, &expected);
        let mut after: Vec<u32> = now.iter().map(|l| l.leaf).filter(|l| !removes.contains(l)).collect();
        after.extend(changes.added.iter().map(|l| l.leaf));
        let unique: BTreeSet<u32> = after.iter().copied().collect();
        prop_assert_eq!(unique.len(), after.len());
    }
}

#[test]
fn group_ids_name_a_chat_and_a_generation() {
    assert_eq!(mls::parse_group_id(&mls::group_id(5, 1)), Some((5, 1)));
    assert_eq!(
        mls::parse_group_id(b"kolokol:chat:5:4294967295"),
        Some((5, u32::MAX))
    );
    for bad in [
        &b"kolokol:chat:5:4294967296"[..],
        b"kolokol:chat:05:1",
        b"kolokol:chat:5:0",
        b"kolokol:chat:5",
        b"kolokol:5:1",
    ] {
        assert_eq!(
            mls::parse_group_id(bad),
            None,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}
