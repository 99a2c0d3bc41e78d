//! The only way documents get into the index: records and their call summaries, in
//! their time slices, then the Kafka offsets they came from.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use prost::Message;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term};

use pivotlog_proto::{DebugEvent, Record, RecordKind};

use crate::pool::{Settling, SliceWriter, WriterCounters, WriterPool};
use crate::reader::{load_event, term_query};
use crate::schema::call_key;
use crate::slice::{slice_name, SliceRange};
use crate::{directory, document, settle, CallSummary, Checkpoint, IndexError, PivotIndex};

/// Resources of the tantivy writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Indexing threads (tantivy caps them at 8).
    pub num_threads: usize,
    /// Total memory for in-flight segments, split between the threads (min 15 MB each).
    pub memory_budget_bytes: usize,
    /// A segment is merged once this share of it is deleted. Summaries are upserted,
    /// so tantivy's default (1.0: deletes never trigger a merge) would let dead call
    /// documents pile up.
    pub del_docs_ratio_before_merge: f32,
    /// Records older than this (by their time) are not kept: slices whose newest record
    /// is older are deleted at the next commit, and such records are not indexed
    /// ([`AddOutcome::Expired`]). `None`: keep everything.
    pub retention: Option<Duration>,
    /// How long a slice's writer must go without a record before the slice may be
    /// settled ([`IndexWriter::settle`]), or the writer, a secondary, closed when no
    /// commit comes to close it: a shuffled import keeps writing every slice, and
    /// settling one of them then would merge it again at every commit.
    pub settle_after_idle: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        WriterConfig {
            num_threads: cores.clamp(1, 8),
            memory_budget_bytes: 256 << 20,
            del_docs_ratio_before_merge: 0.3,
            retention: None,
            settle_after_idle: Duration::from_secs(30),
        }
    }
}

/// What [`IndexWriter::add`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    Added,
    /// The event id is already indexed (or pending): nothing was written.
    Duplicate,
    /// Older than the retention: not indexed (it would be deleted at once).
    Expired,
}

/// What one commit made durable.
#[derive(Debug, Clone, Default)]
pub struct CommitStats {
    pub records: u64,
    pub calls: u64,
    pub duration: Duration,
    /// Slices deleted by retention at this commit.
    pub dropped_slices: Vec<String>,
}

/// Writes records into their slices, keeps call summaries current, and checkpoints
/// the offsets after the slices they were written to ([exactly once](crate#exactly-once)).
pub struct IndexWriter {
    index: PivotIndex,
    config: WriterConfig,
    /// The open tantivy writers of the slices being written ([`crate::pool`]).
    writers: WriterPool,
    /// The position reached, committed or not.
    checkpoint: Checkpoint,
    /// Changed since the last commit.
    dirty: bool,
    pending_events: HashSet<String>,
    /// Summaries to upsert at the next commit: the call's partition and slice.
    pending_calls: HashMap<String, (CallSummary, i32, String)>,
    /// Partitions whose documents go at the next commit.
    forgotten: Vec<i32>,
    /// The directory's writer lock, held while this writer lives.
    lock: Option<std::fs::File>,
    /// `uri` and `method` of recent requests by (call key, iteration), copied onto
    /// their responses so a search can combine `uri:` with `status_code:`.
    recent_requests: HashMap<(String, u32), RequestLine>,
    /// When [`IndexWriter::settle`] last looked for a cold slice.
    last_settle_check: Option<Instant>,
}

#[derive(Debug, Clone)]
struct RequestLine {
    uri: String,
    method: String,
}

/// Requests remembered for their responses before the map is cleared; older ones are
/// looked up in the index.
const MAX_RECENT_REQUESTS: usize = 100_000;

impl IndexWriter {
    pub fn new(index: &PivotIndex, config: &WriterConfig) -> Result<IndexWriter, IndexError> {
        Ok(IndexWriter {
            index: index.clone(),
            config: config.clone(),
            writers: WriterPool::new(config),
            checkpoint: index.checkpoint()?,
            dirty: false,
            pending_events: HashSet::new(),
            pending_calls: HashMap::new(),
            forgotten: Vec::new(),
            lock: index.lock_writer()?,
            recent_requests: HashMap::new(),
            last_settle_check: None,
        })
    }

