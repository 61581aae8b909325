//! Messages, reactions, read markers and typing.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use kolokol_bus::Envelope;
use kolokol_domain::{Route, poll, validate};
use kolokol_proto::{
    AckRequest, AckRequestList, Base64Bytes, ChatId, EditMessageRequest, ErrorBody, ErrorCode,
    Event, HeldMessage, HeldMessageList, Keyboard, MarkReadRequest, Markup, Message, MessageList,
    Millis, Poll, PollResults, PollResultsList, ReactionRequest, ReactionResult, ReadBy, Role,
    SendMessageRequest, Seq, ThreadList, UserId, VoteRequest,
};
use kolokol_store::{Actor, MessageEdit, NewHeldMessage, NewMessage, NewMls, Outcome, Page};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Json, Path, Query};
use crate::mls::check;
use crate::orgs::{audit, audit_in_chat};
use crate::quiet::{hold_for, urgent_org};
use crate::state::AppState;

/// Send a message. Acknowledged only once durably stored; a repeated `client_msg_id` returns
/// the original with 200 instead of storing a duplicate. In the org's quiet hours, or to someone
/// in do-not-disturb, the message is held instead (202): it goes out when they end.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/messages", tag = "messages", security(("bearer" = [])), request_body = SendMessageRequest,
    params(("chat_id" = i64, Path)),
    responses((status = 201, body = Message), (status = 200, description = "The original of a repeated client_msg_id", body = Message),
              (status = 202, description = "Held by quiet hours or do-not-disturb until `release_at`", body = HeldMessage),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, description = "Slow mode", body = ErrorBody)))]
pub async fn send_message(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Json(request): Json<SendMessageRequest>,
) -> ApiResult<Response> {
    Ok(
        match send(&state, actor, chat_id, request, Extras::default()).await? {
            Sent::Stored(message, true) => (StatusCode::CREATED, Json(message)).into_response(),
            Sent::Stored(message, false) => (StatusCode::OK, Json(message)).into_response(),
            Sent::Held(held) => (StatusCode::ACCEPTED, Json(held)).into_response(),
        },
    )
}

/// What became of a send.
pub enum Sent {
    /// Stored and published; `false` when it repeated a `client_msg_id` (the original).
    Stored(Message, bool),
    /// Held by quiet hours or do-not-disturb.
    Held(HeldMessage),
}

/// What only bots' messages carry.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub keyboard: Keyboard,
    pub markup: Vec<Markup>,
}

/// Sends a message by the same rules for everyone, people and bots: validation, quiet hours,
/// do-not-disturb, then the store's own rules (posting, slow mode, mutes).
pub async fn send(
    state: &AppState,
    actor: Actor,
    chat_id: ChatId,
    mut request: SendMessageRequest,
    extras: Extras,
) -> ApiResult<Sent> {
    validate::client_msg_id(&request.client_msg_id)?;
    if let Some(data) = request.mls.take() {
        return send_sealed(state, actor, chat_id, request, data).await;
    }
    validate::message_text_with(&request.text, !request.attachments.is_empty())?;
    if request.attachments.len() > kolokol_store::MAX_ATTACHMENTS {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "at most 10 files in a message",
        ));
    }
    kolokol_domain::keyboard::check(&extras.keyboard)?;
    kolokol_domain::markup::check(&request.text, &extras.markup)?;
    let Extras { keyboard, markup } = extras;
    let poll = request
        .poll
        .map(|poll| kolokol_domain::poll::validate(poll, state.now()))
        .transpose()?;
    if request.request_ack && state.store.chat(actor, chat_id).await?.role == Role::Member {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only the chat's owner and admins ask for acknowledgements",
        ));
    }
    let urgent_in = match request.urgent {
        true => Some(urgent_org(state, actor, chat_id).await?),
        false => None,
    };
    if urgent_in.is_none()
        && let Some(hold) = hold_for(state, actor, chat_id).await?
    {
        let held = NewHeldMessage {
            chat_id,
            sender_id: actor.user_id,
            client_msg_id: request.client_msg_id,
            text: request.text,
            reply_to: request.reply_to,
            request_ack: request.request_ack,
            poll,
            thread_of: request.thread_of,
            keyboard,
            markup,
            reason: hold.reason,
            release_at: hold.release_at,
            attachments: request.attachments,
        };
        let held = state.store.hold_message(held, state.now()).await?;
        return Ok(Sent::Held(held));
    }
    let message = NewMessage {
        client_msg_id: request.client_msg_id,
        text: request.text,
        reply_to: request.reply_to,
        poll,
        thread_of: request.thread_of,
        keyboard,
        markup,
        attachments: request.attachments,
        mls: None,
    };
    let (message, created) = deliver(state, actor, chat_id, message, request.request_ack).await?;
    if let Some(org_id) = urgent_in
        && created
    {
        let detail = format!("chat {chat_id}: message {}", message.seq);
        audit(state, org_id, actor.user_id, "message.urgent", detail).await?;
    }
    Ok(Sent::Stored(message, created))
}

