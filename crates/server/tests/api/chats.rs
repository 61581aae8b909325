//! Chats over REST: direct chats, groups and channels, the chat list, membership and roles,
//! and invite links. Every rule that refuses is checked to refuse, and to change nothing.

use std::time::Duration;

use kolokol_client::proto::{
    Chat, ChatKind, CreateChatRequest, CreateInviteRequest, ErrorBody, ErrorCode, Event, Role,
    User, UserId,
};
use kolokol_client::{Client, ClientError, Page};
use reqwest::Method;

use super::common::{self, TestServer, assert_refused, chat_of_kind, group, send};

// Helpers.

async fn create(
    client: &Client,
    kind: ChatKind,
    title: Option<&str>,
    members: &[UserId],
) -> Result<(Chat, bool), ClientError> {
    client
        .create_chat(&CreateChatRequest {
            kind,
            title: title.map(Into::into),
            member_ids: Some(members.to_vec()),
            privacy: kolokol_proto::ChatPrivacy::Community,
        })
        .await
}

async fn direct(client: &Client, peer: UserId) -> Result<(Chat, bool), ClientError> {
    create(client, ChatKind::Direct, None, &[peer]).await
}

/// The members of a chat as (user id, role), in the order the server lists them.
async fn roles(client: &Client, chat_id: i64) -> Vec<(UserId, Role)> {
    let members = client.members(chat_id).await.expect("members");
    members.into_iter().map(|m| (m.user.id, m.role)).collect()
}

async fn chat_ids(client: &Client) -> Vec<i64> {
    client
        .chats()
        .await
        .expect("chats")
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// Asserts that `client` is not (or no longer) a member of the chat, whatever they try to read.
async fn assert_not_member(client: &Client, chat_id: i64) {
    assert_refused(client.chat(chat_id).await, ErrorCode::NotMember, 403);
    assert_refused(
        client.messages(chat_id, Page::default()).await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(client.members(chat_id).await, ErrorCode::NotMember, 403);
    assert_refused(
        send(client, chat_id, "outsider", "hi").await,
        ErrorCode::NotMember,
        403,
    );
    assert!(
        !chat_ids(client).await.contains(&chat_id),
        "not in their chat list"
    );
}

/// A server with a group owned by `owner`, with `admin` promoted and `member` a plain member.
struct Group {
    server: TestServer,
    owner: Client,
    owner_user: User,
    admin: Client,
    admin_user: User,
    member: Client,
    member_user: User,
    chat: Chat,
}

async fn group_with_roles() -> Group {
    let server = common::start().await;
    let (owner, owner_user) = server.user("owner").await;
    let (admin, admin_user) = server.user("admin").await;
    let (member, member_user) = server.user("member").await;
    let chat = group(&owner, "Class 5B parents", &[admin_user.id, member_user.id]).await;
    owner
        .set_role(chat.id, admin_user.id, Role::Admin)
        .await
        .expect("promote");
    Group {
        server,
        owner,
        owner_user,
        admin,
        admin_user,
        member,
        member_user,
        chat,
    }
}

fn invite_for(expires_in_secs: Option<u64>, max_uses: Option<u32>) -> CreateInviteRequest {
    CreateInviteRequest {
        expires_in_secs,
        max_uses,
    }
}

// Direct chats.

#[tokio::test]
async fn a_direct_chat_is_created_once_per_pair() {
    let server = common::start().await;
    let (anna, anna_user) = server.user("anna").await;
    let (bob, bob_user) = server.user("bob").await;

    let (chat, created) = direct(&anna, bob_user.id).await.unwrap();
    assert!(created, "201 the first time");
    assert_eq!(chat.kind, ChatKind::Direct);
    assert_eq!(chat.title, None);
    let peer = chat.peer.as_ref().expect("a direct chat names the peer");
    assert_eq!((peer.id, peer.username.as_deref()), (bob_user.id, None));
    assert_eq!(chat.member_count, 2);
    assert_eq!((chat.last_seq, chat.unread_count), (0, 0));
    assert_eq!(chat.last_message, None);

    let (again, created) = direct(&anna, bob_user.id).await.unwrap();
    assert!(!created, "200 with the existing chat");
    assert_eq!(again.id, chat.id);

    let (from_bob, created) = direct(&bob, anna_user.id).await.unwrap();
    assert!(!created);
    assert_eq!(from_bob.id, chat.id);
    assert_eq!(
        from_bob.peer.map(|peer| peer.id),
        Some(anna_user.id),
        "the peer is always the other person"
    );

    assert_eq!(chat_ids(&anna).await, vec![chat.id]);
    assert_eq!(chat_ids(&bob).await, vec![chat.id]);
}

#[tokio::test]
async fn a_direct_chat_needs_exactly_one_other_existing_user() {
    let server = common::start().await;
    let (anna, anna_user) = server.user("anna").await;
    let (_, bob) = server.user("bob").await;
    let (_, carol) = server.user("carol").await;

    assert_refused(
        direct(&anna, anna_user.id).await,
        ErrorCode::InvalidMembers,
        400,
    );
    assert_refused(
        create(&anna, ChatKind::Direct, None, &[]).await,
        ErrorCode::InvalidMembers,
        400,
    );
    let two = create(&anna, ChatKind::Direct, None, &[bob.id, carol.id]).await;
    assert_refused(two, ErrorCode::InvalidMembers, 400);
    assert_refused(
        direct(&anna, carol.id + 1000).await,
        ErrorCode::UserNotFound,
        404,
    );

    assert!(
        chat_ids(&anna).await.is_empty(),
        "no chat was created by a refused request"
    );
}

// Groups and channels.

#[tokio::test]
async fn a_group_has_its_creator_as_owner_and_the_others_as_members() {
    let server = common::start().await;
    let (anna, anna_user) = server.user("anna").await;
    let (bob, bob_user) = server.user("bob").await;
    let (_, carol) = server.user("carol").await;

    // Duplicates and the creator in the list are harmless.
    let members = [bob_user.id, carol.id, bob_user.id, anna_user.id];
    let (chat, created) = create(&anna, ChatKind::Group, Some("  Class 5B  "), &members)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(chat.kind, ChatKind::Group);
    assert_eq!(
        chat.title.as_deref(),
        Some("Class 5B"),
        "titles are trimmed"
    );
    assert_eq!(chat.peer, None);
    assert_eq!(chat.role, Role::Owner);
    assert_eq!(chat.member_count, 3);

    let mut listed = roles(&anna, chat.id).await;
    listed.sort();
    let mut expected = vec![
        (anna_user.id, Role::Owner),
        (bob_user.id, Role::Member),
        (carol.id, Role::Member),
    ];
    expected.sort();
    assert_eq!(listed, expected);

    let seen_by_bob = bob.chat(chat.id).await.unwrap();
    assert_eq!(seen_by_bob.role, Role::Member);
    assert_eq!(seen_by_bob.title.as_deref(), Some("Class 5B"));
}

#[tokio::test]
async fn groups_and_channels_need_a_title() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (_, bob) = server.user("bob").await;
    let too_long = "t".repeat(129);
    for kind in [ChatKind::Group, ChatKind::Channel] {
        for title in [
            None,
            Some(""),
            Some("   "),
            Some(too_long.as_str()),
            Some("tab\tinside"),
        ] {
            let result = create(&anna, kind, title, &[bob.id]).await;
            assert_refused(result, ErrorCode::InvalidTitle, 400);
        }
    }
    assert!(chat_ids(&anna).await.is_empty());
    let longest = "t".repeat(128);
    create(&anna, ChatKind::Group, Some(&longest), &[])
        .await
        .expect("128 characters are fine");
}

#[tokio::test]
async fn a_group_with_an_unknown_member_is_not_created() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (bob, bob_user) = server.user("bob").await;
    let result = create(
        &anna,
        ChatKind::Group,
        Some("Parents"),
        &[bob_user.id, bob_user.id + 1000],
    )
    .await;
    assert_refused(result, ErrorCode::UserNotFound, 404);
    assert!(chat_ids(&anna).await.is_empty());
    assert!(chat_ids(&bob).await.is_empty(), "bob was not half-added");
}

