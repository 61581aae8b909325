//! Messages: sending with per-chat seq and idempotency, history, edits, deletes, reactions and
//! read markers.

use kolokol_domain::{Rejection, mls, permissions, receipts, thread, validate};
use kolokol_proto::{ChatId, Event, Message, Role, Seq, ThreadSummary, UserId};
use kolokol_store::{
    Actor, ChatRow, MessageEdit, NewMessage, Outcome, Page, StoredPoll, list_column,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::chats::membership;
use crate::e2ee;
use crate::engine::OpResult;
use crate::events::Changes;
use crate::media::{self, Shown};
use crate::rows::{self, CHAT_COLUMNS, CHAT_WIDTH};

/// Resolves `@username` mentions to the ids of users that exist.
fn resolve_mentions(conn: &Connection, text: &str) -> OpResult<Vec<UserId>> {
    let names = validate::mentioned_usernames(text);
    let mut ids: Vec<UserId> = Vec::with_capacity(names.len());
    if names.is_empty() {
        return Ok(ids);
    }
    let mut lookup = conn.prepare_cached("SELECT id FROM users WHERE username = ?1")?;
    for name in names {
        if let Some(id) = lookup.query_row([name], |row| row.get(0)).optional()? {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn existing_message(conn: &Connection, chat: &ChatRow, seq: Seq) -> OpResult<Message> {
    rows::message(conn, chat.id, seq)?.ok_or_else(|| Rejection::no_message().into())
}

pub(crate) fn live_message(conn: &Connection, chat: &ChatRow, seq: Seq) -> OpResult<Message> {
    let message = existing_message(conn, chat, seq)?;
    if message.deleted {
        return Err(Rejection::message_deleted().into());
    }
    Ok(message)
}

/// The chat, the sender's role, mute and last post: what a send checks, in one read.
fn poster(
    conn: &Connection,
    user_id: UserId,
    chat_id: ChatId,
) -> OpResult<(ChatRow, Role, Option<i64>, Option<i64>)> {
    let sql = format!(
        "SELECT {CHAT_COLUMNS}, m.role, m.muted_until, m.last_post_at
         FROM chats c JOIN members m ON m.chat_id = c.id WHERE c.id = ?1 AND m.user_id = ?2"
    );
    let found = conn
        .prepare_cached(&sql)?
        .query_row(params![chat_id, user_id], |row| {
            Ok((
                rows::chat_from_row(row)?,
                rows::parse_role(&row.get::<_, String>(CHAT_WIDTH)?),
                row.get(CHAT_WIDTH + 1)?,
                row.get(CHAT_WIDTH + 2)?,
            ))
        })
        .optional()?;
    found.ok_or_else(|| Rejection::not_member().into())
}

/// A message of the sender with this `client_msg_id` in the chat, if they sent one.
pub(crate) fn original(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    client_msg_id: &str,
) -> OpResult<Option<Message>> {
    let seq: Option<i64> = conn
        .prepare_cached(
            "SELECT seq FROM messages WHERE chat_id = ?1 AND sender_id = ?2 AND client_msg_id = ?3",
        )?
        .query_row(params![chat_id, actor.user_id, client_msg_id], |row| {
            row.get(0)
        })
        .optional()?;
    match seq {
        Some(seq) => rows::message(conn, chat_id, seq),
        None => Ok(None),
    }
}

pub fn send(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    new: NewMessage,
    now: i64,
) -> OpResult<Outcome<(Message, bool)>> {
    let (chat, role, muted_until, last_post_at) = poster(conn, actor.user_id, chat_id)?;
    if let Some(message) = original(conn, actor, chat_id, &new.client_msg_id)? {
        return Ok(Outcome::unchanged((message, false)));
    }
    permissions::post(chat.kind, role, chat.posting)?;
    permissions::post_pace(role, muted_until, last_post_at, chat.slow_mode_secs, now)?;
    mls::check_privacy(chat.privacy, new.mls.is_some())?;
    if let Some(sealed) = new.mls {
        return e2ee::send_application(conn, actor, &chat, new.client_msg_id, sealed, now);
    }
    if new.reply_to.is_some_and(|to| to < 1 || to > chat.last_seq) {
        return Err(Rejection::no_reply_target().into());
    }
    if let Some(root) = new.thread_of {
        thread::check_root(rows::message(conn, chat_id, root)?.as_ref())?;
    }
    let seq = chat.last_seq + 1;
    let mentions = resolve_mentions(conn, &new.text)?;
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO messages (chat_id, seq, sender_id, client_msg_id, text, reply_to, mentions, created_at, poll, thread_of, keyboard, markup)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
        )?
        .query_row(
            params![chat_id, seq, actor.user_id, new.client_msg_id, new.text, new.reply_to, serde_json::to_string(&mentions)?, now, new.poll.as_ref().map(serde_json::to_string).transpose()?, new.thread_of, list_column(&new.keyboard)?, list_column(&new.markup)?],
            |row| row.get(0),
        )?;
    let attachments = media::attach(
        conn,
        actor.user_id,
        chat_id,
        &new.attachments,
        Shown::Message(id),
        now,
    )?;
    if !attachments.is_empty() {
        conn.prepare_cached("UPDATE messages SET attachments = ?2 WHERE id = ?1")?
            .execute(params![id, list_column(&attachments)?])?;
    }
    let message = new.into_message(chat_id, actor.user_id, id, seq, mentions, attachments, now);
    publish_new(conn, actor, message, true, now)
}

/// A message just stored becomes the chat's newest: the chat's seq and stream move on, the sender
/// has read it (and, for slow mode, posted now), and its members hear `message.new`.
pub(crate) fn publish_new(
    conn: &Connection,
    actor: Actor,
    message: Message,
    is_post: bool,
    now: i64,
) -> OpResult<Outcome<(Message, bool)>> {
    let chat_id = message.chat_id;
    let pos: i64 = conn
        .prepare_cached(
            "UPDATE chats SET last_seq = ?2, last_activity_at = ?3, event_pos = event_pos + 1 WHERE id = ?1 RETURNING event_pos",
        )?
        .query_row(params![chat_id, message.seq, now], |row| row.get(0))?;
    conn.prepare_cached(
        "UPDATE members SET read_seq = ?3, last_post_at = CASE WHEN ?5 THEN ?4 ELSE last_post_at END
         WHERE chat_id = ?1 AND user_id = ?2",
    )?
    .execute(params![chat_id, actor.user_id, message.seq, now, is_post])?;
    let mut changes = Changes::default();
    changes.chat_at(
        conn,
        chat_id,
        pos,
        Event::MessageNew {
            message: message.clone(),
        },
        None,
        now,
    )?;
    Ok(changes.finish((message, true)))
}

pub fn history(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    page: Page,
) -> OpResult<Vec<Message>> {
    let (chat, _) = membership(conn, actor.user_id, chat_id)?;
    page_of(conn, chat_id, chat.last_seq, page)
}

pub fn review(conn: &Connection, chat_id: ChatId, page: Page) -> OpResult<Vec<Message>> {
    let last_seq: Option<Seq> = conn
        .prepare_cached("SELECT last_seq FROM chats WHERE id = ?1")?
        .query_row([chat_id], |row| row.get(0))
        .optional()?;
    match last_seq {
        Some(last_seq) => page_of(conn, chat_id, last_seq, page),
        None => Ok(Vec::new()),
    }
}

fn page_of(
    conn: &Connection,
    chat_id: ChatId,
    last_seq: Seq,
    page: Page,
) -> OpResult<Vec<Message>> {
    let limit = i64::from(page.limit.max(1));
    // Any i64 is accepted: bounds outside the chat's seqs are clamped to them.
    let low = page.after.map_or(1, |after| after.saturating_add(1)).max(1);
    let high = page
        .before
        .map_or(last_seq, |before| before.saturating_sub(1))
        .min(last_seq);
    if low > high {
        return Ok(Vec::new());
    }
    // Seqs are gap-free, so a page is a seq range; `after` pages forwards, otherwise backwards.
    let (low, high) = if page.after.is_some() {
        (low, high.min(low + limit - 1))
    } else {
        (low.max(high - limit + 1), high)
    };
    rows::messages_in_range(conn, chat_id, low, high)
}

pub fn edit(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    edit: MessageEdit,
    now: i64,
) -> OpResult<Outcome<Message>> {
    let (chat, _) = membership(conn, actor.user_id, chat_id)?;
    mls::check_clear_change(chat.privacy)?;
    let message = live_message(conn, &chat, seq)?;
    permissions::edit_message(message.sender_id == actor.user_id)?;
    if let Some(text) = edit.text {
        let mentions = serde_json::to_string(&resolve_mentions(conn, &text)?)?;
        conn.prepare_cached(
            "UPDATE messages SET text = ?3, mentions = ?4, markup = ?5 WHERE chat_id = ?1 AND seq = ?2",
        )?
        .execute(params![chat_id, seq, text, mentions, list_column(&edit.markup)?])?;
    }
    if let Some(keyboard) = edit.keyboard {
        conn.prepare_cached("UPDATE messages SET keyboard = ?3 WHERE chat_id = ?1 AND seq = ?2")?
            .execute(params![chat_id, seq, list_column(&keyboard)?])?;
    }
    conn.prepare_cached("UPDATE messages SET edited_at = ?3 WHERE chat_id = ?1 AND seq = ?2")?
        .execute(params![chat_id, seq, now])?;
    let message = existing_message(conn, &chat, seq)?;
    let mut changes = Changes::default();
    changes.chat(
        conn,
        chat_id,
        Event::MessageEdited {
            message: message.clone(),
        },
        None,
        now,
    )?;
    Ok(changes.finish(message))
}

pub fn delete(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    now: i64,
) -> OpResult<Outcome<()>> {
    let (chat, role) = membership(conn, actor.user_id, chat_id)?;
    let message = existing_message(conn, &chat, seq)?;
    permissions::delete_message(chat.kind, role, message.sender_id == actor.user_id)?;
    mls::check_deletable(&message)?;
    if message.deleted {
        return Ok(Outcome::unchanged(()));
    }
    // A tombstone: the text (or ciphertext) is gone for good, the seq stays so history has no
    // gaps; an encrypted message's digest stays, so its bytes are still refused as a replay.
    conn.prepare_cached(
        "UPDATE messages SET text = '', mentions = '[]', edited_at = NULL, deleted = 1, poll = NULL, keyboard = NULL, markup = NULL, attachments = NULL, mls_data = NULL, franking_tag = NULL WHERE chat_id = ?1 AND seq = ?2",
    )?
    .execute(params![chat_id, seq])?;
    // Its files are no longer shown here (and go once nothing shows them).
    conn.prepare_cached("DELETE FROM blob_refs WHERE message_id = ?1")?
        .execute([message.id])?;
    conn.prepare_cached("DELETE FROM reactions WHERE chat_id = ?1 AND seq = ?2")?
        .execute(params![chat_id, seq])?;
    conn.prepare_cached("DELETE FROM poll_votes WHERE chat_id = ?1 AND seq = ?2")?
        .execute(params![chat_id, seq])?;
    // A deleted message is no longer pinned; its `message.deleted` tells clients.
    conn.prepare_cached("DELETE FROM pins WHERE chat_id = ?1 AND seq = ?2")?
        .execute(params![chat_id, seq])?;
    // Nor is its text kept in reports of it: a deleted message's text is gone everywhere.
    conn.prepare_cached("UPDATE reports SET text = '' WHERE chat_id = ?1 AND seq = ?2")?
        .execute(params![chat_id, seq])?;
    let mut changes = Changes::default();
    changes.chat(
        conn,
        chat_id,
        Event::MessageDeleted { chat_id, seq },
        None,
        now,
    )?;
    Ok(changes.finish(()))
}

pub fn toggle_reaction(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    emoji: String,
    now: i64,
) -> OpResult<Outcome<bool>> {
    let (chat, _) = membership(conn, actor.user_id, chat_id)?;
    mls::check_clear_change(chat.privacy)?;
    live_message(conn, &chat, seq)?;
    let removed = conn
        .prepare_cached(
            "DELETE FROM reactions WHERE chat_id = ?1 AND seq = ?2 AND emoji = ?3 AND user_id = ?4",
        )?
        .execute(params![chat_id, seq, emoji, actor.user_id])?;
    let added = removed == 0;
    if added {
        conn.prepare_cached("INSERT INTO reactions (chat_id, seq, emoji, user_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![chat_id, seq, emoji, actor.user_id, now])?;
    }
    let mut changes = Changes::default();
    let event = Event::Reaction {
        chat_id,
        seq,
        user_id: actor.user_id,
        emoji,
        added,
    };
    changes.chat(conn, chat_id, event, None, now)?;
    Ok(changes.finish(added))
}

pub fn mark_read(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    now: i64,
) -> OpResult<Outcome<()>> {
    let (chat, _) = membership(conn, actor.user_id, chat_id)?;
    let seq = seq.min(chat.last_seq);
    let moved = conn
        .prepare_cached("UPDATE members SET read_seq = ?3 WHERE chat_id = ?1 AND user_id = ?2 AND read_seq < ?3")?
        .execute(params![chat_id, actor.user_id, seq])?;
    let mut changes = Changes::default();
    if moved > 0 {
        let event = Event::Read {
            chat_id,
            user_id: actor.user_id,
            seq,
        };
        if receipts::shared_with_chat(chat.member_count) {
            changes.chat(conn, chat_id, event, None, now)?;
        } else {
            changes.user(conn, actor.user_id, event, now)?;
        }
    }
    Ok(changes.finish(()))
}

pub fn read_markers(conn: &Connection, chat_id: ChatId) -> OpResult<Vec<(UserId, Seq)>> {
    Ok(conn
        .prepare_cached(
            "SELECT user_id, read_seq FROM members WHERE chat_id = ?1 ORDER BY user_id",
        )?
        .query_map([chat_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn read_by(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
) -> OpResult<Vec<UserId>> {
    let (chat, _) = membership(conn, actor.user_id, chat_id)?;
    receipts::read_by(chat.member_count)?;
    let message = existing_message(conn, &chat, seq)?;
    Ok(conn
        .prepare_cached("SELECT user_id FROM members WHERE chat_id = ?1 AND read_seq >= ?2 AND user_id != ?3 ORDER BY user_id")?
        .query_map(params![chat_id, seq, message.sender_id], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn vote(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    options: &[u32],
    now: i64,
) -> OpResult<()> {
    let (chat, _) = membership(conn, actor.user_id, chat_id)?;
    let message = existing_message(conn, &chat, seq)?;
    let poll = message
        .poll
        .filter(|_| !message.deleted)
        .ok_or_else(Rejection::no_poll)?;
    let options = kolokol_domain::poll::check_vote(&poll, options, now)?;
    conn.prepare_cached("DELETE FROM poll_votes WHERE chat_id = ?1 AND seq = ?2 AND user_id = ?3")?
        .execute(params![chat_id, seq, actor.user_id])?;
    for option in options {
        conn.prepare_cached(
            "INSERT INTO poll_votes (chat_id, seq, user_id, choice, voted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![chat_id, seq, actor.user_id, option, now])?;
    }
    Ok(())
}

pub fn polls(conn: &Connection, chat_id: ChatId) -> OpResult<Vec<StoredPoll>> {
    let polls = conn
        .prepare_cached(
            "SELECT seq, poll FROM messages WHERE chat_id = ?1 AND poll IS NOT NULL AND deleted = 0 ORDER BY seq",
        )?
        .query_map([chat_id], |row| Ok((row.get::<_, Seq>(0)?, row.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut votes = conn.prepare_cached(
        "SELECT user_id, choice FROM poll_votes WHERE chat_id = ?1 AND seq = ?2 ORDER BY voted_at, user_id, choice",
    )?;
    polls
        .into_iter()
        .map(|(seq, poll)| {
            let votes = votes
                .query_map(params![chat_id, seq], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(StoredPoll {
                seq,
                poll: serde_json::from_str(&poll)?,
                votes,
            })
        })
        .collect()
}

pub fn thread(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    root: Seq,
    after: Option<Seq>,
    limit: u32,
) -> OpResult<Vec<Message>> {
    membership(conn, actor.user_id, chat_id)?;
    let seqs = conn
        .prepare_cached(
            "SELECT seq FROM messages WHERE chat_id = ?1 AND thread_of = ?2 AND seq > ?3
             ORDER BY seq LIMIT ?4",
        )?
        .query_map(
            params![chat_id, root, after.unwrap_or(0), limit.max(1)],
            |row| row.get::<_, Seq>(0),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut replies = Vec::with_capacity(seqs.len());
    for seq in seqs {
        replies.extend(rows::message(conn, chat_id, seq)?);
    }
    Ok(replies)
}

pub fn threads(conn: &Connection, chat_id: ChatId) -> OpResult<Vec<ThreadSummary>> {
    Ok(conn
        .prepare_cached(
            "SELECT thread_of, count(*), max(seq), max(created_at) FROM messages
             WHERE chat_id = ?1 AND thread_of IS NOT NULL AND deleted = 0
             GROUP BY thread_of ORDER BY thread_of",
        )?
        .query_map([chat_id], |row| {
            Ok(ThreadSummary {
                root: row.get(0)?,
                replies: row.get(1)?,
                last_seq: row.get(2)?,
                last_at: row.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}
