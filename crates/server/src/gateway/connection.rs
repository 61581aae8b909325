//! One WebSocket connection: authenticate, catch up from the cursor, then stream live events.
//!
//! The connection keeps the client's cursor (its position in each stream) and uses it for
//! three things: stamping every frame with the cursor after it, skipping live events the
//! catch-up already delivered, and noticing gaps — a live event more than one position ahead,
//! or from a chat it did not follow yet — which it fills from the store before going on. So each
//! chat's events reach the client in order, exactly once, whatever the bus does.

use std::cell::RefCell;
use std::task::Poll;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::response::Response;
use bytes::BytesMut;
use futures_util::SinkExt;
use kolokol_bus::Envelope;
use kolokol_domain::{Cursor, Route};
use kolokol_proto::event::close_code;
use kolokol_proto::{ClientFrame, ErrorCode, Event};
use kolokol_store::{Actor, CatchUp};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::auth::{authenticate, bearer, hash_secret};
use crate::error::{ApiError, ApiResult, Query};
use crate::gateway::hub::Outgoing;
use crate::state::{AppState, envelope};

/// A client that does not take a frame within this time is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Events read from the store per round while catching up.
const CATCH_UP_BATCH: u32 = 256;
/// Largest frame a client may send (typing notices are tiny).
const MAX_CLIENT_FRAME: usize = 4096;
/// Frames written with one system call at most: what waits in a connection's queue is fed
/// into its write buffer and flushed once, up to this many bytes. A connection keeps its write
/// buffer's capacity, so this also bounds what a burst leaves behind on an idle connection.
const COALESCE_BYTES: usize = 8 * 1024;
/// Each connection's read buffer. tungstenite's default is 128 KiB, which for tens of thousands
/// of idle connections is gigabytes; clients only ever send small frames (a larger one makes
/// room for itself). tungstenite also zeroes this much before every read it tries, which is
/// once per wake-up of the connection, so small is cheaper in time too.
const READ_BUFFER: usize = 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct WsParams {
    /// One-time ticket from `POST /api/v1/ws/ticket`, for browsers.
    ticket: Option<String>,
    /// The cursor of the last event received; missed events are delivered first.
    since: Option<String>,
}

/// Real-time events. Authenticate with `Authorization: Bearer <token>` or `?ticket=`.
#[utoipa::path(get, path = "/api/v1/ws", tag = "realtime", params(WsParams),
    responses((status = 101, description = "Switching to the WebSocket protocol; frames are ServerFrame objects"),
              (status = 400, body = kolokol_proto::ErrorBody), (status = 401, body = kolokol_proto::ErrorBody)))]
pub async fn ws(
    State(state): State<AppState>,
    Query(params): Query<WsParams>,
    parts: Parts,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade =
        upgrade.map_err(|rejection| ApiError::new(ErrorCode::BadRequest, rejection.body_text()))?;
    let actor = match (bearer(&parts), &params.ticket) {
        (Some(token), _) => authenticate(&state, hash_secret(token)).await?,
        (None, Some(ticket)) => state
            .store
            .redeem_ws_ticket(hash_secret(ticket), state.now())
            .await?
            .ok_or_else(ApiError::unauthorized)?,
        (None, None) => return Err(ApiError::unauthorized()),
    };
    let since = params.since.as_deref().map(Cursor::decode).transpose()?;
    Ok(upgrade
        .max_message_size(MAX_CLIENT_FRAME)
        .read_buffer_size(READ_BUFFER)
        // Frames are flushed by `COALESCE_BYTES`, never held back waiting for more.
        .write_buffer_size(COALESCE_BYTES * 2)
        .on_upgrade(move |socket| serve(state, actor, since, socket)))
}

/// Why a connection ended.
enum End {
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// The client went away; nothing more to say.
    Gone,
}

/// Where this thread puts frames together. The socket copies a frame into its write buffer and
/// drops it as it is fed, so the next frame built here reuses the same allocation: no allocation
/// per delivery, and no buffer kept per connection.
#[derive(Default)]
struct FrameBuffers {
    frames: BytesMut,
    /// The cursor, encoded.
    cursor: String,
    /// The cursor's bytes before base64.
    scratch: Vec<u8>,
}

thread_local! {
    static FRAMES: RefCell<FrameBuffers> = RefCell::default();
}

struct Connection {
    state: AppState,
    actor: Actor,
    cursor: Cursor,
    /// Bytes fed to the socket since its last flush.
    unflushed: usize,
    socket: WebSocket,
}