#[tokio::test]
async fn a_chat_cannot_start_with_more_than_1000_members() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let crowd: Vec<UserId> = (1..=1001).collect();
    let result = create(&anna, ChatKind::Group, Some("Everyone"), &crowd).await;
    assert_refused(result, ErrorCode::InvalidMembers, 400);
    assert!(chat_ids(&anna).await.is_empty());
}

#[tokio::test]
async fn unknown_chat_kinds_are_a_bad_request() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let body = br#"{"kind": "secret", "title": "x"}"#.to_vec();
    let (status, bytes) = anna
        .raw(
            Method::POST,
            "/api/v1/chats",
            Some(("application/json", body)),
        )
        .await
        .unwrap();
    assert_eq!(status, 400);
    let error: ErrorBody = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(error.code, ErrorCode::BadRequest);
    assert!(chat_ids(&anna).await.is_empty());
}

#[tokio::test]
async fn channel_members_cannot_post() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (bob, bob_user) = server.user("bob").await;
    let channel = chat_of_kind(&anna, ChatKind::Channel, "School news", &[bob_user.id]).await;
    assert_eq!(channel.kind, ChatKind::Channel);

    assert_refused(
        send(&bob, channel.id, "b1", "can I post?").await,
        ErrorCode::Forbidden,
        403,
    );
    assert!(
        bob.messages(channel.id, Page::default())
            .await
            .unwrap()
            .is_empty()
    );

    let news = send(&anna, channel.id, "a1", "School is closed on Monday")
        .await
        .unwrap();
    let history = bob.messages(channel.id, Page::default()).await.unwrap();
    assert_eq!(history, vec![news], "members read what the owner posts");
}

