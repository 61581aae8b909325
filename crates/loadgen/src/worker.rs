//! A worker process: holds its share of the devices' WebSocket connections (or, against
//! Synapse, their `/sync` long polls), sends its share of the messages on schedule (open loop: a
//! send never waits for the one before), and measures every delivery against the send's
//! intended time.
//!
//! Receiving is the hot path of the generator, so frames are not decoded: the few fields needed
//! are found by scanning the text (see [`Frame`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use kolokol_client::{Client, EventStream};
use parking_lot::Mutex;
use rand::Rng;
use rand::seq::IndexedRandom;
use tokio::sync::{Semaphore, watch};

use crate::machine::now_ns;
use crate::matrix::Matrix;
use crate::plan::{Device, Job, Report, StepReport, Target};

/// Connections opened at once while connecting, so the server's accept queue never overflows.
const CONNECTING_AT_ONCE: usize = 256;
/// The marker at the start of every generated message text: `lg <intended ns> <step>`.
pub const MARKER: &str = "lg ";

/// Counters shared by this worker's tasks (one thread: the lock is never contended).
struct Stats {
    steps: Vec<StepReport>,
    duplicates: u64,
    gaps: u64,
    dropped: u64,
    first_error: Option<String>,
}

impl Stats {
    /// Counts a generated message's arrival, by the step it was sent in, with its latency from
    /// the time it was due.
    fn delivered(&mut self, marker: Marker, received_ns: u64) {
        if let Some(step) = self.steps.get_mut(marker.step) {
            step.delivered += 1;
            let latency_us = received_ns.saturating_sub(marker.due_ns) / 1_000;
            step.latency_us.saturating_record(latency_us.max(1));
        }
    }
}

/// How devices talk to the server under load.
#[derive(Clone)]
enum Peer {
    /// Kolokol's REST API and event socket; the floor speaks the same subset.
    Kolokol(Client),
    /// Synapse's client-server API.
    Matrix(Arc<Matrix>),
}

pub struct Worker {
    job: Job,
    peer: Peer,
    stats: Arc<Mutex<Stats>>,
}

/// A connected device, ready to be handed to its receiving task.
struct Connected {
    device: usize,
    link: Link,
}

/// A device's open line for receiving.
enum Link {
    /// An event socket past its `ready`, and the cursor that `ready` carried.
    Events(Box<EventStream>, Option<String>),
    /// A Matrix device's position to `/sync` from.
    Sync(String),
}

impl Worker {
    pub fn new(job: Job) -> Worker {
        let peer = match &job.target {
            Target::Kolokol { base } | Target::Floor { base } => {
                Peer::Kolokol(Client::new(base.clone()).with_local_address(job.local_address))
            }
            Target::Synapse { base, rooms } => Peer::Matrix(Arc::new(Matrix::new(
                base,
                rooms.clone(),
                Some(job.local_address),
            ))),
        };
        let stats = Stats {
            steps: job.steps.iter().map(|_| StepReport::new()).collect(),
            duplicates: 0,
            gaps: 0,
            dropped: 0,
            first_error: None,
        };
        Worker {
            job,
            peer,
            stats: Arc::new(Mutex::new(stats)),
        }
    }

