//! An openmls device driven over stdin and stdout, one JSON object per line: how the browser
//! interop test (web/tests/e2e/e2ee.test.mjs) puts a Rust member into a group with Chromium.
//!
//! Commands: `{"cmd":"sign_in","base":URL,"username":…,"password":…,"register":bool}`,
//! `{"cmd":"create_group","title":…,"member_ids":[…]}`, `{"cmd":"commit","chat_id":N}`,
//! `{"cmd":"accept"}`, `{"cmd":"send","chat_id":N,"text":…}`, `{"cmd":"sync","chat_id":N}`,
//! `{"cmd":"epoch","chat_id":N}`, `{"cmd":"safety","user_id":N}`. Each answers `{"ok":true,…}` or `{"ok":false,"error":…,"code":…}`.

use kolokol_client::Client;
use kolokol_client::proto::{
    ChatKind, ChatPrivacy, CreateChatRequest, LoginRequest, RegisterRequest,
};
use kolokol_e2ee::{Content, Device, E2eeError, safety};
use serde_json::{Value, json};
use std::io::Write as _;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn field<'a>(command: &'a Value, name: &str) -> Result<&'a Value, E2eeError> {
    command
        .get(name)
        .ok_or_else(|| E2eeError::Malformed(format!("the command has no `{name}`")))
}

fn chat_id(command: &Value) -> Result<i64, E2eeError> {
    field(command, "chat_id")?
        .as_i64()
        .ok_or_else(|| E2eeError::Malformed("`chat_id` is not a number".into()))
}

fn text(command: &Value, name: &str) -> Result<String, E2eeError> {
    Ok(field(command, name)?
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

async fn sign_in(command: &Value) -> Result<Device, E2eeError> {
    let mut api = Client::new(text(command, "base")?);
    let (username, password) = (text(command, "username")?, text(command, "password")?);
    let auth = match command.get("register").and_then(Value::as_bool) {
        Some(true) => {
            let request = RegisterRequest {
                display_name: username.clone(),
                username,
                password,
                device_name: Some("kolokol-mls-peer".into()),
            };
            api.register(&request).await?
        }
        _ => {
            let request = LoginRequest {
                username,
                password,
                device_name: Some("kolokol-mls-peer".into()),
            };
            api.login(&request).await?
        }
    };
    Device::open(api, auth.user.id).await
}

async fn run(device: &mut Option<Device>, command: &Value) -> Result<Value, E2eeError> {
    let name = text(command, "cmd")?;
    if name == "sign_in" {
        let opened = sign_in(command).await?;
        let identity = opened.identity();
        *device = Some(opened);
        return Ok(json!({"user_id": identity.user_id, "device_id": identity.device_id}));
    }
    let device = device
        .as_mut()
        .ok_or_else(|| E2eeError::Malformed("sign in first".into()))?;
    Ok(match name.as_str() {
        "create_group" => {
            let members = field(command, "member_ids")?
                .as_array()
                .cloned()
                .unwrap_or_default();
            let request = CreateChatRequest {
                kind: ChatKind::Group,
                title: Some(text(command, "title")?),
                member_ids: Some(members.iter().filter_map(Value::as_i64).collect()),
                privacy: ChatPrivacy::Encrypted,
            };
            let (chat, _) = device.api().create_chat(&request).await?;
            json!({"chat_id": chat.id})
        }
        "commit" => {
            let message = device.commit(chat_id(command)?).await?;
            json!({"seq": message.seq, "epoch": message.mls.map(|mls| mls.epoch)})
        }
        "accept" => json!({"chats": device.accept_welcomes().await?}),
        "send" => {
            let content = Content::Text {
                text: text(command, "text")?,
                reply_to: None,
            };
            json!({"seq": device.send(chat_id(command)?, content).await?.seq})
        }
        "sync" => {
            let chat_id = chat_id(command)?;
            let texts: Vec<String> = device
                .sync(chat_id)
                .await?
                .into_iter()
                .map(|received| match received.content {
                    Content::Text { text, .. } | Content::Edit { text, .. } => text,
                    Content::React { emoji, .. } => emoji,
                })
                .collect();
            json!({"texts": texts, "member": device.is_member(chat_id)})
        }
        "epoch" => {
            let chat_id = chat_id(command)?;
            let authenticator = device.epoch_authenticator(chat_id);
            json!({
                "epoch": device.epoch(chat_id),
                "authenticator": authenticator.as_deref().map(hex),
                "code": authenticator.as_deref().map(safety::epoch_code),
            })
        }
        "safety" => {
            let user_id = field(command, "user_id")?
                .as_i64()
                .ok_or_else(|| E2eeError::Malformed("`user_id` is not a number".into()))?;
            json!({"number": device.safety_number(user_id).await?})
        }
        other => return Err(E2eeError::Malformed(format!("no command `{other}`"))),
    })
}

fn main() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut stdout = std::io::stdout().lock();
    let mut device = None;
    for line in std::io::stdin().lines() {
        let line = line?;
        let answer = match serde_json::from_str::<Value>(&line) {
            Err(error) => json!({"ok": false, "error": format!("not JSON: {error}")}),
            Ok(command) => match runtime.block_on(run(&mut device, &command)) {
                Ok(mut value) => {
                    value["ok"] = json!(true);
                    value
                }
                Err(error) => {
                    let code = match &error {
                        E2eeError::Api(api) => api.code().map(|code| json!(code)),
                        _ => None,
                    };
                    json!({"ok": false, "error": error.to_string(), "code": code})
                }
            },
        };
        writeln!(stdout, "{answer}")?;
        stdout.flush()?;
    }
    Ok(())
}
