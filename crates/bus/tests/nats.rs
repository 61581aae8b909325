//! The NATS bus against the real NATS server (`KOLOKOL_TEST_NATS`, default 127.0.0.1:4222).
//! Without a server these tests fail; they never pass silently.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kolokol_bus::wire::encode_batch;
use kolokol_bus::{Bus, Charge, Envelope, NatsBus, Received, Subscription};
use kolokol_domain::Route;

fn nats_url() -> String {
    std::env::var("KOLOKOL_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A subject of this test's own, so parallel tests and runs never hear each other.
fn fresh_subject() -> String {
    format!("kolokol-test-{:016x}", rand::random::<u64>())
}

async fn connect(subject: &str) -> NatsBus {
    NatsBus::connect(&nats_url(), subject)
        .await
        .unwrap_or_else(|error| panic!("NATS must be running at {}: {error}", nats_url()))
}

fn envelope(chat_id: i64, pos: i64) -> Arc<Envelope> {
    Arc::new(Envelope {
        route: Route::Chat {
            chat_id,
            pos,
            membership: None,
        },
        json: Bytes::from(format!(r#"{{"type":"test","pos":{pos}}}"#)),
    })
}

async fn next(subscription: &mut Box<dyn Subscription>) -> Received {
    tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("a bus message within 5 s")
        .expect("the bus is open")
}

async fn next_event(subscription: &mut Box<dyn Subscription>) -> Arc<Envelope> {
    loop {
        match next(subscription).await {
            Received::Event(envelope) => return envelope,
            // The first connect reports itself like a reconnect.
            Received::Lagged => continue,
            Received::Charge(charge) => panic!("unexpected charge {charge:?}"),
        }
    }
}

#[tokio::test]
async fn every_node_hears_every_batch_in_publish_order() {
    let subject = fresh_subject();
    let (a, b) = (connect(&subject).await, connect(&subject).await);
    let (mut on_a, mut on_b) = (a.subscribe(), b.subscribe());
    for pos in 1..=50 {
        a.publish(vec![envelope(7, pos)]).await;
    }
    for subscription in [&mut on_a, &mut on_b] {
        for pos in 1..=50 {
            let got = next_event(subscription).await;
            assert_eq!(*got, *envelope(7, pos));
        }
    }
}

#[tokio::test]
async fn charges_reach_the_other_nodes_only() {
    let subject = fresh_subject();
    let (a, b) = (connect(&subject).await, connect(&subject).await);
    let (mut on_a, mut on_b) = (a.subscribe(), b.subscribe());
    let charge = Charge {
        limiter: 2,
        key: [9; 16],
    };
    a.share_charge(charge).await;
    // A marker event after the charge: when A hears it, A would have heard its own charge too.
    a.publish(vec![envelope(1, 1)]).await;
    loop {
        match next(&mut on_b).await {
            Received::Charge(got) => {
                assert_eq!(got, charge);
                break;
            }
            Received::Lagged | Received::Event(_) => continue,
        }
    }
    loop {
        match next(&mut on_a).await {
            Received::Charge(_) => panic!("a node must not charge itself twice"),
            Received::Event(_) => break,
            Received::Lagged => continue,
        }
    }
}

#[tokio::test]
async fn a_missing_batch_tells_subscribers_they_lagged() {
    let subject = fresh_subject();
    let bus = connect(&subject).await;
    let mut subscription = bus.subscribe();
    // Drain the connect notice, then publish as a foreign node whose batch 2 never arrives.
    let raw = async_nats::connect(nats_url()).await.unwrap();
    let events = format!("{subject}.events");
    raw.publish(events.clone(), encode_batch(42, 1, &[envelope(3, 1)]))
        .await
        .unwrap();
    raw.publish(events.clone(), encode_batch(42, 3, &[envelope(3, 3)]))
        .await
        .unwrap();
    raw.publish(events, Bytes::from_static(b"not a batch"))
        .await
        .unwrap();
    raw.flush().await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match next(&mut subscription).await {
            Received::Event(envelope) => seen.push(format!("event {:?}", envelope.route)),
            Received::Lagged if seen.is_empty() => {} // the connect notice
            Received::Lagged => seen.push("lagged".into()),
            Received::Charge(_) => panic!("no charges were sent"),
        }
    }
    assert_eq!(seen[0], format!("event {:?}", envelope(3, 1).route));
    assert_eq!(seen[1], "lagged", "the jump from 1 to 3 is a loss");
    assert_eq!(seen[2], format!("event {:?}", envelope(3, 3).route));
    // The malformed message is dropped without disturbing anything.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), subscription.next())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_at_start() {
    let error = NatsBus::connect("nats://127.0.0.1:1", "kolokol")
        .await
        .err()
        .expect("connecting to a closed port fails");
    assert!(error.to_string().contains("NATS"));
}
