//! Chats, members and invite links.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use kolokol_domain::validate;
use kolokol_proto::{
    AddMembersRequest, Chat, ChatId, ChatKind, ChatList, ChatPrivacy, ChatSettingsRequest,
    CreateChatRequest, CreateInviteRequest, ErrorBody, ErrorCode, Event, Invite, InviteList,
    InvitePreview, MemberList, MuteRequest, OrgId, Pin, PlaceView, SetRoleRequest, StaffBadge,
    TransferOwnershipRequest, UpdateChatRequest, UserId,
};
use kolokol_store::{Actor, NewChat, NewInvite};

use crate::auth::{Caller, new_secret};
use crate::error::{ApiError, ApiResult, Json, Path};
use crate::orgs::audit_in_chat;
use crate::routes::bots::check_bots_allowed;
use crate::safeguarding::{check_reach, mark_reviewable};
use crate::state::AppState;

/// Largest number of members one request may add (a school-wide channel adds in batches).
const MAX_MEMBERS_PER_REQUEST: usize = 1000;

fn member_batch(ids: Vec<UserId>) -> ApiResult<Vec<UserId>> {
    if ids.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(ApiError::new(
            ErrorCode::InvalidMembers,
            "at most 1000 members per request",
        ));
    }
    Ok(ids)
}

/// Create a direct chat, group or channel. A direct chat that exists is returned with 200.
#[utoipa::path(post, path = "/api/v1/chats", tag = "chats", security(("bearer" = [])), request_body = CreateChatRequest,
    responses((status = 201, body = Chat), (status = 200, description = "The existing direct chat", body = Chat),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_chat(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(request): Json<CreateChatRequest>,
) -> ApiResult<(StatusCode, Json<Chat>)> {
    let title = match request.kind {
        ChatKind::Direct => None,
        _ => Some(validate::chat_title(
            request.title.as_deref().unwrap_or_default(),
        )?),
    };
    let member_ids = member_batch(request.member_ids.unwrap_or_default())?;
    check_reach(&state, actor.user_id, &member_ids).await?;
    if request.privacy == ChatPrivacy::Encrypted {
        crate::mls::check_encrypted_chat(&state, actor.user_id, request.kind, &member_ids).await?;
    }
    let chat = NewChat {
        kind: request.kind,
        privacy: request.privacy,
        title,
        member_ids,
    };
    let outcome = state.store.create_chat(actor, chat, state.now()).await?;
    let (chat_id, created) = outcome.value;
    state.publish(outcome.events).await;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(chat_view(&state, actor, chat_id).await?)))
}

/// The chat as the caller sees it, with the safeguarding notice where one applies.
pub async fn chat_view(state: &AppState, actor: Actor, chat_id: ChatId) -> ApiResult<Chat> {
    let mut chat = [state.store.chat(actor, chat_id).await?];
    mark_reviewable(state, actor.user_id, &mut chat).await?;
    let [chat] = chat;
    Ok(chat)
}

/// The caller's chats, newest activity first, with last message, unread count and role.
#[utoipa::path(get, path = "/api/v1/chats", tag = "chats", security(("bearer" = [])),
    responses((status = 200, body = ChatList), (status = 401, body = ErrorBody)))]
