//! Integration tests: the real server on 127.0.0.1:0 with a real SQLite file (and, in `cluster`,
//! several real nodes on PostgreSQL + NATS), driven over HTTP
//! and WebSocket through the client SDK. One test binary, one module per area.

mod api {
    pub mod accounts;
    pub mod bot_media;
    pub mod bots;
    pub mod chats;
    pub mod cluster;
    pub mod common;
    pub mod crash;
    pub mod e2ee;
    pub mod max_schema;
    pub mod media;
    pub mod messages;
    pub mod orgs;
    pub mod polls;
    pub mod quiet;
    pub mod realtime;
}
