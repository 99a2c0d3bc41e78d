//! Byte-level matching helpers shared by the scanner, the patterns and the classifier.

pub(super) fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= b.len() || needle.is_empty() {
        return None;
    }
    let first = needle[0];
    let mut i = from;
    while i + needle.len() <= b.len() {
        if b[i] == first && b[i..i + needle.len()] == *needle {
            return Some(i);
        }
        i += 1;
    }
    None
}

pub(super) fn find_ci(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let mut i = from;
    while i + needle.len() <= b.len() {
        if b[i].eq_ignore_ascii_case(&needle[0]) && b[i..i + needle.len()].eq_ignore_ascii_case(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

pub(super) fn digits(b: &[u8], i: usize, min: usize, max: usize) -> Option<usize> {
    let mut j = i;
    while j < b.len() && j - i < max && b[j].is_ascii_digit() {
        j += 1;
    }
    (j - i >= min && !(j < b.len() && b[j].is_ascii_digit())).then_some(j)
}

pub(super) fn byte(b: &[u8], i: usize, c: u8) -> Option<usize> {
    (b.get(i) == Some(&c)).then_some(i + 1)
}

/// One or more spaces.
pub(super) fn spaces(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while j < b.len() && j - i < 3 && b[j] == b' ' {
        j += 1;
    }
    (j > i).then_some(j)
}

/// An alphabetic word of `list` (any case) starting at `i`.
pub(super) fn word_in(b: &[u8], i: usize, list: &[&str]) -> Option<usize> {
    let mut j = i;
    while j < b.len() && j - i < 10 && b[j].is_ascii_alphabetic() {
        j += 1;
    }
    if (j < b.len() && b[j].is_ascii_alphabetic()) || j == i {
        return None;
    }
    let w = &b[i..j];
    let first = w[0].to_ascii_lowercase();
    list.iter()
        .any(|m| m.len() == w.len() && m.as_bytes()[0] == first && m.as_bytes().eq_ignore_ascii_case(w))
        .then_some(j)
}
