//! Where an assigned partition starts, and the check that its first records really
//! come from the checkpoint.
//!
//! The checkpoint is only worth something if consumption restarts exactly there, and
//! two broker behaviours break that silently. If the checkpoint is out of the
//! partition's range (topic recreated, retention), librdkafka restarts from the earliest
//! offset (`auto.offset.reset`): that is logged, and already indexed events are skipped
//! by id. If the broker answers a fetch from the middle of a record batch with the
//! *next* batch (tansu does), records would be skipped: the partition is re-read from a
//! bit earlier instead, and the records before the checkpoint are skipped as duplicates.
//!
//! The decisions ([`start`], [`verify`]) are pure so that each broker behaviour can be
//! tested without a broker; [`check`] carries them out.

use std::collections::HashMap;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Offset;
use tracing::{debug, error, warn};

use super::METADATA_TIMEOUT;

/// Where an owned partition is assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// Never consumed by this index: from the partition's first record.
    Beginning,
    /// The checkpoint lies past the partition's end (the topic was recreated): its
    /// position is forgotten and the partition replayed from its first record.
    Replay { checkpoint: i64 },
    /// At the checkpoint, to be proven by the first record ([`verify`]).
    Checkpoint(i64),
}

/// Where to assign a partition whose next checkpointed offset is `checkpoint`, given
/// its high watermark (`None`: it could not be read).
///
/// Some brokers (tansu) report the last batch's base offset as the high watermark,
/// which makes a caught-up checkpoint look beyond the end too: the partition is then
/// replayed and deduplicated, which costs time but never correctness. An unreadable
/// watermark is no reason to replay: [`verify`] still notices a restart elsewhere.
pub(super) fn start(checkpoint: Option<i64>, high_watermark: Option<i64>) -> Start {
    match (checkpoint, high_watermark) {
        (None, _) => Start::Beginning,
        (Some(next), Some(high)) if next > high => Start::Replay { checkpoint: next },
        (Some(next), _) => Start::Checkpoint(next),
    }
}

/// A partition resumed from a checkpoint, until its first record proves the position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Resume {
    expected: i64,
    /// How far before `expected` the partition was re-read (0: not yet).
    lookback: i64,
    /// Records before `expected` were seen since the re-read.
    seen_before: bool,
}

impl Resume {
    pub(super) fn at(checkpoint: i64) -> Resume {
        Resume {
            expected: checkpoint,
            lookback: 0,
            seen_before: false,
        }
    }
}

/// Largest re-read before a gap is accepted as real (compaction, transaction markers).
const MAX_LOOKBACK: i64 = 1 << 20;
/// The first re-read; each further one goes 16 times as far back, so the largest is
/// reached after a handful of seeks.
const FIRST_LOOKBACK: i64 = 1024;

/// What a record read on a resumed partition tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The record is the checkpoint's: the position is proven.
    Proven,
    /// The first record comes before the checkpoint without a re-read: librdkafka found
    /// the checkpoint out of range and restarted from the earliest offset.
    Restarted,
    /// A record before the checkpoint, re-read on purpose; handled (as a duplicate)
    /// while the checkpoint is still awaited.
    Before(Resume),
    /// Offsets between the checkpoint and the record are not on the broker.
    Gap,
    /// The broker skipped past the checkpoint: the record is dropped and the partition
    /// re-read from `from`.
    SeekBack { from: i64, then: Resume },
}

impl Verdict {
    /// Whether the record is to be handled (indexed or counted).
    pub(super) fn handles_record(&self) -> bool {
        !matches!(self, Verdict::SeekBack { .. })
    }

    /// The state to keep for the partition (`None`: the check is over).
    fn pending(&self) -> Option<Resume> {
        match *self {
            Verdict::Before(then) | Verdict::SeekBack { then, .. } => Some(then),
            Verdict::Proven | Verdict::Restarted | Verdict::Gap => None,
        }
    }
}

/// Judges the record at `offset` on a partition resumed as `resume`.
pub(super) fn verify(resume: Resume, offset: i64) -> Verdict {
    let Resume {
        expected,
        lookback,
        seen_before,
    } = resume;
    if offset == expected {
        Verdict::Proven
    } else if offset < expected {
        if lookback == 0 && !seen_before {
            Verdict::Restarted
        } else {
            Verdict::Before(Resume {
                seen_before: true,
                ..resume
            })
        }
    } else if seen_before || lookback >= MAX_LOOKBACK {
        // Records before the checkpoint came, then one after it: the broker has
        // nothing in between, re-reading further back would not change that.
        Verdict::Gap
    } else {
        let lookback = (lookback * 16).max(FIRST_LOOKBACK);
        Verdict::SeekBack {
            from: (expected - lookback).max(0),
            then: Resume { lookback, ..resume },
        }
    }
}

/// Checks a record of `partition` at `offset` against its resume state, seeking back
/// when needed. Returns false when the record must be dropped because the partition
/// was re-positioned.
///
/// Takes the session's parts rather than the session: the record being checked still
/// borrows the consumer.
pub(super) fn check(
    resume: &mut HashMap<i32, Resume>,
    consumer: &BaseConsumer,
    topic: &str,
    owned: &mut Vec<i32>,
    partition: i32,
    offset: i64,
) -> bool {
    let Some(&state) = resume.get(&partition) else {
        return true;
    };
    let verdict = verify(state, offset);
    let expected = state.expected;
    match verdict {
        Verdict::Restarted => error!(
            topic = %topic, partition, checkpoint = expected, restarted_at = offset,
            "checkpoint is out of the partition's range (topic recreated, or retention deleted \
             records before they were indexed); replaying, already indexed events are skipped by event id"
        ),
        Verdict::Gap => {
            warn!(topic = %topic, partition, from = expected, to = offset, "offsets absent on the broker")
        }
        Verdict::SeekBack { from, .. } => {
            debug!(
                partition,
                expected,
                got = offset,
                from,
                "broker skipped past the checkpoint; re-reading from earlier"
            );
            if let Err(err) = consumer.seek(topic, partition, Offset::Offset(from), METADATA_TIMEOUT) {
                // An emptied ownership makes the loop assign afresh, from the checkpoint.
                warn!(error = %err, partition, "seek failed; re-assigning");
                owned.clear();
            }
        }
        Verdict::Proven | Verdict::Before(_) => {}
    }
    match verdict.pending() {
        Some(then) => resume.insert(partition, then),
        None => resume.remove(&partition),
    };
    verdict.handles_record()
}

#[cfg(test)]
mod tests;
