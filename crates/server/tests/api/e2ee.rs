//! End-to-end encrypted chats through the real server: devices are openmls clients
//! (kolokol-e2ee), the server is MLS's delivery service and reads only the framing.

use std::collections::BTreeSet;

use kolokol_client::proto::{
    Base64Bytes, ChatKind, ChatPrivacy, CommitRequest, CreateChatRequest, ErrorCode, Event,
    Message, MlsKind, PublishKeyPackagesRequest, SendMessageRequest, Seq, User,
};
use kolokol_client::{Client, ClientError, Page};
use kolokol_e2ee::{DeviceIdentity, Group, Incoming, group_id};

use super::common::{
    TestServer, assert_refused, connect, register, spawn_kolokol_logging, start, wait_for,
};

/// What a sender puts in an application message's authenticated data: a version byte and a
/// franking tag (the server keeps it for abuse reports).
fn franking(tag: u8) -> Vec<u8> {
    [[1u8].as_slice(), &[tag; 32]].concat()
}

/// A person with one device: their API client and their MLS member, following one chat.
struct Member {
    api: Client,
    user: User,
    device: kolokol_e2ee::Client,
    group: Option<Group>,
    /// Every message of the chat up to here has been processed.
    seen: Seq,
    /// What this device sent (it cannot decrypt its own messages).
    own: BTreeSet<Seq>,
    sent: u32,
}

impl Member {
    async fn new(server_base: &str, name: &str) -> Member {
        let (api, user) = register(server_base, name).await;
        Member::of(api, user).await
    }

    /// The MLS device of this client's session, with key packages published.
    async fn of(api: Client, user: User) -> Member {
        let sessions = api.sessions().await.unwrap();
        let session = sessions.iter().find(|session| session.current).unwrap();
        let identity = DeviceIdentity {
            user_id: user.id,
            device_id: session.id,
        };
        let device = kolokol_e2ee::Client::new(identity).unwrap();
        let member = Member {
            api,
            user,
            device,
            group: None,
            seen: 0,
            own: BTreeSet::new(),
            sent: 0,
        };
        member.publish(3).await;
        member
    }

    async fn publish(&self, count: usize) {
        let request = PublishKeyPackagesRequest {
            key_packages: (0..count)
                .map(|_| Base64Bytes(self.device.key_package(false).unwrap()))
                .collect(),
            last_resort: Some(Base64Bytes(self.device.key_package(true).unwrap())),
        };
        self.api.publish_key_packages(&request).await.unwrap();
    }

    fn device_id(&self) -> i64 {
        self.device.identity().device_id
    }

    fn group(&mut self) -> &mut Group {
        self.group.as_mut().expect("in the group")
    }

    fn next_id(&mut self, what: &str) -> String {
        self.sent += 1;
        format!("{what}-{}-{}", self.user.id, self.sent)
    }

    /// Commits what the chat waits for: adds of members' new devices (not its own), removals
    /// of those who must go; a key update when there is neither. Keeps the commit on 201,
    /// drops it otherwise.
    async fn commit(&mut self, chat_id: i64) -> Result<Message, ClientError> {
        let state = self.api.mls_group(chat_id).await.unwrap();
        if self.group.is_none() {
            assert_eq!(state.epoch, 0, "only a new group is started by a commit");
            self.group = Some(self.device.create_group(&state.group_id.0).unwrap());
        }
        let others: Vec<i64> = state
            .pending_add
            .iter()
            .map(|device| device.device_id)
            .filter(|&id| id != self.device_id())
            .collect();
        let packages = match others.is_empty() {
            true => Vec::new(),
            false => {
                self.api
                    .claim_key_packages(chat_id, Some(others))
                    .await?
                    .key_packages
            }
        };
        let packages: Vec<Vec<u8>> = packages.into_iter().map(|kp| kp.key_package.0).collect();
        let client_msg_id = self.next_id("commit");
        let group = self.group.as_mut().unwrap();
        let outgoing = group
            .commit(&self.device, &packages, &state.pending_remove)
            .unwrap();
        let request = CommitRequest {
            client_msg_id,
            commit: Base64Bytes(outgoing.commit),
            welcome: outgoing.welcome.map(Base64Bytes),
        };
        match self.api.commit(chat_id, &request).await {
            Ok((message, _)) => {
                self.group
                    .as_mut()
                    .unwrap()
                    .merge_pending(&self.device)
                    .unwrap();
                self.own.insert(message.seq);
                self.seen = message.seq;
                Ok(message)
            }
            Err(error) => {
                self.group
                    .as_mut()
                    .unwrap()
                    .clear_pending(&self.device)
                    .unwrap();
                Err(error)
            }
        }
    }

