//! People's files: uploads into a chat (resumable, in `Content-Range` pieces), signed links to
//! files shown in their chats, and the files themselves by those links (with HTTP ranges).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kolokol_domain::media::{clean_file_name, parse_content_range};
use kolokol_media::{StoreError, Variant};
use kolokol_proto::{
    Attachment, AttachmentKind, ChatId, ErrorBody, ErrorCode, MediaLinks, MediaLinksRequest,
    UploadRequest, UploadState,
};
use kolokol_store::{Actor, FindUpload, NewUpload, UPLOAD_KEPT_MS, UploadRecord};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Json, Path, Query};
use crate::media::PERSON_LINK_SECS;
use crate::media::receive::{self, raw_body};
use crate::state::AppState;

/// At most this many links in one request.
const MAX_LINKS: usize = 100;
/// At most this many loudness values in a voice message's waveform.
const MAX_WAVEFORM: usize = 100;

/// Begins an upload into a chat (members). The bytes follow with `PUT /uploads/{id}`; the file
/// is then sent by its id in a message's `attachments`.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/uploads", tag = "media", security(("bearer" = [])), request_body = UploadRequest,
    params(("chat_id" = i64, Path)),
    responses((status = 201, body = UploadState), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn begin_upload(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Json(request): Json<UploadRequest>,
) -> ApiResult<(StatusCode, Json<UploadState>)> {
    if request.size == 0 {
        return Err(ApiError::new(ErrorCode::BadRequest, "the file is empty"));
    }
    let limit = match request.kind {
        AttachmentKind::Image => state.media.image_max_bytes,
        _ => state.media.max_bytes,
    };
    if request.size > limit {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("such files are up to {} MiB", limit >> 20),
        ));
    }
    if request.waveform.len() > MAX_WAVEFORM {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "a waveform has at most 100 values",
        ));
    }
    state.store.check_member(actor, chat_id).await?;
    let payer = super::payer(&state, Some(chat_id), actor.user_id).await?;
    super::check_room(&state, payer, request.size).await?;
    let now = state.now();
    let upload = NewUpload {
        capability: None,
        owner_id: actor.user_id,
        chat_id: Some(chat_id),
        kind: request.kind,
        name: request.name.as_deref().and_then(clean_file_name),
        size: Some(request.size),
        duration_ms: request.duration_ms,
        waveform: request.waveform,
        expires_at: now + UPLOAD_KEPT_MS,
    };
    let upload = state.store.create_upload(upload, now).await?;
    Ok((StatusCode::CREATED, Json(upload_state(&upload, 0))))
}

fn upload_state(upload: &UploadRecord, received: u64) -> UploadState {
    UploadState {
        id: upload.id,
        size: upload.size.unwrap_or_default(),
        received,
        expires_at: upload.expires_at,
        attachment: None,
    }
}

/// The file a completed upload made.
async fn made(state: &AppState, upload: &UploadRecord) -> ApiResult<Option<Attachment>> {
    let Some(blob_id) = upload.blob_id else {
        return Ok(None);
    };
    let blob = state.store.blob(blob_id).await?;
    Ok(blob.map(|blob| blob.attachment()))
}

/// The caller's own upload, still open.
async fn own_upload(state: &AppState, actor: Actor, id: i64) -> ApiResult<UploadRecord> {
    state
        .store
        .upload(FindUpload::Id(id), state.now())
        .await?
        .filter(|upload| upload.owner_id == actor.user_id)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such upload"))
}

/// Sends an upload's bytes: the whole file, or a piece named by `Content-Range: bytes
/// first-last/size` (pieces may come in any order, and again after a failure). 200 with the
/// upload's state while pieces are missing; 201 with the file once it is whole.
#[utoipa::path(put, path = "/api/v1/uploads/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 201, body = Attachment), (status = 200, body = UploadState), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn put_upload(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
    request: Request,
) -> ApiResult<Response> {
    let upload = own_upload(&state, actor, id).await?;
    // A piece sent again after the upload completed (its answer lost) gets the file.
    if let Some(file) = made(&state, &upload).await? {
        return Ok((StatusCode::CREATED, Json(file)).into_response());
    }
    let range = request
        .headers()
        .get(header::CONTENT_RANGE)
        .map(|value| parse_content_range(value.to_str().unwrap_or_default()))
        .transpose()?;
    let body = raw_body(request);
    let received = match range {
        Some(range) => receive::piece(&state, &upload, None, range, body).await?,
        None => Ok(receive::whole(&state, &upload, None, body, upload.size).await?),
    };
    Ok(match received {
        Ok(blob) => (StatusCode::CREATED, Json(blob.attachment())).into_response(),
        Err(progress) => Json(upload_state(&upload, progress.received)).into_response(),
    })
}

