//! People's side of bots: make one (and get its token), list yours, reset a token, start a
//! bot's chat (`/bot/<username>?start=<payload>`) and press its buttons. Bots themselves speak
//! the Max-compatible API in `crate::botapi`.

use axum::extract::State;
use axum::http::StatusCode;
use kolokol_domain::roster::RosterRole;
use kolokol_domain::{keyboard, validate};
use kolokol_proto::{
    AddMembersRequest, BotList, BotToken, BotView, Button, Chat, ChatButtonRequest, ChatCommand,
    ChatCommandList, ChatId, ChatKind, CreateBotRequest, CreateChatRequest, CreatedBot, ErrorBody,
    ErrorCode, Event, OpenWebAppRequest, OrgId, PressButtonRequest, Role, Seq, StartBotRequest,
    UpdateBotRequest, User, UserId, WebAppLaunch,
};
use kolokol_store::{Actor, BotChanges, BotRecord, NewChat, NewSession, NewUser, Revoke};

use crate::auth::{Caller, hash_secret, new_secret};
use crate::botapi::BOT_TOKEN_PREFIX;
use crate::error::{ApiError, ApiResult, Json, Path};
use crate::orgs::audit;
use crate::routes::chats::{chat_view, create_chat};
use crate::routes::messages::message_at;
use crate::routes::orgs::as_admin;
use crate::state::{AppState, Limit};

/// Bots one person may own.
const MAX_BOTS_PER_OWNER: usize = 20;
/// A deep link's payload or a mini-app's start parameter: at most 512 characters, as on Max.
fn check_start_payload(payload: Option<&String>) -> ApiResult<()> {
    if payload.is_some_and(|payload| payload.chars().count() > keyboard::MAX_START_PARAM_CHARS) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "the start payload is up to 512 characters",
        ));
    }
    Ok(())
}

