//! Organisations: creating one, importing its roster, claim codes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use kolokol_domain::quiet::QuietWindow;
use kolokol_domain::roster::{self, RosterChanges};
use kolokol_domain::validate;
use kolokol_proto::{
    ChatId, ClaimCodeEntry, ClaimCodeList, ClaimRequest, ClaimResult, CreateOrgRequest, ErrorBody,
    ErrorCode, FamilyMember, FamilyRead, FamilyView, GuardianRead, IssueClaimCodesRequest,
    LineError, Message, MessageReach, OrgChatView, OrgId, OrgInfo, OrgList, OrgPolicy, PlaceView,
    Posting, ReminderSent, Role, RolloverReport, RolloverRequest, RosterEntry, RosterReport,
    RosterView, Seq, UnitMove, UnitView, UserId,
};
use kolokol_store::orgs::{OrgPerson, OrgUnit, RosterIndex};
use kolokol_store::{
    Actor, ChatPurpose, NewClaimCode, NewOrg, NewUser, Org, OrgRole, StoredRoster, UnitRename,
};
use serde::Deserialize;

use crate::auth::{Caller, hash_secret, new_secret};
use crate::error::{ApiError, ApiResult, Json, Path, Query};
use crate::orgs::{Scope, audit, new_claim_code, normalise_claim_code, provision};
use crate::routes::accounts::is_instance_admin;
use crate::routes::messages::message_at;
use crate::state::{AppState, Limit};

/// Largest roster file: a school of 3,000 students with their families is about 0.5 MB.
pub const MAX_ROSTER_BYTES: usize = 4 * 1024 * 1024;
/// How long a claim code stays valid.
const CLAIM_CODE_DAYS: i64 = 30;
const DEFAULT_TIME_ZONE: &str = "Europe/Moscow";

/// Create an organisation; the caller becomes its first admin. Only the instance's
/// administrators (`--admin`) may.
#[utoipa::path(post, path = "/api/v1/orgs", tag = "orgs", security(("bearer" = [])), request_body = CreateOrgRequest,
    responses((status = 201, body = OrgInfo), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_org(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Json(request): Json<CreateOrgRequest>,
) -> ApiResult<(StatusCode, Json<OrgInfo>)> {
    let profile = state
        .store
        .profile(actor.user_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if !is_instance_admin(&state, &profile) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only the instance's administrators may create organisations",
        ));
    }
    let name = validate::org_name(&request.name)?;
    let time_zone = request
        .time_zone
        .unwrap_or_else(|| DEFAULT_TIME_ZONE.into());
    if jiff::tz::TimeZone::get(&time_zone).is_err() {
        return Err(ApiError::new(
            ErrorCode::InvalidOrg,
            format!("unknown time zone \"{time_zone}\": use an IANA name such as Europe/Moscow"),
        ));
    }
    // The service account owns the org's chats; it has no password and cannot sign in.
    let service_user = NewUser {
        username: format!("org_{}", &new_secret("").to_ascii_lowercase()[..12]).replace('-', "_"),
        display_name: name.clone(),
        password_hash: "!".into(),
    };
    let new = NewOrg {
        name,
        time_zone,
        service_user,
    };
    let org = state
        .store
        .create_org(new, actor.user_id, state.now())
        .await?;
    let detail = format!("time zone {}", org.time_zone);
    audit(&state, org.id, actor.user_id, "org.created", detail).await?;
    Ok((
        StatusCode::CREATED,
        Json(org_info(org, vec![OrgRole::Admin])),
    ))
}

fn org_info(org: Org, roles: Vec<OrgRole>) -> OrgInfo {
    OrgInfo {
        id: org.id,
        name: org.name,
        time_zone: org.time_zone,
        roles: roles.iter().map(|role| role.as_str().to_owned()).collect(),
        policy: org.policy,
    }
}

