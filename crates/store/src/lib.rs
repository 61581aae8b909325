//! The storage contract.
//!
//! [`Store`] is everything the server asks of a database. Each backend (SQLite now, PostgreSQL
//! next) implements it and must pass [`conformance`], one suite for all, so the server never
//! knows which backend it runs on; the choice is made only in the binary.
//!
//! Every operation that changes what clients see returns the [`Published`] events it committed,
//! in commit order, for the caller to fan out *after* the commit (an event is never published for
//! a change that did not persist). Authorization happens inside the same transaction as the
//! change, with the rules from `kolokol_domain::permissions`.
//!
//! What every backend does alike without it being a rule is written here once: how chat events
//! are stored ([`event_log`]), how a catch-up is planned ([`catch_up`]), and turning a chat's row
//! into what clients see ([`ChatRow`]).

pub mod catch_up;
pub mod conformance;
pub mod e2ee;
pub mod event_log;
pub mod media;
pub mod orgs;

pub use e2ee::{
    ClaimedKeyPackages, DeviceRecord, GroupView, KEY_PACKAGES_LOW, KeyPackageBatch,
    KeyPackageCount, MAX_KEY_PACKAGES, NewCommit, NewMls, WelcomeRecord,
};
pub use media::{
    BlobRecord, FindUpload, MAX_ATTACHMENTS, NewBlob, NewUpload, Payer, STUCK_COLLECTION_MS,
    UPLOAD_KEPT_MS, UploadPart, UploadRecord,
};
pub use orgs::{
    ChatPurpose, Claimed, NewClaimCode, NewHeldMessage, NewOrg, NewReport, Org, OrgChat, OrgId,
    OrgRole, StoredRoster, UnitRename, UserPlace,
};

use async_trait::async_trait;
use kolokol_domain::roster::Roster;
use kolokol_domain::{Cursor, Rejection, Route};
use kolokol_proto::{
    Attachment, AuditEntry, BotCommand, Chat, ChatId, ChatInfo, ChatKind, ChatPrivacy, Event,
    HeldMessage, Invite, InvitePreview, Keyboard, Markup, Member, Message, Millis, OrgPolicy, Poll,
    Posting, Profile, Report, Role, Seq, ThreadSummary, User, UserId,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A rule refused the request; the code goes to the client as is.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The database failed. Details stay in the server log, never in a response.
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An event committed by a write, with where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub route: Route,
    pub event: Event,
}

/// The result of a write plus the events it committed.
#[derive(Debug)]
pub struct Outcome<T> {
    pub value: T,
    pub events: Vec<Published>,
}

impl<T> Outcome<T> {
    /// A write that changed nothing (it was done before, e.g. a repeated send): no events.
    pub fn unchanged(value: T) -> Self {
        Outcome {
            value,
            events: Vec::new(),
        }
    }
}

/// Who is acting, as established from their session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub session_id: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    /// Already validated and lower-cased.
    pub username: String,
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
}

/// A bot: an account a program uses through the Max-compatible bot API, owned by a person.
#[derive(Debug, Clone, PartialEq)]
pub struct BotRecord {
    pub user: User,
    pub owner_id: UserId,
    pub description: String,
    /// As the bot set them, a JSON array of `{name, description?}`.
    pub commands: String,
    /// Where its mini-app is.
    pub web_app_url: Option<String>,
    pub created_at: Millis,
}

impl BotRecord {
    /// The commands, as the bot set them.
    pub fn command_list(&self) -> Vec<BotCommand> {
        serde_json::from_str(&self.commands).unwrap_or_default()
    }
}

/// A press of a callback button, kept so the bot can answer it (`POST /answers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRecord {
    pub id: i64,
    pub bot_id: UserId,
    pub chat_id: ChatId,
    pub seq: Seq,
    /// Who pressed.
    pub user_id: UserId,
    pub payload: String,
    pub created_at: Millis,
}

/// A bot's webhook: where its updates go, and how delivering them is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub bot_id: UserId,
    pub url: String,
    /// Sent back in `X-Max-Bot-Api-Secret`, so kept as given.
    pub secret: Option<String>,
    /// Only updates of these types; all when `None`.
    pub update_types: Option<Vec<String>>,
    pub version: Option<String>,
    /// The event cursor delivery has reached (`None`: from when the bot joined each chat).
    pub cursor: Option<String>,
    pub created_at: Millis,
    /// Failed deliveries in a row.
    pub attempts: u32,
    /// Since when nothing has been delivered, while deliveries fail.
    pub failing_since: Option<Millis>,
    /// When to try again after a failure.
    pub next_attempt_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub url: String,
    pub secret: Option<String>,
    pub update_types: Option<Vec<String>>,
    pub version: Option<String>,
    /// Where delivery starts, when the bot had no subscription.
    pub cursor: Option<String>,
}

/// How delivering an update to a webhook went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered; delivery goes on from `cursor`.
    Succeeded {
        cursor: String,
    },
    Failed {
        retry_at: Millis,
    },
}

/// Changes to a bot; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct BotChanges {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub commands: Option<String>,
    /// `Some(None)` removes the mini-app.
    pub web_app_url: Option<Option<String>>,
    /// The key that signs its mini-app's initData, kept when a token is issued.
    pub web_app_key: Option<[u8; 32]>,
}

