//! Event streams: recording the events of a write, and reading them back for resuming clients.
//!
//! A write that changes a chat holds the chat's row lock (taken first, see `chats::lock`), so it
//! knows the stream's head and numbers its events itself; [`Changes::commit`] then stores them and
//! moves the head in one statement. A user's stream is moved by an `UPDATE … RETURNING` on the
//! user's row, which locks it until commit. Either way, positions of one stream commit in order.

use std::collections::BTreeMap;

use kolokol_domain::{Cursor, MembershipChange, Route};
use kolokol_proto::{ChatId, Event, UserId};
use kolokol_store::catch_up::{FollowedChat, Plan, Streams};
use kolokol_store::event_log::{self, StoredEvent};
use kolokol_store::{CatchUp, MemberSnapshot, Outcome, Published};
use sqlx::{PgConnection, Row};

use crate::engine::{OpError, OpResult};
use crate::rows::{self, message_columns};

enum Pending {
    Chat {
        pos: i64,
        event: Event,
        membership: Option<MembershipChange>,
    },
    User {
        user_id: UserId,
        event: Event,
    },
}

/// The events one write commits, in order.
pub struct Changes {
    /// The chat whose row this write has locked (0 when none), and its stream's head.
    chat_id: ChatId,
    head: i64,
    /// The head when the write began.
    base: i64,
    pending: Vec<Pending>,
}

impl Changes {
    /// For a write holding the lock of `chat_id`, whose stream stands at `event_pos`.
    pub fn on_chat(chat_id: ChatId, event_pos: i64) -> Changes {
        Changes {
            chat_id,
            head: event_pos,
            base: event_pos,
            pending: Vec::new(),
        }
    }

    /// For a write that touches no chat's stream.
    pub fn on_users() -> Changes {
        Changes::on_chat(0, 0)
    }

    /// Appends `event` to the locked chat's stream; returns its position.
    pub fn chat(&mut self, event: Event, membership: Option<MembershipChange>) -> i64 {
        assert!(self.chat_id != 0, "a chat event needs the chat's lock");
        self.head += 1;
        self.pending.push(Pending::Chat {
            pos: self.head,
            event,
            membership,
        });
        self.head
    }

    /// Appends `event` to the user's own stream (positioned when committed).
    pub fn user(&mut self, user_id: UserId, event: Event) {
        self.pending.push(Pending::User { user_id, event });
    }

    /// Stores the events (at most one statement per stream) and returns the write's outcome.
    pub async fn commit<T>(
        self,
        conn: &mut PgConnection,
        now: i64,
        value: T,
    ) -> OpResult<Outcome<T>> {
        if self.head > self.base {
            self.store_chat_events(conn, now).await?;
        }
        // Users' rows are locked in ascending id order.
        let mut per_user: BTreeMap<UserId, Vec<String>> = BTreeMap::new();
        for pending in &self.pending {
            if let Pending::User { user_id, event } = pending {
                per_user
                    .entry(*user_id)
                    .or_default()
                    .push(serde_json::to_string(event)?);
            }
        }
        // The position of each user's next event, as it is handed out below.
        let mut next: BTreeMap<UserId, i64> = BTreeMap::new();
        for (user_id, payloads) in per_user {
            let count = payloads.len() as i64;
            let head: i64 = sqlx::query_scalar(
                "WITH moved AS (
                     UPDATE users SET event_pos = event_pos + cardinality($2::text[])
                     WHERE id = $1 RETURNING event_pos
                 ), stored AS (
                     INSERT INTO user_events (user_id, pos, payload, created_at)
                     SELECT $1, moved.event_pos - cardinality($2::text[]) + p.ord, p.payload, $3
                     FROM moved, unnest($2::text[]) WITH ORDINALITY AS p(payload, ord)
                 )
                 SELECT event_pos FROM moved",
            )
            .bind(user_id)
            .bind(payloads)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| OpError::Internal(format!("no user {user_id} for an event")))?;
            next.insert(user_id, head - count + 1);
        }
        let events = self.pending.into_iter().map(|pending| match pending {
            Pending::Chat {
                pos,
                event,
                membership,
            } => Published {
                route: Route::Chat {
                    chat_id: self.chat_id,
                    pos,
                    membership,
                },
                event,
            },
            Pending::User { user_id, event } => {
                let pos = next.get_mut(&user_id).expect("positioned above");
                *pos += 1;
                Published {
                    route: Route::User {
                        user_id,
                        pos: *pos - 1,
                    },
                    event,
                }
            }
        });
        Ok(Outcome {
            value,
            events: events.collect(),
        })
    }

    async fn store_chat_events(&self, conn: &mut PgConnection, now: i64) -> OpResult<()> {
        let mut positions = Vec::new();
        let mut kinds = Vec::new();
        let mut msg_seqs = Vec::new();
        let mut payloads = Vec::new();
        for pending in &self.pending {
            if let Pending::Chat { pos, event, .. } = pending {
                let stored = StoredEvent::of(event)?;
                positions.push(*pos);
                kinds.push(stored.kind);
                msg_seqs.push(stored.msg_seq);
                payloads.push(stored.payload);
            }
        }
        sqlx::query(
            "WITH moved AS (UPDATE chats SET event_pos = $2 WHERE id = $1)
             INSERT INTO chat_events (chat_id, pos, msg_seq, kind, payload, created_at)
             SELECT $1, e.pos, e.msg_seq, e.kind, e.payload, $7
             FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::text[])
                  AS e(pos, msg_seq, kind, payload)",
        )
        .bind(self.chat_id)
        .bind(self.head)
        .bind(positions)
        .bind(msg_seqs)
        .bind(kinds)
        .bind(payloads)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// The streams a user follows, read in one statement: their own and every chat they are in.
