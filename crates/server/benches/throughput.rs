//! Throughput benchmark: acknowledged durable sends per second, and fan-out of group messages
//! to online members, each beside a baseline measured in the same run on the same server.
//!
//! Run: `cargo bench -p kolokol-server --bench throughput` (optionally `-- --seconds 10`).
//! The server runs in this process on a fresh SQLite file; clients talk to it over real HTTP and
//! WebSocket on loopback, so client and server share the machine's cores.
//!
//! `-- --compare-cluster` measures, in one run, one `kolokol serve` process on SQLite and then
//! two on PostgreSQL + NATS with the users spread over both, as behind a load balancer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use kolokol_client::Client;
use kolokol_client::proto::{
    ChatKind, CreateChatRequest, Event, RegisterRequest, SendMessageRequest,
};
use kolokol_server::config::Settings;
use parking_lot::Mutex;

const FANOUT_MEMBERS: usize = 500;
const FANOUT_MESSAGES: usize = 200;

/// The value of `--name N` on the command line, or `default`.
fn arg(name: &str, default: u64) -> u64 {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let seconds = arg("--seconds", 5);
    let senders = arg("--senders", 256) as usize;
    let chats = arg("--chats", 32) as usize;
    let duration = Duration::from_secs(seconds);
    println!(
        "machine: {} cores; servers and clients share them",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if std::env::args().any(|a| a == "--compare-cluster") {
        return compare_cluster(senders, chats, duration).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        register_per_ip_per_hour: 1_000_000,
        ws_queue: 4096,
        ..Settings::default()
    };
    // `--url http://…` measures a server running elsewhere (e.g. pinned to its own core).
    let base = match std::env::args().skip_while(|a| a != "--url").nth(1) {
        Some(url) => url,
        None => format!(
            "http://{}",
            kolokol_server::start(settings).await.unwrap().addr
        ),
    };
    println!("== one node on SQLite, in this process");
    measure(&[base], senders, chats, duration).await;
    store_sends(senders, chats, duration).await;
}

/// The floor, durable sends and fan-out against `nodes`; users are spread over the nodes
/// round-robin, as a load balancer would.
async fn measure(nodes: &[String], senders: usize, chat_count: usize, duration: Duration) {
    let users = register_many(nodes, senders.max(FANOUT_MEMBERS)).await;

    // Baseline: the cheapest round trip the server has, same connections and concurrency.
    let floor = closed_loop(&users[..senders], duration, |_, _| Call {
        method: "GET",
        path: "/health".into(),
        body: None,
        expect: 200,
    })
    .await;
    report("baseline GET /health", &floor, None);

    // Durable sends: every request is acknowledged only after its commit reached disk.
    let mut chats = Vec::new();
    for c in 0..chat_count {
        let owner = &users[c];
        let members: Vec<i64> = (0..senders)
            .filter(|s| s % chat_count == c && *s != c)
            .map(|s| users[s].1)
            .collect();
        chats.push(create_group(&owner.0, &format!("bench {c}"), members).await);
    }
    let sends = closed_loop(&users[..senders], duration, move |index, count| {
        let request = SendMessageRequest {
            client_msg_id: format!("b{index}-{count}"),
            text: "Завтра собрание в 18:00, кабинет 12".into(),
            reply_to: None,
            request_ack: false,
            urgent: false,
            thread_of: None,
            poll: None,
            attachments: Vec::new(),
            mls: None,
        };
        Call {
            method: "POST",
            path: format!("/api/v1/chats/{}/messages", chats[index % chat_count]),
            body: Some(serde_json::to_vec(&request).unwrap()),
            expect: 201,
        }
    })
    .await;
    report(
        "acknowledged durable sends (POST /messages)",
        &sends,
        Some(&floor),
    );
    fanout(&users[..FANOUT_MEMBERS]).await;
}

/// The same measurements, in one run, against one `kolokol serve` process on SQLite and then
/// two processes on PostgreSQL + NATS (`KOLOKOL_TEST_POSTGRES`, `KOLOKOL_TEST_NATS`).
async fn compare_cluster(senders: usize, chats: usize, duration: Duration) {
    let limits = [
        ("KOLOKOL_REGISTER_PER_IP_PER_HOUR", "1000000"),
        ("KOLOKOL_WS_QUEUE", "4096"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let single = spawn_node(&["--data-dir", &data_dir], &limits);
    println!("== one node on SQLite (kolokol serve)");
    measure(std::slice::from_ref(&single.1), senders, chats, duration).await;
    drop(single);

    let admin = std::env::var("KOLOKOL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    let nats =
        std::env::var("KOLOKOL_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let database = format!("kk_bench_{:08x}", rand::random::<u32>());
    let mut admin_connection = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("PostgreSQL for the cluster run");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&mut admin_connection)
        .await
        .unwrap();
    let url = format!("{}/{database}", admin.rsplit_once('/').unwrap().0);
    let subject = format!("kolokol-bench-{database}");
    let cluster_args = [
        "--database",
        &url,
        "--bus",
        &nats,
        "--bus-subject",
        &subject,
    ];
    let nodes: Vec<Node> = (0..2)
        .map(|index| {
            let data_dir = format!("{data_dir}/{index}");
            let mut args = vec!["--data-dir", &data_dir];
            args.extend(cluster_args);
            spawn_node(&args, &limits)
        })
        .collect();
    println!("== two nodes on PostgreSQL + NATS (kolokol serve ×2)");
    let bases: Vec<String> = nodes.iter().map(|node| node.1.clone()).collect();
    measure(&bases, senders, chats, duration).await;
    drop(nodes);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {database} WITH (FORCE)"
    )))
    .execute(&mut admin_connection)
    .await
    .unwrap();
}

/// A `kolokol serve` process, killed when dropped.
struct Node(std::process::Child, String);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_node(args: &[&str], env: &[(&str, &str)]) -> Node {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kolokol"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start kolokol");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("kolokol listening on ")
        .expect("address line")
        .to_owned();
    Node(child, base)
}

