//! Accounts, sessions, profiles, authentication, rate limits and the HTTP edge cases every
//! endpoint shares (malformed bodies, unknown routes, the OpenAPI document).

use std::collections::BTreeSet;

use kolokol_client::proto::{
    AuthResponse, ChangePasswordRequest, ErrorBody, ErrorCode, LoginRequest, RegisterRequest,
    UpdateProfileRequest,
};
use kolokol_client::{Client, ClientError};
use reqwest::Method;
use serde_json::{Value, json};

use super::common::{self, PASSWORD, TestServer, assert_refused};

// Helpers.

/// Asserts that a raw response is a JSON error body `{code, message}` with this code and status.
#[track_caller]
fn assert_error_response((status, body): (u16, Vec<u8>), code: ErrorCode, expected_status: u16) {
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, expected_status, "body: {text}");
    let error: ErrorBody =
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("not an error body ({e}): {text}"));
    assert_eq!(error.code, code, "body: {text}");
    assert!(
        !error.message.is_empty(),
        "an error explains itself: {text}"
    );
}

/// The keys of a JSON object, sorted.
fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn key_set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

/// Sends a raw request and parses the JSON answer, whatever its status.
async fn raw_json(client: &Client, method: Method, path: &str) -> (u16, Value) {
    let (status, body) = client.raw(method, path, None).await.expect("a response");
    let value = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "HTTP {status} is not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    (status, value)
}

fn registration(username: &str, password: &str, display_name: &str) -> RegisterRequest {
    RegisterRequest {
        username: username.into(),
        password: password.into(),
        display_name: display_name.into(),
        device_name: None,
    }
}

/// Registers on a fresh anonymous client, returning the result as is.
async fn try_register(
    server: &TestServer,
    request: &RegisterRequest,
) -> Result<AuthResponse, ClientError> {
    server.anonymous().register(request).await
}

/// Logs in on a fresh client; the client is signed in when the result is `Ok`.
async fn try_login(
    server: &TestServer,
    username: &str,
    password: &str,
) -> (Client, Result<AuthResponse, ClientError>) {
    login_on_device(server, username, password, None).await
}

async fn login_on_device(
    server: &TestServer,
    username: &str,
    password: &str,
    device: Option<&str>,
) -> (Client, Result<AuthResponse, ClientError>) {
    let mut client = server.anonymous();
    let result = client
        .login(&LoginRequest {
            username: username.into(),
            password: password.into(),
            device_name: device.map(Into::into),
        })
        .await;
    (client, result)
}

/// A second signed-in device of an existing user.
async fn second_device(server: &TestServer, username: &str, device: &str) -> Client {
    let (client, result) = login_on_device(server, username, PASSWORD, Some(device)).await;
    result.expect("login");
    client
}

/// Asserts that no account with this username exists (as seen by `observer`).
async fn assert_no_user(observer: &Client, username: &str) {
    assert_refused(
        observer.user_by_username(username).await,
        ErrorCode::UserNotFound,
        404,
    );
}

fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

// Registration.

#[tokio::test]
async fn registering_creates_the_account_and_signs_in() {
    let server = common::start().await;
    let mut client = server.anonymous();
    let auth = client
        .register(&RegisterRequest {
            username: "anna.k_1".into(),
            password: PASSWORD.into(),
            display_name: "Анна К.".into(),
            device_name: Some("Firefox on Android".into()),
        })
        .await
        .expect("register answers 201");
    assert_eq!(auth.user.username.as_deref(), Some("anna.k_1"));
    assert_eq!(auth.user.display_name, "Анна К.");
    assert_eq!(auth.user.about, "");
    assert!(
        auth.token.len() >= 32,
        "a token of real entropy: {}",
        auth.token
    );
    assert_eq!(client.token(), Some(auth.token.as_str()));
    assert_eq!(client.me().await.unwrap().user, auth.user);
}

#[tokio::test]
async fn registration_answers_201_with_public_fields_only() {
    let server = common::start().await;
    let body = json!({"username": "anna", "password": PASSWORD, "display_name": "Anna"});
    let (status, bytes) = server
        .anonymous()
        .raw(
            Method::POST,
            "/api/v1/auth/register",
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&bytes));
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(keys(&value), key_set(&["token", "user"]));
    assert_eq!(
        keys(&value["user"]),
        key_set(&["about", "display_name", "id", "username"])
    );
}

