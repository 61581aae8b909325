//! Messages: `POST/GET/PUT/DELETE /messages` and `GET /messages/{mid}`, through the same send,
//! edit and delete services as people's.

use axum::Json;
use axum::extract::{Path, State};
use kolokol_botapi::format::{Format, to_plain};
use kolokol_botapi::ids::{MessageRef, chat_id_of, parse_mid};
use kolokol_botapi::wire;
use kolokol_domain::validate;
use kolokol_proto::{ChatId, SendMessageRequest, UserId};
use kolokol_store::Page;

use super::convert::Lookup;
use super::request::{MaxJson, Params};
use super::{Bot, BotError, BotResult};
use crate::auth::new_secret;
use crate::routes::messages::{Sent, message_at, send as send_as};
use crate::state::AppState;

/// The chat of `POST /messages`: `chat_id`, or the bot's dialog with `user_id` (a bot never
/// opens a dialog itself: the person starts it).
async fn target(state: &AppState, bot: &Bot, params: &Params) -> BotResult<ChatId> {
    if let Some(chat_id) = params.int("chat_id")? {
        return Ok(chat_id_of(chat_id));
    }
    let Some(user_id) = params.int("user_id")? else {
        return Err(BotError::payload("chat_id or user_id is required"));
    };
    // Between two people there is at most one direct chat.
    let pairs = state
        .store
        .direct_chats_among(vec![bot.actor.user_id, user_id])
        .await?;
    pairs
        .first()
        .map(|&(chat_id, ..)| chat_id)
        .ok_or_else(|| BotError::denied("the user has not started a dialog with the bot"))
}

/// The text of a new or edited message: Kolokol's rules, in Max's words.
fn text_of(body: &wire::NewMessageBody) -> BotResult<Option<String>> {
    if body
        .attachments
        .as_ref()
        .is_some_and(|list| !list.is_empty())
    {
        return Err(BotError::payload("attachments are not supported yet"));
    }
    let format = Format::parse(body.format.as_deref())
        .ok_or_else(|| BotError::payload("format is markdown or html"))?;
    let Some(text) = &body.text else {
        return Ok(None);
    };
    let text = to_plain(text, format);
    validate::message_text(&text).map_err(|rejection| BotError::payload(rejection.message))?;
    Ok(Some(text))
}

pub async fn send(
    State(state): State<AppState>,
    bot: Bot,
    params: Params,
    MaxJson(body): MaxJson<wire::NewMessageBody>,
) -> BotResult<Json<wire::SendMessageResult>> {
    let chat_id = target(&state, &bot, &params).await?;
    let text = text_of(&body)?.ok_or_else(|| BotError::payload("text is required"))?;
    let request = SendMessageRequest {
        // Max has no idempotency key: every call is a new message.
        client_msg_id: new_secret("bot-"),
        text,
        reply_to: None,
        request_ack: false,
        urgent: false,
        poll: None,
        thread_of: None,
    };
    let mut lookup = Lookup::new(&state, bot.actor);
    let message = match send_as(&state, bot.actor, chat_id, request).await? {
        Sent::Stored(message, _) => lookup.message(&message).await?,
        Sent::Held(held) => lookup.held(&held).await?,
    };
    Ok(Json(wire::SendMessageResult { message }))
}

/// A stored message the bot may read, by its Max id.
async fn stored(
    state: &AppState,
    bot: &Bot,
    mid: &str,
) -> BotResult<(ChatId, kolokol_proto::Message)> {
    let Some(MessageRef::Stored { chat_id, seq }) = parse_mid(mid) else {
        return Err(BotError::not_found("no such message"));
    };
    match message_at(state, bot.actor, chat_id, seq).await? {
        Some(message) if !message.deleted => Ok((chat_id, message)),
        _ => Err(BotError::not_found("no such message")),
    }
}

pub async fn one(
    State(state): State<AppState>,
    bot: Bot,
    Path(mid): Path<String>,
) -> BotResult<Json<wire::Message>> {
    let (_, message) = stored(&state, &bot, &mid).await?;
    Ok(Json(
        Lookup::new(&state, bot.actor).message(&message).await?,
    ))
}

/// `GET /messages`: by `message_ids`, or the newest `count` of `chat_id`, newest first.
pub async fn list(
    State(state): State<AppState>,
    bot: Bot,
    params: Params,
) -> BotResult<Json<wire::MessageList>> {
    let ids = params.list("message_ids");
    let mut found = Vec::new();
    if !ids.is_empty() {
        for mid in ids {
            if let Ok((_, message)) = stored(&state, &bot, &mid).await {
                found.push(message);
            }
        }
    } else {
        let chat_id = params
            .int("chat_id")?
            .ok_or_else(|| BotError::payload("chat_id or message_ids is required"))?;
        let count = params.count(50)?;
        let page = Page {
            before: None,
            after: None,
            limit: count as u32,
        };
        let mut messages = state
            .store
            .messages(bot.actor, chat_id_of(chat_id), page)
            .await?;
        messages.retain(|message| !message.deleted);
        messages.reverse();
        found = messages;
    }
    let mut lookup = Lookup::new(&state, bot.actor);
    let mut messages = Vec::with_capacity(found.len());
    for message in &found {
        messages.push(lookup.message(message).await?);
    }
    Ok(Json(wire::MessageList { messages }))
}

fn message_id(params: &Params) -> BotResult<String> {
    params
        .text("message_id")
        .map(str::to_owned)
        .ok_or_else(|| BotError::payload("message_id is required"))
}

/// `PUT /messages?message_id=`: a text that is absent stays as it is.
pub async fn edit(
    State(state): State<AppState>,
    bot: Bot,
    params: Params,
    MaxJson(body): MaxJson<wire::NewMessageBody>,
) -> BotResult<Json<wire::SimpleResult>> {
    let (chat_id, message) = stored(&state, &bot, &message_id(&params)?).await?;
    if let Some(text) = text_of(&body)?.filter(|text| *text != message.text) {
        let outcome = state
            .store
            .edit_message(bot.actor, chat_id, message.seq, text, state.now())
            .await?;
        state.publish(outcome.events).await;
    }
    Ok(Json(wire::SimpleResult::ok()))
}

/// `DELETE /messages?message_id=`: a stored message, or one still held by quiet hours.
pub async fn delete(
    State(state): State<AppState>,
    bot: Bot,
    params: Params,
) -> BotResult<Json<wire::SimpleResult>> {
    let mid = message_id(&params)?;
    match parse_mid(&mid) {
        Some(MessageRef::Held { chat_id, held_id }) => {
            let sender: UserId = bot.actor.user_id;
            state.store.cancel_held(sender, chat_id, held_id).await?;
        }
        _ => {
            let (chat_id, message) = stored(&state, &bot, &mid).await?;
            let outcome = state
                .store
                .delete_message(bot.actor, chat_id, message.seq, state.now())
                .await?;
            state.publish(outcome.events).await;
        }
    }
    Ok(Json(wire::SimpleResult::ok()))
}
