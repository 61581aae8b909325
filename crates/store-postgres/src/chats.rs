//! Chats, membership and invite links.
//!
//! Every change to a chat starts by locking the chat's row ([`lock`]); the rules of
//! `kolokol_domain::permissions` are then checked against what was read under that lock.

use kolokol_domain::{MembershipChange, Rejection, invite, new_chat, permissions};
use kolokol_proto::{
    Chat, ChatId, ChatKind, Event, Invite, InvitePreview, Member, Posting, Role, Seq, User, UserId,
};
use kolokol_store::{Actor, ChatRow, MemberView, NewChat, NewInvite, Outcome};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::engine::OpResult;
use crate::events::Changes;
use crate::rows::{self, CHAT_WIDTH, chat_columns, label, message_columns, parse, user_columns};

/// A chat locked for a change by one of its members.
pub struct Locked {
    pub chat: ChatRow,
    pub role: Role,
    /// The head of the chat's event stream (stable while the lock is held).
    pub event_pos: i64,
}

impl Locked {
    pub fn changes(&self) -> Changes {
        Changes::on_chat(self.chat.id, self.event_pos)
    }
}

/// Locks the chat for a change by `user_id` and reads it with their role (see
/// `kolokol_lock_chat` in the migration); `NotMember` for outsiders and for chats that do not
/// exist, so outsiders cannot probe which ids exist.
pub async fn lock(conn: &mut PgConnection, chat_id: ChatId, user_id: UserId) -> OpResult<Locked> {
    let row = sqlx::query(
        "SELECT id, kind, title, member_count, last_seq, created_at, last_activity_at, posting,
                slow_mode_secs, privacy, event_pos, role
         FROM kolokol_lock_chat($1, $2)",
    )
    .bind(chat_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Err(Rejection::not_member().into());
    };
    Ok(Locked {
        chat: rows::chat(&row, 0)?,
        event_pos: row.try_get(CHAT_WIDTH)?,
        role: parse(row.try_get(CHAT_WIDTH + 1)?)?,
    })
}

/// The chat and the actor's role, without a lock (for reads).
pub async fn membership(
    conn: &mut PgConnection,
    user_id: UserId,
    chat_id: ChatId,
) -> OpResult<(ChatRow, Role)> {
    let sql = concat!(
        "SELECT ",
        chat_columns!(),
        ", m.role FROM chats c JOIN members m ON m.chat_id = c.id WHERE c.id = $1 AND m.user_id = $2"
    );
    let row = sqlx::query(sql)
        .bind(chat_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else {
        return Err(Rejection::not_member().into());
    };
    Ok((rows::chat(&row, 0)?, parse(row.try_get(CHAT_WIDTH)?)?))
}

async fn role_of(
    conn: &mut PgConnection,
    chat_id: ChatId,
    user_id: UserId,
) -> OpResult<Option<Role>> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM members WHERE chat_id = $1 AND user_id = $2")
            .bind(chat_id)
            .bind(user_id)
            .fetch_optional(conn)
            .await?;
    role.map(parse).transpose()
}

async fn target_role(conn: &mut PgConnection, chat_id: ChatId, user_id: UserId) -> OpResult<Role> {
    let role = role_of(conn, chat_id, user_id).await?;
    role.ok_or_else(|| Rejection::target_not_member().into())
}

/// The users with these ids, in the order asked; `UserNotFound` names the first one missing.
async fn require_users(conn: &mut PgConnection, ids: &[UserId]) -> OpResult<Vec<User>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(conn)
    .await?;
    let found = rows
        .iter()
        .map(|row| rows::user(row, 0))
        .collect::<OpResult<Vec<User>>>()?;
    ids.iter()
        .map(|&id| match found.iter().find(|user| user.id == id) {
            Some(user) => Ok(user.clone()),
            None => Err(Rejection::no_user_with_id(id).into()),
        })
        .collect()
}

