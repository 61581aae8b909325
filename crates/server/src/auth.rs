//! Tokens, passwords, the authenticated-caller extractor and in-memory rate limits.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kolokol_proto::ErrorCode;
use kolokol_store::Actor;
use parking_lot::Mutex;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::botapi::BOT_TOKEN_PREFIX;
use crate::error::ApiError;
use crate::state::AppState;

/// A fresh opaque secret: 32 random bytes, base64url, with a prefix saying what it is.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database keeps instead of a token.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Argon2id needs 19 MiB per hash by design. Without a bound, a burst of sign-ins would run
/// hundreds at once on the blocking pool (gigabytes of memory); with one, they queue. (That the
/// memory goes back to the system afterwards is the binary's allocator setting, see main.rs.)
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// Runs one Argon2 computation on the blocking pool, at most one per core at a time.
async fn on_hashing_thread<R: Send + 'static>(
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<R, ApiError> {
    let failed = || ApiError::new(ErrorCode::Internal, "internal error");
    let _permit = hashing_permits().acquire().await.map_err(|_| failed())?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| failed())
}

/// Argon2id with the crate's recommended parameters, off the async threads.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    on_hashing_thread(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
    })
    .await?
    .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))
}

/// Checks a password against a stored hash. With no hash (unknown user) it still does the work
/// on a dummy, so response time does not reveal which usernames exist.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    on_hashing_thread(move || {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            Argon2::default()
                .hash_password(b"not a password", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| dummy.clone());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

/// The bearer token of a request, if it carries a person's: a bot's token works only at the
/// bot API (`/bot-api/`), so a leaked bot token cannot act as a person there or here.
pub fn bearer(parts: &Parts) -> Option<&str> {
    person_bearer(parts).filter(|token| !token.starts_with(BOT_TOKEN_PREFIX))
}

fn person_bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    // The scheme name is case-insensitive (RFC 9110).
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The caller, authenticated by `Authorization: Bearer <token>`.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        let actor = authenticate(state, hash_secret(token)).await?;
        Ok(Caller(actor))
    }
}

/// The session of a token hash: from this node's cache, or from the store (which also records
/// the day of use, so the cache asks it again on a new day).
pub async fn authenticate(state: &AppState, token_hash: [u8; 32]) -> Result<Actor, ApiError> {
    let now = state.now();
    let today = now.div_euclid(86_400_000);
    if let Some(actor) = state.sessions.get(&token_hash, today) {
        return Ok(actor);
    }
    let actor = state
        .store
        .authenticate(token_hash, now)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    state.sessions.insert(token_hash, actor, today);
    Ok(actor)
}

/// Live sessions this node has seen, so most requests skip the database. An entry goes when its
/// session is revoked (through [`SessionCache::forget`], called for every published
/// `session.revoked`, on every node) or when the day changes.
#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<[u8; 32], (Actor, i64)>>,
}

/// Entries beyond this many are dropped wholesale and refilled on demand.
const MAX_CACHED_SESSIONS: usize = 200_000;

impl SessionCache {
    fn get(&self, token_hash: &[u8; 32], today: i64) -> Option<Actor> {
        let entries = self.entries.lock();
        let (actor, day) = entries.get(token_hash)?;
        (*day == today).then_some(*actor)
    }

    fn insert(&self, token_hash: [u8; 32], actor: Actor, today: i64) {
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_CACHED_SESSIONS {
            entries.clear();
        }
        entries.insert(token_hash, (actor, today));
    }

    pub fn forget(&self, session_id: i64) {
        self.entries
            .lock()
            .retain(|_, (actor, _)| actor.session_id != session_id);
    }

    pub fn clear(&self) {
        self.entries.lock().clear();
    }
}

/// A keyed rate limiter (generic cell rate algorithm) held in memory only. Keys are kept as
/// hashes of what is limited (a client address, a username): the addresses never reach the disk
/// or the logs, and the hash is what nodes tell each other (see [`crate::state::Limits`]).
pub struct RateLimiter {
    interval: Duration,
    burst: Duration,
    next_free: Mutex<HashMap<LimitKey, Instant>>,
}

pub type LimitKey = [u8; 16];

/// The key under which `what` is limited.
pub fn limit_key(what: &str) -> LimitKey {
    let digest = Sha256::digest(what.as_bytes());
    digest[..16]
        .try_into()
        .expect("SHA-256 is longer than 16 bytes")
}

impl RateLimiter {
    /// `count` requests per `period`, all of which may come at once.
    pub fn new(count: u32, period: Duration) -> RateLimiter {
        let interval = period / count.max(1);
        RateLimiter {
            interval,
            burst: interval * count.max(1),
            next_free: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s allowance, or refuses with `rate_limited`.
    pub fn check(&self, key: LimitKey) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut map = self.entries(now);
        let at = map.get(&key).copied().unwrap_or(now).max(now);
        if at + self.interval > now + self.burst {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                "too many attempts, try again later",
            ));
        }
        map.insert(key, at + self.interval);
        Ok(())
    }

    /// Takes one request that another node let through: never refuses, never overdraws.
    pub fn charge(&self, key: LimitKey) {
        let now = Instant::now();
        let mut map = self.entries(now);
        let at = map.get(&key).copied().unwrap_or(now).max(now);
        map.insert(key, (at + self.interval).min(now + self.burst));
    }

    fn entries(&self, now: Instant) -> parking_lot::MutexGuard<'_, HashMap<LimitKey, Instant>> {
        let mut map = self.next_free.lock();
        if map.len() > 100_000 {
            map.retain(|_, at| *at > now);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_allows_the_burst_then_refuses_per_key() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            limiter.check(limit_key("a")).unwrap();
        }
        assert!(limiter.check(limit_key("a")).is_err());
        limiter.check(limit_key("b")).unwrap();
    }

    #[test]
    fn charges_from_other_nodes_use_up_the_allowance() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..10 {
            limiter.charge(limit_key("a"));
        }
        assert!(limiter.check(limit_key("a")).is_err());
        limiter.charge(limit_key("b"));
        limiter.check(limit_key("b")).unwrap();
        limiter.check(limit_key("b")).unwrap();
        assert!(limiter.check(limit_key("b")).is_err());
    }

    #[test]
    fn secrets_are_random_and_hashes_stable() {
        let (a, b) = (new_secret("kk_"), new_secret("kk_"));
        assert_ne!(a, b);
        assert!(a.starts_with("kk_"));
        assert_eq!(hash_secret(&a), hash_secret(&a));
    }
}
