//! End-to-end encrypted chats: devices, key packages, groups, commits and Welcomes (the MLS
//! delivery service), and application messages stored as the ciphertext they are. Every change
//! of a group holds its chat's row lock, so two nodes never accept two commits for one epoch.

use std::collections::BTreeSet;

use kolokol_domain::mls::{self, Device, Leaf};
use kolokol_domain::{Rejection, permissions, reject};
use kolokol_proto::{ChatId, ErrorCode, Event, Message, UserId};
use kolokol_store::e2ee::epoch_column;
use kolokol_store::{
    Actor, ClaimedKeyPackages, DeviceRecord, GroupView, KeyPackageBatch, KeyPackageCount,
    MAX_KEY_PACKAGES, NewCommit, NewMls, Outcome, WelcomeRecord,
};
use sqlx::{PgConnection, Row};

use crate::chats::{Locked, lock};
use crate::engine::OpResult;
use crate::events::Changes;
use crate::rows;

async fn device(conn: &mut PgConnection, session_id: i64) -> OpResult<Option<Device>> {
    let row = sqlx::query("SELECT user_id, signature_key FROM mls_devices WHERE session_id = $1")
        .bind(session_id)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(row) => Some(Device {
            user_id: row.try_get(0)?,
            device_id: session_id,
            signature_key: row.try_get(1)?,
        }),
        None => None,
    })
}

pub async fn publish(
    conn: &mut PgConnection,
    actor: Actor,
    batch: KeyPackageBatch,
    now: i64,
) -> OpResult<Outcome<KeyPackageCount>> {
    let this = Device {
        user_id: actor.user_id,
        device_id: actor.session_id,
        signature_key: batch.signature_key,
    };
    // Registering takes the session's row lock, so two first publishes of one device queue.
    sqlx::query("SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE")
        .bind(actor.session_id)
        .execute(&mut *conn)
        .await?;
    let registered = device(&mut *conn, actor.session_id).await?;
    if registered.as_ref().is_some_and(|known| *known != this) {
        return Err(Rejection::new(
            ErrorCode::MlsInvalidKeyPackage,
            "this device signs with another key than it registered",
        )
        .into());
    }
    if registered.is_none() {
        sqlx::query(
            "INSERT INTO mls_devices (session_id, user_id, signature_key, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(actor.session_id)
        .bind(actor.user_id)
        .bind(&this.signature_key)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    for package in batch.packages {
        if package.device != this {
            return Err(Rejection::new(
                ErrorCode::MlsInvalidKeyPackage,
                "a key package of another device",
            )
            .into());
        }
        if package.last_resort {
            sqlx::query("DELETE FROM mls_key_packages WHERE device_id = $1 AND last_resort")
                .bind(actor.session_id)
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query(
            "INSERT INTO mls_key_packages (ref, device_id, data, last_resort, not_after, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (ref) DO NOTHING",
        )
        .bind(&package.reference)
        .bind(actor.session_id)
        .bind(&package.data)
        .bind(package.last_resort)
        .bind(package.not_after)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    let count = count(&mut *conn, actor.session_id, now).await?;
    if count.available > MAX_KEY_PACKAGES {
        return Err(Rejection::new(
            ErrorCode::PayloadTooLarge,
            "a device keeps at most 500 unused key packages",
        )
        .into());
    }
    let mut events = Vec::new();
    if registered.is_none() {
        // Members of the user's encrypted chats add the new device.
        let chats: Vec<ChatId> = sqlx::query_scalar(
            "SELECT c.id FROM chats c JOIN members m ON m.chat_id = c.id
             WHERE m.user_id = $1 AND c.privacy = 'encrypted' ORDER BY c.id",
        )
        .bind(actor.user_id)
        .fetch_all(&mut *conn)
        .await?;
        for chat_id in chats {
            let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
            let mut changes = locked.changes();
            changes.chat(Event::MlsChanged { chat_id }, None);
            events.extend(changes.commit(&mut *conn, now, ()).await?.events);
        }
    }
    Ok(Outcome {
        value: count,
        events,
    })
}

pub async fn count(conn: &mut PgConnection, device_id: i64, now: i64) -> OpResult<KeyPackageCount> {
    let row = sqlx::query(
        "SELECT count(*) FILTER (WHERE NOT last_resort), count(*) FILTER (WHERE last_resort) > 0
         FROM mls_key_packages WHERE device_id = $1 AND not_after > $2",
    )
    .bind(device_id)
    .bind(now)
    .fetch_one(conn)
    .await?;
    Ok(KeyPackageCount {
        available: u32::try_from(row.try_get::<i64, _>(0)?).unwrap_or(u32::MAX),
        last_resort: row.try_get(1)?,
    })
}

pub async fn devices_of(conn: &mut PgConnection, user_id: UserId) -> OpResult<Vec<DeviceRecord>> {
    let rows = sqlx::query(
        "SELECT session_id, signature_key, created_at FROM mls_devices WHERE user_id = $1 ORDER BY session_id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DeviceRecord {
                id: row.try_get(0)?,
                signature_key: row.try_get(1)?,
                created_at: row.try_get(2)?,
            })
        })
        .collect()
}

fn device_at(row: &sqlx::postgres::PgRow, at: usize) -> OpResult<Device> {
    Ok(Device {
        user_id: row.try_get(at)?,
        device_id: row.try_get(at + 1)?,
        signature_key: row.try_get(at + 2)?,
    })
}

/// The group as the delivery service sees it: a chat nobody has committed to yet is at
/// generation 1, epoch 0.
async fn group_state(conn: &mut PgConnection, chat_id: ChatId) -> OpResult<(u32, u64)> {
    let state = sqlx::query("SELECT generation, epoch FROM mls_groups WHERE chat_id = $1")
        .bind(chat_id)
        .fetch_optional(conn)
        .await?;
    Ok(match state {
        Some(row) => (
            u32::try_from(row.try_get::<i64, _>(0)?).unwrap_or_default(),
            u64::try_from(row.try_get::<i64, _>(1)?).unwrap_or_default(),
        ),
        None => (1, 0),
    })
}

/// Whether a leaf of the group must go (`GroupView::pending_remove` is not empty), asked without
/// reading the group: every encrypted send asks it.
async fn removals_pending(conn: &mut PgConnection, chat_id: ChatId) -> OpResult<bool> {
    let sql = "SELECT EXISTS (SELECT 1 FROM mls_leaves l WHERE l.chat_id = $1 AND NOT EXISTS (
             SELECT 1 FROM mls_devices d JOIN members m ON m.user_id = d.user_id AND m.chat_id = l.chat_id
             WHERE d.session_id = l.device_id AND d.user_id = l.user_id AND d.signature_key = l.signature_key))";
    Ok(sqlx::query_scalar(sql)
        .bind(chat_id)
        .fetch_one(conn)
        .await?)
}

