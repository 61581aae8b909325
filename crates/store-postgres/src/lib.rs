//! The scale-out store: PostgreSQL through sqlx, for several server nodes writing at once.
//!
//! It implements the same [`Store`] contract as the SQLite store and passes the same
//! conformance suite; what differs is how it stays correct and fast with concurrent writers.
//!
//! **Positions under row locks.** A chat's message `seq` and event position, and a user's event
//! position, are counters on the chat's or user's row. A write takes the next one by updating that
//! row (`UPDATE chats SET last_seq = last_seq + 1 … RETURNING`), which row-locks it until commit.
//! So within a stream positions commit in order: a reader that has seen position 42 can never
//! later discover an uncommitted 41, which a global sequence would allow. Resume cursors are per
//! stream, so no global order is needed (see `kolokol_domain::cursor`).
//!
//! **One lock per chat, taken first.** Every change to a chat begins by locking its row
//! (`kolokol_lock_chat` in the migration) and only then reads the actor's membership and role, so
//! the rules of `kolokol_domain::permissions` are checked against current data and cannot be
//! raced. Where a write also moves a user's stream it locks the user's row after the chat's, and
//! several users' rows in ascending id order; a transaction that PostgreSQL still aborts for a
//! deadlock or serialization failure (SQLSTATE 40P01/40001) is retried a few times.
//!
//! **Idempotent sends.** A repeated `client_msg_id` is looked up under the chat's lock, before a
//! seq is taken, so concurrent duplicates (even from two nodes) store one message and seqs stay
//! gap-free.
//!
//! **Round trips.** Sending — the hot path — is one statement: the `kolokol_send` function does the
//! locking, checks and inserts inside PostgreSQL and commits on its own. Authenticating is one
//! statement; so are the chat list (peer, unread count and last message joined in, no query per
//! chat), history pages and member snapshots. Catching up reads every followed chat's events in
//! one statement inside one read-only snapshot. Other writes are short transactions that store
//! their events with one multi-row insert per stream.
//!
//! **Partition-ready.** Messages, reactions and chat events are keyed by `(chat_id, …)` and no
//! unique index on them lacks `chat_id`, so they can later be hash-partitioned by chat.
//!
//! Errors from the database become `StoreError::Backend` with the SQLSTATE and PostgreSQL's
//! one-line message only (never the detail, which can quote row contents); nothing here logs
//! message text, tokens or addresses.

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
mod webhooks;

use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use kolokol_domain::Cursor;
use kolokol_domain::roster::Roster;
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
    StoreError, StoreResult, StoredPoll, StoredRoster, Subscription, UnitRename, UploadPart,
    UploadRecord, UserPlace, WelcomeRecord,
};
use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::engine::{Engine, Mode};
use crate::events::Stream;

/// The schema, embedded in the binary.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Connections per node unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 32;

/// A pooled connection idle for longer than this is pinged before it is used again.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(30);

pub struct PostgresStore {
    engine: Engine,
}

/// Who may post, from `kolokol_domain::permissions`, as `kolokol_send` takes it.
fn posting_rules() -> &'static messages::PostingRules {
    static RULES: LazyLock<messages::PostingRules> = LazyLock::new(|| messages::PostingRules {
        may_post: messages::posting_triples(),
        limited: messages::limited_roles(),
    });
    &RULES
}