    /// Opens every device's connection and waits for its `ready`; returns the connections and
    /// how many failed.
    async fn connect_all(&self) -> (Vec<Connected>, u64) {
        let permits = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
        let mut tasks = Vec::new();
        for (index, device) in self.job.devices.iter().enumerate() {
            let (peer, token) = (self.peer.clone(), device.token.clone());
            let permits = permits.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = permits.acquire().await.expect("never closed");
                let link = match peer {
                    Peer::Kolokol(client) => {
                        let client = client.with_token(token);
                        let (stream, cursor) = open(&client, None, |_| {}).await?;
                        Link::Events(Box::new(stream), cursor)
                    }
                    Peer::Matrix(matrix) => Link::Sync(matrix.first_sync(&token).await.ok()?),
                };
                Some(Connected {
                    device: index,
                    link,
                })
            }));
        }
        let mut connected = Vec::new();
        let mut failed = 0;
        for task in tasks {
            match task.await.ok().flatten() {
                Some(device) => connected.push(device),
                None => failed += 1,
            }
        }
        (connected, failed)
    }

    /// Connects, says ready, waits for the start, runs the steps and the drain, and reports.
    pub async fn run(self, ready: impl FnOnce(), start: impl Future<Output = u64>) -> Report {
        let (connected, connect_errors) = self.connect_all().await;
        let connected_count = connected.len() as u64;
        ready();
        let start_ns = start.await;
        let (stop, stopped) = watch::channel(false);
        let storm_at = self.job.storm.map(|storm| {
            (
                start_ns + (storm.at_seconds * 1e9) as u64,
                (storm.spread_seconds * 1e9) as u64,
            )
        });
        let caught_up = Arc::new(Mutex::new(Vec::new()));
        let mut receivers = Vec::new();
        for Connected { device, link } in connected {
            let device = &self.job.devices[device];
            let receiver = match (link, &self.peer) {
                (Link::Events(stream, cursor), Peer::Kolokol(client)) => {
                    let receiving = Receiving {
                        client: client.clone().with_token(device.token.clone()),
                        stats: self.stats.clone(),
                        last_seq: HashMap::new(),
                        cursor,
                    };
                    tokio::spawn(receiving.run(
                        *stream,
                        stopped.clone(),
                        storm_at,
                        caught_up.clone(),
                    ))
                }
                (Link::Sync(since), Peer::Matrix(matrix)) => {
                    let syncing = Syncing {
                        matrix: matrix.clone(),
                        token: device.token.clone(),
                        stats: self.stats.clone(),
                        seen: HashSet::new(),
                    };
                    tokio::spawn(syncing.run(since, stopped.clone()))
                }
                _ => unreachable!("a link comes from its worker's own peer"),
            };
            receivers.push(receiver);
        }
        self.send_on_schedule(start_ns).await;
        let total: f64 = self.job.steps.iter().map(|step| step.seconds).sum();
        sleep_until_ns(start_ns + ((total + self.job.drain_seconds) * 1e9) as u64).await;
        let _ = stop.send(true);
        let mut storm_reconnect_errors = 0;
        for receiver in receivers {
            if let Ok(false) = receiver.await {
                storm_reconnect_errors += 1;
            }
        }
        let stats = self.stats.lock();
        let caught_up = caught_up.lock();
        let at = storm_at.map_or(0, |(at, _)| at);
        let storm_since_drop_ms = caught_up
            .iter()
            .map(|(_, done)| done.saturating_sub(at) as f64 / 1e6)
            .collect();
        let storm_catch_up_ms = caught_up
            .iter()
            .map(|(began, done)| done.saturating_sub(*began) as f64 / 1e6)
            .collect();
        Report {
            connected: connected_count,
            connect_errors,
            dropped: stats.dropped,
            first_error: stats.first_error.clone(),
            duplicates: stats.duplicates,
            gaps: stats.gaps,
            steps: stats.steps.clone(),
            storm_since_drop_ms,
            storm_catch_up_ms,
            storm_reconnect_errors,
        }
    }

    /// Offers each step's rate: send `n` of a step is due at `step start + n / rate`, whatever
    /// happened to the sends before it. Latency counts from that due time, so a generator or
    /// server that falls behind shows up as latency rather than hiding it.
    async fn send_on_schedule(&self, start_ns: u64) {
        let senders: Vec<&Device> = self.job.devices.iter().filter(|d| d.sends).collect();
        if senders.is_empty() {
            return;
        }
        let mut step_start = start_ns;
        let mut serial = 0u64;
        // Ids may hold only letters, digits, '-' and '_'; the address tells workers apart.
        let prefix = self.job.local_address.to_string().replace(['.', ':'], "_");
        for (index, step) in self.job.steps.iter().enumerate() {
            let count = (step.rate * step.seconds).round() as u64;
            if count == 0 {
                step_start += (step.seconds * 1e9) as u64;
                continue;
            }
            for n in 0..count {
                let due = step_start + (n as f64 * 1e9 / step.rate) as u64;
                sleep_until_ns(due).await;
                let device = senders
                    .choose(&mut rand::rng())
                    .expect("senders is not empty");
                let chat = match step.chat {
                    Some(chat) => chat,
                    None => match device.chats.choose(&mut rand::rng()) {
                        Some(&chat) => chat,
                        None => continue,
                    },
                };
                serial += 1;
                let send = Send {
                    peer: self.peer.clone(),
                    token: device.token.clone(),
                    chat,
                    client_msg_id: format!("{prefix}-{serial}"),
                    text: format!("{MARKER}{due} {index}"),
                    chat_size: self.job.chat_sizes.get(&chat).copied().unwrap_or(0),
                    step: index,
                };
                self.stats.lock().steps[index].offered += 1;
                tokio::spawn(send.run(self.stats.clone()));
            }
            step_start += (step.seconds * 1e9) as u64;
        }
    }
}

