//! End-to-end encrypted chats through the real server: devices are openmls clients
//! (kolokol-e2ee), the server is MLS's delivery service and reads only the framing.

use kolokol_client::Page;
use kolokol_client::proto::{
    Base64Bytes, ChatKind, ChatPrivacy, CommitRequest, CreateChatRequest, ErrorCode, Event,
    MlsKind, PublishKeyPackagesRequest, SendMessageRequest,
};
use kolokol_e2ee::{Content, Device, DeviceIdentity, E2eeError, MlsClient, Received};

use super::common::{
    TestServer, assert_refused, connect, register, spawn_kolokol_logging, start, wait_for,
};

/// Registers `name` and opens their device (with key packages published).
async fn device(base: &str, name: &str) -> Device {
    let (api, user) = register(base, name).await;
    Device::open(api, user.id).await.unwrap()
}

fn text_of(received: Vec<Received>) -> Vec<String> {
    received
        .into_iter()
        .map(|received| match received.content {
            Content::Text { text, .. } | Content::Edit { text, .. } => text,
            Content::React { emoji, .. } => emoji,
        })
        .collect()
}

async fn read(device: &mut Device, chat_id: i64) -> Vec<String> {
    text_of(device.sync(chat_id).await.unwrap())
}

fn user_id(device: &Device) -> i64 {
    device.identity().user_id
}

fn ciphertext(message: &kolokol_client::proto::Message) -> Vec<u8> {
    message.mls.clone().unwrap().data.unwrap().0
}

/// A refusal by the server, with its code and status.
#[track_caller]
fn assert_api_refused<T: std::fmt::Debug>(
    result: Result<T, E2eeError>,
    code: ErrorCode,
    status: u16,
) {
    match result {
        Err(E2eeError::Api(error)) => assert_refused::<()>(Err(error), code, status),
        other => panic!("expected a refusal with {code:?}, got {other:?}"),
    }
}

async fn encrypted_group(owner: &Device, members: &[&Device]) -> i64 {
    let (chat, created) = owner
        .api()
        .create_chat(&CreateChatRequest {
            kind: ChatKind::Group,
            title: Some("Родительский комитет".into()),
            member_ids: Some(members.iter().map(|member| user_id(member)).collect()),
            privacy: ChatPrivacy::Encrypted,
        })
        .await
        .unwrap();
    assert!(created);
    assert_eq!(chat.privacy, ChatPrivacy::Encrypted);
    chat.id
}

/// Anna's encrypted group with Boris in it, at epoch 1.
async fn anna_and_boris(server: &TestServer) -> (i64, Device, Device) {
    let mut anna = device(&server.base, "anna").await;
    let mut boris = device(&server.base, "boris").await;
    let chat_id = encrypted_group(&anna, &[&boris]).await;
    let commit = anna.commit(chat_id).await.unwrap();
    assert_eq!(commit.mls.as_ref().unwrap().kind, MlsKind::Commit);
    assert_eq!(commit.mls.as_ref().unwrap().epoch, 1);
    assert_eq!(boris.accept_welcomes().await.unwrap(), [chat_id]);
    (chat_id, anna, boris)
}

/// A second device of `username`'s, signed in as `device_name`.
async fn second_device(server: &TestServer, username: &str, device_name: &str) -> Device {
    let mut api = server.anonymous();
    let auth = api
        .login(&kolokol_client::proto::LoginRequest {
            username: username.into(),
            password: super::common::PASSWORD.into(),
            device_name: Some(device_name.into()),
        })
        .await
        .unwrap();
    Device::open(api, auth.user.id).await.unwrap()
}

