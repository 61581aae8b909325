//! When an invite link admits someone.

use kolokol_proto::{ErrorCode, Invite, Millis};

use crate::{Rejection, reject};

/// The invite, if it can be used at `now`: it exists, has not expired and has uses left.
pub fn usable(invite: Option<Invite>, now: Millis) -> Result<Invite, Rejection> {
    let Some(invite) = invite else {
        return Err(Rejection::invite_not_found());
    };
    if invite.expires_at.is_some_and(|at| now >= at) {
        return reject(ErrorCode::InviteExpired, "this invite link has expired");
    }
    if invite.max_uses.is_some_and(|max| invite.uses >= max) {
        return reject(ErrorCode::InviteUsedUp, "this invite link has been used up");
    }
    Ok(invite)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(expires_at: Option<Millis>, max_uses: Option<u32>, uses: u32) -> Option<Invite> {
        Some(Invite {
            code: "code".into(),
            chat_id: 1,
            created_by: 1,
            created_at: 0,
            expires_at,
            max_uses,
            uses,
        })
    }

    fn refusal(result: Result<Invite, Rejection>) -> ErrorCode {
        result.unwrap_err().code
    }

    #[test]
    fn missing_expired_and_used_up_invites_are_refused() {
        assert_eq!(refusal(usable(None, 0)), ErrorCode::InviteNotFound);
        assert_eq!(
            refusal(usable(invite(Some(10), None, 0), 10)),
            ErrorCode::InviteExpired
        );
        assert_eq!(
            refusal(usable(invite(None, Some(2), 2), 0)),
            ErrorCode::InviteUsedUp
        );
    }

    #[test]
    fn a_live_invite_with_uses_left_admits() {
        assert!(usable(invite(Some(10), Some(2), 1), 9).is_ok());
        assert!(usable(invite(None, None, 1_000), 9).is_ok());
    }
}
