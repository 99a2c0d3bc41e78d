//! The resume decisions against each broker behaviour they exist for, without a broker.

use super::*;

/// Feeds `offsets` to a partition resumed at `checkpoint`, as the loop does, and
/// returns each verdict.
fn run(checkpoint: i64, offsets: &[i64]) -> Vec<Verdict> {
    let mut state = Some(Resume::at(checkpoint));
    offsets
        .iter()
        .map(|&offset| {
            let verdict = verify(state.expect("checked after the check ended"), offset);
            state = verdict.pending();
            verdict
        })
        .collect()
}

fn seek_from(verdict: Verdict) -> i64 {
    match verdict {
        Verdict::SeekBack { from, .. } => from,
        other => panic!("expected a seek back, got {other:?}"),
    }
}

#[test]
fn a_partition_never_consumed_starts_at_the_beginning() {
    assert_eq!(start(None, Some(100)), Start::Beginning);
    assert_eq!(start(None, None), Start::Beginning);
}

#[test]
fn a_checkpoint_within_the_partition_resumes_there() {
    assert_eq!(start(Some(40), Some(100)), Start::Checkpoint(40));
    // Caught up: the next offset is the high watermark itself.
    assert_eq!(start(Some(100), Some(100)), Start::Checkpoint(100));
    // Without a watermark the checkpoint is trusted, and verified by its first record.
    assert_eq!(start(Some(40), None), Start::Checkpoint(40));
}

#[test]
fn a_checkpoint_beyond_the_high_watermark_replays_from_the_start() {
    assert_eq!(start(Some(101), Some(100)), Start::Replay { checkpoint: 101 });
    assert_eq!(start(Some(5_000), Some(0)), Start::Replay { checkpoint: 5_000 });
}

#[test]
fn the_record_at_the_checkpoint_proves_the_resume() {
    assert_eq!(run(42, &[42]), [Verdict::Proven]);
    assert!(Verdict::Proven.handles_record());
    assert_eq!(Verdict::Proven.pending(), None);
}

#[test]
fn a_restart_before_the_checkpoint_is_a_replay() {
    // The checkpoint was past the end but the watermark could not be read:
    // librdkafka restarts at the earliest offset, before it.
    let verdicts = run(500, &[0]);
    assert_eq!(verdicts, [Verdict::Restarted]);
    assert!(verdicts[0].handles_record());
}

#[test]
fn a_later_batch_makes_the_partition_reread_from_earlier() {
    // Batches [1000, 2000) and [2000, ..); the checkpoint 1500 is inside the first
    // and the broker answers with the second.
    let verdicts = run(1_500, &[2_000, 1_000, 1_001, 1_500]);
    assert_eq!(seek_from(verdicts[0]), 1_500 - 1_024);
    assert!(
        !verdicts[0].handles_record(),
        "the record past the gap is dropped"
    );
    assert!(matches!(verdicts[1], Verdict::Before(_)));
    assert!(matches!(verdicts[2], Verdict::Before(_)));
    assert!(
        verdicts[1].handles_record(),
        "re-read records are handled, as duplicates"
    );
    assert_eq!(verdicts[3], Verdict::Proven);
}

#[test]
fn the_reread_goes_further_back_until_records_before_the_checkpoint_come() {
    let verdicts = run(
        10_000_000,
        &[10_000_100, 10_000_100, 10_000_100, 9_990_000, 10_000_000],
    );
    assert_eq!(seek_from(verdicts[0]), 10_000_000 - 1_024);
    assert_eq!(seek_from(verdicts[1]), 10_000_000 - 16_384);
    assert_eq!(seek_from(verdicts[2]), 10_000_000 - 262_144);
    assert!(matches!(verdicts[3], Verdict::Before(_)));
    assert_eq!(verdicts[4], Verdict::Proven);
}

#[test]
fn the_reread_never_seeks_before_offset_zero() {
    assert_eq!(seek_from(run(100, &[200])[0]), 0);
}

#[test]
fn a_gap_after_records_before_the_checkpoint_is_real() {
    // The checkpoint's offset is a transaction marker or was compacted away.
    let verdicts = run(1_500, &[2_000, 1_400, 1_499, 1_501]);
    assert_eq!(verdicts[3], Verdict::Gap);
    assert!(verdicts[3].handles_record());
}

#[test]
fn a_gap_is_accepted_once_the_largest_reread_found_nothing_before() {
    // Four seeks (1 Ki, 16 Ki, 256 Ki, 4 Mi back), then the gap is accepted.
    let verdicts = run(100_000_000, &[100_000_500; 5]);
    assert!(verdicts[..4].iter().all(|v| !v.handles_record()));
    assert_eq!(seek_from(verdicts[3]), 100_000_000 - (4 << 20));
    assert_eq!(verdicts[4], Verdict::Gap);
}

#[test]
fn a_checkpoint_below_the_low_watermark_ends_up_replaying_what_is_left() {
    // Retention deleted [100, 5000): librdkafka restarts at the low watermark, past
    // the checkpoint, after every seek back too. The check gives up after the
    // largest re-read and consumption goes on from the earliest record left.
    let verdicts = run(100, &[5_000; 5]);
    assert!(verdicts[..4].iter().all(|&v| seek_from(v) == 0));
    assert_eq!(verdicts[4], Verdict::Gap);
    assert!(verdicts[4].handles_record());
}
