//! Event streams: appending events inside a write, and reading them back for resuming clients.

use kolokol_domain::{Cursor, MembershipChange, Route};
use kolokol_proto::{ChatId, Event, UserId};
use kolokol_store::catch_up::{FollowedChat, Plan, Streams};
use kolokol_store::event_log::{self, StoredEvent};
use kolokol_store::{CatchUp, MemberSnapshot, Outcome, Published};
use rusqlite::{Connection, params};

use crate::engine::{OpError, OpResult};
use crate::rows;

/// The events one write commits, in order.
#[derive(Default)]
pub struct Changes {
    pub events: Vec<Published>,
}

impl Changes {
    /// The outcome of a write: its value and the events it committed.
    pub fn finish<T>(self, value: T) -> Outcome<T> {
        Outcome {
            value,
            events: self.events,
        }
    }

    /// Appends `event` to the chat's stream at its next position.
    pub fn chat(
        &mut self,
        conn: &Connection,
        chat_id: ChatId,
        event: Event,
        membership: Option<MembershipChange>,
        now: i64,
    ) -> OpResult<i64> {
        let pos: i64 = conn
            .prepare_cached(
                "UPDATE chats SET event_pos = event_pos + 1 WHERE id = ?1 RETURNING event_pos",
            )?
            .query_row([chat_id], |row| row.get(0))?;
        self.chat_at(conn, chat_id, pos, event, membership, now)?;
        Ok(pos)
    }

