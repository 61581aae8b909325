//! The embedded default store: one SQLite file in WAL mode with `synchronous=FULL`.
//!
//! All writes go through one writer thread that commits everything queued as one transaction
//! (group commit, see [`engine`]); reads use a small pool of connections. The SQL of each area
//! lives in its own module; this file only routes the [`Store`] calls to them.

mod accounts;
mod bots;
mod chats;
mod e2ee;
mod engine;
mod events;
mod media;
mod messages;
mod moderation;
mod orgs;
mod quiet;
mod rows;
mod schema;
mod webhooks;

use std::path::Path;

use async_trait::async_trait;
use kolokol_domain::roster::Roster;
use kolokol_domain::{Cursor, time};
use kolokol_proto::{
    AuditEntry, Chat, ChatId, ChatKind, Event, HeldMessage, Invite, InvitePreview, Member, Message,
    Millis, OrgPolicy, Posting, Profile, Report, Role, Seq, ThreadSummary, User, UserId,
};
use kolokol_store::{
    Actor, BlobRecord, BotChanges, BotRecord, CallbackRecord, CatchUp, Claimed, ClaimedKeyPackages,
    Credentials, Delivery, DeviceRecord, FindUpload, GroupView, KeyPackageBatch, KeyPackageCount,
    MemberSnapshot, MessageEdit, NewBlob, NewChat, NewClaimCode, NewCommit, NewHeldMessage,
    NewInvite, NewMessage, NewOrg, NewReport, NewSession, NewSubscription, NewUpload, NewUser, Org,
    OrgChat, OrgId, OrgRole, Outcome, Page, Payer, ProfileChanges, Revoke, SessionRecord, Store,
    StoreResult, StoredPoll, StoredRoster, Subscription, UnitRename, UploadPart, UploadRecord,
    UserPlace, WelcomeRecord,
};

use crate::engine::Engine;

pub struct SqliteStore {
    engine: Engine,
}

