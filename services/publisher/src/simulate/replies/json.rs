//! JSON replies that end a call: an app-level error object, and bodies Kazoo rejects as
//! invalid JSON or as not matching the callflow schema (which add an error document).

use rand::Rng;
use serde_json::{json, Map, Value};

use super::Reply;
use crate::simulate::accounts::Account;
use crate::simulate::calls::Exchange;
use crate::simulate::random::{pick, Synth};
use crate::simulate::render::{render_json, JsonStyle};

impl Synth {
    pub(super) fn error_reply(&mut self, target: usize, exchange: &Exchange) -> Reply {
        let number = &exchange.call.caller_number;
        let (code, message) = match self.rng.random_range(0..4) {
            0 => (
                "invalid_number",
                format!("The number {number} is not a valid E.164 number"),
            ),
            1 => (
                "unknown_caller",
                format!("No customer record matches caller {number}"),
            ),
            2 => (
                "validation_failed",
                "Request parameters failed validation".to_owned(),
            ),
            _ => (
                "upstream_busy",
                "Outbound leg rejected with SIP/2.0 486 Busy Here".to_owned(),
            ),
        };
        let mut object = Map::new();
        object.insert("error".into(), code.into());
        object.insert("message".into(), message.into());
        object.insert("request_id".into(), self.hex32().into());
        let mut size = Value::Object(object.clone()).to_string().len() + 13;
        let mut details = Vec::new();
        while size < target {
            let detail = json!({"field": self.word(), "code": self.snake(), "message": self.sentence()});
            size += detail.to_string().len() + 1;
            details.push(detail);
        }
        object.insert("details".into(), Value::Array(details));
        let status = pick(&mut self.rng, &[400, 422]);
        Reply::new(
            exchange.account,
            status,
            "application/json",
            render_json(&Value::Object(object), JsonStyle::Compact),
        )
    }

    pub(super) fn invalid_json_reply(&mut self, target: usize, account: &Account) -> Reply {
        let valid = render_json(
            &self.callflow_value(target, account.json_style),
            account.json_style,
        );
        let mut content_type = "application/json";
        let (body, message, split) = match self.rng.random_range(0..4) {
            0 => {
                let body = truncate_at(&valid, self.rng.random_range(0.3..0.95));
                let split = body.len();
                (body, "invalid JSON", split)
            }
            1 => {
                let split = valid.len();
                (valid + &self.trailing_junk(), "trailing data", split)
            }
            2 => {
                // jiffy skips the leading whitespace and fails on the notice's first tag.
                let notice = format!(
                    "\n<br />\n<b>Notice</b>:  Undefined index: Digits in <b>/var/www/html/{}.php</b> on line <b>{}</b><br />\n",
                    self.word(),
                    self.rng.random_range(5..200)
                );
                content_type = "text/html; charset=UTF-8";
                (notice + &valid, "invalid JSON", 1)
            }
            // A Python dict printed with repr() instead of json.dumps: fails right after the `{`.
            _ => (valid.replace('"', "'"), "invalid JSON", 1),
        };
        let (before, after) = body.split_at_checked(split).unwrap_or((body.as_str(), ""));
        let errors = json!({"message": message, "before": before, "after": after});
        let mut reply = Reply::new(account, 200, content_type, body.clone());
        reply.error = Some(("json_errors", errors));
        reply
    }

    fn trailing_junk(&mut self) -> String {
        match self.rng.random_range(0..3) {
            0 => format!(
                "\n<!-- generated in 0.0{}s by {} -->\n",
                self.rng.random_range(100..999),
                self.word()
            ),
            1 => "\n{\"debug\":true}".to_owned(),
            _ => "null".to_owned(),
        }
    }

    pub(super) fn schema_error_reply(&mut self, target: usize, account: &Account) -> Reply {
        let Value::Object(mut root) = self.callflow_value(target, account.json_style) else {
            return Reply::new(account, 200, "application/json", String::new());
        };
        let required = json!({"required": {"message": "Field is required but missing"}});
        let errors = match self.rng.random_range(0..4) {
            0 => {
                root.remove("module");
                json!({ "module": required })
            }
            1 => {
                let value = json!(self.rng.random_range(1..1000));
                root.insert("module".into(), "tts".into());
                root.insert(
                    "data".into(),
                    json!({"text": value, "language": account.language}),
                );
                json!({"data.text": {"type": {"message": "Value did not match type(s): string", "value": value}}})
            }
            2 => {
                root.remove("data");
                json!({ "data": required })
            }
            _ => {
                root.insert("module".into(), "".into());
                json!({"module": {"minLength": {"message": "Value must be at least 1 characters", "value": "", "target": 1}}})
            }
        };
        let body = render_json(&Value::Object(root), account.json_style);
        let mut reply = Reply::new(account, 200, "application/json", body);
        reply.error = Some(("schema_errors", errors));
        reply
    }
}

fn truncate_at(text: &str, fraction: f64) -> String {
    let mut cut = ((text.len() as f64) * fraction) as usize;
    cut = cut.clamp(1.min(text.len()), text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text[..cut].to_owned()
}