#[tokio::test]
async fn people_talk_end_to_end_and_the_server_keeps_only_ciphertext() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let (mut server, base) = spawn_kolokol_logging(
        &["--data-dir", data_dir],
        &[("RUST_LOG", "trace")],
        log.path(),
    );
    let marker = "Пароль от электронного дневника: kolokol-marker-5f3a9c";

    let mut anna = device(&base, "anna").await;
    let mut boris = device(&base, "boris").await;
    let vera = device(&base, "vera").await;
    let chat_id = encrypted_group(&anna, &[&boris]).await;
    anna.commit(chat_id).await.unwrap();
    boris.accept_welcomes().await.unwrap();
    assert_eq!(
        anna.epoch_authenticator(chat_id),
        boris.epoch_authenticator(chat_id)
    );

    let sent = anna.send_text(chat_id, marker).await.unwrap();
    assert_eq!(sent.text, "");
    assert_eq!(read(&mut boris, chat_id).await, [marker]);
    boris
        .send_text(chat_id, "Спасибо, получил 👍")
        .await
        .unwrap();
    assert_eq!(read(&mut anna, chat_id).await, ["Спасибо, получил 👍"]);

    // Nothing the server stores or says carries the text: not its database, not its log, not
    // what it answers (members get ciphertext; outsiders get nothing).
    let history = boris
        .api()
        .messages(chat_id, Page::default())
        .await
        .unwrap();
    assert!(history.iter().all(|message| message.text.is_empty()));
    let answers = format!("{history:?}{:?}", boris.api().chats().await.unwrap());
    assert!(!answers.contains("kolokol-marker"));
    assert_refused(
        vera.api().messages(chat_id, Page::default()).await,
        ErrorCode::NotMember,
        403,
    );
    // The scan below would find text the server can read: a community chat's, for one.
    let open = super::common::group(anna.api(), "Открытый", &[user_id(&boris)]).await;
    super::common::send(anna.api(), open.id, "control", "kolokol-control-81d2")
        .await
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let holds = |needle: &str| {
        walk(data.path()).into_iter().any(|file| {
            let bytes = std::fs::read(&file).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
    };
    assert!(
        holds("kolokol-control-81d2"),
        "the scan reads what is stored"
    );
    assert!(
        !holds("kolokol-marker-5f3a9c"),
        "an encrypted message's text is stored"
    );
    let logged = std::fs::read_to_string(log.path()).unwrap();
    // At the most talkative level it has: the server's own line, a line per request and more.
    let logs: Vec<&str> = logged
        .lines()
        .filter(|line| !line.starts_with("kolokol listening on"))
        .collect();
    assert!(logs.len() > 10, "the server logged: {logged}");
    assert!(!logged.contains("kolokol-marker"));
    // Nor where anyone connected from (invariant 9): the clients came from 127.0.0.1.
    assert!(
        !logs.iter().any(|line| line.contains("127.0.0.1")),
        "an address is logged: {logged}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn removed_members_and_revoked_devices_cannot_read_what_follows() {
    let server = start().await;
    let (chat_id, mut anna, mut boris) = anna_and_boris(&server).await;
    let mut vera = device(&server.base, "vera").await;
    anna.api()
        .add_members(chat_id, &[user_id(&vera)])
        .await
        .unwrap();
    anna.commit(chat_id).await.unwrap();
    vera.accept_welcomes().await.unwrap();
    read(&mut boris, chat_id).await;
    anna.send_text(chat_id, "Все в сборе").await.unwrap();
    assert_eq!(read(&mut vera, chat_id).await, ["Все в сборе"]);
    assert_eq!(read(&mut boris, chat_id).await, ["Все в сборе"]);

    // Vera leaves: nothing more goes out until her leaf is removed.
    vera.api().leave_chat(chat_id).await.unwrap();
    assert_api_refused(
        anna.send_text(chat_id, "too early").await,
        ErrorCode::MlsCommitRequired,
        409,
    );
    boris.commit(chat_id).await.unwrap();
    read(&mut anna, chat_id).await;
    let after = anna.send_text(chat_id, "Вера вышла").await.unwrap();
    assert_eq!(read(&mut boris, chat_id).await, ["Вера вышла"]);
    // Vera's device kept the ciphertext; skipping the commit that removed her, it still cannot
    // open what came after.
    assert!(vera.process(chat_id, after).is_err());

    // Boris signs in on a second device, which is added; then that session is revoked.
    let mut tablet = second_device(&server, "boris", "планшет").await;
    let devices = anna.api().devices(user_id(&boris)).await.unwrap();
    assert_eq!(devices.len(), 2);
    anna.commit(chat_id).await.unwrap();
    tablet.accept_welcomes().await.unwrap();
    read(&mut boris, chat_id).await;
    anna.send_text(chat_id, "Привет планшету").await.unwrap();
    assert_eq!(read(&mut tablet, chat_id).await, ["Привет планшету"]);

    boris
        .api()
        .revoke_session(tablet.identity().device_id)
        .await
        .unwrap();
    let state = anna.api().mls_group(chat_id).await.unwrap();
    assert_eq!(state.pending_remove.len(), 1);
    assert_api_refused(
        anna.send_text(chat_id, "to a revoked device").await,
        ErrorCode::MlsCommitRequired,
        409,
    );
    let removal = anna.commit(chat_id).await.unwrap();
    read(&mut boris, chat_id).await;
    let after = anna.send_text(chat_id, "Только телефону").await.unwrap();
    assert_eq!(read(&mut boris, chat_id).await, ["Только телефону"]);
    // The revoked tablet, applying the commit that removed it, has no group left to read with.
    assert_eq!(tablet.process(chat_id, removal).unwrap(), None);
    assert!(!tablet.is_member(chat_id));
    assert_eq!(tablet.process(chat_id, after).unwrap(), None);
    assert_eq!(
        anna.epoch_authenticator(chat_id),
        boris.epoch_authenticator(chat_id)
    );
}

#[tokio::test]
async fn of_two_concurrent_commits_one_wins_and_the_other_retries() {
    let server = start().await;
    let (chat_id, mut anna, mut boris) = anna_and_boris(&server).await;
    for round in 0..3 {
        let (from_anna, from_boris) = tokio::join!(anna.commit(chat_id), boris.commit(chat_id));
        let (winner, loser, lost) = match (from_anna, from_boris) {
            (Ok(_), Err(lost)) => (&mut anna, &mut boris, lost),
            (Err(lost), Ok(_)) => (&mut boris, &mut anna, lost),
            other => panic!("round {round}: exactly one commit wins: {other:?}"),
        };
        assert_api_refused::<()>(Err(lost), ErrorCode::MlsEpochConflict, 409);
        loser.sync(chat_id).await.unwrap();
        loser.commit(chat_id).await.unwrap();
        winner.sync(chat_id).await.unwrap();
        assert_eq!(winner.epoch(chat_id), Some(2 * round + 3));
        assert_eq!(
            winner.epoch_authenticator(chat_id),
            loser.epoch_authenticator(chat_id)
        );
    }
    anna.send_text(chat_id, "Сошлись").await.unwrap();
    assert_eq!(read(&mut boris, chat_id).await, ["Сошлись"]);
}

#[tokio::test]
async fn malformed_replayed_and_misplaced_mls_messages_are_refused_and_harm_nothing() {
    let server = start().await;
    let (chat_id, mut anna, mut boris) = anna_and_boris(&server).await;
    let community = super::common::group(anna.api(), "Открытый", &[user_id(&boris)]).await;
    let send = |device: &Device, chat_id: i64, request: SendMessageRequest| {
        let api = device.api().clone();
        async move { api.send_message(chat_id, &request).await }
    };

    let garbage = SendMessageRequest {
        client_msg_id: "garbage".into(),
        mls: Some(Base64Bytes(vec![0, 1, 0, 2, 7, 7, 7])),
        ..SendMessageRequest::default()
    };
    assert_refused(
        send(&anna, chat_id, garbage).await,
        ErrorCode::MlsInvalid,
        400,
    );

    // The same ciphertext again, under another id; the same id again is the same message.
    let text = |text: &str| Content::Text {
        text: text.into(),
        reply_to: None,
    };
    let once = anna.seal(chat_id, text("Один раз")).unwrap();
    let (first, _) = send(&anna, chat_id, once.clone()).await.unwrap();
    let again = SendMessageRequest {
        client_msg_id: "replay".into(),
        ..once.clone()
    };
    assert_refused(
        send(&anna, chat_id, again).await,
        ErrorCode::MlsReplayed,
        409,
    );
    let (repeated, created) = anna.api().send_message(chat_id, &once).await.unwrap();
    assert_eq!((repeated.seq, created), (first.seq, false));

    // Without the franking tag, into a community chat, as text.
    let untagged = SendMessageRequest {
        client_msg_id: "untagged".into(),
        mls: Some(Base64Bytes(anna.encrypt(chat_id, &[], b"no tag").unwrap())),
        ..SendMessageRequest::default()
    };
    assert_refused(
        send(&anna, chat_id, untagged).await,
        ErrorCode::MlsInvalid,
        400,
    );
    let misplaced = anna.seal(chat_id, text("не туда")).unwrap();
    assert_refused(
        send(&anna, community.id, misplaced).await,
        ErrorCode::MlsInvalid,
        400,
    );
    let plain = SendMessageRequest {
        client_msg_id: "plain".into(),
        text: "открытым текстом".into(),
        ..SendMessageRequest::default()
    };
    assert_refused(
        send(&anna, chat_id, plain).await,
        ErrorCode::EncryptionRequired,
        400,
    );

    // Commits: one made at an epoch already gone, one for another chat's group, a cut one.
    let won = anna.commit(chat_id).await.unwrap();
    assert_api_refused(
        boris.commit(chat_id).await,
        ErrorCode::MlsEpochConflict,
        409,
    );
    let stale = CommitRequest {
        client_msg_id: "stale".into(),
        commit: Base64Bytes(ciphertext(&won)),
        welcome: None,
    };
    assert_refused(
        boris.api().commit(community.id, &stale).await,
        ErrorCode::MlsInvalid,
        400,
    );
    let mut cut = stale.clone();
    cut.commit.0.truncate(cut.commit.0.len() / 2);
    assert_refused(
        boris.api().commit(chat_id, &cut).await,
        ErrorCode::MlsInvalid,
        400,
    );

    // A key package of someone else's device.
    let foreign = MlsClient::new(DeviceIdentity {
        user_id: 999,
        device_id: 999,
    })
    .unwrap();
    let request = PublishKeyPackagesRequest {
        key_packages: vec![Base64Bytes(foreign.key_package(false).unwrap())],
        last_resort: None,
    };
    assert_refused(
        anna.api().publish_key_packages(&request).await,
        ErrorCode::MlsInvalidKeyPackage,
        400,
    );

    // After all that, the group goes on.
    assert_eq!(read(&mut boris, chat_id).await, ["Один раз"]);
    anna.send_text(chat_id, "Всё в порядке").await.unwrap();
    assert_eq!(read(&mut boris, chat_id).await, ["Всё в порядке"]);
}

#[tokio::test]
async fn encrypted_chats_take_no_bots_and_refuse_the_other_kind_of_message() {
    let server = start().await;
    let anna = device(&server.base, "anna").await;
    let bot = anna
        .api()
        .create_bot(&kolokol_client::proto::CreateBotRequest {
            username: "homework_bot".into(),
            name: "Домашка".into(),
        })
        .await
        .unwrap();
    let with_bot = CreateChatRequest {
        kind: ChatKind::Group,
        title: Some("С ботом".into()),
        member_ids: Some(vec![bot.bot.id]),
        privacy: ChatPrivacy::Encrypted,
    };
    assert_refused(
        anna.api().create_chat(&with_bot).await,
        ErrorCode::Forbidden,
        403,
    );
    let chat_id = encrypted_group(&anna, &[]).await;
    assert_refused(
        anna.api().add_members(chat_id, &[bot.bot.id]).await,
        ErrorCode::Forbidden,
        403,
    );
    let community = super::common::group(anna.api(), "Открытый", &[]).await;
    assert_refused(
        anna.api().mls_group(community.id).await,
        ErrorCode::NotEncrypted,
        400,
    );
}

#[tokio::test]
async fn group_ids_and_key_packages_belong_to_their_chat_and_device() {
    let server = start().await;
    let anna = device(&server.base, "anna").await;
    let chat_id = encrypted_group(&anna, &[]).await;
    let state = anna.api().mls_group(chat_id).await.unwrap();
    assert_eq!(state.group_id.0, kolokol_domain::mls::group_id(chat_id, 1));
    assert_eq!(state.pending_add.len(), 1);
    let status = anna.api().key_package_status().await.unwrap();
    let expected = kolokol_e2ee::KEY_PACKAGES as u32;
    assert_eq!(
        (status.available, status.last_resort, status.low),
        (expected, true, false)
    );
}

#[tokio::test]
async fn encrypted_messages_and_welcomes_arrive_live() {
    let server = start().await;
    let mut anna = device(&server.base, "anna").await;
    let mut boris = device(&server.base, "boris").await;
    let (mut events, _) = connect(boris.api(), None).await;
    let chat_id = encrypted_group(&anna, &[&boris]).await;
    anna.commit(chat_id).await.unwrap();
    let welcome_epoch = wait_for(&mut events, |event| match event {
        Event::MlsWelcome {
            chat_id: at, epoch, ..
        } if *at == chat_id => Some(*epoch),
        _ => None,
    })
    .await;
    assert_eq!(welcome_epoch, 1);
    boris.accept_welcomes().await.unwrap();
    let sent = anna.send_text(chat_id, "Живьём").await.unwrap();
    let live = wait_for(&mut events, |event| match event {
        Event::MessageNew { message } if message.seq == sent.seq => Some(message.clone()),
        _ => None,
    })
    .await;
    assert_eq!(live, sent);
    let received = boris.process(chat_id, live).unwrap().unwrap();
    assert_eq!(text_of(vec![received]), ["Живьём"]);

    // A new device of Boris's is announced in the chat, for its members to add; added, then
    // revoked, it is announced again, for its leaf to be removed.
    let laptop = second_device(&server, "boris", "ноутбук").await;
    let changed = |event: &Event| match event {
        Event::MlsChanged { chat_id: at } if *at == chat_id => Some(()),
        _ => None,
    };
    wait_for(&mut events, changed).await;
    anna.commit(chat_id).await.unwrap();
    let state = anna.api().mls_group(chat_id).await.unwrap();
    assert!(state.pending_add.is_empty() && state.pending_remove.is_empty());
    boris
        .api()
        .revoke_session(laptop.identity().device_id)
        .await
        .unwrap();
    wait_for(&mut events, changed).await;
    let state = anna.api().mls_group(chat_id).await.unwrap();
    assert_eq!(state.pending_remove.len(), 1);
}

#[tokio::test]
async fn a_rust_device_resumes_from_its_sealed_file_after_a_restart() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boris.kolokol-device");
    let key: [u8; 32] = rand::random();
    let mut anna = device(&server.base, "anna").await;
    let (api, user) = register(&server.base, "boris").await;
    let mut boris = Device::open_sealed(api.clone(), user.id, &path, &key)
        .await
        .unwrap();
    let chat_id = encrypted_group(&anna, &[&boris]).await;
    anna.commit(chat_id).await.unwrap();
    boris.accept_welcomes().await.unwrap();
    anna.send_text(chat_id, "До перезапуска").await.unwrap();
    assert_eq!(read(&mut boris, chat_id).await, ["До перезапуска"]);
    let identity = boris.identity();
    let authenticator = boris.epoch_authenticator(chat_id);
    drop(boris);

    // Meanwhile the group moves on: a message, then a key update, then another message.
    anna.send_text(chat_id, "Пока тебя не было").await.unwrap();
    anna.commit(chat_id).await.unwrap();
    anna.send_text(chat_id, "После обновления ключей")
        .await
        .unwrap();

    assert!(matches!(
        Device::open_sealed(api.clone(), user.id, &path, &rand::random()).await,
        Err(E2eeError::Storage(_))
    ));
    let mut boris = Device::open_sealed(api, user.id, &path, &key)
        .await
        .unwrap();
    assert_eq!(boris.identity(), identity);
    assert_eq!(boris.epoch_authenticator(chat_id), authenticator);
    assert_eq!(
        read(&mut boris, chat_id).await,
        ["Пока тебя не было", "После обновления ключей"]
    );
    boris.send_text(chat_id, "Я вернулся").await.unwrap();
    assert_eq!(read(&mut anna, chat_id).await, ["Я вернулся"]);
    assert_eq!(
        anna.epoch_authenticator(chat_id),
        boris.epoch_authenticator(chat_id)
    );
    // Nothing it read lies in the file in clear.
    let mut stored = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("boris.kolokol-device-wal")) {
        stored.extend(wal);
    }
    let needle = "Я вернулся".as_bytes();
    assert!(!stored.windows(needle.len()).any(|w| w == needle));
}

