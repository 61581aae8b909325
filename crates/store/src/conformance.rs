//! The conformance suite: the behaviour every [`Store`] backend must show.
//!
//! A backend's tests call [`run_all`] with a factory of fresh, empty stores. Each check gets a
//! store of its own, so checks never see each other's data, and a failure names its check. The
//! checks use the store only through the [`Store`] trait, as the server does. Where the contract
//! leaves a choice open (ignoring or refusing a repeated add, clamping or refusing a read marker
//! past the end), a check accepts each allowed behaviour and says so.
//!
//! Every authorization rule has a check that it refuses, with its exact error code.
//!
//! The suite needs a Tokio runtime; run it with `#[tokio::test(flavor = "multi_thread")]` so the
//! concurrency checks race for real.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kolokol_domain::roster::{self, Roster, RosterRole};
use kolokol_domain::{Cursor, MembershipChange, Route};
use kolokol_proto::{
    AttachmentKind, Button, Chat, ChatId, ChatInfo, ChatKind, ErrorCode, Event, HoldReason, Invite,
    InvitePreview, Markup, MarkupKind, Message, Millis, OrgPolicy, Poll, Posting, Profile,
    QuietHours, Role, Seq, User, UserId,
};
use tokio::task::JoinHandle;

mod e2ee;
use e2ee::{
    claims_hand_out_one_package_per_waiting_device,
    commits_apply_at_the_current_epoch_and_move_leaves,
    concurrent_commits_leave_exactly_one_winner, encrypted_messages_change_only_as_ciphertext,
    encrypted_messages_need_the_current_epoch_and_no_pending_removals,
    key_packages_register_their_device_key_once,
};

use crate::{
    Actor, BlobRecord, BotChanges, BotRecord, CallbackRecord, CatchUp, ChatPurpose, Credentials,
    Delivery, FindUpload, MessageEdit, NewBlob, NewChat, NewClaimCode, NewHeldMessage, NewInvite,
    NewMessage, NewOrg, NewReport, NewSession, NewSubscription, NewUpload, NewUser, Org, OrgChat,
    OrgRole, Outcome, Page, Payer, ProfileChanges, Published, Revoke, STUCK_COLLECTION_MS, Store,
    StoreError, StoreResult, StoredPoll, StoredRoster, Subscription, UPLOAD_KEPT_MS, UnitRename,
    UploadPart,
};

/// Makes a fresh, empty store for each check.
#[async_trait]
pub trait StoreFactory: Send + Sync {
    async fn fresh(&self) -> Arc<dyn Store>;
}

type CheckFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Check = fn(Arc<dyn Store>) -> CheckFuture;

/// Pairs each check with its name.
macro_rules! checks {
    ($($check:ident),* $(,)?) => {
        &[$((stringify!($check), |store| Box::pin($check(store)))),*]
    };
}

const CHECKS: &[(&str, Check)] = checks![
    // accounts and sessions
    registration_stores_user_and_credentials,
    usernames_are_unique,
    sessions_authenticate_by_token_hash,
    revoking_one_session_spares_other_users,
    revoking_all_but_current_session,
    changing_password_signs_out_other_sessions,
    profiles_update_and_resolve,
    usernames_show_only_by_choice,
    bots_are_accounts_their_owners_keep,
    bot_markers_name_saved_cursors_and_acknowledge,
    bots_buttons_are_pressed_by_members_and_answered_by_their_bot,
    webhooks_are_one_per_bot_leased_to_one_node_and_count_failures,
    ws_tickets_work_once_before_expiry_while_session_lives,
    // chats and members
    direct_chats_are_one_per_pair,
    direct_chats_need_exactly_one_other_user,
    groups_and_channels_start_with_owner_and_members,
    chats_are_visible_to_members_only,
    chat_list_puts_newest_activity_first,
    renaming_needs_an_admin,
    adding_members_needs_an_admin,
    removing_members_follows_rank,
    leaving_chats,
    owners_delete_groups_for_everyone,
    roles_are_set_by_the_owner_only,
    ownership_moves_by_transfer,
    // invite links
    invite_links_are_managed_by_admins,
    joining_by_invite,
    // messages
    sends_get_gap_free_seqs,
    sends_are_idempotent_per_sender_and_chat,
    replies_must_point_at_existing_messages,
    only_managers_post_in_channels,
    mentions_resolve_to_users,
    concurrent_sends_take_every_seq_once,
    history_pages_are_ascending,
    editing_is_for_authors,
    deleting_leaves_a_tombstone,
    reactions_toggle,
    read_markers_only_move_forward,
    polls_take_one_vote_per_member,
    threads_gather_replies_under_a_message,
    admins_pin_one_message,
    admins_limit_who_posts_and_how_often,
    // event streams
    member_snapshots_follow_membership,
    catch_up_returns_exactly_what_was_missed,
    pruned_cursors_resync,
    // organisations
    orgs_start_with_an_admin_and_a_service_account,
    safeguarding_leads_find_and_review_direct_chats,
    rosters_are_stored_as_read,
    reimporting_keeps_ids_archives_and_restores,
    org_chats_are_recorded,
    classes_are_renamed_in_order_and_archived,
    claim_codes_link_people_once,
    claimed_places_are_listed_per_account,
    acknowledgements_are_kept_once_per_member,
    org_policies_are_kept_and_org_chats_found,
    reminders_reach_the_named_users_at_most_once_an_hour,
    reports_queue_per_org_and_the_audit_log_keeps_order,
    // quiet hours and do-not-disturb
    do_not_disturb_lasts_until_it_ends,
    held_messages_wait_for_their_release,
    // media
    server_keys_are_made_once,
    uploads_are_found_by_capability_or_id_until_they_expire,
    upload_pieces_replace_list_in_order_and_go_on_completion,
    files_are_shown_only_by_their_uploader_or_members_who_see_them,
    deleting_a_message_or_chat_unshows_its_files,
    held_messages_keep_their_files,
    unshown_files_are_collected_and_expired_uploads_listed,
    files_count_against_their_payer_and_expire_per_org,
    // end-to-end encryption
    key_packages_register_their_device_key_once,
    claims_hand_out_one_package_per_waiting_device,
    commits_apply_at_the_current_epoch_and_move_leaves,
    concurrent_commits_leave_exactly_one_winner,
    encrypted_messages_need_the_current_epoch_and_no_pending_removals,
    encrypted_messages_change_only_as_ciphertext,
];

/// Runs every check, each on a fresh store; panics naming the first check that fails.
pub async fn run_all(factory: &dyn StoreFactory) {
    for &(name, check) in CHECKS {
        eprintln!("conformance: {name}");
        let store = factory.fresh().await;
        // A task of its own turns the check's panic into a value, so the failure can be named.
        if let Err(failure) = tokio::spawn(check(store)).await {
            panic!("conformance check `{name}` failed: {}", describe(failure));
        }
    }
}

fn describe(failure: tokio::task::JoinError) -> String {
    if !failure.is_panic() {
        return failure.to_string();
    }
    let payload = failure.into_panic();
    if let Some(text) = payload.downcast_ref::<String>() {
        return text.clone();
    }
    payload
        .downcast_ref::<&str>()
        .map_or("panicked", |text| text)
        .to_owned()
}

/// 2026-01-01T00:00:00Z, where every check's clock starts.
const START: Millis = 1_767_225_600_000;
/// Later than any timestamp a check uses: pruning before it deletes every event.
const FAR_FUTURE: Millis = START + 100 * 365 * 86_400_000;
/// Ids no store hands out in a check (yet below 2^53, as ids must be).
const NO_SUCH_USER: UserId = 9_000_000_000_000;
const NO_SUCH_CHAT: ChatId = 9_000_000_000_000;
const THUMBS_UP: &str = "👍";
const HEART: &str = "❤️";

// ------------------------------------------------------------------------------------------------
// Accounts and sessions

async fn registration_stores_user_and_credentials(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    assert_eq!(
        alice.user.username.as_deref(),
        Some("alice"),
        "she sees her own username"
    );
    assert_eq!(alice.user.display_name, display_name_of("alice"));
    assert_eq!(alice.user.about, "", "a new user has an empty about");

    let credentials = fx.credentials("alice").await;
    assert_eq!(credentials.user, alice.user);
    assert_eq!(credentials.password_hash, password_hash_of("alice"));
    let nobody = fx
        .store
        .credentials("nobody")
        .await
        .expect("reading credentials");
    assert!(nobody.is_none(), "an unknown username has no credentials");

    assert_eq!(
        fx.authenticate("alice").await,
        Some(alice.actor),
        "registering signs in"
    );
}

async fn usernames_are_unique(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    fx.person("alice").await;
    let again = NewUser {
        username: "alice".to_owned(),
        display_name: "Another Alice".to_owned(),
        password_hash: "another hash".to_owned(),
    };
    let result = fx
        .store
        .register(again, session("alice-again"), fx.now())
        .await;
    assert_refused(
        result,
        &[ErrorCode::UsernameTaken],
        "registering a taken username",
    );

    // Registration is atomic: the refused attempt left no session and changed no password.
    assert_eq!(fx.authenticate("alice-again").await, None);
    let stored_hash = fx.credentials("alice").await.password_hash;
    assert_eq!(
        stored_hash,
        password_hash_of("alice"),
        "the password is unchanged"
    );
}

async fn sessions_authenticate_by_token_hash(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    let phone = fx.extra_session(&alice, "alice-phone").await;
    assert_ne!(phone, alice.actor.session_id, "each session has its own id");

    let phone_actor = Actor {
        user_id: alice.id(),
        session_id: phone,
    };
    assert_eq!(fx.authenticate("alice-phone").await, Some(phone_actor));
    assert_eq!(fx.authenticate("alice").await, Some(alice.actor));
    assert_eq!(fx.authenticate("unknown-token").await, None);

    let mut listed: Vec<(i64, String)> = fx
        .store
        .sessions(alice.id())
        .await
        .expect("listing sessions")
        .into_iter()
        .map(|session| (session.id, session.device_name))
        .collect();
    listed.sort();
    let mut expected = vec![
        (alice.actor.session_id, session("alice").device_name),
        (phone, session("alice-phone").device_name),
    ];
    expected.sort();
    assert_eq!(listed, expected);
}

async fn revoking_one_session_spares_other_users(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let bob_phone = fx.extra_session(&bob, "bob-phone").await;

    // Alice names Bob's session: the store may answer "not found" or "revoked none", but Bob's
    // session must survive either way.
    match fx
        .store
        .revoke_sessions(alice.id(), Revoke::One(bob_phone))
        .await
    {
        Ok(outcome) => {
            assert_eq!(outcome.value, 0, "another user's session is not revoked");
            assert!(
                outcome.events.is_empty(),
                "nothing revoked, nothing published"
            );
        }
        refused => assert_refused(
            refused,
            &[ErrorCode::NotFound],
            "revoking another user's session",
        ),
    }
    assert!(
        fx.authenticate("bob-phone").await.is_some(),
        "bob's session survives"
    );

    let alice_phone = fx.extra_session(&alice, "alice-phone").await;
    let outcome = fx
        .store
        .revoke_sessions(alice.id(), Revoke::One(alice_phone))
        .await
        .expect("revoking one's own session");
    assert_eq!(outcome.value, 1);
    assert_revocations(&outcome.events, alice.id(), &[alice_phone]);
    assert_eq!(
        fx.authenticate("alice-phone").await,
        None,
        "a revoked session is dead"
    );
    assert_eq!(
        fx.authenticate("alice").await,
        Some(alice.actor),
        "the other session lives"
    );
    assert_eq!(fx.session_ids(&alice).await, vec![alice.actor.session_id]);
}

async fn revoking_all_but_current_session(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    let labels = ["alice-phone", "alice-tablet", "alice-tv"];
    let mut others = Vec::new();
    for label in labels {
        others.push(fx.extra_session(&alice, label).await);
    }

    let current = alice.actor.session_id;
    let outcome = fx
        .store
        .revoke_sessions(alice.id(), Revoke::AllExcept(current))
        .await
        .expect("revoking all other sessions");
    assert_eq!(outcome.value, 3);
    let last_pos = assert_revocations(&outcome.events, alice.id(), &others);
    for label in labels {
        assert_eq!(fx.authenticate(label).await, None, "{label} is revoked");
    }
    assert_eq!(
        fx.authenticate("alice").await,
        Some(alice.actor),
        "the current session stays"
    );
    assert_eq!(fx.session_ids(&alice).await, vec![current]);

    // The user's stream goes on from where it stopped.
    let watch = fx.extra_session(&alice, "alice-watch").await;
    let outcome = fx
        .store
        .revoke_sessions(alice.id(), Revoke::One(watch))
        .await
        .expect("revoking a later session");
    assert_eq!(
        assert_revocations(&outcome.events, alice.id(), &[watch]),
        last_pos + 1
    );
}

async fn changing_password_signs_out_other_sessions(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let alice_phone = fx.extra_session(&alice, "alice-phone").await;
    let alice_tablet = fx.extra_session(&alice, "alice-tablet").await;
    fx.extra_session(&bob, "bob-phone").await;

    let outcome = fx
        .store
        .set_password(alice.actor, "new hash".to_owned())
        .await
        .expect("changing the password");
    assert_eq!(outcome.value, 2);
    assert_revocations(&outcome.events, alice.id(), &[alice_phone, alice_tablet]);

    assert_eq!(fx.credentials("alice").await.password_hash, "new hash");
    assert_eq!(
        fx.authenticate("alice").await,
        Some(alice.actor),
        "the acting session stays"
    );
    assert_eq!(fx.authenticate("alice-phone").await, None);
    assert_eq!(fx.authenticate("alice-tablet").await, None);
    assert!(
        fx.authenticate("bob-phone").await.is_some(),
        "other users keep their sessions"
    );
}

async fn profiles_update_and_resolve(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    let update = |changes: ProfileChanges| fx.store.update_profile(alice.id(), changes);

    let renamed = update(ProfileChanges {
        display_name: Some("Alice K.".to_owned()),
        ..ProfileChanges::default()
    })
    .await
    .expect("changing the display name");
    let user = User {
        display_name: "Alice K.".to_owned(),
        ..alice.user.clone()
    };
    let hidden = Profile {
        user,
        show_username: false,
    };
    assert_eq!(renamed, hidden, "only the display name changes");

    let described = update(ProfileChanges {
        about: Some("Class teacher, 5B".to_owned()),
        ..ProfileChanges::default()
    })
    .await
    .expect("changing the about text");
    let hidden = Profile {
        user: User {
            about: "Class teacher, 5B".to_owned(),
            ..hidden.user
        },
        ..hidden
    };
    assert_eq!(described, hidden, "only the about text changes");
    assert_eq!(
        fx.store.profile(alice.id()).await.expect("reading"),
        Some(hidden.clone())
    );

    // Others see everything but her username until she chooses to show it.
    let seen = |username: Option<&str>| User {
        username: username.map(str::to_owned),
        ..hidden.user.clone()
    };
    let as_others_see = async || {
        let by_id = fx.store.user(alice.id()).await.expect("reading a user");
        let by_name = fx
            .store
            .user_by_username("alice")
            .await
            .expect("reading a user");
        assert_eq!(by_id, by_name, "found by id or by username alike");
        by_id.expect("she exists")
    };
    assert_eq!(as_others_see().await, seen(None), "hidden by default");
    let shown = update(ProfileChanges {
        show_username: Some(true),
        ..ProfileChanges::default()
    })
    .await
    .expect("showing the username");
    assert_eq!(
        shown,
        Profile {
            show_username: true,
            ..hidden.clone()
        }
    );
    assert_eq!(as_others_see().await, seen(Some("alice")));
    update(ProfileChanges {
        show_username: Some(false),
        ..ProfileChanges::default()
    })
    .await
    .expect("hiding the username again");
    assert_eq!(as_others_see().await, seen(None));

    assert_eq!(
        fx.store.user(NO_SUCH_USER).await.expect("reading a user"),
        None
    );
    assert_eq!(fx.store.profile(NO_SUCH_USER).await.expect("reading"), None);
    let nobody = fx
        .store
        .user_by_username("nobody")
        .await
        .expect("reading a user");
    assert_eq!(nobody, None);
}

/// Member lists, direct chats' peers and `member.added` events name a username only where its
/// owner chose to show it.
async fn usernames_show_only_by_choice(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    let bob = fx.person("bob").await;
    let carol = fx.person("carol").await;
    fx.store
        .update_profile(
            bob.id(),
            ProfileChanges {
                show_username: Some(true),
                ..ProfileChanges::default()
            },
        )
        .await
        .expect("showing the username");

    let chat_id = fx.group(&alice, &[&bob]).await;
    let members = fx
        .store
        .members(alice.actor, chat_id)
        .await
        .expect("listing members");
    let users: Vec<User> = members.into_iter().map(|member| member.user).collect();
    assert_eq!(
        users,
        vec![alice.user.clone(), bob.user.clone()],
        "she sees her own"
    );
    let members = fx
        .store
        .members(bob.actor, chat_id)
        .await
        .expect("listing members");
    let users: Vec<User> = members.into_iter().map(|member| member.user).collect();
    assert_eq!(users, vec![alice.seen(), bob.user.clone()]);
    let direct = fx.direct(&alice, &bob).await;
    assert_eq!(fx.view(&alice, direct).await.peer, Some(bob.user.clone()));
    assert_eq!(fx.view(&bob, direct).await.peer, Some(alice.seen()));

    fx.add_member(&alice, chat_id, &carol).await;
    let added = fx
        .logged()
        .into_iter()
        .find_map(|published| match published.event {
            Event::MemberAdded { user, .. } if user.id == carol.id() => Some(user),
            _ => None,
        });
    assert_eq!(added, Some(carol.seen()));
}

fn new_bot(username: &str) -> NewUser {
    NewUser {
        username: username.to_owned(),
        display_name: display_name_of(username),
        password_hash: "!".to_owned(),
    }
}