#[tokio::test]
async fn channel_admins_post() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (bob, bob_user) = server.user("bob").await;
    let channel = chat_of_kind(&anna, ChatKind::Channel, "School news", &[bob_user.id]).await;
    anna.set_role(channel.id, bob_user.id, Role::Admin)
        .await
        .unwrap();
    let posted = send(&bob, channel.id, "b1", "Homework is online")
        .await
        .unwrap();
    assert_eq!((posted.seq, posted.sender_id), (1, bob_user.id));

    // Demoted again, bob is a reader only.
    anna.set_role(channel.id, bob_user.id, Role::Member)
        .await
        .unwrap();
    assert_refused(
        send(&bob, channel.id, "b2", "one more").await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(anna.chat(channel.id).await.unwrap().last_seq, 1);
}

// The chat list.

#[tokio::test]
async fn the_chat_list_is_sorted_by_newest_activity() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (bob, bob_user) = server.user("bob").await;

    let first = group(&anna, "First", &[bob_user.id]).await;
    let second = group(&anna, "Second", &[bob_user.id]).await;
    let (dm, _) = direct(&anna, bob_user.id).await.unwrap();
    assert_eq!(
        chat_ids(&anna).await,
        vec![dm.id, second.id, first.id],
        "newest created first"
    );

    tokio::time::sleep(Duration::from_millis(5)).await;
    let message = send(&bob, first.id, "b1", "bump").await.unwrap();
    let chats = anna.chats().await.unwrap();
    let ids: Vec<i64> = chats.iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        vec![first.id, dm.id, second.id],
        "a new message moves the chat up"
    );
    assert_eq!(chats[0].last_message.as_ref(), Some(&message));
    assert_eq!(chats[0].last_seq, 1);
    assert!(chats[0].last_activity_at >= message.created_at);
    assert_eq!(chats[1].last_message, None);
    assert_eq!(chat_ids(&bob).await, ids, "bob sees the same order");
}

#[tokio::test]
async fn the_chat_list_counts_only_other_peoples_messages_as_unread() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (bob, bob_user) = server.user("bob").await;
    let chat = group(&anna, "Parents", &[bob_user.id]).await;

    send(&anna, chat.id, "a1", "hello").await.unwrap();
    let anna_view = &anna.chats().await.unwrap()[0];
    assert_eq!(
        (anna_view.unread_count, anna_view.read_seq),
        (0, 1),
        "your own message is read"
    );
    let bob_view = &bob.chats().await.unwrap()[0];
    assert_eq!((bob_view.unread_count, bob_view.read_seq), (1, 0));

    send(&bob, chat.id, "b1", "hi").await.unwrap();
    let last = send(&bob, chat.id, "b2", "how are you?").await.unwrap();
    let anna_view = &anna.chats().await.unwrap()[0];
    assert_eq!(anna_view.unread_count, 2);
    assert_eq!(anna_view.role, Role::Owner);
    assert_eq!(anna_view.last_message.as_ref(), Some(&last));
    let bob_view = &bob.chats().await.unwrap()[0];
    assert_eq!(bob_view.unread_count, 0, "writing reads everything before");
    assert_eq!(bob_view.role, Role::Member);
    assert_eq!(
        anna.chat(chat.id).await.unwrap().unread_count,
        2,
        "GET /chats/{{id}} agrees"
    );
}

// Non-members.

#[tokio::test]
async fn outsiders_cannot_read_or_write_a_chat() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (_, bob) = server.user("bob").await;
    let (outsider, _) = server.user("outsider").await;
    let chat = group(&anna, "Parents", &[bob.id]).await;
    send(&anna, chat.id, "a1", "private").await.unwrap();

    assert_not_member(&outsider, chat.id).await;
    assert_refused(
        outsider.rename_chat(chat.id, "Mine now").await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        outsider.add_members(chat.id, &[]).await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        outsider.leave_chat(chat.id).await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(
        outsider.remove_member(chat.id, bob.id).await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(outsider.invites(chat.id).await, ErrorCode::NotMember, 403);
    let invite = outsider
        .create_invite(chat.id, &invite_for(None, None))
        .await;
    assert_refused(invite, ErrorCode::NotMember, 403);
    let promote = outsider.set_role(chat.id, bob.id, Role::Admin).await;
    assert_refused(promote, ErrorCode::NotMember, 403);
    let transfer = outsider.transfer_ownership(chat.id, bob.id).await;
    assert_refused(transfer, ErrorCode::NotMember, 403);

    assert_eq!(
        anna.chat(chat.id).await.unwrap().title.as_deref(),
        Some("Parents")
    );
    let mut listed = roles(&anna, chat.id).await;
    listed.sort();
    let mut expected = vec![
        (anna.me().await.unwrap().user.id, Role::Owner),
        (bob.id, Role::Member),
    ];
    expected.sort();
    assert_eq!(listed, expected, "nobody was added, promoted or made owner");
    assert_eq!(anna.chat(chat.id).await.unwrap().last_seq, 1);
}

#[tokio::test]
async fn unknown_chats_look_like_chats_you_are_not_in() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    for chat_id in [999_999, 0, -1] {
        assert_not_member(&anna, chat_id).await;
    }
}

