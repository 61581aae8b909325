//! What people compare to know they talk to each other's real devices, computed alike in Rust and
//! in the browser (web/src/lib/mls/safety.ts; both check tests/mls/vectors.json):
//!
//! - a contact's **safety number**: 60 digits from both users' device signing keys, the same on
//!   both sides; it changes when either adds or replaces a device (a "ghost" device too);
//! - a group's **epoch code**: 30 digits from the MLS epoch authenticator, equal on every member's
//!   device at the same epoch only if they all hold the same group state.

use sha2::{Digest, Sha256};

const LABEL: &[u8] = b"kolokol safety v1";

/// A user's devices, by their signing keys (in any order).
pub fn fingerprint(user_id: i64, signature_keys: &[Vec<u8>]) -> [u8; 32] {
    let mut keys: Vec<&Vec<u8>> = signature_keys.iter().collect();
    keys.sort();
    let mut hash = Sha256::new();
    hash.update(LABEL);
    hash.update(user_id.to_be_bytes());
    for key in keys {
        hash.update(key);
    }
    hash.finalize().into()
}

/// Six groups of five digits from the first 30 bytes (as Signal shows its numbers).
fn digits(bytes: &[u8]) -> Vec<String> {
    bytes[..30]
        .chunks(5)
        .map(|chunk| {
            let value = chunk
                .iter()
                .fold(0u64, |value, &byte| value << 8 | u64::from(byte));
            format!("{:05}", value % 100_000)
        })
        .collect()
}

/// The safety number of two users, the same whoever computes it: the lower user id's half first.
pub fn safety_number(one: (i64, &[Vec<u8>]), other: (i64, &[Vec<u8>])) -> String {
    let (low, high) = if one.0 <= other.0 {
        (one, other)
    } else {
        (other, one)
    };
    let mut groups = digits(&fingerprint(low.0, low.1));
    groups.extend(digits(&fingerprint(high.0, high.1)));
    groups.join(" ")
}

/// What a QR code of the safety number carries, for the other side to compare.
pub fn safety_code(one: (i64, &[Vec<u8>]), other: (i64, &[Vec<u8>])) -> String {
    let (low, high) = if one.0 <= other.0 {
        (one, other)
    } else {
        (other, one)
    };
    let hex = |bytes: [u8; 32]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    format!(
        "kolokol-safety:1:{}:{}:{}:{}",
        low.0,
        hex(fingerprint(low.0, low.1)),
        high.0,
        hex(fingerprint(high.0, high.1))
    )
}

/// A group's epoch code: 30 digits of its epoch authenticator.
pub fn epoch_code(epoch_authenticator: &[u8]) -> String {
    digits(epoch_authenticator).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> serde_json::Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/mls/vectors.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn keys(value: &serde_json::Value) -> Vec<Vec<u8>> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|hex| {
                let hex = hex.as_str().unwrap();
                (0..hex.len())
                    .step_by(2)
                    .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn safety_numbers_and_epoch_codes_match_the_shared_vectors() {
        for vector in vectors()["safety"].as_array().unwrap() {
            let (a, b) = (&vector["a"], &vector["b"]);
            let a_keys = keys(&a["keys"]);
            let b_keys = keys(&b["keys"]);
            let a = (a["user_id"].as_i64().unwrap(), a_keys.as_slice());
            let b = (b["user_id"].as_i64().unwrap(), b_keys.as_slice());
            assert_eq!(safety_number(a, b), vector["number"]);
            assert_eq!(
                safety_number(b, a),
                vector["number"],
                "the same from both sides"
            );
            assert_eq!(safety_code(a, b), vector["code"]);
        }
        for vector in vectors()["epoch"].as_array().unwrap() {
            let authenticator = &keys(&serde_json::json!([vector["authenticator"]]))[0];
            assert_eq!(epoch_code(authenticator), vector["code"]);
        }
    }

    #[test]
    fn a_new_or_replaced_device_changes_the_number() {
        let anna = vec![vec![1u8; 32]];
        let boris = vec![vec![2u8; 32]];
        let before = safety_number((1, &anna), (2, &boris));
        let ghost = vec![vec![2u8; 32], vec![9u8; 32]];
        assert_ne!(safety_number((1, &anna), (2, &ghost)), before);
        let reordered = vec![vec![9u8; 32], vec![2u8; 32]];
        assert_eq!(
            safety_number((1, &anna), (2, &ghost)),
            safety_number((1, &anna), (2, &reordered))
        );
        assert_eq!(before.len(), 12 * 5 + 11);
    }
}
