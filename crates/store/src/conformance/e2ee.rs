//! End-to-end encrypted chats: the store as MLS's delivery service. Key packages, commits and
//! messages are made by hand here: the store trusts what the server checked (signatures, framing)
//! and decides what depends on the chat (who may be added or removed, which epoch is current).

use kolokol_domain::mls::{CheckedCommit, CheckedKeyPackage, CheckedWelcome, CommitFacts, Device};
use kolokol_proto::{Base64Bytes, ChatPrivacy, MlsKind, MlsPayload};

use super::*;
use crate::{KeyPackageBatch, NewCommit, NewMls};

const DAY: Millis = 86_400_000;

/// A person's current session as an MLS device, with a signing key made of `key_byte`.
fn device_of(who: &Person, key_byte: u8) -> Device {
    Device {
        user_id: who.id(),
        device_id: who.actor.session_id,
        signature_key: vec![key_byte; 32],
    }
}

/// A key package of `device`, numbered `n` (its reference and bytes).
fn package(device: &Device, n: u8, last_resort: bool) -> CheckedKeyPackage {
    CheckedKeyPackage {
        reference: [vec![n; 8], device.signature_key[..24].to_vec()].concat(),
        device: device.clone(),
        last_resort,
        not_after: START + 80 * DAY,
        data: format!("key package {n} of device {}", device.device_id).into_bytes(),
    }
}

async fn publish(fx: &Fixture, who: &Person, device: &Device, numbers: &[u8], last_resort: bool) {
    let mut packages: Vec<_> = numbers.iter().map(|&n| package(device, n, false)).collect();
    if last_resort {
        packages.push(package(device, 200, true));
    }
    let batch = KeyPackageBatch {
        signature_key: device.signature_key.clone(),
        packages,
    };
    fx.record(
        fx.store
            .publish_key_packages(who.actor, batch, fx.now())
            .await,
    );
}

async fn encrypted_group(fx: &Fixture, owner: &Person, members: &[&Person]) -> ChatId {
    let chat = NewChat {
        privacy: ChatPrivacy::Encrypted,
        ..new_chat(ChatKind::Group, members)
    };
    let (chat_id, _) = fx.record(fx.store.create_chat(owner.actor, chat, fx.now()).await);
    chat_id
}

/// Anna's encrypted group with Boris's device in it, at epoch 1; the commit that started it.
async fn started_group(fx: &Fixture, anna: &Person, boris: &Person) -> (ChatId, Message) {
    let chat_id = encrypted_group(fx, anna, &[boris]).await;
    let (annas, borises) = (device_of(anna, 1), device_of(boris, 2));
    publish(fx, anna, &annas, &[1], true).await;
    publish(fx, boris, &borises, &[1], true).await;
    let start = commit(0, 0, &[package(&borises, 1, false)], &[], "start");
    let (commit, _) = fx.record(fx.store.commit(anna.actor, chat_id, start, fx.now()).await);
    (chat_id, commit)
}

fn digest(seed: &str) -> Vec<u8> {
    let mut digest = seed.as_bytes().to_vec();
    digest.resize(32, 0);
    digest
}

/// A commit made at `epoch` by the sender's `sender_leaf`, adding the devices of `packages`
/// (with a Welcome for them) and removing `removes`.
fn commit(
    epoch: u64,
    sender_leaf: u32,
    packages: &[CheckedKeyPackage],
    removes: &[u32],
    seed: &str,
) -> NewCommit {
    let welcome = (!packages.is_empty()).then(|| CheckedWelcome {
        recipients: packages
            .iter()
            .map(|package| (package.device.device_id, package.reference.clone()))
            .collect(),
        data: format!("welcome {seed}").into_bytes(),
    });
    NewCommit {
        client_msg_id: format!("commit-{seed}"),
        commit: CheckedCommit {
            generation: 1,
            epoch,
            facts: CommitFacts {
                sender_leaf,
                removes: removes.to_vec(),
                adds: packages
                    .iter()
                    .map(|package| package.device.clone())
                    .collect(),
                path_signature_key: None,
            },
            welcome,
            data: format!("commit {seed}").into_bytes(),
        },
        digest: digest(seed),
    }
}

