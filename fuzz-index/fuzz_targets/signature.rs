//! Any response body: the signature templater returns a bounded template and an id,
//! never panics, and gives the same answer twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pivotlog_index::signature::{signature, MAX_TEMPLATE_BYTES};

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let first = signature(Some(500), &body);
    assert!(first.template.len() <= MAX_TEMPLATE_BYTES + 64);
    assert_eq!(first, signature(Some(500), &body));
});