#[tokio::test]
async fn path_ids_that_are_not_numbers_are_a_bad_request() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let before = chat_ids(&anna).await;
    for (method, path) in [
        (Method::GET, "/api/v1/chats/abc"),
        (Method::GET, "/api/v1/chats/1.5/members"),
        (
            Method::GET,
            "/api/v1/chats/99999999999999999999999/messages",
        ),
        (Method::PATCH, "/api/v1/chats/abc"),
        (Method::DELETE, "/api/v1/chats/1/members/bob"),
        (Method::POST, "/api/v1/chats/%20/leave"),
    ] {
        let (status, bytes) = anna.raw(method.clone(), path, None).await.unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(status, 400, "{method} {path}: {text}");
        let error: ErrorBody =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(error.code, ErrorCode::BadRequest, "{method} {path}");
    }
    assert_eq!(chat_ids(&anna).await, before);
}

// Renaming.

#[tokio::test]
async fn admins_rename_a_group() {
    let g = group_with_roles().await;
    let renamed = g
        .admin
        .rename_chat(g.chat.id, "Class 6B parents")
        .await
        .unwrap();
    assert_eq!(renamed.title.as_deref(), Some("Class 6B parents"));
    assert_eq!(
        g.member.chat(g.chat.id).await.unwrap().title.as_deref(),
        Some("Class 6B parents")
    );
    g.owner
        .rename_chat(g.chat.id, "Owner's choice")
        .await
        .unwrap();
    assert_eq!(
        g.member.chat(g.chat.id).await.unwrap().title.as_deref(),
        Some("Owner's choice")
    );
}

#[tokio::test]
async fn members_cannot_rename_a_group() {
    let g = group_with_roles().await;
    assert_refused(
        g.member.rename_chat(g.chat.id, "Mine").await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        g.admin.rename_chat(g.chat.id, "  ").await,
        ErrorCode::InvalidTitle,
        400,
    );
    assert_eq!(
        g.owner.chat(g.chat.id).await.unwrap().title.as_deref(),
        Some("Class 5B parents")
    );
}

#[tokio::test]
async fn direct_chats_cannot_be_renamed() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (bob, bob_user) = server.user("bob").await;
    let (chat, _) = direct(&anna, bob_user.id).await.unwrap();
    assert_refused(
        anna.rename_chat(chat.id, "Us").await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        bob.rename_chat(chat.id, "Us").await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(anna.chat(chat.id).await.unwrap().title, None);
}

// Adding members.

#[tokio::test]
async fn admins_add_members() {
    let g = group_with_roles().await;
    let (newcomer, newcomer_user) = g.server.user("newcomer").await;
    g.admin
        .add_members(g.chat.id, &[newcomer_user.id])
        .await
        .unwrap();

    let chat = newcomer.chat(g.chat.id).await.unwrap();
    assert_eq!((chat.role, chat.member_count), (Role::Member, 4));
    assert!(
        roles(&g.owner, g.chat.id)
            .await
            .contains(&(newcomer_user.id, Role::Member))
    );

    // Adding someone already in changes nothing (not even their role).
    g.owner
        .add_members(g.chat.id, &[newcomer_user.id, g.admin_user.id])
        .await
        .unwrap();
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().member_count, 4);
    assert!(
        roles(&g.owner, g.chat.id)
            .await
            .contains(&(g.admin_user.id, Role::Admin))
    );
}

#[tokio::test]
async fn members_cannot_add_members() {
    let g = group_with_roles().await;
    let (newcomer, newcomer_user) = g.server.user("newcomer").await;
    let before = roles(&g.owner, g.chat.id).await;
    assert_refused(
        g.member.add_members(g.chat.id, &[newcomer_user.id]).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(roles(&g.owner, g.chat.id).await, before);
    assert_not_member(&newcomer, g.chat.id).await;
}

#[tokio::test]
async fn adding_an_unknown_user_adds_nobody() {
    let g = group_with_roles().await;
    let (newcomer, newcomer_user) = g.server.user("newcomer").await;
    let before = roles(&g.owner, g.chat.id).await;
    let result = g
        .owner
        .add_members(g.chat.id, &[newcomer_user.id, newcomer_user.id + 1000])
        .await;
    assert_refused(result, ErrorCode::UserNotFound, 404);
    assert_eq!(
        roles(&g.owner, g.chat.id).await,
        before,
        "the known user was not added either"
    );
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().member_count, 3);
    assert_not_member(&newcomer, g.chat.id).await;
}

#[tokio::test]
async fn nobody_adds_members_to_a_direct_chat() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (_, bob) = server.user("bob").await;
    let (carol, carol_user) = server.user("carol").await;
    let (chat, _) = direct(&anna, bob.id).await.unwrap();
    assert_refused(
        anna.add_members(chat.id, &[carol_user.id]).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(anna.chat(chat.id).await.unwrap().member_count, 2);
    assert_not_member(&carol, chat.id).await;
}

// Removing members.

#[tokio::test]
async fn the_owner_removes_an_admin() {
    let g = group_with_roles().await;
    g.owner
        .remove_member(g.chat.id, g.admin_user.id)
        .await
        .unwrap();
    assert_not_member(&g.admin, g.chat.id).await;
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().member_count, 2);
    assert!(
        !roles(&g.owner, g.chat.id)
            .await
            .iter()
            .any(|(id, _)| *id == g.admin_user.id)
    );
}

