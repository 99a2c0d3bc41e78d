//! Waiting for the index to stop changing after an ingest: the merges the last commits
//! started, then the settling of cold slices by the caught-up indexer.

use std::time::{Duration, Instant};

use pivotlog_index::PivotIndex;
use pivotlog_proto::time::now_unix_ms;

/// Waits (at most 30 s) until the index's segment count has not changed for 1.5 s: the
/// merges the last commits started are done, so whoever reads the index next (segments
/// per slice, queries) sees it as the indexer leaves it.
pub fn settle_merges(index: &PivotIndex) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = (usize::MAX, Instant::now());
    while Instant::now() < deadline && last.1.elapsed() < Duration::from_millis(1500) {
        index.reload().unwrap();
        let segments = index.info().map_or(0, |info| info.segments());
        if segments != last.0 {
            last = (segments, Instant::now());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Waits (at most 5 min) until the running indexer has settled every slice whose
/// newest record is over `SETTLE_AFTER_MS` old into one segment, as it does once caught
/// up; returns how long that took, s.
pub fn wait_settled(index: &PivotIndex) -> f64 {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(300);
    while Instant::now() < deadline {
        index.reload().unwrap();
        let cold_before = now_unix_ms() - pivotlog_index::SETTLE_AFTER_MS;
        let unsettled = index.info().map_or(0, |info| {
            info.slices
                .iter()
                .filter(|slice| slice.max_created_ms.is_some_and(|newest| newest < cold_before))
                .filter(|slice| slice.segments > 1)
                .count()
        });
        if unsettled == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    started.elapsed().as_secs_f64()
}
