//! The SQLite engine: one writer thread that commits in groups, and a pool of readers.
//!
//! Durable commits are the cost of a send (`synchronous=FULL` waits for the disk), so the writer
//! drains everything queued and commits it as one transaction: under load one fsync acknowledges
//! hundreds of sends. Each job runs inside its own savepoint, so a refused request rolls back
//! alone without failing the batch. Replies go out only after the batch committed.
//!
//! At moderate rates the queue is mostly empty when the writer looks, so each send would pay a
//! whole commit (WAL frames and an fsync) alone. Commits are therefore paced once writes are
//! concurrent: after a commit that carried more than one job, the next may begin no sooner than
//! [`MIN_COMMIT_INTERVAL`] after it, and whatever arrives meanwhile shares it. A lone writer
//! (one job per commit, such as a bot sending one message after another) never waits, and the
//! wait ends as soon as [`FULL_BATCH`] jobs are queued, so many senders that each wait for their
//! reply are not held up either.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex};

use kolokol_domain::Rejection;
use kolokol_store::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// At most this many jobs share one transaction, so a flood cannot stretch a commit forever.
const MAX_BATCH: usize = 4096;
/// Jobs waiting for the writer; senders wait (back-pressure) once it is full.
const QUEUE_CAPACITY: usize = 16_384;
/// The least time between the starts of two commits while writes are concurrent. Under load it
/// adds up to this much latency to a send and saves a quarter of the server's CPU per delivery
/// at 1,000 sends/s (docs/PERFORMANCE.md); people do not notice 20 ms.
const MIN_COMMIT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);
/// A paced commit begins at once when this many jobs wait: waiting longer saves little more.
const FULL_BATCH: usize = 32;
/// How often a paced wait looks at the queue.
const PACING_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// The error of one operation inside the engine: a rule's refusal or a database failure.
#[derive(Debug)]
pub enum OpError {
    Rejected(Rejection),
    Sql(rusqlite::Error),
    /// Anything else that went wrong inside (a stored payload that does not parse, a panic).
    Internal(String),
}

impl From<Rejection> for OpError {
    fn from(rejection: Rejection) -> Self {
        OpError::Rejected(rejection)
    }
}

impl From<rusqlite::Error> for OpError {
    fn from(error: rusqlite::Error) -> Self {
        OpError::Sql(error)
    }
}

impl From<serde_json::Error> for OpError {
    fn from(error: serde_json::Error) -> Self {
        OpError::Internal(error.to_string())
    }
}

impl From<OpError> for StoreError {
    fn from(error: OpError) -> Self {
        match error {
            OpError::Rejected(rejection) => StoreError::Rejected(rejection),
            OpError::Sql(error) => StoreError::Backend(error.to_string()),
            OpError::Internal(error) => StoreError::Backend(error),
        }
    }
}

pub type OpResult<T> = Result<T, OpError>;

type Completion = Box<dyn FnOnce(&Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Completion + Send>;

pub struct Engine {
    jobs: mpsc::Sender<Job>,
    /// Dropping the engine drops this sender, which stops the checkpoint thread.
    _stop_checkpoints: std::sync::mpsc::Sender<()>,
    /// Free reader connections, and as many permits. A read holds a permit until its connection
    /// is back in the pool, so a permit always finds a connection.
    readers: Arc<Mutex<Vec<Connection>>>,
    reader_permits: Arc<Semaphore>,
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -32000;",
    )?;
    Ok(conn)
}

impl Engine {
    /// Opens (creating if needed) the database file, migrates it, and starts the writer thread.
    pub fn open(path: &Path, readers: usize) -> StoreResult<Engine> {
        let backend = |e: rusqlite::Error| StoreError::Backend(e.to_string());
        let mut writer = open_connection(path).map_err(backend)?;
        crate::schema::migrate(&mut writer).map_err(backend)?;
        let readers = (0..readers.max(1))
            .map(|_| open_connection(path))
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(backend)?;
        // The writer never checkpoints: copying the WAL back into the database (and its fsync)
        // would stall every send in the batch. A background thread does it instead.
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(backend)?;
        let checkpointer = open_connection(path).map_err(backend)?;
        let (stop_checkpoints, stopped) = std::sync::mpsc::channel::<()>();
        let spawn_failed = |e: std::io::Error| StoreError::Backend(e.to_string());
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, stopped))
            .map_err(spawn_failed)?;
        let (jobs, queue) = mpsc::channel(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(writer, queue))
            .map_err(spawn_failed)?;
        Ok(Engine {
            jobs,
            _stop_checkpoints: stop_checkpoints,
            reader_permits: Arc::new(Semaphore::new(readers.len())),
            readers: Arc::new(Mutex::new(readers)),
        })
    }

    /// Runs `op` on the writer inside the next group commit; resolves once that commit is durable.
    pub async fn write<R, F>(&self, op: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> OpResult<R> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = in_savepoint(conn, op);
            Box::new(move |commit: &Result<(), String>| {
                let outcome = match commit {
                    Ok(()) => result.map_err(StoreError::from),
                    Err(error) => Err(StoreError::Backend(error.clone())),
                };
                let _ = reply.send(outcome);
            })
        });
        let stopped = || StoreError::Backend("the writer has stopped".into());
        self.jobs.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs `op` on a reader connection inside one read transaction (one consistent snapshot).
    pub async fn read<R, F>(&self, op: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> OpResult<R> + Send + 'static,
    {
        // The blocking task, not this future, gives the connection and then the permit back: a
        // caller that stops waiting (a client that went away drops its request) leaves the task
        // running to its end, and the pool whole.
        let permit = Arc::clone(&self.reader_permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("reader pool closed".into()))?;
        let free = self.readers.lock().expect("reader pool lock").pop();
        let conn = free.expect("a permit guarantees a free reader");
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let result = guarded(|| {
                let tx = conn.unchecked_transaction()?;
                let value = op(&tx)?;
                tx.finish()?;
                Ok(value)
            });
            readers.lock().expect("reader pool lock").push(conn);
            drop(permit);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
        .map_err(StoreError::from)
    }
}

