//! End-to-end encrypted chats: the server as MLS's delivery service. It checks what it can see
//! (framing, key packages' signatures, who a commit adds and removes) and never holds a key that
//! decrypts a chat.

pub mod check;
