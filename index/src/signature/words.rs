//! Words: a run without spaces and delimiters, written as a placeholder, a URL, a path
//! or a compound of classified parts.

use super::bytes::{find, Classes, BACKSLASH, CLASSES, COLON, DOT, INNER_SEP, OUTER_SEP, SLASH};
use super::classify::{classify, classify_with, is_ip, is_segment_id, is_value_id, Class};
use super::out::Out;
use super::{cut, EMAIL, HEX, HOST, ID, IP, LINE, MAX_LITERAL_BYTES, NUM};

/// `classes`: the word's byte classes.
pub(super) fn word(w: &str, classes: Classes, out: &mut Out) {
    match classify_with(w.as_bytes(), classes) {
        Some(Class::Is(kind)) => return out.placeholder(kind),
        Some(Class::NumberThen(unit)) => {
            out.placeholder(NUM);
            out.text.push_str(&w[unit..]);
            return;
        }
        None => {}
    }
    // A whole quoted or assigned value of letters and digits: an id (`"call": "k3x9a2b1c"`).
    if !out.space
        && matches!(out.text.as_bytes().last(), Some(b'"' | b'\'' | b'='))
        && is_value_id(w.as_bytes())
    {
        return out.placeholder(ID);
    }
    if classes.has(COLON) && classes.has(SLASH) {
        if let Some(p) = find(w.as_bytes(), 0, b"://") {
            return url(w, p, out);
        }
    }
    if classes.has(SLASH | BACKSLASH) && is_path(w) {
        return path(w, out);
    }
    compound(w, classes, out);
}

pub(super) fn is_path(w: &str) -> bool {
    let b = w.as_bytes();
    (b.len() > 1 && b[0] == b'/')
        || w.starts_with("./")
        || w.starts_with("../")
        || w.starts_with("~/")
        || (b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\')
        || b.contains(&b'\\')
        || b.iter().filter(|c| **c == b'/').count() >= 2
}

/// `scheme://authority/path`: the authority becomes `<ip>` or `<host>`.
pub(super) fn url(w: &str, scheme_end: usize, out: &mut Out) {
    out.literal(&w[..scheme_end + 3]);
    let rest = &w[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if !host.is_empty() {
        let glue = out.text.ends_with("://");
        let kind = if is_ip(host.as_bytes()) { IP } else { HOST };
        if glue {
            out.text.push_str(kind);
        } else {
            out.placeholder(kind);
        }
    }
    if authority_end < rest.len() {
        path_segments(&rest[authority_end..], out);
    }
}

pub(super) fn path(w: &str, out: &mut Out) {
    out.separate();
    path_segments(w, out);
}

/// Path segments: id-like ones become `<id>` (`<ip>`/`<host>`/`<email>` stay typed),
/// `file.ext:12` keeps the file name.
pub(super) fn path_segments(w: &str, out: &mut Out) {
    let mut first = true;
    for segment in w.split_inclusive(['/', '\\']) {
        let (name, sep) = match segment.as_bytes().last() {
            Some(b'/' | b'\\') => (&segment[..segment.len() - 1], &segment[segment.len() - 1..]),
            _ => (segment, ""),
        };
        if !name.is_empty() {
            glue_word(name, out, first);
        }
        out.text.push_str(sep);
        first = false;
    }
}

/// A word inside a path or compound: written right after what precedes it.
pub(super) fn glue_word(name: &str, out: &mut Out, first: bool) {
    if !first {
        out.space = false;
    }
    let classes = Classes::of(name.as_bytes());
    match classify_with(name.as_bytes(), classes) {
        Some(Class::Is(kind @ (IP | HOST | EMAIL))) => push_glued(kind, out),
        Some(_) => push_glued(ID, out),
        None if is_segment_id(name.as_bytes()) => push_glued(ID, out),
        None => {
            if let Some(colon) = file_line(name, classes) {
                push_literal_glued(&name[..colon], out);
                out.text.push(':');
                out.text.push_str(LINE);
            } else {
                compound_glued(name, classes, out);
            }
        }
    }
}

pub(super) fn push_glued(kind: &str, out: &mut Out) {
    out.separate();
    out.text.push_str(kind);
}

pub(super) fn push_literal_glued(word: &str, out: &mut Out) {
    out.separate();
    out.text.push_str(cut(word, MAX_LITERAL_BYTES));
}

/// `Foo.java:123`, `layer.js:95:5`: the index of the colon before the line.
pub(super) fn file_line(w: &str, classes: Classes) -> Option<usize> {
    if !(classes.has(COLON) && classes.has(DOT)) {
        return None;
    }
    let b = w.as_bytes();
    let mut end = b.len();
    let mut colon = None;
    for _ in 0..2 {
        let start = b[..end]
            .iter()
            .rposition(|c| !c.is_ascii_digit())
            .map_or(0, |p| p + 1);
        if start == end || start == 0 || b[start - 1] != b':' {
            break;
        }
        colon = Some(start - 1);
        end = start - 1;
    }
    let colon = colon?;
    let name = &b[..colon];
    let dot = name.iter().rposition(|c| *c == b'.')?;
    let ext = &name[dot + 1..];
    (!ext.is_empty() && ext.len() <= 6 && ext.iter().all(u8::is_ascii_alphabetic) && dot > 0).then_some(colon)
}

/// A word of several parts: split at `/ \ @ : = + ~ %` and then at `. - _`, each part
/// classified on its own. Only for a word that `classify` said nothing of.
pub(super) fn compound(w: &str, classes: Classes, out: &mut Out) {
    out.separate();
    if let Some(colon) = file_line(w, classes) {
        out.text.push_str(cut(&w[..colon], MAX_LITERAL_BYTES));
        out.text.push(':');
        out.text.push_str(LINE);
        return;
    }
    compound_glued(w, classes, out);
}

/// Only for a word that `classify` said nothing of: a part that is the whole word is not
/// classified again.
pub(super) fn compound_glued(w: &str, classes: Classes, out: &mut Out) {
    if !classes.has(OUTER_SEP | INNER_SEP) {
        out.text.push_str(cut(w, MAX_LITERAL_BYTES));
    } else if !classes.has(OUTER_SEP) {
        split_classify(w, out, INNER_SEP, true);
    } else {
        split_classify(w, out, OUTER_SEP, true);
    }
}

/// `whole_is_none`: `classify(w)` is known to be None.
pub(super) fn split_classify(w: &str, out: &mut Out, seps: u32, whole_is_none: bool) {
    let b = w.as_bytes();
    let mut start = 0;
    for i in 0..=b.len() {
        if i < b.len() && CLASSES[usize::from(b[i])] & seps == 0 {
            continue;
        }
        let part = &w[start..i];
        if !part.is_empty() {
            let class = if whole_is_none && part.len() == b.len() {
                None
            } else {
                classify(part)
            };
            match class {
                Some(Class::Is(kind)) => {
                    let kind = match kind {
                        // A hex id that happens to have no letter (`18.6e2f1002.<hex>`).
                        NUM if part.len() == 8 && part.bytes().all(|c| c.is_ascii_digit()) => HEX,
                        NUM if out.after_line_word() => LINE,
                        _ => kind,
                    };
                    out.text.push_str(kind)
                }
                Some(Class::NumberThen(unit)) => {
                    out.text.push_str(NUM);
                    out.text.push_str(&part[unit..]);
                }
                None if seps == OUTER_SEP => split_classify(part, out, INNER_SEP, true),
                None => out.text.push_str(cut(part, MAX_LITERAL_BYTES)),
            }
        }
        if i < b.len() {
            out.text.push(b[i] as char);
        }
        start = i + 1;
    }
}
