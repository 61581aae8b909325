//! REST request and response bodies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ChatId, Millis, Seq, UserId};

/// A user as every other user sees them: public fields only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: UserId,
    /// Null unless the user chose to show it (`show_username`): others see only the display
    /// name. Always present on your own profile (`/me`, register, login).
    pub username: Option<String>,
    pub display_name: String,
    pub about: String,
    /// A bot (docs/BOTS.md), shown with a bot badge; absent for people.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_bot: bool,
}

pub(crate) fn is_false(value: &bool) -> bool {
    !value
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3–32 characters of `a-z 0-9 _ .`; unique regardless of case.
    pub username: String,
    /// 8–256 characters.
    pub password: String,
    /// 1–64 characters.
    pub display_name: String,
    /// A name for this device in the session list ("Firefox on Android"); up to 64 characters.
    #[serde(default)]
    pub device_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub device_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuthResponse {
    pub user: User,
    /// An opaque session token for `Authorization: Bearer <token>`. Shown once; the server keeps
    /// only its SHA-256.
    pub token: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct UpdateProfileRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    /// Up to 500 characters.
    #[serde(default)]
    pub about: Option<String>,
    /// Whether others see your username; by default they see only your display name.
    #[serde(default)]
    pub show_username: Option<bool>,
}

/// Your own profile: your user, with your username, and your privacy choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Profile {
    #[serde(flatten)]
    pub user: User,
    /// Whether others see your username.
    pub show_username: bool,
}

/// `GET /me`: your profile, and what this server lets you do beyond a member's rights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub profile: Profile,
    /// One of the server's administrators (`--admin`): may create organisations.
    #[serde(default)]
    pub instance_admin: bool,
}

impl std::ops::Deref for Me {
    type Target = Profile;

    fn deref(&self) -> &Profile {
        &self.profile
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// One signed-in device. Dates only: the server keeps no times or addresses of use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub id: i64,
    pub device_name: String,
    /// `YYYY-MM-DD`, UTC.
    pub created_on: String,
    /// `YYYY-MM-DD`, UTC.
    pub last_seen_on: String,
    /// True for the session that made this request.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<Session>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RevokedCount {
    pub revoked: u64,
}

/// A one-time ticket for browsers to open the WebSocket (`/api/v1/ws?ticket=…`), since browsers
/// cannot set headers on a WebSocket and a session token must never appear in a URL.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WsTicket {
    pub ticket: String,
    pub expires_in_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    /// Two people. Asking again for the same pair returns the existing chat.
    Direct,
    /// Everyone posts; owner and admins manage.
    Group,
    /// Owner and admins post; members read.
    Channel,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateChatRequest {
    pub kind: ChatKind,
    /// Required for groups and channels (1–128 characters); ignored for direct chats.
    #[serde(default)]
    pub title: Option<String>,
    /// For a direct chat exactly one other user; for groups and channels the initial members.
    #[serde(default)]
    pub member_ids: Option<Vec<UserId>>,
    /// `encrypted` makes an end-to-end encrypted chat (MLS): the server carries only ciphertext,
    /// and no bot can be in it. Fixed for the chat's life. Default `community`.
    #[serde(default)]
    pub privacy: crate::ChatPrivacy,
}

/// A chat as the requesting user sees it: with their role, read position and unread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Chat {
    pub id: ChatId,
    pub kind: ChatKind,
    /// The title of a group or channel; null for direct chats (see `peer`).
    pub title: Option<String>,
    /// The other person of a direct chat.
    pub peer: Option<User>,
    pub role: Role,
    pub member_count: i64,
    /// The seq of the newest message (0 when there is none).
    pub last_seq: Seq,
    /// The caller's read marker: every message up to this seq is read.
    pub read_seq: Seq,
    pub unread_count: i64,
    pub last_message: Option<Message>,
    pub created_at: Millis,
    /// The time of the newest message, or of creation; the chat list is sorted by it, newest first.
    pub last_activity_at: Millis,
    /// Who may post, beyond what the kind allows.
    pub posting: Posting,
    /// Members (not admins) post at most once per this many seconds; 0 is off.
    pub slow_mode_secs: u32,
    /// Until when an admin muted the caller here (ms; it may have passed): they read but cannot
    /// post before then. Null when never muted or unmuted.
    pub muted_until: Option<Millis>,
    /// On a direct chat between a school's staff member and one of its students: the school,
    /// whose safeguarding lead may read the chat. Absent on every other chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safeguarding: Option<SafeguardingNotice>,
    /// Whether the server can read the chat (fixed at creation).
    #[serde(default)]
    pub privacy: crate::ChatPrivacy,
}