/// Inserts members (each with the stream position their view starts at) in one statement and
/// counts them on the chat row.
async fn insert_members(
    conn: &mut PgConnection,
    chat_id: ChatId,
    added: &[(UserId, Role, i64)],
    now: i64,
) -> OpResult<()> {
    let user_ids: Vec<UserId> = added.iter().map(|(id, _, _)| *id).collect();
    let roles: Vec<String> = added.iter().map(|(_, role, _)| label(*role)).collect();
    let joined: Vec<i64> = added.iter().map(|(_, _, pos)| *pos).collect();
    sqlx::query(
        "WITH added AS (
             INSERT INTO members (chat_id, user_id, role, joined_at, joined_pos)
             SELECT $1, a.user_id, a.role, $5, a.joined_pos
             FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS a(user_id, role, joined_pos)
         )
         UPDATE chats SET member_count = member_count + cardinality($2::bigint[]) WHERE id = $1",
    )
    .bind(chat_id)
    .bind(user_ids)
    .bind(roles)
    .bind(joined)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// `by` added `user`; `None` when they joined by an invite.
fn member_added(
    chat_id: ChatId,
    user: User,
    role: Role,
    by: Option<UserId>,
) -> (Event, Option<MembershipChange>) {
    let membership = MembershipChange {
        user_id: user.id,
        joined: true,
    };
    (
        Event::MemberAdded {
            chat_id,
            user,
            role,
            by,
        },
        Some(membership),
    )
}

pub async fn create(
    conn: &mut PgConnection,
    actor: Actor,
    chat: NewChat,
    now: i64,
) -> OpResult<Outcome<(ChatId, bool)>> {
    let plan = new_chat::plan(
        chat.kind,
        chat.privacy,
        chat.title,
        actor.user_id,
        chat.member_ids,
    )?;
    let mut people = require_users(&mut *conn, &plan.others).await?;
    let creator = require_users(&mut *conn, &[actor.user_id]).await?.remove(0);
    // A pair's direct chat is unique: when it exists (or another node creates it right now,
    // which this insert waits for), the existing one is the answer.
    let inserted: Option<ChatId> = sqlx::query_scalar(
        "INSERT INTO chats (kind, title, direct_key, created_by, created_at, last_activity_at, privacy)
         VALUES ($1, $2, $3, $4, $5, $5, $6)
         ON CONFLICT (direct_key) DO NOTHING
         RETURNING id",
    )
    .bind(label(plan.kind))
    .bind(&plan.title)
    .bind(&plan.direct_key)
    .bind(actor.user_id)
    .bind(now)
    .bind(kolokol_store::e2ee::privacy_str(plan.privacy))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(chat_id) = inserted else {
        let existing: ChatId = sqlx::query_scalar("SELECT id FROM chats WHERE direct_key = $1")
            .bind(&plan.direct_key)
            .fetch_one(&mut *conn)
            .await?;
        return Ok(Outcome::unchanged((existing, false)));
    };

    // The new row is this transaction's own until commit: its stream starts at 0.
    let mut changes = Changes::on_chat(chat_id, 0);
    let created = changes.chat(
        Event::ChatCreated {
            chat: plan.info(chat_id),
            created_by: actor.user_id,
        },
        None,
    );
    people.insert(0, creator);
    let mut added = Vec::with_capacity(people.len());
    for (index, user) in people.into_iter().enumerate() {
        let role = if index == 0 {
            plan.creator_role
        } else {
            Role::Member
        };
        added.push((user.id, role, created));
        let (event, membership) = member_added(chat_id, user, role, Some(actor.user_id));
        changes.chat(event, membership);
    }
    insert_members(&mut *conn, chat_id, &added, now).await?;
    changes.commit(conn, now, (chat_id, true)).await
}

/// How members see their chats: the list and a single chat share this select, which brings the
/// peer of a direct chat, the unread count and the last message with it (no query per chat).
macro_rules! chat_view {
    () => {
        concat!(
            "SELECT ",
            chat_columns!(),
            ", m.role, m.read_seq,
               (SELECT count(*) FROM messages u
                 WHERE u.chat_id = c.id AND u.seq > m.read_seq AND u.sender_id <> m.user_id
                   AND NOT u.deleted AND u.mls_kind IS DISTINCT FROM 'commit'),
               m.muted_until, p.id, p.username, p.display_name, p.about, p.is_bot, ",
            message_columns!(),
            " FROM members m
              JOIN chats c ON c.id = m.chat_id
              LEFT JOIN LATERAL (
                  SELECT pu.id, CASE WHEN pu.show_username THEN pu.username END AS username,
                         pu.display_name, pu.about, pu.is_bot
                  FROM members pm JOIN users pu ON pu.id = pm.user_id
                  WHERE c.kind = 'direct' AND pm.chat_id = c.id AND pm.user_id <> m.user_id
                  LIMIT 1
              ) p ON true
              LEFT JOIN messages x ON x.chat_id = c.id AND x.seq = c.last_seq "
        )
    };
}

