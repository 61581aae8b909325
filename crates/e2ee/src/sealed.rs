//! Where a Rust device keeps its MLS state: one SQLite file, every value sealed with AES-256-GCM
//! under a 32-byte key the caller holds (tests: random; a command-line client: derived from a
//! passphrase), with the value's name as associated data. openmls keeps its state (groups, keys,
//! key packages) in a `MemoryStorage`; [`SealedFile::save`] writes what changed in it since the
//! last save, in one transaction, before the device acts on an operation's result.

use std::collections::HashMap;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rusqlite::{Connection, params};

use crate::{E2eeError, E2eeResult};

fn storage_error(error: impl std::fmt::Display) -> E2eeError {
    E2eeError::Storage(error.to_string())
}

/// A device's sealed state file.
pub struct SealedFile {
    conn: Connection,
    cipher: Aes256Gcm,
    /// What the file holds, as of the last load or save: only what changed is written.
    saved: HashMap<Vec<u8>, Vec<u8>>,
}

impl SealedFile {
    /// Opens (creating if needed) the file at `path`, sealed with `key`. A wrong key fails at
    /// the first value read.
    pub fn open(path: &Path, key: &[u8; 32]) -> E2eeResult<SealedFile> {
        let conn = Connection::open(path).map_err(storage_error)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS sealed (name BLOB PRIMARY KEY, nonce BLOB NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;",
        )
        .map_err(storage_error)?;
        Ok(SealedFile {
            conn,
            cipher: Aes256Gcm::new(key.into()),
            saved: HashMap::new(),
        })
    }

    /// Every value in the file, opened.
    pub fn load(&mut self) -> E2eeResult<HashMap<Vec<u8>, Vec<u8>>> {
        let mut statement = self
            .conn
            .prepare("SELECT name, nonce, value FROM sealed")
            .map_err(storage_error)?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, Vec<u8>>(0)?,
                    row.get::<_, Vec<u8>>(1)?,
                    row.get::<_, Vec<u8>>(2)?,
                ))
            })
            .map_err(storage_error)?;
        let mut values = HashMap::new();
        for row in rows {
            let (name, nonce, sealed) = row.map_err(storage_error)?;
            if nonce.len() != 12 {
                return Err(E2eeError::Storage(
                    "a sealed value without its nonce".into(),
                ));
            }
            let payload = Payload {
                msg: &sealed,
                aad: &name,
            };
            let value = self
                .cipher
                .decrypt(Nonce::from_slice(&nonce), payload)
                .map_err(|_| E2eeError::Storage("the state does not open with this key".into()))?;
            values.insert(name, value);
        }
        drop(statement);
        self.saved = values.clone();
        Ok(values)
    }

    /// Makes the file hold exactly `values`: what changed is sealed afresh, what went is deleted.
    pub fn save(&mut self, values: &HashMap<Vec<u8>, Vec<u8>>) -> E2eeResult<()> {
        let transaction = self.conn.transaction().map_err(storage_error)?;
        for (name, value) in values {
            if self.saved.get(name) == Some(value) {
                continue;
            }
            let nonce: [u8; 12] = rand::random();
            let payload = Payload {
                msg: value,
                aad: name,
            };
            let sealed = self
                .cipher
                .encrypt(Nonce::from_slice(&nonce), payload)
                .map_err(|_| E2eeError::Storage("sealing failed".into()))?;
            transaction
                .execute(
                    "INSERT INTO sealed (name, nonce, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET nonce = excluded.nonce, value = excluded.value",
                    params![name, nonce.as_slice(), sealed],
                )
                .map_err(storage_error)?;
        }
        for name in self.saved.keys().filter(|name| !values.contains_key(*name)) {
            transaction
                .execute("DELETE FROM sealed WHERE name = ?1", [name])
                .map_err(storage_error)?;
        }
        transaction.commit().map_err(storage_error)?;
        self.saved = values.clone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_only_with_their_key_and_never_lie_in_the_file_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.sqlite");
        let key: [u8; 32] = rand::random();
        let mut file = SealedFile::open(&path, &key).unwrap();
        let mut values = HashMap::new();
        values.insert(b"group".to_vec(), b"kolokol-secret-state-1".to_vec());
        values.insert(b"keys".to_vec(), vec![7; 64]);
        file.save(&values).unwrap();
        values.remove(b"keys".as_slice());
        values.insert(b"group".to_vec(), b"kolokol-secret-state-2".to_vec());
        file.save(&values).unwrap();
        drop(file);

        let mut again = SealedFile::open(&path, &key).unwrap();
        assert_eq!(again.load().unwrap(), values);
        let mut wrong = SealedFile::open(&path, &rand::random()).unwrap();
        assert!(matches!(wrong.load(), Err(E2eeError::Storage(_))));
        let mut on_disk = std::fs::read(&path).unwrap();
        if let Ok(wal) = std::fs::read(dir.path().join("device.sqlite-wal")) {
            on_disk.extend(wal);
        }
        assert!(!on_disk.windows(20).any(|w| w == b"kolokol-secret-state"));
    }
}
