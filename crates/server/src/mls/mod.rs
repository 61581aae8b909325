//! End-to-end encrypted chats: the server as MLS's delivery service. It checks what it can see
//! (framing, key packages' signatures, who a commit adds and removes) and never holds a key that
//! decrypts a chat.

pub mod check;
pub mod routes;

use kolokol_proto::{ChatKind, ErrorCode, UserId};

use crate::error::{ApiError, ApiResult};
use crate::safeguarding::reviewing_org;
use crate::state::AppState;

/// Who may be in an end-to-end encrypted chat: no bot (it could not read it, and would leak it
/// if it could), and no school's staff member alone with one of its students, whose chats the
/// school's safeguarding lead must be able to read.
pub async fn check_encrypted_chat(
    state: &AppState,
    creator: UserId,
    kind: ChatKind,
    member_ids: &[UserId],
) -> ApiResult<()> {
    for &user_id in member_ids {
        if state.store.bot(user_id).await?.is_some() {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "bots cannot be in end-to-end encrypted chats",
            ));
        }
    }
    if let (ChatKind::Direct, &[peer]) = (kind, member_ids) {
        let places = state.store.places_of_users(vec![creator, peer]).await?;
        let (mine, theirs): (Vec<_>, Vec<_>) = places
            .into_iter()
            .partition(|place| place.user_id == creator);
        if reviewing_org(&mine, &theirs).is_some() {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "a school's staff and its students talk in chats the school can review, not encrypted ones",
            ));
        }
    }
    Ok(())
}