fn chat_view(row: &PgRow) -> OpResult<Chat> {
    Ok(rows::chat(row, 0)?.seen_by(MemberView {
        role: parse(row.try_get(CHAT_WIDTH)?)?,
        read_seq: row.try_get(CHAT_WIDTH + 1)?,
        unread_count: row.try_get(CHAT_WIDTH + 2)?,
        muted_until: row.try_get(CHAT_WIDTH + 3)?,
        peer: rows::maybe_user(row, CHAT_WIDTH + 4)?,
        last_message: rows::message(row, CHAT_WIDTH + 9)?,
    }))
}

pub async fn get(conn: &mut PgConnection, actor: Actor, chat_id: ChatId) -> OpResult<Chat> {
    let sql = concat!(chat_view!(), "WHERE m.user_id = $1 AND m.chat_id = $2");
    let row = sqlx::query(sql)
        .bind(actor.user_id)
        .bind(chat_id)
        .fetch_optional(conn)
        .await?;
    match row {
        Some(row) => chat_view(&row),
        None => Err(Rejection::not_member().into()),
    }
}

pub async fn list(conn: &mut PgConnection, actor: Actor) -> OpResult<Vec<Chat>> {
    let sql = concat!(
        chat_view!(),
        "WHERE m.user_id = $1 ORDER BY c.last_activity_at DESC, c.id DESC"
    );
    let rows = sqlx::query(sql).bind(actor.user_id).fetch_all(conn).await?;
    rows.iter().map(chat_view).collect()
}

pub async fn rename(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    title: String,
    now: i64,
) -> OpResult<Outcome<()>> {
    let mut locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    permissions::manage(locked.chat.kind, locked.role)?;
    sqlx::query("UPDATE chats SET title = $2 WHERE id = $1")
        .bind(chat_id)
        .bind(&title)
        .execute(&mut *conn)
        .await?;
    locked.chat.title = Some(title);
    let mut changes = locked.changes();
    changes.chat(
        Event::ChatUpdated {
            chat: locked.chat.info(),
            by: Some(actor.user_id),
            renamed: true,
        },
        None,
    );
    changes.commit(conn, now, ()).await
}

/// One statement: nothing when the actor is not a member (every member sees themselves).
pub async fn members(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
) -> OpResult<Vec<Member>> {
    let rows = sqlx::query(
        "SELECT u.id, CASE WHEN u.show_username OR u.id = $2 THEN u.username END, u.display_name,
                u.about, u.is_bot, m.role, m.joined_at
         FROM members m JOIN users u ON u.id = m.user_id
         WHERE m.chat_id = $1
           AND EXISTS (SELECT 1 FROM members me WHERE me.chat_id = $1 AND me.user_id = $2)
         ORDER BY m.joined_pos, u.id",
    )
    .bind(chat_id)
    .bind(actor.user_id)
    .fetch_all(conn)
    .await?;
    if rows.is_empty() {
        return Err(Rejection::not_member().into());
    }
    rows.iter()
        .map(|row| {
            Ok(Member {
                user: rows::user(row, 0)?,
                role: parse(row.try_get(5)?)?,
                joined_at: row.try_get(6)?,
                staff: None,
            })
        })
        .collect()
}

pub async fn add_members(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    user_ids: Vec<UserId>,
    now: i64,
) -> OpResult<Outcome<()>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    permissions::manage(locked.chat.kind, locked.role)?;
    let mut wanted: Vec<UserId> = Vec::with_capacity(user_ids.len());
    for id in user_ids {
        if !wanted.contains(&id) {
            wanted.push(id);
        }
    }
    let users = require_users(&mut *conn, &wanted).await?;
    // Adding someone who is already in is not an error: the result is what was asked.
    let present: Vec<UserId> =
        sqlx::query_scalar("SELECT user_id FROM members WHERE chat_id = $1 AND user_id = ANY($2)")
            .bind(chat_id)
            .bind(&wanted)
            .fetch_all(&mut *conn)
            .await?;
    let mut changes = locked.changes();
    let mut added = Vec::new();
    for user in users {
        if present.contains(&user.id) {
            continue;
        }
        let user_id = user.id;
        let (event, membership) = member_added(chat_id, user, Role::Member, Some(actor.user_id));
        let pos = changes.chat(event, membership);
        added.push((user_id, Role::Member, pos));
    }
    if !added.is_empty() {
        insert_members(&mut *conn, chat_id, &added, now).await?;
    }
    changes.commit(conn, now, ()).await
}