async fn serve(state: AppState, actor: Actor, since: Option<Cursor>, socket: WebSocket) {
    let hub = state.hub.clone();
    // Register before reading the store, so nothing committed meanwhile is missed: what the
    // catch-up also delivers is skipped by position.
    let (id, mut queue) = hub.register(actor.user_id, state.settings.ws_queue);
    let mut connection = Connection {
        state,
        actor,
        cursor: Cursor::default(),
        unflushed: 0,
        socket,
    };
    let end = connection.run(since, &mut queue).await;
    hub.unregister(actor.user_id, id);
    if let End::Close(code, reason) = end {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(
            SEND_TIMEOUT,
            connection.socket.send(Message::Close(Some(frame))),
        )
        .await;
    }
}

impl Connection {
    async fn run(&mut self, since: Option<Cursor>, queue: &mut mpsc::Receiver<Outgoing>) -> End {
        match self.start(since).await {
            Ok(()) => {}
            Err(end) => return end,
        }
        if let Err(end) = self.flush().await {
            return end;
        }
        // A client that has not answered one heartbeat by the next is gone.
        let mut awaiting_pong = false;
        loop {
            let step = tokio::select! {
                outgoing = queue.recv() => match outgoing {
                    Some(outgoing) => self.outgoing_burst(outgoing, queue, &mut awaiting_pong).await,
                    None => Err(End::Close(close_code::TOO_SLOW, "too slow: resume from your cursor")),
                },
                message = self.socket.recv() => match message {
                    Some(Ok(Message::Text(text))) => self.client_frame(text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => Err(End::Close(close_code::BAD_FRAME, "frames are JSON text")),
                    Some(Ok(Message::Pong(_))) => {
                        awaiting_pong = false;
                        Ok(())
                    }
                    Some(Ok(Message::Ping(_))) => Ok(()),
                    Some(Ok(Message::Close(_))) | None => Err(End::Gone),
                    // Oversized or malformed frames: say why before hanging up.
                    Some(Err(_)) => Err(End::Close(close_code::BAD_FRAME, "unreadable or oversized frame")),
                },
            };
            if let Err(end) = step.and(self.flush().await) {
                return end;
            }
        }
    }

    /// Writes `first` and whatever else already waits in the queue, so that a connection that
    /// fell behind catches up with few system calls instead of one per frame.
    async fn outgoing_burst(
        &mut self,
        first: Outgoing,
        queue: &mut mpsc::Receiver<Outgoing>,
        awaiting_pong: &mut bool,
    ) -> Result<(), End> {
        let mut next = Some(first);
        while let Some(outgoing) = next.take() {
            match outgoing {
                Outgoing::Event(envelope) => self.live(&envelope).await?,
                Outgoing::Ping if *awaiting_pong => return Err(End::Gone),
                Outgoing::Ping => {
                    *awaiting_pong = true;
                    self.feed(Message::Ping(Default::default())).await?;
                }
            }
            next = queue.try_recv().ok();
        }
        Ok(())
    }

    /// Delivers what the client missed (or takes "now" as the cursor), then `ready`.
    async fn start(&mut self, since: Option<Cursor>) -> Result<(), End> {
        match since {
            Some(cursor) => {
                self.cursor = cursor;
                self.catch_up().await?;
            }
            None => {
                self.cursor = self
                    .state
                    .store
                    .current_cursor(self.actor.user_id)
                    .await
                    .map_err(internal)?;
            }
        }
        let ready = serde_json::to_vec(&Event::Ready {}).expect("events always serialize");
        self.send_with_cursor(&ready).await
    }

    async fn catch_up(&mut self) -> Result<(), End> {
        loop {
            let found = self
                .state
                .store
                .catch_up(self.actor.user_id, &self.cursor, CATCH_UP_BATCH)
                .await
                .map_err(internal)?;
            match found {
                CatchUp::Events(events) => {
                    let complete = events.len() < CATCH_UP_BATCH as usize;
                    for published in events {
                        let envelope = envelope(&published);
                        self.deliver(envelope.route, &envelope.json, Some(&published.event))
                            .await?;
                    }
                    if complete {
                        return Ok(());
                    }
                }
                CatchUp::Resync { current } => {
                    self.cursor = current;
                    let resync =
                        serde_json::to_vec(&Event::Resync {}).expect("events always serialize");
                    return self.send_with_cursor(&resync).await;
                }
            }
        }
    }

    async fn live(&mut self, envelope: &Envelope) -> Result<(), End> {
        let reached = match envelope.route {
            Route::Chat { chat_id, .. } => self.cursor.chats.get(&chat_id).copied(),
            Route::User { .. } => Some(self.cursor.user_pos),
            Route::Ephemeral { chat_id, .. } => {
                if self.cursor.chats.contains_key(&chat_id) {
                    // Shared with every recipient, not copied.
                    let text = Utf8Bytes::try_from(envelope.json.clone()).map_err(internal)?;
                    return self.feed(Message::Text(text)).await;
                }
                return Ok(());
            }
        };
        let pos = match envelope.route {
            Route::Chat { pos, .. } | Route::User { pos, .. } => pos,
            Route::Ephemeral { .. } => unreachable!("handled above"),
        };
        match reached {
            Some(at) if pos <= at => Ok(()),
            Some(at) if pos == at + 1 => {
                // Only account-level events change the connection itself (revocation, removal);
                // chat events are passed on without being parsed.
                let event = match envelope.route {
                    Route::User { .. } => Some(
                        serde_json::from_slice::<Event>(&envelope.json)
                            .map_err(|_| internal("undecodable event"))?,
                    ),
                    _ => None,
                };
                self.deliver(envelope.route, &envelope.json, event.as_ref())
                    .await
            }
            // A gap, or a chat this connection did not follow yet: the store has it all.
            _ => self.catch_up().await,
        }
    }

    /// Sends one durable event, advancing the cursor past it. `event` is the decoded event when
    /// it may concern the connection itself.
    async fn deliver(
        &mut self,
        route: Route,
        json: &[u8],
        event: Option<&Event>,
    ) -> Result<(), End> {
        self.cursor.advance(&route);
        match event {
            Some(Event::MemberRemoved {
                chat_id, user_id, ..
            }) if *user_id == self.actor.user_id && matches!(route, Route::User { .. }) => {
                self.cursor.chats.remove(chat_id);
            }
            _ => {}
        }
        self.send_with_cursor(json).await?;
        match event {
            Some(Event::SessionRevoked { session_id }) if *session_id == self.actor.session_id => {
                Err(End::Close(close_code::SESSION_REVOKED, "session revoked"))
            }
            _ => Ok(()),
        }
    }

    /// Sends an event object with `"cursor"` appended: the event bytes are shared by all
    /// recipients, only the cursor is this connection's own.
    async fn send_with_cursor(&mut self, json: &[u8]) -> Result<(), End> {
        let open = json.strip_suffix(b"}").expect("events are JSON objects");
        let frame = FRAMES.with_borrow_mut(|buffers| {
            let FrameBuffers {
                frames,
                cursor,
                scratch,
            } = buffers;
            cursor.clear();
            self.cursor.encode_into(cursor, scratch);
            frames.reserve(open.len() + cursor.len() + 16);
            frames.extend_from_slice(open);
            frames.extend_from_slice(b",\"cursor\":\"");
            frames.extend_from_slice(cursor.as_bytes());
            frames.extend_from_slice(b"\"}");
            frames.split().freeze()
        });
        let text = Utf8Bytes::try_from(frame).map_err(internal)?;
        self.feed(Message::Text(text)).await
    }

    /// Adds a frame to the socket's write buffer; it is written by the next `flush`, or at once
    /// when `COALESCE_BYTES` have gathered.
    async fn feed(&mut self, message: Message) -> Result<(), End> {
        self.unflushed += match &message {
            Message::Text(text) => text.len(),
            // Control frames are a few bytes; still count them so a flush follows.
            _ => 2,
        };
        within_send_timeout(self.socket.feed(message)).await?;
        if self.unflushed >= COALESCE_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), End> {
        if self.unflushed == 0 {
            return Ok(());
        }
        self.unflushed = 0;
        within_send_timeout(self.socket.flush()).await
    }

    async fn client_frame(&mut self, text: &str) -> Result<(), End> {
        let Ok(frame) = serde_json::from_str::<ClientFrame>(text) else {
            return Err(End::Close(
                close_code::BAD_FRAME,
                "unknown or malformed frame",
            ));
        };
        match frame {
            ClientFrame::Typing { chat_id } => {
                // Only members may type; the cursor lists the chats this connection follows.
                if self.cursor.chats.contains_key(&chat_id) {
                    crate::routes::messages::publish_typing(
                        &self.state,
                        self.actor.user_id,
                        chat_id,
                    )
                    .await;
                }
                Ok(())
            }
        }
    }
}

/// Runs a write to the client, giving up on a client that does not take it within
/// `SEND_TIMEOUT`. Nearly every write fits in the socket's buffer at once; only one that has to
/// wait arms a timer, so the common case costs no timer at all.
async fn within_send_timeout<E>(write: impl Future<Output = Result<(), E>>) -> Result<(), End> {
    let mut write = std::pin::pin!(write);
    let written = match std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await {
        Poll::Ready(written) => written,
        Poll::Pending => match tokio::time::timeout(SEND_TIMEOUT, write).await {
            Ok(written) => written,
            Err(_) => return Err(End::Gone),
        },
    };
    written.map_err(|_| End::Gone)
}

fn internal(error: impl std::fmt::Display) -> End {
    tracing::error!(%error, "websocket connection failed");
    End::Close(1011, "internal error")
}
