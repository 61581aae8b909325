//! Media bytes for Kolokol: the object store they live in ([`store`]), images re-encoded so no
//! EXIF or GPS survives ([`image`]), signed links and bot tokens ([`sign`]), and virus scans by
//! ClamAV's daemon ([`clamd`]). What a file is
//! and who may see it are decided elsewhere: its format by `kolokol_domain::media`, its access
//! by the database. Only this crate and the server touch object storage, and the database never
//! holds file bytes.

pub mod clamd;
#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixtures;
pub mod image;
pub mod sign;
pub mod store;

pub use sign::{Signer, TokenOf, Variant};
pub use store::{Location, MediaStore, StoreError, Writer};
