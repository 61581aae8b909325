//! Error codes: stable, machine-readable, shared by every endpoint and the WebSocket close reasons.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error response: `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// A human-readable explanation in English. Clients show their own text for known codes.
    pub message: String,
    /// For a refused file (a roster): every problem, by line, so all can be fixed at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<LineError>,
}

/// One problem in an uploaded file. Line 1 is the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineError {
    pub line: u64,
    /// What is wrong, for clients to say in their own language; its details sit beside it.
    #[serde(flatten)]
    pub problem: RosterProblem,
    /// The problem in English, for people reading the API or the command line.
    pub message: String,
}

/// What is wrong with one line of a roster file: a stable `problem` code and its details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum RosterProblem {
    /// The first line does not name the columns.
    Header,
    NotUtf8,
    Unreadable,
    BadCsv,
    TooManyRows {
        limit: u64,
    },
    UnknownRole {
        role: String,
    },
    ClassEmpty,
    ClassTooLong {
        limit: u64,
    },
    NameEmpty,
    NameTooLong {
        limit: u64,
    },
    GuardianWithoutChild,
    OnlyGuardiansHaveChild,
    OnlyTeachersHaveSubjects,
    StudentInTwoClasses {
        name: String,
        #[serde(rename = "class")]
        unit: String,
        other_line: u64,
    },
    StudentAndAdult {
        name: String,
        other_line: u64,
    },
    AmbiguousChild {
        child: String,
        #[serde(rename = "class")]
        unit: String,
    },
    ChildNotFound {
        child: String,
        #[serde(rename = "class")]
        unit: String,
    },
    /// A problem this client does not know yet.
    #[serde(other)]
    Other,
}

impl std::fmt::Display for RosterProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use RosterProblem::*;
        match self {
            Header => f.write_str(
                "the first line must name the columns: role,class,name,child,subjects (and optionally id)",
            ),
            NotUtf8 => f.write_str("the file is not UTF-8 text: save it as \"CSV UTF-8\""),
            Unreadable => f.write_str("the file could not be read"),
            BadCsv => f.write_str("this line is not valid CSV"),
            TooManyRows { limit } => write!(f, "a roster may have at most {limit} rows"),
            UnknownRole { role } => write!(
                f,
                "unknown role \"{role}\": use student, guardian, class_teacher or teacher"
            ),
            ClassEmpty => f.write_str("the class is empty"),
            ClassTooLong { limit } => {
                write!(f, "the class name is longer than {limit} characters")
            }
            NameEmpty => f.write_str("the name is empty"),
            NameTooLong { limit } => write!(f, "the name is longer than {limit} characters"),
            GuardianWithoutChild => {
                f.write_str("a guardian needs the child's name in the child column")
            }
            OnlyGuardiansHaveChild => f.write_str("only guardians have a child"),
            OnlyTeachersHaveSubjects => f.write_str("only teachers have subjects"),
            StudentInTwoClasses {
                name,
                unit,
                other_line,
            } => write!(
                f,
                "{name} is already a student in {unit} (line {other_line}); if these are two children, give each an id"
            ),
            StudentAndAdult { name, other_line } => write!(
                f,
                "{name} is a student here and an adult on line {other_line}; if they are two people, give each an id"
            ),
            AmbiguousChild { child, unit } => write!(
                f,
                "two students in {unit} are called {child}: this row cannot tell which is the child"
            ),
            ChildNotFound { child, unit } => write!(f, "{child} is not a student in {unit}"),
            Other => f.write_str("this line has a problem"),
        }
    }
}

