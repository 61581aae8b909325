//! Inline keyboards under bots' messages: how large they may be, what a button may say and
//! where a link may go, and which button a press names.

use kolokol_proto::{Button, ErrorCode, Keyboard};

use crate::Rejection;
use crate::validate::{is_forbidden_control, is_web_address};

/// Upstream's own limits are not published; these fit every keyboard a phone can show.
pub const MAX_ROWS: usize = 30;
pub const MAX_ROW_BUTTONS: usize = 7;
pub const MAX_BUTTONS: usize = 210;
pub const MAX_BUTTON_TEXT_CHARS: usize = 128;
/// Max's limits for a callback payload and a link.
pub const MAX_PAYLOAD_CHARS: usize = 1024;
pub const MAX_URL_CHARS: usize = 2048;
/// A mini-app's start parameter, as for deep links.
pub const MAX_START_PARAM_CHARS: usize = 512;

fn refuse(message: String) -> Rejection {
    Rejection::new(ErrorCode::InvalidKeyboard, message)
}

/// Printable, not blank, at most `max` characters.
fn check_label(what: &str, text: &str, max: usize) -> Result<(), Rejection> {
    let count = text.chars().count();
    if text.trim().is_empty() || count > max {
        return Err(refuse(format!("{what} must be 1–{max} characters")));
    }
    if text.chars().any(|c| is_forbidden_control(c, false)) {
        return Err(refuse(format!("{what} holds control characters")));
    }
    Ok(())
}

fn check_button(button: &Button) -> Result<(), Rejection> {
    check_label("a button's text", button.text(), MAX_BUTTON_TEXT_CHARS)?;
    match button {
        Button::Callback { payload, .. } => {
            check_label("a callback payload", payload, MAX_PAYLOAD_CHARS)
        }
        Button::Clipboard { payload, .. } => {
            check_label("a clipboard payload", payload, MAX_PAYLOAD_CHARS)
        }
        Button::Link { url, .. } => {
            if url.chars().count() > MAX_URL_CHARS || !is_web_address(url) {
                return Err(refuse(format!(
                    "a link must be an http(s) address of at most {MAX_URL_CHARS} characters"
                )));
            }
            Ok(())
        }
        Button::OpenApp { web_app, .. } if web_app.trim().is_empty() => {
            Err(refuse("an open_app button needs its web_app".to_owned()))
        }
        Button::Chat {
            chat_title,
            chat_description,
            start_payload,
            ..
        } => {
            crate::validate::chat_title(chat_title)
                .map_err(|rejection| refuse(rejection.message.into_owned()))?;
            if chat_description
                .as_ref()
                .is_some_and(|text| text.chars().count() > 400)
                || start_payload
                    .as_ref()
                    .is_some_and(|text| text.chars().count() > MAX_START_PARAM_CHARS)
            {
                return Err(refuse(
                    "a chat button's description is up to 400 characters, its payload 512".into(),
                ));
            }
            Ok(())
        }
        // The payload is the app's start parameter, at most 512 characters as on Max.
        Button::OpenApp {
            payload: Some(payload),
            ..
        } if payload.chars().count() > MAX_START_PARAM_CHARS => Err(refuse(format!(
            "an open_app payload is at most {MAX_START_PARAM_CHARS} characters"
        ))),
        Button::Message { .. }
        | Button::RequestContact { .. }
        | Button::RequestGeoLocation { .. }
        | Button::OpenApp { .. } => Ok(()),
    }
}

