//! The tantivy writers of the slices being written, kept open across records and
//! commits so that history arriving out of time order, or spanning the whole retention,
//! costs what one day costs.
//!
//! A writer per slice being written stays open (up to [`MAX_OPEN_WRITERS`], the
//! retention window), because opening one is expensive (threads, every segment's files
//! and the index metadata) and closing one discards what it has not committed: a limit
//! of two writers, with a commit whenever a third slice came up, made a shuffled 31-day
//! import commit once per record. Memory stays bounded because only one writer, the
//! **primary** (the slice most records go to), gets the configured threads and memory;
//! every other one gets one thread and tantivy's minimum budget. When the records move
//! on to another slice for good (a replay in time order crossing midnight, a new day),
//! that slice is promoted at the next commit, which the indexer makes as soon as a
//! promotion is due ([`WriterPool::promotion_due`]): its writer is reopened with the
//! primary's resources. Since the indexer reads its partitions in step, that commit holds
//! the old day and the new one; read days apart, it held every open slice. A writer is
//! closed only when nothing is pending, and cleanly: in the background, waiting for its
//! merges, and a slice is never reopened before its old writer is gone, so no two
//! writers touch one slice and no merge finishes into a writer that no longer knows its
//! segments.

use std::collections::{BTreeMap, HashMap};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tantivy::indexer::{IndexWriterOptions, LogMergePolicy};
use tantivy::TantivyDocument;

use crate::settle::{is_settled, SettleAll};
use crate::slice::{Slice, SliceRange};
use crate::{IndexError, PivotIndex, WriterConfig};

/// Writers open at once: a 31-day retention spans up to 32 UTC days. Beyond it (no
/// retention, and a replay of more days than this in random order), the least recently
/// written writers are closed after a commit.
pub(crate) const MAX_OPEN_WRITERS: usize = 32;
/// Writers closed at once when the limit is reached, so that a replay of more days than
/// the limit commits once per this many new slices, not once per slice.
const EVICT_AT_ONCE: usize = 8;
/// Memory of a secondary writer's one thread: tantivy's minimum (15 MB) and a margin.
/// With [`MAX_OPEN_WRITERS`] open, the secondaries hold at most 31 × 16 MB.
const SECONDARY_BUDGET_BYTES: usize = 16 << 20;
/// Consecutive records that went to secondaries before the slice of the latest one is
/// promoted at a commit. In time order, a new day is promoted at the first commit after
/// this many of its records; in random order over n slices the primary gets one record
/// in n, so a run this long practically never happens (n = 31, records in calls of two: a run of 500 calls
/// missing the primary has probability (30/31)^500 ≈ 8e-8 at each call).
pub(crate) const PROMOTE_AFTER: u64 = 1_000;

/// A slice being written: its tantivy writer and the times of what it was given.
pub(crate) struct SliceWriter {
    pub slice: Slice,
    pub writer: tantivy::IndexWriter<TantivyDocument>,
    pub range: Option<SliceRange>,
    /// Written to since the last commit: only these slices are committed.
    pub changed: bool,
    /// Opened with the configured threads and memory.
    primary: bool,
    /// Sequence number of the last record given to it (least recently written first).
    last_record: u64,
    /// Given a record since the previous commit; a secondary idle for a whole commit
    /// interval is closed.
    recent: bool,
    /// Opened to settle the slice ([`crate::settle`]): kept open, idle or not, until its
    /// merges have left one segment.
    settling: bool,
}

/// Where the settling of cold slices is ([`WriterPool::settling`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settling {
    /// No slice is settling.
    Idle,
    /// A slice's merges are running.
    Busy,
    /// A slice has just settled: the next one can start.
    Finished,
}

/// How the writers were used, for tests, logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterCounters {
    /// Writers opened, of which as primary.
    pub opened: u64,
    pub opened_primary: u64,
    /// Writers closed (cleanly, after their merges).
    pub closed: u64,
    /// Commits, of which forced: made to make room for a writer.
    pub commits: u64,
    pub forced_commits: u64,
    /// Cold slices settled into one segment ([`crate::settle`]), counted when started.
    pub settled: u64,
}

