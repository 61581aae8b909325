//! Accounts, sessions, profiles and WebSocket tickets.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use kolokol_domain::{time, validate};
use kolokol_proto::{
    AuthResponse, ChangePasswordRequest, DoNotDisturb, ErrorBody, ErrorCode, LoginRequest, Me,
    Profile, RegisterRequest, RevokedCount, Session, SessionList, UpdateProfileRequest, User,
    UserId, WsTicket,
};
use kolokol_store::{Actor, NewSession, NewUser, ProfileChanges, Revoke};

use crate::auth::{Caller, hash_password, hash_secret, new_secret, verify_password};
use crate::error::{ApiError, ApiResult, Json, Path};
use crate::safeguarding::may_find;
use crate::state::{AppState, Limit};

/// How long a WebSocket ticket stays valid.
const TICKET_TTL_SECS: u64 = 60;

fn new_session(device_name: Option<&str>) -> ApiResult<(String, NewSession)> {
    let device_name = validate::device_name(device_name)?;
    let token = new_secret("kk_");
    let session = NewSession {
        token_hash: hash_secret(&token),
        device_name,
    };
    Ok((token, session))
}

/// Create an account. No phone number or email is asked for.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = RegisterRequest,
    responses((status = 201, body = AuthResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(request): Json<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<AuthResponse>)> {
    state
        .limit(Limit::RegisterPerIp, &peer.ip().to_string())
        .await?;
    let username = validate::username(&request.username)?;
    state.limit(Limit::RegisterPerUsername, &username).await?;
    validate::password(&request.password)?;
    let display_name = validate::display_name(&request.display_name)?;
    let (token, session) = new_session(request.device_name.as_deref())?;
    let user = NewUser {
        username,
        display_name,
        password_hash: hash_password(request.password).await?,
    };
    let (user, _) = state.store.register(user, session, state.now()).await?;
    Ok((StatusCode::CREATED, Json(AuthResponse { user, token })))
}

/// Sign in; returns a new session token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = AuthResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(request): Json<LoginRequest>,
) -> ApiResult<Json<AuthResponse>> {
    state
        .limit(Limit::LoginPerIp, &peer.ip().to_string())
        .await?;
    let username = request.username.to_ascii_lowercase();
    state.limit(Limit::LoginPerUsername, &username).await?;
    let credentials = state.store.credentials(&username).await?;
    let (user, hash) = match credentials {
        Some(found) => (Some(found.user), Some(found.password_hash)),
        None => (None, None),
    };
    let user = match (verify_password(request.password, hash).await, user) {
        (true, Some(user)) => user,
        _ => {
            return Err(ApiError::new(
                ErrorCode::WrongCredentials,
                "wrong username or password",
            ));
        }
    };
    let (token, session) = new_session(request.device_name.as_deref())?;
    state
        .store
        .create_session(user.id, session, state.now())
        .await?;
    Ok(Json(AuthResponse { user, token }))
}

/// Sign out: revokes the calling session (its WebSocket closes).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<StatusCode> {
    let outcome = state
        .store
        .revoke_sessions(actor.user_id, Revoke::One(actor.session_id))
        .await?;
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the password; every other session is revoked.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "accounts", security(("bearer" = [])), request_body = ChangePasswordRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(request): Json<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    validate::password(&request.new_password)?;
    let username = own_username(&state, actor.user_id).await?;
    let hash = state
        .store
        .credentials(&username)
        .await?
        .map(|c| c.password_hash);
    if !verify_password(request.current_password, hash).await {
        return Err(ApiError::new(
            ErrorCode::WrongCredentials,
            "the current password is wrong",
        ));
    }
    let outcome = state
        .store
        .set_password(actor, hash_password(request.new_password).await?)
        .await?;
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own username (others may not see it).
pub async fn own_username(state: &AppState, user_id: UserId) -> ApiResult<String> {
    let profile = state.store.profile(user_id).await?;
    profile
        .and_then(|profile| profile.user.username)
        .ok_or_else(ApiError::unauthorized)
}

/// The signed-in user, with their username and privacy choices.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Me>> {
    let profile = state
        .store
        .profile(actor.user_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let instance_admin = is_instance_admin(&state, &profile);
    Ok(Json(Me {
        profile,
        instance_admin,
    }))
}

/// Whether this account is one of the server's administrators (`--admin` names usernames).
pub fn is_instance_admin(state: &AppState, profile: &Profile) -> bool {
    profile
        .user
        .username
        .as_ref()
        .is_some_and(|username| state.settings.admins.contains(username))
}

