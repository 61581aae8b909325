//! Max's JSON shapes, as far as Kolokol serves them. Field names and types follow the schema;
//! requests are read leniently (unknown fields ignored, absent or null collections empty), as
//! real clients send zero values and extra keys.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use kolokol_proto::BotCommand;

/// A user or bot as bots see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    /// Null unless the person chose to show it (bots always do).
    pub username: Option<String>,
    pub is_bot: bool,
    /// Kolokol keeps no presence: always 0 (the schema requires the field).
    pub last_activity_time: i64,
    pub name: Option<String>,
}

/// `GET /me`: the bot itself, with its description and commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotInfo {
    #[serde(flatten)]
    pub user: User,
    pub description: Option<String>,
    pub commands: Option<Vec<BotCommand>>,
}

/// `PATCH /me/commands`.
#[derive(Debug, Clone, Deserialize)]
pub struct CommandsRequest {
    #[serde(default)]
    pub commands: Option<Vec<BotCommand>>,
}

/// `PATCH /me`: the fields Kolokol keeps; others are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BotPatch {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub commands: Option<Vec<BotCommand>>,
}

/// Where a message is: its chat, and in a dialog the member who is not the sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    pub chat_id: i64,
    /// `dialog`, `chat` or `channel`.
    pub chat_type: String,
    pub user_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageBody {
    pub mid: String,
    pub seq: i64,
    /// Never null: `""` for a message without text.
    pub text: String,
    pub attachments: Vec<Value>,
    /// What a bot's markdown or HTML said, over `text`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markup: Vec<kolokol_proto::Markup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub sender: User,
    pub recipient: Recipient,
    pub timestamp: i64,
    pub body: MessageBody,
}

/// `{"message": …}`: what sending answers.
#[derive(Debug, Clone, Serialize)]
pub struct SendMessageResult {
    pub message: Message,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageList {
    pub messages: Vec<Message>,
}

/// A chat as bots see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    pub chat_id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    /// `active`, or `removed`/`left`/`closed`.
    pub status: String,
    pub title: Option<String>,
    pub icon: Option<Value>,
    pub last_event_time: i64,
    pub participants_count: i64,
    pub owner_id: Option<i64>,
    pub participants: Option<Value>,
    pub is_public: bool,
    pub link: Option<String>,
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialog_with_user: Option<User>,
    pub messages_count: Option<i64>,
}

/// A member of a chat as bots see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMember {
    #[serde(flatten)]
    pub user: User,
    /// Kolokol keeps no presence: when they joined.
    pub last_access_time: i64,
    pub is_owner: bool,
    pub is_admin: bool,
    pub join_time: i64,
    /// What an admin may do; null for members.
    pub permissions: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChatMembersList {
    pub members: Vec<ChatMember>,
    pub marker: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChatList {
    pub chats: Vec<Chat>,
    pub marker: Option<i64>,
}

/// `PATCH /chats/{id}`: the fields Kolokol has (`icon` is ignored).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChatPatch {
    #[serde(default)]
    pub title: Option<String>,
    /// A message id to pin.
    #[serde(default)]
    pub pin: Option<String>,
}

/// `POST /chats/{id}/members`.
#[derive(Debug, Clone, Deserialize)]
pub struct UserIdsList {
    pub user_ids: Vec<i64>,
}

