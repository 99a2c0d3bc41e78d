//! Collectors over matching records, reading only fast fields: the newest (or oldest)
//! hits after a cursor, and counts by status code and time bucket. Both count every
//! match, so totals are exact.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::fastfield::FastFieldReaders;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

/// A record's place in time order: its time, then a hash of its event id.
pub type TimeKey = (i64, u64);

/// Maps a key to a number that grows in the wanted order, so one heap serves both.
fn rank(key: TimeKey, ascending: bool) -> u128 {
    let time = (key.0 as u64) ^ (1 << 63);
    let rank = (u128::from(time) << 64) | u128::from(key.1);
    if ascending {
        u128::MAX - rank
    } else {
        rank
    }
}

/// The first `limit` matches in time order, from `start` (inclusive) on, and the
/// number of all matches.
pub struct TimeOrdered {
    pub limit: usize,
    pub ascending: bool,
    pub start: Option<TimeKey>,
}

pub struct TimeOrderedSegment {
    segment: SegmentOrdinal,
    columns: TimeColumns,
    limit: usize,
    ascending: bool,
    start_rank: Option<u128>,
    total: u64,
    best: BinaryHeap<Reverse<(u128, TimeKey, DocId)>>,
}

type Ranked = (u128, TimeKey, DocAddress);

impl Collector for TimeOrdered {
    type Fruit = (u64, Vec<(TimeKey, DocAddress)>);
    type Child = TimeOrderedSegment;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self::Child> {
        Ok(TimeOrderedSegment {
            segment,
            columns: TimeColumns::Unopened(reader.fast_fields().clone()),
            limit: self.limit,
            ascending: self.ascending,
            start_rank: self.start.map(|key| rank(key, self.ascending)),
            total: 0,
            best: BinaryHeap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<tantivy::Result<(u64, Vec<Ranked>)>>) -> tantivy::Result<Self::Fruit> {
        let fruits = fruits.into_iter().collect::<tantivy::Result<Vec<_>>>()?;
        let total = fruits.iter().map(|(count, _)| count).sum();
        let mut hits: Vec<Ranked> = fruits.into_iter().flat_map(|(_, hits)| hits).collect();
        hits.sort_unstable_by_key(|hit| Reverse(hit.0));
        hits.truncate(self.limit);
        Ok((
            total,
            hits.into_iter().map(|(_, key, address)| (key, address)).collect(),
        ))
    }
}

/// A segment's time columns, opened at its first match: opening a column looks its name
/// up in the segment's column dictionary, a fixed cost that dominated a rare search over
/// a month of slices whose segments mostly hold no match.
enum TimeColumns {
    Unopened(FastFieldReaders),
    Open(Column<i64>, Column<u64>),
    Failed(tantivy::TantivyError),
}

impl TimeColumns {
    fn key(&mut self, doc: DocId) -> Option<TimeKey> {
        if let TimeColumns::Unopened(fast_fields) = self {
            let opened = fast_fields
                .i64("created")
                .and_then(|created| Ok((created, fast_fields.u64("event_order")?)));
            *self = match opened {
                Ok((created, order)) => TimeColumns::Open(created, order),
                Err(err) => TimeColumns::Failed(err),
            };
        }
        match self {
            TimeColumns::Open(created, order) => Some((
                created.first(doc).unwrap_or_default(),
                order.first(doc).unwrap_or_default(),
            )),
            _ => None,
        }
    }
}

impl SegmentCollector for TimeOrderedSegment {
    type Fruit = tantivy::Result<(u64, Vec<Ranked>)>;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.total += 1;
        if self.limit == 0 {
            return;
        }
        let Some(key) = self.columns.key(doc) else {
            return;
        };
        let rank = rank(key, self.ascending);
        // The start is inclusive: it is the first hit of the page it names.
        if self.start_rank.is_some_and(|start| rank > start) {
            return;
        }
        if self.best.len() < self.limit {
            self.best.push(Reverse((rank, key, doc)));
        } else if self.best.peek().is_some_and(|Reverse(worst)| rank > worst.0) {
            self.best.pop();
            self.best.push(Reverse((rank, key, doc)));
        }
    }

    fn harvest(self) -> Self::Fruit {
        if let TimeColumns::Failed(err) = self.columns {
            return Err(err);
        }
        let segment = self.segment;
        let hits = self
            .best
            .into_iter()
            .map(|Reverse((rank, key, doc))| (rank, key, DocAddress::new(segment, doc)))
            .collect();
        Ok((self.total, hits))
    }
}

/// Counts of matches by status code (`None`: records without one) and by time bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub total: u64,
    /// `None`: records without a status (requests, errors).
    #[serde(with = "crate::wire::pairs")]
    pub by_status: BTreeMap<Option<u64>, u64>,
    /// One count per bucket of `interval_ms`, the first starting at `origin_ms`.
    pub by_time: Vec<u64>,
}

