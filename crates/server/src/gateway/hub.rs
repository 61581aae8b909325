//! The node's router from the bus to its WebSocket connections.
//!
//! One dispatcher task reads the bus and, for each envelope, finds the local connections of its
//! recipients: a user's devices for user-stream events, the chat's members for chat events.
//! Member lists are cached per chat as of a stream position and kept current by the membership
//! changes that envelopes carry. Delivery never waits: a connection whose queue is full is
//! dropped (it resumes from its cursor), so one slow client never holds up the rest.

use std::collections::HashMap;
use std::sync::Arc;

use kolokol_bus::Envelope;
use kolokol_domain::{MembershipChange, Route};
use kolokol_proto::{ChatId, Event, UserId};
use kolokol_store::{MemberSnapshot, Store};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::auth::SessionCache;

/// Cached member lists beyond this many are forgotten and reloaded on demand.
const MAX_CACHED_CHATS: usize = 50_000;

pub struct Hub {
    store: Arc<dyn Store>,
    sessions: Arc<SessionCache>,
    connections: Mutex<Connections>,
    members: Mutex<HashMap<ChatId, MemberSnapshot>>,
}

/// What the hub puts in a connection's queue.
pub enum Outgoing {
    Event(Arc<Envelope>),
    /// Time for a heartbeat. One task sends these to every connection, so that no connection
    /// keeps a timer of its own to poll with every frame.
    Ping,
}

/// A registered connection: its id and the queue the hub fills.
type ConnectionQueue = (u64, mpsc::Sender<Outgoing>);

#[derive(Default)]
struct Connections {
    by_user: HashMap<UserId, Vec<ConnectionQueue>>,
    next_id: u64,
}

impl Hub {
    pub fn new(store: Arc<dyn Store>, sessions: Arc<SessionCache>) -> Arc<Hub> {
        Arc::new(Hub {
            store,
            sessions,
            connections: Mutex::new(Connections::default()),
            members: Mutex::new(HashMap::new()),
        })
    }

    /// A new connection of `user_id`, with a queue of `capacity` envelopes. When the receiver
    /// yields `None`, the hub has dropped the connection for being too slow.
    pub fn register(&self, user_id: UserId, capacity: usize) -> (u64, mpsc::Receiver<Outgoing>) {
        let (sender, receiver) = mpsc::channel(capacity);
        let mut connections = self.connections.lock();
        connections.next_id += 1;
        let id = connections.next_id;
        connections
            .by_user
            .entry(user_id)
            .or_default()
            .push((id, sender));
        (id, receiver)
    }

    pub fn unregister(&self, user_id: UserId, id: u64) {
        let mut connections = self.connections.lock();
        if let Some(list) = connections.by_user.get_mut(&user_id) {
            list.retain(|(conn, _)| *conn != id);
            if list.is_empty() {
                connections.by_user.remove(&user_id);
            }
        }
    }

    pub fn connection_count(&self) -> usize {
        self.connections.lock().by_user.values().map(Vec::len).sum()
    }

    /// Delivers one envelope from the bus to this node's recipients.
    pub async fn dispatch(&self, envelope: Arc<Envelope>) {
        match envelope.route {
            Route::User { user_id, .. } => {
                self.forget_revoked_session(&envelope);
                self.deliver(&[user_id], None, &envelope)
            }
            Route::Chat {
                chat_id,
                pos,
                membership,
            } => {
                self.deliver_to_chat(chat_id, pos, membership, None, &envelope)
                    .await
            }
            Route::Ephemeral { chat_id, from } => {
                self.deliver_to_chat(chat_id, 0, None, Some(from), &envelope)
                    .await
            }
        }
    }

    /// Delivers to the chat's members after applying the event's membership change (so a new
    /// member gets their own `member.added`, and a removed one no longer gets chat events).
    async fn deliver_to_chat(
        &self,
        chat_id: ChatId,
        pos: i64,
        change: Option<MembershipChange>,
        except: Option<UserId>,
        envelope: &Arc<Envelope>,
    ) {
        if self.connections.lock().by_user.is_empty() || !self.load_members(chat_id).await {
            return;
        }
        let mut members = self.members.lock();
        let Some(snapshot) = members.get_mut(&chat_id) else {
            return;
        };
        if let Some(change) = change
            && pos > snapshot.as_of_pos
        {
            snapshot.user_ids.retain(|&id| id != change.user_id);
            if change.joined {
                snapshot.user_ids.push(change.user_id);
            }
        }
        snapshot.as_of_pos = snapshot.as_of_pos.max(pos);
        self.deliver(&snapshot.user_ids, except, envelope);
    }

    /// Whether any member of the chat passes `test`, if this node has the chat's members cached
    /// (it does for every chat with a recently delivered event); `None` when it does not know.
    pub fn any_cached_member(
        &self,
        chat_id: ChatId,
        test: impl Fn(UserId) -> bool,
    ) -> Option<bool> {
        let members = self.members.lock();
        let snapshot = members.get(&chat_id)?;
        Some(snapshot.user_ids.iter().any(|&user_id| test(user_id)))
    }

    /// Makes sure the chat's member list is cached; false if it cannot be loaded.
    async fn load_members(&self, chat_id: ChatId) -> bool {
        if self.members.lock().contains_key(&chat_id) {
            return true;
        }
        match self.store.chat_members(chat_id).await {
            Ok(snapshot) => {
                let mut members = self.members.lock();
                if members.len() >= MAX_CACHED_CHATS {
                    members.clear();
                }
                members.entry(chat_id).or_insert(snapshot);
                true
            }
            Err(error) => {
                // Recipients miss the live event; their next event reveals the gap and they
                // fill it from the store.
                tracing::warn!(%error, chat_id, "cannot load chat members");
                false
            }
        }
    }

    fn deliver(&self, users: &[UserId], except: Option<UserId>, envelope: &Arc<Envelope>) {
        let mut connections = self.connections.lock();
        for user_id in users {
            if Some(*user_id) == except {
                continue;
            }
            let Some(list) = connections.by_user.get_mut(user_id) else {
                continue;
            };
            // A full or closed queue drops the connection: its socket closes as too slow and
            // the client resumes from its cursor.
            list.retain(|(_, sender)| sender.try_send(Outgoing::Event(envelope.clone())).is_ok());
            if list.is_empty() {
                connections.by_user.remove(user_id);
            }
        }
    }

    /// Asks one share of the connections (those whose id is `share` modulo `shares`) to ping
    /// their clients. A connection whose queue is full misses this one; it is about to be
    /// dropped as too slow anyway.
    pub fn ping_share(&self, share: u64, shares: u64) {
        let connections = self.connections.lock();
        for (id, sender) in connections.by_user.values().flatten() {
            if id % shares == share {
                let _ = sender.try_send(Outgoing::Ping);
            }
        }
    }

    /// A session revoked through any node stops authenticating on this one.
    fn forget_revoked_session(&self, envelope: &Envelope) {
        // The tag comes first in every serialized event, so most envelopes are skipped unparsed.
        if !envelope.json.starts_with(br#"{"type":"session.revoked""#) {
            return;
        }
        if let Ok(Event::SessionRevoked { session_id }) = serde_json::from_slice(&envelope.json) {
            self.sessions.forget(session_id);
        }
    }

    /// The bus lost envelopes for this node: every connection resumes from its cursor, and
    /// cached sessions are checked again in case a revocation was among the losses.
    pub fn drop_everyone(&self) {
        tracing::warn!("event bus lagged; disconnecting clients so they resume");
        self.connections.lock().by_user.clear();
        self.members.lock().clear();
        self.sessions.clear();
    }
}
