//! Request parameters encoded byte for byte as Kazoo sends them to the customer's app.

use serde_json::{Map, Value};

/// Kazoo's "legacy" URL encoding (`kz_http_util`): space becomes `+`, everything else unsafe is `%XX`.
fn legacy_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0x0F)]));
            }
        }
    }
    out
}

pub(super) fn form_encode(params: &[(&str, String)]) -> String {
    let pairs: Vec<String> = params
        .iter()
        .map(|(key, value)| format!("{}={}", legacy_encode(key), legacy_encode(value)))
        .collect();
    pairs.join("&")
}

pub(super) fn json_encode(params: &[(&str, String)]) -> String {
    let map: Map<String, Value> = params
        .iter()
        .map(|(key, value)| ((*key).to_owned(), Value::String(value.clone())))
        .collect();
    Value::Object(map).to_string()
}

/// Kazoo's `uri/2`: the query goes after `&` when the voice URL already has one.
pub(super) fn with_query(url: &str, query: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_encoding_matches_kazoo() {
        assert_eq!(
            legacy_encode("+1 415@sip.example.com"),
            "%2B1+415%40sip.example.com"
        );
        assert_eq!(with_query("http://h/a.php", "x=1"), "http://h/a.php?x=1");
        assert_eq!(with_query("http://h/a.php?v=2", "x=1"), "http://h/a.php?v=2&x=1");
    }
}