/// Who may read a direct chat besides its two members: the school's safeguarding lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SafeguardingNotice {
    pub org_id: OrgId,
    /// The school's name.
    pub org: String,
}

/// Who may post in a chat, as its owner and admins set it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Posting {
    /// Everyone the chat's kind allows (in a channel, its admins).
    #[default]
    Everyone,
    /// Only the owner and admins: announcements only.
    Admins,
    /// Nobody: a read-only archive.
    Nobody,
}

impl Posting {
    pub const ALL: [Posting; 3] = [Posting::Everyone, Posting::Admins, Posting::Nobody];

    pub fn as_str(self) -> &'static str {
        match self {
            Posting::Everyone => "everyone",
            Posting::Admins => "admins",
            Posting::Nobody => "nobody",
        }
    }

    pub fn parse(text: &str) -> Option<Posting> {
        Posting::ALL
            .into_iter()
            .find(|posting| posting.as_str() == text)
    }
}

/// Changes to who may post and how often (`PATCH /chats/{id}/settings`); absent fields stay.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ChatSettingsRequest {
    #[serde(default)]
    pub posting: Option<Posting>,
    /// 0–3600; 0 turns slow mode off.
    #[serde(default)]
    pub slow_mode_secs: Option<u32>,
}

/// Mute a member until a time, or (null) unmute.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MuteRequest {
    pub until: Option<Millis>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatList {
    pub chats: Vec<Chat>,
}

/// The facts about a chat that are the same for every member (carried by events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChatInfo {
    pub id: ChatId,
    pub kind: ChatKind,
    pub title: Option<String>,
    pub member_count: i64,
    #[serde(default)]
    pub posting: Posting,
    #[serde(default)]
    pub slow_mode_secs: u32,
    #[serde(default)]
    pub privacy: crate::ChatPrivacy,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UpdateChatRequest {
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub user: User,
    pub role: Role,
    pub joined_at: Millis,
    /// Staff of a school by its roster. Only the school's admins, who import the roster, can
    /// give this, so nobody can pose as a teacher by name alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffBadge>,
}

