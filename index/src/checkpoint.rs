//! The Kafka position the index has applied: `checkpoint.json`, replaced atomically
//! (write, sync, rename). When it is written, and why that applies each record once:
//! the exactly-once contract in the [crate] documentation.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::schema::INDEX_FORMAT;
use crate::IndexError;

/// File in the index directory holding the checkpoint (and the format).
pub const CHECKPOINT_FILE: &str = "checkpoint.json";

/// Where consumption resumes: for each partition, the offset of the next record to
/// read. Kept per partition so that several indexers can each own a subset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Layout version of the index ([`INDEX_FORMAT`]).
    pub format: u32,
    /// The topic the offsets belong to (`None` before the first commit).
    pub topic: Option<String>,
    /// Partition -> next offset to consume.
    pub offsets: BTreeMap<i32, i64>,
}

impl Default for Checkpoint {
    fn default() -> Self {
        Checkpoint {
            format: INDEX_FORMAT,
            topic: None,
            offsets: BTreeMap::new(),
        }
    }
}

impl Checkpoint {
    /// The checkpoint a checkpoint file holds; an empty file reads as a new index's.
    pub(crate) fn from_json(json: &str) -> Result<Checkpoint, IndexError> {
        if json.is_empty() {
            return Ok(Checkpoint::default());
        }
        serde_json::from_str(json).map_err(|err| IndexError::BadCheckpoint(err.to_string()))
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint always serializes")
    }

    /// The checkpoint stored in `dir`, if any.
    pub(crate) fn load(dir: &Path) -> Result<Option<Checkpoint>, IndexError> {
        let path = dir.join(CHECKPOINT_FILE);
        match std::fs::read_to_string(&path) {
            Ok(json) => Checkpoint::from_json(&json).map(Some),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(IndexError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Replaces the checkpoint in `dir` durably: a reader sees the old one or the new
    /// one, never a mix (write a temporary file, sync, rename, sync the directory).
    pub(crate) fn store(&self, dir: &Path) -> Result<(), IndexError> {
        let path = dir.join(CHECKPOINT_FILE);
        let temporary = dir.join(format!("{CHECKPOINT_FILE}.tmp"));
        let io = |source| IndexError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = std::fs::File::create(&temporary).map_err(io)?;
        file.write_all(self.to_json().as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, &path).map_err(io)?;
        std::fs::File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io)
    }

    /// The next offset to read on `partition`, if this index has consumed it before.
    pub fn next_offset(&self, partition: i32) -> Option<i64> {
        self.offsets.get(&partition).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_and_rejects_garbage() {
        let mut checkpoint = Checkpoint {
            topic: Some("t".into()),
            ..Default::default()
        };
        checkpoint.offsets.insert(3, 42);
        let back = Checkpoint::from_json(&checkpoint.to_json()).unwrap();
        assert_eq!(back, checkpoint);
        assert_eq!(back.next_offset(3), Some(42));
        assert_eq!(back.next_offset(0), None);
        assert_eq!(Checkpoint::from_json("").unwrap(), Checkpoint::default());
        let garbage = Checkpoint::from_json("{nope").unwrap_err().to_string();
        assert!(garbage.starts_with("checkpoint.json does not hold"), "{garbage}");
    }
}
