//! The shared conformance suite, run against a real PostgreSQL server, plus what only a shared
//! database can show: several nodes migrating and writing at once.
//!
//! The server comes from `KOLOKOL_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Each check gets a fresh schema of its own
//! (`search_path` set through the URL); everything these tests create is dropped at the end, and
//! leftovers of earlier runs that died are dropped at the start. An unreachable server fails the
//! tests: they never pass by skipping.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use kolokol_domain::Route;
use kolokol_proto::{ChatKind, Event, UserId};
use kolokol_store::conformance::{StoreFactory, run_all};
use kolokol_store::{Actor, CatchUp, NewChat, NewMessage, NewSession, NewUser, Store};
use kolokol_store_postgres::PostgresStore;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Everything the tests create is named with this prefix, then the creation time in seconds.
const PREFIX: &str = "kolokol_pgtest_";
/// Leftovers older than this are from runs that died; younger ones may belong to a run going on.
const LEFTOVER_AGE_SECS: u64 = 3600;

fn server_url() -> String {
    std::env::var("KOLOKOL_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A name no other test (in this run or a parallel one) uses.
fn unique_name(what: &str) -> String {
    static SERIAL: AtomicU32 = AtomicU32::new(0);
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    format!(
        "{PREFIX}{}_{}_{what}{serial}",
        unix_secs(),
        std::process::id()
    )
}

/// `url` with the database replaced, or with a `search_path` option added.
fn url_for(url: &str, database: Option<&str>, schema: Option<&str>) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let base = match database {
        Some(database) => {
            let (server, _) = base
                .rsplit_once('/')
                .filter(|(server, _)| server.contains("//"))
                .unwrap_or((base, ""));
            format!("{server}/{database}")
        }
        None => base.to_owned(),
    };
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(schema) = schema {
        params.push(format!("options=-c%20search_path%3D{schema}"));
    }
    if params.is_empty() {
        base
    } else {
        format!("{base}?{}", params.join("&"))
    }
}

/// A small pool on the server for creating and dropping what the tests use. Fails the test with
/// a clear message when PostgreSQL cannot be reached.
async fn admin() -> PgPool {
    let url = server_url();
    let connected = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&url)
        .await;
    let pool = match connected {
        Ok(pool) => pool,
        Err(error) => panic!(
            "PostgreSQL is not reachable at {} ({error}). These tests need a real server: \
             start one or point KOLOKOL_TEST_POSTGRES at it.",
            without_password(&url)
        ),
    };
    drop_leftovers(&pool).await;
    pool
}

/// The URL for a message: a password in it is replaced by `***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

fn is_leftover(name: &str) -> bool {
    let created = name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split('_').next())
        .and_then(|secs| secs.parse::<u64>().ok());
    created.is_some_and(|secs| secs + LEFTOVER_AGE_SECS < unix_secs())
}

async fn drop_leftovers(admin: &PgPool) {
    let pattern = format!("{PREFIX}%");
    let schemas: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE $1")
            .bind(&pattern)
            .fetch_all(admin)
            .await
            .expect("listing schemas");
    for schema in schemas.iter().filter(|name| is_leftover(name)) {
        drop_schema(admin, schema).await;
    }
    let databases: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1")
            .bind(&pattern)
            .fetch_all(admin)
            .await
            .expect("listing databases");
    for database in databases.iter().filter(|name| is_leftover(name)) {
        drop_database(admin, database).await;
    }
}

async fn drop_schema(admin: &PgPool, schema: &str) {
    sqlx::query(AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
    )))
    .execute(admin)
    .await
    .unwrap_or_else(|error| panic!("dropping schema {schema}: {error}"));
}

async fn drop_database(admin: &PgPool, database: &str) {
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
    )))
    .execute(admin)
    .await
    .unwrap_or_else(|error| panic!("dropping database {database}: {error}"));
}

/// Fresh, empty schemas on the test server, dropped by [`Schemas::drop_all`].
struct Schemas {
    admin: PgPool,
    created: Mutex<Vec<String>>,
}

