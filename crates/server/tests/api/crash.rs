//! Durability: the server process is killed with SIGKILL in the middle of a burst of concurrent
//! sends and restarted on the same data. Every acknowledged message must be there, seqs must
//! stay gap-free, and retrying any client_msg_id must never duplicate.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::time::Duration;

use kolokol_client::proto::{ChatKind, CreateChatRequest, Message, SendMessageRequest};
use kolokol_client::{Client, Page};
use parking_lot::Mutex;

use super::common::{PASSWORD, spawn_kolokol};

fn spawn_server(data_dir: &Path) -> (Child, String) {
    let data_dir = data_dir.to_str().expect("UTF-8 temp path");
    spawn_kolokol(&["--data-dir", data_dir], &[])
}

async fn all_messages(client: &Client, chat_id: i64) -> Vec<Message> {
    let mut messages = Vec::new();
    let mut after = 0;
    loop {
        let page = Page {
            after: Some(after),
            before: None,
            limit: Some(100),
        };
        let batch = client.messages(chat_id, page).await.expect("history");
        let Some(last) = batch.last() else {
            return messages;
        };
        after = last.seq;
        messages.extend(batch);
    }
}

#[tokio::test]
async fn acknowledged_sends_survive_sigkill_and_retries_never_duplicate() {
    const SENDERS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = spawn_server(dir.path());

    let mut clients = Vec::new();
    for i in 0..SENDERS {
        let mut client = Client::new(base.clone());
        client
            .register(&kolokol_client::proto::RegisterRequest {
                username: format!("sender{i}"),
                password: PASSWORD.into(),
                display_name: format!("Sender {i}"),
                device_name: None,
            })
            .await
            .unwrap();
        clients.push(client);
    }
    let mut member_ids = Vec::new();
    for client in &clients[1..] {
        member_ids.push(client.me().await.unwrap().user.id);
    }
    let (chat, _) = clients[0]
        .create_chat(&CreateChatRequest {
            kind: ChatKind::Group,
            title: Some("burst".into()),
            member_ids: Some(member_ids),
            privacy: kolokol_proto::ChatPrivacy::Community,
        })
        .await
        .unwrap();

    // Each sender sends as fast as it can, recording what was acknowledged and what was tried.
    let acked: Arc<Mutex<BTreeMap<String, Message>>> = Arc::default();
    let attempted: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let mut tasks = Vec::new();
    for (index, client) in clients.iter().cloned().enumerate() {
        let (acked, attempted) = (acked.clone(), attempted.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let id = format!("s{index}-{n}");
                attempted.lock().push((index, id.clone()));
                let request = SendMessageRequest {
                    client_msg_id: id.clone(),
                    text: format!("message {n}"),
                    reply_to: None,
                    request_ack: false,
                    urgent: false,
                    thread_of: None,
                    poll: None,
                    attachments: Vec::new(),
                    mls: None,
                };
                match client.send_message(chat.id, &request).await {
                    Ok((message, _)) => {
                        acked.lock().insert(id, message);
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    // Let the burst run, then kill the server without warning.
    while acked.lock().len() < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    for task in tasks {
        task.await.unwrap();
    }

    let (mut child, base) = spawn_server(dir.path());
    let clients: Vec<Client> = clients
        .into_iter()
        .map(|c| Client::new(base.clone()).with_token(c.token().unwrap()))
        .collect();

    // Every acknowledged message is there, unchanged; seqs are 1..=n without gaps.
    let stored = all_messages(&clients[0], chat.id).await;
    let seqs: Vec<i64> = stored.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=stored.len() as i64).collect::<Vec<_>>(),
        "gap-free seqs"
    );
    for message in acked.lock().values() {
        assert_eq!(
            &stored[message.seq as usize - 1],
            message,
            "acknowledged message survived"
        );
    }

    // Retrying every attempted client_msg_id returns the original or stores it once.
    let attempted = attempted.lock().clone();
    for (index, id) in &attempted {
        let request = SendMessageRequest {
            client_msg_id: id.clone(),
            text: "retry".into(),
            reply_to: None,
            request_ack: false,
            urgent: false,
            thread_of: None,
            poll: None,
            attachments: Vec::new(),
            mls: None,
        };
        let (message, created) = clients[*index]
            .send_message(chat.id, &request)
            .await
            .unwrap();
        if let Some(original) = acked.lock().get(id) {
            assert!(!created, "{id} was duplicated");
            assert_eq!(&message, original);
        }
    }
    let after_retry = all_messages(&clients[0], chat.id).await;
    assert_eq!(
        after_retry.len(),
        attempted.len(),
        "one message per client_msg_id"
    );
    let seqs: Vec<i64> = after_retry.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=after_retry.len() as i64).collect::<Vec<_>>());
    child.kill().unwrap();
    child.wait().unwrap();
}