fn sealed(epoch: u64, seed: &str) -> NewMessage {
    NewMessage {
        mls: Some(NewMls {
            generation: 1,
            epoch,
            data: format!("ciphertext {seed}").into_bytes(),
            digest: digest(seed),
            franking_tag: vec![7; 32],
        }),
        ..new_message(&format!("sealed-{seed}"), "")
    }
}

pub(super) async fn key_packages_register_their_device_key_once(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [anna, boris] = fx.people(["anna", "boris"]).await;
    let device = device_of(&anna, 1);
    publish(&fx, &anna, &device, &[1, 2, 3], true).await;
    let count = fx
        .store
        .key_package_count(anna.actor, fx.now())
        .await
        .unwrap();
    assert_eq!((count.available, count.last_resort), (3, true));

    // The device signs with one key for good; packages name it and no other device.
    let other_key = device_of(&anna, 2);
    let batch = KeyPackageBatch {
        signature_key: other_key.signature_key.clone(),
        packages: vec![package(&other_key, 4, false)],
    };
    assert_refused(
        fx.store
            .publish_key_packages(anna.actor, batch, fx.now())
            .await,
        &[ErrorCode::MlsInvalidKeyPackage],
        "another signing key for the same device",
    );
    let borises = device_of(&boris, 1);
    let batch = KeyPackageBatch {
        signature_key: device.signature_key.clone(),
        packages: vec![package(&borises, 5, false)],
    };
    assert_refused(
        fx.store
            .publish_key_packages(anna.actor, batch, fx.now())
            .await,
        &[ErrorCode::MlsInvalidKeyPackage],
        "someone else's key package",
    );

    // A newer last-resort package replaces the one before; the same package twice counts once.
    publish(&fx, &anna, &device, &[3, 4], true).await;
    let count = fx
        .store
        .key_package_count(anna.actor, fx.now())
        .await
        .unwrap();
    assert_eq!((count.available, count.last_resort), (4, true));

    // Too many unused ones: nothing of the batch is kept.
    let many: Vec<u8> = (10..=200).collect();
    let mut packages: Vec<_> = many.iter().map(|&n| package(&device, n, false)).collect();
    packages.extend((0..=200u8).map(|n| {
        let mut extra = package(&device, n, false);
        extra.reference[7] = 0xEE;
        extra.reference[6] = n;
        extra
    }));
    packages.extend((0..=150u8).map(|n| {
        let mut extra = package(&device, n, false);
        extra.reference[7] = 0xDD;
        extra.reference[6] = n;
        extra
    }));
    let batch = KeyPackageBatch {
        signature_key: device.signature_key.clone(),
        packages,
    };
    assert_refused(
        fx.store
            .publish_key_packages(anna.actor, batch, fx.now())
            .await,
        &[ErrorCode::PayloadTooLarge],
        "more than 500 unused key packages",
    );
    let count = fx
        .store
        .key_package_count(anna.actor, fx.now())
        .await
        .unwrap();
    assert_eq!(count.available, 4, "the refused batch left nothing behind");

    let devices = fx.store.devices_of(anna.id()).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].id, anna.actor.session_id);
    assert_eq!(devices[0].signature_key, device.signature_key);
    assert!(fx.store.devices_of(boris.id()).await.unwrap().is_empty());
}

