//! `GET /updates`: long polling on the bot's own event streams.
//!
//! A bot's position is an ordinary resume cursor (every chat it is in, and its own stream); a
//! Max `marker` is a number the store keeps that cursor under. Presenting a marker acknowledges
//! what came before it; polling without one resumes after the last acknowledged batch (or, the
//! first time, from when the bot joined each chat), so nothing sent before a bot's first poll,
//! or while it restarts, is lost. Waiting uses the gateway's hub, as a WebSocket does: any
//! event for the bot, from any node, wakes the poll, which then reads the store.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use kolokol_botapi::ids::{callback_id, max_chat_id, mid};
use kolokol_botapi::wire::{self, Update};
use kolokol_domain::{Cursor, Route};
use kolokol_proto::{ChatKind, Event, Role};
use kolokol_store::{CatchUp, Published};
use tokio::time::Instant;

use super::convert::Lookup;
use super::request::Params;
use super::{Bot, BotError, BotResult};
use crate::routes::messages::message_at;
use crate::state::AppState;

/// Events read from the store at a time.
const PAGE: u32 = 100;
/// Wake-ups the hub may queue for a waiting poll; more are not needed, one read catches all.
const WAKE_QUEUE: usize = 16;

pub async fn updates(
    State(state): State<AppState>,
    bot: Bot,
    params: Params,
) -> BotResult<Json<wire::UpdateList>> {
    let limit = params.int("limit")?.unwrap_or(100);
    let timeout = params.int("timeout")?.unwrap_or(30);
    if !(1..=1000).contains(&limit) || !(0..=90).contains(&timeout) {
        return Err(BotError::payload(
            "limit is 1–1000 and timeout 0–90 seconds",
        ));
    }
    let marker = params.int("marker")?;
    let types = params.list("types");
    let bot_id = bot.actor.user_id;
    super::webhooks::refuse_polling_while_subscribed(&state, bot_id).await?;
    let saved = state.store.bot_cursor(bot_id, marker).await?;
    let known = saved.is_some();
    let start = saved
        .and_then(|text| Cursor::decode(&text).ok())
        .unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(timeout as u64);

    let mut cursor = start.clone();
    let mut updates = Vec::new();
    let mut lookup = Lookup::for_bot(&state, &bot);
    let (mut waiter, mut wake) = state.hub.register(bot_id, WAKE_QUEUE);
    let read = async {
        loop {
            read_into(
                &state,
                &mut lookup,
                &mut cursor,
                &mut updates,
                limit as usize,
                &types,
            )
            .await?;
            while wake.try_recv().is_ok() {}
            if !updates.is_empty() {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, wake.recv()).await {
                Err(_) => return Ok(()),
                Ok(Some(_)) => {}
                // The hub gave up on a full queue; listen again.
                Ok(None) => (waiter, wake) = state.hub.register(bot_id, WAKE_QUEUE),
            }
        }
    };
    let result: BotResult<()> = read.await;
    state.hub.unregister(bot_id, waiter);
    result?;

    let marker = match marker {
        Some(marker) if known && cursor == start => marker,
        _ => {
            let now = state.now();
            state
                .store
                .save_bot_cursor(bot_id, cursor.encode(), now)
                .await?
        }
    };
    Ok(Json(wire::UpdateList { updates, marker }))
}

/// Reads the bot's events after `cursor`, moving it past each one looked at, until there are
/// `limit` updates or nothing more to read.
pub(super) async fn read_into(
    state: &AppState,
    lookup: &mut Lookup<'_>,
    cursor: &mut Cursor,
    updates: &mut Vec<Update>,
    limit: usize,
    types: &[String],
) -> BotResult<()> {
    let bot_id = lookup.bot_id();
    loop {
        let events = match state.store.catch_up(bot_id, cursor, PAGE).await? {
            CatchUp::Events(events) => events,
            // Older events are gone, as upstream drops updates past their lifetime.
            CatchUp::Resync { current } => {
                *cursor = current;
                continue;
            }
        };
        let more = events.len() == PAGE as usize;
        for published in &events {
            if updates.len() >= limit {
                return Ok(());
            }
            cursor.advance(&published.route);
            let update = match update_of(state, lookup, published).await {
                Ok(update) => update,
                Err(error) => {
                    // A chat the bot has left since, a user gone: nothing to tell.
                    tracing::debug!(?error, "an event the bot cannot see");
                    None
                }
            };
            if let Some(update) = update
                && (types.is_empty() || types.iter().any(|kind| kind == update.kind()))
            {
                updates.push(update);
            }
        }
        if !more {
            return Ok(());
        }
    }
}

