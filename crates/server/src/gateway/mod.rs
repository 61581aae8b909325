//! The real-time gateway: `GET /api/v1/ws`.

pub mod connection;
pub mod hub;

pub use hub::Hub;
