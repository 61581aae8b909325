//! Devices in one group, in memory (no server): joins, messages both ways, key updates,
//! removals, replays. Every message made here also goes through the server's MLS reader
//! (`kolokol_domain::mls`); run with `KOLOKOL_WRITE_FIXTURES=1` to refresh the openmls fixtures
//! that reader is tested on.

use std::path::PathBuf;

use kolokol_domain::mls::group_id;
use kolokol_e2ee::{DeviceIdentity, E2eeError, Group, Incoming, MlsClient};

fn device(user_id: i64, device_id: i64) -> MlsClient {
    MlsClient::new(DeviceIdentity { user_id, device_id }).unwrap()
}

/// The server can read what openmls makes; written as `openmls-<name>.bin` beside the ts-mls
/// fixtures when asked to.
fn fixture(name: &str, bytes: &[u8]) {
    if let Err(refusal) = kolokol_domain::mls::read(bytes) {
        panic!("the server cannot read openmls's {name}: {refusal}");
    }
    if std::env::var_os("KOLOKOL_WRITE_FIXTURES").is_none() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../domain/tests/fixtures/mls");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("openmls-{name}.bin")), bytes).unwrap();
}

/// Anna's group with Boris in it, at epoch 1.
fn anna_and_boris() -> (MlsClient, Group, MlsClient, Group) {
    let anna = device(1, 11);
    let boris = device(2, 21);
    let mut anna_group = anna.create_group(&group_id(5, 1)).unwrap();
    assert_eq!(anna_group.epoch(), 0);
    let package = boris.key_package(false).unwrap();
    let sent = anna_group.commit(&anna, &[package], &[]).unwrap();
    anna_group.merge_pending(&anna).unwrap();
    let boris_group = boris.join(&sent.welcome.unwrap()).unwrap();
    (anna, anna_group, boris, boris_group)
}

#[test]
fn two_devices_talk_both_ways_and_agree_on_the_epoch() {
    let anna = device(1, 11);
    let boris = device(2, 21);
    let mut anna_group = anna.create_group(&group_id(5, 1)).unwrap();

    let package = boris.key_package(false).unwrap();
    fixture("key-package", &package);
    fixture("key-package-last-resort", &boris.key_package(true).unwrap());
    let sent = anna_group.commit(&anna, &[package], &[]).unwrap();
    fixture("commit-add", &sent.commit);
    fixture("welcome", sent.welcome.as_ref().unwrap());
    anna_group.merge_pending(&anna).unwrap();
    let mut boris_group = boris.join(&sent.welcome.unwrap()).unwrap();

    assert_eq!(anna_group.epoch(), 1);
    assert_eq!(boris_group.epoch(), 1);
    assert_eq!(boris_group.own_leaf(), 1);
    assert_eq!(
        anna_group.epoch_authenticator(),
        boris_group.epoch_authenticator()
    );
    let identities: Vec<_> = boris_group
        .members()
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(
        identities,
        [b"kolokol:1:11".to_vec(), b"kolokol:2:21".to_vec()]
    );

    let tag = [[1u8].as_slice(), &[7u8; 32]].concat();
    let hello = anna_group
        .encrypt(&anna, &tag, "Собрание в четверг 🔔".as_bytes())
        .unwrap();
    fixture("application", &hello);
    assert_eq!(
        boris_group.process(&boris, &hello).unwrap(),
        Incoming::Application {
            sender_leaf: 0,
            authenticated_data: tag.clone(),
            data: "Собрание в четверг 🔔".as_bytes().to_vec(),
        }
    );
    let reply = boris_group.encrypt(&boris, &[], b"ok").unwrap();
    let Incoming::Application {
        sender_leaf, data, ..
    } = anna_group.process(&anna, &reply).unwrap()
    else {
        panic!("an application message");
    };
    assert_eq!((sender_leaf, data.as_slice()), (1, b"ok".as_slice()));

    // A key update is a full commit with an empty proposal list.
    let update = boris_group.commit(&boris, &[], &[]).unwrap();
    assert!(update.welcome.is_none());
    fixture("commit-update", &update.commit);
    boris_group.merge_pending(&boris).unwrap();
    let seen = anna_group.process(&anna, &update.commit).unwrap();
    assert_eq!(
        seen,
        Incoming::Commit {
            sender_leaf: 1,
            added: vec![],
            removed: vec![],
            removed_me: false
        }
    );
    assert_eq!(anna_group.epoch(), 2);
    assert_eq!(
        anna_group.epoch_authenticator(),
        boris_group.epoch_authenticator()
    );
}