pub(super) async fn claims_hand_out_one_package_per_waiting_device(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [anna, boris, vera] = fx.people(["anna", "boris", "vera"]).await;
    let chat_id = encrypted_group(&fx, &anna, &[&boris]).await;
    let community = fx.group(&anna, &[&boris]).await;
    let annas = device_of(&anna, 1);
    let borises = device_of(&boris, 2);
    publish(&fx, &anna, &annas, &[1], true).await;
    publish(&fx, &boris, &borises, &[1, 2], true).await;

    let view = fx.store.mls_group(anna.actor, chat_id).await.unwrap();
    assert_eq!((view.generation, view.epoch), (1, 0));
    assert!(view.leaves.is_empty());
    assert_eq!(view.pending_add, vec![annas.clone(), borises.clone()]);
    assert_refused(
        fx.store.mls_group(vera.actor, chat_id).await,
        &[ErrorCode::NotMember],
        "an outsider reading the group",
    );
    assert_refused(
        fx.store.mls_group(anna.actor, community).await,
        &[ErrorCode::NotEncrypted],
        "the group of a community chat",
    );
    assert_refused(
        fx.store
            .claim_key_packages(vera.actor, chat_id, None, fx.now())
            .await,
        &[ErrorCode::NotMember],
        "an outsider claiming",
    );

    // The oldest package first, one per call, then the last resort, which stays.
    let mut handed = Vec::new();
    for _ in 0..4 {
        let claimed = fx.record(
            fx.store
                .claim_key_packages(anna.actor, chat_id, Some(vec![borises.device_id]), fx.now())
                .await,
        );
        assert!(claimed.missing.is_empty());
        assert_eq!(claimed.packages.len(), 1);
        assert_eq!(claimed.packages[0].0, borises);
        handed.push(claimed.packages[0].1.clone());
    }
    let of_boris = |n: u8| package(&borises, n, false).data;
    assert_eq!(
        handed,
        [
            of_boris(1),
            of_boris(2),
            package(&borises, 200, true).data,
            package(&borises, 200, true).data
        ]
    );
    let count = fx
        .store
        .key_package_count(boris.actor, fx.now())
        .await
        .unwrap();
    assert_eq!((count.available, count.last_resort), (0, true));
    let low = fx
        .logged()
        .into_iter()
        .filter(|published| {
            published.event
                == Event::MlsKeyPackagesLow {
                    device_id: borises.device_id,
                    available: 0,
                }
        })
        .count();
    assert!(low >= 1, "Boris hears his device is running out");

    // A device with nothing left at all is reported missing.
    fx.record(
        fx.store
            .add_members(anna.actor, chat_id, vec![vera.id()], fx.now())
            .await,
    );
    let veras = device_of(&vera, 3);
    let batch = KeyPackageBatch {
        signature_key: veras.signature_key.clone(),
        packages: Vec::new(),
    };
    fx.record(
        fx.store
            .publish_key_packages(vera.actor, batch, fx.now())
            .await,
    );
    let claimed = fx.record(
        fx.store
            .claim_key_packages(anna.actor, chat_id, Some(vec![veras.device_id]), fx.now())
            .await,
    );
    assert_eq!(claimed.missing, vec![veras]);
}