async fn bots_are_accounts_their_owners_keep(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let create = |owner: UserId, name: &str, token: &str| {
        fx.store
            .create_bot(owner, new_bot(name), session(token), fx.now())
    };
    let diary = create(alice.id(), "diary_bot", "diary-token")
        .await
        .expect("creating a bot");
    assert_eq!(
        diary.user.username.as_deref(),
        Some("diary_bot"),
        "a bot shows its name"
    );
    assert!(
        diary.user.is_bot && !alice.user.is_bot,
        "a bot carries its badge"
    );
    assert_eq!(diary.user.display_name, display_name_of("diary_bot"));
    assert_eq!(
        (
            diary.owner_id,
            diary.description.as_str(),
            diary.commands.as_str()
        ),
        (alice.id(), "", "[]")
    );
    assert_refused(
        create(bob.id(), "diary_bot", "other-token").await,
        &[ErrorCode::UsernameTaken],
        "a bot with a taken name",
    );
    assert_refused(
        create(bob.id(), "alice", "other-token").await,
        &[ErrorCode::UsernameTaken],
        "a bot with a person's name",
    );
    // Its token is a session of the bot's own account.
    let actor = fx
        .store
        .authenticate(hash_of("diary-token"), fx.now())
        .await
        .unwrap();
    assert_eq!(actor.map(|actor| actor.user_id), Some(diary.user.id));
    assert_eq!(
        fx.store.user(diary.user.id).await.unwrap(),
        Some(diary.user.clone())
    );

    assert_eq!(
        fx.store.bot(diary.user.id).await.unwrap(),
        Some(diary.clone())
    );
    assert_eq!(
        fx.store.bot(alice.id()).await.unwrap(),
        None,
        "a person is no bot"
    );
    let homework = create(alice.id(), "homework_bot", "homework-token")
        .await
        .unwrap();
    assert_eq!(
        fx.store.bots_of(alice.id()).await.unwrap(),
        vec![diary.clone(), homework]
    );
    assert_eq!(fx.store.bots_of(bob.id()).await.unwrap(), vec![]);

    let commands = r#"[{"name":"start","description":"Начать"}]"#.to_owned();
    let changed = fx
        .store
        .update_bot(
            diary.user.id,
            BotChanges {
                commands: Some(commands.clone()),
                ..BotChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        changed,
        BotRecord {
            commands: commands.clone(),
            ..diary.clone()
        }
    );
    let renamed = fx
        .store
        .update_bot(
            diary.user.id,
            BotChanges {
                display_name: Some("Дневник".to_owned()),
                description: Some("Оценки и домашние задания".to_owned()),
                ..BotChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.user.display_name, "Дневник");
    assert_eq!(renamed.description, "Оценки и домашние задания");
    assert_eq!(renamed.commands, commands, "absent fields stay");

    // A mini-app: its address, and the key that signs its initData, kept apart from the record.
    assert_eq!(
        (
            renamed.web_app_url.as_deref(),
            fx.store.bot_web_app_key(diary.user.id).await.unwrap()
        ),
        (None, None)
    );
    let update = |changes: BotChanges| fx.store.update_bot(diary.user.id, changes);
    let with_app = update(BotChanges {
        web_app_url: Some(Some("https://diary.example/app".to_owned())),
        web_app_key: Some([7; 32]),
        ..BotChanges::default()
    })
    .await
    .unwrap();
    assert_eq!(
        with_app.web_app_url.as_deref(),
        Some("https://diary.example/app")
    );
    assert_eq!(
        fx.store.bot_web_app_key(diary.user.id).await.unwrap(),
        Some([7; 32])
    );
    let kept = update(BotChanges::default()).await.unwrap();
    assert_eq!(
        kept.web_app_url.as_deref(),
        Some("https://diary.example/app"),
        "absent, kept"
    );
    let removed = update(BotChanges {
        web_app_url: Some(None),
        ..BotChanges::default()
    })
    .await
    .unwrap();
    assert_eq!(removed.web_app_url, None);
    assert_eq!(
        fx.store.bot_web_app_key(diary.user.id).await.unwrap(),
        Some([7; 32]),
        "the key stays"
    );
    assert_eq!(fx.store.bot_web_app_key(alice.id()).await.unwrap(), None);
}

async fn bot_markers_name_saved_cursors_and_acknowledge(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    let bot = fx
        .store
        .create_bot(
            alice.id(),
            new_bot("echo_bot"),
            session("echo-token"),
            fx.now(),
        )
        .await
        .unwrap()
        .user
        .id;
    let cursor = |marker: Option<i64>| fx.store.bot_cursor(bot, marker);
    let save = |cursor: &str| fx.store.save_bot_cursor(bot, cursor.to_owned(), fx.now());
    assert_eq!(
        cursor(None).await.unwrap(),
        None,
        "nothing acknowledged yet"
    );
    let first = save("c1").await.unwrap();
    let second = save("c2").await.unwrap();
    assert!(
        0 < first && first < second,
        "markers grow: {first}, {second}"
    );
    assert_eq!(
        cursor(None).await.unwrap(),
        None,
        "saving is not acknowledging"
    );
    assert_eq!(cursor(Some(first)).await.unwrap().as_deref(), Some("c1"));
    assert_eq!(cursor(None).await.unwrap().as_deref(), Some("c1"));
    assert_eq!(cursor(Some(second)).await.unwrap().as_deref(), Some("c2"));
    assert_eq!(
        cursor(Some(first)).await.unwrap().as_deref(),
        Some("c1"),
        "a retry reads again"
    );
    assert_eq!(
        cursor(None).await.unwrap().as_deref(),
        Some("c2"),
        "but never moves back"
    );
    assert_eq!(
        cursor(Some(second + 100)).await.unwrap(),
        None,
        "an unknown marker"
    );
    assert_eq!(cursor(None).await.unwrap().as_deref(), Some("c2"));

    // `bot.started` goes to the bot's own stream, and it reads it back from there.
    let bot_person = Person {
        user: fx.store.user(bot).await.unwrap().expect("the bot exists"),
        actor: Actor {
            user_id: bot,
            session_id: 0,
        },
    };
    let chat_id = fx.direct(&alice, &bot_person).await;
    let before = fx.store.current_cursor(bot).await.unwrap();
    let now = fx.now();
    let started = Event::BotStarted {
        chat_id,
        user_id: alice.id(),
        payload: Some("deep".to_owned()),
        at: now,
    };
    let outcome = fx.store.tell_user(bot, started.clone(), now).await.unwrap();
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(outcome.events[0].event, started);
    assert!(matches!(outcome.events[0].route, Route::User { user_id, .. } if user_id == bot));
    match fx.store.catch_up(bot, &before, 100).await.unwrap() {
        CatchUp::Events(events) => {
            let events: Vec<Event> = events
                .into_iter()
                .map(|published| published.event)
                .collect();
            assert_eq!(events, vec![started]);
        }
        other => panic!("expected the event, got {other:?}"),
    }
}

async fn bots_buttons_are_pressed_by_members_and_answered_by_their_bot(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let mut bots = Vec::new();
    for name in ["trip_bot", "other_bot"] {
        let record = fx
            .store
            .create_bot(alice.id(), new_bot(name), session(name), fx.now())
            .await
            .unwrap();
        bots.push(Person {
            actor: Actor {
                user_id: record.user.id,
                session_id: 0,
            },
            user: record.user,
        });
    }
    let [trip, other] = [&bots[0], &bots[1]];
    let chat_id = fx.group(&alice, &[&bob, trip, other]).await;
    let button = |text: &str, payload: &str| Button::Callback {
        text: text.into(),
        payload: payload.into(),
    };
    let keyboard = vec![
        vec![button("Да", "yes"), button("Нет", "no")],
        vec![Button::Link {
            text: "Программа".into(),
            url: "https://example.org/trip".into(),
        }],
    ];
    let bold = |from: u32, length: u32| Markup {
        kind: MarkupKind::Strong,
        from,
        length,
        url: None,
        user_id: None,
    };
    let message = NewMessage {
        keyboard: keyboard.clone(),
        markup: vec![bold(0, 7)],
        ..new_message("trip-1", "Пойдёте на экскурсию?")
    };
    let outcome = fx
        .store
        .send_message(trip.actor, chat_id, message, fx.now())
        .await
        .unwrap();
    let seq = outcome.value.0.seq;
    assert_eq!(outcome.value.0.keyboard, keyboard, "sent with its buttons");
    let read = fx.message_at(&bob, chat_id, seq).await;
    assert_eq!(
        (read.keyboard, read.markup),
        (keyboard.clone(), vec![bold(0, 7)]),
        "and read back with them and its formatting"
    );
    let plain = fx.send(&bob, chat_id, "Я за!").await;
    assert!(plain.keyboard.is_empty());

    let bot_cursor = fx.store.current_cursor(trip.id()).await.unwrap();
    let now = fx.now();
    let outcome = fx
        .store
        .press_button(bob.actor, chat_id, seq, "yes".to_owned(), now)
        .await
        .expect("a member presses a button");
    let id = outcome.value;
    let pressed = Event::BotCallback {
        callback_id: id,
        chat_id,
        seq,
        user_id: bob.id(),
        payload: "yes".to_owned(),
        at: now,
    };
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(outcome.events[0].event, pressed);
    assert!(
        matches!(outcome.events[0].route, Route::User { user_id, .. } if user_id == trip.id()),
        "the press goes to the bot's own stream"
    );
    match fx
        .store
        .catch_up(trip.id(), &bot_cursor, 100)
        .await
        .unwrap()
    {
        CatchUp::Events(events) => {
            assert!(events.iter().any(|published| published.event == pressed))
        }
        other => panic!("expected the press, got {other:?}"),
    }
    assert_eq!(
        fx.store.take_bot_callback(other.id(), id).await.unwrap(),
        None,
        "another bot cannot answer it"
    );
    let record = fx.store.take_bot_callback(trip.id(), id).await.unwrap();
    assert_eq!(
        record,
        Some(CallbackRecord {
            id,
            bot_id: trip.id(),
            chat_id,
            seq,
            user_id: bob.id(),
            payload: "yes".to_owned(),
            created_at: now,
        })
    );
    assert_eq!(
        fx.store.take_bot_callback(trip.id(), id).await.unwrap(),
        None,
        "a press is answered once"
    );
    assert_eq!(
        fx.store
            .take_bot_callback(trip.id(), id + 1000)
            .await
            .unwrap(),
        None
    );

    let press = |who: &Person, seq: Seq, payload: &str| {
        fx.store
            .press_button(who.actor, chat_id, seq, payload.to_owned(), fx.now())
    };
    assert_refused(
        press(&bob, seq, "maybe").await,
        &[ErrorCode::NotFound],
        "a button it does not have",
    );
    assert_refused(
        press(&bob, seq, "Программа").await,
        &[ErrorCode::NotFound],
        "a link is not a callback",
    );
    assert_refused(
        press(&bob, plain.seq, "yes").await,
        &[ErrorCode::NotFound],
        "a message without buttons",
    );
    assert_refused(
        press(&carol, seq, "yes").await,
        &[ErrorCode::NotMember],
        "an outsider",
    );
    assert_refused(
        press(&bob, seq + 100, "yes").await,
        &[ErrorCode::MessageNotFound],
        "no such message",
    );

    // The bot changes its buttons; the text stays.
    let fewer = vec![vec![button("Нет", "no")]];
    let edit = MessageEdit {
        text: None,
        markup: Vec::new(),
        keyboard: Some(fewer.clone()),
    };
    let edited = fx.record(
        fx.store
            .edit_message(trip.actor, chat_id, seq, edit.clone(), fx.now())
            .await,
    );
    assert_eq!(
        (edited.text.as_str(), &edited.keyboard, edited.markup.len()),
        ("Пойдёте на экскурсию?", &fewer, 1),
        "the text and its formatting stay"
    );
    assert!(edited.edited_at.is_some());
    assert_refused(
        fx.store
            .edit_message(bob.actor, chat_id, seq, edit, fx.now())
            .await,
        &[ErrorCode::Forbidden],
        "someone else's buttons",
    );
    assert_refused(
        press(&bob, seq, "yes").await,
        &[ErrorCode::NotFound],
        "a button taken away",
    );
    press(&bob, seq, "no").await.expect("a button still there");
    let cleared = MessageEdit {
        text: Some("Запись закрыта".into()),
        markup: vec![bold(7, 7)],
        keyboard: Some(Vec::new()),
    };
    let edited = fx.record(
        fx.store
            .edit_message(trip.actor, chat_id, seq, cleared, fx.now())
            .await,
    );
    assert_eq!(
        (edited.text.as_str(), edited.keyboard.len(), &edited.markup),
        ("Запись закрыта", 0, &vec![bold(7, 7)])
    );
    assert_eq!(fx.message_at(&bob, chat_id, seq).await.markup, [bold(7, 7)]);
    // A new text without formatting drops the old formatting.
    let plain_text = MessageEdit::text("Запись закрыта.".into());
    let edited = fx.record(
        fx.store
            .edit_message(trip.actor, chat_id, seq, plain_text, fx.now())
            .await,
    );
    assert!(edited.markup.is_empty());
    assert!(fx.message_at(&bob, chat_id, seq).await.markup.is_empty());
    assert_refused(
        press(&bob, seq, "no").await,
        &[ErrorCode::NotFound],
        "buttons removed",
    );

    // A bot that left hears no more presses; a deleted message keeps no buttons.
    let again = NewMessage {
        keyboard: keyboard.clone(),
        ..new_message("trip-2", "Ещё раз?")
    };
    let again = fx
        .store
        .send_message(trip.actor, chat_id, again, fx.now())
        .await
        .unwrap()
        .value
        .0
        .seq;
    fx.delete(trip, chat_id, again).await;
    assert!(
        fx.message_at(&bob, chat_id, again)
            .await
            .keyboard
            .is_empty()
    );
    let last = NewMessage {
        keyboard,
        ..new_message("trip-3", "Последний раз?")
    };
    let last = fx
        .store
        .send_message(trip.actor, chat_id, last, fx.now())
        .await
        .unwrap()
        .value
        .0
        .seq;
    fx.remove_member(&alice, chat_id, trip).await;
    assert_refused(
        press(&bob, last, "yes").await,
        &[ErrorCode::NotFound],
        "a bot that left",
    );
    // A `chat` button's group: the first link is kept, a racing second one gets it too.
    let key = || "0:1".to_owned();
    assert_eq!(
        fx.store.button_chat(chat_id, seq, key()).await.unwrap(),
        None
    );
    let made = fx.group(&bob, &[]).await;
    let racing = fx.group(&bob, &[]).await;
    let link = |created| fx.store.link_button_chat(chat_id, seq, key(), created);
    assert_eq!(link(made).await.unwrap(), made);
    assert_eq!(
        link(racing).await.unwrap(),
        made,
        "the first press's group stays"
    );
    assert_eq!(
        fx.store.button_chat(chat_id, seq, key()).await.unwrap(),
        Some(made)
    );
    assert_eq!(
        fx.store
            .button_chat(chat_id, seq, "other".into())
            .await
            .unwrap(),
        None
    );
    // The bot is told it was removed; what kind of chat it was, it can still learn.
    assert_eq!(
        fx.store.chat_kind(chat_id).await.unwrap(),
        Some(ChatKind::Group)
    );
    assert_eq!(fx.store.chat_kind(chat_id + 1_000_000).await.unwrap(), None);
}

async fn webhooks_are_one_per_bot_leased_to_one_node_and_count_failures(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    let bot = fx
        .store
        .create_bot(alice.id(), new_bot("hook_bot"), session("hook"), fx.now())
        .await
        .unwrap()
        .user
        .id;
    assert_eq!(fx.store.bot_subscription(bot).await.unwrap(), None);
    assert!(
        fx.store
            .leasable_subscriptions("node-1".into(), fx.now())
            .await
            .unwrap()
            .is_empty()
    );
    let subscription = |url: &str| NewSubscription {
        url: url.to_owned(),
        secret: Some("s3cret-value".to_owned()),
        update_types: Some(vec!["message_created".to_owned()]),
        version: None,
        cursor: Some("c1".to_owned()),
    };
    let created_at = fx.now();
    fx.store
        .subscribe_bot(bot, subscription("https://a.example/hook"), created_at)
        .await
        .unwrap();
    let expected = Subscription {
        bot_id: bot,
        url: "https://a.example/hook".to_owned(),
        secret: Some("s3cret-value".to_owned()),
        update_types: Some(vec!["message_created".to_owned()]),
        version: None,
        cursor: Some("c1".to_owned()),
        created_at,
        attempts: 0,
        failing_since: None,
        next_attempt_at: None,
    };
    assert_eq!(
        fx.store.bot_subscription(bot).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        fx.store
            .leasable_subscriptions("node-1".into(), fx.now())
            .await
            .unwrap(),
        [bot]
    );

    // One node delivers at a time: the lease is renewed by its holder, taken once it runs out.
    let lease = |holder: &str, now: Millis| {
        fx.store
            .lease_subscription(bot, holder.to_owned(), now, now + 30_000)
    };
    let now = fx.now();
    assert_eq!(lease("node-1", now).await.unwrap(), Some(expected.clone()));
    assert_eq!(
        lease("node-2", now + 1).await.unwrap(),
        None,
        "held by another"
    );
    assert!(lease("node-1", now + 2).await.unwrap().is_some(), "renewed");
    assert!(
        lease("node-2", now + 30_003).await.unwrap().is_some(),
        "expired, taken"
    );
    assert_eq!(lease("node-1", now + 30_004).await.unwrap(), None);

    // Failures count up from the first; a success clears them.
    // Node 2 holds the lease now; what node 1 (which lost it) records changes nothing.
    let record_by = |holder: &str, delivery: Delivery, now: Millis| {
        fx.store
            .record_delivery(bot, holder.to_owned(), delivery, now)
    };
    let record = |delivery: Delivery, now: Millis| record_by("node-2", delivery, now);
    record_by("node-1", Delivery::Failed { retry_at: 0 }, now)
        .await
        .unwrap();
    assert_eq!(
        fx.store
            .bot_subscription(bot)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        0,
        "a lost lease records nothing"
    );
    record(
        Delivery::Failed {
            retry_at: now + 60_000,
        },
        now,
    )
    .await
    .unwrap();
    record(
        Delivery::Failed {
            retry_at: now + 210_000,
        },
        now + 60_000,
    )
    .await
    .unwrap();
    let failing = fx.store.bot_subscription(bot).await.unwrap().unwrap();
    assert_eq!(
        (
            failing.attempts,
            failing.failing_since,
            failing.next_attempt_at
        ),
        (2, Some(now), Some(now + 210_000))
    );
    let delivered = Delivery::Succeeded {
        cursor: "c2".to_owned(),
    };
    record(delivered, now + 210_000).await.unwrap();
    let healed = fx.store.bot_subscription(bot).await.unwrap().unwrap();
    assert_eq!(
        (
            healed.attempts,
            healed.failing_since,
            healed.next_attempt_at
        ),
        (0, None, None)
    );
    assert_eq!(healed.cursor.as_deref(), Some("c2"), "delivery moves on");

    // Subscribing again replaces the address and forgets failures; the lease stays.
    record(Delivery::Failed { retry_at: now + 1 }, now)
        .await
        .unwrap();
    let replaced_at = fx.now();
    let other = NewSubscription {
        update_types: None,
        secret: None,
        cursor: None,
        ..subscription("https://b.example/hook")
    };
    fx.store
        .subscribe_bot(bot, other, replaced_at)
        .await
        .unwrap();
    let replaced = fx.store.bot_subscription(bot).await.unwrap().unwrap();
    assert_eq!(
        (
            replaced.url.as_str(),
            replaced.secret,
            replaced.update_types,
            replaced.attempts
        ),
        ("https://b.example/hook", None, None, 0)
    );
    assert_eq!(
        replaced.cursor.as_deref(),
        Some("c2"),
        "delivery goes on from where it got to"
    );
    assert_eq!(
        lease("node-1", now + 30_005).await.unwrap(),
        None,
        "still node 2's"
    );
    let leasable = |holder: &str, at: Millis| fx.store.leasable_subscriptions(holder.into(), at);
    assert!(
        leasable("node-1", now + 30_006).await.unwrap().is_empty(),
        "not node 1's to take"
    );
    assert_eq!(
        leasable("node-2", now + 30_006).await.unwrap(),
        [bot],
        "its holder's"
    );
    assert_eq!(
        leasable("node-1", now + 60_004).await.unwrap(),
        [bot],
        "lapsed, anyone's"
    );

    // Unsubscribing names the address, or any.
    assert!(
        !fx.store
            .unsubscribe_bot(bot, Some("https://a.example/hook".into()))
            .await
            .unwrap()
    );
    assert!(
        fx.store
            .unsubscribe_bot(bot, Some("https://b.example/hook".into()))
            .await
            .unwrap()
    );
    assert_eq!(fx.store.bot_subscription(bot).await.unwrap(), None);
    assert!(
        fx.store
            .leasable_subscriptions("node-1".into(), fx.now())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!fx.store.unsubscribe_bot(bot, None).await.unwrap());
    fx.store
        .subscribe_bot(bot, subscription("https://a.example/hook"), fx.now())
        .await
        .unwrap();
    assert!(fx.store.unsubscribe_bot(bot, None).await.unwrap());
}

async fn ws_tickets_work_once_before_expiry_while_session_lives(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    let redeem = |label: &'static str, now: Millis| fx.store.redeem_ws_ticket(hash_of(label), now);

    let expires_at = fx.now() + 60_000;
    fx.store
        .create_ws_ticket(alice.actor, hash_of("ticket-once"), expires_at)
        .await
        .expect("creating a ticket");
    let now = fx.now();
    assert_eq!(
        redeem("ticket-once", now).await.expect("redeeming"),
        Some(alice.actor)
    );
    assert_eq!(
        redeem("ticket-once", now).await.expect("redeeming"),
        None,
        "a ticket works once"
    );

    let expires_at = fx.now() + 60_000;
    fx.store
        .create_ws_ticket(alice.actor, hash_of("ticket-late"), expires_at)
        .await
        .expect("creating a ticket");
    let late = redeem("ticket-late", expires_at + 1)
        .await
        .expect("redeeming");
    assert_eq!(late, None, "an expired ticket does not work");

    let phone = fx.extra_session(&alice, "alice-phone").await;
    let phone_actor = Actor {
        user_id: alice.id(),
        session_id: phone,
    };
    let expires_at = fx.now() + 60_000;
    fx.store
        .create_ws_ticket(phone_actor, hash_of("ticket-revoked"), expires_at)
        .await
        .expect("creating a ticket");
    fx.store
        .revoke_sessions(alice.id(), Revoke::One(phone))
        .await
        .expect("revoking the session");
    let orphaned = redeem("ticket-revoked", fx.now()).await.expect("redeeming");
    assert_eq!(orphaned, None, "a ticket dies with its session");

    let unknown = redeem("ticket-unknown", fx.now()).await.expect("redeeming");
    assert_eq!(unknown, None);
}

// ------------------------------------------------------------------------------------------------
// Chats and members

async fn direct_chats_are_one_per_pair(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;

    let first = fx
        .store
        .create_chat(alice.actor, new_chat(ChatKind::Direct, &[&bob]), fx.now())
        .await
        .expect("creating a direct chat");
    let (chat_id, created) = first.value;
    assert!(created);
    assert_new_chat_stream(&first.events, chat_id, alice.id());

    for (asker, other) in [(&bob, &alice), (&alice, &bob)] {
        let again = fx
            .store
            .create_chat(asker.actor, new_chat(ChatKind::Direct, &[other]), fx.now())
            .await
            .expect("asking for the direct chat again");
        assert_eq!(
            again.value,
            (chat_id, false),
            "the pair's existing chat comes back"
        );
    }

    let seen_by_alice = fx.view(&alice, chat_id).await;
    assert_eq!(seen_by_alice.kind, ChatKind::Direct);
    assert_eq!(seen_by_alice.title, None, "a direct chat has no title");
    assert_eq!(seen_by_alice.peer, Some(bob.seen()));
    assert_eq!(seen_by_alice.member_count, 2);
    assert_eq!(fx.view(&bob, chat_id).await.peer, Some(alice.seen()));

    assert_ne!(
        fx.direct(&alice, &carol).await,
        chat_id,
        "another pair, another chat"
    );
}

async fn direct_chats_need_exactly_one_other_user(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let attempts: [(&[UserId], &[ErrorCode], &str); 4] = [
        (
            &[alice.id()],
            &[ErrorCode::InvalidMembers],
            "a direct chat with oneself",
        ),
        (
            &[],
            &[ErrorCode::InvalidMembers],
            "a direct chat with nobody",
        ),
        (
            &[bob.id(), carol.id()],
            &[ErrorCode::InvalidMembers],
            "a direct chat with two",
        ),
        (
            &[NO_SUCH_USER],
            &[ErrorCode::InvalidMembers, ErrorCode::UserNotFound],
            "a direct chat with an unknown user",
        ),
    ];
    for (member_ids, codes, what) in attempts {
        let chat = NewChat {
            kind: ChatKind::Direct,
            title: None,
            member_ids: member_ids.to_vec(),
            privacy: kolokol_proto::ChatPrivacy::Community,
        };
        assert_refused(
            fx.store.create_chat(alice.actor, chat, fx.now()).await,
            codes,
            what,
        );
    }
    let chats = fx.store.chats(alice.actor).await.expect("listing chats");
    assert!(chats.is_empty(), "refused requests create no chat");
}

async fn groups_and_channels_start_with_owner_and_members(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;

    for kind in [ChatKind::Group, ChatKind::Channel] {
        let created_at = fx.now();
        let outcome = fx
            .store
            .create_chat(alice.actor, new_chat(kind, &[&bob, &carol]), created_at)
            .await
            .expect("creating a chat");
        let (chat_id, created) = outcome.value;
        assert!(created);
        assert_new_chat_stream(&outcome.events, chat_id, alice.id());

        let chat = fx.view(&alice, chat_id).await;
        assert_eq!(chat.kind, kind);
        assert_eq!(chat.title, new_chat(kind, &[]).title);
        assert_eq!(chat.peer, None);
        assert_eq!(chat.role, Role::Owner, "the creator owns the chat");
        assert_eq!(chat.member_count, 3);
        assert_eq!((chat.last_seq, chat.read_seq, chat.unread_count), (0, 0, 0));
        assert_eq!(chat.last_message, None);
        assert_eq!(
            (chat.created_at, chat.last_activity_at),
            (created_at, created_at)
        );
        assert_eq!(fx.view(&bob, chat_id).await.role, Role::Member);

        let expected = BTreeMap::from([
            (alice.id(), Role::Owner),
            (bob.id(), Role::Member),
            (carol.id(), Role::Member),
        ]);
        assert_eq!(fx.roles(&alice, chat_id).await, expected);
    }

    let with_stranger = NewChat {
        member_ids: vec![NO_SUCH_USER],
        ..new_chat(ChatKind::Group, &[])
    };
    assert_refused(
        fx.store
            .create_chat(alice.actor, with_stranger, fx.now())
            .await,
        &[ErrorCode::UserNotFound, ErrorCode::InvalidMembers],
        "a group with an unknown user",
    );
}

async fn chats_are_visible_to_members_only(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let seq = fx.send(&alice, chat_id, "members only").await.seq;
    fx.store
        .check_member(bob.actor, chat_id)
        .await
        .expect("bob is a member");

    // Carol is in neither chat; one of them does not even exist.
    let outsider = carol.actor;
    let not_member = &[ErrorCode::NotMember];
    for chat_id in [chat_id, NO_SUCH_CHAT] {
        let store = &fx.store;
        let now = fx.now();
        let page = Page {
            limit: 10,
            ..Page::default()
        };
        let message = new_message("outsider-1", "let me in");
        let invite = NewInvite {
            code: "outsider".to_owned(),
            expires_at: None,
            max_uses: None,
        };
        assert_refused(
            store.chat(outsider, chat_id).await,
            not_member,
            "reading a chat",
        );
        assert_refused(
            store.members(outsider, chat_id).await,
            not_member,
            "listing members",
        );
        assert_refused(
            store.messages(outsider, chat_id, page).await,
            not_member,
            "reading history",
        );
        assert_refused(
            store.check_member(outsider, chat_id).await,
            not_member,
            "check_member",
        );
        assert_refused(
            store.send_message(outsider, chat_id, message, now).await,
            not_member,
            "sending",
        );
        assert_refused(
            store.read_by(outsider, chat_id, seq).await,
            not_member,
            "read_by",
        );
        assert_refused(
            store.mark_read(outsider, chat_id, seq, now).await,
            not_member,
            "mark_read",
        );
        assert_refused(
            store
                .toggle_reaction(outsider, chat_id, seq, THUMBS_UP.to_owned(), now)
                .await,
            not_member,
            "reacting",
        );
        assert_refused(
            store
                .edit_message(
                    outsider,
                    chat_id,
                    seq,
                    MessageEdit::text("edited".to_owned()),
                    now,
                )
                .await,
            not_member,
            "editing",
        );
        assert_refused(
            store.delete_message(outsider, chat_id, seq, now).await,
            not_member,
            "deleting",
        );
        assert_refused(
            store
                .rename_chat(outsider, chat_id, "Mine now".to_owned(), now)
                .await,
            not_member,
            "renaming",
        );
        assert_refused(
            store
                .add_members(outsider, chat_id, vec![carol.id()], now)
                .await,
            not_member,
            "adding oneself",
        );
        assert_refused(
            store.remove_member(outsider, chat_id, bob.id(), now).await,
            not_member,
            "removing a member",
        );
        assert_refused(
            store
                .set_role(outsider, chat_id, bob.id(), Role::Admin, now)
                .await,
            not_member,
            "setting a role",
        );
        assert_refused(
            store
                .transfer_ownership(outsider, chat_id, carol.id(), now)
                .await,
            not_member,
            "taking ownership",
        );
        assert_refused(
            store.create_invite(outsider, chat_id, invite, now).await,
            not_member,
            "inviting",
        );
        assert_refused(
            store.invites(outsider, chat_id).await,
            not_member,
            "listing invites",
        );
    }
    let chats = fx.store.chats(outsider).await.expect("listing chats");
    assert!(chats.is_empty(), "an outsider's chat list is empty");
}

async fn chat_list_puts_newest_activity_first(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let older = fx.group(&alice, &[&bob]).await;
    let newer = fx.group(&alice, &[&bob]).await;
    assert_eq!(
        fx.chat_ids(&bob).await,
        vec![newer, older],
        "the newest chat first"
    );

    let news = fx.send(&alice, older, "news").await;
    assert_eq!(
        fx.chat_ids(&bob).await,
        vec![older, newer],
        "a message brings its chat up"
    );

    let listed = fx
        .store
        .chats(bob.actor)
        .await
        .expect("listing chats")
        .remove(0);
    assert_eq!(listed.role, Role::Member);
    assert_eq!(
        (listed.last_seq, listed.read_seq, listed.unread_count),
        (1, 0, 1)
    );
    assert_eq!(listed.last_activity_at, news.created_at);
    assert_eq!(listed.last_message, Some(news));

    let senders_view = fx
        .store
        .chats(alice.actor)
        .await
        .expect("listing chats")
        .remove(0);
    assert_eq!(senders_view.role, Role::Owner);
    assert_eq!(
        (senders_view.read_seq, senders_view.unread_count),
        (1, 0),
        "one's own message is read"
    );
}

async fn renaming_needs_an_admin(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    fx.set_role(&alice, chat_id, &bob, Role::Admin).await;

    for (renamer, title) in [
        (&alice, "Renamed by the owner"),
        (&bob, "Renamed by an admin"),
    ] {
        let outcome = fx
            .store
            .rename_chat(renamer.actor, chat_id, title.to_owned(), fx.now())
            .await
            .expect("renaming");
        let updated = only(
            &outcome.events,
            "chat.updated",
            |event| matches!(event, Event::ChatUpdated { chat, .. } if chat.id == chat_id),
        );
        assert_on_chat(updated, chat_id, None);
        let Event::ChatUpdated { chat, by, renamed } = &updated.event else {
            unreachable!()
        };
        assert_eq!(chat.title.as_deref(), Some(title));
        assert_eq!(
            (*by, *renamed),
            (Some(renamer.id()), true),
            "who renamed it"
        );
        assert_eq!(fx.view(&carol, chat_id).await.title.as_deref(), Some(title));
    }

    assert_refused(
        fx.store
            .rename_chat(carol.actor, chat_id, "By a member".to_owned(), fx.now())
            .await,
        &[ErrorCode::Forbidden],
        "a member renames a group",
    );
    let direct = fx.direct(&alice, &bob).await;
    assert_refused(
        fx.store
            .rename_chat(alice.actor, direct, "Us".to_owned(), fx.now())
            .await,
        &[ErrorCode::Forbidden],
        "renaming a direct chat",
    );
}

async fn adding_members_needs_an_admin(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave, erin] =
        fx.people(["alice", "bob", "carol", "dave", "erin"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    fx.set_role(&alice, chat_id, &bob, Role::Admin).await;

    let outcome = fx
        .store
        .add_members(bob.actor, chat_id, vec![dave.id()], fx.now())
        .await
        .expect("an admin adds a member");
    assert_member_added(&outcome.events, chat_id, &dave, Some(bob.id()));
    assert_eq!(fx.view(&dave, chat_id).await.role, Role::Member);
    assert_eq!(fx.view(&alice, chat_id).await.member_count, 4);

    assert_refused(
        fx.store
            .add_members(carol.actor, chat_id, vec![erin.id()], fx.now())
            .await,
        &[ErrorCode::Forbidden],
        "a member adds someone",
    );
    // Adding a member again may be ignored or refused; either way nobody is counted twice.
    match fx
        .store
        .add_members(alice.actor, chat_id, vec![dave.id()], fx.now())
        .await
    {
        Ok(_) => {}
        refused => assert_refused(
            refused,
            &[ErrorCode::AlreadyMember],
            "adding a member again",
        ),
    }
    assert_refused(
        fx.store
            .add_members(alice.actor, chat_id, vec![NO_SUCH_USER], fx.now())
            .await,
        &[ErrorCode::UserNotFound],
        "adding an unknown user",
    );
    assert_eq!(fx.view(&alice, chat_id).await.member_count, 4);
    assert_eq!(fx.roles(&alice, chat_id).await.len(), 4);

    let direct = fx.direct(&alice, &bob).await;
    assert_refused(
        fx.store
            .add_members(alice.actor, direct, vec![erin.id()], fx.now())
            .await,
        &[ErrorCode::Forbidden],
        "adding someone to a direct chat",
    );
}

async fn removing_members_follows_rank(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave, erin] =
        fx.people(["alice", "bob", "carol", "dave", "erin"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol, &dave, &erin]).await;
    fx.set_role(&alice, chat_id, &bob, Role::Admin).await;
    fx.set_role(&alice, chat_id, &carol, Role::Admin).await;

    let forbidden = [
        (&carol, &bob, "an admin removes an admin"),
        (&bob, &alice, "an admin removes the owner"),
        (&dave, &erin, "a member removes a member"),
        (&dave, &alice, "a member removes the owner"),
    ];
    for (remover, removed, what) in forbidden {
        let result = fx
            .store
            .remove_member(remover.actor, chat_id, removed.id(), fx.now())
            .await;
        assert_refused(result, &[ErrorCode::Forbidden], what);
    }

    for (remover, removed) in [(&carol, &dave), (&alice, &bob)] {
        let outcome = fx
            .store
            .remove_member(remover.actor, chat_id, removed.id(), fx.now())
            .await
            .expect("removing someone of lower rank");
        assert_removal_published(&outcome.events, chat_id, removed.id(), remover.id());
        fx.assert_locked_out(removed, chat_id).await;
    }
    assert_eq!(fx.view(&alice, chat_id).await.member_count, 3);
    let snapshot = fx
        .store
        .chat_members(chat_id)
        .await
        .expect("reading members");
    assert_eq!(sorted(snapshot.user_ids), ids(&[&alice, &carol, &erin]));
}

async fn owners_delete_groups_for_everyone(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave] = fx.people(["alice", "bob", "carol", "dave"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    fx.set_role(&alice, chat_id, &carol, Role::Admin).await;
    let seq = fx.send(&bob, chat_id, "Сбор в 9:00").await.seq;
    fx.react(&carol, chat_id, seq, "👍").await;
    let delete = |who: &Person, chat_id: ChatId| fx.store.delete_chat(who.actor, chat_id, fx.now());
    assert_refused(
        delete(&carol, chat_id).await,
        &[ErrorCode::Forbidden],
        "an admin",
    );
    assert_refused(
        delete(&bob, chat_id).await,
        &[ErrorCode::Forbidden],
        "a member",
    );
    assert_refused(
        delete(&dave, chat_id).await,
        &[ErrorCode::NotMember],
        "an outsider",
    );
    let direct = fx.direct(&alice, &bob).await;
    assert_refused(
        delete(&alice, direct).await,
        &[ErrorCode::Forbidden],
        "a direct chat",
    );
    let org = fx.org(&alice).await;
    let kept = fx.group(&alice, &[&bob]).await;
    let kept_chat = OrgChat {
        unit_id: None,
        purpose: ChatPurpose::StaffRoom,
        chat_id: kept,
    };
    fx.store.add_org_chat(org.id, kept_chat).await.unwrap();
    assert_refused(
        delete(&alice, kept).await,
        &[ErrorCode::Forbidden],
        "a roster's chat",
    );

    let before = fx.cursor(&bob).await;
    let outcome = delete(&alice, chat_id).await.expect("the owner deletes it");
    let told: Vec<(UserId, &Event)> = outcome
        .events
        .iter()
        .map(|published| match published.route {
            Route::User { user_id, .. } => (user_id, &published.event),
            other => panic!("only members' own streams are told: {other:?}"),
        })
        .collect();
    for (user_id, event) in &told {
        assert_eq!(
            **event,
            Event::MemberRemoved {
                chat_id,
                user_id: *user_id,
                by: Some(alice.id()),
            }
        );
    }
    assert_eq!(
        sorted(told.iter().map(|(user_id, _)| *user_id).collect()),
        ids(&[&alice, &bob, &carol])
    );
    for who in [&alice, &bob, &carol] {
        fx.assert_locked_out(who, chat_id).await;
        assert!(!fx.chat_ids(who).await.contains(&chat_id));
    }
    // An emptied row keeps the id, so no later chat takes it (cursors and caches name chats
    // by id), and a bot told of the deletion still learns what kind of chat it was.
    assert_eq!(
        fx.store.chat_kind(chat_id).await.unwrap(),
        Some(ChatKind::Group)
    );
    let newest = fx.group(&bob, &[&carol]).await;
    delete(&bob, newest).await.unwrap();
    let next = fx.group(&bob, &[&carol]).await;
    assert!(next > newest, "the newest chat's id is not given again");
    match fx.catch_up(&bob, &before).await {
        CatchUp::Events(events) => assert!(
            events.iter().any(|published| matches!(published.event, Event::MemberRemoved { chat_id: gone, .. } if gone == chat_id)),
            "a device that was away learns it on resuming"
        ),
        other => panic!("expected events, got {other:?}"),
    }
    assert_refused(
        delete(&alice, chat_id).await,
        &[ErrorCode::NotMember],
        "deleted twice",
    );
}

async fn leaving_chats(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    let leave = |who: &Person, chat_id: ChatId| {
        fx.store
            .remove_member(who.actor, chat_id, who.id(), fx.now())
    };

    let outcome = leave(&bob, chat_id).await.expect("a member leaves");
    assert_removal_published(&outcome.events, chat_id, bob.id(), bob.id());
    fx.assert_locked_out(&bob, chat_id).await;

    assert_refused(
        leave(&alice, chat_id).await,
        &[ErrorCode::OwnerMustTransfer],
        "the owner leaves while others remain",
    );
    let direct = fx.direct(&alice, &bob).await;
    for who in [&alice, &bob] {
        assert_refused(
            leave(who, direct).await,
            &[ErrorCode::Forbidden],
            "leaving a direct chat",
        );
    }

    fx.store
        .transfer_ownership(alice.actor, chat_id, carol.id(), fx.now())
        .await
        .expect("handing over");
    leave(&alice, chat_id)
        .await
        .expect("the former owner leaves");
    leave(&carol, chat_id)
        .await
        .expect("the last member, the owner, leaves");
    fx.assert_locked_out(&carol, chat_id).await;
}

async fn roles_are_set_by_the_owner_only(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave] = fx.people(["alice", "bob", "carol", "dave"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    let set_role = |actor: &Person, target: &Person, role: Role| {
        fx.store
            .set_role(actor.actor, chat_id, target.id(), role, fx.now())
    };

    let outcome = set_role(&alice, &bob, Role::Admin)
        .await
        .expect("the owner promotes");
    let promoted = Event::MemberUpdated {
        chat_id,
        user_id: bob.id(),
        role: Role::Admin,
    };
    assert_on_chat(exactly_one(&outcome.events, &promoted), chat_id, None);
    assert_eq!(fx.view(&bob, chat_id).await.role, Role::Admin);

    let forbidden = [
        (&bob, &carol, Role::Admin, "an admin promotes"),
        (&carol, &bob, Role::Member, "a member demotes an admin"),
        (&alice, &alice, Role::Member, "the owner demotes herself"),
    ];
    for (actor, target, role, what) in forbidden {
        assert_refused(
            set_role(actor, target, role).await,
            &[ErrorCode::Forbidden],
            what,
        );
    }
    assert_refused(
        set_role(&alice, &carol, Role::Owner).await,
        &[ErrorCode::InvalidRole],
        "making someone owner",
    );
    assert_refused(
        set_role(&alice, &dave, Role::Admin).await,
        &[ErrorCode::NotMember, ErrorCode::UserNotFound],
        "promoting a non-member",
    );

    set_role(&alice, &bob, Role::Member)
        .await
        .expect("the owner demotes");
    assert_eq!(fx.view(&bob, chat_id).await.role, Role::Member);

    let direct = fx.direct(&alice, &carol).await;
    assert_refused(
        fx.store
            .set_role(alice.actor, direct, carol.id(), Role::Admin, fx.now())
            .await,
        &[ErrorCode::Forbidden],
        "setting a role in a direct chat",
    );
}

async fn ownership_moves_by_transfer(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave] = fx.people(["alice", "bob", "carol", "dave"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    fx.set_role(&alice, chat_id, &bob, Role::Admin).await;
    let transfer = |from: &Person, to: &Person| {
        fx.store
            .transfer_ownership(from.actor, chat_id, to.id(), fx.now())
    };

    assert_refused(
        transfer(&bob, &carol).await,
        &[ErrorCode::Forbidden],
        "an admin transfers",
    );
    assert_refused(
        transfer(&alice, &dave).await,
        &[ErrorCode::NotMember, ErrorCode::UserNotFound],
        "transferring to a non-member",
    );

    let outcome = transfer(&alice, &carol).await.expect("the owner transfers");
    for (user_id, role) in [(carol.id(), Role::Owner), (alice.id(), Role::Admin)] {
        let updated = Event::MemberUpdated {
            chat_id,
            user_id,
            role,
        };
        assert_on_chat(exactly_one(&outcome.events, &updated), chat_id, None);
    }
    let expected = BTreeMap::from([
        (alice.id(), Role::Admin),
        (bob.id(), Role::Admin),
        (carol.id(), Role::Owner),
    ]);
    assert_eq!(fx.roles(&bob, chat_id).await, expected);
    assert_refused(
        transfer(&alice, &bob).await,
        &[ErrorCode::Forbidden],
        "the former owner transfers",
    );

    let direct = fx.direct(&alice, &bob).await;
    assert_refused(
        fx.store
            .transfer_ownership(alice.actor, direct, bob.id(), fx.now())
            .await,
        &[ErrorCode::Forbidden],
        "transferring a direct chat",
    );
}

// ------------------------------------------------------------------------------------------------
// Invite links

async fn invite_links_are_managed_by_admins(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave] = fx.people(["alice", "bob", "carol", "dave"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    fx.set_role(&alice, chat_id, &bob, Role::Admin).await;

    let created_at = fx.now();
    let invite = fx
        .invite_at(&bob, chat_id, "class-5b", None, Some(30), created_at)
        .await;
    let expected = Invite {
        code: "class-5b".to_owned(),
        chat_id,
        created_by: bob.id(),
        created_at,
        expires_at: None,
        max_uses: Some(30),
        uses: 0,
    };
    assert_eq!(invite, expected);
    assert_eq!(
        fx.store
            .invites(alice.actor, chat_id)
            .await
            .expect("listing"),
        vec![expected]
    );

    let by_member = NewInvite {
        code: "by-carol".to_owned(),
        expires_at: None,
        max_uses: None,
    };
    assert_refused(
        fx.store
            .create_invite(carol.actor, chat_id, by_member.clone(), fx.now())
            .await,
        &[ErrorCode::Forbidden],
        "a member creates an invite",
    );
    assert_refused(
        fx.store.invites(carol.actor, chat_id).await,
        &[ErrorCode::Forbidden],
        "a member lists invites",
    );
    assert_refused(
        fx.store
            .revoke_invite(carol.actor, chat_id, "class-5b")
            .await,
        &[ErrorCode::Forbidden],
        "a member revokes an invite",
    );
    let direct = fx.direct(&alice, &bob).await;
    assert_refused(
        fx.store
            .create_invite(alice.actor, direct, by_member, fx.now())
            .await,
        &[ErrorCode::Forbidden],
        "an invite to a direct chat",
    );

    fx.store
        .revoke_invite(alice.actor, chat_id, "class-5b")
        .await
        .expect("revoking");
    let left = fx
        .store
        .invites(alice.actor, chat_id)
        .await
        .expect("listing");
    assert!(left.is_empty(), "a revoked invite is not listed");
    assert_refused(
        fx.store.invite_preview("class-5b", fx.now()).await,
        &[ErrorCode::InviteNotFound],
        "previewing a revoked invite",
    );
    assert_refused(
        fx.store
            .join_by_invite(dave.actor, "class-5b", fx.now())
            .await,
        &[ErrorCode::InviteNotFound],
        "joining by a revoked invite",
    );
    assert_refused(
        fx.store.invite_preview("no-such-code", fx.now()).await,
        &[ErrorCode::InviteNotFound],
        "previewing an unknown code",
    );
}

async fn joining_by_invite(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave, erin] =
        fx.people(["alice", "bob", "carol", "dave", "erin"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let join = |who: &Person, code: &'static str, now: Millis| {
        fx.store.join_by_invite(who.actor, code, now)
    };

    fx.invite_at(&alice, chat_id, "open", None, None, fx.now())
        .await;
    let preview = fx
        .store
        .invite_preview("open", fx.now())
        .await
        .expect("previewing");
    let chat = ChatInfo {
        id: chat_id,
        kind: ChatKind::Group,
        title: fx.view(&alice, chat_id).await.title,
        member_count: 2,
        posting: Posting::Everyone,
        slow_mode_secs: 0,
        privacy: kolokol_proto::ChatPrivacy::Community,
    };
    assert_eq!(
        preview,
        InvitePreview {
            code: "open".to_owned(),
            chat
        }
    );

    let outcome = join(&carol, "open", fx.now()).await.expect("joining");
    assert_eq!(outcome.value, chat_id);
    assert_member_added(&outcome.events, chat_id, &carol, None);
    assert_eq!(fx.view(&carol, chat_id).await.role, Role::Member);
    assert_eq!(fx.view(&alice, chat_id).await.member_count, 3);

    // Members cannot join again, and their attempts do not use the link up.
    for who in [&carol, &bob] {
        assert_refused(
            join(who, "open", fx.now()).await,
            &[ErrorCode::AlreadyMember],
            "joining again",
        );
    }
    let invites = fx
        .store
        .invites(alice.actor, chat_id)
        .await
        .expect("listing");
    assert_eq!(
        invites.iter().map(|invite| invite.uses).collect::<Vec<_>>(),
        vec![1]
    );

    fx.invite_at(&alice, chat_id, "single-use", None, Some(1), fx.now())
        .await;
    join(&dave, "single-use", fx.now())
        .await
        .expect("using a single-use invite");
    assert_refused(
        join(&erin, "single-use", fx.now()).await,
        &[ErrorCode::InviteUsedUp],
        "using an invite once too often",
    );

    let expires_at = fx.now() + 60_000;
    fx.invite_at(
        &alice,
        chat_id,
        "expiring",
        Some(expires_at),
        None,
        fx.now(),
    )
    .await;
    let expired = &[ErrorCode::InviteExpired];
    assert_refused(
        join(&erin, "expiring", expires_at + 1).await,
        expired,
        "joining by an expired invite",
    );
    assert_refused(
        fx.store.invite_preview("expiring", expires_at + 1).await,
        expired,
        "previewing an expired invite",
    );
    assert_refused(
        fx.store.chat(erin.actor, chat_id).await,
        &[ErrorCode::NotMember],
        "erin never got in",
    );
}

// ------------------------------------------------------------------------------------------------
// Messages

async fn sends_get_gap_free_seqs(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let other_chat = fx.group(&alice, &[&bob]).await;

    for seq in 1..=3 {
        let now = fx.now();
        let client_msg_id = format!("hello-{seq}");
        let outcome = fx
            .store
            .send_message(
                alice.actor,
                chat_id,
                new_message(&client_msg_id, "Hello @nobody"),
                now,
            )
            .await
            .expect("sending");
        let (message, created) = outcome.value;
        assert!(created);
        let expected = Message {
            id: message.id,
            chat_id,
            seq,
            sender_id: alice.id(),
            client_msg_id,
            text: "Hello @nobody".to_owned(),
            reply_to: None,
            mentions: vec![],
            reactions: vec![],
            created_at: now,
            edited_at: None,
            deleted: false,
            poll: None,
            thread_of: None,
            keyboard: Vec::new(),
            markup: Vec::new(),
            attachments: Vec::new(),
            mls: None,
        };
        assert_eq!(message, expected);
        let published = only(&outcome.events, "message.new", |event| {
            matches!(event, Event::MessageNew { .. })
        });
        assert_on_chat(published, chat_id, None);
        assert_eq!(published.event, Event::MessageNew { message: expected });
    }
    assert_eq!(
        fx.send(&bob, other_chat, "elsewhere").await.seq,
        1,
        "each chat counts its own seqs"
    );

    let chat = fx.view(&bob, chat_id).await;
    assert_eq!(chat.last_seq, 3);
    assert_eq!(chat.last_message.map(|message| message.seq), Some(3));
}

async fn sends_are_idempotent_per_sender_and_chat(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let other_chat = fx.group(&alice, &[&bob]).await;
    let send = |who: &Person, chat_id: ChatId, text: &'static str| {
        fx.store
            .send_message(who.actor, chat_id, new_message("same-id", text), fx.now())
    };

    let (original, created) = send(&alice, chat_id, "Hello").await.expect("sending").value;
    assert!(created);

    let repeated = send(&alice, chat_id, "Hello again")
        .await
        .expect("resending");
    assert_eq!(
        repeated.value,
        (original, false),
        "a resend returns the original"
    );
    assert!(repeated.events.is_empty(), "a resend publishes nothing");

    let (from_bob, created) = send(&bob, chat_id, "Hi").await.expect("sending").value;
    assert!(
        created,
        "the same id from another sender is another message"
    );
    assert_eq!(from_bob.seq, 2);

    let (elsewhere, created) = send(&alice, other_chat, "Hello")
        .await
        .expect("sending")
        .value;
    assert!(created, "the same id in another chat is another message");
    assert_eq!(elsewhere.seq, 1);

    assert_eq!(seqs(&fx.history(&bob, chat_id).await), vec![1, 2]);
}

async fn replies_must_point_at_existing_messages(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    fx.send_many(&alice, chat_id, 2).await;
    let reply = |reply_to: Seq| {
        let message = NewMessage {
            reply_to: Some(reply_to),
            ..new_message(&fx.unique("reply"), "Re")
        };
        fx.store.send_message(bob.actor, chat_id, message, fx.now())
    };

    for missing in [0, -1, 3] {
        assert_refused(
            reply(missing).await,
            &[ErrorCode::MessageNotFound],
            "replying to a missing message",
        );
    }
    let (message, _) = reply(1).await.expect("replying").value;
    assert_eq!(
        (message.seq, message.reply_to),
        (3, Some(1)),
        "refused sends take no seq"
    );
}

async fn only_managers_post_in_channels(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave] = fx.people(["alice", "bob", "carol", "dave"]).await;
    let channel = fx.create(&alice, ChatKind::Channel, &[&bob, &carol]).await;
    fx.set_role(&alice, channel, &bob, Role::Admin).await;
    let post = |who: &Person| {
        fx.store.send_message(
            who.actor,
            channel,
            new_message(&fx.unique("post"), "Notice"),
            fx.now(),
        )
    };

    assert_refused(
        post(&carol).await,
        &[ErrorCode::Forbidden],
        "a member posts in a channel",
    );
    assert_refused(
        post(&dave).await,
        &[ErrorCode::NotMember],
        "an outsider posts in a channel",
    );
    assert_eq!(post(&bob).await.expect("an admin posts").value.0.seq, 1);
    assert_eq!(post(&alice).await.expect("the owner posts").value.0.seq, 2);
}

async fn mentions_resolve_to_users(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;

    let text = "@bob and @Carol, see you. cc @nobody, mail@example.com";
    let sent = fx.send(&alice, chat_id, text).await;
    assert_eq!(sent.text, text, "the text is stored as given");
    assert_eq!(
        sorted(sent.mentions),
        ids(&[&bob, &carol]),
        "unknown names are not mentions"
    );
    let stored = fx.message_at(&bob, chat_id, sent.seq).await;
    assert_eq!(sorted(stored.mentions), ids(&[&bob, &carol]));
}

async fn concurrent_sends_take_every_seq_once(store: Arc<dyn Store>) {
    const SENDERS: usize = 8;
    const SENDS_EACH: i64 = 25;
    const TOTAL: i64 = SENDERS as i64 * SENDS_EACH;

    let fx = Fixture::new(store);
    let mut senders = Vec::new();
    for index in 0..SENDERS {
        senders.push(fx.person(&format!("sender{index}")).await);
    }
    let others: Vec<&Person> = senders[1..].iter().collect();
    let chat_id = fx.group(&senders[0], &others).await;

    // Every sender sends its messages one by one, all senders at once.
    let send_all = |now: Millis| {
        let tasks = senders.iter().enumerate().map(|(index, sender)| {
            let (store, actor) = (Arc::clone(&fx.store), sender.actor);
            tokio::spawn(async move {
                let mut sent = Vec::new();
                for n in 0..SENDS_EACH {
                    let message = new_message(&format!("s{index}-{n}"), "in a crowd");
                    let outcome = store.send_message(actor, chat_id, message, now).await;
                    sent.push(outcome.expect("a concurrent send").value);
                }
                sent
            })
        });
        join_all(tasks.collect())
    };
    let by_client_id = |sent: &[(Message, bool)]| -> BTreeMap<(UserId, String), Seq> {
        sent.iter()
            .map(|(message, _)| {
                (
                    (message.sender_id, message.client_msg_id.clone()),
                    message.seq,
                )
            })
            .collect()
    };

    let first: Vec<_> = send_all(fx.now()).await.into_iter().flatten().collect();
    assert!(
        first.iter().all(|(_, created)| *created),
        "every first send creates"
    );
    let mut first_seqs: Vec<Seq> = first.iter().map(|(message, _)| message.seq).collect();
    first_seqs.sort();
    assert_eq!(
        first_seqs,
        (1..=TOTAL).collect::<Vec<_>>(),
        "every seq taken exactly once"
    );

    let resent: Vec<_> = send_all(fx.now()).await.into_iter().flatten().collect();
    assert!(
        resent.iter().all(|(_, created)| !created),
        "every resend finds its original"
    );
    assert_eq!(
        by_client_id(&resent),
        by_client_id(&first),
        "resends return the originals"
    );
    assert_eq!(
        seqs(&fx.history(&senders[0], chat_id).await),
        (1..=TOTAL).collect::<Vec<_>>()
    );

    // One sender's client retries the same message from several connections at once.
    let now = fx.now();
    let racers = (0..SENDERS).map(|_| {
        let (store, actor) = (Arc::clone(&fx.store), senders[0].actor);
        tokio::spawn(async move {
            let outcome = store
                .send_message(actor, chat_id, new_message("raced", "once"), now)
                .await;
            outcome.expect("a racing send").value
        })
    });
    let raced = join_all(racers.collect()).await;
    let created = raced.iter().filter(|(_, created)| *created).count();
    assert_eq!(created, 1, "racing resends store the message once");
    assert!(
        raced.iter().all(|(message, _)| message.seq == TOTAL + 1),
        "all racers get the one message"
    );
    assert_eq!(fx.view(&senders[1], chat_id).await.last_seq, TOTAL + 1);
}

async fn history_pages_are_ascending(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    fx.send_many(&alice, chat_id, 10).await;

    let page = |before, after, limit| Page {
        before,
        after,
        limit,
    };
    let cases = [
        (page(None, None, 3), vec![8, 9, 10]),
        (page(Some(5), None, 3), vec![2, 3, 4]),
        (page(Some(2), None, 3), vec![1]),
        (page(None, Some(5), 3), vec![6, 7, 8]),
        (page(None, Some(0), 3), vec![1, 2, 3]),
        (page(None, Some(10), 3), vec![]),
        (page(None, None, 20), (1..=10).collect()),
    ];
    for (page, expected) in cases {
        let messages = fx
            .store
            .messages(bob.actor, chat_id, page)
            .await
            .expect("reading history");
        assert_eq!(seqs(&messages), expected, "{page:?}");
    }
}

async fn editing_is_for_authors(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let draft = fx.send(&bob, chat_id, "draft").await;
    let edit = |who: &Person, seq: Seq, now: Millis| {
        fx.store.edit_message(
            who.actor,
            chat_id,
            seq,
            MessageEdit::text("final".to_owned()),
            now,
        )
    };

    let edited_at = fx.now();
    let outcome = edit(&bob, draft.seq, edited_at)
        .await
        .expect("the author edits");
    let expected = Message {
        text: "final".to_owned(),
        edited_at: Some(edited_at),
        ..draft.clone()
    };
    assert_eq!(outcome.value, expected);
    let published = only(&outcome.events, "message.edited", |event| {
        matches!(event, Event::MessageEdited { .. })
    });
    assert_on_chat(published, chat_id, None);
    assert_eq!(
        published.event,
        Event::MessageEdited {
            message: expected.clone()
        }
    );
    assert_eq!(fx.message_at(&alice, chat_id, draft.seq).await, expected);

    assert_refused(
        edit(&alice, draft.seq, fx.now()).await,
        &[ErrorCode::Forbidden],
        "the owner edits someone else's message",
    );
    assert_refused(
        edit(&bob, 99, fx.now()).await,
        &[ErrorCode::MessageNotFound],
        "editing a missing message",
    );

    fx.store
        .delete_message(bob.actor, chat_id, draft.seq, fx.now())
        .await
        .expect("deleting");
    assert_refused(
        edit(&bob, draft.seq, fx.now()).await,
        &[ErrorCode::MessageDeleted],
        "editing a deleted message",
    );
}

async fn deleting_leaves_a_tombstone(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave] = fx.people(["alice", "bob", "carol", "dave"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol, &dave]).await;
    fx.set_role(&alice, chat_id, &bob, Role::Admin).await;
    let from_carol = fx.send(&carol, chat_id, "hi @dave").await;
    fx.react(&dave, chat_id, from_carol.seq, THUMBS_UP).await;
    let from_dave = fx.send(&dave, chat_id, "hello").await;
    let delete = |who: &Person, chat_id: ChatId, seq: Seq| {
        fx.store.delete_message(who.actor, chat_id, seq, fx.now())
    };

    assert_refused(
        delete(&carol, chat_id, from_dave.seq).await,
        &[ErrorCode::Forbidden],
        "a member deletes someone else's message",
    );
    let outcome = delete(&carol, chat_id, from_carol.seq)
        .await
        .expect("the author deletes");
    let deleted = Event::MessageDeleted {
        chat_id,
        seq: from_carol.seq,
    };
    assert_on_chat(exactly_one(&outcome.events, &deleted), chat_id, None);
    delete(&bob, chat_id, from_dave.seq)
        .await
        .expect("an admin deletes someone else's message");

    let history = fx.history(&alice, chat_id).await;
    assert_eq!(seqs(&history), vec![1, 2], "tombstones keep their seqs");
    for (tombstone, sender) in history.iter().zip([&carol, &dave]) {
        assert!(tombstone.deleted);
        assert_eq!(tombstone.sender_id, sender.id());
        assert_eq!(tombstone.text, "", "a tombstone keeps no text");
        assert!(
            tombstone.mentions.is_empty(),
            "a tombstone keeps no mentions"
        );
        assert!(
            tombstone.reactions.is_empty(),
            "a tombstone keeps no reactions"
        );
    }
    assert_eq!(fx.send(&alice, chat_id, "next").await.seq, 3);
    assert_refused(
        delete(&alice, chat_id, 99).await,
        &[ErrorCode::MessageNotFound],
        "deleting a missing message",
    );

    let direct = fx.direct(&alice, &bob).await;
    let hers = fx.send(&alice, direct, "just between us").await;
    assert_refused(
        delete(&bob, direct, hers.seq).await,
        &[ErrorCode::Forbidden],
        "deleting the other person's message in a direct chat",
    );
}

async fn reactions_toggle(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave] = fx.people(["alice", "bob", "carol", "dave"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    let seq = fx.send(&alice, chat_id, "vote").await.seq;
    let toggle = |who: &Person, seq: Seq, emoji: &str| {
        fx.store
            .toggle_reaction(who.actor, chat_id, seq, emoji.to_owned(), fx.now())
    };

    let steps = [
        (&bob, THUMBS_UP, true, vec![(THUMBS_UP, vec![&bob])]),
        (
            &carol,
            THUMBS_UP,
            true,
            vec![(THUMBS_UP, vec![&bob, &carol])],
        ),
        (
            &bob,
            HEART,
            true,
            vec![(HEART, vec![&bob]), (THUMBS_UP, vec![&bob, &carol])],
        ),
        (
            &bob,
            THUMBS_UP,
            false,
            vec![(HEART, vec![&bob]), (THUMBS_UP, vec![&carol])],
        ),
        (&carol, THUMBS_UP, false, vec![(HEART, vec![&bob])]),
    ];
    for (who, emoji, added, expected) in steps {
        let outcome = toggle(who, seq, emoji).await.expect("toggling a reaction");
        assert_eq!(
            outcome.value, added,
            "{} toggles {emoji}",
            who.user.display_name
        );
        let reaction = Event::Reaction {
            chat_id,
            seq,
            user_id: who.id(),
            emoji: emoji.to_owned(),
            added,
        };
        assert_on_chat(exactly_one(&outcome.events, &reaction), chat_id, None);

        let expected: BTreeMap<String, Vec<UserId>> = expected
            .into_iter()
            .map(|(emoji, people)| (emoji.to_owned(), ids(&people)))
            .collect();
        assert_eq!(
            reactions_of(&fx.message_at(&alice, chat_id, seq).await),
            expected
        );
    }

    assert_refused(
        toggle(&dave, seq, THUMBS_UP).await,
        &[ErrorCode::NotMember],
        "an outsider reacts",
    );
    assert_refused(
        toggle(&bob, 99, THUMBS_UP).await,
        &[ErrorCode::MessageNotFound],
        "reacting to nothing",
    );
}

async fn read_markers_only_move_forward(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    fx.send_many(&alice, chat_id, 3).await;
    let mark_read = |who: &Person, seq: Seq| fx.store.mark_read(who.actor, chat_id, seq, fx.now());
    let read_state = async |who: &Person| {
        let chat = fx.view(who, chat_id).await;
        (chat.read_seq, chat.unread_count)
    };
    assert_eq!(read_state(&bob).await, (0, 3));

    let outcome = mark_read(&bob, 2).await.expect("marking read");
    exactly_one(
        &outcome.events,
        &Event::Read {
            chat_id,
            user_id: bob.id(),
            seq: 2,
        },
    );
    assert_eq!(read_state(&bob).await, (2, 1));

    mark_read(&bob, 1)
        .await
        .expect("marking an older message read");
    assert_eq!(read_state(&bob).await, (2, 1), "a marker never moves back");

    // Past the newest message a marker may be clamped or refused, but never lands beyond it.
    match mark_read(&bob, 99).await {
        Ok(_) | Err(StoreError::Rejected(_)) => {}
        Err(failure) => panic!("marking past the end failed: {failure:?}"),
    }
    let (read_seq, unread) = read_state(&bob).await;
    assert!(
        (2..=3).contains(&read_seq),
        "the marker stays within the chat, at {read_seq}"
    );
    assert_eq!(unread, 3 - read_seq);

    // Sending reads everything up to one's own message.
    let from_bob = fx.send(&bob, chat_id, "thanks").await;
    assert_eq!(read_state(&bob).await, (4, 0));
    assert_eq!(
        read_state(&alice).await,
        (3, 1),
        "others' messages count as unread"
    );

    mark_read(&carol, 1).await.expect("marking read");
    let read_by = async |who: &Person, seq: Seq| {
        sorted(
            fx.store
                .read_by(who.actor, chat_id, seq)
                .await
                .expect("reading read_by"),
        )
    };
    assert_eq!(
        read_by(&bob, 1).await,
        ids(&[&bob, &carol]),
        "the sender is not listed"
    );
    assert_eq!(read_by(&bob, 2).await, ids(&[&bob]));
    assert_eq!(read_by(&carol, from_bob.seq).await, Vec::<UserId>::new());
    mark_read(&alice, from_bob.seq).await.expect("marking read");
    assert_eq!(read_by(&carol, from_bob.seq).await, ids(&[&alice]));

    // Every member's marker at once, the sender's own included.
    let mut markers = fx.store.read_markers(chat_id).await.expect("read markers");
    markers.sort();
    let mut expected = vec![
        (alice.id(), from_bob.seq),
        (bob.id(), from_bob.seq),
        (carol.id(), 1),
    ];
    expected.sort();
    assert_eq!(markers, expected);
    assert!(
        fx.store
            .read_markers(NO_SUCH_CHAT)
            .await
            .unwrap()
            .is_empty()
    );
}

// ------------------------------------------------------------------------------------------------
// Event streams

async fn member_snapshots_follow_membership(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    fx.assert_snapshot(chat_id, &[&alice, &bob]).await;

    fx.add_member(&alice, chat_id, &carol).await;
    fx.assert_snapshot(chat_id, &[&alice, &bob, &carol]).await;

    fx.send(&carol, chat_id, "hello").await;
    fx.assert_snapshot(chat_id, &[&alice, &bob, &carol]).await;

    fx.remove_member(&alice, chat_id, &bob).await;
    fx.assert_snapshot(chat_id, &[&alice, &carol]).await;
    fx.assert_streams_gap_free();
}

async fn catch_up_returns_exactly_what_was_missed(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave] = fx.people(["alice", "bob", "carol", "dave"]).await;
    // Bob stays in the first chat, joins the second while offline and is removed from the third.
    let stays = fx.group(&alice, &[&bob, &carol]).await;
    let joins = fx.group(&alice, &[&carol]).await;
    let leaves = fx.group(&alice, &[&bob]).await;
    let early = fx.send(&alice, stays, "before bob goes offline").await;

    let cursor = fx.cursor(&bob).await;
    let heads = BTreeMap::from([(stays, fx.head_of(stays)), (leaves, fx.head_of(leaves))]);
    assert_eq!(
        cursor.chats, heads,
        "the current cursor is the end of each of bob's chats"
    );

    // Everything from here on happens while bob is offline.
    let greeting = fx.send(&alice, stays, "hello").await;
    let reply = fx.send(&carol, stays, "hi all").await;
    fx.mark_read(&bob, stays, reply.seq).await;
    fx.send(&bob, stays, "from bob's other device").await;
    fx.edit(&alice, stays, greeting.seq, "hello, everyone")
        .await;
    fx.react(&carol, stays, greeting.seq, THUMBS_UP).await;
    fx.rename(&alice, stays, "Renamed").await;
    fx.set_role(&alice, stays, &carol, Role::Admin).await;
    fx.send(&alice, joins, "before bob joins").await;
    fx.add_member(&alice, joins, &bob).await;
    fx.send(&carol, joins, "welcome, bob").await;
    fx.send(&alice, leaves, "while bob is still in").await;
    fx.remove_member(&alice, leaves, &bob).await;
    let phone = fx.extra_session(&bob, "bob-phone").await;
    fx.revoke_session(&bob, phone).await;
    fx.delete(&alice, stays, early.seq).await;
    let elsewhere = fx.group(&carol, &[&dave]).await;
    fx.send(&dave, elsewhere, "nothing to do with bob").await;
    fx.assert_streams_gap_free();

    let bobs_chats = [stays, joins];
    let expected = by_stream(&missed_by(bob.id(), &cursor, &bobs_chats, &fx.logged()));
    let streams: BTreeSet<Stream> = expected.keys().copied().collect();
    let bobs_streams = BTreeSet::from([
        Stream::User(bob.id()),
        Stream::Chat(stays),
        Stream::Chat(joins),
    ]);
    assert_eq!(
        streams, bobs_streams,
        "the scenario touches each of bob's streams"
    );

    let at_once = fx.catch_up(&bob, &cursor).await;
    assert_eq!(
        by_stream(&events_of(at_once)),
        expected,
        "catching up at once"
    );

    let (paged, end) = catch_up_in_pages(&*fx.store, bob.id(), &cursor, 3).await;
    assert_eq!(
        by_stream(&paged),
        expected,
        "catching up three at a time: each event once"
    );

    let current = fx.cursor(&bob).await;
    let chats: BTreeSet<ChatId> = current.chats.keys().copied().collect();
    assert_eq!(
        chats,
        BTreeSet::from(bobs_chats),
        "the cursor follows the chats bob is in"
    );
    assert_eq!(
        end.user_pos, current.user_pos,
        "paging reached the end of bob's stream"
    );
    for (&chat_id, &pos) in &current.chats {
        assert_eq!(
            pos,
            fx.head_of(chat_id),
            "the current cursor is at chat {chat_id}'s end"
        );
        assert_eq!(
            end.chats.get(&chat_id),
            Some(&pos),
            "paging reached chat {chat_id}'s end"
        );
    }
    let nothing = fx.catch_up(&bob, &current).await;
    assert_eq!(
        events_of(nothing),
        vec![],
        "nothing is missed at the current cursor"
    );
}

async fn pruned_cursors_resync(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    fx.send(&alice, chat_id, "seen").await;
    let old = fx.cursor(&bob).await;
    fx.send_many(&alice, chat_id, 2).await;

    let pruned = fx.store.prune_events(FAR_FUTURE).await.expect("pruning");
    assert!(pruned > 0, "pruning deleted the events");
    let current = match fx.catch_up(&bob, &old).await {
        CatchUp::Resync { current } => current,
        CatchUp::Events(events) => panic!("missed events were pruned, yet came back: {events:?}"),
    };
    assert_eq!(
        current,
        fx.cursor(&bob).await,
        "a resync starts from the current cursor"
    );

    let nothing = fx.catch_up(&bob, &current).await;
    assert_eq!(
        events_of(nothing),
        vec![],
        "a cursor at the end misses nothing pruned"
    );

    // Positions go on after pruning, so the new cursor stays good.
    fx.send(&alice, chat_id, "after pruning").await;
    let resumed = fx.catch_up(&bob, &current).await;
    let resumed = by_stream(&events_of(resumed));
    assert_eq!(
        resumed,
        by_stream(&missed_by(bob.id(), &current, &[chat_id], &fx.logged()))
    );
    let first = resumed
        .get(&Stream::Chat(chat_id))
        .and_then(|events| events.first());
    assert_eq!(first, Some(&(current.chats[&chat_id] + 1, "message.new")));
}

// ------------------------------------------------------------------------------------------------
// Organisations

const ROSTER: &str = "role,class,name,child,subjects
class_teacher,5Б,Смирнова Ольга Викторовна,,русский язык; литература
teacher,5Б,Кузнецов Павел Андреевич,,математика
student,5Б,Иванов Артём Сергеевич,,
guardian,5Б,Иванова Мария Петровна,Иванов Артём Сергеевич,
teacher,7А,Кузнецов Павел Андреевич,,алгебра
student,7А,Фёдоров Илья Олегович,,
guardian,7А,Смирнова Ольга Викторовна,Фёдоров Илья Олегович,
";

fn roster(csv: &str) -> Roster {
    roster::parse(csv.as_bytes()).expect("a valid roster")
}

impl Fixture {
    async fn org(&self, admin: &Person) -> Org {
        let new = NewOrg {
            name: "Школа №1".into(),
            time_zone: "Europe/Moscow".into(),
            service_user: NewUser {
                username: self.unique("org"),
                display_name: "Школа №1".into(),
                password_hash: "!".into(),
            },
        };
        self.store
            .create_org(new, admin.user.id, self.now())
            .await
            .expect("creating an org")
    }
}

async fn orgs_start_with_an_admin_and_a_service_account(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let org = fx.org(&alice).await;
    assert_eq!(org.name, "Школа №1");
    assert_eq!(fx.store.org(org.id).await.unwrap(), Some(org.clone()));
    assert_eq!(fx.store.org(org.id + 1000).await.unwrap(), None);
    let service = fx.store.user(org.service_user_id).await.unwrap();
    assert_eq!(
        service.expect("the service account").display_name,
        "Школа №1"
    );

    assert_eq!(
        fx.store.org_roles(org.id, alice.user.id).await.unwrap(),
        [OrgRole::Admin]
    );
    assert!(
        fx.store
            .org_roles(org.id, bob.user.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        fx.store.orgs_of(alice.user.id).await.unwrap(),
        std::slice::from_ref(&org)
    );
    assert!(fx.store.orgs_of(bob.user.id).await.unwrap().is_empty());

    fx.store
        .grant_org_role(org.id, bob.user.id, OrgRole::SafeguardingLead)
        .await
        .unwrap();
    // Granting twice is no error and no second row.
    fx.store
        .grant_org_role(org.id, bob.user.id, OrgRole::SafeguardingLead)
        .await
        .unwrap();
    assert_eq!(
        fx.store.org_roles(org.id, bob.user.id).await.unwrap(),
        [OrgRole::SafeguardingLead]
    );
}

async fn safeguarding_leads_find_and_review_direct_chats(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave] = fx.people(["alice", "bob", "carol", "dave"]).await;
    let org = fx.org(&alice).await;
    fx.store
        .grant_org_role(org.id, bob.id(), OrgRole::SafeguardingLead)
        .await
        .unwrap();
    assert_eq!(
        fx.store
            .org_role_holders(org.id, OrgRole::SafeguardingLead)
            .await
            .unwrap(),
        [bob.id()]
    );
    fx.store
        .revoke_org_role(org.id, bob.id(), OrgRole::SafeguardingLead)
        .await
        .unwrap();
    fx.store
        .revoke_org_role(org.id, bob.id(), OrgRole::SafeguardingLead)
        .await
        .unwrap();
    assert!(
        fx.store
            .org_role_holders(org.id, OrgRole::SafeguardingLead)
            .await
            .unwrap()
            .is_empty()
    );

    let carol_dave = fx.direct(&carol, &dave).await;
    fx.direct(&alice, &carol).await;
    fx.group(&carol, &[&dave]).await;
    let found = fx
        .store
        .direct_chats_among(vec![carol.id(), dave.id()])
        .await
        .unwrap();
    let (low, high) = (carol.id().min(dave.id()), carol.id().max(dave.id()));
    assert_eq!(
        found,
        [(carol_dave, low, high)],
        "direct chats only, both members named"
    );

    for text in ["один", "два", "три"] {
        fx.send(&carol, carol_dave, text).await;
    }
    let page = Page {
        limit: 2,
        ..Page::default()
    };
    let reviewed = fx.store.review_messages(carol_dave, page).await.unwrap();
    let seen = fx
        .store
        .messages(dave.actor, carol_dave, page)
        .await
        .unwrap();
    assert_eq!(reviewed, seen, "a reviewer sees what members see");
    assert!(
        fx.store
            .review_messages(NO_SUCH_CHAT, page)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn rosters_are_stored_as_read(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    let org = fx.org(&alice).await;
    assert_eq!(
        fx.store.roster(org.id).await.unwrap(),
        StoredRoster::default()
    );

    let read = roster(ROSTER);
    fx.store
        .save_roster(org.id, read.clone(), fx.now())
        .await
        .unwrap();
    let stored = fx.store.roster(org.id).await.unwrap();
    assert_eq!(
        stored.current(),
        read,
        "Russian names, subjects and links round-trip"
    );
    assert_eq!(stored.units.len(), 2);
    assert_eq!(stored.people.len(), 5);
    assert!(
        stored
            .people
            .iter()
            .all(|person| person.user_id.is_none() && !person.archived)
    );
    // Another org's roster is its own.
    let other = fx.org(&alice).await;
    assert_eq!(
        fx.store.roster(other.id).await.unwrap(),
        StoredRoster::default()
    );
}

async fn reimporting_keeps_ids_archives_and_restores(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    let org = fx.org(&alice).await;
    fx.store
        .save_roster(org.id, roster(ROSTER), fx.now())
        .await
        .unwrap();
    let first = fx.store.roster(org.id).await.unwrap();

    fx.store
        .save_roster(org.id, roster(ROSTER), fx.now())
        .await
        .unwrap();
    assert_eq!(
        fx.store.roster(org.id).await.unwrap(),
        first,
        "a re-import changes nothing"
    );

    // Фёдоров moves to 5Б; 7А's other rows leave, so 7А is archived.
    let moved = "role,class,name,child,subjects
class_teacher,5Б,Смирнова Ольга Викторовна,,русский язык; литература
teacher,5Б,Кузнецов Павел Андреевич,,математика
student,5Б,Иванов Артём Сергеевич,,
guardian,5Б,Иванова Мария Петровна,Иванов Артём Сергеевич,
student,5Б,Фёдоров Илья Олегович,,
";
    fx.store
        .save_roster(org.id, roster(moved), fx.now())
        .await
        .unwrap();
    let second = fx.store.roster(org.id).await.unwrap();
    assert_eq!(second.current(), roster(moved));
    let ids = |stored: &StoredRoster| -> Vec<(i64, String)> {
        stored
            .people
            .iter()
            .map(|p| (p.id, p.key.clone()))
            .collect()
    };
    assert_eq!(ids(&second), ids(&first), "nobody is added twice");
    let unit_7a = second.units.iter().find(|unit| unit.name == "7А").unwrap();
    assert!(unit_7a.archived);
    assert!(
        second.people.iter().all(|person| !person.archived),
        "everyone is still in 5Б"
    );

    // Without Смирнова's guardian place she stays (she teaches); a person with no place left goes.
    let without_ivanova = moved.replace(
        "guardian,5Б,Иванова Мария Петровна,Иванов Артём Сергеевич,\n",
        "",
    );
    fx.store
        .save_roster(org.id, roster(&without_ivanova), fx.now())
        .await
        .unwrap();
    let third = fx.store.roster(org.id).await.unwrap();
    let ivanova = third
        .people
        .iter()
        .find(|p| p.name == "Иванова Мария Петровна")
        .unwrap();
    assert!(ivanova.archived);
    assert_eq!(third.current(), roster(&without_ivanova));

    // Importing the first roster again restores the archived, with their old ids.
    fx.store
        .save_roster(org.id, roster(ROSTER), fx.now())
        .await
        .unwrap();
    assert_eq!(fx.store.roster(org.id).await.unwrap(), first);
}

async fn classes_are_renamed_in_order_and_archived(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let org = fx.org(&alice).await;
    let other = fx.org(&bob).await;
    fx.store
        .save_roster(org.id, roster(ROSTER), fx.now())
        .await
        .unwrap();
    let before = fx.store.roster(org.id).await.unwrap();
    let id_of = |name: &str| {
        before
            .units
            .iter()
            .find(|unit| unit.name == name)
            .unwrap()
            .id
    };
    let rename = |unit_id, name: &str, archive| UnitRename {
        unit_id,
        name: name.into(),
        archive,
    };
    // A class of another org is refused, and nothing of the batch is kept.
    let refused = fx
        .store
        .rename_units(other.id, vec![rename(id_of("5Б"), "6Б", false)], fx.now())
        .await;
    assert_refused(
        refused,
        &[ErrorCode::NotFound],
        "renaming another org's class",
    );
    let refused = fx
        .store
        .rename_units(
            org.id,
            vec![
                rename(id_of("5Б"), "6Б", false),
                rename(id_of("5Б") + 1000, "x", false),
            ],
            fx.now(),
        )
        .await;
    assert_refused(
        refused,
        &[ErrorCode::NotFound],
        "a batch with a missing class",
    );
    assert_eq!(
        fx.store.roster(org.id).await.unwrap(),
        before,
        "nothing was kept"
    );

    // 7А leaves (archived under a new name) and 5Б moves up into… 6Б; places stay with them.
    fx.store
        .rename_units(
            org.id,
            vec![
                rename(id_of("7А"), "7А (выпуск 2027)", true),
                rename(id_of("5Б"), "6Б", false),
            ],
            fx.now(),
        )
        .await
        .unwrap();
    let after = fx.store.roster(org.id).await.unwrap();
    let units: Vec<(i64, &str, bool)> = after
        .units
        .iter()
        .map(|unit| (unit.id, unit.name.as_str(), unit.archived))
        .collect();
    assert_eq!(
        units,
        [
            (id_of("5Б"), "6Б", false),
            (id_of("7А"), "7А (выпуск 2027)", true)
        ]
    );
    assert_eq!(after.places, before.places, "people keep their places");
}

async fn org_chats_are_recorded(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    let org = fx.org(&alice).await;
    fx.store
        .save_roster(org.id, roster(ROSTER), fx.now())
        .await
        .unwrap();
    let unit_id = fx.store.roster(org.id).await.unwrap().units[0].id;
    let class_chat = fx.group(&alice, &[]).await;
    let channel = fx.group(&alice, &[]).await;
    let chats = [
        OrgChat {
            unit_id: Some(unit_id),
            purpose: ChatPurpose::Parents,
            chat_id: class_chat,
        },
        OrgChat {
            unit_id: None,
            purpose: ChatPurpose::Announcements,
            chat_id: channel,
        },
    ];
    for chat in chats {
        fx.store.add_org_chat(org.id, chat).await.unwrap();
    }
    assert_eq!(fx.store.roster(org.id).await.unwrap().chats, chats);
}

async fn claim_codes_link_people_once(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let org = fx.org(&alice).await;
    fx.store
        .save_roster(org.id, roster(ROSTER), fx.now())
        .await
        .unwrap();
    let stored = fx.store.roster(org.id).await.unwrap();
    let person = |name: &str| stored.people.iter().find(|p| p.name == name).unwrap().id;
    let ivanova = person("Иванова Мария Петровна");
    let fedorov = person("Фёдоров Илья Олегович");
    let code = |byte: u8| [byte; 32];
    let issued_at = fx.now();
    let expires_at = issued_at + 86_400_000;
    let issue = |person_id, hash| NewClaimCode {
        person_id,
        code_hash: hash,
        expires_at,
    };
    fx.store
        .issue_claim_codes(
            org.id,
            vec![issue(ivanova, code(1)), issue(fedorov, code(2))],
            issued_at,
        )
        .await
        .unwrap();

    // A person of another org cannot be given a code through this one.
    let other = fx.org(&carol).await;
    let refused = fx
        .store
        .issue_claim_codes(other.id, vec![issue(ivanova, code(9))], fx.now())
        .await;
    assert_refused(
        refused,
        &[ErrorCode::NotFound],
        "a code for another org's person",
    );

    let claimed = fx
        .store
        .redeem_claim_code(code(1), bob.user.id, fx.now())
        .await
        .unwrap();
    assert_eq!(claimed.org_id, org.id);
    assert_eq!(claimed.person_id, ivanova);
    assert_eq!(claimed.name, "Иванова Мария Петровна");
    let linked = fx.store.roster(org.id).await.unwrap();
    let ivanova_row = linked.people.iter().find(|p| p.id == ivanova).unwrap();
    assert_eq!(ivanova_row.user_id, Some(bob.user.id));
    assert_eq!(
        fx.store.orgs_of(bob.user.id).await.unwrap(),
        std::slice::from_ref(&org)
    );

    // Used up; unknown codes, and the code of another org, are all just unknown.
    let again = fx
        .store
        .redeem_claim_code(code(1), carol.user.id, fx.now())
        .await;
    assert_refused(again, &[ErrorCode::ClaimCodeNotFound], "a used code");
    let unknown = fx
        .store
        .redeem_claim_code(code(7), carol.user.id, fx.now())
        .await;
    assert_refused(unknown, &[ErrorCode::ClaimCodeNotFound], "an unknown code");

    // Expired codes are refused as such; a reissued code replaces the old one.
    let late = fx
        .store
        .redeem_claim_code(code(2), carol.user.id, expires_at)
        .await;
    assert_refused(late, &[ErrorCode::ClaimCodeExpired], "an expired code");
    fx.store
        .issue_claim_codes(org.id, vec![issue(fedorov, code(3))], fx.now())
        .await
        .unwrap();
    let replaced = fx
        .store
        .redeem_claim_code(code(2), carol.user.id, fx.now())
        .await;
    assert_refused(replaced, &[ErrorCode::ClaimCodeNotFound], "a replaced code");

    // Someone who has left the roster cannot be claimed.
    let without_fedorov = ROSTER
        .replace("student,7А,Фёдоров Илья Олегович,,\n", "")
        .replace(
            "guardian,7А,Смирнова Ольга Викторовна,Фёдоров Илья Олегович,\n",
            "",
        );
    fx.store
        .save_roster(org.id, roster(&without_fedorov), fx.now())
        .await
        .unwrap();
    let archived = fx
        .store
        .redeem_claim_code(code(3), carol.user.id, fx.now())
        .await;
    assert_refused(
        archived,
        &[ErrorCode::ClaimCodeNotFound],
        "the code of someone off the roster",
    );
    assert!(
        fx.store.orgs_of(carol.user.id).await.unwrap().len() == 1,
        "only the org carol created"
    );
}

async fn claimed_places_are_listed_per_account(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let org = fx.org(&alice).await;
    fx.store
        .save_roster(org.id, roster(ROSTER), fx.now())
        .await
        .unwrap();
    let stored = fx.store.roster(org.id).await.unwrap();
    let person = |name: &str| stored.people.iter().find(|p| p.name == name).unwrap();
    let unit = |name: &str| stored.units.iter().find(|u| u.name == name).unwrap().id;
    let smirnova = person("Смирнова Ольга Викторовна");
    let fedorov = person("Фёдоров Илья Олегович");
    let expires_at = fx.now() + 86_400_000;
    let codes = vec![
        NewClaimCode {
            person_id: smirnova.id,
            code_hash: [1; 32],
            expires_at,
        },
        NewClaimCode {
            person_id: fedorov.id,
            code_hash: [2; 32],
            expires_at,
        },
    ];
    fx.store
        .issue_claim_codes(org.id, codes, fx.now())
        .await
        .unwrap();
    fx.store
        .redeem_claim_code([1; 32], bob.user.id, fx.now())
        .await
        .unwrap();
    fx.store
        .redeem_claim_code([2; 32], carol.user.id, fx.now())
        .await
        .unwrap();

    let mut places = fx
        .store
        .places_of_users(vec![bob.user.id, carol.user.id, alice.user.id])
        .await
        .unwrap();
    places.sort_by_key(|place| (place.user_id, place.unit_id, place.role));
    let seen: Vec<_> = places
        .iter()
        .map(|p| {
            (
                p.user_id,
                p.org_id,
                p.unit_id,
                p.role,
                p.detail.as_str(),
                p.person_key.as_str(),
                p.unit_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                bob.user.id,
                org.id,
                unit("5Б"),
                RosterRole::ClassTeacher,
                "русский язык; литература",
                smirnova.key.as_str(),
                "5Б"
            ),
            (
                bob.user.id,
                org.id,
                unit("7А"),
                RosterRole::Guardian,
                fedorov.key.as_str(),
                smirnova.key.as_str(),
                "7А"
            ),
            (
                carol.user.id,
                org.id,
                unit("7А"),
                RosterRole::Student,
                "",
                fedorov.key.as_str(),
                "7А"
            ),
        ],
        "alice holds an org role but no roster place"
    );

    // A place in an archived class, or of someone who left, is no longer listed.
    let only_5b: String = ROSTER
        .lines()
        .filter(|line| !line.contains("7А"))
        .map(|line| format!("{line}\n"))
        .collect();
    fx.store
        .save_roster(org.id, roster(&only_5b), fx.now())
        .await
        .unwrap();
    let left = fx
        .store
        .places_of_users(vec![bob.user.id, carol.user.id])
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].user_id, left[0].role),
        (bob.user.id, RosterRole::ClassTeacher)
    );
}

async fn acknowledgements_are_kept_once_per_member(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let notice = fx.send(&alice, chat_id, "Собрание в четверг").await;
    let chatter = fx.send(&bob, chat_id, "спасибо").await;
    assert!(fx.store.ack_requests(chat_id).await.unwrap().is_empty());
    fx.store
        .request_ack(chat_id, notice.seq, fx.now())
        .await
        .unwrap();
    fx.store
        .request_ack(chat_id, notice.seq, fx.now())
        .await
        .unwrap();
    assert_eq!(fx.store.ack_requests(chat_id).await.unwrap(), [notice.seq]);

    let first = fx.now();
    fx.store
        .acknowledge(bob.actor, chat_id, notice.seq, first)
        .await
        .unwrap();
    fx.store
        .acknowledge(bob.actor, chat_id, notice.seq, fx.now())
        .await
        .unwrap();
    assert_eq!(
        fx.store.acks(chat_id, notice.seq).await.unwrap(),
        [(bob.id(), first)],
        "the first acknowledgement counts"
    );
    let outsider = fx
        .store
        .acknowledge(carol.actor, chat_id, notice.seq, fx.now())
        .await;
    assert_refused(
        outsider,
        &[ErrorCode::NotMember],
        "a non-member acknowledging",
    );
    let unasked = fx
        .store
        .acknowledge(bob.actor, chat_id, chatter.seq, fx.now())
        .await;
    assert_refused(
        unasked,
        &[ErrorCode::NotFound],
        "acknowledging what asks for none",
    );
    assert!(
        fx.store
            .acks(chat_id, chatter.seq)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn admins_limit_who_posts_and_how_often(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave] = fx.people(["alice", "bob", "carol", "dave"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    fx.set_role(&alice, chat_id, &carol, Role::Admin).await;
    let post = |who: &Person, id: &str, at: Millis| {
        let store = fx.store.clone();
        let (actor, message) = (who.actor, new_message(id, "сообщение"));
        async move {
            store
                .send_message(actor, chat_id, message, at)
                .await
                .map(|o| o.value)
        }
    };

    // Admins only: members are refused, admins post; settings are for admins.
    let refused = fx
        .store
        .set_chat_settings(bob.actor, chat_id, Some(Posting::Admins), None, fx.now())
        .await;
    assert_refused(
        refused.map(|o| o.value),
        &[ErrorCode::Forbidden],
        "a member changing settings",
    );
    let outcome = fx
        .store
        .set_chat_settings(alice.actor, chat_id, Some(Posting::Admins), None, fx.now())
        .await
        .unwrap();
    let published = only(&outcome.events, "chat.updated", |event| {
        matches!(event, Event::ChatUpdated { .. })
    });
    assert!(
        matches!(&published.event, Event::ChatUpdated { chat, by, renamed: false }
            if chat.posting == Posting::Admins && *by == Some(alice.id()))
    );
    fx.log.lock().expect("the log").extend(outcome.events);
    assert_eq!(fx.view(&bob, chat_id).await.posting, Posting::Admins);
    assert_refused(
        post(&bob, "b1", fx.now()).await,
        &[ErrorCode::Forbidden],
        "a member posting in an admins-only chat",
    );
    post(&carol, "c1", fx.now()).await.unwrap();

    // A read-only archive: nobody posts, not even the owner.
    fx.record(
        fx.store
            .set_chat_settings(alice.actor, chat_id, Some(Posting::Nobody), None, fx.now())
            .await,
    );
    assert_refused(
        post(&alice, "a1", fx.now()).await,
        &[ErrorCode::Forbidden],
        "the owner posting in an archive",
    );

    // Slow mode holds members, not admins; the setting keeps posting as it is.
    fx.record(
        fx.store
            .set_chat_settings(
                alice.actor,
                chat_id,
                Some(Posting::Everyone),
                Some(30),
                fx.now(),
            )
            .await,
    );
    fx.record(
        fx.store
            .set_chat_settings(alice.actor, chat_id, None, Some(30), fx.now())
            .await,
    );
    let chat = fx.view(&bob, chat_id).await;
    assert_eq!((chat.posting, chat.slow_mode_secs), (Posting::Everyone, 30));
    let first = START + 10_000_000;
    post(&bob, "b2", first).await.unwrap();
    assert_refused(
        post(&bob, "b3", first + 29_999).await,
        &[ErrorCode::RateLimited],
        "a second post within the slow mode",
    );
    post(&bob, "b3", first + 30_000).await.unwrap();
    post(&carol, "c2", first + 30_001).await.unwrap();
    post(&carol, "c3", first + 30_002).await.unwrap();
    fx.record(
        fx.store
            .set_chat_settings(alice.actor, chat_id, None, Some(0), fx.now())
            .await,
    );

    // Mutes: admins mute members until a time; members and outsiders cannot.
    let until = first + 3_600_000;
    let refusals = [
        (
            bob.actor,
            carol.id(),
            ErrorCode::Forbidden,
            "a member muting an admin",
        ),
        (
            carol.actor,
            alice.id(),
            ErrorCode::Forbidden,
            "an admin muting the owner",
        ),
        (
            dave.actor,
            bob.id(),
            ErrorCode::NotMember,
            "an outsider muting",
        ),
        (
            carol.actor,
            dave.id(),
            ErrorCode::UserNotFound,
            "muting someone not in the chat",
        ),
    ];
    for (actor, target, code, what) in refusals {
        let refused = fx
            .store
            .mute(actor, chat_id, target, Some(until), fx.now())
            .await;
        assert_refused(refused.map(|o| o.value), &[code], what);
    }
    let outcome = fx
        .store
        .mute(carol.actor, chat_id, bob.id(), Some(until), fx.now())
        .await
        .unwrap();
    only(
        &outcome.events,
        "member.muted",
        |event| matches!(event, Event::MemberMuted { user_id, until: Some(_), .. } if *user_id == bob.id()),
    );
    fx.log.lock().expect("the log").extend(outcome.events);
    // The muted member's own view of the chat says until when; nobody else's does.
    assert_eq!(fx.view(&bob, chat_id).await.muted_until, Some(until));
    let listed = fx.store.chats(bob.actor).await.unwrap();
    let in_list = listed.iter().find(|chat| chat.id == chat_id);
    assert_eq!(in_list.map(|chat| chat.muted_until), Some(Some(until)));
    assert_eq!(fx.view(&carol, chat_id).await.muted_until, None);
    assert_refused(
        post(&bob, "b4", until - 1).await,
        &[ErrorCode::Muted],
        "a muted member posting",
    );
    post(&bob, "b4", until).await.unwrap();
    fx.record(
        fx.store
            .mute(
                carol.actor,
                chat_id,
                bob.id(),
                Some(until + 3_600_000),
                fx.now(),
            )
            .await,
    );
    fx.record(
        fx.store
            .mute(carol.actor, chat_id, bob.id(), None, fx.now())
            .await,
    );
    assert_eq!(fx.view(&bob, chat_id).await.muted_until, None);
    post(&bob, "b5", until + 1).await.unwrap();
}

async fn admins_pin_one_message(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let rules = fx.send(&alice, chat_id, "Правила чата: без рекламы").await;
    let notice = fx.send(&alice, chat_id, "Собрание в четверг").await;
    assert_eq!(fx.store.pinned(chat_id).await.unwrap(), None);

    let outcome = fx
        .store
        .pin(alice.actor, chat_id, Some(rules.seq), fx.now())
        .await
        .unwrap();
    let published = only(&outcome.events, "pinned", |event| {
        matches!(event, Event::Pinned { .. })
    });
    assert_eq!(
        published.event,
        Event::Pinned {
            chat_id,
            seq: Some(rules.seq),
            by: alice.id()
        }
    );
    fx.log.lock().expect("the log").extend(outcome.events);
    // Pinning another replaces it.
    fx.record(
        fx.store
            .pin(alice.actor, chat_id, Some(notice.seq), fx.now())
            .await,
    );
    assert_eq!(fx.store.pinned(chat_id).await.unwrap(), Some(notice.seq));

    let refusals = [
        (
            bob.actor,
            Some(rules.seq),
            ErrorCode::Forbidden,
            "a member pinning",
        ),
        (
            carol.actor,
            Some(rules.seq),
            ErrorCode::NotMember,
            "an outsider pinning",
        ),
        (
            alice.actor,
            Some(99),
            ErrorCode::MessageNotFound,
            "pinning nothing",
        ),
    ];
    for (actor, seq, code, what) in refusals {
        let refused = fx.store.pin(actor, chat_id, seq, fx.now()).await;
        assert_refused(refused.map(|outcome| outcome.value), &[code], what);
    }
    assert_eq!(fx.store.pinned(chat_id).await.unwrap(), Some(notice.seq));

    // Deleting the pinned message takes the pin down with it; so does unpinning.
    fx.record(
        fx.store
            .delete_message(alice.actor, chat_id, notice.seq, fx.now())
            .await,
    );
    assert_eq!(fx.store.pinned(chat_id).await.unwrap(), None);
    fx.record(
        fx.store
            .pin(alice.actor, chat_id, Some(rules.seq), fx.now())
            .await,
    );
    fx.record(fx.store.pin(alice.actor, chat_id, None, fx.now()).await);
    assert_eq!(fx.store.pinned(chat_id).await.unwrap(), None);
    fx.assert_streams_gap_free();
}

async fn threads_gather_replies_under_a_message(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let root = fx.send(&alice, chat_id, "Подарок учителю: идеи?").await;
    let other = fx.send(&bob, chat_id, "Завтра физкультура").await;
    let in_thread = |who: &Person, id: &str, text: &str, root: Seq| {
        let mut message = new_message(id, text);
        message.thread_of = Some(root);
        (who.actor, message)
    };
    let mut replies = Vec::new();
    for (who, id, text) in [
        (&bob, "t1", "Цветы"),
        (&alice, "t2", "Книга"),
        (&bob, "t3", "Торт"),
    ] {
        let (actor, message) = in_thread(who, id, text, root.seq);
        let sent = fx.record(
            fx.store
                .send_message(actor, chat_id, message, fx.now())
                .await,
        );
        assert_eq!(sent.0.thread_of, Some(root.seq));
        replies.push(sent.0);
    }
    // Replies keep their seqs in the chat, so they are in history and resume like any message.
    let history = fx
        .store
        .messages(
            alice.actor,
            chat_id,
            Page {
                limit: 50,
                ..Page::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(history.len(), 5);
    let thread = fx
        .store
        .thread(bob.actor, chat_id, root.seq, None, 50)
        .await
        .unwrap();
    assert_eq!(thread, replies);
    let rest = fx
        .store
        .thread(bob.actor, chat_id, root.seq, Some(replies[0].seq), 1)
        .await
        .unwrap();
    assert_eq!(rest, [replies[1].clone()]);
    let threads = fx.store.threads(chat_id).await.unwrap();
    assert_eq!(threads.len(), 1);
    assert_eq!(
        (threads[0].root, threads[0].replies, threads[0].last_seq),
        (root.seq, 3, replies[2].seq)
    );

    // One level deep, under messages that exist; outsiders read nothing.
    let (actor, nested) = in_thread(&alice, "t4", "вложенный", replies[0].seq);
    let refused = fx
        .store
        .send_message(actor, chat_id, nested, fx.now())
        .await;
    assert_refused(
        refused.map(|o| o.value),
        &[ErrorCode::InvalidThread],
        "a thread under a reply",
    );
    let (actor, nowhere) = in_thread(&alice, "t5", "никуда", 99);
    let refused = fx
        .store
        .send_message(actor, chat_id, nowhere, fx.now())
        .await;
    assert_refused(
        refused.map(|o| o.value),
        &[ErrorCode::MessageNotFound],
        "a thread under nothing",
    );
    let (actor, intruding) = in_thread(&carol, "t7", "чужой", root.seq);
    let refused = fx
        .store
        .send_message(actor, chat_id, intruding, fx.now())
        .await;
    assert_refused(
        refused.map(|o| o.value),
        &[ErrorCode::NotMember],
        "an outsider replying in a thread",
    );
    let outsider = fx
        .store
        .thread(carol.actor, chat_id, root.seq, None, 50)
        .await;
    assert_refused(
        outsider,
        &[ErrorCode::NotMember],
        "an outsider reading a thread",
    );
    fx.record(
        fx.store
            .delete_message(bob.actor, chat_id, other.seq, fx.now())
            .await,
    );
    let (actor, under_deleted) = in_thread(&alice, "t6", "под удалённым", other.seq);
    let refused = fx
        .store
        .send_message(actor, chat_id, under_deleted, fx.now())
        .await;
    assert_refused(
        refused.map(|o| o.value),
        &[ErrorCode::MessageNotFound],
        "a thread under a deleted message",
    );
    assert_eq!(
        fx.store
            .messages(
                alice.actor,
                chat_id,
                Page {
                    limit: 50,
                    ..Page::default()
                }
            )
            .await
            .unwrap()
            .len(),
        5,
        "nothing refused was stored"
    );
}

async fn polls_take_one_vote_per_member(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol, dave] = fx.people(["alice", "bob", "carol", "dave"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    let closes_at = START + 86_400_000;
    let poll = Poll {
        options: vec!["Музей".into(), "Театр".into(), "Парк".into()],
        multiple: true,
        anonymous: false,
        closes_at: Some(closes_at),
    };
    let mut question = new_message("poll-1", "Куда поедем?");
    question.poll = Some(poll.clone());
    let sent = fx.record(
        fx.store
            .send_message(alice.actor, chat_id, question, fx.now())
            .await,
    );
    assert_eq!(sent.0.poll, Some(poll.clone()));
    assert_eq!(
        fx.message_at(&bob, chat_id, sent.0.seq).await.poll,
        Some(poll.clone())
    );
    let plain = fx.send(&bob, chat_id, "Я за парк").await;
    assert_eq!(plain.poll, None);
    let polls = fx.store.polls(chat_id).await.unwrap();
    assert_eq!(
        polls,
        [StoredPoll {
            seq: sent.0.seq,
            poll: poll.clone(),
            votes: vec![]
        }]
    );

    let seq = sent.0.seq;
    fx.store
        .vote(bob.actor, chat_id, seq, vec![2, 0], fx.now())
        .await
        .unwrap();
    // Voting again with an option chosen before replaces, never collides.
    fx.store
        .vote(bob.actor, chat_id, seq, vec![0, 2], fx.now())
        .await
        .unwrap();
    fx.store
        .vote(carol.actor, chat_id, seq, vec![1], fx.now())
        .await
        .unwrap();
    // Voting again replaces the earlier vote; an empty vote takes it back.
    fx.store
        .vote(carol.actor, chat_id, seq, vec![2], fx.now())
        .await
        .unwrap();
    fx.store
        .vote(alice.actor, chat_id, seq, vec![0], fx.now())
        .await
        .unwrap();
    fx.store
        .vote(alice.actor, chat_id, seq, vec![], fx.now())
        .await
        .unwrap();
    let mut votes = fx.store.polls(chat_id).await.unwrap()[0].votes.clone();
    votes.sort();
    assert_eq!(
        votes,
        sorted(vec![(bob.id(), 0), (bob.id(), 2), (carol.id(), 2)])
    );

    let refusals = [
        (
            dave.actor,
            seq,
            vec![0],
            ErrorCode::NotMember,
            "an outsider voting",
        ),
        (
            bob.actor,
            plain.seq,
            vec![0],
            ErrorCode::MessageNotFound,
            "voting on a plain message",
        ),
        (
            bob.actor,
            seq,
            vec![3],
            ErrorCode::InvalidVote,
            "an option the poll lacks",
        ),
    ];
    for (actor, seq, options, code, what) in refusals {
        let refused = fx.store.vote(actor, chat_id, seq, options, fx.now()).await;
        assert_refused(refused, &[code], what);
    }
    let late = fx
        .store
        .vote(carol.actor, chat_id, seq, vec![0], closes_at)
        .await;
    assert_refused(late, &[ErrorCode::PollClosed], "voting after the deadline");
    let mut after = fx.store.polls(chat_id).await.unwrap()[0].votes.clone();
    after.sort();
    assert_eq!(after, votes, "refused votes change nothing");

    // A deleted poll is gone with its votes.
    fx.record(
        fx.store
            .delete_message(alice.actor, chat_id, seq, fx.now())
            .await,
    );
    assert!(fx.store.polls(chat_id).await.unwrap().is_empty());
    assert_eq!(fx.message_at(&bob, chat_id, seq).await.poll, None);
    let on_deleted = fx
        .store
        .vote(bob.actor, chat_id, seq, vec![0], fx.now())
        .await;
    assert_refused(
        on_deleted,
        &[ErrorCode::MessageNotFound],
        "voting on a deleted poll",
    );
}

async fn org_policies_are_kept_and_org_chats_found(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let alice = fx.person("alice").await;
    let org = fx.org(&alice).await;
    assert_eq!(org.policy, OrgPolicy::default(), "no rules by default");
    assert!(fx.store.orgs_with_policies().await.unwrap().is_empty());
    let policy = OrgPolicy {
        quiet_hours: Some(QuietHours {
            start: "19:00".into(),
            end: "08:00".into(),
            weekends: true,
        }),
        ..OrgPolicy::default()
    };
    fx.store
        .set_org_policy(org.id, policy.clone())
        .await
        .unwrap();
    let stored = fx.store.org(org.id).await.unwrap().expect("the org");
    assert_eq!(stored.policy, policy);
    assert_eq!(fx.store.orgs_with_policies().await.unwrap(), [stored]);
    let missing = fx.store.set_org_policy(org.id + 1000, policy).await;
    assert_refused(missing, &[ErrorCode::NotFound], "a policy for no org");

    let channel = fx.group(&alice, &[]).await;
    let own_chat = fx.group(&alice, &[]).await;
    let kept = OrgChat {
        unit_id: None,
        purpose: ChatPurpose::Announcements,
        chat_id: channel,
    };
    fx.store.add_org_chat(org.id, kept).await.unwrap();
    assert_eq!(
        fx.store.org_of_chat(channel).await.unwrap(),
        Some((org.id, kept))
    );
    assert_eq!(fx.store.org_of_chat(own_chat).await.unwrap(), None);
}

async fn reminders_reach_the_named_users_at_most_once_an_hour(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    let notice = fx.send(&alice, chat_id, "Собрание в четверг").await;
    assert_eq!(
        fx.store.reminded_at(chat_id, notice.seq).await.unwrap(),
        None
    );

    let first = fx.now();
    let outcome = fx
        .store
        .remind(
            chat_id,
            notice.seq,
            vec![bob.id()],
            first - 3_600_000,
            first,
        )
        .await
        .unwrap();
    let reminded: Vec<(Route, &Event)> = outcome
        .events
        .iter()
        .map(|published| (published.route, &published.event))
        .collect();
    assert_eq!(reminded.len(), 1, "one reminder, to bob only: {reminded:?}");
    assert!(matches!(reminded[0].0, Route::User { user_id, .. } if user_id == bob.id()));
    assert_eq!(
        reminded[0].1,
        &Event::Reminder {
            chat_id,
            seq: notice.seq
        }
    );
    fx.log.lock().expect("the log").extend(outcome.events);
    assert_eq!(
        fx.store.reminded_at(chat_id, notice.seq).await.unwrap(),
        Some(first)
    );

    let soon = fx.now();
    let again = fx
        .store
        .remind(
            chat_id,
            notice.seq,
            vec![carol.id()],
            soon - 3_600_000,
            soon,
        )
        .await;
    assert_refused(
        again.map(|outcome| outcome.value),
        &[ErrorCode::RateLimited],
        "a second reminder within the hour",
    );
    let later = first + 3_600_000 + 1;
    fx.record(
        fx.store
            .remind(
                chat_id,
                notice.seq,
                vec![carol.id()],
                later - 3_600_000,
                later,
            )
            .await,
    );
    assert_eq!(
        fx.store.reminded_at(chat_id, notice.seq).await.unwrap(),
        Some(later)
    );
    fx.assert_streams_gap_free();
}

async fn reports_queue_per_org_and_the_audit_log_keeps_order(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let org = fx.org(&alice).await;
    let other_org = fx.org(&carol).await;
    let chat_id = fx.group(&alice, &[&bob, &carol]).await;
    let rude = fx.send(&bob, chat_id, "реклама: купите курсы").await;
    let new_report = |reporter: &Person, reason: &str| NewReport {
        org_id: org.id,
        chat_id,
        seq: rude.seq,
        reporter_id: reporter.id(),
        author_id: bob.id(),
        text: rude.text.clone(),
        reason: reason.into(),
    };
    let at = fx.now();
    let first = fx
        .store
        .report(new_report(&carol, "спам"), at)
        .await
        .unwrap();
    assert_eq!(
        (
            first.text.as_str(),
            first.reason.as_str(),
            first.created_at,
            first.resolution.clone()
        ),
        ("реклама: купите курсы", "спам", at, None)
    );
    let again = fx
        .store
        .report(new_report(&carol, "другая причина"), fx.now())
        .await
        .unwrap();
    assert_eq!(again, first, "one report per member and message");
    let second = fx
        .store
        .report(new_report(&alice, "реклама"), fx.now())
        .await
        .unwrap();
    assert_eq!(
        fx.store.reports(org.id, false).await.unwrap(),
        [second.clone(), first.clone()]
    );
    assert!(
        fx.store
            .reports(other_org.id, true)
            .await
            .unwrap()
            .is_empty()
    );

    let wrong_org = fx
        .store
        .resolve_report(other_org.id, first.id, carol.id(), "dismissed", fx.now())
        .await;
    assert_refused(
        wrong_org,
        &[ErrorCode::NotFound],
        "resolving another org's report",
    );
    let resolved_at = fx.now();
    let resolved = fx
        .store
        .resolve_report(org.id, first.id, alice.id(), "message_deleted", resolved_at)
        .await
        .unwrap();
    assert_eq!(
        (
            resolved.resolution.as_deref(),
            resolved.resolved_by,
            resolved.resolved_at
        ),
        (Some("message_deleted"), Some(alice.id()), Some(resolved_at))
    );
    let twice = fx
        .store
        .resolve_report(org.id, first.id, bob.id(), "dismissed", fx.now())
        .await
        .unwrap();
    assert_eq!(twice, resolved, "resolving twice changes nothing");
    assert_eq!(
        fx.store.reports(org.id, false).await.unwrap(),
        std::slice::from_ref(&second)
    );
    assert_eq!(fx.store.reports(org.id, true).await.unwrap().len(), 2);
    // Deleting the message takes its text out of the reports too.
    fx.record(
        fx.store
            .delete_message(bob.actor, chat_id, rude.seq, fx.now())
            .await,
    );
    let after_delete = fx.store.reports(org.id, true).await.unwrap();
    assert!(after_delete.iter().all(|report| report.text.is_empty()));

    for (action, detail) in [
        ("policy.set", "quiet_hours"),
        ("roster.imported", "2 classes"),
        ("report.resolved", "report 1"),
    ] {
        fx.store
            .audit(org.id, alice.id(), action, detail.into(), fx.now())
            .await
            .unwrap();
    }
    fx.store
        .audit(
            other_org.id,
            carol.id(),
            "policy.set",
            String::new(),
            fx.now(),
        )
        .await
        .unwrap();
    let log = fx.store.audit_log(org.id, None, 10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["report.resolved", "roster.imported", "policy.set"],
        "newest first, this org only"
    );
    let older = fx
        .store
        .audit_log(org.id, Some(log[0].id), 1)
        .await
        .unwrap();
    assert_eq!(older, [log[1].clone()]);
}

async fn do_not_disturb_lasts_until_it_ends(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let now = fx.now();
    let until = now + 3_600_000;
    assert_eq!(
        fx.store.do_not_disturb(alice.id(), now).await.unwrap(),
        None
    );
    fx.store
        .set_do_not_disturb(alice.id(), Some(until))
        .await
        .unwrap();
    assert_eq!(
        fx.store.do_not_disturb(alice.id(), now).await.unwrap(),
        Some(until)
    );
    assert_eq!(
        fx.store.do_not_disturb(alice.id(), until).await.unwrap(),
        None
    );
    assert_eq!(fx.store.do_not_disturb(bob.id(), now).await.unwrap(), None);
    assert_eq!(
        fx.store.do_not_disturb_all(now).await.unwrap(),
        [(alice.id(), until)]
    );
    // Setting it again replaces the end.
    fx.store
        .set_do_not_disturb(alice.id(), Some(until + 1))
        .await
        .unwrap();
    assert_eq!(
        fx.store.do_not_disturb(alice.id(), now).await.unwrap(),
        Some(until + 1)
    );
    fx.store.set_do_not_disturb(alice.id(), None).await.unwrap();
    assert_eq!(
        fx.store.do_not_disturb(alice.id(), now).await.unwrap(),
        None
    );
    assert!(fx.store.do_not_disturb_all(now).await.unwrap().is_empty());
}

async fn held_messages_wait_for_their_release(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let release_at = START + 86_400_000;
    let held = |sender: &Person, id: &str, text: &str| NewHeldMessage {
        chat_id,
        sender_id: sender.id(),
        client_msg_id: id.into(),
        text: text.into(),
        reply_to: None,
        request_ack: true,
        poll: Some(Poll {
            options: vec!["Да".into(), "Нет".into()],
            multiple: false,
            anonymous: true,
            closes_at: None,
        }),
        thread_of: None,
        keyboard: vec![vec![Button::Callback {
            text: "Да".into(),
            payload: "yes".into(),
        }]],
        markup: vec![Markup {
            kind: MarkupKind::Emphasized,
            from: 0,
            length: 6,
            url: None,
            user_id: None,
        }],
        attachments: Vec::new(),
        reason: HoldReason::QuietHours,
        release_at,
    };
    let created_at = fx.now();
    let first = fx
        .store
        .hold_message(held(&alice, "m1", "Завтра экскурсия"), created_at)
        .await
        .unwrap();
    assert_eq!(
        (
            first.chat_id,
            first.sender_id,
            first.text.as_str(),
            first.request_ack,
            first.reason,
            first.release_at,
            first.created_at
        ),
        (
            chat_id,
            alice.id(),
            "Завтра экскурсия",
            true,
            HoldReason::QuietHours,
            release_at,
            created_at
        )
    );
    assert_eq!(
        first.poll.as_ref().map(|poll| poll.options.len()),
        Some(2),
        "a held poll keeps its options"
    );
    assert_eq!(
        (first.keyboard.len(), first.markup.len()),
        (1, 1),
        "and a bot's held message its buttons and formatting"
    );
    let repeated = fx
        .store
        .hold_message(held(&alice, "m1", "другой текст"), fx.now())
        .await
        .unwrap();
    assert_eq!(repeated, first, "a repeated client_msg_id is held once");
    let second = fx
        .store
        .hold_message(held(&bob, "m1", "Хорошо"), fx.now())
        .await
        .unwrap();
    let outsider = fx
        .store
        .hold_message(held(&carol, "m2", "привет"), fx.now())
        .await;
    assert_refused(
        outsider,
        &[ErrorCode::NotMember],
        "holding in a chat one is not in",
    );

    assert_eq!(
        fx.store.held_messages(alice.id(), chat_id).await.unwrap(),
        std::slice::from_ref(&first)
    );
    assert!(
        fx.store
            .due_held(release_at - 1, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        fx.store.due_held(release_at, 10).await.unwrap(),
        [first.clone(), second.clone()]
    );
    assert_eq!(
        fx.store.due_held(release_at, 1).await.unwrap(),
        std::slice::from_ref(&first)
    );

    let not_theirs = fx.store.cancel_held(bob.id(), chat_id, first.id).await;
    assert_refused(
        not_theirs,
        &[ErrorCode::NotFound],
        "cancelling another's held message",
    );
    fx.store
        .cancel_held(alice.id(), chat_id, first.id)
        .await
        .unwrap();
    let twice = fx.store.cancel_held(alice.id(), chat_id, first.id).await;
    assert_refused(twice, &[ErrorCode::NotFound], "cancelling twice");
    fx.store.forget_held(second.id).await.unwrap();
    assert!(fx.store.due_held(release_at, 10).await.unwrap().is_empty());
}

// ------------------------------------------------------------------------------------------------
// The fixture

// --- media ---

async fn server_keys_are_made_once(store: Arc<dyn Store>) {
    let first = store.server_key("media", vec![1; 32]).await.unwrap();
    let again = store.server_key("media", vec![2; 32]).await.unwrap();
    assert_eq!(
        (first.clone(), again),
        (vec![1; 32], vec![1; 32]),
        "the first key stays"
    );
    let other = store.server_key("other", vec![3; 32]).await.unwrap();
    assert_eq!(other, vec![3; 32]);
}

fn new_upload(
    owner: &Person,
    chat_id: Option<ChatId>,
    capability: Option<[u8; 32]>,
    expires_at: Millis,
) -> NewUpload {
    NewUpload {
        capability,
        owner_id: owner.id(),
        chat_id,
        kind: AttachmentKind::Image,
        name: Some("Фото 5Б.jpg".into()),
        size: Some(1000),
        duration_ms: Some(1500),
        waveform: vec![3, 200],
        expires_at,
    }
}

fn new_blob(key: &str) -> NewBlob {
    NewBlob {
        object_key: key.into(),
        thumb_key: Some(format!("{key}.t")),
        kind: AttachmentKind::Image,
        mime: "image/jpeg".into(),
        size: 1000,
        name: Some("Фото 5Б.jpg".into()),
        width: Some(640),
        height: Some(480),
        duration_ms: None,
        waveform: vec![0, 128, 255],
    }
}

/// Uploads `key` as `owner` and completes it.
async fn stored_blob(fx: &Fixture, owner: &Person, key: &str) -> BlobRecord {
    let expires = fx.now() + UPLOAD_KEPT_MS;
    let upload = fx
        .store
        .create_upload(new_upload(owner, None, None, expires), fx.now())
        .await
        .unwrap();
    fx.store
        .complete_upload(upload.id, new_blob(key), Payer::User(owner.id()), fx.now())
        .await
        .unwrap()
}

async fn uploads_are_found_by_capability_or_id_until_they_expire(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let chat_id = fx.group(&alice, &[]).await;
    let expires = fx.now() + 100_000;
    let upload = fx
        .store
        .create_upload(
            new_upload(&alice, Some(chat_id), Some([7; 32]), expires),
            fx.now(),
        )
        .await
        .unwrap();
    assert_eq!(
        (upload.owner_id, upload.chat_id, upload.kind),
        (alice.id(), Some(chat_id), AttachmentKind::Image)
    );
    assert_eq!(
        (upload.name.as_deref(), upload.size, upload.blob_id),
        (Some("Фото 5Б.jpg"), Some(1000), None)
    );
    assert_eq!(
        (upload.duration_ms, upload.waveform.clone()),
        (Some(1500), vec![3, 200])
    );
    let now = fx.now();
    assert_eq!(
        fx.store
            .upload(FindUpload::Capability([7; 32]), now)
            .await
            .unwrap(),
        Some(upload.clone())
    );
    assert_eq!(
        fx.store
            .upload(FindUpload::Id(upload.id), now)
            .await
            .unwrap(),
        Some(upload.clone())
    );
    assert_eq!(
        fx.store
            .upload(FindUpload::Capability([8; 32]), now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        fx.store
            .upload(FindUpload::Id(upload.id), expires)
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_refused(
        fx.store
            .create_upload(new_upload(&bob, Some(chat_id), None, expires), now)
            .await,
        &[ErrorCode::NotMember],
        "uploading into a chat one is not in",
    );
}

async fn upload_pieces_replace_list_in_order_and_go_on_completion(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice] = fx.people(["alice"]).await;
    let now = fx.now();
    let upload = fx
        .store
        .create_upload(new_upload(&alice, None, None, now + 10), now)
        .await
        .unwrap();
    let part = |first_byte: u64, length: u64, key: &str| UploadPart {
        first_byte,
        length,
        object_key: key.into(),
    };
    let put = |piece: UploadPart| fx.store.put_upload_part(upload.id, piece, now);
    assert_eq!(put(part(500, 500, "b")).await.unwrap(), None);
    assert_eq!(put(part(0, 500, "a")).await.unwrap(), None);
    assert_eq!(
        put(part(500, 500, "b2")).await.unwrap(),
        Some("b".to_owned()),
        "a resent piece replaces the old"
    );
    assert_eq!(
        fx.store.upload_parts(upload.id).await.unwrap(),
        vec![part(0, 500, "a"), part(500, 500, "b2")]
    );
    let kept = fx
        .store
        .upload(FindUpload::Id(upload.id), now + 100)
        .await
        .unwrap();
    assert!(kept.is_some(), "a piece keeps the upload open");
    // Another upload, cancelled: its pieces' keys come back for deletion, and it is gone.
    let cancelled = fx
        .store
        .create_upload(new_upload(&alice, None, None, now + 10), now)
        .await
        .unwrap();
    fx.store
        .put_upload_part(cancelled.id, part(0, 10, "c"), now)
        .await
        .unwrap();
    assert_eq!(
        fx.store.forget_upload(cancelled.id).await.unwrap(),
        vec!["c".to_owned()]
    );
    assert_eq!(
        fx.store
            .upload(FindUpload::Id(cancelled.id), now)
            .await
            .unwrap(),
        None
    );
    let blob = fx
        .store
        .complete_upload(upload.id, new_blob("media/1"), Payer::User(alice.id()), now)
        .await
        .unwrap();
    assert_eq!(
        (blob.uploader_id, blob.file.clone()),
        (alice.id(), new_blob("media/1"))
    );
    assert_eq!(fx.store.blob(blob.id).await.unwrap(), Some(blob.clone()));
    assert!(
        fx.store.upload_parts(upload.id).await.unwrap().is_empty(),
        "the pieces are forgotten"
    );
    let done = fx
        .store
        .upload(FindUpload::Id(upload.id), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.blob_id, Some(blob.id));
    fx.store.forget_upload(upload.id).await.unwrap();
    assert!(
        fx.store
            .upload(FindUpload::Id(upload.id), now)
            .await
            .unwrap()
            .is_some(),
        "a completed upload is not cancelled"
    );
    assert_refused(
        fx.store
            .complete_upload(upload.id, new_blob("media/2"), Payer::User(alice.id()), now)
            .await,
        &[ErrorCode::BadRequest],
        "completing twice",
    );
    assert_eq!(fx.store.blob(blob.id + 1000).await.unwrap(), None);
}

async fn unshown_files_are_collected_and_expired_uploads_listed(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let start = fx.now();
    let shown = stored_blob(&fx, &alice, "media/shown").await;
    let unshown = stored_blob(&fx, &alice, "media/unshown").await;
    let deleted = stored_blob(&fx, &alice, "media/deleted").await;
    fx.record(
        fx.store
            .send_message(alice.actor, chat_id, with_files("1", &[shown.id]), fx.now())
            .await,
    );
    let (gone, _) = fx.record(
        fx.store
            .send_message(
                alice.actor,
                chat_id,
                with_files("2", &[deleted.id]),
                fx.now(),
            )
            .await,
    );
    fx.delete(&alice, chat_id, gone.seq).await;
    assert!(
        fx.store
            .collect_blobs(fx.now(), start, 100)
            .await
            .unwrap()
            .is_empty(),
        "nothing is collected within its grace"
    );
    let later = fx.now() + 1_000_000;
    let collected = fx.store.collect_blobs(later, later, 100).await.unwrap();
    let mut ids: Vec<i64> = collected.iter().map(|blob| blob.id).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        vec![unshown.id, deleted.id],
        "the unshown and the deleted message's"
    );
    assert!(
        fx.store
            .collect_blobs(later + 1000, later, 100)
            .await
            .unwrap()
            .is_empty(),
        "each is collected once"
    );
    // A collector that died leaves its files marked; an hour on, another takes them.
    let stuck = later + STUCK_COLLECTION_MS + 1;
    let retaken = fx.store.collect_blobs(stuck, later, 100).await.unwrap();
    let mut again: Vec<i64> = retaken.iter().map(|blob| blob.id).collect();
    again.sort_unstable();
    assert_eq!(again, ids, "files a dead collector left are taken again");
    assert_refused(
        fx.store
            .send_message(
                alice.actor,
                chat_id,
                with_files("3", &[unshown.id]),
                fx.now(),
            )
            .await,
        &[ErrorCode::NotFound],
        "attaching a file being deleted",
    );
    fx.store.forget_blobs(ids.clone()).await.unwrap();
    assert_eq!(fx.store.blob(unshown.id).await.unwrap(), None);
    assert_eq!(fx.store.blob(shown.id).await.unwrap(), Some(shown));

    let now = fx.now();
    let open = fx
        .store
        .create_upload(new_upload(&alice, None, None, now + 10), now)
        .await
        .unwrap();
    let piece = UploadPart {
        first_byte: 0,
        length: 5,
        object_key: "parts/x".into(),
    };
    fx.store.put_upload_part(open.id, piece, now).await.unwrap();
    let expiry = now + UPLOAD_KEPT_MS;
    assert!(
        fx.store
            .expired_uploads(expiry - 1, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        fx.store.expired_uploads(expiry, 10).await.unwrap(),
        vec![(open.id, vec!["parts/x".to_owned()])],
        "expired, with its pieces; completed uploads are not listed"
    );
}

async fn files_count_against_their_payer_and_expire_per_org(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let org = fx.org(&alice).await;
    let school_chat = fx.group(&alice, &[&bob]).await;
    let kept = OrgChat {
        unit_id: None,
        purpose: ChatPurpose::StaffRoom,
        chat_id: school_chat,
    };
    fx.store.add_org_chat(org.id, kept).await.unwrap();
    let own_chat = fx.group(&alice, &[&bob]).await;
    let paid_by = |payer: Payer, key: &'static str| {
        let fx = &fx;
        let alice = &alice;
        async move {
            let now = fx.now();
            let upload = fx
                .store
                .create_upload(new_upload(alice, None, None, now + UPLOAD_KEPT_MS), now)
                .await
                .unwrap();
            fx.store
                .complete_upload(upload.id, new_blob(key), payer, now)
                .await
                .unwrap()
        }
    };
    let schools = paid_by(Payer::Org(org.id), "media/school").await;
    let alices = paid_by(Payer::User(alice.id()), "media/alice").await;
    let usage = |payer| fx.store.media_usage(payer);
    assert_eq!(usage(Payer::Org(org.id)).await.unwrap(), 1000);
    assert_eq!(
        usage(Payer::User(alice.id())).await.unwrap(),
        1000,
        "the org's is not hers"
    );
    assert_eq!(usage(Payer::User(bob.id())).await.unwrap(), 0);
    for (chat_id, blob, id) in [(school_chat, &schools, "s"), (own_chat, &alices, "a")] {
        fx.record(
            fx.store
                .send_message(alice.actor, chat_id, with_files(id, &[blob.id]), fx.now())
                .await,
        );
    }
    let cutoff = fx.now();
    assert_eq!(fx.store.expire_media(org.id, cutoff).await.unwrap(), 1);
    assert_eq!(
        fx.store.visible_blob(bob.id(), schools.id).await.unwrap(),
        None
    );
    assert_eq!(
        fx.store.visible_blob(bob.id(), alices.id).await.unwrap(),
        Some(alices),
        "a chat the org does not keep keeps its files"
    );
    assert_eq!(fx.store.expire_media(org.id, cutoff).await.unwrap(), 0);
}

/// The files of the newest message in the chat, as `who` reads the history.
async fn newest_files(
    fx: &Fixture,
    who: &Person,
    chat_id: ChatId,
) -> Vec<kolokol_proto::Attachment> {
    let page = Page {
        before: None,
        after: None,
        limit: 10,
    };
    let history = fx.store.messages(who.actor, chat_id, page).await.unwrap();
    history.last().unwrap().attachments.clone()
}

fn with_files(text: &str, ids: &[i64]) -> NewMessage {
    NewMessage {
        attachments: ids.to_vec(),
        ..new_message(&format!("files-{text}"), text)
    }
}

async fn files_are_shown_only_by_their_uploader_or_members_who_see_them(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob, carol] = fx.people(["alice", "bob", "carol"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let other_chat = fx.group(&carol, &[&bob]).await;
    let photo = stored_blob(&fx, &alice, "media/photo").await;
    let now = fx.now();
    // Before it is shown, only its uploader sees it, and nobody gets links to it in a chat.
    assert_eq!(
        fx.store.visible_blob(alice.id(), photo.id).await.unwrap(),
        Some(photo.clone())
    );
    assert_eq!(
        fx.store.visible_blob(bob.id(), photo.id).await.unwrap(),
        None
    );
    assert_refused(
        fx.store
            .send_message(bob.actor, chat_id, with_files("taken", &[photo.id]), now)
            .await,
        &[ErrorCode::NotFound],
        "showing someone else's unshown file",
    );
    let (sent, _) = fx.record(
        fx.store
            .send_message(alice.actor, chat_id, with_files("", &[photo.id]), now)
            .await,
    );
    assert_eq!(sent.attachments, vec![photo.attachment()]);
    let history = newest_files(&fx, &bob, chat_id).await;
    assert_eq!(history, vec![photo.attachment()], "history keeps the files");
    // Shown in a chat, its members see it and may show it elsewhere; outsiders may not.
    assert_eq!(
        fx.store.visible_blob(bob.id(), photo.id).await.unwrap(),
        Some(photo.clone())
    );
    assert_eq!(
        fx.store.visible_blob(carol.id(), photo.id).await.unwrap(),
        None
    );
    let bobs = fx
        .store
        .chat_blobs(bob.actor, chat_id, vec![photo.id, photo.id + 1000])
        .await
        .unwrap();
    assert_eq!(bobs, vec![photo.clone()]);
    assert_eq!(
        fx.store
            .chat_blobs(bob.actor, other_chat, vec![photo.id])
            .await
            .unwrap(),
        Vec::new(),
        "not shown there"
    );
    assert_refused(
        fx.store
            .chat_blobs(carol.actor, chat_id, vec![photo.id])
            .await,
        &[ErrorCode::NotMember],
        "an outsider's links",
    );
    assert_refused(
        fx.store
            .send_message(
                carol.actor,
                other_chat,
                with_files("taken", &[photo.id]),
                now,
            )
            .await,
        &[ErrorCode::NotFound],
        "an outsider showing it",
    );
    fx.record(
        fx.store
            .send_message(bob.actor, other_chat, with_files("look", &[photo.id]), now)
            .await,
    );
    assert_eq!(
        fx.store.visible_blob(carol.id(), photo.id).await.unwrap(),
        Some(photo)
    );
}

async fn deleting_a_message_or_chat_unshows_its_files(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let photo = stored_blob(&fx, &alice, "media/photo").await;
    let now = fx.now();
    let (sent, _) = fx.record(
        fx.store
            .send_message(alice.actor, chat_id, with_files("1", &[photo.id]), now)
            .await,
    );
    fx.delete(&alice, chat_id, sent.seq).await;
    let history = newest_files(&fx, &bob, chat_id).await;
    assert!(history.is_empty(), "a tombstone shows no files");
    assert_eq!(
        fx.store.visible_blob(bob.id(), photo.id).await.unwrap(),
        None
    );
    assert!(
        fx.store
            .chat_blobs(bob.actor, chat_id, vec![photo.id])
            .await
            .unwrap()
            .is_empty()
    );
    fx.record(
        fx.store
            .send_message(alice.actor, chat_id, with_files("2", &[photo.id]), now)
            .await,
    );
    assert!(
        fx.store
            .visible_blob(bob.id(), photo.id)
            .await
            .unwrap()
            .is_some()
    );
    fx.record(fx.store.delete_chat(alice.actor, chat_id, now).await);
    assert_eq!(
        fx.store.visible_blob(bob.id(), photo.id).await.unwrap(),
        None
    );
}

async fn held_messages_keep_their_files(store: Arc<dyn Store>) {
    let fx = Fixture::new(store);
    let [alice, bob] = fx.people(["alice", "bob"]).await;
    let chat_id = fx.group(&alice, &[&bob]).await;
    let photo = stored_blob(&fx, &alice, "media/photo").await;
    let held = NewHeldMessage {
        chat_id,
        sender_id: alice.id(),
        client_msg_id: "held-photo".into(),
        text: String::new(),
        reply_to: None,
        request_ack: false,
        poll: None,
        thread_of: None,
        keyboard: Vec::new(),
        markup: Vec::new(),
        attachments: vec![photo.id],
        reason: HoldReason::QuietHours,
        release_at: fx.now() + 1000,
    };
    let stored = fx.store.hold_message(held.clone(), fx.now()).await.unwrap();
    assert_eq!(stored.attachments, vec![photo.attachment()]);
    let again = fx.store.hold_message(held.clone(), fx.now()).await.unwrap();
    assert_eq!(again, stored, "holding is idempotent");
    assert_eq!(
        fx.store.visible_blob(bob.id(), photo.id).await.unwrap(),
        None,
        "not shown until released"
    );
    let bobs = NewHeldMessage {
        sender_id: bob.id(),
        client_msg_id: "bobs".into(),
        ..held
    };
    assert_refused(
        fx.store.hold_message(bobs, fx.now()).await,
        &[ErrorCode::NotFound],
        "holding someone else's file",
    );
}

#[derive(Debug, Clone)]
struct Person {
    user: User,
    actor: Actor,
}

impl Person {
    fn id(&self) -> UserId {
        self.user.id
    }

    /// The user as others see them: without the username, which nobody here chose to show.
    fn seen(&self) -> User {
        User {
            username: None,
            ..self.user.clone()
        }
    }
}

/// A store plus what checks need around it: a clock, unique names, and a log of every event the
/// writes made through it committed.
struct Fixture {
    store: Arc<dyn Store>,
    clock: AtomicI64,
    serial: AtomicI64,
    log: Mutex<Vec<Published>>,
}

impl Fixture {
    fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            clock: AtomicI64::new(START),
            serial: AtomicI64::new(1),
            log: Mutex::new(Vec::new()),
        }
    }

    /// A timestamp later than every one handed out before.
    fn now(&self) -> Millis {
        self.clock.fetch_add(1_000, Ordering::Relaxed)
    }

    fn unique(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.serial.fetch_add(1, Ordering::Relaxed))
    }

    /// Unwraps a write and logs the events it committed.
    #[track_caller]
    fn record<T>(&self, result: StoreResult<Outcome<T>>) -> T {
        let outcome = result.unwrap_or_else(|failure| panic!("a write failed: {failure:?}"));
        self.log.lock().expect("the log").extend(outcome.events);
        outcome.value
    }

    fn logged(&self) -> Vec<Published> {
        self.log.lock().expect("the log").clone()
    }

    /// The position of the chat's newest logged event.
    #[track_caller]
    fn head_of(&self, chat_id: ChatId) -> i64 {
        let positions = chat_positions(&self.logged(), chat_id);
        *positions
            .last()
            .unwrap_or_else(|| panic!("no events logged for chat {chat_id}"))
    }

    /// Each chat's logged stream counts 1, 2, 3…; each user's moves by one per event.
    #[track_caller]
    fn assert_streams_gap_free(&self) {
        let mut streams: BTreeMap<Stream, Vec<i64>> = BTreeMap::new();
        for published in self.logged() {
            let (stream, pos) = stream_of(&published.route);
            streams.entry(stream).or_default().push(pos);
        }
        for (stream, positions) in streams {
            let first = match stream {
                Stream::Chat(_) => 1,
                Stream::User(_) => positions[0],
            };
            let expected: Vec<i64> = (first..).take(positions.len()).collect();
            assert_eq!(
                positions, expected,
                "positions of {stream:?} in commit order"
            );
        }
    }

    async fn person(&self, name: &str) -> Person {
        let user = NewUser {
            username: name.to_owned(),
            display_name: display_name_of(name),
            password_hash: password_hash_of(name),
        };
        let (user, session_id) = self
            .store
            .register(user, session(name), self.now())
            .await
            .expect("registering");
        Person {
            actor: Actor {
                user_id: user.id,
                session_id,
            },
            user,
        }
    }

    async fn people<const N: usize>(&self, names: [&str; N]) -> [Person; N] {
        let mut people = Vec::with_capacity(N);
        for name in names {
            people.push(self.person(name).await);
        }
        people.try_into().expect("one person per name")
    }

    async fn extra_session(&self, who: &Person, label: &str) -> i64 {
        self.store
            .create_session(who.id(), session(label), self.now())
            .await
            .expect("creating a session")
    }

    async fn authenticate(&self, label: &str) -> Option<Actor> {
        self.store
            .authenticate(hash_of(label), self.now())
            .await
            .expect("authenticating")
    }

    async fn credentials(&self, username: &str) -> Credentials {
        let found = self
            .store
            .credentials(username)
            .await
            .expect("reading credentials");
        found.unwrap_or_else(|| panic!("{username} has credentials"))
    }

    async fn session_ids(&self, who: &Person) -> Vec<i64> {
        let sessions = self
            .store
            .sessions(who.id())
            .await
            .expect("listing sessions");
        sorted(sessions.into_iter().map(|session| session.id).collect())
    }

    async fn create(&self, owner: &Person, kind: ChatKind, members: &[&Person]) -> ChatId {
        let result = self
            .store
            .create_chat(owner.actor, new_chat(kind, members), self.now())
            .await;
        let (chat_id, created) = self.record(result);
        assert!(created, "a new chat");
        chat_id
    }

    async fn group(&self, owner: &Person, members: &[&Person]) -> ChatId {
        self.create(owner, ChatKind::Group, members).await
    }

    async fn direct(&self, from: &Person, to: &Person) -> ChatId {
        self.create(from, ChatKind::Direct, &[to]).await
    }

    // Writes whose outcome a check does not inspect: each must succeed, and its events are logged.

    async fn set_role(&self, owner: &Person, chat_id: ChatId, who: &Person, role: Role) {
        let now = self.now();
        self.record(
            self.store
                .set_role(owner.actor, chat_id, who.id(), role, now)
                .await,
        );
    }

    async fn add_member(&self, adder: &Person, chat_id: ChatId, who: &Person) {
        let now = self.now();
        self.record(
            self.store
                .add_members(adder.actor, chat_id, vec![who.id()], now)
                .await,
        );
    }

    async fn remove_member(&self, remover: &Person, chat_id: ChatId, who: &Person) {
        let now = self.now();
        self.record(
            self.store
                .remove_member(remover.actor, chat_id, who.id(), now)
                .await,
        );
    }

    async fn rename(&self, who: &Person, chat_id: ChatId, title: &str) {
        let now = self.now();
        self.record(
            self.store
                .rename_chat(who.actor, chat_id, title.to_owned(), now)
                .await,
        );
    }

    async fn edit(&self, who: &Person, chat_id: ChatId, seq: Seq, text: &str) {
        let now = self.now();
        self.record(
            self.store
                .edit_message(
                    who.actor,
                    chat_id,
                    seq,
                    MessageEdit::text(text.to_owned()),
                    now,
                )
                .await,
        );
    }

    async fn delete(&self, who: &Person, chat_id: ChatId, seq: Seq) {
        let now = self.now();
        self.record(
            self.store
                .delete_message(who.actor, chat_id, seq, now)
                .await,
        );
    }

    async fn react(&self, who: &Person, chat_id: ChatId, seq: Seq, emoji: &str) {
        let now = self.now();
        self.record(
            self.store
                .toggle_reaction(who.actor, chat_id, seq, emoji.to_owned(), now)
                .await,
        );
    }

    async fn mark_read(&self, who: &Person, chat_id: ChatId, seq: Seq) {
        let now = self.now();
        self.record(self.store.mark_read(who.actor, chat_id, seq, now).await);
    }

    async fn revoke_session(&self, who: &Person, session_id: i64) {
        self.record(
            self.store
                .revoke_sessions(who.id(), Revoke::One(session_id))
                .await,
        );
    }

    async fn send(&self, who: &Person, chat_id: ChatId, text: &str) -> Message {
        let message = new_message(&self.unique("m"), text);
        let result = self
            .store
            .send_message(who.actor, chat_id, message, self.now())
            .await;
        let (message, created) = self.record(result);
        assert!(created, "a new message");
        message
    }

    async fn send_many(&self, who: &Person, chat_id: ChatId, count: usize) {
        for n in 1..=count {
            self.send(who, chat_id, &format!("message {n}")).await;
        }
    }

    async fn invite_at(
        &self,
        who: &Person,
        chat_id: ChatId,
        code: &str,
        expires_at: Option<Millis>,
        max_uses: Option<u32>,
        now: Millis,
    ) -> Invite {
        let invite = NewInvite {
            code: code.to_owned(),
            expires_at,
            max_uses,
        };
        self.store
            .create_invite(who.actor, chat_id, invite, now)
            .await
            .expect("creating an invite")
    }

    async fn view(&self, who: &Person, chat_id: ChatId) -> Chat {
        self.store
            .chat(who.actor, chat_id)
            .await
            .expect("reading a chat")
    }

    async fn chat_ids(&self, who: &Person) -> Vec<ChatId> {
        let chats = self.store.chats(who.actor).await.expect("listing chats");
        chats.into_iter().map(|chat| chat.id).collect()
    }

    async fn roles(&self, who: &Person, chat_id: ChatId) -> BTreeMap<UserId, Role> {
        let members = self
            .store
            .members(who.actor, chat_id)
            .await
            .expect("listing members");
        members
            .into_iter()
            .map(|member| (member.user.id, member.role))
            .collect()
    }

    async fn message_at(&self, who: &Person, chat_id: ChatId, seq: Seq) -> Message {
        let page = Page {
            after: Some(seq - 1),
            before: None,
            limit: 1,
        };
        let mut found = self
            .store
            .messages(who.actor, chat_id, page)
            .await
            .expect("reading history");
        assert_eq!(seqs(&found), vec![seq], "reading message {seq}");
        found.remove(0)
    }

    /// The whole history, read page by page from the start.
    async fn history(&self, who: &Person, chat_id: ChatId) -> Vec<Message> {
        let mut history: Vec<Message> = Vec::new();
        loop {
            let after = history.last().map_or(0, |message| message.seq);
            let page = Page {
                after: Some(after),
                before: None,
                limit: 100,
            };
            let messages = self
                .store
                .messages(who.actor, chat_id, page)
                .await
                .expect("reading history");
            if messages.is_empty() {
                return history;
            }
            history.extend(messages);
        }
    }

    async fn cursor(&self, who: &Person) -> Cursor {
        self.store
            .current_cursor(who.id())
            .await
            .expect("reading the cursor")
    }

    /// Catches up with room for every event a check makes.
    async fn catch_up(&self, who: &Person, cursor: &Cursor) -> CatchUp {
        self.store
            .catch_up(who.id(), cursor, 1000)
            .await
            .expect("catching up")
    }

    /// Everything a member may do in a chat is refused once they are out of it.
    async fn assert_locked_out(&self, who: &Person, chat_id: ChatId) {
        let not_member = &[ErrorCode::NotMember];
        let page = Page {
            limit: 10,
            ..Page::default()
        };
        let message = new_message(&self.unique("m"), "still here?");
        assert_refused(
            self.store.chat(who.actor, chat_id).await,
            not_member,
            "reading a chat one left",
        );
        assert_refused(
            self.store.messages(who.actor, chat_id, page).await,
            not_member,
            "reading the history of a chat one left",
        );
        assert_refused(
            self.store
                .send_message(who.actor, chat_id, message, self.now())
                .await,
            not_member,
            "sending to a chat one left",
        );
        assert!(
            !self.chat_ids(who).await.contains(&chat_id),
            "a chat one left is not listed"
        );
    }

    /// The chat's recipients, as of its newest logged event.
    async fn assert_snapshot(&self, chat_id: ChatId, members: &[&Person]) {
        let snapshot = self
            .store
            .chat_members(chat_id)
            .await
            .expect("reading members");
        assert_eq!(sorted(snapshot.user_ids), ids(members));
        assert_eq!(
            snapshot.as_of_pos,
            self.head_of(chat_id),
            "as of the chat's newest event"
        );
    }
}

/// A stand-in for the SHA-256 of a token or ticket: distinct labels give distinct hashes.
fn hash_of(label: &str) -> [u8; 32] {
    assert!(label.len() <= 32, "label too long for a fake hash: {label}");
    let mut hash = [0; 32];
    hash[..label.len()].copy_from_slice(label.as_bytes());
    hash
}

/// A session whose token hash is `hash_of(label)`.
fn session(label: &str) -> NewSession {
    NewSession {
        token_hash: hash_of(label),
        device_name: format!("device {label}"),
    }
}

fn display_name_of(username: &str) -> String {
    format!("User {username}")
}

fn password_hash_of(username: &str) -> String {
    format!("$argon2id$fake-hash-of-{username}")
}

fn new_chat(kind: ChatKind, members: &[&Person]) -> NewChat {
    let title = match kind {
        ChatKind::Direct => None,
        ChatKind::Group => Some("Class 5B parents".to_owned()),
        ChatKind::Channel => Some("Class 5B announcements".to_owned()),
    };
    NewChat {
        kind,
        title,
        member_ids: members.iter().map(|person| person.id()).collect(),
        privacy: kolokol_proto::ChatPrivacy::Community,
    }
}

fn new_message(client_msg_id: &str, text: &str) -> NewMessage {
    NewMessage {
        client_msg_id: client_msg_id.to_owned(),
        text: text.to_owned(),
        reply_to: None,
        poll: None,
        thread_of: None,
        keyboard: Vec::new(),
        markup: Vec::new(),
        attachments: Vec::new(),
        mls: None,
    }
}

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items
}

fn ids(people: &[&Person]) -> Vec<UserId> {
    sorted(people.iter().map(|person| person.id()).collect())
}

fn seqs(messages: &[Message]) -> Vec<Seq> {
    messages.iter().map(|message| message.seq).collect()
}

/// Emoji to the sorted ids of those who gave it.
fn reactions_of(message: &Message) -> BTreeMap<String, Vec<UserId>> {
    let reactions = message.reactions.iter().map(|reaction| {
        assert!(
            !reaction.user_ids.is_empty(),
            "a reaction nobody gives is not listed: {reaction:?}"
        );
        (reaction.emoji.clone(), sorted(reaction.user_ids.clone()))
    });
    reactions.collect()
}

async fn join_all<T: Send + 'static>(tasks: Vec<JoinHandle<T>>) -> Vec<T> {
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("a task panicked"));
    }
    results
}

// ------------------------------------------------------------------------------------------------
// Assertions

/// The result is a refusal with one of the `allowed` codes.
#[track_caller]
fn assert_refused<T: Debug>(result: StoreResult<T>, allowed: &[ErrorCode], what: &str) {
    match result {
        Err(StoreError::Rejected(rejection)) if allowed.contains(&rejection.code) => {}
        other => panic!("{what}: expected a refusal with {allowed:?}, got {other:?}"),
    }
}

/// The one event among `events` that `pick` accepts.
#[track_caller]
fn only<'a>(events: &'a [Published], what: &str, pick: impl Fn(&Event) -> bool) -> &'a Published {
    let mut found = events.iter().filter(|published| pick(&published.event));
    match (found.next(), found.next()) {
        (Some(published), None) => published,
        _ => panic!("expected exactly one {what} event among {events:#?}"),
    }
}

/// The one event among `events` equal to `expected`.
#[track_caller]
fn exactly_one<'a>(events: &'a [Published], expected: &Event) -> &'a Published {
    only(events, expected.kind(), |event| event == expected)
}

