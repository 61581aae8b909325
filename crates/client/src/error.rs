//! The one error type of the SDK.

use kolokol_proto::{ErrorBody, ErrorCode};

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused the request with an error status and a well-formed [`ErrorBody`].
    /// Also returned when the server refuses a WebSocket handshake.
    #[error("HTTP {status}: {:?}: {}", body.code, body.message)]
    Api { status: u16, body: ErrorBody },
    /// The request did not get a response: connection refused, reset, timed out…
    #[error("HTTP transport: {0}")]
    Http(#[from] reqwest::Error),
    /// The response does not follow the protocol: an unexpected status, a body that does not
    /// parse, an error without an [`ErrorBody`], or a WebSocket frame that is not a `ServerFrame`.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// The WebSocket failed outside the protocol (handshake, I/O, framing).
    #[error("WebSocket: {0}")]
    WebSocket(String),
    /// The server closed the WebSocket; see `kolokol_proto::event::close_code` for the codes.
    #[error("WebSocket closed by the server: {code} {reason}")]
    Closed { code: u16, reason: String },
}

impl ClientError {
    /// The API error code, if the server answered with one:
    /// `assert_eq!(err.code(), Some(ErrorCode::Forbidden))`.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { body, .. } => Some(body.code),
            _ => None,
        }
    }

    /// The HTTP status of an [`Api`](Self::Api) error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Turns an error response into [`Api`](Self::Api), or into [`Decode`](Self::Decode) when
    /// its body is not an [`ErrorBody`].
    pub(crate) fn from_response(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice(body) {
            Ok(body) => Self::Api { status, body },
            Err(_) => Self::Decode(format!(
                "HTTP {status} without an error body: {}",
                String::from_utf8_lossy(body)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_keep_their_code_and_status() {
        let err = ClientError::from_response(403, br#"{"code":"forbidden","message":"no"}"#);
        assert_eq!(err.code(), Some(ErrorCode::Forbidden));
        assert_eq!(err.status(), Some(403));

        let err = ClientError::from_response(502, b"Bad Gateway");
        assert_eq!(err.code(), None);
        assert!(err.to_string().contains("502"), "{err}");
        assert!(err.to_string().contains("Bad Gateway"), "{err}");
    }
}
