//! Max's published schema (version 0.0.32, vendored in `crates/botapi/schema/`) as a validator
//! for every answer of the bot API, and a recording proxy that puts it between a third-party
//! client and the server.
//!
//! The schema is OpenAPI 3.0; JSON Schema needs three mechanical changes (`nullable` becomes a
//! null alternative, `discriminator` and non-array `required` go) and a few corrections, each
//! where the published schema contradicts itself or upstream's own answers:
//! - `ChatType` lists only `chat`, yet `Chat.type` and `Recipient.chat_type` name `dialog` and
//!   `channel` too (its own description lists all three);
//! - `MessageBody.required` names `link`, which is not one of its properties (upstream sends
//!   no such key).

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

const SCHEMA: &str = include_str!("../../../botapi/schema/schema_2026_07_01.json");

fn openapi_to_json_schema(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.remove("discriminator");
            if object
                .get("required")
                .is_some_and(|required| !required.is_array())
            {
                object.remove("required");
            }
            for child in object.values_mut() {
                openapi_to_json_schema(child);
            }
            if object.remove("nullable") == Some(Value::Bool(true)) {
                let inner = Value::Object(std::mem::take(object));
                object.insert("anyOf".into(), json!([inner, {"type": "null"}]));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(openapi_to_json_schema),
        _ => {}
    }
}

/// The schema's components, converted and corrected.
fn components() -> &'static Value {
    static COMPONENTS: OnceLock<Value> = OnceLock::new();
    COMPONENTS.get_or_init(|| {
        let document: Value = serde_json::from_str(SCHEMA).expect("the vendored schema is JSON");
        let mut schemas = document["components"]["schemas"].clone();
        schemas["ChatType"]["enum"] = json!(["dialog", "chat", "channel"]);
        let required = schemas["MessageBody"]["required"].as_array_mut().unwrap();
        required.retain(|name| name != "link");
        openapi_to_json_schema(&mut schemas);
        json!({ "components": { "schemas": schemas } })
    })
}

/// Checks `instance` against the schema's component `name`.
#[track_caller]
pub fn assert_valid(name: &str, instance: &Value, context: &str) {
    let mut schema = components().clone();
    schema["$ref"] = json!(format!("#/components/schemas/{name}"));
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{context}: not a valid {name}: {errors:#?}\n{instance:#}"
    );
}

/// The update's own schema, by its `update_type`: as the schema's discriminator maps it, or
/// (`message_chat_created`, which the mapping forgets) by the name of its own component.
fn update_schema(update_type: &str) -> String {
    let document: Value = serde_json::from_str(SCHEMA).expect("the vendored schema is JSON");
    let schemas = &document["components"]["schemas"];
    if let Some(reference) =
        schemas["Update"]["discriminator"]["mapping"][update_type]["$ref"].as_str()
    {
        return reference.rsplit('/').next().unwrap_or_default().to_owned();
    }
    let camel: String = update_type
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    let name = format!("{camel}Update");
    assert!(
        schemas.get(&name).is_some(),
        "no update type {update_type} in the schema"
    );
    name
}

/// Checks one update as a webhook receives it.
#[track_caller]
pub fn assert_update(update_type: &str, update: &Value) {
    assert_valid(&update_schema(update_type), update, "a webhook delivery");
}

/// Checks one answer of the bot API by what was asked: `method` and the path after
/// `/bot-api/` (without the query).
#[track_caller]
pub fn assert_answer(method: &Method, path: &str, status: u16, body: &Value) {
    let context = format!("{method} /bot-api/{path} → {status}");
    if status != 200 {
        return assert_valid("Error", body, &context);
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let name = match (method.as_str(), segments.as_slice()) {
        ("GET" | "PATCH", ["me"]) => "BotInfo",
        // Not in the schema (a later addition upstream); the clients read `commands` back.
        ("PATCH", ["me", "commands"]) => return,
        ("GET", ["updates"]) => {
            for update in body["updates"].as_array().into_iter().flatten() {
                let kind = update["update_type"].as_str().unwrap_or_default();
                assert_valid(&update_schema(kind), update, &context);
            }
            "UpdateList"
        }
        ("GET", ["subscriptions"]) => "GetSubscriptionsResult",
        ("POST", ["uploads"]) => "UploadEndpoint",
        ("GET", ["videos", _]) => "VideoAttachmentDetails",
        ("POST", ["messages"]) => "SendMessageResult",
        ("GET", ["messages"]) => "MessageList",
        ("GET", ["messages", _]) => "Message",
        // No response schema upstream ("unsupported"), but the ChatList the notes describe.
        ("GET", ["chats"]) => "ChatList",
        ("GET" | "PATCH", ["chats", _]) => "Chat",
        ("POST", ["chats", _, "members"]) => "ModifyMembersResult",
        ("GET", ["chats", _, "pin"]) => "GetPinnedMessageResult",
        ("GET", ["chats", _, "members", "me"]) => "ChatMember",
        ("GET", ["chats", _, "members", ..]) => "ChatMembersList",
        _ => "SimpleQueryResult",
    };
    assert_valid(name, body, &context);
}

/// One answer the proxy passed on.
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub body: Value,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    log: Arc<Mutex<Vec<Recorded>>>,
}

