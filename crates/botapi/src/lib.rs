//! The Max Bot API (schema 0.0.32) as Kolokol serves it, so that bots written for Max run
//! unchanged against a Kolokol server: Max's JSON shapes ([`wire`]) and the mapping of Kolokol's
//! ids to Max's ([`ids`]). Like `kolokol-proto`, this crate does no I/O; the server's
//! `botapi` module answers the HTTP calls with these types.
//!
//! Compatibility rules the official clients depend on (see docs/BOTS.md):
//! - every success is `200` with a JSON object (`{"success": true}` where there is nothing else);
//! - `body.text` is never null, and `recipient.chat_id` is always set;
//! - absent optional fields are omitted rather than null where the schema says non-nullable.

pub mod attachments;
pub mod format;
pub mod ids;
pub mod web_app;
pub mod wire;
