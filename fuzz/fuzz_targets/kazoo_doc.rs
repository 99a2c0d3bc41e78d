//! Any line of a CouchDB export: `event_from_doc` returns an event or an error, never
//! panics; an event it returns maps back to a document that converts to the same event
//! (the two are inverses, `_rev` aside).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pivotlog_proto::kazoo::{doc_from_event, event_from_doc};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(event) = event_from_doc(&doc) else {
        return;
    };
    let back = doc_from_event(&event);
    assert_eq!(
        event_from_doc(&Value::Object(back)).as_ref(),
        Ok(&event),
        "document -> event -> document -> event is stable"
    );
});
