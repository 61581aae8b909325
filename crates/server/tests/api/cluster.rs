//! Several real `kolokol serve` processes against one PostgreSQL database and one NATS server
//! behave as one server. Each test gets a database and a bus subject of its own. PostgreSQL
//! (`KOLOKOL_TEST_POSTGRES`) and NATS (`KOLOKOL_TEST_NATS`) must be running: without them these
//! tests fail, they never pass silently.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Child;
use std::sync::Arc;
use std::time::Duration;

use kolokol_client::proto::{
    ChatKind, CreateChatRequest, ErrorCode, Event, LoginRequest, Message, RegisterRequest,
    SendMessageRequest, User,
};
use kolokol_client::{Client, ClientError, EventStream};
use parking_lot::Mutex;

use super::bots::{Receiver, delivered};
use super::common::{
    FreshDatabase, PASSWORD, assert_refused, connect, next_frame, postgres_url, spawn_kolokol,
    wait_for,
};

fn nats_url() -> String {
    std::env::var("KOLOKOL_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Nodes sharing a fresh database and bus subject; dropping it stops them and drops the database.
struct Cluster {
    nodes: Vec<(Child, String)>,
    _database: FreshDatabase,
    _dirs: tempfile::TempDir,
}

impl Cluster {
    async fn start(count: usize, env: &[(&str, &str)]) -> Cluster {
        Cluster::start_on(&nats_url(), count, env).await
    }

    async fn start_on(nats: &str, count: usize, env: &[(&str, &str)]) -> Cluster {
        let database = FreshDatabase::create("kk_cluster").await;
        let url = database.url.clone();
        let subject = format!("kolokol-test-{}", database.name);
        let dirs = tempfile::tempdir().unwrap();
        // The nodes start together, so they also race to migrate the empty database.
        let starting: Vec<_> = (0..count)
            .map(|index| {
                let data_dir = dirs.path().join(index.to_string());
                let (url, nats, subject) = (url.clone(), nats.to_owned(), subject.clone());
                let env: Vec<(String, String)> = env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                std::thread::spawn(move || {
                    let env: Vec<(&str, &str)> =
                        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    spawn_kolokol(
                        &[
                            "--data-dir",
                            data_dir.to_str().unwrap(),
                            "--database",
                            &url,
                            "--bus",
                            &nats,
                            "--bus-subject",
                            &subject,
                            // Tests run side by side; PostgreSQL allows 100 connections.
                            "--database-pool",
                            "4",
                        ],
                        &env,
                    )
                })
            })
            .collect();
        let nodes = starting
            .into_iter()
            .map(|thread| thread.join().expect("node started"))
            .collect();
        Cluster {
            nodes,
            _database: database,
            _dirs: dirs,
        }
    }

    fn base(&self, node: usize) -> &str {
        &self.nodes[node].1
    }

    fn client(&self, node: usize) -> Client {
        Client::new(self.base(node).to_owned())
    }

    /// The same signed-in user, talking to another node.
    fn on(&self, node: usize, client: &Client) -> Client {
        self.client(node).with_token(client.token().unwrap())
    }

    async fn user(&self, node: usize, username: &str) -> (Client, User) {
        let mut client = self.client(node);
        let auth = client
            .register(&RegisterRequest {
                username: username.into(),
                password: PASSWORD.into(),
                display_name: username.to_uppercase(),
                device_name: None,
            })
            .await
            .expect("register");
        (client, auth.user)
    }

    fn kill(&mut self, node: usize) {
        let child = &mut self.nodes[node].0;
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The nodes stop before their database is dropped.
        for (child, _) in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn direct_chat(client: &Client, other: &User) -> i64 {
    let (chat, _) = client
        .create_chat(&CreateChatRequest {
            kind: ChatKind::Direct,
            title: None,
            member_ids: Some(vec![other.id]),
            privacy: kolokol_proto::ChatPrivacy::Community,
        })
        .await
        .expect("create chat");
    chat.id
}

fn request(id: &str, text: &str) -> SendMessageRequest {
    SendMessageRequest {
        client_msg_id: id.into(),
        text: text.into(),
        reply_to: None,
        request_ack: false,
        urgent: false,
        thread_of: None,
        poll: None,
        attachments: Vec::new(),
        mls: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn users_on_different_nodes_chat_in_real_time() {
    let cluster = Cluster::start(2, &[]).await;
    let (alice, alice_user) = cluster.user(0, "alice").await;
    let (bob, bob_user) = cluster.user(1, "bob").await;
    let (mut alice_events, _) = connect(&alice, None).await;
    let (mut bob_events, _) = connect(&bob, None).await;

    // Alice, on node 0, opens a chat and writes; Bob, on node 1, sees both live.
    let chat_id = direct_chat(&alice, &bob_user).await;
    wait_for(&mut bob_events, |event| {
        matches!(event, Event::ChatCreated { chat, .. } if chat.id == chat_id).then_some(())
    })
    .await;
    let (sent, _) = alice
        .send_message(chat_id, &request("m1", "привет через узлы"))
        .await
        .unwrap();
    let got = wait_for(&mut bob_events, |event| match event {
        Event::MessageNew { message } => Some(message.clone()),
        _ => None,
    })
    .await;
    assert_eq!(got, sent);

    // Typing crosses nodes, over REST and over the socket.
    bob.typing(chat_id).await.unwrap();
    wait_for(&mut alice_events, |event| {
        (*event
            == Event::Typing {
                chat_id,
                user_id: bob_user.id,
            })
        .then_some(())
    })
    .await;
    alice_events.send_typing(chat_id).await.unwrap();
    wait_for(&mut bob_events, |event| {
        (*event
            == Event::Typing {
                chat_id,
                user_id: alice_user.id,
            })
        .then_some(())
    })
    .await;

    // So do read markers: Bob reads on node 1, Alice hears it on node 0.
    bob.mark_read(chat_id, sent.seq).await.unwrap();
    wait_for(&mut alice_events, |event| {
        (*event
            == Event::Read {
                chat_id,
                user_id: bob_user.id,
                seq: sent.seq,
            })
        .then_some(())
    })
    .await;
    // And Bob's other device, on node 0, gets his own read marker too.
    let (mut bob_elsewhere, _) = connect(&cluster.on(0, &bob), None).await;
    let (reply, _) = cluster
        .on(0, &bob)
        .send_message(chat_id, &request("r1", "ответ"))
        .await
        .unwrap();
    for stream in [&mut alice_events, &mut bob_elsewhere, &mut bob_events] {
        let got = wait_for(stream, |event| match event {
            Event::MessageNew { message } if message.seq == reply.seq => Some(message.clone()),
            _ => None,
        })
        .await;
        assert_eq!(got, reply);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_revoked_on_one_node_closes_its_socket_on_another() {
    let cluster = Cluster::start(2, &[]).await;
    let (phone, _) = cluster.user(0, "carol").await;
    let mut laptop = cluster.client(1);
    laptop
        .login(&LoginRequest {
            username: "carol".into(),
            password: PASSWORD.into(),
            device_name: Some("laptop".into()),
        })
        .await
        .unwrap();
    // The laptop's token is now cached as valid on node 1.
    laptop.me().await.unwrap();
    let (mut laptop_events, _) = connect(&laptop, None).await;

    // The phone revokes the laptop's session through node 0.
    let sessions = phone.sessions().await.unwrap();
    let laptop_session = sessions
        .iter()
        .find(|s| s.device_name == "laptop")
        .expect("laptop session")
        .id;
    phone.revoke_session(laptop_session).await.unwrap();

    // Node 1 closes the laptop's socket with 4001 at once, and refuses its token.
    // Under the whole suite's load on two cores a cross-node hop has taken over 5 s.
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match laptop_events.next().await {
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Some(error),
                None => return None,
            }
        }
    })
    .await
    .expect("the socket closes within 15 s");
    let error = closed.expect("a close frame with a reason");
    assert!(
        matches!(&error, ClientError::Closed { code: 4001, .. }),
        "closed with {error:?}"
    );
    assert_refused(laptop.me().await, ErrorCode::Unauthorized, 401);
    phone.me().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn login_rate_limits_hold_across_nodes() {
    let cluster = Cluster::start(2, &[("KOLOKOL_LOGIN_PER_USERNAME_PER_MINUTE", "4")]).await;
    cluster.user(0, "dave").await;
    let wrong = LoginRequest {
        username: "dave".into(),
        password: "not the password".into(),
        device_name: None,
    };
    // Four wrong attempts spread over both nodes use up the allowance of four…
    for attempt in 0..4 {
        let mut client = cluster.client(attempt % 2);
        assert_refused(client.login(&wrong).await, ErrorCode::WrongCredentials, 401);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // …so both nodes now refuse, even the right password.
    for node in 0..2 {
        let mut client = cluster.client(node);
        let right = LoginRequest {
            password: PASSWORD.into(),
            ..wrong.clone()
        };
        assert_refused(client.login(&right).await, ErrorCode::RateLimited, 429);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotent_sends_hold_across_nodes() {
    let cluster = Cluster::start(2, &[]).await;
    let (erin, _) = cluster.user(0, "erin").await;
    let (_, frank) = cluster.user(1, "frank").await;
    let chat_id = direct_chat(&erin, &frank).await;
    let on_both = [cluster.on(0, &erin), cluster.on(1, &erin)];
    // Every id is sent four times at once, twice through each node.
    let mut tasks = Vec::new();
    for n in 0..20 {
        for round in 0..4 {
            let client = on_both[round % 2].clone();
            tasks.push(tokio::spawn(async move {
                let id = format!("same-{n}");
                let (message, _) = client
                    .send_message(chat_id, &request(&id, &format!("text {n}")))
                    .await
                    .expect("send");
                (id, message)
            }));
        }
    }
    let mut by_id: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for task in tasks {
        let (id, message) = task.await.unwrap();
        by_id.entry(id).or_default().insert(message.seq);
    }
    assert!(
        by_id.values().all(|seqs| seqs.len() == 1),
        "one message per id: {by_id:?}"
    );
    let history = erin
        .messages(
            chat_id,
            kolokol_client::Page {
                limit: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let seqs: Vec<i64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=20).collect::<Vec<_>>(),
        "gap-free, no duplicates"
    );
}

/// Collects the seqs of `message.new` events of one chat, and the cursor after each.
async fn read_messages(
    stream: &mut EventStream,
    chat_id: i64,
    until_seq: i64,
    seen: &mut Vec<(i64, Option<String>)>,
) {
    while seen.last().is_none_or(|(seq, _)| *seq < until_seq) {
        let frame = next_frame(stream).await;
        if let Event::MessageNew { message } = &frame.event
            && message.chat_id == chat_id
        {
            seen.push((message.seq, frame.cursor.clone()));
        }
    }
}

/// The trap of several writers: positions taken in one order may commit in another. Readers on
/// both nodes, live and resuming from cursors taken mid-stream, must see every message once.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_on_two_nodes_never_make_a_reader_skip() {
    const WRITERS: usize = 6;
    const EACH: usize = 40;
    let cluster = Cluster::start(2, &[]).await;
    let (owner, _) = cluster.user(0, "owner").await;
    let mut writers = Vec::new();
    for index in 0..WRITERS {
        writers.push(cluster.user(index % 2, &format!("writer{index}")).await);
    }
    let (chat, _) = owner
        .create_chat(&CreateChatRequest {
            kind: ChatKind::Group,
            title: Some("гонка".into()),
            member_ids: Some(writers.iter().map(|(_, user)| user.id).collect()),
            privacy: kolokol_proto::ChatPrivacy::Community,
        })
        .await
        .unwrap();
    let (mut on_0, _) = connect(&owner, None).await;
    let (mut on_1, _) = connect(&cluster.on(1, &owner), None).await;

    let mut tasks = Vec::new();
    for (index, (client, _)) in writers.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for n in 0..EACH {
                client
                    .send_message(chat.id, &request(&format!("w{index}-{n}"), "x"))
                    .await
                    .expect("send");
            }
        }));
    }
    let total = (WRITERS * EACH) as i64;
    let (mut seen_0, mut seen_1) = (Vec::new(), Vec::new());
    read_messages(&mut on_0, chat.id, total, &mut seen_0).await;
    read_messages(&mut on_1, chat.id, total, &mut seen_1).await;
    for task in tasks {
        task.await.unwrap();
    }
    let all: Vec<i64> = (1..=total).collect();
    for seen in [&seen_0, &seen_1] {
        let seqs: Vec<i64> = seen.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, all, "every message once, in order");
    }
    // Resuming on the other node from any cursor taken mid-stream yields exactly the rest.
    for (at, cursor) in seen_0.iter().step_by(37) {
        let mut resumed = cluster
            .on(1, &owner)
            .connect_events(cursor.clone())
            .await
            .unwrap();
        let mut rest = vec![(*at, None)];
        if *at < total {
            read_messages(&mut resumed, chat.id, total, &mut rest).await;
        }
        let seqs: Vec<i64> = rest.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, (*at..=total).collect::<Vec<_>>());
    }
}

/// Kill a node under load: its readers move to the surviving node and resume from their cursors
/// without gaps or duplicates, and its writers retry there without duplicating anything.
#[tokio::test(flavor = "multi_thread")]
async fn killing_a_node_under_load_loses_and_duplicates_nothing() {
    const SENDERS: usize = 4;
    let mut cluster = Cluster::start(2, &[]).await;
    let (reader, _) = cluster.user(0, "reader").await;
    let mut senders = Vec::new();
    for index in 0..SENDERS {
        senders.push(cluster.user(index % 2, &format!("sender{index}")).await);
    }
    let (chat, _) = reader
        .create_chat(&CreateChatRequest {
            kind: ChatKind::Group,
            title: Some("отказ узла".into()),
            member_ids: Some(senders.iter().map(|(_, user)| user.id).collect()),
            privacy: kolokol_proto::ChatPrivacy::Community,
        })
        .await
        .unwrap();
    let (mut reading, _) = connect(&reader, None).await;
    let survivor = cluster.base(1).to_owned();

    // Senders write nonstop; when their node dies they retry the same id on the survivor.
    let acked: Arc<Mutex<BTreeMap<String, Message>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (index, (client, _)) in senders.into_iter().enumerate() {
        let (acked, stop, survivor) = (acked.clone(), stop.clone(), survivor.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = format!("s{index}-{n}");
                match client.send_message(chat.id, &request(&id, "load")).await {
                    Ok((message, _)) => {
                        acked.lock().insert(id, message);
                        n += 1;
                    }
                    Err(_) => {
                        client = Client::new(survivor.clone()).with_token(client.token().unwrap());
                    }
                }
            }
        }));
    }

    // The reader follows on node 0 until it dies, then resumes on node 1 from its cursor.
    let mut seen: Vec<i64> = Vec::new();
    let mut cursor = None;
    let mut killed = false;
    let mut moved = false;
    loop {
        if !killed && seen.len() >= 100 {
            cluster.kill(0);
            killed = true;
        }
        if moved && seen.len() >= 400 {
            break;
        }
        match tokio::time::timeout(Duration::from_secs(10), reading.next()).await {
            Ok(Some(Ok(frame))) => {
                if let Event::MessageNew { message } = &frame.event {
                    seen.push(message.seq);
                }
                if frame.cursor.is_some() {
                    cursor = frame.cursor;
                }
            }
            Ok(_) if killed && !moved => {
                let moved_reader =
                    Client::new(survivor.clone()).with_token(reader.token().unwrap());
                reading = moved_reader
                    .connect_events(cursor.clone())
                    .await
                    .expect("resume on the surviving node");
                moved = true;
            }
            other => panic!("reader stalled: {other:?}"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    assert!(moved, "the reader moved to the surviving node");
    // Exactly once and in order: seqs 1, 2, 3… with nothing missing or repeated.
    assert_eq!(seen, (1..=seen.len() as i64).collect::<Vec<_>>());
    // Every acknowledged message is stored once under its seq.
    let survivor_client = Client::new(survivor).with_token(reader.token().unwrap());
    let mut stored = Vec::new();
    loop {
        let page = kolokol_client::Page {
            after: Some(stored.len() as i64),
            before: None,
            limit: Some(100),
        };
        let batch = survivor_client.messages(chat.id, page).await.unwrap();
        if batch.is_empty() {
            break;
        }
        stored.extend(batch);
    }
    let seqs: Vec<i64> = stored.iter().map(|m: &Message| m.seq).collect();
    assert_eq!(seqs, (1..=stored.len() as i64).collect::<Vec<_>>());
    for message in acked.lock().values() {
        assert_eq!(&stored[message.seq as usize - 1], message);
    }
    let ids: BTreeSet<&str> = stored.iter().map(|m| m.client_msg_id.as_str()).collect();
    assert_eq!(ids.len(), stored.len(), "no client_msg_id stored twice");
}

/// Where Debian's `nats-server` package puts the server.
const NATS_SERVER: &str = "/usr/sbin/nats-server";

/// A NATS server of one test's own, on a free port, that the test can stop and start again.
struct OwnNats {
    port: u16,
    process: Option<Child>,
}

impl OwnNats {
    fn start() -> OwnNats {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut nats = OwnNats {
            port,
            process: None,
        };
        nats.resume();
        nats
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().unwrap();
            process.wait().unwrap();
        }
    }

    fn resume(&mut self) {
        let process = std::process::Command::new(NATS_SERVER)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nats-server (scripts/services installs it)");
        self.process = Some(process);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nats-server did not start");
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// While NATS is down the nodes cannot hear each other, but writes still commit. When it is
/// back, nodes know they may have missed traffic and their clients heal from the store.
#[tokio::test(flavor = "multi_thread")]
async fn clients_heal_from_the_store_after_the_bus_lost_traffic() {
    let mut nats = OwnNats::start();
    let cluster = Cluster::start_on(&nats.url(), 2, &[]).await;
    let (writer, _) = cluster.user(0, "writer").await;
    let (reader, reader_user) = cluster.user(1, "reader").await;
    let chat_id = direct_chat(&writer, &reader_user).await;
    let mut reading = reader
        .connect_resuming(None, Default::default())
        .await
        .expect("connect");
    // Until `ready`, the node may still be reading where "now" is: a message sent before that
    // would be behind the connection's starting point.
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(15), reading.next())
            .await
            .expect("ready")
            .expect("open")
            .expect("valid");
        if frame.event == (Event::Ready {}) {
            break;
        }
    }
    writer
        .send_message(chat_id, &request("before", "до"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.is_empty() {
        let frame = tokio::time::timeout(Duration::from_secs(15), reading.next())
            .await
            .expect("a frame")
            .expect("open")
            .expect("valid");
        if let Event::MessageNew { message } = frame.event {
            seen.push(message.seq);
        }
    }

    nats.stop();
    for n in 0..10 {
        writer
            .send_message(chat_id, &request(&format!("during-{n}"), "пока шины нет"))
            .await
            .expect("writes commit without the bus");
    }
    nats.resume();
    writer
        .send_message(chat_id, &request("after", "после"))
        .await
        .unwrap();

    while seen.len() < 12 {
        let frame = tokio::time::timeout(Duration::from_secs(15), reading.next())
            .await
            .expect("the reader catches up within 15 s")
            .expect("open")
            .expect("valid");
        if let Event::MessageNew { message } = frame.event {
            seen.push(message.seq);
        }
    }
    assert_eq!(
        seen,
        (1..=12).collect::<Vec<_>>(),
        "every message once, in order"
    );
}

/// A database or bus that cannot be used stops `kolokol serve` at once with a plain message,
/// and a password in the URL never reaches the output.
#[test]
fn unusable_database_or_bus_settings_stop_the_start_cleanly() {
    // The test server's host and port, with a made-up password and a database that is not there.
    let admin = postgres_url();
    let after_scheme = admin.split_once("://").expect("a URL").1;
    let host = after_scheme
        .rsplit_once('@')
        .map_or(after_scheme, |(_, host)| host)
        .split('/')
        .next()
        .expect("a host");
    let with_secret = format!("postgres://postgres:s3cret-password@{host}");
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            vec![
                "--database".to_owned(),
                format!("{with_secret}/kk_no_such_database"),
            ],
            "opening the PostgreSQL database",
        ),
        (
            vec!["--bus".to_owned(), "nats://127.0.0.1:1".to_owned()],
            "cannot connect to the NATS server",
        ),
        (
            vec![
                "--database".to_owned(),
                "mysql://root@127.0.0.1/x".to_owned(),
            ],
            "postgres://",
        ),
        (
            vec!["--bus".to_owned(), "redis://127.0.0.1:6379".to_owned()],
            "nats://",
        ),
    ];
    for (args, expected) in cases {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_kolokol"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(&args)
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("run kolokol");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} must not start");
        assert!(output.stdout.is_empty(), "{args:?} printed an address");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("s3cret"),
            "{args:?} leaked the password: {stderr}"
        );
    }
}