/// Where an upload stands, to resume it after a lost connection.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = UploadState), (status = 404, body = ErrorBody)))]
pub async fn upload_progress(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<UploadState>> {
    let upload = own_upload(&state, actor, id).await?;
    if let Some(file) = made(&state, &upload).await? {
        let size = upload.size.unwrap_or_default();
        return Ok(Json(UploadState {
            attachment: Some(file),
            ..upload_state(&upload, size)
        }));
    }
    let received = receive::contiguous(&state.store.upload_parts(id).await?);
    Ok(Json(upload_state(&upload, received)))
}

/// Cancels an upload: its pieces are deleted at once.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "media", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn cancel_upload(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let upload = own_upload(&state, actor, id).await?;
    for key in state.store.forget_upload(upload.id).await? {
        state.media.store.delete(&key).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Links to files shown in a chat, for its members. They work without a session token (so
/// `<img>` and `<audio>` load them) for an hour.
#[utoipa::path(post, path = "/api/v1/media/links", tag = "media", security(("bearer" = [])), request_body = MediaLinksRequest,
    responses((status = 200, body = MediaLinks), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn links(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(request): Json<MediaLinksRequest>,
) -> ApiResult<Json<MediaLinks>> {
    if request.ids.len() > MAX_LINKS {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "at most 100 ids at a time",
        ));
    }
    let blobs = state
        .store
        .chat_blobs(actor, request.chat_id, request.ids)
        .await?;
    let links = blobs
        .iter()
        .map(|blob| {
            let thumb = blob.file.thumb_key.is_some();
            let now = state.now();
            state.media.link("", blob.id, thumb, now, PERSON_LINK_SECS)
        })
        .collect();
    Ok(Json(MediaLinks { links }))
}

#[derive(Deserialize)]
pub struct Signed {
    v: String,
    e: i64,
    s: String,
}

/// A file by a signed link: `Content-Type` from its bytes; documents always download
/// (`Content-Disposition: attachment`); one `Range` gets 206.
#[utoipa::path(get, path = "/api/v1/media/{id}", tag = "media",
    params(("id" = i64, Path), ("v" = String, Query, description = "o: the file, t: its thumbnail"),
           ("e" = i64, Query, description = "Expiry, Unix seconds"), ("s" = String, Query, description = "Signature")),
    responses((status = 200, description = "The file"), (status = 206, description = "A range of it"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 416, description = "Range past the end")))]
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(signed): Query<Signed>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let variant = Variant::parse(&signed.v);
    let now_s = state.now() / 1000;
    let valid = variant.is_some_and(|variant| {
        state
            .media
            .signer
            .check_link(id, variant, signed.e, &signed.s, now_s)
    });
    let (Some(variant), true) = (variant, valid) else {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the link is not valid or has expired",
        ));
    };
    let gone = || ApiError::new(ErrorCode::NotFound, "no such file");
    let blob = state.store.blob(id).await?.ok_or_else(gone)?;
    // A thumbnail is encoded as its image is (PNG where there is transparency), so both are
    // served as the file's type; only the thumbnail's size is not recorded.
    let (key, size) = match variant {
        Variant::Original => (blob.file.object_key.clone(), blob.file.size),
        Variant::Thumbnail => {
            let key = blob.file.thumb_key.clone().ok_or_else(gone)?;
            match state.media.store.size(&key).await {
                Ok(size) => (key, size),
                Err(StoreError::NotFound) => return Err(gone()),
                Err(error) => return Err(error.into()),
            }
        }
    };
    let range = match requested_range(&headers, size) {
        Ok(range) => range,
        Err(()) => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{size}")),
            );
            return Ok(response);
        }
    };
    let reading = match state.media.store.read(&key, range.clone()).await {
        Ok(reading) => reading,
        Err(StoreError::NotFound) => return Err(gone()),
        Err(error) => return Err(error.into()),
    };
    let mut response = Response::new(Body::from_stream(reading.body));
    let out = response.headers_mut();
    let is_file = blob.file.kind == AttachmentKind::File;
    // Documents' recorded type is already application/octet-stream.
    out.insert(header::CONTENT_TYPE, header_value(&blob.file.mime));
    out.insert(
        header::CONTENT_LENGTH,
        header_value(&(reading.range.end - reading.range.start).to_string()),
    );
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(
        header::CONTENT_DISPOSITION,
        header_value(&disposition(is_file, blob.file.name.as_deref())),
    );
    // Served from our origin, so it must never run as a page, nor be embedded elsewhere.
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    out.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    let max_age = (signed.e - now_s).max(0);
    out.insert(
        header::CACHE_CONTROL,
        header_value(&format!("private, max-age={max_age}")),
    );
    if range.is_some() {
        out.insert(
            header::CONTENT_RANGE,
            header_value(&format!(
                "bytes {}-{}/{}",
                reading.range.start,
                reading.range.end - 1,
                reading.size
            )),
        );
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(response)
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// The one range asked for, as `start..end`; `None` serves the whole file (also for several
/// ranges, which RFC 9110 lets a server ignore); `Err` for a range past the end.
fn requested_range(headers: &HeaderMap, size: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Ok(parsed) = http_range_header::parse_range_header(value) else {
        return Ok(None);
    };
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => {
            let range = &ranges[0];
            Ok(Some(*range.start()..*range.end() + 1))
        }
        Ok(_) => Ok(None),
        Err(_) => Err(()),
    }
}

/// `attachment` for documents (never shown in the browser), `inline` for the rest; the name in
/// RFC 5987 form, so Russian names survive and nothing can break out of the header.
fn disposition(is_file: bool, name: Option<&str>) -> String {
    let kind = if is_file { "attachment" } else { "inline" };
    match name {
        Some(name) => {
            let mut encoded = String::new();
            for byte in name.bytes() {
                if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                    encoded.push(byte as char);
                } else {
                    encoded.push_str(&format!("%{byte:02X}"));
                }
            }
            format!("{kind}; filename=\"download\"; filename*=UTF-8''{encoded}")
        }
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_so_nothing_escapes_the_header() {
        assert_eq!(
            disposition(true, Some("Дз 5Б.pdf")),
            "attachment; filename=\"download\"; filename*=UTF-8''%D0%94%D0%B7%205%D0%91.pdf"
        );
        assert_eq!(
            disposition(false, Some("a\";b.jpg")),
            "inline; filename=\"download\"; filename*=UTF-8''a%22%3Bb.jpg"
        );
        assert_eq!(disposition(true, None), "attachment");
    }
}
