//! Property tests for the event wire format: every event survives a JSON round trip, and no
//! input, however malformed, makes decoding panic.

use kolokol_proto::{
    Attachment, AttachmentKind, Base64Bytes, Button, ChatInfo, ChatKind, ChatPrivacy, ClientFrame,
    Event, Keyboard, Markup, MarkupKind, Message, MlsKind, MlsPayload, Poll, PollTally, Posting,
    Reaction, Role, ServerFrame, User,
};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    // Cyrillic, emoji, quotes and escapes: the characters most likely to trip an encoder.
    "[a-zA-Zа-яА-ЯёЁ0-9 \"\\\\/<>&😀\n\t]{0,40}"
}

fn user() -> impl Strategy<Value = User> {
    let username = proptest::option::of(text());
    (1i64..1 << 53, username, text(), text(), any::<bool>()).prop_map(
        |(id, username, display_name, about, is_bot)| User {
            id,
            username,
            display_name,
            about,
            is_bot,
        },
    )
}

fn message() -> impl Strategy<Value = Message> {
    (
        (1i64..1 << 53, 1i64..1 << 53, 1i64..1 << 53, 1i64..1 << 53),
        (text(), text(), proptest::option::of(1i64..1000)),
        proptest::collection::vec(1i64..1000, 0..4),
        proptest::collection::vec((text(), proptest::collection::vec(1i64..1000, 1..3)), 0..3),
        (
            0i64..1 << 50,
            proptest::option::of(0i64..1 << 50),
            any::<bool>(),
        ),
        (
            proptest::option::of(poll()),
            proptest::option::of(1i64..1000),
            keyboard(),
            proptest::collection::vec(markup(), 0..3),
            proptest::collection::vec(attachment(), 0..3),
            proptest::option::of(mls()),
        ),
    )
        .prop_map(
            |(
                (id, chat_id, seq, sender_id),
                (client_msg_id, text, reply_to),
                mentions,
                reactions,
                (created_at, edited_at, deleted),
                (poll, thread_of, keyboard, markup, attachments, mls),
            )| Message {
                id,
                chat_id,
                seq,
                sender_id,
                client_msg_id,
                text,
                reply_to,
                mentions,
                reactions: reactions
                    .into_iter()
                    .map(|(emoji, user_ids)| Reaction { emoji, user_ids })
                    .collect(),
                created_at,
                edited_at,
                deleted,
                poll,
                thread_of,
                keyboard,
                markup,
                attachments,
                mls,
            },
        )
}

