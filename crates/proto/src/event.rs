//! WebSocket frames.
//!
//! Server to client: one JSON object per text frame, an [`Event`] with a `type` and, for every
//! durable event, a `cursor` marking the stream position after it. Client to server: [`ClientFrame`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ChatId, ChatInfo, Message, Millis, PollTally, Role, Seq, User, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum Event {
    /// Sent once after connecting, when every missed event has been delivered.
    #[serde(rename = "ready")]
    Ready {},
    /// The resume cursor was older than the retention window: re-read chats over REST, then go on
    /// with the cursor of this frame.
    #[serde(rename = "resync")]
    Resync {},
    #[serde(rename = "message.new")]
    MessageNew { message: Message },
    #[serde(rename = "message.edited")]
    MessageEdited { message: Message },
    #[serde(rename = "message.deleted")]
    MessageDeleted { chat_id: ChatId, seq: Seq },
    #[serde(rename = "reaction")]
    Reaction {
        chat_id: ChatId,
        seq: Seq,
        user_id: UserId,
        emoji: String,
        added: bool,
    },
    #[serde(rename = "read")]
    Read {
        chat_id: ChatId,
        user_id: UserId,
        seq: Seq,
    },
    /// Ephemeral: never stored, carries no cursor.
    #[serde(rename = "typing")]
    Typing { chat_id: ChatId, user_id: UserId },
    #[serde(rename = "chat.created")]
    ChatCreated { chat: ChatInfo, created_by: UserId },
    /// The chat's title or settings changed, by `by`; `renamed` when the title did.
    #[serde(rename = "chat.updated")]
    ChatUpdated {
        chat: ChatInfo,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<UserId>,
        #[serde(default, skip_serializing_if = "crate::api::is_false")]
        renamed: bool,
    },
    /// `user` joined: added by `by`, or by an invite link when `by` is absent.
    #[serde(rename = "member.added")]
    MemberAdded {
        chat_id: ChatId,
        user: User,
        role: Role,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<UserId>,
    },
    /// A member's role changed (promotion, demotion, ownership transfer).
    #[serde(rename = "member.updated")]
    MemberUpdated {
        chat_id: ChatId,
        user_id: UserId,
        role: Role,
    },
    /// A member was muted until `until`, or (null) unmuted.
    #[serde(rename = "member.muted")]
    MemberMuted {
        chat_id: ChatId,
        user_id: UserId,
        until: Option<crate::Millis>,
    },
    /// `user_id` left (`by` is themselves) or was removed by `by`.
    #[serde(rename = "member.removed")]
    MemberRemoved {
        chat_id: ChatId,
        user_id: UserId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<UserId>,
    },
    /// Message `seq` was pinned at the top of the chat, or (`seq` null) the pin was taken down.
    #[serde(rename = "pinned")]
    Pinned {
        chat_id: ChatId,
        seq: Option<Seq>,
        by: UserId,
    },
    /// Someone voted in the poll of message `seq`. Ephemeral, and sent at most a few times a
    /// second per poll: read `GET /chats/{id}/polls` after connecting.
    #[serde(rename = "poll.voted")]
    PollVoted {
        chat_id: ChatId,
        seq: Seq,
        tally: PollTally,
    },
    /// A chat admin asks the user to read message `seq` of the chat (sent only to members who
    /// had not read it).
    #[serde(rename = "reminder")]
    Reminder { chat_id: ChatId, seq: Seq },
    /// One of the user's sessions was revoked; if it is this connection's, the socket closes next.
    #[serde(rename = "session.revoked")]
    SessionRevoked { session_id: i64 },
    /// To a bot: `user_id` opened its chat (`/bot/<username>?start=<payload>`).
    #[serde(rename = "bot.started")]
    BotStarted {
        chat_id: ChatId,
        user_id: UserId,
        payload: Option<String>,
        at: Millis,
    },
    /// To a bot: `user_id` pressed the callback button `payload` under message `seq`. The bot
    /// answers with `callback_id`.
    #[serde(rename = "bot.callback")]
    BotCallback {
        callback_id: i64,
        chat_id: ChatId,
        seq: Seq,
        user_id: UserId,
        payload: String,
        at: Millis,
    },
    /// To a bot: `user_id` pressed a `chat` button under message `seq` of `source_chat_id`, and
    /// the group `chat_id` was made for it.
    #[serde(rename = "bot.chat_created")]
    BotChatCreated {
        chat_id: ChatId,
        source_chat_id: ChatId,
        seq: Seq,
        user_id: UserId,
        start_payload: Option<String>,
        at: Millis,
    },
    /// In an encrypted chat: devices wait to be added to its MLS group, or leaves to be removed
    /// (someone left, a device was revoked); a member's device commits the change.
    #[serde(rename = "mls.changed")]
    MlsChanged { chat_id: ChatId },
    /// To a user: one of their devices was added to the encrypted chat's group at `epoch`; the
    /// device takes its Welcome from `GET /mls/welcomes`.
    #[serde(rename = "mls.welcome")]
    MlsWelcome {
        chat_id: ChatId,
        welcome_id: i64,
        epoch: u64,
    },
    /// To a user: their device has few key packages left for others to add it with.
    #[serde(rename = "mls.key_packages_low")]
    MlsKeyPackagesLow { device_id: i64, available: u32 },
    /// To the person who pressed a callback button under message `seq`: the bot answered, with
    /// a notification to show, if any (an edit of the message comes as `message.edited`).
    #[serde(rename = "callback.answered")]
    CallbackAnswered {
        chat_id: ChatId,
        seq: Seq,
        notification: Option<String>,
    },
}

