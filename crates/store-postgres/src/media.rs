//! Media: uploads, their pieces, the files they become, and which messages show each file.

use kolokol_domain::Rejection;
use kolokol_proto::{Attachment, ChatId, ErrorCode, UserId};
use kolokol_store::media::parse_kind;
use kolokol_store::{
    Actor, BlobRecord, FindUpload, NewBlob, NewUpload, OrgId, Payer, STUCK_COLLECTION_MS,
    UPLOAD_KEPT_MS, UploadPart, UploadRecord,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::engine::{OpError, OpResult};

pub async fn server_key(
    conn: &mut PgConnection,
    name: String,
    candidate: Vec<u8>,
) -> OpResult<Vec<u8>> {
    sqlx::query(
        "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&name)
    .bind(candidate)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT value FROM server_keys WHERE name = $1")
        .bind(&name)
        .fetch_one(conn)
        .await?;
    Ok(row.try_get(0)?)
}

/// The columns [`blob_row`] reads.
macro_rules! blob_columns {
    () => {
        "id, uploader_id, created_at, object_key, thumb_key, kind, mime, size, name, width, height, duration_ms, waveform"
    };
}

/// The columns [`upload_row`] reads.
macro_rules! upload_columns {
    () => {
        "id, owner_id, chat_id, kind, name, size, duration_ms, waveform, blob_id, expires_at"
    };
}

fn unsigned(value: Option<i64>) -> Option<u64> {
    value.and_then(|value| u64::try_from(value).ok())
}

fn signed(value: Option<u64>) -> Option<i64> {
    value.and_then(|value| i64::try_from(value).ok())
}

fn upload_row(row: &PgRow) -> OpResult<UploadRecord> {
    Ok(UploadRecord {
        id: row.try_get(0)?,
        owner_id: row.try_get(1)?,
        chat_id: row.try_get(2)?,
        kind: parse_kind(row.try_get(3)?).map_err(OpError::Internal)?,
        name: row.try_get(4)?,
        size: unsigned(row.try_get(5)?),
        duration_ms: unsigned(row.try_get(6)?),
        waveform: crate::rows::json_column(row, 7)?.unwrap_or_default(),
        blob_id: row.try_get(8)?,
        expires_at: row.try_get(9)?,
    })
}

pub async fn create_upload(
    conn: &mut PgConnection,
    upload: NewUpload,
    now: i64,
) -> OpResult<UploadRecord> {
    if let Some(chat_id) = upload.chat_id {
        crate::chats::membership(&mut *conn, upload.owner_id, chat_id).await?;
    }
    let sql = concat!(
        "INSERT INTO uploads (capability, owner_id, chat_id, kind, name, size, duration_ms, waveform, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ",
        upload_columns!()
    );
    let row = sqlx::query(sql)
        .bind(upload.capability.map(|hash| hash.to_vec()))
        .bind(upload.owner_id)
        .bind(upload.chat_id)
        .bind(upload.kind.as_str())
        .bind(&upload.name)
        .bind(signed(upload.size))
        .bind(signed(upload.duration_ms))
        .bind(kolokol_store::list_column(&upload.waveform)?)
        .bind(now)
        .bind(upload.expires_at)
        .fetch_one(conn)
        .await?;
    upload_row(&row)
}

pub async fn upload(
    conn: &mut PgConnection,
    find: FindUpload,
    now: i64,
) -> OpResult<Option<UploadRecord>> {
    let query = match find {
        FindUpload::Capability(hash) => sqlx::query(concat!(
            "SELECT ",
            upload_columns!(),
            " FROM uploads WHERE capability = $1 AND expires_at > $2"
        ))
        .bind(hash.to_vec()),
        FindUpload::Id(id) => sqlx::query(concat!(
            "SELECT ",
            upload_columns!(),
            " FROM uploads WHERE id = $1 AND expires_at > $2"
        ))
        .bind(id),
    };
    let row = query.bind(now).fetch_optional(conn).await?;
    row.as_ref().map(upload_row).transpose()
}

pub async fn put_upload_part(
    conn: &mut PgConnection,
    upload_id: i64,
    part: UploadPart,
    now: i64,
) -> OpResult<Option<String>> {
    let replaced: Option<String> =
        sqlx::query("SELECT object_key FROM upload_parts WHERE upload_id = $1 AND first_byte = $2")
            .bind(upload_id)
            .bind(signed(Some(part.first_byte)))
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
    sqlx::query(
        "INSERT INTO upload_parts (upload_id, first_byte, length, object_key) VALUES ($1, $2, $3, $4)
         ON CONFLICT (upload_id, first_byte) DO UPDATE SET length = excluded.length, object_key = excluded.object_key",
    )
    .bind(upload_id)
    .bind(signed(Some(part.first_byte)))
    .bind(signed(Some(part.length)))
    .bind(&part.object_key)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE uploads SET expires_at = GREATEST(expires_at, $2) WHERE id = $1")
        .bind(upload_id)
        .bind(now + UPLOAD_KEPT_MS)
        .execute(conn)
        .await?;
    Ok(replaced)
}

pub async fn upload_parts(conn: &mut PgConnection, upload_id: i64) -> OpResult<Vec<UploadPart>> {
    let rows = sqlx::query(
        "SELECT first_byte, length, object_key FROM upload_parts WHERE upload_id = $1 ORDER BY first_byte",
    )
    .bind(upload_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(UploadPart {
                first_byte: unsigned(row.try_get(0)?).unwrap_or_default(),
                length: unsigned(row.try_get(1)?).unwrap_or_default(),
                object_key: row.try_get(2)?,
            })
        })
        .collect()
}

pub async fn media_usage(conn: &mut PgConnection, payer: Payer) -> OpResult<u64> {
    let query = match payer {
        Payer::Org(org_id) => {
            sqlx::query("SELECT COALESCE(SUM(size), 0)::bigint FROM blobs WHERE org_id = $1")
                .bind(org_id)
        }
        Payer::User(user_id) => sqlx::query(
            "SELECT COALESCE(SUM(size), 0)::bigint FROM blobs WHERE uploader_id = $1 AND org_id IS NULL",
        )
        .bind(user_id),
    };
    let row = query.fetch_one(conn).await?;
    Ok(unsigned(row.try_get(0)?).unwrap_or_default())
}

pub async fn expire_media(
    conn: &mut PgConnection,
    org_id: OrgId,
    sent_before: i64,
) -> OpResult<u64> {
    let taken = sqlx::query(
        "DELETE FROM blob_refs WHERE message_id IS NOT NULL AND created_at < $2
           AND chat_id IN (SELECT chat_id FROM org_chats WHERE org_id = $1)",
    )
    .bind(org_id)
    .bind(sent_before)
    .execute(conn)
    .await?;
    Ok(taken.rows_affected())
}

pub async fn forget_upload(conn: &mut PgConnection, upload_id: i64) -> OpResult<Vec<String>> {
    let keys = upload_parts(&mut *conn, upload_id)
        .await?
        .into_iter()
        .map(|part| part.object_key)
        .collect();
    // Its pieces' rows go with it (ON DELETE CASCADE).
    sqlx::query("DELETE FROM uploads WHERE id = $1 AND blob_id IS NULL")
        .bind(upload_id)
        .execute(conn)
        .await?;
    Ok(keys)
}

pub async fn complete_upload(
    conn: &mut PgConnection,
    upload_id: i64,
    blob: NewBlob,
    payer: Payer,
    now: i64,
) -> OpResult<BlobRecord> {
    let upload = sqlx::query("SELECT owner_id, blob_id FROM uploads WHERE id = $1 FOR UPDATE")
        .bind(upload_id)
        .fetch_optional(&mut *conn)
        .await?;
    let owner_id: UserId = match upload {
        None => return Err(Rejection::new(ErrorCode::NotFound, "no such upload").into()),
        Some(row) if row.try_get::<Option<i64>, _>(1)?.is_some() => {
            return Err(Rejection::new(ErrorCode::BadRequest, "the upload is complete").into());
        }
        Some(row) => row.try_get(0)?,
    };
    let sql = concat!(
        "INSERT INTO blobs (object_key, thumb_key, kind, mime, size, name, width, height, duration_ms, waveform, uploader_id, created_at, touched_at, org_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) RETURNING ",
        blob_columns!()
    );
    let row = sqlx::query(sql)
        .bind(&blob.object_key)
        .bind(&blob.thumb_key)
        .bind(blob.kind.as_str())
        .bind(&blob.mime)
        .bind(signed(Some(blob.size)))
        .bind(&blob.name)
        .bind(blob.width.map(i64::from))
        .bind(blob.height.map(i64::from))
        .bind(signed(blob.duration_ms))
        .bind(kolokol_store::list_column(&blob.waveform)?)
        .bind(owner_id)
        .bind(now)
        .bind(match payer {
            Payer::Org(org_id) => Some(org_id),
            Payer::User(_) => None,
        })
        .fetch_one(&mut *conn)
        .await?;
    let record = blob_row(&row)?;
    sqlx::query(
        "WITH forgotten AS (DELETE FROM upload_parts WHERE upload_id = $1)
         UPDATE uploads SET blob_id = $2 WHERE id = $1",
    )
    .bind(upload_id)
    .bind(record.id)
    .execute(conn)
    .await?;
    Ok(record)
}

fn blob_row(row: &PgRow) -> OpResult<BlobRecord> {
    let dimension = |index: usize| -> OpResult<Option<u32>> {
        Ok(row
            .try_get::<Option<i64>, _>(index)?
            .and_then(|value| u32::try_from(value).ok()))
    };
    Ok(BlobRecord {
        id: row.try_get(0)?,
        uploader_id: row.try_get(1)?,
        created_at: row.try_get(2)?,
        file: NewBlob {
            object_key: row.try_get(3)?,
            thumb_key: row.try_get(4)?,
            kind: parse_kind(row.try_get(5)?).map_err(OpError::Internal)?,
            mime: row.try_get(6)?,
            size: unsigned(row.try_get(7)?).unwrap_or_default(),
            name: row.try_get(8)?,
            width: dimension(9)?,
            height: dimension(10)?,
            duration_ms: unsigned(row.try_get(11)?),
            waveform: crate::rows::json_column(row, 12)?.unwrap_or_default(),
        },
    })
}

pub async fn blob(conn: &mut PgConnection, id: i64) -> OpResult<Option<BlobRecord>> {
    let sql = concat!(
        "SELECT ",
        blob_columns!(),
        " FROM blobs WHERE state = 'ready' AND id = $1"
    );
    let row = sqlx::query(sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(blob_row).transpose()
}

pub async fn chat_blobs(
    conn: &mut PgConnection,
    actor: Actor,
    chat_id: ChatId,
    ids: Vec<i64>,
) -> OpResult<Vec<BlobRecord>> {
    crate::chats::membership(&mut *conn, actor.user_id, chat_id).await?;
    let sql = concat!(
        "SELECT ",
        blob_columns!(),
        " FROM blobs b WHERE b.state = 'ready' AND b.id = ANY($1)
           AND EXISTS (SELECT 1 FROM blob_refs r WHERE r.blob_id = b.id AND r.chat_id = $2 AND r.message_id IS NOT NULL)
         ORDER BY b.id"
    );
    let rows = sqlx::query(sql)
        .bind(ids)
        .bind(chat_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(blob_row).collect()
}

pub async fn visible_blob(
    conn: &mut PgConnection,
    user_id: UserId,
    id: i64,
) -> OpResult<Option<BlobRecord>> {
    let sql = concat!(
        "SELECT ",
        blob_columns!(),
        " FROM blobs b WHERE b.state = 'ready' AND b.id = $1 AND (b.uploader_id = $2 OR EXISTS (
             SELECT 1 FROM blob_refs r JOIN members m ON m.chat_id = r.chat_id
             WHERE r.blob_id = b.id AND r.message_id IS NOT NULL AND m.user_id = $2))"
    );
    let row = sqlx::query(sql)
        .bind(id)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(blob_row).transpose()
}

pub async fn expired_uploads(
    conn: &mut PgConnection,
    now: i64,
    limit: u32,
) -> OpResult<Vec<(i64, Vec<String>)>> {
    let rows = sqlx::query(
        "SELECT u.id, coalesce(array_agg(p.object_key) FILTER (WHERE p.object_key IS NOT NULL), '{}')
         FROM uploads u LEFT JOIN upload_parts p ON p.upload_id = u.id
         WHERE u.blob_id IS NULL AND u.expires_at <= $1
         GROUP BY u.id ORDER BY u.id LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

pub async fn collect_blobs(
    conn: &mut PgConnection,
    now: i64,
    touched_before: i64,
    limit: u32,
) -> OpResult<Vec<BlobRecord>> {
    // SKIP LOCKED: a file being attached right now (its row locked by the send) is left for
    // the next round, and two nodes never take the same file. The mark's time goes in
    // touched_at: a mark that old means its collector died, and the file is taken again.
    let sql = concat!(
        "UPDATE blobs SET state = 'deleting', touched_at = $4 WHERE id IN (
             SELECT b.id FROM blobs b
             WHERE (b.state = 'ready' AND b.touched_at < $1
                    AND NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.blob_id = b.id))
                OR (b.state = 'deleting' AND b.touched_at < $3)
             LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING ",
        blob_columns!()
    );
    let rows = sqlx::query(sql)
        .bind(touched_before)
        .bind(i64::from(limit))
        .bind(now - STUCK_COLLECTION_MS)
        .bind(now)
        .fetch_all(conn)
        .await?;
    rows.iter().map(blob_row).collect()
}

pub async fn forget_blobs(conn: &mut PgConnection, ids: Vec<i64>) -> OpResult<()> {
    sqlx::query("DELETE FROM uploads WHERE blob_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM blobs WHERE id = ANY($1) AND state = 'deleting'")
        .bind(&ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// Where a message's files are recorded as shown.
pub enum Shown {
    Message(i64),
    Held(i64),
}

/// Checks that `sender` may show each file (a refusal names no file it may not see), marks
/// them used, and records them as shown in the chat.
pub async fn attach(
    conn: &mut PgConnection,
    sender: UserId,
    chat_id: ChatId,
    ids: &[i64],
    shown: Shown,
    now: i64,
) -> OpResult<Vec<Attachment>> {
    let mut attachments = Vec::with_capacity(ids.len());
    let (message_id, held_id) = match shown {
        Shown::Message(id) => (Some(id), None),
        Shown::Held(id) => (None, Some(id)),
    };
    let missing = || OpError::from(Rejection::new(ErrorCode::NotFound, "no such attachment"));
    for &id in ids {
        // Touching the row locks it until the send commits: the collector skips it.
        let touched =
            sqlx::query("UPDATE blobs SET touched_at = $2 WHERE id = $1 AND state = 'ready'")
                .bind(id)
                .bind(now)
                .execute(&mut *conn)
                .await?;
        if touched.rows_affected() == 0 {
            return Err(missing());
        }
        let blob = visible_blob(&mut *conn, sender, id)
            .await?
            .ok_or_else(missing)?;
        sqlx::query(
            "INSERT INTO blob_refs (blob_id, chat_id, message_id, held_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(chat_id)
        .bind(message_id)
        .bind(held_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        attachments.push(blob.attachment());
    }
    Ok(attachments)
}