pub(super) async fn commits_apply_at_the_current_epoch_and_move_leaves(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [anna, boris, vera] = fx.people(["anna", "boris", "vera"]).await;
    let chat_id = encrypted_group(&fx, &anna, &[&boris, &vera]).await;
    let (annas, borises, veras) = (
        device_of(&anna, 1),
        device_of(&boris, 2),
        device_of(&vera, 3),
    );
    publish(&fx, &anna, &annas, &[1], true).await;
    publish(&fx, &boris, &borises, &[1], true).await;
    publish(&fx, &vera, &veras, &[1], true).await;

    // A session that is no device yet cannot commit.
    let stranger = fx.extra_session(&anna, "anna-laptop").await;
    let laptop = Actor {
        user_id: anna.id(),
        session_id: stranger,
    };
    assert_refused(
        fx.store
            .commit(laptop, chat_id, commit(0, 0, &[], &[], "laptop"), fx.now())
            .await,
        &[ErrorCode::MlsForbidden],
        "a commit from a session that published no key packages",
    );

    // The first commit makes its sender leaf 0; its Welcome waits for Boris's device alone.
    let first = commit(0, 0, &[package(&borises, 1, false)], &[], "first");
    let outcome = fx
        .store
        .commit(anna.actor, chat_id, first.clone(), fx.now())
        .await
        .unwrap();
    let (message, created) = outcome.value.clone();
    assert!(created);
    assert_eq!(message.seq, 1);
    assert_eq!(message.text, "");
    assert_eq!(
        message.mls,
        Some(MlsPayload {
            kind: MlsKind::Commit,
            epoch: 1,
            data: Some(Base64Bytes(b"commit first".to_vec())),
        })
    );
    let welcome_event = only(&outcome.events, "mls.welcome", |event| {
        matches!(event, Event::MlsWelcome { .. })
    });
    assert!(matches!(welcome_event.route, Route::User { user_id, .. } if user_id == boris.id()));
    only(&outcome.events, "message.new", |event| {
        matches!(event, Event::MessageNew { .. })
    });
    fx.log.lock().expect("the log").extend(outcome.events);

    let view = fx.store.mls_group(boris.actor, chat_id).await.unwrap();
    assert_eq!(view.epoch, 1);
    let held: Vec<(u32, i64)> = view
        .leaves
        .iter()
        .map(|leaf| (leaf.leaf, leaf.device.device_id))
        .collect();
    assert_eq!(held, [(0, annas.device_id), (1, borises.device_id)]);
    assert_eq!(view.pending_add, vec![veras.clone()]);
    assert!(view.pending_remove.is_empty());

    let welcomes = fx.store.welcomes(boris.actor).await.unwrap();
    assert_eq!(welcomes.len(), 1);
    assert_eq!(
        (
            welcomes[0].chat_id,
            welcomes[0].epoch,
            welcomes[0].commit_seq
        ),
        (chat_id, 1, 1)
    );
    assert_eq!(welcomes[0].data, b"welcome first");
    assert!(fx.store.welcomes(anna.actor).await.unwrap().is_empty());
    assert_refused(
        fx.store.forget_welcome(anna.actor, welcomes[0].id).await,
        &[ErrorCode::NotFound],
        "forgetting someone else's Welcome",
    );
    fx.store
        .forget_welcome(boris.actor, welcomes[0].id)
        .await
        .unwrap();
    assert!(fx.store.welcomes(boris.actor).await.unwrap().is_empty());

    // The same commit again is the same message; another at the old epoch lost the race.
    let again = fx
        .store
        .commit(anna.actor, chat_id, first, fx.now())
        .await
        .unwrap();
    assert_eq!(again.value, (message, false));
    assert!(again.events.is_empty());
    assert_refused(
        fx.store
            .commit(
                boris.actor,
                chat_id,
                commit(0, 1, &[], &[], "late"),
                fx.now(),
            )
            .await,
        &[ErrorCode::MlsEpochConflict],
        "a commit for an epoch already moved on",
    );

    // What a commit may do depends on the chat.
    let refused = |commit: NewCommit, who: Actor| {
        let store = fx.store.clone();
        let now = fx.now();
        async move { store.commit(who, chat_id, commit, now).await }
    };
    assert_refused(
        refused(commit(1, 0, &[], &[], "not mine"), boris.actor).await,
        &[ErrorCode::MlsForbidden],
        "a commit claiming someone else's leaf",
    );
    assert_refused(
        refused(commit(1, 0, &[], &[1], "remove boris"), anna.actor).await,
        &[ErrorCode::MlsForbidden],
        "removing a current member's leaf",
    );
    let outsider = fx.person("gleb").await;
    let glebs = device_of(&outsider, 4);
    assert_refused(
        refused(
            commit(1, 0, &[package(&glebs, 1, false)], &[], "add gleb"),
            anna.actor,
        )
        .await,
        &[ErrorCode::MlsForbidden],
        "adding a device of someone outside the chat",
    );

    // Vera is added by Boris; when she leaves, her leaf is the one to remove.
    let add_vera = commit(1, 1, &[package(&veras, 1, false)], &[], "add vera");
    fx.record(
        fx.store
            .commit(boris.actor, chat_id, add_vera, fx.now())
            .await,
    );
    let view = fx.store.mls_group(anna.actor, chat_id).await.unwrap();
    assert_eq!(view.epoch, 2);
    assert_eq!(view.leaf_of(veras.device_id), Some(2));
    fx.remove_member(&vera, chat_id, &vera).await;
    let view = fx.store.mls_group(anna.actor, chat_id).await.unwrap();
    assert_eq!(view.pending_remove, vec![2]);
    fx.record(
        fx.store
            .commit(
                anna.actor,
                chat_id,
                commit(2, 0, &[], &[2], "remove vera"),
                fx.now(),
            )
            .await,
    );
    let view = fx.store.mls_group(anna.actor, chat_id).await.unwrap();
    assert_eq!((view.epoch, view.leaves.len()), (3, 2));
    assert!(view.pending_remove.is_empty() && view.pending_add.is_empty());
    fx.assert_streams_gap_free();
}

