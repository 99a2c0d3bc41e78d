//! Patterns that span several words: dates and times, phone numbers, spaced durations
//! (`30 seconds`) and grouped numbers (`1,234`).

use super::bytes::{alphabetic_word, byte, digits, pack_all, spaces, word_in, WordSet};

const MONTHS_PACKED: &[u128] = &pack_all([
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]);
const WEEKDAYS_PACKED: &[u128] = &pack_all([
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
]);
const ZONES_PACKED: &[u128] = &pack_all([
    "utc", "gmt", "z", "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt", "cet", "cest", "bst", "ist",
    "jst",
]);
pub(super) const MONTHS: WordSet = WordSet::new(MONTHS_PACKED);
pub(super) const WEEKDAYS: WordSet = WordSet::new(WEEKDAYS_PACKED);
pub(super) const ZONES: WordSet = WordSet::new(ZONES_PACKED);
const AM_PM: WordSet = WordSet::new(&pack_all(["am", "pm"]));

/// `10:00`, `10:00:00`, `10:00:00.123`, with `AM`/`PM`.
pub(super) fn clock(b: &[u8], i: usize) -> Option<usize> {
    let j = digits(b, i, 1, 2)?;
    let j = byte(b, j, b':')?;
    let mut j = digits(b, j, 2, 2)?;
    if let Some(k) = byte(b, j, b':').and_then(|k| digits(b, k, 2, 2)) {
        j = k;
        if let Some(k) = byte(b, j, b'.')
            .or_else(|| byte(b, j, b','))
            .and_then(|k| digits(b, k, 1, 9))
        {
            j = k;
        }
    }
    let k = if b.get(j) == Some(&b' ') { j + 1 } else { j };
    if let Some(m) = word_in(b, k, &AM_PM) {
        j = m;
    }
    Some(j)
}

/// An optional zone after a date or time: `Z`, `+00:00`, ` +0000`, ` UTC`.
pub(super) fn zone(b: &[u8], i: usize) -> usize {
    if b.get(i) == Some(&b'Z') && !b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) {
        return i + 1;
    }
    let k = if b.get(i) == Some(&b' ') { i + 1 } else { i };
    if matches!(b.get(k), Some(b'+' | b'-')) {
        if let Some(j) = digits(b, k + 1, 2, 2) {
            if let Some(m) = byte(b, j, b':').and_then(|m| digits(b, m, 2, 2)) {
                return m;
            }
            if let Some(m) = digits(b, j, 2, 2) {
                return m;
            }
        }
        if let Some(j) = digits(b, k + 1, 4, 4) {
            return j;
        }
    }
    if k > i || b.get(i).is_some_and(u8::is_ascii_uppercase) {
        if let Some(j) = word_in(b, k, &ZONES) {
            return j;
        }
    }
    i
}

/// An optional ` 10:00:00` (or `T10:00:00`) and zone after a date.
pub(super) fn after_date(b: &[u8], j: usize) -> usize {
    if matches!(b.get(j), Some(b'T' | b' ' | b':')) {
        if let Some(k) = clock(b, j + 1) {
            return zone(b, k);
        }
    }
    zone(b, j)
}

pub(super) fn time_at(b: &[u8], i: usize) -> Option<usize> {
    if b[i].is_ascii_digit() {
        // 2026-12-01, 2026/12/01
        if let Some(j) = digits(b, i, 4, 4) {
            for sep in [b'-', b'/'] {
                if let Some(k) = byte(b, j, sep)
                    .and_then(|k| digits(b, k, 1, 2))
                    .and_then(|k| byte(b, k, sep))
                    .and_then(|k| digits(b, k, 1, 2))
                {
                    return Some(after_date(b, k));
                }
            }
            return None;
        }
        let d = digits(b, i, 1, 2)?;
        // 01/Dec/2026:10:00:00 +0000, 12/01/2026 10:00
        if let Some(k) = byte(b, d, b'/') {
            let k = word_in(b, k, &MONTHS).or_else(|| digits(b, k, 1, 2))?;
            let k = byte(b, k, b'/')?;
            let k = digits(b, k, 4, 4).or_else(|| digits(b, k, 2, 2))?;
            return Some(after_date(b, k));
        }
        // 1 Dec 2026
        if let Some(k) = byte(b, d, b' ').and_then(|k| word_in(b, k, &MONTHS)) {
            let k = byte(b, k, b' ').and_then(|k| digits(b, k, 4, 4))?;
            return Some(after_date(b, k));
        }
        return clock(b, i).map(|k| zone(b, k));
    }
    if !month_or_weekday_start(b, i) {
        return None;
    }
    let (end, word) = alphabetic_word(b, i)?;
    let month = MONTHS.contains(word).then_some(end);
    let weekday = WEEKDAYS.contains(word).then_some(end);
    let mut j = match (weekday, month) {
        (Some(w), _) => {
            let k = byte(b, w, b',').unwrap_or(w);
            let k = spaces(b, k)?;
            // Tue, 01 Dec 2026 10:00:00 GMT
            if let Some(d) = digits(b, k, 1, 2) {
                let m = byte(b, d, b' ').and_then(|m| word_in(b, m, &MONTHS))?;
                let y = byte(b, m, b' ').and_then(|y| digits(b, y, 4, 4))?;
                return Some(after_date(b, y));
            }
            // Tue Dec 01 10:00:00 UTC 2026 (ctime, Java's Date)
            word_in(b, k, &MONTHS)?
        }
        (None, Some(m)) => m,
        (None, None) => return None,
    };
    // Dec 1, 2026 [10:00]; Dec  1 10:00:00 [UTC] [2026]
    j = spaces(b, j)?;
    j = digits(b, j, 1, 2)?;
    let comma = byte(b, j, b',');
    let k = spaces(b, comma.unwrap_or(j))?;
    if let Some(y) = digits(b, k, 4, 4) {
        return Some(after_date(b, y));
    }
    if comma.is_some() {
        return None;
    }
    let mut end = zone(b, clock(b, k)?);
    if let Some(y) = byte(b, end, b' ').and_then(|y| digits(b, y, 4, 4)) {
        end = y;
    }
    Some(end)
}