#[track_caller]
fn assert_on_chat(published: &Published, chat_id: ChatId, membership: Option<MembershipChange>) {
    let on_chat = matches!(
        published.route,
        Route::Chat { chat_id: to, membership: change, .. } if to == chat_id && change == membership
    );
    assert!(
        on_chat,
        "{published:?} should go to chat {chat_id} with membership {membership:?}"
    );
}

fn chat_positions(events: &[Published], chat_id: ChatId) -> Vec<i64> {
    let positions = events.iter().filter_map(|published| match published.route {
        Route::Chat {
            chat_id: to, pos, ..
        } if to == chat_id => Some(pos),
        _ => None,
    });
    positions.collect()
}

/// A new chat's stream starts with `chat.created` at position 1 and has no gaps.
#[track_caller]
fn assert_new_chat_stream(events: &[Published], chat_id: ChatId, creator: UserId) {
    let positions = chat_positions(events, chat_id);
    let expected: Vec<i64> = (1..).take(positions.len()).collect();
    assert_eq!(
        positions, expected,
        "a new chat's positions count from 1: {events:#?}"
    );
    let first = events
        .iter()
        .find(|published| matches!(published.route, Route::Chat { .. }));
    let created = first.map(|published| &published.event);
    let by_creator = matches!(
        created,
        Some(Event::ChatCreated { chat, created_by })
            if chat.id == chat_id && *created_by == creator
    );
    assert!(
        by_creator,
        "a chat's first event is chat.created by its creator: {events:#?}"
    );
}