#[tokio::test]
async fn usernames_are_lowercased_and_unique_regardless_of_case() {
    let server = common::start().await;
    let first = try_register(&server, &registration("Anna", PASSWORD, "Anna"))
        .await
        .unwrap();
    assert_eq!(first.user.username.as_deref(), Some("anna"));

    let again = try_register(
        &server,
        &registration("anna", "another password", "Impostor"),
    )
    .await;
    assert_refused(again, ErrorCode::UsernameTaken, 409);
    let shouting = try_register(
        &server,
        &registration("ANNA", "another password", "Impostor"),
    )
    .await;
    assert_refused(shouting, ErrorCode::UsernameTaken, 409);

    // The refused attempts changed nothing: the original password still works, theirs does not.
    let (_, ok) = try_login(&server, "anna", PASSWORD).await;
    assert_eq!(ok.unwrap().user, first.user);
    let (_, wrong) = try_login(&server, "anna", "another password").await;
    assert_refused(wrong, ErrorCode::WrongCredentials, 401);
}

#[tokio::test]
async fn invalid_usernames_are_refused_and_nothing_is_stored() {
    let server = common::start().await;
    let (observer, _) = server.user("observer").await;
    let too_long = "a".repeat(33);
    for bad in [
        "",
        "ab",
        too_long.as_str(),
        "anna k",
        "anna-k",
        "anna@x",
        "анна",
        "ann\u{0}a",
        "👍👍👍",
    ] {
        let result = try_register(&server, &registration(bad, PASSWORD, "Someone")).await;
        let err = result.expect_err(bad);
        assert_eq!(
            (err.code(), err.status()),
            (Some(ErrorCode::InvalidUsername), Some(400)),
            "{bad:?}: {err}"
        );
        if !bad.is_empty() {
            assert_no_user(&observer, bad).await;
        }
    }
    // The edges of what is allowed.
    for good in ["abc", "a".repeat(32).as_str(), "a.b_9"] {
        try_register(&server, &registration(good, PASSWORD, "Someone"))
            .await
            .expect(good);
    }
}

#[tokio::test]
async fn short_or_huge_passwords_are_refused() {
    let server = common::start().await;
    let (observer, _) = server.user("observer").await;
    for bad in [String::new(), "seven77".into(), "x".repeat(257)] {
        let result = try_register(&server, &registration("anna", &bad, "Anna")).await;
        assert_refused(result, ErrorCode::InvalidPassword, 400);
    }
    assert_no_user(&observer, "anna").await;
    try_register(&server, &registration("anna", "eight888", "Anna"))
        .await
        .expect("8 characters are enough");
}

#[tokio::test]
async fn empty_or_overlong_display_names_are_refused() {
    let server = common::start().await;
    let (observer, _) = server.user("observer").await;
    for bad in [
        String::new(),
        "   ".into(),
        "x".repeat(65),
        "evil\u{202E}name".into(),
        "two\nlines".into(),
    ] {
        let result = try_register(&server, &registration("anna", PASSWORD, &bad)).await;
        assert_refused(result, ErrorCode::InvalidDisplayName, 400);
    }
    assert_no_user(&observer, "anna").await;
}

#[tokio::test]
async fn overlong_device_names_are_refused() {
    let server = common::start().await;
    let request = RegisterRequest {
        device_name: Some("d".repeat(65)),
        ..registration("anna", PASSWORD, "Anna")
    };
    assert_refused(
        try_register(&server, &request).await,
        ErrorCode::InvalidDeviceName,
        400,
    );
    let (_, login) = try_login(&server, "anna", PASSWORD).await;
    assert_refused(login, ErrorCode::WrongCredentials, 401);
}

// Login.

