//! The scale-out bus: every node publishes what it committed to one NATS subject and hears
//! everything on it, its own batches included, so all nodes see one stream per publisher.
//!
//! Core NATS is at-most-once: a batch can be lost while a connection is down or a subscriber is
//! slow. Loss is noticed two ways — a jump in a publisher's batch numbers, and the client's own
//! reconnect and slow-consumer signals — and either way subscribers are told they
//! [lagged](Received::Lagged), so their clients resume from the store. Nothing goes through
//! JetStream: the store is the durable log, the bus only makes delivery fast.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc};

use crate::wire::{decode_batch, decode_charge, encode_batch, encode_charge};
use crate::{Bus, ChannelSubscription, Charge, Envelope, Received, Subscription};

/// Batches waiting for the publisher task; a full queue makes writers wait (back-pressure).
const OUTBOX: usize = 8192;
/// Messages delivered to this node that may wait to be routed.
const RECEIVED: usize = 1 << 16;

#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("cannot connect to the NATS server: {0}")]
    Connect(#[from] async_nats::ConnectError),
    #[error("cannot subscribe on the NATS server: {0}")]
    Subscribe(#[from] async_nats::SubscribeError),
    #[error("cannot publish on the NATS server: {0}")]
    Publish(#[from] async_nats::PublishError),
    #[error("the NATS server did not confirm the subscriptions in time")]
    NotConfirmed,
}

pub struct NatsBus {
    client: async_nats::Client,
    node: u64,
    /// Shared bytes, so publishing does not copy the name each time.
    limits_subject: async_nats::Subject,
    outbox: mpsc::Sender<Vec<Arc<Envelope>>>,
    received: broadcast::Sender<Received>,
}

impl NatsBus {
    /// Connects to `url` and starts following `<subject>.events` and `<subject>.limits`.
    /// Deployments sharing a NATS server use different subjects.
    pub async fn connect(url: &str, subject: &str) -> Result<NatsBus, NatsError> {
        let (received, _) = broadcast::channel(RECEIVED);
        let on_event = received.clone();
        // The first `Connected` is the initial connection, reported a moment after `connect`
        // returns: taken for a reconnect, it would disconnect the node's first clients.
        let connected_before = Arc::new(AtomicBool::new(false));
        let client = async_nats::ConnectOptions::new()
            .name("kolokol")
            .subscription_capacity(RECEIVED)
            .event_callback(move |event| {
                let on_event = on_event.clone();
                let connected_before = connected_before.clone();
                async move {
                    // A reconnect means traffic may have been missed while away; a slow
                    // consumer means the server dropped some for us.
                    let lost = match &event {
                        async_nats::Event::Connected => {
                            connected_before.swap(true, Ordering::Relaxed)
                        }
                        async_nats::Event::SlowConsumer(_) => true,
                        _ => false,
                    };
                    if lost {
                        tracing::warn!(%event, "event bus may have lost traffic");
                        let _ = on_event.send(Received::Lagged);
                    } else {
                        tracing::info!(%event, "event bus");
                    }
                }
            })
            .connect(url)
            .await?;
        let node = rand::random::<u64>();
        let events_subject = async_nats::Subject::from(format!("{subject}.events"));
        let limits_subject = async_nats::Subject::from(format!("{subject}.limits"));
        let events = client.subscribe(events_subject.clone()).await?;
        let limits = client.subscribe(limits_subject.clone()).await?;
        confirm_subscriptions(&client, subject, node).await?;
        tokio::spawn(follow(node, events, limits, received.clone()));
        let (outbox, queued) = mpsc::channel(OUTBOX);
        tokio::spawn(publish_in_order(
            client.clone(),
            node,
            events_subject,
            queued,
        ));
        Ok(NatsBus {
            client,
            node,
            limits_subject,
            outbox,
            received,
        })
    }
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(&self, envelopes: Vec<Arc<Envelope>>) {
        if self.outbox.send(envelopes).await.is_err() {
            tracing::error!("event bus publisher stopped");
        }
    }

    async fn share_charge(&self, charge: Charge) {
        let message = encode_charge(self.node, &charge);
        if let Err(error) = self
            .client
            .publish(self.limits_subject.clone(), message)
            .await
        {
            tracing::warn!(%error, "sharing a rate-limit charge");
        }
    }

    fn subscribe(&self) -> Box<dyn Subscription> {
        Box::new(ChannelSubscription(self.received.subscribe()))
    }
}

/// Waits until the server has our subscriptions, so nothing published after `connect` returns
/// can miss this node. The server handles a connection's commands in order: when a message we
/// publish to a subject of our own comes back, the subscriptions made before it are in place.
async fn confirm_subscriptions(
    client: &async_nats::Client,
    subject: &str,
    node: u64,
) -> Result<(), NatsError> {
    let probe_subject = format!("{subject}.probe.{node:016x}");
    let mut probe = client.subscribe(probe_subject.clone()).await?;
    client.publish(probe_subject, Bytes::new()).await?;
    let confirmed = tokio::time::timeout(Duration::from_secs(10), probe.next()).await;
    let _ = probe.unsubscribe().await;
    match confirmed {
        Ok(Some(_)) => Ok(()),
        _ => Err(NatsError::NotConfirmed),
    }
}

/// Numbers batches and publishes them one at a time, so their numbers leave in order and a
/// receiver can take any jump for a loss.
async fn publish_in_order(
    client: async_nats::Client,
    node: u64,
    subject: async_nats::Subject,
    mut queued: mpsc::Receiver<Vec<Arc<Envelope>>>,
) {
    let mut number = 0u64;
    while let Some(envelopes) = queued.recv().await {
        number += 1;
        let message = encode_batch(node, number, &envelopes);
        if let Err(error) = client.publish(subject.clone(), message).await {
            // Receivers will see the jump in numbers and heal from the store.
            tracing::error!(%error, "publishing on the event bus");
        }
    }
}

/// Turns NATS messages into [`Received`] items for this node's subscribers.
async fn follow(
    node: u64,
    mut events: async_nats::Subscriber,
    mut limits: async_nats::Subscriber,
    received: broadcast::Sender<Received>,
) {
    let mut last_numbers: HashMap<u64, u64> = HashMap::new();
    loop {
        tokio::select! {
            message = events.next() => {
                let Some(message) = message else { break };
                deliver_batch(&message.payload, &mut last_numbers, &received);
            }
            message = limits.next() => {
                let Some(message) = message else { break };
                match decode_charge(&message.payload) {
                    Ok((from, charge)) if from != node => {
                        let _ = received.send(Received::Charge(charge));
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "ignoring a rate-limit charge"),
                }
            }
        }
    }
    tracing::error!("event bus subscription ended");
}

fn deliver_batch(
    payload: &Bytes,
    last_numbers: &mut HashMap<u64, u64>,
    received: &broadcast::Sender<Received>,
) {
    let batch = match decode_batch(payload) {
        Ok(batch) => batch,
        Err(error) => {
            tracing::warn!(%error, "ignoring a bus message");
            return;
        }
    };
    let previous = last_numbers.insert(batch.node, batch.number);
    if previous.is_some_and(|previous| batch.number != previous + 1) {
        tracing::warn!(
            node = batch.node,
            "event bus batches went missing; clients resume from the store"
        );
        let _ = received.send(Received::Lagged);
    }
    for envelope in batch.envelopes {
        let _ = received.send(Received::Event(Arc::new(envelope)));
    }
}