/// Set the org's policy (quiet hours, whom students reach). Only the org's admins may.
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/policy", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path)), request_body = OrgPolicy,
    responses((status = 200, body = OrgInfo), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_policy(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(org_id): Path<OrgId>,
    Json(mut policy): Json<OrgPolicy>,
) -> ApiResult<Json<OrgInfo>> {
    let mut org = as_admin(&state, actor, org_id).await?;
    policy.allowed_bots = org.policy.allowed_bots.clone();
    if let Some(hours) = &policy.quiet_hours {
        QuietWindow::parse(hours)?;
    }
    kolokol_domain::media::check_policy(policy.media_quota_mb, policy.media_retention_days)?;
    if let Some(unknown) = policy
        .encrypted_chats
        .iter()
        .find(|name| ChatPurpose::parse(name).is_none())
    {
        return Err(ApiError::new(
            ErrorCode::InvalidPolicy,
            format!("{unknown:?} is none of parents, class, staff_room, announcements"),
        ));
    }
    policy.encrypted_chats.sort();
    policy.encrypted_chats.dedup();
    state.store.set_org_policy(org.id, policy.clone()).await?;
    let detail = match &policy.quiet_hours {
        Some(hours) => format!(
            "quiet hours {}–{}{}",
            hours.start,
            hours.end,
            if hours.weekends { " and weekends" } else { "" }
        ),
        None => "no quiet hours".into(),
    };
    let mut detail = format!(
        "{detail}; students reach {}",
        policy.student_contacts.as_str()
    );
    if policy.media_quota_mb.is_some() || policy.media_retention_days.is_some() {
        let quota = policy
            .media_quota_mb
            .map_or_else(|| "the default".to_owned(), |mb| format!("{mb} MiB"));
        let kept = policy.media_retention_days.map_or_else(
            || "as long as their messages".to_owned(),
            |days| format!("{days} days"),
        );
        detail.push_str(&format!("; files: {quota}, kept {kept}"));
    }
    audit(&state, org.id, actor.user_id, "policy.set", detail).await?;
    org.policy = policy;
    state.quiet.update_org(&org);
    let roles = state.store.org_roles(org.id, actor.user_id).await?;
    Ok(Json(org_info(org, roles)))
}

/// The organisations the caller belongs to, with the caller's org-wide roles.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "orgs", security(("bearer" = [])),
    responses((status = 200, body = OrgList), (status = 401, body = ErrorBody)))]
