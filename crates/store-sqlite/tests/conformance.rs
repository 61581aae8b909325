//! The shared conformance suite, run against real SQLite files.

use std::sync::Arc;

use async_trait::async_trait;
use kolokol_store::Store;
use kolokol_store::conformance::{StoreFactory, run_all};
use kolokol_store_sqlite::SqliteStore;
use tempfile::TempDir;

/// Each check gets a new database file in its own folder; the folders live as long as the factory.
struct Files {
    dirs: std::sync::Mutex<Vec<TempDir>>,
}

#[async_trait]
impl StoreFactory for Files {
    async fn fresh(&self) -> Arc<dyn Store> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("kolokol.db")).expect("open store");
        self.dirs.lock().unwrap().push(dir);
        Arc::new(store)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_passes_the_conformance_suite() {
    run_all(&Files {
        dirs: Default::default(),
    })
    .await;
}
