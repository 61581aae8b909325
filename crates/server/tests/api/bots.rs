//! Bots: accounts people make, and the Max-compatible bot API at `/bot-api/` — spoken here
//! over plain HTTP, and by the official Max client libraries (npm `@maxhub/max-bot-api`, PyPI
//! `maxapi`) running their echo, keyboard and webhook bots unchanged but for the base URL, on
//! SQLite and on PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kolokol_client::proto::{
    Button, ChatKind, CreateBotRequest, CreatedBot, ErrorCode, Event, Markup, MarkupKind, Message,
    OpenWebAppRequest, Role,
};
use kolokol_client::{Client, Page};
use kolokol_server::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{self, Backend, TestServer, assert_refused};
use super::max_schema::{Recorded, assert_answer, recording_proxy};

/// A person and the bot they made.
pub(super) async fn person_with_bot(
    server: &TestServer,
    person: &str,
    bot: &str,
) -> (Client, CreatedBot) {
    let (client, _) = server.user(person).await;
    let created = client
        .create_bot(&CreateBotRequest {
            username: bot.into(),
            name: "Дневник".into(),
        })
        .await
        .expect("creating a bot");
    (client, created)
}

/// One bot API call with a raw `Authorization: <token>`: status and JSON body.
pub(super) async fn call(
    server: &TestServer,
    token: &str,
    method: Method,
    path_and_query: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let url = format!("{}/bot-api/{path_and_query}", server.base);
    let mut request = reqwest::Client::new()
        .request(method.clone(), url)
        .header("Authorization", token);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.expect("the bot API answers");
    let status = response.status();
    let text = response.text().await.expect("a body");
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    let path = path_and_query.split('?').next().unwrap_or_default();
    assert_answer(&method, path, status.as_u16(), &value);
    (status, value)
}

#[track_caller]
fn assert_max_error(answer: (StatusCode, Value), status: u16, code: &str) {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    assert!(answer.1["message"].is_string());
}

#[tokio::test]
async fn people_make_bots_whose_tokens_work_only_at_the_bot_api() {
    let server = common::start().await;
    let (anna, created) = person_with_bot(&server, "anna", "diary_bot").await;
    let token = created.token.clone();
    assert!(token.starts_with("kkb_"));
    assert_eq!(anna.bots().await.unwrap(), vec![created.bot.clone()]);

    let (status, me) = call(&server, &token, Method::GET, "me", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            &me["user_id"],
            &me["username"],
            &me["is_bot"],
            &me["first_name"]
        ),
        (
            &json!(created.bot.id),
            &json!("diary_bot"),
            &json!(true),
            &json!("Дневник")
        )
    );
    // Also as `Bearer`, which some clients send.
    let (status, _) = call(&server, &format!("Bearer {token}"), Method::GET, "me", None).await;
    assert_eq!(status, 200);

    // A bot token is no person's session, and a person's is no bot's.
    let as_bot = Client::new(server.base.clone()).with_token(token.clone());
    assert_refused(as_bot.me().await, ErrorCode::Unauthorized, 401);
    let person_token = anna.token().expect("signed in").to_owned();
    assert_max_error(
        call(&server, &person_token, Method::GET, "me", None).await,
        401,
        "verify.token",
    );
    assert_max_error(
        call(&server, "", Method::GET, "me", None).await,
        401,
        "verify.token",
    );
    assert_max_error(
        call(&server, "kkb_forged", Method::GET, "me", None).await,
        401,
        "verify.token",
    );
    // The old way of passing the token is refused as upstream refuses it.
    let in_query = format!("me?access_token={token}");
    assert_max_error(
        call(&server, &token, Method::GET, &in_query, None).await,
        403,
        "deprecated.token",
    );

    // Only the owner resets the token, and the old one stops working at once.
    let (boris, _) = server.user("boris").await;
    assert_refused(
        boris.reset_bot_token(created.bot.id).await,
        ErrorCode::NotFound,
        404,
    );
    let fresh = anna.reset_bot_token(created.bot.id).await.unwrap();
    assert_max_error(
        call(&server, &token, Method::GET, "me", None).await,
        401,
        "verify.token",
    );
    assert_eq!(call(&server, &fresh, Method::GET, "me", None).await.0, 200);

    // Names are usernames: taken ones are refused.
    let taken = anna
        .create_bot(&CreateBotRequest {
            username: "boris".into(),
            name: "Самозванец".into(),
        })
        .await;
    assert_refused(taken, ErrorCode::UsernameTaken, 409);

    // Bad names are refused and make nothing; one person owns at most 20 bots.
    let named = |username: &str, name: &str| CreateBotRequest {
        username: username.into(),
        name: name.into(),
    };
    let bad_name = anna.create_bot(&named("no spaces", "Бот")).await;
    assert_refused(bad_name, ErrorCode::InvalidUsername, 400);
    let blank = anna.create_bot(&named("blank_bot", "  ")).await;
    assert_refused(blank, ErrorCode::InvalidDisplayName, 400);
    assert_eq!(anna.bots().await.unwrap().len(), 1);
    for index in 1..20 {
        let request = named(&format!("helper_{index}_bot"), "Помощник");
        anna.create_bot(&request).await.unwrap();
    }
    let over = anna.create_bot(&named("one_more_bot", "Ещё один")).await;
    assert_refused(over, ErrorCode::RateLimited, 429);
    assert_eq!(anna.bots().await.unwrap().len(), 20);

    // Starting: only bots, only a payload of up to 512 characters; commands only to members.
    assert_refused(
        anna.start_bot("boris", None).await,
        ErrorCode::UserNotFound,
        404,
    );
    let long = "я".repeat(513);
    let too_long = anna.start_bot("diary_bot", Some(long.as_str())).await;
    assert_refused(too_long, ErrorCode::BadRequest, 400);
    let chat = anna
        .start_bot("diary_bot", Some(&"я".repeat(512)))
        .await
        .unwrap();
    assert_refused(
        boris.chat_commands(chat.id).await,
        ErrorCode::NotMember,
        403,
    );
}

