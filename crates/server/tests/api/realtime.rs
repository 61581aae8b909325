//! The WebSocket gateway: live delivery to every device, resume without loss or duplicates,
//! revocation, tickets, typing, membership changes and slow clients.

use std::collections::BTreeSet;
use std::time::Duration;

use kolokol_client::proto::event::close_code;
use kolokol_client::proto::{ErrorCode, Event, LoginRequest, Message};
use kolokol_client::{Client, ClientError, EventStream};

use super::common::{self, PASSWORD, connect, group, next_frame, send, wait_for};

async fn second_device(server: &common::TestServer, username: &str) -> Client {
    let mut client = server.anonymous();
    client
        .login(&LoginRequest {
            username: username.into(),
            password: PASSWORD.into(),
            device_name: Some("second device".into()),
        })
        .await
        .expect("login");
    client
}

fn new_message(event: &Event) -> Option<Message> {
    match event {
        Event::MessageNew { message } => Some(message.clone()),
        _ => None,
    }
}

/// Reads frames until the next `ready`, returning everything before it.
async fn frames_until_ready(stream: &mut EventStream) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let frame = next_frame(stream).await;
        if frame.event == (Event::Ready {}) {
            return events;
        }
        events.push(frame.event);
    }
}

/// The close code the stream ends with, reading past any frames still in flight.
async fn close_code_of(stream: &mut EventStream) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), stream.next())
            .await
            .expect("the socket ends")
        {
            Some(Ok(_)) => continue,
            Some(Err(ClientError::Closed { code, .. })) => return Some(code),
            Some(Err(_)) | None => return None,
        }
    }
}

#[tokio::test]
async fn a_message_reaches_every_device_of_every_member_including_the_senders_own() {
    let server = common::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let alice_phone = second_device(&server, "alice").await;
    let chat = group(&alice, "5Б", &[bob_user.id]).await;

    let mut streams = Vec::new();
    for client in [&alice, &alice_phone, &bob] {
        streams.push(connect(client, None).await.0);
    }
    let sent = send(&alice, chat.id, "hello-1", "Здравствуйте!")
        .await
        .unwrap();
    for stream in &mut streams {
        let got = wait_for(stream, new_message).await;
        assert_eq!(got, sent);
    }
}

#[tokio::test]
async fn every_frame_but_typing_carries_a_cursor() {
    let server = common::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let chat = group(&alice, "5Б", &[bob_user.id]).await;
    let (mut stream, ready) = connect(&bob, None).await;
    assert!(ready.cursor.is_some());
    alice.typing(chat.id).await.unwrap();
    send(&alice, chat.id, "m1", "hi").await.unwrap();
    let typing = next_frame(&mut stream).await;
    assert_eq!(
        typing.event,
        Event::Typing {
            chat_id: chat.id,
            user_id: chat_owner(&alice).await
        }
    );
    assert_eq!(typing.cursor, None);
    let message = next_frame(&mut stream).await;
    assert!(matches!(message.event, Event::MessageNew { .. }));
    assert!(message.cursor.is_some());
}

async fn chat_owner(client: &Client) -> i64 {
    client.me().await.unwrap().user.id
}

#[tokio::test]
async fn resuming_delivers_every_missed_event_once_and_nothing_twice() {
    let server = common::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let chat = group(&alice, "5Б", &[bob_user.id]).await;
    let other = group(&alice, "Staff", &[bob_user.id]).await;

    let (stream, ready) = connect(&bob, None).await;
    drop(stream);
    let cursor = ready.cursor.unwrap();

    let first = send(&alice, chat.id, "m1", "one").await.unwrap();
    send(&alice, other.id, "m2", "two").await.unwrap();
    alice
        .edit_message(chat.id, first.seq, "one, edited")
        .await
        .unwrap();
    alice
        .toggle_reaction(chat.id, first.seq, "👍")
        .await
        .unwrap();
    alice.rename_chat(other.id, "Staff room").await.unwrap();

    let mut resumed = bob.connect_events(Some(cursor.clone())).await.unwrap();
    let missed = frames_until_ready(&mut resumed).await;
    let kinds: Vec<&str> = missed.iter().map(Event::kind).collect();
    // Each chat's events come in order; the two chats may interleave.
    let in_chat = |id: i64| -> Vec<&str> {
        missed
            .iter()
            .filter(|e| chat_of(e) == Some(id))
            .map(Event::kind)
            .collect()
    };
    assert_eq!(
        in_chat(chat.id),
        ["message.new", "message.edited", "reaction"],
        "{kinds:?}"
    );
    assert_eq!(
        in_chat(other.id),
        ["message.new", "chat.updated"],
        "{kinds:?}"
    );
    assert_eq!(missed.len(), 5);

    // Resuming from the cursor of the last frame yields nothing more.
    let last = resumed.last_cursor().unwrap().to_owned();
    drop(resumed);
    let mut again = bob.connect_events(Some(last)).await.unwrap();
    assert!(frames_until_ready(&mut again).await.is_empty());

    // And resuming from the old cursor again replays the same five.
    let mut replay = bob.connect_events(Some(cursor)).await.unwrap();
    assert_eq!(frames_until_ready(&mut replay).await.len(), 5);
}