/// Validated changes to a profile (`PATCH /me`); `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    pub display_name: Option<String>,
    pub about: Option<String>,
    pub show_username: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the token; the token itself is never stored.
    pub token_hash: [u8; 32],
    pub device_name: String,
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: i64,
    pub device_name: String,
    pub created_at: Millis,
    pub last_seen_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke {
    One(i64),
    AllExcept(i64),
}

#[derive(Debug, Clone)]
pub struct NewChat {
    pub kind: ChatKind,
    /// Fixed for the chat's life.
    pub privacy: ChatPrivacy,
    pub title: Option<String>,
    pub member_ids: Vec<UserId>,
}

#[derive(Debug, Clone)]
pub struct NewInvite {
    pub code: String,
    pub expires_at: Option<Millis>,
    pub max_uses: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub client_msg_id: String,
    pub text: String,
    pub reply_to: Option<Seq>,
    /// Already validated (`kolokol_domain::poll::validate`).
    pub poll: Option<Poll>,
    /// The thread to post in; the store checks it (`kolokol_domain::thread::check_root`).
    pub thread_of: Option<Seq>,
    /// A bot's buttons, already checked (`kolokol_domain::keyboard::check`).
    pub keyboard: Keyboard,
    /// A bot's formatting, already checked (`kolokol_domain::markup::check`).
    pub markup: Vec<Markup>,
    /// Files to show with it, by id; the store checks the sender may show each (their own
    /// upload, or a file shown in a chat they are in).
    pub attachments: Vec<i64>,
    /// In an encrypted chat, the MLS application message it is (and `text` is empty).
    pub mls: Option<NewMls>,
}

/// Every table with rows of a chat, in an order that deleting them keeps foreign keys intact:
/// what hangs on messages first. A deleted chat's own row stays, emptied ([`EMPTY_CHAT`]), so
/// its id is never given to another chat: clients' cursors and every node's cached member lists
/// name chats by id.
pub const CHAT_TABLES: [&str; 18] = [
    "blob_refs",
    "reactions",
    "button_chats",
    "poll_votes",
    "pins",
    "acks",
    "ack_requests",
    "reminders",
    "reports",
    "held_messages",
    "bot_callbacks",
    "invites",
    "mls_welcomes",
    "mls_leaves",
    "mls_groups",
    "messages",
    "members",
    "chat_events",
];

/// What is left of a deleted chat's row: its id, kind and stream position, nothing it said.
pub const EMPTY_CHAT: &str = "UPDATE chats SET title = NULL, member_count = 0, last_seq = 0";

/// How a list kept with a message (a keyboard, markup) is stored: JSON, or NULL for none.
pub fn list_column<T: serde::Serialize>(items: &[T]) -> serde_json::Result<Option<String>> {
    (!items.is_empty())
        .then(|| serde_json::to_string(items))
        .transpose()
}

/// An edit of a message by its author; `None` leaves that part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageEdit {
    /// A new text, with its formatting (`markup`, empty for none).
    pub text: Option<String>,
    pub markup: Vec<Markup>,
    /// Replaces the buttons (empty removes them); already checked.
    pub keyboard: Option<Keyboard>,
}

impl MessageEdit {
    /// A new text, buttons as they are.
    pub fn text(text: String) -> MessageEdit {
        MessageEdit {
            text: Some(text),
            markup: Vec::new(),
            keyboard: None,
        }
    }
}

impl NewMessage {
    /// Whether it carries more than its text and reply: a poll, a thread, buttons, formatting
    /// or files.
    pub fn has_extras(&self) -> bool {
        self.poll.is_some()
            || self.mls.is_some()
            || self.thread_of.is_some()
            || !self.keyboard.is_empty()
            || !self.markup.is_empty()
            || !self.attachments.is_empty()
    }

    /// The message as first stored, once the backend has given it its `id` and `seq` and resolved
    /// its mentions and files: no reactions, never edited.
    #[allow(clippy::too_many_arguments)]
    pub fn into_message(
        self,
        chat_id: ChatId,
        sender_id: UserId,
        id: i64,
        seq: Seq,
        mentions: Vec<UserId>,
        attachments: Vec<Attachment>,
        now: Millis,
    ) -> Message {
        Message {
            id,
            chat_id,
            seq,
            sender_id,
            client_msg_id: self.client_msg_id,
            text: self.text,
            reply_to: self.reply_to,
            mentions,
            reactions: Vec::new(),
            created_at: now,
            edited_at: None,
            deleted: false,
            poll: self.poll,
            thread_of: self.thread_of,
            keyboard: self.keyboard,
            markup: self.markup,
            attachments,
            mls: self.mls.map(|mls| kolokol_proto::MlsPayload {
                kind: kolokol_proto::MlsKind::Application,
                epoch: mls.epoch,
                data: Some(kolokol_proto::Base64Bytes(mls.data)),
            }),
        }
    }
}

/// A poll as stored: the message it is in, its definition and its votes (voter, option).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPoll {
    pub seq: Seq,
    pub poll: Poll,
    pub votes: Vec<(UserId, u32)>,
}

