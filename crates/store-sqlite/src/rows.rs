//! Reading rows into wire types, shared by every operation.

use kolokol_proto::{
    ChatId, ChatKind, Message, Posting, Profile, Reaction, Role, Seq, User, UserId,
};
use kolokol_store::ChatRow;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::OpResult;

pub fn kind_str(kind: ChatKind) -> &'static str {
    match kind {
        ChatKind::Direct => "direct",
        ChatKind::Group => "group",
        ChatKind::Channel => "channel",
    }
}

pub fn chat_kind(conn: &Connection, chat_id: ChatId) -> OpResult<Option<ChatKind>> {
    let kind: Option<String> = conn
        .prepare_cached("SELECT kind FROM chats WHERE id = ?1")?
        .query_row([chat_id], |row| row.get(0))
        .optional()?;
    Ok(kind.as_deref().map(parse_kind))
}

fn parse_kind(text: &str) -> ChatKind {
    match text {
        "direct" => ChatKind::Direct,
        "group" => ChatKind::Group,
        _ => ChatKind::Channel,
    }
}

pub fn parse_role(text: &str) -> Role {
    match text {
        "owner" => Role::Owner,
        "admin" => Role::Admin,
        _ => Role::Member,
    }
}

/// A user as others see them: the username only if they chose to show it.
pub const USER_COLUMNS: &str =
    "id, CASE WHEN show_username THEN username END, display_name, about, is_bot";

/// A user as they see themselves (their username always), then their privacy choices.
pub const OWN_USER_COLUMNS: &str = "id, username, display_name, about, is_bot, show_username";

pub fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        display_name: row.get(2)?,
        about: row.get(3)?,
        is_bot: row.get(4)?,
    })
}

pub fn profile_from_row(row: &Row<'_>) -> rusqlite::Result<Profile> {
    Ok(Profile {
        user: user_from_row(row)?,
        show_username: row.get(5)?,
    })
}

pub fn profile_by_id(conn: &Connection, id: UserId) -> OpResult<Option<Profile>> {
    let sql = format!("SELECT {OWN_USER_COLUMNS} FROM users WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], profile_from_row)
        .optional()?)
}

pub fn user_by_id(conn: &Connection, id: UserId) -> OpResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], user_from_row)
        .optional()?)
}

pub const CHAT_COLUMNS: &str = "c.id, c.kind, c.title, c.member_count, c.last_seq, c.created_at, \
                                c.last_activity_at, c.posting, c.slow_mode_secs, c.privacy";
/// How many columns [`CHAT_COLUMNS`] names: what a query selects after them starts here.
pub const CHAT_WIDTH: usize = 10;

pub fn chat_from_row(row: &Row<'_>) -> rusqlite::Result<ChatRow> {
    let posting: String = row.get(7)?;
    Ok(ChatRow {
        id: row.get(0)?,
        kind: parse_kind(&row.get::<_, String>(1)?),
        title: row.get(2)?,
        member_count: row.get(3)?,
        last_seq: row.get(4)?,
        created_at: row.get(5)?,
        last_activity_at: row.get(6)?,
        posting: Posting::parse(&posting).ok_or_else(|| {
            let error = format!("posting {posting}");
            rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, error.into())
        })?,
        slow_mode_secs: row.get(8)?,
        privacy: kolokol_store::e2ee::parse_privacy(&row.get::<_, String>(9)?),
    })
}

const MESSAGE_COLUMNS: &str = "id, chat_id, seq, sender_id, client_msg_id, text, reply_to, mentions, created_at, edited_at, deleted, poll, thread_of, keyboard, markup, attachments, mls_kind, mls_epoch, mls_data";

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let mentions: String = row.get(7)?;
    Ok(Message {
        id: row.get(0)?,
        chat_id: row.get(1)?,
        seq: row.get(2)?,
        sender_id: row.get(3)?,
        client_msg_id: row.get(4)?,
        text: row.get(5)?,
        reply_to: row.get(6)?,
        mentions: serde_json::from_str(&mentions).unwrap_or_default(),
        reactions: Vec::new(),
        created_at: row.get(8)?,
        edited_at: row.get(9)?,
        deleted: row.get(10)?,
        poll: json_column(row, 11)?,
        thread_of: row.get(12)?,
        keyboard: json_column(row, 13)?.unwrap_or_default(),
        markup: json_column(row, 14)?.unwrap_or_default(),
        attachments: json_column(row, 15)?.unwrap_or_default(),
        mls: kolokol_store::e2ee::mls_payload(
            row.get::<_, Option<String>>(16)?.as_deref(),
            row.get(17)?,
            row.get(18)?,
        ),
    })
}

/// A value stored as JSON in column `index`, if any (a poll, a keyboard).
pub fn json_column<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<T>> {
    row.get::<_, Option<String>>(index)?
        .map(|poll| serde_json::from_str(&poll))
        .transpose()
        .map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                rusqlite::types::Type::Text,
                error.into(),
            )
        })
}

/// Messages of a chat with `low <= seq <= high`, ascending, with their reactions.
pub fn messages_in_range(
    conn: &Connection,
    chat_id: ChatId,
    low: Seq,
    high: Seq,
) -> OpResult<Vec<Message>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE chat_id = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq"
    );
    let mut messages = conn
        .prepare_cached(&sql)?
        .query_map(params![chat_id, low, high], message_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_reactions(conn, chat_id, low, high, &mut messages)?;
    Ok(messages)
}

pub fn message(conn: &Connection, chat_id: ChatId, seq: Seq) -> OpResult<Option<Message>> {
    Ok(messages_in_range(conn, chat_id, seq, seq)?.pop())
}

fn attach_reactions(
    conn: &Connection,
    chat_id: ChatId,
    low: Seq,
    high: Seq,
    messages: &mut [Message],
) -> OpResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let mut statement = conn.prepare_cached(
        "SELECT seq, emoji, user_id FROM reactions WHERE chat_id = ?1 AND seq BETWEEN ?2 AND ?3
         ORDER BY seq, emoji, created_at",
    )?;
    let rows = statement.query_map(params![chat_id, low, high], |row| {
        Ok((
            row.get::<_, Seq>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, UserId>(2)?,
        ))
    })?;
    for row in rows {
        let (seq, emoji, user_id) = row?;
        let Ok(index) = messages.binary_search_by_key(&seq, |m| m.seq) else {
            continue;
        };
        let reactions = &mut messages[index].reactions;
        match reactions.iter_mut().find(|r| r.emoji == emoji) {
            Some(reaction) => reaction.user_ids.push(user_id),
            None => reactions.push(Reaction {
                emoji,
                user_ids: vec![user_id],
            }),
        }
    }
    Ok(())
}
