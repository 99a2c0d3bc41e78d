//! Any bytes read from Kafka: `decode_event` returns an event or an error, never
//! panics; an event it accepts survives re-encoding unchanged and maps to a Kazoo
//! document (what the API returns) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = pivotlog_proto::decode_event(data) else {
        return;
    };
    let again = pivotlog_proto::decode_event(&event.encode_to_vec())
        .expect("a decoded event re-encodes to a valid event");
    assert_eq!(again, event, "re-encoding changes nothing");
    let doc = pivotlog_proto::kazoo::doc_from_event(&event);
    let _ = pivotlog_proto::kazoo::event_from_doc(&serde_json::Value::Object(doc));
});