#[tokio::test]
async fn login_returns_a_new_working_token() {
    let server = common::start().await;
    let (first, anna) = server.user("anna").await;
    let (second, result) = try_login(&server, "ANNA", PASSWORD).await;
    let auth = result.expect("login is case-insensitive in the username");
    assert_eq!(auth.user, anna);
    assert_ne!(
        Some(auth.token.as_str()),
        first.token(),
        "every login is a new session"
    );
    assert_eq!(second.me().await.unwrap().user, anna);
    assert_eq!(
        first.me().await.unwrap().user,
        anna,
        "the first session still works"
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_refusal() {
    let server = common::start().await;
    server.user("anna").await;
    let (_, wrong_password) = try_login(&server, "anna", "not the password").await;
    let (_, unknown_user) = try_login(&server, "nobody", PASSWORD).await;
    let wrong_password = wrong_password.unwrap_err();
    let unknown_user = unknown_user.unwrap_err();
    for err in [&wrong_password, &unknown_user] {
        assert_eq!(
            (err.code(), err.status()),
            (Some(ErrorCode::WrongCredentials), Some(401)),
            "{err}"
        );
    }
    // Nothing in the answer tells the two apart.
    assert_eq!(wrong_password.to_string(), unknown_user.to_string());
}

// Profiles.

#[tokio::test]
async fn me_returns_the_signed_in_user_with_public_fields_only() {
    let server = common::start().await;
    let (anna, user) = server.user("anna").await;
    assert_eq!(anna.me().await.unwrap().user, user);
    let (status, value) = raw_json(&anna, Method::GET, "/api/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!(
        keys(&value),
        key_set(&[
            "about",
            "display_name",
            "id",
            "instance_admin",
            "show_username",
            "username"
        ])
    );
    assert_eq!(value["instance_admin"], false);
    assert_eq!(
        value["show_username"], false,
        "hidden from others by default"
    );
    assert_eq!(value["username"], "anna");
}

#[tokio::test]
async fn users_update_their_display_name_and_about() {
    let server = common::start().await;
    let (anna, user) = server.user("anna").await;

    let renamed = anna
        .update_profile(&UpdateProfileRequest {
            display_name: Some("  Анна Петровна  ".into()),
            about: None,
            show_username: None,
        })
        .await
        .unwrap();
    assert_eq!(renamed.user.display_name, "Анна Петровна", "trimmed");
    assert_eq!(renamed.user.about, "", "untouched when not given");

    let described = anna
        .update_profile(&UpdateProfileRequest {
            display_name: None,
            about: Some("Class teacher, 5B.\nAsk me about homework.".into()),
            show_username: None,
        })
        .await
        .unwrap();
    assert_eq!(
        described.user.display_name, "Анна Петровна",
        "untouched when not given"
    );
    assert_eq!(
        described.user.about,
        "Class teacher, 5B.\nAsk me about homework."
    );
    assert_eq!(described.user.id, user.id);
    assert_eq!(described.user.username, user.username);
    assert_eq!(anna.me().await.unwrap().profile, described);

    let longest = anna
        .update_profile(&UpdateProfileRequest {
            display_name: None,
            about: Some("я".repeat(500)),
            show_username: None,
        })
        .await
        .unwrap();
    assert_eq!(longest.user.about.chars().count(), 500);
}

#[tokio::test]
async fn invalid_profile_updates_are_refused_and_change_nothing() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let before = anna
        .update_profile(&UpdateProfileRequest {
            display_name: Some("Anna".into()),
            about: Some("Hello".into()),
            show_username: None,
        })
        .await
        .unwrap();

    let too_long_about = UpdateProfileRequest {
        display_name: Some("Someone else".into()),
        about: Some("я".repeat(501)),
        show_username: None,
    };
    assert_refused(
        anna.update_profile(&too_long_about).await,
        ErrorCode::InvalidAbout,
        400,
    );
    let control_about = UpdateProfileRequest {
        display_name: None,
        about: Some("bell\u{7}".into()),
        show_username: None,
    };
    assert_refused(
        anna.update_profile(&control_about).await,
        ErrorCode::InvalidAbout,
        400,
    );
    let empty_name = UpdateProfileRequest {
        display_name: Some(" ".into()),
        about: Some("Changed".into()),
        show_username: None,
    };
    assert_refused(
        anna.update_profile(&empty_name).await,
        ErrorCode::InvalidDisplayName,
        400,
    );

    assert_eq!(
        anna.me().await.unwrap().profile,
        before,
        "no refused field was half-applied"
    );
}

#[tokio::test]
async fn other_users_see_only_public_fields() {
    let server = common::start().await;
    let (anna, anna_user) = server.user("anna").await;
    let (bob, _) = server.user("bob").await;
    anna.update_profile(&UpdateProfileRequest {
        about: Some("Parent of two".into()),
        ..Default::default()
    })
    .await
    .unwrap();

    let seen = bob.user(anna_user.id).await.unwrap();
    assert_eq!(seen.about, "Parent of two");
    let public = ["about", "display_name", "id", "username"];
    for path in [
        format!("/api/v1/users/{}", anna_user.id),
        "/api/v1/users/by-username/anna".to_owned(),
    ] {
        let (status, value) = raw_json(&bob, Method::GET, &path).await;
        assert_eq!(status, 200);
        assert_eq!(keys(&value), key_set(&public));
    }
}

/// Contact privacy: nobody sees a username its owner has not chosen to show — not through a
/// profile, a member list or a direct chat — and choosing to show it is undone as easily.
#[tokio::test]
async fn usernames_show_only_when_their_owner_chooses() {
    let server = common::start().await;
    let (anna, anna_user) = server.user("anna").await;
    let (bob, _) = server.user("bob").await;
    let direct = common::chat_of_kind(
        &bob,
        kolokol_client::proto::ChatKind::Direct,
        "",
        &[anna_user.id],
    )
    .await
    .id;
    let as_bob_sees = async || {
        let by_id = bob.user(anna_user.id).await.unwrap();
        let members = bob.members(direct).await.unwrap();
        let member = members.into_iter().find(|m| m.user.id == anna_user.id);
        let peer = bob.chat(direct).await.unwrap().peer;
        assert_eq!(Some(&by_id), member.as_ref().map(|m| &m.user));
        assert_eq!(Some(&by_id), peer.as_ref());
        by_id.username
    };
    assert_eq!(as_bob_sees().await, None, "hidden by default");
    let (_, value) = raw_json(
        &bob,
        Method::GET,
        &format!("/api/v1/users/{}", anna_user.id),
    )
    .await;
    assert_eq!(value["username"], serde_json::Value::Null);

    let shown = anna
        .update_profile(&UpdateProfileRequest {
            show_username: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(shown.show_username);
    assert_eq!(as_bob_sees().await.as_deref(), Some("anna"));

    anna.update_profile(&UpdateProfileRequest {
        show_username: Some(false),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(as_bob_sees().await, None);
    let mine = anna.me().await.unwrap();
    assert_eq!(
        mine.user.username.as_deref(),
        Some("anna"),
        "she always sees her own"
    );
    assert!(!mine.show_username);
}

#[tokio::test]
async fn users_are_found_by_username_regardless_of_case() {
    let server = common::start().await;
    let (_, anna) = server.user("anna").await;
    let (bob, _) = server.user("bob").await;
    assert_eq!(bob.user_by_username("anna").await.unwrap().id, anna.id);
    assert_eq!(bob.user_by_username("AnNa").await.unwrap().id, anna.id);
}

#[tokio::test]
async fn unknown_users_are_not_found() {
    let server = common::start().await;
    let (bob, bob_user) = server.user("bob").await;
    assert_refused(
        bob.user(bob_user.id + 1000).await,
        ErrorCode::UserNotFound,
        404,
    );
    assert_refused(bob.user(-1).await, ErrorCode::UserNotFound, 404);
    assert_refused(
        bob.user_by_username("nobody").await,
        ErrorCode::UserNotFound,
        404,
    );
    assert_refused(
        bob.user_by_username("анна").await,
        ErrorCode::UserNotFound,
        404,
    );
}

#[tokio::test]
async fn profiles_need_a_session() {
    let server = common::start().await;
    let (_, anna) = server.user("anna").await;
    let anonymous = server.anonymous();
    assert_refused(anonymous.user(anna.id).await, ErrorCode::Unauthorized, 401);
    assert_refused(
        anonymous.user_by_username("anna").await,
        ErrorCode::Unauthorized,
        401,
    );
    let update = UpdateProfileRequest {
        display_name: Some("Hacked".into()),
        about: None,
        show_username: None,
    };
    assert_refused(
        anonymous.update_profile(&update).await,
        ErrorCode::Unauthorized,
        401,
    );
}

// Sessions.

#[tokio::test]
async fn sessions_show_device_names_and_dates_only() {
    let server = common::start().await;
    let (laptop, _) = server.user("anna").await;
    let phone = second_device(&server, "anna", "Phone").await;

    let sessions = phone.sessions().await.unwrap();
    assert_eq!(sessions.len(), 2);
    let devices: Vec<(&str, bool)> = sessions
        .iter()
        .map(|s| (s.device_name.as_str(), s.current))
        .collect();
    assert_eq!(devices, vec![("test device", false), ("Phone", true)]);
    for session in &sessions {
        assert!(is_date(&session.created_on), "{session:?}");
        assert!(is_date(&session.last_seen_on), "{session:?}");
    }
    // Each device sees itself as the current one.
    let from_laptop = laptop.sessions().await.unwrap();
    let current: Vec<bool> = from_laptop.iter().map(|s| s.current).collect();
    assert_eq!(current, vec![true, false]);

    // No times, addresses or user agents on the wire.
    let (status, value) = raw_json(&phone, Method::GET, "/api/v1/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(keys(&value), key_set(&["sessions"]));
    for session in value["sessions"].as_array().unwrap() {
        assert_eq!(
            keys(session),
            key_set(&["created_on", "current", "device_name", "id", "last_seen_on"])
        );
    }
}

#[tokio::test]
async fn a_login_without_a_device_name_gets_a_placeholder() {
    let server = common::start().await;
    server.user("anna").await;
    let (client, result) = try_login(&server, "anna", PASSWORD).await;
    result.unwrap();
    let sessions = client.sessions().await.unwrap();
    let current = sessions.iter().find(|s| s.current).unwrap();
    assert!(!current.device_name.is_empty());
}

#[tokio::test]
async fn a_revoked_session_loses_access_at_once() {
    let server = common::start().await;
    let (laptop, anna) = server.user("anna").await;
    let phone = second_device(&server, "anna", "Phone").await;
    let phone_session = phone
        .sessions()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.current)
        .unwrap();

    laptop.revoke_session(phone_session.id).await.unwrap();
    assert_refused(phone.me().await, ErrorCode::Unauthorized, 401);
    assert_refused(phone.sessions().await, ErrorCode::Unauthorized, 401);
    assert_eq!(laptop.me().await.unwrap().user, anna);
    let left = laptop.sessions().await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].current);

    // Revoking it again, or a session that never existed, finds nothing.
    assert_refused(
        laptop.revoke_session(phone_session.id).await,
        ErrorCode::NotFound,
        404,
    );
    assert_refused(
        laptop.revoke_session(999_999).await,
        ErrorCode::NotFound,
        404,
    );
}

#[tokio::test]
async fn users_cannot_revoke_each_others_sessions() {
    let server = common::start().await;
    let (anna, anna_user) = server.user("anna").await;
    let (bob, _) = server.user("bob").await;
    let anna_session = anna.sessions().await.unwrap()[0].id;

    assert_refused(
        bob.revoke_session(anna_session).await,
        ErrorCode::NotFound,
        404,
    );
    assert_eq!(
        anna.me().await.unwrap().user,
        anna_user,
        "anna is still signed in"
    );
    assert_eq!(anna.sessions().await.unwrap().len(), 1);
}

#[tokio::test]
async fn revoking_other_sessions_keeps_the_current_one() {
    let server = common::start().await;
    let (laptop, anna) = server.user("anna").await;
    let phone = second_device(&server, "anna", "Phone").await;
    let tablet = second_device(&server, "anna", "Tablet").await;
    let (bob, bob_user) = server.user("bob").await;

    assert_eq!(tablet.revoke_other_sessions().await.unwrap(), 2);
    assert_refused(laptop.me().await, ErrorCode::Unauthorized, 401);
    assert_refused(phone.me().await, ErrorCode::Unauthorized, 401);
    assert_eq!(tablet.me().await.unwrap().user, anna);
    let left = tablet.sessions().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].device_name.as_str(), left[0].current),
        ("Tablet", true)
    );
    // Another user's sessions are untouched.
    assert_eq!(bob.me().await.unwrap().user, bob_user);
    // Nothing left to revoke.
    assert_eq!(tablet.revoke_other_sessions().await.unwrap(), 0);
}