pub async fn chats(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<ChatList>> {
    let mut chats = state.store.chats(actor).await?;
    mark_reviewable(&state, actor.user_id, &mut chats).await?;
    Ok(Json(ChatList { chats }))
}

#[utoipa::path(get, path = "/api/v1/chats/{chat_id}", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 200, body = Chat), (status = 403, body = ErrorBody)))]
pub async fn chat(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<Json<Chat>> {
    Ok(Json(chat_view(&state, actor, chat_id).await?))
}

/// Rename a group or channel (owner and admins).
#[utoipa::path(patch, path = "/api/v1/chats/{chat_id}", tag = "chats", security(("bearer" = [])), request_body = UpdateChatRequest,
    params(("chat_id" = i64, Path)), responses((status = 200, body = Chat), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn rename_chat(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Json(request): Json<UpdateChatRequest>,
) -> ApiResult<Json<Chat>> {
    let title = validate::chat_title(&request.title)?;
    let outcome = state
        .store
        .rename_chat(actor, chat_id, title, state.now())
        .await?;
    audit_in_chat(
        &state,
        chat_id,
        actor.user_id,
        "chat.renamed",
        String::new(),
    )
    .await?;
    state.publish(outcome.events).await;
    Ok(Json(state.store.chat(actor, chat_id).await?))
}

/// Delete a group or channel for everyone (its owner): every message and member goes, and each
/// member is told with `member.removed`. Direct chats and an organisation's chats are refused.
#[utoipa::path(delete, path = "/api/v1/chats/{chat_id}", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn delete_chat(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<StatusCode> {
    let outcome = state.store.delete_chat(actor, chat_id, state.now()).await?;
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/members", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 200, body = MemberList), (status = 403, body = ErrorBody)))]
pub async fn members(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<Json<MemberList>> {
    let mut members = state.store.members(actor, chat_id).await?;
    let badges = staff_badges(
        &state,
        chat_id,
        members.iter().map(|member| member.user.id).collect(),
    )
    .await?;
    for member in &mut members {
        member.staff = badges.get(&member.user.id).cloned();
    }
    Ok(Json(MemberList { members }))
}

/// The staff badge of each of `user_ids` who holds a staff place on a roster: of the chat's
/// own org when it has one, else of the first org.
async fn staff_badges(
    state: &AppState,
    chat_id: ChatId,
    user_ids: Vec<UserId>,
) -> ApiResult<HashMap<UserId, StaffBadge>> {
    let places = state.store.places_of_users(user_ids).await?;
    let chat_org = state
        .store
        .org_of_chat(chat_id)
        .await?
        .map(|(org_id, _)| org_id);
    let mut chosen: HashMap<UserId, OrgId> = HashMap::new();
    for place in places.iter().filter(|place| place.role.is_staff()) {
        let org = chosen.entry(place.user_id).or_insert(place.org_id);
        if Some(place.org_id) == chat_org {
            *org = place.org_id;
        }
    }
    let mut org_names: HashMap<OrgId, String> = HashMap::new();
    for &org_id in chosen.values() {
        if let std::collections::hash_map::Entry::Vacant(entry) = org_names.entry(org_id)
            && let Some(org) = state.store.org(org_id).await?
        {
            entry.insert(org.name);
        }
    }
    let mut badges: HashMap<UserId, StaffBadge> = HashMap::new();
    for place in places.iter().filter(|place| place.role.is_staff()) {
        if chosen.get(&place.user_id) != Some(&place.org_id) {
            continue;
        }
        let badge = badges.entry(place.user_id).or_insert_with(|| StaffBadge {
            org_id: place.org_id,
            org: org_names.get(&place.org_id).cloned().unwrap_or_default(),
            places: Vec::new(),
        });
        badge.places.push(PlaceView {
            unit: place.unit_name.clone(),
            role: place.role.as_str().to_owned(),
            detail: place.detail.clone(),
        });
    }
    Ok(badges)
}

/// Add members (owner and admins). Users already in the chat are left as they are.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/members", tag = "chats", security(("bearer" = [])), request_body = AddMembersRequest,
    params(("chat_id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_members(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Json(request): Json<AddMembersRequest>,
) -> ApiResult<StatusCode> {
    let user_ids = member_batch(request.user_ids)?;
    check_reach(&state, actor.user_id, &user_ids).await?;
    check_bots_allowed(&state, chat_id, &user_ids).await?;
    let chat = state.store.chat(actor, chat_id).await?;
    if chat.privacy == ChatPrivacy::Encrypted {
        crate::mls::check_encrypted_chat(&state, actor.user_id, chat.kind, &user_ids).await?;
    }
    let outcome = state
        .store
        .add_members(actor, chat_id, user_ids, state.now())
        .await?;
    // Those who were members already are left as they were, and out of the log.
    let mut added: Vec<UserId> = outcome
        .events
        .iter()
        .filter_map(|published| match &published.event {
            Event::MemberAdded { user, .. } => Some(user.id),
            _ => None,
        })
        .collect();
    added.sort_unstable();
    added.dedup();
    if !added.is_empty() {
        let detail = user_list(&added);
        audit_in_chat(&state, chat_id, actor.user_id, "member.added", detail).await?;
    }
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member (admins remove members, the owner anyone); your own id means leaving.
#[utoipa::path(delete, path = "/api/v1/chats/{chat_id}/members/{user_id}", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, user_id)): Path<(ChatId, UserId)>,
) -> ApiResult<StatusCode> {
    let outcome = state
        .store
        .remove_member(actor, chat_id, user_id, state.now())
        .await?;
    if user_id != actor.user_id && !outcome.events.is_empty() {
        let detail = format!("user {user_id}");
        audit_in_chat(&state, chat_id, actor.user_id, "member.removed", detail).await?;
    }
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Leave a group or channel. The owner transfers ownership first.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/leave", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn leave(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<StatusCode> {
    let outcome = state
        .store
        .remove_member(actor, chat_id, actor.user_id, state.now())
        .await?;
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Make a member an admin or an admin a member (owner only).
#[utoipa::path(patch, path = "/api/v1/chats/{chat_id}/members/{user_id}", tag = "chats", security(("bearer" = [])), request_body = SetRoleRequest,
    params(("chat_id" = i64, Path), ("user_id" = i64, Path)), responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_role(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, user_id)): Path<(ChatId, UserId)>,
    Json(request): Json<SetRoleRequest>,
) -> ApiResult<StatusCode> {
    let outcome = state
        .store
        .set_role(actor, chat_id, user_id, request.role, state.now())
        .await?;
    let detail = format!("user {user_id}: {}", request.role.as_str());
    audit_in_chat(&state, chat_id, actor.user_id, "member.role", detail).await?;
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Hand ownership to another member; the old owner becomes an admin.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/transfer", tag = "chats", security(("bearer" = [])), request_body = TransferOwnershipRequest,
    params(("chat_id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn transfer_ownership(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Json(request): Json<TransferOwnershipRequest>,
) -> ApiResult<StatusCode> {
    let outcome = state
        .store
        .transfer_ownership(actor, chat_id, request.user_id, state.now())
        .await?;
    let detail = format!("to user {}", request.user_id);
    audit_in_chat(&state, chat_id, actor.user_id, "chat.transferred", detail).await?;
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an invite link (owner and admins), optionally expiring or limited in uses.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/invites", tag = "invites", security(("bearer" = [])), request_body = CreateInviteRequest,
    params(("chat_id" = i64, Path)), responses((status = 201, body = Invite), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_invite(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Json(request): Json<CreateInviteRequest>,
) -> ApiResult<(StatusCode, Json<Invite>)> {
    const MAX_EXPIRY_SECS: u64 = 366 * 24 * 3600;
    if request
        .expires_in_secs
        .is_some_and(|secs| secs == 0 || secs > MAX_EXPIRY_SECS)
        || request.max_uses == Some(0)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidInvite,
            "expiry must be 1 s to 366 days and max_uses at least 1",
        ));
    }
    let now = state.now();
    let invite = NewInvite {
        code: new_secret("")[..22].to_owned(),
        expires_at: request.expires_in_secs.map(|secs| now + secs as i64 * 1000),
        max_uses: request.max_uses,
    };
    let invite = state
        .store
        .create_invite(actor, chat_id, invite, now)
        .await?;
    audit_in_chat(
        &state,
        chat_id,
        actor.user_id,
        "invite.created",
        String::new(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(invite)))
}

#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/invites", tag = "invites", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 200, body = InviteList), (status = 403, body = ErrorBody)))]
pub async fn invites(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<Json<InviteList>> {
    Ok(Json(InviteList {
        invites: state.store.invites(actor, chat_id).await?,
    }))
}

#[utoipa::path(delete, path = "/api/v1/chats/{chat_id}/invites/{code}", tag = "invites", security(("bearer" = [])),
    params(("chat_id" = i64, Path), ("code" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_invite(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, code)): Path<(ChatId, String)>,
) -> ApiResult<StatusCode> {
    state.store.revoke_invite(actor, chat_id, &code).await?;
    audit_in_chat(
        &state,
        chat_id,
        actor.user_id,
        "invite.revoked",
        String::new(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an invite leads to; needs no sign-in, so a join page can show it first.
#[utoipa::path(get, path = "/api/v1/invites/{code}", tag = "invites",
    params(("code" = String, Path)), responses((status = 200, body = InvitePreview), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn invite_preview(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<InvitePreview>> {
    Ok(Json(state.store.invite_preview(&code, state.now()).await?))
}

#[utoipa::path(post, path = "/api/v1/invites/{code}/join", tag = "invites", security(("bearer" = [])),
    params(("code" = String, Path)),
    responses((status = 200, body = Chat), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn join_by_invite(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(code): Path<String>,
) -> ApiResult<Json<Chat>> {
    // Joining puts the caller and the members in reach of each other, as creating a chat with
    // them would: a student joins only where everyone may reach them and they may reach everyone.
    let preview = state.store.invite_preview(&code, state.now()).await?;
    let members = state.store.chat_members(preview.chat.id).await?.user_ids;
    check_reach(&state, actor.user_id, &members).await?;
    let outcome = state
        .store
        .join_by_invite(actor, &code, state.now())
        .await?;
    state.publish(outcome.events).await;
    Ok(Json(state.store.chat(actor, outcome.value).await?))
}

/// The message pinned at the top of the chat.
#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/pin", tag = "chats", security(("bearer" = [])),
    params(("chat_id" = i64, Path)), responses((status = 200, body = Pin), (status = 403, body = ErrorBody)))]
pub async fn pinned(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
) -> ApiResult<Json<Pin>> {
    state.store.check_member(actor, chat_id).await?;
    Ok(Json(Pin {
        seq: state.store.pinned(chat_id).await?,
    }))
}

/// Pin a message at the top of the chat (owner and admins), or take the pin down with
/// `{"seq": null}`.
#[utoipa::path(put, path = "/api/v1/chats/{chat_id}/pin", tag = "chats", security(("bearer" = [])), request_body = Pin,
    params(("chat_id" = i64, Path)),
    responses((status = 200, body = Pin), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pin(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Json(request): Json<Pin>,
) -> ApiResult<Json<Pin>> {
    let outcome = state
        .store
        .pin(actor, chat_id, request.seq, state.now())
        .await?;
    let (action, detail) = match request.seq {
        Some(seq) => ("message.pinned", format!("message {seq}")),
        None => ("message.unpinned", String::new()),
    };
    audit_in_chat(&state, chat_id, actor.user_id, action, detail).await?;
    state.publish(outcome.events).await;
    Ok(Json(request))
}

/// Longest slow mode: an hour between a member's messages.
const MAX_SLOW_MODE_SECS: u32 = 3600;

/// Who may post (everyone, admins only, nobody: a read-only archive) and slow mode (owner and
/// admins). Absent fields stay as they are.
#[utoipa::path(patch, path = "/api/v1/chats/{chat_id}/settings", tag = "chats", security(("bearer" = [])), request_body = ChatSettingsRequest,
    params(("chat_id" = i64, Path)),
    responses((status = 200, body = Chat), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_settings(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(chat_id): Path<ChatId>,
    Json(request): Json<ChatSettingsRequest>,
) -> ApiResult<Json<Chat>> {
    if request
        .slow_mode_secs
        .is_some_and(|secs| secs > MAX_SLOW_MODE_SECS)
    {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("slow mode is 0 to {MAX_SLOW_MODE_SECS} seconds"),
        ));
    }
    let outcome = state
        .store
        .set_chat_settings(
            actor,
            chat_id,
            request.posting,
            request.slow_mode_secs,
            state.now(),
        )
        .await?;
    let chat = state.store.chat(actor, chat_id).await?;
    let detail = format!(
        "posting {}, slow mode {} s",
        chat.posting.as_str(),
        chat.slow_mode_secs
    );
    audit_in_chat(&state, chat_id, actor.user_id, "chat.settings", detail).await?;
    state.publish(outcome.events).await;
    Ok(Json(chat))
}

/// Mute a member until a time (they read but do not post), or unmute with `{"until": null}`.
/// Admins mute members; the owner mutes anyone else.
#[utoipa::path(put, path = "/api/v1/chats/{chat_id}/members/{user_id}/mute", tag = "chats", security(("bearer" = [])), request_body = MuteRequest,
    params(("chat_id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn mute(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, user_id)): Path<(ChatId, UserId)>,
    Json(request): Json<MuteRequest>,
) -> ApiResult<StatusCode> {
    if request.until.is_some_and(|until| until <= state.now()) {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "a mute ends in the future",
        ));
    }
    let outcome = state
        .store
        .mute(actor, chat_id, user_id, request.until, state.now())
        .await?;
    let detail = match request.until {
        Some(until) => format!("user {user_id} until {until}"),
        None => format!("user {user_id} unmuted"),
    };
    audit_in_chat(&state, chat_id, actor.user_id, "member.muted", detail).await?;
    state.publish(outcome.events).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Users as the audit log names them: "user 5, user 9".
fn user_list(user_ids: &[UserId]) -> String {
    user_ids
        .iter()
        .map(|id| format!("user {id}"))
        .collect::<Vec<_>>()
        .join(", ")
}
