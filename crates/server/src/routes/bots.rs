//! People's side of bots: make one (and get its token), list yours, reset a token, and start a
//! bot's chat (`/bot/<username>?start=<payload>`). Bots themselves speak the Max-compatible
//! API in `crate::botapi`.

use axum::extract::State;
use axum::http::StatusCode;
use kolokol_domain::validate;
use kolokol_proto::{
    BotCommand, BotList, BotToken, BotView, Chat, ChatCommand, ChatCommandList, ChatKind,
    CreateBotRequest, CreateChatRequest, CreatedBot, ErrorBody, ErrorCode, StartBotRequest, UserId,
};
use kolokol_store::{Actor, BotRecord, NewSession, NewUser, Revoke};

use crate::auth::{Caller, hash_secret, new_secret};
use crate::botapi::BOT_TOKEN_PREFIX;
use crate::error::{ApiError, ApiResult, Json, Path};
use crate::routes::chats::{chat_view, create_chat};
use crate::state::AppState;

/// Bots one person may own.
const MAX_BOTS_PER_OWNER: usize = 20;
/// The longest start payload, as on Max.
const MAX_PAYLOAD_CHARS: usize = 512;

fn view(record: BotRecord) -> BotView {
    BotView {
        id: record.user.id,
        username: record.user.username.unwrap_or_default(),
        name: record.user.display_name,
        description: record.description,
        commands: serde_json::from_str::<Vec<BotCommand>>(&record.commands).unwrap_or_default(),
    }
}

/// A new token for the bot: only its hash is kept.
fn new_token() -> (String, NewSession) {
    let token = new_secret(BOT_TOKEN_PREFIX);
    let session = NewSession {
        token_hash: hash_secret(&token),
        device_name: "bot token".into(),
    };
    (token, session)
}

/// Make a bot. Its token is shown only in this answer.
#[utoipa::path(post, path = "/api/v1/bots", tag = "bots", security(("bearer" = [])), request_body = CreateBotRequest,
    responses((status = 201, body = CreatedBot), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_bot(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(request): Json<CreateBotRequest>,
) -> ApiResult<(StatusCode, Json<CreatedBot>)> {
    let username = validate::username(&request.username)?;
    let name = validate::display_name(&request.name)?;
    if state.store.bots_of(actor.user_id).await?.len() >= MAX_BOTS_PER_OWNER {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            format!("one person owns at most {MAX_BOTS_PER_OWNER} bots"),
        ));
    }
    let (token, session) = new_token();
    let bot = NewUser {
        username,
        display_name: name,
        // Bots never sign in with a password.
        password_hash: "!".into(),
    };
    let record = state
        .store
        .create_bot(actor.user_id, bot, session, state.now())
        .await?;
    let created = CreatedBot {
        bot: view(record),
        token,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// The bots you made.
#[utoipa::path(get, path = "/api/v1/bots", tag = "bots", security(("bearer" = [])),
    responses((status = 200, body = BotList), (status = 401, body = ErrorBody)))]
pub async fn bots(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<BotList>> {
    let bots = state.store.bots_of(actor.user_id).await?;
    Ok(Json(BotList {
        bots: bots.into_iter().map(view).collect(),
    }))
}

/// One of the caller's bots; `not_found` for others' bots and for people alike.
async fn owned(state: &AppState, actor: Actor, bot_id: UserId) -> ApiResult<BotRecord> {
    match state.store.bot(bot_id).await? {
        Some(record) if record.owner_id == actor.user_id => Ok(record),
        _ => Err(ApiError::new(ErrorCode::NotFound, "no such bot of yours")),
    }
}

/// A new token for your bot; the old one stops working at once, on every node.
#[utoipa::path(post, path = "/api/v1/bots/{bot_id}/token", tag = "bots", security(("bearer" = [])),
    params(("bot_id" = i64, Path)), responses((status = 200, body = BotToken), (status = 404, body = ErrorBody)))]
pub async fn reset_token(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(bot_id): Path<UserId>,
) -> ApiResult<Json<BotToken>> {
    owned(&state, actor, bot_id).await?;
    // Session ids are positive: "all except 0" is all of them.
    let revoked = state
        .store
        .revoke_sessions(bot_id, Revoke::AllExcept(0))
        .await?;
    state.publish(revoked.events).await;
    let (token, session) = new_token();
    state
        .store
        .create_session(bot_id, session, state.now())
        .await?;
    Ok(Json(BotToken { token }))
}

/// The commands the chat's bots offer, for the composer to suggest after "/".
#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/commands", tag = "bots", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 200, body = ChatCommandList), (status = 403, body = ErrorBody)))]
pub async fn chat_commands(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<kolokol_proto::ChatId>,
) -> ApiResult<Json<ChatCommandList>> {
    let members = state.store.members(actor, chat_id).await?;
    let mut commands = Vec::new();
    for member in members.into_iter().filter(|member| member.user.is_bot) {
        let Some(record) = state.store.bot(member.user.id).await? else {
            continue;
        };
        let bot = view(record);
        commands.extend(bot.commands.into_iter().map(|command| ChatCommand {
            bot_id: bot.id,
            bot: bot.username.clone(),
            name: command.name,
            description: command.description,
        }));
    }
    Ok(Json(ChatCommandList { commands }))
}

/// Open the bot's chat and tell the bot (`bot_started`, with the payload of a deep link).
#[utoipa::path(post, path = "/api/v1/bots/by-username/{username}/start", tag = "bots", security(("bearer" = [])),
    params(("username" = String, Path)), request_body = StartBotRequest,
    responses((status = 200, body = Chat), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn start_bot(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    Json(request): Json<StartBotRequest>,
) -> ApiResult<Json<Chat>> {
    let actor = caller.0;
    if request
        .payload
        .as_ref()
        .is_some_and(|payload| payload.chars().count() > MAX_PAYLOAD_CHARS)
    {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "the start payload is up to 512 characters",
        ));
    }
    let not_found = || ApiError::new(ErrorCode::UserNotFound, "no such bot");
    let user = state
        .store
        .user_by_username(&username.to_ascii_lowercase())
        .await?
        .ok_or_else(not_found)?;
    state.store.bot(user.id).await?.ok_or_else(not_found)?;
    // The chat as any direct chat is made: the same safeguarding rules.
    let request_chat = CreateChatRequest {
        kind: ChatKind::Direct,
        title: None,
        member_ids: Some(vec![user.id]),
    };
    let (_, Json(chat)) = create_chat(State(state.clone()), caller, Json(request_chat)).await?;
    let outcome = state
        .store
        .start_bot(
            user.id,
            actor.user_id,
            chat.id,
            request.payload,
            state.now(),
        )
        .await?;
    state.publish(outcome.events).await;
    Ok(Json(chat_view(&state, actor, chat.id).await?))
}
