//! Byte-level matching helpers shared by the scanner, the patterns and the classifier:
//! searches, digit runs, word lists packed into integers, and the byte-class table a word
//! is summarised with in one pass.

/// The first `needle` at or after `from`.
pub(super) fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut i = from;
    while let Some(p) = find_byte(b, i, first) {
        if p + needle.len() > b.len() {
            return None;
        }
        if b[p + 1..p + needle.len()] == *rest {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

/// The first `needle` (ASCII, any case) at or after `from`.
pub(super) fn find_ci(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    if first.is_ascii_alphabetic() {
        let mut i = from;
        while i + needle.len() <= b.len() {
            if b[i].eq_ignore_ascii_case(&first) && b[i..i + needle.len()].eq_ignore_ascii_case(needle) {
                return Some(i);
            }
            i += 1;
        }
        return None;
    }
    let mut i = from;
    while let Some(p) = find_byte(b, i, first) {
        if p + needle.len() > b.len() {
            return None;
        }
        if b[p + 1..p + needle.len()].eq_ignore_ascii_case(&needle[1..]) {
            return Some(p);
        }
        i = p + 1;
    }
    None
}

/// The first `c` at or after `from`, eight bytes at a time (what `memchr` does; std's is
/// not public): markup is searched for `<` and `>` over most of its length.
pub(super) fn find_byte(b: &[u8], from: usize, c: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let haystack = b.get(from..)?;
    let pattern = ONES * u64::from(c);
    let mut chunks = haystack.chunks_exact(8);
    let mut offset = from;
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().unwrap()) ^ pattern;
        // The lowest flagged byte is a zero byte of x (a borrow only flags bytes above one).
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return Some(offset + (zero.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&x| x == c)
        .map(|p| offset + p)
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

/// An alphabetic word of `set` (any case, at most 10 letters) starting at `i`.
pub(super) fn word_in(b: &[u8], i: usize, set: &WordSet) -> Option<usize> {
    let (end, packed) = alphabetic_word(b, i)?;
    set.contains(packed).then_some(end)
}

/// The alphabetic word (at most 10 letters) starting at `i`: its end and [`pack`]ed form.
pub(super) fn alphabetic_word(b: &[u8], i: usize) -> Option<(usize, u128)> {
    let mut lower = [0u8; 16];
    let mut j = i;
    while j < b.len() && j - i < 10 && b[j].is_ascii_alphabetic() {
        lower[j - i] = b[j].to_ascii_lowercase();
        j += 1;
    }
    if (j < b.len() && b[j].is_ascii_alphabetic()) || j == i {
        return None;
    }
    Some((j, u128::from_le_bytes(lower)))
}

/// A word of up to 16 bytes without NUL, lower-cased into one integer, so that looking a
/// word up in a list is integer compares rather than a `memcmp` per entry (the lists are
/// tried at nearly every word).
pub(super) const fn pack(word: &[u8]) -> u128 {
    assert!(word.len() <= 16);
    let mut packed = 0u128;
    let mut i = 0;
    while i < word.len() {
        packed |= (word[i].to_ascii_lowercase() as u128) << (8 * i);
        i += 1;
    }
    packed
}

pub(super) const fn pack_all<const N: usize>(words: [&str; N]) -> [u128; N] {
    let mut packed = [0u128; N];
    let mut i = 0;
    while i < N {
        packed[i] = pack(words[i].as_bytes());
        i += 1;
    }
    packed
}

/// [`pack`]ed words with a 256-bit filter in front: nearly every word looked up is in no
/// list, and the filter turns most of those away with one multiply.
pub(super) struct WordSet {
    words: &'static [u128],
    filter: [u64; 4],
}

impl WordSet {
    pub(super) const fn new(words: &'static [u128]) -> WordSet {
        let mut filter = [0u64; 4];
        let mut i = 0;
        while i < words.len() {
            let slot = Self::slot(words[i]);
            filter[slot / 64] |= 1 << (slot % 64);
            i += 1;
        }
        WordSet { words, filter }
    }

    const fn slot(packed: u128) -> usize {
        let folded = (packed as u64) ^ ((packed >> 64) as u64).rotate_left(29);
        (folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize
    }

    pub(super) fn contains(&self, packed: u128) -> bool {
        let slot = Self::slot(packed);
        self.filter[slot / 64] & (1 << (slot % 64)) != 0 && self.words.contains(&packed)
    }
}

// Byte classes, one bit each: a word's classes are OR-ed (some byte is) and AND-ed (every
// byte is) in one pass, so the classifier can rule checks out without re-reading the word.
pub(super) const DIGIT: u32 = 1;
pub(super) const UPPER: u32 = 1 << 1;
pub(super) const LOWER: u32 = 1 << 2;
pub(super) const HEXDIGIT: u32 = 1 << 3;
pub(super) const ALNUM: u32 = 1 << 4;
pub(super) const AT: u32 = 1 << 5;
pub(super) const DOT: u32 = 1 << 6;
pub(super) const COLON: u32 = 1 << 7;
pub(super) const SLASH: u32 = 1 << 8;
pub(super) const BACKSLASH: u32 = 1 << 9;
/// Not a letter, digit, `@`, `.` or `-`.
pub(super) const OTHER: u32 = 1 << 10;
/// Where a compound word is split first: `/ \ @ : = + ~ %`.
pub(super) const OUTER_SEP: u32 = 1 << 11;
/// Where a compound part is split next: `. - _`.
pub(super) const INNER_SEP: u32 = 1 << 12;
/// What an IP address (v4, v6, `[v6]:port`, `/prefix`) is made of.
pub(super) const IP_CHAR: u32 = 1 << 13;
/// What a host name (with a port) is made of.
pub(super) const HOST_CHAR: u32 = 1 << 14;
/// Hex digits and the `-`/`:` that join hex groups.
pub(super) const HEX_JOIN: u32 = 1 << 15;
/// What JWTs are made of: letters, digits, `- _ . =`.
pub(super) const JWT_CHAR: u32 = 1 << 16;
/// A space or a delimiter: what ends a word in the scanner.
pub(super) const WORD_END: u32 = 1 << 17;
/// What base64 is made of: letters, digits, `+ / = _ -`.
pub(super) const B64_CHAR: u32 = 1 << 18;

/// Characters that end a word and are kept as they are.
pub(super) const DELIMITERS: &[u8] = b"\"'`()[]{}<>,;=&?!|*#";

pub(super) const fn is_space(c: u8) -> bool {
    c <= b' ' || c == 0x7f
}

pub(super) const CLASSES: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let mut bits = 0;
        if b.is_ascii_digit() {
            bits |= DIGIT | ALNUM | HEXDIGIT | IP_CHAR | HOST_CHAR | HEX_JOIN | JWT_CHAR | B64_CHAR;
        }
        if b.is_ascii_uppercase() {
            bits |= UPPER | ALNUM | JWT_CHAR | B64_CHAR;
        }
        if b.is_ascii_lowercase() {
            bits |= LOWER | ALNUM | HOST_CHAR | JWT_CHAR | B64_CHAR;
        }
        if b.is_ascii_hexdigit() {
            bits |= HEXDIGIT | IP_CHAR | HEX_JOIN;
        }
        bits |= match b {
            b'@' => AT | OUTER_SEP,
            b'.' => DOT | INNER_SEP | IP_CHAR | HOST_CHAR | JWT_CHAR,
            b'-' => INNER_SEP | HOST_CHAR | HEX_JOIN | JWT_CHAR | B64_CHAR,
            b'_' => INNER_SEP | OTHER | JWT_CHAR | B64_CHAR,
            b':' => COLON | OUTER_SEP | OTHER | IP_CHAR | HOST_CHAR | HEX_JOIN,
            b'/' => SLASH | OUTER_SEP | OTHER | IP_CHAR | B64_CHAR,
            b'\\' => BACKSLASH | OUTER_SEP | OTHER,
            b'+' => OUTER_SEP | OTHER | B64_CHAR,
            b'=' => OUTER_SEP | OTHER | JWT_CHAR | B64_CHAR,
            b'~' | b'%' => OUTER_SEP | OTHER,
            b'[' | b']' => OTHER | IP_CHAR,
            _ if b.is_ascii_alphanumeric() => 0,
            _ => OTHER,
        };
        let mut d = 0;
        while d < DELIMITERS.len() {
            if DELIMITERS[d] == b {
                bits |= WORD_END;
            }
            d += 1;
        }
        if is_space(b) {
            bits |= WORD_END;
        }
        table[c] = bits;
        c += 1;
    }
    table
};

/// The classes some byte of a word has (`any`) and those every byte has (`all`).
#[derive(Clone, Copy)]
pub(super) struct Classes {
    pub(super) any: u32,
    pub(super) all: u32,
}

impl Classes {
    pub(super) fn of(b: &[u8]) -> Classes {
        let (mut any, mut all) = (0, u32::MAX);
        for &c in b {
            let bits = CLASSES[usize::from(c)];
            any |= bits;
            all &= bits;
        }
        Classes { any, all }
    }

    pub(super) fn has(self, class: u32) -> bool {
        self.any & class != 0
    }

    pub(super) fn all(self, class: u32) -> bool {
        self.all & class != 0
    }
}