#[tokio::test]
async fn logout_revokes_only_the_calling_session() {
    let server = common::start().await;
    let (laptop, anna) = server.user("anna").await;
    let phone = second_device(&server, "anna", "Phone").await;

    phone.logout().await.unwrap();
    assert_refused(phone.me().await, ErrorCode::Unauthorized, 401);
    assert_refused(phone.logout().await, ErrorCode::Unauthorized, 401);
    assert_eq!(laptop.me().await.unwrap().user, anna);
    assert_eq!(laptop.sessions().await.unwrap().len(), 1);
}

// Passwords.

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let server = common::start().await;
    let (laptop, anna) = server.user("anna").await;
    let phone = second_device(&server, "anna", "Phone").await;

    let wrong = ChangePasswordRequest {
        current_password: "not my password".into(),
        new_password: "a brand new password".into(),
    };
    assert_refused(
        laptop.change_password(&wrong).await,
        ErrorCode::WrongCredentials,
        401,
    );

    assert_eq!(laptop.me().await.unwrap().user, anna);
    assert_eq!(
        phone.me().await.unwrap().user,
        anna,
        "other sessions survive a refused change"
    );
    let (_, old) = try_login(&server, "anna", PASSWORD).await;
    old.expect("the old password still works");
    let (_, new) = try_login(&server, "anna", "a brand new password").await;
    assert_refused(new, ErrorCode::WrongCredentials, 401);
}

