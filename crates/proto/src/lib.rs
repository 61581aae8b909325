//! Kolokol's wire format: the JSON bodies of the REST API, the WebSocket events and the error codes.
//!
//! This crate alone knows how things look on the wire. It does no I/O and depends on no runtime,
//! database or web framework, so clients, the server and tests share one definition.

pub mod api;
pub mod error;
pub mod event;
pub mod mls;

pub use api::*;
pub use error::{ErrorBody, ErrorCode, LineError, RosterProblem};
pub use event::{ClientFrame, Event, ServerFrame};
pub use mls::*;

/// A user's id. Below 2^53 so JavaScript reads it exactly.
pub type UserId = i64;
/// A chat's id. Below 2^53 so JavaScript reads it exactly.
pub type ChatId = i64;
/// A message's position in its chat: 1, 2, 3… with no gaps.
pub type Seq = i64;
/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;
