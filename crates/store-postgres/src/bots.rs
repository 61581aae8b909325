//! Bot accounts, their long polling markers and `bot.started`.

use kolokol_domain::Rejection;
use kolokol_proto::{ChatId, Event, UserId};
use kolokol_store::{BotChanges, BotRecord, NewSession, NewUser, Outcome};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::accounts;
use crate::engine::OpResult;
use crate::events::Changes;
use crate::rows;

/// As long as events are kept.
const MARKER_RETENTION_MS: i64 = 7 * 86_400_000;

macro_rules! bot_select {
    () => {
        "SELECT u.id, CASE WHEN u.show_username THEN u.username END, u.display_name, u.about,
                u.is_bot, b.owner_id, b.description, b.commands, b.created_at
         FROM bots b JOIN users u ON u.id = b.user_id "
    };
}

fn bot(row: &PgRow) -> OpResult<BotRecord> {
    Ok(BotRecord {
        user: rows::user(row, 0)?,
        owner_id: row.try_get(5)?,
        description: row.try_get(6)?,
        commands: row.try_get(7)?,
        created_at: row.try_get(8)?,
    })
}

pub async fn create(
    conn: &mut PgConnection,
    owner: UserId,
    new: NewUser,
    token: NewSession,
    now: i64,
) -> OpResult<BotRecord> {
    let (user, _) = accounts::register(&mut *conn, new, token, now).await?;
    sqlx::query("UPDATE users SET is_bot = true, show_username = true WHERE id = $1")
        .bind(user.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO bots (user_id, owner_id, created_at) VALUES ($1, $2, $3)")
        .bind(user.id)
        .bind(owner)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(get(conn, user.id).await?.expect("inserted above"))
}

pub async fn get(conn: &mut PgConnection, bot_id: UserId) -> OpResult<Option<BotRecord>> {
    let row = sqlx::query(concat!(bot_select!(), "WHERE b.user_id = $1"))
        .bind(bot_id)
        .fetch_optional(conn)
        .await?;
    row.map(|row| bot(&row)).transpose()
}

pub async fn of_owner(conn: &mut PgConnection, owner: UserId) -> OpResult<Vec<BotRecord>> {
    let rows = sqlx::query(concat!(
        bot_select!(),
        "WHERE b.owner_id = $1 ORDER BY b.user_id"
    ))
    .bind(owner)
    .fetch_all(conn)
    .await?;
    rows.iter().map(bot).collect()
}

pub async fn update(
    conn: &mut PgConnection,
    bot_id: UserId,
    changes: BotChanges,
) -> OpResult<BotRecord> {
    sqlx::query(
        "UPDATE bots SET description = coalesce($2, description), commands = coalesce($3, commands)
         WHERE user_id = $1",
    )
    .bind(bot_id)
    .bind(changes.description)
    .bind(changes.commands)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE users SET display_name = coalesce($2, display_name) WHERE id = $1")
        .bind(bot_id)
        .bind(changes.display_name)
        .execute(&mut *conn)
        .await?;
    get(conn, bot_id)
        .await?
        .ok_or_else(|| Rejection::no_such_user().into())
}

pub async fn cursor(
    conn: &mut PgConnection,
    bot_id: UserId,
    marker: Option<i64>,
) -> OpResult<Option<String>> {
    let Some(marker) = marker else {
        return Ok(sqlx::query_scalar(
            "SELECT m.cursor FROM bots b
             JOIN bot_markers m ON m.bot_id = b.user_id AND m.marker = b.acked_marker
             WHERE b.user_id = $1",
        )
        .bind(bot_id)
        .fetch_optional(conn)
        .await?);
    };
    // One statement: the marker's cursor, acknowledging it on the way.
    Ok(sqlx::query_scalar(
        "WITH found AS (SELECT cursor FROM bot_markers WHERE bot_id = $1 AND marker = $2),
              acked AS (UPDATE bots SET acked_marker = $2
                        WHERE user_id = $1 AND EXISTS (SELECT 1 FROM found)
                          AND (acked_marker IS NULL OR acked_marker < $2))
         SELECT cursor FROM found",
    )
    .bind(bot_id)
    .bind(marker)
    .fetch_optional(conn)
    .await?)
}

pub async fn save_cursor(
    conn: &mut PgConnection,
    bot_id: UserId,
    cursor: String,
    now: i64,
) -> OpResult<i64> {
    // Markers older than the event retention name nothing left to read: forget them, but for
    // the acknowledged one, where a bot without a marker resumes.
    sqlx::query(
        "DELETE FROM bot_markers WHERE bot_id = $1 AND created_at < $2
           AND marker IS DISTINCT FROM (SELECT acked_marker FROM bots WHERE user_id = $1)",
    )
    .bind(bot_id)
    .bind(now - MARKER_RETENTION_MS)
    .execute(&mut *conn)
    .await?;
    // The bot's row lock orders concurrent polls of one bot, so markers stay unique.
    sqlx::query("SELECT 1 FROM bots WHERE user_id = $1 FOR UPDATE")
        .bind(bot_id)
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar(
        "INSERT INTO bot_markers (bot_id, marker, cursor, created_at)
         SELECT $1, coalesce(max(marker), 0) + 1, $2, $3 FROM bot_markers WHERE bot_id = $1
         RETURNING marker",
    )
    .bind(bot_id)
    .bind(cursor)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

pub async fn start(
    conn: &mut PgConnection,
    bot_id: UserId,
    user_id: UserId,
    chat_id: ChatId,
    payload: Option<String>,
    now: i64,
) -> OpResult<Outcome<()>> {
    let mut changes = Changes::on_users();
    let event = Event::BotStarted {
        chat_id,
        user_id,
        payload,
        at: now,
    };
    changes.user(bot_id, event);
    changes.commit(conn, now, ()).await
}
