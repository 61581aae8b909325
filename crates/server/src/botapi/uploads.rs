//! Uploads as Max bots make them: `POST /uploads?type=` gives an upload URL, the file goes there
//! (multipart field `data`, a raw body, or `Content-Range` pieces), and the answer's token goes
//! into a message. `GET /videos/{token}` describes an uploaded video. Files go through the same
//! pipeline as people's: type from the bytes, images re-encoded without EXIF.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt};
use kolokol_domain::media::parse_content_range;
use kolokol_media::TokenOf;
use kolokol_proto::AttachmentKind;
use kolokol_store::{BlobRecord, FindUpload, NewUpload, UPLOAD_KEPT_MS, UploadRecord};
use serde_json::{Value, json};

use super::request::Params;
use super::{Bot, BotError, BotResult};
use crate::auth::{hash_secret, new_secret};
use crate::media::BOT_LINK_SECS;
use crate::media::receive::{self, Body, raw_body};
use crate::state::AppState;

/// `POST /uploads?type=image|video|audio|file`: where to send the file. Video and audio get
/// their token now (Max's flow); images and files get theirs when the bytes arrive.
pub async fn begin(
    State(state): State<AppState>,
    bot: Bot,
    params: Params,
) -> BotResult<Json<Value>> {
    let kind = match params.text("type") {
        Some("image") => AttachmentKind::Image,
        Some("video") => AttachmentKind::Video,
        Some("audio") => AttachmentKind::Audio,
        Some("file") => AttachmentKind::File,
        _ => return Err(BotError::payload("type is image, video, audio or file")),
    };
    let secret = new_secret("");
    let now = state.now();
    let upload = NewUpload {
        capability: Some(hash_secret(&secret)),
        owner_id: bot.actor.user_id,
        chat_id: None,
        kind,
        name: None,
        size: None,
        duration_ms: None,
        waveform: Vec::new(),
        expires_at: now + UPLOAD_KEPT_MS,
    };
    let upload = state.store.create_upload(upload, now).await?;
    let mut answer = json!({ "url": format!("{}/bot-api/upload/{secret}", bot.base) });
    if matches!(kind, AttachmentKind::Video | AttachmentKind::Audio) {
        let token = state
            .media
            .signer
            .max_token(bot.actor.user_id, TokenOf::Upload(upload.id));
        answer["token"] = json!(token);
    }
    Ok(Json(answer))
}

/// `POST /bot-api/upload/{secret}`: the URL is the credential (the TS client sends no
/// `Authorization` here), good for one file and a day.
pub async fn receive(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    request: Request,
) -> BotResult<Response> {
    let upload = state
        .store
        .upload(FindUpload::Capability(hash_secret(&secret)), state.now())
        .await?
        .ok_or_else(|| BotError::not_found("no such upload URL, or it has expired"))?;
    if upload.blob_id.is_some() {
        return Err(BotError::payload("an upload URL takes one file"));
    }
    let headers = request.headers().clone();
    let name = file_name(&headers);
    let content_range = headers
        .get(header::CONTENT_RANGE)
        .and_then(|value| value.to_str().ok())
        .map(parse_content_range)
        .transpose()
        .map_err(|rejection| BotError::payload(rejection.message))?;
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"));
    let received = if let Some(range) = content_range {
        let body = raw_body(request);
        receive::piece(&state, &upload, name, range, body).await?
    } else if is_multipart {
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|rejection| BotError::payload(rejection.body_text()))?;
        let field = loop {
            let field = multipart
                .next_field()
                .await
                .map_err(|error| BotError::payload(error.body_text()))?
                .ok_or_else(|| BotError::payload("the form has no file (field `data`)"))?;
            if field.file_name().is_some() || field.name() == Some("data") {
                break field;
            }
        };
        let name = field.file_name().map(str::to_owned).or(name);
        let body: Body = field.map_err(std::io::Error::other).boxed();
        Ok(receive::whole(&state, &upload, name, body, None).await?)
    } else {
        let body = raw_body(request);
        Ok(receive::whole(&state, &upload, name, body, None).await?)
    };
    Ok(answer(&state, &upload, received.ok()))
}

/// The name a client gave the file outside a form: `Content-Disposition` or `X-File-Name`.
fn file_name(headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let from_disposition = text("content-disposition").and_then(|value| {
        let (_, rest) = value.split_once("filename=")?;
        Some(rest.trim().trim_matches('"').to_owned())
    });
    from_disposition.or_else(|| text("x-file-name").map(str::to_owned))
}

/// Max's answers: images `{photos}`, files `{token}`; video and audio (and every piece of a
/// resumable upload) `<retval>1</retval>`, as their token came with the URL.
fn answer(state: &AppState, upload: &UploadRecord, blob: Option<BlobRecord>) -> Response {
    let token = |blob: &BlobRecord| {
        state
            .media
            .signer
            .max_token(upload.owner_id, TokenOf::Blob(blob.id))
    };
    match (upload.kind, blob) {
        (AttachmentKind::Image, Some(blob)) => {
            Json(json!({"photos": {blob.id.to_string(): {"token": token(&blob)}}})).into_response()
        }
        (AttachmentKind::File, Some(blob)) => Json(json!({"token": token(&blob)})).into_response(),
        _ => ([(header::CONTENT_TYPE, "text/xml")], "<retval>1</retval>").into_response(),
    }
}

/// `GET /videos/{token}`: an uploaded or received video, with a link to play it. The TS client
/// sends the token as a query parameter to the literal path `/videos/{video_token}`.
pub async fn video(
    State(state): State<AppState>,
    bot: Bot,
    Path(token): Path<String>,
    params: Params,
) -> BotResult<Json<Value>> {
    let token = match token.as_str() {
        "{video_token}" => params.text("video_token").unwrap_or_default().to_owned(),
        _ => token,
    };
    let not_found = || BotError::not_found("no such video");
    let id = match state
        .media
        .signer
        .parse_max_token(bot.actor.user_id, &token)
    {
        Some(TokenOf::Blob(id)) => id,
        Some(TokenOf::Upload(upload_id)) => state
            .store
            .upload(FindUpload::Id(upload_id), state.now())
            .await?
            .and_then(|upload| upload.blob_id)
            .ok_or_else(not_found)?,
        None => return Err(not_found()),
    };
    let blob = state
        .store
        .visible_blob(bot.actor.user_id, id)
        .await?
        .filter(|blob| blob.file.kind == AttachmentKind::Video)
        .ok_or_else(not_found)?;
    let link = state
        .media
        .link(&bot.base, blob.id, false, state.now(), BOT_LINK_SECS);
    Ok(Json(json!({
        "token": token,
        "urls": {"mp4_720": link.url},
        "width": blob.file.width.unwrap_or(0),
        "height": blob.file.height.unwrap_or(0),
        "duration": blob.file.duration_ms.map_or(0, |ms| ms / 1000),
    })))
}