pub(crate) struct WriterPool {
    config: WriterConfig,
    open: BTreeMap<String, SliceWriter>,
    /// Writers being closed in the background: waiting for their merges.
    closing: HashMap<String, JoinHandle<tantivy::Result<()>>>,
    /// Records given to writers so far.
    records: u64,
    /// Consecutive records given to secondaries (or to any writer while no primary is open).
    since_primary: u64,
    /// When each slice was last given a record, open or not (a slice closed as idle at a
    /// commit may still be written to a moment later: it is not settled then).
    written_at: HashMap<String, Instant>,
    pub counters: WriterCounters,
}

impl WriterPool {
    pub fn new(config: &WriterConfig) -> WriterPool {
        WriterPool {
            config: config.clone(),
            open: BTreeMap::new(),
            closing: HashMap::new(),
            records: 0,
            since_primary: 0,
            written_at: HashMap::new(),
            counters: WriterCounters::default(),
        }
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut SliceWriter> {
        self.open.get_mut(name)
    }

    /// Slices written to since the last commit.
    pub fn changed(&self) -> usize {
        self.open.values().filter(|open| open.changed).count()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut SliceWriter> {
        self.open.values_mut()
    }

    /// The secondary to make the primary at a commit: the one the latest record went to,
    /// if the last [`PROMOTE_AFTER`] records all went to secondaries.
    fn to_promote(&self) -> Option<String> {
        if self.since_primary < PROMOTE_AFTER {
            return None;
        }
        self.open
            .iter()
            .filter(|(_, open)| !open.primary && !open.settling)
            .max_by_key(|(_, open)| open.last_record)
            .map(|(name, _)| name.clone())
    }

    /// True when the records have moved on to a secondary for good: the next commit
    /// promotes it, and the sooner the better (a secondary has one thread).
    pub fn promotion_due(&self) -> bool {
        self.to_promote().is_some()
    }

    /// True when opening one more writer would pass [`MAX_OPEN_WRITERS`].
    pub fn is_full(&self) -> bool {
        self.open.len() >= MAX_OPEN_WRITERS
    }

    /// Notes that a record went to `name`'s writer.
    pub fn record_added(&mut self, name: &str) {
        self.records += 1;
        let sequence = self.records;
        match self.written_at.get_mut(name) {
            Some(at) => *at = Instant::now(),
            None => {
                self.written_at.insert(name.to_owned(), Instant::now());
            }
        }
        if let Some(open) = self.open.get_mut(name) {
            open.last_record = sequence;
            open.recent = true;
            if open.settling {
                // Written again: merging each new segment into the whole slice would
                // rewrite it at every commit.
                open.settling = false;
                open.writer.set_merge_policy(merge_policy(&self.config));
            }
            if open.primary {
                self.since_primary = 0;
                return;
            }
        }
        self.since_primary += 1;
    }

    /// The writer of `name`, opened if needed: as primary if none is open, else as a
    /// secondary. Exceeds [`MAX_OPEN_WRITERS`] if asked to (the caller makes room when
    /// nothing is pending).
    pub fn open(&mut self, index: &PivotIndex, name: &str) -> Result<&mut SliceWriter, IndexError> {
        if !self.open.contains_key(name) {
            let primary = !self.open.values().any(|open| open.primary);
            let opened = self.open_writer(index, name, primary)?;
            self.open.insert(name.to_owned(), opened);
        }
        Ok(self.open.get_mut(name).expect("just opened"))
    }

    /// Reopens `name` as the primary and closes the old primary. Only when nothing is
    /// pending: closing a writer discards what it has not committed.
    fn promote(&mut self, index: &PivotIndex, name: &str) -> Result<(), IndexError> {
        let old: Vec<String> = self
            .open
            .iter()
            .filter(|(_, open)| open.primary)
            .map(|(name, _)| name.clone())
            .collect();
        for old in old {
            self.close(&old);
        }
        self.close(name);
        let opened = self.open_writer(index, name, true)?;
        self.open.insert(name.to_owned(), opened);
        self.since_primary = 0;
        Ok(())
    }

    /// After a commit (nothing pending): promotes the slice the records have moved on to,
    /// closes the secondaries not written to since the previous commit, and the least
    /// recently written writers beyond the limit.
    pub fn after_commit(&mut self, index: &PivotIndex) -> Result<(), IndexError> {
        if let Some(name) = self.to_promote() {
            self.promote(index, &name)?;
        }
        self.close_idle();
        for open in self.open.values_mut() {
            open.recent = false;
        }
        if self.open.len() > MAX_OPEN_WRITERS {
            self.evict(self.open.len() - MAX_OPEN_WRITERS);
        }
        Ok(())
    }

    /// Where settling is: closes a settling writer whose merges are done (in the
    /// background: it has nothing left to wait for).
    pub fn settling(&mut self) -> Settling {
        let settled: Vec<String> = self
            .open
            .iter()
            .filter(|(_, open)| open.settling && is_settled(&open.slice))
            .map(|(name, _)| name.clone())
            .collect();
        for name in &settled {
            self.close(name);
        }
        if self.open.values().any(|open| open.settling) {
            Settling::Busy
        } else if settled.is_empty() {
            Settling::Idle
        } else {
            Settling::Finished
        }
    }

    /// True when slice `name` cannot be settled now: its writer has records pending or
    /// was given one within `idle`, or is still closing (reopening it would wait for its
    /// merges).
    pub fn is_busy(&self, name: &str, idle: Duration) -> bool {
        self.open.get(name).is_some_and(|open| open.changed)
            || self.written_at.get(name).is_some_and(|at| at.elapsed() < idle)
            || self.closing.get(name).is_some_and(|closer| !closer.is_finished())
    }

    /// Starts settling slice `name` ([`crate::settle`]): its writer (the open one, idle
    /// for a while, or a new secondary) merges everything from now on, and
    /// commits nothing new, which starts the merges. The writer stays open until they are
    /// done ([`WriterPool::settling`]). Nothing may be pending for the slice.
    pub fn start_settling(&mut self, index: &PivotIndex, name: &str) -> Result<(), IndexError> {
        let mut settling = match self.open.remove(name) {
            Some(open) => open,
            None => self.open_writer(index, name, false)?,
        };
        settling.writer.set_merge_policy(Box::new(SettleAll));
        let mut prepared = settling.writer.prepare_commit()?;
        if let Some(range) = settling.slice.range() {
            prepared.set_payload(&serde_json::to_string(&range).expect("a range serializes"));
        }
        let committed = prepared.commit();
        if committed.is_ok() {
            settling.settling = true;
            // Never the slice the records went to last: not promoted, evicted first.
            settling.last_record = 0;
            self.counters.settled += 1;
        } else {
            settling.writer.set_merge_policy(merge_policy(&self.config));
        }
        self.open.insert(name.to_owned(), settling);
        committed?;
        Ok(())
    }

    /// Closes the secondaries given no record since the previous commit (and not
    /// settling).
    fn close_idle(&mut self) {
        self.close_secondaries(|_, _, open| !open.recent);
    }

    /// Closes the secondaries given no record for `idle` (and not settling), when no
    /// commit comes to close them.
    pub fn close_idle_for(&mut self, idle: Duration) {
        self.close_secondaries(|pool, name, _| {
            pool.written_at.get(name).is_none_or(|at| at.elapsed() >= idle)
        });
    }

    fn close_secondaries(&mut self, idle: impl Fn(&Self, &str, &SliceWriter) -> bool) {
        let idle: Vec<String> = self
            .open
            .iter()
            .filter(|(name, open)| !open.primary && !open.changed && !open.settling && idle(self, name, open))
            .map(|(name, _)| name.clone())
            .collect();
        for name in idle {
            self.close(&name);
        }
    }

    /// True when slice `name` has an open writer.
    pub fn is_open(&self, name: &str) -> bool {
        self.open.contains_key(name)
    }

    /// Closes the `count` least recently written writers (nothing may be pending).
    pub fn evict(&mut self, count: usize) {
        let mut by_age: Vec<(u64, String)> = self
            .open
            .iter()
            .map(|(name, open)| (open.last_record, name.clone()))
            .collect();
        by_age.sort();
        for (_, name) in by_age.into_iter().take(count) {
            self.close(&name);
        }
    }

    /// Makes room for one more writer: closes [`EVICT_AT_ONCE`] of them (nothing may be
    /// pending).
    pub fn make_room(&mut self) {
        self.evict(EVICT_AT_ONCE.min(self.open.len()));
    }

    /// Closes every writer in the background (nothing is kept: after a rollback, or
    /// before the directory is swapped); [`WriterPool::wait`] waits for them.
    pub fn close_all(&mut self) {
        let names: Vec<String> = self.open.keys().cloned().collect();
        for name in names {
            self.close(&name);
        }
        self.since_primary = 0;
    }

    /// Closes `name`'s writer, if open, in the background: discarding what it has not
    /// committed, letting its merges finish.
    pub fn close(&mut self, name: &str) {
        let Some(open) = self.open.remove(name) else {
            return;
        };
        self.counters.closed += 1;
        tracing::debug!(slice = name, primary = open.primary, "slice writer closed");
        // A closer still running for this slice cannot exist: the slice was reopened
        // only after joining it.
        let writer = open.writer;
        let closer = std::thread::Builder::new()
            .name("close-slice-writer".into())
            .spawn(move || writer.wait_merging_threads());
        match closer {
            Ok(handle) => {
                self.closing.insert(name.to_owned(), handle);
            }
            // No thread: the writer was moved into the failed closure and dropped,
            // which stops its merges; nothing is lost, only merging is postponed.
            Err(err) => tracing::warn!(slice = name, error = %err, "cannot start a thread to close a writer"),
        }
    }

    /// Waits until the writer of `name` being closed, if any, is gone.
    pub fn join(&mut self, name: &str) {
        if let Some(closer) = self.closing.remove(name) {
            finish(name, closer);
        }
    }

    /// Waits until every writer being closed is gone.
    pub fn join_all(&mut self) {
        for (name, closer) in self.closing.drain() {
            finish(&name, closer);
        }
    }

    /// Closes every writer and waits for all of them and their merges.
    pub fn wait(mut self) -> Result<(), IndexError> {
        let mut first_error = None;
        for (_, open) in std::mem::take(&mut self.open) {
            if let Err(err) = open.writer.wait_merging_threads() {
                first_error.get_or_insert(err);
            }
        }
        for (name, closer) in self.closing.drain() {
            finish(&name, closer);
        }
        first_error.map_or(Ok(()), |err| Err(err.into()))
    }

    fn open_writer(
        &mut self,
        index: &PivotIndex,
        name: &str,
        primary: bool,
    ) -> Result<SliceWriter, IndexError> {
        self.join(name);
        let slice = index.slice(name)?;
        let options = if primary {
            let threads = self.config.num_threads.clamp(1, 8);
            let budget = self.config.memory_budget_bytes.max((threads * 16) << 20);
            IndexWriterOptions::builder()
                .num_worker_threads(threads)
                .memory_budget_per_thread(budget / threads)
                .build()
        } else {
            // One thread and the least memory tantivy takes: a secondary gets a share of
            // the records only, and up to 31 of them are open at once.
            IndexWriterOptions::builder()
                .num_worker_threads(1)
                .memory_budget_per_thread(SECONDARY_BUDGET_BYTES)
                .num_merge_threads(1)
                .build()
        };
        let writer = slice.tantivy_index().writer_with_options(options)?;
        tracing::debug!(slice = name, primary, "slice writer opened");
        writer.set_merge_policy(merge_policy(&self.config));
        self.counters.opened += 1;
        self.counters.opened_primary += u64::from(primary);
        if primary {
            self.since_primary = 0;
        }
        Ok(SliceWriter {
            slice,
            writer,
            range: None,
            changed: false,
            primary,
            last_record: self.records,
            recent: false,
            settling: false,
        })
    }
}

/// The merge policy of a slice being written.
fn merge_policy(config: &WriterConfig) -> Box<LogMergePolicy> {
    let mut policy = LogMergePolicy::default();
    policy.set_del_docs_ratio_before_merge(config.del_docs_ratio_before_merge);
    Box::new(policy)
}

/// Joins a closer; its merges failing loses nothing committed, so it is only logged.
fn finish(name: &str, closer: JoinHandle<tantivy::Result<()>>) {
    match closer.join() {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::debug!(slice = name, error = %err, "a closed writer's merges failed"),
        Err(_) => tracing::warn!(slice = name, "a closed writer's thread panicked"),
    }
}