#[tokio::test]
async fn admins_remove_members_but_not_admins_or_the_owner() {
    let g = group_with_roles().await;
    let (second_admin, second_admin_user) = g.server.user("admin2").await;
    g.owner
        .add_members(g.chat.id, &[second_admin_user.id])
        .await
        .unwrap();
    g.owner
        .set_role(g.chat.id, second_admin_user.id, Role::Admin)
        .await
        .unwrap();
    let owner_id = g.owner_user.id;
    let before = roles(&g.owner, g.chat.id).await;

    assert_refused(
        g.admin.remove_member(g.chat.id, second_admin_user.id).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        g.admin.remove_member(g.chat.id, owner_id).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(roles(&g.owner, g.chat.id).await, before);
    second_admin.chat(g.chat.id).await.expect("still a member");

    g.admin
        .remove_member(g.chat.id, g.member_user.id)
        .await
        .unwrap();
    assert_not_member(&g.member, g.chat.id).await;
}

#[tokio::test]
async fn members_cannot_remove_anyone() {
    let g = group_with_roles().await;
    let (other, other_user) = g.server.user("other").await;
    g.owner
        .add_members(g.chat.id, &[other_user.id])
        .await
        .unwrap();
    let before = roles(&g.owner, g.chat.id).await;
    assert_refused(
        g.member.remove_member(g.chat.id, other_user.id).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        g.member.remove_member(g.chat.id, g.admin_user.id).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(roles(&g.owner, g.chat.id).await, before);
    other.chat(g.chat.id).await.expect("still a member");
}

#[tokio::test]
async fn removing_someone_who_is_not_a_member_finds_nobody() {
    let g = group_with_roles().await;
    let (_, outsider) = g.server.user("outsider").await;
    assert_refused(
        g.owner.remove_member(g.chat.id, outsider.id).await,
        ErrorCode::UserNotFound,
        404,
    );
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().member_count, 3);
}

#[tokio::test]
async fn a_removed_member_loses_access_and_can_be_added_back() {
    let g = group_with_roles().await;
    send(&g.member, g.chat.id, "m1", "before").await.unwrap();
    g.owner
        .remove_member(g.chat.id, g.member_user.id)
        .await
        .unwrap();
    assert_not_member(&g.member, g.chat.id).await;
    assert_refused(
        g.member.mark_read(g.chat.id, 1).await,
        ErrorCode::NotMember,
        403,
    );
    assert_refused(g.member.typing(g.chat.id).await, ErrorCode::NotMember, 403);
    assert_eq!(
        g.owner.chat(g.chat.id).await.unwrap().last_seq,
        1,
        "their attempts stored nothing"
    );

    g.owner
        .add_members(g.chat.id, &[g.member_user.id])
        .await
        .unwrap();
    assert_eq!(g.member.chat(g.chat.id).await.unwrap().role, Role::Member);
}

// Leaving.

#[tokio::test]
async fn members_leave_a_group() {
    let g = group_with_roles().await;
    g.member.leave_chat(g.chat.id).await.unwrap();
    assert_not_member(&g.member, g.chat.id).await;
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().member_count, 2);

    // Removing yourself is leaving too.
    g.admin
        .remove_member(g.chat.id, g.admin_user.id)
        .await
        .unwrap();
    assert_not_member(&g.admin, g.chat.id).await;
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().member_count, 1);
}

#[tokio::test]
async fn the_owner_must_transfer_before_leaving() {
    let g = group_with_roles().await;
    let owner_id = g.owner_user.id;
    assert_refused(
        g.owner.leave_chat(g.chat.id).await,
        ErrorCode::OwnerMustTransfer,
        409,
    );
    assert_refused(
        g.owner.remove_member(g.chat.id, owner_id).await,
        ErrorCode::OwnerMustTransfer,
        409,
    );
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().role, Role::Owner);
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().member_count, 3);
}

#[tokio::test]
async fn a_lone_owner_may_leave() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let chat = group(&anna, "Just me", &[]).await;
    anna.leave_chat(chat.id).await.unwrap();
    assert_not_member(&anna, chat.id).await;
}

#[tokio::test]
async fn nobody_leaves_a_direct_chat() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (bob, bob_user) = server.user("bob").await;
    let (chat, _) = direct(&anna, bob_user.id).await.unwrap();
    assert_refused(anna.leave_chat(chat.id).await, ErrorCode::Forbidden, 403);
    assert_refused(bob.leave_chat(chat.id).await, ErrorCode::Forbidden, 403);
    assert_refused(
        anna.remove_member(chat.id, bob_user.id).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(anna.chat(chat.id).await.unwrap().member_count, 2);
    assert_eq!(bob.chat(chat.id).await.unwrap().member_count, 2);
}

// Roles.

