//! Throughput benchmark: acknowledged durable sends per second, and fan-out of group messages
//! to online members, each beside a baseline measured in the same run on the same server.
//!
//! Run: `cargo bench -p kolokol-server --bench throughput` (optionally `-- --seconds 10`).
//! The server runs in this process on a fresh SQLite file; clients talk to it over real HTTP and
//! WebSocket on loopback, so client and server share the machine's cores.

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

const SENDERS: usize = 128;
const CHATS: usize = 32;
const FANOUT_MEMBERS: usize = 500;
const FANOUT_MESSAGES: usize = 200;

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        register_per_ip_per_hour: 1_000_000,
        ws_queue: 4096,
        ..Settings::default()
    };
    let running = kolokol_server::start(settings).await.unwrap();
    let base = format!("http://{}", running.addr);
    println!(
        "machine: {} cores; server and clients in one process",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let users = register_many(&base, SENDERS.max(FANOUT_MEMBERS)).await;
    let duration = Duration::from_secs(seconds);

    // Baseline: the cheapest authenticated-free round trip the server has, same concurrency.
    let floor = closed_loop(&users[..SENDERS], duration, |client, _| async move {
        client.health().await.is_ok()
    })
    .await;
    report("baseline GET /health", &floor, None);

    // Durable sends: every request is acknowledged only after its group commit reached disk.
    let mut chats = Vec::new();
    for c in 0..CHATS {
        let owner = &users[c];
        let members: Vec<i64> = (0..SENDERS)
            .filter(|s| s % CHATS == c && *s != c)
            .map(|s| users[s].1)
            .collect();
        chats.push(create_group(&owner.0, &format!("bench {c}"), members).await);
    }
    let chats = Arc::new(chats);
    let sends = closed_loop(&users[..SENDERS], duration, move |client, n| {
        let chats = chats.clone();
        async move {
            let (index, count) = n;
            let request = SendMessageRequest {
                client_msg_id: format!("b{index}-{count}"),
                text: "Завтра собрание в 18:00, кабинет 12".into(),
                reply_to: None,
            };
            client
                .send_message(chats[index % CHATS], &request)
                .await
                .is_ok()
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

async fn register_many(base: &str, count: usize) -> Vec<(Client, i64)> {
    let mut tasks = Vec::new();
    for i in 0..count {
        let base = base.to_owned();
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
    };
    owner.create_chat(&request).await.unwrap().0.id
}

/// Each user runs `call` back to back for `duration`; returns the counts and latencies.
async fn closed_loop<F, Fut>(users: &[(Client, i64)], duration: Duration, call: F) -> Measured
where
    F: Fn(Client, (usize, u64)) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let latency = Arc::new(Mutex::new(Histogram::<u64>::new(3).unwrap()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (index, (client, _)) in users.iter().enumerate() {
        let (client, call, stop, ok, errors, latency) = (
            client.clone(),
            call.clone(),
            stop.clone(),
            ok.clone(),
            errors.clone(),
            latency.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new(3).unwrap();
            let mut count = 0;
            while !stop.load(Ordering::Relaxed) {
                let began = Instant::now();
                if call(client.clone(), (index, count)).await {
                    ok.fetch_add(1, Ordering::Relaxed);
                    local.record(began.elapsed().as_micros() as u64).unwrap();
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
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