/// An MLS application message to an encrypted chat, with nothing of it in clear beside it.
/// Delivered at once: quiet hours hold only what the server could re-send at their end, and an
/// encrypted message is bound to its epoch.
async fn send_sealed(
    state: &AppState,
    actor: Actor,
    chat_id: ChatId,
    request: SendMessageRequest,
    data: Base64Bytes,
) -> ApiResult<Sent> {
    let in_clear = !request.text.is_empty()
        || request.reply_to.is_some()
        || request.poll.is_some()
        || request.thread_of.is_some()
        || !request.attachments.is_empty();
    if in_clear {
        return Err(kolokol_domain::mls::encryption_required().into());
    }
    let sealed = check::application(&data.0, chat_id)?;
    let message = NewMessage {
        client_msg_id: request.client_msg_id,
        text: String::new(),
        reply_to: None,
        poll: None,
        thread_of: None,
        keyboard: Keyboard::default(),
        markup: Vec::new(),
        attachments: Vec::new(),
        mls: Some(NewMls {
            generation: sealed.generation,
            epoch: sealed.epoch,
            digest: Sha256::digest(&sealed.data).to_vec(),
            franking_tag: sealed.franking_tag,
            data: sealed.data,
        }),
    };
    let (message, created) = deliver(state, actor, chat_id, message, request.request_ack).await?;
    Ok(Sent::Stored(message, created))
}

/// Stores a message (with its acknowledgement request) and publishes it: a send, or the
/// release of a held one.
pub async fn deliver(
    state: &AppState,
    actor: Actor,
    chat_id: ChatId,
    message: NewMessage,
    request_ack: bool,
) -> ApiResult<(Message, bool)> {
    let outcome = store_message(state, actor, chat_id, message, request_ack).await?;
    state.publish(outcome.events).await;
    Ok(outcome.value)
}

/// [`deliver`] without the publishing, for a caller that has more to do before anyone sees it.
pub async fn store_message(
    state: &AppState,
    actor: Actor,
    chat_id: ChatId,
    message: NewMessage,
    request_ack: bool,
) -> ApiResult<Outcome<(Message, bool)>> {
    let outcome = state
        .store
        .send_message(actor, chat_id, message, state.now())
        .await?;
    // Before the message goes out, so no reader sees it without its request.
    if request_ack {
        let seq = outcome.value.0.seq;
        state.store.request_ack(chat_id, seq, state.now()).await?;
    }
    Ok(outcome)
}

