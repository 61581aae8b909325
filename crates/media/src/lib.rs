//! Media bytes for Kolokol: the object store they live in ([`store`]), images re-encoded so no
//! EXIF or GPS survives ([`image`]), and signed links and bot tokens ([`sign`]). What a file is
//! and who may see it are decided elsewhere: its format by `kolokol_domain::media`, its access
//! by the database. Only this crate and the server touch object storage, and the database never
//! holds file bytes.

#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixtures;
pub mod image;
pub mod sign;
pub mod store;

pub use sign::{Signer, TokenOf, Variant};
pub use store::{Location, MediaStore, StoreError, Writer};
