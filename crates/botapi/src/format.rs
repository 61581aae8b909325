//! Max's `format: "markdown"` and `format: "html"` as plain text and formatting spans.
//!
//! Kolokol never stores or serves a bot's HTML: its text is kept without markers, and what the
//! markers said is kept as Max's `markup` (spans counted in UTF-16 code units), which clients
//! render with their own elements. `**5**` and `<b>5</b>` both become the text `5` with a
//! `strong` span over it; a link keeps its words, with its `http(s)` address in a `link` span
//! (any other address is dropped), and `max://user/<id>` becomes a `user_mention`; entities are
//! decoded; tags Max does not list are dropped, their text kept.

use kolokol_proto::{Markup, MarkupKind, UserId};

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

/// A bot's text as Kolokol keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Formatted {
    pub text: String,
    pub markup: Vec<Markup>,
}

/// The text a person reads, and its formatting.
pub fn format(text: &str, format: Format) -> Formatted {
    let mut builder = Builder::default();
    match format {
        Format::Plain => builder.out.push_str(text),
        Format::Markdown => markdown(&mut builder, text),
        Format::Html => html(&mut builder, text),
    }
    builder.finish()
}

/// What a span is, before its offsets are counted in UTF-16.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Plain(MarkupKind),
    Link(String),
    Mention(UserId),
}

/// The text so far, and spans over it in bytes.
#[derive(Default)]
struct Builder {
    out: String,
    spans: Vec<(Kind, usize, usize)>,
}

impl Builder {
    /// A span from byte `start` to the end of the text so far.
    fn span(&mut self, kind: Kind, start: usize) {
        if self.out.len() > start {
            self.spans.push((kind, start, self.out.len()));
        }
    }

    /// A span for a link's words: a mention for `max://user/<id>`, a link for a web address,
    /// nothing for anything else.
    fn link(&mut self, url: &str, start: usize) {
        let url = url.trim();
        if let Some(id) = url.strip_prefix("max://user/") {
            if let Ok(id) = id.parse() {
                self.span(Kind::Mention(id), start);
            }
        } else if kolokol_domain::validate::is_web_address(url) {
            self.span(Kind::Link(url.to_owned()), start);
        }
    }

    fn finish(mut self) -> Formatted {
        // HTML's block ends leave newlines behind; none at the very end.
        let kept = self.out.trim_end_matches('\n').len();
        self.out.truncate(kept);
        let utf16 = |byte: usize| self.out[..byte].encode_utf16().count() as u32;
        let mut markup: Vec<Markup> = Vec::new();
        for (kind, start, end) in self.spans {
            let (start, end) = (start.min(kept), end.min(kept));
            if start >= end {
                continue;
            }
            let (kind, url, user_id) = match kind {
                Kind::Plain(kind) => (kind, None, None),
                Kind::Link(url) => (MarkupKind::Link, Some(url), None),
                Kind::Mention(id) => (MarkupKind::UserMention, None, Some(id)),
            };
            let from = utf16(start);
            let span = Markup {
                kind,
                from,
                length: utf16(end) - from,
                url,
                user_id,
            };
            if !markup.contains(&span) {
                markup.push(span);
            }
        }
        markup.sort_by_key(|span| (span.from, std::cmp::Reverse(span.length)));
        Formatted {
            text: self.out,
            markup,
        }
    }
}

/// Paired markers and what they mean, longest first so `**` wins over `*`.
const MARKERS: [(&str, MarkupKind); 8] = [
    ("**", MarkupKind::Strong),
    ("__", MarkupKind::Strong),
    ("~~", MarkupKind::Strikethrough),
    ("++", MarkupKind::Underline),
    ("^^", MarkupKind::Highlighted),
    ("*", MarkupKind::Emphasized),
    ("_", MarkupKind::Emphasized),
    ("`", MarkupKind::Monospaced),
];

fn markdown(builder: &mut Builder, text: &str) {
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            builder.out.push('\n');
        }
        let start = builder.out.len();
        match strip_heading(line) {
            Some(rest) => {
                markdown_line(builder, rest);
                builder.span(Kind::Plain(MarkupKind::Heading), start);
            }
            None => markdown_line(builder, line),
        }
    }
}

/// A heading's text (`# Title` … `###### Title`), or `None` for other lines.
fn strip_heading(line: &str) -> Option<&str> {
    let hashes = line.len() - line.trim_start_matches('#').len();
    line[hashes..]
        .strip_prefix(' ')
        .filter(|_| (1..=6).contains(&hashes))
}