impl Schemas {
    async fn new() -> Schemas {
        Schemas {
            admin: admin().await,
            created: Mutex::new(Vec::new()),
        }
    }

    /// A new empty schema, and the URL of the server with it as the search path.
    async fn fresh_url(&self) -> String {
        let schema = unique_name("s");
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
            .execute(&self.admin)
            .await
            .expect("creating a schema");
        self.created.lock().unwrap().push(schema.clone());
        url_for(&server_url(), None, Some(&schema))
    }

    async fn drop_all(&self) {
        let created = std::mem::take(&mut *self.created.lock().unwrap());
        for schema in created {
            drop_schema(&self.admin, &schema).await;
        }
    }
}

#[async_trait]
impl StoreFactory for Schemas {
    async fn fresh(&self) -> Arc<dyn Store> {
        let url = self.fresh_url().await;
        let store = PostgresStore::connect(&url)
            .await
            .unwrap_or_else(|error| panic!("connecting a store: {error}"));
        Arc::new(store)
    }
}

/// Runs `test` with the schemas, drops them whether it passed or not, then reports its result.
async fn with_schemas<F, Fut>(test: F)
where
    F: FnOnce(Arc<Schemas>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let schemas = Arc::new(Schemas::new().await);
    let outcome = tokio::spawn(test(Arc::clone(&schemas))).await;
    schemas.drop_all().await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_passes_the_conformance_suite() {
    with_schemas(|schemas| async move { run_all(&*schemas).await }).await;
}

/// Several nodes starting at once against one empty database all end up with the schema: the
/// migrator's advisory lock lets one migrate while the others wait, then find it done.
#[tokio::test(flavor = "multi_thread")]
async fn nodes_starting_at_once_migrate_one_empty_database() {
    const NODES: usize = 6;
    let admin = admin().await;
    let database = unique_name("race");
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{database}\"")))
        .execute(&admin)
        .await
        .expect("creating a database");
    let url = url_for(&server_url(), Some(&database), None);

    let outcome = tokio::spawn(async move {
        let starts = (0..NODES).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect_with(&url, 4).await })
        });
        let mut stores = Vec::new();
        for start in starts.collect::<Vec<_>>() {
            let started = start.await.expect("a node task");
            stores.push(started.unwrap_or_else(|error| panic!("a node failed to start: {error}")));
        }
        // Every node works on the one schema: a user registered through one is seen by all.
        let (user, _) = stores[0]
            .register(new_user("racer"), new_session(1), 1)
            .await
            .expect("registering");
        for store in &stores {
            let profile = store.profile(user.id).await.expect("reading");
            assert_eq!(profile.map(|profile| profile.user), Some(user.clone()));
        }
        // And a node starting later finds the schema migrated.
        let late = PostgresStore::connect_with(&url, 2)
            .await
            .expect("a later node");
        assert!(late.user(user.id).await.expect("reading").is_some());
    })
    .await;
    drop_database(&admin, &database).await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: name.to_owned(),
        display_name: name.to_owned(),
        password_hash: "$argon2id$test".to_owned(),
    }
}

fn new_session(n: u8) -> NewSession {
    NewSession {
        token_hash: [n; 32],
        device_name: format!("device {n}"),
    }
}