    /// Records `event` at `pos`, a position the caller has just taken from `chats.event_pos`
    /// (sending takes it in the same statement that advances `last_seq`).
    pub fn chat_at(
        &mut self,
        conn: &Connection,
        chat_id: ChatId,
        pos: i64,
        event: Event,
        membership: Option<MembershipChange>,
        now: i64,
    ) -> OpResult<()> {
        let stored = StoredEvent::of(&event)?;
        conn.prepare_cached(
            "INSERT INTO chat_events (chat_id, pos, msg_seq, kind, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![chat_id, pos, stored.msg_seq, stored.kind, stored.payload, now])?;
        self.events.push(Published {
            route: Route::Chat {
                chat_id,
                pos,
                membership,
            },
            event,
        });
        Ok(())
    }

    /// Appends `event` to the user's own stream.
    pub fn user(
        &mut self,
        conn: &Connection,
        user_id: UserId,
        event: Event,
        now: i64,
    ) -> OpResult<()> {
        let pos: i64 = conn
            .prepare_cached(
                "UPDATE users SET event_pos = event_pos + 1 WHERE id = ?1 RETURNING event_pos",
            )?
            .query_row([user_id], |row| row.get(0))?;
        conn.prepare_cached(
            "INSERT INTO user_events (user_id, pos, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![user_id, pos, serde_json::to_string(&event)?, now])?;
        self.events.push(Published {
            route: Route::User { user_id, pos },
            event,
        });
        Ok(())
    }
}

/// The user's own stream and every chat they are in (the caller's read transaction keeps the two
/// reads consistent).
fn followed_streams(conn: &Connection, user_id: UserId) -> OpResult<Streams> {
    let (user_pos, user_pruned) = conn
        .prepare_cached("SELECT event_pos, events_pruned FROM users WHERE id = ?1")?
        .query_row([user_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let mut statement = conn.prepare_cached(
        "SELECT m.chat_id, m.joined_pos, c.event_pos, c.events_pruned
         FROM members m JOIN chats c ON c.id = m.chat_id WHERE m.user_id = ?1 ORDER BY m.chat_id",
    )?;
    let chats = statement
        .query_map([user_id], |row| {
            Ok(FollowedChat {
                chat_id: row.get(0)?,
                joined_pos: row.get(1)?,
                event_pos: row.get(2)?,
                pruned: row.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Streams {
        user_pos,
        user_pruned,
        chats,
    })
}

pub fn current_cursor(conn: &Connection, user_id: UserId) -> OpResult<Cursor> {
    Ok(followed_streams(conn, user_id)?.current())
}

pub fn catch_up(
    conn: &Connection,
    user_id: UserId,
    cursor: &Cursor,
    limit: u32,
) -> OpResult<CatchUp> {
    let reads = match followed_streams(conn, user_id)?.plan(cursor) {
        Plan::Resync { current } => return Ok(CatchUp::Resync { current }),
        Plan::Read(reads) => reads,
    };

    let mut events = Vec::new();
    let mut remaining = limit as i64;
    if let Some(user_after) = reads.user_after {
        let mut statement = conn.prepare_cached(
            "SELECT pos, payload FROM user_events WHERE user_id = ?1 AND pos > ?2 ORDER BY pos LIMIT ?3",
        )?;
        let rows = statement.query_map(params![user_id, user_after, remaining], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (pos, payload) = row?;
            events.push(Published {
                route: Route::User { user_id, pos },
                event: serde_json::from_str(&payload)?,
            });
        }
        remaining = limit as i64 - events.len() as i64;
    }
    for (chat_id, after) in reads.chats {
        if remaining <= 0 {
            break;
        }
        let before = events.len();
        chat_events_after(conn, chat_id, after, remaining, &mut events)?;
        remaining -= (events.len() - before) as i64;
    }
    Ok(CatchUp::Events(events))
}

fn chat_events_after(
    conn: &Connection,
    chat_id: ChatId,
    after: i64,
    limit: i64,
    out: &mut Vec<Published>,
) -> OpResult<()> {
    let mut statement = conn.prepare_cached(
        "SELECT pos, msg_seq, kind, payload FROM chat_events WHERE chat_id = ?1 AND pos > ?2 ORDER BY pos LIMIT ?3",
    )?;
    let rows = statement.query_map(params![chat_id, after, limit], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, Option<i64>>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Option<String>>(3)?,
        ))
    })?;
    for row in rows {
        let (pos, msg_seq, kind, payload) = row?;
        let event = event_log::restore(&kind, msg_seq, payload.as_deref(), |seq| {
            let message = rows::message(conn, chat_id, seq)?;
            message.ok_or(OpError::Sql(rusqlite::Error::QueryReturnedNoRows))
        })?;
        let Some(event) = event else { continue };
        out.push(Published {
            route: Route::Chat {
                chat_id,
                pos,
                membership: None,
            },
            event,
        });
    }
    Ok(())
}

pub fn chat_members(conn: &Connection, chat_id: ChatId) -> OpResult<MemberSnapshot> {
    let as_of_pos: i64 = conn
        .prepare_cached("SELECT event_pos FROM chats WHERE id = ?1")?
        .query_row([chat_id], |row| row.get(0))
        .unwrap_or(0);
    let user_ids = conn
        .prepare_cached("SELECT user_id FROM members WHERE chat_id = ?1")?
        .query_map([chat_id], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<UserId>>>()?;
    Ok(MemberSnapshot {
        as_of_pos,
        user_ids,
    })
}

/// Deletes events older than `before` and remembers, per stream, how far it was pruned.
pub fn prune(conn: &Connection, before: i64) -> OpResult<u64> {
    conn.execute(
        "UPDATE chats SET events_pruned = (SELECT max(pos) FROM chat_events e WHERE e.chat_id = chats.id AND e.created_at < ?1)
         WHERE id IN (SELECT DISTINCT chat_id FROM chat_events WHERE created_at < ?1)",
        [before],
    )?;
    conn.execute(
        "UPDATE users SET events_pruned = (SELECT max(pos) FROM user_events e WHERE e.user_id = users.id AND e.created_at < ?1)
         WHERE id IN (SELECT DISTINCT user_id FROM user_events WHERE created_at < ?1)",
        [before],
    )?;
    let chat_rows = conn.execute("DELETE FROM chat_events WHERE created_at < ?1", [before])?;
    let user_rows = conn.execute("DELETE FROM user_events WHERE created_at < ?1", [before])?;
    conn.execute("DELETE FROM ws_tickets WHERE expires_at < ?1", [before])?;
    // A press outlives the event that told its bot by no more than the bot could read it.
    conn.execute("DELETE FROM bot_callbacks WHERE created_at < ?1", [before])?;
    Ok((chat_rows + user_rows) as u64)
}
