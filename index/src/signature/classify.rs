//! Word classification: what a whole word is (a number, UUID, IP, host, e-mail, id, ...).

use super::bytes::{
    byte, digits, find, pack, pack_all, Classes, WordSet, ALNUM, AT, B64_CHAR, COLON, DIGIT, DOT, HEXDIGIT,
    HEX_JOIN, HOST_CHAR, IP_CHAR, JWT_CHAR, LOWER, OTHER, SLASH, UPPER,
};
use super::{B64, DURATION, EMAIL, HEX, HOST, ID, IP, NUM, PHONE, TIME, UUID};

pub(super) const DURATION_UNITS: &[&str] = &[
    "ns", "us", "µs", "ms", "s", "m", "h", "d", "sec", "secs", "min", "mins", "hr", "hrs",
];

/// What a word is as a whole.
#[derive(Clone, Copy)]
pub(super) enum Class {
    Is(&'static str),
    /// A number with a unit (`10MB`): `<num>` then the unit from this index.
    NumberThen(usize),
}

pub(super) fn classify(w: &str) -> Option<Class> {
    classify_with(w.as_bytes(), Classes::of(w.as_bytes()))
}

/// `classify` of a word whose byte classes are known. Each check runs only if those
/// classes allow it to match, so a word is read again only by the checks that can succeed.
pub(super) fn classify_with(b: &[u8], classes: Classes) -> Option<Class> {
    if b.is_empty() {
        return None;
    }
    let (digit, upper, at, dot, other) = (
        classes.has(DIGIT),
        classes.has(UPPER),
        classes.has(AT),
        classes.has(DOT),
        classes.has(OTHER),
    );
    let letter = classes.has(UPPER | LOWER);
    if !digit && !at {
        // Words, dotted names (`java.lang.Foo`), hosts, long random letters.
        if dot && !upper && !other && is_host(b) {
            return Some(Class::Is(HOST));
        }
        if b.len() >= 20 && is_b64(b, classes) {
            return Some(Class::Is(B64));
        }
        if b.len() >= 3 && classes.has(COLON) && classes.all(IP_CHAR) && is_ip(b) {
            return Some(Class::Is(IP));
        }
        return None;
    }
    if (b.starts_with(b"0x") || b.starts_with(b"0X"))
        && b.len() > 2
        && b[2..].iter().all(u8::is_ascii_hexdigit)
    {
        return Some(Class::Is(HEX));
    }
    let all_hex = classes.all(HEXDIGIT);
    // is_hex_id of all hex digits: a digit and a letter.
    if b.len() >= 8 && all_hex && digit && letter {
        return Some(Class::Is(HEX));
    }
    if let Some(class) = number(b) {
        return Some(class);
    }
    if is_uuid(b) {
        return Some(Class::Is(UUID));
    }
    if classes.all(IP_CHAR) && is_ip(b) {
        return Some(Class::Is(IP));
    }
    if at && is_email(b) {
        return Some(Class::Is(EMAIL));
    }
    if dot && classes.all(HOST_CHAR) && is_host(b) {
        return Some(Class::Is(HOST));
    }
    if !all_hex && classes.all(HEX_JOIN) && is_hex_id(b) {
        return Some(Class::Is(HEX));
    }
    if b.len() >= 20 && is_b64(b, classes) {
        return Some(Class::Is(B64));
    }
    if b.len() >= 6 && classes.all(ALNUM) && is_random_id(b) {
        return Some(Class::Is(ID));
    }
    None
}

/// Numbers: `<num>`, `<time>` (epoch), `<phone>`, `<duration>`, or a number with a unit.
pub(super) fn number(b: &[u8]) -> Option<Class> {
    let signed = matches!(b[0], b'+' | b'-');
    let start = usize::from(signed);
    let int_end = digits(b, start, 1, usize::MAX)?;
    let int_len = int_end - start;
    if int_end == b.len() {
        if b[0] == b'+' && (8..=15).contains(&int_len) {
            return Some(Class::Is(PHONE));
        }
        if !signed {
            let value: u64 = std::str::from_utf8(b).ok()?.parse().unwrap_or(u64::MAX);
            if int_len == 10 && (1_000_000_000..2_100_000_000).contains(&value) {
                return Some(Class::Is(TIME));
            }
            if int_len == 13 && (1_000_000_000_000..2_100_000_000_000).contains(&value) {
                return Some(Class::Is(TIME));
            }
            if (int_len == 10 && b[0] >= b'2') || (int_len == 11 && b[0] == b'1' && b[1] >= b'2') {
                return Some(Class::Is(PHONE));
            }
        }
        return Some(Class::Is(NUM));
    }
    let mut j = int_end;
    let mut dots = 0;
    while let Some(k) = byte(b, j, b'.').and_then(|k| digits(b, k, 1, usize::MAX)) {
        j = k;
        dots += 1;
    }
    if dots == 3 && !signed && is_ip(b) {
        return None;
    }
    if dots == 1 && int_len == 10 && j == b.len() && !signed {
        return Some(Class::Is(TIME));
    }
    if dots <= 1 && matches!(b.get(j), Some(b'e' | b'E')) {
        let k = if matches!(b.get(j + 1), Some(b'+' | b'-')) {
            j + 2
        } else {
            j + 1
        };
        if let Some(k) = digits(b, k, 1, 4) {
            j = k;
        }
    }
    if j == b.len() {
        return Some(Class::Is(NUM));
    }
    if !b[j].is_ascii_alphabetic() || dots > 1 {
        return None;
    }
    // A unit: durations (`250ms`, `1m30s`), others kept (`10MB`).
    let mut k = j;
    loop {
        let unit_end = k + b[k..].iter().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &b[k..unit_end];
        if !DURATION_UNITS.iter().any(|u| u.as_bytes() == unit) {
            break;
        }
        if unit_end == b.len() {
            return Some(Class::Is(DURATION));
        }
        let Some(next) = digits(b, unit_end, 1, 12) else {
            break;
        };
        let mut next = next;
        if let Some(m) = byte(b, next, b'.').and_then(|m| digits(b, m, 1, 9)) {
            next = m;
        }
        if next >= b.len() || !b[next].is_ascii_alphabetic() {
            break;
        }
        k = next;
    }
    let rest = &b[j..];
    (rest.len() <= 5 && rest.iter().all(u8::is_ascii_alphabetic)).then_some(Class::NumberThen(j))
}

pub(super) fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

pub(super) fn is_ipv4(b: &[u8]) -> bool {
    let mut parts = 0;
    let mut j = 0;
    loop {
        let Some(k) = digits(b, j, 1, 3) else { return false };
        let value: u32 = b[j..k].iter().fold(0, |v, c| v * 10 + u32::from(c - b'0'));
        if value > 255 {
            return false;
        }
        parts += 1;
        j = k;
        if parts == 4 {
            break;
        }
        match byte(b, j, b'.') {
            Some(k) => j = k,
            None => return false,
        }
    }
    j == b.len()
}

pub(super) fn is_ip(b: &[u8]) -> bool {
    // a.b.c.d[:port][/prefix]
    let body_end = b.iter().position(|c| matches!(c, b':' | b'/')).unwrap_or(b.len());
    if b.first().is_some_and(u8::is_ascii_digit) && is_ipv4(&b[..body_end]) {
        let rest = &b[body_end..];
        return rest.is_empty()
            || (rest.len() > 1 && rest.len() <= 6 && rest[1..].iter().all(u8::is_ascii_digit));
    }
    // [v6]:port
    let v6 = if b.first() == Some(&b'[') {
        match b.iter().position(|c| *c == b']') {
            Some(close) => {
                let rest = &b[close + 1..];
                if !(rest.is_empty()
                    || (rest.len() > 1 && rest[0] == b':' && rest[1..].iter().all(u8::is_ascii_digit)))
                {
                    return false;
                }
                &b[1..close]
            }
            None => return false,
        }
    } else {
        b
    };
    let colons = v6.iter().filter(|c| **c == b':').count();
    let double = find(v6, 0, b"::").is_some();
    (double || colons == 7)
        && colons <= 8
        && v6.len() >= 3
        && v6.iter().any(u8::is_ascii_hexdigit)
        && v6
            .iter()
            .all(|c| c.is_ascii_hexdigit() || *c == b':' || *c == b'.')
}

const TLDS_PACKED: &[u128] = &pack_all([
    "com",
    "net",
    "org",
    "io",
    "co",
    "us",
    "uk",
    "de",
    "fr",
    "nl",
    "eu",
    "ca",
    "au",
    "jp",
    "br",
    "es",
    "it",
    "se",
    "ch",
    "be",
    "at",
    "dk",
    "no",
    "fi",
    "ie",
    "nz",
    "za",
    "mx",
    "cn",
    "kr",
    "tw",
    "sg",
    "hk",
    "info",
    "biz",
    "me",
    "tv",
    "cc",
    "app",
    "dev",
    "cloud",
    "ai",
    "xyz",
    "site",
    "online",
    "tech",
    "local",
    "localdomain",
    "internal",
    "lan",
    "corp",
    "home",
    "arpa",
    "example",
    "test",
    "invalid",
    "localhost",
    "gov",
    "edu",
    "mil",
    "int",
    "pro",
    "shop",
    "live",
    "in",
]);
pub(super) const TLDS: WordSet = WordSet::new(TLDS_PACKED);

/// `api.example.com`, `ip-10-0-0-1.ec2.internal`, with an optional `:port`.
pub(super) fn is_host(b: &[u8]) -> bool {
    let b = match b.iter().rposition(|c| *c == b':') {
        Some(p) if p + 1 < b.len() && b[p + 1..].iter().all(u8::is_ascii_digit) => &b[..p],
        _ => b,
    };
    // Few dotted words end in a TLD (`java.lang.Foo`, `app.js`): that is tried first. A
    // label that packs like a TLD but is not one (upper case, NUL) fails the labels below.
    let Some(dot) = b.iter().rposition(|c| *c == b'.') else {
        return false;
    };
    let last = &b[dot + 1..];
    if last.len() > 16 || !TLDS.contains(pack(last)) {
        return false;
    }
    b.split(|c| *c == b'.').all(|label| {
        !label.is_empty()
            && label[0] != b'-'
            && label
                .iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    })
}

pub(super) fn is_email(b: &[u8]) -> bool {
    let Some(at) = b.iter().position(|c| *c == b'@') else {
        return false;
    };
    let (local, domain) = (&b[..at], &b[at + 1..]);
    if local.is_empty()
        || !local
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._%+-".contains(c))
    {
        return false;
    }
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in domain.split(|c| *c == b'.') {
        if label.is_empty() || !label.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)
}

/// ≥ 8 hex digits with a digit and a letter (all digits is a number), or hex groups
/// joined by `-`/`:` (≥ 12 digits).
pub(super) fn is_hex_id(b: &[u8]) -> bool {
    let hex = b.iter().filter(|c| c.is_ascii_hexdigit()).count();
    let joined = b
        .iter()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, b'-' | b':'));
    let digit = b.iter().any(u8::is_ascii_digit);
    let letter = b.iter().any(u8::is_ascii_alphabetic);
    if hex == b.len() {
        return b.len() >= 8 && digit && letter;
    }
    joined && hex >= 12 && digit && b[0].is_ascii_hexdigit() && b[b.len() - 1].is_ascii_hexdigit()
}