fn chat_of(event: &Event) -> Option<i64> {
    match event {
        Event::MessageNew { message } | Event::MessageEdited { message } => Some(message.chat_id),
        Event::MessageDeleted { chat_id, .. }
        | Event::Reaction { chat_id, .. }
        | Event::Read { chat_id, .. }
        | Event::Typing { chat_id, .. }
        | Event::MemberAdded { chat_id, .. }
        | Event::MemberUpdated { chat_id, .. }
        | Event::MemberRemoved { chat_id, .. } => Some(*chat_id),
        Event::ChatCreated { chat, .. } | Event::ChatUpdated { chat, .. } => Some(chat.id),
        _ => None,
    }
}

#[tokio::test]
async fn revoking_a_session_closes_its_socket_at_once() {
    let server = common::start().await;
    let (laptop, _) = server.user("teacher").await;
    let phone = second_device(&server, "teacher").await;
    let (mut phone_stream, _) = connect(&phone, None).await;
    let (mut laptop_stream, _) = connect(&laptop, None).await;

    let sessions = laptop.sessions().await.unwrap();
    let phone_session = sessions.iter().find(|s| !s.current).unwrap().id;
    laptop.revoke_session(phone_session).await.unwrap();

    let revoked = wait_for(&mut phone_stream, |e| match e {
        Event::SessionRevoked { session_id } => Some(*session_id),
        _ => None,
    })
    .await;
    assert_eq!(revoked, phone_session);
    assert_eq!(
        close_code_of(&mut phone_stream).await,
        Some(close_code::SESSION_REVOKED)
    );
    // The other device hears about it and stays connected.
    let seen = wait_for(&mut laptop_stream, |e| match e {
        Event::SessionRevoked { session_id } => Some(*session_id),
        _ => None,
    })
    .await;
    assert_eq!(seen, phone_session);
    // The revoked token cannot reconnect.
    let refused = phone.connect_events(None).await.err().unwrap();
    assert_eq!(refused.code(), Some(ErrorCode::Unauthorized));
}

#[tokio::test]
async fn logging_out_closes_the_sessions_socket() {
    let server = common::start().await;
    let (parent, _) = server.user("parent").await;
    let (mut stream, _) = connect(&parent, None).await;
    parent.logout().await.unwrap();
    assert_eq!(
        close_code_of(&mut stream).await,
        Some(close_code::SESSION_REVOKED)
    );
}

#[tokio::test]
async fn browser_tickets_work_once_and_tokens_never_in_urls() {
    let server = common::start().await;
    let (parent, _) = server.user("parent").await;
    let ticket = parent.ws_ticket().await.unwrap().ticket;
    let anonymous = server.anonymous();
    let mut stream = anonymous
        .connect_events_with_ticket(&ticket, None)
        .await
        .unwrap();
    assert_eq!(next_frame(&mut stream).await.event, Event::Ready {});
    let reused = anonymous
        .connect_events_with_ticket(&ticket, None)
        .await
        .err()
        .unwrap();
    assert_eq!(reused.code(), Some(ErrorCode::Unauthorized));
    let no_auth = anonymous.connect_events(None).await.err().unwrap();
    assert_eq!(no_auth.code(), Some(ErrorCode::Unauthorized));
    // A session token passed as a ticket is not a ticket.
    let token = parent.token().unwrap().to_owned();
    let as_ticket = anonymous
        .connect_events_with_ticket(&token, None)
        .await
        .err()
        .unwrap();
    assert_eq!(as_ticket.code(), Some(ErrorCode::Unauthorized));
}

