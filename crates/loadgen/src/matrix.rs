//! The real peer: Matrix Synapse driven through its client-server API, the way a Matrix client
//! uses it. The coordinator registers the users and builds the rooms ([`seed`]); each worker
//! device then syncs with a `/sync` long poll and sends with `PUT .../send/m.room.message/{txn}`,
//! carrying the same `lg <due ns> <step>` text as against Kolokol. Benchmark tooling only.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::seed::{ChatSpec, Seeded};

/// Requests in flight while seeding: enough to keep the server's one core busy.
const SEEDING_AT_ONCE: usize = 32;
/// How long a `/sync` may wait for news on the server, as Element's clients ask.
const SYNC_TIMEOUT_MS: u64 = 30_000;
/// Only room messages in the timeline, no state, presence, receipts or account data: the least
/// the server has to assemble for each sync. Stored once per user as filter "0".
const SYNC_FILTER: &str = r#"{"room":{"timeline":{"limit":100,"types":["m.room.message"]},"state":{"types":[]},"ephemeral":{"types":[]},"account_data":{"types":[]}},"presence":{"types":[]},"account_data":{"types":[]}}"#;
/// The first sync only fetches a position to sync from, so it asks for no rooms at all.
const FIRST_SYNC_FILTER: &str =
    r#"{"room":{"rooms":[]},"presence":{"types":[]},"account_data":{"types":[]}}"#;
const PASSWORD: &str = "loadgen-password";

/// A client of one Synapse: a shared HTTP connection pool and the rooms, whose position in
/// `rooms` plus one is the chat id the rest of the generator uses.
#[derive(Clone)]
pub struct Matrix {
    http: reqwest::Client,
    base: String,
    rooms: Vec<String>,
    chat_ids: HashMap<String, i64>,
}

/// What one `/sync` brought.
pub struct Batch {
    pub next_batch: String,
    /// Message events: chat id, event id, body.
    pub events: Vec<(i64, String, String)>,
    /// Rooms whose timeline was cut short: events this device never saw.
    pub limited: u64,
}

impl Matrix {
    pub fn new(base: &str, rooms: Vec<String>, local_address: Option<IpAddr>) -> Matrix {
        let http = reqwest::Client::builder()
            .local_address(local_address)
            .timeout(Duration::from_millis(SYNC_TIMEOUT_MS * 3))
            .build()
            .expect("a plain HTTP client builds");
        let chat_ids = rooms
            .iter()
            .enumerate()
            .map(|(index, room)| (room.clone(), index as i64 + 1))
            .collect();
        Matrix {
            http,
            base: format!("{}/_matrix/client/v3", base.trim_end_matches('/')),
            rooms,
            chat_ids,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        query: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .query(query);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: {status} {value}");
        }
        Ok(value)
    }

    /// Where this device starts syncing from: the position now, with no history.
    pub async fn first_sync(&self, token: &str) -> anyhow::Result<String> {
        let reply = self
            .call(
                reqwest::Method::GET,
                "/sync",
                Some(token),
                None,
                &[("filter", FIRST_SYNC_FILTER), ("timeout", "0")],
            )
            .await?;
        next_batch(&reply)
    }

    /// Waits up to [`SYNC_TIMEOUT_MS`] for events after `since`.
    pub async fn sync(&self, token: &str, since: &str) -> anyhow::Result<Batch> {
        let timeout = SYNC_TIMEOUT_MS.to_string();
        let reply = self
            .call(
                reqwest::Method::GET,
                "/sync",
                Some(token),
                None,
                &[("filter", "0"), ("since", since), ("timeout", &timeout)],
            )
            .await?;
        let mut batch = Batch {
            next_batch: next_batch(&reply)?,
            events: Vec::new(),
            limited: 0,
        };
        let joined = reply.pointer("/rooms/join").and_then(Value::as_object);
        for (room, state) in joined.into_iter().flatten() {
            let Some(&chat) = self.chat_ids.get(room) else {
                continue;
            };
            let timeline: Timeline =
                serde_json::from_value(state["timeline"].clone()).unwrap_or_default();
            batch.limited += u64::from(timeline.limited);
            batch.events.extend(
                timeline
                    .events
                    .into_iter()
                    .filter_map(|event| Some((chat, event.event_id, event.content?.body?))),
            );
        }
        Ok(batch)
    }

