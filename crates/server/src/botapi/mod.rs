//! The Max-compatible bot API at `/bot-api/`: bots written for Max run against Kolokol by
//! changing their base URL and token (docs/BOTS.md). Max's JSON shapes live in
//! `kolokol-botapi`; here the calls are answered through the same services people use, so a bot
//! obeys the same permissions, quiet hours and safeguarding rules.
//!
//! Conventions every handler keeps (the official clients depend on them): every success is
//! `200` with a JSON object; errors are `{"code", "message"}` with Max's codes (`verify.token`,
//! `proto.payload`, `chat.not.found`, …); request bodies are JSON whatever their content type;
//! query values that are empty count as absent.

mod chats;
mod convert;
mod messages;
mod request;
mod updates;
mod uploads;
pub mod webhooks;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use kolokol_botapi::wire;
use kolokol_proto::ErrorCode;
use kolokol_store::{Actor, BotChanges, BotRecord};

use crate::auth::{authenticate, hash_secret};
use crate::error::ApiError;
use crate::state::{AppState, Limit};

use self::request::{MaxJson, Params};

/// Bot tokens begin with this; people's tokens do not, so each API refuses the other's.
pub const BOT_TOKEN_PREFIX: &str = "kkb_";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me).patch(patch_me))
        .route("/me/commands", patch(set_commands))
        .route(
            "/subscriptions",
            get(webhooks::subscriptions)
                .post(webhooks::subscribe)
                .delete(webhooks::unsubscribe),
        )
        .route("/updates", get(updates::updates))
        .route(
            "/messages",
            get(messages::list)
                .post(messages::send)
                .put(messages::edit)
                .delete(messages::delete),
        )
        .route("/messages/{mid}", get(messages::one))
        .route("/answers", post(messages::answer))
        .route("/uploads", post(uploads::begin))
        .route(
            "/upload/{secret}",
            post(uploads::receive).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/videos/{token}", get(uploads::video))
        .route("/chats", get(chats::list))
        .route(
            "/chats/{chat_id}",
            get(chats::one).patch(chats::patch).delete(chats::delete),
        )
        .route("/chats/{chat_id}/actions", post(chats::action))
        .route(
            "/chats/{chat_id}/members",
            get(chats::members)
                .post(chats::add_members)
                .delete(chats::remove_member),
        )
        .route(
            "/chats/{chat_id}/members/admins",
            get(chats::admins).post(chats::add_admins),
        )
        .route(
            "/chats/{chat_id}/members/admins/{user_id}",
            axum::routing::delete(chats::remove_admin),
        )
        .route(
            "/chats/{chat_id}/members/me",
            get(chats::me).delete(chats::leave),
        )
        .route(
            "/chats/{chat_id}/pin",
            get(chats::pinned).put(chats::pin).delete(chats::unpin),
        )
        .fallback(|| async { BotError::not_found("no such method") })
        .method_not_allowed_fallback(|| async { BotError::not_allowed("method not allowed") })
}

/// An error as Max clients expect it.
#[derive(Debug)]
pub struct BotError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl BotError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> BotError {
        BotError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn payload(message: impl Into<String>) -> BotError {
        BotError::new(StatusCode::BAD_REQUEST, "proto.payload", message)
    }

    pub fn not_found(message: impl Into<String>) -> BotError {
        BotError::new(StatusCode::NOT_FOUND, "not.found", message)
    }

    pub fn denied(message: impl Into<String>) -> BotError {
        BotError::new(StatusCode::FORBIDDEN, "chat.denied", message)
    }

    pub fn not_allowed(message: impl Into<String>) -> BotError {
        BotError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method.not.allowed",
            message,
        )
    }

    /// A file still being uploaded; both official clients wait and try again.
    pub fn not_ready() -> BotError {
        BotError::new(
            StatusCode::BAD_REQUEST,
            "attachment.not.ready",
            "the upload is not complete yet",
        )
    }

    pub fn no_chat() -> BotError {
        BotError::new(StatusCode::NOT_FOUND, "chat.not.found", "no such chat")
    }

    fn invalid_token() -> BotError {
        BotError::new(
            StatusCode::UNAUTHORIZED,
            "verify.token",
            "Invalid access_token",
        )
    }
}