/// The update an event makes for the bot, if any. A bot hears people only: never its own
/// messages (an echo bot would answer itself forever) nor other bots'. In groups and channels it
/// hears messages, who joins and leaves, and renames only as an admin, as on Max; that it was
/// added or removed, always. Nor is it told of what it did itself. Events that carry no time of
/// their own are stamped when the bot is told.
async fn update_of(
    state: &AppState,
    lookup: &mut Lookup<'_>,
    published: &Published,
) -> BotResult<Option<Update>> {
    let bot_id = lookup.bot_id();
    Ok(match &published.event {
        Event::MessageNew { message } | Event::MessageEdited { message } => {
            let chat = lookup.chat(message.chat_id).await?;
            let hears = chat.kind == ChatKind::Direct || chat.role != Role::Member;
            let sender = lookup.user(message.sender_id).await?;
            if message.deleted || message.sender_id == bot_id || sender.is_bot || !hears {
                return Ok(None);
            }
            let converted = lookup.message(message).await?;
            Some(match published.event {
                Event::MessageNew { .. } => Update::MessageCreated {
                    timestamp: message.created_at,
                    message: converted,
                },
                _ => Update::MessageEdited {
                    timestamp: message.edited_at.unwrap_or(message.created_at),
                    message: converted,
                },
            })
        }
        Event::MessageDeleted { chat_id, seq } => {
            let chat = lookup.chat(*chat_id).await?;
            let max_chat = max_chat_id(chat.kind, chat.id);
            let author = message_at(state, lookup.actor(), *chat_id, *seq).await?;
            author.map(|message| Update::MessageRemoved {
                timestamp: state.now(),
                message_id: mid(max_chat, *seq),
                chat_id: max_chat,
                user_id: message.sender_id,
            })
        }
        Event::BotStarted {
            chat_id,
            user_id,
            payload,
            at,
        } => Some(Update::BotStarted {
            timestamp: *at,
            chat_id: *chat_id,
            user: lookup.user(*user_id).await?,
            payload: payload.clone(),
        }),
        Event::BotCallback {
            callback_id: id,
            chat_id,
            seq,
            user_id,
            payload,
            at,
        } => {
            let message = message_at(state, lookup.actor(), *chat_id, *seq).await?;
            let message = match message.filter(|message| !message.deleted) {
                Some(message) => Some(lookup.message(&message).await?),
                None => None,
            };
            Some(Update::MessageCallback {
                timestamp: *at,
                callback: wire::Callback {
                    timestamp: *at,
                    callback_id: callback_id(*id),
                    payload: payload.clone(),
                    user: lookup.user(*user_id).await?,
                },
                message,
            })
        }
        Event::MemberAdded {
            chat_id, user, by, ..
        } => {
            let chat = lookup.chat(*chat_id).await?;
            let is_channel = chat.kind == ChatKind::Channel;
            let max_chat = max_chat_id(chat.kind, chat.id);
            if chat.kind == ChatKind::Direct {
                // A dialog starts with `bot_started`, not with members.
                None
            } else if user.id == bot_id {
                Some(Update::BotAdded {
                    timestamp: state.now(),
                    chat_id: max_chat,
                    user: lookup.user(by.unwrap_or(bot_id)).await?,
                    is_channel,
                })
            } else if chat.role != Role::Member && *by != Some(bot_id) {
                Some(Update::UserAdded {
                    timestamp: state.now(),
                    chat_id: max_chat,
                    user: lookup.user(user.id).await?,
                    inviter_id: *by,
                    is_channel,
                })
            } else {
                None
            }
        }
        // The bot's own removal: from its own stream (it no longer reads the chat's), and only
        // when someone else removed it.
        Event::MemberRemoved {
            chat_id,
            user_id,
            by: Some(by),
        } if *user_id == bot_id => {
            let own_stream = matches!(published.route, Route::User { .. });
            let kind = state.store.chat_kind(*chat_id).await?;
            match kind {
                Some(kind) if own_stream && *by != bot_id => Some(Update::BotRemoved {
                    timestamp: state.now(),
                    chat_id: max_chat_id(kind, *chat_id),
                    user: lookup.user(*by).await?,
                    is_channel: kind == ChatKind::Channel,
                }),
                _ => None,
            }
        }
        Event::MemberRemoved {
            chat_id,
            user_id,
            by,
        } if *user_id != bot_id => {
            let chat = lookup.chat(*chat_id).await?;
            if chat.kind == ChatKind::Direct || chat.role == Role::Member || *by == Some(bot_id) {
                None
            } else {
                Some(Update::UserRemoved {
                    timestamp: state.now(),
                    chat_id: max_chat_id(chat.kind, chat.id),
                    user: lookup.user(*user_id).await?,
                    // Null when they left on their own.
                    admin_id: by.filter(|by| by != user_id),
                    is_channel: chat.kind == ChatKind::Channel,
                })
            }
        }
        Event::BotChatCreated {
            chat_id,
            source_chat_id,
            seq,
            start_payload,
            at,
            ..
        } => {
            let source = lookup.chat(*source_chat_id).await?;
            Some(Update::MessageChatCreated {
                timestamp: *at,
                chat: lookup.max_chat(*chat_id).await?,
                message_id: mid(max_chat_id(source.kind, source.id), *seq),
                start_payload: start_payload.clone(),
            })
        }
        Event::ChatUpdated {
            chat: info,
            by: Some(by),
            renamed: true,
        } => {
            let chat = lookup.chat(info.id).await?;
            if chat.role == Role::Member || *by == bot_id {
                None
            } else {
                Some(Update::ChatTitleChanged {
                    timestamp: state.now(),
                    chat_id: max_chat_id(chat.kind, chat.id),
                    user: lookup.user(*by).await?,
                    title: info.title.clone().unwrap_or_default(),
                })
            }
        }
        _ => None,
    })
}
