//! Users, sessions and WebSocket tickets.

use kolokol_domain::Rejection;
use kolokol_proto::{Event, Profile, User, UserId};
use kolokol_store::{
    Actor, Credentials, NewSession, NewUser, Outcome, ProfileChanges, Revoke, SessionRecord,
};
use sqlx::{PgConnection, Row};

use crate::engine::OpResult;
use crate::events::Changes;
use crate::rows::{self, own_user_columns, user_columns};

const DAY: i64 = 86_400_000;

/// One statement: the user and their first session, or nothing when the name is taken (also when
/// another node registers it at the same moment: the unique index decides).
pub async fn register(
    conn: &mut PgConnection,
    user: NewUser,
    session: NewSession,
    now: i64,
) -> OpResult<(User, i64)> {
    let row = sqlx::query(
        "WITH u AS (
             INSERT INTO users (username, display_name, password_hash, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (username) DO NOTHING
             RETURNING id, username, display_name, about, is_bot
         ), s AS (
             INSERT INTO sessions (user_id, token_hash, device_name, created_at, last_seen_at)
             SELECT u.id, $5, $6, $4, $4 FROM u
             RETURNING id
         )
         SELECT u.id, u.username, u.display_name, u.about, u.is_bot, s.id FROM u CROSS JOIN s",
    )
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(&user.password_hash)
    .bind(now)
    .bind(&session.token_hash[..])
    .bind(&session.device_name)
    .fetch_optional(conn)
    .await?;
    match row {
        Some(row) => Ok((rows::user(&row, 0)?, row.try_get(5)?)),
        None => Err(Rejection::username_taken().into()),
    }
}

pub async fn create_session(
    conn: &mut PgConnection,
    user_id: UserId,
    session: NewSession,
    now: i64,
) -> OpResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO sessions (user_id, token_hash, device_name, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(&session.token_hash[..])
    .bind(&session.device_name)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

pub async fn credentials(
    conn: &mut PgConnection,
    username: String,
) -> OpResult<Option<Credentials>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        own_user_columns!(),
        ", password_hash FROM users WHERE username = $1"
    ))
    .bind(&username)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Credentials {
        user: rows::user(&row, 0)?,
        password_hash: row.try_get(6)?,
    }))
}

/// The session of a token hash. Only the day of use is ever shown, so the row is written at most
/// once a (UTC) day: in the same statement, only when `last_seen_at` lies on another day than
/// `now` (the days of `kolokol_domain::time::date_of`).
pub async fn authenticate(
    conn: &mut PgConnection,
    token_hash: [u8; 32],
    now: i64,
) -> OpResult<Option<Actor>> {
    let today = now - now.rem_euclid(DAY);
    let row = sqlx::query(
        "WITH s AS (
             SELECT id, user_id, last_seen_at FROM sessions WHERE token_hash = $1
         ), touched AS (
             UPDATE sessions t SET last_seen_at = $2 FROM s
             WHERE t.id = s.id AND (s.last_seen_at < $3 OR s.last_seen_at >= $3 + $4)
         )
         SELECT id, user_id FROM s",
    )
    .bind(&token_hash[..])
    .bind(now)
    .bind(today)
    .bind(DAY)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Actor {
        session_id: row.try_get(0)?,
        user_id: row.try_get(1)?,
    }))
}

pub async fn sessions(conn: &mut PgConnection, user_id: UserId) -> OpResult<Vec<SessionRecord>> {
    let rows = sqlx::query(
        "SELECT id, device_name, created_at, last_seen_at FROM sessions WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(SessionRecord {
                id: row.try_get(0)?,
                device_name: row.try_get(1)?,
                created_at: row.try_get(2)?,
                last_seen_at: row.try_get(3)?,
            })
        })
        .collect()
}

/// Locks the user's row first (as `set_password` does by updating it), then deletes: one order
/// for every write that touches a user's sessions and stream.
pub async fn revoke_sessions(
    conn: &mut PgConnection,
    user_id: UserId,
    which: Revoke,
    now: i64,
) -> OpResult<Outcome<u64>> {
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    revoke_locked(conn, user_id, which, now).await
}

