//! Kolokol's ids as Max spells them.
//!
//! - A user's id is the same number.
//! - A direct chat ("dialog") keeps its id; a group or channel is its id negated, as Max's own
//!   group ids are negative. Chat ids are unique across kinds, so either sign parses.
//! - A message is `mid.` + 16 hex digits of the Max chat id (two's complement) + 16 of its seq.
//!   A message still held by quiet hours has the top seq bit set over its held id.
//! - A press of a callback button is `cb.` + its number. Only the bot whose button it was may
//!   answer it, so the number need not be secret.

use kolokol_proto::{ChatId, ChatKind, Seq};

/// The Max id of a chat of this kind.
pub fn max_chat_id(kind: ChatKind, chat_id: ChatId) -> i64 {
    match kind {
        ChatKind::Direct => chat_id,
        ChatKind::Group | ChatKind::Channel => -chat_id,
    }
}

/// Kolokol's id of a chat Max names with either sign.
pub fn chat_id_of(max_chat_id: i64) -> ChatId {
    max_chat_id.saturating_abs()
}

/// Seqs at or above this mark a message held for later, not yet in the chat.
const HELD: u64 = 1 << 62;

/// What a Max message id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRef {
    /// A message in a chat.
    Stored { chat_id: ChatId, seq: Seq },
    /// A message held by quiet hours or do-not-disturb.
    Held { chat_id: ChatId, held_id: i64 },
}

/// The Max id of message `seq` in a chat (given by its Max id).
pub fn mid(max_chat_id: i64, seq: Seq) -> String {
    format!("mid.{:016x}{:016x}", max_chat_id as u64, seq as u64)
}

/// The Max id of a held message.
pub fn held_mid(max_chat_id: i64, held_id: i64) -> String {
    format!(
        "mid.{:016x}{:016x}",
        max_chat_id as u64,
        HELD | held_id as u64
    )
}

/// The message a Max id names, if it is one of ours.
pub fn parse_mid(mid: &str) -> Option<MessageRef> {
    let hex = mid.strip_prefix("mid.")?;
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let chat = u64::from_str_radix(&hex[..16], 16).ok()? as i64;
    let number = u64::from_str_radix(&hex[16..], 16).ok()?;
    let chat_id = chat_id_of(chat);
    Some(if number >= HELD {
        let held_id = (number & !HELD) as i64;
        MessageRef::Held { chat_id, held_id }
    } else {
        let seq = number as i64;
        MessageRef::Stored { chat_id, seq }
    })
}

/// The Max id of a press of a callback button.
pub fn callback_id(id: i64) -> String {
    format!("cb.{id}")
}

/// The press a Max callback id names, if it is one of ours.
pub fn parse_callback_id(callback_id: &str) -> Option<i64> {
    let digits = callback_id.strip_prefix("cb.")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn groups_are_negative_and_dialogs_positive() {
        assert_eq!(max_chat_id(ChatKind::Direct, 42), 42);
        assert_eq!(max_chat_id(ChatKind::Group, 57), -57);
        assert_eq!(max_chat_id(ChatKind::Channel, 57), -57);
        assert_eq!((chat_id_of(-57), chat_id_of(57)), (57, 57));
        assert_eq!(mid(42, 5), "mid.000000000000002a0000000000000005");
    }

    #[test]
    fn foreign_or_malformed_ids_are_not_ours() {
        for bad in [
            "",
            "mid.",
            "mid.xyz",
            "42",
            "mid.000000000000002a000000000000000",
            "mid.000000000000002a00000000000000050",
        ] {
            assert_eq!(parse_mid(bad), None, "{bad}");
        }
        for bad in [
            "",
            "cb.",
            "cb.-1",
            "cb.+1",
            "cb.1a",
            "1",
            "cb.99999999999999999999",
        ] {
            assert_eq!(parse_callback_id(bad), None, "{bad}");
        }
        assert_eq!(parse_callback_id(&callback_id(17)), Some(17));
    }

    proptest! {
        #[test]
        fn message_ids_round_trip(chat in 1i64..1 << 53, group in any::<bool>(), seq in 1i64..1 << 53, held in any::<bool>()) {
            let kind = if group { ChatKind::Group } else { ChatKind::Direct };
            let max_chat = max_chat_id(kind, chat);
            if held {
                prop_assert_eq!(parse_mid(&held_mid(max_chat, seq)), Some(MessageRef::Held { chat_id: chat, held_id: seq }));
            } else {
                prop_assert_eq!(parse_mid(&mid(max_chat, seq)), Some(MessageRef::Stored { chat_id: chat, seq }));
            }
        }
    }
}
