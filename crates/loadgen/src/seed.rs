//! Fills a fresh data folder with the users, sessions and chats of a scenario before the server
//! starts, through the same `Store` the server uses. Registering tens of thousands of users over
//! HTTP would spend minutes in Argon2; a run measures delivery, not sign-up.

use std::path::Path;
use std::sync::Arc;

use kolokol_proto::ChatKind;
use kolokol_store::{Actor, NewChat, NewSession, NewUser, Store};
use kolokol_store_sqlite::SqliteStore;
use sha2::{Digest, Sha256};

/// A chat to create: its kind and members by user index, the first being the owner.
#[derive(Debug, Clone)]
pub struct ChatSpec {
    pub kind: ChatKind,
    pub members: Vec<usize>,
}

/// What was created: each user's session token and id, and each chat's id.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub tokens: Vec<String>,
    pub chat_ids: Vec<i64>,
}

/// Members added per call when a chat is large.
const ADD_AT_ONCE: usize = 1000;

pub async fn seed(data_dir: &Path, users: usize, chats: &[ChatSpec]) -> anyhow::Result<Seeded> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&data_dir.join("kolokol.db"))?);
    let run: u64 = rand::random();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let mut tasks = Vec::new();
    for index in 0..users {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let token = format!("kk_loadgen_{run:x}_{index}");
            let user = NewUser {
                username: format!("lg{index}"),
                display_name: format!("Нагрузка {index}"),
                // Not a valid hash: nobody can sign in as a generated user.
                password_hash: "!loadgen".into(),
            };
            let session = NewSession {
                token_hash: Sha256::digest(token.as_bytes()).into(),
                device_name: "loadgen".into(),
            };
            let (user, session_id) = store.register(user, session, now).await?;
            anyhow::Ok((
                token,
                Actor {
                    user_id: user.id,
                    session_id,
                },
            ))
        }));
    }
    let mut tokens = Vec::with_capacity(users);
    let mut actors = Vec::with_capacity(users);
    for task in tasks {
        let (token, actor) = task.await??;
        tokens.push(token);
        actors.push(actor);
    }
    let mut chat_ids = Vec::with_capacity(chats.len());
    for spec in chats {
        let owner = actors[spec.members[0]];
        let others: Vec<i64> = spec.members[1..]
            .iter()
            .map(|&m| actors[m].user_id)
            .collect();
        let (first, rest) = others.split_at(others.len().min(ADD_AT_ONCE));
        let chat = NewChat {
            kind: spec.kind,
            title: (spec.kind != ChatKind::Direct).then(|| "Нагрузка".to_owned()),
            member_ids: first.to_vec(),
            privacy: kolokol_proto::ChatPrivacy::Community,
        };
        let (chat_id, _) = store.create_chat(owner, chat, now).await?.value;
        for chunk in rest.chunks(ADD_AT_ONCE) {
            store
                .add_members(owner, chat_id, chunk.to_vec(), now)
                .await?;
        }
        chat_ids.push(chat_id);
    }
    Ok(Seeded { tokens, chat_ids })
}
