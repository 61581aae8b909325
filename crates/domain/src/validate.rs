//! Input validation. Each function returns the normalised value or a [`Rejection`] whose code
//! tells the client exactly which field was wrong.

use kolokol_proto::ErrorCode;

use crate::{Rejection, reject};

pub const MAX_TEXT_CHARS: usize = 4000;
pub const MAX_HISTORY_LIMIT: u32 = 100;
pub const DEFAULT_HISTORY_LIMIT: u32 = 50;

/// Lower-cases and checks a username: 3–32 characters of `a-z 0-9 _ .`.
pub fn username(raw: &str) -> Result<String, Rejection> {
    let name = raw.to_ascii_lowercase();
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if !(3..=32).contains(&name.len()) || !valid_chars {
        return reject(
            ErrorCode::InvalidUsername,
            "username must be 3-32 characters of a-z, 0-9, _ and .",
        );
    }
    Ok(name)
}

pub fn password(raw: &str) -> Result<(), Rejection> {
    let chars = raw.chars().count();
    if !(8..=256).contains(&chars) {
        return reject(
            ErrorCode::InvalidPassword,
            "password must be 8-256 characters",
        );
    }
    Ok(())
}

/// True for characters that have no place in names or messages (NUL, escapes, bidi overrides…).
pub(crate) fn is_forbidden_control(c: char, allow_newlines: bool) -> bool {
    if allow_newlines && matches!(c, '\n' | '\r' | '\t') {
        return false;
    }
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A single-line human-entered field: trimmed, `min..=max` characters, no control characters.
fn line(
    raw: &str,
    min: usize,
    max: usize,
    code: ErrorCode,
    what: &str,
) -> Result<String, Rejection> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars < min || chars > max || trimmed.chars().any(|c| is_forbidden_control(c, false)) {
        return reject(
            code,
            format!("{what} must be {min}-{max} characters without control characters"),
        );
    }
    Ok(trimmed.to_owned())
}

pub fn display_name(raw: &str) -> Result<String, Rejection> {
    line(raw, 1, 64, ErrorCode::InvalidDisplayName, "display name")
}

pub fn chat_title(raw: &str) -> Result<String, Rejection> {
    line(raw, 1, 128, ErrorCode::InvalidTitle, "title")
}

pub fn org_name(raw: &str) -> Result<String, Rejection> {
    line(raw, 1, 100, ErrorCode::InvalidOrg, "organisation name")
}

pub fn poll_option(raw: &str) -> Result<String, Rejection> {
    line(
        raw,
        1,
        crate::poll::MAX_OPTION_CHARS,
        ErrorCode::InvalidPoll,
        "a poll option",
    )
}

pub fn device_name(raw: Option<&str>) -> Result<String, Rejection> {
    match raw {
        None => Ok("Unknown device".to_owned()),
        Some(name) => line(name, 1, 64, ErrorCode::InvalidDeviceName, "device name"),
    }
}

pub fn about(raw: &str) -> Result<String, Rejection> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > 500 || trimmed.chars().any(|c| is_forbidden_control(c, true)) {
        return reject(
            ErrorCode::InvalidAbout,
            "about must be at most 500 characters without control characters",
        );
    }
    Ok(trimmed.to_owned())
}

/// Message text: 1–4000 characters, not blank, no control characters but newlines and tabs.
/// The text is stored as given (no trimming), so what the sender typed is what others see.
pub fn message_text(raw: &str) -> Result<(), Rejection> {
    if raw.trim().is_empty() {
        return reject(ErrorCode::TextEmpty, "message text is empty");
    }
    if raw.chars().count() > MAX_TEXT_CHARS {
        return reject(
            ErrorCode::TextTooLong,
            "message text is longer than 4000 characters",
        );
    }
    if raw.chars().any(|c| is_forbidden_control(c, true)) {
        return reject(
            ErrorCode::InvalidText,
            "message text holds control characters",
        );
    }
    Ok(())
}

/// A message's text, which may be empty or blank when the message carries files (a caption).
pub fn message_text_with(raw: &str, has_files: bool) -> Result<(), Rejection> {
    if has_files && raw.trim().is_empty() {
        return Ok(());
    }
    message_text(raw)
}