#[tokio::test]
async fn a_too_short_new_password_is_refused() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let short = ChangePasswordRequest {
        current_password: PASSWORD.into(),
        new_password: "short".into(),
    };
    assert_refused(
        anna.change_password(&short).await,
        ErrorCode::InvalidPassword,
        400,
    );
    let (_, old) = try_login(&server, "anna", PASSWORD).await;
    old.expect("the old password still works");
}

#[tokio::test]
async fn changing_the_password_revokes_other_sessions() {
    let server = common::start().await;
    let (laptop, anna) = server.user("anna").await;
    let phone = second_device(&server, "anna", "Phone").await;

    laptop
        .change_password(&ChangePasswordRequest {
            current_password: PASSWORD.into(),
            new_password: "a brand new password".into(),
        })
        .await
        .unwrap();

    assert_refused(phone.me().await, ErrorCode::Unauthorized, 401);
    assert_eq!(
        laptop.me().await.unwrap().user,
        anna,
        "the session that changed it stays"
    );
    assert_eq!(laptop.sessions().await.unwrap().len(), 1);
    let (_, old) = try_login(&server, "anna", PASSWORD).await;
    assert_refused(old, ErrorCode::WrongCredentials, 401);
    let (_, new) = try_login(&server, "anna", "a brand new password").await;
    assert_eq!(new.unwrap().user, anna);
}

