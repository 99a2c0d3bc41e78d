//! The only way documents get into the index: records and their call summaries,
//! committed together with the Kafka offsets they came from.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use prost::Message;
use tantivy::collector::TopDocs;
use tantivy::indexer::LogMergePolicy;
use tantivy::query::{BooleanQuery, Occur, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term};

use pivotlog_proto::{DebugEvent, Record, RecordKind};

use crate::reader::{load_event, term_query};
use crate::schema::{call_key, DOC_TYPE_CALL};
use crate::{CallSummary, Checkpoint, IndexError, PivotIndex};

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
}

impl Default for WriterConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        WriterConfig {
            num_threads: cores.clamp(1, 8),
            memory_budget_bytes: 256 << 20,
            del_docs_ratio_before_merge: 0.3,
        }
    }
}

/// What [`IndexWriter::add`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    Added,
    /// The event id is already indexed (or pending): nothing was written.
    Duplicate,
}

/// What one commit made durable.
#[derive(Debug, Clone, Default)]
pub struct CommitStats {
    pub records: u64,
    pub calls: u64,
    pub duration: Duration,
}

/// Writes records, keeps call summaries current, and commits offsets atomically.
pub struct IndexWriter {
    index: PivotIndex,
    writer: tantivy::IndexWriter<TantivyDocument>,
    /// The position reached, committed or not.
    checkpoint: Checkpoint,
    /// Changed since the last commit.
    dirty: bool,
    pending_events: HashSet<String>,
    /// Summaries to upsert at the next commit, with their call's partition.
    pending_calls: HashMap<String, (CallSummary, i32)>,
    /// `uri` and `method` of recent requests by (call key, iteration), copied onto
    /// their responses so a search can combine `uri:` with `status_code:`.
    recent_requests: HashMap<(String, u32), RequestLine>,
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
        let threads = config.num_threads.clamp(1, 8);
        let budget = config.memory_budget_bytes.max((threads * 16) << 20);
        let writer = index.tantivy_index().writer_with_num_threads(threads, budget)?;
        let mut merge_policy = LogMergePolicy::default();
        merge_policy.set_del_docs_ratio_before_merge(config.del_docs_ratio_before_merge);
        writer.set_merge_policy(Box::new(merge_policy));
        Ok(IndexWriter {
            index: index.clone(),
            writer,
            checkpoint: index.checkpoint()?,
            dirty: false,
            pending_events: HashSet::new(),
            pending_calls: HashMap::new(),
            recent_requests: HashMap::new(),
        })
    }

    /// The position reached so far, including what is not committed yet.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
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
        let field = self.index.fields().partition;
        for &partition in &dropped {
            self.writer
                .delete_term(Term::from_field_u64(field, partition as u64));
            self.checkpoint.offsets.remove(&partition);
            self.dirty = true;
        }
        dropped
    }

    /// [`IndexWriter::add_from_partition`] for partition 0: a single-partition topic,
    /// tests and tools.
    pub fn add(&mut self, event: &DebugEvent, raw: &[u8]) -> Result<AddOutcome, IndexError> {
        self.add_from_partition(0, event, raw)
    }

    /// Adds one validated event read from `partition`; `raw` is its protobuf encoding
    /// (re-encoded if empty).
    pub fn add_from_partition(
        &mut self,
        partition: i32,
        event: &DebugEvent,
        raw: &[u8],
    ) -> Result<AddOutcome, IndexError> {
        if self.is_known(&event.event_id)? {
            return Ok(AddOutcome::Duplicate);
        }
        let encoded;
        let raw = if raw.is_empty() {
            encoded = event.encode_to_vec();
            &encoded
        } else {
            raw
        };
        let doc = self.record_document(partition, event, raw)?;
        self.writer.add_document(doc)?;
        self.pending_events.insert(event.event_id.clone());
        self.fold_into_summary(partition, event)?;
        self.dirty = true;
        Ok(AddOutcome::Added)
    }

    /// Writes pending summaries and makes everything durable with the checkpoint.
    pub fn commit(&mut self) -> Result<CommitStats, IndexError> {
        let started = Instant::now();
        let fields = *self.index.fields();
        let calls = self.pending_calls.len() as u64;
        for (key, (summary, partition)) in self.pending_calls.drain() {
            self.writer
                .delete_term(Term::from_field_text(fields.summary_key, &key));
            let mut doc = TantivyDocument::default();
            doc.add_text(fields.doc_type, DOC_TYPE_CALL);
            doc.add_text(fields.summary_key, &key);
            doc.add_text(fields.account_id, &summary.account_id);
            doc.add_text(fields.calls_of, &summary.account_id);
            for ancestor in &summary.ancestor_ids {
                doc.add_text(fields.ancestor_id, ancestor);
            }
            doc.add_text(fields.call_id, &summary.call_id);
            doc.add_i64(fields.created, summary.first_created_ms);
            doc.add_u64(fields.partition, partition as u64);
            let json = serde_json::to_vec(&summary).expect("a summary always serializes");
            doc.add_bytes(fields.payload, &json);
            self.writer.add_document(doc)?;
        }
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&self.checkpoint.to_payload());
        prepared.commit()?;
        let records = self.pending_events.len() as u64;
        self.pending_events.clear();
        self.dirty = false;
        self.index.reload()?;
        Ok(CommitStats {
            records,
            calls,
            duration: started.elapsed(),
        })
    }

    /// Drops everything since the last commit and returns the committed checkpoint,
    /// from which the caller must re-read its partitions.
    pub fn rollback(&mut self) -> Result<Checkpoint, IndexError> {
        self.writer.rollback()?;
        self.pending_events.clear();
        self.pending_calls.clear();
        self.recent_requests.clear();
        self.dirty = false;
        self.checkpoint = self.index.checkpoint()?;
        Ok(self.checkpoint.clone())
    }

    /// Waits for background merges to finish (for orderly shutdown and benchmarks).
    pub fn wait_merging_threads(self) -> Result<(), IndexError> {
        Ok(self.writer.wait_merging_threads()?)
    }

    fn is_known(&self, event_id: &str) -> Result<bool, IndexError> {
        Ok(self.pending_events.contains(event_id) || self.index.has_event(event_id)?)
    }

    fn fold_into_summary(&mut self, partition: i32, event: &DebugEvent) -> Result<(), IndexError> {
        let key = call_key(&event.account_id, &event.call_id);
        if let Some((summary, _)) = self.pending_calls.get_mut(&key) {
            summary.add(event);
            return Ok(());
        }
        let summary = match self.index.call_summary(&event.account_id, &event.call_id)? {
            Some(mut summary) => {
                summary.add(event);
                summary
            }
            None => CallSummary::from_event(event),
        };
        self.pending_calls.insert(key, (summary, partition));
        Ok(())
    }

    fn record_document(
        &mut self,
        partition: i32,
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
        Ok(self.index.record_document(partition, event, raw, line))
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
        let searcher = self.index.searcher();
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
