//! Error signatures over a query's matches: which distinct errors an account's servers
//! answered with, how often, in how many calls, since when.
//!
//! Every response and error record carries its [`signature`](crate::signature) id in a
//! fast field, computed at index time from the record alone, so counts are exact and
//! add up across slices and shards (no clustering state). A request is answered in two
//! steps, so that the work per signature that only a page needs (its histogram, a
//! sample record and its readable template) is done for that page only:
//! [`SignatureGroups`] counts every signature in scope, the caller orders and pages
//! them ([`SignatureOrder`]), then [`SignatureDetails`] fills in the page's.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader, TantivyDocument};

use pivotlog_proto::Record;

use crate::interrupt::{or_interrupted, Interruptible};
use crate::reader::decode_event;
use crate::search::{SearchError, StatsRequest, UserQuery};
use crate::slice::Slice;

/// Most distinct signatures one request may count: a window holding more (bodies that
/// defeat the templating) is refused rather than answered with an unbounded list.
pub const MAX_SIGNATURES: usize = 20_000;

/// The record's `(status, body)` that its signature is made of: responses and error
/// records have one, requests do not.
pub fn signed(record: &Record) -> Option<(Option<u32>, &str)> {
    match record {
        Record::Request(_) => None,
        Record::Response(response) => Some((Some(response.status_code), &response.body)),
        Record::JsonError(error) => Some((None, &error.body)),
        Record::SchemaError(error) => Some((None, &error.body)),
    }
}

/// The signature id of a record (`None` for requests).
pub fn signature_of(record: &Record) -> Option<u64> {
    signed(record).map(|(status, body)| crate::signature::signature(status, body).id)
}

/// How signatures are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureOrder {
    /// Most records first.
    Records,
    /// Most recently seen first.
    LastSeen,
    /// Fastest growing first: the last interval's records minus the one's before.
    Growth,
}

/// One signature's counts over the matches in scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureGroup {
    pub id: u64,
    pub records: u64,
    /// Distinct calls (a call lives in one partition, so parts add up).
    pub calls: u64,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Records by status code (`None`: error records).
    #[serde(with = "crate::wire::pairs")]
    pub statuses: BTreeMap<Option<u64>, u64>,
    /// Records in the window's last interval, and in the one before it.
    pub last_interval: u64,
    pub previous_interval: u64,
}

impl SignatureGroup {
    pub fn growth(&self) -> i64 {
        self.last_interval as i64 - self.previous_interval as i64
    }
}

/// Every signature in scope of `request` (its query, account and window; its interval
/// defines the growth intervals), counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureGroups {
    pub groups: Vec<SignatureGroup>,
}

/// The details of some signatures (`ids`) over the scope of `request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureDetailsRequest {
    #[serde(flatten)]
    pub scope: StatsRequest,
    pub ids: Vec<u64>,
}

/// A record of a signature, to open it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureSample {
    pub call_id: String,
    pub iteration: u32,
    pub created_ms: i64,
    /// The call's first record, which names its `debug_id`.
    pub call_first_created_ms: i64,
    pub template: String,
}

/// One signature's histogram and newest record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureDetail {
    pub id: u64,
    /// One count per bucket of the request's interval, from its aligned start.
    pub by_time: Vec<u64>,
    pub sample: Option<SignatureSample>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureDetails {
    pub details: Vec<SignatureDetail>,
}

/// A slice's counts, with the calls still as sets so slices merge exactly.
#[derive(Default)]
pub(crate) struct GroupsPart {
    groups: HashMap<u64, (SignatureGroup, HashSet<u64>)>,
}

impl GroupsPart {
    pub(crate) fn merge(&mut self, other: GroupsPart) {
        for (id, (group, calls)) in other.groups {
            match self.groups.get_mut(&id) {
                Some((into, into_calls)) => {
                    add_group(into, &group);
                    into_calls.extend(calls);
                }
                None => {
                    self.groups.insert(id, (group, calls));
                }
            }
        }
    }

    pub(crate) fn check(&self) -> Result<(), SearchError> {
        check_bound(self.groups.len())
    }

    pub(crate) fn finish(self) -> SignatureGroups {
        let mut groups: Vec<SignatureGroup> = self
            .groups
            .into_values()
            .map(|(mut group, calls)| {
                group.calls = calls.len() as u64;
                group
            })
            .collect();
        groups.sort_unstable_by_key(|group| group.id);
        SignatureGroups { groups }
    }
}

fn check_bound(signatures: usize) -> Result<(), SearchError> {
    if signatures > MAX_SIGNATURES {
        return Err(SearchError::TooManySignatures);
    }
    Ok(())
}

/// Adds `group`'s counts (not its calls) into `into`.
pub(crate) fn add_group(into: &mut SignatureGroup, group: &SignatureGroup) {
    into.records += group.records;
    into.calls += group.calls;
    into.first_ms = into.first_ms.min(group.first_ms);
    into.last_ms = into.last_ms.max(group.last_ms);
    for (status, count) in &group.statuses {
        *into.statuses.entry(*status).or_default() += count;
    }
    into.last_interval += group.last_interval;
    into.previous_interval += group.previous_interval;
}

