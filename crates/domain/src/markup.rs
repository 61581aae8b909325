//! Formatting spans of bots' messages: they lie within the text, links go to web addresses,
//! and there are not absurdly many.

use kolokol_proto::{ErrorCode, Markup, MarkupKind};

use crate::Rejection;
use crate::validate::is_web_address;

/// More spans than a 4000-character text could sensibly carry.
pub const MAX_SPANS: usize = 1000;

/// How long `text` is as Max counts: in UTF-16 code units.
pub fn utf16_len(text: &str) -> u32 {
    text.encode_utf16().count() as u32
}

/// Markup a message may carry with `text`.
pub fn check(text: &str, markup: &[Markup]) -> Result<(), Rejection> {
    let refuse = |message: &'static str| Err(Rejection::new(ErrorCode::BadRequest, message));
    if markup.len() > MAX_SPANS {
        return refuse("too many formatting spans");
    }
    let length = utf16_len(text);
    for span in markup {
        if span.length == 0
            || span
                .from
                .checked_add(span.length)
                .is_none_or(|end| end > length)
        {
            return refuse("a formatting span lies outside the text");
        }
        let fitting = match span.kind {
            MarkupKind::Link => span.url.as_deref().is_some_and(is_web_address),
            MarkupKind::UserMention => span.user_id.is_some(),
            _ => span.url.is_none() && span.user_id.is_none(),
        };
        if !fitting {
            return refuse("a link needs an http(s) address, a mention a user");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(kind: MarkupKind, from: u32, length: u32) -> Markup {
        Markup {
            kind,
            from,
            length,
            url: None,
            user_id: None,
        }
    }

    #[test]
    fn spans_lie_within_the_text_counted_in_utf16() {
        // "😀" is two UTF-16 units: "😀 да" is 5 long.
        let text = "😀 да";
        assert_eq!(utf16_len(text), 5);
        assert!(check(text, &[span(MarkupKind::Strong, 0, 5)]).is_ok());
        assert!(check(text, &[span(MarkupKind::Strong, 3, 2)]).is_ok());
        for bad in [
            span(MarkupKind::Strong, 0, 6),
            span(MarkupKind::Strong, 5, 1),
            span(MarkupKind::Strong, 2, 0),
            span(MarkupKind::Strong, u32::MAX, 2),
        ] {
            assert!(check(text, std::slice::from_ref(&bad)).is_err(), "{bad:?}");
        }
        assert!(check(text, &vec![span(MarkupKind::Strong, 0, 1); MAX_SPANS + 1]).is_err());
    }

    #[test]
    fn links_go_to_web_addresses_and_mentions_name_someone() {
        let link = |url: &str| Markup {
            url: Some(url.to_owned()),
            ..span(MarkupKind::Link, 0, 2)
        };
        assert!(check("да", &[link("https://example.org")]).is_ok());
        assert!(check("да", &[link("javascript:alert(1)")]).is_err());
        assert!(check("да", &[span(MarkupKind::Link, 0, 2)]).is_err());
        assert!(check("да", &[span(MarkupKind::UserMention, 0, 2)]).is_err());
        let mention = Markup {
            user_id: Some(7),
            ..span(MarkupKind::UserMention, 0, 2)
        };
        assert!(check("да", &[mention]).is_ok());
        assert!(
            check(
                "да",
                &[Markup {
                    user_id: Some(7),
                    ..span(MarkupKind::Strong, 0, 2)
                }]
            )
            .is_err()
        );
    }
}
