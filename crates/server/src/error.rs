//! The one place where errors become HTTP responses: `{"code", "message"}` with a status chosen
//! by the code. Internal failures are logged here and reported without details.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kolokol_domain::Rejection;
use kolokol_proto::{ErrorBody, ErrorCode, LineError};
use kolokol_store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub errors: Vec<LineError>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    /// A refused file, with each of its problems.
    pub fn with_lines(mut self, errors: Vec<LineError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn unauthorized() -> Self {
        ApiError::new(ErrorCode::Unauthorized, "a valid session token is required")
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        BadRequest | InvalidUsername | InvalidPassword | InvalidDisplayName | InvalidAbout
        | InvalidDeviceName | InvalidTitle | TextEmpty | TextTooLong | InvalidText
        | InvalidClientMsgId | InvalidEmoji | InvalidLimit | InvalidCursor | InvalidMembers
        | InvalidRole | InvalidInvite | InvalidOrg | InvalidPolicy | InvalidPoll | InvalidVote
        | InvalidKeyboard | InvalidThread | RosterInvalid | InvalidMedia | MlsInvalid
        | MlsInvalidKeyPackage | EncryptionRequired | NotEncrypted | DisclosureMismatch => {
            StatusCode::BAD_REQUEST
        }
        Unauthorized | WrongCredentials => StatusCode::UNAUTHORIZED,
        Forbidden | NotMember | Safeguarding | Muted | MlsForbidden => StatusCode::FORBIDDEN,
        NotFound | UserNotFound | MessageNotFound | InviteNotFound | ClaimCodeNotFound => {
            StatusCode::NOT_FOUND
        }
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        UsernameTaken | AlreadyMember | OwnerMustTransfer | MessageDeleted | PollClosed
        | MlsEpochConflict | MlsEpochStale | MlsCommitRequired | MlsReplayed => {
            StatusCode::CONFLICT
        }
        InviteExpired | InviteUsedUp | ClaimCodeExpired => StatusCode::GONE,
        PayloadTooLarge | QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ChatTooLarge | Infected => StatusCode::UNPROCESSABLE_ENTITY,
        ScannerUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: self.message,
            errors: self.errors,
        };
        (status_of(self.code), axum::Json(body)).into_response()
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        ApiError::new(rejection.code, rejection.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Rejected(rejection) => rejection.into(),
            StoreError::Backend(detail) => {
                tracing::error!(%detail, "storage failure");
                ApiError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            _ => ErrorCode::BadRequest,
        };
        ApiError::new(code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::new(ErrorCode::BadRequest, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(ErrorCode::BadRequest, rejection.body_text())
    }
}

/// `axum::Json` whose rejections are our JSON errors.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` whose rejections are our JSON errors.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// `axum::extract::Query` whose rejections are our JSON errors.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);