/// One message on its way.
struct Send {
    peer: Peer,
    token: String,
    chat: i64,
    client_msg_id: String,
    text: String,
    chat_size: u64,
    step: usize,
}

impl Send {
    async fn run(self, stats: Arc<Mutex<Stats>>) {
        let sent = match self.peer {
            Peer::Kolokol(client) => {
                let request = kolokol_client::proto::SendMessageRequest {
                    client_msg_id: self.client_msg_id,
                    text: self.text,
                    reply_to: None,
                    request_ack: false,
                    urgent: false,
                    thread_of: None,
                    poll: None,
                    attachments: Vec::new(),
                    mls: None,
                };
                let client = client.with_token(self.token);
                client
                    .send_message(self.chat, &request)
                    .await
                    .map(drop)
                    .map_err(anyhow::Error::from)
            }
            Peer::Matrix(matrix) => {
                matrix
                    .send(&self.token, self.chat, &self.client_msg_id, &self.text)
                    .await
            }
        };
        let mut stats = stats.lock();
        match sent {
            Ok(()) => {
                let step = &mut stats.steps[self.step];
                step.acknowledged += 1;
                step.expected += self.chat_size;
            }
            Err(error) => {
                stats.steps[self.step].send_errors += 1;
                stats
                    .first_error
                    .get_or_insert_with(|| format!("send: {error:#}"));
            }
        }
    }
}

/// One device's receiving side.
struct Receiving {
    client: Client,
    stats: Arc<Mutex<Stats>>,
    last_seq: HashMap<i64, i64>,
    cursor: Option<String>,
}

impl Receiving {
    /// Reads frames until stopped; with a storm, drops the connection at its moment and resumes
    /// after a random delay. Returns false if resuming failed.
    async fn run(
        mut self,
        mut stream: EventStream,
        mut stopped: watch::Receiver<bool>,
        storm: Option<(u64, u64)>,
        caught_up: Arc<Mutex<Vec<(u64, u64)>>>,
    ) -> bool {
        // One timer for the whole run, not one per frame received; without a storm it is never
        // polled, so it never starts.
        let storm_due = sleep_until_ns(storm.map_or(u64::MAX, |(at, _)| at));
        tokio::pin!(storm_due);
        let mut storm = storm;
        loop {
            tokio::select! {
                _ = stopped.changed() => return true,
                _ = &mut storm_due, if storm.is_some() => {
                    let (at, spread) = storm.take().expect("the storm was due");
                    drop(stream);
                    let delay = rand::rng().random_range(0..spread.max(1));
                    sleep_until_ns(at + delay).await;
                    let (client, since) = (self.client.clone(), self.cursor.clone());
                    let began = now_ns();
                    match open(&client, since, |text| self.take(text)).await {
                        Some((resumed, cursor)) => {
                            // `open` returns after `ready`: everything missed has arrived.
                            caught_up.lock().push((began, now_ns()));
                            stream = resumed;
                            self.cursor = cursor.or(self.cursor.take());
                        }
                        None => return false,
                    }
                }
                frame = stream.next_text() => match frame {
                    Some(Ok(text)) => self.take(&text),
                    _ => {
                        self.stats.lock().dropped += 1;
                        return true;
                    }
                }
            }
        }
    }

    fn take(&mut self, text: &str) {
        let received = now_ns();
        let frame = Frame(text);
        if let Some(cursor) = frame.cursor() {
            self.cursor = Some(cursor.to_owned());
        }
        let Some(message) = frame.message() else {
            return;
        };
        let mut stats = self.stats.lock();
        let last = self
            .last_seq
            .entry(message.chat_id)
            .or_insert(message.seq - 1);
        if message.seq <= *last {
            stats.duplicates += 1;
            return;
        }
        if message.seq > *last + 1 {
            stats.gaps += 1;
        }
        *last = message.seq;
        stats.delivered(message.marker, received);
    }
}

/// A Matrix device's receiving side: one `/sync` long poll after another, as a Matrix client
/// keeps one open. Duplicates are events seen twice; gaps are timelines the server cut short.
struct Syncing {
    matrix: Arc<Matrix>,
    token: String,
    stats: Arc<Mutex<Stats>>,
    seen: HashSet<String>,
}

