//! Markup (HTML, XML/TwiML) is reduced to text the scanner reads.

use super::bytes::{find, find_byte, find_ci};
use super::out::Out;
use super::scan::scan;
use super::{cut, MAX_LITERAL_BYTES};

pub(super) fn looks_like_html(text: &str) -> bool {
    // One pass over the `<`s rather than a search per tag name.
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(p) = find_byte(b, i, b'<') {
        let after = &b[p + 1..];
        let starts =
            |name: &[u8]| after.len() >= name.len() && after[..name.len()].eq_ignore_ascii_case(name);
        if starts(b"html") || starts(b"body") || starts(b"br") {
            return true;
        }
        i = p + 1;
    }
    false
}

pub(super) const HTML_ELEMENTS: &[&str] = &[
    "html", "head", "body", "title", "meta", "link", "style", "script", "div", "span", "p", "a", "b", "i",
    "u", "em", "strong", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "center", "table", "tr", "td", "th",
    "pre", "code", "ul", "ol", "li", "form", "input", "img", "section", "main", "header", "footer", "nav",
    "iframe", "font", "small", "address", "noscript", "button", "label", "article",
];

/// HTML: the visible text (tags, attributes, comments, scripts and styles dropped).
/// XML/TwiML: the names of the opening elements (`<Say>`) and the text.
pub(super) fn markup(text: &str, out: &mut Out) {
    let b = text.as_bytes();
    let mut html: Option<bool> = None;
    let mut decoded = String::new();
    let mut i = 0;
    while i < b.len() && !out.full() {
        if b[i] == b'<' {
            match b.get(i + 1) {
                Some(b'!') => {
                    if b[i..].starts_with(b"<!--") {
                        i = find(b, i + 4, b"-->").map_or(b.len(), |p| p + 3);
                    } else {
                        if html.is_none()
                            && b.len() >= i + 14
                            && b[i + 2..i + 14].eq_ignore_ascii_case(b"doctype html")
                        {
                            html = Some(true);
                        }
                        i = find_byte(b, i + 2, b'>').map_or(b.len(), |p| p + 1);
                    }
                    out.space();
                    continue;
                }
                Some(b'?') => {
                    i = find_byte(b, i + 2, b'>').map_or(b.len(), |p| p + 1);
                    out.space();
                    continue;
                }
                Some(&c)
                    if c.is_ascii_alphabetic()
                        || (c == b'/' && b.get(i + 2).is_some_and(u8::is_ascii_alphabetic)) =>
                {
                    let closing = c == b'/';
                    let start = i + 1 + usize::from(closing);
                    let mut end = start;
                    while end < b.len()
                        && (b[end].is_ascii_alphanumeric() || matches!(b[end], b':' | b'-' | b'_'))
                    {
                        end += 1;
                    }
                    let name = &text[start..end];
                    let after = tag_end(b, end);
                    let is_html = *html
                        .get_or_insert_with(|| HTML_ELEMENTS.iter().any(|e| e.eq_ignore_ascii_case(name)));
                    out.space();
                    i = after;
                    if closing {
                        continue;
                    }
                    if is_html {
                        if name.eq_ignore_ascii_case("script") || name.eq_ignore_ascii_case("style") {
                            let close: &[u8] = if name.len() == 6 { b"</script" } else { b"</style" };
                            i = find_ci(b, i, close).map_or(b.len(), |p| tag_end(b, p + close.len()));
                        }
                    } else {
                        out.punct(b'<');
                        out.text.push_str(cut(name, MAX_LITERAL_BYTES));
                        out.text.push('>');
                        out.space();
                    }
                    continue;
                }
                _ => {}
            }
        }
        // Text up to the next '<' (a '<' that opens no tag is text).
        let end = find_byte(b, i + 1, b'<').unwrap_or(b.len());
        let segment = &text[i..end];
        if find_byte(segment.as_bytes(), 0, b'&').is_some() {
            decoded.clear();
            decode_entities(segment, &mut decoded);
            scan(&decoded, out);
        } else {
            scan(segment, out);
        }
        out.space();
        i = end;
    }
}

/// The index after the `>` that ends a tag whose name ends at `i` (quotes respected).
pub(super) fn tag_end(b: &[u8], mut i: usize) -> usize {
    let mut quote = 0u8;
    while i < b.len() {
        let c = b[i];
        if quote != 0 {
            // Attribute values (URLs, class lists) are skipped a word at a time.
            match find_byte(b, i, quote) {
                Some(close) => {
                    quote = 0;
                    i = close;
                }
                None => return b.len(),
            }
        } else if c == b'"' || c == b'\'' {
            quote = c;
        } else if c == b'>' {
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

pub(super) fn decode_entities(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let b = rest.as_bytes();
        let mut end = 1;
        while end < b.len() && end < 10 && (b[end].is_ascii_alphanumeric() || b[end] == b'#') {
            end += 1;
        }
        if b.get(end) != Some(&b';') {
            out.push('&');
            rest = &rest[1..];
            continue;
        }
        let name = &rest[1..end];
        let decoded = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => {
                let number = name
                    .strip_prefix('#')
                    .and_then(|n| match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => n.parse().ok(),
                    });
                number
                    .and_then(char::from_u32)
                    .map(|c| if c == '\u{a0}' { ' ' } else { c })
            }
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}
