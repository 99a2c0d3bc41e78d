//! The live tails a process holds ([`Tails`]): their limits ([`TailConfig`]), who holds
//! them (a [`TailSlot`] per open tail, per account), their metrics, and the signal that
//! ends them all at shutdown. Below `state`; the stream itself is `tail`'s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{IntCounterVec, IntGauge, Opts};
use tokio::sync::watch;

use crate::envelope::ApiError;

/// Limits and pacing of live tails.
#[derive(Debug, Clone)]
pub struct TailConfig {
    /// Tails open at once in this process; more get 429.
    pub max_tails: usize,
    /// Tails open at once for one account; more get 429.
    pub max_tails_per_account: usize,
    /// Longest a tail stays open; it then ends (`end`, `max_duration`) and the client
    /// may reconnect from where it was.
    pub max_duration: Duration,
    /// Bytes of events one tail holds for a client that reads slowly; past them,
    /// records are dropped and counted (`dropped`).
    pub buffer_bytes: usize,
    /// How often a tail asks for new records.
    pub poll_interval: Duration,
    /// How often an idle stream sends a comment.
    pub heartbeat: Duration,
}

impl Default for TailConfig {
    fn default() -> TailConfig {
        TailConfig {
            max_tails: 100,
            max_tails_per_account: 5,
            max_duration: Duration::from_secs(3600),
            buffer_bytes: 1 << 20,
            poll_interval: Duration::from_millis(250),
            heartbeat: Duration::from_secs(15),
        }
    }
}

/// The tails of one process: their limits, who holds them, and the signal that ends
/// them all (shutdown).
pub struct Tails {
    pub(crate) config: TailConfig,
    open: Mutex<HashMap<String, usize>>,
    shutdown: watch::Sender<bool>,
    pub(crate) metrics: TailMetrics,
}

#[derive(Clone)]
pub(crate) struct TailMetrics {
    open: IntGauge,
    pub(crate) events: IntCounterVec,
    refused: IntCounterVec,
}

impl Tails {
    pub fn new(config: TailConfig) -> Tails {
        let metrics = TailMetrics {
            open: IntGauge::new("pivotlog_query_tails", "Live tails open now.").expect("valid metric"),
            events: IntCounterVec::new(
                Opts::new(
                    "pivotlog_query_tail_events_total",
                    "Live tail events, by kind: record (sent), dropped (records skipped for a slow reader), partial, end.",
                ),
                &["kind"],
            )
            .expect("valid metric"),
            refused: IntCounterVec::new(
                Opts::new(
                    "pivotlog_query_tails_refused_total",
                    "Live tails refused with 429, by limit: process or account.",
                ),
                &["limit"],
            )
            .expect("valid metric"),
        };
        Tails {
            config,
            open: Mutex::new(HashMap::new()),
            shutdown: watch::channel(false).0,
            metrics,
        }
    }

    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.metrics.open.clone()),
            Box::new(self.metrics.events.clone()),
            Box::new(self.metrics.refused.clone()),
        ]
    }

    /// The signal that ends every tail: true once [`Tails::end_all`] was called.
    pub(crate) fn ended(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Ends every tail (`end`, `shutdown`), now and from now on.
    pub fn end_all(&self) {
        self.shutdown.send_replace(true);
    }

    /// A place for a new tail of `account_id`, or the 429 that refuses it.
    pub(crate) fn admit(self: &Arc<Self>, account_id: &str) -> Result<TailSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = open.values().sum();
        let refuse = |limit: &str, message: String| {
            self.metrics.refused.with_label_values(&[limit]).inc();
            ApiError::TooManyTails {
                message,
                retry_after_s: 5,
            }
        };
        if total >= self.config.max_tails {
            return Err(refuse(
                "process",
                format!(
                    "this server has {} live tails open, its limit",
                    self.config.max_tails
                ),
            ));
        }
        let mine = open.entry(account_id.to_owned()).or_default();
        if *mine >= self.config.max_tails_per_account {
            return Err(refuse(
                "account",
                format!(
                    "this account has {} live tails open, its limit",
                    self.config.max_tails_per_account
                ),
            ));
        }
        *mine += 1;
        self.metrics.open.inc();
        Ok(TailSlot {
            tails: self.clone(),
            account_id: account_id.to_owned(),
        })
    }
}

/// A tail's place among the open ones, given back when the tail ends.
pub(crate) struct TailSlot {
    tails: Arc<Tails>,
    account_id: String,
}

impl Drop for TailSlot {
    fn drop(&mut self) {
        let mut open = self.tails.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.account_id) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.account_id);
            }
        }
        self.tails.metrics.open.dec();
    }
}