async fn group_view(conn: &mut PgConnection, chat_id: ChatId) -> OpResult<GroupView> {
    let (generation, epoch) = group_state(&mut *conn, chat_id).await?;
    let leaves = sqlx::query(
        "SELECT leaf, user_id, device_id, signature_key FROM mls_leaves WHERE chat_id = $1 ORDER BY leaf",
    )
    .bind(chat_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(Leaf {
            leaf: u32::try_from(row.try_get::<i64, _>(0)?).unwrap_or(u32::MAX),
            device: device_at(row, 1)?,
        })
    })
    .collect::<OpResult<Vec<_>>>()?;
    let member_devices = sqlx::query(
        "SELECT d.user_id, d.session_id, d.signature_key FROM mls_devices d
         JOIN members m ON m.user_id = d.user_id WHERE m.chat_id = $1 ORDER BY d.session_id",
    )
    .bind(chat_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| device_at(row, 0))
    .collect::<OpResult<Vec<_>>>()?;
    Ok(GroupView::of(generation, epoch, leaves, member_devices))
}

/// Locks the chat for a member, if it is encrypted.
async fn lock_encrypted(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
) -> OpResult<Locked> {
    let locked = lock(conn, chat_id, actor.user_id).await?;
    mls::check_privacy(locked.chat.privacy, true)?;
    Ok(locked)
}

pub async fn group(conn: &mut PgConnection, actor: Actor, chat_id: ChatId) -> OpResult<GroupView> {
    let (chat, _) = crate::chats::membership(&mut *conn, actor.user_id, chat_id).await?;
    mls::check_privacy(chat.privacy, true)?;
    group_view(conn, chat_id).await
}

