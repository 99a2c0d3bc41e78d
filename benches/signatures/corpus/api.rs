//! JSON API errors, rate limits and empty bodies.

use serde_json::json;

use crate::rng::Rng;

pub(super) fn api_error_request_id(r: &mut Rng, status: u32) -> String {
    let request_id = format!("req_{}", r.alnum(24));
    let value = json!({"error": {"type": "api_error", "code": "internal_error", "message": "An unexpected error occurred. Please retry your request.", "request_id": request_id, "timestamp": r.time().iso()}});
    r.json(&value) + if status == 502 { "\n" } else { "" }
}

pub(super) fn style_phone(r: &mut Rng) -> String {
    let style = r.int(2, 3) as u8;
    r.phone(style)
}

pub(super) fn validation_error(r: &mut Rng, _: u32) -> String {
    let value = json!({
        "errors": [{"field": "caller_id_number", "message": "must be a valid E.164 number", "value": style_phone(r)}],
        "trace_id": r.hex(32),
        "span_id": r.hex(16),
    });
    r.json(&value)
}

pub(super) fn auth_error(r: &mut Rng, _: u32) -> String {
    let value = json!({
        "error": "invalid_token",
        "error_description": format!("The access token expired at {}", r.time().iso()),
        "request_id": r.uuid(),
    });
    r.json(&value)
}

pub(super) fn api_gateway(_: &mut Rng, status: u32) -> String {
    match status {
        504 => "{\"message\": \"Endpoint request timed out\"}".to_owned(),
        _ => "{\"message\": \"Internal server error\"}".to_owned(),
    }
}

pub(super) fn rate_limit_json(r: &mut Rng, _: u32) -> String {
    let limit = r.pick(&["100", "60", "1000"]);
    let value = json!({
        "error": "rate_limit_exceeded",
        "message": format!("Too many requests: limit is {limit} per {} seconds.", r.pick(&["60", "1", "3600"])),
        "retry_after": r.int(1, 120),
        "reset_at": r.epoch(),
    });
    r.json(&value)
}

pub(super) fn rate_limit_text(r: &mut Rng, _: u32) -> String {
    format!(
        "Rate limit exceeded: {} requests in the last {} minutes from {}. Try again in {} seconds.",
        r.int(100, 5000),
        r.int(1, 15),
        r.ipv4(),
        r.int(1, 300)
    )
}

pub(super) fn rate_limit_retry(r: &mut Rng, _: u32) -> String {
    let value = json!({"status": "error", "message": format!("Slow down! Retry in {}ms", r.int(100, 9000)), "limit": r.int(10, 100), "remaining": 0});
    r.json(&value)
}

pub(super) fn empty(r: &mut Rng, _: u32) -> String {
    r.pick(&["", "", "", "\n", "\r\n", " "]).to_owned()
}