#[test]
fn a_removed_member_cannot_read_what_follows() {
    let (anna, mut anna_group, boris, mut boris_group) = anna_and_boris();
    let vera = device(3, 31);
    let add = anna_group
        .commit(&anna, &[vera.key_package(false).unwrap()], &[])
        .unwrap();
    anna_group.merge_pending(&anna).unwrap();
    let mut vera_group = vera.join(&add.welcome.unwrap()).unwrap();
    let Incoming::Commit { added, .. } = boris_group.process(&boris, &add.commit).unwrap() else {
        panic!("a commit");
    };
    assert_eq!(added, [b"kolokol:3:31".to_vec()]);

    let remove = boris_group
        .commit(&boris, &[], &[vera_group.own_leaf()])
        .unwrap();
    fixture("commit-remove", &remove.commit);
    boris_group.merge_pending(&boris).unwrap();
    assert!(matches!(
        anna_group.process(&anna, &remove.commit).unwrap(),
        Incoming::Commit { removed, removed_me: false, .. } if removed == [2]
    ));
    assert!(matches!(
        vera_group.process(&vera, &remove.commit).unwrap(),
        Incoming::Commit {
            removed_me: true,
            ..
        }
    ));

    let secret = anna_group.encrypt(&anna, &[], b"after Vera left").unwrap();
    assert!(vera_group.process(&vera, &secret).is_err());
    assert!(matches!(
        boris_group.process(&boris, &secret).unwrap(),
        Incoming::Application { data, .. } if data == b"after Vera left"
    ));
}

#[test]
fn replayed_and_malformed_messages_are_refused_and_the_group_goes_on() {
    let (anna, mut anna_group, boris, mut boris_group) = anna_and_boris();
    let first = anna_group.encrypt(&anna, &[], b"one").unwrap();
    boris_group.process(&boris, &first).unwrap();
    assert!(matches!(
        boris_group.process(&boris, &first),
        Err(E2eeError::Refused(_))
    ));

    let mut flipped = anna_group.encrypt(&anna, &[], b"two").unwrap();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(boris_group.process(&boris, &flipped).is_err());
    assert!(matches!(
        boris_group.process(&boris, b"\x00\x01"),
        Err(E2eeError::Malformed(_))
    ));

    let third = anna_group.encrypt(&anna, &[], b"three").unwrap();
    assert!(matches!(
        boris_group.process(&boris, &third).unwrap(),
        Incoming::Application { data, .. } if data == b"three"
    ));
}

#[test]
fn of_two_commits_at_one_epoch_the_loser_clears_its_own_and_follows_the_winner() {
    let (anna, mut anna_group, boris, mut boris_group) = anna_and_boris();
    let anna_update = anna_group.commit(&anna, &[], &[]).unwrap();
    let boris_update = boris_group.commit(&boris, &[], &[]).unwrap();
    // The delivery service took Anna's first.
    anna_group.merge_pending(&anna).unwrap();
    boris_group.clear_pending(&boris).unwrap();
    boris_group.process(&boris, &anna_update.commit).unwrap();
    assert!(anna_group.process(&anna, &boris_update.commit).is_err());
    let retry = boris_group.commit(&boris, &[], &[]).unwrap();
    boris_group.merge_pending(&boris).unwrap();
    anna_group.process(&anna, &retry.commit).unwrap();
    assert_eq!(anna_group.epoch(), 3);
    assert_eq!(
        anna_group.epoch_authenticator(),
        boris_group.epoch_authenticator()
    );
}
