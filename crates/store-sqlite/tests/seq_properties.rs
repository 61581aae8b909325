//! Property tests of the seq and idempotency rules on a real SQLite file: whatever mix of new
//! and repeated `client_msg_id`s arrives, concurrently or not, every chat's seqs are 1..n without
//! gaps and each (chat, sender, client_msg_id) is stored exactly once.

use std::collections::BTreeMap;
use std::sync::Arc;

use kolokol_proto::ChatKind;
use kolokol_store::{Actor, NewChat, NewMessage, NewSession, NewUser, Page, Store};
use kolokol_store_sqlite::SqliteStore;
use proptest::prelude::*;

const USERS: usize = 3;
const CHATS: usize = 2;

/// One send: who, where, and which of a small pool of ids (so repeats are common).
#[derive(Debug, Clone)]
struct Send {
    sender: usize,
    chat: usize,
    id: u8,
}

fn sends() -> impl Strategy<Value = Vec<Vec<Send>>> {
    let send =
        (0..USERS, 0..CHATS, 0u8..12).prop_map(|(sender, chat, id)| Send { sender, chat, id });
    // Rounds of sends; the sends of one round run concurrently, so they share group commits.
    proptest::collection::vec(proptest::collection::vec(send, 1..8), 1..8)
}

async fn setup(store: &Arc<dyn Store>) -> (Vec<Actor>, Vec<i64>) {
    let mut actors = Vec::new();
    for i in 0..USERS {
        let user = NewUser {
            username: format!("user{i}"),
            display_name: "U".into(),
            password_hash: "x".into(),
        };
        let session = NewSession {
            token_hash: [i as u8; 32],
            device_name: "test".into(),
        };
        let (user, session_id) = store.register(user, session, 0).await.unwrap();
        actors.push(Actor {
            user_id: user.id,
            session_id,
        });
    }
    let mut chats = Vec::new();
    for _ in 0..CHATS {
        let chat = NewChat {
            kind: ChatKind::Group,
            title: Some("chat".into()),
            member_ids: actors[1..].iter().map(|a| a.user_id).collect(),
            privacy: kolokol_proto::ChatPrivacy::Community,
        };
        chats.push(store.create_chat(actors[0], chat, 0).await.unwrap().value.0);
    }
    (actors, chats)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn seqs_stay_gap_free_and_sends_idempotent(rounds in sends()) {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("k.db")).unwrap());
            let (actors, chats) = setup(&store).await;
            // The model: the seq each (chat, sender, id) received first.
            let mut first_seq: BTreeMap<(usize, usize, u8), i64> = BTreeMap::new();
            for round in rounds {
                let tasks: Vec<_> = round
                    .iter()
                    .map(|send| {
                        let store = store.clone();
                        let (actor, chat) = (actors[send.sender], chats[send.chat]);
                        let message = NewMessage { client_msg_id: format!("id-{}", send.id), text: "hello".into(), reply_to: None, poll: None, thread_of: None, keyboard: Vec::new(), markup: Vec::new(), attachments: Vec::new(), mls: None };
                        tokio::spawn(async move { store.send_message(actor, chat, message, 1).await.unwrap().value })
                    })
                    .collect();
                for (send, task) in round.iter().zip(tasks) {
                    let (message, _created) = task.await.unwrap();
                    let key = (send.chat, send.sender, send.id);
                    let seq = *first_seq.entry(key).or_insert(message.seq);
                    assert_eq!(message.seq, seq, "a repeated client_msg_id returned another message");
                }
            }
            for (index, &chat) in chats.iter().enumerate() {
                let page = Page { after: Some(0), before: None, limit: 100 };
                let stored = store.messages(actors[0], chat, page).await.unwrap();
                let seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
                let expected = first_seq.keys().filter(|(c, _, _)| *c == index).count() as i64;
                assert_eq!(seqs, (1..=expected).collect::<Vec<_>>(), "gap-free, one per client_msg_id");
            }
        });
    }
}
