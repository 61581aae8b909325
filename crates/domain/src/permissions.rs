//! Who may do what in a chat. Backends call these inside the transaction that makes the change,
//! with the role read in that same transaction, so a rule cannot be raced.

use kolokol_proto::{ChatKind, ErrorCode, Millis, Posting, Role};

use crate::{Rejection, reject};

fn is_manager(role: Role) -> bool {
    role >= Role::Admin
}

pub fn post(kind: ChatKind, role: Role, posting: Posting) -> Result<(), Rejection> {
    match (kind, posting) {
        (_, Posting::Nobody) => reject(ErrorCode::Forbidden, "this chat is a read-only archive"),
        (ChatKind::Channel, _) if !is_manager(role) => reject(
            ErrorCode::Forbidden,
            "only the owner and admins post in a channel",
        ),
        (_, Posting::Admins) if !is_manager(role) => reject(
            ErrorCode::Forbidden,
            "only the owner and admins post in this chat",
        ),
        _ => Ok(()),
    }
}

/// Whether mutes and slow mode apply to the role: to members, never to the chat's admins.
pub fn is_limited(role: Role) -> bool {
    !is_manager(role)
}

/// A limited member may post at `now`, given their mute and their last post, under the chat's
/// slow mode.
pub fn post_pace(
    role: Role,
    muted_until: Option<Millis>,
    last_post_at: Option<Millis>,
    slow_mode_secs: u32,
    now: Millis,
) -> Result<(), Rejection> {
    if !is_limited(role) {
        return Ok(());
    }
    if muted_until.is_some_and(|until| until > now) {
        return reject(
            ErrorCode::Muted,
            "a chat admin has muted you here for a while",
        );
    }
    let interval = i64::from(slow_mode_secs) * 1000;
    if let Some(last) = last_post_at
        && slow_mode_secs > 0
        && now < last + interval
    {
        return reject(
            ErrorCode::RateLimited,
            format!("slow mode: one message every {slow_mode_secs} seconds"),
        );
    }
    Ok(())
}

/// Muting someone: admins mute members, the owner anyone but themselves.
pub fn mute(kind: ChatKind, actor: Role, target: Role) -> Result<(), Rejection> {
    manage(kind, actor)?;
    if actor <= target {
        return reject(
            ErrorCode::Forbidden,
            "you may only mute members below your own role",
        );
    }
    Ok(())
}

/// Renaming, adding members and managing invite links.
pub fn manage(kind: ChatKind, role: Role) -> Result<(), Rejection> {
    match kind {
        ChatKind::Direct => reject(
            ErrorCode::Forbidden,
            "a direct chat has no title, members to add or invite links",
        ),
        _ if !is_manager(role) => reject(
            ErrorCode::Forbidden,
            "only the owner and admins manage this chat",
        ),
        _ => Ok(()),
    }
}

pub fn edit_message(is_author: bool) -> Result<(), Rejection> {
    if !is_author {
        return reject(ErrorCode::Forbidden, "only the author edits a message");
    }
    Ok(())
}

pub fn delete_message(kind: ChatKind, role: Role, is_author: bool) -> Result<(), Rejection> {
    if is_author || (kind != ChatKind::Direct && is_manager(role)) {
        return Ok(());
    }
    reject(
        ErrorCode::Forbidden,
        "only the author or a chat admin deletes a message",
    )
}

/// Removing someone else: admins remove members, the owner removes anyone.
pub fn remove_member(kind: ChatKind, actor: Role, target: Role) -> Result<(), Rejection> {
    manage(kind, actor)?;
    if actor <= target {
        return reject(
            ErrorCode::Forbidden,
            "you may only remove members below your own role",
        );
    }
    Ok(())
}

/// Promoting to admin or demoting to member: owner only; ownership moves only by transfer.
pub fn set_role(
    kind: ChatKind,
    actor: Role,
    target: Role,
    new_role: Role,
) -> Result<(), Rejection> {
    manage(kind, actor)?;
    if new_role == Role::Owner {
        return reject(ErrorCode::InvalidRole, "ownership moves only by transfer");
    }
    if actor != Role::Owner || target == Role::Owner {
        return reject(ErrorCode::Forbidden, "only the owner changes roles");
    }
    Ok(())
}

/// Handing the chat to another member (`to_self` when the owner names themselves).
pub fn transfer_ownership(kind: ChatKind, actor: Role, to_self: bool) -> Result<(), Rejection> {
    manage(kind, actor)?;
    if actor != Role::Owner {
        return reject(ErrorCode::Forbidden, "only the owner transfers ownership");
    }
    if to_self {
        return reject(ErrorCode::InvalidMembers, "you already own this chat");
    }
    Ok(())
}