#[tokio::test]
async fn the_owner_promotes_and_demotes() {
    let g = group_with_roles().await;
    g.owner
        .set_role(g.chat.id, g.member_user.id, Role::Admin)
        .await
        .unwrap();
    assert_eq!(g.member.chat(g.chat.id).await.unwrap().role, Role::Admin);
    g.owner
        .set_role(g.chat.id, g.admin_user.id, Role::Member)
        .await
        .unwrap();
    assert_eq!(g.admin.chat(g.chat.id).await.unwrap().role, Role::Member);
}

#[tokio::test]
async fn only_the_owner_changes_roles() {
    let g = group_with_roles().await;
    let owner_id = g.owner_user.id;
    let before = roles(&g.owner, g.chat.id).await;
    assert_refused(
        g.admin
            .set_role(g.chat.id, g.member_user.id, Role::Admin)
            .await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        g.member
            .set_role(g.chat.id, g.member_user.id, Role::Admin)
            .await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        g.admin.set_role(g.chat.id, owner_id, Role::Member).await,
        ErrorCode::Forbidden,
        403,
    );
    // Not even the owner demotes themself: ownership moves only by transfer.
    assert_refused(
        g.owner.set_role(g.chat.id, owner_id, Role::Admin).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(roles(&g.owner, g.chat.id).await, before);
}

#[tokio::test]
async fn ownership_is_not_a_role_to_set() {
    let g = group_with_roles().await;
    let before = roles(&g.owner, g.chat.id).await;
    let result = g
        .owner
        .set_role(g.chat.id, g.admin_user.id, Role::Owner)
        .await;
    assert_refused(result, ErrorCode::InvalidRole, 400);
    assert_eq!(roles(&g.owner, g.chat.id).await, before);

    let body = br#"{"role": "emperor"}"#.to_vec();
    let path = format!("/api/v1/chats/{}/members/{}", g.chat.id, g.admin_user.id);
    let (status, bytes) = g
        .owner
        .raw(Method::PATCH, &path, Some(("application/json", body)))
        .await
        .unwrap();
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(
        serde_json::from_slice::<ErrorBody>(&bytes).unwrap().code,
        ErrorCode::BadRequest
    );
    assert_eq!(roles(&g.owner, g.chat.id).await, before);
}

#[tokio::test]
async fn setting_the_role_of_a_non_member_finds_nobody() {
    let g = group_with_roles().await;
    let (_, outsider) = g.server.user("outsider").await;
    let result = g.owner.set_role(g.chat.id, outsider.id, Role::Admin).await;
    assert_refused(result, ErrorCode::UserNotFound, 404);
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().member_count, 3);
}

// Ownership.

#[tokio::test]
async fn the_owner_transfers_ownership_and_becomes_an_admin() {
    let g = group_with_roles().await;
    g.owner
        .transfer_ownership(g.chat.id, g.member_user.id)
        .await
        .unwrap();
    assert_eq!(g.member.chat(g.chat.id).await.unwrap().role, Role::Owner);
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().role, Role::Admin);
    let owners = roles(&g.owner, g.chat.id)
        .await
        .into_iter()
        .filter(|(_, role)| *role == Role::Owner)
        .count();
    assert_eq!(owners, 1, "exactly one owner");

    // The old owner may now leave; the new one has the owner's powers.
    g.owner.leave_chat(g.chat.id).await.unwrap();
    g.member
        .set_role(g.chat.id, g.admin_user.id, Role::Member)
        .await
        .unwrap();
    assert_eq!(g.admin.chat(g.chat.id).await.unwrap().role, Role::Member);
}