fn markdown_line(builder: &mut Builder, line: &str) {
    let mut rest = line;
    'scan: while let Some(first) = rest.chars().next() {
        if first == '\\'
            && let Some(escaped) = rest[1..].chars().next()
            && escaped.is_ascii_punctuation()
        {
            builder.out.push(escaped);
            rest = &rest[1 + escaped.len_utf8()..];
            continue;
        }
        if rest.starts_with("```")
            && let Some(end) = rest[3..].find("```")
        {
            let start = builder.out.len();
            builder.out.push_str(&rest[3..3 + end]);
            builder.span(Kind::Plain(MarkupKind::Monospaced), start);
            rest = &rest[3 + end + 3..];
            continue;
        }
        if first == '['
            && let Some(close) = rest.find("](")
            && let Some(end) = rest[close + 2..].find(')')
        {
            let url = &rest[close + 2..close + 2 + end];
            let start = builder.out.len();
            markdown_line(builder, &rest[1..close]);
            if builder.out.len() == start {
                builder.out.push_str(url);
            }
            builder.link(url, start);
            rest = &rest[close + 2 + end + 1..];
            continue;
        }
        for (marker, kind) in MARKERS {
            let Some(after) = rest.strip_prefix(marker) else {
                continue;
            };
            // A marker opens only before a non-space and closes after one, on the same line, so
            // `snake_case`, `2 * 3` and a lone `*` stay as they are.
            let opens = after.chars().next().is_some_and(|c| !c.is_whitespace());
            let preceded_by_word = builder
                .out
                .chars()
                .last()
                .is_some_and(char::is_alphanumeric);
            if !opens || (marker.starts_with('_') && preceded_by_word) {
                continue;
            }
            if let Some(end) = closing(after, marker) {
                let inner = &after[..end];
                let start = builder.out.len();
                if marker == "`" {
                    builder.out.push_str(inner);
                } else {
                    markdown_line(builder, inner);
                }
                builder.span(Kind::Plain(kind), start);
                rest = &after[end + marker.len()..];
                continue 'scan;
            }
        }
        builder.out.push(first);
        rest = &rest[first.len_utf8()..];
    }
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

/// What an HTML tag Max lists means; other tags are dropped, their text kept.
fn tag_kind(name: &str) -> Option<MarkupKind> {
    Some(match name {
        "b" | "strong" => MarkupKind::Strong,
        "i" | "em" => MarkupKind::Emphasized,
        "u" | "ins" => MarkupKind::Underline,
        "s" | "del" | "strike" => MarkupKind::Strikethrough,
        "code" | "pre" => MarkupKind::Monospaced,
        "mark" => MarkupKind::Highlighted,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => MarkupKind::Heading,
        _ => return None,
    })
}

