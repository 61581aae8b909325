//! Message attachments in Max's shapes. Kolokol reads and writes inline keyboards; media
//! attachments come with uploads.

use kolokol_proto::Keyboard;
use serde::Deserialize;
use serde_json::{Value, json};

const INLINE_KEYBOARD: &str = "inline_keyboard";

#[derive(Deserialize)]
struct KeyboardPayload {
    buttons: Keyboard,
}

/// The keyboard among a message's attachments (empty when there is none). Refused, with a
/// message for the bot's author: an attachment that is not an object with a `type`, a second
/// keyboard, a button of an unknown kind or shape, and media, which Kolokol does not take yet.
pub fn keyboard_of(attachments: &[Value]) -> Result<Keyboard, String> {
    let mut keyboard: Option<Keyboard> = None;
    for attachment in attachments {
        let kind = attachment
            .get("type")
            .and_then(Value::as_str)
            .ok_or("every attachment is an object with a type")?;
        if kind != INLINE_KEYBOARD {
            return Err(format!("attachments of type {kind} are not supported yet"));
        }
        if keyboard.is_some() {
            return Err("a message carries at most one inline keyboard".to_owned());
        }
        let payload = attachment.get("payload").cloned().unwrap_or(Value::Null);
        let payload = KeyboardPayload::deserialize(payload)
            .map_err(|error| format!("inline_keyboard payload: {error}"))?;
        keyboard = Some(payload.buttons);
    }
    Ok(keyboard.unwrap_or_default())
}

/// A message's attachments as Max clients read them: its keyboard, if any.
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
        let keyboard = keyboard_of(sent.as_array().unwrap()).unwrap();
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
            json!([{"type": "image", "payload": {"token": "t"}}]),
            json!([{"payload": {}}]),
            json!(["inline_keyboard"]),
            json!([{"type": "inline_keyboard"}]),
            json!([{"type": "inline_keyboard", "payload": {"buttons": [[{"type": "chat", "text": "Чат"}]]}}]),
            json!([{"type": "inline_keyboard", "payload": {"buttons": [[{"type": "callback", "text": "a"}]]}}]),
            json!([{"type": "inline_keyboard", "payload": {"buttons": []}},
                   {"type": "inline_keyboard", "payload": {"buttons": []}}]),
        ] {
            assert!(keyboard_of(bad.as_array().unwrap()).is_err(), "{bad}");
        }
        assert_eq!(keyboard_of(&[]), Ok(Vec::new()));
        assert!(attachments_of(&Vec::new()).is_empty());
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
            prop_assert_eq!(keyboard_of(&read), Ok(keyboard));
        }
    }
}
