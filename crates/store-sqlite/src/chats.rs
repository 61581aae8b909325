//! Chats, membership and invite links.

use kolokol_domain::{MembershipChange, Rejection, invite, new_chat, permissions};
use kolokol_proto::{
    Chat, ChatId, ChatKind, Event, Invite, InvitePreview, Member, Posting, Role, Seq, UserId,
};
use kolokol_store::{Actor, ChatRow, MemberView, NewChat, NewInvite, Outcome};
use rusqlite::{Connection, OptionalExtension, params};

use crate::engine::OpResult;
use crate::events::Changes;
use crate::rows::{self, CHAT_COLUMNS, CHAT_WIDTH, USER_COLUMNS, parse_role};

/// The chat and the actor's role in it, or `NotMember` (also for chats that do not exist, so
/// outsiders cannot probe which ids exist).
pub fn membership(conn: &Connection, actor: UserId, chat_id: ChatId) -> OpResult<(ChatRow, Role)> {
    let sql = format!(
        "SELECT {CHAT_COLUMNS}, m.role FROM chats c JOIN members m ON m.chat_id = c.id
         WHERE c.id = ?1 AND m.user_id = ?2"
    );
    let found = conn
        .prepare_cached(&sql)?
        .query_row(params![chat_id, actor], |row| {
            Ok((
                rows::chat_from_row(row)?,
                parse_role(&row.get::<_, String>(CHAT_WIDTH)?),
            ))
        })
        .optional()?;
    found.ok_or_else(|| Rejection::not_member().into())
}

fn role_of(conn: &Connection, chat_id: ChatId, user_id: UserId) -> OpResult<Option<Role>> {
    Ok(conn
        .prepare_cached("SELECT role FROM members WHERE chat_id = ?1 AND user_id = ?2")?
        .query_row(params![chat_id, user_id], |row| row.get::<_, String>(0))
        .optional()?
        .map(|role| parse_role(&role)))
}

fn target_role(conn: &Connection, chat_id: ChatId, user_id: UserId) -> OpResult<Role> {
    role_of(conn, chat_id, user_id)?.ok_or_else(|| Rejection::target_not_member().into())
}

fn require_user(conn: &Connection, user_id: UserId) -> OpResult<kolokol_proto::User> {
    rows::user_by_id(conn, user_id)?.ok_or_else(|| Rejection::no_user_with_id(user_id).into())
}