/// Turns a panic inside an operation into an error, so one bug cannot kill the writer thread.
fn guarded<R>(op: impl FnOnce() -> OpResult<R>) -> OpResult<R> {
    catch_unwind(AssertUnwindSafe(op))
        .unwrap_or_else(|_| Err(OpError::Internal("operation panicked".into())))
}

fn in_savepoint<R>(conn: &Connection, op: impl FnOnce(&Connection) -> OpResult<R>) -> OpResult<R> {
    cached(conn, "SAVEPOINT job")?;
    let result = guarded(|| op(conn));
    if result.is_err() {
        cached(conn, "ROLLBACK TO job")?;
    }
    cached(conn, "RELEASE job")?;
    result
}

/// Runs a statement without parameters from the connection's statement cache: these run for
/// every job or commit, and parsing them each time is measurable.
fn cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// WAL frames (4 KiB pages) beyond which a checkpoint makes the writer start the WAL over.
const WAL_RESTART_FRAMES: i64 = 16_384;

fn checkpoint_loop(conn: Connection, stop: std::sync::mpsc::Receiver<()>) {
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
        stop.recv_timeout(CHECKPOINT_INTERVAL)
    {
        if let Err(error) = checkpoint(&conn) {
            tracing::warn!(%error, "WAL checkpoint failed");
        }
    }
}

/// PASSIVE never blocks the writer or readers; whatever it cannot copy now waits for the next
/// round. But under steady writes new frames always arrive while it copies, so the WAL is never
/// wholly copied and SQLite never starts it over: it would grow without end. Once it is long, a
/// RESTART copies the few frames PASSIVE left (holding the writer only that long) and makes the
/// next commit write from the start of the file again.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    let frames: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))?;
    if frames > WAL_RESTART_FRAMES {
        conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
    }
    Ok(())
}

/// Sleeps until `until` or until [`FULL_BATCH`] jobs (counting the one already taken) wait.
fn wait_for_batch(queue: &mpsc::Receiver<Job>, until: std::time::Instant) {
    while queue.len() + 1 < FULL_BATCH {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(PACING_POLL));
    }
}

fn write_loop(conn: Connection, mut queue: mpsc::Receiver<Job>) {
    let mut completions: Vec<Completion> = Vec::with_capacity(256);
    // When the last commit began, if it carried more than one job.
    let mut last_shared_commit: Option<std::time::Instant> = None;
    while let Some(first) = queue.blocking_recv() {
        if let Some(at) = last_shared_commit {
            wait_for_batch(&queue, at + MIN_COMMIT_INTERVAL);
        }
        let began = std::time::Instant::now();
        // Cached statements: a commit per few sends makes parsing these each time measurable.
        let outcome = cached(&conn, "BEGIN IMMEDIATE").map_err(|e| e.to_string());
        if let Err(error) = outcome {
            // Dropping the job drops its reply channel: the caller gets an error, nothing ran.
            tracing::error!(%error, "cannot begin a write transaction");
            drop(first);
            continue;
        }
        completions.push(first(&conn));
        while completions.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => completions.push(job(&conn)),
                Err(_) => break,
            }
        }
        let commit = cached(&conn, "COMMIT").map_err(|e| e.to_string());
        if let Err(error) = &commit {
            tracing::error!(%error, jobs = completions.len(), "group commit failed");
            let _ = cached(&conn, "ROLLBACK");
        }
        last_shared_commit = (completions.len() > 1).then_some(began);
        for complete in completions.drain(..) {
            complete(&commit);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A read whose caller stops waiting (axum drops a handler when its client goes away) must
    /// not lose its reader: later reads once found a permit but no connection, and panicked.
    #[tokio::test]
    async fn reads_abandoned_midway_keep_the_pool_whole() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(&dir.path().join("kolokol.db"), 2).unwrap();
        for _ in 0..4 {
            let slow = engine.read(|conn| {
                std::thread::sleep(Duration::from_millis(50));
                Ok(conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))?)
            });
            assert!(
                tokio::time::timeout(Duration::from_millis(5), slow)
                    .await
                    .is_err()
            );
        }
        for _ in 0..4 {
            let one = engine
                .read(|conn| Ok(conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))?))
                .await
                .unwrap();
            assert_eq!(one, 1);
        }
    }
}
