//! The floor: the least a server must do to deliver group messages over WebSocket — no storage,
//! no authentication, no ordering guarantees beyond one counter — so Kolokol's figures can be
//! read as a ratio to the transport itself.
//!
//! It speaks just enough of Kolokol's API for the same workers to drive it: `GET /api/v1/ws`
//! with `Authorization: Bearer floor:<group>` joins a group and receives `ready`, and
//! `POST /api/v1/chats/<group>/messages` broadcasts a `message.new` frame, serialized once, to
//! every member's queue, answering with the message like Kolokol does. It is built on the same
//! axum and tungstenite as the server, with the same per-connection queue bound.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use kolokol_proto::SendMessageRequest;
use kolokol_store::NewMessage;
use parking_lot::Mutex;
use tokio::sync::mpsc;

/// Frames that may wait for one connection, as the server's default `ws_queue`.
const QUEUE: usize = 1024;

type Frame = axum::extract::ws::Utf8Bytes;

/// A group's member queues and its message counter.
type Group = (Vec<mpsc::Sender<Frame>>, i64);

#[derive(Default)]
struct Groups {
    members: Mutex<HashMap<i64, Group>>,
}

/// Serves the floor on `listen` until the process ends; prints the address like `kolokol serve`.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let groups = Arc::new(Groups::default());
    let app = axum::Router::new()
        .route("/api/v1/ws", get(join))
        .route("/api/v1/chats/{group}/messages", post(broadcast))
        .with_state(groups);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("floor listening on http://{}", listener.local_addr()?);
    // As the server does, so the two pay the same per frame.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

async fn join(
    State(groups): State<Arc<Groups>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let group = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer floor:"))
        .and_then(|group| group.parse::<i64>().ok());
    let Some(group) = group else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let (sender, queue) = mpsc::channel(QUEUE);
    groups
        .members
        .lock()
        .entry(group)
        .or_default()
        .0
        .push(sender);
    // The same read buffer as the server's connections, so the comparison is of the work alone.
    upgrade
        .read_buffer_size(1024)
        .on_upgrade(move |socket| forward(socket, queue))
}

async fn forward(mut socket: WebSocket, mut queue: mpsc::Receiver<Frame>) {
    if socket
        .send(WsMessage::Text(r#"{"type":"ready"}"#.into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            frame = queue.recv() => match frame {
                Some(text) => if socket.send(WsMessage::Text(text)).await.is_err() { return },
                None => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn broadcast(
    State(groups): State<Arc<Groups>>,
    Path(group): Path<i64>,
    Json(request): Json<SendMessageRequest>,
) -> Response {
    let mut members = groups.members.lock();
    let (queues, last_seq) = members.entry(group).or_default();
    *last_seq += 1;
    let seq = *last_seq;
    let message = NewMessage {
        client_msg_id: request.client_msg_id,
        text: request.text,
        reply_to: None,
        poll: None,
        thread_of: None,
        keyboard: Vec::new(),
        markup: Vec::new(),
        attachments: Vec::new(),
        mls: None,
    }
    .into_message(group, 0, seq, seq, Vec::new(), Vec::new(), 0);
    let event = kolokol_proto::Event::MessageNew { message };
    let frame: Frame = serde_json::to_string(&event)
        .expect("events serialize")
        .into();
    // Like the server's hub: a full or closed queue drops the member.
    queues.retain(|member| member.try_send(frame.clone()).is_ok());
    drop(members);
    let kolokol_proto::Event::MessageNew { message } = event else {
        unreachable!("built above")
    };
    (StatusCode::CREATED, Json(message)).into_response()
}