/// An `http` or `https` address with a host and no spaces: never `javascript:` or `data:`,
/// which a client would run or render.
pub fn is_web_address(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    host.is_some_and(|host| !host.is_empty())
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub fn client_msg_id(raw: &str) -> Result<(), Rejection> {
    let valid = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return reject(
            ErrorCode::InvalidClientMsgId,
            "client_msg_id must be 1-64 characters of A-Z, a-z, 0-9, - and _",
        );
    }
    Ok(())
}

/// One emoji: up to 16 characters, none of them ASCII, letters, digits, spaces or controls.
pub fn emoji(raw: &str) -> Result<(), Rejection> {
    let chars = raw.chars().count();
    let valid = (1..=16).contains(&chars)
        && raw.chars().all(|c| {
            !c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control()
        });
    if !valid {
        return reject(ErrorCode::InvalidEmoji, "reaction must be a single emoji");
    }
    Ok(())
}

pub fn history_limit(raw: Option<u32>) -> Result<u32, Rejection> {
    match raw {
        None => Ok(DEFAULT_HISTORY_LIMIT),
        Some(n) if (1..=MAX_HISTORY_LIMIT).contains(&n) => Ok(n),
        Some(_) => reject(ErrorCode::InvalidLimit, "limit must be 1-100"),
    }
}

/// The usernames named as `@username` in a message, lower-cased, each once, in order of first use.
pub fn mentioned_usernames(text: &str) -> Vec<String> {
    let is_name_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
    let bytes = text.as_bytes();
    let mut names: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_mention = bytes[i] == b'@' && (i == 0 || !is_name_byte(bytes[i - 1]));
        if !starts_mention {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < bytes.len() && is_name_byte(bytes[end]) {
            end += 1;
        }
        // A sentence may end right after a mention: "thanks @anna."
        let name = text[start..end].trim_end_matches('.').to_ascii_lowercase();
        if (3..=32).contains(&name.len()) && !names.contains(&name) {
            names.push(name);
        }
        i = end.max(start);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_checked() {
        assert_eq!(username("Anna.K_1").unwrap(), "anna.k_1");
        for bad in ["ab", "anna k", "анна", &"a".repeat(33), "a@b", ""] {
            assert_eq!(
                username(bad).unwrap_err().code,
                ErrorCode::InvalidUsername,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_blank_text_is_allowed_only_under_files() {
        assert!(message_text_with("", true).is_ok());
        assert!(message_text_with("  ", true).is_ok());
        assert_eq!(
            message_text_with("", false).unwrap_err().code,
            ErrorCode::TextEmpty
        );
        assert_eq!(
            message_text_with("a\u{0}b", true).unwrap_err().code,
            ErrorCode::InvalidText
        );
        assert!(message_text_with(&"я".repeat(4001), true).is_err());
    }

    #[test]
    fn message_text_limits_count_characters_not_bytes() {
        assert!(message_text(&"я".repeat(4000)).is_ok());
        assert_eq!(
            message_text(&"я".repeat(4001)).unwrap_err().code,
            ErrorCode::TextTooLong
        );
        assert_eq!(
            message_text(" \n\t").unwrap_err().code,
            ErrorCode::TextEmpty
        );
        assert_eq!(
            message_text("a\u{0}b").unwrap_err().code,
            ErrorCode::InvalidText
        );
        assert_eq!(
            message_text("a\u{202E}b").unwrap_err().code,
            ErrorCode::InvalidText
        );
        assert!(message_text("line one\nline two\ttab").is_ok());
    }

    #[test]
    fn emoji_rejects_words() {
        assert!(emoji("👍").is_ok());
        assert!(emoji("❤️").is_ok());
        for bad in ["", "ok", "👍 ", "a👍", "сердце"] {
            assert!(emoji(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mentions_are_found_once_and_sentence_dots_dropped() {
        assert_eq!(
            mentioned_usernames("@Anna, thanks @bob. cc @anna and mail@example.com @x"),
            vec!["anna".to_owned(), "bob".to_owned()]
        );
        assert_eq!(mentioned_usernames("@@@ @"), Vec::<String>::new());
    }

    proptest::proptest! {
        #[test]
        fn validators_never_panic(s in ".*") {
            let _ = username(&s);
            let _ = message_text(&s);
            let _ = emoji(&s);
            let _ = display_name(&s);
            let _ = client_msg_id(&s);
            let _ = mentioned_usernames(&s);
        }
    }
}
