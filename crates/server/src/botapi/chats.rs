//! Chats and their members as a bot sees them: `GET /chats`, `GET /chats/{id}`, members, admins,
//! leaving, the pinned message and "typing…". Changes go through the people's handlers, so the
//! same permission checks and audit entries apply.

use axum::Json;
use axum::extract::{Path, State};
use kolokol_botapi::ids::{MessageRef, chat_id_of, parse_mid};
use kolokol_botapi::wire;
use kolokol_proto::{
    AddMembersRequest, ChatId, ErrorCode, Member, Pin, Role, SetRoleRequest, UpdateChatRequest,
};

use super::convert::Lookup;
use super::request::{MaxJson, Params};
use super::{Bot, BotError, BotResult};
use crate::auth::Caller;
use crate::error;
use crate::routes::chats as people;
use crate::routes::messages::{message_at, publish_typing};
use crate::state::AppState;

/// A chat's id in a path: a number (chats by public link do not exist here).
fn path_chat(text: &str) -> BotResult<ChatId> {
    text.parse::<i64>()
        .map(chat_id_of)
        .map_err(|_| BotError::no_chat())
}

/// `GET /chats`: the chats the bot is in, newest activity first.
pub async fn list(
    State(state): State<AppState>,
    bot: Bot,
    params: Params,
) -> BotResult<Json<wire::ChatList>> {
    let count = params.count(50)?;
    let mut lookup = Lookup::for_bot(&state, &bot);
    let mut chats = Vec::new();
    for chat in state.store.chats(bot.actor).await?.into_iter().take(count) {
        chats.push(lookup.max_chat(chat.id).await?);
    }
    Ok(Json(wire::ChatList {
        chats,
        marker: None,
    }))
}

pub async fn one(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
) -> BotResult<Json<wire::Chat>> {
    let chat_id = path_chat(&chat_id)?;
    Ok(Json(Lookup::for_bot(&state, &bot).max_chat(chat_id).await?))
}

/// `PATCH /chats/{id}`: a new title, a message to pin.
pub async fn patch(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
    MaxJson(patch): MaxJson<wire::ChatPatch>,
) -> BotResult<Json<wire::Chat>> {
    let chat_id = path_chat(&chat_id)?;
    if let Some(title) = patch.title {
        let request = error::Json(UpdateChatRequest { title });
        let caller = Caller(bot.actor);
        people::rename_chat(State(state.clone()), caller, error::Path(chat_id), request).await?;
    }
    if let Some(mid) = patch.pin {
        set_pin(state.clone(), &bot, chat_id, Some(seq_in(chat_id, &mid)?)).await?;
    }
    Ok(Json(Lookup::for_bot(&state, &bot).max_chat(chat_id).await?))
}

/// `POST /chats/{id}/members {user_ids}`: as a person adds them, so the same safeguarding and
/// approved-bot rules decide; a refusal names who was not added.
pub async fn add_members(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
    MaxJson(request): MaxJson<wire::UserIdsList>,
) -> BotResult<Json<wire::ModifyMembersResult>> {
    let chat_id = path_chat(&chat_id)?;
    let user_ids = request.user_ids;
    let add = error::Json(AddMembersRequest {
        user_ids: user_ids.clone(),
    });
    let added =
        people::add_members(State(state), Caller(bot.actor), error::Path(chat_id), add).await;
    let error_code = match added {
        Ok(_) => {
            return Ok(Json(wire::ModifyMembersResult {
                success: true,
                message: None,
                failed_user_ids: None,
                failed_user_details: None,
            }));
        }
        Err(refusal) if refusal.code == ErrorCode::Safeguarding => "add.participant.privacy",
        Err(refusal) if refusal.code == ErrorCode::UserNotFound => "add.participant.not.found",
        Err(refusal) => return Err(refusal.into()),
    };
    Ok(Json(wire::ModifyMembersResult {
        success: false,
        message: Some("nobody was added".into()),
        failed_user_ids: Some(user_ids.clone()),
        failed_user_details: Some(vec![wire::FailedUserDetails {
            error_code: error_code.into(),
            user_ids,
        }]),
    }))
}