/// Starts a proxy on 127.0.0.1 that passes every request to `upstream` and records each answer
/// under `/bot-api/`; returns its base URL and the record.
pub async fn recording_proxy(upstream: &str) -> (String, Arc<Mutex<Vec<Recorded>>>) {
    let proxy = Proxy {
        upstream: upstream.to_owned(),
        log: Arc::default(),
    };
    let log = proxy.log.clone();
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, log)
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let url = format!("{}{}", proxy.upstream, uri);
    let mut request = reqwest::Client::new()
        .request(method.clone(), url)
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").cloned();
    let bytes = response.bytes().await.unwrap_or_default();
    if let Some(path) = uri.path().strip_prefix("/bot-api/") {
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            Value::Object(Map::from_iter([(
                "not_json".into(),
                json!(String::from_utf8_lossy(&bytes)),
            )]))
        });
        let recorded = Recorded {
            method,
            path: path.to_owned(),
            status,
            body,
        };
        proxy.log.lock().unwrap().push(recorded);
    }
    let mut answer = (StatusCode::from_u16(status).unwrap(), bytes).into_response();
    if let Some(content_type) = content_type {
        answer.headers_mut().insert("content-type", content_type);
    }
    answer
}

/// The number of ways `instance` breaks the schema's component `name`.
fn error_count(name: &str, instance: &Value) -> usize {
    let mut schema = components().clone();
    schema["$ref"] = json!(format!("#/components/schemas/{name}"));
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    validator.iter_errors(instance).count()
}

#[test]
fn the_schema_check_refuses_what_clients_would_choke_on() {
    let user = json!({"user_id": 7, "first_name": "Анна", "last_name": null, "username": null,
                      "is_bot": false, "last_activity_time": 0, "name": "Анна"});
    assert_eq!(error_count("User", &user), 0);
    let body = json!({"mid": "mid.1", "seq": 1, "text": "hi", "attachments": []});
    let message = json!({"sender": user, "timestamp": 1,
                         "recipient": {"chat_id": 42, "chat_type": "dialog", "user_id": 12},
                         "body": body});
    assert_eq!(error_count("Message", &message), 0);
    for broken in [
        json!({"sender": user, "recipient": message["recipient"], "body": body}),
        json!({"sender": {"user_id": 7, "first_name": "Анна"}, "timestamp": 1,
               "recipient": message["recipient"], "body": body}),
        json!({"sender": user, "timestamp": "1", "recipient": message["recipient"], "body": body}),
        json!({"sender": user, "timestamp": 1, "body": body,
               "recipient": {"chat_id": 42, "chat_type": "room", "user_id": 12}}),
        json!({"sender": user, "timestamp": 1, "recipient": message["recipient"],
               "body": {"mid": "mid.1", "seq": 1, "attachments": []}}),
    ] {
        assert!(error_count("Message", &broken) > 0, "accepted {broken:#}");
    }
    let no_marker = json!({"updates": []});
    assert!(error_count("UpdateList", &no_marker) > 0);
    let unnamed = json!({"update_type": "bot_started", "timestamp": 1, "chat_id": 42});
    assert!(
        error_count("BotStartedUpdate", &unnamed) > 0,
        "a bot_started without its user"
    );
    assert_eq!(update_schema("user_added"), "UserAddedToChatUpdate");
    assert_eq!(update_schema("message_callback"), "MessageCallbackUpdate");
    assert_eq!(
        update_schema("message_chat_created"),
        "MessageChatCreatedUpdate"
    );
}