/// A bot long-polls one node while a person writes through another: the poll wakes across
/// nodes, its markers live in PostgreSQL (so the other node continues from them), and its answer
/// reaches the person.
#[tokio::test(flavor = "multi_thread")]
async fn a_bot_polling_one_node_hears_a_person_on_another() {
    let cluster = Cluster::start(2, &[]).await;
    let (anna, _) = cluster.user(0, "anna").await;
    let created = anna
        .create_bot(&kolokol_client::proto::CreateBotRequest {
            username: "echo_bot".into(),
            name: "Эхо".into(),
        })
        .await
        .unwrap();
    let chat = anna.start_bot("echo_bot", Some("hi")).await.unwrap();
    let poll = |node: usize, marker: Option<i64>, timeout: u32| {
        let token = created.token.clone();
        let marker = marker.map_or(String::new(), |marker| format!("&marker={marker}"));
        let url = format!(
            "{}/bot-api/updates?timeout={timeout}{marker}",
            cluster.base(node)
        );
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .header("Authorization", token)
                .send()
                .await
                .unwrap();
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    let first = poll(1, None, 0).await;
    assert_eq!(first["updates"][0]["update_type"], "bot_started");
    let marker = first["marker"].as_i64().unwrap();

    // Node 0 continues from node 1's marker, and wakes when node 1 takes the message.
    let waiting = tokio::spawn(poll(0, Some(marker), 20));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let writer = cluster.on(1, &anna);
    writer
        .send_message(chat.id, &request("q1", "Вы тут?"))
        .await
        .unwrap();
    let woken = waiting.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken across nodes"
    );
    let updates = woken["updates"].as_array().unwrap();
    assert_eq!(updates.len(), 1, "{woken}");
    assert_eq!(updates[0]["message"]["body"]["text"], "Вы тут?");

    let answer = reqwest::Client::new()
        .post(format!(
            "{}/bot-api/messages?chat_id={}",
            cluster.base(1),
            chat.id
        ))
        .header("Authorization", &created.token)
        .body(r#"{"text": "Да!"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let messages = anna.messages(chat.id, Default::default()).await.unwrap();
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["Вы тут?", "Да!"]);
}