async fn followed_streams(conn: &mut PgConnection, user_id: UserId) -> OpResult<Streams> {
    let rows = sqlx::query(
        "SELECT u.event_pos, u.events_pruned, m.chat_id, m.joined_pos, c.event_pos, c.events_pruned
         FROM users u
         LEFT JOIN members m ON m.user_id = u.id
         LEFT JOIN chats c ON c.id = m.chat_id
         WHERE u.id = $1
         ORDER BY m.chat_id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    let Some(first) = rows.first() else {
        return Err(OpError::Internal(format!("no user {user_id}")));
    };
    let mut streams = Streams {
        user_pos: first.try_get(0)?,
        user_pruned: first.try_get(1)?,
        chats: Vec::with_capacity(rows.len()),
    };
    for row in &rows {
        if let Some(chat_id) = row.try_get::<Option<ChatId>, _>(2)? {
            streams.chats.push(FollowedChat {
                chat_id,
                joined_pos: row.try_get(3)?,
                event_pos: row.try_get(4)?,
                pruned: row.try_get(5)?,
            });
        }
    }
    Ok(streams)
}

pub async fn current_cursor(conn: &mut PgConnection, user_id: UserId) -> OpResult<Cursor> {
    Ok(followed_streams(conn, user_id).await?.current())
}

/// Runs inside one snapshot, so stream heads, pruning marks and events all agree.
pub async fn catch_up(
    conn: &mut PgConnection,
    user_id: UserId,
    cursor: Cursor,
    limit: u32,
) -> OpResult<CatchUp> {
    let reads = match followed_streams(&mut *conn, user_id).await?.plan(&cursor) {
        Plan::Resync { current } => return Ok(CatchUp::Resync { current }),
        Plan::Read(reads) => reads,
    };

    let limit = i64::from(limit);
    let mut events = Vec::new();
    if let Some(user_after) = reads.user_after {
        let rows = sqlx::query(
            "SELECT pos, payload FROM user_events WHERE user_id = $1 AND pos > $2 ORDER BY pos LIMIT $3",
        )
        .bind(user_id)
        .bind(user_after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            let payload: String = row.try_get(1)?;
            events.push(Published {
                route: Route::User {
                    user_id,
                    pos: row.try_get(0)?,
                },
                event: serde_json::from_str(&payload)?,
            });
        }
    }
    let room = limit - events.len() as i64;
    if room > 0 && !reads.chats.is_empty() {
        chat_events(conn, &reads.chats, room, &mut events).await?;
    }
    Ok(CatchUp::Events(events))
}

/// Up to `limit` events of the given chats after each one's position, chat by chat in id order,
/// message events rendered from their messages: one statement for all chats.
async fn chat_events(
    conn: &mut PgConnection,
    after: &[(ChatId, i64)],
    limit: i64,
    out: &mut Vec<Published>,
) -> OpResult<()> {
    let (chat_ids, positions): (Vec<ChatId>, Vec<i64>) = after.iter().copied().unzip();
    let sql = concat!(
        "SELECT e.chat_id, e.pos, e.kind, e.payload, e.msg_seq, ",
        message_columns!(),
        " FROM unnest($1::bigint[], $2::bigint[]) AS s(chat_id, after_pos)
          CROSS JOIN LATERAL (
              SELECT ce.chat_id, ce.pos, ce.kind, ce.payload, ce.msg_seq FROM chat_events ce
              WHERE ce.chat_id = s.chat_id AND ce.pos > s.after_pos
              ORDER BY ce.pos LIMIT $3
          ) e
          LEFT JOIN messages x ON x.chat_id = e.chat_id AND x.seq = e.msg_seq
          ORDER BY e.chat_id, e.pos
          LIMIT $3"
    );
    let rows = sqlx::query(sql)
        .bind(chat_ids)
        .bind(positions)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    const MESSAGE_AT: usize = 5;
    for row in rows {
        let chat_id: ChatId = row.try_get(0)?;
        let kind: String = row.try_get(2)?;
        let payload: Option<String> = row.try_get(3)?;
        let event = event_log::restore(&kind, row.try_get(4)?, payload.as_deref(), |seq| {
            rows::message(&row, MESSAGE_AT)?.ok_or_else(|| {
                OpError::Internal(format!("event points at a missing message {seq}"))
            })
        })?;
        let Some(event) = event else { continue };
        out.push(Published {
            route: Route::Chat {
                chat_id,
                pos: row.try_get(1)?,
                membership: None,
            },
            event,
        });
    }
    Ok(())
}

/// The chat's members and its stream's head, from one statement (so they agree).
pub async fn chat_members(conn: &mut PgConnection, chat_id: ChatId) -> OpResult<MemberSnapshot> {
    let row = sqlx::query(
        "SELECT c.event_pos, ARRAY(SELECT m.user_id FROM members m WHERE m.chat_id = c.id ORDER BY m.user_id)
         FROM chats c WHERE c.id = $1",
    )
    .bind(chat_id)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(row) => MemberSnapshot {
            as_of_pos: row.try_get(0)?,
            user_ids: row.try_get(1)?,
        },
        None => MemberSnapshot {
            as_of_pos: 0,
            user_ids: Vec::new(),
        },
    })
}

