//! Settling cold slices: a day slice nobody writes to any more is merged into one segment.
//!
//! A read pays for every segment of every slice its window spans: a term lookup per
//! clause, a scorer, a collector. Written over a day, a slice keeps the handful of
//! segments tantivy's log merge policy leaves (5–10 over a month of slices in the reads
//! benchmark), so a rare-term search over 31 days cost 10× the same search over one slice
//! holding the same records. Time-based indices are settled the same way elsewhere
//! (Elasticsearch's force-merge of read-only indices, Quickwit's mature splits): once a
//! slice's newest record is older than [`SETTLE_AFTER_MS`] — its day is over and its
//! calls have ended — and it holds more than one segment (or deleted documents), it is
//! merged into one.
//!
//! How, without a second writer or a merge racing tantivy's own: the slice's writer is
//! opened as a secondary with [`SettleAll`] as its merge policy, and committed once with
//! nothing new (its range kept). The commit makes tantivy consider merges, and
//! [`SettleAll`] merges everything it is offered — the segments not already in a merge —
//! and again as merges in flight end, until one segment is left. One slice settles at a
//! time, only while the indexer is caught up (a backlog replay pays nothing more) and
//! only once the slice's writer has had no record for `WriterConfig::settle_after_idle`
//! (a shuffled import writes every slice until it ends).
//! A record that arrives for a settling slice goes into that same writer (no waiting for
//! the merge), and the slice is a written one again: its merge policy goes back to the
//! log policy, since merging every new segment into the whole day would rewrite it at
//! every commit.

use tantivy::indexer::{MergeCandidate, MergePolicy};
use tantivy::SegmentMeta;

use crate::slice::Slice;

/// How long after its newest record a slice is settled. Calls last minutes; history
/// older than this is settled as soon as the indexer has caught up with it.
pub const SETTLE_AFTER_MS: i64 = 60 * 60 * 1000;

/// How often the indexer looks for a slice to settle (reading each slice's metadata).
pub(crate) const SETTLE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Merges every segment it is offered into one.
#[derive(Debug, Default)]
pub(crate) struct SettleAll;

impl MergePolicy for SettleAll {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        // tantivy offers a lone segment only when it holds deleted documents: merging it
        // alone purges them.
        if segments.is_empty() {
            return Vec::new();
        }
        vec![MergeCandidate(segments.iter().map(SegmentMeta::id).collect())]
    }
}

/// True when `slice` is cold at `now_ms` and not yet one segment without deletions.
pub(crate) fn needs_settling(slice: &Slice, now_ms: i64) -> bool {
    let cold = slice
        .range()
        .is_some_and(|range| range.max_created_ms + SETTLE_AFTER_MS < now_ms);
    cold && !is_settled(slice)
}

/// One segment (or none) and nothing deleted, as committed. The last reloaded searcher
/// answers first (a settled slice stays settled, so it can only lag behind the other
/// way); only a slice it shows unsettled has its metadata read from disk, since a merge
/// that ended since the reload has settled it already.
pub(crate) fn is_settled(slice: &Slice) -> bool {
    let one_clean_segment = |deleted: &mut dyn Iterator<Item = u32>| match (deleted.next(), deleted.next()) {
        (None, _) => true,
        (Some(deleted), None) => deleted == 0,
        _ => false,
    };
    let searcher = slice.searcher();
    if one_clean_segment(
        &mut searcher
            .segment_readers()
            .iter()
            .map(|reader| reader.num_deleted_docs()),
    ) {
        return true;
    }
    match slice.tantivy_index().searchable_segment_metas() {
        Ok(segments) => one_clean_segment(&mut segments.iter().map(|meta| meta.num_deleted_docs())),
        // Unreadable metadata: leave the slice as it is.
        Err(_) => true,
    }
}
