//! Medians, spreads and percentiles, and the machine they were measured on.

use std::time::Duration;

/// Figures of repeated runs: the median and the spread.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        let mut sorted = values.to_vec();
        sorted.sort_by(|a, b| a.total_cmp(b));
        Spread {
            median: sorted[sorted.len() / 2],
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        }
    }

    pub fn show(&self, decimals: usize) -> String {
        if self.min == self.max {
            format!("{:.*}", decimals, self.median)
        } else {
            format!(
                "{:.*} ({:.*}–{:.*})",
                decimals, self.median, decimals, self.min, decimals, self.max
            )
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({"median": self.median, "min": self.min, "max": self.max})
    }
}

/// Latencies of one load run.
pub struct Latencies {
    sorted_ms: Vec<f64>,
    elapsed: Duration,
    /// Requests refused with 429 (not in the latencies).
    refused: usize,
}

impl Latencies {
    pub fn new(latencies: Vec<Duration>, elapsed: Duration) -> Latencies {
        let mut sorted_ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        sorted_ms.sort_by(|a, b| a.total_cmp(b));
        Latencies {
            sorted_ms,
            elapsed,
            refused: 0,
        }
    }

    pub fn with_refused(self, refused: usize) -> Latencies {
        Latencies { refused, ..self }
    }

    /// Share of the requests refused with 429.
    pub fn refused(&self) -> usize {
        self.refused
    }

    pub fn refused_share(&self) -> f64 {
        let all = self.refused + self.sorted_ms.len();
        if all == 0 {
            0.0
        } else {
            self.refused as f64 / all as f64
        }
    }

    pub fn percentile(&self, p: f64) -> f64 {
        if self.sorted_ms.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.sorted_ms.len() as f64).ceil() as usize;
        self.sorted_ms[rank.clamp(1, self.sorted_ms.len()) - 1]
    }

    pub fn max(&self) -> f64 {
        self.sorted_ms.last().copied().unwrap_or(f64::NAN)
    }

    pub fn count(&self) -> usize {
        self.sorted_ms.len()
    }

    pub fn per_second(&self) -> f64 {
        self.sorted_ms.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// One line saying what ran the benchmark.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split(':').nth(1))
        .map_or("unknown CPU".to_owned(), |m| m.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find(|line| line.starts_with("MemTotal"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{cores} cores ({model}), {memory_gib:.0} GiB RAM, {}",
        std::env::consts::OS
    )
}