/// A page of history: the newest `limit` messages before `before`, or the oldest `limit` after
/// `after`; with neither, the newest `limit`. Always returned in ascending seq order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page {
    pub before: Option<Seq>,
    pub after: Option<Seq>,
    pub limit: u32,
}

/// The members of a chat as of a stream position, for routing live events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSnapshot {
    pub as_of_pos: i64,
    pub user_ids: Vec<UserId>,
}

/// The columns of a chat's row that rules and events need, as every backend reads them.
#[derive(Debug, Clone)]
pub struct ChatRow {
    pub id: ChatId,
    pub kind: ChatKind,
    pub title: Option<String>,
    pub member_count: i64,
    pub last_seq: Seq,
    pub created_at: Millis,
    pub last_activity_at: Millis,
    pub posting: Posting,
    pub slow_mode_secs: u32,
    pub privacy: ChatPrivacy,
}

/// What is particular to one member's view of a chat.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub role: Role,
    pub read_seq: Seq,
    pub unread_count: i64,
    /// The other member of a direct chat.
    pub peer: Option<User>,
    pub last_message: Option<Message>,
    /// Until when the member may not post, as an admin set it (possibly past).
    pub muted_until: Option<Millis>,
}

impl ChatRow {
    /// The chat as events describe it.
    pub fn info(&self) -> ChatInfo {
        ChatInfo {
            id: self.id,
            kind: self.kind,
            title: self.title.clone(),
            member_count: self.member_count,
            posting: self.posting,
            slow_mode_secs: self.slow_mode_secs,
            privacy: self.privacy,
        }
    }

    /// The chat as one member sees it.
    pub fn seen_by(self, member: MemberView) -> Chat {
        Chat {
            id: self.id,
            kind: self.kind,
            title: self.title,
            peer: member.peer,
            role: member.role,
            member_count: self.member_count,
            last_seq: self.last_seq,
            read_seq: member.read_seq,
            unread_count: member.unread_count,
            last_message: member.last_message,
            created_at: self.created_at,
            last_activity_at: self.last_activity_at,
            posting: self.posting,
            slow_mode_secs: self.slow_mode_secs,
            muted_until: member.muted_until,
            safeguarding: None,
            privacy: self.privacy,
        }
    }
}

/// What a resuming client gets.
#[derive(Debug, Clone, PartialEq)]
pub enum CatchUp {
    /// Events after the cursor, each stream in position order, at most the requested number.
    Events(Vec<Published>),
    /// The cursor reaches into events already pruned: re-read over REST and start from `current`.
    Resync { current: Cursor },
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- accounts and sessions ---

    /// Creates the user and their first session atomically. `UsernameTaken` if it exists.
    async fn register(
        &self,
        user: NewUser,
        session: NewSession,
        now: Millis,
    ) -> StoreResult<(User, i64)>;
    async fn credentials(&self, username: &str) -> StoreResult<Option<Credentials>>;
    async fn create_session(
        &self,
        user_id: UserId,
        session: NewSession,
        now: Millis,
    ) -> StoreResult<i64>;
    /// The session with this token hash, if it exists; records the day of use.
    async fn authenticate(&self, token_hash: [u8; 32], now: Millis) -> StoreResult<Option<Actor>>;
    async fn sessions(&self, user_id: UserId) -> StoreResult<Vec<SessionRecord>>;
    /// Revokes sessions of `user_id`; returns how many, with a `session.revoked` event each.
    async fn revoke_sessions(&self, user_id: UserId, which: Revoke) -> StoreResult<Outcome<u64>>;
    /// Sets a new password hash and revokes every session but `keep_session`.
    async fn set_password(&self, actor: Actor, password_hash: String) -> StoreResult<Outcome<u64>>;
    /// The user as others see them: the username only if they chose to show it.
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// Like [`Store::user`], found by their exact (lower-cased) username.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// The user's own view of themselves: with their username and privacy choices.
    async fn profile(&self, id: UserId) -> StoreResult<Option<Profile>>;
    /// Changes the given fields (absent ones stay); returns the new profile.
    async fn update_profile(
        &self,
        user_id: UserId,
        changes: ProfileChanges,
    ) -> StoreResult<Profile>;

    // --- bots ---

