//! Message attachments in Max's shapes: inline keyboards, and media (images, videos, audio,
//! files) named by the tokens uploads give.

use kolokol_proto::{Attachment, AttachmentKind, Keyboard};
use serde::Deserialize;
use serde_json::{Value, json};

const INLINE_KEYBOARD: &str = "inline_keyboard";

#[derive(Deserialize)]
struct KeyboardPayload {
    buttons: Keyboard,
}

/// A file a bot attaches, by the token an upload or a received message gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRef {
    pub kind: AttachmentKind,
    pub token: String,
}

/// What a message's attachments ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Empty when there is none.
    pub keyboard: Keyboard,
    pub media: Vec<MediaRef>,
}

/// Reads a message's attachments as both official clients send them. Refused, with a message
/// for the bot's author: an attachment that is not an object with a `type`, a second keyboard,
/// a button of an unknown kind or shape, media without a token (an image by `url` included:
/// Kolokol does not fetch addresses for bots), kinds Kolokol does not carry (stickers,
/// contacts, locations, shares), and a file or audio beside other media (Max's rule).
pub fn parse(attachments: &[Value]) -> Result<Parsed, String> {
    let mut keyboard: Option<Keyboard> = None;
    let mut media = Vec::new();
    for attachment in attachments {
        let kind = attachment
            .get("type")
            .and_then(Value::as_str)
            .ok_or("every attachment is an object with a type")?;
        let payload = attachment.get("payload").cloned().unwrap_or(Value::Null);
        let media_kind = match kind {
            INLINE_KEYBOARD => {
                if keyboard.is_some() {
                    return Err("a message carries at most one inline keyboard".to_owned());
                }
                let payload = KeyboardPayload::deserialize(payload)
                    .map_err(|error| format!("inline_keyboard payload: {error}"))?;
                keyboard = Some(payload.buttons);
                continue;
            }
            "image" => AttachmentKind::Image,
            "video" => AttachmentKind::Video,
            "audio" => AttachmentKind::Audio,
            "file" => AttachmentKind::File,
            other => return Err(format!("attachments of type {other} are not supported")),
        };
        for token in tokens(&payload, media_kind)? {
            media.push(MediaRef {
                kind: media_kind,
                token,
            });
        }
    }
    let alone = media
        .iter()
        .any(|file| matches!(file.kind, AttachmentKind::File | AttachmentKind::Audio));
    if alone && media.len() > 1 {
        return Err("Must be only one file attachment in message".to_owned());
    }
    Ok(Parsed {
        keyboard: keyboard.unwrap_or_default(),
        media,
    })
}

/// The tokens of one media attachment: `{"token"}`, a received payload (its `token`), or, for
/// images, the `{"photos": {key: {"token"}}}` an upload answered (each photo one image).
fn tokens(payload: &Value, kind: AttachmentKind) -> Result<Vec<String>, String> {
    let token_of = |value: &Value| {
        value
            .get("token")
            .and_then(Value::as_str)
            .filter(|token| !token.is_empty())
            .map(str::to_owned)
    };
    if let Some(token) = token_of(payload) {
        return Ok(vec![token]);
    }
    if kind == AttachmentKind::Image {
        if let Some(photos) = payload.get("photos").and_then(Value::as_object) {
            let found: Option<Vec<String>> = photos.values().map(token_of).collect();
            if let Some(found) = found.filter(|found| !found.is_empty()) {
                return Ok(found);
            }
        }
        if payload.get("url").is_some() {
            return Err("images are uploaded (POST /uploads), not fetched by URL".to_owned());
        }
    }
    Err(format!(
        "a {} attachment needs the token of an upload",
        kind.as_str()
    ))
}

/// A file as a bot receives it in a message: its `token` (to send it again) and a `url` to
/// download it, in the shape of its Max type.
pub fn media_json(file: &Attachment, token: &str, url: &str) -> Value {
    match file.kind {
        AttachmentKind::Image => json!({"type": "image", "payload": {
            "photo_id": file.id, "token": token, "url": url}}),
        AttachmentKind::Video => json!({"type": "video", "payload": {"url": url, "token": token},
            "width": file.width, "height": file.height,
            "duration": file.duration_ms.map(|ms| ms / 1000)}),
        AttachmentKind::Audio | AttachmentKind::Voice => {
            json!({"type": "audio", "payload": {"url": url, "token": token}})
        }
        AttachmentKind::File => json!({"type": "file", "payload": {"url": url, "token": token},
            "filename": file.name.as_deref().unwrap_or("file"), "size": file.size}),
    }
}

/// A message's keyboard as Max clients read it, if it has one.
pub fn attachments_of(keyboard: &Keyboard) -> Vec<Value> {
    if keyboard.is_empty() {
        return Vec::new();
    }
    vec![json!({"type": INLINE_KEYBOARD, "payload": {"buttons": keyboard}})]
}