// Authentication.

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthorized() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let token = anna.token().unwrap().to_owned();

    assert_refused(server.anonymous().me().await, ErrorCode::Unauthorized, 401);
    assert_refused(
        server.anonymous().chats().await,
        ErrorCode::Unauthorized,
        401,
    );
    let garbage = server.anonymous().with_token("kk_garbage");
    assert_refused(garbage.me().await, ErrorCode::Unauthorized, 401);
    let truncated = server.anonymous().with_token(&token[..token.len() - 1]);
    assert_refused(truncated.me().await, ErrorCode::Unauthorized, 401);
    let empty = server.anonymous().with_token("");
    assert_refused(empty.me().await, ErrorCode::Unauthorized, 401);
}

#[tokio::test]
async fn a_token_in_the_url_is_not_accepted() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let token = anna.token().unwrap().to_owned();
    let anonymous = server.anonymous();
    for path in [
        format!("/api/v1/me?token={token}"),
        format!("/api/v1/me?access_token={token}"),
        format!("/api/v1/sessions?token={token}"),
    ] {
        let response = anonymous.raw(Method::GET, &path, None).await.unwrap();
        assert_error_response(response, ErrorCode::Unauthorized, 401);
    }
}

#[tokio::test]
async fn only_the_bearer_scheme_is_accepted() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    let token = anna.token().unwrap();
    let http = reqwest::Client::new();
    for header in [
        format!("Basic {token}"),
        format!("Token {token}"),
        token.to_owned(),
    ] {
        let response = http
            .get(format!("{}/api/v1/me", server.base))
            .header("Authorization", header)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap().to_vec();
        assert_error_response((status, body), ErrorCode::Unauthorized, 401);
    }
}