pub(super) async fn concurrent_commits_leave_exactly_one_winner(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [anna, boris] = fx.people(["anna", "boris"]).await;
    let (chat_id, _) = started_group(&fx, &anna, &boris).await;
    for round in 0..5u64 {
        let epoch = round + 1;
        let tasks = [(anna.actor, 0), (boris.actor, 1)].map(|(actor, leaf)| {
            let store = fx.store.clone();
            let update = commit(epoch, leaf, &[], &[], &format!("update {round} {leaf}"));
            let now = fx.now();
            tokio::spawn(async move { store.commit(actor, chat_id, update, now).await })
        });
        let results = join_all(tasks.into()).await;
        let won = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(won, 1, "round {round}: exactly one commit wins");
        for result in results {
            match result {
                Ok(outcome) => fx.log.lock().expect("the log").extend(outcome.events),
                Err(lost) => assert_refused::<()>(
                    Err(lost),
                    &[ErrorCode::MlsEpochConflict],
                    "the losing commit",
                ),
            }
        }
        let view = fx.store.mls_group(anna.actor, chat_id).await.unwrap();
        assert_eq!(view.epoch, epoch + 1);
    }
    fx.assert_streams_gap_free();
}

pub(super) async fn encrypted_messages_need_the_current_epoch_and_no_pending_removals(
    store: Arc<dyn Store>,
) {
    let fx = Fixture::new(store);
    let [anna, boris, vera] = fx.people(["anna", "boris", "vera"]).await;
    let (chat_id, _) = started_group(&fx, &anna, &boris).await;
    let community = fx.group(&anna, &[&boris]).await;

    let send = |who: &Person, chat_id: ChatId, message: NewMessage| {
        let store = fx.store.clone();
        let actor = who.actor;
        let now = fx.now();
        async move { store.send_message(actor, chat_id, message, now).await }
    };
    let (message, created) = fx.record(send(&anna, chat_id, sealed(1, "hello")).await);
    assert!(created);
    assert_eq!((message.seq, message.text.as_str()), (2, ""));
    assert_eq!(
        message.mls,
        Some(MlsPayload {
            kind: MlsKind::Application,
            epoch: 1,
            data: Some(Base64Bytes(b"ciphertext hello".to_vec())),
        })
    );
    // Boris reads it in history and on catch-up as it was sent; commits are not unread.
    let history = fx
        .store
        .messages(
            boris.actor,
            chat_id,
            Page {
                limit: 10,
                ..Page::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1], message);
    let chat = fx.store.chat(boris.actor, chat_id).await.unwrap();
    assert_eq!(
        (chat.privacy, chat.unread_count),
        (ChatPrivacy::Encrypted, 1)
    );

    assert_refused(
        send(&anna, chat_id, sealed(0, "stale")).await,
        &[ErrorCode::MlsEpochStale],
        "a message of a past epoch",
    );
    assert_refused(
        send(
            &boris,
            chat_id,
            NewMessage {
                client_msg_id: "again".into(),
                ..sealed(1, "hello")
            },
        )
        .await,
        &[ErrorCode::MlsReplayed],
        "the same ciphertext again",
    );
    assert_refused(
        send(&anna, chat_id, new_message("plain", "Собрание в четверг")).await,
        &[ErrorCode::EncryptionRequired],
        "text in an encrypted chat",
    );
    assert_refused(
        send(&anna, community, sealed(1, "wrong chat")).await,
        &[ErrorCode::NotEncrypted],
        "ciphertext in a community chat",
    );
    assert_refused(
        send(&vera, chat_id, sealed(1, "outsider")).await,
        &[ErrorCode::NotMember],
        "an outsider's ciphertext",
    );

    // Once Boris's device is revoked, nothing more goes out until a commit removes it.
    fx.record(
        fx.store
            .revoke_sessions(boris.id(), Revoke::One(boris.actor.session_id))
            .await,
    );
    let view = fx.store.mls_group(anna.actor, chat_id).await.unwrap();
    assert_eq!(view.pending_remove, vec![1]);
    assert_refused(
        send(&anna, chat_id, sealed(1, "to a revoked device")).await,
        &[ErrorCode::MlsCommitRequired],
        "a message while a revoked device is still in the group",
    );
    fx.record(
        fx.store
            .commit(
                anna.actor,
                chat_id,
                commit(1, 0, &[], &[1], "remove boris's phone"),
                fx.now(),
            )
            .await,
    );
    fx.record(send(&anna, chat_id, sealed(2, "after")).await);
    assert!(fx.store.devices_of(boris.id()).await.unwrap().is_empty());

    // A pair has an encrypted direct chat besides its community one.
    let direct = fx.direct(&anna, &vera).await;
    let private = NewChat {
        privacy: ChatPrivacy::Encrypted,
        ..new_chat(ChatKind::Direct, &[&vera])
    };
    let (private, created) = fx.record(fx.store.create_chat(anna.actor, private, fx.now()).await);
    assert!(created && private != direct);
    fx.assert_streams_gap_free();
}

