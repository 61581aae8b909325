//! Do-not-disturb, messages held back by quiet hours, and reminders.

use kolokol_domain::Rejection;
use kolokol_proto::{ChatId, ErrorCode, Event, HeldMessage, HoldReason, Seq, UserId};
use kolokol_store::{NewHeldMessage, Outcome};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::{OpError, OpResult};
use crate::events::Changes;

pub fn set_do_not_disturb(conn: &Connection, user_id: UserId, until: Option<i64>) -> OpResult<()> {
    match until {
        Some(until) => conn
            .prepare_cached(
                "INSERT INTO do_not_disturb (user_id, until) VALUES (?1, ?2)
                 ON CONFLICT (user_id) DO UPDATE SET until = excluded.until",
            )?
            .execute([user_id, until])?,
        None => conn
            .prepare_cached("DELETE FROM do_not_disturb WHERE user_id = ?1")?
            .execute([user_id])?,
    };
    Ok(())
}

pub fn do_not_disturb(conn: &Connection, user_id: UserId, now: i64) -> OpResult<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT until FROM do_not_disturb WHERE user_id = ?1 AND until > ?2")?
        .query_row([user_id, now], |row| row.get(0))
        .optional()?)
}

pub fn do_not_disturb_all(conn: &Connection, now: i64) -> OpResult<Vec<(UserId, i64)>> {
    Ok(conn
        .prepare_cached("SELECT user_id, until FROM do_not_disturb WHERE until > ?1")?
        .query_map([now], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

const HELD_COLUMNS: &str = "id, chat_id, sender_id, client_msg_id, text, reply_to, request_ack, \
                            reason, release_at, created_at, poll, thread_of, keyboard, markup, attachments";

fn held_row(row: &Row) -> rusqlite::Result<HeldMessage> {
    let reason: String = row.get(7)?;
    let reason = HoldReason::parse(&reason).ok_or_else(|| {
        let error = format!("hold reason {reason}");
        rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, error.into())
    })?;
    Ok(HeldMessage {
        id: row.get(0)?,
        chat_id: row.get(1)?,
        sender_id: row.get(2)?,
        client_msg_id: row.get(3)?,
        text: row.get(4)?,
        reply_to: row.get(5)?,
        request_ack: row.get(6)?,
        reason,
        release_at: row.get(8)?,
        created_at: row.get(9)?,
        poll: crate::rows::json_column(row, 10)?,
        thread_of: row.get(11)?,
        keyboard: crate::rows::json_column(row, 12)?.unwrap_or_default(),
        markup: crate::rows::json_column(row, 13)?.unwrap_or_default(),
        attachments: crate::rows::json_column(row, 14)?.unwrap_or_default(),
    })
}

fn held_messages_where(
    conn: &Connection,
    condition: &str,
    values: impl rusqlite::Params,
) -> OpResult<Vec<HeldMessage>> {
    let sql = format!("SELECT {HELD_COLUMNS} FROM held_messages WHERE {condition}");
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(values, held_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn hold_message(conn: &Connection, held: NewHeldMessage, now: i64) -> OpResult<HeldMessage> {
    crate::chats::membership(conn, held.sender_id, held.chat_id)?;
    let inserted = conn.prepare_cached(
        "INSERT INTO held_messages (chat_id, sender_id, client_msg_id, text, reply_to, request_ack,
                                    reason, release_at, created_at, poll, thread_of, keyboard, markup)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (chat_id, sender_id, client_msg_id) DO NOTHING",
    )?
    .execute(params![
        held.chat_id,
        held.sender_id,
        held.client_msg_id,
        held.text,
        held.reply_to,
        held.request_ack,
        held.reason.as_str(),
        held.release_at,
        now,
        held.poll.as_ref().map(serde_json::to_string).transpose()?,
        held.thread_of,
        kolokol_store::list_column(&held.keyboard)?,
        kolokol_store::list_column(&held.markup)?
    ])?;
    if inserted == 1 && !held.attachments.is_empty() {
        let id = conn.last_insert_rowid();
        let shown = crate::media::Shown::Held(id);
        let attachments = crate::media::attach(
            conn,
            held.sender_id,
            held.chat_id,
            &held.attachments,
            shown,
            now,
        )?;
        conn.prepare_cached("UPDATE held_messages SET attachments = ?2 WHERE id = ?1")?
            .execute(params![id, kolokol_store::list_column(&attachments)?])?;
    }
    held_messages_where(
        conn,
        "chat_id = ?1 AND sender_id = ?2 AND client_msg_id = ?3",
        params![held.chat_id, held.sender_id, held.client_msg_id],
    )?
    .pop()
    .ok_or_else(|| OpError::Internal("held message vanished".into()))
}

pub fn held_messages(
    conn: &Connection,
    sender_id: UserId,
    chat_id: ChatId,
) -> OpResult<Vec<HeldMessage>> {
    held_messages_where(
        conn,
        "sender_id = ?1 AND chat_id = ?2 ORDER BY id",
        [sender_id, chat_id],
    )
}

pub fn cancel_held(conn: &Connection, sender_id: UserId, chat_id: ChatId, id: i64) -> OpResult<()> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM held_messages WHERE id = ?1 AND sender_id = ?2 AND chat_id = ?3",
        )?
        .execute([id, sender_id, chat_id])?;
    if deleted == 0 {
        return Err(Rejection::new(ErrorCode::NotFound, "no such held message").into());
    }
    Ok(())
}

pub fn due_held(conn: &Connection, now: i64, limit: u32) -> OpResult<Vec<HeldMessage>> {
    held_messages_where(
        conn,
        "release_at <= ?1 ORDER BY release_at, id LIMIT ?2",
        params![now, limit],
    )
}

pub fn forget_held(conn: &Connection, id: i64) -> OpResult<()> {
    conn.prepare_cached("DELETE FROM held_messages WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

pub fn remind(
    conn: &Connection,
    chat_id: ChatId,
    seq: Seq,
    user_ids: &[UserId],
    not_since: i64,
    now: i64,
) -> OpResult<Outcome<()>> {
    if reminded_at(conn, chat_id, seq)?.is_some_and(|at| at > not_since) {
        return Err(Rejection::reminded_recently().into());
    }
    conn.prepare_cached(
        "INSERT INTO reminders (chat_id, seq, reminded_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (chat_id, seq) DO UPDATE SET reminded_at = excluded.reminded_at",
    )?
    .execute([chat_id, seq, now])?;
    let mut changes = Changes::default();
    for &user_id in user_ids {
        changes.user(conn, user_id, Event::Reminder { chat_id, seq }, now)?;
    }
    Ok(changes.finish(()))
}

pub fn reminded_at(conn: &Connection, chat_id: ChatId, seq: Seq) -> OpResult<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT reminded_at FROM reminders WHERE chat_id = ?1 AND seq = ?2")?
        .query_row([chat_id, seq], |row| row.get(0))
        .optional()?)
}