#[tokio::test]
async fn bad_requests_get_upstream_error_codes_and_change_nothing() {
    let server = common::start_with(|settings| settings.bot_requests_per_second = 40).await;
    let (anna, created) = person_with_bot(&server, "anna", "echo_bot").await;
    let token = &created.token;
    let chat = anna.start_bot("echo_bot", None).await.unwrap();

    let server = &server;
    let post =
        async |path: String, body: &str| call(server, token, Method::POST, &path, Some(body)).await;
    let to_chat = format!("messages?chat_id={}", chat.id);
    assert_max_error(
        post(to_chat.clone(), "{not json").await,
        400,
        "proto.payload",
    );
    assert_max_error(
        post(to_chat.clone(), r#"{"text": 42}"#).await,
        400,
        "proto.payload",
    );
    assert_max_error(
        post(to_chat.clone(), r#"{"text": "   "}"#).await,
        400,
        "proto.payload",
    );
    let too_long = format!(r#"{{"text": "{}"}}"#, "я".repeat(4001));
    let answer = call(server, token, Method::POST, &to_chat, Some(&too_long)).await;
    assert_max_error(answer, 400, "proto.payload");
    assert_max_error(
        post("messages?chat_id=abc".into(), r#"{"text": "hi"}"#).await,
        400,
        "proto.payload",
    );
    assert_max_error(
        post("messages".into(), r#"{"text": "hi"}"#).await,
        400,
        "proto.payload",
    );
    assert_max_error(
        post("messages?chat_id=999999".into(), r#"{"text": "hi"}"#).await,
        404,
        "chat.not.found",
    );
    let (boris, boris_user) = server.user("boris").await;
    let stranger = format!("messages?user_id={}", boris_user.id);
    assert_max_error(
        post(stranger, r#"{"text": "hi"}"#).await,
        403,
        "chat.denied",
    );
    assert_max_error(
        call(server, token, Method::GET, "no/such/method", None).await,
        404,
        "not.found",
    );
    assert_max_error(
        call(server, token, Method::GET, "updates?limit=0", None).await,
        400,
        "proto.payload",
    );
    assert_max_error(
        call(
            server,
            token,
            Method::GET,
            &format!("chats/{}", chat.id + 1000),
            None,
        )
        .await,
        404,
        "chat.not.found",
    );
    // Nothing reached anyone.
    assert!(
        anna.messages(chat.id, Page::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(boris.chats().await.unwrap().is_empty());

    // Commands and profile changes that Max would refuse leave the bot as it was.
    let many: Vec<Value> = (0..33).map(|i| json!({"name": format!("c{i}")})).collect();
    let too_many = json!({ "commands": many }).to_string();
    for (path, body) in [
        ("me/commands", too_many.as_str()),
        ("me/commands", r#"{"commands": [{"name": ""}]}"#),
        ("me/commands", r#"{"commands": "menu"}"#),
        ("me", r#"{"name": "  "}"#),
    ] {
        let answer = call(server, token, Method::PATCH, path, Some(body)).await;
        assert_max_error(answer, 400, "proto.payload");
    }
    let (_, me) = call(server, token, Method::GET, "me", None).await;
    assert_eq!(
        (me["commands"].clone(), me["first_name"].clone()),
        (Value::Null, json!("Дневник"))
    );
    for query in [
        "updates?marker=abc",
        "updates?timeout=91",
        "messages?chat_id=1&count=101",
    ] {
        let answer = call(server, token, Method::GET, query, None).await;
        assert_max_error(answer, 400, "proto.payload");
    }

    // Too many requests in a second: upstream's 429.
    let mut statuses = Vec::new();
    for _ in 0..70 {
        statuses.push(call(server, token, Method::GET, "me", None).await);
    }
    let limited = statuses.into_iter().find(|(status, _)| *status == 429);
    assert_max_error(limited.expect("the limit bites"), 429, "too.many.requests");
}

/// A `chat` button: the first press makes a group (the presser owns it, the bot is its admin and
/// hears `message_chat_created`); the next presser joins it; only chat buttons are pressed so.
#[tokio::test]
async fn a_chat_button_makes_one_group_for_its_message() {
    let server = common::start().await;
    let (anna, created) = person_with_bot(&server, "anna", "trip_bot").await;
    let (boris, boris_user) = server.user("boris").await;
    let (carol, _) = server.user("carol").await;
    let token = &created.token;
    let class = common::group(&anna, "5Б", &[boris_user.id, created.bot.id]).await;
    anna.set_role(class.id, created.bot.id, Role::Admin)
        .await
        .unwrap();
    let buttons = json!([[{"type": "chat", "text": "Обсудить", "chat_title": "Экскурсия 5Б", "start_payload": "trip-12"},
                          {"type": "callback", "text": "Да", "payload": "yes"}]]);
    let body = json!({"text": "Экскурсия в пятницу",
                      "attachments": [{"type": "inline_keyboard", "payload": {"buttons": buttons}}]});
    let path = format!("messages?chat_id={}", -class.id);
    let (status, sent) = call(&server, token, Method::POST, &path, Some(&body.to_string())).await;
    assert_eq!(status, 200, "{sent}");
    let seq = sent["message"]["body"]["seq"].as_i64().unwrap();
    let mid = sent["message"]["body"]["mid"].clone();

    assert_refused(
        anna.press_chat_button(class.id, seq, 0, 1).await,
        ErrorCode::NotFound,
        404,
    );
    assert_refused(
        anna.press_chat_button(class.id, seq, 3, 0).await,
        ErrorCode::NotFound,
        404,
    );
    assert_refused(
        carol.press_chat_button(class.id, seq, 0, 0).await,
        ErrorCode::NotMember,
        403,
    );
    let group = anna.press_chat_button(class.id, seq, 0, 0).await.unwrap();
    assert_eq!(group.title.as_deref(), Some("Экскурсия 5Б"));
    assert_eq!(group.role, Role::Owner);
    let joined = boris.press_chat_button(class.id, seq, 0, 0).await.unwrap();
    assert_eq!(
        (joined.id, joined.role),
        (group.id, Role::Member),
        "one group for the button"
    );
    let again = anna.press_chat_button(class.id, seq, 0, 0).await.unwrap();
    assert_eq!(again.id, group.id);
    let roles: Vec<(i64, Role)> = anna
        .members(group.id)
        .await
        .unwrap()
        .into_iter()
        .map(|member| (member.user.id, member.role))
        .collect();
    assert!(roles.contains(&(created.bot.id, Role::Admin)), "{roles:?}");
    assert_eq!(roles.len(), 3);

    let (_, polled) = call(
        &server,
        token,
        Method::GET,
        "updates?timeout=0&types=message_chat_created",
        None,
    )
    .await;
    let updates = polled["updates"].as_array().unwrap();
    assert_eq!(updates.len(), 1, "told once: {polled}");
    assert_eq!(updates[0]["chat"]["chat_id"], json!(-group.id));
    assert_eq!(updates[0]["chat"]["title"], "Экскурсия 5Б");
    assert_eq!(updates[0]["message_id"], mid);
    assert_eq!(updates[0]["start_payload"], "trip-12");
}

/// `DELETE /chats/{id}`: a bot deletes a chat it owns, as a person would; as a mere member or
/// admin it is refused with upstream's `chat.denied`.
#[tokio::test]
async fn a_bot_deletes_a_chat_it_owns() {
    let server = common::start().await;
    let (anna, created) = person_with_bot(&server, "anna", "roll_bot").await;
    let token = &created.token;
    let group = common::group(&anna, "Дежурства", &[created.bot.id]).await;
    let delete = async |chat_id: i64| {
        let path = format!("chats/{}", -chat_id);
        call(&server, token, Method::DELETE, &path, None).await
    };
    assert_max_error(delete(group.id).await, 403, "chat.denied");
    anna.set_role(group.id, created.bot.id, Role::Admin)
        .await
        .unwrap();
    assert_max_error(delete(group.id).await, 403, "chat.denied");
    anna.transfer_ownership(group.id, created.bot.id)
        .await
        .unwrap();
    assert_eq!(
        delete(group.id).await,
        (StatusCode::OK, json!({"success": true}))
    );
    assert!(
        anna.chats()
            .await
            .unwrap()
            .iter()
            .all(|chat| chat.id != group.id)
    );
    assert_max_error(delete(group.id).await, 404, "chat.not.found");
}

/// Mini-apps: the owner sets where the app is; a person who shares a chat with the bot gets
/// initData that the bot verifies with its token (and no longer after a token reset); others
/// are refused.
#[tokio::test]
async fn mini_apps_open_with_initdata_the_bot_can_verify() {
    let server = common::start().await;
    let (anna, created) = person_with_bot(&server, "anna", "diary_bot").await;
    let (boris, boris_user) = server.user("boris").await;
    let (carol, _) = server.user("carol").await;
    let bot_id = created.bot.id;
    assert_eq!(created.bot.web_app_url, None);

    // Only https, and only by the owner.
    for bad in [
        "http://diary.example/app",
        "https://127.0.0.1/app",
        "javascript:alert(1)",
    ] {
        assert_refused(
            anna.set_bot_web_app(bot_id, Some(bad)).await,
            ErrorCode::BadRequest,
            400,
        );
    }
    assert_refused(
        boris
            .set_bot_web_app(bot_id, Some("https://evil.example/"))
            .await,
        ErrorCode::NotFound,
        404,
    );
    let view = anna
        .set_bot_web_app(bot_id, Some("https://diary.example/app"))
        .await
        .unwrap();
    assert_eq!(
        view.web_app_url.as_deref(),
        Some("https://diary.example/app")
    );
    assert_eq!(anna.bots().await.unwrap()[0].web_app_url, view.web_app_url);

    // Boris shares no chat with the bot yet.
    let launch = OpenWebAppRequest {
        chat_id: None,
        start_param: Some("week-5".into()),
    };
    assert_refused(
        boris.open_web_app("diary_bot", &launch).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        boris.open_web_app("nobody_bot", &launch).await,
        ErrorCode::UserNotFound,
        404,
    );
    boris.start_bot("diary_bot", None).await.unwrap();
    let opened = boris.open_web_app("diary_bot", &launch).await.unwrap();
    assert_eq!(opened.url, "https://diary.example/app");
    assert!(kolokol_botapi::web_app::verify(
        &created.token,
        &opened.init_data
    ));
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(&opened.init_data).unwrap();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    assert_eq!(field("start_param").as_deref(), Some("week-5"));
    let user: Value = serde_json::from_str(&field("user").unwrap()).unwrap();
    assert_eq!(user["id"], json!(boris_user.id));
    assert_eq!(user["first_name"], "BORIS");
    assert!(
        user.get("username").is_none(),
        "a hidden username stays hidden"
    );
    let auth_date: i64 = field("auth_date").unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    assert!((auth_date - now.as_secs() as i64).abs() < 60);

    // From a group the bot is in, by its id; a group without the bot is refused.
    let group = common::group(&anna, "5Б", &[boris_user.id, bot_id]).await;
    let in_group = OpenWebAppRequest {
        chat_id: Some(group.id),
        start_param: None,
    };
    assert!(boris.open_web_app("diary_bot", &in_group).await.is_ok());
    let without = common::group(&anna, "Без бота", &[boris_user.id]).await;
    let elsewhere = OpenWebAppRequest {
        chat_id: Some(without.id),
        start_param: None,
    };
    assert_refused(
        boris.open_web_app("diary_bot", &elsewhere).await,
        ErrorCode::Forbidden,
        403,
    );
    assert_refused(
        carol.open_web_app("diary_bot", &in_group).await,
        ErrorCode::NotMember,
        403,
    );
    let too_long = OpenWebAppRequest {
        chat_id: None,
        start_param: Some("x".repeat(513)),
    };
    assert_refused(
        boris.open_web_app("diary_bot", &too_long).await,
        ErrorCode::BadRequest,
        400,
    );

    // A new token signs from now on; the old one no longer verifies.
    let token = anna.reset_bot_token(bot_id).await.unwrap();
    let reopened = boris.open_web_app("diary_bot", &launch).await.unwrap();
    assert!(kolokol_botapi::web_app::verify(&token, &reopened.init_data));
    assert!(!kolokol_botapi::web_app::verify(
        &created.token,
        &reopened.init_data
    ));

    // Removed: no app to open.
    assert_eq!(
        anna.set_bot_web_app(bot_id, None)
            .await
            .unwrap()
            .web_app_url,
        None
    );
    assert_refused(
        boris.open_web_app("diary_bot", &launch).await,
        ErrorCode::NotFound,
        404,
    );
}

/// A port nothing listens on yet, for a bot's webhook receiver.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One delivery to a webhook: its secret header, and the update.
pub type Delivered = (Option<String>, Value);

/// A webhook receiver: keeps every delivery and answers with the status it is set to.
#[derive(Clone, Default)]
pub struct Receiver {
    deliveries: Arc<Mutex<Vec<Delivered>>>,
    status: Arc<std::sync::atomic::AtomicU16>,
}

impl Receiver {
    pub async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        receiver.answer(200);
        let kept = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                    let secret = headers
                        .get("X-Max-Bot-Api-Secret")
                        .map(|value| value.to_str().unwrap().to_owned());
                    let update = serde_json::from_slice(&body).expect("an update is JSON");
                    kept.deliveries.lock().unwrap().push((secret, update));
                    let status = kept.status.load(std::sync::atomic::Ordering::SeqCst);
                    axum::http::StatusCode::from_u16(status).unwrap()
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    pub fn answer(&self, status: u16) {
        self.status
            .store(status, std::sync::atomic::Ordering::SeqCst);
    }

    /// Waits until `count` deliveries came, and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Delivered> {
        for _ in 0..150 {
            let deliveries = self.deliveries.lock().unwrap().clone();
            if deliveries.len() >= count {
                return deliveries;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "expected {count} deliveries, got {:#?}",
            self.deliveries.lock().unwrap()
        );
    }

    pub fn count(&self) -> usize {
        self.deliveries.lock().unwrap().len()
    }
}

/// The text of a delivered `message_created`, or the update type.
pub fn delivered(update: &Value) -> String {
    match update["update_type"].as_str().unwrap() {
        "message_created" => update["message"]["body"]["text"]
            .as_str()
            .unwrap()
            .to_owned(),
        other => other.to_owned(),
    }
}

/// Webhooks over plain HTTP: delivery in order with the secret, a failure retried with back-off,
/// polling refused meanwhile and resumed where the webhook left off, a subscription dropped
/// after eight hours of failures.
#[tokio::test]
async fn webhooks_deliver_in_order_retry_with_back_off_and_give_up() {
    const START: i64 = 1_800_000_000_000;
    let clock = Clock::manual(START);
    let server = common::start_with(|settings| {
        settings.clock = clock.clone();
        settings.bot_webhooks_allow_private = true;
    })
    .await;
    let (anna, created) = person_with_bot(&server, "anna", "hook_bot").await;
    let token = &created.token;
    let server = &server;
    let (receiver, url) = Receiver::start().await;
    let subscribe = json!({"url": url, "secret": "s3cret-value"}).to_string();
    let answer = call(
        server,
        token,
        Method::POST,
        "subscriptions",
        Some(&subscribe),
    )
    .await;
    assert_eq!(answer, (StatusCode::OK, json!({"success": true})));
    let (_, listed) = call(server, token, Method::GET, "subscriptions", None).await;
    assert_eq!(listed["subscriptions"][0]["url"], json!(url));
    assert_eq!(listed["subscriptions"][0]["time"], json!(START));
    assert_max_error(
        call(server, token, Method::GET, "updates?timeout=0", None).await,
        405,
        "method.not.allowed",
    );

    let chat = anna.start_bot("hook_bot", Some("deep")).await.unwrap();
    common::send(&anna, chat.id, "m1", "раз").await.unwrap();
    let deliveries = receiver.wait_for(2).await;
    let texts: Vec<String> = deliveries
        .iter()
        .map(|(_, update)| delivered(update))
        .collect();
    assert_eq!(texts, ["bot_started", "раз"]);
    for (secret, update) in &deliveries {
        assert_eq!(secret.as_deref(), Some("s3cret-value"));
        let kind = update["update_type"].as_str().unwrap();
        super::max_schema::assert_update(kind, update);
    }

    // A failure waits a minute, then 150 s more, before the next try; the update is not lost.
    receiver.answer(500);
    common::send(&anna, chat.id, "m2", "два").await.unwrap();
    receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.count(), 3, "no retry before its time");
    clock.set(START + 60_000);
    receiver.wait_for(4).await;
    receiver.answer(200);
    clock.set(START + 60_000 + 149_000);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.count(), 4, "the second retry waits 150 s");
    clock.set(START + 60_000 + 150_000);
    let deliveries = receiver.wait_for(5).await;
    let texts: Vec<String> = deliveries
        .iter()
        .map(|(_, update)| delivered(update))
        .collect();
    assert_eq!(texts, ["bot_started", "раз", "два", "два", "два"]);

    // Eight hours of failures end the subscription; polling picks up what was not delivered.
    receiver.answer(503);
    common::send(&anna, chat.id, "m3", "три").await.unwrap();
    receiver.wait_for(6).await;
    clock.set(START + 210_000 + 8 * 3_600_000);
    let mut gone = false;
    // A deadline, not a timing check: a loaded machine (the full test run) may take seconds.
    for _ in 0..200 {
        let (_, listed) = call(server, token, Method::GET, "subscriptions", None).await;
        if listed["subscriptions"].as_array().unwrap().is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "unsubscribed after eight hours");
    let (status, polled) = call(server, token, Method::GET, "updates?timeout=0", None).await;
    assert_eq!(status, 200, "{polled}");
    assert_eq!(
        summary(&polled),
        [("message_created".to_owned(), "три".to_owned())]
    );

    // Types filter what is sent; the others are passed over, not kept for later.
    let only_started = json!({"url": url, "update_types": ["bot_started"]}).to_string();
    let marker = polled["marker"].as_i64().unwrap();
    call(
        server,
        token,
        Method::GET,
        &format!("updates?timeout=0&marker={marker}"),
        None,
    )
    .await;
    receiver.answer(200);
    let before = receiver.count();
    let answer = call(
        server,
        token,
        Method::POST,
        "subscriptions",
        Some(&only_started),
    )
    .await;
    assert_eq!(answer.0, 200);
    common::send(&anna, chat.id, "m4", "четыре").await.unwrap();
    anna.start_bot("hook_bot", Some("again")).await.unwrap();
    let deliveries = receiver.wait_for(before + 1).await;
    let (secret, update) = deliveries.last().unwrap();
    assert_eq!(
        (secret, delivered(update)),
        (&None, "bot_started".to_owned())
    );
    assert_eq!(update["payload"], "again");
    let answer = call(
        server,
        token,
        Method::DELETE,
        &format!("subscriptions?url={url}"),
        None,
    )
    .await;
    assert_eq!(answer.0, 200);
    let (_, polled) = call(server, token, Method::GET, "updates?timeout=0", None).await;
    assert!(summary(&polled).is_empty(), "nothing twice: {polled}");
}

/// Where webhooks may go, and what a subscription must look like.
#[tokio::test]
async fn webhooks_go_only_to_public_https_addresses() {
    let server = common::start().await;
    let (_, created) = person_with_bot(&server, "anna", "hook_bot").await;
    let token = &created.token;
    let subscribe = async |body: Value| {
        let body = body.to_string();
        call(&server, token, Method::POST, "subscriptions", Some(&body)).await
    };
    for body in [
        json!({"url": "http://bot.example.org/hook"}),
        json!({"url": "https://127.0.0.1/hook"}),
        json!({"url": "https://10.0.0.7/hook"}),
        json!({"url": "https://[::1]/hook"}),
        json!({"url": "https://169.254.169.254/latest"}),
        json!({"url": "javascript:alert(1)"}),
        json!({"url": "https://bot.example.org/hook", "secret": "abc"}),
        json!({"url": "https://bot.example.org/hook", "secret": "with space"}),
        json!({"update_types": ["message_created"]}),
    ] {
        assert_max_error(subscribe(body).await, 400, "proto.payload");
    }
    let (_, listed) = call(&server, token, Method::GET, "subscriptions", None).await;
    assert_eq!(listed, json!({"subscriptions": []}));
    // A public https address is taken; a name that resolves to this machine is not followed
    // (its deliveries fail), which the resolver's unit test covers.
    let good = json!({"url": "https://bot.example.org/hook", "secret": "a-good_secret"});
    assert_eq!(subscribe(good).await.0, 200);
    let (_, listed) = call(&server, token, Method::GET, "subscriptions", None).await;
    assert_eq!(
        listed["subscriptions"][0]["url"],
        "https://bot.example.org/hook"
    );
    assert_eq!(listed["subscriptions"][0]["update_types"], Value::Null);
    let answer = call(
        &server,
        token,
        Method::DELETE,
        "subscriptions?url=https://other.example/",
        None,
    )
    .await;
    assert_eq!(answer.0, 200);
    let (_, listed) = call(&server, token, Method::GET, "subscriptions", None).await;
    assert_eq!(
        listed["subscriptions"].as_array().unwrap().len(),
        1,
        "another address stays"
    );
    // An address is compared as stored: written another way, it is still the same one.
    let spelled = "https://Bot.Example.org:443/hook";
    assert_eq!(subscribe(json!({ "url": spelled })).await.0, 200);
    let (_, listed) = call(&server, token, Method::GET, "subscriptions", None).await;
    assert_eq!(
        listed["subscriptions"][0]["url"],
        "https://bot.example.org/hook"
    );
    let path = format!("subscriptions?url={spelled}");
    assert_eq!(
        call(&server, token, Method::DELETE, &path, None).await.0,
        200
    );
    let (_, listed) = call(&server, token, Method::GET, "subscriptions", None).await;
    assert_eq!(listed, json!({"subscriptions": []}));
}

/// What a bot hears of a group's members and title: that it was added and removed (always, and
/// once), and who joins, leaves and renames (as an admin only; never its own doing).
#[tokio::test]
async fn bots_hear_who_adds_removes_joins_leaves_and_renames() {
    let server = common::start().await;
    let (anna, created) = person_with_bot(&server, "anna", "roll_bot").await;
    let bot = created.bot.id;
    let (boris, boris_user) = server.user("boris").await;
    let (_, carol) = server.user("carol").await;
    let (_, dina) = server.user("dina").await;
    let token = &created.token;
    let server = &server;
    // Each update as `(update_type, chat_id, who it is about, who did it, is_channel)`.
    // Each poll acknowledges the one before, with its marker.
    let marker = std::cell::Cell::new(None::<i64>);
    let poll = async || {
        let query = match marker.get() {
            Some(marker) => format!("updates?timeout=0&marker={marker}"),
            None => "updates?timeout=0".to_owned(),
        };
        let (status, polled) = call(server, token, Method::GET, &query, None).await;
        assert_eq!(status, 200, "{polled}");
        marker.set(polled["marker"].as_i64());
        polled["updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|update| {
                let kind = update["update_type"].as_str().unwrap().to_owned();
                let by = [&update["inviter_id"], &update["admin_id"]]
                    .into_iter()
                    .find_map(Value::as_i64)
                    .or_else(|| {
                        kind.starts_with("bot_")
                            .then(|| update["user"]["user_id"].as_i64())
                            .flatten()
                    });
                let about = match kind.as_str() {
                    "chat_title_changed" => json!(update["title"]),
                    _ if kind.starts_with("bot_") => json!(bot),
                    _ => update["user"]["user_id"].clone(),
                };
                let changer = match kind.as_str() {
                    "chat_title_changed" => update["user"]["user_id"].as_i64(),
                    _ => by,
                };
                (
                    kind,
                    update["chat_id"].as_i64().unwrap(),
                    about,
                    changer,
                    update["is_channel"].as_bool(),
                )
            })
            .collect::<Vec<_>>()
    };
    let anna_id = anna.me().await.unwrap().user.id;
    let group = common::group(&anna, "Экскурсия 5Б", &[boris_user.id, carol.id]).await;
    let max_group = -group.id;
    anna.add_members(group.id, &[bot]).await.unwrap();
    anna.rename_chat(group.id, "Экскурсия").await.unwrap();
    anna.add_members(group.id, &[dina.id]).await.unwrap();
    assert_eq!(
        poll().await,
        [(
            "bot_added".to_owned(),
            max_group,
            json!(bot),
            Some(anna_id),
            Some(false)
        )],
        "as a member, only that it was added"
    );

    anna.set_role(group.id, bot, Role::Admin).await.unwrap();
    anna.rename_chat(group.id, "Экскурсия в музей")
        .await
        .unwrap();
    anna.remove_member(group.id, dina.id).await.unwrap();
    boris.leave_chat(group.id).await.unwrap();
    anna.add_members(group.id, &[dina.id]).await.unwrap();
    // Its own doing is not echoed.
    let renamed = json!({"title": "Музей"}).to_string();
    let (status, _) = call(
        server,
        token,
        Method::PATCH,
        &format!("chats/{max_group}"),
        Some(&renamed),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        poll().await,
        [
            (
                "chat_title_changed".to_owned(),
                max_group,
                json!("Экскурсия в музей"),
                Some(anna_id),
                None
            ),
            (
                "user_removed".to_owned(),
                max_group,
                json!(dina.id),
                Some(anna_id),
                Some(false)
            ),
            (
                "user_removed".to_owned(),
                max_group,
                json!(boris_user.id),
                None,
                Some(false)
            ),
            (
                "user_added".to_owned(),
                max_group,
                json!(dina.id),
                Some(anna_id),
                Some(false)
            ),
        ],
        "as an admin, who joins and leaves and the new title"
    );

    // A channel made with the bot in it, and the bot removed from the group: each said once
    // (from different streams, so in either order).
    let channel = common::chat_of_kind(&anna, ChatKind::Channel, "Новости школы", &[bot]).await;
    anna.remove_member(group.id, bot).await.unwrap();
    let mut both = poll().await;
    both.sort_by_key(|update| update.0.clone());
    assert_eq!(
        both,
        [
            (
                "bot_added".to_owned(),
                -channel.id,
                json!(bot),
                Some(anna_id),
                Some(true)
            ),
            (
                "bot_removed".to_owned(),
                max_group,
                json!(bot),
                Some(anna_id),
                Some(false)
            ),
        ]
    );
    assert!(poll().await.is_empty(), "nothing twice");

    // A chat deleted for everyone: the bot is told it was removed, by whom.
    anna.delete_chat(channel.id).await.unwrap();
    assert_eq!(
        poll().await,
        [(
            "bot_removed".to_owned(),
            -channel.id,
            json!(bot),
            Some(anna_id),
            Some(true)
        )]
    );
}

/// Keyboards over plain HTTP: what a bot may send, who may press, and what a bot may answer.
#[tokio::test]
async fn keyboards_are_checked_pressed_by_members_and_answered_by_their_bot() {
    let clock = Clock::manual(1_800_000_000_000);
    let server = common::start_with(|settings| {
        settings.clock = clock.clone();
        settings.button_presses_per_minute = 8;
    })
    .await;
    let (anna, created) = person_with_bot(&server, "anna", "trip_bot").await;
    let (_, other) = person_with_bot(&server, "olga", "other_bot").await;
    let (boris, _) = server.user("boris").await;
    let token = &created.token;
    let chat = anna.start_bot("trip_bot", None).await.unwrap();
    let server = &server;
    let to_chat = format!("messages?chat_id={}", chat.id);
    let post = async |path: &str, body: Value| {
        call(server, token, Method::POST, path, Some(&body.to_string())).await
    };
    let keyboard =
        |buttons: Value| json!([{"type": "inline_keyboard", "payload": {"buttons": buttons}}]);

    // Keyboards Kolokol would not show are refused, and nothing is sent.
    let many_rows: Vec<Value> = (0..31)
        .map(|i| json!([{"type": "callback", "text": "a", "payload": format!("p{i}")}]))
        .collect();
    for attachments in [
        keyboard(json!([[{"type": "link", "text": "Открыть", "url": "javascript:alert(1)"}]])),
        keyboard(json!([[{"type": "callback", "text": "", "payload": "a"}]])),
        keyboard(json!([[{"type": "callback", "text": "a", "payload": "я".repeat(1025)}]])),
        keyboard(json!([[{"type": "chat", "text": "Чат", "chat_title": " "}]])),
        keyboard(json!([[]])),
        keyboard(Value::Array(many_rows)),
        json!([{"type": "image", "payload": {"token": "t"}}]),
        json!([{"type": "inline_keyboard", "payload": {"buttons": []}}, {"type": "inline_keyboard", "payload": {"buttons": []}}]),
    ] {
        let answer = post(
            &to_chat,
            json!({"text": "Меню", "attachments": attachments}),
        )
        .await;
        assert_max_error(answer, 400, "proto.payload");
    }
    assert!(
        anna.messages(chat.id, Page::default())
            .await
            .unwrap()
            .is_empty()
    );

    let buttons = json!([
        [{"type": "callback", "text": "Да", "payload": "yes"}, {"type": "callback", "text": "Нет", "payload": "no"}],
        [{"type": "link", "text": "Программа", "url": "https://example.org/trip"}],
        [{"type": "request_contact", "text": "Мой телефон"}]
    ]);
    let (status, sent) = post(
        &to_chat,
        json!({"text": "Пойдёте?", "attachments": keyboard(buttons.clone())}),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(
        sent["message"]["body"]["attachments"],
        keyboard(buttons.clone())
    );
    let mid = sent["message"]["body"]["mid"].as_str().unwrap().to_owned();
    let seq = sent["message"]["body"]["seq"].as_i64().unwrap();
    let seen = anna
        .messages(chat.id, Page::default())
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!((seen.seq, seen.keyboard.len()), (seq, 3));

    // Only callback buttons that are there are pressed, by members, and not too often.
    let press = async |who: &Client, payload: &str| who.press_button(chat.id, seq, payload).await;
    assert_refused(press(&anna, "maybe").await, ErrorCode::NotFound, 404);
    assert_refused(press(&anna, "Программа").await, ErrorCode::NotFound, 404);
    assert_refused(press(&boris, "yes").await, ErrorCode::NotMember, 403);
    let path = format!("/api/v1/chats/{}/messages/{seq}/callback", chat.id);
    let body = Some(("application/json", br#"{"payload": 7}"#.to_vec()));
    let (status, _) = anna.raw(Method::POST, &path, body).await.unwrap();
    assert_eq!(status, 400, "a malformed press");
    press(&anna, "yes")
        .await
        .expect("a member presses a button");

    // The bot hears the press with the message as it is, and its id to answer.
    let marker = std::cell::Cell::new(0);
    let hear = async || {
        let query = format!(
            "updates?timeout=5&types=message_callback&marker={}",
            marker.get()
        );
        let (_, polled) = call(server, token, Method::GET, &query, None).await;
        marker.set(polled["marker"].as_i64().unwrap());
        polled["updates"][0].clone()
    };
    let update = &hear().await;
    let polled = update;
    assert_eq!(update["update_type"], "message_callback", "{polled}");
    assert_eq!(update["callback"]["payload"], "yes");
    assert_eq!(
        update["callback"]["user"]["user_id"],
        json!(anna.me().await.unwrap().user.id)
    );
    assert_eq!(update["message"]["body"]["mid"], json!(mid));
    assert_eq!(
        update["message"]["body"]["attachments"],
        keyboard(buttons.clone())
    );
    let callback_id = update["callback"]["callback_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Answers: only by the bot whose button it was, to a press it knows, while it is fresh.
    let answers = |id: &str| format!("answers?callback_id={id}");
    let foreign = call(
        server,
        &other.token,
        Method::POST,
        &answers(&callback_id),
        Some("{}"),
    )
    .await;
    assert_max_error(foreign, 404, "not.found");
    for id in ["cb.999999", "nonsense"] {
        assert_max_error(post(&answers(id), json!({})).await, 404, "not.found");
    }
    assert_max_error(post("answers", json!({})).await, 400, "proto.payload");
    let too_long = json!({"notification": "я".repeat(4001)});
    assert_max_error(
        post(&answers(&callback_id), too_long).await,
        400,
        "proto.payload",
    );
    let bad_edit = json!({"message": {"attachments": keyboard(json!([[{"type": "link", "text": "x", "url": "ftp://x"}]]))}});
    assert_max_error(
        post(&answers(&callback_id), bad_edit).await,
        400,
        "proto.payload",
    );
    let unchanged = anna
        .messages(chat.id, Page::default())
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (
            unchanged.text.as_str(),
            unchanged.keyboard.len(),
            unchanged.edited_at
        ),
        ("Пойдёте?", 3, None)
    );

    // `{}` only acknowledges; absent text and null attachments keep what is there.
    let (mut events, _) = common::connect(&anna, None).await;
    assert_eq!(post(&answers(&callback_id), json!({})).await.0, 200);
    assert_max_error(
        post(&answers(&callback_id), json!({"notification": "ещё"})).await,
        404,
        "not.found",
    );
    let told = common::wait_for(&mut events, |event| match event {
        Event::CallbackAnswered {
            seq: at,
            notification,
            ..
        } if *at == seq => Some(notification.clone()),
        _ => None,
    })
    .await;
    assert_eq!(told, None, "answered once: the second answer was refused");
    // Each press is answered once; a new press, a new answer.
    let answer_next = async |answer: Value| {
        press(&anna, "yes").await.unwrap();
        let id = hear().await["callback"]["callback_id"]
            .as_str()
            .unwrap()
            .to_owned();
        post(&answers(&id), answer).await
    };
    let keep = json!({"message": {"text": null, "attachments": null}, "notification": "Принято"});
    assert_eq!(answer_next(keep).await.0, 200);
    let kept = anna
        .messages(chat.id, Page::default())
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (kept.text.as_str(), kept.keyboard.len(), kept.edited_at),
        ("Пойдёте?", 3, None)
    );
    // `[]` removes the buttons.
    let cleared = json!({"message": {"text": "Записали", "attachments": []}});
    assert_eq!(answer_next(cleared).await.0, 200);
    let edited = common::wait_for(&mut events, |event| match event {
        Event::MessageEdited { message } if message.seq == seq => Some(message.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        (edited.text.as_str(), edited.keyboard.len()),
        ("Записали", 0)
    );
    // PUT /messages gives buttons back.
    let again = json!({"attachments": keyboard(json!([[{"type": "callback", "text": "Ещё", "payload": "more"}]]))});
    let answer = call(
        server,
        token,
        Method::PUT,
        &format!("messages?message_id={mid}"),
        Some(&again.to_string()),
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    press(&anna, "more").await.expect("the new button");
    let late = hear().await["callback"]["callback_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A press is answered within a quarter of an hour.
    clock.set(1_800_000_000_000 + 16 * 60 * 1000);
    assert_max_error(post(&answers(&late), json!({})).await, 404, "not.found");

    // Presses are limited per person.
    let mut refused = None;
    for _ in 0..10 {
        if let Err(error) = press(&anna, "more").await {
            refused = Some(error);
            break;
        }
    }
    let refused = refused.expect("the press limit bites");
    assert_eq!(
        (refused.code(), refused.status()),
        (Some(ErrorCode::RateLimited), Some(429))
    );
}

/// The bot's updates from a long poll: `(update_type, text or payload)`.
fn summary(updates: &Value) -> Vec<(String, String)> {
    updates["updates"]
        .as_array()
        .expect("updates is an array")
        .iter()
        .map(|update| {
            let kind = update["update_type"].as_str().unwrap().to_owned();
            let detail = update["message"]["body"]["text"]
                .as_str()
                .or(update["payload"].as_str())
                .unwrap_or_default()
                .to_owned();
            (kind, detail)
        })
        .collect()
}

#[tokio::test]
async fn long_polling_delivers_each_update_once_and_never_the_bots_own() {
    let server = common::start().await;
    let (anna, created) = person_with_bot(&server, "anna", "echo_bot").await;
    let token = &created.token;
    let chat = anna.start_bot("echo_bot", Some("deep")).await.unwrap();
    assert_eq!(chat.peer.as_ref().map(|peer| peer.id), Some(created.bot.id));
    common::send(&anna, chat.id, "m1", "Привет").await.unwrap();

    // Sent before the bot's first poll, and still there for it.
    let (status, first) = call(&server, token, Method::GET, "updates?timeout=0", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        summary(&first),
        [
            ("bot_started".to_owned(), "deep".to_owned()),
            ("message_created".to_owned(), "Привет".to_owned())
        ]
    );
    let update = &first["updates"][1];
    assert_eq!(update["message"]["recipient"]["chat_type"], "dialog");
    assert_eq!(update["message"]["recipient"]["chat_id"], chat.id);
    assert_eq!(update["message"]["sender"]["is_bot"], false);
    assert_eq!(
        update["message"]["sender"]["username"],
        Value::Null,
        "anna hides hers"
    );
    let mid = update["message"]["body"]["mid"]
        .as_str()
        .unwrap()
        .to_owned();
    let marker = first["marker"].as_i64().expect("a marker");

    // The bot answers; its own message never comes back to it.
    let reply = call(
        &server,
        token,
        Method::POST,
        &format!("messages?chat_id={}", chat.id),
        Some(r#"{"text": "Здравствуйте!"}"#),
    )
    .await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert_eq!(reply.1["message"]["sender"]["user_id"], created.bot.id);
    assert_eq!(
        reply.1["message"]["recipient"]["user_id"],
        json!(anna.me().await.unwrap().user.id)
    );
    let texts = |messages: Vec<Message>| messages.into_iter().map(|m| m.text).collect::<Vec<_>>();
    assert_eq!(
        texts(anna.messages(chat.id, Page::default()).await.unwrap()),
        ["Привет", "Здравствуйте!"]
    );
    let (_, second) = call(
        &server,
        token,
        Method::GET,
        &format!("updates?timeout=0&marker={marker}"),
        None,
    )
    .await;
    assert_eq!(summary(&second), []);
    let marker = second["marker"].as_i64().unwrap();

    // A waiting poll wakes as soon as something comes.
    let waiting = {
        let (base, token) = (server.base.clone(), token.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let url = format!("{base}/bot-api/updates?timeout=20&marker={marker}");
            let answer: Value = reqwest::Client::new()
                .get(url)
                .header("Authorization", token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (answer, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    common::send(&anna, chat.id, "m2", "Вы тут?").await.unwrap();
    let (third, waited) = waiting.await.unwrap();
    assert_eq!(
        summary(&third),
        [("message_created".to_owned(), "Вы тут?".to_owned())]
    );
    assert!(
        waited < Duration::from_secs(10),
        "woken, not timed out: {waited:?}"
    );

    // A poll without a marker resumes after the last acknowledged batch: the unacknowledged
    // one comes again, as a bot that crashed while handling it needs.
    let (_, again) = call(&server, token, Method::GET, "updates?timeout=0", None).await;
    assert_eq!(
        summary(&again),
        [("message_created".to_owned(), "Вы тут?".to_owned())]
    );

    // Reading, editing and deleting its messages by their Max ids.
    let (status, one) = call(
        &server,
        token,
        Method::GET,
        &format!("messages/{mid}"),
        None,
    )
    .await;
    assert_eq!(
        (status.as_u16(), one["body"]["text"].clone()),
        (200, json!("Привет"))
    );
    let (_, listed) = call(
        &server,
        token,
        Method::GET,
        &format!("messages?chat_id={}&count=2", chat.id),
        None,
    )
    .await;
    let listed: Vec<&str> = listed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["Вы тут?", "Здравствуйте!"], "newest first");
    let own = reply.1["message"]["body"]["mid"]
        .as_str()
        .unwrap()
        .to_owned();
    let edited = call(
        &server,
        token,
        Method::PUT,
        &format!("messages?message_id={own}"),
        Some(r#"{"text": "Добрый день!"}"#),
    )
    .await;
    assert_eq!(edited, (StatusCode::OK, json!({"success": true})));
    // Formatted text arrives without its markers, with what they said as markup.
    let html = r#"{"text": "<b>5</b> по математике, &laquo;отлично&raquo;", "format": "html"}"#;
    let edited_html = call(
        &server,
        token,
        Method::PUT,
        &format!("messages?message_id={own}"),
        Some(html),
    )
    .await;
    assert_eq!(edited_html.0, 200);
    let seen = anna.messages(chat.id, Page::default()).await.unwrap();
    assert_eq!(seen[1].text, "5 по математике, «отлично»");
    let strong = |from: u32, length: u32| Markup {
        kind: MarkupKind::Strong,
        from,
        length,
        url: None,
        user_id: None,
    };
    assert_eq!(seen[1].markup, [strong(0, 1)]);
    let markdown =
        r#"{"text": "**Добрый** [день](https://school.example/day)!", "format": "markdown"}"#;
    call(
        &server,
        token,
        Method::PUT,
        &format!("messages?message_id={own}"),
        Some(markdown),
    )
    .await;
    let link = Markup {
        kind: MarkupKind::Link,
        url: Some("https://school.example/day".into()),
        ..strong(7, 4)
    };
    let seen = anna.messages(chat.id, Page::default()).await.unwrap();
    assert_eq!(
        (seen[1].text.as_str(), &seen[1].markup),
        ("Добрый день!", &vec![strong(0, 6), link])
    );
    // Bots read it back as Max writes it (the schema check of `call` covers the shape).
    let (_, read) = call(
        &server,
        token,
        Method::GET,
        &format!("messages/{own}"),
        None,
    )
    .await;
    assert_eq!(
        read["body"]["markup"][1]["url"],
        "https://school.example/day"
    );
    assert_eq!(
        (
            read["body"]["markup"][0]["from"].clone(),
            read["body"]["markup"][0]["length"].clone()
        ),
        (json!(0), json!(6))
    );
    let unknown = r#"{"text": "[b]x[/b]", "format": "bbcode"}"#;
    assert_max_error(
        call(
            &server,
            token,
            Method::PUT,
            &format!("messages?message_id={own}"),
            Some(unknown),
        )
        .await,
        400,
        "proto.payload",
    );
    let kept = call(
        &server,
        token,
        Method::PUT,
        &format!("messages?message_id={own}"),
        Some(r#"{"attachments": null}"#),
    )
    .await;
    assert_eq!(kept.0, 200, "no text keeps the text");
    assert_eq!(
        texts(anna.messages(chat.id, Page::default()).await.unwrap())[1],
        "Добрый день!"
    );
    assert_max_error(
        call(
            &server,
            token,
            Method::PUT,
            &format!("messages?message_id={mid}"),
            Some(r#"{"text": "чужое"}"#),
        )
        .await,
        403,
        "chat.denied",
    );
    let deleted = call(
        &server,
        token,
        Method::DELETE,
        &format!("messages?message_id={own}"),
        None,
    )
    .await;
    assert_eq!(deleted, (StatusCode::OK, json!({"success": true})));
    let (_, chat_info) = call(
        &server,
        token,
        Method::GET,
        &format!("chats/{}", chat.id),
        None,
    )
    .await;
    assert_eq!(
        (
            chat_info["type"].clone(),
            chat_info["dialog_with_user"]["first_name"].clone()
        ),
        (json!("dialog"), json!("ANNA"))
    );
}

/// A bot of one of the official clients, run against the server through a proxy that keeps
/// every answer the bot gets, for the schema check when it is done.
pub(super) struct ClientBot {
    client: String,
    process: tokio::process::Child,
    answers: Arc<Mutex<Vec<Recorded>>>,
}

impl ClientBot {
    /// Starts `program` with the proxy's base URL, the token and `env`.
    pub(super) async fn start(
        server: &TestServer,
        client: &str,
        program: &[String],
        token: &str,
        env: &[(&str, String)],
    ) -> ClientBot {
        let (proxy, answers) = recording_proxy(&server.base).await;
        let process = tokio::process::Command::new(&program[0])
            .args(&program[1..])
            .env("MAX_API_URL", format!("{proxy}/bot-api/"))
            .env("BOT_TOKEN", token)
            .env("MAX_BOT_TOKEN", token)
            .envs(env.iter().map(|(key, value)| (*key, value)))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{client}: cannot start {program:?}: {e}"));
        ClientBot {
            client: client.to_owned(),
            process,
            answers,
        }
    }

    /// Asks `check` until it finds what it looks for; fails with the bot's output if the bot
    /// stops or a minute passes first.
    pub(super) async fn wait_for<T>(
        &mut self,
        what: &str,
        mut check: impl AsyncFnMut() -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(found) = check().await {
                return found;
            }
            if tokio::time::Instant::now() > deadline || self.process.try_wait().unwrap().is_some()
            {
                let _ = self.process.start_kill();
                let _ = self.process.wait().await;
                panic!(
                    "{}: {what}\n--- stdout\n{}\n--- stderr\n{}",
                    self.client,
                    read_all(self.process.stdout.take()).await,
                    read_all(self.process.stderr.take()).await
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Stops the bot; it got its updates through the proxy (`path`: `updates` for polling,
    /// `subscriptions` for a webhook), and every answer it got is valid by Max's published
    /// schema.
    pub(super) fn finish(self, path: &str) {
        drop(self.process);
        let answers = std::mem::take(&mut *self.answers.lock().unwrap());
        assert!(
            answers.iter().any(|answer| answer.path == path),
            "{}: the bot called {path} through the proxy",
            self.client
        );
        for answer in &answers {
            assert_answer(&answer.method, &answer.path, answer.status, &answer.body);
        }
    }
}

async fn read_all(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> String {
    let mut bytes = Vec::new();
    if let Some(mut pipe) = pipe {
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut pipe, &mut bytes).await;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The bot's messages in the chat, oldest first.
pub(super) async fn bot_messages(person: &Client, chat_id: i64, bot_id: i64) -> Vec<Message> {
    let messages = person.messages(chat_id, Page::default()).await.unwrap();
    messages
        .into_iter()
        .filter(|m| m.sender_id == bot_id)
        .collect()
}

/// How an echo bot gets its updates.
#[derive(Clone, Copy)]
enum Updates {
    Polling,
    /// On this port of 127.0.0.1, with this secret.
    Webhook(u16, &'static str),
}

/// Runs one of the official clients' echo bots until the person has both answers.
async fn echo_bot_answers(client: &str, program: &[String], updates: Updates, backend: Backend) {
    let server = common::start_on(backend, |settings| {
        settings.bot_webhooks_allow_private = true
    })
    .await;
    let client = &format!("{client} on {backend:?}");
    let (anna, created) = person_with_bot(&server, "anna", "echo_bot").await;
    let env = match updates {
        Updates::Polling => Vec::new(),
        Updates::Webhook(port, secret) => vec![
            ("WEBHOOK_PORT", port.to_string()),
            ("WEBHOOK_SECRET", secret.to_owned()),
        ],
    };
    let mut bot = ClientBot::start(&server, client, program, &created.token, &env).await;
    if let Updates::Webhook(port, _) = updates {
        // maxapi subscribes just before its receiver listens: nothing is sent until it does, or
        // a first delivery in that gap would wait a minute for its retry.
        bot.wait_for("the webhook receiver did not start", async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
        })
        .await;
    }

    let chat = anna.start_bot("echo_bot", Some("deep")).await.unwrap();
    common::send(&anna, chat.id, "m1", "Привет, бот!")
        .await
        .unwrap();
    let expected = ["Привет, бот!", "hello deep"];
    let from_bot = bot
        .wait_for("the echo bot did not answer", async || {
            let texts: Vec<String> = bot_messages(&anna, chat.id, created.bot.id)
                .await
                .into_iter()
                .map(|m| m.text)
                .collect();
            expected
                .iter()
                .all(|text| texts.iter().any(|got| got.trim() == *text))
                .then_some(texts)
        })
        .await;
    assert_eq!(
        from_bot.len(),
        2,
        "{client}: each answered once: {from_bot:?}"
    );
    // The bot set its commands through the API, as its README does, and its chat offers them.
    let offered = anna.chat_commands(chat.id).await.unwrap();
    let offered: Vec<(&str, &str)> = offered
        .iter()
        .map(|c| (c.bot.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(offered, [("echo_bot", "echo")], "{client}");
    let commands = anna.bots().await.unwrap().remove(0).commands;
    assert_eq!(
        commands.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["echo"],
        "{client}"
    );
    bot.finish(match updates {
        Updates::Polling => "updates",
        Updates::Webhook(..) => "subscriptions",
    });
}

/// Runs one of the official clients' keyboard bots: the person asks for the menu, presses «Да»
/// (the bot answers with a notification and replaces the message), then «Нет» (a notification
/// only: the text and buttons stay, though maxapi sends the keyboard back without a text).
async fn keyboard_bot_answers(client: &str, program: &[String], backend: Backend) {
    let server = common::start_on(backend, |_| {}).await;
    let client = &format!("{client} on {backend:?}");
    let (anna, created) = person_with_bot(&server, "anna", "trip_bot").await;
    let mut bot = ClientBot::start(&server, client, program, &created.token, &[]).await;
    let chat = anna.start_bot("trip_bot", None).await.unwrap();
    let (mut events, _) = common::connect(&anna, None).await;
    common::send(&anna, chat.id, "m1", "menu").await.unwrap();
    let menu = bot
        .wait_for("the keyboard bot did not send its menu", async || {
            bot_messages(&anna, chat.id, created.bot.id).await.pop()
        })
        .await;
    let callback = |text: &str, payload: &str| Button::Callback {
        text: text.into(),
        payload: payload.into(),
    };
    let link = Button::Link {
        text: "Программа".into(),
        url: "https://example.org/trip".into(),
    };
    assert_eq!(menu.text, "Пойдёте на экскурсию?", "{client}");
    assert_eq!(
        menu.keyboard,
        vec![
            vec![callback("Да", "yes"), callback("Нет", "no")],
            vec![link]
        ],
        "{client}"
    );

    anna.press_button(chat.id, menu.seq, "yes").await.unwrap();
    let mut answered = None;
    let mut edited = None;
    while answered.is_none() || edited.is_none() {
        match common::next_frame(&mut events).await.event {
            Event::CallbackAnswered {
                chat_id,
                seq,
                notification,
            } => {
                assert_eq!((chat_id, seq), (chat.id, menu.seq), "{client}");
                answered = Some(notification);
            }
            Event::MessageEdited { message } if message.seq == menu.seq => edited = Some(message),
            _ => {}
        }
    }
    assert_eq!(answered, Some(Some("Записали: да".to_owned())), "{client}");
    let edited = edited.unwrap();
    assert_eq!(
        (edited.text.as_str(), edited.keyboard.len()),
        ("Вы идёте на экскурсию", 0),
        "{client}: the text replaced, the buttons removed"
    );
    assert_refused(
        anna.press_button(chat.id, menu.seq, "no").await,
        ErrorCode::NotFound,
        404,
    );

    // A second menu; «Нет» only tells.
    common::send(&anna, chat.id, "m2", "/menu").await.unwrap();
    let second = bot
        .wait_for(
            "the keyboard bot did not send its second menu",
            async || {
                bot_messages(&anna, chat.id, created.bot.id)
                    .await
                    .pop()
                    .filter(|message| message.seq > menu.seq)
            },
        )
        .await;
    anna.press_button(chat.id, second.seq, "no").await.unwrap();
    let notification = common::wait_for(&mut events, |event| match event {
        Event::CallbackAnswered {
            seq, notification, ..
        } if *seq == second.seq => Some(notification.clone()),
        _ => None,
    })
    .await;
    assert_eq!(notification.as_deref(), Some("Записали: нет"), "{client}");
    let now = anna
        .messages(chat.id, Page::default())
        .await
        .unwrap()
        .into_iter()
        .find(|message| message.seq == second.seq)
        .unwrap();
    assert_eq!(
        (now.text.as_str(), now.keyboard.len()),
        ("Пойдёте на экскурсию?", 2),
        "{client}: a notification alone leaves the message as it was"
    );
    bot.finish("updates");
}

/// The official clients' bots run against each store.
pub(super) const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// Where `scripts/bot-clients` put the clients; a plain `cargo test` without it skips these
/// (and says so), CI never does.
pub(super) fn clients() -> Option<(String, String)> {
    match (
        std::env::var("KOLOKOL_BOT_CLIENTS"),
        std::env::var("KOLOKOL_BOT_PYTHON"),
    ) {
        (Ok(dir), Ok(python)) => Some((dir, python)),
        _ => {
            eprintln!("skipped: run ./scripts/bot-clients and export what it prints");
            None
        }
    }
}

#[tokio::test]
async fn the_official_typescript_client_runs_an_echo_bot() {
    let Some((dir, _)) = clients() else { return };
    let program = ["node".to_owned(), format!("{dir}/ts/echo.js")];
    for backend in BACKENDS {
        echo_bot_answers("@maxhub/max-bot-api", &program, Updates::Polling, backend).await;
    }
}

#[tokio::test]
async fn the_official_typescript_client_runs_a_keyboard_bot() {
    let Some((dir, _)) = clients() else { return };
    let program = ["node".to_owned(), format!("{dir}/ts/keyboard.js")];
    for backend in BACKENDS {
        keyboard_bot_answers("@maxhub/max-bot-api", &program, backend).await;
    }
}

#[tokio::test]
async fn the_python_maxapi_client_runs_an_echo_bot() {
    let Some((dir, python)) = clients() else {
        return;
    };
    let program = [python, format!("{dir}/py/echo.py")];
    for backend in BACKENDS {
        echo_bot_answers("maxapi", &program, Updates::Polling, backend).await;
    }
}

#[tokio::test]
async fn the_python_maxapi_client_runs_an_echo_bot_by_webhook() {
    let Some((dir, python)) = clients() else {
        return;
    };
    let program = [python, format!("{dir}/py/webhook.py")];
    for backend in BACKENDS {
        let webhook = Updates::Webhook(free_port(), "echo-secret_1");
        echo_bot_answers("maxapi", &program, webhook, backend).await;
    }
}

#[tokio::test]
async fn the_python_maxapi_client_runs_a_keyboard_bot() {
    let Some((dir, python)) = clients() else {
        return;
    };
    let program = [python, format!("{dir}/py/keyboard.py")];
    for backend in BACKENDS {
        keyboard_bot_answers("maxapi", &program, backend).await;
    }
}

/// A bot is held to the same rules as a person: a chat's posting mode, do-not-disturb (its
/// message waits, answered as sent, and can be taken back), and safeguarding (see the orgs
/// tests: a student cannot open a stranger's bot).
#[tokio::test]
async fn bots_obey_posting_modes_and_do_not_disturb() {
    let server = common::start().await;
    let (anna, created) = person_with_bot(&server, "anna", "duty_bot").await;
    let token = &created.token;
    let (boris, _) = server.user("boris").await;

    // In a group where only admins post, the bot (a member) may not.
    let group = common::group(&anna, "Дежурства", &[created.bot.id]).await;
    let announcements = kolokol_client::proto::ChatSettingsRequest {
        posting: Some(kolokol_client::proto::Posting::Admins),
        slow_mode_secs: None,
    };
    anna.set_chat_settings(group.id, &announcements)
        .await
        .unwrap();
    let in_group = format!("messages?chat_id={}", -group.id);
    let refused = call(
        &server,
        token,
        Method::POST,
        &in_group,
        Some(r#"{"text": "Дежурит 5Б"}"#),
    )
    .await;
    assert_max_error(refused, 403, "chat.denied");
    assert!(
        anna.messages(group.id, Page::default())
            .await
            .unwrap()
            .is_empty()
    );

    // To someone in do-not-disturb, its message waits like anyone's.
    let chat = boris.start_bot("duty_bot", None).await.unwrap();
    let until = kolokol_server::now_millis() + 3_600_000;
    boris.set_do_not_disturb(Some(until)).await.unwrap();
    let to_boris = format!("messages?chat_id={}", chat.id);
    let (status, held) = call(
        &server,
        token,
        Method::POST,
        &to_boris,
        Some(r#"{"text": "Завтра дежурите вы"}"#),
    )
    .await;
    assert_eq!(status, 200, "{held}");
    assert_eq!(
        held["message"]["timestamp"],
        json!(until),
        "sent when do-not-disturb ends"
    );
    assert!(
        boris
            .messages(chat.id, Page::default())
            .await
            .unwrap()
            .is_empty()
    );
    let mid = held["message"]["body"]["mid"].as_str().unwrap();
    let taken_back = call(
        &server,
        token,
        Method::DELETE,
        &format!("messages?message_id={mid}"),
        None,
    )
    .await;
    assert_eq!(taken_back, (StatusCode::OK, json!({"success": true})));
    let again = call(
        &server,
        token,
        Method::DELETE,
        &format!("messages?message_id={mid}"),
        None,
    )
    .await;
    assert_max_error(again, 404, "not.found");
}

/// A bot in a group: listed with its chats, sees the members and admins, pins as an admin, and
/// leaves.
#[tokio::test]
async fn bots_see_their_chats_and_members_and_pin_as_admins() {
    let server = common::start().await;
    let (anna, created) = person_with_bot(&server, "anna", "duty_bot").await;
    let token = &created.token;
    let (_, boris) = server.user("boris").await;
    let group = common::group(&anna, "Дежурства 5Б", &[created.bot.id, boris.id]).await;
    let max_group = -group.id;

    let (_, chats) = call(&server, token, Method::GET, "chats", None).await;
    assert_eq!(chats["chats"][0]["chat_id"], max_group);
    assert_eq!(chats["chats"][0]["type"], "chat");
    assert_eq!(chats["chats"][0]["title"], "Дежурства 5Б");
    let (_, members) = call(
        &server,
        token,
        Method::GET,
        &format!("chats/{max_group}/members"),
        None,
    )
    .await;
    let names: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["first_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ANNA", "Дневник", "BORIS"]);
    let only_boris = format!("chats/{max_group}/members?user_ids={}", boris.id);
    let (_, picked) = call(&server, token, Method::GET, &only_boris, None).await;
    assert_eq!(picked["members"].as_array().unwrap().len(), 1);
    let (_, admins) = call(
        &server,
        token,
        Method::GET,
        &format!("chats/{max_group}/members/admins"),
        None,
    )
    .await;
    assert_eq!(admins["members"][0]["is_owner"], true);
    assert_eq!(admins["members"].as_array().unwrap().len(), 1);
    let (_, me) = call(
        &server,
        token,
        Method::GET,
        &format!("chats/{max_group}/members/me"),
        None,
    )
    .await;
    assert_eq!(
        (me["is_admin"].clone(), me["permissions"].clone()),
        (json!(false), Value::Null)
    );

    // Pinning needs an admin, as for people.
    let sent = call(
        &server,
        token,
        Method::POST,
        &format!("messages?chat_id={max_group}"),
        Some(r#"{"text": "График на неделю"}"#),
    )
    .await;
    let mid = sent.1["message"]["body"]["mid"]
        .as_str()
        .unwrap()
        .to_owned();
    let pin_body = format!(r#"{{"message_id": "{mid}"}}"#);
    let refused = call(
        &server,
        token,
        Method::PUT,
        &format!("chats/{max_group}/pin"),
        Some(&pin_body),
    )
    .await;
    assert_max_error(refused, 403, "chat.denied");
    let admin = kolokol_client::proto::Role::Admin;
    anna.set_role(group.id, created.bot.id, admin)
        .await
        .unwrap();
    let pinned = call(
        &server,
        token,
        Method::PUT,
        &format!("chats/{max_group}/pin"),
        Some(&pin_body),
    )
    .await;
    assert_eq!(pinned, (StatusCode::OK, json!({"success": true})));
    let (_, shown) = call(
        &server,
        token,
        Method::GET,
        &format!("chats/{max_group}/pin"),
        None,
    )
    .await;
    assert_eq!(shown["message"]["body"]["text"], "График на неделю");
    assert_eq!(
        anna.pinned(group.id).await.unwrap(),
        Some(sent.1["message"]["body"]["seq"].as_i64().unwrap())
    );

    // As an admin it renames the chat, adds and removes members; roles stay the owner's.
    let renamed = call(
        &server,
        token,
        Method::PATCH,
        &format!("chats/{max_group}"),
        Some(r#"{"title": "Дежурства 5Б, весна"}"#),
    )
    .await;
    assert_eq!(
        (renamed.0.as_u16(), renamed.1["title"].clone()),
        (200, json!("Дежурства 5Б, весна"))
    );
    let (_, carol) = server.user("carol").await;
    let add = format!(r#"{{"user_ids": [{}]}}"#, carol.id);
    let added = call(
        &server,
        token,
        Method::POST,
        &format!("chats/{max_group}/members"),
        Some(&add),
    )
    .await;
    assert_eq!(added, (StatusCode::OK, json!({"success": true})));
    let nobody = call(
        &server,
        token,
        Method::POST,
        &format!("chats/{max_group}/members"),
        Some(r#"{"user_ids": [999999]}"#),
    )
    .await;
    assert_eq!(nobody.1["success"], false);
    assert_eq!(
        nobody.1["failed_user_details"][0]["error_code"],
        "add.participant.not.found"
    );
    let removed = call(
        &server,
        token,
        Method::DELETE,
        &format!("chats/{max_group}/members?user_id={}", carol.id),
        None,
    )
    .await;
    assert_eq!(removed, (StatusCode::OK, json!({"success": true})));
    let promote = format!(
        r#"{{"admins": [{{"user_id": {}, "permissions": ["write"]}}]}}"#,
        boris.id
    );
    let refused = call(
        &server,
        token,
        Method::POST,
        &format!("chats/{max_group}/members/admins"),
        Some(&promote),
    )
    .await;
    assert_max_error(refused, 403, "chat.denied");
    let names: Vec<String> = anna
        .members(group.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.user.display_name)
        .collect();
    assert_eq!(names, ["ANNA", "Дневник", "BORIS"]);

    // It leaves, and the chat is gone for it.
    let left = call(
        &server,
        token,
        Method::DELETE,
        &format!("chats/{max_group}/members/me"),
        None,
    )
    .await;
    assert_eq!(left, (StatusCode::OK, json!({"success": true})));
    assert_max_error(
        call(
            &server,
            token,
            Method::GET,
            &format!("chats/{max_group}"),
            None,
        )
        .await,
        404,
        "chat.not.found",
    );
    assert_eq!(anna.members(group.id).await.unwrap().len(), 2);
}