/// `POST /chats/{id}/members/admins`.
#[derive(Debug, Clone, Deserialize)]
pub struct ChatAdminsList {
    pub admins: Vec<ChatAdmin>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChatAdmin {
    pub user_id: i64,
}

/// Who could not be added, and why (`add.participant.privacy`, `add.participant.not.found`).
#[derive(Debug, Clone, Serialize)]
pub struct FailedUserDetails {
    pub error_code: String,
    pub user_ids: Vec<i64>,
}

/// `POST /chats/{id}/members`: all added, or the ones that were not and why.
#[derive(Debug, Clone, Serialize)]
pub struct ModifyMembersResult {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_user_ids: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_user_details: Option<Vec<FailedUserDetails>>,
}

/// `GET /chats/{id}/pin`.
#[derive(Debug, Clone, Serialize)]
pub struct GetPinnedMessageResult {
    pub message: Option<Message>,
}

/// `PUT /chats/{id}/pin`.
#[derive(Debug, Clone, Deserialize)]
pub struct PinMessageBody {
    pub message_id: String,
    #[serde(default)]
    pub notify: Option<bool>,
}

/// One update, tagged by `update_type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "update_type", rename_all = "snake_case")]
pub enum Update {
    MessageCreated {
        timestamp: i64,
        message: Message,
    },
    MessageEdited {
        timestamp: i64,
        message: Message,
    },
    MessageRemoved {
        timestamp: i64,
        message_id: String,
        chat_id: i64,
        user_id: i64,
    },
    BotStarted {
        timestamp: i64,
        chat_id: i64,
        user: User,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payload: Option<String>,
    },
    MessageCallback {
        timestamp: i64,
        callback: Callback,
        /// The message with the keyboard as it is now; null once deleted.
        message: Option<Message>,
    },
    /// `user` added the bot.
    BotAdded {
        timestamp: i64,
        chat_id: i64,
        user: User,
        is_channel: bool,
    },
    /// `user` removed the bot.
    BotRemoved {
        timestamp: i64,
        chat_id: i64,
        user: User,
        is_channel: bool,
    },
    /// `user` joined: added by `inviter_id`, or by a link when it is null.
    UserAdded {
        timestamp: i64,
        chat_id: i64,
        user: User,
        inviter_id: Option<i64>,
        is_channel: bool,
    },
    /// `user` left, or was removed by `admin_id`.
    UserRemoved {
        timestamp: i64,
        chat_id: i64,
        user: User,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        admin_id: Option<i64>,
        is_channel: bool,
    },
    ChatTitleChanged {
        timestamp: i64,
        chat_id: i64,
        /// Who renamed it.
        user: User,
        title: String,
    },
    /// A `chat` button of message `message_id` made the group `chat`.
    MessageChatCreated {
        timestamp: i64,
        chat: Chat,
        message_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_payload: Option<String>,
    },
}

/// A press of a callback button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Callback {
    pub timestamp: i64,
    pub callback_id: String,
    pub payload: String,
    /// Who pressed.
    pub user: User,
}

/// `POST /answers`: edit the keyboard's message, show the presser a notification, or both.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackAnswer {
    #[serde(default)]
    pub message: Option<NewMessageBody>,
    #[serde(default)]
    pub notification: Option<String>,
}

impl Update {
    /// Its `update_type`, for the `types` filter.
    pub fn kind(&self) -> &'static str {
        match self {
            Update::MessageCreated { .. } => "message_created",
            Update::MessageEdited { .. } => "message_edited",
            Update::MessageRemoved { .. } => "message_removed",
            Update::BotStarted { .. } => "bot_started",
            Update::MessageCallback { .. } => "message_callback",
            Update::BotAdded { .. } => "bot_added",
            Update::BotRemoved { .. } => "bot_removed",
            Update::UserAdded { .. } => "user_added",
            Update::UserRemoved { .. } => "user_removed",
            Update::ChatTitleChanged { .. } => "chat_title_changed",
            Update::MessageChatCreated { .. } => "message_chat_created",
        }
    }
}

/// `GET /updates`: always an array, and always a marker to continue from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateList {
    pub updates: Vec<Update>,
    pub marker: i64,
}

/// `POST /messages` and `PUT /messages`. `text` absent keeps a message's text on edit.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewMessageBody {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Option<Vec<Value>>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub notify: Option<bool>,
}

/// `POST /chats/{id}/actions`.
#[derive(Debug, Clone, Deserialize)]
pub struct ActionRequest {
    pub action: String,
}

/// `GET /subscriptions`: the bot's webhook, if it has one.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionList {
    pub subscriptions: Vec<Subscription>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub url: String,
    /// When it was made, in milliseconds.
    pub time: i64,
    /// Null: every type.
    pub update_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `POST /subscriptions`.
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionRequest {
    pub url: String,
    #[serde(default)]
    pub update_types: Option<Vec<String>>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

/// `{"success": true}` and friends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimpleResult {
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl SimpleResult {
    pub fn ok() -> SimpleResult {
        SimpleResult {
            success: true,
            message: None,
        }
    }
}

/// Every error: `{"code": "verify.token", "message": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Error {
    pub code: String,
    pub message: String,
}