/// `classes`: the word's byte classes, which answer most of the questions.
pub(super) fn is_b64(b: &[u8], classes: Classes) -> bool {
    if b.starts_with(b"eyJ") && b.len() >= 20 && classes.all(JWT_CHAR) {
        return true;
    }
    if b.len() < 20 || b[0] == b'/' {
        return false;
    }
    if classes.has(SLASH) && !b.ends_with(b"=") {
        return false;
    }
    let class = |c: &u8| {
        if c.is_ascii_digit() {
            0
        } else if c.is_ascii_uppercase() {
            1
        } else {
            2
        }
    };
    classes.all(B64_CHAR)
        && classes.has(UPPER)
        && classes.has(LOWER)
        && (classes.has(DIGIT)
            || b.windows(2).filter(|w| class(&w[0]) != class(&w[1])).count() * 3 >= b.len())
}

/// Letters and digits that look random: `abc123def456`, `k3jX9pQ2mZ`, not `Http11Processor`.
pub(super) fn is_random_id(b: &[u8]) -> bool {
    if b.len() < 6 || !b.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits == b.len() {
        return false;
    }
    let class = |c: &u8| {
        if c.is_ascii_digit() {
            0
        } else if c.is_ascii_uppercase() {
            1
        } else {
            2
        }
    };
    let changes = b.windows(2).filter(|w| class(&w[0]) != class(&w[1])).count();
    let letter_digit = b
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
        .count();
    (digits >= 3 && digits * 4 >= b.len()) || letter_digit >= 4 || (b.len() >= 10 && changes * 2 >= b.len())
}

/// Letters and digits (both), at least 8: in a value or path segment, an id.
pub(super) fn is_value_id(b: &[u8]) -> bool {
    b.len() >= 8
        && b.iter().all(u8::is_ascii_alphanumeric)
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_alphabetic)
}

/// Letters and digits (both), at least 6: in a path, an id (`/calls/abc123def456`).
pub(super) fn is_segment_id(b: &[u8]) -> bool {
    b.len() >= 6
        && b.iter().all(u8::is_ascii_alphanumeric)
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_alphabetic)
}
