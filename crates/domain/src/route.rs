//! Where an event goes. The store attaches a route to every event it commits; the gateway uses
//! it to pick recipients and to advance each connection's cursor without reading the payload.

use kolokol_proto::{ChatId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// To every member of the chat, at this position of the chat's stream.
    Chat {
        chat_id: ChatId,
        pos: i64,
        /// Set when the event changes who is a member, so recipient lists can follow.
        membership: Option<MembershipChange>,
    },
    /// To every device of one user, at this position of the user's stream.
    User { user_id: UserId, pos: i64 },
    /// Ephemeral (typing): to the chat's members except `from`; never stored, no position.
    Ephemeral { chat_id: ChatId, from: UserId },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipChange {
    pub user_id: UserId,
    pub joined: bool,
}