/// Stable machine codes. Renaming one is a breaking change of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not valid JSON or does not have the expected shape.
    BadRequest,
    InvalidUsername,
    InvalidPassword,
    InvalidDisplayName,
    InvalidAbout,
    InvalidDeviceName,
    InvalidTitle,
    /// Message text is empty or whitespace only.
    TextEmpty,
    /// Message text is longer than 4000 characters.
    TextTooLong,
    /// Message text holds control characters.
    InvalidText,
    InvalidClientMsgId,
    InvalidEmoji,
    InvalidLimit,
    InvalidCursor,
    InvalidMembers,
    InvalidRole,
    InvalidInvite,
    /// Missing, unknown or revoked session token or ticket.
    Unauthorized,
    /// Username or password is wrong.
    WrongCredentials,
    /// The caller's role does not allow this action.
    Forbidden,
    /// Safeguarding rules keep students apart from those who are not their school's staff,
    /// classmates or own guardians.
    Safeguarding,
    /// A chat admin has muted the caller in this chat for a while.
    Muted,
    /// The caller is not a member of the chat (also returned for chats that do not exist).
    NotMember,
    NotFound,
    UserNotFound,
    MessageNotFound,
    InviteNotFound,
    UsernameTaken,
    AlreadyMember,
    /// The owner must transfer ownership before leaving a chat that still has members.
    OwnerMustTransfer,
    InviteExpired,
    InviteUsedUp,
    /// The action is limited to small chats (for example "read by" lists).
    ChatTooLarge,
    /// The message was deleted and can no longer be changed.
    MessageDeleted,
    /// An organisation's name or time zone is not acceptable.
    InvalidOrg,
    /// A poll has too few or too many options, an empty or repeated one, or a past deadline.
    InvalidPoll,
    /// A vote for an option the poll does not have, or several in a single-choice poll.
    InvalidVote,
    /// A bot's inline keyboard is too large, or a button is empty, too long or links to
    /// something other than an `http(s)` address.
    InvalidKeyboard,
    /// The poll's deadline has passed.
    PollClosed,
    /// A thread can only be under a message that is not itself in a thread.
    InvalidThread,
    /// An org policy is malformed (for example quiet hours not written `HH:MM`).
    InvalidPolicy,
    /// A roster file has errors; `errors` lists them and nothing was imported.
    RosterInvalid,
    /// No such claim code (or it was replaced by a newer one).
    ClaimCodeNotFound,
    ClaimCodeExpired,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// The org's (or, outside an org's chats, your own) room for files is used up.
    QuotaExceeded,
    /// The virus scanner found something in the file; it was set aside, never shown.
    Infected,
    /// The virus scanner could not be reached; uploads wait until it can.
    ScannerUnavailable,
    /// An uploaded file's bytes are not what it is sent as (a PDF as a photo), or an image
    /// cannot be read or is too large to decode.
    InvalidMedia,
    /// An MLS message the server cannot deliver: malformed, another ciphersuite, or of a kind
    /// Kolokol does not use (proposals alone or by reference, encrypted handshakes).
    MlsInvalid,
    /// A key package that is malformed, badly signed, not the caller's device's, or whose
    /// lifetime the server does not accept.
    MlsInvalidKeyPackage,
    /// A commit that adds or removes what the chat does not allow (a non-member's device, a
    /// current member's leaf), or that is not from the caller's own leaf.
    MlsForbidden,
    /// A message for an encrypted chat must be an MLS message (text, polls, threads and files
    /// in clear are refused there).
    EncryptionRequired,
    /// An MLS message or call for a chat that is not encrypted.
    NotEncrypted,
    /// Another commit moved the group to a new epoch first (`epoch` says which): process it,
    /// then commit again.
    MlsEpochConflict,
    /// The message was encrypted in an earlier epoch (`epoch` says the current one).
    MlsEpochStale,
    /// The group still holds someone who must go (they left, or their device was revoked):
    /// commit their removal before sending.
    MlsCommitRequired,
    /// This very MLS message was delivered already.
    MlsReplayed,
    /// A disclosed encrypted message does not match the franking tag it was sent with.
    DisclosureMismatch,
    MethodNotAllowed,
    RateLimited,
    Internal,
}