pub async fn claim(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    devices: Option<Vec<i64>>,
    now: i64,
) -> OpResult<Outcome<ClaimedKeyPackages>> {
    lock_encrypted(&mut *conn, actor, chat_id).await?;
    let view = group_view(&mut *conn, chat_id).await?;
    if !view.leaves.is_empty() && view.leaf_of(actor.session_id).is_none() {
        return Err(Rejection::new(
            ErrorCode::Forbidden,
            "only a device in the group adds others to it",
        )
        .into());
    }
    let wanted: Option<BTreeSet<i64>> = devices.map(|ids| ids.into_iter().collect());
    let mut claimed = ClaimedKeyPackages::default();
    let mut changes = Changes::on_users();
    for device in view.pending_add {
        if wanted
            .as_ref()
            .is_some_and(|ids| !ids.contains(&device.device_id))
        {
            continue;
        }
        // Another node claiming for the same device takes another package, never the same one.
        let taken: Option<Vec<u8>> = sqlx::query_scalar(
            "DELETE FROM mls_key_packages WHERE ref = (
                 SELECT ref FROM mls_key_packages
                 WHERE device_id = $1 AND NOT last_resort AND not_after > $2
                 ORDER BY created_at, ref LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING data",
        )
        .bind(device.device_id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        let package = match taken {
            Some(data) => Some(data),
            None => {
                sqlx::query_scalar(
                    "SELECT data FROM mls_key_packages WHERE device_id = $1 AND last_resort AND not_after > $2",
                )
                .bind(device.device_id)
                .bind(now)
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        let left = count(&mut *conn, device.device_id, now).await?;
        if left.low() {
            let event = Event::MlsKeyPackagesLow {
                device_id: device.device_id,
                available: left.available,
            };
            changes.user(device.user_id, event);
        }
        match package {
            Some(data) => claimed.packages.push((device, data)),
            None => claimed.missing.push(device),
        }
    }
    changes.commit(conn, now, claimed).await
}

async fn original(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    client_msg_id: &str,
) -> OpResult<Option<Message>> {
    let seq: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM messages WHERE chat_id = $1 AND sender_id = $2 AND client_msg_id = $3",
    )
    .bind(chat_id)
    .bind(actor.user_id)
    .bind(client_msg_id)
    .fetch_optional(&mut *conn)
    .await?;
    match seq {
        Some(seq) => rows::fetch_message(conn, chat_id, seq).await,
        None => Ok(None),
    }
}

async fn refuse_replay(conn: &mut PgConnection, chat_id: ChatId, digest: &[u8]) -> OpResult<()> {
    let seen: Option<i64> =
        sqlx::query_scalar("SELECT seq FROM messages WHERE chat_id = $1 AND mls_digest = $2")
            .bind(chat_id)
            .bind(digest)
            .fetch_optional(conn)
            .await?;
    match seen {
        Some(_) => Err(mls::replayed().into()),
        None => Ok(()),
    }
}

/// An MLS message to store as the chat's next.
struct Sealed<'a> {
    client_msg_id: &'a str,
    kind: &'static str,
    epoch: u64,
    data: &'a [u8],
    digest: &'a [u8],
    franking_tag: Option<&'a [u8]>,
}

/// Stores an MLS message as the chat's next (under its lock) and queues `message.new`.
async fn store_mls(
    conn: &mut PgConnection,
    actor: Actor,
    locked: &Locked,
    changes: &mut Changes,
    sealed: Sealed<'_>,
    now: i64,
) -> OpResult<Message> {
    let chat_id = locked.chat.id;
    let seq = locked.chat.last_seq + 1;
    let is_post = sealed.kind == "application";
    sqlx::query(
        "INSERT INTO messages (chat_id, seq, sender_id, client_msg_id, text, mentions, created_at, mls_kind, mls_epoch, mls_data, mls_digest, franking_tag)
         VALUES ($1, $2, $3, $4, '', '{}', $5, $6, $7, $8, $9, $10)",
    )
    .bind(chat_id)
    .bind(seq)
    .bind(actor.user_id)
    .bind(sealed.client_msg_id)
    .bind(now)
    .bind(sealed.kind)
    .bind(epoch_column(sealed.epoch))
    .bind(sealed.data)
    .bind(sealed.digest)
    .bind(sealed.franking_tag)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE chats SET last_seq = $2, last_activity_at = $3 WHERE id = $1")
        .bind(chat_id)
        .bind(seq)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    // What you sent yourself is read; an application message is a post, for slow mode.
    sqlx::query(
        "UPDATE members SET read_seq = $3, last_post_at = CASE WHEN $5 THEN $4 ELSE last_post_at END
         WHERE chat_id = $1 AND user_id = $2",
    )
    .bind(chat_id)
    .bind(actor.user_id)
    .bind(seq)
    .bind(now)
    .bind(is_post)
    .execute(&mut *conn)
    .await?;
    let message = rows::fetch_message(conn, chat_id, seq)
        .await?
        .ok_or_else(Rejection::no_message)?;
    changes.chat(
        Event::MessageNew {
            message: message.clone(),
        },
        None,
    );
    Ok(message)
}

pub async fn send_application(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    client_msg_id: String,
    sealed: NewMls,
    now: i64,
) -> OpResult<Outcome<(Message, bool)>> {
    let locked = lock(&mut *conn, chat_id, actor.user_id).await?;
    if let Some(message) = original(&mut *conn, actor, chat_id, &client_msg_id).await? {
        return Ok(Outcome::unchanged((message, false)));
    }
    let pace = sqlx::query(
        "SELECT muted_until, last_post_at FROM members WHERE chat_id = $1 AND user_id = $2",
    )
    .bind(chat_id)
    .bind(actor.user_id)
    .fetch_one(&mut *conn)
    .await?;
    let chat = &locked.chat;
    permissions::post(chat.kind, locked.role, chat.posting)?;
    permissions::post_pace(
        locked.role,
        pace.try_get(0)?,
        pace.try_get(1)?,
        chat.slow_mode_secs,
        now,
    )?;
    mls::check_privacy(chat.privacy, true)?;
    mls::check_application(
        group_state(&mut *conn, chat_id).await?,
        (sealed.generation, sealed.epoch),
        removals_pending(&mut *conn, chat_id).await?,
    )?;
    refuse_replay(&mut *conn, chat_id, &sealed.digest).await?;
    let mut changes = locked.changes();
    let message = store_mls(
        &mut *conn,
        actor,
        &locked,
        &mut changes,
        Sealed {
            client_msg_id: &client_msg_id,
            kind: "application",
            epoch: sealed.epoch,
            data: &sealed.data,
            digest: &sealed.digest,
            franking_tag: Some(&sealed.franking_tag),
        },
        now,
    )
    .await?;
    changes.commit(conn, now, (message, true)).await
}

pub async fn commit(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    new: NewCommit,
    now: i64,
) -> OpResult<Outcome<(Message, bool)>> {
    let locked = lock_encrypted(&mut *conn, actor, chat_id).await?;
    if let Some(message) = original(&mut *conn, actor, chat_id, &new.client_msg_id).await? {
        return Ok(Outcome::unchanged((message, false)));
    }
    let view = group_view(&mut *conn, chat_id).await?;
    let commit = &new.commit;
    mls::check_commit_epoch(
        (view.generation, view.epoch),
        (commit.generation, commit.epoch),
    )?;
    refuse_replay(&mut *conn, chat_id, &new.digest).await?;
    let Some(committer) = device(&mut *conn, actor.session_id).await? else {
        return reject(
            ErrorCode::MlsForbidden,
            "this session is no MLS device yet: publish key packages first",
        )
        .map_err(Into::into);
    };
    let leaves = mls::apply_commit(&view.leaves, &committer, &commit.facts, &view.allowed())?;
    let epoch = commit.epoch + 1;
    sqlx::query(
        "INSERT INTO mls_groups (chat_id, generation, epoch, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (chat_id) DO UPDATE SET epoch = excluded.epoch, updated_at = excluded.updated_at",
    )
    .bind(chat_id)
    .bind(i64::from(commit.generation))
    .bind(epoch_column(epoch))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let removed: Vec<i64> = leaves.removed.iter().map(|&leaf| i64::from(leaf)).collect();
    sqlx::query("DELETE FROM mls_leaves WHERE chat_id = $1 AND leaf = ANY($2)")
        .bind(chat_id)
        .bind(&removed)
        .execute(&mut *conn)
        .await?;
    for leaf in &leaves.added {
        sqlx::query(
            "INSERT INTO mls_leaves (chat_id, leaf, user_id, device_id, signature_key, since_epoch)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(chat_id)
        .bind(i64::from(leaf.leaf))
        .bind(leaf.device.user_id)
        .bind(leaf.device.device_id)
        .bind(&leaf.device.signature_key)
        .bind(epoch_column(epoch))
        .execute(&mut *conn)
        .await?;
    }
    let mut changes = locked.changes();
    let message = store_mls(
        &mut *conn,
        actor,
        &locked,
        &mut changes,
        Sealed {
            client_msg_id: &new.client_msg_id,
            kind: "commit",
            epoch,
            data: &commit.data,
            digest: &new.digest,
            franking_tag: None,
        },
        now,
    )
    .await?;
    if let Some(welcome) = &commit.welcome {
        let welcome_id: i64 = sqlx::query_scalar(
            "INSERT INTO mls_welcomes (chat_id, epoch, commit_seq, data, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(chat_id)
        .bind(epoch_column(epoch))
        .bind(message.seq)
        .bind(&welcome.data)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        for (device_id, reference) in &welcome.recipients {
            sqlx::query(
                "INSERT INTO mls_welcome_recipients (welcome_id, device_id, key_package_ref) VALUES ($1, $2, $3)",
            )
            .bind(welcome_id)
            .bind(device_id)
            .bind(reference)
            .execute(&mut *conn)
            .await?;
        }
        // Those its proposals add: a first commit gives its sender leaf 0 without a Welcome.
        let users: BTreeSet<UserId> = commit
            .facts
            .adds
            .iter()
            .map(|device| device.user_id)
            .collect();
        for user_id in users {
            let event = Event::MlsWelcome {
                chat_id,
                welcome_id,
                epoch,
            };
            changes.user(user_id, event);
        }
    }
    changes.commit(conn, now, (message, true)).await
}

pub async fn welcomes(conn: &mut PgConnection, actor: Actor) -> OpResult<Vec<WelcomeRecord>> {
    let rows = sqlx::query(
        "SELECT w.id, w.chat_id, w.epoch, w.commit_seq, w.data FROM mls_welcomes w
         JOIN mls_welcome_recipients r ON r.welcome_id = w.id WHERE r.device_id = $1 ORDER BY w.id",
    )
    .bind(actor.session_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(WelcomeRecord {
                id: row.try_get(0)?,
                chat_id: row.try_get(1)?,
                epoch: u64::try_from(row.try_get::<i64, _>(2)?).unwrap_or_default(),
                commit_seq: row.try_get(3)?,
                data: row.try_get(4)?,
            })
        })
        .collect()
}

pub async fn forget_device(
    conn: &mut PgConnection,
    actor: Actor,
    now: i64,
) -> OpResult<Outcome<()>> {
    sqlx::query("DELETE FROM mls_devices WHERE session_id = $1")
        .bind(actor.session_id)
        .execute(&mut *conn)
        .await?;
    let events = announce_gone_devices(conn, actor.user_id, &[actor.session_id], now).await?;
    Ok(Outcome { value: (), events })
}

/// Devices of the user that are gone (revoked, or restarted without their state): each encrypted
/// chat where one still holds a leaf hears `mls.changed`, so a member's device commits its
/// removal; the events committed. Chats the user has left heard it when they left.
pub async fn announce_gone_devices(
    conn: &mut PgConnection,
    user_id: UserId,
    devices: &[i64],
    now: i64,
) -> OpResult<Vec<kolokol_store::Published>> {
    let chats: Vec<ChatId> = sqlx::query_scalar(
        "SELECT DISTINCT l.chat_id FROM mls_leaves l
         JOIN members m ON m.chat_id = l.chat_id AND m.user_id = $2
         WHERE l.device_id = ANY($1) ORDER BY l.chat_id",
    )
    .bind(devices)
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut events = Vec::new();
    for chat_id in chats {
        let locked = lock(&mut *conn, chat_id, user_id).await?;
        let mut changes = locked.changes();
        changes.chat(Event::MlsChanged { chat_id }, None);
        events.extend(changes.commit(&mut *conn, now, ()).await?.events);
    }
    Ok(events)
}

pub async fn franking_tag(
    conn: &mut PgConnection,
    chat_id: ChatId,
    seq: i64,
) -> OpResult<Option<Vec<u8>>> {
    let tag: Option<Option<Vec<u8>>> = sqlx::query_scalar(
        "SELECT franking_tag FROM messages WHERE chat_id = $1 AND seq = $2 AND NOT deleted",
    )
    .bind(chat_id)
    .bind(seq)
    .fetch_optional(conn)
    .await?;
    Ok(tag.flatten())
}

pub async fn forget_welcome(conn: &mut PgConnection, actor: Actor, id: i64) -> OpResult<()> {
    let forgotten =
        sqlx::query("DELETE FROM mls_welcome_recipients WHERE device_id = $1 AND welcome_id = $2")
            .bind(actor.session_id)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if forgotten == 0 {
        return reject(ErrorCode::NotFound, "no such Welcome for this device").map_err(Into::into);
    }
    sqlx::query(
        "DELETE FROM mls_welcomes w WHERE w.id = $1
         AND NOT EXISTS (SELECT 1 FROM mls_welcome_recipients r WHERE r.welcome_id = $1)",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}
