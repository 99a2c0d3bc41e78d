//! What a read returns: a value, and the partitions it lacks (a shard down, late or
//! rebuilding). Both sources (local index, shards) answer this way, and the envelope
//! says `partial` when the gaps are not empty.

use std::collections::BTreeSet;

/// The partitions an answer lacks, and why. Empty: the answer is complete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gaps {
    pub partitions: BTreeSet<i32>,
    pub reasons: BTreeSet<String>,
}

impl Gaps {
    pub fn add(&mut self, partitions: &[i32], reason: String) {
        self.partitions.extend(partitions);
        self.reasons.insert(reason);
    }

    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }
}

/// A value read from the index, and what it lacks.
pub struct Answer<T> {
    pub value: T,
    pub gaps: Gaps,
}

impl<T> Answer<T> {
    pub fn complete(value: T) -> Answer<T> {
        Answer {
            value,
            gaps: Gaps::default(),
        }
    }
}