/// Leaving: the owner must hand over first while others remain; nobody leaves a direct chat.
pub fn leave(kind: ChatKind, role: Role, member_count: i64) -> Result<(), Rejection> {
    if kind == ChatKind::Direct {
        return reject(ErrorCode::Forbidden, "a direct chat cannot be left");
    }
    if role == Role::Owner && member_count > 1 {
        return reject(
            ErrorCode::OwnerMustTransfer,
            "transfer ownership before leaving",
        );
    }
    Ok(())
}

/// Deleting a chat for everyone: its owner, and never a direct chat (each side keeps theirs).
pub fn delete_chat(kind: ChatKind, role: Role) -> Result<(), Rejection> {
    if kind == ChatKind::Direct {
        return reject(ErrorCode::Forbidden, "a direct chat cannot be deleted");
    }
    if role != Role::Owner {
        return reject(ErrorCode::Forbidden, "only the owner deletes a chat");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChatKind::*;
    use Role::*;

    #[test]
    fn only_owners_delete_groups_and_channels() {
        assert!(delete_chat(Group, Owner).is_ok());
        assert!(delete_chat(Channel, Owner).is_ok());
        for (kind, role) in [
            (Group, Admin),
            (Channel, Member),
            (Direct, Owner),
            (Direct, Member),
        ] {
            assert_eq!(
                delete_chat(kind, role).unwrap_err().code,
                ErrorCode::Forbidden
            );
        }
    }

    #[test]
    fn channel_members_cannot_post() {
        assert!(post(Channel, Member, Posting::Everyone).is_err());
        assert!(post(Channel, Admin, Posting::Everyone).is_ok());
        assert!(post(Group, Member, Posting::Everyone).is_ok());
        assert!(post(Direct, Member, Posting::Everyone).is_ok());
    }

    #[test]
    fn admins_only_and_archives_limit_posting() {
        assert!(post(Group, Member, Posting::Admins).is_err());
        assert!(post(Group, Admin, Posting::Admins).is_ok());
        for role in [Member, Admin, Owner] {
            assert!(post(Group, role, Posting::Nobody).is_err(), "{role:?}");
        }
    }

    #[test]
    fn mutes_and_slow_mode_hold_members_only() {
        let now = 100_000;
        let muted = post_pace(Member, Some(now + 1), None, 0, now).unwrap_err();
        assert_eq!(muted.code, ErrorCode::Muted);
        assert!(
            post_pace(Member, Some(now), None, 0, now).is_ok(),
            "a mute ends on time"
        );
        assert!(post_pace(Admin, Some(now + 1), None, 0, now).is_ok());
        let slow = post_pace(Member, None, Some(now - 29_999), 30, now).unwrap_err();
        assert_eq!(slow.code, ErrorCode::RateLimited);
        assert!(post_pace(Member, None, Some(now - 30_000), 30, now).is_ok());
        assert!(post_pace(Admin, None, Some(now - 1), 30, now).is_ok());
        assert!(mute(Group, Admin, Member).is_ok());
        assert!(mute(Group, Admin, Admin).is_err());
        assert!(mute(Group, Member, Member).is_err());
        assert!(mute(Direct, Owner, Member).is_err());
    }

    #[test]
    fn removal_follows_rank() {
        assert!(remove_member(Group, Admin, Member).is_ok());
        assert!(remove_member(Group, Admin, Admin).is_err());
        assert!(remove_member(Group, Owner, Admin).is_ok());
        assert!(remove_member(Group, Member, Member).is_err());
        assert!(remove_member(Direct, Owner, Member).is_err());
    }

    #[test]
    fn only_owner_sets_roles_and_never_to_owner() {
        assert!(set_role(Group, Owner, Member, Admin).is_ok());
        assert!(set_role(Group, Admin, Member, Admin).is_err());
        assert_eq!(
            set_role(Group, Owner, Member, Owner).unwrap_err().code,
            ErrorCode::InvalidRole
        );
    }

    #[test]
    fn deleting_needs_authorship_or_admin_outside_direct_chats() {
        assert!(delete_message(Direct, Owner, false).is_err());
        assert!(delete_message(Group, Admin, false).is_ok());
        assert!(delete_message(Group, Member, false).is_err());
        assert!(delete_message(Group, Member, true).is_ok());
    }

    #[test]
    fn only_the_owner_transfers_and_not_to_themselves() {
        assert!(transfer_ownership(Group, Owner, false).is_ok());
        assert!(transfer_ownership(Group, Admin, false).is_err());
        assert_eq!(
            transfer_ownership(Group, Owner, true).unwrap_err().code,
            ErrorCode::InvalidMembers
        );
    }

    #[test]
    fn owner_must_transfer_before_leaving() {
        assert_eq!(
            leave(Group, Owner, 3).unwrap_err().code,
            ErrorCode::OwnerMustTransfer
        );
        assert!(leave(Group, Owner, 1).is_ok());
        assert!(leave(Direct, Member, 2).is_err());
    }
}