    /// Sends a text message; `txn` makes a retry idempotent, as Kolokol's `client_msg_id` does.
    pub async fn send(&self, token: &str, chat: i64, txn: &str, text: &str) -> anyhow::Result<()> {
        let room = self
            .rooms
            .get((chat - 1) as usize)
            .with_context(|| format!("no room for chat {chat}"))?;
        let path = format!("/rooms/{room}/send/m.room.message/{txn}");
        let body = json!({"msgtype": "m.text", "body": text});
        self.call(reqwest::Method::PUT, &path, Some(token), Some(&body), &[])
            .await?;
        Ok(())
    }
}

#[derive(Deserialize, Default)]
struct Timeline {
    #[serde(default)]
    events: Vec<Event>,
    #[serde(default)]
    limited: bool,
}

#[derive(Deserialize)]
struct Event {
    event_id: String,
    content: Option<Content>,
}

#[derive(Deserialize)]
struct Content {
    body: Option<String>,
}

fn next_batch(reply: &Value) -> anyhow::Result<String> {
    reply["next_batch"]
        .as_str()
        .map(str::to_owned)
        .context("a sync reply without next_batch")
}

/// Registers `users` accounts, stores each one's sync filter, and builds the chats as public
/// rooms created by their first member and joined by the rest. Returns the access tokens and
/// chat ids, and the room id of each chat.
pub async fn seed(
    base: &str,
    users: usize,
    chats: &[ChatSpec],
) -> anyhow::Result<(Seeded, Vec<String>)> {
    let matrix = Matrix::new(base, Vec::new(), None);
    let run: u32 = rand::random();
    let filter: Value = serde_json::from_str(SYNC_FILTER)?;
    let tokens: Vec<String> = stream::iter(0..users)
        .map(|index| {
            let (matrix, filter) = (&matrix, &filter);
            async move {
                let body = json!({
                    "username": format!("lg{run:x}-{index}"),
                    "password": PASSWORD,
                    "auth": {"type": "m.login.dummy"},
                    "initial_device_display_name": "loadgen",
                });
                let reply = matrix
                    .call(reqwest::Method::POST, "/register", None, Some(&body), &[])
                    .await?;
                let token = reply["access_token"].as_str().context("no access_token")?;
                let user = reply["user_id"].as_str().context("no user_id")?;
                let stored = matrix
                    .call(
                        reqwest::Method::POST,
                        &format!("/user/{user}/filter"),
                        Some(token),
                        Some(filter),
                        &[],
                    )
                    .await?;
                if stored["filter_id"] != "0" {
                    bail!("the sync filter of {user} got id {}", stored["filter_id"]);
                }
                Ok(token.to_owned())
            }
        })
        .buffered(SEEDING_AT_ONCE)
        .try_collect()
        .await
        .context("registering the users")?;
    let rooms: Vec<String> = stream::iter(chats)
        .map(|chat| {
            let (matrix, tokens) = (&matrix, &tokens);
            async move {
                let body = json!({"preset": "public_chat"});
                let reply = matrix
                    .call(
                        reqwest::Method::POST,
                        "/createRoom",
                        Some(&tokens[chat.members[0]]),
                        Some(&body),
                        &[],
                    )
                    .await?;
                anyhow::Ok(reply["room_id"].as_str().context("no room_id")?.to_owned())
            }
        })
        .buffered(SEEDING_AT_ONCE)
        .try_collect()
        .await
        .context("creating the rooms")?;
    // Round the rooms, one member each, so joins to one room (which Synapse serialises) are
    // not all in flight at once.
    let largest = chats
        .iter()
        .map(|chat| chat.members.len())
        .max()
        .unwrap_or(0);
    let joins = (1..largest).flat_map(|position| {
        chats
            .iter()
            .zip(&rooms)
            .filter_map(move |(chat, room)| Some((room.as_str(), *chat.members.get(position)?)))
    });
    stream::iter(joins)
        .map(|(room, member)| {
            let (matrix, tokens) = (&matrix, &tokens);
            async move {
                matrix
                    .call(
                        reqwest::Method::POST,
                        &format!("/join/{room}"),
                        Some(&tokens[member]),
                        Some(&json!({})),
                        &[],
                    )
                    .await
            }
        })
        .buffer_unordered(SEEDING_AT_ONCE)
        .try_collect::<Vec<_>>()
        .await
        .context("joining the rooms")?;
    let chat_ids = (1..=rooms.len() as i64).collect();
    Ok((Seeded { tokens, chat_ids }, rooms))
}
