//! How a chat's events are stored, the same in every backend: `message.new` and `message.edited`
//! as a pointer to the message's row, so they are read back as the message is now (a deleted
//! message's text leaves the log too); every other event whole, as JSON.

use kolokol_proto::{Event, Message, Seq};

const MESSAGE_NEW: &str = "message.new";
const MESSAGE_EDITED: &str = "message.edited";
const OTHER: &str = "other";

/// The columns one chat event is stored as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub kind: &'static str,
    /// The seq of the message a pointer names.
    pub msg_seq: Option<Seq>,
    /// The event as JSON, for everything but pointers.
    pub payload: Option<String>,
}

impl StoredEvent {
    pub fn of(event: &Event) -> serde_json::Result<StoredEvent> {
        let pointer = |kind, seq| StoredEvent {
            kind,
            msg_seq: Some(seq),
            payload: None,
        };
        Ok(match event {
            Event::MessageNew { message } => pointer(MESSAGE_NEW, message.seq),
            Event::MessageEdited { message } => pointer(MESSAGE_EDITED, message.seq),
            other => StoredEvent {
                kind: OTHER,
                msg_seq: None,
                payload: Some(serde_json::to_string(other)?),
            },
        })
    }
}

/// The event a stored row stands for; `message` reads the message a pointer names, as it is now.
/// `None` for a row that is neither a pointer nor a payload.
pub fn restore<E: From<serde_json::Error>>(
    kind: &str,
    msg_seq: Option<Seq>,
    payload: Option<&str>,
    message: impl FnOnce(Seq) -> Result<Message, E>,
) -> Result<Option<Event>, E> {
    Ok(Some(match (msg_seq, payload) {
        (Some(seq), _) => {
            let message = message(seq)?;
            if kind == MESSAGE_EDITED {
                Event::MessageEdited { message }
            } else {
                Event::MessageNew { message }
            }
        }
        (None, Some(payload)) => serde_json::from_str(payload)?,
        (None, None) => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: Seq, text: &str) -> Message {
        Message {
            id: seq,
            chat_id: 1,
            seq,
            sender_id: 1,
            client_msg_id: format!("c{seq}"),
            text: text.into(),
            reply_to: None,
            mentions: Vec::new(),
            reactions: Vec::new(),
            created_at: 0,
            edited_at: None,
            deleted: false,
            poll: None,
            thread_of: None,
            keyboard: Vec::new(),
            markup: Vec::new(),
            attachments: Vec::new(),
            mls: None,
        }
    }

    /// Stores `event` and reads it back with `now` as the current state of any message.
    fn round_trip(event: &Event, now: Message) -> Option<Event> {
        let stored = StoredEvent::of(event).unwrap();
        restore::<serde_json::Error>(
            stored.kind,
            stored.msg_seq,
            stored.payload.as_deref(),
            |seq| {
                assert_eq!(seq, now.seq);
                Ok(now)
            },
        )
        .unwrap()
    }

    #[test]
    fn message_events_point_at_the_message_and_show_it_as_it_is_now() {
        let new = Event::MessageNew {
            message: message(4, "first"),
        };
        let edited = Event::MessageEdited {
            message: message(4, "second"),
        };
        assert_eq!(StoredEvent::of(&new).unwrap().payload, None);
        let deleted = message(4, "");
        assert_eq!(
            round_trip(&new, deleted.clone()),
            Some(Event::MessageNew {
                message: deleted.clone()
            })
        );
        assert_eq!(
            round_trip(&edited, deleted.clone()),
            Some(Event::MessageEdited { message: deleted })
        );
    }

    #[test]
    fn other_events_are_kept_whole() {
        let event = Event::MessageDeleted { chat_id: 1, seq: 4 };
        let stored = StoredEvent::of(&event).unwrap();
        assert_eq!((stored.kind, stored.msg_seq), ("other", None));
        assert_eq!(round_trip(&event, message(0, "unused")), Some(event));
    }

    #[test]
    fn an_empty_row_is_skipped() {
        let restored = restore::<serde_json::Error>("other", None, None, |_| unreachable!());
        assert_eq!(restored.unwrap(), None);
    }
}
