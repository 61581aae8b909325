//! Bots' webhook subscriptions and the lease on delivering to them.

use kolokol_proto::UserId;
use kolokol_store::{Delivery, NewSubscription, Subscription};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::OpResult;

const COLUMNS: &str = "bot_id, url, secret, update_types, version, cursor, created_at, \
                       attempts, failing_since, next_attempt_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Subscription> {
    Ok(Subscription {
        bot_id: row.get(0)?,
        url: row.get(1)?,
        secret: row.get(2)?,
        update_types: crate::rows::json_column(row, 3)?,
        version: row.get(4)?,
        cursor: row.get(5)?,
        created_at: row.get(6)?,
        attempts: row.get(7)?,
        failing_since: row.get(8)?,
        next_attempt_at: row.get(9)?,
    })
}

pub fn subscribe(
    conn: &Connection,
    bot_id: UserId,
    new: NewSubscription,
    now: i64,
) -> OpResult<()> {
    let types = new
        .update_types
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    // A new subscription replaces the old one, its failures with it; where delivery got to and
    // the lease stay, so a bot that subscribes at every start is not sent its updates again.
    conn.prepare_cached(
        "INSERT INTO bot_subscriptions (bot_id, url, secret, update_types, version, cursor,
                                        created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (bot_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
             update_types = excluded.update_types, version = excluded.version,
             created_at = excluded.created_at, attempts = 0,
             failing_since = NULL, next_attempt_at = NULL",
    )?
    .execute(params![
        bot_id,
        new.url,
        new.secret,
        types,
        new.version,
        new.cursor,
        now
    ])?;
    Ok(())
}

pub fn get(conn: &Connection, bot_id: UserId) -> OpResult<Option<Subscription>> {
    let sql = format!("SELECT {COLUMNS} FROM bot_subscriptions WHERE bot_id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([bot_id], from_row)
        .optional()?)
}

pub fn unsubscribe(conn: &Connection, bot_id: UserId, url: Option<String>) -> OpResult<bool> {
    let removed = conn
        .prepare_cached(
            "DELETE FROM bot_subscriptions WHERE bot_id = ?1 AND (?2 IS NULL OR url = ?2)",
        )?
        .execute(params![bot_id, url])?;
    Ok(removed > 0)
}

pub fn leasable(conn: &Connection, holder: &str, now: i64) -> OpResult<Vec<UserId>> {
    Ok(conn
        .prepare_cached(
            "SELECT bot_id FROM bot_subscriptions
             WHERE lease_holder IS NULL OR lease_holder = ?1 OR lease_until < ?2 ORDER BY bot_id",
        )?
        .query_map(params![holder, now], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn lease(
    conn: &Connection,
    bot_id: UserId,
    holder: String,
    now: i64,
    until: i64,
) -> OpResult<Option<Subscription>> {
    let taken = conn
        .prepare_cached(
            "UPDATE bot_subscriptions SET lease_holder = ?2, lease_until = ?4
             WHERE bot_id = ?1 AND (lease_holder IS NULL OR lease_holder = ?2 OR lease_until < ?3)",
        )?
        .execute(params![bot_id, holder, now, until])?;
    if taken == 0 {
        return Ok(None);
    }
    get(conn, bot_id)
}

pub fn record(
    conn: &Connection,
    bot_id: UserId,
    holder: &str,
    delivery: Delivery,
    now: i64,
) -> OpResult<()> {
    match delivery {
        Delivery::Succeeded { cursor } => conn
            .prepare_cached(
                "UPDATE bot_subscriptions SET cursor = ?3, attempts = 0, failing_since = NULL,
                     next_attempt_at = NULL
                 WHERE bot_id = ?1 AND lease_holder = ?2",
            )?
            .execute(params![bot_id, holder, cursor])?,
        Delivery::Failed { retry_at } => conn
            .prepare_cached(
                "UPDATE bot_subscriptions SET attempts = attempts + 1,
                     failing_since = coalesce(failing_since, ?3), next_attempt_at = ?4
                 WHERE bot_id = ?1 AND lease_holder = ?2",
            )?
            .execute(params![bot_id, holder, now, retry_at])?,
    };
    Ok(())
}