#[tokio::test]
async fn a_device_that_lost_its_state_starts_again_and_is_added_afresh() {
    let server = start().await;
    let (chat_id, mut anna, boris) = anna_and_boris(&server).await;
    anna.send_text(chat_id, "До потери").await.unwrap();
    let api = boris.api().clone();
    let user_id = boris.identity().user_id;
    let old_key = anna.api().devices(user_id).await.unwrap()[0]
        .signature_key
        .clone();
    drop(boris);

    // Same session, nothing kept: its new key replaces the old one, and its old leaf must go.
    let mut boris = Device::open(api, user_id).await.unwrap();
    let devices = anna.api().devices(user_id).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_ne!(devices[0].signature_key, old_key);
    let state = anna.api().mls_group(chat_id).await.unwrap();
    assert_eq!(state.pending_remove, [1]);
    assert_eq!(state.pending_add.len(), 1);
    assert_api_refused(
        anna.send_text(chat_id, "to the lost device").await,
        ErrorCode::MlsCommitRequired,
        409,
    );
    anna.commit(chat_id).await.unwrap();
    assert_eq!(boris.accept_welcomes().await.unwrap(), [chat_id]);
    anna.send_text(chat_id, "С возвращением").await.unwrap();
    assert_eq!(read(&mut boris, chat_id).await, ["С возвращением"]);
    assert_eq!(
        anna.epoch_authenticator(chat_id),
        boris.epoch_authenticator(chat_id)
    );
}

