//! Receiving a file, for people and bots alike: stream it to the object store (never whole in
//! memory), decide its type from its first bytes, re-encode images, and record it. Any failure,
//! the client vanishing mid-body included, leaves no object and no row behind.

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use kolokol_domain::media::{self, ContentRange, Format, Kind, SNIFF_LEN};
use kolokol_media::clamd::Verdict;
use kolokol_media::image::{ImageError, Processed, reencode};
use kolokol_proto::ErrorCode;
use kolokol_store::{BlobRecord, NewBlob, UploadPart, UploadRecord};
use rand::RngCore;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A request body, or the pieces of a resumable upload read back in order.
pub type Body<'a> = BoxStream<'a, Result<Bytes, std::io::Error>>;

/// A request's body as it arrives.
pub fn raw_body(request: axum::extract::Request) -> Body<'static> {
    request
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other)
        .boxed()
}

fn random_suffix() -> String {
    format!("{:016x}", rand::rng().next_u64())
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the file is larger than {} MiB", limit >> 20),
    )
}

/// What [`stream_to`] stored.
struct Stored {
    key: String,
    size: u64,
    format: Format,
}

/// Streams `body` to a new object under `prefix`, refusing it as soon as its first bytes show
/// it cannot be `kind` or it passes `limit`. `exact` is a length the body must have.
async fn stream_to(
    state: &AppState,
    prefix: &str,
    mut body: Body<'_>,
    kind: Kind,
    limit: u64,
    exact: Option<u64>,
) -> ApiResult<Stored> {
    let media = &state.media;
    let key = format!("{prefix}-{}", random_suffix());
    let mut writer = media.store.writer(&key).await?;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    let mut format = None;
    let refused = loop {
        let chunk = match body.next().await {
            None => break None,
            Some(Ok(chunk)) => chunk,
            Some(Err(_)) => {
                break Some(ApiError::new(
                    ErrorCode::BadRequest,
                    "the upload was cut off",
                ));
            }
        };
        if writer.written() + chunk.len() as u64 > limit {
            break Some(too_large(limit));
        }
        if format.is_none() {
            let wanted = (SNIFF_LEN - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..wanted]);
            if head.len() == SNIFF_LEN {
                let sniffed = media::sniff(&head);
                if let Err(rejection) = media::check_kind(sniffed, kind) {
                    break Some(rejection.into());
                }
                format = Some(sniffed);
            }
        }
        if let Err(error) = writer.write(chunk).await {
            break Some(error.into());
        }
    };
    let format = format.unwrap_or_else(|| media::sniff(&head));
    let refused = refused
        .or_else(|| media::check_kind(format, kind).err().map(ApiError::from))
        .or_else(|| {
            (writer.written() == 0)
                .then(|| ApiError::new(ErrorCode::BadRequest, "the file is empty"))
        })
        .or_else(|| {
            exact.filter(|&length| length != writer.written()).map(|_| {
                ApiError::new(
                    ErrorCode::BadRequest,
                    "the body is not as long as its Content-Range says",
                )
            })
        });
    if let Some(refusal) = refused {
        writer.abort().await;
        return Err(refusal);
    }
    let size = writer.finish().await?;
    Ok(Stored { key, size, format })
}

/// Receives a whole file for `upload` (of `exact` bytes, when that is known) and records it.
pub async fn whole(
    state: &AppState,
    upload: &UploadRecord,
    name: Option<String>,
    body: Body<'_>,
    exact: Option<u64>,
) -> ApiResult<BlobRecord> {
    let prefix = format!("media/{}", upload.id);
    let limit = exact.unwrap_or(state.media.max_bytes);
    let stored = stream_to(state, &prefix, body, upload.kind, limit, exact).await?;
    if let Err(refused) = scan(state, upload, &stored).await {
        state.media.store.delete(&stored.key).await?;
        return Err(refused);
    }
    let result = record(state, upload, name, &stored).await;
    if result.is_err() || stored.format.is_decodable_image() {
        // The original is gone once re-encoded; and nothing stays of a refused file.
        state.media.store.delete(&stored.key).await?;
    }
    result
}