impl IntoResponse for BotError {
    fn into_response(self) -> Response {
        let body = wire::Error {
            code: self.code.to_owned(),
            message: self.message,
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// Kolokol's refusals in Max's words.
impl From<ApiError> for BotError {
    fn from(error: ApiError) -> BotError {
        use ErrorCode::*;
        let (status, code) = match error.code {
            Unauthorized | WrongCredentials => (StatusCode::UNAUTHORIZED, "verify.token"),
            NotMember => (StatusCode::NOT_FOUND, "chat.not.found"),
            Forbidden | Safeguarding | Muted => (StatusCode::FORBIDDEN, "chat.denied"),
            NotFound | UserNotFound | MessageNotFound | MessageDeleted => {
                (StatusCode::NOT_FOUND, "not.found")
            }
            RateLimited => (StatusCode::TOO_MANY_REQUESTS, "too.many.requests"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method.not.allowed"),
            Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal.error"),
            _ => (StatusCode::BAD_REQUEST, "proto.payload"),
        };
        BotError::new(status, code, error.message)
    }
}

impl From<kolokol_store::StoreError> for BotError {
    fn from(error: kolokol_store::StoreError) -> BotError {
        ApiError::from(error).into()
    }
}

pub type BotResult<T> = Result<T, BotError>;

/// The calling bot, authenticated by `Authorization: <token>` (Max's scheme; `Bearer <token>`
/// is accepted too). A token in the query is refused as Max refuses it, before anything else.
pub struct Bot {
    pub actor: Actor,
    pub record: BotRecord,
    /// This server's address as the bot reached it: the base of the links it gets.
    pub base: String,
}

impl FromRequestParts<AppState> for Bot {
    type Rejection = BotError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> BotResult<Bot> {
        let query = parts.uri.query().unwrap_or_default();
        if Params::parse(query).has("access_token") {
            return Err(BotError::new(
                StatusCode::FORBIDDEN,
                "deprecated.token",
                "the token goes in the Authorization header, not in the query",
            ));
        }
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .trim();
        let token = header
            .strip_prefix("Bearer ")
            .map_or(header, str::trim)
            .to_owned();
        if !token.starts_with(BOT_TOKEN_PREFIX) {
            return Err(BotError::invalid_token());
        }
        let actor = authenticate(state, hash_secret(&token))
            .await
            .map_err(|_| BotError::invalid_token())?;
        let record = state
            .store
            .bot(actor.user_id)
            .await?
            .ok_or_else(BotError::invalid_token)?;
        state
            .limit(Limit::BotRequests, &actor.user_id.to_string())
            .await?;
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|value| value.to_str().ok());
        let base = state.settings.public_base(host);
        Ok(Bot {
            actor,
            record,
            base,
        })
    }
}

fn bot_info(record: BotRecord) -> wire::BotInfo {
    let commands = record.command_list();
    wire::BotInfo {
        user: convert::user(&record.user),
        description: Some(record.description).filter(|text| !text.is_empty()),
        commands: Some(commands).filter(|commands| !commands.is_empty()),
    }
}

async fn me(bot: Bot) -> axum::Json<wire::BotInfo> {
    axum::Json(bot_info(bot.record))
}

/// At most this many commands, as Max allows.
const MAX_COMMANDS: usize = 32;

/// The commands as stored: checked, then JSON.
fn commands_json(commands: Vec<wire::BotCommand>) -> BotResult<String> {
    if commands.len() > MAX_COMMANDS {
        return Err(BotError::payload("at most 32 commands"));
    }
    for command in &commands {
        let name_ok = (1..=64).contains(&command.name.chars().count());
        let description_ok = command
            .description
            .as_ref()
            .is_none_or(|text| text.chars().count() <= 128);
        if !name_ok || !description_ok {
            return Err(BotError::payload(
                "a command is 1–64 characters, its description up to 128",
            ));
        }
    }
    Ok(serde_json::to_string(&commands).expect("commands serialize"))
}

async fn update_bot(state: &AppState, bot: &Bot, changes: BotChanges) -> BotResult<wire::BotInfo> {
    let record = state.store.update_bot(bot.actor.user_id, changes).await?;
    Ok(bot_info(record))
}

/// `PATCH /me/commands {commands}`: what the web client offers when typing "/".
async fn set_commands(
    State(state): State<AppState>,
    bot: Bot,
    MaxJson(request): MaxJson<wire::CommandsRequest>,
) -> BotResult<axum::Json<serde_json::Value>> {
    let commands = request.commands.unwrap_or_default();
    let changes = BotChanges {
        commands: Some(commands_json(commands.clone())?),
        ..BotChanges::default()
    };
    update_bot(&state, &bot, changes).await?;
    Ok(axum::Json(serde_json::json!({ "commands": commands })))
}

/// `PATCH /me`: name, description and commands.
async fn patch_me(
    State(state): State<AppState>,
    bot: Bot,
    MaxJson(patch): MaxJson<wire::BotPatch>,
) -> BotResult<axum::Json<wire::BotInfo>> {
    let display_name = patch
        .name
        .or(patch.first_name)
        .map(|name| kolokol_domain::validate::display_name(&name))
        .transpose()
        .map_err(|rejection| BotError::payload(rejection.message))?;
    if patch
        .description
        .as_ref()
        .is_some_and(|text| text.chars().count() > 16_000)
    {
        return Err(BotError::payload(
            "the description is up to 16000 characters",
        ));
    }
    let changes = BotChanges {
        display_name,
        description: patch.description,
        commands: patch.commands.map(commands_json).transpose()?,
        ..BotChanges::default()
    };
    Ok(axum::Json(update_bot(&state, &bot, changes).await?))
}
