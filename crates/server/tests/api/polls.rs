//! Polls through the real server: creating them, voting, live counts, deadlines, anonymity.

use kolokol_client::proto::{ErrorCode, Event, Poll, SendMessageRequest};
use kolokol_client::{Client, Page};
use kolokol_server::clock::Clock;

use super::common::{assert_refused, connect, group, start_with, wait_for};

const HOUR: i64 = 3_600_000;
/// 2026-11-24 09:00 UTC.
const START: i64 = 1_795_510_800_000;

fn poll_request(id: &str, question: &str, poll: Poll) -> SendMessageRequest {
    SendMessageRequest {
        client_msg_id: id.into(),
        text: question.into(),
        reply_to: None,
        request_ack: false,
        urgent: false,
        thread_of: None,
        poll: Some(poll),
        attachments: Vec::new(),
        mls: None,
    }
}

fn options(names: &[&str]) -> Vec<String> {
    names.iter().map(|&name| name.to_owned()).collect()
}

async fn vote(
    client: &Client,
    chat_id: i64,
    seq: i64,
    options: &[u32],
) -> Result<kolokol_client::proto::PollResults, kolokol_client::ClientError> {
    client.vote(chat_id, seq, options.to_vec()).await
}

#[tokio::test]
async fn polls_count_votes_live_and_close_at_their_deadline() {
    let clock = Clock::manual(START);
    let server = start_with(|settings| settings.clock = clock.clone()).await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let (carol, carol_user) = server.user("carol").await;
    let (dave, _) = server.user("dave").await;
    let chat = group(&alice, "5Б · родители", &[bob_user.id, carol_user.id]).await;

    // A poll with one option, or a deadline already past, is refused and nothing is stored.
    for bad in [
        Poll {
            options: options(&["Да"]),
            multiple: false,
            anonymous: false,
            closes_at: None,
        },
        Poll {
            options: options(&["Да", "Нет"]),
            multiple: false,
            anonymous: false,
            closes_at: Some(START - 1),
        },
    ] {
        assert_refused(
            alice
                .send_message(chat.id, &poll_request("bad", "Идём?", bad))
                .await,
            ErrorCode::InvalidPoll,
            400,
        );
    }
    assert!(
        alice
            .messages(chat.id, Page::default())
            .await
            .unwrap()
            .is_empty()
    );

    let excursion = Poll {
        options: options(&["Музей", "Театр", "Парк"]),
        multiple: false,
        anonymous: false,
        closes_at: Some(START + HOUR),
    };
    let (question, _) = alice
        .send_message(
            chat.id,
            &poll_request("p1", "Куда поедем на экскурсию?", excursion.clone()),
        )
        .await
        .unwrap();
    assert_eq!(question.poll, Some(excursion));
    let seq = question.seq;

    let (mut bob_events, _) = connect(&bob, None).await;
    let results = vote(&carol, chat.id, seq, &[1]).await.unwrap();
    assert_eq!(
        (results.tally.counts.clone(), results.mine.clone()),
        (vec![0, 1, 0], vec![1])
    );
    // Bob sees the counts change live, with who voted (the poll is named).
    let tally = wait_for(&mut bob_events, |event| match event {
        Event::PollVoted {
            chat_id,
            seq: voted,
            tally,
        } if *chat_id == chat.id && *voted == seq => Some(tally.clone()),
        _ => None,
    })
    .await;
    assert_eq!(tally.counts, [0, 1, 0]);
    assert_eq!(
        tally.voter_ids,
        Some(vec![vec![], vec![carol_user.id], vec![]])
    );

    // Single choice takes one option; revoting replaces; outsiders and plain messages refuse.
    assert_refused(
        vote(&bob, chat.id, seq, &[0, 1]).await,
        ErrorCode::InvalidVote,
        400,
    );
    assert_refused(
        vote(&bob, chat.id, seq, &[7]).await,
        ErrorCode::InvalidVote,
        400,
    );
    assert_refused(
        vote(&dave, chat.id, seq, &[0]).await,
        ErrorCode::NotMember,
        403,
    );
    let plain = super::common::send(&alice, chat.id, "m1", "Спасибо")
        .await
        .unwrap();
    assert_refused(
        vote(&bob, chat.id, plain.seq, &[0]).await,
        ErrorCode::MessageNotFound,
        404,
    );
    vote(&bob, chat.id, seq, &[0]).await.unwrap();
    let results = vote(&bob, chat.id, seq, &[2]).await.unwrap();
    assert_eq!(
        (results.tally.counts, results.tally.voters),
        (vec![0, 1, 1], 2)
    );

    let polls = carol.polls(chat.id).await.unwrap();
    assert_eq!(polls.len(), 1);
    assert_eq!(
        (polls[0].seq, polls[0].mine.clone(), polls[0].closed),
        (seq, vec![1], false)
    );

    // After the deadline the poll is closed and its results stay.
    clock.set(START + HOUR);
    assert_refused(
        vote(&carol, chat.id, seq, &[0]).await,
        ErrorCode::PollClosed,
        409,
    );
    let polls = alice.polls(chat.id).await.unwrap();
    assert!(polls[0].closed);
    assert_eq!(polls[0].tally.counts, [0, 1, 1]);
}

