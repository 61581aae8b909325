//! Media for people and bots: one pipeline receives every upload ([`receive`]), files are read
//! back through signed, expiring links ([`routes`]). Bytes go to the object store, facts to the
//! database; a file's type comes from its bytes, and images are re-encoded so no EXIF or GPS
//! survives.

pub mod receive;
pub mod routes;
pub mod sweep;

use std::sync::Arc;

use kolokol_media::clamd::Scanner;
use kolokol_media::image::ImageLimits;
use kolokol_media::{MediaStore, Signer, Variant};
use kolokol_proto::{ChatId, UserId};
use kolokol_proto::{ErrorCode, MediaLink};
use kolokol_store::{Payer, Store};
use rand::RngCore;

use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long links given to people work: long enough to scroll a chat, short enough that a
/// leaked link soon stops working.
pub const PERSON_LINK_SECS: i64 = 60 * 60;
/// Bots get a day: they often fetch files later, as Max's own links allow.
pub const BOT_LINK_SECS: i64 = 24 * 60 * 60;
/// Infected uploads are kept this long in `quarantine/`, for an administrator to look at.
pub const QUARANTINE_MS: i64 = 30 * 86_400_000;
/// Link expiries fall on multiples of this.
const LINK_STEP_SECS: i64 = 10 * 60;

pub struct Media {
    pub store: MediaStore,
    pub signer: Signer,
    /// Largest file accepted.
    pub max_bytes: u64,
    /// Largest image accepted: images are decoded in memory.
    pub image_max_bytes: u64,
    pub image_limits: ImageLimits,
    /// Image decodes at once: each may take a few hundred MB.
    decoding: tokio::sync::Semaphore,
    /// Scans every upload, when set.
    pub scanner: Option<Scanner>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media").finish_non_exhaustive()
    }
}

impl Media {
    /// Opens the store the settings name, with the signing key every node shares.
    pub async fn open(settings: &Settings, store: &dyn Store) -> anyhow::Result<Arc<Media>> {
        let location = settings.media_location();
        let media_store = MediaStore::open(&location)?;
        let mut candidate = vec![0u8; 32];
        rand::rng().fill_bytes(&mut candidate);
        let key = store.server_key("media", candidate).await?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| anyhow::anyhow!("the stored media key is not 32 bytes"))?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Arc::new(Media {
            store: media_store,
            signer: Signer::new(key),
            max_bytes: settings.media_max_bytes,
            image_max_bytes: settings.media_image_max_bytes,
            image_limits: ImageLimits::default(),
            decoding: tokio::sync::Semaphore::new((cores / 2).max(1)),
            scanner: settings.clamd.clone().map(Scanner::new),
        }))
    }

    /// A link to file `id` (and its thumbnail, if it has one) that works for `lifetime_s`;
    /// absolute when `base` is given.
    pub fn link(
        &self,
        base: &str,
        id: i64,
        thumb: bool,
        now_ms: i64,
        lifetime_s: i64,
    ) -> MediaLink {
        // Rounded up to a step, so a file asked for again soon has the same address and comes
        // from the browser's cache (parents on metered data).
        let earliest = now_ms / 1000 + lifetime_s;
        let expires_s =
            earliest + (LINK_STEP_SECS - earliest.rem_euclid(LINK_STEP_SECS)) % LINK_STEP_SECS;
        let url = |variant| {
            let query = self.signer.link_query(id, variant, expires_s);
            format!("{base}/api/v1/media/{id}?{query}")
        };
        MediaLink {
            id,
            url: url(Variant::Original),
            thumb_url: thumb.then(|| url(Variant::Thumbnail)),
            expires_at: expires_s * 1000,
        }
    }
}

/// Whose room a file in `chat_id` (or, with none, of `uploader`) takes: the org that keeps the
/// chat, or the uploader.
pub async fn payer(
    state: &AppState,
    chat_id: Option<ChatId>,
    uploader: UserId,
) -> ApiResult<Payer> {
    if let Some(chat_id) = chat_id
        && let Some((org_id, _)) = state.store.org_of_chat(chat_id).await?
    {
        return Ok(Payer::Org(org_id));
    }
    Ok(Payer::User(uploader))
}

/// Refuses `size` more bytes when they would not fit in `payer`'s room.
pub async fn check_room(state: &AppState, payer: Payer, size: u64) -> ApiResult<()> {
    let settings = &state.settings;
    let quota = match payer {
        Payer::Org(org_id) => state
            .store
            .org(org_id)
            .await?
            .and_then(|org| org.policy.media_quota_mb)
            .map_or(settings.media_org_quota_bytes, |mb| mb << 20),
        Payer::User(_) => settings.media_user_quota_bytes,
    };
    let used = state.store.media_usage(payer).await?;
    if used.saturating_add(size) > quota {
        let whose = match payer {
            Payer::Org(_) => "the organisation's",
            Payer::User(_) => "your",
        };
        return Err(ApiError::new(
            ErrorCode::QuotaExceeded,
            format!("{whose} room for files ({} MiB) is used up", quota >> 20),
        ));
    }
    Ok(())
}

impl From<kolokol_media::StoreError> for ApiError {
    fn from(error: kolokol_media::StoreError) -> Self {
        tracing::error!(%error, "media storage failure");
        ApiError::new(ErrorCode::Internal, "internal error")
    }
}