#[tokio::test]
async fn only_the_owner_transfers_ownership() {
    let g = group_with_roles().await;
    let before = roles(&g.owner, g.chat.id).await;
    assert_refused(
        g.admin.transfer_ownership(g.chat.id, g.admin_user.id).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        g.member
            .transfer_ownership(g.chat.id, g.member_user.id)
            .await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        g.admin
            .transfer_ownership(g.chat.id, g.member_user.id)
            .await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(roles(&g.owner, g.chat.id).await, before);
}

#[tokio::test]
async fn ownership_goes_only_to_another_member() {
    let g = group_with_roles().await;
    let (_, outsider) = g.server.user("outsider").await;
    let owner_id = g.owner_user.id;
    let before = roles(&g.owner, g.chat.id).await;
    assert_refused(
        g.owner.transfer_ownership(g.chat.id, outsider.id).await,
        ErrorCode::UserNotFound,
        404,
    );
    assert_refused(
        g.owner.transfer_ownership(g.chat.id, owner_id).await,
        ErrorCode::InvalidMembers,
        400,
    );
    assert_eq!(roles(&g.owner, g.chat.id).await, before);
}

#[tokio::test]
async fn ownership_of_a_direct_chat_cannot_be_transferred() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (bob, bob_user) = server.user("bob").await;
    let (chat, _) = direct(&anna, bob_user.id).await.unwrap();
    assert_refused(
        anna.transfer_ownership(chat.id, bob_user.id).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        anna.set_role(chat.id, bob_user.id, Role::Admin).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(bob.chat(chat.id).await.unwrap().role, Role::Member);
}

// Invite links.

#[tokio::test]
async fn admins_create_and_list_invites() {
    let g = group_with_roles().await;
    let forever = g
        .owner
        .create_invite(g.chat.id, &invite_for(None, None))
        .await
        .unwrap();
    assert_eq!(forever.chat_id, g.chat.id);
    assert_eq!(
        (forever.expires_at, forever.max_uses, forever.uses),
        (None, None, 0)
    );
    assert!(forever.code.len() >= 16, "hard to guess: {}", forever.code);

    let limited = g
        .admin
        .create_invite(g.chat.id, &invite_for(Some(3600), Some(5)))
        .await
        .unwrap();
    assert_eq!(limited.created_by, g.admin_user.id);
    assert_eq!(limited.max_uses, Some(5));
    let expires_at = limited.expires_at.expect("an expiry");
    assert!(
        (expires_at - limited.created_at - 3_600_000).abs() < 1000,
        "{limited:?}"
    );
    assert_ne!(forever.code, limited.code);

    let mut listed = g.admin.invites(g.chat.id).await.unwrap();
    let mut expected = vec![forever, limited];
    listed.sort_by(|a, b| a.code.cmp(&b.code));
    expected.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn members_cannot_create_or_see_invites() {
    let g = group_with_roles().await;
    g.owner
        .create_invite(g.chat.id, &invite_for(None, None))
        .await
        .unwrap();
    assert_refused(
        g.member
            .create_invite(g.chat.id, &invite_for(None, None))
            .await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(g.member.invites(g.chat.id).await, ErrorCode::Forbidden, 403);
    assert_eq!(g.owner.invites(g.chat.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn direct_chats_have_no_invites() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let (_, bob) = server.user("bob").await;
    let (chat, _) = direct(&anna, bob.id).await.unwrap();
    assert_refused(
        anna.create_invite(chat.id, &invite_for(None, None)).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(anna.invites(chat.id).await, ErrorCode::Forbidden, 403);
}

#[tokio::test]
async fn invalid_invite_limits_are_refused() {
    let g = group_with_roles().await;
    for request in [
        invite_for(Some(0), None),
        invite_for(None, Some(0)),
        invite_for(Some(367 * 24 * 3600), None),
        invite_for(Some(u64::MAX), None),
    ] {
        assert_refused(
            g.owner.create_invite(g.chat.id, &request).await,
            ErrorCode::InvalidInvite,
            400,
        );
    }
    assert!(g.owner.invites(g.chat.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn anyone_previews_an_invite_and_members_join_with_it() {
    let g = group_with_roles().await;
    let invite = g
        .owner
        .create_invite(g.chat.id, &invite_for(None, None))
        .await
        .unwrap();

    let preview = g
        .server
        .anonymous()
        .invite_preview(&invite.code)
        .await
        .expect("no session needed");
    assert_eq!(preview.code, invite.code);
    assert_eq!(preview.chat.id, g.chat.id);
    assert_eq!(preview.chat.title.as_deref(), Some("Class 5B parents"));
    assert_eq!(preview.chat.member_count, 3);

    let (newcomer, newcomer_user) = g.server.user("newcomer").await;
    let joined = newcomer.join_by_invite(&invite.code).await.unwrap();
    assert_eq!(joined.id, g.chat.id);
    assert_eq!((joined.role, joined.member_count), (Role::Member, 4));
    assert!(
        roles(&g.owner, g.chat.id)
            .await
            .contains(&(newcomer_user.id, Role::Member))
    );
    assert_eq!(g.owner.invites(g.chat.id).await.unwrap()[0].uses, 1);
    assert!(chat_ids(&newcomer).await.contains(&g.chat.id));
}

#[tokio::test]
async fn joining_needs_a_session() {
    let g = group_with_roles().await;
    let invite = g
        .owner
        .create_invite(g.chat.id, &invite_for(None, None))
        .await
        .unwrap();
    assert_refused(
        g.server.anonymous().join_by_invite(&invite.code).await,
        ErrorCode::Unauthorized,
        401,
    );
    assert_eq!(g.owner.invites(g.chat.id).await.unwrap()[0].uses, 0);
}

#[tokio::test]
async fn members_cannot_join_again() {
    let g = group_with_roles().await;
    let invite = g
        .owner
        .create_invite(g.chat.id, &invite_for(None, None))
        .await
        .unwrap();
    assert_refused(
        g.member.join_by_invite(&invite.code).await,
        ErrorCode::AlreadyMember,
        409,
    );
    assert_refused(
        g.owner.join_by_invite(&invite.code).await,
        ErrorCode::AlreadyMember,
        409,
    );
    assert_eq!(
        g.owner.invites(g.chat.id).await.unwrap()[0].uses,
        0,
        "a refused join uses nothing"
    );
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().member_count, 3);
    assert_eq!(
        g.owner.chat(g.chat.id).await.unwrap().role,
        Role::Owner,
        "the owner was not demoted"
    );
}

#[tokio::test]
async fn a_revoked_invite_no_longer_works() {
    let g = group_with_roles().await;
    let invite = g
        .owner
        .create_invite(g.chat.id, &invite_for(None, None))
        .await
        .unwrap();
    assert_refused(
        g.member.revoke_invite(g.chat.id, &invite.code).await,
        ErrorCode::Forbidden,
        403,
    );
    g.admin
        .revoke_invite(g.chat.id, &invite.code)
        .await
        .unwrap();
    assert!(g.owner.invites(g.chat.id).await.unwrap().is_empty());

    let (newcomer, _) = g.server.user("newcomer").await;
    assert_refused(
        newcomer.join_by_invite(&invite.code).await,
        ErrorCode::InviteNotFound,
        404,
    );
    assert_refused(
        g.server.anonymous().invite_preview(&invite.code).await,
        ErrorCode::InviteNotFound,
        404,
    );
    assert_refused(
        g.owner.revoke_invite(g.chat.id, &invite.code).await,
        ErrorCode::InviteNotFound,
        404,
    );
    assert_not_member(&newcomer, g.chat.id).await;
}

#[tokio::test]
async fn invites_are_revoked_only_from_their_own_chat() {
    let g = group_with_roles().await;
    let invite = g
        .owner
        .create_invite(g.chat.id, &invite_for(None, None))
        .await
        .unwrap();
    let other = group(&g.admin, "Admin's own group", &[]).await;
    // Owning another chat gives no power over this chat's links.
    assert_refused(
        g.admin.revoke_invite(other.id, &invite.code).await,
        ErrorCode::InviteNotFound,
        404,
    );
    assert_eq!(g.owner.invites(g.chat.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_invite_codes_are_not_found() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    for code in ["doesnotexist", "a/../../me", "я", "%00"] {
        assert_refused(
            anna.join_by_invite(code).await,
            ErrorCode::InviteNotFound,
            404,
        );
        assert_refused(
            server.anonymous().invite_preview(code).await,
            ErrorCode::InviteNotFound,
            404,
        );
    }
    assert!(chat_ids(&anna).await.is_empty());
}

#[tokio::test]
async fn an_expired_invite_is_gone() {
    let g = group_with_roles().await;
    let invite = g
        .owner
        .create_invite(g.chat.id, &invite_for(Some(1), None))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (newcomer, _) = g.server.user("newcomer").await;
    assert_refused(
        newcomer.join_by_invite(&invite.code).await,
        ErrorCode::InviteExpired,
        410,
    );
    assert_refused(
        g.server.anonymous().invite_preview(&invite.code).await,
        ErrorCode::InviteExpired,
        410,
    );
    assert_not_member(&newcomer, g.chat.id).await;
    assert_eq!(g.owner.invites(g.chat.id).await.unwrap()[0].uses, 0);
}

#[tokio::test]
async fn a_used_up_invite_is_gone() {
    let g = group_with_roles().await;
    let invite = g
        .owner
        .create_invite(g.chat.id, &invite_for(None, Some(1)))
        .await
        .unwrap();
    let (first, _) = g.server.user("first").await;
    let (second, _) = g.server.user("second").await;
    first.join_by_invite(&invite.code).await.unwrap();
    assert_refused(
        second.join_by_invite(&invite.code).await,
        ErrorCode::InviteUsedUp,
        410,
    );
    assert_not_member(&second, g.chat.id).await;
    assert_eq!(g.owner.invites(g.chat.id).await.unwrap()[0].uses, 1);
    assert_eq!(g.owner.chat(g.chat.id).await.unwrap().member_count, 4);
}

/// The owner deletes a group for everyone: members' devices are told at once, and the chat, its
/// messages and its members are gone for all of them. Nobody else may, and no direct chat.
#[tokio::test]
async fn the_owner_deletes_a_group_for_everyone() {
    let g = group_with_roles().await;
    send(&g.member, g.chat.id, "m1", "Кто идёт в музей?")
        .await
        .unwrap();
    for who in [&g.admin, &g.member] {
        assert_refused(who.delete_chat(g.chat.id).await, ErrorCode::Forbidden, 403);
    }
    let (outsider, _) = g.server.user("outsider").await;
    assert_refused(
        outsider.delete_chat(g.chat.id).await,
        ErrorCode::NotMember,
        403,
    );
    let (direct_chat, _) = direct(&g.owner, g.member_user.id).await.unwrap();
    assert_refused(
        g.owner.delete_chat(direct_chat.id).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_eq!(
        g.member
            .messages(g.chat.id, Page::default())
            .await
            .unwrap()
            .len(),
        1,
        "refusals change nothing"
    );

    let (mut watching, _) = common::connect(&g.member, None).await;
    g.owner.delete_chat(g.chat.id).await.unwrap();
    let (chat_id, by) = common::wait_for(&mut watching, |event| match event {
        Event::MemberRemoved {
            chat_id,
            user_id,
            by,
        } if *user_id == g.member_user.id => Some((*chat_id, *by)),
        _ => None,
    })
    .await;
    assert_eq!((chat_id, by), (g.chat.id, Some(g.owner_user.id)));
    for who in [&g.owner, &g.admin, &g.member] {
        assert_not_member(who, g.chat.id).await;
    }
    assert_eq!(chat_ids(&g.member).await, [direct_chat.id]);
}
