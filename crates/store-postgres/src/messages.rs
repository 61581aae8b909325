//! Messages: sending with per-chat seq and idempotency, history, edits, deletes, reactions and
//! read markers.

use kolokol_domain::{Rejection, Route, mls, permissions, receipts, thread, validate};
use kolokol_proto::{ChatId, ChatKind, Event, Message, Posting, Role, Seq, ThreadSummary, UserId};
use kolokol_store::{
    Actor, MessageEdit, NewMessage, Outcome, Page, Published, StoredPoll, list_column,
};
use sqlx::{PgConnection, Row};

use crate::chats::{Locked, lock};
use crate::engine::{OpError, OpResult};
use crate::media::{self, Shown};
use crate::rows::{self, label, message_columns, parse};

/// The `kind:role:posting` triples `kolokol_domain::permissions::post` allows, for
/// `kolokol_send`: the rule is evaluated here, once, rather than written again in SQL.
pub fn posting_triples() -> Vec<String> {
    let kinds = [ChatKind::Direct, ChatKind::Group, ChatKind::Channel];
    let roles = [Role::Owner, Role::Admin, Role::Member];
    let mut triples = Vec::new();
    for kind in kinds {
        for role in roles {
            for posting in Posting::ALL {
                if permissions::post(kind, role, posting).is_ok() {
                    triples.push(format!(
                        "{}:{}:{}",
                        label(kind),
                        label(role),
                        posting.as_str()
                    ));
                }
            }
        }
    }
    triples
}

/// The roles mutes and slow mode hold (`kolokol_domain::permissions::is_limited`).
pub fn limited_roles() -> Vec<String> {
    [Role::Owner, Role::Admin, Role::Member]
        .into_iter()
        .filter(|&role| permissions::is_limited(role))
        .map(|role| label(role).to_owned())
        .collect()
}

async fn existing(conn: &mut PgConnection, chat_id: ChatId, seq: Seq) -> OpResult<Message> {
    let message = rows::fetch_message(conn, chat_id, seq).await?;
    message.ok_or_else(|| Rejection::no_message().into())
}

pub(crate) async fn live(conn: &mut PgConnection, chat_id: ChatId, seq: Seq) -> OpResult<Message> {
    let message = existing(conn, chat_id, seq).await?;
    if message.deleted {
        return Err(Rejection::message_deleted().into());
    }
    Ok(message)
}

/// The posting rules as `kolokol_send` takes them, worked out once per process.
pub struct PostingRules {
    pub may_post: Vec<String>,
    pub limited: Vec<String>,
}

