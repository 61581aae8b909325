//! The rules of Kolokol, free of I/O: what input is valid, who may do what, what a new chat is,
//! when an invite admits, how far read receipts reach, how resume cursors are encoded and how an
//! event is routed. Every storage backend and the server apply these same functions, and give the
//! same refusals (see the constructors on [`Rejection`]), so a rule is written once.

pub mod cursor;
pub mod invite;
pub mod keyboard;
pub mod markup;
pub mod media;
pub mod mls;
pub mod new_chat;
pub mod permissions;
pub mod poll;
pub mod quiet;
pub mod receipts;
mod refusals;
pub mod rollover;
pub mod roster;
pub mod route;
pub mod thread;
pub mod time;
pub mod validate;

use std::borrow::Cow;

pub use cursor::Cursor;
use kolokol_proto::ErrorCode;
pub use route::{MembershipChange, Route};

/// A request refused by a rule, with the stable code the API reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
}

impl Rejection {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Shorthand for a refusal: `reject(ErrorCode::Forbidden, "only admins may rename")`.
pub fn reject<T>(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Result<T, Rejection> {
    Err(Rejection::new(code, message))
}