/// One `member.added` for the person, telling routing that they joined: added by `by`, or
/// (`None`) by an invite.
#[track_caller]
fn assert_member_added(events: &[Published], chat_id: ChatId, who: &Person, by: Option<UserId>) {
    let added = only(events, "member.added", |event| {
        matches!(
            event,
            Event::MemberAdded { chat_id: to, user, role: Role::Member, by: adder }
                if *to == chat_id && user.id == who.id() && *adder == by
        )
    });
    let joined = MembershipChange {
        user_id: who.id(),
        joined: true,
    };
    assert_on_chat(added, chat_id, Some(joined));
}

/// Removal reaches the chat (so recipient lists shrink) and the removed user's own stream (so
/// their other devices, which no longer follow the chat, learn of it too).
#[track_caller]
fn assert_removal_published(events: &[Published], chat_id: ChatId, user_id: UserId, by: UserId) {
    let removal = Event::MemberRemoved {
        chat_id,
        user_id,
        by: Some(by),
    };
    let removals: Vec<&Published> = events
        .iter()
        .filter(|published| published.event == removal)
        .collect();
    let streams: Vec<Stream> = removals
        .iter()
        .map(|published| stream_of(&published.route).0)
        .collect();
    assert_eq!(
        sorted(streams),
        vec![Stream::User(user_id), Stream::Chat(chat_id)],
        "member.removed goes to the user and to the chat: {events:#?}"
    );
    let left = MembershipChange {
        user_id,
        joined: false,
    };
    for published in removals {
        if let Route::Chat { .. } = published.route {
            assert_on_chat(published, chat_id, Some(left));
        }
    }
}

