//! The bytes the NATS bus sends between nodes.
//!
//! A batch is what one write committed: `version`, the publishing node's id and its batch
//! number (so a receiver notices a lost batch as a jump in numbers), the envelope count, then
//! each envelope as its route in fixed-width fields followed by the event JSON with its length. Little-endian
//! throughout. Decoding never panics: anything malformed is an error.

use bytes::{BufMut, Bytes, BytesMut};
use kolokol_domain::{MembershipChange, Route};

use crate::{Charge, Envelope};

const VERSION: u8 = 1;
/// Version, node, number and count.
const HEADER: usize = 1 + 8 + 8 + 4;

const CHAT: u8 = 0;
const CHAT_MEMBERSHIP: u8 = 1;
const USER: u8 = 2;
const EPHEMERAL: u8 = 3;

#[derive(Debug, PartialEq, Eq)]
pub struct Batch {
    pub node: u64,
    pub number: u64,
    pub envelopes: Vec<Envelope>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed bus message")]
pub struct Malformed;

pub fn encode_batch<E: AsRef<Envelope>>(node: u64, number: u64, envelopes: &[E]) -> Bytes {
    let size: usize = envelopes
        .iter()
        .map(|e| 1 + 4 * 8 + 1 + 4 + e.as_ref().json.len())
        .sum();
    let mut out = BytesMut::with_capacity(HEADER + size);
    out.put_u8(VERSION);
    out.put_u64_le(node);
    out.put_u64_le(number);
    out.put_u32_le(envelopes.len() as u32);
    for envelope in envelopes {
        let envelope = envelope.as_ref();
        match envelope.route {
            Route::Chat {
                chat_id,
                pos,
                membership: None,
            } => {
                out.put_u8(CHAT);
                out.put_i64_le(chat_id);
                out.put_i64_le(pos);
            }
            Route::Chat {
                chat_id,
                pos,
                membership: Some(change),
            } => {
                out.put_u8(CHAT_MEMBERSHIP);
                out.put_i64_le(chat_id);
                out.put_i64_le(pos);
                out.put_i64_le(change.user_id);
                out.put_u8(u8::from(change.joined));
            }
            Route::User { user_id, pos } => {
                out.put_u8(USER);
                out.put_i64_le(user_id);
                out.put_i64_le(pos);
            }
            Route::Ephemeral { chat_id, from } => {
                out.put_u8(EPHEMERAL);
                out.put_i64_le(chat_id);
                out.put_i64_le(from);
            }
        }
        out.put_u32_le(envelope.json.len() as u32);
        out.put_slice(&envelope.json);
    }
    out.freeze()
}

pub fn decode_batch(bytes: &Bytes) -> Result<Batch, Malformed> {
    let mut reader = Reader { bytes, at: 0 };
    if reader.u8()? != VERSION {
        return Err(Malformed);
    }
    let node = reader.u64()?;
    let number = reader.u64()?;
    let count = reader.u32()? as usize;
    // Each envelope takes at least 21 bytes, which bounds what a lying count can allocate.
    let mut envelopes = Vec::with_capacity(count.min(bytes.len() / 21));
    for _ in 0..count {
        let route = match reader.u8()? {
            CHAT => Route::Chat {
                chat_id: reader.i64()?,
                pos: reader.i64()?,
                membership: None,
            },
            CHAT_MEMBERSHIP => Route::Chat {
                chat_id: reader.i64()?,
                pos: reader.i64()?,
                membership: Some(MembershipChange {
                    user_id: reader.i64()?,
                    joined: match reader.u8()? {
                        0 => false,
                        1 => true,
                        _ => return Err(Malformed),
                    },
                }),
            },
            USER => Route::User {
                user_id: reader.i64()?,
                pos: reader.i64()?,
            },
            EPHEMERAL => Route::Ephemeral {
                chat_id: reader.i64()?,
                from: reader.i64()?,
            },
            _ => return Err(Malformed),
        };
        let len = reader.u32()? as usize;
        let json = reader.take(len)?;
        envelopes.push(Envelope { route, json });
    }
    if reader.at != bytes.len() {
        return Err(Malformed);
    }
    Ok(Batch {
        node,
        number,
        envelopes,
    })
}

pub fn encode_charge(node: u64, charge: &Charge) -> Bytes {
    let mut out = BytesMut::with_capacity(2 + 8 + charge.key.len());
    out.put_u8(VERSION);
    out.put_u64_le(node);
    out.put_u8(charge.limiter);
    out.put_slice(&charge.key);
    out.freeze()
}

pub fn decode_charge(bytes: &Bytes) -> Result<(u64, Charge), Malformed> {
    let mut reader = Reader { bytes, at: 0 };
    if reader.u8()? != VERSION {
        return Err(Malformed);
    }
    let node = reader.u64()?;
    let limiter = reader.u8()?;
    let key = reader.take(16)?;
    if reader.at != bytes.len() {
        return Err(Malformed);
    }
    let key = key[..].try_into().map_err(|_| Malformed)?;
    Ok((node, Charge { limiter, key }))
}

struct Reader<'a> {
    bytes: &'a Bytes,
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Result<Bytes, Malformed> {
        let end = self.at.checked_add(len).ok_or(Malformed)?;
        if end > self.bytes.len() {
            return Err(Malformed);
        }
        let taken = self.bytes.slice(self.at..end);
        self.at = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let taken = self.take(N)?;
        taken[..].try_into().map_err(|_| Malformed)
    }

    fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, Malformed> {
        Ok(i64::from_le_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn route() -> impl Strategy<Value = Route> {
        prop_oneof![
            (any::<i64>(), any::<i64>(), any::<Option<(i64, bool)>>()).prop_map(
                |(chat_id, pos, change)| Route::Chat {
                    chat_id,
                    pos,
                    membership: change
                        .map(|(user_id, joined)| MembershipChange { user_id, joined }),
                }
            ),
            (any::<i64>(), any::<i64>()).prop_map(|(user_id, pos)| Route::User { user_id, pos }),
            (any::<i64>(), any::<i64>())
                .prop_map(|(chat_id, from)| Route::Ephemeral { chat_id, from }),
        ]
    }

    fn envelope() -> impl Strategy<Value = Envelope> {
        (route(), any::<Vec<u8>>()).prop_map(|(route, json)| Envelope {
            route,
            json: Bytes::from(json),
        })
    }

    proptest! {
        #[test]
        fn batches_round_trip(node: u64, number: u64, envelopes in prop::collection::vec(envelope(), 0..8)) {
            let encoded = encode_batch(node, number, &envelopes);
            let decoded = decode_batch(&encoded).unwrap();
            prop_assert_eq!(decoded, Batch { node, number, envelopes });
        }

        #[test]
        fn charges_round_trip(node: u64, limiter: u8, key: [u8; 16]) {
            let charge = Charge { limiter, key };
            prop_assert_eq!(decode_charge(&encode_charge(node, &charge)).unwrap(), (node, charge));
        }

        /// Whatever arrives on the subject, decoding answers without panicking.
        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            let bytes = Bytes::from(bytes);
            let _ = decode_batch(&bytes);
            let _ = decode_charge(&bytes);
        }

        /// A batch cut short anywhere, or with bytes after its end, is refused, never half-read.
        #[test]
        fn damaged_batches_are_refused(envelopes in prop::collection::vec(envelope(), 1..4), cut: prop::sample::Index, extra: u8) {
            let encoded = encode_batch(1, 1, &envelopes);
            prop_assert_eq!(decode_batch(&encoded.slice(..cut.index(encoded.len()))), Err(Malformed));
            let mut longer = encoded.to_vec();
            longer.push(extra);
            prop_assert_eq!(decode_batch(&Bytes::from(longer)), Err(Malformed));
        }
    }
}
