//! Messages over REST: sending with per-chat seq and idempotency, text rules, replies,
//! mentions, history paging, edits, deletes, reactions, read markers and typing. After every
//! refusal the history is re-read to show that nothing changed.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use kolokol_client::proto::{
    Chat, ChatKind, CreateChatRequest, ErrorBody, ErrorCode, Message, MessageList, Reaction, Role,
    SendMessageRequest, Seq, User,
};
use kolokol_client::{Client, ClientError, Page};
use reqwest::Method;
use serde_json::json;
use tokio::task::JoinSet;

use super::common::{self, TestServer, assert_refused, chat_of_kind, group};

// Helpers.

fn request(id: &str, text: &str, reply_to: Option<Seq>) -> SendMessageRequest {
    SendMessageRequest {
        client_msg_id: id.into(),
        text: text.into(),
        reply_to,
        request_ack: false,
        urgent: false,
        thread_of: None,
        poll: None,
        attachments: Vec::new(),
        mls: None,
    }
}

async fn try_send(
    client: &Client,
    chat_id: i64,
    id: &str,
    text: &str,
) -> Result<(Message, bool), ClientError> {
    client.send_message(chat_id, &request(id, text, None)).await
}

/// Sends a message that must be stored as new (201).
async fn send(client: &Client, chat_id: i64, id: &str, text: &str) -> Message {
    let (message, created) = try_send(client, chat_id, id, text).await.expect("send");
    assert!(created, "a new client_msg_id answers 201");
    message
}

/// The whole history of a chat, read forwards page by page.
async fn history(client: &Client, chat_id: i64) -> Vec<Message> {
    let mut all: Vec<Message> = Vec::new();
    loop {
        let page = Page {
            after: Some(all.last().map_or(0, |m| m.seq)),
            limit: Some(100),
            ..Page::default()
        };
        let messages = client.messages(chat_id, page).await.expect("history");
        if messages.is_empty() {
            return all;
        }
        all.extend(messages);
    }
}

/// The seqs of one page of history.
async fn page_seqs(
    client: &Client,
    chat_id: i64,
    before: Option<Seq>,
    after: Option<Seq>,
    limit: Option<u32>,
) -> Vec<Seq> {
    let page = Page {
        before,
        after,
        limit,
    };
    seqs(
        &client
            .messages(chat_id, page)
            .await
            .expect("a page of history"),
    )
}

