//! The scanner: splits text into spaces, delimiters, multi-word patterns and words.

use super::bytes::{is_space, Classes, CLASSES, WORD_END};
use super::out::Out;
use super::patterns::{grouped_number, phone_at, spaced_duration, time_at};
use super::words::word;
use super::{DURATION, NUM, PHONE, TIME};

pub(super) fn is_delimiter(c: u8) -> bool {
    CLASSES[usize::from(c)] & WORD_END != 0 && !is_space(c)
}

pub(super) fn scan(text: &str, out: &mut Out) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if out.full() {
            return;
        }
        let c = b[i];
        if is_space(c) {
            out.space();
            i += 1;
            continue;
        }
        if let Some((end, kind)) = special(b, i) {
            out.placeholder(kind);
            i = end;
            continue;
        }
        if is_delimiter(c) {
            out.punct(c);
            i += 1;
            continue;
        }
        // The word's byte classes are gathered on the way to its end, for the classifier.
        let (mut j, mut any, mut all) = (i, 0, u32::MAX);
        while j < b.len() {
            let bits = CLASSES[usize::from(b[j])];
            if bits & WORD_END != 0 {
                break;
            }
            any |= bits;
            all &= bits;
            j += 1;
        }
        let mut k = j;
        while k > i && matches!(b[k - 1], b'.' | b':') {
            k -= 1;
        }
        if k > i {
            let classes = if k == j {
                Classes { any, all }
            } else {
                Classes::of(&b[i..k])
            };
            word(&text[i..k], classes, out);
        }
        for &p in &b[k..j] {
            out.punct(p);
        }
        i = j;
    }
}

/// Patterns that span several words (dates, phone numbers, `30 seconds`, `1,234`),
/// tried where a word starts: (end, placeholder).
pub(super) fn special(b: &[u8], i: usize) -> Option<(usize, &'static str)> {
    let c = b[i];
    let found = if c.is_ascii_digit() {
        // Every digit pattern goes on after its first run of digits with one of these (or
        // stops there): most numbers and digit-led ids are turned away here.
        let run_end = b[i..]
            .iter()
            .position(|c| !c.is_ascii_digit())
            .map_or(b.len(), |p| i + p);
        if !matches!(b.get(run_end), Some(b'-' | b'/' | b' ' | b':' | b'.' | b',')) {
            return None;
        }
        time_at(b, i)
            .map(|e| (e, TIME))
            .or_else(|| phone_at(b, i).map(|e| (e, PHONE)))
            .or_else(|| spaced_duration(b, i).map(|e| (e, DURATION)))
            .or_else(|| grouped_number(b, i).map(|e| (e, NUM)))
    } else if matches!(
        c | 0x20,
        b'j' | b'f' | b'm' | b'a' | b's' | b'o' | b'n' | b'd' | b't' | b'w'
    ) {
        time_at(b, i).map(|e| (e, TIME))
    } else if c == b'+' || c == b'(' {
        phone_at(b, i).map(|e| (e, PHONE))
    } else {
        None
    };
    found.filter(|&(end, _)| end >= b.len() || !(b[end].is_ascii_alphanumeric() || b[end] == b'_'))
}
