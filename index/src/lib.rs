//! The tantivy projection of the debug-event topic.
//!
//! Kafka is the source of truth; this index can always be rebuilt by replaying the
//! topic. It holds two kinds of documents (see [`schema`]):
//!
//! * one **record** document per [`DebugEvent`](pivotlog_proto::DebugEvent), identified
//!   by its `event_id` and stored as the original protobuf bytes, so what the API returns
//!   is exactly what was published;
//! * one **call** document per (account, call id): a [`CallSummary`] kept up to date by
//!   the writer, so the listing endpoint is a sorted read of small documents instead of
//!   a group-by over every record.
//!
//! The index is cut into **time slices** (one tantivy index per UTC day, under
//! `slices/`): retention deletes whole slices, and reads skip slices outside their time
//! range. All records of a call go to the slice of the call's first record, so a call
//! is whole in one slice and slices merge like shards ([`merge`]).
//!
//! # Exactly once
//! [`IndexWriter::commit`] commits every slice it wrote, then stores the next Kafka
//! offset of every partition it consumed in `checkpoint.json` (written atomically). After
//! a crash the indexer resumes from [`PivotIndex::checkpoint`]; records committed to a
//! slice after that checkpoint are read again and recognised by `event_id`, like records
//! delivered twice anyway (a producer retry, a replay from the beginning of the topic),
//! so each record is applied once. When `pivotlog reindex` swaps a rebuilt index in
//! ([`IndexWriter::adopt_rebuilt`]), the writer likewise starts again from that index's
//! checkpoint.

mod across;
#[doc(hidden)]
pub mod bench_support;
mod checkpoint;
mod directory;
mod document;
mod info;
mod interleave;
pub mod interrupt;
mod marks;
pub mod merge;
mod pool;
mod reader;
mod schema;
pub mod search;
mod settle;
pub mod signature;
mod slice;
mod summary;
pub mod tail;
pub mod wire;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use slice::Slice;

pub use checkpoint::{Checkpoint, CHECKPOINT_FILE};
pub use directory::{rebuild_dir, swap_directories, REBUILT_MARKER};
pub use info::{disk_usage, IndexInfo, SliceInfo};
pub use pool::WriterCounters;
pub use reader::{CallCursor, CallPage, ListCalls};
pub use schema::{event_order, from_position, position, Fields, INDEX_FORMAT, MAX_INDEXED_TEXT_BYTES};
pub use settle::SETTLE_AFTER_MS;
pub use summary::CallSummary;
pub use writer::{AddOutcome, CommitStats, IndexWriter, WriterConfig};

/// Errors of the index layer.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("cannot open index directory {path}: {source}")]
    Directory {
        path: String,
        source: tantivy::directory::error::OpenDirectoryError,
    },
    #[error("cannot create index directory {path}: {source}")]
    CreateDirectory { path: String, source: std::io::Error },
    #[error("{CHECKPOINT_FILE} does not hold a pivotlog checkpoint: {0}")]
    BadCheckpoint(String),
    #[error("the last commit of slice {slice} does not record its time range: {reason}")]
    BadSliceRange { slice: String, reason: String },
    #[error(
        "the index at {path} has format {found}, this build writes format {expected}; \
         delete the directory and let the indexer rebuild it from Kafka"
    )]
    FormatMismatch { path: String, found: u32, expected: u32 },
    #[error("a stored document is corrupt: {0}")]
    CorruptDocument(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the index directory was replaced by a rebuilt index; start again from its checkpoint")]
    Swapped,
    #[error("another writer holds the index in {0} (one indexer per directory)")]
    Locked(String),
    /// The caller gave up on this read ([`interrupt`]): its client left, or its deadline passed.
    #[error("the read was interrupted: its caller gave up on it")]
    Interrupted,
}

const SLICES_DIR: &str = "slices";

/// An open index: its time slices, shared by every clone (the writer adds and drops
/// slices; readers see them at their next [`PivotIndex::reload`]).
#[derive(Clone)]
pub struct PivotIndex {
    /// Where it lives on disk (`None`: in memory).
    dir: Option<Arc<Path>>,
    slices: Arc<RwLock<BTreeMap<String, Slice>>>,
    /// The checkpoint of an index in memory.
    ram_checkpoint: Arc<Mutex<Checkpoint>>,
    /// An empty slice: the schema and analyzers, for parsing queries and building documents.
    schema: Slice,
    /// Reads see only these partitions ([`PivotIndex::only_partitions`]); `None`: all.
    partitions: Option<Arc<[u64]>>,
    /// Identity (inode) of the directory the slices were opened from: `pivotlog reindex`
    /// swaps a rebuilt directory in, and every reader notices at its next reload.
    identity: Arc<AtomicU64>,
    /// The checkpoint read just before the last reload: every record before it is
    /// visible to reads, in every slice (a live tail reads up to it, never past).
    visible: Arc<RwLock<BTreeMap<i32, i64>>>,
    /// Reloads so far: a reader that waits for new records polls this, not the index.
    generation: Arc<AtomicU64>,
}

impl PivotIndex {
    /// Opens the index in `dir`, creating the directory and an empty index if needed.
    pub fn open_or_create(dir: &Path) -> Result<PivotIndex, IndexError> {
        std::fs::create_dir_all(dir.join(SLICES_DIR)).map_err(|source| IndexError::CreateDirectory {
            path: dir.display().to_string(),
            source,
        })?;
        let checkpoint = match Checkpoint::load(dir)? {
            Some(checkpoint) => checkpoint,
            // An index of an earlier layout has tantivy files at its root.
            None if dir.join("meta.json").exists() => {
                return Err(IndexError::FormatMismatch {
                    path: dir.display().to_string(),
                    found: 4,
                    expected: INDEX_FORMAT,
                })
            }
            None => {
                let fresh = Checkpoint::default();
                fresh.store(dir)?;
                fresh
            }
        };
        if checkpoint.format != INDEX_FORMAT {
            return Err(IndexError::FormatMismatch {
                path: dir.display().to_string(),
                found: checkpoint.format,
                expected: INDEX_FORMAT,
            });
        }
        let index = PivotIndex {
            dir: Some(dir.into()),
            ..PivotIndex::create_in_ram()?
        };
        index.reload()?;
        Ok(index)
    }

