//! Kazoo JSON and TwiML: errors with a bad field, and success bodies.

use serde_json::json;

use crate::rng::Rng;

pub(super) fn kazoo_crossbar_error(r: &mut Rng, status: u32) -> String {
    let value = json!({
        "data": {"message": "bad identifier", "not_found": format!("The path was not found: /v2/accounts/{}/callflows/{}", r.account(), r.hex(32))},
        "error": status.to_string(),
        "message": "bad_identifier",
        "status": "error",
        "timestamp": r.time().iso(),
        "version": format!("4.3.{}", r.int(100, 150)),
        "node": r.alnum(22),
        "request_id": r.hex(32),
        "auth_token": r.hex(32),
    });
    r.json(&value)
}

pub(super) fn kazoo_bad_field(r: &mut Rng, _: u32) -> String {
    let value = json!({
        "module": "device",
        "data": {"id": r.account(), "timeout": format!("{}s", r.int(10, 60)), "can_call_self": "yes"},
        "children": {"_": {"module": "voicemail", "data": {"id": r.account()}}}
    });
    r.json(&value)
}

pub(super) fn kazoo_bad_number(r: &mut Rng, _: u32) -> String {
    let value = json!({
        "module": "dial",
        "data": {"endpoints": [{"endpoint_type": "phone", "number": r.phone(2), "caller_id_name": "Front desk"}], "ringback": "us-ring"}
    });
    r.json(&value)
}

pub(super) fn twiml_bad(r: &mut Rng, _: u32) -> String {
    let ws = r.ws();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{ws}<Response>{ws}<Dial timeout=\"{}\" callerId=\"{}\">{ws}<Numbr>{}</Numbr>{ws}</Dial>{ws}</Response>",
        r.int(10, 60), r.phone(0), r.phone(0)
    )
}

pub(super) fn kazoo_play(r: &mut Rng, _: u32) -> String {
    let value = json!({
        "module": "play",
        "data": {"id": format!("https://{}/media/{}.mp3", r.host(), r.hex(32))},
        "children": {"_": {"module": "hangup", "data": {}}}
    });
    r.json(&value)
}

pub(super) fn kazoo_menu(r: &mut Rng, _: u32) -> String {
    let value = json!({
        "module": "menu",
        "data": {"id": r.account(), "interdigit_timeout": r.int(1000, 5000)},
        "children": {
            "1": {"module": "user", "data": {"id": r.account()}, "children": {}},
            "2": {"module": "ring_group", "data": {"id": r.account(), "timeout": r.int(10, 60)}, "children": {}},
            "_": {"module": "voicemail", "data": {"id": r.account()}, "children": {}}
        }
    });
    r.json(&value)
}

pub(super) fn kazoo_tts(r: &mut Rng, _: u32) -> String {
    let value = json!({
        "module": "tts",
        "data": {"text": format!("Your order {} ships on {}. Your balance is {} dollars.", r.int(10_000, 999_999), r.time().sql().split(' ').next().unwrap(), r.int(0, 5000)), "voice": "female", "language": "en-US"},
        "children": {"_": {"module": "pivot", "data": {"voice_url": format!("https://{}/pivot/next?call={}", r.host(), r.lower_alnum(12)), "req_format": "kazoo"}}}
    });
    r.json(&value)
}

pub(super) fn twiml_say(r: &mut Rng, _: u32) -> String {
    let ws = r.ws();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{ws}<Response>{ws}<Say voice=\"woman\" language=\"en-US\">Hello. Your account balance is {} dollars and {} cents.</Say>{ws}<Hangup/>{ws}</Response>",
        r.int(0, 9999), r.int(0, 99)
    )
}

pub(super) fn twiml_gather(r: &mut Rng, _: u32) -> String {
    let ws = r.ws();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{ws}<Response>{ws}<Gather numDigits=\"{}\" action=\"/pivot/{}/menu\" timeout=\"{}\">{ws}<Say>Press 1 for sales, 2 for support.</Say>{ws}</Gather>{ws}<Redirect>/pivot/{}/start</Redirect>{ws}</Response>",
        r.int(1, 4), r.int(1, 99_999), r.int(3, 15), r.int(1, 99_999)
    )
}

pub(super) fn twiml_dial(r: &mut Rng, _: u32) -> String {
    let ws = r.ws();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{ws}<Response>{ws}<Dial callerId=\"{}\" timeout=\"{}\">{ws}<Number>{}</Number>{ws}</Dial>{ws}</Response>",
        r.phone(0), r.int(10, 60), r.phone(0)
    )
}
