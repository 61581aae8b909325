//! Messages: `POST/GET/PUT/DELETE /messages` and `GET /messages/{mid}`, through the same send,
//! edit and delete services as people's; and `POST /answers` to presses of their buttons.

use axum::Json;
use axum::extract::{Path, State};
use kolokol_botapi::attachments::{MediaRef, parse};
use kolokol_botapi::format::{Format, Formatted, format};
use kolokol_botapi::ids::{MessageRef, chat_id_of, parse_callback_id, parse_mid};
use kolokol_botapi::wire;
use kolokol_domain::{keyboard, validate};
use kolokol_media::TokenOf;
use kolokol_proto::{ChatId, Event, Keyboard, SendMessageRequest, UserId};
use kolokol_store::{FindUpload, MessageEdit, Page};

use super::convert::Lookup;
use super::request::{MaxJson, Params};
use super::{Bot, BotError, BotResult};
use crate::auth::new_secret;
use crate::routes::messages::{Extras, Sent, message_at, send as send_as};
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

/// What a new or edited message says, checked by Kolokol's rules and refused in Max's words.
/// `None` is what the body leaves out: on an edit, that part stays as it is (an absent or null
/// `attachments` keeps the buttons, `[]` removes them).
struct Content {
    text: Option<Formatted>,
    keyboard: Option<Keyboard>,
    /// Files by their tokens; with files, the text may be left out or empty.
    media: Vec<MediaRef>,
}

fn content_of(body: &wire::NewMessageBody) -> BotResult<Content> {
    let style = Format::parse(body.format.as_deref())
        .ok_or_else(|| BotError::payload("format is markdown or html"))?;
    let parsed = body
        .attachments
        .as_deref()
        .map(parse)
        .transpose()
        .map_err(BotError::payload)?;
    let media = parsed
        .as_ref()
        .map(|parsed| parsed.media.clone())
        .unwrap_or_default();
    let text = body.text.as_deref().map(|text| format(text, style));
    if let Some(text) = &text {
        validate::message_text_with(&text.text, !media.is_empty())
            .map_err(|rejection| BotError::payload(rejection.message))?;
    }
    let keyboard = parsed.map(|parsed| parsed.keyboard);
    if let Some(keyboard) = &keyboard {
        keyboard::check(keyboard).map_err(|rejection| BotError::payload(rejection.message))?;
    }
    Ok(Content {
        text,
        keyboard,
        media,
    })
}

/// The files a bot's tokens name. A token works only for the bot it was made for: its own
/// upload, or a file it received in a message.
async fn files(state: &AppState, bot: &Bot, media: &[MediaRef]) -> BotResult<Vec<i64>> {
    let unknown = || BotError::payload("unknown attachment token");
    let mut ids = Vec::with_capacity(media.len());
    for file in media {
        let id = match state
            .media
            .signer
            .parse_max_token(bot.actor.user_id, &file.token)
        {
            Some(TokenOf::Blob(id)) => id,
            Some(TokenOf::Upload(upload_id)) => {
                let upload = state
                    .store
                    .upload(FindUpload::Id(upload_id), state.now())
                    .await?
                    .filter(|upload| upload.owner_id == bot.actor.user_id)
                    .ok_or_else(unknown)?;
                upload.blob_id.ok_or_else(BotError::not_ready)?
            }
            None => return Err(unknown()),
        };
        state
            .store
            .visible_blob(bot.actor.user_id, id)
            .await?
            .ok_or_else(unknown)?;
        ids.push(id);
    }
    Ok(ids)
}

