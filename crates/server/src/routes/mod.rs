//! HTTP handlers: thin functions that validate input, call the store, publish what it
//! committed and shape the response.

pub mod accounts;
pub mod bots;
pub mod chats;
pub mod messages;
pub mod moderation;
pub mod orgs;
pub mod safeguarding;