    /// Joins from the Welcome waiting for this device.
    async fn join(&mut self) {
        let welcomes = self.api.welcomes().await.unwrap();
        let [welcome] = welcomes.as_slice() else {
            panic!("one Welcome for {}", self.user.display_name);
        };
        self.group = Some(self.device.join(&welcome.welcome.0).unwrap());
        self.seen = welcome.commit_seq;
        self.api.forget_welcome(welcome.id).await.unwrap();
    }

    fn sealed(&mut self, text: &str) -> SendMessageRequest {
        let data = self
            .group
            .as_mut()
            .unwrap()
            .encrypt(&self.device, &franking(9), text.as_bytes())
            .unwrap();
        SendMessageRequest {
            client_msg_id: self.next_id("m"),
            mls: Some(Base64Bytes(data)),
            ..SendMessageRequest::default()
        }
    }

    async fn send(&mut self, chat_id: i64, text: &str) -> Result<Message, ClientError> {
        let request = self.sealed(text);
        let (message, _) = self.api.send_message(chat_id, &request).await?;
        self.own.insert(message.seq);
        Ok(message)
    }

    /// Processes the chat's new messages in order; returns the texts read.
    async fn sync(&mut self, chat_id: i64) -> Vec<String> {
        let mut read = Vec::new();
        loop {
            let page = Page {
                after: Some(self.seen),
                limit: Some(50),
                ..Page::default()
            };
            let messages = self.api.messages(chat_id, page).await.unwrap();
            if messages.is_empty() {
                return read;
            }
            for message in messages {
                self.seen = message.seq;
                let Some(mls) = message.mls.filter(|_| !self.own.contains(&message.seq)) else {
                    continue;
                };
                let data = mls.data.expect("ciphertext").0;
                match self
                    .group
                    .as_mut()
                    .unwrap()
                    .process(&self.device, &data)
                    .unwrap()
                {
                    Incoming::Application { data, .. } => {
                        read.push(String::from_utf8(data).unwrap())
                    }
                    Incoming::Commit {
                        removed_me: true, ..
                    } => {
                        self.group = None;
                        return read;
                    }
                    Incoming::Commit { .. } => {}
                }
            }
        }
    }
}

async fn encrypted_group(owner: &Member, members: &[&Member]) -> i64 {
    let (chat, created) = owner
        .api
        .create_chat(&CreateChatRequest {
            kind: ChatKind::Group,
            title: Some("Родительский комитет".into()),
            member_ids: Some(members.iter().map(|member| member.user.id).collect()),
            privacy: ChatPrivacy::Encrypted,
        })
        .await
        .unwrap();
    assert!(created);
    assert_eq!(chat.privacy, ChatPrivacy::Encrypted);
    chat.id
}

