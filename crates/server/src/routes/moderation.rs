//! Moderation: members report messages to the org that keeps the chat; its admins work the
//! queue and read the audit log of every admin and moderation action.

use axum::extract::State;
use axum::http::StatusCode;
use kolokol_proto::{
    AuditLog, ChatId, ErrorBody, ErrorCode, OrgId, Report, ReportAction, ReportList, ReportRequest,
    ResolveReportRequest, Seq,
};
use kolokol_store::{Actor, NewReport};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Json, Path, Query};
use crate::orgs::audit;
use crate::routes::messages::message_at;
use crate::routes::orgs::as_admin;
use crate::state::AppState;

const MAX_REASON_CHARS: usize = 500;
const AUDIT_PAGE: u32 = 100;

/// Report a message to the organisation that keeps the chat. Only what you report is shown to
/// its admins: the message as it is now, and your reason.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/messages/{seq}/report", tag = "orgs", security(("bearer" = [])), request_body = ReportRequest,
    params(("chat_id" = i64, Path), ("seq" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, seq)): Path<(ChatId, Seq)>,
    Json(request): Json<ReportRequest>,
) -> ApiResult<StatusCode> {
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("a reason is 1 to {MAX_REASON_CHARS} characters"),
        ));
    }
    let message = message_at(&state, actor, chat_id, seq)
        .await?
        .filter(|message| !message.deleted)
        .ok_or_else(|| ApiError::new(ErrorCode::MessageNotFound, "no such message"))?;
    let (org_id, _) = state.store.org_of_chat(chat_id).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "this chat belongs to no organisation, so there is nobody to report to",
        )
    })?;
    // An encrypted message is reported by disclosing it: the reporter's choice, this message only.
    let text = match (&message.mls, request.disclosure) {
        (None, _) => message.text,
        (Some(_), None) => {
            return Err(ApiError::new(
                ErrorCode::EncryptionRequired,
                "to report an encrypted message, disclose its content",
            ));
        }
        (Some(_), Some(content)) => {
            let tag = state.store.franking_tag(chat_id, seq).await?;
            let tag =
                tag.ok_or_else(|| ApiError::new(ErrorCode::MessageNotFound, "no such message"))?;
            crate::mls::check::disclosure(&content.0, &tag)?
        }
    };
    let report = NewReport {
        org_id,
        chat_id,
        seq,
        reporter_id: actor.user_id,
        author_id: message.sender_id,
        text,
        reason: reason.to_owned(),
    };
    state.store.report(report, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReportsParams {
    /// Include reports already dealt with.
    #[serde(default)]
    all: bool,
}

/// The org's moderation queue, newest first (org admins).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/reports", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path), ReportsParams),
    responses((status = 200, body = ReportList), (status = 403, body = ErrorBody)))]
pub async fn reports(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(org_id): Path<OrgId>,
    Query(params): Query<ReportsParams>,
) -> ApiResult<Json<ReportList>> {
    let org = as_admin(&state, actor, org_id).await?;
    Ok(Json(ReportList {
        reports: state.store.reports(org.id, params.all).await?,
    }))
}

/// Deal with a report: dismiss it, or delete the message for everyone (org admins).
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/reports/{report_id}/resolve", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path), ("report_id" = i64, Path)), request_body = ResolveReportRequest,
    responses((status = 200, body = Report), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn resolve_report(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((org_id, report_id)): Path<(OrgId, i64)>,
    Json(request): Json<ResolveReportRequest>,
) -> ApiResult<Json<Report>> {
    let org = as_admin(&state, actor, org_id).await?;
    let open = state
        .store
        .reports(org.id, true)
        .await?
        .into_iter()
        .find(|report| report.id == report_id)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such report"))?;
    if open.resolution.is_some() {
        return Ok(Json(open));
    }
    let resolution = match request.action {
        ReportAction::Dismiss => "dismissed",
        ReportAction::DeleteMessage => {
            // The org's service account owns its chats, so it may delete any message in them.
            let service = Actor {
                user_id: org.service_user_id,
                session_id: 0,
            };
            let outcome = state
                .store
                .delete_message(service, open.chat_id, open.seq, state.now())
                .await?;
            state.publish(outcome.events).await;
            "message_deleted"
        }
    };
    let resolved = state
        .store
        .resolve_report(org.id, report_id, actor.user_id, resolution, state.now())
        .await?;
    let detail = format!(
        "report {report_id}: {resolution} (chat {} message {})",
        open.chat_id, open.seq
    );
    audit(&state, org.id, actor.user_id, "report.resolved", detail).await?;
    Ok(Json(resolved))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditParams {
    /// Entries older than this id (the last one of the previous page).
    before: Option<i64>,
}

/// Every admin and moderation action in the org, newest first, 100 a page (org admins).
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/audit", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path), AuditParams),
    responses((status = 200, body = AuditLog), (status = 403, body = ErrorBody)))]
pub async fn audit_log(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(org_id): Path<OrgId>,
    Query(params): Query<AuditParams>,
) -> ApiResult<Json<AuditLog>> {
    let org = as_admin(&state, actor, org_id).await?;
    Ok(Json(AuditLog {
        entries: state
            .store
            .audit_log(org.id, params.before, AUDIT_PAGE)
            .await?,
    }))
}