fn html(builder: &mut Builder, text: &str) {
    let mut rest = text;
    // Tags open and not yet closed: name, where their text began, and a link's address.
    let mut open: Vec<(String, usize, Option<String>)> = Vec::new();
    while let Some(first) = rest.chars().next() {
        match first {
            // A tag begins with a name or `/`; any other `<` is text ("1 < 2").
            '<' if rest[1..]
                .starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!') =>
            {
                let Some(end) = rest.find('>') else {
                    builder.out.push_str(&decode(rest));
                    break;
                };
                let tag = &rest[1..end];
                let name = tag
                    .trim_start_matches('/')
                    .split(|c: char| c.is_whitespace() || c == '/')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let closes = tag.starts_with('/');
                let block = matches!(
                    name.as_str(),
                    "p" | "div" | "pre" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
                );
                // A block starts on a line of its own.
                if !closes && block && !builder.out.is_empty() && !builder.out.ends_with('\n') {
                    builder.out.push('\n');
                }
                if !closes && name == "br" {
                    builder.out.push('\n');
                } else if !closes && (name == "a" || tag_kind(&name).is_some()) {
                    let href = (name == "a").then(|| attribute(tag, "href"));
                    open.push((name.clone(), builder.out.len(), href));
                } else if closes && let Some(at) = open.iter().rposition(|(open, ..)| *open == name)
                {
                    let (_, start, href) = open.remove(at);
                    match (tag_kind(&name), href) {
                        (Some(kind), _) => builder.span(Kind::Plain(kind), start),
                        (None, Some(href)) => builder.link(&href, start),
                        (None, None) => {}
                    }
                }
                if closes && block {
                    builder.out.push('\n');
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').filter(|&end| end <= 10);
                match end.and_then(|end| entity(&rest[1..end]).map(|c| (c, end))) {
                    Some((decoded, end)) => {
                        builder.out.push(decoded);
                        rest = &rest[end + 1..];
                    }
                    None => {
                        builder.out.push('&');
                        rest = &rest[1..];
                    }
                }
            }
            _ => {
                builder.out.push(first);
                rest = &rest[first.len_utf8()..];
            }
        }
    }
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

/// Text with its entities decoded.
fn decode(text: &str) -> String {
    let mut builder = Builder::default();
    html(&mut builder, &text.replace('<', "&lt;"));
    builder.out
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

    /// The spans as `(kind, the words they cover)`, plus a link's address or a mention's id.
    fn spans(formatted: &Formatted) -> Vec<(MarkupKind, String)> {
        let units: Vec<u16> = formatted.text.encode_utf16().collect();
        formatted
            .markup
            .iter()
            .map(|span| {
                let words = &units[span.from as usize..(span.from + span.length) as usize];
                let mut words = String::from_utf16(words).unwrap();
                if let Some(url) = &span.url {
                    words = format!("{words} → {url}");
                }
                if let Some(id) = span.user_id {
                    words = format!("{words} → {id}");
                }
                (span.kind, words)
            })
            .collect()
    }

    use MarkupKind::*;

    /// Input, the text it gives, and the spans over that text.
    type Case = (&'static str, &'static str, Vec<(MarkupKind, &'static str)>);

    #[track_caller]
    fn assert_cases<const N: usize>(style: Format, cases: [Case; N]) {
        for (input, text, expected) in cases {
            let formatted = format(input, style);
            assert_eq!(formatted.text, text, "{input}");
            let expected: Vec<(MarkupKind, String)> = expected
                .into_iter()
                .map(|(kind, words)| (kind, words.to_owned()))
                .collect();
            assert_eq!(spans(&formatted), expected, "{input}");
        }
    }

    #[test]
    fn markdown_markers_become_spans_over_their_words() {
        let cases: [Case; 10] = [
            (
                "**5** по математике",
                "5 по математике",
                vec![(Strong, "5")],
            ),
            (
                "__Важно:__ *завтра* _нет_ уроков",
                "Важно: завтра нет уроков",
                vec![
                    (Strong, "Важно:"),
                    (Emphasized, "завтра"),
                    (Emphasized, "нет"),
                ],
            ),
            (
                "~~отменено~~ ++перенесено++ ^^внимание^^",
                "отменено перенесено внимание",
                vec![
                    (Strikethrough, "отменено"),
                    (Underline, "перенесено"),
                    (Highlighted, "внимание"),
                ],
            ),
            (
                "`код` и ```блок```",
                "код и блок",
                vec![(Monospaced, "код"), (Monospaced, "блок")],
            ),
            (
                "# Расписание\n## Понедельник",
                "Расписание\nПонедельник",
                vec![(Heading, "Расписание"), (Heading, "Понедельник")],
            ),
            (
                "[журнал](https://school.example/j)",
                "журнал",
                vec![(Link, "журнал → https://school.example/j")],
            ),
            (
                "[Анна](max://user/7), привет",
                "Анна, привет",
                vec![(UserMention, "Анна → 7")],
            ),
            (
                "snake_case_name и 2 * 3 * 4",
                "snake_case_name и 2 * 3 * 4",
                vec![],
            ),
            ("\\*не курсив\\*", "*не курсив*", vec![]),
            (
                "**жирный *и курсив***",
                "жирный и курсив",
                vec![(Strong, "жирный и курсив"), (Emphasized, "и курсив")],
            ),
        ];
        assert_cases(Format::Markdown, cases);
        assert_eq!(
            format("одна * звезда", Format::Markdown).text,
            "одна * звезда"
        );
    }

    #[test]
    fn links_keep_only_web_addresses() {
        let formatted = format(
            "[плохая](javascript:void) [пустая]() [](https://a.example)",
            Format::Markdown,
        );
        assert_eq!(formatted.text, "плохая пустая https://a.example");
        assert_eq!(
            spans(&formatted),
            [(Link, "https://a.example → https://a.example".to_owned())]
        );
        let formatted = format(
            "<a href=\"javascript:alert(1)\">плохая</a> <a href='max://user/x'>кто</a>",
            Format::Html,
        );
        assert_eq!(
            (formatted.text.as_str(), formatted.markup.len()),
            ("плохая кто", 0)
        );
    }

    #[test]
    fn html_tags_become_spans_and_entities_are_decoded() {
        let cases: [Case; 10] = [
            (
                "<b>5</b> по <i>математике</i>",
                "5 по математике",
                vec![(Strong, "5"), (Emphasized, "математике")],
            ),
            (
                "<a href=\"https://school.example\">сайт</a>",
                "сайт",
                vec![(Link, "сайт → https://school.example")],
            ),
            (
                "a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39; &#x41;",
                "a <b> & \"c\" 'd' A",
                vec![],
            ),
            ("строка<br>строка<br/>", "строка\nстрока", vec![]),
            (
                "итоги <h1>Четверть</h1>текст<p>абзац</p>",
                "итоги \nЧетверть\nтекст\nабзац",
                vec![(Heading, "Четверть")],
            ),
            (
                "&laquo;Школа &numero;5&raquo; &mdash; итоги",
                "«Школа №5» — итоги",
                vec![],
            ),
            ("<script>alert(1)</script>", "alert(1)", vec![]),
            (
                "<pre><code class=\"language-rust\">let x = 1;</code></pre>",
                "let x = 1;",
                vec![(Monospaced, "let x = 1;")],
            ),
            ("1 < 2 & 3 > 2", "1 < 2 & 3 > 2", vec![]),
            (
                "<h1>Итоги</h1><u>под</u><s>за</s><mark>м</mark><strong><em>оба</em></strong>",
                "Итоги\nподзамоба",
                vec![
                    (Heading, "Итоги"),
                    (Underline, "под"),
                    (Strikethrough, "за"),
                    (Highlighted, "м"),
                    (Emphasized, "оба"),
                    (Strong, "оба"),
                ],
            ),
        ];
        assert_cases(Format::Html, cases);
        assert_eq!(
            format("&unknown; &#0;", Format::Html).text,
            "&unknown; &#0;"
        );
    }

    #[test]
    fn offsets_count_utf16_code_units() {
        // "😀" takes two units, as in JavaScript and in Max.
        let formatted = format("😀 **да**", Format::Markdown);
        assert_eq!(formatted.text, "😀 да");
        assert_eq!(
            (formatted.markup[0].from, formatted.markup[0].length),
            (3, 2)
        );
    }

    #[test]
    fn plain_text_is_left_alone_and_formats_parse() {
        assert_eq!(
            format("**как есть**", Format::Plain),
            Formatted {
                text: "**как есть**".into(),
                markup: vec![]
            }
        );
        assert_eq!(Format::parse(None), Some(Format::Plain));
        assert_eq!(Format::parse(Some("html")), Some(Format::Html));
        assert_eq!(Format::parse(Some("bbcode")), None);
    }

    proptest! {
        /// Whatever a bot writes, the result is text Kolokol keeps with spans it accepts, and
        /// no HTML tag is left in it.
        #[test]
        fn any_text_gives_valid_spans_and_html_leaves_no_tags(text in "[a-zа-я😀<>&;#x0-9*_~+^`\\[\\]()/: \"'=\n\\\\]{0,60}") {
            let markdown = format(&text, Format::Markdown);
            prop_assert!(kolokol_domain::markup::check(&markdown.text, &markdown.markup).is_ok(), "{text:?} → {markdown:?}");
            let html = format(&text, Format::Html);
            prop_assert!(kolokol_domain::markup::check(&html.text, &html.markup).is_ok(), "{text:?} → {html:?}");
            // Every tag is gone (unless one never closes, or an entity spells one out).
            let closed = text.rfind('<').is_none_or(|last| text[last..].contains('>'));
            if closed && !text.contains('&') {
                let tag_left = html.text.as_bytes().windows(2).any(|pair| {
                    pair[0] == b'<' && (pair[1].is_ascii_alphabetic() || pair[1] == b'/' || pair[1] == b'!')
                });
                prop_assert!(!tag_left, "{text:?} → {html:?}");
            }
        }

        #[test]
        fn text_without_markers_is_unchanged(text in "[a-zA-Zа-яА-Я0-9 .,!?:-]{0,80}") {
            prop_assert_eq!(format(&text, Format::Markdown), Formatted { text: text.clone(), markup: vec![] });
            prop_assert_eq!(format(&text, Format::Html), Formatted { text: text.clone(), markup: vec![] });
        }
    }
}
