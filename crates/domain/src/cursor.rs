//! Resume cursors.
//!
//! Events live in many small ordered streams rather than one global one: each chat has its own
//! event positions (1, 2, 3…, assigned while the chat's row is locked, so within a chat commit
//! order is position order even with several nodes writing to PostgreSQL), and each user has a
//! stream for account-level events. A cursor is the position reached in every stream the client
//! follows. Missing a chat in the cursor means "from when I joined it".
//!
//! Resuming therefore never depends on a global commit order, and a client that sees position 42
//! of a chat has seen 1–41 of it, because a connection delivers each chat's events in order and
//! fills any gap from the store before going on.
//!
//! Encoding: base64url (no padding) of a version byte, then LEB128 varints: the user position,
//! the number of chats, and for each chat (sorted by id) the id delta from the previous one and
//! the position. Opaque to clients; the version byte lets the format change later.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kolokol_proto::{ChatId, ErrorCode};

use crate::{Rejection, Route};

const VERSION: u8 = 1;
/// A cursor longer than this is refused before decoding: no client follows that many chats.
const MAX_ENCODED_LEN: usize = 64 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Position in the user's own stream of account-level events.
    pub user_pos: i64,
    /// Position reached in each chat's event stream.
    pub chats: BTreeMap<ChatId, i64>,
}

impl Cursor {
    /// Moves past a durable event at `route` (ephemeral ones have no position).
    pub fn advance(&mut self, route: &Route) {
        match *route {
            Route::Chat { chat_id, pos, .. } => {
                self.chats.insert(chat_id, pos);
            }
            Route::User { pos, .. } => self.user_pos = pos,
            Route::Ephemeral { .. } => {}
        }
    }

    pub fn encode(&self) -> String {
        let mut text = String::new();
        self.encode_into(&mut text, &mut Vec::new());
        text
    }

    /// Appends the encoded cursor to `text`, using `scratch` for the bytes before base64: a
    /// connection stamps a cursor on every frame, and reusing its buffers saves two
    /// allocations each time.
    pub fn encode_into(&self, text: &mut String, scratch: &mut Vec<u8>) {
        scratch.clear();
        scratch.push(VERSION);
        put_varint(scratch, self.user_pos as u64);
        put_varint(scratch, self.chats.len() as u64);
        let mut previous = 0u64;
        for (&chat, &pos) in &self.chats {
            put_varint(scratch, chat as u64 - previous);
            put_varint(scratch, pos as u64);
            previous = chat as u64;
        }
        URL_SAFE_NO_PAD.encode_string(&*scratch, text);
    }

    pub fn decode(text: &str) -> Result<Cursor, Rejection> {
        let bad = || Rejection::new(ErrorCode::InvalidCursor, "the cursor is not valid");
        if text.len() > MAX_ENCODED_LEN {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let mut input = bytes.as_slice();
        if take_byte(&mut input) != Some(VERSION) {
            return Err(bad());
        }
        let user_pos = take_position(&mut input).ok_or_else(bad)?;
        let count = take_varint(&mut input).ok_or_else(bad)?;
        // Each entry takes at least two bytes, so a larger count is a lie.
        if count > input.len() as u64 / 2 {
            return Err(bad());
        }
        let mut chats = BTreeMap::new();
        let mut chat = 0i64;
        for index in 0..count {
            let delta = take_position(&mut input).ok_or_else(bad)?;
            if index > 0 && delta == 0 {
                return Err(bad());
            }
            chat = chat.checked_add(delta).filter(|&c| c > 0).ok_or_else(bad)?;
            let pos = take_position(&mut input).ok_or_else(bad)?;
            chats.insert(chat, pos);
        }
        if !input.is_empty() {
            return Err(bad());
        }
        Ok(Cursor { user_pos, chats })
    }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn take_byte(input: &mut &[u8]) -> Option<u8> {
    let (&first, rest) = input.split_first()?;
    *input = rest;
    Some(first)
}

fn take_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = take_byte(input)?;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// A varint that must fit a non-negative i64 (ids and positions stay below 2^53 anyway).
fn take_position(input: &mut &[u8]) -> Option<i64> {
    take_varint(input).and_then(|v| i64::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn round_trips(user_pos in 0i64..1 << 53, chats in proptest::collection::btree_map(1i64..1 << 53, 0i64..1 << 53, 0..50)) {
            let cursor = Cursor { user_pos, chats };
            prop_assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor.clone());
            // Appending after other text, with a dirty scratch buffer, writes the same cursor.
            let (mut text, mut scratch) = (String::from("prefix"), vec![9u8; 7]);
            cursor.encode_into(&mut text, &mut scratch);
            prop_assert_eq!(text.strip_prefix("prefix").unwrap(), cursor.encode());
        }

        #[test]
        fn garbage_is_refused_never_panics(text in ".{0,200}") {
            if let Err(rejection) = Cursor::decode(&text) {
                prop_assert_eq!(rejection.code, ErrorCode::InvalidCursor);
            }
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = Cursor::decode(&URL_SAFE_NO_PAD.encode(bytes));
        }
    }

    #[test]
    fn empty_cursor_is_short() {
        assert_eq!(Cursor::default().encode(), "AQAA");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = URL_SAFE_NO_PAD.decode(Cursor::default().encode()).unwrap();
        bytes.push(0);
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(bytes)).is_err());
    }
}