/// Anna's encrypted group with Boris in it, at epoch 1.
async fn anna_and_boris(server: &TestServer) -> (i64, Member, Member) {
    let mut anna = Member::new(&server.base, "anna").await;
    let mut boris = Member::new(&server.base, "boris").await;
    let chat_id = encrypted_group(&anna, &[&boris]).await;
    let commit = anna.commit(chat_id).await.unwrap();
    assert_eq!(commit.mls.as_ref().unwrap().kind, MlsKind::Commit);
    assert_eq!(commit.mls.as_ref().unwrap().epoch, 1);
    boris.join().await;
    (chat_id, anna, boris)
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

    let mut anna = Member::new(&base, "anna").await;
    let mut boris = Member::new(&base, "boris").await;
    let vera = Member::new(&base, "vera").await;
    let chat_id = encrypted_group(&anna, &[&boris]).await;
    anna.commit(chat_id).await.unwrap();
    boris.join().await;
    assert_eq!(
        anna.group().epoch_authenticator(),
        boris.group().epoch_authenticator()
    );

    let sent = anna.send(chat_id, marker).await.unwrap();
    assert_eq!(sent.text, "");
    assert_eq!(boris.sync(chat_id).await, [marker]);
    boris.send(chat_id, "Спасибо, получил 👍").await.unwrap();
    assert_eq!(anna.sync(chat_id).await, ["Спасибо, получил 👍"]);

    // Nothing the server stores or says carries the text: not its database, not its log, not
    // what it answers (members get ciphertext; outsiders get nothing).
    let history = boris.api.messages(chat_id, Page::default()).await.unwrap();
    assert!(history.iter().all(|message| message.text.is_empty()));
    let answers = format!("{history:?}{:?}", boris.api.chats().await.unwrap());
    assert!(!answers.contains("kolokol-marker"));
    assert_refused(
        vera.api.messages(chat_id, Page::default()).await,
        ErrorCode::NotMember,
        403,
    );
    // The scan below would find text the server can read: a community chat's, for one.
    let open = super::common::group(&anna.api, "Открытый", &[boris.user.id]).await;
    super::common::send(&anna.api, open.id, "control", "kolokol-control-81d2")
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
    // At the most talkative level it has: the server's own line and more (connections, ...).
    assert!(logged.lines().count() > 1, "the server logged: {logged}");
    assert!(!logged.contains("kolokol-marker"));
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
    let mut vera = Member::new(&server.base, "vera").await;
    anna.api
        .add_members(chat_id, &[vera.user.id])
        .await
        .unwrap();
    anna.commit(chat_id).await.unwrap();
    vera.join().await;
    boris.sync(chat_id).await;
    anna.send(chat_id, "Все в сборе").await.unwrap();
    assert_eq!(vera.sync(chat_id).await, ["Все в сборе"]);
    assert_eq!(boris.sync(chat_id).await, ["Все в сборе"]);

    // Vera leaves: nothing more goes out until her leaf is removed.
    vera.api.leave_chat(chat_id).await.unwrap();
    let refused = anna.send(chat_id, "too early").await;
    assert_refused(refused, ErrorCode::MlsCommitRequired, 409);
    let removal = boris.commit(chat_id).await.unwrap();
    anna.sync(chat_id).await;
    anna.send(chat_id, "Вера вышла").await.unwrap();
    assert_eq!(boris.sync(chat_id).await, ["Вера вышла"]);
    // Vera's device, had it kept the ciphertext, cannot open it.
    let after_removal = anna
        .api
        .messages(
            chat_id,
            Page {
                after: Some(removal.seq),
                ..Page::default()
            },
        )
        .await
        .unwrap();
    let removal_data = removal.mls.unwrap().data.unwrap().0;
    assert!(matches!(
        vera.group
            .as_mut()
            .unwrap()
            .process(&vera.device, &removal_data)
            .unwrap(),
        Incoming::Commit {
            removed_me: true,
            ..
        }
    ));
    let secret = after_removal[0].mls.clone().unwrap().data.unwrap().0;
    assert!(
        vera.group
            .as_mut()
            .unwrap()
            .process(&vera.device, &secret)
            .is_err()
    );

    // Boris signs in on a second device, which is added; then that session is revoked.
    let mut tablet_api = server.anonymous();
    tablet_api
        .login(&kolokol_client::proto::LoginRequest {
            username: "boris".into(),
            password: super::common::PASSWORD.into(),
            device_name: Some("планшет".into()),
        })
        .await
        .unwrap();
    let mut tablet = Member::of(tablet_api, boris.user.clone()).await;
    let devices = anna.api.devices(boris.user.id).await.unwrap();
    assert_eq!(devices.len(), 2);
    anna.commit(chat_id).await.unwrap();
    tablet.join().await;
    boris.sync(chat_id).await;
    anna.send(chat_id, "Привет планшету").await.unwrap();
    assert_eq!(tablet.sync(chat_id).await, ["Привет планшету"]);

    boris.api.revoke_session(tablet.device_id()).await.unwrap();
    let state = anna.api.mls_group(chat_id).await.unwrap();
    assert_eq!(state.pending_remove.len(), 1);
    assert_refused(
        anna.send(chat_id, "to a revoked device").await,
        ErrorCode::MlsCommitRequired,
        409,
    );
    let removal = anna.commit(chat_id).await.unwrap();
    boris.sync(chat_id).await;
    let after = anna.send(chat_id, "Только телефону").await.unwrap();
    assert_eq!(boris.sync(chat_id).await, ["Только телефону"]);
    let removal_data = removal.mls.unwrap().data.unwrap().0;
    assert!(matches!(
        tablet
            .group
            .as_mut()
            .unwrap()
            .process(&tablet.device, &removal_data)
            .unwrap(),
        Incoming::Commit {
            removed_me: true,
            ..
        }
    ));
    let secret = after.mls.unwrap().data.unwrap().0;
    assert!(
        tablet
            .group
            .as_mut()
            .unwrap()
            .process(&tablet.device, &secret)
            .is_err()
    );
    assert_eq!(
        anna.group().epoch_authenticator(),
        boris.group().epoch_authenticator()
    );
}