/// The groups of several parts (slices of one node are merged before this, with
/// their call sets; shards hold disjoint calls), one per signature.
pub fn merge_groups(parts: Vec<SignatureGroups>) -> Result<SignatureGroups, SearchError> {
    let mut merged: HashMap<u64, SignatureGroup> = HashMap::new();
    for group in parts.into_iter().flat_map(|part| part.groups) {
        match merged.get_mut(&group.id) {
            Some(into) => add_group(into, &group),
            None => {
                merged.insert(group.id, group);
            }
        }
    }
    check_bound(merged.len())?;
    let mut groups: Vec<SignatureGroup> = merged.into_values().collect();
    groups.sort_unstable_by_key(|group| group.id);
    Ok(SignatureGroups { groups })
}

/// The details of several parts for the same ids: histograms added, the newest sample.
pub fn merge_details(parts: Vec<SignatureDetails>) -> SignatureDetails {
    let mut merged: BTreeMap<u64, SignatureDetail> = BTreeMap::new();
    for detail in parts.into_iter().flat_map(|part| part.details) {
        match merged.get_mut(&detail.id) {
            Some(into) => {
                if into.by_time.len() < detail.by_time.len() {
                    into.by_time.resize(detail.by_time.len(), 0);
                }
                for (sum, count) in into.by_time.iter_mut().zip(&detail.by_time) {
                    *sum += count;
                }
                let newer = match (&into.sample, &detail.sample) {
                    (None, Some(_)) => true,
                    (Some(old), Some(new)) => {
                        (new.created_ms, &new.call_id, new.iteration)
                            > (old.created_ms, &old.call_id, old.iteration)
                    }
                    _ => false,
                };
                if newer {
                    into.sample = detail.sample;
                }
            }
            None => {
                merged.insert(detail.id, detail);
            }
        }
    }
    SignatureDetails {
        details: merged.into_values().collect(),
    }
}

/// Orders `groups` as `order` says, ties broken by more records, then by id.
pub fn order_groups(groups: &mut [SignatureGroup], order: SignatureOrder) {
    groups.sort_by(|a, b| {
        let primary = match order {
            SignatureOrder::Records => b.records.cmp(&a.records),
            SignatureOrder::LastSeen => b.last_ms.cmp(&a.last_ms),
            SignatureOrder::Growth => b.growth().cmp(&a.growth()),
        };
        primary.then(b.records.cmp(&a.records)).then(a.id.cmp(&b.id))
    });
}

impl Slice {
    /// Every signature among the matches of `query` in `request`'s scope.
    pub(crate) fn signature_groups(
        &self,
        request: &StatsRequest,
        query: &UserQuery,
    ) -> Result<GroupsPart, SearchError> {
        let (origin_ms, buckets) = request.buckets()?;
        let (searcher, scoped) = self.scoped_stats(request, query);
        let last_start = origin_ms + (buckets as i64 - 1) * request.interval_ms;
        let collector = GroupCollector {
            last_start,
            previous_start: last_start - request.interval_ms,
        };
        Ok(searcher
            .search(scoped.as_ref(), &Interruptible(collector))
            .map_err(or_interrupted)?)
    }

    /// The histograms and newest records of signatures `request.ids`.
    pub(crate) fn signature_details(
        &self,
        request: &SignatureDetailsRequest,
        query: &UserQuery,
    ) -> Result<SignatureDetails, SearchError> {
        let scope = &request.scope;
        let (origin_ms, buckets) = scope.buckets()?;
        let (searcher, scoped) = self.scoped_stats(scope, query);
        let collector = DetailCollector {
            scope: Arc::new(DetailScope {
                ids: request.ids.iter().copied().collect(),
                origin_ms,
                interval_ms: scope.interval_ms,
                buckets,
            }),
        };
        let found = searcher
            .search(scoped.as_ref(), &Interruptible(collector))
            .map_err(or_interrupted)?;
        let mut details = Vec::with_capacity(found.len());
        for (id, (by_time, newest)) in found {
            let doc: TantivyDocument = searcher.doc(newest.2)?;
            let event = decode_event(&doc, self.fields())?;
            let sample = event.record.as_ref().and_then(signed).map(|(status, body)| {
                let template = crate::signature::signature(status, body).template;
                SignatureSample {
                    call_id: event.call_id.clone(),
                    iteration: event.iteration,
                    created_ms: event.created_unix_ms,
                    call_first_created_ms: event.created_unix_ms,
                    template,
                }
            });
            let sample = match sample {
                Some(mut sample) => {
                    if let Some(first) = self.call_first_created_ms(&event.account_id, &event.call_id)? {
                        sample.call_first_created_ms = first;
                    }
                    Some(sample)
                }
                None => None,
            };
            details.push(SignatureDetail { id, by_time, sample });
        }
        Ok(SignatureDetails { details })
    }
}