pub async fn delete_chat(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    now: i64,
) -> OpResult<Outcome<()>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    permissions::delete_chat(locked.chat.kind, locked.role)?;
    let kept_by_org: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM org_chats WHERE chat_id = $1)")
            .bind(chat_id)
            .fetch_one(&mut *conn)
            .await?;
    if kept_by_org {
        return Err(Rejection::kept_by_roster().into());
    }
    let members: Vec<UserId> =
        sqlx::query_scalar("SELECT user_id FROM members WHERE chat_id = $1 ORDER BY user_id")
            .bind(chat_id)
            .fetch_all(&mut *conn)
            .await?;
    let statements = kolokol_store::CHAT_TABLES
        .iter()
        .map(|table| format!("DELETE FROM {table} WHERE chat_id = $1"))
        .chain([format!("{} WHERE id = $1", kolokol_store::EMPTY_CHAT)]);
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(chat_id)
            .execute(&mut *conn)
            .await?;
    }
    let mut changes = Changes::on_users();
    for user_id in members {
        let removed = Event::MemberRemoved {
            chat_id,
            user_id,
            by: Some(actor.user_id),
        };
        changes.user(user_id, removed);
    }
    changes.commit(conn, now, ()).await
}

pub async fn remove_member(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    user_id: UserId,
    now: i64,
) -> OpResult<Outcome<()>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    let kind = locked.chat.kind;
    if user_id == actor.user_id {
        permissions::leave(kind, locked.role, locked.chat.member_count)?;
    } else {
        let target = target_role(&mut *conn, chat_id, user_id).await?;
        permissions::remove_member(kind, locked.role, target)?;
    }
    sqlx::query(
        "WITH gone AS (DELETE FROM members WHERE chat_id = $1 AND user_id = $2)
         UPDATE chats SET member_count = member_count - 1 WHERE id = $1",
    )
    .bind(chat_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    let mut changes = locked.changes();
    let left = MembershipChange {
        user_id,
        joined: false,
    };
    let removed = Event::MemberRemoved {
        chat_id,
        user_id,
        by: Some(actor.user_id),
    };
    changes.chat(removed.clone(), Some(left));
    // The removed user no longer follows the chat's stream, so they learn it in their own.
    changes.user(user_id, removed);
    changes.commit(conn, now, ()).await
}

async fn update_role(
    conn: &mut PgConnection,
    changes: &mut Changes,
    chat_id: ChatId,
    user_id: UserId,
    role: Role,
) -> OpResult<()> {
    sqlx::query("UPDATE members SET role = $3 WHERE chat_id = $1 AND user_id = $2")
        .bind(chat_id)
        .bind(user_id)
        .bind(label(role))
        .execute(conn)
        .await?;
    changes.chat(
        Event::MemberUpdated {
            chat_id,
            user_id,
            role,
        },
        None,
    );
    Ok(())
}

pub async fn set_role(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    user_id: UserId,
    role: Role,
    now: i64,
) -> OpResult<Outcome<()>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    let target = target_role(&mut *conn, chat_id, user_id).await?;
    permissions::set_role(locked.chat.kind, locked.role, target, role)?;
    let mut changes = locked.changes();
    update_role(&mut *conn, &mut changes, chat_id, user_id, role).await?;
    changes.commit(conn, now, ()).await
}

pub async fn transfer_ownership(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    user_id: UserId,
    now: i64,
) -> OpResult<Outcome<()>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    permissions::transfer_ownership(locked.chat.kind, locked.role, user_id == actor.user_id)?;
    target_role(&mut *conn, chat_id, user_id).await?;
    let mut changes = locked.changes();
    update_role(&mut *conn, &mut changes, chat_id, user_id, Role::Owner).await?;
    update_role(
        &mut *conn,
        &mut changes,
        chat_id,
        actor.user_id,
        Role::Admin,
    )
    .await?;
    changes.commit(conn, now, ()).await
}