pub async fn send(
    State(state): State<AppState>,
    bot: Bot,
    params: Params,
    MaxJson(body): MaxJson<wire::NewMessageBody>,
) -> BotResult<Json<wire::SendMessageResult>> {
    let chat_id = target(&state, &bot, &params).await?;
    let content = content_of(&body)?;
    let attachments = files(&state, &bot, &content.media).await?;
    let Formatted { text, markup } = match content.text {
        Some(text) => text,
        None if !attachments.is_empty() => Formatted::default(),
        None => return Err(BotError::payload("text is required")),
    };
    let request = SendMessageRequest {
        // Max has no idempotency key: every call is a new message.
        client_msg_id: new_secret("bot-"),
        text,
        reply_to: None,
        request_ack: false,
        urgent: false,
        poll: None,
        thread_of: None,
        attachments,
        mls: None,
    };
    let mut lookup = Lookup::for_bot(&state, &bot);
    let extras = Extras {
        keyboard: content.keyboard.unwrap_or_default(),
        markup,
    };
    let message = match send_as(&state, bot.actor, chat_id, request, extras).await? {
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
    Ok(Json(Lookup::for_bot(&state, &bot).message(&message).await?))
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
    let mut lookup = Lookup::for_bot(&state, &bot);
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

/// `PUT /messages?message_id=`: what the body leaves out stays as it is.
pub async fn edit(
    State(state): State<AppState>,
    bot: Bot,
    params: Params,
    MaxJson(body): MaxJson<wire::NewMessageBody>,
) -> BotResult<Json<wire::SimpleResult>> {
    let (chat_id, message) = stored(&state, &bot, &message_id(&params)?).await?;
    change(&state, &bot, chat_id, message, content_of(&body)?).await?;
    Ok(Json(wire::SimpleResult::ok()))
}

/// Edits a message of the bot to say `content`; nothing happens when nothing would change.
async fn change(
    state: &AppState,
    bot: &Bot,
    chat_id: ChatId,
    message: kolokol_proto::Message,
    content: Content,
) -> BotResult<()> {
    if !content.media.is_empty() {
        let sent: Vec<i64> = message.attachments.iter().map(|file| file.id).collect();
        if files(state, bot, &content.media).await? != sent {
            return Err(BotError::payload(
                "a sent message's files cannot be changed; send a new message",
            ));
        }
    }
    let text = content
        .text
        .filter(|text| text.text != message.text || text.markup != message.markup);
    let edit = MessageEdit {
        markup: text
            .as_ref()
            .map(|text| text.markup.clone())
            .unwrap_or_default(),
        text: text.map(|text| text.text),
        keyboard: content
            .keyboard
            .filter(|keyboard| *keyboard != message.keyboard),
    };
    if edit != MessageEdit::default() {
        let outcome = state
            .store
            .edit_message(bot.actor, chat_id, message.seq, edit, state.now())
            .await?;
        state.publish(outcome.events).await;
    }
    Ok(())
}

/// How long after a press the bot may still answer it.
const ANSWER_WITHIN_MS: i64 = 15 * 60 * 1000;

/// `POST /answers?callback_id=`: edits the message whose button was pressed, tells the person
/// who pressed it (with the notification, if any), or both; `{}` just acknowledges. Each press
/// is answered once: a bot cannot shower a person with notifications from one press.
pub async fn answer(
    State(state): State<AppState>,
    bot: Bot,
    params: Params,
    MaxJson(answer): MaxJson<wire::CallbackAnswer>,
) -> BotResult<Json<wire::SimpleResult>> {
    let id = params
        .text("callback_id")
        .ok_or_else(|| BotError::payload("callback_id is required"))?;
    // A refused answer leaves the press to be answered again.
    let notification = answer.notification.filter(|text| !text.trim().is_empty());
    if let Some(text) = &notification {
        validate::message_text(text).map_err(|rejection| BotError::payload(rejection.message))?;
    }
    let content = answer.message.as_ref().map(content_of).transpose()?;
    let press = match parse_callback_id(id) {
        Some(id) => state.store.take_bot_callback(bot.actor.user_id, id).await?,
        None => None,
    };
    let press = press
        .filter(|press| state.now() - press.created_at <= ANSWER_WITHIN_MS)
        .ok_or_else(|| {
            BotError::not_found("no such callback, or it was answered or is too old to answer")
        })?;
    if let Some(content) = content {
        let message = message_at(&state, bot.actor, press.chat_id, press.seq)
            .await?
            .filter(|message| !message.deleted)
            .ok_or_else(|| BotError::not_found("the message is gone"))?;
        change(&state, &bot, press.chat_id, message, content).await?;
    }
    let answered = Event::CallbackAnswered {
        chat_id: press.chat_id,
        seq: press.seq,
        notification,
    };
    let outcome = state
        .store
        .tell_user(press.user_id, answered, state.now())
        .await?;
    state.publish(outcome.events).await;
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
