//! For benchmarks only: not part of the API, and free to change with them.
//!
//! `benches/pipeline` measures a bare tantivy writer fed the very documents the index
//! writer builds (the ceiling the pipeline is compared with); this gives it those
//! documents and that schema without opening the crate's internals to everyone.

use std::path::Path;

use pivotlog_proto::DebugEvent;
use tantivy::TantivyDocument;

use crate::slice::Slice;
use crate::{document, IndexError, PivotIndex};

/// The document the writer builds for a record read at `offset` of `partition`
/// (`request`: a response's request line).
pub fn record_document(
    index: &PivotIndex,
    partition: i32,
    offset: i64,
    event: &DebugEvent,
    raw: &[u8],
    request: Option<(&str, &str)>,
) -> TantivyDocument {
    document::record(index.fields(), partition, Some(offset), event, raw, request)
}

/// A bare tantivy index with the index's schema in `dir`, for measuring tantivy alone.
pub fn bare_tantivy_index(dir: &Path) -> Result<tantivy::Index, IndexError> {
    Ok(Slice::open_or_create("bare", dir)?.tantivy_index().clone())
}
