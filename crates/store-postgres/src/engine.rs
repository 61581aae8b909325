//! Running operations: errors, transactions and retries.
//!
//! Every operation is an async function of a `&mut PgConnection`. [`Engine::run`] gives it a
//! pooled connection in one of three modes (autocommit, a read-write transaction, or a read-only
//! snapshot) and runs it again when PostgreSQL aborted it for a deadlock or a serialization
//! failure, which the row locks make rare but not impossible.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use kolokol_domain::Rejection;
use kolokol_store::{StoreError, StoreResult};
use sqlx::{PgConnection, PgPool};

/// How often an operation is tried when PostgreSQL aborts it for a deadlock or serialization
/// failure.
const MAX_ATTEMPTS: u32 = 5;

/// The error of one operation: a rule's refusal or a database failure.
#[derive(Debug)]
pub enum OpError {
    Rejected(Rejection),
    Db(sqlx::Error),
    /// Anything else that went wrong inside (a stored payload that does not parse).
    Internal(String),
}

impl From<Rejection> for OpError {
    fn from(rejection: Rejection) -> Self {
        OpError::Rejected(rejection)
    }
}

impl From<sqlx::Error> for OpError {
    fn from(error: sqlx::Error) -> Self {
        OpError::Db(error)
    }
}

impl From<serde_json::Error> for OpError {
    fn from(error: serde_json::Error) -> Self {
        OpError::Internal(format!("stored data does not parse: {error}"))
    }
}

impl OpError {
    /// SQLSTATE 40001 (serialization failure) and 40P01 (deadlock): the transaction was rolled
    /// back and may simply run again.
    fn is_retryable(&self) -> bool {
        let OpError::Db(sqlx::Error::Database(error)) = self else {
            return false;
        };
        matches!(error.code().as_deref(), Some("40001" | "40P01"))
    }
}

/// A database failure as text for the server log: the SQLSTATE and PostgreSQL's one-line message,
/// never its detail (which can quote row contents).
pub fn describe(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(error) => format!(
            "postgres error {}: {}",
            error.code().as_deref().unwrap_or("?"),
            error.message()
        ),
        other => other.to_string(),
    }
}

impl From<OpError> for StoreError {
    fn from(error: OpError) -> Self {
        match error {
            OpError::Rejected(rejection) => StoreError::Rejected(rejection),
            OpError::Db(error) => StoreError::Backend(describe(&error)),
            OpError::Internal(error) => StoreError::Backend(error),
        }
    }
}

pub type OpResult<T> = Result<T, OpError>;

/// The future of one operation on a connection.
pub type Op<'c, T> = Pin<Box<dyn Future<Output = OpResult<T>> + Send + 'c>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Each statement commits on its own: for single statements (sending is one).
    Autocommit,
    /// One READ COMMITTED transaction; changes take row locks first (see `chats::lock`).
    Write,
    /// One REPEATABLE READ, READ ONLY transaction: several reads that must agree.
    Snapshot,
}

pub struct Engine {
    pub pool: PgPool,
}

impl Engine {
    /// Runs `op` in `mode`, again (up to a few times) when PostgreSQL aborted it for a deadlock
    /// or serialization failure.
    pub async fn run<T, F>(&self, mode: Mode, op: F) -> StoreResult<T>
    where
        T: Send,
        F: for<'c> Fn(&'c mut PgConnection) -> Op<'c, T> + Send + Sync,
    {
        let mut attempt = 1;
        loop {
            match self.once(mode, &op).await {
                Err(error) if error.is_retryable() && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, "retrying a transaction PostgreSQL aborted");
                    tokio::time::sleep(Duration::from_millis(2 << attempt)).await;
                    attempt += 1;
                }
                result => return result.map_err(StoreError::from),
            }
        }
    }

    async fn once<T, F>(&self, mode: Mode, op: &F) -> OpResult<T>
    where
        T: Send,
        F: for<'c> Fn(&'c mut PgConnection) -> Op<'c, T> + Send + Sync,
    {
        let begin = match mode {
            Mode::Autocommit => {
                let mut conn = self.pool.acquire().await?;
                return op(&mut conn).await;
            }
            Mode::Write => "BEGIN",
            Mode::Snapshot => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        };
        let mut tx = self.pool.begin_with(begin).await?;
        // On an error the transaction is dropped, which rolls it back.
        let value = op(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }
}
