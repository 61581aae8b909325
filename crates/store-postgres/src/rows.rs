//! Reading rows into wire types, shared by every operation.
//!
//! Chat kinds and roles are stored as the same words the wire format uses, so they are converted
//! with `kolokol_proto`'s own serde names rather than a second table of strings.

use kolokol_proto::{ChatId, Message, Profile, Reaction, Seq, User, UserId};
use kolokol_store::ChatRow;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::engine::{OpError, OpResult};

/// The wire name of a unit enum (`ChatKind::Direct` is "direct", `Role::Owner` is "owner").
pub fn label<T: Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        other => unreachable!("a unit enum serializes to a string, not {other:?}"),
    }
}

/// The enum named by a stored wire name.
pub fn parse<T: DeserializeOwned>(name: String) -> OpResult<T> {
    Ok(serde_json::from_value(serde_json::Value::String(name))?)
}

/// Columns `id, username, display_name, about` from `at` on.
/// The columns of a user as others see them (the username only if they chose to show it), for
/// [`user`].
macro_rules! user_columns {
    () => {
        "id, CASE WHEN show_username THEN username END, display_name, about, is_bot"
    };
}
pub(crate) use user_columns;

/// The columns of a user as they see themselves, for [`profile`].
macro_rules! own_user_columns {
    () => {
        "id, username, display_name, about, is_bot, show_username"
    };
}
pub(crate) use own_user_columns;

pub fn profile(row: &PgRow) -> OpResult<Profile> {
    Ok(Profile {
        user: user(row, 0)?,
        show_username: row.try_get(5)?,
    })
}

pub fn user(row: &PgRow, at: usize) -> OpResult<User> {
    Ok(User {
        id: row.try_get(at)?,
        username: row.try_get(at + 1)?,
        display_name: row.try_get(at + 2)?,
        about: row.try_get(at + 3)?,
        is_bot: row.try_get(at + 4)?,
    })
}

/// Like [`user`], `None` when the columns come from an outer join that found nobody.
pub fn maybe_user(row: &PgRow, at: usize) -> OpResult<Option<User>> {
    match row.try_get::<Option<UserId>, _>(at)? {
        Some(_) => user(row, at).map(Some),
        None => Ok(None),
    }
}

/// The columns [`chat`] reads, for a `chats` table aliased `c`.
macro_rules! chat_columns {
    () => {
        "c.id, c.kind, c.title, c.member_count, c.last_seq, c.created_at, c.last_activity_at, \
         c.posting, c.slow_mode_secs, c.privacy"
    };
}
pub(crate) use chat_columns;

/// How many columns [`chat_columns`] names.
pub const CHAT_WIDTH: usize = 10;

pub fn chat(row: &PgRow, at: usize) -> OpResult<ChatRow> {
    Ok(ChatRow {
        id: row.try_get(at)?,
        kind: parse(row.try_get(at + 1)?)?,
        title: row.try_get(at + 2)?,
        member_count: row.try_get(at + 3)?,
        last_seq: row.try_get(at + 4)?,
        created_at: row.try_get(at + 5)?,
        last_activity_at: row.try_get(at + 6)?,
        posting: parse(row.try_get(at + 7)?)?,
        slow_mode_secs: u32::try_from(row.try_get::<i64, _>(at + 8)?).unwrap_or(0),
        privacy: kolokol_store::e2ee::parse_privacy(row.try_get(at + 9)?),
    })
}

/// The columns [`message`] reads, for a `messages` row aliased `x`: the message and its
/// reactions, grouped by emoji (in byte order of the emoji, givers in the order they reacted)
/// as a JSON array of `[emoji, [user ids]]` pairs, NULL when there are none.
macro_rules! message_columns {
    () => {
        "x.id, x.chat_id, x.seq, x.sender_id, x.client_msg_id, x.text, x.reply_to, x.mentions, \
         x.created_at, x.edited_at, x.deleted, \
         (SELECT json_agg(json_build_array(g.emoji, g.user_ids) ORDER BY g.emoji COLLATE \"C\")::text \
            FROM (SELECT r.emoji, json_agg(r.user_id ORDER BY r.created_at, r.user_id) AS user_ids \
                    FROM reactions r WHERE r.chat_id = x.chat_id AND r.seq = x.seq \
                    GROUP BY r.emoji) g), \
         x.poll, x.thread_of, x.keyboard, x.markup, x.attachments, x.mls_kind, x.mls_epoch, x.mls_data"
    };
}
pub(crate) use message_columns;

/// The message whose [`message_columns`] start at `at`; `None` when an outer join found none.
pub fn message(row: &PgRow, at: usize) -> OpResult<Option<Message>> {
    let Some(id) = row.try_get::<Option<i64>, _>(at)? else {
        return Ok(None);
    };
    let reactions: Option<String> = row.try_get(at + 11)?;
    let reactions = match reactions {
        Some(json) => serde_json::from_str::<Vec<(String, Vec<UserId>)>>(&json)?
            .into_iter()
            .map(|(emoji, user_ids)| Reaction { emoji, user_ids })
            .collect(),
        None => Vec::new(),
    };
    Ok(Some(Message {
        id,
        chat_id: row.try_get(at + 1)?,
        seq: row.try_get(at + 2)?,
        sender_id: row.try_get(at + 3)?,
        client_msg_id: row.try_get(at + 4)?,
        text: row.try_get(at + 5)?,
        reply_to: row.try_get(at + 6)?,
        mentions: row.try_get(at + 7)?,
        reactions,
        created_at: row.try_get(at + 8)?,
        edited_at: row.try_get(at + 9)?,
        deleted: row.try_get(at + 10)?,
        poll: json_column(row, at + 12)?,
        thread_of: row.try_get(at + 13)?,
        keyboard: json_column(row, at + 14)?.unwrap_or_default(),
        markup: json_column(row, at + 15)?.unwrap_or_default(),
        attachments: json_column(row, at + 16)?.unwrap_or_default(),
        mls: kolokol_store::e2ee::mls_payload(
            row.try_get(at + 17)?,
            row.try_get(at + 18)?,
            row.try_get(at + 19)?,
        ),
    }))
}

/// A value stored as JSON in column `index`, if any (a poll, a keyboard).
pub fn json_column<T: serde::de::DeserializeOwned>(
    row: &PgRow,
    index: usize,
) -> OpResult<Option<T>> {
    Ok(row
        .try_get::<Option<&str>, _>(index)?
        .map(serde_json::from_str)
        .transpose()?)
}

/// One message of a chat as it is now, with its reactions.
pub async fn fetch_message(
    conn: &mut PgConnection,
    chat_id: ChatId,
    seq: Seq,
) -> OpResult<Option<Message>> {
    let sql = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages x WHERE x.chat_id = $1 AND x.seq = $2"
    );
    let row = sqlx::query(sql)
        .bind(chat_id)
        .bind(seq)
        .fetch_optional(conn)
        .await?;
    match row {
        Some(row) => message(&row, 0),
        None => Ok(None),
    }
}

/// A stored count that must fit the wire type (invite limits).
pub fn small(value: i64) -> OpResult<u32> {
    u32::try_from(value)
        .map_err(|_| OpError::Internal(format!("stored count out of range: {value}")))
}