#[tokio::test]
async fn of_two_concurrent_commits_one_wins_and_the_other_retries() {
    let server = start().await;
    let (chat_id, mut anna, mut boris) = anna_and_boris(&server).await;
    for _round in 0..3 {
        let (from_anna, from_boris) = tokio::join!(anna.commit(chat_id), boris.commit(chat_id));
        let (winner, loser) = match (from_anna, from_boris) {
            (Ok(_), Err(error)) => ((&mut anna), (&mut boris, error)),
            (Err(error), Ok(_)) => ((&mut boris), (&mut anna, error)),
            other => panic!("exactly one commit wins: {other:?}"),
        };
        let (loser, error) = loser;
        assert_eq!(
            (error.code(), error.status()),
            (Some(ErrorCode::MlsEpochConflict), Some(409))
        );
        loser.sync(chat_id).await;
        loser.commit(chat_id).await.unwrap();
        winner.sync(chat_id).await;
        assert_eq!(
            winner.group().epoch_authenticator(),
            loser.group().epoch_authenticator()
        );
    }
    anna.send(chat_id, "Сошлись").await.unwrap();
    assert_eq!(boris.sync(chat_id).await, ["Сошлись"]);
}

#[tokio::test]
async fn malformed_replayed_and_misplaced_mls_messages_are_refused_and_harm_nothing() {
    let server = start().await;
    let (chat_id, mut anna, mut boris) = anna_and_boris(&server).await;
    let community = super::common::group(&anna.api, "Открытый", &[boris.user.id]).await;

    let garbage = SendMessageRequest {
        client_msg_id: "garbage".into(),
        mls: Some(Base64Bytes(vec![0, 1, 0, 2, 7, 7, 7])),
        ..SendMessageRequest::default()
    };
    assert_refused(
        anna.api.send_message(chat_id, &garbage).await,
        ErrorCode::MlsInvalid,
        400,
    );

    // The same ciphertext again, under another id.
    let once = anna.sealed("Один раз");
    anna.api.send_message(chat_id, &once).await.unwrap();
    let again = SendMessageRequest {
        client_msg_id: "replay".into(),
        ..once.clone()
    };
    assert_refused(
        anna.api.send_message(chat_id, &again).await,
        ErrorCode::MlsReplayed,
        409,
    );
    // The same id again is the same message (200), not a second one.
    let (repeated, created) = anna.api.send_message(chat_id, &once).await.unwrap();
    assert!(!created);
    anna.own.insert(repeated.seq);

    // Without the franking tag, into a community chat, as text, into another chat's group.
    let bare = anna
        .group
        .as_mut()
        .unwrap()
        .encrypt(&anna.device, &[], b"no tag")
        .unwrap();
    let untagged = SendMessageRequest {
        client_msg_id: "untagged".into(),
        mls: Some(Base64Bytes(bare)),
        ..SendMessageRequest::default()
    };
    assert_refused(
        anna.api.send_message(chat_id, &untagged).await,
        ErrorCode::MlsInvalid,
        400,
    );
    let misplaced = anna.sealed("не туда");
    assert_refused(
        anna.api.send_message(community.id, &misplaced).await,
        ErrorCode::MlsInvalid,
        400,
    );
    let text = SendMessageRequest {
        client_msg_id: "plain".into(),
        text: "открытым текстом".into(),
        ..SendMessageRequest::default()
    };
    assert_refused(
        anna.api.send_message(chat_id, &text).await,
        ErrorCode::EncryptionRequired,
        400,
    );

    // Commits: for another group, at a past epoch, a garbled one.
    let stale = CommitRequest {
        client_msg_id: "stale".into(),
        commit: Base64Bytes(
            boris
                .group
                .as_mut()
                .unwrap()
                .commit(&boris.device, &[], &[])
                .unwrap()
                .commit,
        ),
        welcome: None,
    };
    boris
        .group
        .as_mut()
        .unwrap()
        .clear_pending(&boris.device)
        .unwrap();
    anna.commit(chat_id).await.unwrap();
    assert_refused(
        boris.api.commit(chat_id, &stale).await,
        ErrorCode::MlsEpochConflict,
        409,
    );
    assert_refused(
        boris.api.commit(community.id, &stale).await,
        ErrorCode::MlsInvalid,
        400,
    );
    let mut garbled = stale.clone();
    garbled.client_msg_id = "garbled".into();
    garbled.commit.0.truncate(garbled.commit.0.len() / 2);
    assert_refused(
        boris.api.commit(chat_id, &garbled).await,
        ErrorCode::MlsInvalid,
        400,
    );

    // A key package of someone else's device, and one from another ciphersuite's world.
    let foreign = kolokol_e2ee::Client::new(DeviceIdentity {
        user_id: 999,
        device_id: 999,
    })
    .unwrap();
    let request = PublishKeyPackagesRequest {
        key_packages: vec![Base64Bytes(foreign.key_package(false).unwrap())],
        last_resort: None,
    };
    assert_refused(
        anna.api.publish_key_packages(&request).await,
        ErrorCode::MlsInvalidKeyPackage,
        400,
    );

    // After all that, the group goes on.
    assert_eq!(boris.sync(chat_id).await, ["Один раз"]);
    anna.send(chat_id, "Всё в порядке").await.unwrap();
    assert_eq!(boris.sync(chat_id).await, ["Всё в порядке"]);
}

