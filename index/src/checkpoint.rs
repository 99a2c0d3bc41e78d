//! The Kafka position stored in each tantivy commit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::schema::INDEX_FORMAT;
use crate::IndexError;

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
    pub(crate) fn from_payload(payload: Option<&str>) -> Result<Checkpoint, IndexError> {
        match payload {
            None | Some("") => Ok(Checkpoint::default()),
            Some(json) => {
                serde_json::from_str(json).map_err(|err| IndexError::BadCheckpoint(err.to_string()))
            }
        }
    }

    pub(crate) fn to_payload(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint always serializes")
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
    fn payload_round_trips_and_rejects_garbage() {
        let mut checkpoint = Checkpoint {
            topic: Some("t".into()),
            ..Default::default()
        };
        checkpoint.offsets.insert(3, 42);
        let back = Checkpoint::from_payload(Some(&checkpoint.to_payload())).unwrap();
        assert_eq!(back, checkpoint);
        assert_eq!(back.next_offset(3), Some(42));
        assert_eq!(back.next_offset(0), None);
        assert_eq!(Checkpoint::from_payload(None).unwrap(), Checkpoint::default());
        assert!(Checkpoint::from_payload(Some("{nope")).is_err());
    }
}
