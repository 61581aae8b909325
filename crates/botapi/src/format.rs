//! Max's `format: "markdown"` and `format: "html"` as plain text.
//!
//! Kolokol's messages are plain text (clients render them safely, never as HTML), so a bot's
//! formatted text is stored without its markers: `**5**` and `<b>5</b>` both become `5`, a link
//! keeps its address beside its text, entities are decoded. Keeping the formatting itself (as
//! Max's `markup`) is a later step; losing markers is better than showing them.

/// How a bot's text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Plain,
    Markdown,
    Html,
}

impl Format {
    /// `format` as a request names it; unknown names are `None`.
    pub fn parse(name: Option<&str>) -> Option<Format> {
        match name {
            None | Some("") => Some(Format::Plain),
            Some("markdown") => Some(Format::Markdown),
            Some("html") => Some(Format::Html),
            Some(_) => None,
        }
    }
}

/// The text a person reads.
pub fn to_plain(text: &str, format: Format) -> String {
    match format {
        Format::Plain => text.to_owned(),
        Format::Markdown => markdown(text),
        Format::Html => html(text),
    }
}

/// A link as plain text: its words, then its address unless they are the same. Mentions
/// (`max://user/<id>`) keep only the name.
fn link(words: &str, url: &str) -> String {
    if url.starts_with("max://") || words.trim() == url.trim() || url.is_empty() {
        words.to_owned()
    } else if words.trim().is_empty() {
        url.to_owned()
    } else {
        format!("{words} ({url})")
    }
}

/// Paired markers, longest first so `**` wins over `*`.
const MARKERS: [&str; 8] = ["**", "__", "~~", "++", "^^", "*", "_", "`"];

fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let line = strip_heading(line);
        out.push_str(&markdown_line(line));
    }
    out
}

fn strip_heading(line: &str) -> &str {
    let hashes = line.len() - line.trim_start_matches('#').len();
    match line[hashes..].strip_prefix(' ') {
        Some(rest) if (1..=6).contains(&hashes) => rest,
        _ => line,
    }
}

fn markdown_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    'scan: while let Some(first) = rest.chars().next() {
        if first == '\\'
            && let Some(escaped) = rest[1..].chars().next()
            && escaped.is_ascii_punctuation()
        {
            out.push(escaped);
            rest = &rest[1 + escaped.len_utf8()..];
            continue;
        }
        if rest.starts_with("```")
            && let Some(end) = rest[3..].find("```")
        {
            out.push_str(&rest[3..3 + end]);
            rest = &rest[3 + end + 3..];
            continue;
        }
        if first == '['
            && let Some(close) = rest.find("](")
            && let Some(end) = rest[close + 2..].find(')')
        {
            let words = markdown_line(&rest[1..close]);
            let url = &rest[close + 2..close + 2 + end];
            out.push_str(&link(&words, url));
            rest = &rest[close + 2 + end + 1..];
            continue;
        }
        for marker in MARKERS {
            let Some(after) = rest.strip_prefix(marker) else {
                continue;
            };
            // A marker opens only before a non-space and closes after one, on the same line, so
            // `snake_case`, `2 * 3` and a lone `*` stay as they are.
            let opens = after.chars().next().is_some_and(|c| !c.is_whitespace());
            let preceded_by_word = out.chars().last().is_some_and(char::is_alphanumeric);
            if !opens || (marker.starts_with('_') && preceded_by_word) {
                continue;
            }
            if let Some(end) = closing(after, marker) {
                let inner = &after[..end];
                let inner = if marker == "`" {
                    inner.to_owned()
                } else {
                    markdown_line(inner)
                };
                out.push_str(&inner);
                rest = &after[end + marker.len()..];
                continue 'scan;
            }
        }
        out.push(first);
        rest = &rest[first.len_utf8()..];
    }
    out
}

/// Where `marker` closes in `text`: after a non-space, and (for `_`) not inside a word.
fn closing(text: &str, marker: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find(marker) {
        let at = from + found;
        let before = text[..at].chars().last();
        let after = text[at + marker.len()..].chars().next();
        let closes = at > 0 && before.is_some_and(|c| !c.is_whitespace());
        let inside_word = marker.starts_with('_') && after.is_some_and(char::is_alphanumeric);
        if closes && !inside_word {
            // In a run such as `***`, the outer marker closes at the run's end: the inner one
            // (`*и курсив*`) ends just before it.
            let run = text[at..].len() - text[at..].trim_start_matches(&marker[..1]).len();
            return Some(at + run - marker.len());
        }
        from = at + marker.len();
    }
    None
}

fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // The address of the link being read, and where its words began in `out`.
    let mut open_link: Option<(String, usize)> = None;
    while let Some(first) = rest.chars().next() {
        match first {
            // A tag begins with a name or `/`; any other `<` is text ("1 < 2").
            '<' if rest[1..]
                .starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!') =>
            {
                let Some(end) = rest.find('>') else {
                    out.push_str(&decode(rest));
                    break;
                };
                let tag = &rest[1..end];
                let name = tag
                    .trim_start_matches('/')
                    .split(|c: char| c.is_whitespace() || c == '/')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                match (tag.starts_with('/'), name.as_str()) {
                    (false, "a") => open_link = Some((attribute(tag, "href"), out.len())),
                    (true, "a") => {
                        if let Some((url, start)) = open_link.take() {
                            let words = out.split_off(start);
                            out.push_str(&link(&words, &url));
                        }
                    }
                    (false, "br") => out.push('\n'),
                    (true, "p" | "div" | "h1" | "pre") => out.push('\n'),
                    _ => {}
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').filter(|&end| end <= 10);
                match end.and_then(|end| entity(&rest[1..end]).map(|c| (c, end))) {
                    Some((decoded, end)) => {
                        out.push(decoded);
                        rest = &rest[end + 1..];
                    }
                    None => {
                        out.push('&');
                        rest = &rest[1..];
                    }
                }
            }
            _ => {
                out.push(first);
                rest = &rest[first.len_utf8()..];
            }
        }
    }
    out.trim_end_matches('\n').to_owned()
}