fn view(record: BotRecord) -> BotView {
    BotView {
        commands: record.command_list(),
        id: record.user.id,
        username: record.user.username.unwrap_or_default(),
        name: record.user.display_name,
        description: record.description,
        web_app_url: record.web_app_url,
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

/// Keeps what signs the bot's mini-app's initData with `token`.
async fn keep_web_app_key(state: &AppState, bot_id: UserId, token: &str) -> ApiResult<()> {
    let changes = BotChanges {
        web_app_key: Some(kolokol_botapi::web_app::secret_key(token)),
        ..BotChanges::default()
    };
    state.store.update_bot(bot_id, changes).await?;
    Ok(())
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
    keep_web_app_key(&state, record.user.id, &token).await?;
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
    keep_web_app_key(&state, bot_id, &token).await?;
    Ok(Json(BotToken { token }))
}

/// Press a bot's `chat` button: the first press makes a group for it (the presser owns it, the
/// bot is its admin, and hears `message_chat_created`); later presses join that group. The
/// same rules decide as when people make groups and add members.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/messages/{seq}/chat-button", tag = "bots", security(("bearer" = [])),
    params(("chat_id" = i64, Path), ("seq" = i64, Path)), request_body = ChatButtonRequest,
    responses((status = 200, body = Chat), (status = 403, body = ErrorBody),
              (status = 404, description = "No such message or chat button", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn press_chat_button(
    State(state): State<AppState>,
    caller: Caller,
    Path((chat_id, seq)): Path<(ChatId, Seq)>,
    Json(place): Json<ChatButtonRequest>,
) -> ApiResult<Json<Chat>> {
    let actor = caller.0;
    state
        .limit(Limit::ButtonPresses, &actor.user_id.to_string())
        .await?;
    let message = message_at(&state, actor, chat_id, seq)
        .await?
        .filter(|message| !message.deleted)
        .ok_or_else(|| ApiError::new(ErrorCode::MessageNotFound, "no such message"))?;
    let button = message
        .keyboard
        .get(place.row)
        .and_then(|row| row.get(place.column));
    let Some(Button::Chat {
        chat_title,
        start_payload,
        uuid,
        ..
    }) = button
    else {
        return Err(ApiError::new(ErrorCode::NotFound, "no such chat button"));
    };
    let bot = Actor {
        user_id: message.sender_id,
        session_id: 0,
    };
    let key = uuid.map_or_else(
        || format!("{}:{}", place.row, place.column),
        |uuid| uuid.to_string(),
    );
    if let Some(group) = state.store.button_chat(chat_id, seq, key.clone()).await? {
        // The bot, as the group's admin, adds whoever presses next.
        let joined = state.store.check_member(actor, group).await.is_ok();
        if !joined {
            let add = Json(AddMembersRequest {
                user_ids: vec![actor.user_id],
            });
            crate::routes::chats::add_members(State(state.clone()), Caller(bot), Path(group), add)
                .await?;
        }
        return Ok(Json(chat_view(&state, actor, group).await?));
    }
    let request = CreateChatRequest {
        kind: ChatKind::Group,
        title: Some(chat_title.clone()),
        member_ids: Some(vec![bot.user_id]),
        privacy: kolokol_proto::ChatPrivacy::Community,
    };
    let (_, Json(made)) = create_chat(State(state.clone()), caller, Json(request)).await?;
    let outcome = state
        .store
        .set_role(actor, made.id, bot.user_id, Role::Admin, state.now())
        .await?;
    state.publish(outcome.events).await;
    let group = state
        .store
        .link_button_chat(chat_id, seq, key, made.id)
        .await?;
    if group == made.id {
        let created = Event::BotChatCreated {
            chat_id: group,
            source_chat_id: chat_id,
            seq,
            user_id: actor.user_id,
            start_payload: start_payload.clone(),
            at: state.now(),
        };
        let outcome = state
            .store
            .tell_user(bot.user_id, created, state.now())
            .await?;
        state.publish(outcome.events).await;
    }
    Ok(Json(chat_view(&state, actor, group).await?))
}

/// Set (or, with `null`, remove) your bot's mini-app address: `https`, or on a server that
/// allows private webhooks, plain `http` too.
#[utoipa::path(patch, path = "/api/v1/bots/{bot_id}", tag = "bots", security(("bearer" = [])),
    params(("bot_id" = i64, Path)), request_body = UpdateBotRequest,
    responses((status = 200, body = BotView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_bot(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(bot_id): Path<UserId>,
    Json(request): Json<UpdateBotRequest>,
) -> ApiResult<Json<BotView>> {
    owned(&state, actor, bot_id).await?;
    let allow_private = state.settings.bot_webhooks_allow_private;
    let url = request
        .web_app_url
        .map(|url| crate::botapi::webhooks::checked_url(url.trim(), allow_private))
        .transpose()
        .map_err(|reason| ApiError::new(ErrorCode::BadRequest, reason))?;
    let changes = BotChanges {
        web_app_url: Some(url.map(|url| url.to_string())),
        ..BotChanges::default()
    };
    Ok(Json(view(state.store.update_bot(bot_id, changes).await?)))
}

/// Open a bot's mini-app: where it is, and the signed initData that tells it who you are (your
/// id and name, your username only if you show it). Only for a bot you share a chat with.
#[utoipa::path(post, path = "/api/v1/bots/by-username/{username}/web-app", tag = "bots", security(("bearer" = [])),
    params(("username" = String, Path)), request_body = OpenWebAppRequest,
    responses((status = 200, body = WebAppLaunch), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn open_web_app(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(username): Path<String>,
    Json(request): Json<OpenWebAppRequest>,
) -> ApiResult<Json<WebAppLaunch>> {
    check_start_payload(request.start_param.as_ref())?;
    let bot = bot_named(&state, &username).await?;
    let shared = match request.chat_id {
        Some(chat_id) => {
            state.store.check_member(actor, chat_id).await?;
            state
                .store
                .chat_members(chat_id)
                .await?
                .user_ids
                .contains(&bot.id)
        }
        None => !state
            .store
            .direct_chats_among(vec![actor.user_id, bot.id])
            .await?
            .is_empty(),
    };
    if !shared {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "open a bot's app from a chat it is in",
        ));
    }
    let no_app = || ApiError::new(ErrorCode::NotFound, "this bot has no mini-app");
    let record = state.store.bot(bot.id).await?.ok_or_else(no_app)?;
    let url = record.web_app_url.ok_or_else(no_app)?;
    let key = state
        .store
        .bot_web_app_key(bot.id)
        .await?
        .ok_or_else(no_app)?;
    let profile = state
        .store
        .profile(actor.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "no such user"))?;
    let mut user = serde_json::json!({
        "id": actor.user_id,
        "first_name": profile.user.display_name,
    });
    if profile.show_username {
        user["username"] = serde_json::json!(profile.user.username);
    }
    let mut fields = vec![
        ("query_id".to_owned(), new_secret("")),
        ("auth_date".to_owned(), (state.now() / 1000).to_string()),
        ("user".to_owned(), user.to_string()),
    ];
    if let Some(start_param) = request.start_param {
        fields.push(("start_param".to_owned(), start_param));
    }
    Ok(Json(WebAppLaunch {
        url,
        init_data: kolokol_botapi::web_app::sign(&key, fields),
    }))
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
    check_start_payload(request.payload.as_ref())?;
    let user = bot_named(&state, &username).await?;
    let chat_id = if approved_for_student(&state, actor, user.id).await? {
        // A bot the student's own school approved: past the rule that keeps students to people
        // of their school.
        let direct = NewChat {
            kind: ChatKind::Direct,
            title: None,
            member_ids: vec![user.id],
            privacy: kolokol_proto::ChatPrivacy::Community,
        };
        let outcome = state.store.create_chat(actor, direct, state.now()).await?;
        state.publish(outcome.events).await;
        outcome.value.0
    } else {
        // The chat as any direct chat is made: the same safeguarding rules.
        let request_chat = CreateChatRequest {
            kind: ChatKind::Direct,
            title: None,
            member_ids: Some(vec![user.id]),
            privacy: kolokol_proto::ChatPrivacy::Community,
        };
        let (_, Json(chat)) = create_chat(State(state.clone()), caller, Json(request_chat)).await?;
        chat.id
    };
    let started = Event::BotStarted {
        chat_id,
        user_id: actor.user_id,
        payload: request.payload,
        at: state.now(),
    };
    let outcome = state.store.tell_user(user.id, started, state.now()).await?;
    state.publish(outcome.events).await;
    Ok(Json(chat_view(&state, actor, chat_id).await?))
}

/// Press a callback button under a bot's message: the bot hears of it (`message_callback`) and
/// may answer with a notification (`callback.answered`) or by editing the message.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/messages/{seq}/callback", tag = "bots", security(("bearer" = [])),
    params(("chat_id" = i64, Path), ("seq" = i64, Path)), request_body = PressButtonRequest,
    responses((status = 204), (status = 403, body = ErrorBody),
              (status = 404, description = "No such message, no such button, or the bot left", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn press_button(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, seq)): Path<(ChatId, Seq)>,
    Json(request): Json<PressButtonRequest>,
) -> ApiResult<StatusCode> {
    state
        .limit(Limit::ButtonPresses, &actor.user_id.to_string())
        .await?;
    let outcome = state
        .store
        .press_button(actor, chat_id, seq, request.payload, state.now())
        .await?;
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The bot with this username (case does not matter); `user_not_found` for people too.
async fn bot_named(state: &AppState, username: &str) -> ApiResult<User> {
    let user = state
        .store
        .user_by_username(&username.to_ascii_lowercase())
        .await?;
    user.filter(|user| user.is_bot)
        .ok_or_else(|| ApiError::new(ErrorCode::UserNotFound, "no such bot"))
}

/// Whether `actor` is a student whose school approved `bot` (see [`allowed_bots`]).
async fn approved_for_student(state: &AppState, actor: Actor, bot: UserId) -> ApiResult<bool> {
    let places = state.store.places_of_users(vec![actor.user_id]).await?;
    for place in places
        .iter()
        .filter(|place| place.role == RosterRole::Student)
    {
        let org = state.store.org(place.org_id).await?;
        if org.is_some_and(|org| org.policy.allowed_bots.contains(&bot)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Refuses to seat a bot in a chat an org keeps unless the org approved it.
pub async fn check_bots_allowed(
    state: &AppState,
    chat_id: ChatId,
    user_ids: &[UserId],
) -> ApiResult<()> {
    let Some((org_id, _)) = state.store.org_of_chat(chat_id).await? else {
        return Ok(());
    };
    let Some(org) = state.store.org(org_id).await? else {
        return Ok(());
    };
    for &user_id in user_ids {
        let is_bot = state.store.bot(user_id).await?.is_some();
        if is_bot && !org.policy.allowed_bots.contains(&user_id) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "this organisation's chats take only the bots its admins approved",
            ));
        }
    }
    Ok(())
}

/// The bots the org approved: only these join its chats, and its students open only these.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/bots", tag = "bots", security(("bearer" = [])),
    params(("org_id" = i64, Path)), responses((status = 200, body = BotList), (status = 403, body = ErrorBody)))]
pub async fn allowed_bots(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(org_id): Path<OrgId>,
) -> ApiResult<Json<BotList>> {
    let org = as_admin(&state, actor, org_id).await?;
    let mut bots = Vec::new();
    for bot_id in org.policy.allowed_bots {
        if let Some(record) = state.store.bot(bot_id).await? {
            bots.push(view(record));
        }
    }
    Ok(Json(BotList { bots }))
}

/// Adds or removes a bot from the org's approved list, audited.
async fn set_allowed(
    state: &AppState,
    actor: Actor,
    org_id: OrgId,
    bot_id: UserId,
    allowed: bool,
) -> ApiResult<()> {
    let mut org = as_admin(state, actor, org_id).await?;
    let list = &mut org.policy.allowed_bots;
    if list.contains(&bot_id) == allowed {
        // Nothing changes, so nothing is written to the log; withdrawing what was never
        // approved says so.
        return match allowed {
            true => Ok(()),
            false => Err(ApiError::new(
                ErrorCode::NotFound,
                "that bot is not approved",
            )),
        };
    }
    list.retain(|&id| id != bot_id);
    if allowed {
        list.push(bot_id);
    }
    state
        .store
        .set_org_policy(org.id, org.policy.clone())
        .await?;
    state.quiet.update_org(&org);
    let action = if allowed {
        "bot.allowed"
    } else {
        "bot.disallowed"
    };
    audit(
        state,
        org.id,
        actor.user_id,
        action,
        format!("bot {bot_id}"),
    )
    .await
}

/// Approve a bot for the org's chats and students (org admins).
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/bots/{username}", tag = "bots", security(("bearer" = [])),
    params(("org_id" = i64, Path), ("username" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn allow_bot(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((org_id, username)): Path<(OrgId, String)>,
) -> ApiResult<StatusCode> {
    as_admin(&state, actor, org_id).await?;
    let user = bot_named(&state, &username).await?;
    set_allowed(&state, actor, org_id, user.id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Withdraw a bot's approval (org admins); it stays where it already is.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/bots/{bot_id}", tag = "bots", security(("bearer" = [])),
    params(("org_id" = i64, Path), ("bot_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disallow_bot(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((org_id, bot_id)): Path<(OrgId, UserId)>,
) -> ApiResult<StatusCode> {
    set_allowed(&state, actor, org_id, bot_id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