/// Streams pruned per transaction, so a large prune never holds many chats' locks for long.
const PRUNE_BATCH: i64 = 256;

/// The two kinds of event stream: each chat's and each user's own. Their tables differ only in
/// names, so one set of statements (below) prunes both.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Chat,
    User,
}

struct PruneStatements {
    /// Locks the rows of the next batch of streams with events older than `$1`, in id order.
    lock: &'static str,
    /// Deletes the old events of the streams `$2` and records how far each was pruned.
    delete: &'static str,
}

/// The statements for the streams kept on `$owners` rows, with events in `$events` keyed by
/// `$owner`.
#[rustfmt::skip]
macro_rules! prune_statements {
    ($owners:literal, $events:literal, $owner:literal) => {
        PruneStatements {
            lock: concat!(
                "SELECT id FROM ", $owners, " WHERE id IN (
                     SELECT ", $owner, " FROM ", $events, " WHERE created_at < $1
                     GROUP BY ", $owner, " ORDER BY ", $owner, " LIMIT $2
                 )
                 ORDER BY id FOR NO KEY UPDATE"
            ),
            delete: concat!(
                "WITH gone AS (
                     DELETE FROM ", $events, " WHERE ", $owner, " = ANY($2) AND created_at < $1
                     RETURNING ", $owner, " AS owner, pos
                 ), marked AS (
                     UPDATE ", $owners, " o SET events_pruned = GREATEST(o.events_pruned, g.pos)
                     FROM (SELECT owner, max(pos) AS pos FROM gone GROUP BY owner) g
                     WHERE o.id = g.owner
                 )
                 SELECT count(*) FROM gone"
            ),
        }
    };
}

impl Stream {
    fn prune_statements(self) -> PruneStatements {
        match self {
            Stream::Chat => prune_statements!("chats", "chat_events", "chat_id"),
            Stream::User => prune_statements!("users", "user_events", "user_id"),
        }
    }
}

/// Prunes the next batch of `stream`s with events older than `before`: locks their rows in id
/// order, deletes the old events and records how far each stream was pruned. Returns the number
/// of events deleted and whether any stream was found.
pub async fn prune_batch(
    conn: &mut PgConnection,
    stream: Stream,
    before: i64,
) -> OpResult<(u64, bool)> {
    let statements = stream.prune_statements();
    let locked: Vec<i64> = sqlx::query_scalar(statements.lock)
        .bind(before)
        .bind(PRUNE_BATCH)
        .fetch_all(&mut *conn)
        .await?;
    if locked.is_empty() {
        return Ok((0, false));
    }
    let deleted: i64 = sqlx::query_scalar(statements.delete)
        .bind(before)
        .bind(&locked)
        .fetch_one(conn)
        .await?;
    Ok((deleted as u64, true))
}

/// Expired tickets, and presses older than the events that told their bots.
pub async fn prune_expired(conn: &mut PgConnection, before: i64) -> OpResult<()> {
    sqlx::query("DELETE FROM ws_tickets WHERE expires_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM bot_callbacks WHERE created_at < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(())
}