// Rate limits.

#[tokio::test]
async fn logins_are_rate_limited_per_username() {
    let server = common::start_with(|s| {
        s.login_per_username_per_minute = 3;
    })
    .await;
    let (_, anna) = server.user("anna").await;
    server.user("bob").await;

    // Three attempts, right or wrong, use up anna's allowance.
    let (_, first) = try_login(&server, "anna", "wrong password").await;
    assert_refused(first, ErrorCode::WrongCredentials, 401);
    let (_, second) = try_login(&server, "anna", PASSWORD).await;
    assert_eq!(second.unwrap().user, anna);
    let (_, third) = try_login(&server, "Anna", "wrong password").await;
    assert_refused(third, ErrorCode::WrongCredentials, 401);

    // The fourth is refused even with the right password and whatever the case.
    let (_, fourth) = try_login(&server, "anna", PASSWORD).await;
    assert_refused(fourth, ErrorCode::RateLimited, 429);
    let (_, fifth) = try_login(&server, "ANNA", PASSWORD).await;
    assert_refused(fifth, ErrorCode::RateLimited, 429);

    // Other usernames are not affected.
    let (_, bob) = try_login(&server, "bob", PASSWORD).await;
    bob.expect("bob still signs in");
}

#[tokio::test]
async fn logins_are_rate_limited_per_address() {
    let server = common::start_with(|s| {
        s.login_per_ip_per_minute = 2;
    })
    .await;
    server.user("anna").await;
    server.user("bob").await;
    let (_, first) = try_login(&server, "anna", PASSWORD).await;
    first.unwrap();
    let (_, second) = try_login(&server, "bob", PASSWORD).await;
    second.unwrap();
    let (_, third) = try_login(&server, "nobody", PASSWORD).await;
    assert_refused(third, ErrorCode::RateLimited, 429);
}

#[tokio::test]
async fn registrations_are_rate_limited_per_address() {
    let server = common::start_with(|s| {
        s.register_per_ip_per_hour = 2;
    })
    .await;
    let (anna, _) = server.user("anna").await;
    server.user("bob").await;
    let third = try_register(&server, &registration("carol", PASSWORD, "Carol")).await;
    assert_refused(third, ErrorCode::RateLimited, 429);
    assert_no_user(&anna, "carol").await;
    // Signing in is a different allowance.
    let (_, login) = try_login(&server, "bob", PASSWORD).await;
    login.unwrap();
}

/// Probing whether a username exists by registering it over and over is limited per username,
/// whatever addresses the attempts come from.
#[tokio::test]
async fn registrations_are_rate_limited_per_username() {
    let server = common::start_with(|s| {
        s.register_per_username_per_hour = 2;
    })
    .await;
    let (anna, _) = server.user("anna").await;
    let again = try_register(&server, &registration("anna", PASSWORD, "Anna")).await;
    assert_refused(again, ErrorCode::UsernameTaken, 409);
    let third = try_register(&server, &registration("ANNA", PASSWORD, "Anna")).await;
    assert_refused(third, ErrorCode::RateLimited, 429);
    // Other usernames have their own allowance, and Anna's account is untouched.
    server.user("boris").await;
    assert_eq!(
        anna.me().await.unwrap().user.username.as_deref(),
        Some("anna")
    );
}