#[tokio::test]
async fn anonymous_polls_never_say_who_voted() {
    let server = start_with(|_| {}).await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let chat = group(&alice, "Учительская", &[bob_user.id]).await;
    let secret = Poll {
        options: options(&["Пятница", "Суббота"]),
        multiple: true,
        anonymous: true,
        closes_at: None,
    };
    let (question, _) = alice
        .send_message(chat.id, &poll_request("p1", "Когда собираемся?", secret))
        .await
        .unwrap();
    let (mut alice_events, _) = connect(&alice, None).await;
    let results = vote(&bob, chat.id, question.seq, &[0, 1]).await.unwrap();
    assert_eq!(results.tally.counts, [1, 1]);
    assert_eq!(results.tally.voter_ids, None);
    let tally = wait_for(&mut alice_events, |event| match event {
        Event::PollVoted { tally, .. } => Some(tally.clone()),
        _ => None,
    })
    .await;
    assert_eq!((tally.voters, tally.voter_ids), (1, None));
    let polls = alice.polls(chat.id).await.unwrap();
    assert_eq!(
        polls[0].tally.voter_ids, None,
        "not even the author sees who"
    );
    assert!(polls[0].mine.is_empty());
}

/// Votes within one interval go out as one `poll.voted`. Its counts include votes cast after
/// the first voter had her answer, so she must hear it too (she used to be left out, and saw
/// stale counts until someone voted again).
#[tokio::test]
async fn voters_in_the_same_moment_all_hear_the_counts() {
    let server = start_with(|_| {}).await;
    let (alice, _) = server.user("alice").await;
    let (bob, bob_user) = server.user("bob").await;
    let (carol, carol_user) = server.user("carol").await;
    let chat = group(&alice, "5Б · родители", &[bob_user.id, carol_user.id]).await;
    let (question, _) = alice
        .send_message(
            chat.id,
            &poll_request(
                "p1",
                "Куда поедем?",
                Poll {
                    options: options(&["Музей", "Театр"]),
                    multiple: false,
                    anonymous: false,
                    closes_at: None,
                },
            ),
        )
        .await
        .unwrap();
    let (mut carol_events, _) = connect(&carol, None).await;
    let first = vote(&carol, chat.id, question.seq, &[0]).await.unwrap();
    assert_eq!(first.tally.counts, [1, 0]);
    // Bob votes right after, well within the interval of Carol's update.
    vote(&bob, chat.id, question.seq, &[1]).await.unwrap();
    let tally = wait_for(&mut carol_events, |event| match event {
        Event::PollVoted { seq, tally, .. } if *seq == question.seq => Some(tally.clone()),
        _ => None,
    })
    .await;
    assert_eq!((tally.counts, tally.voters), (vec![1, 1], 2));
}
