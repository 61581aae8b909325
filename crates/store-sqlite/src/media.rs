//! Media: uploads, their pieces, the files they become, and which messages show each file.

use kolokol_domain::Rejection;
use kolokol_proto::{Attachment, ChatId, ErrorCode, UserId};
use kolokol_store::media::parse_kind;
use kolokol_store::{
    Actor, BlobRecord, FindUpload, NewBlob, NewUpload, OrgId, Payer, STUCK_COLLECTION_MS,
    UPLOAD_KEPT_MS, UploadPart, UploadRecord,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::engine::{OpError, OpResult};

pub fn server_key(conn: &Connection, name: &str, candidate: Vec<u8>) -> OpResult<Vec<u8>> {
    conn.prepare_cached(
        "INSERT INTO server_keys (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
    )?
    .execute(params![name, candidate])?;
    Ok(conn
        .prepare_cached("SELECT value FROM server_keys WHERE name = ?1")?
        .query_row([name], |row| row.get(0))?)
}

/// The columns [`blob_row`] reads.
const BLOB_COLUMNS: &str = "id, uploader_id, created_at, object_key, thumb_key, kind, mime, size, name, width, height, duration_ms, waveform";

const UPLOAD_COLUMNS: &str =
    "id, owner_id, chat_id, kind, name, size, duration_ms, waveform, blob_id, expires_at";

fn upload_row(row: &Row) -> rusqlite::Result<UploadRecord> {
    Ok(UploadRecord {
        id: row.get(0)?,
        owner_id: row.get(1)?,
        chat_id: row.get(2)?,
        kind: kind_column(row, 3)?,
        name: row.get(4)?,
        size: row.get(5)?,
        duration_ms: row.get(6)?,
        waveform: crate::rows::json_column(row, 7)?.unwrap_or_default(),
        blob_id: row.get(8)?,
        expires_at: row.get(9)?,
    })
}

fn kind_column(row: &Row, index: usize) -> rusqlite::Result<kolokol_proto::AttachmentKind> {
    parse_kind(&row.get::<_, String>(index)?).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, error.into())
    })
}

pub fn create_upload(conn: &Connection, upload: NewUpload, now: i64) -> OpResult<UploadRecord> {
    if let Some(chat_id) = upload.chat_id {
        crate::chats::membership(conn, upload.owner_id, chat_id)?;
    }
    let sql = format!(
        "INSERT INTO uploads (capability, owner_id, chat_id, kind, name, size, duration_ms, waveform, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING {UPLOAD_COLUMNS}"
    );
    Ok(conn.prepare_cached(&sql)?.query_row(
        params![
            upload.capability,
            upload.owner_id,
            upload.chat_id,
            upload.kind.as_str(),
            upload.name,
            upload.size,
            upload.duration_ms,
            waveform_column(&upload.waveform)?,
            now,
            upload.expires_at
        ],
        upload_row,
    )?)
}

pub fn upload(conn: &Connection, find: FindUpload, now: i64) -> OpResult<Option<UploadRecord>> {
    let found = match find {
        FindUpload::Capability(hash) => conn
            .prepare_cached(&format!(
                "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE capability = ?1 AND expires_at > ?2"
            ))?
            .query_row(params![hash, now], upload_row),
        FindUpload::Id(id) => conn
            .prepare_cached(&format!(
                "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE id = ?1 AND expires_at > ?2"
            ))?
            .query_row(params![id, now], upload_row),
    };
    Ok(found.optional()?)
}

pub fn put_upload_part(
    conn: &Connection,
    upload_id: i64,
    part: UploadPart,
    now: i64,
) -> OpResult<Option<String>> {
    let replaced: Option<String> = conn
        .prepare_cached(
            "SELECT object_key FROM upload_parts WHERE upload_id = ?1 AND first_byte = ?2",
        )?
        .query_row(params![upload_id, part.first_byte], |row| row.get(0))
        .optional()?;
    conn.prepare_cached(
        "INSERT INTO upload_parts (upload_id, first_byte, length, object_key) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (upload_id, first_byte) DO UPDATE SET length = excluded.length, object_key = excluded.object_key",
    )?
    .execute(params![upload_id, part.first_byte, part.length, part.object_key])?;
    conn.prepare_cached("UPDATE uploads SET expires_at = MAX(expires_at, ?2) WHERE id = ?1")?
        .execute(params![upload_id, now + UPLOAD_KEPT_MS])?;
    Ok(replaced)
}

