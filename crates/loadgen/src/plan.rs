//! What the coordinator tells each worker process, and what the worker reports back: one JSON
//! line each way over the worker's stdin and stdout.

use std::collections::HashMap;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use serde::{Deserialize, Serialize};

/// The server under load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Target {
    /// A `kolokol serve`: clients sign in with tokens, send over REST, receive `message.new`.
    Kolokol { base: String },
    /// The floor: a bare WebSocket broadcast server, no storage, no auth (see `floor`).
    Floor { base: String },
    /// Matrix Synapse: devices sync with `/sync` long polls and send with `PUT`; chat id `n` is
    /// the room `rooms[n - 1]`.
    Synapse { base: String, rooms: Vec<String> },
}

/// One simulated device: its session token and the chats it may send into.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Device {
    pub token: String,
    /// For the floor, the one group this device's connection joins.
    pub chats: Vec<i64>,
    /// Whether this device sends (it always receives).
    pub sends: bool,
}

/// A span of the run with a constant offered send rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// Messages per second this worker offers during the step.
    pub rate: f64,
    pub seconds: f64,
    /// Send only into this chat during the step (its senders must be members).
    pub chat: Option<i64>,
}

/// Drop every connection at `at_seconds` into the run and reconnect them all, spread over
/// `spread_seconds`, resuming from each device's last cursor.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Storm {
    pub at_seconds: f64,
    pub spread_seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub target: Target,
    pub local_address: IpAddr,
    pub devices: Vec<Device>,
    /// Members of each chat, all online: how many deliveries one send should make.
    pub chat_sizes: HashMap<i64, u64>,
    pub steps: Vec<Step>,
    /// How long to keep receiving after the last step.
    pub drain_seconds: f64,
    pub storm: Option<Storm>,
}

/// Sent by the coordinator once every worker has connected: when the first step begins.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Go {
    pub start_ns: u64,
}

/// What happened in one step, counted by the intended send time of each message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    pub offered: u64,
    pub acknowledged: u64,
    pub send_errors: u64,
    /// Deliveries the acknowledged sends should make (chat sizes).
    pub expected: u64,
    pub delivered: u64,
    /// Send → receive latency in microseconds, from the intended send time.
    #[serde(with = "histogram_base64")]
    pub latency_us: Histogram<u64>,
}

impl StepReport {
    pub fn new() -> StepReport {
        StepReport {
            offered: 0,
            acknowledged: 0,
            send_errors: 0,
            expected: 0,
            delivered: 0,
            latency_us: new_histogram(),
        }
    }

    pub fn add(&mut self, other: &StepReport) {
        self.offered += other.offered;
        self.acknowledged += other.acknowledged;
        self.send_errors += other.send_errors;
        self.expected += other.expected;
        self.delivered += other.delivered;
        self.latency_us
            .add(&other.latency_us)
            .expect("histograms of the same bounds add");
    }
}

/// Latencies from 1 µs to 10 minutes at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub connected: u64,
    pub connect_errors: u64,
    /// Connections that ended while they should have stayed.
    pub dropped: u64,
    /// The first failure a device met (a failed send, a sync error), to tell what went wrong.
    pub first_error: Option<String>,
    /// `message.new` events seen twice, or with a seq that skipped one, per device and chat.
    pub duplicates: u64,
    pub gaps: u64,
    pub steps: Vec<StepReport>,
    /// With a storm: for each device that resumed, milliseconds from the drop until it had its
    /// `ready` again, and from its own reconnect until then.
    pub storm_since_drop_ms: Vec<f64>,
    pub storm_catch_up_ms: Vec<f64>,
    pub storm_reconnect_errors: u64,
}

mod histogram_base64 {
    use super::*;

    pub fn serialize<S: serde::Serializer>(
        histogram: &Histogram<u64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(histogram, &mut bytes)
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Histogram<u64>, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = STANDARD.decode(text).map_err(serde::de::Error::custom)?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_reports_survive_the_trip_through_json() {
        let mut report = StepReport::new();
        report.delivered = 3;
        for value in [120, 450, 9_000] {
            report.latency_us.record(value).unwrap();
        }
        let json = serde_json::to_string(&report).unwrap();
        let back: StepReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back.delivered, 3);
        assert_eq!(back.latency_us.len(), 3);
        assert_eq!(
            back.latency_us.value_at_quantile(1.0),
            report.latency_us.value_at_quantile(1.0)
        );
    }
}
