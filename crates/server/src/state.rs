//! What every handler shares.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kolokol_bus::{Bus, Envelope};
use kolokol_proto::{ChatId, Event, UserId};
use kolokol_store::{Published, Store};

use crate::auth::{RateLimiter, SessionCache};
use crate::config::Settings;
use crate::gateway::Hub;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    pub hub: Arc<Hub>,
    pub sessions: Arc<SessionCache>,
    pub settings: Arc<Settings>,
    pub limits: Arc<Limits>,
    pub typing: Arc<TypingThrottle>,
}

/// At most one `typing` event per user and chat every [`TypingThrottle::INTERVAL`].
#[derive(Default)]
pub struct TypingThrottle {
    last: parking_lot::Mutex<std::collections::HashMap<(UserId, ChatId), Instant>>,
}

impl TypingThrottle {
    pub const INTERVAL: Duration = Duration::from_secs(2);

    pub fn allow(&self, user_id: UserId, chat_id: ChatId) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock();
        if last.len() > 100_000 {
            last.retain(|_, at| now.duration_since(*at) < Self::INTERVAL);
        }
        match last.get(&(user_id, chat_id)) {
            Some(at) if now.duration_since(*at) < Self::INTERVAL => false,
            _ => {
                last.insert((user_id, chat_id), now);
                true
            }
        }
    }
}

pub struct Limits {
    pub register_per_ip: RateLimiter,
    pub login_per_ip: RateLimiter,
    pub login_per_username: RateLimiter,
}

impl Limits {
    pub fn new(settings: &Settings) -> Limits {
        Limits {
            register_per_ip: RateLimiter::new(
                settings.register_per_ip_per_hour,
                Duration::from_secs(3600),
            ),
            login_per_ip: RateLimiter::new(
                settings.login_per_ip_per_minute,
                Duration::from_secs(60),
            ),
            login_per_username: RateLimiter::new(
                settings.login_per_username_per_minute,
                Duration::from_secs(60),
            ),
        }
    }
}

/// Serializes each event once and hands it to the bus. Call only after the write committed.
pub fn envelope(published: &Published) -> Arc<Envelope> {
    let json = serde_json::to_vec(&published.event).expect("events always serialize");
    Arc::new(Envelope {
        route: published.route,
        json: Bytes::from(json),
    })
}

impl AppState {
    pub async fn publish(&self, events: Vec<Published>) {
        if events.is_empty() {
            return;
        }
        // This node stops accepting a revoked token before the caller hears back; other nodes
        // forget it when the event reaches them over the bus.
        for published in &events {
            if let Event::SessionRevoked { session_id } = published.event {
                self.sessions.forget(session_id);
            }
        }
        self.bus
            .publish(events.iter().map(envelope).collect())
            .await;
    }
}