fn mls() -> impl Strategy<Value = MlsPayload> {
    (
        prop_oneof![Just(MlsKind::Application), Just(MlsKind::Commit)],
        any::<u64>(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
    )
        .prop_map(|(kind, epoch, data)| MlsPayload {
            kind,
            epoch,
            data: data.map(Base64Bytes),
        })
}

fn attachment() -> impl Strategy<Value = Attachment> {
    let kind = prop_oneof![
        Just(AttachmentKind::Image),
        Just(AttachmentKind::Video),
        Just(AttachmentKind::Audio),
        Just(AttachmentKind::Voice),
        Just(AttachmentKind::File),
    ];
    (
        (1i64..1 << 53, kind, text(), 0u64..1 << 40),
        (
            proptest::option::of(text()),
            proptest::option::of(1u32..20_000),
        ),
        (
            proptest::option::of(0u64..1 << 30),
            proptest::collection::vec(any::<u8>(), 0..100),
            any::<bool>(),
        ),
    )
        .prop_map(
            |((id, kind, mime, size), (name, side), (duration_ms, waveform, thumb))| Attachment {
                id,
                kind,
                mime,
                size,
                name,
                width: side,
                height: side,
                duration_ms,
                waveform,
                thumb,
            },
        )
}

fn markup() -> impl Strategy<Value = Markup> {
    let kind = prop_oneof![
        Just(MarkupKind::Strong),
        Just(MarkupKind::Emphasized),
        Just(MarkupKind::Monospaced),
        Just(MarkupKind::Link),
        Just(MarkupKind::Strikethrough),
        Just(MarkupKind::Underline),
        Just(MarkupKind::UserMention),
        Just(MarkupKind::Heading),
        Just(MarkupKind::Highlighted),
    ];
    (
        kind,
        0u32..100,
        1u32..100,
        proptest::option::of(text()),
        proptest::option::of(1i64..1000),
    )
        .prop_map(|(kind, from, length, url, user_id)| Markup {
            kind,
            from,
            length,
            url,
            user_id,
        })
}

fn keyboard() -> impl Strategy<Value = Keyboard> {
    let button = prop_oneof![
        (text(), text()).prop_map(|(text, payload)| Button::Callback { text, payload }),
        (text(), text()).prop_map(|(text, url)| Button::Link { text, url }),
        text().prop_map(|text| Button::Message { text }),
        (text(), text()).prop_map(|(text, payload)| Button::Clipboard { text, payload }),
        text().prop_map(|text| Button::RequestContact { text }),
        (text(), proptest::option::of(any::<bool>()))
            .prop_map(|(text, quick)| Button::RequestGeoLocation { text, quick }),
        (
            text(),
            text(),
            proptest::option::of(text()),
            proptest::option::of(1i64..1000)
        )
            .prop_map(|(text, web_app, payload, contact_id)| Button::OpenApp {
                text,
                web_app,
                payload,
                contact_id
            }),
        (
            text(),
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(any::<i64>())
        )
            .prop_map(
                |(text, chat_title, chat_description, start_payload, uuid)| Button::Chat {
                    text,
                    chat_title,
                    chat_description,
                    start_payload,
                    uuid
                }
            ),
    ];
    proptest::collection::vec(proptest::collection::vec(button, 1..4), 0..3)
}

fn poll() -> impl Strategy<Value = Poll> {
    (
        proptest::collection::vec(text(), 2..5),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(0i64..1 << 50),
    )
        .prop_map(|(options, multiple, anonymous, closes_at)| Poll {
            options,
            multiple,
            anonymous,
            closes_at,
        })
}

fn tally() -> impl Strategy<Value = PollTally> {
    (
        proptest::collection::vec(0u32..100, 2..5),
        0u32..100,
        proptest::option::of(proptest::collection::vec(
            proptest::collection::vec(1i64..1000, 0..3),
            2..5,
        )),
    )
        .prop_map(|(counts, voters, voter_ids)| PollTally {
            counts,
            voters,
            voter_ids,
        })
}

fn chat_info() -> impl Strategy<Value = ChatInfo> {
    (
        1i64..1 << 53,
        prop_oneof![
            Just(ChatKind::Direct),
            Just(ChatKind::Group),
            Just(ChatKind::Channel)
        ],
        proptest::option::of(text()),
        0i64..10_000,
        prop_oneof![
            Just(Posting::Everyone),
            Just(Posting::Admins),
            Just(Posting::Nobody)
        ],
        0u32..3600,
        prop_oneof![Just(ChatPrivacy::Community), Just(ChatPrivacy::Encrypted)],
    )
        .prop_map(
            |(id, kind, title, member_count, posting, slow_mode_secs, privacy)| ChatInfo {
                id,
                kind,
                title,
                member_count,
                posting,
                slow_mode_secs,
                privacy,
            },
        )
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Owner), Just(Role::Admin), Just(Role::Member)]
}