macro_rules! invite_columns {
    () => {
        "code, chat_id, created_by, created_at, expires_at, max_uses, uses"
    };
}

fn invite(row: &PgRow) -> OpResult<Invite> {
    Ok(Invite {
        code: row.try_get(0)?,
        chat_id: row.try_get(1)?,
        created_by: row.try_get(2)?,
        created_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
        max_uses: row
            .try_get::<Option<i64>, _>(5)?
            .map(rows::small)
            .transpose()?,
        uses: rows::small(row.try_get(6)?)?,
    })
}

pub async fn create_invite(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    new: NewInvite,
    now: i64,
) -> OpResult<Invite> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    permissions::manage(locked.chat.kind, locked.role)?;
    let sql = concat!(
        "INSERT INTO invites (code, chat_id, created_by, created_at, expires_at, max_uses)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        invite_columns!()
    );
    let row = sqlx::query(sql)
        .bind(&new.code)
        .bind(chat_id)
        .bind(actor.user_id)
        .bind(now)
        .bind(new.expires_at)
        .bind(new.max_uses.map(i64::from))
        .fetch_one(conn)
        .await?;
    invite(&row)
}

pub async fn invites(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
) -> OpResult<Vec<Invite>> {
    let (chat, role) = membership(&mut *conn, actor.user_id, chat_id).await?;
    permissions::manage(chat.kind, role)?;
    let sql = concat!(
        "SELECT ",
        invite_columns!(),
        " FROM invites WHERE chat_id = $1 ORDER BY created_at, code COLLATE \"C\""
    );
    let rows = sqlx::query(sql).bind(chat_id).fetch_all(conn).await?;
    rows.iter().map(invite).collect()
}

pub async fn revoke_invite(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    code: String,
) -> OpResult<()> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    permissions::manage(locked.chat.kind, locked.role)?;
    let deleted = sqlx::query("DELETE FROM invites WHERE chat_id = $1 AND code = $2")
        .bind(chat_id)
        .bind(&code)
        .execute(conn)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(Rejection::invite_not_found().into());
    }
    Ok(())
}

async fn find_invite(conn: &mut PgConnection, code: &str) -> OpResult<Option<Invite>> {
    let sql = concat!(
        "SELECT ",
        invite_columns!(),
        " FROM invites WHERE code = $1"
    );
    let row = sqlx::query(sql).bind(code).fetch_optional(conn).await?;
    row.as_ref().map(invite).transpose()
}

pub async fn invite_preview(
    conn: &mut PgConnection,
    code: String,
    now: i64,
) -> OpResult<InvitePreview> {
    let invite = invite::usable(find_invite(&mut *conn, &code).await?, now)?;
    let sql = concat!("SELECT ", chat_columns!(), " FROM chats c WHERE c.id = $1");
    let row = sqlx::query(sql)
        .bind(invite.chat_id)
        .fetch_one(conn)
        .await?;
    Ok(InvitePreview {
        code: invite.code,
        chat: rows::chat(&row, 0)?.info(),
    })
}

/// Invites change only under their chat's lock, so the invite is read again once it is held: a
/// single-use link admits one person even when several nodes race for it.
pub async fn join_by_invite(
    conn: &mut PgConnection,
    actor: Actor,
    code: String,
    now: i64,
) -> OpResult<Outcome<ChatId>> {
    let code = code.as_str();
    let chat_id = invite::usable(find_invite(&mut *conn, code).await?, now)?.chat_id;
    let event_pos: i64 =
        sqlx::query_scalar("SELECT event_pos FROM chats WHERE id = $1 FOR NO KEY UPDATE")
            .bind(chat_id)
            .fetch_one(&mut *conn)
            .await?;
    invite::usable(find_invite(&mut *conn, code).await?, now)?;
    if role_of(&mut *conn, chat_id, actor.user_id).await?.is_some() {
        return Err(Rejection::already_member().into());
    }
    let user = require_users(&mut *conn, &[actor.user_id]).await?.remove(0);
    let mut changes = Changes::on_chat(chat_id, event_pos);
    let (event, membership) = member_added(chat_id, user, Role::Member, None);
    let pos = changes.chat(event, membership);
    insert_members(
        &mut *conn,
        chat_id,
        &[(actor.user_id, Role::Member, pos)],
        now,
    )
    .await?;
    sqlx::query("UPDATE invites SET uses = uses + 1 WHERE code = $1")
        .bind(code)
        .execute(&mut *conn)
        .await?;
    changes.commit(conn, now, chat_id).await
}

