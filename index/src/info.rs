//! What an index holds, for `pivotlog inspect` and metrics.

use std::path::Path;

use serde::Serialize;
use tantivy::collector::Count;
use tantivy::Order;

use crate::reader::term_query;
use crate::schema::{DOC_TYPE_CALL, DOC_TYPE_RECORD};
use crate::slice::Slice;
use crate::{Checkpoint, IndexError, PivotIndex};

/// An index's slices and checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct IndexInfo {
    pub format: u32,
    pub checkpoint: Checkpoint,
    pub slices: Vec<SliceInfo>,
}

impl IndexInfo {
    pub fn records(&self) -> u64 {
        self.slices.iter().map(|slice| slice.records).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.slices.iter().map(|slice| slice.bytes).sum()
    }

    pub fn segments(&self) -> usize {
        self.slices.iter().map(|slice| slice.segments).sum()
    }
}

/// One time slice of the index.
#[derive(Debug, Clone, Serialize)]
pub struct SliceInfo {
    pub name: String,
    /// Time of the oldest and newest record, Unix ms (`None`: no record).
    pub min_created_ms: Option<i64>,
    pub max_created_ms: Option<i64>,
    pub records: u64,
    pub calls: u64,
    pub segments: usize,
    /// Size on disk (0 for an index in memory).
    pub bytes: u64,
}

impl PivotIndex {
    /// The slices, their time ranges, counts and sizes, and the checkpoint.
    pub fn info(&self) -> Result<IndexInfo, IndexError> {
        let checkpoint = self.checkpoint()?;
        let slices = self
            .slices()
            .iter()
            .map(Slice::info)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(IndexInfo {
            format: checkpoint.format,
            checkpoint,
            slices,
        })
    }
}

impl Slice {
    fn info(&self) -> Result<SliceInfo, IndexError> {
        let searcher = self.searcher();
        let fields = self.fields();
        let count = |doc_type| -> Result<u64, IndexError> {
            Ok(searcher.search(&term_query(fields.doc_type, doc_type), &Count)? as u64)
        };
        let records_query = term_query(fields.doc_type, DOC_TYPE_RECORD);
        let edge = |order| -> Result<Option<i64>, IndexError> {
            let top = tantivy::collector::TopDocs::with_limit(1).order_by_fast_field::<i64>("created", order);
            Ok(searcher
                .search(&records_query, &top)?
                .pop()
                .and_then(|(created, _)| created))
        };
        Ok(SliceInfo {
            name: self.name.to_string(),
            min_created_ms: edge(Order::Asc)?,
            max_created_ms: edge(Order::Desc)?,
            records: count(DOC_TYPE_RECORD)?,
            calls: count(DOC_TYPE_CALL)?,
            segments: searcher.segment_readers().len(),
            bytes: self.dir.as_deref().map_or(0, disk_usage),
        })
    }
}

/// Total size of the files under `dir`, recursively (0 if it cannot be read).
pub fn disk_usage(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => disk_usage(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}