struct GroupCollector {
    last_start: i64,
    previous_start: i64,
}

struct GroupSegment {
    signature: Column<u64>,
    created: Column<i64>,
    status: Column<u64>,
    call: Column<u64>,
    last_start: i64,
    previous_start: i64,
    part: GroupsPart,
}

impl Collector for GroupCollector {
    type Fruit = GroupsPart;
    type Child = GroupSegment;

    fn for_segment(&self, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<GroupSegment> {
        let fast = reader.fast_fields();
        Ok(GroupSegment {
            signature: fast.u64("signature")?,
            created: fast.i64("created")?,
            status: fast.u64("status_code")?,
            call: fast.u64("call_hash")?,
            last_start: self.last_start,
            previous_start: self.previous_start,
            part: GroupsPart::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<GroupsPart>) -> tantivy::Result<GroupsPart> {
        let mut merged = GroupsPart::default();
        for fruit in fruits {
            merged.merge(fruit);
        }
        Ok(merged)
    }
}

impl SegmentCollector for GroupSegment {
    type Fruit = GroupsPart;

    fn collect(&mut self, doc: DocId, _: Score) {
        // Requests have no signature.
        let Some(id) = self.signature.first(doc) else {
            return;
        };
        let created = self.created.first(doc).unwrap_or_default();
        let (group, calls) = self.part.groups.entry(id).or_insert_with(|| {
            (
                SignatureGroup {
                    id,
                    records: 0,
                    calls: 0,
                    first_ms: created,
                    last_ms: created,
                    statuses: BTreeMap::new(),
                    last_interval: 0,
                    previous_interval: 0,
                },
                HashSet::new(),
            )
        });
        group.records += 1;
        group.first_ms = group.first_ms.min(created);
        group.last_ms = group.last_ms.max(created);
        *group.statuses.entry(self.status.first(doc)).or_default() += 1;
        if created >= self.last_start {
            group.last_interval += 1;
        } else if created >= self.previous_start {
            group.previous_interval += 1;
        }
        if let Some(call) = self.call.first(doc) {
            calls.insert(call);
        }
    }

    fn harvest(self) -> GroupsPart {
        self.part
    }
}

/// Per wanted signature: its histogram, and its newest record's (time, order, address).
type Found = BTreeMap<u64, (Vec<u64>, (i64, u64, DocAddress))>;

/// What the detail collector looks for; shared by its segment collectors.
struct DetailScope {
    ids: HashSet<u64>,
    origin_ms: i64,
    interval_ms: i64,
    buckets: usize,
}

struct DetailCollector {
    scope: Arc<DetailScope>,
}

struct DetailSegment {
    scope: Arc<DetailScope>,
    segment: SegmentOrdinal,
    signature: Column<u64>,
    created: Column<i64>,
    order: Column<u64>,
    found: Found,
}

impl Collector for DetailCollector {
    type Fruit = Found;
    type Child = DetailSegment;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<DetailSegment> {
        let fast = reader.fast_fields();
        Ok(DetailSegment {
            scope: self.scope.clone(),
            segment,
            signature: fast.u64("signature")?,
            created: fast.i64("created")?,
            order: fast.u64("event_order")?,
            found: Found::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Found>) -> tantivy::Result<Found> {
        let mut merged = Found::new();
        for (id, (by_time, newest)) in fruits.into_iter().flatten() {
            match merged.get_mut(&id) {
                Some((into, into_newest)) => {
                    for (sum, count) in into.iter_mut().zip(by_time) {
                        *sum += count;
                    }
                    if (newest.0, newest.1) > (into_newest.0, into_newest.1) {
                        *into_newest = newest;
                    }
                }
                None => {
                    merged.insert(id, (by_time, newest));
                }
            }
        }
        Ok(merged)
    }
}

impl SegmentCollector for DetailSegment {
    type Fruit = Found;

    fn collect(&mut self, doc: DocId, _: Score) {
        let Some(id) = self.signature.first(doc) else {
            return;
        };
        if !self.scope.ids.contains(&id) {
            return;
        }
        let created = self.created.first(doc).unwrap_or_default();
        let order = self.order.first(doc).unwrap_or_default();
        let buckets = self.scope.buckets;
        let (by_time, newest) = self.found.entry(id).or_insert_with(|| {
            (
                vec![0; buckets],
                (created, order, DocAddress::new(self.segment, doc)),
            )
        });
        let bucket = (created - self.scope.origin_ms).div_euclid(self.scope.interval_ms);
        if let Some(slot) = by_time.get_mut((bucket.max(0) as usize).min(buckets - 1)) {
            *slot += 1;
        }
        if (created, order) > (newest.0, newest.1) {
            *newest = (created, order, DocAddress::new(self.segment, doc));
        }
    }

    fn harvest(self) -> Found {
        self.found
    }
}
