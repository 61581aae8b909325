//! What every handler shares.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kolokol_bus::{Bus, Charge, Envelope};
use kolokol_domain::Route;
use kolokol_proto::{ChatId, Event, Millis, Seq, UserId};
use kolokol_store::{Published, Store};

use crate::auth::{RateLimiter, SessionCache, limit_key};
use crate::config::Settings;
use crate::error::ApiError;
use crate::gateway::Hub;
use crate::quiet::QuietIndex;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub media: Arc<crate::media::Media>,
    pub bus: Arc<dyn Bus>,
    pub hub: Arc<Hub>,
    pub sessions: Arc<SessionCache>,
    pub settings: Arc<Settings>,
    pub limits: Arc<Limits>,
    pub typing: Arc<TypingThrottle>,
    /// Held while an org's chats are brought in step with its roster (see `orgs::provision`).
    pub provisioning: Arc<tokio::sync::Mutex<()>>,
    pub quiet: Arc<QuietIndex>,
    pub poll_updates: Arc<PollUpdates>,
}

/// Live poll counts, at most one `poll.voted` per poll every [`PollUpdates::INTERVAL`] from
/// each node: in a channel of 3,000 families, sending every vote to every member would be
/// millions of frames for one poll.
#[derive(Default)]
pub struct PollUpdates {
    /// The polls with an update on its way, and who voted since it was scheduled: one voter
    /// (`Some`), or several (`None`).
    scheduled: parking_lot::Mutex<std::collections::HashMap<(ChatId, Seq), Option<UserId>>>,
}

impl PollUpdates {
    pub const INTERVAL: Duration = Duration::from_millis(300);

    /// Someone voted: the chat hears the counts once the interval is over, with every vote
    /// cast until then. A voter who was the only one in that time, and so has these counts in
    /// the answer, is left out; when several voted, everyone hears them, as each voter's answer
    /// may predate the others' votes.
    pub fn changed(&self, state: &AppState, chat_id: ChatId, seq: Seq, voter: UserId) {
        {
            let mut scheduled = self.scheduled.lock();
            if let Some(voters) = scheduled.get_mut(&(chat_id, seq)) {
                if *voters != Some(voter) {
                    *voters = None;
                }
                return;
            }
            scheduled.insert((chat_id, seq), Some(voter));
        }
        let state = state.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Self::INTERVAL).await;
            // Unscheduled before reading: a vote after the read schedules the next update.
            let sole_voter = state
                .poll_updates
                .scheduled
                .lock()
                .remove(&(chat_id, seq))
                .flatten();
            let tally =
                match crate::routes::messages::poll_results(&state, voter, chat_id, seq).await {
                    Ok(results) => results.tally,
                    // Deleted meanwhile: nothing to tell.
                    Err(_) => return,
                };
            let event = Event::PollVoted {
                chat_id,
                seq,
                tally,
            };
            let envelope = Envelope {
                route: Route::Ephemeral {
                    chat_id,
                    // User ids start at 1: leaving out 0 leaves out no one.
                    from: sole_voter.unwrap_or(0),
                },
                json: Bytes::from(serde_json::to_vec(&event).expect("events always serialize")),
            };
            state.bus.publish(vec![Arc::new(envelope)]).await;
        });
    }
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

/// The rate limits on account endpoints. Each node keeps its own counters in memory and tells
/// the others, over the bus, of every unit it spends, so a limit holds across the cluster
/// however the load balancer spreads the attempts.
pub struct Limits {
    limiters: [RateLimiter; 8],
}

/// Which limit; the number is what nodes tell each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    RegisterPerIp = 0,
    RegisterPerUsername = 1,
    LoginPerIp = 2,
    LoginPerUsername = 3,
    ClaimPerUser = 4,
    ClaimPerIp = 5,
    BotRequests = 6,
    ButtonPresses = 7,
}

impl Limits {
    pub fn new(settings: &Settings) -> Limits {
        let hour = Duration::from_secs(3600);
        let minute = Duration::from_secs(60);
        Limits {
            limiters: [
                RateLimiter::new(settings.register_per_ip_per_hour, hour),
                RateLimiter::new(settings.register_per_username_per_hour, hour),
                RateLimiter::new(settings.login_per_ip_per_minute, minute),
                RateLimiter::new(settings.login_per_username_per_minute, minute),
                RateLimiter::new(settings.claims_per_user_per_hour, hour),
                RateLimiter::new(settings.claims_per_ip_per_hour, hour),
                RateLimiter::new(settings.bot_requests_per_second, Duration::from_secs(1)),
                RateLimiter::new(settings.button_presses_per_minute, minute),
            ],
        }
    }

    /// Applies a unit another node spent.
    pub fn apply(&self, charge: Charge) {
        if let Some(limiter) = self.limiters.get(usize::from(charge.limiter)) {
            limiter.charge(charge.key);
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
    /// Now, by the server's clock (see [`crate::clock::Clock`]).
    pub fn now(&self) -> Millis {
        self.settings.clock.now()
    }

    /// Spends one unit of `limit` for `what`, here and on every other node, or refuses with
    /// `rate_limited`.
    pub async fn limit(&self, limit: Limit, what: &str) -> Result<(), ApiError> {
        let key = limit_key(what);
        self.limits.limiters[limit as usize].check(key)?;
        self.bus
            .share_charge(Charge {
                limiter: limit as u8,
                key,
            })
            .await;
        Ok(())
    }

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