pub async fn orgs(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<OrgList>> {
    let mut orgs = Vec::new();
    for org in state.store.orgs_of(actor.user_id).await? {
        let roles = state.store.org_roles(org.id, actor.user_id).await?;
        orgs.push(org_info(org, roles));
    }
    Ok(Json(OrgList { orgs }))
}

/// The org, if the caller is one of its admins; otherwise `forbidden` (also for orgs that do
/// not exist, so ids cannot be probed).
pub async fn as_admin(state: &AppState, actor: Actor, org_id: OrgId) -> ApiResult<Org> {
    let forbidden = || ApiError::new(ErrorCode::Forbidden, "only the org's admins may do this");
    let roles = state.store.org_roles(org_id, actor.user_id).await?;
    if !roles.contains(&OrgRole::Admin) {
        return Err(forbidden());
    }
    state.store.org(org_id).await?.ok_or_else(forbidden)
}

/// The roster with each class's people, whether they have claimed, and the org's chats.
#[utoipa::path(get, path = "/api/v1/orgs/{org_id}/roster", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path)), responses((status = 200, body = RosterView), (status = 403, body = ErrorBody)))]
pub async fn roster(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(org_id): Path<OrgId>,
) -> ApiResult<Json<RosterView>> {
    let org = as_admin(&state, actor, org_id).await?;
    let stored = state.store.roster(org.id).await?;
    Ok(Json(roster_view(&stored)))
}

fn roster_view(stored: &StoredRoster) -> RosterView {
    let index = stored.index();
    let chats_of = |unit_id: Option<i64>| {
        stored
            .chats
            .iter()
            .filter(|chat| chat.unit_id == unit_id)
            .map(|chat| OrgChatView {
                purpose: chat.purpose.as_str().into(),
                chat_id: chat.chat_id,
            })
            .collect()
    };
    let units = stored
        .units
        .iter()
        .map(|unit| {
            let mut people: Vec<RosterEntry> = index
                .places_in_unit(unit.id)
                .iter()
                .filter_map(|place| {
                    let person = index.people.get(&place.person_id)?;
                    let detail = match place.role {
                        roster::RosterRole::Guardian => index
                            .people_by_key
                            .get(place.detail.as_str())
                            .map_or_else(String::new, |child| child.name.clone()),
                        _ => place.detail.clone(),
                    };
                    Some(RosterEntry {
                        person_id: person.id,
                        name: person.name.clone(),
                        role: place.role.as_str().into(),
                        detail,
                        claimed: person.user_id.is_some(),
                    })
                })
                .collect();
            // Staff first, then students, then families; by name within each.
            people.sort_by_cached_key(|entry| {
                let rank = ["class_teacher", "teacher", "student", "guardian"]
                    .iter()
                    .position(|role| *role == entry.role);
                (rank, entry.name.clone())
            });
            UnitView {
                id: unit.id,
                name: unit.name.clone(),
                archived: unit.archived,
                people,
                families: families_of(&index, unit.id),
                chats: chats_of(Some(unit.id)),
            }
        })
        .collect();
    RosterView {
        units,
        chats: chats_of(None),
    }
}

/// The families of a class: each student with the guardians the roster names for them there,
/// by the students' names.
fn families<'a>(index: &RosterIndex<'a>, unit_id: i64) -> Vec<(&'a OrgPerson, Vec<&'a OrgPerson>)> {
    let places = index.places_in_unit(unit_id);
    let mut guardians_of: HashMap<&str, Vec<&OrgPerson>> = HashMap::new();
    for place in places
        .iter()
        .filter(|place| place.role == roster::RosterRole::Guardian)
    {
        if let Some(guardian) = index.people.get(&place.person_id) {
            guardians_of
                .entry(place.detail.as_str())
                .or_default()
                .push(guardian);
        }
    }
    let mut families: Vec<_> = places
        .iter()
        .filter(|place| place.role == roster::RosterRole::Student)
        .filter_map(|place| index.people.get(&place.person_id).copied())
        .map(|student| {
            let mut guardians = guardians_of
                .remove(student.key.as_str())
                .unwrap_or_default();
            guardians.sort_by(|a, b| a.name.cmp(&b.name));
            (student, guardians)
        })
        .collect();
    families.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    families
}

fn families_of(index: &RosterIndex<'_>, unit_id: i64) -> Vec<FamilyView> {
    families(index, unit_id)
        .into_iter()
        .map(|(student, guardians)| FamilyView {
            student_person_id: student.id,
            student: student.name.clone(),
            reached: guardians.iter().any(|guardian| guardian.user_id.is_some()),
            guardians: guardians
                .iter()
                .map(|guardian| FamilyMember {
                    name: guardian.name.clone(),
                    claimed: guardian.user_id.is_some(),
                })
                .collect(),
        })
        .collect()
}

