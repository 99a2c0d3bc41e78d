//! The process's allocator, jemalloc, and what it holds as `pivotlog_heap_*` gauges.
//!
//! A server whose threads free what other threads allocated (tokio's workers, the
//! blocking pool, tantivy's merge threads) fragments glibc's per-thread arenas: its
//! resident memory rises with bursts of traffic with nothing live behind it, which a
//! leak looks exactly like (measured with idle live tails, issue 16). jemalloc returns
//! unused pages on a decay timer and counts the bytes that are live, so the two are
//! told apart on a dashboard as in the benchmark.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::IntGauge;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// `pivotlog_heap_allocated_bytes` (live allocations) and
/// `pivotlog_heap_resident_bytes` (pages the allocator holds), read at each scrape.
pub struct HeapCollector {
    allocated: IntGauge,
    resident: IntGauge,
}

impl HeapCollector {
    pub fn new() -> HeapCollector {
        HeapCollector {
            allocated: IntGauge::new(
                "pivotlog_heap_allocated_bytes",
                "Bytes of heap the process has allocated and not freed (jemalloc stats.allocated).",
            )
            .expect("valid metric"),
            resident: IntGauge::new(
                "pivotlog_heap_resident_bytes",
                "Bytes of physical memory the allocator holds: live data, its metadata, and freed pages not yet returned (jemalloc stats.resident).",
            )
            .expect("valid metric"),
        }
    }
}

impl Collector for HeapCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.allocated
            .desc()
            .into_iter()
            .chain(self.resident.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        use tikv_jemalloc_ctl::{epoch, stats};
        // The statistics are a snapshot taken at the last epoch: advance it first.
        if epoch::advance().is_ok() {
            if let (Ok(allocated), Ok(resident)) = (stats::allocated::read(), stats::resident::read()) {
                self.allocated.set(allocated as i64);
                self.resident.set(resident as i64);
            }
        }
        self.allocated
            .collect()
            .into_iter()
            .chain(self.resident.collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gauges_follow_what_is_allocated() {
        let collector = HeapCollector::new();
        let value = |families: Vec<MetricFamily>, name: &str| -> f64 {
            families
                .iter()
                .find(|family| family.name() == name)
                .map(|family| family.get_metric()[0].get_gauge().get_value())
                .unwrap()
        };
        // The statistics are the process's: other tests' threads allocate and free at the
        // same time, so an attempt they disturb is tried again.
        let mut attempts = Vec::new();
        for _ in 0..20 {
            let before = value(collector.collect(), "pivotlog_heap_allocated_bytes");
            let held = vec![1u8; 64 << 20];
            let families = collector.collect();
            let during = value(families.clone(), "pivotlog_heap_allocated_bytes");
            let resident = value(families, "pivotlog_heap_resident_bytes");
            drop(held);
            let after = value(collector.collect(), "pivotlog_heap_allocated_bytes");
            let megabytes = (64 << 20) as f64;
            if during - before >= megabytes && during - after >= megabytes && resident >= during {
                return;
            }
            attempts.push((before, during, after, resident));
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the gauges never followed a 64 MiB allocation: {attempts:?}");
    }
}