/// Exactly one `session.revoked` per id, on the user's stream at consecutive positions; returns the
/// last position.
#[track_caller]
fn assert_revocations(events: &[Published], user_id: UserId, session_ids: &[i64]) -> i64 {
    let mut revoked = Vec::new();
    let mut positions = Vec::new();
    for published in events {
        match (published.route, &published.event) {
            (Route::User { user_id: to, pos }, Event::SessionRevoked { session_id })
                if to == user_id =>
            {
                revoked.push(*session_id);
                positions.push(pos);
            }
            _ => panic!("unexpected event for a revocation: {published:?}"),
        }
    }
    assert_eq!(
        sorted(revoked),
        sorted(session_ids.to_vec()),
        "one event per revoked session"
    );
    let expected: Vec<i64> = (positions[0]..).take(positions.len()).collect();
    assert_eq!(
        positions, expected,
        "user-stream positions move by one per event"
    );
    *positions.last().expect("at least one revocation")
}

// ------------------------------------------------------------------------------------------------
// Streams and cursors

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stream {
    User(UserId),
    Chat(ChatId),
}

#[track_caller]
fn stream_of(route: &Route) -> (Stream, i64) {
    match *route {
        Route::User { user_id, pos } => (Stream::User(user_id), pos),
        Route::Chat { chat_id, pos, .. } => (Stream::Chat(chat_id), pos),
        Route::Ephemeral { .. } => panic!("ephemeral events are never stored: {route:?}"),
    }
}

