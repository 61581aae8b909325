//! The openmls provider of a device: RustCrypto for cryptography, and a `MemoryStorage` whose
//! values the device seals into its file ([`crate::sealed::SealedFile`]).

use std::collections::HashMap;

use openmls_rust_crypto::{MemoryStorage, RustCrypto};
use openmls_traits::OpenMlsProvider;

#[derive(Default)]
pub struct Provider {
    crypto: RustCrypto,
    storage: MemoryStorage,
}

impl Provider {
    /// A provider whose storage starts with `values` (a device's state, loaded).
    pub fn with_values(values: HashMap<Vec<u8>, Vec<u8>>) -> Provider {
        let storage = MemoryStorage::default();
        *storage.values.write().expect("a fresh lock") = values;
        Provider {
            crypto: RustCrypto::default(),
            storage,
        }
    }

    /// Everything openmls keeps, to seal.
    pub fn values(&self) -> HashMap<Vec<u8>, Vec<u8>> {
        self.storage
            .values
            .read()
            .expect("the storage lock")
            .clone()
    }
}

impl OpenMlsProvider for Provider {
    type CryptoProvider = RustCrypto;
    type RandProvider = RustCrypto;
    type StorageProvider = MemoryStorage;

    fn storage(&self) -> &Self::StorageProvider {
        &self.storage
    }

    fn crypto(&self) -> &Self::CryptoProvider {
        &self.crypto
    }

    fn rand(&self) -> &Self::RandProvider {
        &self.crypto
    }
}