/// Your do-not-disturb.
#[utoipa::path(get, path = "/api/v1/me/dnd", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = DoNotDisturb), (status = 401, body = ErrorBody)))]
pub async fn do_not_disturb(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<DoNotDisturb>> {
    let until = state
        .store
        .do_not_disturb(actor.user_id, state.now())
        .await?;
    Ok(Json(DoNotDisturb { until }))
}

/// Longest do-not-disturb: a holiday, not forever.
const MAX_DO_NOT_DISTURB_DAYS: i64 = 31;

/// Turn do-not-disturb on until a time (direct messages to you wait until then), or off with
/// `null`.
#[utoipa::path(put, path = "/api/v1/me/dnd", tag = "accounts", security(("bearer" = [])), request_body = DoNotDisturb,
    responses((status = 200, body = DoNotDisturb), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn set_do_not_disturb(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(request): Json<DoNotDisturb>,
) -> ApiResult<Json<DoNotDisturb>> {
    let now = state.now();
    if let Some(until) = request.until
        && (until <= now || until > now + MAX_DO_NOT_DISTURB_DAYS * 86_400_000)
    {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("do-not-disturb ends in the future, within {MAX_DO_NOT_DISTURB_DAYS} days"),
        ));
    }
    state
        .store
        .set_do_not_disturb(actor.user_id, request.until)
        .await?;
    state
        .quiet
        .update_do_not_disturb(actor.user_id, request.until);
    Ok(Json(request))
}

/// Change display name, about and whether others see your username.
#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])), request_body = UpdateProfileRequest,
    responses((status = 200, body = Profile), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn update_profile(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(request): Json<UpdateProfileRequest>,
) -> ApiResult<Json<Profile>> {
    let changes = ProfileChanges {
        display_name: request
            .display_name
            .as_deref()
            .map(validate::display_name)
            .transpose()?,
        about: request.about.as_deref().map(validate::about).transpose()?,
        show_username: request.show_username,
    };
    Ok(Json(
        state.store.update_profile(actor.user_id, changes).await?,
    ))
}

/// Another user's public profile.
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "accounts", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn user(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(user_id): Path<UserId>,
) -> ApiResult<Json<User>> {
    let user = state.store.user(user_id).await?;
    visible(&state, actor, user).await
}

/// The user, unless there is none or safeguarding hides them from the caller (the same answer).
async fn visible(state: &AppState, actor: Actor, user: Option<User>) -> ApiResult<Json<User>> {
    match user {
        Some(user) if may_find(state, actor.user_id, user.id).await? => Ok(Json(user)),
        _ => Err(ApiError::new(ErrorCode::UserNotFound, "no such user")),
    }
}

/// Find a user by username (case does not matter).
#[utoipa::path(get, path = "/api/v1/users/by-username/{username}", tag = "accounts", security(("bearer" = [])),
    params(("username" = String, Path)), responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
pub async fn user_by_username(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<User>> {
    // No one can have a name that is not a username (and PostgreSQL refuses some, like NUL).
    let user = match validate::username(&username) {
        Ok(name) => state.store.user_by_username(&name).await?,
        Err(_) => None,
    };
    visible(&state, actor, user).await
}

/// The signed-in devices: names and dates only.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
pub async fn sessions(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<SessionList>> {
    let sessions = state
        .store
        .sessions(actor.user_id)
        .await?
        .into_iter()
        .map(|record| Session {
            current: record.id == actor.session_id,
            id: record.id,
            device_name: record.device_name,
            created_on: time::date_of(record.created_at),
            last_seen_on: time::date_of(record.last_seen_at),
        })
        .collect();
    Ok(Json(SessionList { sessions }))
}

/// Revoke one of your sessions; its WebSocket closes at once.
#[utoipa::path(delete, path = "/api/v1/sessions/{session_id}", tag = "accounts", security(("bearer" = [])),
    params(("session_id" = i64, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_session(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(session_id): Path<i64>,
) -> ApiResult<StatusCode> {
    let outcome = state
        .store
        .revoke_sessions(actor.user_id, Revoke::One(session_id))
        .await?;
    if outcome.value == 0 {
        return Err(ApiError::new(ErrorCode::NotFound, "no such session"));
    }
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke every session but this one.
#[utoipa::path(post, path = "/api/v1/sessions/revoke-others", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = RevokedCount), (status = 401, body = ErrorBody)))]
pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<RevokedCount>> {
    let outcome = state
        .store
        .revoke_sessions(actor.user_id, Revoke::AllExcept(actor.session_id))
        .await?;
    state.publish(outcome.events).await;
    Ok(Json(RevokedCount {
        revoked: outcome.value,
    }))
}

/// A one-time ticket to open the WebSocket from a browser (valid for a minute).
#[utoipa::path(post, path = "/api/v1/ws/ticket", tag = "realtime", security(("bearer" = [])),
    responses((status = 200, body = WsTicket), (status = 401, body = ErrorBody)))]
pub async fn ws_ticket(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<WsTicket>> {
    let ticket = new_secret("kt_");
    let expires_at = state.now() + TICKET_TTL_SECS as i64 * 1000;
    state
        .store
        .create_ws_ticket(actor, hash_secret(&ticket), expires_at)
        .await?;
    Ok(Json(WsTicket {
        ticket,
        expires_in_secs: TICKET_TTL_SECS,
    }))
}