/// One statement (`kolokol_send`, see the migrations), committed on its own.
pub async fn send(
    conn: &mut PgConnection,
    rules: &PostingRules,
    actor: Actor,
    chat_id: ChatId,
    new: NewMessage,
    now: i64,
) -> OpResult<Outcome<(Message, bool)>> {
    if let Some(sealed) = new.mls {
        return crate::e2ee::send_application(conn, actor, chat_id, new.client_msg_id, sealed, now)
            .await;
    }
    // Checked in the same transaction as the send (the store sends thread replies in one), and
    // only for members: an outsider learns nothing of the chat's messages.
    if let Some(root) = new.thread_of {
        crate::chats::membership(&mut *conn, actor.user_id, chat_id).await?;
        let root = rows::fetch_message(&mut *conn, chat_id, root).await?;
        thread::check_root(root.as_ref())?;
    }
    let row = sqlx::query(
        "SELECT o_outcome, o_kind, o_role, o_id, o_seq, o_pos, o_mentions, o_posting,
                o_slow_mode_secs, o_muted_until, o_last_post_at
         FROM kolokol_send($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(chat_id)
    .bind(actor.user_id)
    .bind(&new.client_msg_id)
    .bind(&new.text)
    .bind(new.reply_to)
    .bind(validate::mentioned_usernames(&new.text))
    .bind(&rules.may_post)
    .bind(&rules.limited)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let outcome: String = row.try_get(0)?;
    match outcome.as_str() {
        "created" => {}
        "repeated" => {
            let original = existing(conn, chat_id, row.try_get(4)?).await?;
            return Ok(Outcome::unchanged((original, false)));
        }
        "not_member" => return Err(Rejection::not_member().into()),
        "refused" => {
            let kind: ChatKind = parse(row.try_get(1)?)?;
            let role: Role = parse(row.try_get(2)?)?;
            let posting: Posting = parse(row.try_get(7)?)?;
            permissions::post(kind, role, posting)?;
            return Err(OpError::Internal(
                "kolokol_send refused a post the rule allows".into(),
            ));
        }
        "paced" => {
            let role: Role = parse(row.try_get(2)?)?;
            let slow_mode_secs = u32::try_from(row.try_get::<i64, _>(8)?).unwrap_or(u32::MAX);
            permissions::post_pace(role, row.try_get(9)?, row.try_get(10)?, slow_mode_secs, now)?;
            return Err(OpError::Internal(
                "kolokol_send held back a post the rule allows".into(),
            ));
        }
        "encrypted" => return Err(mls::encryption_required().into()),
        "bad_reply" => return Err(Rejection::no_reply_target().into()),
        other => return Err(OpError::Internal(format!("kolokol_send said {other:?}"))),
    }
    // In the same transaction (the store sends these in one): a poll is never seen without
    // its options, a reply outside its thread, nor a bot's message without its buttons.
    if new.has_extras() {
        sqlx::query(
            "UPDATE messages SET poll = $3, thread_of = $4, keyboard = $5, markup = $6
             WHERE chat_id = $1 AND seq = $2",
        )
        .bind(chat_id)
        .bind(row.try_get::<Seq, _>(4)?)
        .bind(new.poll.as_ref().map(serde_json::to_string).transpose()?)
        .bind(new.thread_of)
        .bind(list_column(&new.keyboard)?)
        .bind(list_column(&new.markup)?)
        .execute(&mut *conn)
        .await?;
    }
    let id: i64 = row.try_get(3)?;
    let attachments = media::attach(
        &mut *conn,
        actor.user_id,
        chat_id,
        &new.attachments,
        Shown::Message(id),
        now,
    )
    .await?;
    if !attachments.is_empty() {
        sqlx::query("UPDATE messages SET attachments = $2 WHERE id = $1")
            .bind(id)
            .bind(list_column(&attachments)?)
            .execute(&mut *conn)
            .await?;
    }
    let message = new.into_message(
        chat_id,
        actor.user_id,
        id,
        row.try_get(4)?,
        row.try_get(6)?,
        attachments,
        now,
    );
    let published = Published {
        route: Route::Chat {
            chat_id,
            pos: row.try_get(5)?,
            membership: None,
        },
        event: Event::MessageNew {
            message: message.clone(),
        },
    };
    Ok(Outcome {
        value: (message, true),
        events: vec![published],
    })
}

/// One statement: no rows when the actor is not a member, one row of NULLs when the page is
/// empty. Any i64 bounds are accepted; `after` pages forwards, otherwise backwards.
pub async fn history(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    page: Page,
) -> OpResult<Vec<Message>> {
    let forwards = concat!(
        "SELECT ",
        message_columns!(),
        " FROM members mm LEFT JOIN LATERAL (
              SELECT * FROM messages m WHERE m.chat_id = mm.chat_id AND m.seq > $3 AND m.seq < $4
              ORDER BY m.seq LIMIT $5
          ) x ON true
          WHERE mm.chat_id = $1 AND mm.user_id = $2"
    );
    let backwards = concat!(
        "SELECT ",
        message_columns!(),
        " FROM members mm LEFT JOIN LATERAL (
              SELECT * FROM messages m WHERE m.chat_id = mm.chat_id AND m.seq > $3 AND m.seq < $4
              ORDER BY m.seq DESC LIMIT $5
          ) x ON true
          WHERE mm.chat_id = $1 AND mm.user_id = $2"
    );
    let (sql, after) = match page.after {
        Some(after) => (forwards, after),
        None => (backwards, i64::MIN),
    };
    let rows = sqlx::query(sql)
        .bind(chat_id)
        .bind(actor.user_id)
        .bind(after)
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(i64::from(page.limit.max(1)))
        .fetch_all(conn)
        .await?;
    if rows.is_empty() {
        return Err(Rejection::not_member().into());
    }
    let mut messages = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(message) = rows::message(row, 0)? {
            messages.push(message);
        }
    }
    messages.sort_by_key(|message| message.seq);
    Ok(messages)
}

