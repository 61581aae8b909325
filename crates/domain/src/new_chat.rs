//! What a new chat is: its members, its title, the creator's role and, for a direct chat, the key
//! that keeps a pair of users to one direct chat.

use kolokol_proto::{ChatId, ChatInfo, ChatKind, ChatPrivacy, ErrorCode, Posting, Role, UserId};

use crate::{Rejection, reject};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: ChatKind,
    pub privacy: ChatPrivacy,
    /// Always `None` for a direct chat, which has no title.
    pub title: Option<String>,
    pub creator_role: Role,
    /// The members besides the creator: ascending, each once.
    pub others: Vec<UserId>,
    /// For a direct chat `"low:high"`, the pair's user ids (`"low:high:e"` when encrypted):
    /// stored with a unique index, so a pair has at most one direct chat of each privacy.
    pub direct_key: Option<String>,
}

impl Plan {
    /// The chat as its `chat.created` event shows it.
    pub fn info(&self, id: ChatId) -> ChatInfo {
        ChatInfo {
            id,
            kind: self.kind,
            title: self.title.clone(),
            member_count: self.others.len() as i64 + 1,
            posting: Posting::default(),
            slow_mode_secs: 0,
            privacy: self.privacy,
        }
    }
}

/// Plans a chat of `kind` created by `creator` with `member_ids` (which may repeat or name the
/// creator). A direct chat needs exactly one other user.
pub fn plan(
    kind: ChatKind,
    privacy: ChatPrivacy,
    title: Option<String>,
    creator: UserId,
    member_ids: Vec<UserId>,
) -> Result<Plan, Rejection> {
    let mut others: Vec<UserId> = member_ids.into_iter().filter(|&id| id != creator).collect();
    others.sort_unstable();
    others.dedup();
    let direct_key = match (kind, &others[..]) {
        (ChatKind::Direct, &[peer]) => {
            let pair = format!("{}:{}", creator.min(peer), creator.max(peer));
            Some(match privacy {
                ChatPrivacy::Community => pair,
                ChatPrivacy::Encrypted => format!("{pair}:e"),
            })
        }
        (ChatKind::Direct, _) => {
            return reject(
                ErrorCode::InvalidMembers,
                "a direct chat needs exactly one other user",
            );
        }
        _ => None,
    };
    let (title, creator_role) = match kind {
        ChatKind::Direct => (None, Role::Member),
        _ => (title, Role::Owner),
    };
    Ok(Plan {
        kind,
        privacy,
        title,
        creator_role,
        others,
        direct_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_has_one_key_whoever_creates() {
        let one = plan(ChatKind::Direct, ChatPrivacy::Community, None, 7, vec![3]).unwrap();
        let other = plan(
            ChatKind::Direct,
            ChatPrivacy::Community,
            None,
            3,
            vec![7, 7, 3],
        )
        .unwrap();
        assert_eq!(one.direct_key.as_deref(), Some("3:7"));
        assert_eq!(other.direct_key, one.direct_key);
        let private = plan(ChatKind::Direct, ChatPrivacy::Encrypted, None, 7, vec![3]).unwrap();
        assert_eq!(private.direct_key.as_deref(), Some("3:7:e"));
        assert_eq!(one.creator_role, Role::Member);
    }

    #[test]
    fn a_direct_chat_needs_exactly_one_other_user() {
        for members in [vec![], vec![7], vec![1, 2]] {
            let refusal =
                plan(ChatKind::Direct, ChatPrivacy::Community, None, 7, members).unwrap_err();
            assert_eq!(refusal.code, ErrorCode::InvalidMembers);
        }
    }

    #[test]
    fn groups_keep_their_title_and_dedupe_members() {
        let plan = plan(
            ChatKind::Group,
            ChatPrivacy::Community,
            Some("g".into()),
            5,
            vec![9, 1, 9, 5],
        )
        .unwrap();
        assert_eq!(plan.others, vec![1, 9]);
        assert_eq!(plan.creator_role, Role::Owner);
        assert_eq!(plan.direct_key, None);
        assert_eq!(plan.info(4).member_count, 3);
        assert_eq!(plan.info(4).title.as_deref(), Some("g"));
    }

    #[test]
    fn a_direct_chat_has_no_title() {
        let plan = plan(
            ChatKind::Direct,
            ChatPrivacy::Community,
            Some("t".into()),
            1,
            vec![2],
        )
        .unwrap();
        assert_eq!(plan.title, None);
    }
}