/// The storage engine alone: the same sends through `Store::send_message`, without HTTP, on a
/// fresh database. Shows how much of the end-to-end cost is storage.
async fn store_sends(senders: usize, chat_count: usize, duration: Duration) {
    use kolokol_store::{Actor, NewChat, NewMessage, NewSession, NewUser, Store};
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(kolokol_store_sqlite::SqliteStore::open(&dir.path().join("store.db")).unwrap());
    let mut actors = Vec::new();
    for i in 0..senders {
        let user = NewUser {
            username: format!("s{i}"),
            display_name: "S".into(),
            password_hash: "x".into(),
        };
        let session = NewSession {
            token_hash: [i as u8; 32],
            device_name: "bench".into(),
        };
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let session = NewSession {
            token_hash: hash,
            ..session
        };
        let (user, session_id) = store.register(user, session, 0).await.unwrap();
        actors.push(Actor {
            user_id: user.id,
            session_id,
        });
    }
    let mut chats = Vec::new();
    for c in 0..chat_count {
        let members = (0..senders)
            .filter(|s| s % chat_count == c && *s != c)
            .map(|s| actors[s].user_id)
            .collect();
        let chat = NewChat {
            kind: ChatKind::Group,
            title: Some("bench".into()),
            member_ids: members,
            privacy: kolokol_proto::ChatPrivacy::Community,
        };
        chats.push(store.create_chat(actors[c], chat, 0).await.unwrap().value.0);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (index, actor) in actors.into_iter().enumerate() {
        let (store, stop, ok, chat) = (
            store.clone(),
            stop.clone(),
            ok.clone(),
            chats[index % chat_count],
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let message = NewMessage {
                    client_msg_id: format!("{index}-{n}"),
                    text: "Завтра собрание в 18:00, кабинет 12".into(),
                    reply_to: None,
                    poll: None,
                    thread_of: None,
                    keyboard: Vec::new(),
                    markup: Vec::new(),
                    attachments: Vec::new(),
                    mls: None,
                };
                if store.send_message(actor, chat, message, 1).await.is_ok() {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let rate = ok.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!("acknowledged durable sends, storage engine only (Store::send_message): {rate:.0}/s");
}

struct Measured {
    ok: u64,
    errors: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
}

fn report(name: &str, m: &Measured, baseline: Option<&Measured>) {
    let rate = m.ok as f64 / m.elapsed.as_secs_f64();
    let ratio = baseline
        .map(|b| {
            format!(
                ", {:.2}x of baseline",
                rate / (b.ok as f64 / b.elapsed.as_secs_f64())
            )
        })
        .unwrap_or_default();
    println!(
        "{name}: {rate:.0}/s ({} ok, {} errors in {:.1}s), latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms{ratio}",
        m.ok,
        m.errors,
        m.elapsed.as_secs_f64(),
        m.latency.value_at_quantile(0.5) as f64 / 1000.0,
        m.latency.value_at_quantile(0.99) as f64 / 1000.0,
        m.latency.max() as f64 / 1000.0,
    );
}

async fn register_many(nodes: &[String], count: usize) -> Vec<(Client, i64)> {
    let mut tasks = Vec::new();
    for i in 0..count {
        let base = nodes[i % nodes.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut client = Client::new(base);
            let auth = client
                .register(&RegisterRequest {
                    username: format!("bench{i}"),
                    password: "benchmark password".into(),
                    display_name: format!("Bench {i}"),
                    device_name: None,
                })
                .await
                .unwrap();
            (client, auth.user.id)
        }));
    }
    let mut users = Vec::new();
    for task in tasks {
        users.push(task.await.unwrap());
    }
    users
}

async fn create_group(owner: &Client, title: &str, member_ids: Vec<i64>) -> i64 {
    let request = CreateChatRequest {
        kind: ChatKind::Group,
        title: Some(title.into()),
        member_ids: Some(member_ids),
        privacy: kolokol_proto::ChatPrivacy::Community,
    };
    owner.create_chat(&request).await.unwrap().0.id
}

/// One request of a closed loop.
struct Call {
    method: &'static str,
    path: String,
    body: Option<Vec<u8>>,
    expect: u16,
}

/// Each user, on its own keep-alive connection, sends the requests `next` makes back to back for
/// `duration`; returns the counts and latencies.
async fn closed_loop<F>(users: &[(Client, i64)], duration: Duration, next: F) -> Measured
where
    F: Fn(usize, u64) -> Call + Send + Sync + 'static,
{
    let next = Arc::new(next);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new(3).unwrap()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (index, (client, _)) in users.iter().enumerate() {
        let mut http = LeanHttp::connect(client.base(), client.token().unwrap()).await;
        let (next, stop, ok, errors, latency) = (
            next.clone(),
            stop.clone(),
            ok.clone(),
            errors.clone(),
            latency.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new(3).unwrap();
            let mut count = 0;
            while !stop.load(Ordering::Relaxed) {
                let call = next(index, count);
                let began = Instant::now();
                match http
                    .request(call.method, &call.path, call.body.as_deref())
                    .await
                {
                    Ok(status) if status == call.expect => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        local.record(began.elapsed().as_micros() as u64).unwrap();
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                count += 1;
            }
            latency.lock().add(&local).unwrap();
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let latency = Arc::try_unwrap(latency).ok().unwrap().into_inner();
    Measured {
        ok: ok.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        latency,
    }
}

/// A minimal HTTP/1.1 keep-alive client, so the load generator costs little next to the server
/// it measures (reqwest spends about as much per request as the server does).
struct LeanHttp {
    stream: tokio::net::TcpStream,
    head: String,
    buffer: Vec<u8>,
}

impl LeanHttp {
    async fn connect(base: &str, token: &str) -> LeanHttp {
        let addr = base.strip_prefix("http://").expect("an http:// base URL");
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let head = format!(
            "Host: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        );
        LeanHttp {
            stream,
            head,
            buffer: Vec::with_capacity(4096),
        }
    }

    /// Sends one request and reads the whole response; returns its status.
    async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> std::io::Result<u16> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let body = body.unwrap_or_default();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\n{}Content-Length: {}\r\n\r\n",
            self.head,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        self.stream.write_all(&request).await?;
        self.buffer.clear();
        loop {
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buffer[..end])
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while self.buffer.len() < end + 4 + length {
                    if self.stream.read_buf(&mut self.buffer).await? == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                }
                return Ok(status);
            }
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

/// One group with every user online over WebSocket; messages are sent one at a time and each
/// is timed until the last member has it.
async fn fanout(users: &[(Client, i64)]) {
    let owner = &users[0].0;
    let members: Vec<i64> = users[1..].iter().map(|u| u.1).collect();
    let chat = create_group(owner, "fan-out", members).await;
    let received = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for (client, _) in users {
        let mut stream = client.connect_events(None).await.unwrap();
        while !matches!(stream.next().await, Some(Ok(frame)) if frame.event == (Event::Ready {})) {}
        let received = received.clone();
        readers.push(tokio::spawn(async move {
            let mut got = 0;
            while got < FANOUT_MESSAGES {
                match stream.next().await {
                    Some(Ok(frame)) if matches!(frame.event, Event::MessageNew { .. }) => {
                        got += 1;
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                }
            }
        }));
    }
    let mut to_last = Histogram::<u64>::new(3).unwrap();
    let started = Instant::now();
    for n in 0..FANOUT_MESSAGES {
        let target = ((n + 1) * users.len()) as u64;
        let began = Instant::now();
        let request = SendMessageRequest {
            client_msg_id: format!("f{n}"),
            text: "Родительское собрание".into(),
            reply_to: None,
            request_ack: false,
            urgent: false,
            thread_of: None,
            poll: None,
            attachments: Vec::new(),
            mls: None,
        };
        owner.send_message(chat, &request).await.unwrap();
        while received.load(Ordering::Relaxed) < target {
            tokio::task::yield_now().await;
        }
        to_last.record(began.elapsed().as_micros() as u64).unwrap();
    }
    let elapsed = started.elapsed();
    for reader in readers {
        reader.await.unwrap();
    }
    let deliveries = (FANOUT_MESSAGES * users.len()) as f64;
    println!(
        "fan-out: {} members online, {} messages sent one after another: {:.0} deliveries/s; send to last member p50 {:.2} ms, p99 {:.2} ms",
        users.len(),
        FANOUT_MESSAGES,
        deliveries / elapsed.as_secs_f64(),
        to_last.value_at_quantile(0.5) as f64 / 1000.0,
        to_last.value_at_quantile(0.99) as f64 / 1000.0,
    );
}