impl PostgresStore {
    /// Connects (a pool of [`DEFAULT_MAX_CONNECTIONS`]), runs the embedded migrations and returns
    /// the store. Safe when several nodes start at once: the migrator holds a PostgreSQL advisory
    /// lock while it works.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        Self::connect_with(url, DEFAULT_MAX_CONNECTIONS).await
    }

    /// [`connect`](Self::connect) with a pool of at most `max_connections`.
    pub async fn connect_with(url: &str, max_connections: u32) -> StoreResult<PostgresStore> {
        // The URL may hold a password: it never goes into an error or a log.
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::Backend("the PostgreSQL URL is not valid".into()))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            // sqlx pings every connection it hands out by default: a second round trip on every
            // send. Only connections that sat idle for a while are checked.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_CHECK_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(|error| {
                StoreError::Backend(format!(
                    "cannot connect to PostgreSQL: {}",
                    engine::describe(&error)
                ))
            })?;
        MIGRATOR.run(&pool).await.map_err(|error| {
            StoreError::Backend(format!("migrating the PostgreSQL schema failed: {error}"))
        })?;
        Ok(PostgresStore {
            engine: Engine { pool },
        })
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn register(
        &self,
        user: NewUser,
        session: NewSession,
        now: Millis,
    ) -> StoreResult<(User, i64)> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(accounts::register(c, user.clone(), session.clone(), now))
            })
            .await
    }

    async fn credentials(&self, username: &str) -> StoreResult<Option<Credentials>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(accounts::credentials(c, username.to_owned()))
            })
            .await
    }

    async fn create_session(
        &self,
        user_id: UserId,
        session: NewSession,
        now: Millis,
    ) -> StoreResult<i64> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(accounts::create_session(c, user_id, session.clone(), now))
            })
            .await
    }

    async fn authenticate(&self, token_hash: [u8; 32], now: Millis) -> StoreResult<Option<Actor>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(accounts::authenticate(c, token_hash, now))
            })
            .await
    }

    async fn sessions(&self, user_id: UserId) -> StoreResult<Vec<SessionRecord>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(accounts::sessions(c, user_id))
            })
            .await
    }

    async fn revoke_sessions(&self, user_id: UserId, which: Revoke) -> StoreResult<Outcome<u64>> {
        let now = now_millis();
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(accounts::revoke_sessions(c, user_id, which, now))
            })
            .await
    }

    async fn set_password(&self, actor: Actor, password_hash: String) -> StoreResult<Outcome<u64>> {
        let now = now_millis();
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(accounts::set_password(c, actor, password_hash.clone(), now))
            })
            .await
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(accounts::user(c, id)))
            .await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(accounts::user_by_username(c, username.to_owned()))
            })
            .await
    }

    async fn profile(&self, id: UserId) -> StoreResult<Option<Profile>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(accounts::profile(c, id)))
            .await
    }

    async fn update_profile(
        &self,
        user_id: UserId,
        changes: ProfileChanges,
    ) -> StoreResult<Profile> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(accounts::update_profile(c, user_id, changes.clone()))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(bots::create(c, owner, bot.clone(), token.clone(), now))
            })
            .await
    }

    async fn bot(&self, bot_id: UserId) -> StoreResult<Option<BotRecord>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(bots::get(c, bot_id)))
            .await
    }

    async fn bots_of(&self, owner: UserId) -> StoreResult<Vec<BotRecord>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(bots::of_owner(c, owner)))
            .await
    }

    async fn update_bot(&self, bot_id: UserId, changes: BotChanges) -> StoreResult<BotRecord> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(bots::update(c, bot_id, changes.clone()))
            })
            .await
    }

    async fn bot_cursor(&self, bot_id: UserId, marker: Option<i64>) -> StoreResult<Option<String>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(bots::cursor(c, bot_id, marker))
            })
            .await
    }

    async fn save_bot_cursor(
        &self,
        bot_id: UserId,
        cursor: String,
        now: Millis,
    ) -> StoreResult<i64> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(bots::save_cursor(c, bot_id, cursor.clone(), now))
            })
            .await
    }

    async fn subscribe_bot(
        &self,
        bot_id: UserId,
        subscription: NewSubscription,
        now: Millis,
    ) -> StoreResult<()> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(webhooks::subscribe(c, bot_id, subscription.clone(), now))
            })
            .await
    }

    async fn bot_subscription(&self, bot_id: UserId) -> StoreResult<Option<Subscription>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(webhooks::get(c, bot_id)))
            .await
    }

    async fn unsubscribe_bot(&self, bot_id: UserId, url: Option<String>) -> StoreResult<bool> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(webhooks::unsubscribe(c, bot_id, url.clone()))
            })
            .await
    }

    async fn leasable_subscriptions(
        &self,
        holder: String,
        now: Millis,
    ) -> StoreResult<Vec<UserId>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(webhooks::leasable(c, holder.clone(), now))
            })
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
            .run(Mode::Autocommit, |c| {
                Box::pin(webhooks::lease(c, bot_id, holder.clone(), now, until))
            })
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
            .run(Mode::Autocommit, |c| {
                Box::pin(webhooks::record(
                    c,
                    bot_id,
                    holder.clone(),
                    delivery.clone(),
                    now,
                ))
            })
            .await
    }

    async fn bot_web_app_key(&self, bot_id: UserId) -> StoreResult<Option<[u8; 32]>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(bots::web_app_key(c, bot_id)))
            .await
    }

    async fn button_chat(
        &self,
        chat_id: ChatId,
        seq: Seq,
        key: String,
    ) -> StoreResult<Option<ChatId>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(bots::button_chat(c, chat_id, seq, key.clone()))
            })
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
            .run(Mode::Autocommit, |c| {
                Box::pin(bots::link_button_chat(
                    c,
                    chat_id,
                    seq,
                    key.clone(),
                    created,
                ))
            })
            .await
    }

    async fn tell_user(
        &self,
        user_id: UserId,
        event: Event,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(bots::tell_user(c, user_id, event.clone(), now))
            })
            .await
    }

    async fn create_ws_ticket(
        &self,
        actor: Actor,
        ticket_hash: [u8; 32],
        expires_at: Millis,
    ) -> StoreResult<()> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(accounts::create_ws_ticket(
                    c,
                    actor,
                    ticket_hash,
                    expires_at,
                ))
            })
            .await
    }

    async fn redeem_ws_ticket(
        &self,
        ticket_hash: [u8; 32],
        now: Millis,
    ) -> StoreResult<Option<Actor>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(accounts::redeem_ws_ticket(c, ticket_hash, now))
            })
            .await
    }

    async fn create_chat(
        &self,
        actor: Actor,
        chat: NewChat,
        now: Millis,
    ) -> StoreResult<Outcome<(ChatId, bool)>> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(chats::create(c, actor, chat.clone(), now))
            })
            .await
    }

    async fn chat(&self, actor: Actor, chat_id: ChatId) -> StoreResult<Chat> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(chats::get(c, actor, chat_id))
            })
            .await
    }

    async fn chats(&self, actor: Actor) -> StoreResult<Vec<Chat>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(chats::list(c, actor)))
            .await
    }

    async fn rename_chat(
        &self,
        actor: Actor,
        chat_id: ChatId,
        title: String,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(chats::rename(c, actor, chat_id, title.clone(), now))
            })
            .await
    }

    async fn members(&self, actor: Actor, chat_id: ChatId) -> StoreResult<Vec<Member>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(chats::members(c, actor, chat_id))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(chats::add_members(c, actor, chat_id, user_ids.clone(), now))
            })
            .await
    }

    async fn delete_chat(
        &self,
        actor: Actor,
        chat_id: ChatId,
        now: Millis,
    ) -> StoreResult<Outcome<()>> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(chats::delete_chat(c, actor, chat_id, now))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(chats::remove_member(c, actor, chat_id, user_id, now))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(chats::set_role(c, actor, chat_id, user_id, role, now))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(chats::set_settings(
                    c,
                    actor,
                    chat_id,
                    posting,
                    slow_mode_secs,
                    now,
                ))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(chats::mute(c, actor, chat_id, user_id, until, now))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(chats::transfer_ownership(c, actor, chat_id, user_id, now))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(chats::create_invite(c, actor, chat_id, invite.clone(), now))
            })
            .await
    }

    async fn invites(&self, actor: Actor, chat_id: ChatId) -> StoreResult<Vec<Invite>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(chats::invites(c, actor, chat_id))
            })
            .await
    }

    async fn revoke_invite(&self, actor: Actor, chat_id: ChatId, code: &str) -> StoreResult<()> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(chats::revoke_invite(c, actor, chat_id, code.to_owned()))
            })
            .await
    }

    async fn invite_preview(&self, code: &str, now: Millis) -> StoreResult<InvitePreview> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(chats::invite_preview(c, code.to_owned(), now))
            })
            .await
    }

    async fn join_by_invite(
        &self,
        actor: Actor,
        code: &str,
        now: Millis,
    ) -> StoreResult<Outcome<ChatId>> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(chats::join_by_invite(c, actor, code.to_owned(), now))
            })
            .await
    }

    async fn send_message(
        &self,
        actor: Actor,
        chat_id: ChatId,
        message: NewMessage,
        now: Millis,
    ) -> StoreResult<Outcome<(Message, bool)>> {
        // Sending is one statement; a poll, a thread or buttons add more, so they take a
        // transaction.
        let mode = if message.has_extras() {
            Mode::Write
        } else {
            Mode::Autocommit
        };
        self.engine
            .run(mode, |c| {
                Box::pin(messages::send(
                    c,
                    posting_rules(),
                    actor,
                    chat_id,
                    message.clone(),
                    now,
                ))
            })
            .await
    }

    async fn messages(
        &self,
        actor: Actor,
        chat_id: ChatId,
        page: Page,
    ) -> StoreResult<Vec<Message>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(messages::history(c, actor, chat_id, page))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(messages::edit(c, actor, chat_id, seq, edit.clone(), now))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(bots::press(c, actor, chat_id, seq, payload.clone(), now))
            })
            .await
    }

    async fn take_bot_callback(
        &self,
        bot_id: UserId,
        id: i64,
    ) -> StoreResult<Option<CallbackRecord>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(bots::take_callback(c, bot_id, id))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(messages::delete(c, actor, chat_id, seq, now))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(messages::toggle_reaction(
                    c,
                    actor,
                    chat_id,
                    seq,
                    emoji.clone(),
                    now,
                ))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(messages::mark_read(c, actor, chat_id, seq, now))
            })
            .await
    }

    async fn read_by(&self, actor: Actor, chat_id: ChatId, seq: Seq) -> StoreResult<Vec<UserId>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(messages::read_by(c, actor, chat_id, seq))
            })
            .await
    }

    async fn read_markers(&self, chat_id: ChatId) -> StoreResult<Vec<(UserId, Seq)>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(messages::read_markers(c, chat_id))
            })
            .await
    }

    async fn check_member(&self, actor: Actor, chat_id: ChatId) -> StoreResult<()> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(messages::check_member(c, actor, chat_id))
            })
            .await
    }

    async fn current_cursor(&self, user_id: UserId) -> StoreResult<Cursor> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(events::current_cursor(c, user_id))
            })
            .await
    }

    async fn catch_up(&self, user_id: UserId, cursor: &Cursor, limit: u32) -> StoreResult<CatchUp> {
        self.engine
            .run(Mode::Snapshot, |c| {
                Box::pin(events::catch_up(c, user_id, cursor.clone(), limit))
            })
            .await
    }

    async fn chat_members(&self, chat_id: ChatId) -> StoreResult<MemberSnapshot> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(events::chat_members(c, chat_id))
            })
            .await
    }

    async fn chat_kind(&self, chat_id: ChatId) -> StoreResult<Option<ChatKind>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(chats::kind(c, chat_id)))
            .await
    }

    /// Prunes in batches of streams, each its own short transaction, so pruning a busy database
    /// never holds many chats' locks (and so their senders) for long.
    async fn prune_events(&self, before: Millis) -> StoreResult<u64> {
        let mut deleted = 0;
        for stream in [Stream::Chat, Stream::User] {
            loop {
                let (count, more) = self
                    .engine
                    .run(Mode::Write, |c| {
                        Box::pin(events::prune_batch(c, stream, before))
                    })
                    .await?;
                deleted += count;
                if !more {
                    break;
                }
            }
        }
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(events::prune_expired(c, before))
            })
            .await?;
        Ok(deleted)
    }

    async fn create_org(&self, org: NewOrg, admin: UserId, now: Millis) -> StoreResult<Org> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(orgs::create_org(c, org.clone(), admin, now))
            })
            .await
    }

    async fn org(&self, org_id: OrgId) -> StoreResult<Option<Org>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(orgs::org(c, org_id)))
            .await
    }

    async fn orgs_of(&self, user_id: UserId) -> StoreResult<Vec<Org>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(orgs::orgs_of(c, user_id)))
            .await
    }

    async fn org_roles(&self, org_id: OrgId, user_id: UserId) -> StoreResult<Vec<OrgRole>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(orgs::org_roles(c, org_id, user_id))
            })
            .await
    }

    async fn grant_org_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: OrgRole,
    ) -> StoreResult<()> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(orgs::grant_org_role(c, org_id, user_id, role))
            })
            .await
    }

    async fn revoke_org_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: OrgRole,
    ) -> StoreResult<()> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(orgs::revoke_org_role(c, org_id, user_id, role))
            })
            .await
    }

    async fn org_role_holders(&self, org_id: OrgId, role: OrgRole) -> StoreResult<Vec<UserId>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(orgs::org_role_holders(c, org_id, role))
            })
            .await
    }

    async fn direct_chats_among(
        &self,
        user_ids: Vec<UserId>,
    ) -> StoreResult<Vec<(ChatId, UserId, UserId)>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(chats::direct_chats_among(c, user_ids.clone()))
            })
            .await
    }

    async fn review_messages(&self, chat_id: ChatId, page: Page) -> StoreResult<Vec<Message>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(messages::review(c, chat_id, page))
            })
            .await
    }

    async fn roster(&self, org_id: OrgId) -> StoreResult<StoredRoster> {
        self.engine
            .run(Mode::Snapshot, |c| Box::pin(orgs::roster(c, org_id)))
            .await
    }

    async fn save_roster(&self, org_id: OrgId, roster: Roster, now: Millis) -> StoreResult<()> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(orgs::save_roster(c, org_id, roster.clone(), now))
            })
            .await
    }

    async fn rename_units(
        &self,
        org_id: OrgId,
        renames: Vec<UnitRename>,
        now: Millis,
    ) -> StoreResult<()> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(orgs::rename_units(c, org_id, renames.clone(), now))
            })
            .await
    }

    async fn add_org_chat(&self, org_id: OrgId, chat: OrgChat) -> StoreResult<()> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(orgs::add_org_chat(c, org_id, chat))
            })
            .await
    }

    async fn issue_claim_codes(
        &self,
        org_id: OrgId,
        codes: Vec<NewClaimCode>,
        now: Millis,
    ) -> StoreResult<()> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(orgs::issue_claim_codes(c, org_id, codes.clone(), now))
            })
            .await
    }

    async fn redeem_claim_code(
        &self,
        code_hash: [u8; 32],
        user_id: UserId,
        now: Millis,
    ) -> StoreResult<Claimed> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(orgs::redeem_claim_code(c, code_hash, user_id, now))
            })
            .await
    }

    async fn request_ack(&self, chat_id: ChatId, seq: Seq, now: Millis) -> StoreResult<()> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(orgs::request_ack(c, chat_id, seq, now))
            })
            .await
    }

    async fn ack_requests(&self, chat_id: ChatId) -> StoreResult<Vec<Seq>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(orgs::ack_requests(c, chat_id))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(orgs::acknowledge(c, actor, chat_id, seq, now))
            })
            .await
    }

    async fn acks(&self, chat_id: ChatId, seq: Seq) -> StoreResult<Vec<(UserId, Millis)>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(orgs::acks(c, chat_id, seq)))
            .await
    }

    async fn places_of_users(&self, user_ids: Vec<UserId>) -> StoreResult<Vec<UserPlace>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(orgs::places_of_users(c, user_ids.clone()))
            })
            .await
    }

    async fn org_of_chat(&self, chat_id: ChatId) -> StoreResult<Option<(OrgId, OrgChat)>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(orgs::org_of_chat(c, chat_id))
            })
            .await
    }

    async fn set_org_policy(&self, org_id: OrgId, policy: OrgPolicy) -> StoreResult<()> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(orgs::set_org_policy(c, org_id, policy.clone()))
            })
            .await
    }

    async fn orgs_with_policies(&self) -> StoreResult<Vec<Org>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(orgs::orgs_with_policies(c)))
            .await
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
            .run(Mode::Write, |c| {
                Box::pin(quiet::remind(
                    c,
                    chat_id,
                    seq,
                    user_ids.clone(),
                    not_since,
                    now,
                ))
            })
            .await
    }

    async fn reminded_at(&self, chat_id: ChatId, seq: Seq) -> StoreResult<Option<Millis>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(quiet::reminded_at(c, chat_id, seq))
            })
            .await
    }

    async fn report(&self, report: NewReport, now: Millis) -> StoreResult<Report> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(moderation::report(c, report.clone(), now))
            })
            .await
    }

    async fn reports(&self, org_id: OrgId, all: bool) -> StoreResult<Vec<Report>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(moderation::reports(c, org_id, all))
            })
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
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(moderation::resolve_report(
                    c,
                    org_id,
                    id,
                    resolver,
                    resolution.to_owned(),
                    now,
                ))
            })
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
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(moderation::audit(
                    c,
                    org_id,
                    actor,
                    action.to_owned(),
                    detail.clone(),
                    now,
                ))
            })
            .await
    }

    async fn audit_log(
        &self,
        org_id: OrgId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(moderation::audit_log(c, org_id, before, limit))
            })
            .await
    }

    async fn set_do_not_disturb(&self, user_id: UserId, until: Option<Millis>) -> StoreResult<()> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(quiet::set_do_not_disturb(c, user_id, until))
            })
            .await
    }

    async fn do_not_disturb(&self, user_id: UserId, now: Millis) -> StoreResult<Option<Millis>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(quiet::do_not_disturb(c, user_id, now))
            })
            .await
    }

    async fn do_not_disturb_all(&self, now: Millis) -> StoreResult<Vec<(UserId, Millis)>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(quiet::do_not_disturb_all(c, now))
            })
            .await
    }

    async fn hold_message(&self, held: NewHeldMessage, now: Millis) -> StoreResult<HeldMessage> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(quiet::hold_message(c, held.clone(), now))
            })
            .await
    }

    async fn held_messages(
        &self,
        sender_id: UserId,
        chat_id: ChatId,
    ) -> StoreResult<Vec<HeldMessage>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(quiet::held_messages(c, sender_id, chat_id))
            })
            .await
    }

    async fn cancel_held(&self, sender_id: UserId, chat_id: ChatId, id: i64) -> StoreResult<()> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(quiet::cancel_held(c, sender_id, chat_id, id))
            })
            .await
    }

    async fn due_held(&self, now: Millis, limit: u32) -> StoreResult<Vec<HeldMessage>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(quiet::due_held(c, now, limit))
            })
            .await
    }

    async fn forget_held(&self, id: i64) -> StoreResult<()> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(quiet::forget_held(c, id)))
            .await
    }

    async fn server_key(&self, name: &str, candidate: Vec<u8>) -> StoreResult<Vec<u8>> {
        let name = name.to_owned();
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(media::server_key(c, name.clone(), candidate.clone()))
            })
            .await
    }

    async fn create_upload(&self, upload: NewUpload, now: Millis) -> StoreResult<UploadRecord> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(media::create_upload(c, upload.clone(), now))
            })
            .await
    }

    async fn upload(&self, find: FindUpload, now: Millis) -> StoreResult<Option<UploadRecord>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(media::upload(c, find, now)))
            .await
    }

    async fn put_upload_part(
        &self,
        upload_id: i64,
        part: UploadPart,
        now: Millis,
    ) -> StoreResult<Option<String>> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(media::put_upload_part(c, upload_id, part.clone(), now))
            })
            .await
    }

    async fn upload_parts(&self, upload_id: i64) -> StoreResult<Vec<UploadPart>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(media::upload_parts(c, upload_id))
            })
            .await
    }

    async fn forget_upload(&self, upload_id: i64) -> StoreResult<Vec<String>> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(media::forget_upload(c, upload_id))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(media::complete_upload(
                    c,
                    upload_id,
                    blob.clone(),
                    payer,
                    now,
                ))
            })
            .await
    }

    async fn media_usage(&self, payer: Payer) -> StoreResult<u64> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(media::media_usage(c, payer)))
            .await
    }

    async fn expire_media(&self, org_id: OrgId, sent_before: Millis) -> StoreResult<u64> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(media::expire_media(c, org_id, sent_before))
            })
            .await
    }

    async fn blob(&self, id: i64) -> StoreResult<Option<BlobRecord>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(media::blob(c, id)))
            .await
    }

    async fn chat_blobs(
        &self,
        actor: Actor,
        chat_id: ChatId,
        ids: Vec<i64>,
    ) -> StoreResult<Vec<BlobRecord>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(media::chat_blobs(c, actor, chat_id, ids.clone()))
            })
            .await
    }

    async fn visible_blob(&self, user_id: UserId, id: i64) -> StoreResult<Option<BlobRecord>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(media::visible_blob(c, user_id, id))
            })
            .await
    }

    async fn expired_uploads(
        &self,
        now: Millis,
        limit: u32,
    ) -> StoreResult<Vec<(i64, Vec<String>)>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(media::expired_uploads(c, now, limit))
            })
            .await
    }

    async fn collect_blobs(
        &self,
        now: Millis,
        touched_before: Millis,
        limit: u32,
    ) -> StoreResult<Vec<BlobRecord>> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(media::collect_blobs(c, now, touched_before, limit))
            })
            .await
    }

    async fn forget_blobs(&self, ids: Vec<i64>) -> StoreResult<()> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(media::forget_blobs(c, ids.clone()))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(messages::vote(c, actor, chat_id, seq, options.clone(), now))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(chats::pin(c, actor, chat_id, seq, now))
            })
            .await
    }

    async fn pinned(&self, chat_id: ChatId) -> StoreResult<Option<Seq>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(chats::pinned(c, chat_id)))
            .await
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
            .run(Mode::Snapshot, |c| {
                Box::pin(messages::thread(c, actor, chat_id, root, after, limit))
            })
            .await
    }

    async fn threads(&self, chat_id: ChatId) -> StoreResult<Vec<ThreadSummary>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(messages::threads(c, chat_id))
            })
            .await
    }

    async fn polls(&self, chat_id: ChatId) -> StoreResult<Vec<StoredPoll>> {
        self.engine
            .run(Mode::Snapshot, |c| Box::pin(messages::polls(c, chat_id)))
            .await
    }

    async fn publish_key_packages(
        &self,
        actor: Actor,
        batch: KeyPackageBatch,
        now: Millis,
    ) -> StoreResult<Outcome<KeyPackageCount>> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(e2ee::publish(c, actor, batch.clone(), now))
            })
            .await
    }

    async fn key_package_count(&self, actor: Actor, now: Millis) -> StoreResult<KeyPackageCount> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(e2ee::count(c, actor.session_id, now))
            })
            .await
    }

    async fn devices_of(&self, user_id: UserId) -> StoreResult<Vec<DeviceRecord>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(e2ee::devices_of(c, user_id)))
            .await
    }

    async fn mls_group(&self, actor: Actor, chat_id: ChatId) -> StoreResult<GroupView> {
        self.engine
            .run(Mode::Snapshot, |c| Box::pin(e2ee::group(c, actor, chat_id)))
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
            .run(Mode::Write, |c| {
                Box::pin(e2ee::claim(c, actor, chat_id, devices.clone(), now))
            })
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
            .run(Mode::Write, |c| {
                Box::pin(e2ee::commit(c, actor, chat_id, commit.clone(), now))
            })
            .await
    }

    async fn welcomes(&self, actor: Actor) -> StoreResult<Vec<WelcomeRecord>> {
        self.engine
            .run(Mode::Autocommit, |c| Box::pin(e2ee::welcomes(c, actor)))
            .await
    }

    async fn forget_welcome(&self, actor: Actor, id: i64) -> StoreResult<()> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(e2ee::forget_welcome(c, actor, id))
            })
            .await
    }

    async fn forget_device(&self, actor: Actor, now: Millis) -> StoreResult<Outcome<()>> {
        self.engine
            .run(Mode::Write, |c| {
                Box::pin(e2ee::forget_device(c, actor, now))
            })
            .await
    }

    async fn franking_tag(&self, chat_id: ChatId, seq: Seq) -> StoreResult<Option<Vec<u8>>> {
        self.engine
            .run(Mode::Autocommit, |c| {
                Box::pin(e2ee::franking_tag(c, chat_id, seq))
            })
            .await
    }
}

fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
