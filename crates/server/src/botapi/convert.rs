//! Kolokol's objects in Max's shapes, as one bot sees them.

use std::collections::HashMap;

use kolokol_botapi::attachments::{attachments_of, media_json};
use kolokol_botapi::ids::{held_mid, max_chat_id, mid};
use kolokol_botapi::wire;
use kolokol_media::TokenOf;
use kolokol_proto::{
    Attachment, Chat, ChatId, ChatKind, HeldMessage, Keyboard, Message, User, UserId,
};
use kolokol_store::Actor;

use super::{Bot, BotError, BotResult};
use crate::media::BOT_LINK_SECS;
use crate::state::AppState;

pub fn user(user: &User) -> wire::User {
    wire::User {
        user_id: user.id,
        first_name: user.display_name.clone(),
        last_name: None,
        username: user.username.clone(),
        is_bot: user.is_bot,
        last_activity_time: 0,
        name: Some(user.display_name.clone()),
    }
}

fn chat_type(kind: ChatKind) -> &'static str {
    match kind {
        ChatKind::Direct => "dialog",
        ChatKind::Group => "chat",
        ChatKind::Channel => "channel",
    }
}

/// Reads what conversions need once per request: the users and chats they name.
pub struct Lookup<'a> {
    state: &'a AppState,
    bot: Actor,
    /// The base of the links to files.
    base: String,
    users: HashMap<UserId, wire::User>,
    chats: HashMap<ChatId, Chat>,
}

impl<'a> Lookup<'a> {
    pub fn new(state: &'a AppState, bot: Actor, base: String) -> Lookup<'a> {
        Lookup {
            state,
            bot,
            base,
            users: HashMap::new(),
            chats: HashMap::new(),
        }
    }

    pub fn for_bot(state: &'a AppState, bot: &Bot) -> Lookup<'a> {
        Lookup::new(state, bot.actor, bot.base.clone())
    }

    /// A message's attachments as the bot reads them: its files (each with a token and a link
    /// that works for a day), then its keyboard.
    fn attachments(&self, files: &[Attachment], keyboard: &Keyboard) -> Vec<serde_json::Value> {
        let media = &self.state.media;
        let mut attachments: Vec<serde_json::Value> = files
            .iter()
            .map(|file| {
                let token = media
                    .signer
                    .max_token(self.bot.user_id, TokenOf::Blob(file.id));
                let link = media.link(&self.base, file.id, false, self.state.now(), BOT_LINK_SECS);
                media_json(file, &token, &link.url)
            })
            .collect();
        attachments.extend(attachments_of(keyboard));
        attachments
    }

    pub fn actor(&self) -> Actor {
        self.bot
    }

    pub fn bot_id(&self) -> UserId {
        self.bot.user_id
    }

    pub async fn user(&mut self, user_id: UserId) -> BotResult<wire::User> {
        if let Some(found) = self.users.get(&user_id) {
            return Ok(found.clone());
        }
        let found = self
            .state
            .store
            .user(user_id)
            .await?
            .ok_or_else(|| BotError::not_found("no such user"))?;
        let converted = user(&found);
        self.users.insert(user_id, converted.clone());
        Ok(converted)
    }

    /// The chat as the bot (a member) sees it; `chat.not.found` otherwise.
    pub async fn chat(&mut self, chat_id: ChatId) -> BotResult<Chat> {
        if let Some(found) = self.chats.get(&chat_id) {
            return Ok(found.clone());
        }
        let found = self.state.store.chat(self.bot, chat_id).await?;
        self.chats.insert(chat_id, found.clone());
        Ok(found)
    }

    pub async fn max_chat(&mut self, chat_id: ChatId) -> BotResult<wire::Chat> {
        let chat = self.chat(chat_id).await?;
        let dialog_with_user = match &chat.peer {
            Some(peer) if chat.kind == ChatKind::Direct => Some(self.user(peer.id).await?),
            _ => None,
        };
        Ok(wire::Chat {
            chat_id: max_chat_id(chat.kind, chat.id),
            kind: chat_type(chat.kind).to_owned(),
            status: "active".to_owned(),
            title: chat.title,
            icon: None,
            last_event_time: chat.last_activity_at,
            participants_count: chat.member_count,
            owner_id: None,
            participants: None,
            is_public: false,
            link: None,
            description: None,
            dialog_with_user,
            messages_count: None,
        })
    }

    /// Where a message of `sender` in the chat goes: in a dialog, the member who is not the
    /// sender.
    async fn recipient(&mut self, chat_id: ChatId, sender: UserId) -> BotResult<wire::Recipient> {
        let chat = self.chat(chat_id).await?;
        let user_id = match chat.kind {
            ChatKind::Direct if sender == self.bot.user_id => chat.peer.map(|peer| peer.id),
            ChatKind::Direct => Some(self.bot.user_id),
            _ => None,
        };
        Ok(wire::Recipient {
            chat_id: max_chat_id(chat.kind, chat.id),
            chat_type: chat_type(chat.kind).to_owned(),
            user_id,
        })
    }

    pub async fn message(&mut self, message: &Message) -> BotResult<wire::Message> {
        let recipient = self.recipient(message.chat_id, message.sender_id).await?;
        let body = wire::MessageBody {
            mid: mid(recipient.chat_id, message.seq),
            seq: message.seq,
            text: message.text.clone(),
            attachments: self.attachments(&message.attachments, &message.keyboard),
            markup: message.markup.clone(),
        };
        Ok(wire::Message {
            sender: self.user(message.sender_id).await?,
            recipient,
            timestamp: message.created_at,
            body,
        })
    }

    /// A message held by quiet hours: as it will be when it goes out at `release_at`.
    pub async fn held(&mut self, held: &HeldMessage) -> BotResult<wire::Message> {
        let recipient = self.recipient(held.chat_id, held.sender_id).await?;
        let body = wire::MessageBody {
            mid: held_mid(recipient.chat_id, held.id),
            seq: 0,
            text: held.text.clone(),
            attachments: self.attachments(&held.attachments, &held.keyboard),
            markup: held.markup.clone(),
        };
        Ok(wire::Message {
            sender: self.user(held.sender_id).await?,
            recipient,
            timestamp: held.release_at,
            body,
        })
    }
}
