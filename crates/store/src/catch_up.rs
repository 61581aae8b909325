//! Planning a catch-up, the same for every backend: where each followed stream resumes and
//! whether the cursor reaches into events already pruned. A backend reads the [`Streams`] (in one
//! snapshot with the events it then reads) and the events the [`Plan`] names.

use kolokol_domain::Cursor;
use kolokol_proto::ChatId;

/// The streams a user follows, as stored now: their own and every chat they are in.
#[derive(Debug, Clone, Default)]
pub struct Streams {
    /// The head of the user's own stream.
    pub user_pos: i64,
    /// Events of the user's stream up to here were pruned.
    pub user_pruned: i64,
    /// In ascending chat id order.
    pub chats: Vec<FollowedChat>,
}

#[derive(Debug, Clone)]
pub struct FollowedChat {
    pub chat_id: ChatId,
    /// The position from which the user sees the chat's stream (their joining, or its creation).
    pub joined_pos: i64,
    /// The head of the chat's stream.
    pub event_pos: i64,
    /// Events of the chat up to here were pruned.
    pub pruned: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The cursor reaches into pruned events: the client re-reads over REST and goes on from
    /// `current`.
    Resync {
        current: Cursor,
    },
    Read(Reads),
}

/// The events to read, each stream after a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reads {
    /// The user's own stream has events after this position (`None`: nothing new there).
    pub user_after: Option<i64>,
    /// Each chat with events after the position it resumes at, in ascending chat id order.
    pub chats: Vec<(ChatId, i64)>,
}

impl Streams {
    /// The cursor that stands for "now": the head of every stream.
    pub fn current(&self) -> Cursor {
        Cursor {
            user_pos: self.user_pos,
            chats: self
                .chats
                .iter()
                .map(|chat| (chat.chat_id, chat.event_pos))
                .collect(),
        }
    }

    /// What to read for a client at `cursor`. Each chat resumes after the cursor's position but
    /// never before the user joined it; a chat the cursor does not name is read from the join on.
    pub fn plan(&self, cursor: &Cursor) -> Plan {
        let mut pruned_away = cursor.user_pos < self.user_pruned;
        let mut chats = Vec::new();
        for chat in &self.chats {
            let joined = chat.joined_pos - 1;
            let after = cursor
                .chats
                .get(&chat.chat_id)
                .map_or(joined, |&pos| pos.max(joined));
            pruned_away |= after < chat.pruned;
            if after < chat.event_pos {
                chats.push((chat.chat_id, after));
            }
        }
        if pruned_away {
            return Plan::Resync {
                current: self.current(),
            };
        }
        Plan::Read(Reads {
            user_after: (cursor.user_pos < self.user_pos).then_some(cursor.user_pos),
            chats,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(chat_id: ChatId, joined_pos: i64, event_pos: i64, pruned: i64) -> FollowedChat {
        FollowedChat {
            chat_id,
            joined_pos,
            event_pos,
            pruned,
        }
    }

    fn cursor(user_pos: i64, chats: &[(ChatId, i64)]) -> Cursor {
        Cursor {
            user_pos,
            chats: chats.iter().copied().collect(),
        }
    }

    #[test]
    fn chats_resume_at_the_cursor_but_never_before_joining() {
        let streams = Streams {
            user_pos: 3,
            user_pruned: 0,
            chats: vec![
                chat(1, 5, 9, 0),
                chat(2, 1, 4, 0),
                chat(3, 2, 6, 0),
                chat(4, 1, 2, 0),
            ],
        };
        let plan = streams.plan(&cursor(1, &[(1, 2), (2, 3), (4, 2)]));
        assert_eq!(
            plan,
            Plan::Read(Reads {
                user_after: Some(1),
                // Chat 1 from the join (position 5), chat 2 after the cursor, chat 3 (not in
                // the cursor) from the join, chat 4 has nothing new.
                chats: vec![(1, 4), (2, 3), (3, 1)],
            })
        );
    }

    #[test]
    fn nothing_new_in_the_user_stream_is_not_read() {
        let streams = Streams {
            user_pos: 3,
            ..Streams::default()
        };
        let Plan::Read(reads) = streams.plan(&cursor(3, &[])) else {
            panic!("no resync expected");
        };
        assert_eq!(reads.user_after, None);
    }

    #[test]
    fn reaching_into_pruned_events_resyncs_to_the_heads() {
        let streams = Streams {
            user_pos: 7,
            user_pruned: 2,
            chats: vec![chat(1, 1, 9, 4)],
        };
        let current = cursor(7, &[(1, 9)]);
        let resync = Plan::Resync {
            current: current.clone(),
        };
        assert_eq!(streams.plan(&cursor(1, &[(1, 5)])), resync);
        assert_eq!(streams.plan(&cursor(2, &[(1, 3)])), resync);
        assert!(matches!(streams.plan(&cursor(2, &[(1, 4)])), Plan::Read(_)));
        assert_eq!(streams.current(), current);
    }
}