    /// Swaps in the index `pivotlog reindex` rebuilt next to this one, if it is ready:
    /// the directories are exchanged, and the caller must [`IndexWriter::rollback`] and
    /// re-read from the rebuilt index's checkpoint. Only the live writer swaps, at a
    /// point where it is not committing, so no write lands in the wrong directory.
    pub fn adopt_rebuilt(&mut self) -> Result<bool, IndexError> {
        let Some(live) = self.index.dir().map(Path::to_owned) else {
            return Ok(false);
        };
        let Some(rebuilt) = directory::ready_rebuild(&live) else {
            return Ok(false);
        };
        self.writers.close_all();
        self.writers.join_all();
        directory::swap_in(&live, &rebuilt, &mut self.lock)?;
        tracing::info!(live = %live.display(), replaced = %rebuilt.display(), "rebuilt index swapped in");
        Ok(true)
    }

    /// The position reached so far, including what is not committed yet.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// True when `pivotlog reindex` swapped a rebuilt index into the directory: the
    /// caller must [`IndexWriter::rollback`] and re-read from the new checkpoint.
    pub fn is_swapped(&self) -> bool {
        self.index.is_swapped().unwrap_or(false)
    }

    /// How the slice writers were used so far.
    pub fn counters(&self) -> WriterCounters {
        self.writers.counters
    }

    /// Slices the next commit will commit: each gets a new segment.
    pub fn slices_changed(&self) -> usize {
        self.writers.changed()
    }

    /// True when the records have moved on to another slice for good (a replay in time
    /// order reaching a new day): the next commit gives that slice the primary's threads,
    /// so it is worth making soon rather than at a backlog's long interval.
    pub fn promotion_due(&self) -> bool {
        self.writers.promotion_due()
    }

    /// True when records or offsets changed since the last commit.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Records that `partition` of `topic` has been handled up to `next_offset`
    /// (exclusive). Takes effect on disk at the next commit. The position never moves
    /// back: re-reading records before it (to re-sync with a broker) changes nothing.
    pub fn set_position(&mut self, topic: &str, partition: i32, next_offset: i64) {
        if self.checkpoint.topic.as_deref() != Some(topic) {
            self.checkpoint.topic = Some(topic.to_owned());
            self.dirty = true;
        }
        let position = self.checkpoint.offsets.entry(partition).or_insert(i64::MIN);
        if next_offset > *position {
            *position = next_offset;
            self.dirty = true;
        }
    }

    /// Forgets the position of `partition` (its topic was recreated): the next
    /// `set_position` starts it afresh.
    pub fn reset_position(&mut self, partition: i32) {
        if self.checkpoint.offsets.remove(&partition).is_some() {
            self.dirty = true;
        }
    }

    /// Forgets every partition `owned` rejects: their documents and their positions go
    /// at the next commit, so an indexer that lost partitions to another replica stops
    /// holding (and answering for) them, and replays them from the start should it own
    /// them again. Returns the partitions dropped.
    pub fn forget_partitions(&mut self, owned: impl Fn(i32) -> bool) -> Vec<i32> {
        let dropped: Vec<i32> = self
            .checkpoint
            .offsets
            .keys()
            .copied()
            .filter(|partition| !owned(*partition))
            .collect();
        for &partition in &dropped {
            self.checkpoint.offsets.remove(&partition);
            self.forgotten.push(partition);
            self.dirty = true;
        }
        dropped
    }

    /// Adds an event that did not come from Kafka (tests and tools), as partition 0's:
    /// it has no offset, so no live tail ever shows it.
    pub fn add(&mut self, event: &DebugEvent, raw: &[u8]) -> Result<AddOutcome, IndexError> {
        self.add_record(0, None, event, raw)
    }

    /// Adds one validated event read from `partition` at `offset`; `raw` is its
    /// protobuf encoding (re-encoded if empty). It goes to its call's slice if the call
    /// is known, else to the slice of its own time.
    pub fn add_at(
        &mut self,
        partition: i32,
        offset: i64,
        event: &DebugEvent,
        raw: &[u8],
    ) -> Result<AddOutcome, IndexError> {
        self.add_record(partition, Some(offset), event, raw)
    }

