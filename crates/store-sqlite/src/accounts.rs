//! Users, sessions and WebSocket tickets.

use kolokol_domain::Rejection;
use kolokol_proto::{Event, Profile, User, UserId};
use kolokol_store::{
    Actor, Credentials, NewSession, NewUser, Outcome, ProfileChanges, Revoke, SessionRecord,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::engine::OpResult;
use crate::events::Changes;
use crate::rows::{self, OWN_USER_COLUMNS, USER_COLUMNS};

pub fn register(
    conn: &Connection,
    user: NewUser,
    session: NewSession,
    now: i64,
) -> OpResult<(User, i64)> {
    let taken: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE username = ?1)")?
        .query_row([&user.username], |row| row.get(0))?;
    if taken {
        return Err(Rejection::username_taken().into());
    }
    let id: UserId = conn
        .prepare_cached(
            "INSERT INTO users (username, display_name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        )?
        .query_row(params![user.username, user.display_name, user.password_hash, now], |row| row.get(0))?;
    let session_id = create_session(conn, id, session, now)?;
    let profile = rows::profile_by_id(conn, id)?.expect("inserted above");
    Ok((profile.user, session_id))
}

pub fn create_session(
    conn: &Connection,
    user_id: UserId,
    session: NewSession,
    now: i64,
) -> OpResult<i64> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO sessions (user_id, token_hash, device_name, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
        )?
        .query_row(params![user_id, &session.token_hash[..], session.device_name, now], |row| row.get(0))?)
}

pub fn credentials(conn: &Connection, username: &str) -> OpResult<Option<Credentials>> {
    let sql = format!("SELECT {OWN_USER_COLUMNS}, password_hash FROM users WHERE username = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([username], |row| {
            Ok(Credentials {
                user: rows::user_from_row(row)?,
                password_hash: row.get(6)?,
            })
        })
        .optional()?)
}

/// The session for a token hash and when it was last seen.
pub fn session_by_token(conn: &Connection, token_hash: [u8; 32]) -> OpResult<Option<(Actor, i64)>> {
    Ok(conn
        .prepare_cached("SELECT id, user_id, last_seen_at FROM sessions WHERE token_hash = ?1")?
        .query_row([&token_hash[..]], |row| {
            Ok((
                Actor {
                    session_id: row.get(0)?,
                    user_id: row.get(1)?,
                },
                row.get(2)?,
            ))
        })
        .optional()?)
}

pub fn touch_session(conn: &Connection, session_id: i64, now: i64) -> OpResult<()> {
    conn.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1")?
        .execute(params![session_id, now])?;
    Ok(())
}

pub fn sessions(conn: &Connection, user_id: UserId) -> OpResult<Vec<SessionRecord>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, device_name, created_at, last_seen_at FROM sessions WHERE user_id = ?1 ORDER BY id",
    )?;
    let rows = statement.query_map([user_id], |row| {
        Ok(SessionRecord {
            id: row.get(0)?,
            device_name: row.get(1)?,
            created_at: row.get(2)?,
            last_seen_at: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn revoke_sessions(
    conn: &Connection,
    user_id: UserId,
    which: Revoke,
    now: i64,
) -> OpResult<Outcome<u64>> {
    let (sql, session) = match which {
        Revoke::One(id) => (
            "DELETE FROM sessions WHERE user_id = ?1 AND id = ?2 RETURNING id",
            id,
        ),
        Revoke::AllExcept(id) => (
            "DELETE FROM sessions WHERE user_id = ?1 AND id != ?2 RETURNING id",
            id,
        ),
    };
    let revoked = conn
        .prepare_cached(sql)?
        .query_map(params![user_id, session], |row| row.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut changes = Changes::default();
    for session_id in &revoked {
        changes.user(
            conn,
            user_id,
            Event::SessionRevoked {
                session_id: *session_id,
            },
            now,
        )?;
    }
    crate::e2ee::announce_gone_devices(conn, user_id, &revoked, &mut changes, now)?;
    Ok(changes.finish(revoked.len() as u64))
}

pub fn set_password(
    conn: &Connection,
    actor: Actor,
    password_hash: String,
    now: i64,
) -> OpResult<Outcome<u64>> {
    conn.prepare_cached("UPDATE users SET password_hash = ?2 WHERE id = ?1")?
        .execute(params![actor.user_id, password_hash])?;
    revoke_sessions(
        conn,
        actor.user_id,
        Revoke::AllExcept(actor.session_id),
        now,
    )
}

pub fn user_by_username(conn: &Connection, username: &str) -> OpResult<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([username], rows::user_from_row)
        .optional()?)
}

pub fn update_profile(
    conn: &Connection,
    user_id: UserId,
    changes: ProfileChanges,
) -> OpResult<Profile> {
    conn.prepare_cached(
        "UPDATE users SET display_name = coalesce(?2, display_name), about = coalesce(?3, about),
         show_username = coalesce(?4, show_username) WHERE id = ?1",
    )?
    .execute(params![
        user_id,
        changes.display_name,
        changes.about,
        changes.show_username
    ])?;
    rows::profile_by_id(conn, user_id)?.ok_or_else(|| Rejection::no_such_user().into())
}

pub fn create_ws_ticket(
    conn: &Connection,
    actor: Actor,
    ticket_hash: [u8; 32],
    expires_at: i64,
) -> OpResult<()> {
    conn.prepare_cached(
        "INSERT INTO ws_tickets (ticket_hash, session_id, expires_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![&ticket_hash[..], actor.session_id, expires_at])?;
    Ok(())
}

pub fn redeem_ws_ticket(
    conn: &Connection,
    ticket_hash: [u8; 32],
    now: i64,
) -> OpResult<Option<Actor>> {
    let found = conn
        .prepare_cached(
            "DELETE FROM ws_tickets WHERE ticket_hash = ?1
             RETURNING session_id, expires_at, (SELECT user_id FROM sessions WHERE id = session_id)",
        )?
        .query_row([&ticket_hash[..]], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, Option<UserId>>(2)?))
        })
        .optional()?;
    Ok(match found {
        Some((session_id, expires_at, Some(user_id))) if now <= expires_at => Some(Actor {
            user_id,
            session_id,
        }),
        _ => None,
    })
}
