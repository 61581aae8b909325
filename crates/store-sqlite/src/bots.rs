//! Bot accounts, their long polling markers, events on users' own streams, and presses of
//! bots' buttons.

use kolokol_domain::{Rejection, keyboard};
use kolokol_proto::{ChatId, Event, Seq, UserId};
use kolokol_store::{Actor, BotChanges, BotRecord, CallbackRecord, NewSession, NewUser, Outcome};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::accounts;
use crate::engine::OpResult;
use crate::events::Changes;
use crate::rows;

/// As long as events are kept.
const MARKER_RETENTION_MS: i64 = 7 * 86_400_000;

const BOT_COLUMNS: &str = "u.id, CASE WHEN u.show_username THEN u.username END, u.display_name, \
                           u.about, u.is_bot, b.owner_id, b.description, b.commands, b.created_at, \
                           b.web_app_url";

fn bot_from_row(row: &Row<'_>) -> rusqlite::Result<BotRecord> {
    Ok(BotRecord {
        user: rows::user_from_row(row)?,
        owner_id: row.get(5)?,
        description: row.get(6)?,
        commands: row.get(7)?,
        created_at: row.get(8)?,
        web_app_url: row.get(9)?,
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
        "UPDATE bots SET description = coalesce(?2, description), commands = coalesce(?3, commands),
             web_app_url = CASE WHEN ?4 THEN ?5 ELSE web_app_url END,
             web_app_key = coalesce(?6, web_app_key)
         WHERE user_id = ?1",
    )?
    .execute(params![
        bot_id,
        changes.description,
        changes.commands,
        changes.web_app_url.is_some(),
        changes.web_app_url.flatten(),
        changes.web_app_key.map(Vec::from)
    ])?;
    conn.prepare_cached(
        "UPDATE users SET display_name = coalesce(?2, display_name) WHERE id = ?1",
    )?
    .execute(params![bot_id, changes.display_name])?;
    get(conn, bot_id)?.ok_or_else(|| Rejection::no_such_user().into())
}

pub fn web_app_key(conn: &Connection, bot_id: UserId) -> OpResult<Option<[u8; 32]>> {
    let key: Option<Option<Vec<u8>>> = conn
        .prepare_cached("SELECT web_app_key FROM bots WHERE user_id = ?1")?
        .query_row([bot_id], |row| row.get(0))
        .optional()?;
    Ok(key.flatten().and_then(|key| key.try_into().ok()))
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

pub fn button_chat(
    conn: &Connection,
    chat_id: ChatId,
    seq: Seq,
    key: &str,
) -> OpResult<Option<ChatId>> {
    Ok(conn
        .prepare_cached(
            "SELECT created_chat_id FROM button_chats WHERE chat_id = ?1 AND seq = ?2 AND button_key = ?3",
        )?
        .query_row(params![chat_id, seq, key], |row| row.get(0))
        .optional()?)
}

pub fn link_button_chat(
    conn: &Connection,
    chat_id: ChatId,
    seq: Seq,
    key: &str,
    created: ChatId,
) -> OpResult<ChatId> {
    conn.prepare_cached(
        "INSERT INTO button_chats (chat_id, seq, button_key, created_chat_id) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![chat_id, seq, key, created])?;
    Ok(button_chat(conn, chat_id, seq, key)?.unwrap_or(created))
}

pub fn tell_user(
    conn: &Connection,
    user_id: UserId,
    event: Event,
    now: i64,
) -> OpResult<Outcome<()>> {
    let mut changes = Changes::default();
    changes.user(conn, user_id, event, now)?;
    Ok(changes.finish(()))
}

pub fn press(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    payload: String,
    now: i64,
) -> OpResult<Outcome<i64>> {
    let (chat, _) = crate::chats::membership(conn, actor.user_id, chat_id)?;
    let message = crate::messages::live_message(conn, &chat, seq)?;
    // Only bots' messages carry keyboards; the bot must still be there to hear the press.
    let bot_present: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM bots b JOIN members m ON m.user_id = b.user_id
                            WHERE b.user_id = ?1 AND m.chat_id = ?2)",
        )?
        .query_row(params![message.sender_id, chat_id], |row| row.get(0))?;
    if !keyboard::has_callback(&message.keyboard, &payload) || !bot_present {
        return Err(Rejection::no_button().into());
    }
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO bot_callbacks (bot_id, chat_id, seq, user_id, payload, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )?
        .query_row(
            params![message.sender_id, chat_id, seq, actor.user_id, payload, now],
            |row| row.get(0),
        )?;
    let event = Event::BotCallback {
        callback_id: id,
        chat_id,
        seq,
        user_id: actor.user_id,
        payload,
        at: now,
    };
    let mut changes = Changes::default();
    changes.user(conn, message.sender_id, event, now)?;
    Ok(changes.finish(id))
}

pub fn take_callback(
    conn: &Connection,
    bot_id: UserId,
    id: i64,
) -> OpResult<Option<CallbackRecord>> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM bot_callbacks WHERE id = ?1 AND bot_id = ?2
             RETURNING id, bot_id, chat_id, seq, user_id, payload, created_at",
        )?
        .query_row(params![id, bot_id], |row| {
            Ok(CallbackRecord {
                id: row.get(0)?,
                bot_id: row.get(1)?,
                chat_id: row.get(2)?,
                seq: row.get(3)?,
                user_id: row.get(4)?,
                payload: row.get(5)?,
                created_at: row.get(6)?,
            })
        })
        .optional()?)
}