async fn revoke_locked(
    conn: &mut PgConnection,
    user_id: UserId,
    which: Revoke,
    now: i64,
) -> OpResult<Outcome<u64>> {
    let (sql, session) = match which {
        Revoke::One(id) => (
            "DELETE FROM sessions WHERE user_id = $1 AND id = $2 RETURNING id",
            id,
        ),
        Revoke::AllExcept(id) => (
            "DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id",
            id,
        ),
    };
    let mut revoked: Vec<i64> = sqlx::query_scalar(sql)
        .bind(user_id)
        .bind(session)
        .fetch_all(&mut *conn)
        .await?;
    revoked.sort_unstable();
    let mut changes = Changes::on_users();
    for &session_id in &revoked {
        changes.user(user_id, Event::SessionRevoked { session_id });
    }
    let mut outcome = changes
        .commit(&mut *conn, now, revoked.len() as u64)
        .await?;
    let gone = crate::e2ee::announce_gone_devices(conn, user_id, &revoked, now).await?;
    outcome.events.extend(gone);
    Ok(outcome)
}

pub async fn set_password(
    conn: &mut PgConnection,
    actor: Actor,
    password_hash: String,
    now: i64,
) -> OpResult<Outcome<u64>> {
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(actor.user_id)
        .bind(&password_hash)
        .execute(&mut *conn)
        .await?;
    revoke_locked(
        conn,
        actor.user_id,
        Revoke::AllExcept(actor.session_id),
        now,
    )
    .await
}

pub async fn user(conn: &mut PgConnection, id: UserId) -> OpResult<Option<User>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|row| rows::user(&row, 0)).transpose()
}

pub async fn user_by_username(conn: &mut PgConnection, username: String) -> OpResult<Option<User>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE username = $1"
    ))
    .bind(&username)
    .fetch_optional(conn)
    .await?;
    row.map(|row| rows::user(&row, 0)).transpose()
}

pub async fn profile(conn: &mut PgConnection, id: UserId) -> OpResult<Option<Profile>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        own_user_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|row| rows::profile(&row)).transpose()
}

pub async fn update_profile(
    conn: &mut PgConnection,
    user_id: UserId,
    changes: ProfileChanges,
) -> OpResult<Profile> {
    let row = sqlx::query(concat!(
        "UPDATE users SET display_name = coalesce($2, display_name), about = coalesce($3, about),
         show_username = coalesce($4, show_username)
         WHERE id = $1 RETURNING ",
        own_user_columns!()
    ))
    .bind(user_id)
    .bind(changes.display_name)
    .bind(changes.about)
    .bind(changes.show_username)
    .fetch_optional(conn)
    .await?;
    match row {
        Some(row) => rows::profile(&row),
        None => Err(Rejection::no_such_user().into()),
    }
}

pub async fn create_ws_ticket(
    conn: &mut PgConnection,
    actor: Actor,
    ticket_hash: [u8; 32],
    expires_at: i64,
) -> OpResult<()> {
    sqlx::query("INSERT INTO ws_tickets (ticket_hash, session_id, expires_at) VALUES ($1, $2, $3)")
        .bind(&ticket_hash[..])
        .bind(actor.session_id)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deleting the ticket is what makes it work once, even when two nodes redeem it at once.
pub async fn redeem_ws_ticket(
    conn: &mut PgConnection,
    ticket_hash: [u8; 32],
    now: i64,
) -> OpResult<Option<Actor>> {
    let row = sqlx::query(
        "WITH t AS (DELETE FROM ws_tickets WHERE ticket_hash = $1 RETURNING session_id, expires_at)
         SELECT t.session_id, t.expires_at, s.user_id
         FROM t LEFT JOIN sessions s ON s.id = t.session_id",
    )
    .bind(&ticket_hash[..])
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let expires_at: i64 = row.try_get(1)?;
    let user_id: Option<UserId> = row.try_get(2)?;
    Ok(match user_id {
        Some(user_id) if now <= expires_at => Some(Actor {
            user_id,
            session_id: row.try_get(0)?,
        }),
        _ => None,
    })
}