/// Scans the stored file when a scanner is set; an infected one is moved to `quarantine/`
/// (named by when, so the sweep deletes it after [`super::QUARANTINE_MS`]) and refused. Fails closed:
/// no scanner, no upload.
async fn scan(state: &AppState, upload: &UploadRecord, stored: &Stored) -> ApiResult<()> {
    let Some(scanner) = &state.media.scanner else {
        return Ok(());
    };
    let reading = state.media.store.read(&stored.key, None).await?;
    let verdict = scanner.scan(reading.body).await.map_err(|error| {
        tracing::error!(%error, "the virus scanner failed");
        ApiError::new(
            ErrorCode::ScannerUnavailable,
            "the virus scanner is not available; try again later",
        )
    })?;
    match verdict {
        Verdict::Clean => Ok(()),
        Verdict::TooLarge => {
            tracing::warn!(
                upload = upload.id,
                size = stored.size,
                "too large for the virus scanner; kept unscanned"
            );
            Ok(())
        }
        Verdict::Infected(signature) => {
            let quarantined = format!("quarantine/{}-{}", state.now(), upload.id);
            state.media.store.rename(&stored.key, &quarantined).await?;
            tracing::warn!(upload = upload.id, %signature, key = %quarantined, "infected upload quarantined");
            Err(ApiError::new(
                ErrorCode::Infected,
                format!("the virus scanner found {signature} in the file"),
            ))
        }
    }
}

/// How much of an upload has arrived: the first byte not yet received, and the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub received: u64,
    pub total: u64,
}

/// Receives one piece of a resumable upload; once the pieces cover the whole file, it is put
/// together, checked and recorded.
pub async fn piece(
    state: &AppState,
    upload: &UploadRecord,
    name: Option<String>,
    range: ContentRange,
    body: Body<'_>,
) -> ApiResult<Result<BlobRecord, Progress>> {
    let media = &state.media;
    if range.total > media.max_bytes {
        return Err(too_large(media.max_bytes));
    }
    if upload.size.is_some_and(|size| size != range.total) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "Content-Range names another total size than the upload's",
        ));
    }
    // The first piece shows the file's type (when it holds enough bytes to tell), so a file
    // that cannot be its kind is refused before the rest is sent; the whole file is checked
    // again once it is put together.
    let tells =
        range.first == 0 && (range.length() >= SNIFF_LEN as u64 || range.length() == range.total);
    let kind = if tells { upload.kind } else { Kind::File };
    let prefix = format!("parts/{}/{}", upload.id, range.first);
    let length = range.length();
    let stored = stream_to(state, &prefix, body, kind, length, Some(length)).await?;
    let part = UploadPart {
        first_byte: range.first,
        length: stored.size,
        object_key: stored.key,
    };
    if let Some(replaced) = state
        .store
        .put_upload_part(upload.id, part, state.now())
        .await?
    {
        media.store.delete(&replaced).await?;
    }
    let parts = state.store.upload_parts(upload.id).await?;
    let received = contiguous(&parts);
    if received < range.total {
        return Ok(Err(Progress {
            received,
            total: range.total,
        }));
    }
    let whole_file = read_in_order(state, parts.clone());
    let result = whole(state, upload, name, whole_file, Some(range.total)).await;
    if result.is_err() {
        // A file refused whole cannot be mended piece by piece: the upload begins again.
        state.store.forget_upload(upload.id).await?;
    }
    for part in &parts {
        media.store.delete(&part.object_key).await?;
    }
    result.map(Ok)
}

/// How many bytes from the start the pieces cover without a gap.
pub fn contiguous(parts: &[UploadPart]) -> u64 {
    let mut next = 0;
    for part in parts {
        if part.first_byte > next {
            break;
        }
        next = next.max(part.first_byte + part.length);
    }
    next
}

