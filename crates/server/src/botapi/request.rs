//! Reading Max requests leniently, as real clients send them: a JSON body whatever its
//! `Content-Type` (or none at all), query values where an empty one means absent and arrays
//! are comma-separated.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::BotError;
use crate::state::AppState;

/// A JSON body; an empty body reads as `{}`.
pub struct MaxJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for MaxJson<T> {
    type Rejection = BotError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, BotError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| BotError::payload(rejection.body_text()))?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text)
            .map(MaxJson)
            .map_err(|error| BotError::payload(format!("invalid body: {error}")))
    }
}

/// The query's parameters.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: &str) -> Params {
        Params(serde_urlencoded::from_str(query).unwrap_or_default())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key == name)
    }

    /// The parameter's value, if given and not empty.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// An integer parameter: absent or empty is `None`, anything else must parse.
    pub fn int(&self, name: &str) -> Result<Option<i64>, BotError> {
        self.text(name)
            .map(|value| {
                value
                    .trim()
                    .parse()
                    .map_err(|_| BotError::payload(format!("{name}: an integer is expected")))
            })
            .transpose()
    }

    /// `count`: how many of a list, 1–100 (`default` when absent), as every Max list takes it.
    pub fn count(&self, default: usize) -> Result<usize, BotError> {
        let count = self.int("count")?.unwrap_or(default as i64);
        if !(1..=100).contains(&count) {
            return Err(BotError::payload("count is 1–100"));
        }
        Ok(count as usize)
    }

    /// A comma-separated or repeated list.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = BotError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Params, BotError> {
        Ok(Params::parse(parts.uri.query().unwrap_or_default()))
    }
}