/// Who a staff member is at their school.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffBadge {
    pub org_id: OrgId,
    pub org: String,
    /// Their staff places: `{unit, role: class_teacher/teacher, detail: subjects}`.
    pub places: Vec<PlaceView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberList {
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AddMembersRequest {
    pub user_ids: Vec<UserId>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SetRoleRequest {
    /// `admin` or `member`; ownership moves only by transfer.
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferOwnershipRequest {
    pub user_id: UserId,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CreateInviteRequest {
    /// Seconds until the link stops working; none means it never expires.
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
    /// How many people may join with it; none means unlimited.
    #[serde(default)]
    pub max_uses: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Invite {
    pub code: String,
    pub chat_id: ChatId,
    pub created_by: UserId,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
    pub max_uses: Option<u32>,
    pub uses: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InviteList {
    pub invites: Vec<Invite>,
}

/// What someone holding an invite code may see before joining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvitePreview {
    pub code: String,
    pub chat: ChatInfo,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct SendMessageRequest {
    /// Chosen by the client, 1–64 characters of `A-Z a-z 0-9 - _`; resending it returns the
    /// original message instead of a duplicate.
    pub client_msg_id: String,
    /// 1–4000 characters; empty (or absent) with `mls`.
    #[serde(default)]
    pub text: String,
    /// The seq of the message this one answers.
    #[serde(default)]
    pub reply_to: Option<Seq>,
    /// Ask readers to acknowledge it ("Ознакомлен(а)"); only the chat's owner and admins may.
    #[serde(default)]
    pub request_ack: bool,
    /// Deliver now even in quiet hours or to someone who asked not to be disturbed; only an
    /// admin of the chat's org may.
    #[serde(default)]
    pub urgent: bool,
    /// Make the message a poll, its text the question.
    #[serde(default)]
    pub poll: Option<Poll>,
    /// Post it in the thread under this message (which must not itself be in a thread).
    #[serde(default)]
    pub thread_of: Option<Seq>,
    /// Files to show with it, by id (at most 10): your own uploads, or files shown in a chat
    /// you are in. With files, the text may be empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<i64>,
    /// In an encrypted chat, the message itself: an MLS PrivateMessage (application data), its
    /// authenticated data `0x01` followed by the 32-byte franking tag. Nothing else of the
    /// message may be in clear then (no `text`, `reply_to`, `poll`, `thread_of`, `attachments`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mls: Option<crate::Base64Bytes>,
}

/// A message kept back by quiet hours or do-not-disturb (answered with 202): it is delivered,
/// as if sent then, at `release_at`, unless its sender cancels it first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeldMessage {
    pub id: i64,
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub client_msg_id: String,
    pub text: String,
    pub reply_to: Option<Seq>,
    pub request_ack: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<Poll>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_of: Option<Seq>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keyboard: Keyboard,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markup: Vec<Markup>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    pub release_at: Millis,
    /// Why: `quiet_hours` (the org's) or `do_not_disturb` (the recipient's).
    pub reason: HoldReason,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    QuietHours,
    DoNotDisturb,
}

impl HoldReason {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldReason::QuietHours => "quiet_hours",
            HoldReason::DoNotDisturb => "do_not_disturb",
        }
    }

    pub fn parse(text: &str) -> Option<HoldReason> {
        match text {
            "quiet_hours" => Some(HoldReason::QuietHours),
            "do_not_disturb" => Some(HoldReason::DoNotDisturb),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HeldMessageList {
    pub messages: Vec<HeldMessage>,
}

/// The caller's do-not-disturb: direct messages to them wait until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DoNotDisturb {
    /// Null when off.
    pub until: Option<Millis>,
}

/// The messages of a chat that ask for an acknowledgement, and which of them the caller gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AckRequestList {
    pub requests: Vec<AckRequest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AckRequest {
    pub seq: Seq,
    /// The caller has acknowledged it.
    pub acked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reaction {
    pub emoji: String,
    pub user_ids: Vec<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: i64,
    pub chat_id: ChatId,
    pub seq: Seq,
    pub sender_id: UserId,
    pub client_msg_id: String,
    /// Empty for a deleted message.
    pub text: String,
    pub reply_to: Option<Seq>,
    /// Users named as `@username` in the text, resolved when the message was stored.
    pub mentions: Vec<UserId>,
    pub reactions: Vec<Reaction>,
    pub created_at: Millis,
    pub edited_at: Option<Millis>,
    /// A tombstone: the message was deleted for everyone; its seq stays taken.
    pub deleted: bool,
    /// A poll the message carries (its text is the question); results come separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<Poll>,
    /// The seq of the message whose thread this reply is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_of: Option<Seq>,
    /// Rows of buttons under a bot's message (an inline keyboard); empty for people's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keyboard: Keyboard,
    /// Formatting of a bot's text (what its markdown or HTML said); empty for people's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub markup: Vec<Markup>,
    /// Files shown with the message (photos, videos, voice, documents), as they were attached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// In an encrypted chat: the MLS message it is (its text is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mls: Option<crate::MlsPayload>,
}

/// A file in a message, as it was when attached. Its bytes come through signed, expiring links
/// (`POST /api/v1/media/links`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    /// The file's id; links are asked for by it.
    pub id: i64,
    pub kind: AttachmentKind,
    /// The type its bytes were found to be (or re-encoded to), never what the uploader claimed;
    /// `application/octet-stream` for documents, which are only ever downloaded.
    pub mime: String,
    /// Bytes.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// A voice message's loudness, up to 100 values 0–255.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waveform: Vec<u8>,
    /// Whether there is a thumbnail (images).
    #[serde(default)]
    pub thumb: bool,
}

/// Begins an upload into a chat: `POST /api/v1/chats/{chat_id}/uploads`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UploadRequest {
    /// How the file is to be shown; its bytes must fit (`invalid_media`).
    pub kind: AttachmentKind,
    /// The whole file's size in bytes.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A voice message's or video's length, as the client measured it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// A voice message's loudness: up to 100 values 0–255.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waveform: Vec<u8>,
}

/// Where an upload stands: send the bytes from `received` on (`PUT /api/v1/uploads/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UploadState {
    pub id: i64,
    pub size: u64,
    /// Bytes received from the start without a gap.
    pub received: u64,
    pub expires_at: Millis,
    /// The file, once the upload is complete (so a client that lost the last answer finds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

/// Links to files shown in a chat: `POST /api/v1/media/links`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MediaLinksRequest {
    pub chat_id: ChatId,
    /// Attachment ids (at most 100).
    pub ids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MediaLinks {
    /// One per id the chat shows; ids it does not show are left out.
    pub links: Vec<MediaLink>,
}

/// A signed link to a file: it works without a session token (so `<img>` and `<audio>` load
/// it), with HTTP ranges, until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MediaLink {
    pub id: i64,
    pub url: String,
    /// An image's thumbnail (at most 320 pixels a side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_url: Option<String>,
    pub expires_at: Millis,
}

/// How a file is shown: its bytes decide which kinds it may be (a PDF is only ever a file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Image,
    Video,
    Audio,
    Voice,
    File,
}

impl AttachmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Image => "image",
            AttachmentKind::Video => "video",
            AttachmentKind::Audio => "audio",
            AttachmentKind::Voice => "voice",
            AttachmentKind::File => "file",
        }
    }

    pub fn parse(text: &str) -> Option<AttachmentKind> {
        Some(match text {
            "image" => AttachmentKind::Image,
            "video" => AttachmentKind::Video,
            "audio" => AttachmentKind::Audio,
            "voice" => AttachmentKind::Voice,
            "file" => AttachmentKind::File,
            _ => return None,
        })
    }
}

