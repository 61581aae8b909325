//! End-to-end encrypted chats: devices, key packages, groups, commits and Welcomes (the MLS
//! delivery service), and application messages stored as the ciphertext they are.

use std::collections::BTreeSet;

use kolokol_domain::mls::{self, Device, Leaf};
use kolokol_domain::{Rejection, reject};
use kolokol_proto::{ChatId, ErrorCode, Event, Message, UserId};
use kolokol_store::e2ee::epoch_column;
use kolokol_store::{
    Actor, ChatRow, ClaimedKeyPackages, DeviceRecord, GroupView, KeyPackageBatch, KeyPackageCount,
    MAX_KEY_PACKAGES, NewCommit, NewMls, Outcome, WelcomeRecord,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::chats::membership;
use crate::engine::OpResult;
use crate::events::Changes;
use crate::messages::{original, publish_new};
use crate::rows;

/// The actor's session as a device, if it has published key packages.
fn device(conn: &Connection, session_id: i64) -> OpResult<Option<Device>> {
    Ok(conn
        .prepare_cached("SELECT user_id, signature_key FROM mls_devices WHERE session_id = ?1")?
        .query_row([session_id], |row| {
            Ok(Device {
                user_id: row.get(0)?,
                device_id: session_id,
                signature_key: row.get(1)?,
            })
        })
        .optional()?)
}

pub fn publish(
    conn: &Connection,
    actor: Actor,
    batch: KeyPackageBatch,
    now: i64,
) -> OpResult<Outcome<KeyPackageCount>> {
    let this = Device {
        user_id: actor.user_id,
        device_id: actor.session_id,
        signature_key: batch.signature_key,
    };
    let registered = device(conn, actor.session_id)?;
    if registered.as_ref().is_some_and(|known| *known != this) {
        return reject(
            ErrorCode::MlsInvalidKeyPackage,
            "this device signs with another key than it registered",
        )
        .map_err(Into::into);
    }
    if registered.is_none() {
        conn.prepare_cached(
            "INSERT INTO mls_devices (session_id, user_id, signature_key, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![actor.session_id, actor.user_id, this.signature_key, now])?;
    }
    for package in batch.packages {
        if package.device != this {
            return reject(
                ErrorCode::MlsInvalidKeyPackage,
                "a key package of another device",
            )
            .map_err(Into::into);
        }
        if package.last_resort {
            conn.prepare_cached(
                "DELETE FROM mls_key_packages WHERE device_id = ?1 AND last_resort = 1",
            )?
            .execute([actor.session_id])?;
        }
        conn.prepare_cached(
            "INSERT OR IGNORE INTO mls_key_packages (ref, device_id, data, last_resort, not_after, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![package.reference, actor.session_id, package.data, package.last_resort, package.not_after, now])?;
    }
    let count = count(conn, actor.session_id, now)?;
    if count.available > MAX_KEY_PACKAGES {
        return reject(
            ErrorCode::PayloadTooLarge,
            "a device keeps at most 500 unused key packages",
        )
        .map_err(Into::into);
    }
    let mut changes = Changes::default();
    if registered.is_none() {
        // Members of the user's encrypted chats add the new device.
        let chats = conn
            .prepare_cached(
                "SELECT c.id FROM chats c JOIN members m ON m.chat_id = c.id
                 WHERE m.user_id = ?1 AND c.privacy = 'encrypted' ORDER BY c.id",
            )?
            .query_map([actor.user_id], |row| row.get::<_, ChatId>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for chat_id in chats {
            changes.chat(conn, chat_id, Event::MlsChanged { chat_id }, None, now)?;
        }
    }
    Ok(changes.finish(count))
}

pub fn count(conn: &Connection, device_id: i64, now: i64) -> OpResult<KeyPackageCount> {
    let (available, last_resort): (u32, bool) = conn
        .prepare_cached(
            "SELECT count(*) FILTER (WHERE last_resort = 0), count(*) FILTER (WHERE last_resort = 1) > 0
             FROM mls_key_packages WHERE device_id = ?1 AND not_after > ?2",
        )?
        .query_row(params![device_id, now], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(KeyPackageCount {
        available,
        last_resort,
    })
}

pub fn devices_of(conn: &Connection, user_id: UserId) -> OpResult<Vec<DeviceRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT session_id, signature_key, created_at FROM mls_devices WHERE user_id = ?1 ORDER BY session_id",
        )?
        .query_map([user_id], |row| {
            Ok(DeviceRecord {
                id: row.get(0)?,
                signature_key: row.get(1)?,
                created_at: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The group's generation and epoch: a chat nobody has committed to yet is at generation 1, epoch 0.
fn group_state(conn: &Connection, chat_id: ChatId) -> OpResult<(u32, u64)> {
    let state: Option<(u32, i64)> = conn
        .prepare_cached("SELECT generation, epoch FROM mls_groups WHERE chat_id = ?1")?
        .query_row([chat_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(state.map_or((1, 0), |(generation, epoch)| {
        (generation, epoch.try_into().unwrap_or_default())
    }))
}

/// Whether a leaf of the group must go (`GroupView::pending_remove` is not empty), asked without
/// reading the group: every encrypted send asks it.
fn removals_pending(conn: &Connection, chat_id: ChatId) -> OpResult<bool> {
    let sql = "SELECT EXISTS (SELECT 1 FROM mls_leaves l WHERE l.chat_id = ?1 AND NOT EXISTS (
             SELECT 1 FROM mls_devices d JOIN members m ON m.user_id = d.user_id AND m.chat_id = l.chat_id
             WHERE d.session_id = l.device_id AND d.user_id = l.user_id AND d.signature_key = l.signature_key))";
    Ok(conn
        .prepare_cached(sql)?
        .query_row([chat_id], |row| row.get(0))?)
}

fn group_view(conn: &Connection, chat_id: ChatId) -> OpResult<GroupView> {
    let (generation, epoch) = group_state(conn, chat_id)?;
    let leaves = conn
        .prepare_cached(
            "SELECT leaf, user_id, device_id, signature_key FROM mls_leaves WHERE chat_id = ?1 ORDER BY leaf",
        )?
        .query_map([chat_id], |row| {
            Ok(Leaf {
                leaf: row.get(0)?,
                device: Device {
                    user_id: row.get(1)?,
                    device_id: row.get(2)?,
                    signature_key: row.get(3)?,
                },
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let member_devices = conn
        .prepare_cached(
            "SELECT d.user_id, d.session_id, d.signature_key FROM mls_devices d
             JOIN members m ON m.user_id = d.user_id WHERE m.chat_id = ?1 ORDER BY d.session_id",
        )?
        .query_map([chat_id], |row| {
            Ok(Device {
                user_id: row.get(0)?,
                device_id: row.get(1)?,
                signature_key: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(GroupView::of(generation, epoch, leaves, member_devices))
}

/// The chat, for a member, if it is encrypted.
fn encrypted_chat(conn: &Connection, actor: Actor, chat_id: ChatId) -> OpResult<ChatRow> {
    let (chat, _) = membership(conn, actor.user_id, chat_id)?;
    mls::check_privacy(chat.privacy, true)?;
    Ok(chat)
}

pub fn group(conn: &Connection, actor: Actor, chat_id: ChatId) -> OpResult<GroupView> {
    encrypted_chat(conn, actor, chat_id)?;
    group_view(conn, chat_id)
}

pub fn claim(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    devices: Option<Vec<i64>>,
    now: i64,
) -> OpResult<Outcome<ClaimedKeyPackages>> {
    encrypted_chat(conn, actor, chat_id)?;
    let view = group_view(conn, chat_id)?;
    if !view.leaves.is_empty() && view.leaf_of(actor.session_id).is_none() {
        return reject(
            ErrorCode::Forbidden,
            "only a device in the group adds others to it",
        )
        .map_err(Into::into);
    }
    let wanted: Option<BTreeSet<i64>> = devices.map(|ids| ids.into_iter().collect());
    let mut claimed = ClaimedKeyPackages::default();
    let mut changes = Changes::default();
    for device in view.pending_add {
        if wanted
            .as_ref()
            .is_some_and(|ids| !ids.contains(&device.device_id))
        {
            continue;
        }
        let taken: Option<Vec<u8>> = conn
            .prepare_cached(
                "DELETE FROM mls_key_packages WHERE ref = (
                     SELECT ref FROM mls_key_packages
                     WHERE device_id = ?1 AND last_resort = 0 AND not_after > ?2
                     ORDER BY created_at, ref LIMIT 1)
                 RETURNING data",
            )?
            .query_row(params![device.device_id, now], |row| row.get(0))
            .optional()?;
        let package = match taken {
            Some(data) => Some(data),
            None => conn
                .prepare_cached(
                    "SELECT data FROM mls_key_packages WHERE device_id = ?1 AND last_resort = 1 AND not_after > ?2",
                )?
                .query_row(params![device.device_id, now], |row| row.get(0))
                .optional()?,
        };
        let left = count(conn, device.device_id, now)?;
        if left.low() {
            let event = Event::MlsKeyPackagesLow {
                device_id: device.device_id,
                available: left.available,
            };
            changes.user(conn, device.user_id, event, now)?;
        }
        match package {
            Some(data) => claimed.packages.push((device, data)),
            None => claimed.missing.push(device),
        }
    }
    Ok(changes.finish(claimed))
}

fn refuse_replay(conn: &Connection, chat_id: ChatId, digest: &[u8]) -> OpResult<()> {
    let seen: Option<i64> = conn
        .prepare_cached("SELECT seq FROM messages WHERE chat_id = ?1 AND mls_digest = ?2")?
        .query_row(params![chat_id, digest], |row| row.get(0))
        .optional()?;
    match seen {
        Some(_) => Err(mls::replayed().into()),
        None => Ok(()),
    }
}

/// Stores an MLS message as the chat's next and tells its members.
#[allow(clippy::too_many_arguments)]
fn store_mls(
    conn: &Connection,
    actor: Actor,
    chat: &ChatRow,
    client_msg_id: &str,
    kind: &str,
    epoch: u64,
    data: &[u8],
    digest: &[u8],
    franking_tag: Option<&[u8]>,
    now: i64,
) -> OpResult<Outcome<(Message, bool)>> {
    let seq = chat.last_seq + 1;
    conn.prepare_cached(
        "INSERT INTO messages (chat_id, seq, sender_id, client_msg_id, text, mentions, created_at, mls_kind, mls_epoch, mls_data, mls_digest, franking_tag)
         VALUES (?1, ?2, ?3, ?4, '', '[]', ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![chat.id, seq, actor.user_id, client_msg_id, now, kind, epoch_column(epoch), data, digest, franking_tag])?;
    let message = rows::message(conn, chat.id, seq)?.ok_or_else(Rejection::no_message)?;
    publish_new(conn, actor, message, kind == "application", now)
}

pub fn send_application(
    conn: &Connection,
    actor: Actor,
    chat: &ChatRow,
    client_msg_id: String,
    sealed: NewMls,
    now: i64,
) -> OpResult<Outcome<(Message, bool)>> {
    mls::check_application(
        group_state(conn, chat.id)?,
        (sealed.generation, sealed.epoch),
        removals_pending(conn, chat.id)?,
    )?;
    refuse_replay(conn, chat.id, &sealed.digest)?;
    store_mls(
        conn,
        actor,
        chat,
        &client_msg_id,
        "application",
        sealed.epoch,
        &sealed.data,
        &sealed.digest,
        Some(&sealed.franking_tag),
        now,
    )
}

pub fn commit(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    new: NewCommit,
    now: i64,
) -> OpResult<Outcome<(Message, bool)>> {
    let chat = encrypted_chat(conn, actor, chat_id)?;
    if let Some(message) = original(conn, actor, chat_id, &new.client_msg_id)? {
        return Ok(Outcome::unchanged((message, false)));
    }
    let view = group_view(conn, chat_id)?;
    let commit = &new.commit;
    mls::check_commit_epoch(
        (view.generation, view.epoch),
        (commit.generation, commit.epoch),
    )?;
    refuse_replay(conn, chat_id, &new.digest)?;
    let Some(committer) = device(conn, actor.session_id)? else {
        return reject(
            ErrorCode::MlsForbidden,
            "this session is no MLS device yet: publish key packages first",
        )
        .map_err(Into::into);
    };
    let leaves = mls::apply_commit(&view.leaves, &committer, &commit.facts, &view.allowed())?;
    let epoch = commit.epoch + 1;
    conn.prepare_cached(
        "INSERT INTO mls_groups (chat_id, generation, epoch, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (chat_id) DO UPDATE SET epoch = excluded.epoch, updated_at = excluded.updated_at",
    )?
    .execute(params![chat_id, commit.generation, epoch_column(epoch), now])?;
    for leaf in &leaves.removed {
        conn.prepare_cached("DELETE FROM mls_leaves WHERE chat_id = ?1 AND leaf = ?2")?
            .execute(params![chat_id, leaf])?;
    }
    for leaf in &leaves.added {
        conn.prepare_cached(
            "INSERT INTO mls_leaves (chat_id, leaf, user_id, device_id, signature_key, since_epoch)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            chat_id,
            leaf.leaf,
            leaf.device.user_id,
            leaf.device.device_id,
            leaf.device.signature_key,
            epoch_column(epoch)
        ])?;
    }
    let mut outcome = store_mls(
        conn,
        actor,
        &chat,
        &new.client_msg_id,
        "commit",
        epoch,
        &commit.data,
        &new.digest,
        None,
        now,
    )?;
    if let Some(welcome) = &commit.welcome {
        let commit_seq = outcome.value.0.seq;
        let welcome_id: i64 = conn
            .prepare_cached(
                "INSERT INTO mls_welcomes (chat_id, epoch, commit_seq, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            )?
            .query_row(params![chat_id, epoch_column(epoch), commit_seq, welcome.data, now], |row| row.get(0))?;
        for (device_id, reference) in &welcome.recipients {
            conn.prepare_cached(
                "INSERT INTO mls_welcome_recipients (welcome_id, device_id, key_package_ref) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![welcome_id, device_id, reference])?;
        }
        // Those its proposals add: a first commit gives its sender leaf 0 without a Welcome.
        let users: BTreeSet<UserId> = commit
            .facts
            .adds
            .iter()
            .map(|device| device.user_id)
            .collect();
        let mut changes = Changes::default();
        for user_id in users {
            let event = Event::MlsWelcome {
                chat_id,
                welcome_id,
                epoch,
            };
            changes.user(conn, user_id, event, now)?;
        }
        outcome.events.extend(changes.events);
    }
    Ok(outcome)
}

pub fn welcomes(conn: &Connection, actor: Actor) -> OpResult<Vec<WelcomeRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT w.id, w.chat_id, w.epoch, w.commit_seq, w.data FROM mls_welcomes w
             JOIN mls_welcome_recipients r ON r.welcome_id = w.id WHERE r.device_id = ?1 ORDER BY w.id",
        )?
        .query_map([actor.session_id], |row| {
            Ok(WelcomeRecord {
                id: row.get(0)?,
                chat_id: row.get(1)?,
                epoch: row.get::<_, i64>(2)?.try_into().unwrap_or_default(),
                commit_seq: row.get(3)?,
                data: row.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn forget_device(conn: &Connection, actor: Actor, now: i64) -> OpResult<Outcome<()>> {
    conn.prepare_cached("DELETE FROM mls_devices WHERE session_id = ?1")?
        .execute([actor.session_id])?;
    let mut changes = Changes::default();
    announce_gone_devices(conn, actor.user_id, &[actor.session_id], &mut changes, now)?;
    Ok(changes.finish(()))
}

/// Devices of the user that are gone (revoked, or restarted without their state): each encrypted
/// chat where one still holds a leaf hears `mls.changed`, so a member's device commits its
/// removal. Chats the user has left heard it when they left.
pub fn announce_gone_devices(
    conn: &Connection,
    user_id: UserId,
    devices: &[i64],
    changes: &mut Changes,
    now: i64,
) -> OpResult<()> {
    let mut chats = BTreeSet::new();
    let mut in_chats = conn.prepare_cached(
        "SELECT l.chat_id FROM mls_leaves l
         JOIN members m ON m.chat_id = l.chat_id AND m.user_id = ?2
         WHERE l.device_id = ?1",
    )?;
    for device in devices {
        for chat_id in
            in_chats.query_map(params![device, user_id], |row| row.get::<_, ChatId>(0))?
        {
            chats.insert(chat_id?);
        }
    }
    for chat_id in chats {
        changes.chat(conn, chat_id, Event::MlsChanged { chat_id }, None, now)?;
    }
    Ok(())
}

pub fn franking_tag(conn: &Connection, chat_id: ChatId, seq: i64) -> OpResult<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached(
            "SELECT franking_tag FROM messages WHERE chat_id = ?1 AND seq = ?2 AND deleted = 0",
        )?
        .query_row(params![chat_id, seq], |row| {
            row.get::<_, Option<Vec<u8>>>(0)
        })
        .optional()?
        .flatten())
}

pub fn forget_welcome(conn: &Connection, actor: Actor, id: i64) -> OpResult<()> {
    let forgotten = conn
        .prepare_cached(
            "DELETE FROM mls_welcome_recipients WHERE device_id = ?1 AND welcome_id = ?2",
        )?
        .execute(params![actor.session_id, id])?;
    if forgotten == 0 {
        return reject(ErrorCode::NotFound, "no such Welcome for this device").map_err(Into::into);
    }
    conn.prepare_cached(
        "DELETE FROM mls_welcomes WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM mls_welcome_recipients WHERE welcome_id = ?1)",
    )?
    .execute([id])?;
    Ok(())
}