pub async fn edit(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    edit: MessageEdit,
    now: i64,
) -> OpResult<Outcome<Message>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    mls::check_clear_change(locked.chat.privacy)?;
    let mut message = live(&mut *conn, chat_id, seq).await?;
    permissions::edit_message(message.sender_id == actor.user_id)?;
    if let Some(text) = edit.text {
        message.mentions = sqlx::query_scalar(
            "UPDATE messages SET text = $3, markup = $5, mentions = ARRAY(
                 SELECT u.id FROM unnest($4::text[]) WITH ORDINALITY AS n(name, ord)
                 JOIN users u ON u.username = n.name ORDER BY n.ord
             )
             WHERE chat_id = $1 AND seq = $2 RETURNING mentions",
        )
        .bind(chat_id)
        .bind(seq)
        .bind(&text)
        .bind(validate::mentioned_usernames(&text))
        .bind(list_column(&edit.markup)?)
        .fetch_one(&mut *conn)
        .await?;
        message.text = text;
        message.markup = edit.markup;
    }
    if let Some(keyboard) = edit.keyboard {
        sqlx::query("UPDATE messages SET keyboard = $3 WHERE chat_id = $1 AND seq = $2")
            .bind(chat_id)
            .bind(seq)
            .bind(list_column(&keyboard)?)
            .execute(&mut *conn)
            .await?;
        message.keyboard = keyboard;
    }
    sqlx::query("UPDATE messages SET edited_at = $3 WHERE chat_id = $1 AND seq = $2")
        .bind(chat_id)
        .bind(seq)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    message.edited_at = Some(now);
    let mut changes = locked.changes();
    changes.chat(
        Event::MessageEdited {
            message: message.clone(),
        },
        None,
    );
    changes.commit(conn, now, message).await
}

pub async fn delete(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    now: i64,
) -> OpResult<Outcome<()>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    let message = existing(&mut *conn, chat_id, seq).await?;
    let Locked { chat, role, .. } = &locked;
    permissions::delete_message(chat.kind, *role, message.sender_id == actor.user_id)?;
    mls::check_deletable(&message)?;
    if message.deleted {
        return Ok(Outcome::unchanged(()));
    }
    // A tombstone: the text is gone for good, the seq stays so history has no gaps.
    sqlx::query(
        "WITH unreacted AS (DELETE FROM reactions WHERE chat_id = $1 AND seq = $2),
              unvoted AS (DELETE FROM poll_votes WHERE chat_id = $1 AND seq = $2),
              unpinned AS (DELETE FROM pins WHERE chat_id = $1 AND seq = $2),
              unreported AS (UPDATE reports SET text = '' WHERE chat_id = $1 AND seq = $2)
         UPDATE messages SET text = '', mentions = '{}', edited_at = NULL, deleted = true,
                             poll = NULL, keyboard = NULL, markup = NULL, attachments = NULL,
                             mls_data = NULL, franking_tag = NULL
         WHERE chat_id = $1 AND seq = $2",
    )
    .bind(chat_id)
    .bind(seq)
    .execute(&mut *conn)
    .await?;
    // Its files are no longer shown here (and go once nothing shows them).
    sqlx::query("DELETE FROM blob_refs WHERE message_id = $1")
        .bind(message.id)
        .execute(&mut *conn)
        .await?;
    let mut changes = locked.changes();
    changes.chat(Event::MessageDeleted { chat_id, seq }, None);
    changes.commit(conn, now, ()).await
}

