//! Event fan-out.
//!
//! After a write commits, the server serializes each event once into an [`Envelope`] and
//! publishes it here; every gateway (one per node) subscribes and routes envelopes to its local
//! connections. The bus may drop traffic — a lagging subscriber is told so — because nothing is
//! lost for good: connections fill gaps from the store by stream position.

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

pub enum Received {
    Event(Arc<Envelope>),
    /// Some envelopes were dropped because this subscriber fell behind: heal from the store.
    Lagged,
}

#[async_trait]
pub trait Subscription: Send {
    /// The next envelope; `None` once the bus has shut down.
    async fn next(&mut self) -> Option<Received>;
}

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    async fn publish(&self, envelopes: Vec<Arc<Envelope>>);
    fn subscribe(&self) -> Box<dyn Subscription>;
}

/// The single-node bus: a broadcast channel inside the process.
pub struct LocalBus {
    sender: broadcast::Sender<Arc<Envelope>>,
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
            let _ = self.sender.send(envelope);
        }
    }

    fn subscribe(&self) -> Box<dyn Subscription> {
        Box::new(LocalSubscription(self.sender.subscribe()))
    }
}

struct LocalSubscription(broadcast::Receiver<Arc<Envelope>>);

#[async_trait]
impl Subscription for LocalSubscription {
    async fn next(&mut self) -> Option<Received> {
        match self.0.recv().await {
            Ok(envelope) => Some(Received::Event(envelope)),
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