impl Event {
    /// The event's `type`, as on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Ready {} => "ready",
            Event::Resync {} => "resync",
            Event::MessageNew { .. } => "message.new",
            Event::MessageEdited { .. } => "message.edited",
            Event::MessageDeleted { .. } => "message.deleted",
            Event::Reaction { .. } => "reaction",
            Event::Read { .. } => "read",
            Event::Typing { .. } => "typing",
            Event::ChatCreated { .. } => "chat.created",
            Event::ChatUpdated { .. } => "chat.updated",
            Event::MemberAdded { .. } => "member.added",
            Event::MemberUpdated { .. } => "member.updated",
            Event::MemberRemoved { .. } => "member.removed",
            Event::MemberMuted { .. } => "member.muted",
            Event::Reminder { .. } => "reminder",
            Event::PollVoted { .. } => "poll.voted",
            Event::Pinned { .. } => "pinned",
            Event::SessionRevoked { .. } => "session.revoked",
            Event::BotStarted { .. } => "bot.started",
            Event::BotCallback { .. } => "bot.callback",
            Event::CallbackAnswered { .. } => "callback.answered",
            Event::BotChatCreated { .. } => "bot.chat_created",
            Event::MlsChanged { .. } => "mls.changed",
            Event::MlsWelcome { .. } => "mls.welcome",
            Event::MlsKeyPackagesLow { .. } => "mls.key_packages_low",
        }
    }
}

/// An event as it arrives on the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServerFrame {
    #[serde(flatten)]
    pub event: Event,
    /// Opaque. Reconnect with `?since=<cursor>` to receive every later event exactly once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum ClientFrame {
    /// "I am typing in this chat"; members see a `typing` event.
    #[serde(rename = "typing")]
    Typing { chat_id: ChatId },
}

/// WebSocket close codes the server uses.
pub mod close_code {
    /// The session was revoked or logged out.
    pub const SESSION_REVOKED: u16 = 4001;
    /// The client sent a frame the server cannot understand.
    pub const BAD_FRAME: u16 = 4002;
    /// The client did not read fast enough; reconnect with the last cursor.
    pub const TOO_SLOW: u16 = 4003;
    /// The `since` cursor could not be decoded.
    pub const BAD_CURSOR: u16 = 4004;
}
