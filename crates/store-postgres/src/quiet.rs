//! Do-not-disturb, messages held back by quiet hours, and reminders.

use kolokol_domain::Rejection;
use kolokol_proto::{ChatId, ErrorCode, Event, HeldMessage, HoldReason, Seq, UserId};
use kolokol_store::{NewHeldMessage, Outcome};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::engine::{OpError, OpResult};
use crate::events::Changes;

pub async fn set_do_not_disturb(
    conn: &mut PgConnection,
    user_id: UserId,
    until: Option<i64>,
) -> OpResult<()> {
    match until {
        Some(until) => {
            sqlx::query(
                "INSERT INTO do_not_disturb (user_id, until) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET until = excluded.until",
            )
            .bind(user_id)
            .bind(until)
            .execute(conn)
            .await?
        }
        None => {
            sqlx::query("DELETE FROM do_not_disturb WHERE user_id = $1")
                .bind(user_id)
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

pub async fn do_not_disturb(
    conn: &mut PgConnection,
    user_id: UserId,
    now: i64,
) -> OpResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT until FROM do_not_disturb WHERE user_id = $1 AND until > $2")
            .bind(user_id)
            .bind(now)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn do_not_disturb_all(conn: &mut PgConnection, now: i64) -> OpResult<Vec<(UserId, i64)>> {
    Ok(
        sqlx::query_as("SELECT user_id, until FROM do_not_disturb WHERE until > $1")
            .bind(now)
            .fetch_all(conn)
            .await?,
    )
}

macro_rules! held_columns {
    () => {
        "id, chat_id, sender_id, client_msg_id, text, reply_to, request_ack, reason, release_at, \
         created_at, poll, thread_of, keyboard, markup, attachments"
    };
}

fn held_row(row: &PgRow) -> OpResult<HeldMessage> {
    let reason: String = row.try_get(7)?;
    Ok(HeldMessage {
        id: row.try_get(0)?,
        chat_id: row.try_get(1)?,
        sender_id: row.try_get(2)?,
        client_msg_id: row.try_get(3)?,
        text: row.try_get(4)?,
        reply_to: row.try_get(5)?,
        request_ack: row.try_get(6)?,
        reason: HoldReason::parse(&reason)
            .ok_or_else(|| OpError::Internal(format!("hold reason {reason}")))?,
        release_at: row.try_get(8)?,
        created_at: row.try_get(9)?,
        poll: crate::rows::json_column(row, 10)?,
        thread_of: row.try_get(11)?,
        keyboard: crate::rows::json_column(row, 12)?.unwrap_or_default(),
        markup: crate::rows::json_column(row, 13)?.unwrap_or_default(),
        attachments: crate::rows::json_column(row, 14)?.unwrap_or_default(),
    })
}

pub async fn hold_message(
    conn: &mut PgConnection,
    held: NewHeldMessage,
    now: i64,
) -> OpResult<HeldMessage> {
    crate::chats::membership(&mut *conn, held.sender_id, held.chat_id).await?;
    let inserted = sqlx::query(
        "INSERT INTO held_messages (chat_id, sender_id, client_msg_id, text, reply_to, request_ack,
                                    reason, release_at, created_at, poll, thread_of, keyboard, markup)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (chat_id, sender_id, client_msg_id) DO NOTHING RETURNING id",
    )
    .bind(held.chat_id)
    .bind(held.sender_id)
    .bind(&held.client_msg_id)
    .bind(&held.text)
    .bind(held.reply_to)
    .bind(held.request_ack)
    .bind(held.reason.as_str())
    .bind(held.release_at)
    .bind(now)
    .bind(held.poll.as_ref().map(serde_json::to_string).transpose()?)
    .bind(held.thread_of)
    .bind(kolokol_store::list_column(&held.keyboard)?)
    .bind(kolokol_store::list_column(&held.markup)?)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(inserted) = inserted.filter(|_| !held.attachments.is_empty()) {
        let id: i64 = inserted.try_get(0)?;
        let shown = crate::media::Shown::Held(id);
        let attachments = crate::media::attach(
            &mut *conn,
            held.sender_id,
            held.chat_id,
            &held.attachments,
            shown,
            now,
        )
        .await?;
        sqlx::query("UPDATE held_messages SET attachments = $2 WHERE id = $1")
            .bind(id)
            .bind(kolokol_store::list_column(&attachments)?)
            .execute(&mut *conn)
            .await?;
    }
    let row = sqlx::query(concat!(
        "SELECT ",
        held_columns!(),
        " FROM held_messages WHERE chat_id = $1 AND sender_id = $2 AND client_msg_id = $3"
    ))
    .bind(held.chat_id)
    .bind(held.sender_id)
    .bind(&held.client_msg_id)
    .fetch_one(conn)
    .await?;
    held_row(&row)
}

pub async fn held_messages(
    conn: &mut PgConnection,
    sender_id: UserId,
    chat_id: ChatId,
) -> OpResult<Vec<HeldMessage>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        held_columns!(),
        " FROM held_messages WHERE sender_id = $1 AND chat_id = $2 ORDER BY id"
    ))
    .bind(sender_id)
    .bind(chat_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(held_row).collect()
}

pub async fn cancel_held(
    conn: &mut PgConnection,
    sender_id: UserId,
    chat_id: ChatId,
    id: i64,
) -> OpResult<()> {
    let deleted =
        sqlx::query("DELETE FROM held_messages WHERE id = $1 AND sender_id = $2 AND chat_id = $3")
            .bind(id)
            .bind(sender_id)
            .bind(chat_id)
            .execute(conn)
            .await?;
    if deleted.rows_affected() == 0 {
        return Err(Rejection::new(ErrorCode::NotFound, "no such held message").into());
    }
    Ok(())
}

pub async fn due_held(conn: &mut PgConnection, now: i64, limit: u32) -> OpResult<Vec<HeldMessage>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        held_columns!(),
        " FROM held_messages WHERE release_at <= $1 ORDER BY release_at, id LIMIT $2"
    ))
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(held_row).collect()
}

pub async fn forget_held(conn: &mut PgConnection, id: i64) -> OpResult<()> {
    sqlx::query("DELETE FROM held_messages WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn remind(
    conn: &mut PgConnection,
    chat_id: ChatId,
    seq: Seq,
    user_ids: Vec<UserId>,
    not_since: i64,
    now: i64,
) -> OpResult<Outcome<()>> {
    // Only the writer that moves `reminded_at` forward past `not_since` sends: two admins
    // pressing at once remind once.
    let claimed = sqlx::query(
        "INSERT INTO reminders (chat_id, seq, reminded_at) VALUES ($1, $2, $3)
         ON CONFLICT (chat_id, seq) DO UPDATE SET reminded_at = excluded.reminded_at
         WHERE reminders.reminded_at <= $4",
    )
    .bind(chat_id)
    .bind(seq)
    .bind(now)
    .bind(not_since)
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() == 0 {
        return Err(Rejection::reminded_recently().into());
    }
    let mut changes = Changes::on_users();
    for user_id in user_ids {
        changes.user(user_id, Event::Reminder { chat_id, seq });
    }
    changes.commit(conn, now, ()).await
}

pub async fn reminded_at(
    conn: &mut PgConnection,
    chat_id: ChatId,
    seq: Seq,
) -> OpResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT reminded_at FROM reminders WHERE chat_id = $1 AND seq = $2")
            .bind(chat_id)
            .bind(seq)
            .fetch_optional(conn)
            .await?,
    )
}