// The HTTP edge.

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let server = common::start().await;
    let (observer, _) = server.user("observer").await;
    let anonymous = server.anonymous();
    let bodies: [&[u8]; 6] = [
        b"{\"username\": \"anna\", ",
        b"not json at all",
        b"",
        b"[]",
        b"{\"username\": 5, \"password\": \"correct horse battery\", \"display_name\": \"A\"}",
        b"{\"username\": \"anna\", \"display_name\": \"Anna\"}",
    ];
    for body in bodies {
        let response = anonymous
            .raw(
                Method::POST,
                "/api/v1/auth/register",
                Some(("application/json", body.to_vec())),
            )
            .await
            .unwrap();
        assert_error_response(response, ErrorCode::BadRequest, 400);
    }
    let invalid_utf8 = anonymous
        .raw(
            Method::POST,
            "/api/v1/auth/register",
            Some(("application/json", b"{\"username\": \"\xff\xfe\"}".to_vec())),
        )
        .await
        .unwrap();
    assert_error_response(invalid_utf8, ErrorCode::BadRequest, 400);
    assert_no_user(&observer, "anna").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_unsupported_media() {
    let server = common::start().await;
    let (observer, _) = server.user("observer").await;
    let body =
        json!({"username": "anna", "password": PASSWORD, "display_name": "Anna"}).to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let response = server
            .anonymous()
            .raw(
                Method::POST,
                "/api/v1/auth/register",
                Some((content_type, body.clone().into_bytes())),
            )
            .await
            .unwrap();
        assert_error_response(response, ErrorCode::UnsupportedMediaType, 415);
    }
    assert_no_user(&observer, "anna").await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = common::start().await;
    let (anna, before) = server.user("anna").await;
    // Valid JSON, just too big for the default 64 KiB limit.
    let body = json!({"about": "x".repeat(70 * 1024)})
        .to_string()
        .into_bytes();
    let response = anna
        .raw(
            Method::PATCH,
            "/api/v1/me",
            Some(("application/json", body)),
        )
        .await
        .unwrap();
    assert_error_response(response, ErrorCode::PayloadTooLarge, 413);
    assert_eq!(anna.me().await.unwrap().user, before);
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let server = common::start_with(|s| {
        s.max_body_bytes = 1024;
    })
    .await;
    let body = json!({"username": "anna", "password": "p".repeat(2000), "display_name": "Anna"})
        .to_string();
    let response = server
        .anonymous()
        .raw(
            Method::POST,
            "/api/v1/auth/register",
            Some(("application/json", body.into_bytes())),
        )
        .await
        .unwrap();
    assert_error_response(response, ErrorCode::PayloadTooLarge, 413);
}

#[tokio::test]
async fn unknown_routes_are_json_not_found() {
    let server = common::start().await;
    let (anna, _) = server.user("anna").await;
    for path in [
        "/api/v1/nothing-here",
        "/api/v2/me",
        "/api/v1/chats/1/nonsense",
        "/api/unknown",
    ] {
        let response = anna.raw(Method::GET, path, None).await.unwrap();
        assert_error_response(response, ErrorCode::NotFound, 404);
    }
    let response = server
        .anonymous()
        .raw(Method::POST, "/api/v1/nothing-here", None)
        .await
        .unwrap();
    assert_error_response(response, ErrorCode::NotFound, 404);
    // Paths outside /api belong to the web client (an invite link such as /join/<code>).
    let (status, body) = anna.raw(Method::GET, "/join/abc", None).await.unwrap();
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("<html"));
}

#[tokio::test]
async fn wrong_methods_are_json_method_not_allowed() {
    let server = common::start().await;
    let (anna, before) = server.user("anna").await;
    for (method, path) in [
        (Method::DELETE, "/api/v1/me"),
        (Method::GET, "/api/v1/auth/login"),
        (Method::PUT, "/api/v1/chats"),
        (Method::POST, "/api/v1/sessions"),
        (Method::POST, "/health"),
    ] {
        let response = anna.raw(method.clone(), path, None).await.unwrap();
        assert_error_response(response, ErrorCode::MethodNotAllowed, 405);
    }
    assert_eq!(
        anna.me().await.unwrap().user,
        before,
        "DELETE /me did not delete anything"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let server = common::start().await;
    let doc = server
        .anonymous()
        .openapi()
        .await
        .expect("served without a session");
    let version = doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with('3'), "{version}");
    let paths = doc["paths"].as_object().expect("paths");
    let messages = &paths["/api/v1/chats/{chat_id}/messages"];
    assert!(
        messages.get("get").is_some() && messages.get("post").is_some(),
        "{messages}"
    );
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/chats",
        "/api/v1/sessions",
        "/api/v1/invites/{code}/join",
        "/api/v1/ws",
        "/api/v1/mls/key-packages",
        "/api/v1/chats/{chat_id}/mls/commits",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
}