/// A keyboard a bot may send: at most [`MAX_ROWS`] non-empty rows of at most
/// [`MAX_ROW_BUTTONS`], [`MAX_BUTTONS`] in all, every button valid.
pub fn check(keyboard: &Keyboard) -> Result<(), Rejection> {
    if keyboard.len() > MAX_ROWS {
        return Err(refuse(format!("at most {MAX_ROWS} rows of buttons")));
    }
    if keyboard
        .iter()
        .any(|row| row.is_empty() || row.len() > MAX_ROW_BUTTONS)
    {
        return Err(refuse(format!(
            "every row holds 1–{MAX_ROW_BUTTONS} buttons"
        )));
    }
    if keyboard.iter().map(Vec::len).sum::<usize>() > MAX_BUTTONS {
        return Err(refuse(format!("at most {MAX_BUTTONS} buttons")));
    }
    keyboard.iter().flatten().try_for_each(check_button)
}

/// Whether the keyboard has a callback button with this payload: a press names one that is
/// there, or it is refused.
pub fn has_callback(keyboard: &Keyboard, payload: &str) -> bool {
    keyboard
        .iter()
        .flatten()
        .any(|button| matches!(button, Button::Callback { payload: own, .. } if own == payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callback(text: &str, payload: &str) -> Button {
        Button::Callback {
            text: text.to_owned(),
            payload: payload.to_owned(),
        }
    }

    fn link(url: &str) -> Button {
        Button::Link {
            text: "Открыть".to_owned(),
            url: url.to_owned(),
        }
    }

    #[test]
    fn links_go_to_web_addresses_only() {
        for good in [
            "https://example.org",
            "http://school.example/a?b=c#d",
            "HTTPS://Example.org/path",
        ] {
            assert!(is_web_address(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,<b>x</b>",
            "https://",
            "https:///path",
            "ftp://example.org",
            "https://exa mple.org",
            "//example.org",
            "example.org",
            "https://example.org/\u{0}",
        ] {
            assert!(!is_web_address(bad), "{bad}");
            assert_eq!(
                check(&vec![vec![link(bad)]]).unwrap_err().code,
                ErrorCode::InvalidKeyboard
            );
        }
    }

    #[test]
    fn sizes_and_labels_are_bounded() {
        let ok = vec![vec![callback("Да", "yes"), callback("Нет", "no")]];
        assert!(check(&ok).is_ok());
        assert!(check(&Vec::new()).is_ok());
        let refused = [
            vec![vec![]],
            vec![vec![callback("a", "a"); MAX_ROW_BUTTONS + 1]],
            vec![vec![callback("a", "a")]; MAX_ROWS + 1],
            vec![vec![callback(" ", "a")]],
            vec![vec![callback(&"я".repeat(MAX_BUTTON_TEXT_CHARS + 1), "a")]],
            vec![vec![callback("a", "")]],
            vec![vec![callback("a", &"p".repeat(MAX_PAYLOAD_CHARS + 1))]],
            vec![vec![callback("a\u{7}", "a")]],
            vec![vec![Button::OpenApp {
                text: "Приложение".to_owned(),
                web_app: String::new(),
                payload: None,
                contact_id: None,
            }]],
            vec![vec![Button::OpenApp {
                text: "Приложение".to_owned(),
                web_app: "diary_bot".to_owned(),
                payload: Some("p".repeat(MAX_START_PARAM_CHARS + 1)),
                contact_id: None,
            }]],
        ];
        for keyboard in refused {
            assert_eq!(
                check(&keyboard).unwrap_err().code,
                ErrorCode::InvalidKeyboard,
                "{keyboard:?}"
            );
        }
        assert!(
            check(&vec![vec![callback(
                &"я".repeat(MAX_BUTTON_TEXT_CHARS),
                "a"
            )]])
            .is_ok()
        );
    }

    #[test]
    fn a_press_names_a_callback_button_that_is_there() {
        let keyboard = vec![
            vec![callback("Да", "yes")],
            vec![Button::Clipboard {
                text: "Код".to_owned(),
                payload: "secret".to_owned(),
            }],
        ];
        assert!(has_callback(&keyboard, "yes"));
        assert!(!has_callback(&keyboard, "no"));
        assert!(!has_callback(&keyboard, "secret"));
    }
}