    /// Creates a bot account owned by `owner`, with `token` as its one session; the bot shows
    /// its username. `UsernameTaken` if the name is taken.
    async fn create_bot(
        &self,
        owner: UserId,
        bot: NewUser,
        token: NewSession,
        now: Millis,
    ) -> StoreResult<BotRecord>;
    async fn bot(&self, bot_id: UserId) -> StoreResult<Option<BotRecord>>;
    /// The bots `owner` made, oldest first.
    async fn bots_of(&self, owner: UserId) -> StoreResult<Vec<BotRecord>>;
    async fn update_bot(&self, bot_id: UserId, changes: BotChanges) -> StoreResult<BotRecord>;
    /// The key that signs the bot's mini-app's initData, if a token was issued since there were
    /// mini-apps.
    async fn bot_web_app_key(&self, bot_id: UserId) -> StoreResult<Option<[u8; 32]>>;
    /// The event cursor saved under `marker` (which also acknowledges the updates before it),
    /// or with no marker the last acknowledged one; `None` when there is none.
    async fn bot_cursor(&self, bot_id: UserId, marker: Option<i64>) -> StoreResult<Option<String>>;
    /// Saves a cursor under a new marker, larger than every earlier one of the bot.
    async fn save_bot_cursor(
        &self,
        bot_id: UserId,
        cursor: String,
        now: Millis,
    ) -> StoreResult<i64>;
    /// Subscribes the bot's webhook, replacing any it had: its failures are forgotten, but
    /// delivery goes on from where it got to (`subscription.cursor` applies to a first one).
    async fn subscribe_bot(
        &self,
        bot_id: UserId,
        subscription: NewSubscription,
        now: Millis,
    ) -> StoreResult<()>;
    async fn bot_subscription(&self, bot_id: UserId) -> StoreResult<Option<Subscription>>;
    /// Removes the bot's subscription (only if it is to `url`, when given); whether one went.
    async fn unsubscribe_bot(&self, bot_id: UserId, url: Option<String>) -> StoreResult<bool>;
    /// The bots whose updates `holder` may deliver now: with a subscription whose lease is
    /// free, lapsed, or its own.
    async fn leasable_subscriptions(&self, holder: String, now: Millis)
    -> StoreResult<Vec<UserId>>;
    /// Takes or renews, until `until`, the lease on delivering the bot's updates, unless another
    /// holder's lease runs; the subscription while `holder` has it.
    async fn lease_subscription(
        &self,
        bot_id: UserId,
        holder: String,
        now: Millis,
        until: Millis,
    ) -> StoreResult<Option<Subscription>>;
    /// Records how a delivery went: a success moves the cursor and clears the failures, a
    /// failure counts one more. Only while `holder` has the lease: a node that lost it (its
    /// delivery took longer than the lease) changes nothing.
    async fn record_delivery(
        &self,
        bot_id: UserId,
        holder: String,
        delivery: Delivery,
        now: Millis,
    ) -> StoreResult<()>;
    /// The group made for a `chat` button (`key`) of message `seq`, if one was.
    async fn button_chat(
        &self,
        chat_id: ChatId,
        seq: Seq,
        key: String,
    ) -> StoreResult<Option<ChatId>>;
    /// Keeps `created` as the group of that button, unless another press got there first: the
    /// group that is kept.
    async fn link_button_chat(
        &self,
        chat_id: ChatId,
        seq: Seq,
        key: String,
        created: ChatId,
    ) -> StoreResult<ChatId>;
    /// Puts an event on one user's own stream (a bot told it was started, a person that a bot
    /// answered their press).
    async fn tell_user(
        &self,
        user_id: UserId,
        event: Event,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;

    async fn create_ws_ticket(
        &self,
        actor: Actor,
        ticket_hash: [u8; 32],
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// Consumes a ticket: it works once, before it expires, while its session lives.
    async fn redeem_ws_ticket(
        &self,
        ticket_hash: [u8; 32],
        now: Millis,
    ) -> StoreResult<Option<Actor>>;

    // --- chats ---

    /// Creates a chat; a direct chat that already exists for the pair is returned instead
    /// (`created == false`).
    async fn create_chat(
        &self,
        actor: Actor,
        chat: NewChat,
        now: Millis,
    ) -> StoreResult<Outcome<(ChatId, bool)>>;
    /// `NotMember` for chats the actor is not in, including chats that do not exist.
    async fn chat(&self, actor: Actor, chat_id: ChatId) -> StoreResult<Chat>;
    /// Every chat of the actor, newest activity first.
    async fn chats(&self, actor: Actor) -> StoreResult<Vec<Chat>>;
    async fn rename_chat(
        &self,
        actor: Actor,
        chat_id: ChatId,
        title: String,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;
    async fn members(&self, actor: Actor, chat_id: ChatId) -> StoreResult<Vec<Member>>;
    async fn add_members(
        &self,
        actor: Actor,
        chat_id: ChatId,
        user_ids: Vec<UserId>,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;
    /// Removes `user_id`; when that is the actor, this is leaving.
    /// The owner deletes a group or channel for everyone: its messages, members and all that
    /// hangs on them are gone, and each member is told (`member.removed` on their own stream,
    /// `by` the owner). Chats an organisation keeps are the roster's to manage.
    async fn delete_chat(
        &self,
        actor: Actor,
        chat_id: ChatId,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;
    async fn remove_member(
        &self,
        actor: Actor,
        chat_id: ChatId,
        user_id: UserId,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;
    async fn set_role(
        &self,
        actor: Actor,
        chat_id: ChatId,
        user_id: UserId,
        role: Role,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;
    /// The new owner must be a member; the old owner becomes an admin.
    /// Changes who may post and the slow mode (owner and admins, as for renaming); a
    /// `chat.updated` event tells the members.
    async fn set_chat_settings(
        &self,
        actor: Actor,
        chat_id: ChatId,
        posting: Option<Posting>,
        slow_mode_secs: Option<u32>,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;
    /// Mutes a member until `until`, or with `None` unmutes (`kolokol_domain::permissions::mute`);
    /// a `member.muted` event tells the members.
    async fn mute(
        &self,
        actor: Actor,
        chat_id: ChatId,
        user_id: UserId,
        until: Option<Millis>,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;
    async fn transfer_ownership(
        &self,
        actor: Actor,
        chat_id: ChatId,
        user_id: UserId,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;

    // --- invite links ---

    async fn create_invite(
        &self,
        actor: Actor,
        chat_id: ChatId,
        invite: NewInvite,
        now: Millis,
    ) -> StoreResult<Invite>;
    async fn invites(&self, actor: Actor, chat_id: ChatId) -> StoreResult<Vec<Invite>>;
    async fn revoke_invite(&self, actor: Actor, chat_id: ChatId, code: &str) -> StoreResult<()>;
    async fn invite_preview(&self, code: &str, now: Millis) -> StoreResult<InvitePreview>;
    async fn join_by_invite(
        &self,
        actor: Actor,
        code: &str,
        now: Millis,
    ) -> StoreResult<Outcome<ChatId>>;

    // --- messages ---

    /// Stores a message with the next seq, or returns the original for a repeated
    /// `client_msg_id` of the same sender in the same chat (`created == false`, no events).
    async fn send_message(
        &self,
        actor: Actor,
        chat_id: ChatId,
        message: NewMessage,
        now: Millis,
    ) -> StoreResult<Outcome<(Message, bool)>>;
    async fn messages(
        &self,
        actor: Actor,
        chat_id: ChatId,
        page: Page,
    ) -> StoreResult<Vec<Message>>;
    /// The author changes the text or the buttons (or both) of a live message.
    async fn edit_message(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        edit: MessageEdit,
        now: Millis,
    ) -> StoreResult<Outcome<Message>>;
    /// A member presses the callback button `payload` under a bot's message: the press is kept
    /// for the bot's answer and the bot told (`bot.callback` on its stream). Refused when the
    /// message has no such button, or its bot has left the chat. Returns the callback's id.
    async fn press_button(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        payload: String,
        now: Millis,
    ) -> StoreResult<Outcome<i64>>;
    /// A press of one of the bot's buttons, by its id, taken: each press is answered once.
    /// `None` for another bot's, an unknown or an answered one.
    async fn take_bot_callback(
        &self,
        bot_id: UserId,
        id: i64,
    ) -> StoreResult<Option<CallbackRecord>>;
    /// Replaces the message with a tombstone: text, mentions and reactions are erased, the seq stays.
    async fn delete_message(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;
    /// Adds the reaction, or removes it when the actor already gave it; true when added.
    async fn toggle_reaction(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        emoji: String,
        now: Millis,
    ) -> StoreResult<Outcome<bool>>;
    /// Moves the actor's read marker forward to `seq` (never back).
    async fn mark_read(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;
    /// Members other than the sender who have read the message; `ChatTooLarge` above 100 members.
    async fn read_by(&self, actor: Actor, chat_id: ChatId, seq: Seq) -> StoreResult<Vec<UserId>>;
    /// How far every member of the chat has read, by user id; for reach statistics, so callers
    /// authorize (it is not limited to small chats as [`Store::read_by`] is).
    async fn read_markers(&self, chat_id: ChatId) -> StoreResult<Vec<(UserId, Seq)>>;
    /// Replaces the actor's vote in the poll of message `seq` with `options` (none takes it
    /// back), as `kolokol_domain::poll::check_vote` allows at `now`. `NotMember` for
    /// outsiders, `MessageNotFound` when the message carries no poll (or was deleted).
    async fn vote(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        options: Vec<u32>,
        now: Millis,
    ) -> StoreResult<()>;
    /// The chat's polls that are not deleted, ascending by seq.
    /// Callers authorize.
    async fn polls(&self, chat_id: ChatId) -> StoreResult<Vec<StoredPoll>>;
    /// Up to `limit` replies in the thread under message `root`, ascending, after `after`.
    /// `NotMember` for outsiders.
    async fn thread(
        &self,
        actor: Actor,
        chat_id: ChatId,
        root: Seq,
        after: Option<Seq>,
        limit: u32,
    ) -> StoreResult<Vec<Message>>;
    /// Pins message `seq` at the top of the chat (replacing any pin), or with `None` takes the
    /// pin down; a `pinned` event tells the members. For those who manage the chat
    /// (`kolokol_domain::permissions::manage`); the message must exist and not be deleted.
    async fn pin(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Option<Seq>,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;
    /// The pinned message's seq, if any. Callers authorize.
    async fn pinned(&self, chat_id: ChatId) -> StoreResult<Option<Seq>>;
    /// Every thread of the chat, by the seq of its root. Callers authorize.
    async fn threads(&self, chat_id: ChatId) -> StoreResult<Vec<ThreadSummary>>;
    /// Direct chats whose two members are both among `user_ids`: (chat, one member, the other).
    async fn direct_chats_among(
        &self,
        user_ids: Vec<UserId>,
    ) -> StoreResult<Vec<(ChatId, UserId, UserId)>>;
    /// A page of a chat's history, as [`Store::messages`] gives it, for someone who reviews the
    /// chat without being in it (a safeguarding lead). Callers authorize.
    async fn review_messages(&self, chat_id: ChatId, page: Page) -> StoreResult<Vec<Message>>;
    /// `NotMember` unless the actor is in the chat (used before ephemeral events).
    async fn check_member(&self, actor: Actor, chat_id: ChatId) -> StoreResult<()>;

    // --- event streams ---

    /// The cursor that stands for "now" for this user: the end of every stream they follow.
    async fn current_cursor(&self, user_id: UserId) -> StoreResult<Cursor>;
    /// Up to `limit` events after `cursor`, from the user's stream and the streams of every chat
    /// the user is in now (from the join onwards for chats the cursor does not name).
    async fn catch_up(&self, user_id: UserId, cursor: &Cursor, limit: u32) -> StoreResult<CatchUp>;
    /// Who receives the live events of a chat.
    async fn chat_members(&self, chat_id: ChatId) -> StoreResult<MemberSnapshot>;
    /// A chat's kind, with no member to ask as (a bot is told it was removed from a channel).
    async fn chat_kind(&self, chat_id: ChatId) -> StoreResult<Option<ChatKind>>;
    /// Deletes stored events older than `before`; resuming past them yields `Resync`.
    async fn prune_events(&self, before: Millis) -> StoreResult<u64>;

    // --- organisations ---

    /// Creates an org with its service account, and makes `admin` its first admin.
    async fn create_org(&self, org: NewOrg, admin: UserId, now: Millis) -> StoreResult<Org>;
    async fn org(&self, org_id: OrgId) -> StoreResult<Option<Org>>;
    /// The orgs in which the user holds an org-wide role or a claimed roster place.
    async fn orgs_of(&self, user_id: UserId) -> StoreResult<Vec<Org>>;
    /// The org-wide roles the user holds in the org.
    async fn org_roles(&self, org_id: OrgId, user_id: UserId) -> StoreResult<Vec<OrgRole>>;
    async fn grant_org_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: OrgRole,
    ) -> StoreResult<()>;
    /// Takes an org-wide role back; taking one the user does not hold is no error.
    async fn revoke_org_role(
        &self,
        org_id: OrgId,
        user_id: UserId,
        role: OrgRole,
    ) -> StoreResult<()>;
    /// The users holding `role` in the org.
    async fn org_role_holders(&self, org_id: OrgId, role: OrgRole) -> StoreResult<Vec<UserId>>;
    /// The org's roster, archived entries included.
    async fn roster(&self, org_id: OrgId) -> StoreResult<StoredRoster>;
    /// Makes `roster` the org's current roster in one transaction: people and classes are
    /// matched by key and name, so ids and account links survive; what is missing is archived.
    async fn save_roster(&self, org_id: OrgId, roster: Roster, now: Millis) -> StoreResult<()>;
    /// Renames classes of the org in this order, in one transaction, archiving those marked so
    /// (a year-end rollover: `kolokol_domain::rollover` orders them so no two share a name).
    async fn rename_units(
        &self,
        org_id: OrgId,
        renames: Vec<UnitRename>,
        now: Millis,
    ) -> StoreResult<()>;
    /// Records a chat the org keeps (created through [`Store::create_chat`] by its service user).
    async fn add_org_chat(&self, org_id: OrgId, chat: OrgChat) -> StoreResult<()>;
    /// Stores new claim codes of the org's people, each replacing the person's previous code.
    /// People of other orgs are refused (`NotFound`) and nothing is stored.
    async fn issue_claim_codes(
        &self,
        org_id: OrgId,
        codes: Vec<NewClaimCode>,
        now: Millis,
    ) -> StoreResult<()>;
    /// Links the code's person to `user_id` (replacing an earlier link: the code was issued
    /// after it) and uses the code up. Refused when the code is unknown, expired, or of a person
    /// no longer on the roster.
    async fn redeem_claim_code(
        &self,
        code_hash: [u8; 32],
        user_id: UserId,
        now: Millis,
    ) -> StoreResult<Claimed>;
    /// Asks the chat's readers to acknowledge message `seq` (callers authorize). Asking twice is
    /// no error.
    async fn request_ack(&self, chat_id: ChatId, seq: Seq, now: Millis) -> StoreResult<()>;
    /// The messages of the chat that ask for an acknowledgement, ascending.
    async fn ack_requests(&self, chat_id: ChatId) -> StoreResult<Vec<Seq>>;
    /// Records that the actor, a member, acknowledged message `seq`: `NotMember` for others,
    /// `NotFound` when the message asks for no acknowledgement. Acknowledging twice keeps the
    /// first time.
    async fn acknowledge(
        &self,
        actor: Actor,
        chat_id: ChatId,
        seq: Seq,
        now: Millis,
    ) -> StoreResult<()>;
    /// Who acknowledged message `seq`, with when.
    async fn acks(&self, chat_id: ChatId, seq: Seq) -> StoreResult<Vec<(UserId, Millis)>>;
    /// The current (not archived) roster places these accounts have claimed, in every org.
    async fn places_of_users(&self, user_ids: Vec<UserId>) -> StoreResult<Vec<UserPlace>>;
    /// The org that keeps this chat, and what for; `None` for everyone else's chats.
    async fn org_of_chat(&self, chat_id: ChatId) -> StoreResult<Option<(OrgId, OrgChat)>>;
    async fn set_org_policy(&self, org_id: OrgId, policy: OrgPolicy) -> StoreResult<()>;
    /// Every org whose policy differs from the defaults.
    async fn orgs_with_policies(&self) -> StoreResult<Vec<Org>>;
    /// Records when the readers of message `seq` who had not read it were reminded, and puts a
    /// `reminder` event on each of `user_ids`' streams. `RateLimited` (nothing sent) when the
    /// message's last reminder was after `not_since`.
    async fn remind(
        &self,
        chat_id: ChatId,
        seq: Seq,
        user_ids: Vec<UserId>,
        not_since: Millis,
        now: Millis,
    ) -> StoreResult<Outcome<()>>;
    /// When the readers of message `seq` were last reminded of it.
    async fn reminded_at(&self, chat_id: ChatId, seq: Seq) -> StoreResult<Option<Millis>>;

    /// Files a report in the org's queue; the same member reporting the same message again
    /// gets the report first filed.
    async fn report(&self, report: NewReport, now: Millis) -> StoreResult<Report>;
    /// The org's reports, newest first: open ones only unless `all`.
    async fn reports(&self, org_id: OrgId, all: bool) -> StoreResult<Vec<Report>>;
    /// Closes a report of the org with `resolution`; `NotFound` for reports of other orgs.
    /// Closing a closed report changes nothing.
    async fn resolve_report(
        &self,
        org_id: OrgId,
        id: i64,
        resolver: UserId,
        resolution: &str,
        now: Millis,
    ) -> StoreResult<Report>;
    /// Appends to the org's audit log.
    async fn audit(
        &self,
        org_id: OrgId,
        actor: UserId,
        action: &str,
        detail: String,
        now: Millis,
    ) -> StoreResult<()>;
    /// The org's audit log, newest first: up to `limit` entries older than `before` (an id).
    async fn audit_log(
        &self,
        org_id: OrgId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>>;

    // --- quiet hours and do-not-disturb ---

    /// Sets (or with `None` ends) the user's do-not-disturb.
    async fn set_do_not_disturb(&self, user_id: UserId, until: Option<Millis>) -> StoreResult<()>;
    /// The user's do-not-disturb, if it lasts beyond `now`.
    async fn do_not_disturb(&self, user_id: UserId, now: Millis) -> StoreResult<Option<Millis>>;
    /// Every do-not-disturb that lasts beyond `now`, by user.
    async fn do_not_disturb_all(&self, now: Millis) -> StoreResult<Vec<(UserId, Millis)>>;
    /// Holds a message back; holding the same `client_msg_id` of the same sender in the same
    /// chat again returns the message first held.
    async fn hold_message(&self, held: NewHeldMessage, now: Millis) -> StoreResult<HeldMessage>;
    /// The sender's held messages in the chat, oldest first.
    async fn held_messages(
        &self,
        sender_id: UserId,
        chat_id: ChatId,
    ) -> StoreResult<Vec<HeldMessage>>;
    /// Drops one of the sender's held messages; `NotFound` when there is no such one (it may
    /// have been delivered already).
    async fn cancel_held(&self, sender_id: UserId, chat_id: ChatId, id: i64) -> StoreResult<()>;
    /// Held messages due at `now`, oldest first, at most `limit`. They stay until
    /// [`Store::forget_held`], so a node that dies while releasing them leaves them to the next.
    async fn due_held(&self, now: Millis, limit: u32) -> StoreResult<Vec<HeldMessage>>;
    async fn forget_held(&self, id: i64) -> StoreResult<()>;

    // --- media ---

    /// The secret named `name`: `candidate` if none was kept yet, so every node shares the
    /// first one made.
    async fn server_key(&self, name: &str, candidate: Vec<u8>) -> StoreResult<Vec<u8>>;
    /// A person's upload needs them in `chat_id` (`NotMember`).
    async fn create_upload(&self, upload: NewUpload, now: Millis) -> StoreResult<UploadRecord>;
    /// An upload not yet expired.
    async fn upload(&self, find: FindUpload, now: Millis) -> StoreResult<Option<UploadRecord>>;
    /// Records a piece of an upload and keeps the upload alive; a piece with the same first
    /// byte is replaced, and its object key returned for deletion.
    async fn put_upload_part(
        &self,
        upload_id: i64,
        part: UploadPart,
        now: Millis,
    ) -> StoreResult<Option<String>>;
    /// The pieces received, by first byte.
    async fn upload_parts(&self, upload_id: i64) -> StoreResult<Vec<UploadPart>>;
    /// Forgets an upload that did not complete, with its pieces; their object keys, for
    /// deletion. A completed upload stays (its file is a blob now).
    async fn forget_upload(&self, upload_id: i64) -> StoreResult<Vec<String>>;
    /// Records the upload's file, taking `payer`'s room, and forgets its pieces. An upload
    /// completes once (`BadRequest` after).
    async fn complete_upload(
        &self,
        upload_id: i64,
        blob: NewBlob,
        payer: Payer,
        now: Millis,
    ) -> StoreResult<BlobRecord>;
    /// The bytes of the files `payer` keeps.
    async fn media_usage(&self, payer: Payer) -> StoreResult<u64>;
    /// Takes the files the org's chats show out of messages sent before `sent_before` (the
    /// collector deletes them once nothing else shows them); how many were taken out.
    async fn expire_media(&self, org_id: OrgId, sent_before: Millis) -> StoreResult<u64>;
    async fn blob(&self, id: i64) -> StoreResult<Option<BlobRecord>>;
    /// The files among `ids` that `chat_id` shows, for one of its members (`NotMember`
    /// otherwise); ids it does not show are left out.
    async fn chat_blobs(
        &self,
        actor: Actor,
        chat_id: ChatId,
        ids: Vec<i64>,
    ) -> StoreResult<Vec<BlobRecord>>;
    /// The file if `user_id` may see it: they uploaded it, or a chat they are in shows it.
    async fn visible_blob(&self, user_id: UserId, id: i64) -> StoreResult<Option<BlobRecord>>;
    /// Up to `limit` uploads that expired at `now` without completing, with their pieces'
    /// object keys; delete the objects, then [`Store::forget_upload`] each.
    async fn expired_uploads(
        &self,
        now: Millis,
        limit: u32,
    ) -> StoreResult<Vec<(i64, Vec<String>)>>;
    /// Up to `limit` files nothing shows (no message, no held message) and nobody attached
    /// since `touched_before`, marked at `now` as being deleted so no send attaches them any
    /// more (nor another node collects them); delete their objects, then
    /// [`Store::forget_blobs`]. Files marked over [`STUCK_COLLECTION_MS`] ago and still there
    /// (their collector died) are taken again.
    async fn collect_blobs(
        &self,
        now: Millis,
        touched_before: Millis,
        limit: u32,
    ) -> StoreResult<Vec<BlobRecord>>;
    /// Forgets collected files, and the uploads that made them.
    async fn forget_blobs(&self, ids: Vec<i64>) -> StoreResult<()>;

    // --- end-to-end encryption (the MLS delivery service) ---

    /// Stores key packages of the actor's session, which the first call registers as an MLS
    /// device with `batch.signature_key` (a later call with another key: `MlsInvalidKeyPackage`).
    /// A last-resort package replaces the one before; more than [`MAX_KEY_PACKAGES`] unused:
    /// `PayloadTooLarge`, nothing stored. A new device puts `mls.changed` in each encrypted chat
    /// of the user, so members add it.
    async fn publish_key_packages(
        &self,
        actor: Actor,
        batch: KeyPackageBatch,
        now: Millis,
    ) -> StoreResult<Outcome<KeyPackageCount>>;
    /// The actor's device's unexpired key packages.
    async fn key_package_count(&self, actor: Actor, now: Millis) -> StoreResult<KeyPackageCount>;
    /// The user's devices, oldest first.
    async fn devices_of(&self, user_id: UserId) -> StoreResult<Vec<DeviceRecord>>;
    /// The chat's group for one of its members: `NotMember`, `NotEncrypted` for community chats.
    async fn mls_group(&self, actor: Actor, chat_id: ChatId) -> StoreResult<GroupView>;
    /// One key package for each device waiting to be added (of `devices`, or all): the oldest
    /// unexpired one, used up, else the device's last-resort one. For members whose device holds
    /// a leaf (or any member while the group has none: `Forbidden` otherwise). A device left
    /// with few hears `mls.key_packages_low`.
    async fn claim_key_packages(
        &self,
        actor: Actor,
        chat_id: ChatId,
        devices: Option<Vec<i64>>,
        now: Millis,
    ) -> StoreResult<Outcome<ClaimedKeyPackages>>;
    /// Stores a commit as the chat's next message, if it is for the group's current generation
    /// and epoch (`MlsEpochConflict` otherwise: another commit won) and does only what the chat
    /// allows (`kolokol_domain::mls::apply_commit`; the committer must be a registered device).
    /// Its Welcome waits for the added devices (`mls.welcome` to their users). A repeated
    /// `client_msg_id` returns the commit first stored (`created == false`).
    async fn commit(
        &self,
        actor: Actor,
        chat_id: ChatId,
        commit: NewCommit,
        now: Millis,
    ) -> StoreResult<Outcome<(Message, bool)>>;
    /// The Welcomes waiting for the actor's device, oldest first.
    async fn welcomes(&self, actor: Actor) -> StoreResult<Vec<WelcomeRecord>>;
    /// The actor's device joined (or gave up): its Welcome is forgotten. `NotFound` for others'.
    async fn forget_welcome(&self, actor: Actor, id: i64) -> StoreResult<()>;
    /// This session stops being the device it was (it lost its state): its key and key packages
    /// go, so it may register a new key; its leaves are then removed and the new device added
    /// (`mls.changed` in each encrypted chat where it held one).
    async fn forget_device(&self, actor: Actor, now: Millis) -> StoreResult<Outcome<()>>;
    /// The franking tag an encrypted message was sent with, while it is not deleted. Callers
    /// authorize.
    async fn franking_tag(&self, chat_id: ChatId, seq: Seq) -> StoreResult<Option<Vec<u8>>>;
}
