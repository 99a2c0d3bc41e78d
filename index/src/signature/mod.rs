//! Error signatures: which distinct error a response body is, whatever its variable parts.
//!
//! A body's **template** keeps its structure (the visible text of an HTML page, the keys
//! and string values of JSON, the element names and text of XML/TwiML, the words of a
//! stack trace) and replaces its variable parts with typed placeholders:
//!
//! | placeholder | what it replaces |
//! |---|---|
//! | `<num>` | numbers (`42`, `-1.5e3`, `1,234`, versions `2.4.41`), numbers with a unit keep it (`10<num>MB`→`<num>MB`) |
//! | `<uuid>` | `8-4-4-4-12` hex UUIDs |
//! | `<hex>` | `0x…`, and runs of ≥ 8 hex digits with a digit and a letter (request/trace ids, hashes) |
//! | `<id>` | random-looking letter+digit tokens (`abc123def456`, `req_8f3k2j9x`), and any id-like segment of a URL path (`/users/<id>/`) |
//! | `<b64>` | base64-ish tokens of ≥ 20 chars mixing cases and digits, JWTs |
//! | `<ip>` | IPv4 / IPv6 addresses, with an optional port or `/prefix` |
//! | `<host>` | dotted lower-case names ending in a TLD-like label (`api.example.com`, `ip-10-0-0-1.ec2.internal`), with an optional port; a URL's authority |
//! | `<email>` | e-mail addresses (and Erlang node names `app@host.example.com`) |
//! | `<time>` | ISO 8601, RFC 2822/HTTP dates, `ctime`, `2026-12-01 10:00:00`, `2026/12/01`, `01/Dec/2026:10:00:00 +0000`, `12/01/2026`, clock times, epoch seconds and ms |
//! | `<duration>` | `250ms`, `1.5s`, `1m30s`, `30 seconds` |
//! | `<line>` | line numbers in stack traces: `Foo.java:<line>`, `app.js:<line>`, `line <line>`, `Line: <line>` |
//! | `<phone>` | `+14155550100`, `+1 415 555 0100`, `(415) 555-0100`, `415-555-0100`, bare 10/11-digit NANP numbers |
//! | `<empty>` | the whole template of an empty (or blank) body |
//!
//! Whitespace is collapsed (JSON: dropped outside strings), so re-indenting a body keeps
//! its signature; a run of one placeholder (`<num>, <num>, <num>`) collapses into one.
//! Only the first [`TEMPLATE_PREFIX_BYTES`] of a body are read, in one linear pass of a
//! hand-written scanner, and the template is at most [`MAX_TEMPLATE_BYTES`] long.
//!
//! The [`Signature::id`] is FNV-1a 64 of `"{status or -}\n{template}"`: the same body gets
//! the same id on every machine and build.

mod bytes;
mod classify;
mod json;
mod markup;
mod out;
mod patterns;
mod scan;
#[cfg(test)]
mod tests;
mod words;

// A prefix on a char boundary, and FNV-1a, as the rest of the index has them.
use crate::schema::{fnv1a_from, prefix_within as cut, FNV_OFFSET};
use json::json_flatten;
use markup::{looks_like_html, markup};
use out::Out;
use scan::scan;

/// Bodies are templated from this prefix only (bytes, cut on a char boundary), so any body costs at most this much.
pub const TEMPLATE_PREFIX_BYTES: usize = 4096;

/// Templates are cut to this many bytes (on a char boundary), so they stay readable.
pub const MAX_TEMPLATE_BYTES: usize = 1000;

/// A literal word longer than this is cut (on a char boundary).
const MAX_LITERAL_BYTES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub id: u64,
    pub template: String,
}

/// The signature of a response (status Some(code)) or an error record (status None) with this body.
pub fn signature(status_code: Option<u32>, body: &str) -> Signature {
    let template = template(body);
    Signature {
        id: signature_id(status_code, &template),
        template,
    }
}

/// 16 lowercase hex digits.
pub fn format_id(id: u64) -> String {
    format!("{id:016x}")
}

/// Inverse of format_id (exactly 16 hex digits, any case); None otherwise.
pub fn parse_id(text: &str) -> Option<u64> {
    if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(text, 16).ok()
}

fn signature_id(status_code: Option<u32>, template: &str) -> u64 {
    // The status in decimal, written on the stack: this runs for every record.
    let mut digits = [0u8; 10];
    let status: &[u8] = match status_code {
        Some(mut code) => {
            let mut start = digits.len();
            loop {
                start -= 1;
                digits[start] = b'0' + (code % 10) as u8;
                code /= 10;
                if code == 0 {
                    break;
                }
            }
            &digits[start..]
        }
        None => b"-",
    };
    let hash = fnv1a_from(FNV_OFFSET, status);
    let hash = fnv1a_from(hash, b"\n");
    fnv1a_from(hash, template.as_bytes())
}

// Placeholders.
const NUM: &str = "<num>";
const UUID: &str = "<uuid>";
const HEX: &str = "<hex>";
const ID: &str = "<id>";
const B64: &str = "<b64>";
const IP: &str = "<ip>";
const HOST: &str = "<host>";
const EMAIL: &str = "<email>";
const TIME: &str = "<time>";
const DURATION: &str = "<duration>";
const LINE: &str = "<line>";
const PHONE: &str = "<phone>";
const EMPTY: &str = "<empty>";

/// The template of a body (see the module documentation).
fn template(body: &str) -> String {
    let text = cut(body, TEMPLATE_PREFIX_BYTES);
    let text = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    // Sized for most templates, so the template is not grown a few times on the way.
    let mut out = Out {
        text: String::with_capacity(text.len().min(MAX_TEMPLATE_BYTES) + 64),
        space: false,
    };
    match text.as_bytes().first() {
        None => {}
        Some(b'{') | Some(b'[') => scan(&json_flatten(text), &mut out),
        Some(b'<') => markup(text, &mut out),
        Some(_) if looks_like_html(text) => markup(text, &mut out),
        Some(_) => scan(text, &mut out),
    }
    let mut template = out.text;
    if template.len() > MAX_TEMPLATE_BYTES {
        let end = cut(&template, MAX_TEMPLATE_BYTES).len();
        template.truncate(end);
    }
    if template.is_empty() {
        template.push_str(EMPTY);
    }
    template
}
