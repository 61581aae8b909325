//! The safeguarding lead's view: every direct chat between the school's staff and its students,
//! readable by the lead (each reading is audited), and who holds the org's roles.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use kolokol_domain::roster::RosterRole;
use kolokol_domain::validate;
use kolokol_proto::{
    ChatId, ErrorBody, ErrorCode, GrantRoleRequest, MessageList, OrgId, OrgRoleHolder, OrgRoleList,
    ReviewedChat, ReviewedChatList, Seq, UserId,
};
use kolokol_store::{Actor, Org, OrgRole, Page};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Json, Path, Query};
use crate::orgs::audit;
use crate::routes::orgs::as_admin;
use crate::state::AppState;

fn parse_role(role: &str) -> ApiResult<OrgRole> {
    OrgRole::parse(role).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidRole,
            "an org role is admin or safeguarding_lead",
        )
    })
}

/// Who holds the org's roles: its admins, then its safeguarding leads (org admins).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/roles", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path)),
    responses((status = 200, body = OrgRoleList), (status = 403, body = ErrorBody)))]
pub async fn roles(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(org_id): Path<OrgId>,
) -> ApiResult<Json<OrgRoleList>> {
    let org = as_admin(&state, actor, org_id).await?;
    let mut roles = Vec::new();
    for role in [OrgRole::Admin, OrgRole::SafeguardingLead] {
        for user_id in state.store.org_role_holders(org.id, role).await? {
            if let Some(user) = state.store.user(user_id).await? {
                let role = role.as_str().to_owned();
                roles.push(OrgRoleHolder { user, role });
            }
        }
    }
    Ok(Json(OrgRoleList { roles }))
}

/// Give an account an org-wide role: `admin` or `safeguarding_lead` (org admins).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/roles", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path)), request_body = GrantRoleRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn grant_role(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(org_id): Path<OrgId>,
    Json(request): Json<GrantRoleRequest>,
) -> ApiResult<StatusCode> {
    let org = as_admin(&state, actor, org_id).await?;
    let role = parse_role(&request.role)?;
    let username = validate::username(&request.username)?;
    let user = state
        .store
        .user_by_username(&username)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::UserNotFound, "no such user"))?;
    state.store.grant_org_role(org.id, user.id, role).await?;
    let detail = format!("user {} {}", user.id, role.as_str());
    audit(&state, org.id, actor.user_id, "role.granted", detail).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take an org-wide role back (org admins); the last admin stays.
#[utoipa::path(delete, path = "/api/v1/orgs/{org_id}/roles/{user_id}/{role}", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path), ("user_id" = i64, Path), ("role" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_role(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((org_id, user_id, role)): Path<(OrgId, UserId, String)>,
) -> ApiResult<StatusCode> {
    let org = as_admin(&state, actor, org_id).await?;
    let role = parse_role(&role)?;
    if role == OrgRole::Admin {
        let admins = state.store.org_role_holders(org.id, OrgRole::Admin).await?;
        if admins == [user_id] {
            return Err(ApiError::new(
                ErrorCode::OwnerMustTransfer,
                "the org keeps at least one admin: make someone else admin first",
            ));
        }
    }
    state.store.revoke_org_role(org.id, user_id, role).await?;
    let detail = format!("user {user_id} {}", role.as_str());
    audit(&state, org.id, actor.user_id, "role.revoked", detail).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The org, if the caller is its safeguarding lead; otherwise `forbidden` (also for orgs that do
/// not exist). Being an admin is not enough.
async fn as_lead(state: &AppState, actor: Actor, org_id: OrgId) -> ApiResult<Org> {
    let forbidden = || {
        ApiError::new(
            ErrorCode::Forbidden,
            "only the org's safeguarding lead reviews these chats",
        )
    };
    let roles = state.store.org_roles(org_id, actor.user_id).await?;
    if !roles.contains(&OrgRole::SafeguardingLead) {
        return Err(forbidden());
    }
    state.store.org(org_id).await?.ok_or_else(forbidden)
}

/// Every direct chat between a member of the org's staff and one of its students.
async fn staff_student_chats(state: &AppState, org: &Org) -> ApiResult<Vec<ReviewedChat>> {
    let roster = state.store.roster(org.id).await?;
    let index = roster.index();
    // Claimed accounts by their current role: staff, students, and the roster name of each.
    let mut staff: HashMap<UserId, String> = HashMap::new();
    let mut students: HashMap<UserId, String> = HashMap::new();
    for place in &roster.places {
        let Some(person) = index.people.get(&place.person_id) else {
            continue;
        };
        let (Some(user_id), false) = (person.user_id, person.archived) else {
            continue;
        };
        if place.role.is_staff() {
            staff.insert(user_id, person.name.clone());
        } else if place.role == RosterRole::Student {
            students.insert(user_id, person.name.clone());
        }
    }
    let everyone = staff.keys().chain(students.keys()).copied().collect();
    let mut chats = Vec::new();
    for (chat_id, one, other) in state.store.direct_chats_among(everyone).await? {
        for (staff_id, student_id) in [(one, other), (other, one)] {
            if let (Some(staff_name), Some(student_name)) =
                (staff.get(&staff_id), students.get(&student_id))
            {
                chats.push(ReviewedChat {
                    chat_id,
                    staff_id,
                    staff_name: staff_name.clone(),
                    student_id,
                    student_name: student_name.clone(),
                });
            }
        }
    }
    Ok(chats)
}

/// Every direct chat between the school's staff and its students (safeguarding lead only).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/safeguarding/chats", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path)),
    responses((status = 200, body = ReviewedChatList), (status = 403, body = ErrorBody)))]
pub async fn reviewed_chats(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(org_id): Path<OrgId>,
) -> ApiResult<Json<ReviewedChatList>> {
    let org = as_lead(&state, actor, org_id).await?;
    Ok(Json(ReviewedChatList {
        chats: staff_student_chats(&state, &org).await?,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReviewParams {
    before: Option<Seq>,
    after: Option<Seq>,
    /// 1–100, default 50.
    limit: Option<u32>,
}

/// Read one of those chats (safeguarding lead only); every reading goes into the audit log.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/safeguarding/chats/{chat_id}/messages", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path), ("chat_id" = i64, Path), ReviewParams),
    responses((status = 200, body = MessageList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn review_chat(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((org_id, chat_id)): Path<(OrgId, ChatId)>,
    Query(params): Query<ReviewParams>,
) -> ApiResult<Json<MessageList>> {
    let org = as_lead(&state, actor, org_id).await?;
    let page = Page {
        before: params.before,
        after: params.after,
        limit: validate::history_limit(params.limit)?,
    };
    let reviewed = staff_student_chats(&state, &org).await?;
    if !reviewed.iter().any(|chat| chat.chat_id == chat_id) {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "not a chat between this school's staff and a student",
        ));
    }
    let messages = state.store.review_messages(chat_id, page).await?;
    audit(
        &state,
        org.id,
        actor.user_id,
        "safeguarding.viewed",
        format!("chat {chat_id}"),
    )
    .await?;
    Ok(Json(MessageList { messages }))
}