impl Syncing {
    async fn run(mut self, mut since: String, mut stopped: watch::Receiver<bool>) -> bool {
        loop {
            tokio::select! {
                _ = stopped.changed() => return true,
                batch = self.matrix.sync(&self.token, &since) => match batch {
                    Ok(batch) => {
                        let received = now_ns();
                        let mut stats = self.stats.lock();
                        stats.gaps += batch.limited;
                        for (_chat, event_id, body) in batch.events {
                            let Some(marker) = Marker::parse(&body) else { continue };
                            if self.seen.insert(event_id) {
                                stats.delivered(marker, received);
                            } else {
                                stats.duplicates += 1;
                            }
                        }
                        since = batch.next_batch;
                    }
                    // A client would sync again; the failure shows as a dropped connection.
                    Err(error) => {
                        {
                            let mut stats = self.stats.lock();
                            stats.dropped += 1;
                            stats.first_error.get_or_insert_with(|| format!("sync: {error:#}"));
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        }
    }
}

/// Connects and reads up to `ready`, handing every frame before it (what a resume missed) to
/// `missed`; returns the stream and the cursor `ready` carried, which is where a later resume
/// must start even if no other frame ever comes.
async fn open(
    client: &Client,
    since: Option<String>,
    mut missed: impl FnMut(&str),
) -> Option<(EventStream, Option<String>)> {
    let mut stream = client.connect_events(since).await.ok()?;
    loop {
        let text = tokio::time::timeout(Duration::from_secs(60), stream.next_text())
            .await
            .ok()??
            .ok()?;
        if text.starts_with(r#"{"type":"ready""#) {
            let cursor = Frame(&text).cursor().map(str::to_owned);
            return Some((stream, cursor));
        }
        missed(&text);
    }
}

async fn sleep_until_ns(due_ns: u64) {
    let now = now_ns();
    if due_ns > now {
        tokio::time::sleep(Duration::from_nanos(due_ns - now)).await;
    }
}

/// What a generated message's text says: `lg <due ns> <step>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Marker {
    due_ns: u64,
    step: usize,
}

impl Marker {
    fn parse(text: &str) -> Option<Marker> {
        let (due, step) = text.strip_prefix(MARKER)?.split_once(' ')?;
        Some(Marker {
            due_ns: due.parse().ok()?,
            step: step.parse().ok()?,
        })
    }
}

/// A generated message as seen in a frame.
#[derive(Debug, PartialEq, Eq)]
struct Delivered {
    chat_id: i64,
    seq: i64,
    marker: Marker,
}

/// The text of a server frame, read by scanning for the few fields the generator needs. Server
/// frames put `type` first and `cursor` last; message objects are flat JSON with numeric ids.
struct Frame<'a>(&'a str);

impl<'a> Frame<'a> {
    fn cursor(&self) -> Option<&'a str> {
        let rest = self.0.strip_suffix("\"}")?;
        let at = rest.rfind(",\"cursor\":\"")?;
        Some(&rest[at + 11..])
    }

    fn message(&self) -> Option<Delivered> {
        let body = self.0.strip_prefix(r#"{"type":"message.new""#)?;
        // Generated texts hold no quote or escape, so the first quote ends them.
        let text = body.split_once(r#""text":""#)?.1.split_once('"')?.0;
        Some(Delivered {
            chat_id: number_after(body, "\"chat_id\":")?,
            seq: number_after(body, "\"seq\":")?,
            marker: Marker::parse(text)?,
        })
    }
}

fn number_after(text: &str, key: &str) -> Option<i64> {
    let rest = text.split_once(key)?.1;
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_by_scanning() {
        let frame = r#"{"type":"message.new","message":{"id":7,"chat_id":12,"seq":345,"sender_id":3,"client_msg_id":"x-1","text":"lg 987654321 2","reply_to":null,"mentions":[],"reactions":[],"created_at":1,"edited_at":null,"deleted":false},"cursor":"AbC-_9"}"#;
        let frame = Frame(frame);
        assert_eq!(frame.cursor(), Some("AbC-_9"));
        assert_eq!(
            frame.message(),
            Some(Delivered {
                chat_id: 12,
                seq: 345,
                marker: Marker {
                    due_ns: 987_654_321,
                    step: 2
                }
            })
        );
    }

    #[test]
    fn other_frames_are_not_messages() {
        assert_eq!(Frame(r#"{"type":"ready","cursor":"A"}"#).message(), None);
        assert_eq!(
            Frame(r#"{"type":"ready","cursor":"A"}"#).cursor(),
            Some("A")
        );
        let typed_by_a_person =
            r#"{"type":"message.new","message":{"chat_id":1,"seq":2,"text":"hello"},"cursor":"B"}"#;
        assert_eq!(Frame(typed_by_a_person).message(), None);
        assert_eq!(
            Frame(r#"{"type":"typing","chat_id":1,"user_id":2}"#).cursor(),
            None
        );
    }
}