pub async fn toggle_reaction(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    emoji: String,
    now: i64,
) -> OpResult<Outcome<bool>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    mls::check_clear_change(locked.chat.privacy)?;
    live(&mut *conn, chat_id, seq).await?;
    let added: bool = sqlx::query_scalar(
        "WITH taken_back AS (
             DELETE FROM reactions WHERE chat_id = $1 AND seq = $2 AND emoji = $3 AND user_id = $4
             RETURNING 1
         ), given AS (
             INSERT INTO reactions (chat_id, seq, emoji, user_id, created_at)
             SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM taken_back)
             RETURNING 1
         )
         SELECT EXISTS (SELECT 1 FROM given)",
    )
    .bind(chat_id)
    .bind(seq)
    .bind(&emoji)
    .bind(actor.user_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let mut changes = locked.changes();
    let event = Event::Reaction {
        chat_id,
        seq,
        user_id: actor.user_id,
        emoji,
        added,
    };
    changes.chat(event, None);
    changes.commit(conn, now, added).await
}

pub async fn mark_read(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    now: i64,
) -> OpResult<Outcome<()>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    let seq = seq.min(locked.chat.last_seq);
    let moved = sqlx::query(
        "UPDATE members SET read_seq = $3 WHERE chat_id = $1 AND user_id = $2 AND read_seq < $3",
    )
    .bind(chat_id)
    .bind(actor.user_id)
    .bind(seq)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let mut changes = locked.changes();
    if moved > 0 {
        let event = Event::Read {
            chat_id,
            user_id: actor.user_id,
            seq,
        };
        if receipts::shared_with_chat(locked.chat.member_count) {
            changes.chat(event, None);
        } else {
            changes.user(actor.user_id, event);
        }
    }
    changes.commit(conn, now, ()).await
}

/// One statement: membership, size, the message's sender and who has read it.
pub async fn read_markers(
    conn: &mut PgConnection,
    chat_id: ChatId,
) -> OpResult<Vec<(UserId, Seq)>> {
    Ok(
        sqlx::query_as("SELECT user_id, read_seq FROM members WHERE chat_id = $1 ORDER BY user_id")
            .bind(chat_id)
            .fetch_all(conn)
            .await?,
    )
}

pub async fn read_by(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
) -> OpResult<Vec<UserId>> {
    let row = sqlx::query(
        "SELECT c.member_count, x.sender_id,
                ARRAY(SELECT r.user_id FROM members r
                      WHERE r.chat_id = c.id AND r.read_seq >= $3 AND r.user_id <> x.sender_id
                      ORDER BY r.user_id)
         FROM members m
         JOIN chats c ON c.id = m.chat_id
         LEFT JOIN messages x ON x.chat_id = c.id AND x.seq = $3
         WHERE m.chat_id = $1 AND m.user_id = $2",
    )
    .bind(chat_id)
    .bind(actor.user_id)
    .bind(seq)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Err(Rejection::not_member().into());
    };
    receipts::read_by(row.try_get(0)?)?;
    if row.try_get::<Option<UserId>, _>(1)?.is_none() {
        return Err(Rejection::no_message().into());
    }
    Ok(row.try_get(2)?)
}

pub async fn check_member(conn: &mut PgConnection, actor: Actor, chat_id: ChatId) -> OpResult<()> {
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM members WHERE chat_id = $1 AND user_id = $2")
            .bind(chat_id)
            .bind(actor.user_id)
            .fetch_optional(conn)
            .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(Rejection::not_member().into()),
    }
}