impl SqliteStore {
    /// Opens the database at `path`, creating and migrating it as needed.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let readers = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
        Ok(SqliteStore {
            engine: Engine::open(path, readers)?,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn register(
        &self,
        user: NewUser,
        session: NewSession,
        now: Millis,
    ) -> StoreResult<(User, i64)> {
        self.engine
            .write(move |c| accounts::register(c, user, session, now))
            .await
    }

    async fn credentials(&self, username: &str) -> StoreResult<Option<Credentials>> {
        let username = username.to_owned();
        self.engine
            .read(move |c| accounts::credentials(c, &username))
            .await
    }

    async fn create_session(
        &self,
        user_id: UserId,
        session: NewSession,
        now: Millis,
    ) -> StoreResult<i64> {
        self.engine
            .write(move |c| accounts::create_session(c, user_id, session, now))
            .await
    }

    async fn authenticate(&self, token_hash: [u8; 32], now: Millis) -> StoreResult<Option<Actor>> {
        let found = self
            .engine
            .read(move |c| accounts::session_by_token(c, token_hash))
            .await?;
        let Some((actor, last_seen_at)) = found else {
            return Ok(None);
        };
        // Only the day of use is ever shown, so the row is written at most once a day.
        if time::date_of(last_seen_at) != time::date_of(now) {
            self.engine
                .write(move |c| accounts::touch_session(c, actor.session_id, now))
                .await?;
        }
        Ok(Some(actor))
    }

    async fn sessions(&self, user_id: UserId) -> StoreResult<Vec<SessionRecord>> {
        self.engine
            .read(move |c| accounts::sessions(c, user_id))
            .await
    }

    async fn revoke_sessions(&self, user_id: UserId, which: Revoke) -> StoreResult<Outcome<u64>> {
        let now = now_millis();
        self.engine
            .write(move |c| accounts::revoke_sessions(c, user_id, which, now))
            .await
    }

    async fn set_password(&self, actor: Actor, password_hash: String) -> StoreResult<Outcome<u64>> {
        let now = now_millis();
        self.engine
            .write(move |c| accounts::set_password(c, actor, password_hash, now))
            .await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.engine.read(move |c| rows::user_by_id(c, id)).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_owned();
        self.engine
            .read(move |c| accounts::user_by_username(c, &username))
            .await
    }

    async fn profile(&self, id: UserId) -> StoreResult<Option<Profile>> {
        self.engine.read(move |c| rows::profile_by_id(c, id)).await
    }

    async fn update_profile(
        &self,
        user_id: UserId,
        changes: ProfileChanges,
    ) -> StoreResult<Profile> {
        self.engine
            .write(move |c| accounts::update_profile(c, user_id, changes))
            .await
    }

    async fn create_bot(
        &self,
        owner: UserId,
        bot: NewUser,
        token: NewSession,
        now: Millis,
    ) -> StoreResult<BotRecord> {
        self.engine
            .write(move |c| bots::create(c, owner, bot, token, now))
            .await
    }

    async fn bot(&self, bot_id: UserId) -> StoreResult<Option<BotRecord>> {
        self.engine.read(move |c| bots::get(c, bot_id)).await
    }

    async fn bots_of(&self, owner: UserId) -> StoreResult<Vec<BotRecord>> {
        self.engine.read(move |c| bots::of_owner(c, owner)).await
    }

    async fn update_bot(&self, bot_id: UserId, changes: BotChanges) -> StoreResult<BotRecord> {
        self.engine
            .write(move |c| bots::update(c, bot_id, changes))
            .await
    }

    async fn bot_cursor(&self, bot_id: UserId, marker: Option<i64>) -> StoreResult<Option<String>> {
        self.engine
            .write(move |c| bots::cursor(c, bot_id, marker))
            .await
    }

    async fn save_bot_cursor(
        &self,
        bot_id: UserId,
        cursor: String,
        now: Millis,
    ) -> StoreResult<i64> {
        self.engine
            .write(move |c| bots::save_cursor(c, bot_id, cursor, now))
            .await
    }

    async fn subscribe_bot(
        &self,
        bot_id: UserId,
        subscription: NewSubscription,
        now: Millis,
    ) -> StoreResult<()> {
        self.engine
            .write(move |c| webhooks::subscribe(c, bot_id, subscription, now))
            .await
    }

    async fn bot_subscription(&self, bot_id: UserId) -> StoreResult<Option<Subscription>> {
        self.engine.read(move |c| webhooks::get(c, bot_id)).await
    }

    async fn unsubscribe_bot(&self, bot_id: UserId, url: Option<String>) -> StoreResult<bool> {
        self.engine
            .write(move |c| webhooks::unsubscribe(c, bot_id, url))
            .await
    }

    async fn leasable_subscriptions(
        &self,
        holder: String,
        now: Millis,
    ) -> StoreResult<Vec<UserId>> {
        self.engine
            .read(move |c| webhooks::leasable(c, &holder, now))
            .await
    }

    async fn lease_subscription(
        &self,
        bot_id: UserId,
        holder: String,
        now: Millis,
        until: Millis,
    ) -> StoreResult<Option<Subscription>> {
        self.engine
            .write(move |c| webhooks::lease(c, bot_id, holder, now, until))
            .await
    }

    async fn record_delivery(
        &self,
        bot_id: UserId,
        holder: String,
        delivery: Delivery,
        now: Millis,
    ) -> StoreResult<()> {
        self.engine
            .write(move |c| webhooks::record(c, bot_id, &holder, delivery, now))
            .await
    }

    async fn bot_web_app_key(&self, bot_id: UserId) -> StoreResult<Option<[u8; 32]>> {
        self.engine
            .read(move |c| bots::web_app_key(c, bot_id))
            .await
    }

    async fn button_chat(
        &self,
        chat_id: ChatId,
        seq: Seq,
        key: String,
    ) -> StoreResult<Option<ChatId>> {
        self.engine
            .read(move |c| bots::button_chat(c, chat_id, seq, &key))
            .await
    }

    async fn link_button_chat(
        &self,
        chat_id: ChatId,
        seq: Seq,
        key: String,
        created: ChatId,
    ) -> StoreResult<ChatId> {
        self.engine
            .write(move |c| bots::link_button_chat(c, chat_id, seq, &key, created))
            .await
    }

    async fn tell_user(
        &self,
        user_id: UserId,
        event: Event,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| bots::tell_user(c, user_id, event, now))
            .await
    }

    async fn create_ws_ticket(
        &self,
        actor: Actor,
        ticket_hash: [u8; 32],
        expires_at: Millis,
    ) -> StoreResult<()> {
        self.engine
            .write(move |c| accounts::create_ws_ticket(c, actor, ticket_hash, expires_at))
            .await
    }

    async fn redeem_ws_ticket(
        &self,
        ticket_hash: [u8; 32],
        now: Millis,
    ) -> StoreResult<Option<Actor>> {
        self.engine
            .write(move |c| accounts::redeem_ws_ticket(c, ticket_hash, now))
            .await
    }

    async fn create_chat(
        &self,
        actor: Actor,
        chat: NewChat,
        now: Millis,
    ) -> StoreResult<Outcome<(ChatId, bool)>> {
        self.engine
            .write(move |c| chats::create(c, actor, chat, now))
            .await
    }

    async fn chat(&self, actor: Actor, chat_id: ChatId) -> StoreResult<Chat> {
        self.engine
            .read(move |c| chats::get(c, actor, chat_id))
            .await
    }

    async fn chats(&self, actor: Actor) -> StoreResult<Vec<Chat>> {
        self.engine.read(move |c| chats::list(c, actor)).await
    }

    async fn rename_chat(
        &self,
        actor: Actor,
        chat_id: ChatId,
        title: String,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| chats::rename(c, actor, chat_id, title, now))
            .await
    }

