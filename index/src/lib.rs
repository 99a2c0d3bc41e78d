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
//! # Exactly once
//! [`IndexWriter::commit`] stores the next Kafka offset of every partition it consumed
//! in the tantivy commit payload, atomically with the documents. After a crash the
//! indexer resumes from [`PivotIndex::checkpoint`], so each record is applied once.
//! Records delivered twice anyway (a producer retry, a replay from the beginning of the
//! topic) are recognised by `event_id` and skipped.

mod checkpoint;
mod info;
pub mod merge;
mod reader;
mod schema;
pub mod search;
mod summary;
mod writer;

use std::path::Path;
use std::sync::Arc;

use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, TermSetQuery};
use tantivy::{Index, IndexReader, ReloadPolicy, Term};

pub use checkpoint::Checkpoint;
pub use info::{IndexInfo, SliceInfo};
pub use reader::{CallCursor, CallPage, ListCalls};
pub use schema::{event_order, Fields, INDEX_FORMAT, MAX_INDEXED_TEXT_BYTES};
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
    #[error("the commit payload is not a pivotlog checkpoint: {0}")]
    BadCheckpoint(String),
    #[error(
        "the index at {path} has format {found}, this build writes format {expected}; \
         delete the directory and let the indexer rebuild it from Kafka"
    )]
    FormatMismatch { path: String, found: u32, expected: u32 },
    #[error("a stored document is corrupt: {0}")]
    CorruptDocument(String),
}

/// An open index: the tantivy index, its field handles and a reader.
#[derive(Clone)]
pub struct PivotIndex {
    index: Index,
    fields: Fields,
    reader: IndexReader,
    /// Reads see only these partitions ([`PivotIndex::only_partitions`]); `None`: all.
    partitions: Option<Arc<[u64]>>,
    /// Where it lives on disk (`None`: in memory).
    dir: Option<Arc<Path>>,
}

impl PivotIndex {
    /// Opens the index in `dir`, creating the directory and an empty index if needed.
    pub fn open_or_create(dir: &Path) -> Result<PivotIndex, IndexError> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::CreateDirectory {
            path: dir.display().to_string(),
            source,
        })?;
        let directory = MmapDirectory::open(dir).map_err(|source| IndexError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
        let (schema, fields) = schema::build();
        let index = Index::open_or_create(directory, schema)?;
        schema::register_tokenizers(&index);
        let mut pivot_index = PivotIndex::from_index(index, fields)?;
        pivot_index.dir = Some(dir.into());
        let found = pivot_index.checkpoint()?.format;
        if found != INDEX_FORMAT {
            return Err(IndexError::FormatMismatch {
                path: dir.display().to_string(),
                found,
                expected: INDEX_FORMAT,
            });
        }
        Ok(pivot_index)
    }

    /// An index in memory, for tests and examples.
    pub fn create_in_ram() -> Result<PivotIndex, IndexError> {
        let (schema, fields) = schema::build();
        let index = Index::create_in_ram(schema);
        schema::register_tokenizers(&index);
        PivotIndex::from_index(index, fields)
    }

    fn from_index(index: Index, fields: Fields) -> Result<PivotIndex, IndexError> {
        // Reloads are explicit: the writer reloads after each commit, the query
        // service on a short timer, so freshness is not bound to a file watcher.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(PivotIndex {
            index,
            fields,
            reader,
            partitions: None,
            dir: None,
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

    /// `query`, restricted to this view's partitions.
    pub(crate) fn restrict(&self, query: Box<dyn Query>) -> Box<dyn Query> {
        match &self.partitions {
            None => query,
            Some(partitions) => {
                let field = self.fields.partition;
                let terms = partitions.iter().map(|&p| Term::from_field_u64(field, p));
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, query),
                    (Occur::Must, Box::new(TermSetQuery::new(terms))),
                ]))
            }
        }
    }

    /// The checkpoint of the last commit (empty for a new index).
    pub fn checkpoint(&self) -> Result<Checkpoint, IndexError> {
        let metas = self.index.load_metas()?;
        Checkpoint::from_payload(metas.payload.as_deref())
    }

    /// Makes the latest commit visible to [`PivotIndex::searcher`].
    pub fn reload(&self) -> Result<(), IndexError> {
        Ok(self.reader.reload()?)
    }

    pub fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    pub fn tantivy_index(&self) -> &Index {
        &self.index
    }
}