/// A span of formatting in a message's text, as the Max Bot API writes it: `from` and `length`
/// count UTF-16 code units (as Max and browsers count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Markup {
    #[serde(rename = "type")]
    pub kind: MarkupKind,
    pub from: u32,
    pub length: u32,
    /// The address of a `link`: `http` or `https` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Who a `user_mention` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarkupKind {
    Strong,
    Emphasized,
    Monospaced,
    Link,
    Strikethrough,
    Underline,
    UserMention,
    Heading,
    Highlighted,
}

/// Rows of buttons, top to bottom.
pub type Keyboard = Vec<Vec<Button>>;

/// A button of a bot's inline keyboard, in the Max Bot API's own shapes (bots send them as they
/// would to Max). Kolokol acts on `callback`, `link`, `message` and `clipboard`; the others ask
/// for what Kolokol never hands to bots (a phone number, a location) or cannot open yet (a
/// mini-app), so clients show them disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Button {
    /// Tells the bot: `POST /chats/{chat_id}/messages/{seq}/callback {payload}`.
    Callback {
        text: String,
        payload: String,
    },
    /// Opens an `http(s)` address.
    Link {
        text: String,
        url: String,
    },
    /// Sends its text into the chat as the person who pressed it.
    Message {
        text: String,
    },
    /// Copies `payload` to the clipboard.
    Clipboard {
        text: String,
        payload: String,
    },
    RequestContact {
        text: String,
    },
    RequestGeoLocation {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quick: Option<bool>,
    },
    OpenApp {
        text: String,
        web_app: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payload: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact_id: Option<i64>,
    },
    /// Makes a group for the message (`POST /chats/{chat_id}/messages/{seq}/chat-button`): the
    /// first to press owns it, the bot is its admin, later pressers join it.
    Chat {
        text: String,
        chat_title: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chat_description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_payload: Option<String>,
        /// Which chat the button stands for; a new one makes a new chat.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uuid: Option<i64>,
    },
}