fn event() -> impl Strategy<Value = Event> {
    let id = 1i64..1 << 53;
    prop_oneof![
        Just(Event::Ready {}),
        Just(Event::Resync {}),
        message().prop_map(|message| Event::MessageNew { message }),
        message().prop_map(|message| Event::MessageEdited { message }),
        (id.clone(), id.clone()).prop_map(|(chat_id, seq)| Event::MessageDeleted { chat_id, seq }),
        (id.clone(), id.clone(), id.clone(), text(), any::<bool>()).prop_map(
            |(chat_id, seq, user_id, emoji, added)| Event::Reaction {
                chat_id,
                seq,
                user_id,
                emoji,
                added
            }
        ),
        (id.clone(), id.clone(), id.clone()).prop_map(|(chat_id, user_id, seq)| Event::Read {
            chat_id,
            user_id,
            seq
        }),
        (id.clone(), id.clone()).prop_map(|(chat_id, user_id)| Event::Typing { chat_id, user_id }),
        (chat_info(), id.clone())
            .prop_map(|(chat, created_by)| Event::ChatCreated { chat, created_by }),
        (chat_info(), proptest::option::of(id.clone()), any::<bool>())
            .prop_map(|(chat, by, renamed)| Event::ChatUpdated { chat, by, renamed }),
        (id.clone(), user(), role(), proptest::option::of(id.clone())).prop_map(
            |(chat_id, user, role, by)| Event::MemberAdded {
                chat_id,
                user,
                role,
                by
            }
        ),
        (id.clone(), id.clone(), role()).prop_map(|(chat_id, user_id, role)| {
            Event::MemberUpdated {
                chat_id,
                user_id,
                role,
            }
        }),
        (id.clone(), id.clone(), proptest::option::of(id.clone())).prop_map(
            |(chat_id, user_id, by)| Event::MemberRemoved {
                chat_id,
                user_id,
                by
            }
        ),
        (id.clone(), id.clone(), proptest::option::of(0i64..1 << 50)).prop_map(
            |(chat_id, user_id, until)| Event::MemberMuted {
                chat_id,
                user_id,
                until
            }
        ),
        (id.clone(), id.clone()).prop_map(|(chat_id, seq)| Event::Reminder { chat_id, seq }),
        (id.clone(), proptest::option::of(id.clone()), id.clone())
            .prop_map(|(chat_id, seq, by)| Event::Pinned { chat_id, seq, by }),
        (id.clone(), id.clone(), tally()).prop_map(|(chat_id, seq, tally)| Event::PollVoted {
            chat_id,
            seq,
            tally
        }),
        (
            id.clone(),
            id.clone(),
            proptest::option::of(text()),
            0i64..1 << 50
        )
            .prop_map(|(chat_id, user_id, payload, at)| Event::BotStarted {
                chat_id,
                user_id,
                payload,
                at
            }),
        (
            (id.clone(), id.clone(), id.clone(), id.clone()),
            text(),
            0i64..1 << 50
        )
            .prop_map(|((callback_id, chat_id, seq, user_id), payload, at)| {
                Event::BotCallback {
                    callback_id,
                    chat_id,
                    seq,
                    user_id,
                    payload,
                    at,
                }
            }),
        (
            (id.clone(), id.clone(), id.clone(), id.clone()),
            proptest::option::of(text()),
            0i64..1 << 50
        )
            .prop_map(
                |((chat_id, source_chat_id, seq, user_id), start_payload, at)| {
                    Event::BotChatCreated {
                        chat_id,
                        source_chat_id,
                        seq,
                        user_id,
                        start_payload,
                        at,
                    }
                }
            ),
        (id.clone(), id.clone(), proptest::option::of(text())).prop_map(
            |(chat_id, seq, notification)| Event::CallbackAnswered {
                chat_id,
                seq,
                notification
            }
        ),
        id.prop_map(|session_id| Event::SessionRevoked { session_id }),
    ]
}

proptest! {
    #[test]
    fn every_event_round_trips_through_json(event in event(), cursor in proptest::option::of("[A-Za-z0-9_-]{1,40}")) {
        let frame = ServerFrame { event, cursor };
        let json = serde_json::to_string(&frame).unwrap();
        prop_assert_eq!(serde_json::from_str::<ServerFrame>(&json).unwrap(), frame);
    }

    /// The gateway appends `"cursor"` to an event's serialized bytes instead of serializing per
    /// recipient; the result must decode to the same frame.
    #[test]
    fn appending_a_cursor_to_shared_bytes_gives_the_same_frame(event in event(), cursor in "[A-Za-z0-9_-]{1,40}") {
        let shared = serde_json::to_string(&event).unwrap();
        let spliced = format!("{},\"cursor\":\"{cursor}\"}}", shared.strip_suffix('}').unwrap());
        let decoded: ServerFrame = serde_json::from_str(&spliced).unwrap();
        prop_assert_eq!(decoded, ServerFrame { event, cursor: Some(cursor) });
    }

    #[test]
    fn arbitrary_text_never_panics_the_decoders(input in ".{0,200}") {
        let _ = serde_json::from_str::<ServerFrame>(&input);
        let _ = serde_json::from_str::<ClientFrame>(&input);
    }

    #[test]
    fn mutated_frames_never_panic(event in event(), cut in 0usize..400, byte in any::<u8>()) {
        let mut bytes = serde_json::to_vec(&ServerFrame { event, cursor: None }).unwrap();
        if !bytes.is_empty() {
            let at = cut % bytes.len();
            bytes[at] = byte;
            bytes.truncate(cut.max(1));
        }
        let _ = serde_json::from_slice::<ServerFrame>(&bytes);
    }
}