    fn add_record(
        &mut self,
        partition: i32,
        offset: Option<i64>,
        event: &DebugEvent,
        raw: &[u8],
    ) -> Result<AddOutcome, IndexError> {
        if self
            .retention_horizon()
            .is_some_and(|horizon| event.created_unix_ms < horizon)
        {
            return Ok(AddOutcome::Expired);
        }
        let (slice, stored_summary) = self.locate(event)?;
        if self.is_known(&event.event_id, &slice)? {
            return Ok(AddOutcome::Duplicate);
        }
        let encoded;
        let raw = if raw.is_empty() {
            encoded = event.encode_to_vec();
            &encoded
        } else {
            raw
        };
        // Opening or promoting a writer may commit first: before anything of this event
        // is pending.
        self.prepare_writer(&slice)?;
        self.fold_into_summary(partition, event, &slice, stored_summary);
        let doc = self.record_document(partition, offset, event, raw)?;
        self.writers.record_added(&slice);
        let writer = self.writer(&slice)?;
        writer.changed = true;
        writer.writer.add_document(doc)?;
        let range = SliceRange::of(event.created_unix_ms);
        match &mut writer.range {
            Some(known) => known.widen(range),
            None => writer.range = Some(range),
        }
        self.pending_events.insert(event.event_id.clone());
        self.dirty = true;
        Ok(AddOutcome::Added)
    }

    /// Writes pending summaries, commits every slice written, then the checkpoint; and
    /// deletes the slices past the retention.
    pub fn commit(&mut self) -> Result<CommitStats, IndexError> {
        if self.index.is_swapped()? {
            return Err(IndexError::Swapped);
        }
        let started = Instant::now();
        let fields = *self.index.fields();
        let calls = self.pending_calls.len() as u64;
        let pending: Vec<_> = self.pending_calls.drain().collect();
        for (key, (summary, partition, slice)) in pending {
            let writer = self.changed_writer(&slice)?;
            writer.delete_term(Term::from_field_text(fields.summary_key, &key));
            writer.add_document(document::call(&fields, &key, &summary, partition))?;
        }
        self.delete_forgotten_partitions()?;
        for open in self.writers.values_mut().filter(|open| open.changed) {
            let mut range = open.slice.range();
            if let Some(written) = open.range {
                range = Some(range.map_or(written, |mut known| {
                    known.widen(written);
                    known
                }));
            }
            let mut prepared = open.writer.prepare_commit()?;
            if let Some(range) = range {
                prepared.set_payload(&serde_json::to_string(&range).expect("a range serializes"));
            }
            prepared.commit()?;
            open.range = None;
            open.changed = false;
        }
        self.index.store_checkpoint(&self.checkpoint)?;
        let records = self.pending_events.len() as u64;
        self.pending_events.clear();
        self.dirty = false;
        self.index.reload()?;
        self.writers.counters.commits += 1;
        // Nothing is pending: a slice can be promoted, idle secondaries and writers
        // beyond the limit closed.
        self.writers.after_commit(&self.index)?;
        let dropped_slices = self.apply_retention()?;
        Ok(CommitStats {
            records,
            calls,
            duration: started.elapsed(),
            dropped_slices,
        })
    }

    /// Drops everything since the last commit and returns the committed checkpoint,
    /// from which the caller must re-read its partitions.
    pub fn rollback(&mut self) -> Result<Checkpoint, IndexError> {
        // A writer that failed may not roll back; a fresh one starts from the commit.
        self.writers.close_all();
        self.pending_events.clear();
        self.pending_calls.clear();
        self.recent_requests.clear();
        // The committed position first: it is readable even from a read-only disk, and
        // whatever fails next, the caller re-reads from there, never from further on.
        self.checkpoint = self.index.checkpoint()?;
        // Partitions given up stay given up: their deletion is redone at the next commit.
        for partition in &self.forgotten {
            self.checkpoint.offsets.remove(partition);
        }
        self.dirty = !self.forgotten.is_empty();
        // Then the slices (a rebuilt directory swapped in); a reader's reload takes a lock
        // file, which a read-only disk refuses: the caller retries.
        self.index.reload()?;
        Ok(self.checkpoint.clone())
    }

    /// Settles cold slices into one segment each, one at a time ([`crate::settle`]):
    /// closes the slice whose merges are done, or starts the next, newest first. Cheap
    /// to call often (with nothing settling, it looks for work every few seconds); the
    /// indexer calls it while caught up. Returns the slice it started settling.
    pub fn settle(&mut self) -> Result<Option<String>, IndexError> {
        // A commit closes the secondaries idle since the previous one; when no commit
        // comes (a shuffled import ends with every slice's writer open), they go here.
        self.writers.close_idle_for(self.config.settle_after_idle);
        match self.writers.settling() {
            Settling::Busy => return Ok(None),
            Settling::Finished => {}
            Settling::Idle => {
                if self
                    .last_settle_check
                    .is_some_and(|checked| checked.elapsed() < settle::SETTLE_CHECK_INTERVAL)
                {
                    return Ok(None);
                }
            }
        }
        self.last_settle_check = Some(Instant::now());
        self.start_next_settle(pivotlog_proto::time::now_unix_ms())
    }

