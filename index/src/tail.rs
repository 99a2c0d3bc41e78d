//! Live tail: the records of a query committed after a position, in Kafka order.
//!
//! A record's **position** is the partition and offset it was read from (record
//! documents index [`position`](crate::position)). A tail asks, per partition, for the
//! matches from the next offset it wants up to the checkpoint read before the last
//! reload ([`PivotIndex::visible_offsets`]): the writer stores the checkpoint only after
//! every slice is committed, so every record below it is visible, and a record is never
//! shown before one that precedes it in its partition. A call lives in one partition
//! (its id is the Kafka key), so its records come in order; a reconnect from the last
//! position it was given continues with no gap and no duplicate, on any replica and
//! after a replay or a `reindex` (offsets are Kafka's, not the index's).
//!
//! A tail that keeps up reads only the segments committed since its last read: each
//! segment's highest offset per partition is computed once and kept
//! ([`crate::marks`]), and a segment with nothing past the tail's positions is not opened.

use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, EnableScoring, InvertedIndexRangeQuery, Occur, Query};
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentOrdinal, SegmentReader, Term};

use crate::interrupt;
use crate::reader::term_query;
use crate::schema::{from_position, position, DOC_TYPE_RECORD};
use crate::search::{SearchError, SearchHit, SnippetOptions, UserQuery};
use crate::slice::Slice;
use crate::{IndexError, PivotIndex};

/// Most records one tail read returns.
pub const MAX_TAIL_BATCH: usize = 1_000;

/// What a tail reads next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TailRequest {
    pub account_id: String,
    /// The query language's text; `*` for every record.
    pub query: String,
    /// The next offset wanted, per partition. A partition not named starts at what is
    /// committed now: a new tail shows what comes next, not the past.
    #[serde(with = "offsets")]
    pub after: BTreeMap<i32, i64>,
    /// Most records to return, at most [`MAX_TAIL_BATCH`].
    pub limit: usize,
}

/// One record of a tail and where it was read from.
#[derive(Debug, Serialize, Deserialize)]
pub struct TailRecord {
    pub partition: i32,
    pub offset: i64,
    pub hit: SearchHit,
}

/// The records of a tail read, and where to read next.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TailPage {
    /// Each partition's records in offset order; partitions interleaved by time.
    pub records: Vec<TailRecord>,
    /// The next offset to ask for, per partition: past every record returned and past
    /// every committed record that did not match.
    #[serde(with = "offsets")]
    pub next: BTreeMap<i32, i64>,
}