    /// An index in memory, for tests and examples.
    pub fn create_in_ram() -> Result<PivotIndex, IndexError> {
        Ok(PivotIndex {
            dir: None,
            slices: Arc::default(),
            ram_checkpoint: Arc::default(),
            schema: Slice::create_in_ram("schema")?,
            partitions: None,
            identity: Arc::default(),
            visible: Arc::default(),
            generation: Arc::default(),
        })
    }

    /// A view of this index whose reads (listing, records, search, stats) see only the
    /// documents of `partitions`: how a shard answers for exactly the partitions the
    /// query tier assigned to it, even while it still holds others.
    pub fn only_partitions(&self, partitions: &[i32]) -> PivotIndex {
        PivotIndex {
            partitions: Some(partitions.iter().map(|&p| p as u64).collect()),
            ..self.clone()
        }
    }

    /// The checkpoint of the last commit (empty for a new index).
    pub fn checkpoint(&self) -> Result<Checkpoint, IndexError> {
        match &self.dir {
            Some(dir) => Ok(Checkpoint::load(dir)?.unwrap_or_default()),
            None => Ok(self
                .ram_checkpoint
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()),
        }
    }

    pub(crate) fn store_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), IndexError> {
        match &self.dir {
            Some(dir) => checkpoint.store(dir),
            None => {
                *self.ram_checkpoint.lock().unwrap_or_else(|e| e.into_inner()) = checkpoint.clone();
                Ok(())
            }
        }
    }

    /// Makes the latest commits visible, including slices created or dropped since, and
    /// a whole directory swapped in by `pivotlog reindex`.
    pub fn reload(&self) -> Result<(), IndexError> {
        // The checkpoint first: the writer stores it after committing every slice, so
        // the slices reloaded next hold every record before it.
        let committed = self.checkpoint()?.offsets;
        if let Some(dir) = &self.dir {
            let swapped = self.note_identity(dir)?;
            let on_disk = slice_names(dir)?;
            let mut slices = self.slices.write().unwrap_or_else(|e| e.into_inner());
            if swapped {
                slices.clear();
            }
            slices.retain(|name, _| on_disk.contains(name));
            for name in on_disk {
                if let std::collections::btree_map::Entry::Vacant(entry) = slices.entry(name) {
                    match Slice::open(entry.key(), &slice_path(dir, entry.key())) {
                        Ok(slice) => {
                            entry.insert(slice);
                        }
                        // Being deleted by retention, or not written yet: next time.
                        Err(err) => tracing::debug!(slice = %entry.key(), error = %err, "slice not opened"),
                    }
                }
            }
        }
        for slice in self.slices() {
            slice.reload()?;
        }
        *self.visible.write().unwrap_or_else(|e| e.into_inner()) = committed;
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// How many reloads have completed: when it changes, reads may see new records.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The next offset of every partition as of the last reload (this view's partitions):
    /// every record before it is visible.
    pub fn visible_offsets(&self) -> BTreeMap<i32, i64> {
        let visible = self.visible.read().unwrap_or_else(|e| e.into_inner());
        visible
            .iter()
            .filter(|(partition, _)| {
                self.partitions
                    .as_ref()
                    .is_none_or(|owned| owned.contains(&(**partition as u64)))
            })
            .map(|(&partition, &next)| (partition, next))
            .collect()
    }

    /// Every slice, oldest first, as this view reads them.
    pub(crate) fn slices(&self) -> Vec<Slice> {
        let slices = self.slices.read().unwrap_or_else(|e| e.into_inner());
        slices
            .values()
            .map(|slice| slice.restricted(self.partitions.as_ref()))
            .collect()
    }

    /// The slice named `name`, opened or created.
    pub(crate) fn slice(&self, name: &str) -> Result<Slice, IndexError> {
        let mut slices = self.slices.write().unwrap_or_else(|e| e.into_inner());
        if let Some(slice) = slices.get(name) {
            return Ok(slice.clone());
        }
        let slice = match &self.dir {
            Some(dir) => Slice::open_or_create(name, &slice_path(dir, name))?,
            None => Slice::create_in_ram(name)?,
        };
        slices.insert(name.to_owned(), slice.clone());
        Ok(slice)
    }

    /// The slice named `name` if it is open (never created).
    pub(crate) fn existing_slice(&self, name: &str) -> Option<Slice> {
        let slices = self.slices.read().unwrap_or_else(|e| e.into_inner());
        slices.get(name).cloned()
    }

    /// Forgets a slice and deletes its files (retention).
    pub(crate) fn drop_slice(&self, name: &str) -> Result<(), IndexError> {
        let removed = self
            .slices
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        if let Some(dir) = removed.and_then(|slice| slice.dir) {
            std::fs::remove_dir_all(&dir).map_err(|source| IndexError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }

    pub fn fields(&self) -> &Fields {
        self.schema.fields()
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }
}

fn slice_path(root: &Path, name: &str) -> PathBuf {
    root.join(SLICES_DIR).join(name)
}

/// Names of the slice directories that hold an index.
fn slice_names(dir: &Path) -> Result<Vec<String>, IndexError> {
    let entries = std::fs::read_dir(dir.join(SLICES_DIR)).map_err(|source| IndexError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|entry| entry.path().join("meta.json").exists())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}