#[tokio::test]
async fn a_malformed_cursor_or_frame_is_refused_cleanly() {
    let server = common::start().await;
    let (parent, _) = server.user("parent").await;
    for bad in ["", "!!!", "AQ", "zzzzzzzzzzzzzzzzzzzzzzzz"] {
        let refused = parent.connect_events(Some(bad.into())).await.err().unwrap();
        assert_eq!(refused.code(), Some(ErrorCode::InvalidCursor), "{bad:?}");
    }
    // A frame the server does not understand closes the socket with a code, not a crash.
    let mut raw = raw_socket(&server, &parent).await;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    raw.send(WsMessage::text("{\"type\":\"launch_missiles\"}"))
        .await
        .unwrap();
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), raw.next())
            .await
            .unwrap()
        {
            Some(Ok(WsMessage::Close(Some(frame)))) => break u16::from(frame.code),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, close_code::BAD_FRAME);
    // The server is fine afterwards.
    parent.me().await.unwrap();
}

type RawSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn raw_socket(server: &common::TestServer, client: &Client) -> RawSocket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!("{}/api/v1/ws", server.base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    let bearer = format!("Bearer {}", client.token().unwrap());
    request
        .headers_mut()
        .insert("authorization", bearer.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

#[tokio::test]
async fn typing_reaches_other_members_only() {
    let server = common::start().await;
    let (alice, alice_user) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let (stranger, _) = server.user("stranger").await;
    let chat = group(&alice, "5Б", &[bob_user.id]).await;
    let (mut bob_stream, _) = connect(&bob, None).await;
    let (mut alice_stream, _) = connect(&alice, None).await;
    let (mut stranger_stream, _) = connect(&stranger, None).await;

    alice_stream.send_typing(chat.id).await.unwrap();
    // A non-member's typing notice is dropped silently.
    stranger_stream.send_typing(chat.id).await.unwrap();
    let typing = wait_for(&mut bob_stream, |e| match e {
        Event::Typing { user_id, .. } => Some(*user_id),
        _ => None,
    })
    .await;
    assert_eq!(typing, alice_user.id);
    // Alice does not hear her own typing: the next thing she sees is the message.
    send(&bob, chat.id, "after-typing", "ok").await.unwrap();
    let next = next_frame(&mut alice_stream).await;
    assert!(
        matches!(next.event, Event::MessageNew { .. }),
        "{:?}",
        next.event
    );
    // Bob never saw the stranger type: the next frame after alice's typing is the message.
    let after = next_frame(&mut bob_stream).await;
    assert!(
        matches!(after.event, Event::MessageNew { .. }),
        "{:?}",
        after.event
    );
}

#[tokio::test]
async fn a_new_member_follows_the_chat_from_the_join_and_a_removed_one_stops() {
    let server = common::start().await;
    let (teacher, _) = server.user("teacher").await;
    let (parent, parent_user) = server.user("parent").await;
    let chat = group(&teacher, "5Б", &[]).await;
    send(&teacher, chat.id, "before", "before you joined")
        .await
        .unwrap();

    let (mut stream, _) = connect(&parent, None).await;
    teacher
        .add_members(chat.id, &[parent_user.id])
        .await
        .unwrap();
    let added = wait_for(&mut stream, |e| match e {
        Event::MemberAdded { chat_id, user, .. } => Some((*chat_id, user.id)),
        _ => None,
    })
    .await;
    assert_eq!(added, (chat.id, parent_user.id));
    let welcome = send(&teacher, chat.id, "welcome", "welcome").await.unwrap();
    assert_eq!(wait_for(&mut stream, new_message).await, welcome);

    teacher
        .remove_member(chat.id, parent_user.id)
        .await
        .unwrap();
    let removed = wait_for(&mut stream, |e| match e {
        Event::MemberRemoved {
            chat_id, user_id, ..
        } => Some((*chat_id, *user_id)),
        _ => None,
    })
    .await;
    assert_eq!(removed, (chat.id, parent_user.id));
    send(&teacher, chat.id, "after", "after you left")
        .await
        .unwrap();
    // Nothing more arrives for the chat: a marker message in another chat comes first.
    let (other_teacher, _) = server.user("other").await;
    let direct = other_teacher
        .create_chat(&kolokol_client::proto::CreateChatRequest {
            kind: kolokol_client::proto::ChatKind::Direct,
            title: None,
            member_ids: Some(vec![parent_user.id]),
            privacy: kolokol_proto::ChatPrivacy::Community,
        })
        .await
        .unwrap()
        .0;
    send(&other_teacher, direct.id, "marker", "marker")
        .await
        .unwrap();
    let next = wait_for(&mut stream, |e| match e {
        Event::ChatCreated { .. } | Event::MemberAdded { .. } => None,
        other => Some(other.clone()),
    })
    .await;
    assert_eq!(chat_of(&next), Some(direct.id), "{next:?}");

    // Resuming later does not leak the chat's events either.
    let cursor = stream.last_cursor().unwrap().to_owned();
    drop(stream);
    send(&teacher, chat.id, "later", "still not for you")
        .await
        .unwrap();
    let mut resumed = parent.connect_events(Some(cursor)).await.unwrap();
    assert!(frames_until_ready(&mut resumed).await.is_empty());
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_without_slowing_others_and_resumes_losslessly() {
    const MESSAGES: usize = 1000;
    let server = common::start_with(|s| s.ws_queue = 16).await;
    let (teacher, _) = server.user("teacher").await;
    let (slow, slow_user) = server.user("slow").await;
    let (fast, fast_user) = server.user("fast").await;
    let chat = group(&teacher, "5Б", &[slow_user.id, fast_user.id]).await;
    let (mut slow_stream, _) = connect(&slow, None).await;
    let (mut fast_stream, _) = connect(&fast, None).await;

    // Large messages fill the socket buffers quickly.
    let text = "😀".repeat(4000);
    let sender = {
        let teacher = teacher.clone();
        tokio::spawn(async move {
            for i in 0..MESSAGES {
                send(&teacher, chat.id, &format!("big-{i}"), &text)
                    .await
                    .unwrap();
            }
        })
    };
    let mut fast_seqs = BTreeSet::new();
    while fast_seqs.len() < MESSAGES {
        let message = wait_for(&mut fast_stream, new_message).await;
        assert!(fast_seqs.insert(message.seq), "duplicate {}", message.seq);
    }
    sender.await.unwrap();

    // The slow client now reads: it gets some messages, then the connection ends.
    let mut slow_seqs = BTreeSet::new();
    while let Some(Ok(frame)) = tokio::time::timeout(Duration::from_secs(30), slow_stream.next())
        .await
        .expect("ends")
    {
        if let Some(message) = new_message(&frame.event) {
            assert!(slow_seqs.insert(message.seq));
        }
    }
    assert!(
        slow_seqs.len() < MESSAGES,
        "the slow client was never cut off"
    );
    // Resuming from its last cursor brings exactly the rest.
    let cursor = slow_stream.last_cursor().unwrap().to_owned();
    let mut resumed = slow.connect_events(Some(cursor)).await.unwrap();
    for event in frames_until_ready(&mut resumed).await {
        if let Some(message) = new_message(&event) {
            assert!(slow_seqs.insert(message.seq), "duplicate {}", message.seq);
        }
    }
    assert_eq!(slow_seqs, (1..=MESSAGES as i64).collect());
}

#[tokio::test]
async fn a_cursor_older_than_the_retention_window_gets_resync() {
    let server = common::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let chat = group(&alice, "5Б", &[bob_user.id]).await;
    let (stream, ready) = connect(&bob, None).await;
    drop(stream);
    send(&alice, chat.id, "m1", "missed").await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;

    // A second server on the same data with zero retention prunes every stored event at start.
    let dir = server.dir.path().to_owned();
    let pruning = common::start_with(|s| {
        s.data_dir = dir;
        s.event_retention_days = 0;
    })
    .await;
    let bob_there = Client::new(pruning.base.clone()).with_token(bob.token().unwrap());
    let mut stream = None;
    for _ in 0..50 {
        // Pruning runs in the background right after start.
        let mut candidate = bob_there
            .connect_events(ready.cursor.clone())
            .await
            .unwrap();
        let first = next_frame(&mut candidate).await;
        if first.event == (Event::Resync {}) {
            stream = Some((candidate, first));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut stream, resync) = stream.expect("a resync frame");
    assert!(resync.cursor.is_some());
    assert_eq!(next_frame(&mut stream).await.event, Event::Ready {});
    // After re-reading over REST the history is all there.
    assert_eq!(
        bob_there
            .messages(chat.id, Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// One step of the resume property test.
#[derive(Debug, Clone)]
enum Step {
    Send { chat: usize },
    EditLast { chat: usize },
    ReactLast { chat: usize },
    ReadAll { chat: usize },
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    let chat = 0..2usize;
    prop_oneof![
        3 => chat.clone().prop_map(|chat| Step::Send { chat }),
        1 => chat.clone().prop_map(|chat| Step::EditLast { chat }),
        1 => chat.clone().prop_map(|chat| Step::ReactLast { chat }),
        1 => chat.prop_map(|chat| Step::ReadAll { chat }),
    ]
}

/// What identifies a durable event independent of message state at delivery time.
fn key(event: &Event) -> Option<(i64, &'static str, i64)> {
    let seq = match event {
        Event::MessageNew { message } | Event::MessageEdited { message } => message.seq,
        Event::Reaction { seq, .. }
        | Event::Read { seq, .. }
        | Event::MessageDeleted { seq, .. } => *seq,
        Event::Ready {} | Event::Typing { .. } | Event::Resync {} => return None,
        _ => 0,
    };
    Some((chat_of(event)?, event.kind(), seq))
}

async fn read_until_marker(
    stream: &mut EventStream,
    marker: &str,
    into: &mut Vec<(i64, &'static str, i64)>,
) {
    loop {
        let frame = next_frame(stream).await;
        if let Some(key) = key(&frame.event) {
            into.push(key);
        }
        if matches!(&frame.event, Event::MessageNew { message } if message.client_msg_id == marker)
        {
            return;
        }
    }
}

fn per_chat(
    events: &[(i64, &'static str, i64)],
) -> std::collections::BTreeMap<i64, Vec<(&'static str, i64)>> {
    let mut chats = std::collections::BTreeMap::<i64, Vec<_>>::new();
    for (chat, kind, seq) in events {
        chats.entry(*chat).or_default().push((*kind, *seq));
    }
    chats
}

async fn perform(
    step: &Step,
    index: usize,
    alice: &Client,
    bob: &Client,
    chats: [i64; 2],
    last_seq: &mut [i64; 2],
) {
    match *step {
        Step::Send { chat } => {
            last_seq[chat] = send(alice, chats[chat], &format!("m{index}"), "text")
                .await
                .unwrap()
                .seq;
        }
        Step::EditLast { chat } if last_seq[chat] > 0 => {
            alice
                .edit_message(chats[chat], last_seq[chat], &format!("edit {index}"))
                .await
                .unwrap();
        }
        Step::ReactLast { chat } if last_seq[chat] > 0 => {
            bob.toggle_reaction(chats[chat], last_seq[chat], "👍")
                .await
                .unwrap();
        }
        Step::ReadAll { chat } if last_seq[chat] > 0 => {
            bob.mark_read(chats[chat], last_seq[chat]).await.unwrap();
        }
        _ => {}
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 8, ..Default::default() })]

    /// A device that disconnects at arbitrary points and resumes from its last cursor ends up
    /// with exactly the events of a device that stayed connected: none lost, none twice, each
    /// chat in order.
    #[test]
    fn resuming_anywhere_equals_staying_connected(
        steps in proptest::collection::vec(step(), 1..30),
        cuts in proptest::collection::btree_set(0..30usize, 0..5),
    ) {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let server = common::start().await;
            let (alice, _) = server.user("alice").await;
            let (bob, bob_user) = server.user("bob").await;
            let bob_phone = second_device(&server, "bob").await;
            let chats = [group(&alice, "A", &[bob_user.id]).await.id, group(&alice, "B", &[bob_user.id]).await.id];

            let (mut steady, _) = connect(&bob, None).await;
            let (mut flaky, _) = connect(&bob_phone, None).await;
            let mut flaky_seen = Vec::new();
            let mut last_seq = [0i64; 2];
            for (index, step) in steps.iter().enumerate() {
                if !cuts.contains(&index) {
                    perform(step, index, &alice, &bob, chats, &mut last_seq).await;
                    continue;
                }
                // Take whatever arrived so far, drop the connection, miss a step, resume.
                while let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_millis(20), flaky.next()).await {
                    if let Some(key) = key(&frame.event) {
                        flaky_seen.push(key);
                    }
                }
                let cursor = flaky.last_cursor().map(str::to_owned);
                drop(flaky);
                perform(step, index, &alice, &bob, chats, &mut last_seq).await;
                flaky = bob_phone.connect_events(cursor).await.unwrap();
            }
            send(&alice, chats[0], "marker", "done").await.unwrap();
            let mut steady_seen = Vec::new();
            read_until_marker(&mut steady, "marker", &mut steady_seen).await;
            read_until_marker(&mut flaky, "marker", &mut flaky_seen).await;
            assert_eq!(per_chat(&flaky_seen), per_chat(&steady_seen));
        });
    }
}

#[tokio::test]
async fn repeated_typing_notices_are_throttled() {
    let server = common::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let chat = group(&alice, "5Б", &[bob_user.id]).await;
    let (mut stream, _) = connect(&bob, None).await;
    for _ in 0..5 {
        alice.typing(chat.id).await.unwrap();
    }
    send(&alice, chat.id, "m1", "hi").await.unwrap();
    assert!(matches!(
        next_frame(&mut stream).await.event,
        Event::Typing { .. }
    ));
    // The four repeats within the interval were dropped: the message comes next.
    assert!(matches!(
        next_frame(&mut stream).await.event,
        Event::MessageNew { .. }
    ));
}

#[tokio::test]
async fn an_oversized_frame_closes_the_socket_with_a_code() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let server = common::start().await;
    let (parent, _) = server.user("parent").await;
    let mut raw = raw_socket(&server, &parent).await;
    let huge = format!(
        "{{\"type\":\"typing\",\"chat_id\":1,\"pad\":\"{}\"}}",
        "x".repeat(100_000)
    );
    let _ = raw.send(WsMessage::text(huge)).await;
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), raw.next())
            .await
            .unwrap()
        {
            Some(Ok(WsMessage::Close(Some(frame)))) => break Some(u16::from(frame.code)),
            Some(Ok(_)) => continue,
            _ => break None,
        }
    };
    assert_eq!(code, Some(close_code::BAD_FRAME));
    parent.me().await.unwrap();
}

/// A client can make its connections from a chosen loopback address (the load generator spreads
/// its devices over several), and an address this machine does not have is refused cleanly.
#[tokio::test]
async fn clients_connect_from_a_chosen_local_address_or_fail_cleanly() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let token = anna.token().unwrap().to_owned();
    let from_elsewhere = Client::new(server.base.clone())
        .with_local_address("127.0.0.9".parse().unwrap())
        .with_token(token.clone());
    assert_eq!(
        from_elsewhere.me().await.unwrap().user.username.as_deref(),
        Some("anna")
    );
    connect(&from_elsewhere, None).await;

    // 192.0.2.0/24 is reserved for documentation: no machine has it.
    let unroutable = Client::new(server.base.clone())
        .with_local_address("192.0.2.1".parse().unwrap())
        .with_token(token);
    let refused = unroutable.connect_events(None).await;
    assert!(
        matches!(&refused, Err(ClientError::WebSocket(why)) if why.contains("binding")),
        "{refused:?}"
    );
    assert!(unroutable.me().await.is_err());
    // Nothing about the account changed.
    assert_eq!(
        anna.me().await.unwrap().user.username.as_deref(),
        Some("anna")
    );
}

