//! JSON is reduced to text the scanner reads.

/// JSON without the whitespace between its tokens; escapes in strings that are
/// whitespace become spaces (`\"` becomes `'`), so a re-indented document is the same text.
pub(super) fn json_flatten(text: &str) -> String {
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut in_string = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !in_string {
            if c == b'"' {
                in_string = true;
                out.push(c);
                i += 1;
            } else if c.is_ascii_whitespace() {
                i += 1;
            } else {
                // A run of tokens is copied at once.
                let start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'"' {
                    i += 1;
                }
                out.extend_from_slice(&b[start..i]);
            }
            continue;
        }
        match c {
            b'"' => {
                in_string = false;
                out.push(c);
            }
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'n' | b't' | b'r' | b'f' | b'b') => out.push(b' '),
                    Some(b'"') => out.push(b'\''),
                    Some(&next @ (b'\\' | b'/')) => out.push(next),
                    Some(&next) if next.is_ascii() => {
                        out.push(b'\\');
                        out.push(next);
                    }
                    // A non-ASCII byte (or the end): keep the backslash, copy it next round.
                    _ => {
                        out.push(b'\\');
                        i += 1;
                        continue;
                    }
                }
                i += 2;
                continue;
            }
            _ => {
                // The rest of a string up to its end or an escape is copied at once.
                let start = i;
                while i < b.len() && !matches!(b[i], b'"' | b'\\') {
                    i += 1;
                }
                out.extend_from_slice(&b[start..i]);
                continue;
            }
        }
        i += 1;
    }
    // Only ASCII bytes were dropped or replaced: still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