/// Two nodes (two stores, two pools) send into one chat at once, each message also retried
/// through the other node, while a reader on a third node keeps catching up from its cursor: every
/// seq is taken once, no duplicate is stored, and the reader sees each chat position exactly once
/// and in order, never skipping one that committed late.
#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_write_one_chat_while_a_reader_resumes() {
    const SENDERS: usize = 4;
    const SENDS_EACH: usize = 30;
    with_schemas(|schemas| async move {
        let url = schemas.fresh_url().await;
        let nodes: Vec<Arc<dyn Store>> = vec![
            Arc::new(PostgresStore::connect_with(&url, 8).await.expect("node a")),
            Arc::new(PostgresStore::connect_with(&url, 8).await.expect("node b")),
            Arc::new(PostgresStore::connect_with(&url, 4).await.expect("node c")),
        ];
        let mut people: Vec<Actor> = Vec::new();
        for n in 0..=SENDERS {
            let (user, session_id) = nodes[0]
                .register(new_user(&format!("user{n}")), new_session(n as u8 + 1), 1)
                .await
                .expect("registering");
            people.push(Actor {
                user_id: user.id,
                session_id,
            });
        }
        let reader = people[0];
        let chat = NewChat {
            kind: ChatKind::Group,
            title: Some("race".to_owned()),
            member_ids: people.iter().map(|p| p.user_id).collect(),
            privacy: kolokol_proto::ChatPrivacy::Community,
        };
        let chat_id = nodes[0]
            .create_chat(reader, chat, 2)
            .await
            .expect("creating the chat")
            .value
            .0;
        let start = nodes[2]
            .current_cursor(reader.user_id)
            .await
            .expect("cursor");

        let writers = people[1..].iter().enumerate().map(|(index, &sender)| {
            let nodes = nodes.clone();
            tokio::spawn(async move {
                for n in 0..SENDS_EACH {
                    let message = NewMessage {
                        client_msg_id: format!("w{index}-{n}"),
                        text: "hello".to_owned(),
                        reply_to: None,
                        poll: None,
                        thread_of: None,
                        keyboard: Vec::new(),
                        markup: Vec::new(),
                        attachments: Vec::new(),
                        mls: None,
                    };
                    // The same message through both nodes at once, as a client retrying does.
                    let (a, b) = tokio::join!(
                        nodes[n % 2].send_message(sender, chat_id, message.clone(), 3),
                        nodes[(n + 1) % 2].send_message(sender, chat_id, message, 3),
                    );
                    let (a, b) = (a.expect("a send").value, b.expect("a send").value);
                    assert_eq!(a.0.seq, b.0.seq, "both sends name one message");
                    assert!(a.1 ^ b.1, "exactly one of the two stored it");
                }
            })
        });
        let writers: Vec<_> = writers.collect();

        // The reader resumes again and again while the writers run.
        let reader_node = Arc::clone(&nodes[2]);
        let reading = tokio::spawn(async move {
            let mut cursor = start;
            let mut seen: Vec<i64> = Vec::new();
            let expected = SENDERS * SENDS_EACH;
            let mut quiet_rounds = 0;
            while seen.len() < expected && quiet_rounds < 2000 {
                let events = match reader_node
                    .catch_up(reader.user_id, &cursor, 7)
                    .await
                    .expect("catching up")
                {
                    CatchUp::Events(events) => events,
                    CatchUp::Resync { .. } => panic!("nothing was pruned"),
                };
                if events.is_empty() {
                    quiet_rounds += 1;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                for published in events {
                    let Route::Chat {
                        chat_id: to, pos, ..
                    } = published.route
                    else {
                        panic!("only chat events expected: {published:?}");
                    };
                    assert_eq!(to, chat_id);
                    let previous = cursor.chats.get(&chat_id).copied().unwrap_or(0);
                    assert_eq!(pos, previous + 1, "positions arrive in order, none skipped");
                    cursor.chats.insert(chat_id, pos);
                    if let Event::MessageNew { message } = published.event {
                        seen.push(message.seq);
                    }
                }
            }
            seen
        });
        for writer in writers {
            writer.await.expect("a writer");
        }
        let seen = reading.await.expect("the reader");
        let expected: Vec<i64> = (1..=(SENDERS * SENDS_EACH) as i64).collect();
        assert_eq!(seen, expected, "every seq once, in order, gap-free");
        let listed = nodes[1]
            .chat(reader, chat_id)
            .await
            .expect("reading the chat");
        assert_eq!(listed.last_seq, (SENDERS * SENDS_EACH) as i64);
        let members: Vec<UserId> = nodes[0]
            .chat_members(chat_id)
            .await
            .expect("members")
            .user_ids;
        assert_eq!(members.len(), SENDERS + 1);
    })
    .await;
}