/// The value of an attribute in a tag's text, entities decoded.
fn attribute(tag: &str, name: &str) -> String {
    let lower = tag.to_ascii_lowercase();
    let Some(at) = lower.find(&format!("{name}=")) else {
        return String::new();
    };
    let value = &tag[at + name.len() + 1..];
    let value = match value.chars().next() {
        Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or_default(),
        _ => value.split(char::is_whitespace).next().unwrap_or_default(),
    };
    decode(value)
}

fn decode(text: &str) -> String {
    html(&text.replace('<', "&lt;"))
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" | "#39" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        "laquo" => Some('«'),
        "raquo" => Some('»'),
        "mdash" => Some('—'),
        "ndash" => Some('–'),
        "hellip" => Some('…'),
        "copy" => Some('©'),
        "times" => Some('×'),
        "minus" => Some('−'),
        "bull" => Some('•'),
        "deg" => Some('°'),
        "numero" => Some('№'),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code).filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn markdown_markers_go_and_words_stay() {
        let cases = [
            ("**5** по математике", "5 по математике"),
            (
                "__Важно:__ *завтра* _нет_ уроков",
                "Важно: завтра нет уроков",
            ),
            (
                "~~отменено~~ ++перенесено++ ^^внимание^^",
                "отменено перенесено внимание",
            ),
            ("`код` и ```блок```", "код и блок"),
            ("# Расписание\n## Понедельник", "Расписание\nПонедельник"),
            (
                "[журнал](https://school.example/j)",
                "журнал (https://school.example/j)",
            ),
            ("[Анна](max://user/7), привет", "Анна, привет"),
            ("snake_case_name и 2 * 3 * 4", "snake_case_name и 2 * 3 * 4"),
            ("\\*не курсив\\*", "*не курсив*"),
            ("**жирный *и курсив***", "жирный и курсив"),
            ("одна * звезда", "одна * звезда"),
        ];
        for (input, expected) in cases {
            assert_eq!(to_plain(input, Format::Markdown), expected, "{input}");
        }
    }

    #[test]
    fn html_tags_go_and_entities_are_decoded() {
        let cases = [
            ("<b>5</b> по <i>математике</i>", "5 по математике"),
            (
                "<a href=\"https://school.example\">сайт</a>",
                "сайт (https://school.example)",
            ),
            (
                "<a href='https://x.example'>https://x.example</a>",
                "https://x.example",
            ),
            (
                "a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39; &#x41;",
                "a <b> & \"c\" 'd' A",
            ),
            ("строка<br>строка<br/>", "строка\nстрока"),
            (
                "&laquo;Школа &numero;5&raquo; &mdash; итоги",
                "«Школа №5» — итоги",
            ),
            ("<script>alert(1)</script>", "alert(1)"),
            (
                "<pre><code class=\"language-rust\">let x = 1;</code></pre>",
                "let x = 1;",
            ),
            ("1 < 2 & 3 > 2", "1 < 2 & 3 > 2"),
            ("&unknown; &#0;", "&unknown; &#0;"),
        ];
        for (input, expected) in cases {
            assert_eq!(to_plain(input, Format::Html), expected, "{input}");
        }
    }

    #[test]
    fn plain_text_is_left_alone_and_formats_parse() {
        assert_eq!(to_plain("**как есть**", Format::Plain), "**как есть**");
        assert_eq!(Format::parse(None), Some(Format::Plain));
        assert_eq!(Format::parse(Some("html")), Some(Format::Html));
        assert_eq!(Format::parse(Some("bbcode")), None);
    }

    proptest! {
        #[test]
        fn any_text_converts_without_panicking_and_html_leaves_no_tags(text in "[a-zа-я<>&;#x0-9*_~+^`\\[\\]()/ \"'=\n\\\\]{0,60}") {
            to_plain(&text, Format::Markdown);
            let plain = to_plain(&text, Format::Html);
            // Every tag is gone (unless one never closes, or an entity spells one out).
            let closed = text.rfind('<').is_none_or(|last| text[last..].contains('>'));
            if closed && !text.contains('&') {
                let tag_left = plain.as_bytes().windows(2).any(|pair| {
                    pair[0] == b'<' && (pair[1].is_ascii_alphabetic() || pair[1] == b'/' || pair[1] == b'!')
                });
                prop_assert!(!tag_left, "{text:?} → {plain:?}");
            }
        }

        #[test]
        fn text_without_markers_is_unchanged(text in "[a-zA-Zа-яА-Я0-9 .,!?:-]{0,80}") {
            prop_assert_eq!(to_plain(&text, Format::Markdown), text.clone());
            prop_assert_eq!(to_plain(&text, Format::Html), text);
        }
    }
}
