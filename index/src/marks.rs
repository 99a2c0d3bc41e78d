//! What each segment of a slice holds of every partition: its highest Kafka offset per
//! partition, computed once (a segment never changes; merges make new ones), so a live
//! tail (the `tail` module) opens only the segments that can hold records past its
//! positions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::SegmentReader;

use crate::schema::from_position;
use crate::IndexError;

/// Each segment's highest offset per partition, computed once per segment (segments
/// never change; merges make new ones).
#[derive(Clone, Default)]
pub(crate) struct SegmentMarks {
    highest: Arc<Mutex<HashMap<SegmentId, Highest>>>,
}

/// A segment's highest offset of each partition it holds.
type Highest = Arc<BTreeMap<i32, i64>>;

impl SegmentMarks {
    /// Whether `segment` may hold a record of a partition at or past an offset of
    /// `from` (partition, offset).
    pub(crate) fn may_hold(
        &self,
        segment: &SegmentReader,
        mut from: impl Iterator<Item = (i32, i64)>,
    ) -> Result<bool, IndexError> {
        let highest = self.highest_of(segment)?;
        Ok(from.any(|(partition, offset)| highest.get(&partition).is_some_and(|&highest| highest >= offset)))
    }

    fn highest_of(&self, segment: &SegmentReader) -> Result<Highest, IndexError> {
        let id = segment.segment_id();
        if let Some(known) = self.lock().get(&id) {
            return Ok(known.clone());
        }
        let positions = segment.fast_fields().u64("position")?;
        let mut highest = BTreeMap::new();
        for doc in 0..segment.max_doc() {
            if let Some(value) = positions.first(doc) {
                let (partition, offset) = from_position(value);
                let entry = highest.entry(partition).or_insert(offset);
                *entry = (*entry).max(offset);
            }
        }
        let highest = Arc::new(highest);
        self.lock().insert(id, highest.clone());
        Ok(highest)
    }

    /// Drops the marks of segments merged away.
    pub(crate) fn forget_all_but(&self, live: &[SegmentReader]) {
        let mut highest = self.lock();
        if highest.len() > 2 * live.len() {
            let live: HashSet<SegmentId> = live.iter().map(SegmentReader::segment_id).collect();
            highest.retain(|id, _| live.contains(id));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Highest>> {
        self.highest.lock().unwrap_or_else(|e| e.into_inner())
    }
}
