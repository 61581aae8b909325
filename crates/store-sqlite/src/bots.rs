//! Bot accounts, their long polling markers and `bot.started`.

use kolokol_domain::Rejection;
use kolokol_proto::{ChatId, Event, UserId};
use kolokol_store::{BotChanges, BotRecord, NewSession, NewUser, Outcome};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::accounts;
use crate::engine::OpResult;
use crate::events::Changes;
use crate::rows;

/// As long as events are kept.
const MARKER_RETENTION_MS: i64 = 7 * 86_400_000;

const BOT_COLUMNS: &str = "u.id, CASE WHEN u.show_username THEN u.username END, u.display_name, \
                           u.about, u.is_bot, b.owner_id, b.description, b.commands, b.created_at";

fn bot_from_row(row: &Row<'_>) -> rusqlite::Result<BotRecord> {
    Ok(BotRecord {
        user: rows::user_from_row(row)?,
        owner_id: row.get(5)?,
        description: row.get(6)?,
        commands: row.get(7)?,
        created_at: row.get(8)?,
    })
}

pub fn create(
    conn: &Connection,
    owner: UserId,
    bot: NewUser,
    token: NewSession,
    now: i64,
) -> OpResult<BotRecord> {
    let (user, _) = accounts::register(conn, bot, token, now)?;
    conn.prepare_cached("UPDATE users SET is_bot = 1, show_username = 1 WHERE id = ?1")?
        .execute([user.id])?;
    conn.prepare_cached("INSERT INTO bots (user_id, owner_id, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![user.id, owner, now])?;
    Ok(get(conn, user.id)?.expect("inserted above"))
}

pub fn get(conn: &Connection, bot_id: UserId) -> OpResult<Option<BotRecord>> {
    let sql = format!(
        "SELECT {BOT_COLUMNS} FROM bots b JOIN users u ON u.id = b.user_id WHERE b.user_id = ?1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([bot_id], bot_from_row)
        .optional()?)
}

pub fn of_owner(conn: &Connection, owner: UserId) -> OpResult<Vec<BotRecord>> {
    let sql = format!(
        "SELECT {BOT_COLUMNS} FROM bots b JOIN users u ON u.id = b.user_id
         WHERE b.owner_id = ?1 ORDER BY b.user_id"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([owner], bot_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn update(conn: &Connection, bot_id: UserId, changes: BotChanges) -> OpResult<BotRecord> {
    conn.prepare_cached(
        "UPDATE bots SET description = coalesce(?2, description), commands = coalesce(?3, commands)
         WHERE user_id = ?1",
    )?
    .execute(params![bot_id, changes.description, changes.commands])?;
    conn.prepare_cached(
        "UPDATE users SET display_name = coalesce(?2, display_name) WHERE id = ?1",
    )?
    .execute(params![bot_id, changes.display_name])?;
    get(conn, bot_id)?.ok_or_else(|| Rejection::no_such_user().into())
}

pub fn cursor(conn: &Connection, bot_id: UserId, marker: Option<i64>) -> OpResult<Option<String>> {
    let Some(marker) = marker else {
        let acked = "SELECT m.cursor FROM bots b
                     JOIN bot_markers m ON m.bot_id = b.user_id AND m.marker = b.acked_marker
                     WHERE b.user_id = ?1";
        return Ok(conn
            .prepare_cached(acked)?
            .query_row([bot_id], |row| row.get(0))
            .optional()?);
    };
    let cursor: Option<String> = conn
        .prepare_cached("SELECT cursor FROM bot_markers WHERE bot_id = ?1 AND marker = ?2")?
        .query_row(params![bot_id, marker], |row| row.get(0))
        .optional()?;
    if cursor.is_some() {
        conn.prepare_cached(
            "UPDATE bots SET acked_marker = ?2
             WHERE user_id = ?1 AND (acked_marker IS NULL OR acked_marker < ?2)",
        )?
        .execute(params![bot_id, marker])?;
    }
    Ok(cursor)
}

pub fn save_cursor(conn: &Connection, bot_id: UserId, cursor: String, now: i64) -> OpResult<i64> {
    // Markers older than the event retention name nothing left to read: forget them, but for
    // the acknowledged one, where a bot without a marker resumes.
    conn.prepare_cached(
        "DELETE FROM bot_markers WHERE bot_id = ?1 AND created_at < ?2
           AND marker IS NOT (SELECT acked_marker FROM bots WHERE user_id = ?1)",
    )?
    .execute(params![bot_id, now - MARKER_RETENTION_MS])?;
    Ok(conn
        .prepare_cached(
            "INSERT INTO bot_markers (bot_id, marker, cursor, created_at)
             SELECT ?1, coalesce(max(marker), 0) + 1, ?2, ?3 FROM bot_markers WHERE bot_id = ?1
             RETURNING marker",
        )?
        .query_row(params![bot_id, cursor, now], |row| row.get(0))?)
}

pub fn start(
    conn: &Connection,
    bot_id: UserId,
    user_id: UserId,
    chat_id: ChatId,
    payload: Option<String>,
    now: i64,
) -> OpResult<Outcome<()>> {
    let mut changes = Changes::default();
    let event = Event::BotStarted {
        chat_id,
        user_id,
        payload,
        at: now,
    };
    changes.user(conn, bot_id, event, now)?;
    Ok(changes.finish(()))
}