#[tokio::test]
async fn encrypted_chats_take_no_bots_and_refuse_the_other_kind_of_message() {
    let server = start().await;
    let anna = Member::new(&server.base, "anna").await;
    let bot = anna
        .api
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
        anna.api.create_chat(&with_bot).await,
        ErrorCode::Forbidden,
        403,
    );
    let chat_id = encrypted_group(&anna, &[]).await;
    assert_refused(
        anna.api.add_members(chat_id, &[bot.bot.id]).await,
        ErrorCode::Forbidden,
        403,
    );
    let community = super::common::group(&anna.api, "Открытый", &[]).await;
    assert_refused(
        anna.api.mls_group(community.id).await,
        ErrorCode::NotEncrypted,
        400,
    );
}

#[tokio::test]
async fn group_ids_and_key_packages_belong_to_their_chat_and_device() {
    let server = start().await;
    let anna = Member::new(&server.base, "anna").await;
    let chat_id = encrypted_group(&anna, &[]).await;
    let state = anna.api.mls_group(chat_id).await.unwrap();
    assert_eq!(state.group_id.0, group_id(chat_id, 1));
    assert_eq!(state.pending_add.len(), 1);
    let status = anna.api.key_package_status().await.unwrap();
    assert_eq!(
        (status.available, status.last_resort, status.low),
        (3, true, true)
    );
}

#[tokio::test]
async fn encrypted_messages_and_welcomes_arrive_live() {
    let server = start().await;
    let mut anna = Member::new(&server.base, "anna").await;
    let mut boris = Member::new(&server.base, "boris").await;
    let (mut events, _) = connect(&boris.api, None).await;
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
    boris.join().await;
    let sent = anna.send(chat_id, "Живьём").await.unwrap();
    let live = wait_for(&mut events, |event| match event {
        Event::MessageNew { message } if message.seq == sent.seq => Some(message.clone()),
        _ => None,
    })
    .await;
    assert_eq!(live, sent);
    let data = live.mls.unwrap().data.unwrap().0;
    let read = boris
        .group
        .as_mut()
        .unwrap()
        .process(&boris.device, &data)
        .unwrap();
    assert!(matches!(read, Incoming::Application { data, .. } if data == "Живьём".as_bytes()));

    // A new device of Boris's is announced in the chat, for its members to add.
    let mut laptop_api = server.anonymous();
    laptop_api
        .login(&kolokol_client::proto::LoginRequest {
            username: "boris".into(),
            password: super::common::PASSWORD.into(),
            device_name: Some("ноутбук".into()),
        })
        .await
        .unwrap();
    Member::of(laptop_api, boris.user.clone()).await;
    wait_for(&mut events, |event| match event {
        Event::MlsChanged { chat_id: at } if *at == chat_id => Some(()),
        _ => None,
    })
    .await;
}
