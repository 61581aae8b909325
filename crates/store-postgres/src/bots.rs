//! Bot accounts, their long polling markers, events on users' own streams, and presses of
//! bots' buttons.

use kolokol_domain::{Rejection, keyboard};
use kolokol_proto::{ChatId, Event, Seq, UserId};
use kolokol_store::{Actor, BotChanges, BotRecord, CallbackRecord, NewSession, NewUser, Outcome};
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
                u.is_bot, b.owner_id, b.description, b.commands, b.created_at, b.web_app_url
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
        web_app_url: row.try_get(9)?,
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

pub async fn web_app_key(conn: &mut PgConnection, bot_id: UserId) -> OpResult<Option<[u8; 32]>> {
    let key: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("SELECT web_app_key FROM bots WHERE user_id = $1")
            .bind(bot_id)
            .fetch_optional(conn)
            .await?;
    Ok(key.flatten().and_then(|key| key.try_into().ok()))
}

pub async fn update(
    conn: &mut PgConnection,
    bot_id: UserId,
    changes: BotChanges,
) -> OpResult<BotRecord> {
    sqlx::query(
        "UPDATE bots SET description = coalesce($2, description), commands = coalesce($3, commands),
             web_app_url = CASE WHEN $4 THEN $5 ELSE web_app_url END,
             web_app_key = coalesce($6, web_app_key)
         WHERE user_id = $1",
    )
    .bind(bot_id)
    .bind(changes.description)
    .bind(changes.commands)
    .bind(changes.web_app_url.is_some())
    .bind(changes.web_app_url.flatten())
    .bind(changes.web_app_key.map(Vec::from))
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

pub async fn button_chat(
    conn: &mut PgConnection,
    chat_id: ChatId,
    seq: Seq,
    key: String,
) -> OpResult<Option<ChatId>> {
    Ok(sqlx::query_scalar(
        "SELECT created_chat_id FROM button_chats
         WHERE chat_id = $1 AND seq = $2 AND button_key = $3",
    )
    .bind(chat_id)
    .bind(seq)
    .bind(key)
    .fetch_optional(conn)
    .await?)
}

/// One statement: the row that is there after the insert, ours or another press's.
pub async fn link_button_chat(
    conn: &mut PgConnection,
    chat_id: ChatId,
    seq: Seq,
    key: String,
    created: ChatId,
) -> OpResult<ChatId> {
    Ok(sqlx::query_scalar(
        "INSERT INTO button_chats (chat_id, seq, button_key, created_chat_id)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (chat_id, seq, button_key)
             DO UPDATE SET created_chat_id = button_chats.created_chat_id
         RETURNING created_chat_id",
    )
    .bind(chat_id)
    .bind(seq)
    .bind(key)
    .bind(created)
    .fetch_one(conn)
    .await?)
}

pub async fn tell_user(
    conn: &mut PgConnection,
    user_id: UserId,
    event: Event,
    now: i64,
) -> OpResult<Outcome<()>> {
    let mut changes = Changes::on_users();
    changes.user(user_id, event);
    changes.commit(conn, now, ()).await
}

pub async fn press(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    payload: String,
    now: i64,
) -> OpResult<Outcome<i64>> {
    crate::chats::membership(&mut *conn, actor.user_id, chat_id).await?;
    let message = crate::messages::live(&mut *conn, chat_id, seq).await?;
    // Only bots' messages carry keyboards; the bot must still be there to hear the press.
    let bot_present: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM bots b JOIN members m ON m.user_id = b.user_id
                        WHERE b.user_id = $1 AND m.chat_id = $2)",
    )
    .bind(message.sender_id)
    .bind(chat_id)
    .fetch_one(&mut *conn)
    .await?;
    if !keyboard::has_callback(&message.keyboard, &payload) || !bot_present {
        return Err(Rejection::no_button().into());
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO bot_callbacks (bot_id, chat_id, seq, user_id, payload, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(message.sender_id)
    .bind(chat_id)
    .bind(seq)
    .bind(actor.user_id)
    .bind(&payload)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let event = Event::BotCallback {
        callback_id: id,
        chat_id,
        seq,
        user_id: actor.user_id,
        payload,
        at: now,
    };
    let mut changes = Changes::on_users();
    changes.user(message.sender_id, event);
    changes.commit(conn, now, id).await
}

pub async fn take_callback(
    conn: &mut PgConnection,
    bot_id: UserId,
    id: i64,
) -> OpResult<Option<CallbackRecord>> {
    let row = sqlx::query(
        "DELETE FROM bot_callbacks WHERE id = $1 AND bot_id = $2
         RETURNING id, bot_id, chat_id, seq, user_id, payload, created_at",
    )
    .bind(id)
    .bind(bot_id)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(CallbackRecord {
            id: row.try_get(0)?,
            bot_id: row.try_get(1)?,
            chat_id: row.try_get(2)?,
            seq: row.try_get(3)?,
            user_id: row.try_get(4)?,
            payload: row.try_get(5)?,
            created_at: row.try_get(6)?,
        })
    })
    .transpose()
}
