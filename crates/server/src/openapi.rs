//! The OpenAPI document served at `/api/v1/openapi.json`, generated from the handlers' and
//! wire types' annotations so it cannot drift from the code.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::gateway::connection;
use crate::media::routes as media;
use crate::mls::routes as e2ee;
use crate::routes::{accounts, bots, chats, messages, moderation, orgs, safeguarding};

#[derive(OpenApi)]
#[openapi(
    info(title = "Kolokol API", description = "Accounts, chats, messages, organisations and real-time events. \
        WebSocket frames are `ServerFrame` (server to client) and `ClientFrame` (client to server) \
        objects; see docs/API.md."),
    paths(
        accounts::register, accounts::login, accounts::logout, accounts::change_password,
        accounts::me, accounts::update_profile, accounts::do_not_disturb,
        accounts::set_do_not_disturb, accounts::user, accounts::user_by_username,
        accounts::sessions, accounts::revoke_session, accounts::revoke_other_sessions,
        accounts::ws_ticket, connection::ws,
        chats::create_chat, chats::chats, chats::chat, chats::rename_chat, chats::delete_chat, chats::members,
        chats::add_members, chats::remove_member, chats::leave, chats::set_role,
        chats::transfer_ownership, chats::create_invite, chats::invites, chats::revoke_invite,
        chats::invite_preview, chats::join_by_invite, chats::pinned, chats::pin,
        chats::set_settings, chats::mute,
        messages::send_message, messages::messages, messages::edit_message,
        messages::delete_message, messages::toggle_reaction, messages::read_by,
        messages::mark_read, messages::typing, messages::ack_requests, messages::acknowledge,
        messages::held_messages, messages::cancel_held, messages::polls, messages::vote,
        messages::threads, messages::thread,
        orgs::create_org, orgs::orgs, orgs::roster, orgs::import_roster, orgs::issue_claim_codes,
        orgs::claim, orgs::message_reach, orgs::remind, orgs::set_policy, orgs::rollover,
        moderation::report, moderation::reports, moderation::resolve_report, moderation::audit_log,
        bots::create_bot, bots::bots, bots::reset_token, bots::start_bot, bots::chat_commands, bots::press_button, bots::press_chat_button, bots::update_bot, bots::open_web_app,
        bots::allowed_bots, bots::allow_bot, bots::disallow_bot,
        safeguarding::roles, safeguarding::grant_role, safeguarding::revoke_role, safeguarding::reviewed_chats,
        safeguarding::review_chat,
        media::begin_upload, media::put_upload, media::upload_progress, media::cancel_upload,
        media::links, media::download,
        e2ee::publish_key_packages, e2ee::key_package_status, e2ee::devices, e2ee::group,
        e2ee::claim_key_packages, e2ee::commit, e2ee::welcomes, e2ee::forget_welcome, e2ee::forget_device,
    ),
    components(schemas(kolokol_proto::ServerFrame, kolokol_proto::Event, kolokol_proto::ClientFrame, kolokol_proto::ErrorCode)),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Accounts, sessions and profiles"),
        (name = "chats", description = "Direct chats, groups, channels and their members"),
        (name = "invites", description = "Invite links"),
        (name = "messages", description = "Messages, reactions, read markers, typing"),
        (name = "realtime", description = "The WebSocket event stream"),
        (name = "orgs", description = "Organisations: rosters, provisioned chats, claim codes, policies, reach and reminders"),
        (name = "media", description = "Files: resumable uploads, signed links, downloads with ranges"),
        (name = "e2ee", description = "End-to-end encrypted chats: the MLS delivery service (key packages, groups, commits, Welcomes)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