impl Button {
    pub fn text(&self) -> &str {
        match self {
            Button::Callback { text, .. }
            | Button::Link { text, .. }
            | Button::Message { text }
            | Button::Clipboard { text, .. }
            | Button::RequestContact { text }
            | Button::RequestGeoLocation { text, .. }
            | Button::OpenApp { text, .. }
            | Button::Chat { text, .. } => text,
        }
    }
}

/// Pressing a `chat` button: the button's place in the keyboard.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatButtonRequest {
    pub row: usize,
    pub column: usize,
}

/// Pressing a callback button.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PressButtonRequest {
    /// The button's payload.
    pub payload: String,
}

/// The message pinned at the top of a chat (`PUT`, and `GET` answers, this shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pin {
    /// Null when nothing is pinned (or, in a `PUT`, to take the pin down).
    pub seq: Option<Seq>,
}

/// A thread under a message: how many replies, and the latest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ThreadSummary {
    /// The seq of the message the thread is under.
    pub root: Seq,
    pub replies: u32,
    pub last_seq: Seq,
    pub last_at: Millis,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ThreadList {
    pub threads: Vec<ThreadSummary>,
}

/// A poll: its options and how it is answered. Fixed once sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Poll {
    /// 2–10 different options of 1–100 characters.
    pub options: Vec<String>,
    /// Voters may pick several options.
    #[serde(default)]
    pub multiple: bool,
    /// Nobody (members, admins, the author) sees who voted for what.
    #[serde(default)]
    pub anonymous: bool,
    /// Votes are taken until then; none means no deadline.
    #[serde(default)]
    pub closes_at: Option<Millis>,
}

/// A poll's votes as every member sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PollTally {
    /// Votes per option, in the poll's order.
    pub counts: Vec<u32>,
    /// Members who voted.
    pub voters: u32,
    /// Who voted for each option; none for anonymous polls.
    pub voter_ids: Option<Vec<Vec<UserId>>>,
}

/// A poll's results for the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PollResults {
    pub seq: Seq,
    pub tally: PollTally,
    /// The options the caller chose.
    pub mine: Vec<u32>,
    /// Past its deadline: no more votes.
    pub closed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PollResultsList {
    pub polls: Vec<PollResults>,
}