    async fn members(&self, actor: Actor, chat_id: ChatId) -> StoreResult<Vec<Member>> {
        self.engine
            .read(move |c| chats::members(c, actor, chat_id))
            .await
    }

    async fn add_members(
        &self,
        actor: Actor,
        chat_id: ChatId,
        user_ids: Vec<UserId>,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| chats::add_members(c, actor, chat_id, user_ids, now))
            .await
    }

    async fn delete_chat(
        &self,
        actor: Actor,
        chat_id: ChatId,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| chats::delete_chat(c, actor, chat_id, now))
            .await
    }

    async fn remove_member(
        &self,
        actor: Actor,
        chat_id: ChatId,
        user_id: UserId,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| chats::remove_member(c, actor, chat_id, user_id, now))
            .await
    }

    async fn set_role(
        &self,
        actor: Actor,
        chat_id: ChatId,
        user_id: UserId,
        role: Role,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| chats::set_role(c, actor, chat_id, user_id, role, now))
            .await
    }

    async fn set_chat_settings(
        &self,
        actor: Actor,
        chat_id: ChatId,
        posting: Option<Posting>,
        slow_mode_secs: Option<u32>,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| chats::set_settings(c, actor, chat_id, posting, slow_mode_secs, now))
            .await
    }

    async fn mute(
        &self,
        actor: Actor,
        chat_id: ChatId,
        user_id: UserId,
        until: Option<Millis>,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| chats::mute(c, actor, chat_id, user_id, until, now))
            .await
    }

    async fn transfer_ownership(
        &self,
        actor: Actor,
        chat_id: ChatId,
        user_id: UserId,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| chats::transfer_ownership(c, actor, chat_id, user_id, now))
            .await
    }

    async fn create_invite(
        &self,
        actor: Actor,
        chat_id: ChatId,
        invite: NewInvite,
        now: Millis,
    ) -> StoreResult<Invite> {
        self.engine
            .write(move |c| chats::create_invite(c, actor, chat_id, invite, now))
            .await
    }

    async fn invites(&self, actor: Actor, chat_id: ChatId) -> StoreResult<Vec<Invite>> {
        self.engine
            .read(move |c| chats::invites(c, actor, chat_id))
            .await
    }

    async fn revoke_invite(&self, actor: Actor, chat_id: ChatId, code: &str) -> StoreResult<()> {
        let code = code.to_owned();
        self.engine
            .write(move |c| chats::revoke_invite(c, actor, chat_id, &code))
            .await
    }

    async fn invite_preview(&self, code: &str, now: Millis) -> StoreResult<InvitePreview> {
        let code = code.to_owned();
        self.engine
            .read(move |c| chats::invite_preview(c, &code, now))
            .await
    }

    async fn join_by_invite(
        &self,
        actor: Actor,
        code: &str,
        now: Millis,
    ) -> StoreResult<Outcome<ChatId>> {
        let code = code.to_owned();
        self.engine
            .write(move |c| chats::join_by_invite(c, actor, &code, now))
            .await
    }

    async fn send_message(
        &self,
        actor: Actor,
        chat_id: ChatId,
        message: NewMessage,
        now: Millis,
    ) -> StoreResult<Outcome<(Message, bool)>> {
        self.engine
            .write(move |c| messages::send(c, actor, chat_id, message, now))
            .await
    }

    async fn messages(
        &self,
        actor: Actor,
        chat_id: ChatId,
        page: Page,
    ) -> StoreResult<Vec<Message>> {
        self.engine
            .read(move |c| messages::history(c, actor, chat_id, page))
            .await
    }

    async fn edit_message(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        edit: MessageEdit,
        now: Millis,
    ) -> StoreResult<Outcome<Message>> {
        self.engine
            .write(move |c| messages::edit(c, actor, chat_id, seq, edit, now))
            .await
    }

    async fn press_button(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        payload: String,
        now: Millis,
    ) -> StoreResult<Outcome<i64>> {
        self.engine
            .write(move |c| bots::press(c, actor, chat_id, seq, payload, now))
            .await
    }

    async fn take_bot_callback(
        &self,
        bot_id: UserId,
        id: i64,
    ) -> StoreResult<Option<CallbackRecord>> {
        self.engine
            .write(move |c| bots::take_callback(c, bot_id, id))
            .await
    }

    async fn delete_message(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| messages::delete(c, actor, chat_id, seq, now))
            .await
    }

    async fn toggle_reaction(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        emoji: String,
        now: Millis,
    ) -> StoreResult<Outcome<bool>> {
        self.engine
            .write(move |c| messages::toggle_reaction(c, actor, chat_id, seq, emoji, now))
            .await
    }

    async fn mark_read(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| messages::mark_read(c, actor, chat_id, seq, now))
            .await
    }

    async fn read_by(&self, actor: Actor, chat_id: ChatId, seq: Seq) -> StoreResult<Vec<UserId>> {
        self.engine
            .read(move |c| messages::read_by(c, actor, chat_id, seq))
            .await
    }

    async fn read_markers(&self, chat_id: ChatId) -> StoreResult<Vec<(UserId, Seq)>> {
        self.engine
            .read(move |c| messages::read_markers(c, chat_id))
            .await
    }

    async fn check_member(&self, actor: Actor, chat_id: ChatId) -> StoreResult<()> {
        self.engine
            .read(move |c| chats::membership(c, actor.user_id, chat_id).map(drop))
            .await
    }

    async fn current_cursor(&self, user_id: UserId) -> StoreResult<Cursor> {
        self.engine
            .read(move |c| events::current_cursor(c, user_id))
            .await
    }

    async fn catch_up(&self, user_id: UserId, cursor: &Cursor, limit: u32) -> StoreResult<CatchUp> {
        let cursor = cursor.clone();
        self.engine
            .read(move |c| events::catch_up(c, user_id, &cursor, limit))
            .await
    }

    async fn chat_members(&self, chat_id: ChatId) -> StoreResult<MemberSnapshot> {
        self.engine
            .read(move |c| events::chat_members(c, chat_id))
            .await
    }

    async fn chat_kind(&self, chat_id: ChatId) -> StoreResult<Option<ChatKind>> {
        self.engine.read(move |c| rows::chat_kind(c, chat_id)).await
    }

    async fn prune_events(&self, before: Millis) -> StoreResult<u64> {
        self.engine.write(move |c| events::prune(c, before)).await
    }

    async fn create_org(&self, org: NewOrg, admin: UserId, now: Millis) -> StoreResult<Org> {
        self.engine
            .write(move |c| orgs::create_org(c, org, admin, now))
            .await
    }

    async fn org(&self, org_id: OrgId) -> StoreResult<Option<Org>> {
        self.engine.read(move |c| orgs::org(c, org_id)).await
    }

    async fn orgs_of(&self, user_id: UserId) -> StoreResult<Vec<Org>> {
        self.engine.read(move |c| orgs::orgs_of(c, user_id)).await
    }

    async fn org_roles(&self, org_id: OrgId, user_id: UserId) -> StoreResult<Vec<OrgRole>> {
        self.engine
            .read(move |c| orgs::org_roles(c, org_id, user_id))
            .await
    }

    async fn grant_org_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: OrgRole,
    ) -> StoreResult<()> {
        self.engine
            .write(move |c| orgs::grant_org_role(c, org_id, user_id, role))
            .await
    }

    async fn revoke_org_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: OrgRole,
    ) -> StoreResult<()> {
        self.engine
            .write(move |c| orgs::revoke_org_role(c, org_id, user_id, role))
            .await
    }

    async fn org_role_holders(&self, org_id: OrgId, role: OrgRole) -> StoreResult<Vec<UserId>> {
        self.engine
            .read(move |c| orgs::org_role_holders(c, org_id, role))
            .await
    }

    async fn direct_chats_among(
        &self,
        user_ids: Vec<UserId>,
    ) -> StoreResult<Vec<(ChatId, UserId, UserId)>> {
        self.engine
            .read(move |c| chats::direct_chats_among(c, &user_ids))
            .await
    }

    async fn review_messages(&self, chat_id: ChatId, page: Page) -> StoreResult<Vec<Message>> {
        self.engine
            .read(move |c| messages::review(c, chat_id, page))
            .await
    }

    async fn roster(&self, org_id: OrgId) -> StoreResult<StoredRoster> {
        self.engine.read(move |c| orgs::roster(c, org_id)).await
    }

    async fn save_roster(&self, org_id: OrgId, roster: Roster, now: Millis) -> StoreResult<()> {
        self.engine
            .write(move |c| orgs::save_roster(c, org_id, &roster, now))
            .await
    }

    async fn rename_units(
        &self,
        org_id: OrgId,
        renames: Vec<UnitRename>,
        now: Millis,
    ) -> StoreResult<()> {
        self.engine
            .write(move |c| orgs::rename_units(c, org_id, &renames, now))
            .await
    }

    async fn add_org_chat(&self, org_id: OrgId, chat: OrgChat) -> StoreResult<()> {
        self.engine
            .write(move |c| orgs::add_org_chat(c, org_id, chat))
            .await
    }

    async fn issue_claim_codes(
        &self,
        org_id: OrgId,
        codes: Vec<NewClaimCode>,
        now: Millis,
    ) -> StoreResult<()> {
        self.engine
            .write(move |c| orgs::issue_claim_codes(c, org_id, codes, now))
            .await
    }

    async fn redeem_claim_code(
        &self,
        code_hash: [u8; 32],
        user_id: UserId,
        now: Millis,
    ) -> StoreResult<Claimed> {
        self.engine
            .write(move |c| orgs::redeem_claim_code(c, code_hash, user_id, now))
            .await
    }

    async fn request_ack(&self, chat_id: ChatId, seq: Seq, now: Millis) -> StoreResult<()> {
        self.engine
            .write(move |c| orgs::request_ack(c, chat_id, seq, now))
            .await
    }

    async fn ack_requests(&self, chat_id: ChatId) -> StoreResult<Vec<Seq>> {
        self.engine
            .read(move |c| orgs::ack_requests(c, chat_id))
            .await
    }

    async fn acknowledge(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        now: Millis,
    ) -> StoreResult<()> {
        self.engine
            .write(move |c| orgs::acknowledge(c, actor, chat_id, seq, now))
            .await
    }

    async fn acks(&self, chat_id: ChatId, seq: Seq) -> StoreResult<Vec<(UserId, Millis)>> {
        self.engine.read(move |c| orgs::acks(c, chat_id, seq)).await
    }

    async fn places_of_users(&self, user_ids: Vec<UserId>) -> StoreResult<Vec<UserPlace>> {
        self.engine
            .read(move |c| orgs::places_of_users(c, &user_ids))
            .await
    }

    async fn org_of_chat(&self, chat_id: ChatId) -> StoreResult<Option<(OrgId, OrgChat)>> {
        self.engine
            .read(move |c| orgs::org_of_chat(c, chat_id))
            .await
    }

    async fn set_org_policy(&self, org_id: OrgId, policy: OrgPolicy) -> StoreResult<()> {
        self.engine
            .write(move |c| orgs::set_org_policy(c, org_id, &policy))
            .await
    }

    async fn orgs_with_policies(&self) -> StoreResult<Vec<Org>> {
        self.engine.read(orgs::orgs_with_policies).await
    }

    async fn remind(
        &self,
        chat_id: ChatId,
        seq: Seq,
        user_ids: Vec<UserId>,
        not_since: Millis,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| quiet::remind(c, chat_id, seq, &user_ids, not_since, now))
            .await
    }

    async fn reminded_at(&self, chat_id: ChatId, seq: Seq) -> StoreResult<Option<Millis>> {
        self.engine
            .read(move |c| quiet::reminded_at(c, chat_id, seq))
            .await
    }

    async fn report(&self, report: NewReport, now: Millis) -> StoreResult<Report> {
        self.engine
            .write(move |c| moderation::report(c, report, now))
            .await
    }

    async fn reports(&self, org_id: OrgId, all: bool) -> StoreResult<Vec<Report>> {
        self.engine
            .read(move |c| moderation::reports(c, org_id, all))
            .await
    }

    async fn resolve_report(
        &self,
        org_id: OrgId,
        id: i64,
        resolver: UserId,
        resolution: &str,
        now: Millis,
    ) -> StoreResult<Report> {
        let resolution = resolution.to_owned();
        self.engine
            .write(move |c| moderation::resolve_report(c, org_id, id, resolver, &resolution, now))
            .await
    }

    async fn audit(
        &self,
        org_id: OrgId,
        actor: UserId,
        action: &str,
        detail: String,
        now: Millis,
    ) -> StoreResult<()> {
        let action = action.to_owned();
        self.engine
            .write(move |c| moderation::audit(c, org_id, actor, &action, &detail, now))
            .await
    }

    async fn audit_log(
        &self,
        org_id: OrgId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.engine
            .read(move |c| moderation::audit_log(c, org_id, before, limit))
            .await
    }

    async fn set_do_not_disturb(&self, user_id: UserId, until: Option<Millis>) -> StoreResult<()> {
        self.engine
            .write(move |c| quiet::set_do_not_disturb(c, user_id, until))
            .await
    }

    async fn do_not_disturb(&self, user_id: UserId, now: Millis) -> StoreResult<Option<Millis>> {
        self.engine
            .read(move |c| quiet::do_not_disturb(c, user_id, now))
            .await
    }

    async fn do_not_disturb_all(&self, now: Millis) -> StoreResult<Vec<(UserId, Millis)>> {
        self.engine
            .read(move |c| quiet::do_not_disturb_all(c, now))
            .await
    }

    async fn hold_message(&self, held: NewHeldMessage, now: Millis) -> StoreResult<HeldMessage> {
        self.engine
            .write(move |c| quiet::hold_message(c, held, now))
            .await
    }

    async fn held_messages(
        &self,
        sender_id: UserId,
        chat_id: ChatId,
    ) -> StoreResult<Vec<HeldMessage>> {
        self.engine
            .read(move |c| quiet::held_messages(c, sender_id, chat_id))
            .await
    }

    async fn cancel_held(&self, sender_id: UserId, chat_id: ChatId, id: i64) -> StoreResult<()> {
        self.engine
            .write(move |c| quiet::cancel_held(c, sender_id, chat_id, id))
            .await
    }

    async fn due_held(&self, now: Millis, limit: u32) -> StoreResult<Vec<HeldMessage>> {
        self.engine
            .read(move |c| quiet::due_held(c, now, limit))
            .await
    }

    async fn forget_held(&self, id: i64) -> StoreResult<()> {
        self.engine.write(move |c| quiet::forget_held(c, id)).await
    }

    async fn server_key(&self, name: &str, candidate: Vec<u8>) -> StoreResult<Vec<u8>> {
        let name = name.to_owned();
        self.engine
            .write(move |c| media::server_key(c, &name, candidate))
            .await
    }

    async fn create_upload(&self, upload: NewUpload, now: Millis) -> StoreResult<UploadRecord> {
        self.engine
            .write(move |c| media::create_upload(c, upload, now))
            .await
    }

    async fn upload(&self, find: FindUpload, now: Millis) -> StoreResult<Option<UploadRecord>> {
        self.engine.read(move |c| media::upload(c, find, now)).await
    }

    async fn put_upload_part(
        &self,
        upload_id: i64,
        part: UploadPart,
        now: Millis,
    ) -> StoreResult<Option<String>> {
        self.engine
            .write(move |c| media::put_upload_part(c, upload_id, part, now))
            .await
    }

    async fn upload_parts(&self, upload_id: i64) -> StoreResult<Vec<UploadPart>> {
        self.engine
            .read(move |c| media::upload_parts(c, upload_id))
            .await
    }

    async fn forget_upload(&self, upload_id: i64) -> StoreResult<Vec<String>> {
        self.engine
            .write(move |c| media::forget_upload(c, upload_id))
            .await
    }

    async fn complete_upload(
        &self,
        upload_id: i64,
        blob: NewBlob,
        payer: Payer,
        now: Millis,
    ) -> StoreResult<BlobRecord> {
        self.engine
            .write(move |c| media::complete_upload(c, upload_id, blob, payer, now))
            .await
    }

    async fn media_usage(&self, payer: Payer) -> StoreResult<u64> {
        self.engine
            .read(move |c| media::media_usage(c, payer))
            .await
    }

    async fn expire_media(&self, org_id: OrgId, sent_before: Millis) -> StoreResult<u64> {
        self.engine
            .write(move |c| media::expire_media(c, org_id, sent_before))
            .await
    }

    async fn blob(&self, id: i64) -> StoreResult<Option<BlobRecord>> {
        self.engine.read(move |c| media::blob(c, id)).await
    }

    async fn chat_blobs(
        &self,
        actor: Actor,
        chat_id: ChatId,
        ids: Vec<i64>,
    ) -> StoreResult<Vec<BlobRecord>> {
        self.engine
            .read(move |c| media::chat_blobs(c, actor, chat_id, ids))
            .await
    }

    async fn visible_blob(&self, user_id: UserId, id: i64) -> StoreResult<Option<BlobRecord>> {
        self.engine
            .read(move |c| media::visible_blob(c, user_id, id))
            .await
    }

    async fn expired_uploads(
        &self,
        now: Millis,
        limit: u32,
    ) -> StoreResult<Vec<(i64, Vec<String>)>> {
        self.engine
            .read(move |c| media::expired_uploads(c, now, limit))
            .await
    }

    async fn collect_blobs(
        &self,
        now: Millis,
        touched_before: Millis,
        limit: u32,
    ) -> StoreResult<Vec<BlobRecord>> {
        self.engine
            .write(move |c| media::collect_blobs(c, now, touched_before, limit))
            .await
    }

    async fn forget_blobs(&self, ids: Vec<i64>) -> StoreResult<()> {
        self.engine
            .write(move |c| media::forget_blobs(c, ids))
            .await
    }

    async fn vote(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        options: Vec<u32>,
        now: Millis,
    ) -> StoreResult<()> {
        self.engine
            .write(move |c| messages::vote(c, actor, chat_id, seq, &options, now))
            .await
    }

    async fn pin(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Option<Seq>,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| chats::pin(c, actor, chat_id, seq, now))
            .await
    }

    async fn pinned(&self, chat_id: ChatId) -> StoreResult<Option<Seq>> {
        self.engine.read(move |c| chats::pinned(c, chat_id)).await
    }

    async fn thread(
        &self,
        actor: Actor,
        chat_id: ChatId,
        root: Seq,
        after: Option<Seq>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        self.engine
            .read(move |c| messages::thread(c, actor, chat_id, root, after, limit))
            .await
    }

    async fn threads(&self, chat_id: ChatId) -> StoreResult<Vec<ThreadSummary>> {
        self.engine
            .read(move |c| messages::threads(c, chat_id))
            .await
    }

    async fn polls(&self, chat_id: ChatId) -> StoreResult<Vec<StoredPoll>> {
        self.engine.read(move |c| messages::polls(c, chat_id)).await
    }
    async fn publish_key_packages(
        &self,
        actor: Actor,
        batch: KeyPackageBatch,
        now: Millis,
    ) -> StoreResult<Outcome<KeyPackageCount>> {
        self.engine
            .write(move |c| e2ee::publish(c, actor, batch, now))
            .await
    }

    async fn key_package_count(&self, actor: Actor, now: Millis) -> StoreResult<KeyPackageCount> {
        self.engine
            .read(move |c| e2ee::count(c, actor.session_id, now))
            .await
    }

    async fn devices_of(&self, user_id: UserId) -> StoreResult<Vec<DeviceRecord>> {
        self.engine
            .read(move |c| e2ee::devices_of(c, user_id))
            .await
    }

    async fn mls_group(&self, actor: Actor, chat_id: ChatId) -> StoreResult<GroupView> {
        self.engine
            .read(move |c| e2ee::group(c, actor, chat_id))
            .await
    }

    async fn claim_key_packages(
        &self,
        actor: Actor,
        chat_id: ChatId,
        devices: Option<Vec<i64>>,
        now: Millis,
    ) -> StoreResult<Outcome<ClaimedKeyPackages>> {
        self.engine
            .write(move |c| e2ee::claim(c, actor, chat_id, devices, now))
            .await
    }

    async fn commit(
        &self,
        actor: Actor,
        chat_id: ChatId,
        commit: NewCommit,
        now: Millis,
    ) -> StoreResult<Outcome<(Message, bool)>> {
        self.engine
            .write(move |c| e2ee::commit(c, actor, chat_id, commit, now))
            .await
    }

    async fn welcomes(&self, actor: Actor) -> StoreResult<Vec<WelcomeRecord>> {
        self.engine.read(move |c| e2ee::welcomes(c, actor)).await
    }

    async fn forget_welcome(&self, actor: Actor, id: i64) -> StoreResult<()> {
        self.engine
            .write(move |c| e2ee::forget_welcome(c, actor, id))
            .await
    }

    async fn forget_device(&self, actor: Actor, now: Millis) -> StoreResult<Outcome<()>> {
        self.engine
            .write(move |c| e2ee::forget_device(c, actor, now))
            .await
    }

    async fn franking_tag(&self, chat_id: ChatId, seq: Seq) -> StoreResult<Option<Vec<u8>>> {
        self.engine
            .read(move |c| e2ee::franking_tag(c, chat_id, seq))
            .await
    }
}

fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
