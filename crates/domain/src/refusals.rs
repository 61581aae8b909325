//! The refusals that several places give (every backend, and often more than one operation), so
//! each is worded once and clients always see the same code and text for the same situation.

use kolokol_proto::{ErrorCode, UserId};

use crate::Rejection;

impl Rejection {
    /// Also given for chats that do not exist, so outsiders cannot probe which ids exist.
    pub fn not_member() -> Self {
        Self::new(ErrorCode::NotMember, "you are not a member of this chat")
    }

    /// The user an action names (to remove, promote, make owner) is not in the chat.
    pub fn target_not_member() -> Self {
        Self::new(
            ErrorCode::UserNotFound,
            "that user is not a member of this chat",
        )
    }

    pub fn already_member() -> Self {
        Self::new(
            ErrorCode::AlreadyMember,
            "you are already a member of this chat",
        )
    }

    pub fn no_user_with_id(id: UserId) -> Self {
        Self::new(ErrorCode::UserNotFound, format!("no user with id {id}"))
    }

    /// The acting user's own account is gone.
    pub fn no_such_user() -> Self {
        Self::new(ErrorCode::UserNotFound, "no such user")
    }

    /// Unknown, replaced, or of someone no longer on the roster.
    pub fn claim_code_not_found() -> Self {
        Self::new(ErrorCode::ClaimCodeNotFound, "no such claim code")
    }

    /// The message asks for no acknowledgement (or does not exist).
    pub fn no_ack_request() -> Self {
        Self::new(
            ErrorCode::NotFound,
            "this message does not ask for an acknowledgement",
        )
    }

    /// The chats an organisation's roster provisions are kept in step with it, not by hand.
    pub fn kept_by_roster() -> Self {
        Self::new(
            ErrorCode::Forbidden,
            "this chat belongs to an organisation's roster and is managed there",
        )
    }

    /// A press of a button the message does not have, or whose bot has left the chat.
    pub fn no_button() -> Self {
        Self::new(
            ErrorCode::NotFound,
            "this message has no such button, or its bot has left the chat",
        )
    }

    /// The message carries no poll, or was deleted.
    pub fn no_poll() -> Self {
        Self::new(ErrorCode::MessageNotFound, "no poll in this message")
    }

    /// Readers of a message are reminded of it at most once an hour.
    pub fn reminded_recently() -> Self {
        Self::new(
            ErrorCode::RateLimited,
            "readers were reminded of this message less than an hour ago",
        )
    }

    pub fn claim_code_expired() -> Self {
        Self::new(
            ErrorCode::ClaimCodeExpired,
            "this claim code has expired: ask the school for a new one",
        )
    }

    pub fn username_taken() -> Self {
        Self::new(ErrorCode::UsernameTaken, "this username is taken")
    }

    pub fn no_message() -> Self {
        Self::new(
            ErrorCode::MessageNotFound,
            "no message with that seq in this chat",
        )
    }

    pub fn no_reply_target() -> Self {
        Self::new(
            ErrorCode::MessageNotFound,
            "reply_to names no message of this chat",
        )
    }

    pub fn message_deleted() -> Self {
        Self::new(ErrorCode::MessageDeleted, "the message was deleted")
    }

    pub fn invite_not_found() -> Self {
        Self::new(ErrorCode::InviteNotFound, "no such invite link")
    }
}