/// Who has read a message: for the chat's owner and admins. In a class's parents' chat and in
/// the announcement channel, each family of the classes it serves, read when a guardian has.
#[utoipa::path(get, path = "/api/v1/chats/{chat_id}/messages/{seq}/reach", tag = "orgs", security(("bearer" = [])),
    params(("chat_id" = i64, Path), ("seq" = i64, Path)),
    responses((status = 200, body = MessageReach), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn message_reach(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, seq)): Path<(ChatId, Seq)>,
) -> ApiResult<Json<MessageReach>> {
    let message = message_for_admins(&state, actor, chat_id, seq).await?;
    let ack_requested = state.store.ack_requests(chat_id).await?.contains(&seq);
    let reminded_at = state.store.reminded_at(chat_id, seq).await?;
    let acked: HashSet<UserId> = state
        .store
        .acks(chat_id, seq)
        .await?
        .into_iter()
        .map(|(user_id, _)| user_id)
        .collect();
    let markers: HashMap<UserId, Seq> = state
        .store
        .read_markers(chat_id)
        .await?
        .into_iter()
        .collect();
    let has_read = |user_id: UserId| markers.get(&user_id).is_some_and(|&read| read >= seq);

    let mut service_user = None;
    let mut families_read = Vec::new();
    for org in state.store.orgs_of(actor.user_id).await? {
        let stored = state.store.roster(org.id).await?;
        let Some(org_chat) = stored.chats.iter().find(|c| c.chat_id == chat_id) else {
            continue;
        };
        service_user = Some(org.service_user_id);
        let units: Vec<&OrgUnit> = match (org_chat.purpose, org_chat.unit_id) {
            (ChatPurpose::Parents, Some(unit_id)) => stored
                .units
                .iter()
                .filter(|unit| unit.id == unit_id)
                .collect(),
            (ChatPurpose::Announcements, _) => {
                stored.units.iter().filter(|unit| !unit.archived).collect()
            }
            _ => Vec::new(),
        };
        let index = stored.index();
        for unit in units {
            for (student, guardians) in families(&index, unit.id) {
                let guardians: Vec<GuardianRead> = guardians
                    .iter()
                    .map(|guardian| GuardianRead {
                        name: guardian.name.clone(),
                        joined: guardian.user_id.is_some(),
                        read: guardian.user_id.is_some_and(has_read),
                        acked: guardian.user_id.is_some_and(|id| acked.contains(&id)),
                    })
                    .collect();
                families_read.push(FamilyRead {
                    unit: unit.name.clone(),
                    student: student.name.clone(),
                    read: guardians.iter().any(|guardian| guardian.read),
                    acked: guardians.iter().any(|guardian| guardian.acked),
                    guardians,
                });
            }
        }
        break;
    }
    let others: Vec<UserId> = markers
        .keys()
        .copied()
        .filter(|&user_id| user_id != message.sender_id && Some(user_id) != service_user)
        .collect();
    Ok(Json(MessageReach {
        seq,
        members: others.len() as u32,
        read: others.iter().filter(|&&user_id| has_read(user_id)).count() as u32,
        ack_requested,
        reminded_at,
        acked: others
            .iter()
            .filter(|&user_id| acked.contains(user_id))
            .count() as u32,
        families: families_read,
    }))
}

/// Message `seq` of the chat, for its owner and admins only (reading reach, reminding).
async fn message_for_admins(
    state: &AppState,
    actor: Actor,
    chat_id: ChatId,
    seq: Seq,
) -> ApiResult<Message> {
    let chat = state.store.chat(actor, chat_id).await?;
    if chat.role == Role::Member {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "only the chat's owner and admins see who has read, and remind",
        ));
    }
    message_at(state, actor, chat_id, seq)
        .await?
        .filter(|message| !message.deleted)
        .ok_or_else(|| ApiError::new(ErrorCode::MessageNotFound, "no such message"))
}

/// How long after a reminder the same message's readers may be reminded again.
const REMIND_AGAIN_AFTER: i64 = 3_600_000;

