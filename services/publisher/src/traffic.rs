//! Pacing simulated calls in time: a record count, a rate, and a clock.

use std::time::Duration;

use pivotlog_proto::time::now_unix_ms;
use serde_json::Value;
use tokio::time::Instant;

use crate::simulate::Simulator;

/// How much simulated traffic, how fast, stamped with which clock.
#[derive(Debug, Clone, Default)]
pub struct TrafficPlan {
    /// Stop after this many records (a call is never cut short, so up to 9 more).
    pub records: Option<u64>,
    /// Records per second; `None`: as fast as the consumer of the calls goes.
    pub rate: Option<f64>,
    /// Stamp records from this Unix time on, advancing by the rate (or 7 ms per record),
    /// instead of the wall clock: with a seed, this makes the output byte-identical
    /// run after run.
    pub start_unix_ms: Option<i64>,
}

/// An endless (or counted) stream of simulated calls, paced by the plan.
pub struct Traffic {
    simulator: Simulator,
    plan: TrafficPlan,
    started: Instant,
    records: u64,
}

impl Traffic {
    pub fn new(simulator: Simulator, plan: TrafficPlan) -> Traffic {
        Traffic {
            simulator,
            plan,
            started: Instant::now(),
            records: 0,
        }
    }

    pub fn simulator(&self) -> &Simulator {
        &self.simulator
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    /// The next call's records, once the rate allows it; `None` when the count is reached.
    pub async fn next_call(&mut self) -> Option<Vec<Value>> {
        if self.plan.records.is_some_and(|limit| self.records >= limit) {
            return None;
        }
        if let Some(rate) = self.plan.rate.filter(|rate| *rate > 0.0) {
            let due = self.started + Duration::from_secs_f64(self.records as f64 / rate);
            tokio::time::sleep_until(due).await;
        }
        let now = self.clock();
        let call = self.simulator.next_call(now);
        self.records += call.len() as u64;
        Some(call)
    }

    fn clock(&self) -> i64 {
        match self.plan.start_unix_ms {
            Some(start) => {
                let per_record_ms = self
                    .plan
                    .rate
                    .filter(|rate| *rate > 0.0)
                    .map_or(7.0, |rate| 1000.0 / rate);
                start + (self.records as f64 * per_record_ms) as i64
            }
            None => now_unix_ms(),
        }
    }
}