/// `DELETE /chats/{id}/members?user_id=`: as a person removes them.
pub async fn remove_member(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
    params: Params,
) -> BotResult<Json<wire::SimpleResult>> {
    let chat_id = path_chat(&chat_id)?;
    let user_id = params
        .int("user_id")?
        .ok_or_else(|| BotError::payload("user_id is required"))?;
    let path = error::Path((chat_id, user_id));
    people::remove_member(State(state), Caller(bot.actor), path).await?;
    Ok(Json(wire::SimpleResult::ok()))
}

/// Makes a member an admin, or an admin a member again, as a person (the owner) would.
async fn set_role(
    state: AppState,
    bot: &Bot,
    chat_id: ChatId,
    user_id: i64,
    role: Role,
) -> BotResult<()> {
    let path = error::Path((chat_id, user_id));
    let request = error::Json(SetRoleRequest { role });
    people::set_role(State(state), Caller(bot.actor), path, request).await?;
    Ok(())
}

/// `POST /chats/{id}/members/admins {admins: [{user_id}]}`.
pub async fn add_admins(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
    MaxJson(request): MaxJson<wire::ChatAdminsList>,
) -> BotResult<Json<wire::SimpleResult>> {
    let chat_id = path_chat(&chat_id)?;
    for admin in request.admins {
        set_role(state.clone(), &bot, chat_id, admin.user_id, Role::Admin).await?;
    }
    Ok(Json(wire::SimpleResult::ok()))
}

/// `DELETE /chats/{id}/members/admins/{user_id}`.
pub async fn remove_admin(
    State(state): State<AppState>,
    bot: Bot,
    Path((chat_id, user_id)): Path<(String, i64)>,
) -> BotResult<Json<wire::SimpleResult>> {
    let chat_id = path_chat(&chat_id)?;
    set_role(state, &bot, chat_id, user_id, Role::Member).await?;
    Ok(Json(wire::SimpleResult::ok()))
}

/// `POST /chats/{id}/actions`: "typing…" reaches the chat; the other actions are accepted.
pub async fn action(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
    MaxJson(request): MaxJson<wire::ActionRequest>,
) -> BotResult<Json<wire::SimpleResult>> {
    let chat_id = path_chat(&chat_id)?;
    state.store.check_member(bot.actor, chat_id).await?;
    match request.action.as_str() {
        "typing_on" => publish_typing(&state, bot.actor.user_id, chat_id).await,
        "sending_photo" | "sending_video" | "sending_audio" | "sending_file" | "mark_seen" => {}
        _ => return Err(BotError::payload("unknown action")),
    }
    Ok(Json(wire::SimpleResult::ok()))
}

/// What an owner or admin may do here, in Max's words.
const ADMIN_PERMISSIONS: [&str; 6] = [
    "read_all_messages",
    "add_remove_members",
    "add_admins",
    "change_chat_info",
    "pin_message",
    "write",
];

async fn member(lookup: &mut Lookup<'_>, member: &Member) -> BotResult<wire::ChatMember> {
    let is_admin = member.role != Role::Member;
    let permissions = is_admin.then(|| ADMIN_PERMISSIONS.map(str::to_owned).to_vec());
    Ok(wire::ChatMember {
        user: lookup.user(member.user.id).await?,
        last_access_time: member.joined_at,
        is_owner: member.role == Role::Owner,
        is_admin,
        join_time: member.joined_at,
        permissions,
    })
}

/// The chat's members the bot may list, converted; `which` picks them.
async fn members_where(
    state: &AppState,
    bot: &Bot,
    chat_id: ChatId,
    which: impl Fn(&Member) -> bool,
    count: usize,
) -> BotResult<Vec<wire::ChatMember>> {
    let members = state.store.members(bot.actor, chat_id).await?;
    let mut lookup = Lookup::for_bot(state, bot);
    let mut converted = Vec::new();
    for found in members.iter().filter(|found| which(found)).take(count) {
        converted.push(member(&mut lookup, found).await?);
    }
    Ok(converted)
}

/// `GET /chats/{id}/members?user_ids=&count=`.
pub async fn members(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
    params: Params,
) -> BotResult<Json<wire::ChatMembersList>> {
    let chat_id = path_chat(&chat_id)?;
    let wanted: Vec<i64> = params
        .list("user_ids")
        .iter()
        .map(|id| {
            id.parse()
                .map_err(|_| BotError::payload("user_ids are integers"))
        })
        .collect::<BotResult<_>>()?;
    let count = if wanted.is_empty() {
        params.count(20)?
    } else {
        wanted.len()
    };
    let which = |found: &Member| wanted.is_empty() || wanted.contains(&found.user.id);
    let members = members_where(&state, &bot, chat_id, which, count).await?;
    Ok(Json(wire::ChatMembersList {
        members,
        marker: None,
    }))
}