fn seqs(messages: &[Message]) -> Vec<Seq> {
    messages.iter().map(|m| m.seq).collect()
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Sends a raw JSON body and asserts the JSON error it gets back.
async fn assert_raw_refused(
    client: &Client,
    method: Method,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
    code: ErrorCode,
    status: u16,
) {
    let (got, bytes) = client
        .raw(method.clone(), path, body)
        .await
        .expect("a response");
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(got, status, "{method} {path}: {text}");
    let error: ErrorBody = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not an error body ({e}): {text}"));
    assert_eq!(error.code, code, "{method} {path}: {text}");
}

fn json_body(value: serde_json::Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", value.to_string().into_bytes()))
}

/// A server with a group of two: `alice` owns it, `bob` is a member.
struct Room {
    server: TestServer,
    alice: Client,
    alice_user: User,
    bob: Client,
    bob_user: User,
    chat: Chat,
}

async fn room() -> Room {
    let server = common::start().await;
    let (alice, alice_user) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let chat = group(&alice, "Class 5B parents", &[bob_user.id]).await;
    Room {
        server,
        alice,
        alice_user,
        bob,
        bob_user,
        chat,
    }
}

impl Room {
    fn messages_path(&self) -> String {
        format!("/api/v1/chats/{}/messages", self.chat.id)
    }

    /// A third user who is not in the chat.
    async fn outsider(&self) -> Client {
        self.server.user("outsider").await.0
    }
}

// Sending.

#[tokio::test]
async fn messages_get_consecutive_seqs_and_a_server_timestamp() {
    let r = room().await;
    let before = now_millis();
    let first = send(&r.alice, r.chat.id, "m-1", "Hello, parents!").await;
    let second = send(&r.bob, r.chat.id, "m-1b", "Hi!").await;
    let third = send(&r.alice, r.chat.id, "m-2", "Meeting on Friday").await;
    let after = now_millis();

    assert_eq!(
        seqs(&[first.clone(), second.clone(), third.clone()]),
        vec![1, 2, 3]
    );
    assert_eq!(first.chat_id, r.chat.id);
    assert_eq!(first.sender_id, r.alice_user.id);
    assert_eq!(second.sender_id, r.bob_user.id);
    assert_eq!(first.text, "Hello, parents!");
    assert_eq!(first.client_msg_id, "m-1");
    assert_eq!(
        (first.reply_to, first.edited_at, first.deleted),
        (None, None, false)
    );
    assert!(first.reactions.is_empty() && first.mentions.is_empty());
    for message in [&first, &second, &third] {
        assert!(
            (before - 1000..=after + 1000).contains(&message.created_at),
            "{message:?}"
        );
    }
    assert!(first.created_at <= second.created_at && second.created_at <= third.created_at);
    assert!(first.id != second.id && second.id != third.id);

    assert_eq!(history(&r.bob, r.chat.id).await, vec![first, second, third]);
}

#[tokio::test]
async fn seqs_are_counted_per_chat() {
    let r = room().await;
    let other = group(&r.alice, "Another class", &[]).await;
    send(&r.alice, r.chat.id, "a", "one").await;
    send(&r.alice, r.chat.id, "b", "two").await;
    let elsewhere = send(&r.alice, other.id, "c", "first in the other chat").await;
    assert_eq!(elsewhere.seq, 1);
    // The same client_msg_id in another chat is another message.
    let (again, created) = try_send(&r.alice, other.id, "a", "same id, other chat")
        .await
        .unwrap();
    assert!(created);
    assert_eq!(again.seq, 2);
}

#[tokio::test]
async fn resending_a_client_msg_id_returns_the_original() {
    let r = room().await;
    let original = send(&r.alice, r.chat.id, "retry-me", "Only once").await;
    let (repeat, created) = try_send(&r.alice, r.chat.id, "retry-me", "Only once")
        .await
        .unwrap();
    assert!(!created, "a repeat answers 200");
    assert_eq!(repeat, original);

    // Even with different text, the original stands: the id names the message.
    let (changed, created) = try_send(&r.alice, r.chat.id, "retry-me", "Different text")
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(changed, original);

    assert_eq!(history(&r.alice, r.chat.id).await, vec![original]);
    assert_eq!(
        r.bob.chat(r.chat.id).await.unwrap().unread_count,
        1,
        "no duplicate to read either"
    );
}

#[tokio::test]
async fn concurrent_retries_store_one_message() {
    let r = room().await;
    let mut tasks = JoinSet::new();
    for _ in 0..10 {
        let alice = r.alice.clone();
        let chat_id = r.chat.id;
        tasks.spawn(async move {
            try_send(&alice, chat_id, "flaky-network", "hello")
                .await
                .unwrap()
        });
    }
    let results = tasks.join_all().await;
    assert_eq!(
        results.iter().filter(|(_, created)| *created).count(),
        1,
        "exactly one 201"
    );
    assert!(results.iter().all(|(message, _)| message.seq == 1));
    assert_eq!(seqs(&history(&r.alice, r.chat.id).await), vec![1]);
}

#[tokio::test]
async fn the_same_client_msg_id_from_another_user_is_a_new_message() {
    let r = room().await;
    let from_alice = send(&r.alice, r.chat.id, "m-1", "from alice").await;
    let (from_bob, created) = try_send(&r.bob, r.chat.id, "m-1", "from bob")
        .await
        .unwrap();
    assert!(created);
    assert_eq!((from_bob.seq, from_bob.sender_id), (2, r.bob_user.id));
    assert_eq!(from_bob.text, "from bob");
    assert_eq!(
        history(&r.alice, r.chat.id).await,
        vec![from_alice, from_bob]
    );
}

// Text and id rules.

#[tokio::test]
async fn empty_and_blank_texts_are_refused() {
    let r = room().await;
    let kept = send(&r.alice, r.chat.id, "ok", "kept").await;
    for (i, text) in ["", " ", "   \n\t  ", "\u{3000}"].into_iter().enumerate() {
        let result = try_send(&r.alice, r.chat.id, &format!("blank-{i}"), text).await;
        assert_refused(result, ErrorCode::TextEmpty, 400);
    }
    assert_eq!(history(&r.alice, r.chat.id).await, vec![kept]);
}

#[tokio::test]
async fn texts_are_limited_to_4000_characters_not_bytes() {
    let r = room().await;
    let too_long = "я".repeat(4001);
    assert_refused(
        try_send(&r.alice, r.chat.id, "long", &too_long).await,
        ErrorCode::TextTooLong,
        400,
    );
    assert!(history(&r.alice, r.chat.id).await.is_empty());

    let longest = "я".repeat(4000);
    let stored = send(&r.alice, r.chat.id, "longest", &longest).await;
    assert_eq!(
        stored.text, longest,
        "8000 bytes of Cyrillic round-trip intact"
    );
    let emoji = "👍🏽".repeat(2000);
    let stored = send(&r.alice, r.chat.id, "emoji", &emoji).await;
    assert_eq!(stored.text, emoji);
    assert_eq!(seqs(&history(&r.alice, r.chat.id).await), vec![1, 2]);
}

#[tokio::test]
async fn control_characters_are_refused_but_newlines_are_kept() {
    let r = room().await;
    for (i, text) in [
        "nul\u{0}inside",
        "escape \u{1b}[31mred",
        "bell\u{7}",
        "bidi \u{202E}override",
        "del\u{7f}",
    ]
    .into_iter()
    .enumerate()
    {
        let result = try_send(&r.alice, r.chat.id, &format!("ctl-{i}"), text).await;
        assert_refused(result, ErrorCode::InvalidText, 400);
    }
    assert!(history(&r.alice, r.chat.id).await.is_empty());

    let multiline = "  line one\nline two\r\n\tindented  ";
    let stored = send(&r.alice, r.chat.id, "lines", multiline).await;
    assert_eq!(stored.text, multiline, "stored as typed, not trimmed");
}

#[tokio::test]
async fn invalid_client_msg_ids_are_refused() {
    let r = room().await;
    let too_long = "a".repeat(65);
    for id in [
        "",
        too_long.as_str(),
        "has space",
        "slash/y",
        "ünicode",
        "dot.ted",
    ] {
        let result = try_send(&r.alice, r.chat.id, id, "hello").await;
        let err = result.expect_err(id);
        assert_eq!(
            (err.code(), err.status()),
            (Some(ErrorCode::InvalidClientMsgId), Some(400)),
            "{id:?}"
        );
    }
    assert!(history(&r.alice, r.chat.id).await.is_empty());
    let longest = "A-z_9".repeat(12) + "abcd";
    assert_eq!(longest.len(), 64);
    send(&r.alice, r.chat.id, &longest, "the longest id is fine").await;
}

#[tokio::test]
async fn malformed_send_bodies_are_a_bad_request() {
    let r = room().await;
    let kept = send(&r.alice, r.chat.id, "ok", "kept").await;
    let path = r.messages_path();
    for body in [
        json!({"client_msg_id": "x1", "text": 5}),
        json!({"client_msg_id": 7, "text": "hello"}),
        json!({"text": "no id"}),
        json!({"client_msg_id": "x3", "text": "hello", "reply_to": "one"}),
        json!({"client_msg_id": "x4", "text": null}),
    ] {
        assert_raw_refused(
            &r.alice,
            Method::POST,
            &path,
            json_body(body),
            ErrorCode::BadRequest,
            400,
        )
        .await;
    }
    // Text may be left out (an encrypted chat's message is `mls` instead), but not be empty.
    assert_raw_refused(
        &r.alice,
        Method::POST,
        &path,
        json_body(json!({"client_msg_id": "x2"})),
        ErrorCode::TextEmpty,
        400,
    )
    .await;
    let truncated = Some((
        "application/json",
        br#"{"client_msg_id": "x6", "text": "hel"#.to_vec(),
    ));
    assert_raw_refused(
        &r.alice,
        Method::POST,
        &path,
        truncated,
        ErrorCode::BadRequest,
        400,
    )
    .await;
    let as_text = Some((
        "text/plain",
        br#"{"client_msg_id": "x7", "text": "hello"}"#.to_vec(),
    ));
    assert_raw_refused(
        &r.alice,
        Method::POST,
        &path,
        as_text,
        ErrorCode::UnsupportedMediaType,
        415,
    )
    .await;
    let huge = json_body(json!({"client_msg_id": "x8", "text": "я".repeat(40_000)}));
    assert_raw_refused(
        &r.alice,
        Method::POST,
        &path,
        huge,
        ErrorCode::PayloadTooLarge,
        413,
    )
    .await;

    assert_eq!(history(&r.alice, r.chat.id).await, vec![kept]);
}

// Replies and mentions.

#[tokio::test]
async fn replies_must_name_an_existing_message() {
    let r = room().await;
    let question = send(&r.alice, r.chat.id, "q", "Who is coming on Friday?").await;
    let (answer, _) = r
        .bob
        .send_message(r.chat.id, &request("a", "Me!", Some(question.seq)))
        .await
        .unwrap();
    assert_eq!(answer.reply_to, Some(question.seq));

    for missing in [3, 99, 0, -1] {
        let result = r
            .bob
            .send_message(r.chat.id, &request("bad-reply", "?", Some(missing)))
            .await;
        assert_refused(result, ErrorCode::MessageNotFound, 404);
    }
    assert_eq!(history(&r.alice, r.chat.id).await, vec![question, answer]);
}

#[tokio::test]
async fn mentions_resolve_to_user_ids() {
    let r = room().await;
    let message = send(
        &r.alice,
        r.chat.id,
        "m",
        "@Bob, please bring the forms. Thanks @BOB! cc @nobody",
    )
    .await;
    assert_eq!(
        message.mentions,
        vec![r.bob_user.id],
        "once, case-insensitively, unknown names dropped"
    );
    let both = send(&r.bob, r.chat.id, "n", "@alice and @bob.").await;
    assert_eq!(both.mentions, vec![r.alice_user.id, r.bob_user.id]);
    let email = send(&r.bob, r.chat.id, "o", "write to bob@example.com").await;
    assert!(
        email.mentions.is_empty(),
        "an e-mail address is not a mention"
    );
    assert_eq!(
        history(&r.alice, r.chat.id).await[0].mentions,
        vec![r.bob_user.id],
        "stored"
    );

    let edited = r
        .alice
        .edit_message(r.chat.id, message.seq, "@alice reminds herself")
        .await
        .unwrap();
    assert_eq!(
        edited.mentions,
        vec![r.alice_user.id],
        "an edit resolves mentions again"
    );
}

// History.

#[tokio::test]
async fn history_pages_by_seq_both_ways() {
    let r = room().await;
    let mut tasks = JoinSet::new();
    for i in 0..250 {
        let sender = if i % 2 == 0 {
            r.alice.clone()
        } else {
            r.bob.clone()
        };
        let chat_id = r.chat.id;
        tasks.spawn(async move {
            send(
                &sender,
                chat_id,
                &format!("burst-{i}"),
                &format!("message {i}"),
            )
            .await
        });
    }
    let sent = tasks.join_all().await;
    let mut sent_seqs: Vec<Seq> = seqs(&sent);
    sent_seqs.sort_unstable();
    assert_eq!(
        sent_seqs,
        (1..=250).collect::<Vec<_>>(),
        "concurrent sends still get 1..=250, no gaps"
    );

    let range = |low: Seq, high: Seq| (low..=high).collect::<Vec<_>>();
    let (alice, chat_id) = (&r.alice, r.chat.id);
    // The default page is the newest 50; every page is in ascending seq order.
    assert_eq!(
        page_seqs(alice, chat_id, None, None, None).await,
        range(201, 250)
    );
    assert_eq!(
        page_seqs(alice, chat_id, None, None, Some(100)).await,
        range(151, 250)
    );
    // `before` gives the newest messages below it, `after` the oldest above it.
    assert_eq!(
        page_seqs(alice, chat_id, Some(100), None, Some(10)).await,
        range(90, 99)
    );
    assert_eq!(
        page_seqs(alice, chat_id, None, Some(100), Some(10)).await,
        range(101, 110)
    );
    assert_eq!(
        page_seqs(alice, chat_id, Some(106), Some(100), Some(50)).await,
        range(101, 105)
    );
    assert_eq!(
        page_seqs(alice, chat_id, None, Some(245), None).await,
        range(246, 250)
    );
    assert_eq!(
        page_seqs(alice, chat_id, Some(4), None, None).await,
        range(1, 3)
    );
    for (before, after) in [
        (Some(1), None),
        (None, Some(250)),
        (None, Some(1000)),
        (Some(0), None),
    ] {
        let empty = page_seqs(alice, chat_id, before, after, None).await;
        assert!(
            empty.is_empty(),
            "before {before:?} after {after:?}: {empty:?}"
        );
    }

    // Walking backwards from the newest covers every seq exactly once.
    let mut seen: Vec<Seq> = Vec::new();
    let mut cursor: Option<Seq> = None;
    loop {
        let chunk = page_seqs(&r.bob, chat_id, cursor, None, Some(37)).await;
        let Some(&oldest) = chunk.first() else { break };
        assert_eq!(
            chunk,
            range(oldest, oldest + chunk.len() as Seq - 1),
            "ascending, contiguous"
        );
        cursor = Some(oldest);
        seen.extend(chunk);
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=250).collect::<Vec<_>>());

    // Every text arrived once, with its own client_msg_id.
    let all = history(&r.bob, r.chat.id).await;
    let ids: BTreeSet<&str> = all.iter().map(|m| m.client_msg_id.as_str()).collect();
    assert_eq!(ids.len(), 250);
    for message in &all {
        let n = message.client_msg_id.strip_prefix("burst-").unwrap();
        assert_eq!(message.text, format!("message {n}"));
    }
}

