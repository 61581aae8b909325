//! The Rust client SDK for Kolokol: typed calls for every REST endpoint and a WebSocket event
//! stream that can resume after a dropped connection. Integration tests, the load generator and
//! the terminal client all talk to the server through it.
//!
//! - [`Client`] holds the server address and a session token; [`Client::register`] and
//!   [`Client::login`] sign it in. Clone it to act as several users over one connection pool.
//! - Every call returns [`ClientError`] on failure; [`ClientError::code`] gives the API's
//!   [`ErrorCode`](proto::ErrorCode) for asserting refusals.
//! - [`Client::raw`] sends arbitrary bytes, for tests of bad input.
//! - [`Client::connect_events`] opens an [`EventStream`]; [`Client::connect_resuming`] opens a
//!   [`ResumingStream`] that reconnects from its last cursor.
//!
//! The wire types are re-exported as [`proto`].
//!
//! ```no_run
//! use kolokol_client::proto::{
//!     ChatKind, ChatPrivacy, CreateChatRequest, ErrorCode, Event, RegisterRequest,
//!     SendMessageRequest,
//! };
//! use kolokol_client::{Client, ClientError};
//!
//! # async fn demo() -> Result<(), ClientError> {
//! let mut alice = Client::new("http://127.0.0.1:8080");
//! alice
//!     .register(&RegisterRequest {
//!         username: "alice".into(),
//!         password: "correct horse battery".into(),
//!         display_name: "Alice".into(),
//!         device_name: None,
//!     })
//!     .await?;
//!
//! let (chat, _created) = alice
//!     .create_chat(&CreateChatRequest {
//!         kind: ChatKind::Group,
//!         title: Some("Class 5B parents".into()),
//!         member_ids: None,
//!         privacy: ChatPrivacy::Community,
//!     })
//!     .await?;
//!
//! let mut events = alice.connect_events(None).await?;
//! let (sent, _created) = alice
//!     .send_message(chat.id, &SendMessageRequest {
//!         client_msg_id: "m-1".into(),
//!         text: "Hello!".into(),
//!         ..SendMessageRequest::default()
//!     })
//!     .await?;
//! while let Some(frame) = events.next().await {
//!     if let Event::MessageNew { message } = frame?.event {
//!         assert_eq!(message, sent);
//!         break;
//!     }
//! }
//!
//! // A stranger is refused with a stable code.
//! let stranger = Client::new("http://127.0.0.1:8080");
//! let err = stranger.chat(chat.id).await.unwrap_err();
//! assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
//! # Ok(())
//! # }
//! ```

mod error;
mod events;
mod rest;

pub use error::ClientError;
pub use events::{EventStream, FrameText, Reconnect, ResumingStream};
pub use kolokol_proto as proto;
pub use rest::{Client, Page, Posted};
