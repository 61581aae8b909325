//! Bots' webhook subscriptions and the lease on delivering to them.

use kolokol_proto::UserId;
use kolokol_store::{Delivery, NewSubscription, Subscription};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::engine::OpResult;
use crate::rows::json_column;

macro_rules! columns {
    () => {
        "bot_id, url, secret, update_types, version, cursor, created_at, attempts, \
         failing_since, next_attempt_at"
    };
}

fn from_row(row: &PgRow) -> OpResult<Subscription> {
    Ok(Subscription {
        bot_id: row.try_get(0)?,
        url: row.try_get(1)?,
        secret: row.try_get(2)?,
        update_types: json_column(row, 3)?,
        version: row.try_get(4)?,
        cursor: row.try_get(5)?,
        created_at: row.try_get(6)?,
        attempts: u32::try_from(row.try_get::<i32, _>(7)?).unwrap_or(0),
        failing_since: row.try_get(8)?,
        next_attempt_at: row.try_get(9)?,
    })
}

pub async fn subscribe(
    conn: &mut PgConnection,
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
    sqlx::query(
        "INSERT INTO bot_subscriptions (bot_id, url, secret, update_types, version, cursor,
                                        created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (bot_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
             update_types = excluded.update_types, version = excluded.version,
             created_at = excluded.created_at, attempts = 0,
             failing_since = NULL, next_attempt_at = NULL",
    )
    .bind(bot_id)
    .bind(&new.url)
    .bind(&new.secret)
    .bind(types)
    .bind(&new.version)
    .bind(&new.cursor)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut PgConnection, bot_id: UserId) -> OpResult<Option<Subscription>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM bot_subscriptions WHERE bot_id = $1"
    );
    let row = sqlx::query(sql).bind(bot_id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn unsubscribe(
    conn: &mut PgConnection,
    bot_id: UserId,
    url: Option<String>,
) -> OpResult<bool> {
    let removed = sqlx::query(
        "DELETE FROM bot_subscriptions WHERE bot_id = $1 AND ($2::text IS NULL OR url = $2)",
    )
    .bind(bot_id)
    .bind(url)
    .execute(conn)
    .await?;
    Ok(removed.rows_affected() > 0)
}

pub async fn leasable(conn: &mut PgConnection, holder: String, now: i64) -> OpResult<Vec<UserId>> {
    Ok(sqlx::query_scalar(
        "SELECT bot_id FROM bot_subscriptions
         WHERE lease_holder IS NULL OR lease_holder = $1 OR lease_until < $2 ORDER BY bot_id",
    )
    .bind(holder)
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// One statement: the lease is taken only where it is free, expired or already ours.
pub async fn lease(
    conn: &mut PgConnection,
    bot_id: UserId,
    holder: String,
    now: i64,
    until: i64,
) -> OpResult<Option<Subscription>> {
    let sql = concat!(
        "UPDATE bot_subscriptions SET lease_holder = $2, lease_until = $4
         WHERE bot_id = $1 AND (lease_holder IS NULL OR lease_holder = $2 OR lease_until < $3)
         RETURNING ",
        columns!()
    );
    let row = sqlx::query(sql)
        .bind(bot_id)
        .bind(holder)
        .bind(now)
        .bind(until)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn record(
    conn: &mut PgConnection,
    bot_id: UserId,
    holder: String,
    delivery: Delivery,
    now: i64,
) -> OpResult<()> {
    match delivery {
        Delivery::Succeeded { cursor } => {
            sqlx::query(
                "UPDATE bot_subscriptions SET cursor = $3, attempts = 0, failing_since = NULL,
                     next_attempt_at = NULL
                 WHERE bot_id = $1 AND lease_holder = $2",
            )
            .bind(bot_id)
            .bind(&holder)
            .bind(cursor)
            .execute(conn)
            .await?
        }
        Delivery::Failed { retry_at } => {
            sqlx::query(
                "UPDATE bot_subscriptions SET attempts = attempts + 1,
                     failing_since = coalesce(failing_since, $3), next_attempt_at = $4
                 WHERE bot_id = $1 AND lease_holder = $2",
            )
            .bind(bot_id)
            .bind(&holder)
            .bind(now)
            .bind(retry_at)
            .execute(conn)
            .await?
        }
    };
    Ok(())
}