#[cfg(test)]
mod tests {
    use kolokol_proto::Button;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn reads_keyboards_as_both_official_clients_send_them() {
        // maxapi adds `"intent": "default"` to callback buttons; the TS client does not.
        let sent = json!([{"type": "inline_keyboard", "payload": {"buttons": [
            [{"type": "callback", "text": "Да", "payload": "yes", "intent": "default"},
             {"type": "callback", "text": "Нет", "payload": "no"}],
            [{"type": "link", "text": "Программа", "url": "https://example.org/trip"}],
            [{"type": "request_geo_location", "text": "Где я", "quick": null},
             {"type": "open_app", "text": "Дневник", "web_app": "diary_bot", "payload": null}]
        ]}}]);
        let keyboard = parse(sent.as_array().unwrap()).unwrap().keyboard;
        assert_eq!(
            keyboard[0][0],
            Button::Callback {
                text: "Да".into(),
                payload: "yes".into()
            }
        );
        assert_eq!(keyboard.len(), 3);
        let back = attachments_of(&keyboard);
        assert_eq!(
            back[0]["payload"]["buttons"][1][0]["url"],
            "https://example.org/trip"
        );
        assert!(back[0]["payload"]["buttons"][0][0].get("intent").is_none());
    }

    #[test]
    fn refuses_what_it_cannot_keep() {
        for bad in [
            json!([{"type": "image", "payload": {"url": "https://example.org/a.jpg"}}]),
            json!([{"type": "sticker", "payload": {"code": "x"}}]),
            json!([{"type": "file", "payload": {"token": "a"}}, {"type": "image", "payload": {"token": "b"}}]),
            json!([{"type": "video", "payload": {}}]),
            json!([{"payload": {}}]),
            json!(["inline_keyboard"]),
            json!([{"type": "inline_keyboard"}]),
            json!([{"type": "inline_keyboard", "payload": {"buttons": [[{"type": "chat", "text": "Чат"}]]}}]),
            json!([{"type": "inline_keyboard", "payload": {"buttons": [[{"type": "callback", "text": "a"}]]}}]),
            json!([{"type": "inline_keyboard", "payload": {"buttons": []}},
                   {"type": "inline_keyboard", "payload": {"buttons": []}}]),
        ] {
            assert!(parse(bad.as_array().unwrap()).is_err(), "{bad}");
        }
        assert_eq!(parse(&[]), Ok(Parsed::default()));
        assert!(attachments_of(&Vec::new()).is_empty());
    }

    #[test]
    fn reads_media_as_both_official_clients_send_them() {
        // TS sends an image upload's answer as is; maxapi sends {token}, or a received payload
        // whole; files, videos and audio come as {token}.
        let sent = json!([
            {"type": "image", "payload": {"photos": {"17": {"token": "p1"}}}},
            {"type": "image", "payload": {"token": "p2"}},
            {"type": "image", "payload": {"photo_id": 3, "token": "p3", "url": "http://x/3"}},
            {"type": "video", "payload": {"token": "v1"}},
            {"type": "inline_keyboard", "payload": {"buttons": []}}
        ]);
        let parsed = parse(sent.as_array().unwrap()).unwrap();
        let tokens: Vec<(&str, AttachmentKind)> = parsed
            .media
            .iter()
            .map(|file| (file.token.as_str(), file.kind))
            .collect();
        assert_eq!(
            tokens,
            [
                ("p1", AttachmentKind::Image),
                ("p2", AttachmentKind::Image),
                ("p3", AttachmentKind::Image),
                ("v1", AttachmentKind::Video)
            ]
        );
        let file = json!([{"type": "file", "payload": {"token": "f"}}]);
        assert_eq!(parse(file.as_array().unwrap()).unwrap().media.len(), 1);
    }

    #[test]
    fn received_media_have_max_shapes() {
        let file = Attachment {
            id: 9,
            kind: AttachmentKind::File,
            mime: "application/pdf".into(),
            size: 1234,
            name: Some("homework.pdf".into()),
            width: None,
            height: None,
            duration_ms: None,
            waveform: Vec::new(),
            thumb: false,
        };
        assert_eq!(
            media_json(&file, "t", "http://x/9"),
            json!({"type": "file", "payload": {"url": "http://x/9", "token": "t"},
                   "filename": "homework.pdf", "size": 1234})
        );
        let photo = Attachment {
            kind: AttachmentKind::Image,
            ..file
        };
        assert_eq!(
            media_json(&photo, "t", "u")["payload"],
            json!({"photo_id": 9, "token": "t", "url": "u"})
        );
    }

    fn button() -> impl Strategy<Value = Button> {
        let text = "\\PC{1,20}";
        prop_oneof![
            (text, text).prop_map(|(text, payload)| Button::Callback { text, payload }),
            (text, "[a-z]{1,10}").prop_map(|(text, host)| Button::Link {
                text,
                url: format!("https://{host}.example/")
            }),
            text.prop_map(|text| Button::Message { text }),
            (text, text).prop_map(|(text, payload)| Button::Clipboard { text, payload }),
            text.prop_map(|text| Button::RequestContact { text }),
            (text, proptest::option::of(any::<bool>()))
                .prop_map(|(text, quick)| Button::RequestGeoLocation { text, quick }),
        ]
    }

    proptest! {
        /// What Kolokol writes into a message's attachments, a bot can send back unchanged (as
        /// maxapi does when it answers a callback) and it means the same keyboard.
        #[test]
        fn keyboards_survive_a_round_trip(keyboard in proptest::collection::vec(proptest::collection::vec(button(), 1..5), 0..5)) {
            let written = attachments_of(&keyboard);
            let wire = serde_json::to_string(&written).unwrap();
            let read: Vec<Value> = serde_json::from_str(&wire).unwrap();
            prop_assert_eq!(parse(&read).map(|parsed| parsed.keyboard), Ok(keyboard));
        }
    }
}