/// Remind the members who have not read message `seq` (and only them) to read it: each gets a
/// `reminder` event. For the chat's owner and admins; once an hour per message.
#[utoipa::path(post, path = "/api/v1/chats/{chat_id}/messages/{seq}/remind", tag = "orgs", security(("bearer" = [])),
    params(("chat_id" = i64, Path), ("seq" = i64, Path)),
    responses((status = 200, body = ReminderSent), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn remind(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((chat_id, seq)): Path<(ChatId, Seq)>,
) -> ApiResult<Json<ReminderSent>> {
    let message = message_for_admins(&state, actor, chat_id, seq).await?;
    let org_service_user = match state.store.org_of_chat(chat_id).await? {
        Some((org_id, _)) => state
            .store
            .org(org_id)
            .await?
            .map(|org| org.service_user_id),
        None => None,
    };
    let unread: Vec<UserId> = state
        .store
        .read_markers(chat_id)
        .await?
        .into_iter()
        .filter(|&(user_id, read)| {
            read < seq && user_id != message.sender_id && Some(user_id) != org_service_user
        })
        .map(|(user_id, _)| user_id)
        .collect();
    if unread.is_empty() {
        return Ok(Json(ReminderSent { reminded: 0 }));
    }
    let now = state.now();
    let reminded = unread.len() as u32;
    let outcome = state
        .store
        .remind(chat_id, seq, unread, now - REMIND_AGAIN_AFTER, now)
        .await?;
    state.publish(outcome.events).await;
    Ok(Json(ReminderSent { reminded }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportParams {
    /// Check the file and report what would change, without changing anything.
    #[serde(default)]
    dry_run: bool,
}

/// Import the roster (CSV, UTF-8: `role,class,name,child,subjects`, optionally `id`). A file
/// with any error imports nothing and lists every error by line. Importing again adds, moves
/// and archives; it never duplicates. Chats follow the roster.
#[utoipa::path(put, path = "/api/v1/orgs/{org_id}/roster", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path), ImportParams), request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = RosterReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn import_roster(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(org_id): Path<OrgId>,
    Query(params): Query<ImportParams>,
    body: Bytes,
) -> ApiResult<Json<RosterReport>> {
    let org = as_admin(&state, actor, org_id).await?;
    let roster = roster::parse(&body).map_err(|errors| {
        let count = errors.len();
        let errors = errors
            .into_iter()
            .map(|error| LineError {
                line: error.line,
                message: error.problem.to_string(),
                problem: error.problem,
            })
            .collect();
        ApiError::new(
            ErrorCode::RosterInvalid,
            format!("the roster has {count} error(s); nothing was imported"),
        )
        .with_lines(errors)
    })?;
    let before = state.store.roster(org.id).await?.current();
    let changes = RosterChanges::between(&before, &roster);
    let mut report = RosterReport {
        dry_run: params.dry_run,
        units_added: changes.units_added,
        units_archived: changes.units_archived,
        people_added: changes.people_added,
        people_archived: changes.people_archived,
        people_changed: changes.people_changed,
        ..RosterReport::default()
    };
    if params.dry_run {
        return Ok(Json(report));
    }
    state.store.save_roster(org.id, roster, state.now()).await?;
    let provisioned = provision(&state, &org, &Scope::All).await?;
    let detail = format!(
        "{} people added, {} archived, {} changed; {} chats created",
        report.people_added.len(),
        report.people_archived.len(),
        report.people_changed.len(),
        provisioned.chats_created
    );
    audit(&state, org.id, actor.user_id, "roster.imported", detail).await?;
    report.chats_created = provisioned.chats_created;
    report.members_added = provisioned.members_added;
    report.members_removed = provisioned.members_removed;
    Ok(Json(report))
}

/// Give people new claim codes (replacing older ones) and return them, once, for printing.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/claim-codes", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path)), request_body = IssueClaimCodesRequest,
    responses((status = 200, body = ClaimCodeList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn issue_claim_codes(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(org_id): Path<OrgId>,
    Json(request): Json<IssueClaimCodesRequest>,
) -> ApiResult<Json<ClaimCodeList>> {
    let org = as_admin(&state, actor, org_id).await?;
    let stored = state.store.roster(org.id).await?;
    let view = roster_view(&stored);
    let mut places_of: HashMap<i64, Vec<(&UnitView, &RosterEntry)>> = HashMap::new();
    for unit in view.units.iter().filter(|unit| !unit.archived) {
        for entry in &unit.people {
            places_of
                .entry(entry.person_id)
                .or_default()
                .push((unit, entry));
        }
    }
    let wanted: Option<BTreeSet<i64>> = request.person_ids.map(|ids| ids.into_iter().collect());
    let now = state.now();
    let expires_at = now + CLAIM_CODE_DAYS * 86_400_000;
    let mut codes = Vec::new();
    for person in stored.people.iter().filter(|person| !person.archived) {
        let places = places_of.remove(&person.id).unwrap_or_default();
        let chosen = match &wanted {
            Some(ids) => ids.contains(&person.id),
            None => {
                (request.include_claimed || person.user_id.is_none())
                    && request
                        .unit_id
                        .is_none_or(|unit_id| places.iter().any(|(unit, _)| unit.id == unit_id))
            }
        };
        if !chosen || places.is_empty() {
            continue;
        }
        codes.push(ClaimCodeEntry {
            person_id: person.id,
            name: person.name.clone(),
            places: places
                .iter()
                .map(|(unit, entry)| PlaceView {
                    unit: unit.name.clone(),
                    role: entry.role.clone(),
                    detail: entry.detail.clone(),
                })
                .collect(),
            code: new_claim_code(),
        });
    }
    if let Some(ids) = &wanted
        && ids.len() != codes.len()
    {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "some of these people are not on the current roster",
        ));
    }
    let new_codes = codes
        .iter()
        .map(|entry| NewClaimCode {
            person_id: entry.person_id,
            code_hash: hash_secret(&normalise_claim_code(&entry.code)),
            expires_at,
        })
        .collect();
    state
        .store
        .issue_claim_codes(org.id, new_codes, now)
        .await?;
    let detail = format!("{} codes", codes.len());
    audit(&state, org.id, actor.user_id, "claim_codes.issued", detail).await?;
    Ok(Json(ClaimCodeList { expires_at, codes }))
}

/// Link the caller's account to a person of a roster, joining the chats the roster gives them.
/// Attempts are rate-limited per account and per address.
#[utoipa::path(post, path = "/api/v1/claim", tag = "orgs", security(("bearer" = [])), request_body = ClaimRequest,
    responses((status = 200, body = ClaimResult), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn claim(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Caller(actor): Caller,
    Json(request): Json<ClaimRequest>,
) -> ApiResult<Json<ClaimResult>> {
    state
        .limit(Limit::ClaimPerIp, &peer.ip().to_string())
        .await?;
    state
        .limit(Limit::ClaimPerUser, &actor.user_id.to_string())
        .await?;
    let code_hash = hash_secret(&normalise_claim_code(&request.code));
    let claimed = state
        .store
        .redeem_claim_code(code_hash, actor.user_id, state.now())
        .await?;
    let org = state
        .store
        .org(claimed.org_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "internal error"))?;
    let stored = state.store.roster(org.id).await?;
    let units = stored
        .places
        .iter()
        .filter(|place| place.person_id == claimed.person_id)
        .map(|place| place.unit_id)
        .collect();
    provision(&state, &org, &Scope::Units(units)).await?;
    let roles = state.store.org_roles(org.id, actor.user_id).await?;
    Ok(Json(ClaimResult {
        org: org_info(org, roles),
        person_name: claimed.name,
    }))
}

/// The grade that leaves a Russian school.
const FINAL_GRADE: u32 = 11;
/// How long after a rollover another is refused: most of a year.
const ROLLED_OVER_FOR: i64 = 180 * 86_400_000;

/// Year-end rollover: every class moves up a grade with its people and chats ("5Б" → "6Б"), and
/// the final grade leaves: its class is archived and its chats become read-only archives.
/// Org admins; try it with `dry_run` first.
#[utoipa::path(post, path = "/api/v1/orgs/{org_id}/rollover", tag = "orgs", security(("bearer" = [])),
    params(("org_id" = i64, Path)), request_body = RolloverRequest,
    responses((status = 200, body = RolloverReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn rollover(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(org_id): Path<OrgId>,
    Json(request): Json<RolloverRequest>,
) -> ApiResult<Json<RolloverReport>> {
    let org = as_admin(&state, actor, org_id).await?;
    let stored = state.store.roster(org.id).await?;
    let current: Vec<&OrgUnit> = stored.units.iter().filter(|unit| !unit.archived).collect();
    let names: Vec<String> = current.iter().map(|unit| unit.name.clone()).collect();
    let zone = jiff::tz::TimeZone::get(&org.time_zone)
        .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?;
    let year = jiff::Timestamp::from_millisecond(state.now())
        .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?
        .to_zoned(zone)
        .year();
    let archived: Vec<String> = stored
        .units
        .iter()
        .filter(|unit| unit.archived)
        .map(|unit| unit.name.clone())
        .collect();
    let plan = kolokol_domain::rollover::plan(
        &names,
        &archived,
        request.final_grade.unwrap_or(FINAL_GRADE),
        i32::from(year),
    )?;
    // Once a school year: a second run would move every class up again.
    let log = state.store.audit_log(org.id, None, 1000).await?;
    if let Some(last) = log
        .iter()
        .find(|entry| entry.action == "roster.rollover" && state.now() - entry.at < ROLLED_OVER_FOR)
    {
        let on = kolokol_domain::time::date_of(last.at);
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("this school year was rolled over on {on}; a rollover runs once a year"),
        ));
    }
    let unit_move = |(from, to): &(String, String)| UnitMove {
        from: from.clone(),
        to: to.clone(),
    };
    let report = RolloverReport {
        dry_run: request.dry_run,
        moves: plan.moves.iter().map(unit_move).collect(),
        leavers: plan.leavers.iter().map(unit_move).collect(),
        untouched: plan.untouched.clone(),
    };
    if request.dry_run {
        return Ok(Json(report));
    }
    let id_of = |name: &str| {
        current
            .iter()
            .find(|unit| unit.name == name)
            .map(|unit| unit.id)
            .expect("planned from these units")
    };
    let leaving: Vec<i64> = plan.leavers.iter().map(|(from, _)| id_of(from)).collect();
    let renames = plan
        .leavers
        .iter()
        .map(|(from, to)| (from, to, true))
        .chain(plan.moves.iter().map(|(from, to)| (from, to, false)))
        .map(|(from, to, archive)| UnitRename {
            unit_id: id_of(from),
            name: to.clone(),
            archive,
        })
        .collect();
    state
        .store
        .rename_units(org.id, renames, state.now())
        .await?;

    // The chats follow their classes' new names; the leavers' chats are kept, read-only.
    let renamed = state.store.roster(org.id).await?;
    let service = Actor {
        user_id: org.service_user_id,
        session_id: 0,
    };
    for chat in renamed.chats.iter().filter(|chat| chat.unit_id.is_some()) {
        let title = crate::orgs::chat_title(&org, &renamed, chat.unit_id, chat.purpose);
        let outcome = state
            .store
            .rename_chat(service, chat.chat_id, title, state.now())
            .await?;
        state.publish(outcome.events).await;
        if chat.unit_id.is_some_and(|unit| leaving.contains(&unit)) {
            let outcome = state
                .store
                .set_chat_settings(
                    service,
                    chat.chat_id,
                    Some(Posting::Nobody),
                    None,
                    state.now(),
                )
                .await?;
            state.publish(outcome.events).await;
        }
    }
    let detail = format!(
        "{} classes moved up, {} left",
        report.moves.len(),
        report.leavers.len()
    );
    audit(&state, org.id, actor.user_id, "roster.rollover", detail).await?;
    Ok(Json(report))
}
