//! One time slice of the index: a tantivy index holding the records (and the calls) of
//! one UTC day. Retention drops whole slices; reads skip slices outside their range.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, TermSetQuery};
use tantivy::{Index, IndexReader, ReloadPolicy, Term};

use crate::marks::SegmentMarks;
use crate::schema::{self, Fields};
use crate::IndexError;

/// What each slice commit records in its payload: the times its records span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SliceRange {
    pub min_created_ms: i64,
    pub max_created_ms: i64,
}

impl SliceRange {
    pub fn of(created_ms: i64) -> SliceRange {
        SliceRange {
            min_created_ms: created_ms,
            max_created_ms: created_ms,
        }
    }

    pub fn widen(&mut self, other: SliceRange) {
        self.min_created_ms = self.min_created_ms.min(other.min_created_ms);
        self.max_created_ms = self.max_created_ms.max(other.max_created_ms);
    }

    pub fn overlaps(&self, from_ms: i64, to_ms: i64) -> bool {
        self.min_created_ms <= to_ms && from_ms <= self.max_created_ms
    }

    /// True when every time of the range is between `from_ms` and `to_ms`.
    pub fn within(&self, from_ms: i64, to_ms: i64) -> bool {
        from_ms <= self.min_created_ms && self.max_created_ms <= to_ms
    }
}

/// The slice a record belongs to by its time: its UTC day, `YYYY-MM-DD`.
pub(crate) fn slice_name(created_ms: i64) -> String {
    pivotlog_proto::time::iso8601_utc(created_ms)[..10].to_owned()
}

/// One tantivy index, its reader and the partitions reads are restricted to.
#[derive(Clone)]
pub(crate) struct Slice {
    pub name: Arc<str>,
    index: Index,
    fields: Fields,
    reader: IndexReader,
    /// Reads see only these partitions; `None`: all.
    partitions: Option<Arc<[u64]>>,
    pub dir: Option<PathBuf>,
    /// The searcher and committed range of the last reload, swapped together so that
    /// the range a read sees covers every record its searcher holds: reads skip slices
    /// and stop early on ranges alone.
    view: Arc<RwLock<Snapshot>>,
    /// What each segment holds of every partition, for live tails.
    pub(crate) marks: SegmentMarks,
}

/// A slice as of one reload: its searcher and a range covering all of its records.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub searcher: tantivy::Searcher,
    /// `None`: no record committed.
    pub range: Option<SliceRange>,
}

impl Slice {
    pub fn open_or_create(name: &str, dir: &Path) -> Result<Slice, IndexError> {
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
        let mut slice = Slice::from_index(name, index, fields)?;
        slice.dir = Some(dir.to_owned());
        slice.reload()?;
        Ok(slice)
    }

    /// Opens an existing slice (a reader must never create one: retention may have just
    /// deleted it).
    pub fn open(name: &str, dir: &Path) -> Result<Slice, IndexError> {
        let directory = MmapDirectory::open(dir).map_err(|source| IndexError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
        let mut slice = Slice::from_index(name, Index::open(directory)?, schema::build().1)?;
        slice.dir = Some(dir.to_owned());
        slice.reload()?;
        Ok(slice)
    }

    pub fn create_in_ram(name: &str) -> Result<Slice, IndexError> {
        let (schema, fields) = schema::build();
        Slice::from_index(name, Index::create_in_ram(schema), fields)
    }

    fn from_index(name: &str, index: Index, fields: Fields) -> Result<Slice, IndexError> {
        schema::register_tokenizers(&index);
        // Reloads are explicit: the writer reloads after each commit, the query
        // service on a short timer, so freshness is not bound to a file watcher.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let view = Arc::new(RwLock::new(Snapshot {
            searcher: reader.searcher(),
            range: None,
        }));
        Ok(Slice {
            name: name.into(),
            index,
            fields,
            reader,
            partitions: None,
            dir: None,
            view,
            marks: SegmentMarks::default(),
        })
    }

    pub fn restricted(&self, partitions: Option<&Arc<[u64]>>) -> Slice {
        Slice {
            partitions: partitions.cloned(),
            ..self.clone()
        }
    }

    /// `query`, restricted to this view's partitions.
    pub fn restrict(&self, query: Box<dyn Query>) -> Box<dyn Query> {
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

    /// The time range of the committed records as of the last reload (`None`: none).
    pub fn range(&self) -> Option<SliceRange> {
        self.snapshot().range
    }

    /// The searcher and range of the last reload, together.
    pub fn snapshot(&self) -> Snapshot {
        self.view.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Makes the latest commit visible, with its range.
    pub fn reload(&self) -> Result<(), IndexError> {
        self.reader.reload()?;
        // Read after the reader's reload, the metas are of its commit or a later one:
        // ranges only widen, so this range covers the reloaded searcher's records.
        let searcher = self.reader.searcher();
        let metas = self.index.load_metas()?;
        let range = match metas.payload.as_deref() {
            None | Some("") => None,
            Some(json) => Some(
                serde_json::from_str(json).map_err(|err| IndexError::BadSliceRange {
                    slice: self.name.to_string(),
                    reason: err.to_string(),
                })?,
            ),
        };
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = Snapshot { searcher, range };
        Ok(())
    }

    /// True when some segment has `text` in `field`, deleted documents included: a
    /// dictionary lookup per segment that stops at the first hit, no query built.
    pub fn holds(&self, field: tantivy::schema::Field, text: &str) -> Result<bool, IndexError> {
        let term = Term::from_field_text(field, text);
        for segment in self.searcher().segment_readers() {
            if segment
                .inverted_index(field)?
                .doc_freq(&term)
                .map_err(tantivy::TantivyError::from)?
                > 0
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn searcher(&self) -> tantivy::Searcher {
        self.snapshot().searcher
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    pub fn tantivy_index(&self) -> &Index {
        &self.index
    }
}
