//! JSON written the way customer apps write it: compact or spaced, with the keys a reader
//! looks for first. serde_json alone cannot do either, and reply sizes are computed against
//! this exact rendering.

use serde_json::Value;

/// How the customer's app serializes JSON: compact, or Python `json.dumps` defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JsonStyle {
    Compact,
    Spaced,
}

impl JsonStyle {
    pub(super) fn item_separator(self) -> &'static str {
        match self {
            JsonStyle::Compact => ",",
            JsonStyle::Spaced => ", ",
        }
    }

    pub(super) fn key_separator(self) -> &'static str {
        match self {
            JsonStyle::Compact => ":",
            JsonStyle::Spaced => ": ",
        }
    }
}

/// Keys a JSON object shows first, in this order; readers expect `module`/`data`/`children`
/// and `error`/`message` at the top rather than serde_json's alphabetical order.
const KEY_ORDER: [&str; 9] = [
    "module",
    "data",
    "children",
    "error",
    "field",
    "code",
    "message",
    "request_id",
    "details",
];

pub(super) fn render_json(value: &Value, style: JsonStyle) -> String {
    let mut out = String::new();
    write_json(value, style, &mut out);
    out
}

fn write_json(value: &Value, style: JsonStyle, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.item_separator());
                }
                write_json(item, style, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries
                .sort_by_key(|(key, _)| KEY_ORDER.iter().position(|k| k == key).unwrap_or(KEY_ORDER.len()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(style.item_separator());
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(style.key_separator());
                write_json(item, style, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}