#[tokio::test]
async fn bad_key_package_batches_claims_and_bytes_are_refused() {
    let server = start().await;
    let (chat_id, anna, _boris) = anna_and_boris(&server).await;
    let (api, user) = register(&server.base, "vera").await;
    let identity = DeviceIdentity {
        user_id: user.id,
        device_id: api.sessions().await.unwrap()[0].id,
    };
    let (mine, other_key) = (
        MlsClient::new(identity).unwrap(),
        MlsClient::new(identity).unwrap(),
    );
    let package =
        |client: &MlsClient, last_resort| Base64Bytes(client.key_package(last_resort).unwrap());
    let refused = |request: PublishKeyPackagesRequest, code, status| {
        let api = api.clone();
        async move { assert_refused(api.publish_key_packages(&request).await, code, status) }
    };
    refused(
        PublishKeyPackagesRequest::default(),
        ErrorCode::BadRequest,
        400,
    )
    .await;
    let too_many = PublishKeyPackagesRequest {
        key_packages: vec![package(&mine, false); 101],
        last_resort: None,
    };
    refused(too_many, ErrorCode::PayloadTooLarge, 413).await;
    let spare_among_others = PublishKeyPackagesRequest {
        key_packages: vec![package(&mine, true)],
        last_resort: None,
    };
    refused(spare_among_others, ErrorCode::MlsInvalidKeyPackage, 400).await;
    let ordinary_as_spare = PublishKeyPackagesRequest {
        key_packages: Vec::new(),
        last_resort: Some(package(&mine, false)),
    };
    refused(ordinary_as_spare, ErrorCode::MlsInvalidKeyPackage, 400).await;
    let two_keys = PublishKeyPackagesRequest {
        key_packages: vec![package(&mine, false), package(&other_key, false)],
        last_resort: None,
    };
    refused(two_keys, ErrorCode::MlsInvalidKeyPackage, 400).await;
    assert!(
        api.devices(user.id).await.unwrap().is_empty(),
        "nothing was registered"
    );

    // A member's device that is not in the group yet does not hand out others' key packages.
    anna.api().add_members(chat_id, &[user.id]).await.unwrap();
    let vera = Device::open(api.clone(), user.id).await.unwrap();
    assert_refused(
        vera.api().claim_key_packages(chat_id, None).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        vera.api().devices(9_000_000_000).await,
        ErrorCode::UserNotFound,
        404,
    );
    // Bytes that are not base64 are a bad request, like any malformed body.
    let (status, body) = api
        .raw(
            reqwest::Method::POST,
            &format!("/api/v1/chats/{chat_id}/messages"),
            Some((
                "application/json",
                br#"{"client_msg_id":"b64","mls":"not base64!"}"#.to_vec(),
            )),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
}