/// Your messages in this chat that wait for quiet hours or do-not-disturb to end.
#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/held", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 200, body = HeldMessageList), (status = 403, body = ErrorBody)))]
pub async fn held_messages(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<Json<HeldMessageList>> {
    state.store.check_member(actor, chat_id).await?;
    Ok(Json(HeldMessageList {
        messages: state.store.held_messages(actor.user_id, chat_id).await?,
    }))
}

/// Cancel one of your held messages before it goes out.
#[utoipa::path(delete, path = "/api/v1/chats/{chat_id}/held/{held_id}", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = i64, Path), ("held_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn cancel_held(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, held_id)): Path<(ChatId, i64)>,
) -> ApiResult<StatusCode> {
    state
        .store
        .cancel_held(actor.user_id, chat_id, held_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every thread of the chat: under which message, how many replies, the latest.
#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/threads", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 200, body = ThreadList), (status = 403, body = ErrorBody)))]
pub async fn threads(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<Json<ThreadList>> {
    state.store.check_member(actor, chat_id).await?;
    Ok(Json(ThreadList {
        threads: state.store.threads(chat_id).await?,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ThreadParams {
    /// Replies with a seq above this one.
    after: Option<Seq>,
    /// 1–100, default 50.
    limit: Option<u32>,
}

/// The replies in the thread under message `root`, oldest first.
#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/threads/{root}", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = i64, Path), ("root" = i64, Path), ThreadParams),
    responses((status = 200, body = MessageList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn thread(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, root)): Path<(ChatId, Seq)>,
    Query(params): Query<ThreadParams>,
) -> ApiResult<Json<MessageList>> {
    let limit = validate::history_limit(params.limit)?;
    Ok(Json(MessageList {
        messages: state
            .store
            .thread(actor, chat_id, root, params.after, limit)
            .await?,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct HistoryParams {
    /// Messages with a seq below this one (the newest of them).
    before: Option<Seq>,
    /// Messages with a seq above this one (the oldest of them).
    after: Option<Seq>,
    /// 1–100, default 50.
    limit: Option<u32>,
}

/// A page of history in ascending seq order; deleted messages appear as tombstones.
#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/messages", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = i64, Path), HistoryParams),
    responses((status = 200, body = MessageList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn messages(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Query(params): Query<HistoryParams>,
) -> ApiResult<Json<MessageList>> {
    let page = Page {
        before: params.before,
        after: params.after,
        limit: validate::history_limit(params.limit)?,
    };
    Ok(Json(MessageList {
        messages: state.store.messages(actor, chat_id, page).await?,
    }))
}

/// Edit your own message.
#[utoipa::path(patch, path = "/api/v1/chats/{chat_id}/messages/{seq}", tag = "messages", security(("bearer" = [])), request_body = EditMessageRequest,
    params(("chat_id" = i64, Path), ("seq" = i64, Path)),
    responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn edit_message(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, seq)): Path<(ChatId, Seq)>,
    Json(request): Json<EditMessageRequest>,
) -> ApiResult<Json<Message>> {
    // A caption may be emptied under files: only a blank text needs to know.
    let has_files = request.text.trim().is_empty()
        && message_at(&state, actor, chat_id, seq)
            .await?
            .is_some_and(|message| !message.attachments.is_empty());
    validate::message_text_with(&request.text, has_files)?;
    let outcome = state
        .store
        .edit_message(
            actor,
            chat_id,
            seq,
            MessageEdit::text(request.text),
            state.now(),
        )
        .await?;
    state.publish(outcome.events).await;
    Ok(Json(outcome.value))
}

/// Delete a message for everyone (its author, or an admin of a group or channel).
#[utoipa::path(delete, path = "/api/v1/chats/{chat_id}/messages/{seq}", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = i64, Path), ("seq" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_message(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, seq)): Path<(ChatId, Seq)>,
) -> ApiResult<StatusCode> {
    let author = message_at(&state, actor, chat_id, seq)
        .await?
        .map(|message| message.sender_id);
    let outcome = state
        .store
        .delete_message(actor, chat_id, seq, state.now())
        .await?;
    if !outcome.events.is_empty()
        && let Some(author) = author.filter(|&author| author != actor.user_id)
    {
        let detail = format!("message {seq} of user {author}");
        audit_in_chat(&state, chat_id, actor.user_id, "message.deleted", detail).await?;
    }
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Message `seq` of the chat as the actor (a member) sees it, tombstones included.
pub async fn message_at(
    state: &AppState,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
) -> ApiResult<Option<Message>> {
    let page = Page {
        after: Some(seq - 1),
        before: None,
        limit: 1,
    };
    let messages = state.store.messages(actor, chat_id, page).await?;
    Ok(messages.into_iter().find(|message| message.seq == seq))
}

/// Add a reaction, or take yours back if you already gave it.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/messages/{seq}/reactions", tag = "messages", security(("bearer" = [])), request_body = ReactionRequest,
    params(("chat_id" = i64, Path), ("seq" = i64, Path)),
    responses((status = 200, body = ReactionResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn toggle_reaction(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, seq)): Path<(ChatId, Seq)>,
    Json(request): Json<ReactionRequest>,
) -> ApiResult<Json<ReactionResult>> {
    validate::emoji(&request.emoji)?;
    let outcome = state
        .store
        .toggle_reaction(actor, chat_id, seq, request.emoji, state.now())
        .await?;
    state.publish(outcome.events).await;
    Ok(Json(ReactionResult {
        added: outcome.value,
    }))
}

/// Who has read a message (chats of up to 100 members).
#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/messages/{seq}/read-by", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = i64, Path), ("seq" = i64, Path)),
    responses((status = 200, body = ReadBy), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn read_by(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, seq)): Path<(ChatId, Seq)>,
) -> ApiResult<Json<ReadBy>> {
    Ok(Json(ReadBy {
        user_ids: state.store.read_by(actor, chat_id, seq).await?,
    }))
}

/// Move your read marker forward ("read up to seq N"); it never moves back.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/read", tag = "messages", security(("bearer" = [])), request_body = MarkReadRequest,
    params(("chat_id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn mark_read(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Json(request): Json<MarkReadRequest>,
) -> ApiResult<StatusCode> {
    let outcome = state
        .store
        .mark_read(actor, chat_id, request.seq, state.now())
        .await?;
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Tell the chat you are typing (never stored). Also possible over the WebSocket.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/typing", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn typing(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<StatusCode> {
    state.store.check_member(actor, chat_id).await?;
    publish_typing(&state, actor.user_id, chat_id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Typing is ephemeral: it goes straight to the bus, never to the store. Callers check
/// membership first.
pub async fn publish_typing(state: &AppState, user_id: UserId, chat_id: ChatId) {
    // Clients repeat "typing" every few seconds while the user types; more often is noise that
    // would be multiplied by every member of the chat.
    if !state.typing.allow(user_id, chat_id) {
        return;
    }
    let event = Event::Typing { chat_id, user_id };
    let envelope = Envelope {
        route: Route::Ephemeral {
            chat_id,
            from: user_id,
        },
        json: Bytes::from(serde_json::to_vec(&event).expect("events always serialize")),
    };
    state.bus.publish(vec![Arc::new(envelope)]).await;
}

/// The messages of the chat that ask for an acknowledgement, and which the caller gave.
#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/acks", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 200, body = AckRequestList), (status = 403, body = ErrorBody)))]
pub async fn ack_requests(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<Json<AckRequestList>> {
    state.store.check_member(actor, chat_id).await?;
    let mut requests = Vec::new();
    for seq in state.store.ack_requests(chat_id).await? {
        let acks = state.store.acks(chat_id, seq).await?;
        let acked = acks.iter().any(|&(user_id, _)| user_id == actor.user_id);
        requests.push(AckRequest { seq, acked });
    }
    Ok(Json(AckRequestList { requests }))
}

/// Acknowledge a message that asks for it ("Ознакомлен(а)"); repeating it changes nothing.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/messages/{seq}/ack", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = i64, Path), ("seq" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, seq)): Path<(ChatId, Seq)>,
) -> ApiResult<StatusCode> {
    state
        .store
        .acknowledge(actor, chat_id, seq, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every poll of the chat that is not deleted, with its results for the caller.
#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/polls", tag = "messages", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 200, body = PollResultsList), (status = 403, body = ErrorBody)))]
pub async fn polls(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<Json<PollResultsList>> {
    state.store.check_member(actor, chat_id).await?;
    let now = state.now();
    let polls = state
        .store
        .polls(chat_id)
        .await?
        .into_iter()
        .map(|stored| results_for(actor.user_id, stored.seq, &stored.poll, &stored.votes, now))
        .collect();
    Ok(Json(PollResultsList { polls }))
}

fn results_for(
    user_id: UserId,
    seq: Seq,
    poll: &Poll,
    votes: &[(UserId, u32)],
    now: Millis,
) -> PollResults {
    PollResults {
        seq,
        tally: poll::tally(poll, votes),
        mine: votes
            .iter()
            .filter(|&&(voter, _)| voter == user_id)
            .map(|&(_, option)| option)
            .collect(),
        closed: poll::is_closed(poll, now),
    }
}

/// Vote in a poll (option indexes; one for a single-choice poll), replacing your earlier
/// vote; an empty list takes it back. Other members see the new counts live.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/messages/{seq}/vote", tag = "messages", security(("bearer" = [])), request_body = VoteRequest,
    params(("chat_id" = i64, Path), ("seq" = i64, Path)),
    responses((status = 200, body = PollResults), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn vote(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, seq)): Path<(ChatId, Seq)>,
    Json(request): Json<VoteRequest>,
) -> ApiResult<Json<PollResults>> {
    let now = state.now();
    state
        .store
        .vote(actor, chat_id, seq, request.options, now)
        .await?;
    let results = poll_results(&state, actor.user_id, chat_id, seq).await?;
    state
        .poll_updates
        .changed(&state, chat_id, seq, actor.user_id);
    Ok(Json(results))
}

/// The results of one poll for `user_id`.
pub async fn poll_results(
    state: &AppState,
    user_id: UserId,
    chat_id: ChatId,
    seq: Seq,
) -> ApiResult<PollResults> {
    let stored = state
        .store
        .polls(chat_id)
        .await?
        .into_iter()
        .find(|stored| stored.seq == seq)
        .ok_or_else(|| ApiError::from(kolokol_domain::Rejection::no_poll()))?;
    Ok(results_for(
        user_id,
        seq,
        &stored.poll,
        &stored.votes,
        state.now(),
    ))
}