pub fn upload_parts(conn: &Connection, upload_id: i64) -> OpResult<Vec<UploadPart>> {
    let mut statement = conn.prepare_cached(
        "SELECT first_byte, length, object_key FROM upload_parts WHERE upload_id = ?1 ORDER BY first_byte",
    )?;
    let parts = statement.query_map([upload_id], |row| {
        Ok(UploadPart {
            first_byte: row.get(0)?,
            length: row.get(1)?,
            object_key: row.get(2)?,
        })
    })?;
    Ok(parts.collect::<rusqlite::Result<_>>()?)
}

pub fn media_usage(conn: &Connection, payer: Payer) -> OpResult<u64> {
    let (sql, id) = match payer {
        Payer::Org(org_id) => (
            "SELECT COALESCE(SUM(size), 0) FROM blobs WHERE org_id = ?1",
            org_id,
        ),
        Payer::User(user_id) => (
            "SELECT COALESCE(SUM(size), 0) FROM blobs WHERE uploader_id = ?1 AND org_id IS NULL",
            user_id,
        ),
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row([id], |row| row.get(0))?)
}

pub fn expire_media(conn: &Connection, org_id: OrgId, sent_before: i64) -> OpResult<u64> {
    let taken = conn
        .prepare_cached(
            "DELETE FROM blob_refs WHERE message_id IS NOT NULL AND created_at < ?2
               AND chat_id IN (SELECT chat_id FROM org_chats WHERE org_id = ?1)",
        )?
        .execute(params![org_id, sent_before])?;
    Ok(taken as u64)
}

pub fn forget_upload(conn: &Connection, upload_id: i64) -> OpResult<Vec<String>> {
    let keys = upload_parts(conn, upload_id)?
        .into_iter()
        .map(|part| part.object_key)
        .collect();
    conn.prepare_cached("DELETE FROM uploads WHERE id = ?1 AND blob_id IS NULL")?
        .execute([upload_id])?;
    Ok(keys)
}

pub fn complete_upload(
    conn: &Connection,
    upload_id: i64,
    blob: NewBlob,
    payer: Payer,
    now: i64,
) -> OpResult<BlobRecord> {
    let upload: Option<(UserId, Option<i64>)> = conn
        .prepare_cached("SELECT owner_id, blob_id FROM uploads WHERE id = ?1")?
        .query_row([upload_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let owner_id = match upload {
        None => return Err(Rejection::new(ErrorCode::NotFound, "no such upload").into()),
        Some((_, Some(_))) => {
            return Err(Rejection::new(ErrorCode::BadRequest, "the upload is complete").into());
        }
        Some((owner_id, None)) => owner_id,
    };
    let sql = format!(
        "INSERT INTO blobs (object_key, thumb_key, kind, mime, size, name, width, height, duration_ms, waveform, uploader_id, created_at, touched_at, org_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13) RETURNING {BLOB_COLUMNS}"
    );
    let record = conn.prepare_cached(&sql)?.query_row(
        params![
            blob.object_key,
            blob.thumb_key,
            blob.kind.as_str(),
            blob.mime,
            blob.size,
            blob.name,
            blob.width,
            blob.height,
            blob.duration_ms,
            waveform_column(&blob.waveform)?,
            owner_id,
            now,
            match payer {
                Payer::Org(org_id) => Some(org_id),
                Payer::User(_) => None,
            }
        ],
        blob_row,
    )?;
    conn.prepare_cached("UPDATE uploads SET blob_id = ?2 WHERE id = ?1")?
        .execute(params![upload_id, record.id])?;
    conn.prepare_cached("DELETE FROM upload_parts WHERE upload_id = ?1")?
        .execute([upload_id])?;
    Ok(record)
}

fn waveform_column(waveform: &[u8]) -> serde_json::Result<Option<String>> {
    kolokol_store::list_column(waveform)
}

fn blob_row(row: &Row) -> rusqlite::Result<BlobRecord> {
    Ok(BlobRecord {
        id: row.get(0)?,
        uploader_id: row.get(1)?,
        created_at: row.get(2)?,
        file: NewBlob {
            object_key: row.get(3)?,
            thumb_key: row.get(4)?,
            kind: kind_column(row, 5)?,
            mime: row.get(6)?,
            size: row.get(7)?,
            name: row.get(8)?,
            width: row.get(9)?,
            height: row.get(10)?,
            duration_ms: row.get(11)?,
            waveform: crate::rows::json_column(row, 12)?.unwrap_or_default(),
        },
    })
}

fn blobs_where(
    conn: &Connection,
    condition: &str,
    values: impl rusqlite::Params,
) -> OpResult<Vec<BlobRecord>> {
    let sql = format!("SELECT {BLOB_COLUMNS} FROM blobs WHERE state = 'ready' AND {condition}");
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(values, blob_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn blob(conn: &Connection, id: i64) -> OpResult<Option<BlobRecord>> {
    Ok(blobs_where(conn, "id = ?1", [id])?.pop())
}

pub fn chat_blobs(
    conn: &Connection,
    actor: Actor,
    chat_id: ChatId,
    ids: Vec<i64>,
) -> OpResult<Vec<BlobRecord>> {
    crate::chats::membership(conn, actor.user_id, chat_id)?;
    let mut found = Vec::new();
    for id in ids {
        let shown = blobs_where(
            conn,
            "id = ?1 AND EXISTS (SELECT 1 FROM blob_refs r WHERE r.blob_id = ?1 AND r.chat_id = ?2 AND r.message_id IS NOT NULL)",
            params![id, chat_id],
        )?;
        found.extend(shown);
    }
    Ok(found)
}

/// Visible to `user_id`: their own upload, or shown (by a stored message) in a chat they are in.
const VISIBLE: &str = "id = ?1 AND (uploader_id = ?2 OR EXISTS (
    SELECT 1 FROM blob_refs r JOIN members m ON m.chat_id = r.chat_id
    WHERE r.blob_id = ?1 AND r.message_id IS NOT NULL AND m.user_id = ?2))";

pub fn visible_blob(conn: &Connection, user_id: UserId, id: i64) -> OpResult<Option<BlobRecord>> {
    Ok(blobs_where(conn, VISIBLE, params![id, user_id])?.pop())
}

pub fn expired_uploads(
    conn: &Connection,
    now: i64,
    limit: u32,
) -> OpResult<Vec<(i64, Vec<String>)>> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM uploads WHERE blob_id IS NULL AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
        )?
        .query_map(params![now, limit], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ids.into_iter()
        .map(|id| {
            let keys = upload_parts(conn, id)?
                .into_iter()
                .map(|part| part.object_key)
                .collect();
            Ok((id, keys))
        })
        .collect()
}

/// Not shown anywhere and not attached since the cut-off (?1); or marked for deletion long
/// before ?3 by a collector that never finished.
const UNUSED: &str = "(state = 'ready' AND touched_at < ?1
      AND NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.blob_id = blobs.id))
    OR (state = 'deleting' AND touched_at < ?3)";