pub async fn pin(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    seq: Option<Seq>,
    now: i64,
) -> OpResult<Outcome<()>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    permissions::manage(locked.chat.kind, locked.role)?;
    match seq {
        Some(seq) => {
            let message = rows::fetch_message(&mut *conn, chat_id, seq).await?;
            if message.is_none_or(|message| message.deleted) {
                return Err(Rejection::no_message().into());
            }
            sqlx::query(
                "INSERT INTO pins (chat_id, seq, pinned_by, pinned_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (chat_id) DO UPDATE SET seq = excluded.seq,
                     pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at",
            )
            .bind(chat_id)
            .bind(seq)
            .bind(actor.user_id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM pins WHERE chat_id = $1")
                .bind(chat_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    let mut changes = locked.changes();
    changes.chat(
        Event::Pinned {
            chat_id,
            seq,
            by: actor.user_id,
        },
        None,
    );
    changes.commit(conn, now, ()).await
}

pub async fn pinned(conn: &mut PgConnection, chat_id: ChatId) -> OpResult<Option<Seq>> {
    Ok(
        sqlx::query_scalar("SELECT seq FROM pins WHERE chat_id = $1")
            .bind(chat_id)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn set_settings(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    posting: Option<Posting>,
    slow_mode_secs: Option<u32>,
    now: i64,
) -> OpResult<Outcome<()>> {
    let mut locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    permissions::manage(locked.chat.kind, locked.role)?;
    locked.chat.posting = posting.unwrap_or(locked.chat.posting);
    locked.chat.slow_mode_secs = slow_mode_secs.unwrap_or(locked.chat.slow_mode_secs);
    sqlx::query("UPDATE chats SET posting = $2, slow_mode_secs = $3 WHERE id = $1")
        .bind(chat_id)
        .bind(locked.chat.posting.as_str())
        .bind(i64::from(locked.chat.slow_mode_secs))
        .execute(&mut *conn)
        .await?;
    let mut changes = locked.changes();
    changes.chat(
        Event::ChatUpdated {
            chat: locked.chat.info(),
            by: Some(actor.user_id),
            renamed: false,
        },
        None,
    );
    changes.commit(conn, now, ()).await
}

pub async fn mute(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    user_id: UserId,
    until: Option<i64>,
    now: i64,
) -> OpResult<Outcome<()>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    let target: Option<String> =
        sqlx::query_scalar("SELECT role FROM members WHERE chat_id = $1 AND user_id = $2")
            .bind(chat_id)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    let target: Role = parse(target.ok_or_else(Rejection::target_not_member)?)?;
    permissions::mute(locked.chat.kind, locked.role, target)?;
    sqlx::query("UPDATE members SET muted_until = $3 WHERE chat_id = $1 AND user_id = $2")
        .bind(chat_id)
        .bind(user_id)
        .bind(until)
        .execute(&mut *conn)
        .await?;
    let mut changes = locked.changes();
    changes.chat(
        Event::MemberMuted {
            chat_id,
            user_id,
            until,
        },
        None,
    );
    changes.commit(conn, now, ()).await
}

pub async fn direct_chats_among(
    conn: &mut PgConnection,
    user_ids: Vec<UserId>,
) -> OpResult<Vec<(ChatId, UserId, UserId)>> {
    Ok(sqlx::query_as(
        "SELECT c.id, a.user_id, b.user_id FROM chats c
         JOIN members a ON a.chat_id = c.id
         JOIN members b ON b.chat_id = c.id AND b.user_id > a.user_id
         WHERE c.kind = 'direct' AND a.user_id = ANY($1) AND b.user_id = ANY($1)
         ORDER BY c.id",
    )
    .bind(user_ids)
    .fetch_all(conn)
    .await?)
}

pub async fn kind(conn: &mut PgConnection, chat_id: ChatId) -> OpResult<Option<ChatKind>> {
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM chats WHERE id = $1")
        .bind(chat_id)
        .fetch_optional(conn)
        .await?;
    kind.map(parse).transpose()
}