pub async fn vote(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
    options: Vec<u32>,
    now: i64,
) -> OpResult<()> {
    crate::chats::membership(&mut *conn, actor.user_id, chat_id).await?;
    let message = existing(&mut *conn, chat_id, seq).await?;
    let poll = message
        .poll
        .filter(|_| !message.deleted)
        .ok_or_else(Rejection::no_poll)?;
    let options = kolokol_domain::poll::check_vote(&poll, &options, now)?;
    let options: Vec<i64> = options.into_iter().map(i64::from).collect();
    // Two statements in the vote's transaction: in one, PostgreSQL would insert before the
    // data-modifying WITH had deleted, and a repeated option would collide with itself.
    sqlx::query("DELETE FROM poll_votes WHERE chat_id = $1 AND seq = $2 AND user_id = $3")
        .bind(chat_id)
        .bind(seq)
        .bind(actor.user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO poll_votes (chat_id, seq, user_id, choice, voted_at)
         SELECT $1, $2, $3, choice, $5 FROM unnest($4::bigint[]) AS choice",
    )
    .bind(chat_id)
    .bind(seq)
    .bind(actor.user_id)
    .bind(&options)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn polls(conn: &mut PgConnection, chat_id: ChatId) -> OpResult<Vec<StoredPoll>> {
    let polls: Vec<(Seq, String)> = sqlx::query_as(
        "SELECT seq, poll FROM messages WHERE chat_id = $1 AND poll IS NOT NULL AND NOT deleted
         ORDER BY seq",
    )
    .bind(chat_id)
    .fetch_all(&mut *conn)
    .await?;
    let votes: Vec<(Seq, UserId, i64)> = sqlx::query_as(
        "SELECT v.seq, v.user_id, v.choice FROM poll_votes v
         JOIN messages m ON m.chat_id = v.chat_id AND m.seq = v.seq
         WHERE v.chat_id = $1 AND m.poll IS NOT NULL AND NOT m.deleted
         ORDER BY v.seq, v.voted_at, v.user_id, v.choice",
    )
    .bind(chat_id)
    .fetch_all(conn)
    .await?;
    polls
        .into_iter()
        .map(|(seq, poll)| {
            let of_poll = votes
                .iter()
                .filter(|(voted_seq, _, _)| *voted_seq == seq)
                .map(|&(_, user_id, choice)| (user_id, choice as u32))
                .collect();
            Ok(StoredPoll {
                seq,
                poll: serde_json::from_str(&poll)?,
                votes: of_poll,
            })
        })
        .collect()
}

pub async fn thread(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    root: Seq,
    after: Option<Seq>,
    limit: u32,
) -> OpResult<Vec<Message>> {
    crate::chats::membership(&mut *conn, actor.user_id, chat_id).await?;
    let sql = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages x WHERE x.chat_id = $1 AND x.thread_of = $2 AND x.seq > $3
          ORDER BY x.seq LIMIT $4"
    );
    let rows = sqlx::query(sql)
        .bind(chat_id)
        .bind(root)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit.max(1)))
        .fetch_all(conn)
        .await?;
    let mut replies = Vec::with_capacity(rows.len());
    for row in &rows {
        replies.extend(rows::message(row, 0)?);
    }
    Ok(replies)
}

pub async fn threads(conn: &mut PgConnection, chat_id: ChatId) -> OpResult<Vec<ThreadSummary>> {
    let rows: Vec<(Seq, i64, Seq, i64)> = sqlx::query_as(
        "SELECT thread_of, count(*), max(seq), max(created_at) FROM messages
         WHERE chat_id = $1 AND thread_of IS NOT NULL AND NOT deleted
         GROUP BY thread_of ORDER BY thread_of",
    )
    .bind(chat_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(root, replies, last_seq, last_at)| ThreadSummary {
            root,
            replies: replies as u32,
            last_seq,
            last_at,
        })
        .collect())
}

/// A page of history without a membership check (callers authorize).
pub async fn review(
    conn: &mut PgConnection,
    chat_id: ChatId,
    page: Page,
) -> OpResult<Vec<Message>> {
    let (sql, after) = match page.after {
        Some(after) => (
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages x WHERE x.chat_id = $1 AND x.seq > $2 AND x.seq < $3
                  ORDER BY x.seq LIMIT $4"
            ),
            after,
        ),
        None => (
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages x WHERE x.chat_id = $1 AND x.seq > $2 AND x.seq < $3
                  ORDER BY x.seq DESC LIMIT $4"
            ),
            i64::MIN,
        ),
    };
    let rows = sqlx::query(sql)
        .bind(chat_id)
        .bind(after)
        .bind(page.before.unwrap_or(i64::MAX))
        .bind(i64::from(page.limit.max(1)))
        .fetch_all(conn)
        .await?;
    let mut messages = Vec::with_capacity(rows.len());
    for row in &rows {
        messages.extend(rows::message(row, 0)?);
    }
    messages.sort_by_key(|message| message.seq);
    Ok(messages)
}