    /// Settles every slice that is cold at `now_ms` (Unix ms), waiting for the merges:
    /// for benchmarks and tests of what a settled index costs, which can say when "now"
    /// is for history they made up.
    pub fn settle_now(&mut self, now_ms: i64) -> Result<usize, IndexError> {
        if self.dirty {
            self.commit()?;
        }
        let mut settled = 0;
        while let Some(name) = self.start_next_settle(now_ms)? {
            self.writers.close(&name);
            self.writers.join(&name);
            settled += 1;
        }
        self.index.reload()?;
        Ok(settled)
    }

    fn start_next_settle(&mut self, now_ms: i64) -> Result<Option<String>, IndexError> {
        let candidate = self.index.slices().into_iter().rev().find(|slice| {
            !self.writers.is_busy(&slice.name, self.config.settle_after_idle)
                && settle::needs_settling(slice, now_ms)
        });
        let Some(slice) = candidate else {
            return Ok(None);
        };
        if self.writers.is_full() && !self.writers.is_open(&slice.name) {
            return Ok(None);
        }
        self.writers.join(&slice.name);
        self.writers.start_settling(&self.index, &slice.name)?;
        tracing::info!(slice = %slice.name, "settling a cold slice into one segment");
        Ok(Some(slice.name.to_string()))
    }

    /// Waits for background merges to finish (for orderly shutdown and benchmarks).
    pub fn wait_merging_threads(self) -> Result<(), IndexError> {
        self.writers.wait()
    }

    /// Records older than this are past the retention (Unix ms).
    fn retention_horizon(&self) -> Option<i64> {
        let retention = self.config.retention?;
        Some(pivotlog_proto::time::now_unix_ms() - retention.as_millis() as i64)
    }

    /// Deletes every slice whose newest record is past the retention.
    fn apply_retention(&mut self) -> Result<Vec<String>, IndexError> {
        let Some(horizon) = self.retention_horizon() else {
            return Ok(Vec::new());
        };
        let mut dropped = Vec::new();
        for slice in self.index.slices() {
            if slice.range().is_some_and(|range| range.max_created_ms < horizon) {
                self.writers.close(&slice.name);
                // Its merges write into the directory about to be deleted.
                self.writers.join(&slice.name);
                self.index.drop_slice(&slice.name)?;
                tracing::info!(slice = %slice.name, "slice past the retention deleted");
                dropped.push(slice.name.to_string());
            }
        }
        Ok(dropped)
    }

    /// Deletes the documents of forgotten partitions from every slice.
    fn delete_forgotten_partitions(&mut self) -> Result<(), IndexError> {
        if self.forgotten.is_empty() {
            return Ok(());
        }
        let field = self.index.fields().partition;
        let forgotten = std::mem::take(&mut self.forgotten);
        let names: Vec<String> = self.index.slices().iter().map(|s| s.name.to_string()).collect();
        for name in names {
            let writer = self.changed_writer(&name)?;
            for &partition in &forgotten {
                writer.delete_term(Term::from_field_u64(field, partition as u64));
            }
        }
        Ok(())
    }

    /// Makes the writer of slice `name` ready for a record, before anything of the
    /// record is pending: makes room for it if the open writers are at their limit,
    /// committing first, since closing a writer discards what it has not committed.
    fn prepare_writer(&mut self, name: &str) -> Result<(), IndexError> {
        if self.writers.get_mut(name).is_none() && self.writers.is_full() {
            if self.dirty {
                self.commit()?;
                self.writers.counters.forced_commits += 1;
            }
            if self.writers.is_full() {
                self.writers.make_room();
            }
        }
        self.writer(name)?;
        Ok(())
    }

    /// The open writer of slice `name`, opening it if needed (beyond the limit of open
    /// writers until the next commit: see [`IndexWriter::prepare_writer`]).
    fn writer(&mut self, name: &str) -> Result<&mut SliceWriter, IndexError> {
        self.writers.open(&self.index, name)
    }

