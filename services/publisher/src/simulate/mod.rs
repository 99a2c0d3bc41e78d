//! Reproducible synthetic Kazoo Pivot traffic: [`Simulator`] produces `pivot_debug` documents
//! (request, response, JSON-error and schema-error docs) shaped exactly as Kazoo stores them in
//! CouchDB, so demos, tests and benchmarks can run without a Kazoo cluster. The mix of call-id
//! styles, request formats, reply kinds (callflow JSON, TwiML, error pages, stack traces) and
//! log-normally sized bodies mimics real traffic, and a seed makes every run byte-identical.
//!
//! Every random value comes from one ChaCha8 stream, drawn in call order, so generating
//! anything more, less or in another order changes every later byte for a seed: tests and
//! benchmarks rely on those bytes, whichever submodule the change is in.

mod accounts;
mod callflow;
mod calls;
mod encoding;
mod random;
mod render;
mod replies;
mod tables;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use pivotlog_proto::time::unix_ms_to_gregorian_s;
use serde_json::Value;

use accounts::{cumulative_popularity, Account};
use random::Synth;
use tables::MEDIAN_CAP_BYTES;

/// Knobs of the synthetic traffic.
#[derive(Debug, Clone)]
pub struct SimulateConfig {
    pub seed: u64,
    /// Number of distinct accounts (>=1). Some accounts are resellers whose sub-accounts carry them in `pvt_tree`.
    pub accounts: usize,
    /// Median response body size in bytes (bodies vary around it, from a few hundred bytes to tens of KB; rare bodies up to ~64 KB).
    pub median_body_bytes: usize,
}

impl Default for SimulateConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            accounts: 20,
            median_body_bytes: 2048,
        }
    }
}

/// Generates calls of `pivot_debug` documents; see the module documentation.
pub struct Simulator {
    synth: Synth,
    accounts: Vec<Account>,
    account_ids: Vec<String>,
    account_index: HashMap<String, usize>,
    /// Cumulative popularity, so a few accounts carry most of the traffic as in real clusters.
    popularity: Vec<f64>,
}

impl Simulator {
    pub fn new(config: SimulateConfig) -> Self {
        let mut synth = Synth::new(config.seed, config.median_body_bytes.min(MEDIAN_CAP_BYTES));
        let accounts = synth.accounts(config.accounts.max(1));
        let account_ids: Vec<String> = accounts.iter().map(|account| account.id.clone()).collect();
        let account_index = account_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let popularity = cumulative_popularity(accounts.len());
        Self {
            synth,
            accounts,
            account_ids,
            account_index,
            popularity,
        }
    }

    /// All records of one new call, in the order Kazoo writes them, with `pvt_created`
    /// (Gregorian seconds, [`unix_ms_to_gregorian_s`]) at or a few seconds after `now_unix_ms`.
    pub fn next_call(&mut self, now_unix_ms: i64) -> Vec<Value> {
        let index = self.synth.pick_cumulative(&self.popularity);
        let Some(account) = self.accounts.get(index) else {
            return Vec::new();
        };
        self.synth.call(account, unix_ms_to_gregorian_s(now_unix_ms))
    }

    /// The account ids this simulator uses (index 0..accounts), so tests can build auth tokens.
    pub fn account_ids(&self) -> &[String] {
        &self.account_ids
    }

    /// For each account, its ancestors (reseller chain, root first), empty for top-level accounts.
    pub fn ancestors_of(&self, account_id: &str) -> &[String] {
        self.account_index
            .get(account_id)
            .and_then(|&i| self.accounts.get(i))
            .map_or(&[], |account| account.ancestors.as_slice())
    }
}