/// The pieces' bytes in order, overlaps read once.
fn read_in_order(state: &AppState, parts: Vec<UploadPart>) -> Body<'static> {
    let store = state.media.store.clone();
    let mut next = 0u64;
    let ranges: Vec<(String, u64, u64)> = parts
        .into_iter()
        .filter_map(|part| {
            let end = part.first_byte + part.length;
            let skip = next.saturating_sub(part.first_byte);
            (end > next).then(|| {
                next = end;
                (part.object_key, skip, part.length)
            })
        })
        .collect();
    futures_util::stream::iter(ranges)
        .then(move |(key, skip, length)| {
            let store = store.clone();
            async move {
                let reading = store
                    .read(&key, Some(skip..length))
                    .await
                    .map_err(std::io::Error::other)?;
                Ok::<_, std::io::Error>(reading.body.map_err(std::io::Error::other))
            }
        })
        .try_flatten()
        .boxed()
}

/// Records the stored file: images re-encoded (no EXIF, GPS or text survives) with a thumbnail.
async fn record(
    state: &AppState,
    upload: &UploadRecord,
    name: Option<String>,
    stored: &Stored,
) -> ApiResult<BlobRecord> {
    let name = name
        .as_deref()
        .or(upload.name.as_deref())
        .and_then(media::clean_file_name);
    let mut blob = NewBlob {
        object_key: stored.key.clone(),
        thumb_key: None,
        kind: upload.kind,
        mime: stored.format.mime(upload.kind).to_owned(),
        size: stored.size,
        name,
        width: None,
        height: None,
        duration_ms: upload.duration_ms,
        waveform: upload.waveform.clone(),
    };
    // Every decodable image is re-encoded, even one sent as a file: its metadata never survives.
    if stored.format.is_decodable_image() {
        let processed = process_image(state, &stored.key, stored.size, stored.format).await?;
        let key = format!("media/{}-{}", upload.id, random_suffix());
        if upload.kind == Kind::Image {
            let thumb_key = format!("{key}.t");
            state.media.store.put(&thumb_key, processed.thumb).await?;
            blob.thumb_key = Some(thumb_key);
            blob.mime = processed.mime.to_owned();
        }
        blob.size = processed.bytes.len() as u64;
        state.media.store.put(&key, processed.bytes).await?;
        blob.object_key = key;
        blob.width = Some(processed.width);
        blob.height = Some(processed.height);
    }
    let payer = super::payer(state, upload.chat_id, upload.owner_id).await?;
    let recorded = match super::check_room(state, payer, blob.size).await {
        Ok(()) => Ok(state
            .store
            .complete_upload(upload.id, blob.clone(), payer, state.now())
            .await?),
        Err(refused) => Err(refused),
    };
    if recorded.is_err() && blob.object_key != stored.key {
        state.media.store.delete(&blob.object_key).await?;
        if let Some(thumb) = &blob.thumb_key {
            state.media.store.delete(thumb).await?;
        }
    }
    recorded
}

async fn process_image(
    state: &AppState,
    key: &str,
    size: u64,
    format: Format,
) -> ApiResult<Processed> {
    let media = state.media.clone();
    if size > media.image_max_bytes {
        return Err(too_large(media.image_max_bytes));
    }
    let _permit = media
        .decoding
        .acquire()
        .await
        .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?;
    let bytes = media.store.read_all(key).await?;
    let limits = media.image_limits;
    let processed = tokio::task::spawn_blocking(move || reencode(&bytes, format, limits))
        .await
        .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?;
    processed.map_err(|error| {
        let message = match error {
            ImageError::TooLarge { .. } => error.to_string(),
            ImageError::Unreadable => "not a readable image".to_owned(),
        };
        ApiError::new(ErrorCode::InvalidMedia, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(first_byte: u64, length: u64) -> UploadPart {
        UploadPart {
            first_byte,
            length,
            object_key: String::new(),
        }
    }

    #[test]
    fn pieces_count_from_the_start_until_the_first_gap() {
        assert_eq!(contiguous(&[]), 0);
        assert_eq!(contiguous(&[part(0, 10), part(10, 5)]), 15);
        assert_eq!(contiguous(&[part(0, 10), part(5, 10)]), 15);
        assert_eq!(contiguous(&[part(0, 10), part(11, 5)]), 10);
        assert_eq!(contiguous(&[part(1, 10)]), 0);
    }
}
