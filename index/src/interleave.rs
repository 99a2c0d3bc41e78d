//! Sorted lists interleaved into one, each list's own order kept: how parts' answers (shards,
//! slices, partitions) become one.

use std::cmp::Ordering;
use std::collections::VecDeque;

/// Interleaves the parts' hit lists (each best first) by score. Equal scores keep
/// each part's own order and go to the earlier part first, so the first `n` merged hits
/// depend only on each part's first `n`: deeper pages (larger per-part requests) extend
/// the same sequence, and no hit is shown twice or skipped while paging. Generic over
/// the hit, so a search over slices interleaves candidates before building any hit.
pub(crate) fn by_score<T>(parts: Vec<Vec<T>>, score: impl Fn(&T) -> Option<f32>) -> Vec<T> {
    let mut parts: Vec<std::iter::Peekable<std::vec::IntoIter<T>>> = parts
        .into_iter()
        .map(|hits| hits.into_iter().peekable())
        .collect();
    let mut merged = Vec::new();
    loop {
        let mut best: Option<(usize, f32)> = None;
        for (i, part) in parts.iter_mut().enumerate() {
            if let Some(hit) = part.peek() {
                let score = score(hit).unwrap_or(0.0);
                if best.is_none_or(|(_, top)| score.total_cmp(&top) == Ordering::Greater) {
                    best = Some((i, score));
                }
            }
        }
        match best {
            Some((i, _)) => merged.extend(parts[i].next()),
            None => return merged,
        }
    }
}

/// Up to `limit` items taken from the fronts of `queues`, the earliest `time` first
/// (ties: the first queue), so each queue's own order is kept.
pub(crate) fn by_time<T>(queues: &mut [VecDeque<T>], limit: usize, time: impl Fn(&T) -> i64) -> Vec<T> {
    let mut taken = Vec::new();
    while taken.len() < limit {
        let earliest = queues
            .iter()
            .enumerate()
            .filter_map(|(i, queue)| queue.front().map(|item| (time(item), i)))
            .min();
        let Some((_, i)) = earliest else { break };
        taken.extend(queues[i].pop_front());
    }
    taken
}