pub fn collect_blobs(
    conn: &Connection,
    now: i64,
    touched_before: i64,
    limit: u32,
) -> OpResult<Vec<BlobRecord>> {
    // The mark's time goes in touched_at: a mark that old means its collector died.
    let sql = format!(
        "UPDATE blobs SET state = 'deleting', touched_at = ?4
         WHERE id IN (SELECT id FROM blobs WHERE {UNUSED} LIMIT ?2)
         RETURNING {BLOB_COLUMNS}"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let stuck = now - STUCK_COLLECTION_MS;
    let values = params![touched_before, limit, stuck, now];
    let rows = statement.query_map(values, blob_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn forget_blobs(conn: &Connection, ids: Vec<i64>) -> OpResult<()> {
    for id in ids {
        conn.prepare_cached("DELETE FROM uploads WHERE blob_id = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM blobs WHERE id = ?1 AND state = 'deleting'")?
            .execute([id])?;
    }
    Ok(())
}

/// Where a message's files are recorded as shown.
pub enum Shown {
    Message(i64),
    Held(i64),
}

/// Checks that `sender` may show each file (a refusal names no file it may not see), marks
/// them used, and records them as shown in the chat.
pub fn attach(
    conn: &Connection,
    sender: UserId,
    chat_id: ChatId,
    ids: &[i64],
    shown: Shown,
    now: i64,
) -> OpResult<Vec<Attachment>> {
    let mut attachments = Vec::with_capacity(ids.len());
    for &id in ids {
        let blob = visible_blob(conn, sender, id)?.ok_or_else(|| {
            OpError::from(Rejection::new(ErrorCode::NotFound, "no such attachment"))
        })?;
        conn.prepare_cached("UPDATE blobs SET touched_at = ?2 WHERE id = ?1 AND state = 'ready'")?
            .execute(params![id, now])?;
        let (message_id, held_id) = match shown {
            Shown::Message(id) => (Some(id), None),
            Shown::Held(id) => (None, Some(id)),
        };
        conn.prepare_cached(
            "INSERT INTO blob_refs (blob_id, chat_id, message_id, held_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id, chat_id, message_id, held_id, now])?;
        attachments.push(blob.attachment());
    }
    Ok(attachments)
}
