//! Threads: replies gathered under a message so side topics do not flood the chat.

use kolokol_proto::{ErrorCode, Message};

use crate::Rejection;

/// A thread goes under a message that exists, is not deleted, and is not itself in a thread
/// (threads are one level deep, as people read them).
pub fn check_root(root: Option<&Message>) -> Result<(), Rejection> {
    match root {
        Some(root) if !root.deleted && root.thread_of.is_none() => Ok(()),
        Some(root) if root.thread_of.is_some() => Err(Rejection::new(
            ErrorCode::InvalidThread,
            "that message is itself in a thread: reply in that thread",
        )),
        _ => Err(Rejection::new(
            ErrorCode::MessageNotFound,
            "no such message to start a thread under",
        )),
    }
}