/// The caller's answer: option indexes (one for a single-choice poll); empty takes it back.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VoteRequest {
    pub options: Vec<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessageList {
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EditMessageRequest {
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReactionRequest {
    /// One emoji (up to 16 characters, no letters or digits).
    pub emoji: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReactionResult {
    /// True when the reaction was added, false when this call removed it.
    pub added: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MarkReadRequest {
    /// Every message up to this seq is read. Markers never move back.
    pub seq: Seq,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReadBy {
    /// Members other than the sender whose read marker has reached the message.
    pub user_ids: Vec<UserId>,
}

// --- organisations -----------------------------------------------------------------------------

pub type OrgId = i64;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateOrgRequest {
    /// The school's or organisation's name, as members will see it.
    pub name: String,
    /// IANA time zone for quiet hours. [default: Europe/Moscow]
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// An organisation as one of its people sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrgInfo {
    pub id: OrgId,
    pub name: String,
    pub time_zone: String,
    /// The caller's org-wide roles: `admin`, `safeguarding_lead`.
    pub roles: Vec<String>,
    pub policy: OrgPolicy,
}

/// An org's rules, set by its admins (`PUT /orgs/{id}/policy`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrgPolicy {
    /// When staff and families do not reach each other; none by default.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// Whom students may reach, and who may reach them, besides the school's staff and their
    /// own guardians.
    #[serde(default)]
    pub student_contacts: StudentContacts,
    /// The bots the org approved: only these may be added to its chats, and its students may
    /// open only these. Managed at `/orgs/{id}/bots`; `PUT /orgs/{id}/policy` keeps it.
    #[serde(default)]
    pub allowed_bots: Vec<UserId>,
    /// Room for the files sent in the org's chats, in MiB; none: the server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_quota_mb: Option<u64>,
    /// Files sent in the org's chats are deleted this many days after they were sent (the
    /// messages stay, saying the file is gone); none: kept while the messages are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_retention_days: Option<u32>,
    /// Which of the chats the org provisions are end-to-end encrypted when they are made:
    /// `parents`, `class`, `staff_room`, `announcements` (none by default: the school's staff
    /// and safeguarding lead read them). A chat's privacy never changes once made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encrypted_chats: Vec<String>,
}

/// How far a school lets its students reach (and be reached) beyond its staff and their own
/// guardians.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StudentContacts {
    /// Looser than the default: classmates also write to each other directly and add each
    /// other to groups; of the staff, students reach their class's teachers.
    Class,
    /// The default: no other student reaches a student directly (classmates talk in their class
    /// chat); only the school's staff start direct chats with students, and students reach their
    /// class's teachers.
    #[default]
    Staff,
    /// Looser: every student and all staff of the school.
    School,
}

impl StudentContacts {
    pub fn as_str(self) -> &'static str {
        match self {
            StudentContacts::Class => "class",
            StudentContacts::Staff => "staff",
            StudentContacts::School => "school",
        }
    }
}

/// A daily quiet window in the org's time zone, e.g. 19:00–08:00 (it may cross midnight):
/// messages from staff to families, and direct messages from families to staff, sent in it are
/// held until it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuietHours {
    /// `HH:MM`, local time.
    pub start: String,
    /// `HH:MM`, local time; differs from `start`.
    pub end: String,
    /// Saturdays and Sundays are quiet all day too.
    #[serde(default)]
    pub weekends: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrgList {
    pub orgs: Vec<OrgInfo>,
}

/// What a roster import changed (or, for a dry run, would change), by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RosterReport {
    pub dry_run: bool,
    pub units_added: Vec<String>,
    pub units_archived: Vec<String>,
    pub people_added: Vec<String>,
    pub people_archived: Vec<String>,
    /// People whose classes or roles changed.
    pub people_changed: Vec<String>,
    /// Chats created for new classes (and, on the first import, the org's own).
    pub chats_created: u32,
    /// Accounts added to or removed from the org's chats to match the roster.
    pub members_added: u32,
    pub members_removed: u32,
}

/// The roster as org admins see it: each class with its people and chats.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RosterView {
    pub units: Vec<UnitView>,
    /// The org's own chats (announcements, staff room).
    pub chats: Vec<OrgChatView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnitView {
    pub id: i64,
    pub name: String,
    pub archived: bool,
    pub people: Vec<RosterEntry>,
    /// Each student's family: reached when one of the guardians has joined. Families not
    /// reached are the ones to phone.
    pub families: Vec<FamilyView>,
    pub chats: Vec<OrgChatView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FamilyView {
    pub student_person_id: i64,
    pub student: String,
    /// The guardians the roster names for this student in this class, with whether each joined.
    pub guardians: Vec<FamilyMember>,
    pub reached: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FamilyMember {
    pub name: String,
    pub claimed: bool,
}

/// One place of one person in a class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RosterEntry {
    pub person_id: i64,
    pub name: String,
    /// `student`, `guardian`, `class_teacher` or `teacher`.
    pub role: String,
    /// A guardian's child; a teacher's subjects.
    pub detail: String,
    /// Whether an account has claimed this person.
    pub claimed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrgChatView {
    /// `parents`, `class`, `announcements` or `staff_room`.
    pub purpose: String,
    pub chat_id: ChatId,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct IssueClaimCodesRequest {
    /// Only these people; otherwise everyone of the roster (of `unit_id`, if given).
    #[serde(default)]
    pub person_ids: Option<Vec<i64>>,
    #[serde(default)]
    pub unit_id: Option<i64>,
    /// Also give new codes to people who have already claimed (to move them to a new account).
    #[serde(default)]
    pub include_claimed: bool,
}

/// Codes are shown once, here: the server keeps only their hashes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClaimCodeList {
    pub expires_at: Millis,
    pub codes: Vec<ClaimCodeEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClaimCodeEntry {
    pub person_id: i64,
    pub name: String,
    /// The classes and roles the code gives, e.g. "5Б guardian of Иванов Артём Сергеевич".
    pub places: Vec<PlaceView>,
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlaceView {
    pub unit: String,
    pub role: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClaimRequest {
    pub code: String,
}

/// The org and person an account became by a claim code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClaimResult {
    pub org: OrgInfo,
    pub person_name: String,
}

/// Who has read a message, for the chat's admins: members, and in a school's chats each family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MessageReach {
    pub seq: Seq,
    /// Members other than the sender (and the org's service account).
    pub members: u32,
    /// How many of them have read it.
    pub read: u32,
    /// Whether the message asks for an acknowledgement, and how many members gave one.
    pub ack_requested: bool,
    pub acked: u32,
    /// When a reminder last went to those who had not read it.
    pub reminded_at: Option<Millis>,
    /// The families of the classes the chat serves (a class's parents' chat, the announcement
    /// channel), by class and student; empty for other chats.
    pub families: Vec<FamilyRead>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FamilyRead {
    pub unit: String,
    pub student: String,
    pub guardians: Vec<GuardianRead>,
    /// One of the guardians has read it.
    pub read: bool,
    /// One of the guardians has acknowledged it.
    pub acked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GuardianRead {
    pub name: String,
    /// Has claimed their place (and so is in the chat).
    pub joined: bool,
    pub read: bool,
    pub acked: bool,
}

/// Who was reminded of a message: the members who had not read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReminderSent {
    pub reminded: u32,
}

/// Why a member reports a message to the chat's organisation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportRequest {
    /// 1–500 characters.
    pub reason: String,
    /// For a message of an encrypted chat: its content as the reporter's device decrypted it
    /// (base64). The server checks it against the franking tag the sender's message carried, so
    /// only that one message is disclosed, and only as it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<crate::Base64Bytes>,
}

/// A reported message in an org's moderation queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Report {
    pub id: i64,
    pub chat_id: ChatId,
    pub seq: Seq,
    pub reporter_id: UserId,
    pub author_id: UserId,
    /// The message as it was when reported.
    pub text: String,
    pub reason: String,
    pub created_at: Millis,
    /// `dismissed` or `message_deleted` once an admin has dealt with it.
    pub resolution: Option<String>,
    pub resolved_by: Option<UserId>,
    pub resolved_at: Option<Millis>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportList {
    pub reports: Vec<Report>,
}

/// What an org admin does with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportAction {
    /// Nothing wrong: close it.
    Dismiss,
    /// Delete the message for everyone, then close it.
    DeleteMessage,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResolveReportRequest {
    pub action: ReportAction,
}

/// One admin or moderation action in an org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub actor_id: UserId,
    /// e.g. `roster.imported`, `policy.set`, `report.resolved`, `message.deleted`.
    pub action: String,
    /// What it was done to, by ids (never message text).
    pub detail: String,
    pub at: Millis,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditLog {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
}

/// A year-end rollover (`POST /orgs/{id}/rollover`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RolloverRequest {
    /// The grade that leaves the school. [default: 11]
    #[serde(default)]
    pub final_grade: Option<u32>,
    /// Report what would change, without changing anything.
    #[serde(default)]
    pub dry_run: bool,
}

/// A class's name before and after a rollover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnitMove {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RolloverReport {
    pub dry_run: bool,
    /// Classes that move up a grade, with their chats.
    pub moves: Vec<UnitMove>,
    /// Classes that leave: archived, their chats read-only.
    pub leavers: Vec<UnitMove>,
    /// Classes whose names carry no grade, left as they are.
    pub untouched: Vec<String>,
}

/// Give someone an org-wide role (`POST /orgs/{id}/roles`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GrantRoleRequest {
    pub username: String,
    /// `admin` or `safeguarding_lead`.
    pub role: String,
}

/// Who holds an org-wide role (`GET /orgs/{id}/roles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrgRoleHolder {
    pub user: User,
    /// `admin` or `safeguarding_lead`.
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrgRoleList {
    /// Admins first, then safeguarding leads.
    pub roles: Vec<OrgRoleHolder>,
}

/// A direct chat between a member of staff and a student, for the safeguarding lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReviewedChat {
    pub chat_id: ChatId,
    pub staff_id: UserId,
    /// As on the roster.
    pub staff_name: String,
    pub student_id: UserId,
    pub student_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReviewedChatList {
    pub chats: Vec<ReviewedChat>,
}

/// Create a bot (`POST /bots`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateBotRequest {
    /// 3–32 characters of `a-z 0-9 _ .`, like every username.
    pub username: String,
    /// Its display name, 1–64 characters.
    pub name: String,
}