/// Two nodes deliver one bot's webhook: whichever holds the lease posts each update, once, in
/// order, whichever node the person wrote through.
#[tokio::test(flavor = "multi_thread")]
async fn one_node_delivers_each_webhook_update_once() {
    let cluster = Cluster::start(2, &[("KOLOKOL_BOT_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    let (anna, _) = cluster.user(0, "anna").await;
    let created = anna
        .create_bot(&kolokol_client::proto::CreateBotRequest {
            username: "hook_bot".into(),
            name: "Крючок".into(),
        })
        .await
        .unwrap();
    let (receiver, url) = Receiver::start().await;
    let subscribed = reqwest::Client::new()
        .post(format!("{}/bot-api/subscriptions", cluster.base(1)))
        .header("Authorization", &created.token)
        .body(serde_json::json!({ "url": url }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), 200);
    let chat = anna.start_bot("hook_bot", None).await.unwrap();
    for n in 0..6 {
        cluster
            .on(n % 2, &anna)
            .send_message(
                chat.id,
                &request(&format!("w{n}"), &format!("сообщение {n}")),
            )
            .await
            .unwrap();
    }
    let deliveries = receiver.wait_for(7).await;
    // Long enough for a second deliverer, were there one, to repeat something.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let texts: Vec<String> = receiver
        .wait_for(7)
        .await
        .iter()
        .map(|(_, update)| delivered(update))
        .collect();
    let expected: Vec<String> = std::iter::once("bot_started".to_owned())
        .chain((0..6).map(|n| format!("сообщение {n}")))
        .collect();
    assert_eq!(texts, expected, "each once, in order");
    assert_eq!(deliveries.len(), 7);
}