/// Adds one member, added by `by` (`None`: by an invite), with a `member.added` event. Their
/// view of the chat's stream starts at `visible_from`, or at that event when `None` (initial
/// members see the chat's creation).
#[allow(clippy::too_many_arguments)]
fn insert_member(
    conn: &Connection,
    changes: &mut Changes,
    chat_id: ChatId,
    user: kolokol_proto::User,
    role: Role,
    by: Option<UserId>,
    visible_from: Option<i64>,
    now: i64,
) -> OpResult<()> {
    let user_id = user.id;
    let event = Event::MemberAdded {
        chat_id,
        user,
        role,
        by,
    };
    let membership = Some(MembershipChange {
        user_id,
        joined: true,
    });
    let added_at = changes.chat(conn, chat_id, event, membership, now)?;
    let pos = visible_from.unwrap_or(added_at);
    conn.prepare_cached(
        "INSERT INTO members (chat_id, user_id, role, joined_at, joined_pos) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![chat_id, user_id, role.as_str(), now, pos])?;
    conn.prepare_cached("UPDATE chats SET member_count = member_count + 1 WHERE id = ?1")?
        .execute([chat_id])?;
    Ok(())
}

pub fn create(
    conn: &Connection,
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
    let users = plan
        .others
        .iter()
        .map(|&id| require_user(conn, id))
        .collect::<OpResult<Vec<_>>>()?;
    if let Some(key) = &plan.direct_key {
        let existing: Option<ChatId> = conn
            .prepare_cached("SELECT id FROM chats WHERE direct_key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?;
        if let Some(id) = existing {
            return Ok(Outcome::unchanged((id, false)));
        }
    }
    let creator = require_user(conn, actor.user_id)?;
    let chat_id: ChatId = conn
        .prepare_cached(
            "INSERT INTO chats (kind, title, direct_key, created_by, created_at, last_activity_at, privacy)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) RETURNING id",
        )?
        .query_row(
            params![
                rows::kind_str(plan.kind),
                plan.title,
                plan.direct_key,
                actor.user_id,
                now,
                kolokol_store::e2ee::privacy_str(plan.privacy)
            ],
            |row| row.get(0),
        )?;

    let mut changes = Changes::default();
    let created = changes.chat(
        conn,
        chat_id,
        Event::ChatCreated {
            chat: plan.info(chat_id),
            created_by: actor.user_id,
        },
        None,
        now,
    )?;
    insert_member(
        conn,
        &mut changes,
        chat_id,
        creator,
        plan.creator_role,
        Some(actor.user_id),
        Some(created),
        now,
    )?;
    for user in users {
        insert_member(
            conn,
            &mut changes,
            chat_id,
            user,
            Role::Member,
            Some(actor.user_id),
            Some(created),
            now,
        )?;
    }
    Ok(changes.finish((chat_id, true)))
}

/// How one member sees a chat.
fn view(
    conn: &Connection,
    user_id: UserId,
    chat: ChatRow,
    role: Role,
    read_seq: i64,
    muted_until: Option<i64>,
) -> OpResult<Chat> {
    let peer = match chat.kind {
        ChatKind::Direct => {
            let sql = format!(
                "SELECT {USER_COLUMNS} FROM users WHERE id = (SELECT user_id FROM members WHERE chat_id = ?1 AND user_id != ?2)"
            );
            conn.prepare_cached(&sql)?
                .query_row(params![chat.id, user_id], rows::user_from_row)
                .optional()?
        }
        _ => None,
    };
    let unread_count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM messages WHERE chat_id = ?1 AND seq > ?2 AND sender_id != ?3 AND deleted = 0 AND mls_kind IS NOT 'commit'",
        )?
        .query_row(params![chat.id, read_seq, user_id], |row| row.get(0))?;
    let last_message = match chat.last_seq {
        0 => None,
        seq => rows::message(conn, chat.id, seq)?,
    };
    Ok(chat.seen_by(MemberView {
        role,
        read_seq,
        unread_count,
        peer,
        last_message,
        muted_until,
    }))
}

pub fn get(conn: &Connection, actor: Actor, chat_id: ChatId) -> OpResult<Chat> {
    let (chat, role) = membership(conn, actor.user_id, chat_id)?;
    let (read_seq, muted_until) = conn
        .prepare_cached(
            "SELECT read_seq, muted_until FROM members WHERE chat_id = ?1 AND user_id = ?2",
        )?
        .query_row(params![chat_id, actor.user_id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    view(conn, actor.user_id, chat, role, read_seq, muted_until)
}

pub fn list(conn: &Connection, actor: Actor) -> OpResult<Vec<Chat>> {
    let sql = format!(
        "SELECT {CHAT_COLUMNS}, m.role, m.read_seq, m.muted_until
         FROM members m JOIN chats c ON c.id = m.chat_id
         WHERE m.user_id = ?1 ORDER BY c.last_activity_at DESC, c.id DESC"
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map([actor.user_id], |row| {
            Ok((
                rows::chat_from_row(row)?,
                parse_role(&row.get::<_, String>(CHAT_WIDTH)?),
                row.get::<_, i64>(CHAT_WIDTH + 1)?,
                row.get::<_, Option<i64>>(CHAT_WIDTH + 2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(chat, role, read_seq, muted_until)| {
            view(conn, actor.user_id, chat, role, read_seq, muted_until)
        })
        .collect()
}

pub fn rename(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    title: String,
    now: i64,
) -> OpResult<Outcome<()>> {
    let (mut chat, role) = membership(conn, actor.user_id, chat_id)?;
    permissions::manage(chat.kind, role)?;
    conn.prepare_cached("UPDATE chats SET title = ?2 WHERE id = ?1")?
        .execute(params![chat_id, title])?;
    chat.title = Some(title);
    let mut changes = Changes::default();
    changes.chat(
        conn,
        chat_id,
        Event::ChatUpdated {
            chat: chat.info(),
            by: Some(actor.user_id),
            renamed: true,
        },
        None,
        now,
    )?;
    Ok(changes.finish(()))
}

pub fn members(conn: &Connection, actor: Actor, chat_id: ChatId) -> OpResult<Vec<Member>> {
    membership(conn, actor.user_id, chat_id)?;
    // Members see their own username in the list; others' only where they chose to show it.
    let sql = "SELECT u.id, CASE WHEN u.show_username OR u.id = ?2 THEN u.username END,
                      u.display_name, u.about, u.is_bot, m.role, m.joined_at
               FROM members m JOIN users u ON u.id = m.user_id
               WHERE m.chat_id = ?1 ORDER BY m.joined_pos, u.id";
    let rows = conn
        .prepare_cached(sql)?
        .query_map(params![chat_id, actor.user_id], |row| {
            Ok(Member {
                user: rows::user_from_row(row)?,
                role: parse_role(&row.get::<_, String>(5)?),
                joined_at: row.get(6)?,
                staff: None,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn add_members(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    user_ids: Vec<UserId>,
    now: i64,
) -> OpResult<Outcome<()>> {
    let (chat, role) = membership(conn, actor.user_id, chat_id)?;
    permissions::manage(chat.kind, role)?;
    let mut changes = Changes::default();
    for user_id in user_ids {
        let user = require_user(conn, user_id)?;
        // Adding someone who is already in is not an error: the result is what was asked.
        if role_of(conn, chat_id, user_id)?.is_none() {
            let by = Some(actor.user_id);
            insert_member(
                conn,
                &mut changes,
                chat_id,
                user,
                Role::Member,
                by,
                None,
                now,
            )?;
        }
    }
    Ok(changes.finish(()))
}

pub fn delete_chat(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    now: i64,
) -> OpResult<Outcome<()>> {
    let (chat, role) = membership(conn, actor.user_id, chat_id)?;
    permissions::delete_chat(chat.kind, role)?;
    let kept_by_org: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM org_chats WHERE chat_id = ?1)")?
        .query_row([chat_id], |row| row.get(0))?;
    if kept_by_org {
        return Err(Rejection::kept_by_roster().into());
    }
    let members: Vec<UserId> = conn
        .prepare_cached("SELECT user_id FROM members WHERE chat_id = ?1 ORDER BY user_id")?
        .query_map([chat_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut changes = Changes::default();
    for user_id in members {
        let removed = Event::MemberRemoved {
            chat_id,
            user_id,
            by: Some(actor.user_id),
        };
        changes.user(conn, user_id, removed, now)?;
    }
    for table in kolokol_store::CHAT_TABLES {
        conn.execute(
            &format!("DELETE FROM {table} WHERE chat_id = ?1"),
            [chat_id],
        )?;
    }
    conn.execute(
        &format!("{} WHERE id = ?1", kolokol_store::EMPTY_CHAT),
        [chat_id],
    )?;
    Ok(changes.finish(()))
}

pub fn remove_member(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    user_id: UserId,
    now: i64,
) -> OpResult<Outcome<()>> {
    let (chat, role) = membership(conn, actor.user_id, chat_id)?;
    if user_id == actor.user_id {
        permissions::leave(chat.kind, role, chat.member_count)?;
    } else {
        permissions::remove_member(chat.kind, role, target_role(conn, chat_id, user_id)?)?;
    }
    let mut changes = Changes::default();
    let membership = Some(MembershipChange {
        user_id,
        joined: false,
    });
    changes.chat(
        conn,
        chat_id,
        Event::MemberRemoved {
            chat_id,
            user_id,
            by: Some(actor.user_id),
        },
        membership,
        now,
    )?;
    // The removed user no longer follows the chat's stream, so they learn it in their own.
    changes.user(
        conn,
        user_id,
        Event::MemberRemoved {
            chat_id,
            user_id,
            by: Some(actor.user_id),
        },
        now,
    )?;
    conn.prepare_cached("DELETE FROM members WHERE chat_id = ?1 AND user_id = ?2")?
        .execute(params![chat_id, user_id])?;
    conn.prepare_cached("UPDATE chats SET member_count = member_count - 1 WHERE id = ?1")?
        .execute([chat_id])?;
    Ok(changes.finish(()))
}

fn update_role(
    conn: &Connection,
    changes: &mut Changes,
    chat_id: ChatId,
    user_id: UserId,
    role: Role,
    now: i64,
) -> OpResult<()> {
    conn.prepare_cached("UPDATE members SET role = ?3 WHERE chat_id = ?1 AND user_id = ?2")?
        .execute(params![chat_id, user_id, role.as_str()])?;
    changes.chat(
        conn,
        chat_id,
        Event::MemberUpdated {
            chat_id,
            user_id,
            role,
        },
        None,
        now,
    )?;
    Ok(())
}

pub fn set_role(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    user_id: UserId,
    role: Role,
    now: i64,
) -> OpResult<Outcome<()>> {
    let (chat, actor_role) = membership(conn, actor.user_id, chat_id)?;
    permissions::set_role(
        chat.kind,
        actor_role,
        target_role(conn, chat_id, user_id)?,
        role,
    )?;
    let mut changes = Changes::default();
    update_role(conn, &mut changes, chat_id, user_id, role, now)?;
    Ok(changes.finish(()))
}

pub fn transfer_ownership(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    user_id: UserId,
    now: i64,
) -> OpResult<Outcome<()>> {
    let (chat, role) = membership(conn, actor.user_id, chat_id)?;
    permissions::transfer_ownership(chat.kind, role, user_id == actor.user_id)?;
    target_role(conn, chat_id, user_id)?;
    let mut changes = Changes::default();
    update_role(conn, &mut changes, chat_id, user_id, Role::Owner, now)?;
    update_role(conn, &mut changes, chat_id, actor.user_id, Role::Admin, now)?;
    Ok(changes.finish(()))
}

const INVITE_COLUMNS: &str = "code, chat_id, created_by, created_at, expires_at, max_uses, uses";

fn invite_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Invite> {
    Ok(Invite {
        code: row.get(0)?,
        chat_id: row.get(1)?,
        created_by: row.get(2)?,
        created_at: row.get(3)?,
        expires_at: row.get(4)?,
        max_uses: row.get(5)?,
        uses: row.get(6)?,
    })
}

pub fn create_invite(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    invite: NewInvite,
    now: i64,
) -> OpResult<Invite> {
    let (chat, role) = membership(conn, actor.user_id, chat_id)?;
    permissions::manage(chat.kind, role)?;
    let sql = format!(
        "INSERT INTO invites (code, chat_id, created_by, created_at, expires_at, max_uses) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         RETURNING {INVITE_COLUMNS}"
    );
    Ok(conn.prepare_cached(&sql)?.query_row(
        params![
            invite.code,
            chat_id,
            actor.user_id,
            now,
            invite.expires_at,
            invite.max_uses
        ],
        invite_from_row,
    )?)
}

pub fn invites(conn: &Connection, actor: Actor, chat_id: ChatId) -> OpResult<Vec<Invite>> {
    let (chat, role) = membership(conn, actor.user_id, chat_id)?;
    permissions::manage(chat.kind, role)?;
    let sql = format!(
        "SELECT {INVITE_COLUMNS} FROM invites WHERE chat_id = ?1 ORDER BY created_at, code"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_map([chat_id], invite_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn revoke_invite(conn: &Connection, actor: Actor, chat_id: ChatId, code: &str) -> OpResult<()> {
    let (chat, role) = membership(conn, actor.user_id, chat_id)?;
    permissions::manage(chat.kind, role)?;
    let deleted = conn
        .prepare_cached("DELETE FROM invites WHERE chat_id = ?1 AND code = ?2")?
        .execute(params![chat_id, code])?;
    if deleted == 0 {
        return Err(Rejection::invite_not_found().into());
    }
    Ok(())
}

fn usable_invite(conn: &Connection, code: &str, now: i64) -> OpResult<Invite> {
    let sql = format!("SELECT {INVITE_COLUMNS} FROM invites WHERE code = ?1");
    let found = conn
        .prepare_cached(&sql)?
        .query_row([code], invite_from_row)
        .optional()?;
    Ok(invite::usable(found, now)?)
}

fn chat_row(conn: &Connection, chat_id: ChatId) -> OpResult<ChatRow> {
    let sql = format!("SELECT {CHAT_COLUMNS} FROM chats c WHERE c.id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([chat_id], rows::chat_from_row)?)
}

pub fn invite_preview(conn: &Connection, code: &str, now: i64) -> OpResult<InvitePreview> {
    let invite = usable_invite(conn, code, now)?;
    Ok(InvitePreview {
        code: invite.code,
        chat: chat_row(conn, invite.chat_id)?.info(),
    })
}

pub fn join_by_invite(
    conn: &Connection,
    actor: Actor,
    code: &str,
    now: i64,
) -> OpResult<Outcome<ChatId>> {
    let invite = usable_invite(conn, code, now)?;
    if role_of(conn, invite.chat_id, actor.user_id)?.is_some() {
        return Err(Rejection::already_member().into());
    }
    let user = require_user(conn, actor.user_id)?;
    let mut changes = Changes::default();
    insert_member(
        conn,
        &mut changes,
        invite.chat_id,
        user,
        Role::Member,
        None,
        None,
        now,
    )?;
    conn.prepare_cached("UPDATE invites SET uses = uses + 1 WHERE code = ?1")?
        .execute([code])?;
    Ok(changes.finish(invite.chat_id))
}

pub fn pin(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    seq: Option<Seq>,
    now: i64,
) -> OpResult<Outcome<()>> {
    let (chat, role) = membership(conn, actor.user_id, chat_id)?;
    permissions::manage(chat.kind, role)?;
    match seq {
        Some(seq) => {
            let live = rows::message(conn, chat_id, seq)?.is_some_and(|message| !message.deleted);
            if !live {
                return Err(Rejection::no_message().into());
            }
            conn.prepare_cached(
                "INSERT INTO pins (chat_id, seq, pinned_by, pinned_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (chat_id) DO UPDATE SET seq = excluded.seq,
                     pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at",
            )?
            .execute(params![chat_id, seq, actor.user_id, now])?;
        }
        None => {
            conn.prepare_cached("DELETE FROM pins WHERE chat_id = ?1")?
                .execute([chat_id])?;
        }
    }
    let mut changes = Changes::default();
    changes.chat(
        conn,
        chat_id,
        Event::Pinned {
            chat_id,
            seq,
            by: actor.user_id,
        },
        None,
        now,
    )?;
    Ok(changes.finish(()))
}

pub fn pinned(conn: &Connection, chat_id: ChatId) -> OpResult<Option<Seq>> {
    Ok(conn
        .prepare_cached("SELECT seq FROM pins WHERE chat_id = ?1")?
        .query_row([chat_id], |row| row.get(0))
        .optional()?)
}

pub fn set_settings(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    posting: Option<Posting>,
    slow_mode_secs: Option<u32>,
    now: i64,
) -> OpResult<Outcome<()>> {
    let (mut chat, role) = membership(conn, actor.user_id, chat_id)?;
    permissions::manage(chat.kind, role)?;
    chat.posting = posting.unwrap_or(chat.posting);
    chat.slow_mode_secs = slow_mode_secs.unwrap_or(chat.slow_mode_secs);
    conn.prepare_cached("UPDATE chats SET posting = ?2, slow_mode_secs = ?3 WHERE id = ?1")?
        .execute(params![chat_id, chat.posting.as_str(), chat.slow_mode_secs])?;
    let mut changes = Changes::default();
    changes.chat(
        conn,
        chat_id,
        Event::ChatUpdated {
            chat: chat.info(),
            by: Some(actor.user_id),
            renamed: false,
        },
        None,
        now,
    )?;
    Ok(changes.finish(()))
}

pub fn mute(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    user_id: UserId,
    until: Option<i64>,
    now: i64,
) -> OpResult<Outcome<()>> {
    let (chat, role) = membership(conn, actor.user_id, chat_id)?;
    let target = target_role(conn, chat_id, user_id)?;
    permissions::mute(chat.kind, role, target)?;
    conn.prepare_cached("UPDATE members SET muted_until = ?3 WHERE chat_id = ?1 AND user_id = ?2")?
        .execute(params![chat_id, user_id, until])?;
    let mut changes = Changes::default();
    changes.chat(
        conn,
        chat_id,
        Event::MemberMuted {
            chat_id,
            user_id,
            until,
        },
        None,
        now,
    )?;
    Ok(changes.finish(()))
}

pub fn direct_chats_among(
    conn: &Connection,
    user_ids: &[UserId],
) -> OpResult<Vec<(ChatId, UserId, UserId)>> {
    let ids = serde_json::to_string(user_ids)?;
    Ok(conn
        .prepare_cached(
            "SELECT c.id, a.user_id, b.user_id FROM chats c
             JOIN members a ON a.chat_id = c.id
             JOIN members b ON b.chat_id = c.id AND b.user_id > a.user_id
             WHERE c.kind = 'direct'
               AND a.user_id IN (SELECT value FROM json_each(?1))
               AND b.user_id IN (SELECT value FROM json_each(?1))
             ORDER BY c.id",
        )?
        .query_map([ids], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?)
}
