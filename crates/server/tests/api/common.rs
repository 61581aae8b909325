//! Starting servers and making users for the tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kolokol_client::proto::{
    ChatKind, CreateChatRequest, ErrorCode, Event, Message, RegisterRequest, SendMessageRequest,
    ServerFrame, User,
};
use kolokol_client::{Client, ClientError, EventStream};
use kolokol_server::config::{Database, Settings};
use tempfile::TempDir;

/// A server running in this test's runtime, with its own data folder (and database, on
/// PostgreSQL).
pub struct TestServer {
    pub base: String,
    pub dir: TempDir,
    /// Where its files are kept.
    pub media: kolokol_media::Location,
    _database: Option<FreshDatabase>,
}

/// Where the PostgreSQL tests run (`KOLOKOL_TEST_POSTGRES`).
pub fn postgres_url() -> String {
    std::env::var("KOLOKOL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into())
}

/// A PostgreSQL database of one test's own, dropped with it.
pub struct FreshDatabase {
    pub name: String,
    pub url: String,
}

impl FreshDatabase {
    pub async fn create(prefix: &str) -> FreshDatabase {
        use sqlx::Connection;
        let admin = postgres_url();
        let name = format!("{prefix}_{:016x}", rand::random::<u64>());
        let mut connection = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|error| panic!("PostgreSQL must be running at {admin}: {error}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .expect("create the test database");
        let (server, _) = admin.rsplit_once('/').expect("a URL with a database name");
        let url = format!("{server}/{name}");
        FreshDatabase { name, url }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let (admin, name) = (postgres_url(), self.name.clone());
        // Drop runs outside any runtime guarantee, so the cleanup gets one of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut connection) = sqlx::PgConnection::connect(&admin).await {
                        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                            .execute(&mut connection)
                            .await;
                    }
                })
        })
        .join();
    }
}

/// Which store a test server keeps its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A server with generous rate limits, so tests that register many users are not throttled.
pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

/// A server on SQLite, or on PostgreSQL when `KOLOKOL_TEST_API_BACKEND=postgres`: scripts/test
/// runs the school tests a second time that way, so each needs no copy per backend.
pub async fn start_with(configure: impl FnOnce(&mut Settings)) -> TestServer {
    let backend = match std::env::var("KOLOKOL_TEST_API_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("KOLOKOL_TEST_API_BACKEND={other}: use sqlite or postgres"),
    };
    start_on(backend, configure).await
}

/// A server on `backend`; on PostgreSQL, in a fresh database.
pub async fn start_on(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestServer {
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(FreshDatabase::create("kk_api").await),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        register_per_ip_per_hour: 100_000,
        login_per_ip_per_minute: 100_000,
        login_per_username_per_minute: 100_000,
        ..Settings::default()
    };
    if let Some(database) = &database {
        settings.database = Database::Postgres {
            url: database.url.clone(),
            // Tests run side by side; PostgreSQL allows 100 connections.
            pool: 4,
        };
    }
    configure(&mut settings);
    let media = settings.media_location();
    let running = kolokol_server::start(settings)
        .await
        .expect("server starts");
    TestServer {
        base: format!("http://{}", running.addr),
        dir,
        media,
        _database: database,
    }
}

/// A fresh bucket of the local S3 server (`KOLOKOL_TEST_S3`, which `scripts/s3` starts), or
/// `None` (and why) when there is none: a plain `cargo test` skips the S3 runs, CI never does.
pub async fn s3_bucket() -> Option<kolokol_media::Location> {
    let Ok(endpoint) = std::env::var("KOLOKOL_TEST_S3") else {
        eprintln!("skipped the S3 run: run ./scripts/s3 and export what it prints");
        return None;
    };
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let bucket = format!("kolokol-{}-{n}", std::process::id());
    // moto makes a bucket on an unsigned PUT.
    let made = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("the S3 server answers");
    assert!(
        made.status().is_success(),
        "making bucket {bucket}: {}",
        made.status()
    );
    Some(kolokol_media::Location::S3 {
        bucket,
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        access_key_id: "test".into(),
        secret_access_key: "test".into(),
    })
}

/// Where a test's files go: the server's folder, or a bucket of the local S3 server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaStore {
    Folder,
    S3,
}

impl MediaStore {
    /// The location to configure; `None` when this store cannot run here (no S3 server).
    pub async fn location(self) -> Option<Option<kolokol_media::Location>> {
        match self {
            MediaStore::Folder => Some(None),
            MediaStore::S3 => s3_bucket().await.map(Some),
        }
    }
}

pub const PASSWORD: &str = "correct horse battery";