/// The three letters every month and weekday name starts with (`jan`, `sept` → `sep`).
const MONTH_OR_WEEKDAY_STARTS: [&[u8; 3]; 19] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec", b"mon",
    b"tue", b"wed", b"thu", b"fri", b"sat", b"sun",
];

/// One bit per three lower-case letters: whether a month or weekday name starts so.
const MONTH_OR_WEEKDAY_BITS: [u64; 26 * 26 * 26 / 64 + 1] = {
    let mut bits = [0u64; 26 * 26 * 26 / 64 + 1];
    let mut n = 0;
    while n < MONTH_OR_WEEKDAY_STARTS.len() {
        let w = MONTH_OR_WEEKDAY_STARTS[n];
        let slot = (w[0] - b'a') as usize * 676 + (w[1] - b'a') as usize * 26 + (w[2] - b'a') as usize;
        bits[slot / 64] |= 1 << (slot % 64);
        n += 1;
    }
    bits
};

/// Whether the word at `i` can be a month or weekday name: most words starting with the
/// same letter are turned away here, before the whole word is read.
fn month_or_weekday_start(b: &[u8], i: usize) -> bool {
    let Some(&[c0, c1, c2]) = b.get(i..i + 3).map(|s| <&[u8; 3]>::try_from(s).unwrap()) else {
        return false;
    };
    if !(c0.is_ascii_alphabetic() && c1.is_ascii_alphabetic() && c2.is_ascii_alphabetic()) {
        return false;
    }
    let letter = |c: u8| usize::from(c.to_ascii_lowercase() - b'a');
    let slot = letter(c0) * 676 + letter(c1) * 26 + letter(c2);
    MONTH_OR_WEEKDAY_BITS[slot / 64] & (1 << (slot % 64)) != 0
}

/// `+1 415 555 0100`, `+44 (20) 7946-0958`, `(415) 555-0100`, `415-555-0100`, `1-800-555-0100`.
pub(super) fn phone_at(b: &[u8], i: usize) -> Option<usize> {
    match b[i] {
        b'+' => {
            let mut count = 0;
            let mut last = 0;
            let mut j = i + 1;
            while j < b.len() && j - i < 24 {
                match b[j] {
                    c if c.is_ascii_digit() => {
                        count += 1;
                        last = j;
                    }
                    b'-' | b'.' | b'(' | b')' => {}
                    b' ' if b.get(j + 1).is_some_and(|c| c.is_ascii_digit() || *c == b'(') => {}
                    _ => break,
                }
                j += 1;
            }
            ((8..=15).contains(&count) && b.get(i + 1).is_some_and(u8::is_ascii_digit)).then_some(last + 1)
        }
        b'(' => {
            let j = digits(b, i + 1, 3, 3).and_then(|j| byte(b, j, b')'))?;
            let j = if b.get(j) == Some(&b' ') { j + 1 } else { j };
            let j = digits(b, j, 3, 3)?;
            let j = byte(b, j, b'-').or_else(|| byte(b, j, b'.'))?;
            digits(b, j, 4, 4)
        }
        _ => {
            let mut j = i;
            if b.get(i) == Some(&b'1') && matches!(b.get(i + 1), Some(b'-' | b'.')) {
                j = i + 2;
            }
            let j = digits(b, j, 3, 3)?;
            let sep = *b.get(j).filter(|c| matches!(c, b'-' | b'.'))?;
            let j = digits(b, j + 1, 3, 3).and_then(|j| byte(b, j, sep))?;
            digits(b, j, 4, 4)
        }
    }
}

const DURATION_WORDS_PACKED: &[u128] = &pack_all([
    "ns",
    "us",
    "ms",
    "s",
    "sec",
    "secs",
    "second",
    "seconds",
    "min",
    "mins",
    "minute",
    "minutes",
    "h",
    "hr",
    "hrs",
    "hour",
    "hours",
    "day",
    "days",
    "millisecond",
    "milliseconds",
    "microseconds",
    "nanoseconds",
]);
pub(super) const DURATION_WORDS: WordSet = WordSet::new(DURATION_WORDS_PACKED);

/// `30 seconds`, `1.5 s`.
pub(super) fn spaced_duration(b: &[u8], i: usize) -> Option<usize> {
    let mut j = digits(b, i, 1, 12)?;
    if let Some(k) = byte(b, j, b'.').and_then(|k| digits(b, k, 1, 9)) {
        j = k;
    }
    let j = byte(b, j, b' ')?;
    word_in(b, j, &DURATION_WORDS)
}

/// `1,234`, `12,345,678.90`.
pub(super) fn grouped_number(b: &[u8], i: usize) -> Option<usize> {
    let mut j = digits(b, i, 1, 3)?;
    let mut groups = 0;
    while let Some(k) = byte(b, j, b',').and_then(|k| digits(b, k, 3, 3)) {
        j = k;
        groups += 1;
    }
    if groups == 0 {
        return None;
    }
    if let Some(k) = byte(b, j, b'.').and_then(|k| digits(b, k, 1, 9)) {
        j = k;
    }
    Some(j)
}