pub(super) async fn encrypted_messages_change_only_as_ciphertext(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [anna, boris] = fx.people(["anna", "boris"]).await;
    let (chat_id, commit_message) = started_group(&fx, &anna, &boris).await;
    let (message, _) = fx.record(
        fx.store
            .send_message(anna.actor, chat_id, sealed(1, "hello"), fx.now())
            .await,
    );

    // In clear, an edit or a reaction would tell the server what the chat says.
    assert_refused(
        fx.store
            .edit_message(
                anna.actor,
                chat_id,
                message.seq,
                MessageEdit::text("x".into()),
                fx.now(),
            )
            .await,
        &[ErrorCode::EncryptionRequired],
        "an edit in clear",
    );
    assert_refused(
        fx.store
            .toggle_reaction(
                boris.actor,
                chat_id,
                message.seq,
                THUMBS_UP.into(),
                fx.now(),
            )
            .await,
        &[ErrorCode::EncryptionRequired],
        "a reaction in clear",
    );
    // A commit stays for devices that are behind.
    assert_refused(
        fx.store
            .delete_message(anna.actor, chat_id, commit_message.seq, fx.now())
            .await,
        &[ErrorCode::Forbidden],
        "deleting a commit",
    );
    // Deleting a message forgets its ciphertext; its bytes stay refused as a replay.
    fx.record(
        fx.store
            .delete_message(anna.actor, chat_id, message.seq, fx.now())
            .await,
    );
    let page = Page {
        after: Some(message.seq - 1),
        limit: 1,
        ..Page::default()
    };
    let deleted = fx.store.messages(boris.actor, chat_id, page).await.unwrap();
    assert!(deleted[0].deleted);
    assert_eq!(deleted[0].mls.as_ref().unwrap().data, None);
    assert_refused(
        fx.store
            .send_message(
                anna.actor,
                chat_id,
                NewMessage {
                    client_msg_id: "again".into(),
                    ..sealed(1, "hello")
                },
                fx.now(),
            )
            .await,
        &[ErrorCode::MlsReplayed],
        "a deleted message's ciphertext sent again",
    );
}