#[tokio::test]
async fn history_limits_outside_1_to_100_are_refused() {
    let r = room().await;
    send(&r.alice, r.chat.id, "one", "one").await;
    for limit in [0, 101, 1000, u32::MAX] {
        let page = Page {
            limit: Some(limit),
            ..Page::default()
        };
        assert_refused(
            r.alice.messages(r.chat.id, page).await,
            ErrorCode::InvalidLimit,
            400,
        );
    }
    let path = r.messages_path();
    for query in [
        "?limit=abc",
        "?limit=-1",
        "?before=x",
        "?after=1.5",
        "?limit=99999999999999999999",
    ] {
        let (status, bytes) = r
            .alice
            .raw(Method::GET, &format!("{path}{query}"), None)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(status, 400, "{query}: {text}");
        let error: ErrorBody =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(
            matches!(error.code, ErrorCode::BadRequest | ErrorCode::InvalidLimit),
            "{query}: {text}"
        );
    }
    let one = Page {
        limit: Some(1),
        ..Page::default()
    };
    assert_eq!(
        seqs(&r.alice.messages(r.chat.id, one).await.unwrap()),
        vec![1]
    );
}

#[tokio::test]
async fn history_cursors_at_the_integer_limits_are_handled() {
    let r = room().await;
    send(&r.alice, r.chat.id, "one", "one").await;
    let path = r.messages_path();
    // Each extreme either gets the page it names or a clean 400; never a 500.
    let cases = [
        (format!("?after={}", i64::MAX), vec![]),
        (format!("?before={}", i64::MIN), vec![]),
        (format!("?after={}", i64::MIN), vec![1]),
        (format!("?before={}", i64::MAX), vec![1]),
        (format!("?before={}&after={}", i64::MIN, i64::MAX), vec![]),
    ];
    let mut problems = Vec::new();
    for (query, expected) in cases {
        let (status, bytes) = r
            .alice
            .raw(Method::GET, &format!("{path}{query}"), None)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let fine = match status {
            200 => serde_json::from_slice::<MessageList>(&bytes)
                .is_ok_and(|list| seqs(&list.messages) == expected),
            400 => serde_json::from_slice::<ErrorBody>(&bytes)
                .is_ok_and(|e| matches!(e.code, ErrorCode::BadRequest | ErrorCode::InvalidCursor)),
            _ => false,
        };
        if !fine {
            problems.push(format!("{query}: HTTP {status} {text}"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(seqs(&history(&r.alice, r.chat.id).await), vec![1]);
}

// Editing.

#[tokio::test]
async fn authors_edit_their_messages() {
    let r = room().await;
    let original = send(&r.alice, r.chat.id, "m", "Meeting at 5").await;
    let edited = r
        .alice
        .edit_message(r.chat.id, original.seq, "Meeting at 6")
        .await
        .unwrap();
    assert_eq!(edited.text, "Meeting at 6");
    assert_eq!(
        (edited.seq, edited.id, edited.created_at),
        (original.seq, original.id, original.created_at)
    );
    let edited_at = edited.edited_at.expect("edited_at is set");
    assert!(edited_at >= original.created_at);
    assert_eq!(history(&r.bob, r.chat.id).await, vec![edited.clone()]);

    // A resend of the original id returns the message as it is now.
    let (resent, created) = try_send(&r.alice, r.chat.id, "m", "Meeting at 5")
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(resent, edited);
}

#[tokio::test]
async fn nobody_edits_someone_elses_message() {
    let r = room().await;
    let bobs = send(&r.bob, r.chat.id, "b", "Bob's words").await;
    // Not even the chat's owner.
    assert_refused(
        r.alice
            .edit_message(r.chat.id, bobs.seq, "Alice's words")
            .await,
        ErrorCode::Forbidden,
        403,
    );
    let outsider = r.outsider().await;
    assert_refused(
        outsider.edit_message(r.chat.id, bobs.seq, "hacked").await,
        ErrorCode::NotMember,
        403,
    );
    assert_eq!(history(&r.alice, r.chat.id).await, vec![bobs]);
}

#[tokio::test]
async fn edits_follow_the_text_rules_and_need_an_existing_message() {
    let r = room().await;
    let original = send(&r.alice, r.chat.id, "m", "fine").await;
    assert_refused(
        r.alice.edit_message(r.chat.id, original.seq, "  ").await,
        ErrorCode::TextEmpty,
        400,
    );
    let too_long = "я".repeat(4001);
    assert_refused(
        r.alice
            .edit_message(r.chat.id, original.seq, &too_long)
            .await,
        ErrorCode::TextTooLong,
        400,
    );
    assert_refused(
        r.alice
            .edit_message(r.chat.id, original.seq, "a\u{0}b")
            .await,
        ErrorCode::InvalidText,
        400,
    );
    for missing in [2, 0, -5] {
        assert_refused(
            r.alice.edit_message(r.chat.id, missing, "text").await,
            ErrorCode::MessageNotFound,
            404,
        );
    }
    let path = format!("{}/{}", r.messages_path(), original.seq);
    assert_raw_refused(
        &r.alice,
        Method::PATCH,
        &path,
        json_body(json!({"text": 1})),
        ErrorCode::BadRequest,
        400,
    )
    .await;
    assert_eq!(history(&r.alice, r.chat.id).await, vec![original]);
}

// Deleting.

#[tokio::test]
async fn authors_delete_their_messages_leaving_a_tombstone() {
    let r = room().await;
    send(&r.alice, r.chat.id, "1", "first").await;
    let doomed = send(&r.bob, r.chat.id, "2", "@alice oops, wrong chat").await;
    send(&r.alice, r.chat.id, "3", "third").await;
    r.alice
        .toggle_reaction(r.chat.id, doomed.seq, "😮")
        .await
        .unwrap();

    r.bob.delete_message(r.chat.id, doomed.seq).await.unwrap();
    let all = history(&r.alice, r.chat.id).await;
    assert_eq!(seqs(&all), vec![1, 2, 3], "the seq stays taken: no gap");
    let tombstone = &all[1];
    assert!(tombstone.deleted);
    assert_eq!(tombstone.text, "");
    assert!(
        tombstone.mentions.is_empty() && tombstone.reactions.is_empty(),
        "{tombstone:?}"
    );
    assert_eq!(
        (tombstone.sender_id, tombstone.client_msg_id.as_str()),
        (r.bob_user.id, "2")
    );
    assert!(!all[0].deleted && !all[2].deleted);

    // Deleting again is harmless; the next message still gets the next seq.
    r.bob.delete_message(r.chat.id, doomed.seq).await.unwrap();
    assert_eq!(send(&r.bob, r.chat.id, "4", "fourth").await.seq, 4);
}

#[tokio::test]
async fn a_deleted_message_can_no_longer_change() {
    let r = room().await;
    let doomed = send(&r.alice, r.chat.id, "m", "soon gone").await;
    r.alice.delete_message(r.chat.id, doomed.seq).await.unwrap();
    assert_refused(
        r.alice.edit_message(r.chat.id, doomed.seq, "back!").await,
        ErrorCode::MessageDeleted,
        409,
    );
    assert_refused(
        r.bob.toggle_reaction(r.chat.id, doomed.seq, "👍").await,
        ErrorCode::MessageDeleted,
        409,
    );
    // Resending its id does not bring it back either.
    let (resent, created) = try_send(&r.alice, r.chat.id, "m", "soon gone")
        .await
        .unwrap();
    assert!(
        !created && resent.deleted && resent.text.is_empty(),
        "{resent:?}"
    );

    let all = history(&r.alice, r.chat.id).await;
    assert_eq!(all.len(), 1);
    assert!(
        all[0].deleted
            && all[0].text.is_empty()
            && all[0].reactions.is_empty()
            && all[0].edited_at.is_none()
    );
}

#[tokio::test]
async fn group_admins_delete_other_peoples_messages() {
    let r = room().await;
    let spam = send(&r.bob, r.chat.id, "spam", "Buy now!").await;
    r.alice
        .delete_message(r.chat.id, spam.seq)
        .await
        .expect("the owner moderates");
    assert!(history(&r.bob, r.chat.id).await[0].deleted);

    let (carol, carol_user) = r.server.user("carol").await;
    r.alice
        .add_members(r.chat.id, &[carol_user.id])
        .await
        .unwrap();
    r.alice
        .set_role(r.chat.id, carol_user.id, Role::Admin)
        .await
        .unwrap();
    let more = send(&r.bob, r.chat.id, "spam2", "Buy again!").await;
    carol
        .delete_message(r.chat.id, more.seq)
        .await
        .expect("admins moderate");
    assert!(history(&r.bob, r.chat.id).await[1].deleted);
}

#[tokio::test]
async fn members_cannot_delete_other_peoples_messages() {
    let r = room().await;
    let alices = send(&r.alice, r.chat.id, "a", "Alice's message").await;
    assert_refused(
        r.bob.delete_message(r.chat.id, alices.seq).await,
        ErrorCode::Forbidden,
        403,
    );
    let outsider = r.outsider().await;
    assert_refused(
        outsider.delete_message(r.chat.id, alices.seq).await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        r.alice.delete_message(r.chat.id, 99).await,
        ErrorCode::MessageNotFound,
        404,
    );
    assert_eq!(history(&r.alice, r.chat.id).await, vec![alices]);
}

#[tokio::test]
async fn in_a_direct_chat_only_the_author_deletes() {
    let server = common::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let (chat, _) = alice
        .create_chat(&CreateChatRequest {
            kind: ChatKind::Direct,
            title: None,
            member_ids: Some(vec![bob_user.id]),
            privacy: kolokol_proto::ChatPrivacy::Community,
        })
        .await
        .unwrap();
    let alices = send(&alice, chat.id, "a", "hello bob").await;
    assert_refused(
        bob.delete_message(chat.id, alices.seq).await,
        ErrorCode::Forbidden,
        403,
    );
    assert!(!history(&alice, chat.id).await[0].deleted);
    alice.delete_message(chat.id, alices.seq).await.unwrap();
    assert!(history(&bob, chat.id).await[0].deleted);
}

// Reactions.

#[tokio::test]
async fn reactions_toggle() {
    let r = room().await;
    let message = send(&r.alice, r.chat.id, "m", "Trip to the museum on Monday").await;

    assert!(
        r.bob
            .toggle_reaction(r.chat.id, message.seq, "👍")
            .await
            .unwrap(),
        "added"
    );
    assert!(
        r.alice
            .toggle_reaction(r.chat.id, message.seq, "👍")
            .await
            .unwrap()
    );
    assert!(
        r.bob
            .toggle_reaction(r.chat.id, message.seq, "❤️")
            .await
            .unwrap()
    );
    let mut reactions = history(&r.alice, r.chat.id).await[0].reactions.clone();
    for reaction in &mut reactions {
        reaction.user_ids.sort_unstable();
    }
    reactions.sort_by(|a, b| a.emoji.cmp(&b.emoji));
    let mut both = vec![r.alice_user.id, r.bob_user.id];
    both.sort_unstable();
    let mut expected = vec![
        Reaction {
            emoji: "👍".into(),
            user_ids: both,
        },
        Reaction {
            emoji: "❤️".into(),
            user_ids: vec![r.bob_user.id],
        },
    ];
    expected.sort_by(|a, b| a.emoji.cmp(&b.emoji));
    assert_eq!(reactions, expected);

    assert!(
        !r.bob
            .toggle_reaction(r.chat.id, message.seq, "👍")
            .await
            .unwrap(),
        "removed"
    );
    assert!(
        !r.bob
            .toggle_reaction(r.chat.id, message.seq, "❤️")
            .await
            .unwrap()
    );
    let reactions = history(&r.bob, r.chat.id).await[0].reactions.clone();
    assert_eq!(
        reactions,
        vec![Reaction {
            emoji: "👍".into(),
            user_ids: vec![r.alice_user.id]
        }]
    );
}

#[tokio::test]
async fn reactions_must_be_emoji() {
    let r = room().await;
    let message = send(&r.alice, r.chat.id, "m", "hello").await;
    r.bob
        .toggle_reaction(r.chat.id, message.seq, "🎉")
        .await
        .unwrap();
    let before = history(&r.alice, r.chat.id).await;
    let too_many = "🎉".repeat(17);
    for bad in [
        "ok",
        "",
        " ",
        "👍 ",
        "a👍",
        "сердце",
        "1",
        too_many.as_str(),
    ] {
        let result = r.bob.toggle_reaction(r.chat.id, message.seq, bad).await;
        let err = result.expect_err(bad);
        assert_eq!(
            (err.code(), err.status()),
            (Some(ErrorCode::InvalidEmoji), Some(400)),
            "{bad:?}"
        );
    }
    assert_eq!(history(&r.alice, r.chat.id).await, before);
}

#[tokio::test]
async fn reactions_need_an_existing_message_and_membership() {
    let r = room().await;
    let message = send(&r.alice, r.chat.id, "m", "hello").await;
    assert_refused(
        r.bob.toggle_reaction(r.chat.id, 2, "👍").await,
        ErrorCode::MessageNotFound,
        404,
    );
    let outsider = r.outsider().await;
    assert_refused(
        outsider.toggle_reaction(r.chat.id, message.seq, "👍").await,
        ErrorCode::NotMember,
        403,
    );
    assert_eq!(history(&r.alice, r.chat.id).await, vec![message]);
}

#[tokio::test]
async fn channel_members_react_but_do_not_post() {
    let server = common::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let channel = chat_of_kind(&alice, ChatKind::Channel, "School news", &[bob_user.id]).await;
    let news = send(&alice, channel.id, "n", "No school on Monday").await;
    assert!(
        bob.toggle_reaction(channel.id, news.seq, "🎉")
            .await
            .unwrap()
    );
    assert_eq!(
        history(&alice, channel.id).await[0].reactions[0].user_ids,
        vec![bob_user.id]
    );
    assert_refused(
        try_send(&bob, channel.id, "b", "yay").await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(seqs(&history(&alice, channel.id).await), vec![1]);
}

// Read markers.

/// A room where bob has sent six messages alice has not read yet.
async fn room_with_unread() -> Room {
    let r = room().await;
    for i in 1..=6 {
        send(&r.bob, r.chat.id, &format!("b{i}"), &format!("news {i}")).await;
    }
    r
}

async fn read_state(client: &Client, chat_id: i64) -> (Seq, i64) {
    let chat = client.chat(chat_id).await.expect("chat");
    (chat.read_seq, chat.unread_count)
}

#[tokio::test]
async fn read_markers_move_forward_and_unread_counts_follow() {
    let r = room_with_unread().await;
    assert_eq!(read_state(&r.alice, r.chat.id).await, (0, 6));

    r.alice.mark_read(r.chat.id, 5).await.unwrap();
    assert_eq!(read_state(&r.alice, r.chat.id).await, (5, 1));
    let listed = r.alice.chats().await.unwrap();
    assert_eq!(
        (listed[0].read_seq, listed[0].unread_count),
        (5, 1),
        "the chat list agrees"
    );

    r.alice.mark_read(r.chat.id, 2).await.unwrap();
    assert_eq!(
        read_state(&r.alice, r.chat.id).await,
        (5, 1),
        "markers never move back"
    );

    r.alice.mark_read(r.chat.id, 1000).await.unwrap();
    assert_eq!(
        read_state(&r.alice, r.chat.id).await,
        (6, 0),
        "capped at the newest message"
    );
    assert_eq!(
        read_state(&r.bob, r.chat.id).await,
        (6, 0),
        "bob's own marker is his own"
    );
}

#[tokio::test]
async fn deleted_messages_are_not_unread() {
    let r = room_with_unread().await;
    r.bob.delete_message(r.chat.id, 6).await.unwrap();
    r.bob.delete_message(r.chat.id, 1).await.unwrap();
    assert_eq!(read_state(&r.alice, r.chat.id).await, (0, 4));
}

#[tokio::test]
async fn read_by_lists_readers_except_the_sender() {
    let r = room_with_unread().await;
    let (carol, carol_user) = r.server.user("carol").await;
    r.alice
        .add_members(r.chat.id, &[carol_user.id])
        .await
        .unwrap();

    assert!(
        r.alice.read_by(r.chat.id, 3).await.unwrap().is_empty(),
        "the sender is not a reader"
    );
    r.alice.mark_read(r.chat.id, 4).await.unwrap();
    carol.mark_read(r.chat.id, 2).await.unwrap();
    assert_eq!(r.bob.read_by(r.chat.id, 2).await.unwrap(), {
        let mut both = vec![r.alice_user.id, carol_user.id];
        both.sort_unstable();
        both
    });
    assert_eq!(
        r.bob.read_by(r.chat.id, 3).await.unwrap(),
        vec![r.alice_user.id]
    );
    assert!(carol.read_by(r.chat.id, 5).await.unwrap().is_empty());

    // Alice's own message counts bob as a reader once he has read it.
    let mine = send(&r.alice, r.chat.id, "a", "thanks").await;
    assert!(
        r.alice
            .read_by(r.chat.id, mine.seq)
            .await
            .unwrap()
            .is_empty()
    );
    r.bob.mark_read(r.chat.id, mine.seq).await.unwrap();
    assert_eq!(
        r.alice.read_by(r.chat.id, mine.seq).await.unwrap(),
        vec![r.bob_user.id]
    );
}

#[tokio::test]
async fn read_markers_are_for_members_only() {
    let r = room_with_unread().await;
    let outsider = r.outsider().await;
    assert_refused(
        outsider.mark_read(r.chat.id, 3).await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        outsider.read_by(r.chat.id, 3).await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        r.alice.read_by(r.chat.id, 7).await,
        ErrorCode::MessageNotFound,
        404,
    );
    let path = format!("/api/v1/chats/{}/read", r.chat.id);
    assert_raw_refused(
        &r.alice,
        Method::POST,
        &path,
        json_body(json!({"seq": "3"})),
        ErrorCode::BadRequest,
        400,
    )
    .await;
    assert_raw_refused(
        &r.alice,
        Method::POST,
        &path,
        json_body(json!({})),
        ErrorCode::BadRequest,
        400,
    )
    .await;
    assert_eq!(read_state(&r.alice, r.chat.id).await, (0, 6));
}

// Typing.

#[tokio::test]
async fn typing_is_for_members_only() {
    let r = room().await;
    r.alice.typing(r.chat.id).await.expect("204 for a member");
    r.bob.typing(r.chat.id).await.expect("204 for a member");
    let outsider = r.outsider().await;
    assert_refused(outsider.typing(r.chat.id).await, ErrorCode::NotMember, 403);
    assert_refused(r.alice.typing(999_999).await, ErrorCode::NotMember, 403);
    assert_refused(
        r.server.anonymous().typing(r.chat.id).await,
        ErrorCode::Unauthorized,
        401,
    );
    assert!(
        history(&r.alice, r.chat.id).await.is_empty(),
        "typing is never stored"
    );
}

// Non-members and sessions.

#[tokio::test]
async fn outsiders_cannot_send_or_read() {
    let r = room().await;
    let message = send(&r.alice, r.chat.id, "m", "members only").await;
    let outsider = r.outsider().await;
    assert_refused(
        try_send(&outsider, r.chat.id, "o", "let me in").await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        outsider.messages(r.chat.id, Page::default()).await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        try_send(&outsider, 999_999, "o", "anyone?").await,
        ErrorCode::NotMember,
        403,
    );
    // Without a session nothing gets through either.
    assert_refused(
        try_send(&r.server.anonymous(), r.chat.id, "x", "hi").await,
        ErrorCode::Unauthorized,
        401,
    );
    assert_eq!(history(&r.alice, r.chat.id).await, vec![message]);
}

#[tokio::test]
async fn a_former_member_keeps_no_access_to_the_history() {
    let r = room().await;
    send(&r.bob, r.chat.id, "b", "I was here").await;
    r.bob.leave_chat(r.chat.id).await.unwrap();
    assert_refused(
        r.bob.messages(r.chat.id, Page::default()).await,
        ErrorCode::NotMember,
        403,
    );
    // Not even a resend of his own old message id gets through.
    assert_refused(
        try_send(&r.bob, r.chat.id, "b", "I was here").await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        r.bob.edit_message(r.chat.id, 1, "changed").await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        r.bob.delete_message(r.chat.id, 1).await,
        ErrorCode::NotMember,
        403,
    );
    let all = history(&r.alice, r.chat.id).await;
    assert_eq!(
        (all.len(), all[0].text.as_str(), all[0].deleted),
        (1, "I was here", false)
    );
}

#[tokio::test]
async fn thread_replies_gather_under_their_message() {
    let server = common::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let chat = group(&alice, "5Б · родители", &[bob_user.id]).await;
    let root = common::send(&alice, chat.id, "r1", "Подарок учителю: идеи?")
        .await
        .unwrap();
    let (mut bob_events, _) = common::connect(&bob, None).await;
    let reply = |id: &str, text: &str, thread_of: Seq| SendMessageRequest {
        thread_of: Some(thread_of),
        ..request(id, text, None)
    };
    let (first, _) = alice
        .send_message(chat.id, &reply("t1", "Цветы", root.seq))
        .await
        .unwrap();
    assert_eq!(first.thread_of, Some(root.seq));
    // Members hear of it like any message, marked with its thread.
    let heard = common::wait_for(&mut bob_events, |event| match event {
        kolokol_client::proto::Event::MessageNew { message } => Some(message.thread_of),
        _ => None,
    })
    .await;
    assert_eq!(heard, Some(root.seq));
    bob.send_message(chat.id, &reply("t2", "Книга", root.seq))
        .await
        .unwrap();

    let threads = bob.threads(chat.id).await.unwrap();
    assert_eq!(
        threads
            .iter()
            .map(|t| (t.root, t.replies))
            .collect::<Vec<_>>(),
        [(root.seq, 2)]
    );
    let texts: Vec<String> = bob
        .thread(chat.id, root.seq, None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["Цветы", "Книга"]);

    assert_refused(
        alice
            .send_message(chat.id, &reply("t3", "глубже", first.seq))
            .await,
        ErrorCode::InvalidThread,
        400,
    );
    let (carol, _) = server.user("carol").await;
    assert_refused(carol.threads(chat.id).await, ErrorCode::NotMember, 403);
    assert_refused(
        carol.thread(chat.id, root.seq, None).await,
        ErrorCode::NotMember,
        403,
    );
    assert_eq!(
        history(&alice, chat.id).await.len(),
        3,
        "nothing refused was stored"
    );
}

#[tokio::test]
async fn admins_pin_an_announcement_for_everyone() {
    let server = common::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let chat = group(&alice, "5Б · класс", &[bob_user.id]).await;
    let notice = common::send(&alice, chat.id, "n1", "Расписание на неделю")
        .await
        .unwrap();
    let (mut bob_events, _) = common::connect(&bob, None).await;
    alice.pin(chat.id, Some(notice.seq)).await.unwrap();
    let pinned = common::wait_for(&mut bob_events, |event| match event {
        kolokol_client::proto::Event::Pinned { chat_id, seq, .. } if *chat_id == chat.id => {
            Some(*seq)
        }
        _ => None,
    })
    .await;
    assert_eq!(pinned, Some(notice.seq));
    assert_eq!(bob.pinned(chat.id).await.unwrap(), Some(notice.seq));
    // Members cannot move it, outsiders cannot see it.
    assert_refused(bob.pin(chat.id, None).await, ErrorCode::Forbidden, 403);
    let (carol, _) = server.user("carol").await;
    assert_refused(carol.pinned(chat.id).await, ErrorCode::NotMember, 403);
    assert_eq!(bob.pinned(chat.id).await.unwrap(), Some(notice.seq));
    alice.pin(chat.id, None).await.unwrap();
    assert_eq!(bob.pinned(chat.id).await.unwrap(), None);
}

#[tokio::test]
async fn admins_make_a_chat_announcements_only_slow_or_read_only_and_mute_members() {
    use kolokol_client::proto::{ChatSettingsRequest, Posting};
    let server = common::start().await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let chat = group(&alice, "5Б · родители", &[bob_user.id]).await;
    let (mut bob_events, _) = common::connect(&bob, None).await;

    let settings = |posting, slow_mode_secs| ChatSettingsRequest {
        posting,
        slow_mode_secs,
    };
    assert_refused(
        bob.set_chat_settings(chat.id, &settings(Some(Posting::Admins), None))
            .await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        alice
            .set_chat_settings(chat.id, &settings(None, Some(3601)))
            .await,
        ErrorCode::BadRequest,
        400,
    );
    let updated = alice
        .set_chat_settings(chat.id, &settings(Some(Posting::Admins), None))
        .await
        .unwrap();
    assert_eq!(updated.posting, Posting::Admins);
    // Members learn of it live, so their app can say why they cannot write.
    let posting = common::wait_for(&mut bob_events, |event| match event {
        kolokol_client::proto::Event::ChatUpdated { chat, .. } => Some(chat.posting),
        _ => None,
    })
    .await;
    assert_eq!(posting, Posting::Admins);
    assert_refused(
        try_send(&bob, chat.id, "b1", "можно?").await,
        ErrorCode::Forbidden,
        403,
    );
    try_send(&alice, chat.id, "a1", "Только объявления")
        .await
        .unwrap();

    alice
        .set_chat_settings(chat.id, &settings(Some(Posting::Everyone), Some(60)))
        .await
        .unwrap();
    try_send(&bob, chat.id, "b2", "первое").await.unwrap();
    assert_refused(
        try_send(&bob, chat.id, "b3", "второе").await,
        ErrorCode::RateLimited,
        429,
    );
    alice
        .set_chat_settings(chat.id, &settings(None, Some(0)))
        .await
        .unwrap();
    try_send(&bob, chat.id, "b3", "второе").await.unwrap();

    let in_an_hour = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 3_600_000;
    assert_refused(
        bob.mute(chat.id, bob_user.id, Some(in_an_hour)).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        alice
            .mute(chat.id, bob_user.id, Some(in_an_hour - 7_200_000))
            .await,
        ErrorCode::BadRequest,
        400,
    );
    alice
        .mute(chat.id, bob_user.id, Some(in_an_hour))
        .await
        .unwrap();
    assert_refused(
        try_send(&bob, chat.id, "b4", "эй").await,
        ErrorCode::Muted,
        403,
    );
    alice.mute(chat.id, bob_user.id, None).await.unwrap();
    try_send(&bob, chat.id, "b4", "эй").await.unwrap();

    alice
        .set_chat_settings(chat.id, &settings(Some(Posting::Nobody), None))
        .await
        .unwrap();
    assert_refused(
        try_send(&alice, chat.id, "a2", "архив").await,
        ErrorCode::Forbidden,
        403,
    );
    let texts: Vec<String> = history(&bob, chat.id)
        .await
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        texts,
        ["Только объявления", "первое", "второе", "эй"],
        "nothing refused was stored"
    );
}