/// A bot as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BotView {
    pub id: UserId,
    pub username: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// As the bot set them: `[{name, description?}]`.
    #[serde(default)]
    pub commands: Vec<BotCommand>,
    /// Where the bot's mini-app is, if it has one.
    #[serde(default)]
    pub web_app_url: Option<String>,
}

/// `PATCH /bots/{bot_id}`: the bot's mini-app address (`null` removes it).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UpdateBotRequest {
    pub web_app_url: Option<String>,
}

/// Opening a bot's mini-app: from a chat the bot is in (else the bot's dialog with you), with
/// the launch payload of the button or link.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct OpenWebAppRequest {
    #[serde(default)]
    pub chat_id: Option<ChatId>,
    /// Up to 512 characters.
    #[serde(default)]
    pub start_param: Option<String>,
}

/// Where the mini-app is, and what it is told: open `url#WebAppData=<init_data>`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebAppLaunch {
    pub url: String,
    /// Signed, URL-encoded: `query_id`, `auth_date`, `user`, `start_param`, `hash`; the bot
    /// checks it with its token (docs/BOTS.md).
    pub init_data: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BotCommand {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A new bot and its token, shown only this once (the server keeps its hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedBot {
    pub bot: BotView,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BotToken {
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BotList {
    pub bots: Vec<BotView>,
}

/// A command a bot in the chat offers (`GET /chats/{id}/commands`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChatCommand {
    pub bot_id: UserId,
    /// The bot's username, for "/command@bot" when several bots offer the same command.
    pub bot: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatCommandList {
    pub commands: Vec<ChatCommand>,
}

/// Open a bot's chat (`/bot/<username>?start=<payload>`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct StartBotRequest {
    /// Up to 512 characters, handed to the bot as `bot_started.payload`.
    #[serde(default)]
    pub payload: Option<String>,
}