/// Per stream, the position and kind of each event. Payloads are left out: a resumed
/// `message.new` may show the message as it is now, edited or deleted since.
type Streams = BTreeMap<Stream, Vec<(i64, &'static str)>>;

/// Groups events by stream, checking each stream comes in position order without repeats.
#[track_caller]
fn by_stream(events: &[Published]) -> Streams {
    let mut streams = Streams::new();
    for published in events {
        let (stream, pos) = stream_of(&published.route);
        let entries = streams.entry(stream).or_default();
        if let Some(&(previous, _)) = entries.last() {
            assert!(
                pos > previous,
                "{stream:?} repeats or goes back: {previous} then {pos}"
            );
        }
        entries.push((pos, published.event.kind()));
    }
    streams
}

/// What `user_id` must get when resuming from `cursor`, given every event `log` holds: their own
/// stream after the cursor, and each chat they are in now (`member_of`) after the cursor or, for a
/// chat the cursor does not name, from the event that added them.
fn missed_by(
    user_id: UserId,
    cursor: &Cursor,
    member_of: &[ChatId],
    log: &[Published],
) -> Vec<Published> {
    // A chat the cursor does not name is followed from the user's latest `member.added` in it.
    let joined_at = |chat_id: ChatId| {
        let joins = log.iter().filter_map(|published| {
            let Event::MemberAdded { user, .. } = &published.event else {
                return None;
            };
            match stream_of(&published.route) {
                (Stream::Chat(to), pos) if to == chat_id && user.id == user_id => Some(pos),
                _ => None,
            }
        });
        joins
            .max()
            .unwrap_or_else(|| panic!("user {user_id} never joined chat {chat_id}"))
    };
    let first_missed = |chat_id: ChatId| {
        cursor
            .chats
            .get(&chat_id)
            .map_or_else(|| joined_at(chat_id), |pos| pos + 1)
    };
    let missed = log.iter().filter(|published| match published.route {
        Route::User { user_id: to, pos } => to == user_id && pos > cursor.user_pos,
        Route::Chat { chat_id, pos, .. } => {
            member_of.contains(&chat_id) && pos >= first_missed(chat_id)
        }
        Route::Ephemeral { .. } => false,
    });
    missed.cloned().collect()
}

#[track_caller]
fn events_of(catch_up: CatchUp) -> Vec<Published> {
    match catch_up {
        CatchUp::Events(events) => events,
        CatchUp::Resync { current } => panic!("expected events, got a resync to {current:?}"),
    }
}

/// Moves a cursor past an event, as a client does with each event it receives.
fn advance(cursor: &mut Cursor, route: &Route) {
    match stream_of(route) {
        (Stream::User(_), pos) => cursor.user_pos = pos,
        (Stream::Chat(chat_id), pos) => {
            cursor.chats.insert(chat_id, pos);
        }
    }
}

/// Catches up `limit` events at a time, advancing the cursor, until nothing is left; returns the
/// events and the final cursor.
async fn catch_up_in_pages(
    store: &dyn Store,
    user_id: UserId,
    from: &Cursor,
    limit: u32,
) -> (Vec<Published>, Cursor) {
    const ENOUGH: usize = 10_000;
    let mut cursor = from.clone();
    let mut received = Vec::new();
    loop {
        let page = events_of(
            store
                .catch_up(user_id, &cursor, limit)
                .await
                .expect("catching up"),
        );
        assert!(
            page.len() <= limit as usize,
            "a page holds at most {limit} events"
        );
        if page.is_empty() {
            return (received, cursor);
        }
        for published in &page {
            advance(&mut cursor, &published.route);
        }
        received.extend(page);
        assert!(
            received.len() < ENOUGH,
            "catching up never ends: {cursor:?}"
        );
    }
}