/// `GET /chats/{id}/members/admins`.
pub async fn admins(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
) -> BotResult<Json<wire::ChatMembersList>> {
    let chat_id = path_chat(&chat_id)?;
    let which = |found: &Member| found.role != Role::Member;
    let members = members_where(&state, &bot, chat_id, which, usize::MAX).await?;
    Ok(Json(wire::ChatMembersList {
        members,
        marker: None,
    }))
}

/// `GET /chats/{id}/members/me`: the bot's own membership.
pub async fn me(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
) -> BotResult<Json<wire::ChatMember>> {
    let chat_id = path_chat(&chat_id)?;
    let bot_id = bot.actor.user_id;
    let mine = members_where(&state, &bot, chat_id, |found| found.user.id == bot_id, 1).await?;
    mine.into_iter()
        .next()
        .map(Json)
        .ok_or_else(BotError::no_chat)
}

/// `DELETE /chats/{id}/members/me`: the bot leaves.
pub async fn leave(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
) -> BotResult<Json<wire::SimpleResult>> {
    let chat_id = path_chat(&chat_id)?;
    people::leave(State(state), Caller(bot.actor), error::Path(chat_id)).await?;
    Ok(Json(wire::SimpleResult::ok()))
}

/// `DELETE /chats/{id}`: a chat the bot owns, for everyone, as a person deletes one.
pub async fn delete(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
) -> BotResult<Json<wire::SimpleResult>> {
    let chat_id = path_chat(&chat_id)?;
    people::delete_chat(State(state), Caller(bot.actor), error::Path(chat_id)).await?;
    Ok(Json(wire::SimpleResult::ok()))
}

/// `GET /chats/{id}/pin`.
pub async fn pinned(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
) -> BotResult<Json<wire::GetPinnedMessageResult>> {
    let chat_id = path_chat(&chat_id)?;
    state.store.check_member(bot.actor, chat_id).await?;
    let message = match state.store.pinned(chat_id).await? {
        Some(seq) => match message_at(&state, bot.actor, chat_id, seq).await? {
            Some(message) => Some(Lookup::for_bot(&state, &bot).message(&message).await?),
            None => None,
        },
        None => None,
    };
    Ok(Json(wire::GetPinnedMessageResult { message }))
}

/// The seq of a message of this chat, by its Max id.
fn seq_in(chat_id: ChatId, mid: &str) -> BotResult<i64> {
    match parse_mid(mid) {
        Some(MessageRef::Stored { chat_id: of, seq }) if of == chat_id => Ok(seq),
        _ => Err(BotError::not_found("no such message in this chat")),
    }
}

/// Pins (`Some`) or unpins (`None`), as a person would.
async fn set_pin(state: AppState, bot: &Bot, chat_id: ChatId, seq: Option<i64>) -> BotResult<()> {
    let pin = Pin { seq };
    people::pin(
        State(state),
        Caller(bot.actor),
        error::Path(chat_id),
        error::Json(pin),
    )
    .await?;
    Ok(())
}

/// `PUT /chats/{id}/pin {message_id}`.
pub async fn pin(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
    MaxJson(request): MaxJson<wire::PinMessageBody>,
) -> BotResult<Json<wire::SimpleResult>> {
    let chat_id = path_chat(&chat_id)?;
    let seq = seq_in(chat_id, &request.message_id)?;
    set_pin(state, &bot, chat_id, Some(seq)).await?;
    Ok(Json(wire::SimpleResult::ok()))
}

/// `DELETE /chats/{id}/pin`.
pub async fn unpin(
    State(state): State<AppState>,
    bot: Bot,
    Path(chat_id): Path<String>,
) -> BotResult<Json<wire::SimpleResult>> {
    let chat_id = path_chat(&chat_id)?;
    set_pin(state, &bot, chat_id, None).await?;
    Ok(Json(wire::SimpleResult::ok()))
}
