//! Event fan-out, and the little else that nodes tell each other.
//!
//! After a write commits, the server serializes each event once into an [`Envelope`] and
//! publishes it here; every gateway (one per node) subscribes and routes envelopes to its local
//! connections. The bus may drop traffic — a lagging subscriber is told so — because nothing is
//! lost for good: connections fill gaps from the store by stream position.
//!
//! [`LocalBus`] serves one process and is the default. [`NatsBus`] joins the nodes of a
//! scale-out deployment through a NATS server; it also carries rate-limit [`Charge`]s, so that a
//! limit on login attempts holds however a load balancer spreads them.

mod nats;
pub mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use kolokol_domain::Route;
use tokio::sync::broadcast;

/// One committed event, serialized once and shared by all its recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub route: Route,
    /// The event's JSON object, without the per-connection `cursor`.
    pub json: Bytes,
}

impl AsRef<Envelope> for Envelope {
    fn as_ref(&self) -> &Envelope {
        self
    }
}

/// One unit of a rate limit spent on another node: `limiter` says which limit, `key` is a hash
/// of what was limited (a client address, a username), never the thing itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    pub limiter: u8,
    pub key: [u8; 16],
}

#[derive(Debug, Clone)]
pub enum Received {
    Event(Arc<Envelope>),
    /// Some envelopes were dropped because this subscriber fell behind: heal from the store.
    Lagged,
    /// Another node spent a rate-limit unit.
    Charge(Charge),
}

#[async_trait]
pub trait Subscription: Send {
    /// The next envelope; `None` once the bus has shut down.
    async fn next(&mut self) -> Option<Received>;
}

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes what one write committed, in commit order.
    async fn publish(&self, envelopes: Vec<Arc<Envelope>>);
    /// Tells the other nodes that this one spent a rate-limit unit.
    async fn share_charge(&self, charge: Charge);
    fn subscribe(&self) -> Box<dyn Subscription>;
}

pub use nats::NatsBus;

/// The single-node bus: a broadcast channel inside the process.
pub struct LocalBus {
    sender: broadcast::Sender<Received>,
}

impl LocalBus {
    /// `capacity` envelopes may wait for the slowest subscriber before it is told it lagged.
    pub fn new(capacity: usize) -> LocalBus {
        LocalBus {
            sender: broadcast::channel(capacity).0,
        }
    }
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish(&self, envelopes: Vec<Arc<Envelope>>) {
        for envelope in envelopes {
            // An error only means nobody is subscribed, which is fine.
            let _ = self.sender.send(Received::Event(envelope));
        }
    }

    /// There are no other nodes.
    async fn share_charge(&self, _charge: Charge) {}

    fn subscribe(&self) -> Box<dyn Subscription> {
        Box::new(ChannelSubscription(self.sender.subscribe()))
    }
}

/// A subscriber of the in-process channel that both buses deliver through.
struct ChannelSubscription(broadcast::Receiver<Received>);

#[async_trait]
impl Subscription for ChannelSubscription {
    async fn next(&mut self) -> Option<Received> {
        match self.0.recv().await {
            Ok(received) => Some(received),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Received::Lagged),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(pos: i64) -> Arc<Envelope> {
        Arc::new(Envelope {
            route: Route::User { user_id: 1, pos },
            json: Bytes::from_static(b"{}"),
        })
    }

    #[tokio::test]
    async fn every_subscriber_gets_every_envelope_in_order() {
        let bus = LocalBus::new(16);
        let mut first = bus.subscribe();
        let mut second = bus.subscribe();
        bus.publish(vec![envelope(1), envelope(2)]).await;
        for subscription in [&mut first, &mut second] {
            for pos in [1, 2] {
                let Some(Received::Event(got)) = subscription.next().await else {
                    panic!("expected an event");
                };
                assert_eq!(got.route, Route::User { user_id: 1, pos });
            }
        }
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_it_lagged() {
        let bus = LocalBus::new(2);
        let mut slow = bus.subscribe();
        bus.publish((1..=5).map(envelope).collect()).await;
        assert!(matches!(slow.next().await, Some(Received::Lagged)));
    }
}