pub struct CountByStatusAndTime {
    pub origin_ms: i64,
    pub interval_ms: i64,
    pub buckets: usize,
}

pub struct CountSegment {
    status: Column<u64>,
    created: Column<i64>,
    origin_ms: i64,
    interval_ms: i64,
    counts: Counts,
    /// Buffers of [`SegmentCollector::collect_block`], kept across blocks.
    with_status: Vec<DocId>,
    status_rows: Vec<u32>,
    created_of: Vec<Option<i64>>,
}

impl CountSegment {
    fn count_time(&mut self, created: i64) {
        let bucket = (created - self.origin_ms).div_euclid(self.interval_ms);
        // The time filter keeps every match inside the buckets; clamp rather than panic.
        let last = self.counts.by_time.len().saturating_sub(1);
        if let Some(slot) = self.counts.by_time.get_mut((bucket.max(0) as usize).min(last)) {
            *slot += 1;
        }
    }
}

impl Collector for CountByStatusAndTime {
    type Fruit = Counts;
    type Child = CountSegment;

    fn for_segment(&self, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self::Child> {
        Ok(CountSegment {
            status: reader.fast_fields().u64("status_code")?,
            created: reader.fast_fields().i64("created")?,
            origin_ms: self.origin_ms,
            interval_ms: self.interval_ms,
            counts: Counts {
                by_time: vec![0; self.buckets],
                ..Counts::default()
            },
            with_status: Vec::new(),
            status_rows: Vec::new(),
            created_of: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut merged = Counts {
            by_time: vec![0; self.buckets],
            ..Counts::default()
        };
        for counts in fruits {
            merged.total += counts.total;
            for (status, count) in counts.by_status {
                *merged.by_status.entry(status).or_default() += count;
            }
            for (sum, count) in merged.by_time.iter_mut().zip(counts.by_time) {
                *sum += count;
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for CountSegment {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.counts.total += 1;
        *self.counts.by_status.entry(self.status.first(doc)).or_default() += 1;
        self.count_time(self.created.first(doc).unwrap_or_default());
    }

    /// A block of matches (in doc order, as an unscored search hands them over): the
    /// statuses through the optional column's index in one sorted pass, where a rank per
    /// document is a binary search in a small segment's sparse blocks.
    fn collect_block(&mut self, docs: &[DocId]) {
        self.counts.total += docs.len() as u64;
        self.with_status.clear();
        self.status_rows.clear();
        self.status
            .row_ids_for_docs(docs, &mut self.with_status, &mut self.status_rows);
        let without = docs.len() - self.with_status.len();
        if without > 0 {
            *self.counts.by_status.entry(None).or_default() += without as u64;
        }
        for &row in &self.status_rows {
            *self
                .counts
                .by_status
                .entry(Some(self.status.values.get_val(row)))
                .or_default() += 1;
        }
        self.created_of.clear();
        self.created_of.resize(docs.len(), None);
        self.created.first_vals(docs, &mut self.created_of);
        for i in 0..docs.len() {
            self.count_time(self.created_of[i].unwrap_or_default());
        }
    }

    fn harvest(self) -> Counts {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::rank;

    #[test]
    fn rank_follows_time_then_tie_break() {
        let keys = [
            (-5, 9),
            (0, 0),
            (0, 1),
            (1_700_000_000_000, 0),
            (i64::MAX, u64::MAX),
        ];
        for pair in keys.windows(2) {
            assert!(rank(pair[0], false) < rank(pair[1], false));
            assert!(rank(pair[0], true) > rank(pair[1], true));
        }
    }
}
