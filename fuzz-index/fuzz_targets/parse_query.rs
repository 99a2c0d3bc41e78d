//! Any `q=` text: the search query parser returns a query or an error (with its byte
//! position), never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pivotlog_index::PivotIndex;

fn index() -> &'static PivotIndex {
    static INDEX: OnceLock<PivotIndex> = OnceLock::new();
    INDEX.get_or_init(|| PivotIndex::create_in_ram().expect("an index in memory"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = index().parse_query(text);
    }
});