/// Offsets by partition as `[[partition, offset], ...]`: the shard API flattens a
/// request into its envelope, and serde cannot read integer map keys there.
mod offsets {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(offsets: &BTreeMap<i32, i64>, serializer: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(i32, i64)> = offsets.iter().map(|(&p, &o)| (p, o)).collect();
        pairs.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<i32, i64>, D::Error> {
        Ok(Vec::<(i32, i64)>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// Offsets wanted from one partition: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Copy)]
struct Wanted {
    from: i64,
    to: i64,
}

impl PivotIndex {
    /// The next records of `request`'s query and account after its positions.
    pub fn tail(&self, request: &TailRequest) -> Result<TailPage, SearchError> {
        let query = self.parse_query(&request.query)?;
        let limit = request.limit.clamp(1, MAX_TAIL_BATCH);
        let mut next = BTreeMap::new();
        let mut wanted = BTreeMap::new();
        for (partition, committed) in self.visible_offsets() {
            let from = request.after.get(&partition).copied().unwrap_or(committed);
            next.insert(partition, from);
            if from < committed {
                wanted.insert(partition, Wanted { from, to: committed });
            }
        }
        // Positions of partitions this view does not see yet are kept as they were.
        for (&partition, &from) in &request.after {
            next.entry(partition).or_insert(from);
        }
        if wanted.is_empty() {
            return Ok(TailPage {
                records: Vec::new(),
                next,
            });
        }
        let wanted = Arc::new(wanted);
        let mut found: BTreeMap<i32, Vec<Found>> = BTreeMap::new();
        let slices = self.slices();
        // One searcher per slice for both the matches and their stored records: a reload
        // in between would renumber the segments the matches' addresses point into.
        let searchers: Vec<Searcher> = slices.iter().map(|slice| slice.snapshot().searcher).collect();
        for (slice_no, (slice, searcher)) in slices.iter().zip(&searchers).enumerate() {
            for mut record in slice.tail_matches(searcher, &query, &request.account_id, &wanted, limit)? {
                record.slice = slice_no;
                found.entry(record.partition).or_default().push(record);
            }
        }
        let mut truncated = Vec::new();
        for (&partition, records) in &mut found {
            records.sort_unstable_by_key(|record| record.offset);
            if records.len() >= limit {
                records.truncate(limit);
                truncated.push(partition);
            }
        }
        let (taken, cut) = interleave(found, limit);
        for record in &taken {
            next.insert(record.partition, record.offset + 1);
        }
        // A partition read whole up to its committed offset continues from there.
        for (&partition, range) in wanted.iter() {
            if !truncated.contains(&partition) && !cut.contains(&partition) {
                next.insert(partition, range.to);
            }
        }
        Ok(TailPage {
            records: load(&slices, &searchers, taken, &query)?,
            next,
        })
    }
}

/// A match, before its stored record is read.
struct Found {
    partition: i32,
    offset: i64,
    created_ms: i64,
    slice: usize,
    address: DocAddress,
}

/// At most `limit` of `found`, each partition's in offset order, partitions interleaved
/// by time; and the partitions some of whose matches were left out.
fn interleave(found: BTreeMap<i32, Vec<Found>>, limit: usize) -> (Vec<Found>, Vec<i32>) {
    let mut queues: Vec<VecDeque<Found>> = found.into_values().map(VecDeque::from).collect();
    let taken = crate::interleave::by_time(&mut queues, limit, |record| record.created_ms);
    let cut = queues
        .iter()
        .filter_map(|queue| queue.front().map(|record| record.partition))
        .collect();
    (taken, cut)
}

/// The stored records of `taken`, in that order (one read of each slice's documents).
fn load(
    slices: &[Slice],
    searchers: &[Searcher],
    taken: Vec<Found>,
    query: &UserQuery,
) -> Result<Vec<TailRecord>, SearchError> {
    let no_snippets = SnippetOptions {
        max_chars: 0,
        ..SnippetOptions::default()
    };
    let mut hits: HashMap<(i32, i64), SearchHit> = HashMap::with_capacity(taken.len());
    for (slice_no, (slice, searcher)) in slices.iter().zip(searchers).enumerate() {
        let of_slice: Vec<&Found> = taken.iter().filter(|record| record.slice == slice_no).collect();
        if of_slice.is_empty() {
            continue;
        }
        let addresses: Vec<(Option<f32>, DocAddress)> =
            of_slice.iter().map(|record| (None, record.address)).collect();
        let loaded = slice.hits(searcher, &addresses, query, &no_snippets)?;
        for (record, hit) in of_slice.into_iter().zip(loaded) {
            hits.insert((record.partition, record.offset), hit);
        }
    }
    taken
        .into_iter()
        .map(|record| {
            let hit = hits.remove(&(record.partition, record.offset)).ok_or_else(|| {
                SearchError::Index(IndexError::CorruptDocument(
                    "a tail match has no stored record".into(),
                ))
            })?;
            Ok(TailRecord {
                partition: record.partition,
                offset: record.offset,
                hit,
            })
        })
        .collect()
}

impl Slice {
    /// The matches of `query` in `account_id`'s records at the `wanted` offsets: at
    /// most `limit` per partition, the lowest offsets, from the segments that can hold
    /// any.
    fn tail_matches(
        &self,
        searcher: &Searcher,
        query: &UserQuery,
        account_id: &str,
        wanted: &Arc<BTreeMap<i32, Wanted>>,
        limit: usize,
    ) -> Result<Vec<Found>, SearchError> {
        let fields = self.fields();
        let ranges: Vec<(Occur, Box<dyn Query>)> = wanted
            .iter()
            .map(|(&partition, range)| {
                let bound = |offset| Term::from_field_u64(fields.position, position(partition, offset));
                let range: Box<dyn Query> = Box::new(InvertedIndexRangeQuery::new(
                    Bound::Included(bound(range.from)),
                    Bound::Excluded(bound(range.to)),
                ));
                (Occur::Should, range)
            })
            .collect();
        let scoped = self.restrict(Box::new(BooleanQuery::new(vec![
            (Occur::Must, query.query.box_clone()),
            (Occur::Must, term_query(fields.doc_type, DOC_TYPE_RECORD)),
            (Occur::Must, term_query(fields.account_id, account_id)),
            (Occur::Must, Box::new(BooleanQuery::new(ranges))),
        ])));
        let mut weight = None;
        let collector = LowestOffsets {
            wanted: wanted.clone(),
            limit,
        };
        let mut fruits = Vec::new();
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let from = wanted.iter().map(|(&partition, range)| (partition, range.from));
            if !self.marks.may_hold(segment, from)? {
                continue;
            }
            interrupt::check()?;
            let weight = match &weight {
                Some(weight) => weight,
                None => weight.insert(scoped.weight(EnableScoring::disabled_from_searcher(searcher))?),
            };
            fruits.push(collector.collect_segment(weight.as_ref(), ord as SegmentOrdinal, segment)?);
        }
        self.marks.forget_all_but(searcher.segment_readers());
        Ok(fruits.into_iter().flatten().collect())
    }
}

/// The `limit` lowest wanted offsets of each partition among the matches.
struct LowestOffsets {
    wanted: Arc<BTreeMap<i32, Wanted>>,
    limit: usize,
}

struct LowestOffsetsSegment {
    segment: SegmentOrdinal,
    positions: Column<u64>,
    created: Column<i64>,
    wanted: Arc<BTreeMap<i32, Wanted>>,
    limit: usize,
    /// Per partition, a max-heap of the lowest offsets so far.
    lowest: BTreeMap<i32, BinaryHeap<(i64, DocId)>>,
}

impl Collector for LowestOffsets {
    type Fruit = Vec<Found>;
    type Child = LowestOffsetsSegment;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self::Child> {
        Ok(LowestOffsetsSegment {
            segment,
            positions: reader.fast_fields().u64("position")?,
            created: reader.fast_fields().i64("created")?,
            wanted: self.wanted.clone(),
            limit: self.limit,
            lowest: BTreeMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for LowestOffsetsSegment {
    type Fruit = Vec<Found>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let Some(value) = self.positions.first(doc) else {
            return;
        };
        let (partition, offset) = from_position(value);
        if !self
            .wanted
            .get(&partition)
            .is_some_and(|range| (range.from..range.to).contains(&offset))
        {
            return;
        }
        let heap = self.lowest.entry(partition).or_default();
        if heap.len() < self.limit {
            heap.push((offset, doc));
        } else if heap.peek().is_some_and(|&(worst, _)| offset < worst) {
            heap.pop();
            heap.push((offset, doc));
        }
    }

    fn harvest(self) -> Self::Fruit {
        let (segment, created) = (self.segment, &self.created);
        self.lowest
            .into_iter()
            .flat_map(|(partition, heap)| {
                heap.into_iter().map(move |(offset, doc)| Found {
                    partition,
                    offset,
                    created_ms: created.first(doc).unwrap_or_default(),
                    slice: 0,
                    address: DocAddress::new(segment, doc),
                })
            })
            .collect()
    }
}