    /// The tantivy writer of slice `name`, marked as changed (committed next time).
    fn changed_writer(
        &mut self,
        name: &str,
    ) -> Result<&mut tantivy::IndexWriter<TantivyDocument>, IndexError> {
        let open = self.writer(name)?;
        open.changed = true;
        Ok(&mut open.writer)
    }

    /// Whether the event is pending or committed in `slice`: a record's slice is its
    /// call's, so a record seen again is found where it was put.
    fn is_known(&self, event_id: &str, slice: &str) -> Result<bool, IndexError> {
        if self.pending_events.contains(event_id) {
            return Ok(true);
        }
        match self.index.existing_slice(slice) {
            Some(slice) => slice.has_event(event_id),
            None => Ok(false),
        }
    }

    /// The slice of the event's call (and the call's stored summary, if it is not
    /// pending): where the call already is, else the slice of the event's time.
    fn locate(&self, event: &DebugEvent) -> Result<(String, Option<CallSummary>), IndexError> {
        let key = call_key(&event.account_id, &event.call_id);
        if let Some((_, _, slice)) = self.pending_calls.get(&key) {
            return Ok((slice.clone(), None));
        }
        let found = self
            .index
            .call_slice_near(&event.account_id, &event.call_id, event.created_unix_ms)?;
        Ok(match found {
            Some((slice, summary)) => (slice.name.to_string(), Some(summary)),
            None => (slice_name(event.created_unix_ms), None),
        })
    }

    /// Folds the event into its call's summary, pending for the next commit.
    fn fold_into_summary(
        &mut self,
        partition: i32,
        event: &DebugEvent,
        slice: &str,
        stored: Option<CallSummary>,
    ) {
        let key = call_key(&event.account_id, &event.call_id);
        if let Some((summary, _, _)) = self.pending_calls.get_mut(&key) {
            summary.add(event);
            return;
        }
        let summary = match stored {
            Some(mut summary) => {
                summary.add(event);
                summary
            }
            None => CallSummary::from_event(event),
        };
        self.pending_calls
            .insert(key, (summary, partition, slice.to_owned()));
    }

    fn record_document(
        &mut self,
        partition: i32,
        offset: Option<i64>,
        event: &DebugEvent,
        raw: &[u8],
    ) -> Result<TantivyDocument, IndexError> {
        let line = match &event.record {
            Some(Record::Request(request)) => {
                self.remember_request(event, request);
                None
            }
            Some(Record::Response(_)) => self.request_line(event)?,
            _ => None,
        };
        let line = line
            .as_ref()
            .map(|line| (line.uri.as_str(), line.method.as_str()));
        Ok(document::record(
            self.index.fields(),
            partition,
            offset,
            event,
            raw,
            line,
        ))
    }

    fn remember_request(&mut self, event: &DebugEvent, request: &pivotlog_proto::HttpRequest) {
        if self.recent_requests.len() >= MAX_RECENT_REQUESTS {
            self.recent_requests.clear();
        }
        self.recent_requests.insert(
            (call_key(&event.account_id, &event.call_id), event.iteration),
            RequestLine {
                uri: request.uri.clone(),
                method: request.method.clone(),
            },
        );
    }

    /// The request line of the response's iteration: from memory, else from the index
    /// (`None` if the request has not arrived yet).
    fn request_line(&self, event: &DebugEvent) -> Result<Option<RequestLine>, IndexError> {
        let key = call_key(&event.account_id, &event.call_id);
        if let Some(line) = self.recent_requests.get(&(key.clone(), event.iteration)) {
            return Ok(Some(line.clone()));
        }
        let fields = self.index.fields();
        let found = self
            .index
            .call_slice_near(&event.account_id, &event.call_id, event.created_unix_ms)?;
        let Some((slice, _)) = found else {
            return Ok(None);
        };
        let searcher = slice.searcher();
        let query = BooleanQuery::new(vec![
            (Occur::Must, term_query(fields.call_key, &key)),
            (Occur::Must, term_query(fields.kind, RecordKind::Request.as_str())),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(fields.iteration, u64::from(event.iteration)),
                    IndexRecordOption::Basic,
                )),
            ),
        ]);
        let Some((_, address)) = searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())?
            .pop()
        else {
            return Ok(None);
        };
        match load_event(&searcher, fields, address)?.record {
            Some(Record::Request(request)) => Ok(Some(RequestLine {
                uri: request.uri,
                method: request.method,
            })),
            _ => Ok(None),
        }
    }
}