impl TestServer {
    /// Every object its media store holds: what the tests check was kept or left behind.
    pub async fn stored_files(&self) -> Vec<String> {
        let store = kolokol_media::MediaStore::open(&self.media).expect("the media store opens");
        let mut keys = store.list("").await.expect("listing the media store");
        keys.sort();
        keys
    }

    /// Registers `username` and returns a signed-in client and the user.
    pub async fn user(&self, username: &str) -> (Client, User) {
        register(&self.base, username).await
    }

    /// An unauthenticated client.
    pub fn anonymous(&self) -> Client {
        Client::new(self.base.clone())
    }
}

/// Registers `username` at the server at `base` (a spawned one, or a [`TestServer`]'s).
pub async fn register(base: &str, username: &str) -> (Client, User) {
    let mut client = Client::new(base.to_owned());
    let auth = client
        .register(&RegisterRequest {
            username: username.into(),
            password: PASSWORD.into(),
            display_name: username.to_uppercase(),
            device_name: Some("test device".into()),
        })
        .await
        .expect("register");
    (client, auth.user)
}

pub async fn group(owner: &Client, title: &str, members: &[i64]) -> kolokol_client::proto::Chat {
    chat_of_kind(owner, ChatKind::Group, title, members).await
}

pub async fn chat_of_kind(
    owner: &Client,
    kind: ChatKind,
    title: &str,
    members: &[i64],
) -> kolokol_client::proto::Chat {
    let (chat, created) = owner
        .create_chat(&CreateChatRequest {
            kind,
            title: Some(title.into()),
            member_ids: Some(members.to_vec()),
            privacy: kolokol_proto::ChatPrivacy::Community,
        })
        .await
        .expect("create chat");
    assert!(created);
    chat
}

/// The next frame, failing the test if none comes within five seconds.
pub async fn next_frame(stream: &mut EventStream) -> ServerFrame {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a frame within 5 s")
        .expect("stream open")
        .expect("a valid frame")
}

/// Reads frames until one satisfies `pick`, skipping others (typing, ready…).
pub async fn wait_for<T>(stream: &mut EventStream, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    loop {
        let frame = next_frame(stream).await;
        if let Some(found) = pick(&frame.event) {
            return found;
        }
    }
}

/// Connects and waits for `ready`, returning the stream and the cursor it started from.
pub async fn connect(client: &Client, since: Option<String>) -> (EventStream, ServerFrame) {
    let mut stream = client.connect_events(since).await.expect("connect");
    loop {
        let frame = next_frame(&mut stream).await;
        if frame.event == (Event::Ready {}) {
            return (stream, frame);
        }
    }
}

/// Asserts that a call was refused with exactly this code and HTTP status.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, ClientError>,
    code: ErrorCode,
    status: u16,
) {
    let err = result.expect_err("the call should have been refused");
    assert_eq!(
        (err.code(), err.status()),
        (Some(code), Some(status)),
        "{err}"
    );
}

/// Sends a text message with this `client_msg_id`.
pub async fn send(
    client: &Client,
    chat_id: i64,
    id: &str,
    text: &str,
) -> Result<Message, ClientError> {
    let request = SendMessageRequest {
        client_msg_id: id.into(),
        text: text.into(),
        reply_to: None,
        request_ack: false,
        urgent: false,
        thread_of: None,
        poll: None,
        attachments: Vec::new(),
        mls: None,
    };
    client
        .send_message(chat_id, &request)
        .await
        .map(|(message, _)| message)
}

/// Starts the real `kolokol serve` binary on a free port with `args` (and generous rate limits
/// unless `env` says otherwise); returns it with its base URL, read from its first line.
pub fn spawn_kolokol(args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    spawn_kolokol_into(args, env, Stdio::null())
}

/// Like [`spawn_kolokol`], keeping everything it logs in the file at `log` (its first line
/// included).
pub fn spawn_kolokol_logging(
    args: &[&str],
    env: &[(&str, &str)],
    log: &std::path::Path,
) -> (Child, String) {
    let file = std::fs::File::create(log).expect("the log file");
    let (child, base) = spawn_kolokol_into(args, env, file.try_clone().unwrap().into());
    std::io::Write::write_all(
        &mut &file,
        format!("kolokol listening on {base}\n").as_bytes(),
    )
    .unwrap();
    (child, base)
}

fn spawn_kolokol_into(args: &[&str], env: &[(&str, &str)], log: Stdio) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kolokol"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("KOLOKOL_REGISTER_PER_IP_PER_HOUR", "100000")
        .env("KOLOKOL_LOGIN_PER_IP_PER_MINUTE", "100000")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("start kolokol");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("address line");
    let base = line
        .trim()
        .strip_prefix("kolokol listening on ")
        .unwrap_or_else(|| panic!("kolokol did not start: {line:?}"))
        .to_owned();
    (child, base)
}