/// Heartbeats: a client that answers pings stays; one that has not answered a ping by the next
/// is disconnected, so dead connections do not pile up.
#[tokio::test]
async fn a_client_that_answers_heartbeats_stays_and_a_silent_one_is_disconnected() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let server = common::start_with(|s| s.ws_ping_interval = Duration::from_secs(1)).await;
    let (parent, _) = server.user("parent").await;
    let mut answering = raw_socket(&server, &parent).await;
    let mut silent = raw_socket(&server, &parent).await;

    // Reading answers pings (tungstenite replies on its own); the socket must stay open.
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(3500);
    while let Ok(frame) = tokio::time::timeout_at(until, answering.next()).await {
        match frame {
            Some(Ok(WsMessage::Ping(_))) => pings += 1,
            Some(Ok(_)) => {}
            other => panic!("the answering client was cut off: {other:?}"),
        }
    }
    assert!(pings >= 2, "only {pings} heartbeats in 3.5 s");

    // The silent one read nothing meanwhile: what is left for it ends without a close frame.
    let mut silent_pings = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), silent.next())
            .await
            .expect("the silent client is disconnected")
        {
            Some(Ok(WsMessage::Ping(_))) => silent_pings += 1,
            // `ready`, sent before it fell silent.
            Some(Ok(WsMessage::Text(_))) => {}
            Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            None | Some(Err(_)) => break,
        }
    }
    assert!(silent_pings >= 1);
    // The answering client is still served.
    parent.me().await.unwrap();
}
