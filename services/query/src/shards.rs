//! The query side of the shard API ([`pivotlog_shard`]): discovering the indexers,
//! routing every partition to exactly one of them, and fanning requests out.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use prometheus::{IntCounterVec, Opts};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use pivotlog_serve::admission::{Class, Refused};
use pivotlog_shard::{Endpoint, Partitioned, ShardStatus, PREFIX};

use crate::answer::Gaps;
use crate::envelope::ApiError;

/// Where the shards are.
#[derive(Debug, Clone)]
pub enum Discovery {
    /// Fixed `host:port` addresses.
    Static(Vec<String>),
    /// A `name:port` resolved to every address it has, again on each refresh: a
    /// Kubernetes headless Service lists one address per indexer pod.
    Dns(String),
}

#[derive(Debug, Clone)]
pub struct ShardConfig {
    pub discovery: Discovery,
    /// Bearer token the shards require.
    pub token: String,
    /// Longest wait for one shard's answer; a slower shard's partitions are reported
    /// missing and the rest is answered.
    pub timeout: Duration,
    /// How often shards are re-discovered and their status re-read.
    pub refresh: Duration,
}

/// The shards known now, and which one answers for each partition.
#[derive(Debug, Default)]
pub struct Routing {
    /// Partitions of the topic, as the shards report it.
    pub topic_partitions: usize,
    /// Shard address → the partitions it is asked for.
    pub assignment: BTreeMap<String, Vec<i32>>,
    /// What every answer lacks until the next refresh: partitions no reachable shard
    /// owns, or whose owner is still replaying them.
    pub gaps: Gaps,
    /// Each discovered shard's status, or why it could not be read.
    pub shards: BTreeMap<String, Result<ShardStatus, String>>,
    /// At least one refresh has completed.
    pub refreshed: bool,
}

/// The indexers serving the index, as the query tier sees them.
pub struct ShardSet {
    config: ShardConfig,
    http: reqwest::Client,
    routing: RwLock<Arc<Routing>>,
    /// A failed request asks for an early refresh.
    stale: Notify,
    /// Data requests to shards by shard and outcome (registered by the API's state).
    requests: IntCounterVec,
}

impl ShardSet {
    pub fn new(config: ShardConfig) -> Result<Arc<ShardSet>, reqwest::Error> {
        let http = reqwest::Client::builder()
            .http2_prior_knowledge()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()?;
        Ok(Arc::new(ShardSet {
            config,
            http,
            routing: RwLock::new(Arc::new(Routing::default())),
            stale: Notify::new(),
            requests: IntCounterVec::new(
                Opts::new(
                    "pivotlog_query_shard_requests_total",
                    "Data requests fanned out to shards (status polls not counted), by shard address and outcome (ok, error: failed, refused or late).",
                ),
                &["shard", "outcome"],
            )
            .expect("valid metric"),
        }))
    }

    /// `pivotlog_query_shard_requests_total` of this shard set.
    pub fn request_counter(&self) -> IntCounterVec {
        self.requests.clone()
    }

    pub fn routing(&self) -> Arc<Routing> {
        self.routing.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Refreshes the routing every [`ShardConfig::refresh`], or sooner after a failed
    /// request, forever.
    pub async fn keep_refreshed(self: Arc<Self>) {
        loop {
            self.refresh().await;
            tokio::select! {
                () = tokio::time::sleep(self.config.refresh) => {}
                () = self.stale.notified() => {}
            }
        }
    }

    /// Discovers the shards, reads their status and routes every partition.
    pub async fn refresh(&self) {
        let addresses = match self.discover().await {
            Ok(addresses) => addresses,
            Err(err) => {
                tracing::warn!(error = %err, "cannot discover the shards");
                Vec::new()
            }
        };
        let statuses = futures::future::join_all(addresses.iter().map(|address| self.status(address))).await;
        let shards: BTreeMap<String, Result<ShardStatus, String>> =
            addresses.into_iter().zip(statuses).collect();
        let routing = route(shards);
        let previous = self.routing();
        if previous.gaps != routing.gaps || previous.assignment != routing.assignment {
            tracing::info!(
                assignment = ?routing.assignment,
                missing = ?routing.gaps.partitions,
                reasons = ?routing.gaps.reasons,
                "shard routing changed"
            );
        }
        *self.routing.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(routing);
    }

    async fn discover(&self) -> std::io::Result<Vec<String>> {
        match &self.config.discovery {
            Discovery::Static(addresses) => Ok(addresses.clone()),
            Discovery::Dns(name) => {
                let mut addresses: Vec<String> = tokio::net::lookup_host(name.as_str())
                    .await?
                    .map(|address| address.to_string())
                    .collect();
                addresses.sort();
                addresses.dedup();
                Ok(addresses)
            }
        }
    }

    async fn status(&self, address: &str) -> Result<ShardStatus, String> {
        let response = self
            .http
            .get(format!("http://{address}{PREFIX}/status"))
            .bearer_auth(&self.config.token)
            .send()
            .await
            .map_err(|err| err.to_string())?;
        decode_success(response).await
    }

    /// Whether requests can be answered at all: `Err` until some shard answers for
    /// some partition. Missing partitions do not make the service unready; answers
    /// say what they lack.
    pub fn readiness(&self) -> Result<(), String> {
        let routing = self.routing();
        if !routing.refreshed {
            return Err("the shards have not been discovered yet".into());
        }
        if routing.assignment.is_empty() {
            return Err(format!(
                "no reachable shard serves any partition ({} discovered)",
                routing.shards.len()
            ));
        }
        Ok(())
    }

    /// Sends `request` to every routed shard's endpoint `E`, each with its partitions,
    /// and collects the answers in shard order, with the partitions that are missing
    /// and why.
    pub(crate) async fn fan_out<E: Endpoint>(
        &self,
        request: &E::Request,
    ) -> Result<(Vec<E::Answer>, Gaps), ApiError> {
        let routing = self.routing();
        if routing.assignment.is_empty() {
            return Err(ApiError::NotReady(
                self.readiness()
                    .err()
                    .unwrap_or_else(|| "no shard available".into()),
            ));
        }
        let calls = routing.assignment.iter().map(|(address, partitions)| {
            let body = Partitioned {
                partitions: partitions.clone(),
                request,
            };
            async move {
                let sent = self
                    .http
                    .post(format!("http://{address}{PREFIX}{}", E::PATH))
                    .bearer_auth(&self.config.token)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|err| err.to_string());
                match sent {
                    Ok(response) => decode::<E::Answer>(response).await,
                    Err(err) => Err(Failure::Failed(err)),
                }
            }
        });
        let outcomes = futures::future::join_all(calls).await;
        // A shard that refuses for overload makes the whole answer a 429: a partial
        // answer would hide the overload, and the client's retry is what relieves it.
        if let Some(retry_after) = outcomes.iter().find_map(|outcome| match outcome {
            Err(Failure::Overloaded(retry_after)) => Some(*retry_after),
            _ => None,
        }) {
            return Err(ApiError::Overloaded(Refused {
                class: Class::Heavy,
                reason: "a shard is overloaded",
                retry_after,
            }));
        }
        let mut gaps = routing.gaps.clone();
        let mut answers = Vec::new();
        for ((address, partitions), outcome) in routing.assignment.iter().zip(outcomes) {
            let label = if outcome.is_ok() { "ok" } else { "error" };
            self.requests.with_label_values(&[address.as_str(), label]).inc();
            match outcome {
                Ok(answer) => answers.push(answer),
                Err(err) => {
                    tracing::warn!(shard = %address, error = %err, "shard request failed");
                    gaps.add(
                        partitions,
                        format!("shard {address} did not answer for partitions {partitions:?}: {err}"),
                    );
                    self.stale.notify_one();
                }
            }
        }
        if answers.is_empty() {
            return Err(ApiError::NotReady(format!(
                "no shard answered: {}",
                gaps.reasons.iter().cloned().collect::<Vec<_>>().join("; ")
            )));
        }
        Ok((answers, gaps))
    }
}

/// Why a shard gave no answer.
enum Failure {
    /// It refused for overload (429), asking to retry after this long.
    Overloaded(Duration),
    Failed(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Overloaded(after) => write!(f, "overloaded, retry after {} s", after.as_secs()),
            Failure::Failed(reason) => f.write_str(reason),
        }
    }
}

async fn decode<A: DeserializeOwned>(response: reqwest::Response) -> Result<A, Failure> {
    let status = response.status();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let seconds = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .unwrap_or(1);
        return Err(Failure::Overloaded(Duration::from_secs(seconds)));
    }
    decode_success(response).await.map_err(Failure::Failed)
}

async fn decode_success<A: DeserializeOwned>(response: reqwest::Response) -> Result<A, String> {
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(format!(
            "{status}: {}",
            body.chars().take(300).collect::<String>()
        ));
    }
    response.json::<A>().await.map_err(|err| err.to_string())
}

/// Gives every partition to one shard that owns it: a caught-up owner first, then the
/// one whose index has read furthest, then the first by address. Partitions nobody
/// owns, or whose owner is still replaying them, are gaps.
fn route(shards: BTreeMap<String, Result<ShardStatus, String>>) -> Routing {
    let topic_partitions = shards
        .values()
        .filter_map(|status| status.as_ref().ok())
        .map(|status| status.topic_partitions)
        .max()
        .unwrap_or(0);
    let mut assignment: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    let mut gaps = Gaps::default();
    let (mut unowned, mut rebuilding) = (Vec::new(), Vec::new());
    for partition in 0..topic_partitions as i32 {
        let best = shards
            .iter()
            .filter_map(|(address, status)| {
                let state = status.as_ref().ok()?.partitions.get(&partition)?;
                Some((address, state))
            })
            .min_by_key(|(address, state)| {
                (
                    !state.caught_up,
                    std::cmp::Reverse(state.committed.unwrap_or(-1)),
                    address.as_str(),
                )
            });
        match best {
            Some((address, state)) => {
                assignment.entry(address.clone()).or_default().push(partition);
                if !state.caught_up {
                    rebuilding.push(partition);
                }
            }
            None => unowned.push(partition),
        }
    }
    if !unowned.is_empty() {
        let down: Vec<&str> = shards
            .iter()
            .filter(|(_, status)| status.is_err())
            .map(|(address, _)| address.as_str())
            .collect();
        gaps.add(
            &unowned,
            format!("no reachable shard owns partitions {unowned:?} (unreachable shards: {down:?})"),
        );
    }
    if !rebuilding.is_empty() {
        gaps.add(
            &rebuilding,
            format!("partitions {rebuilding:?} are being rebuilt from Kafka by their new owner"),
        );
    }
    Routing {
        topic_partitions,
        assignment,
        gaps,
        shards,
        refreshed: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pivotlog_shard::PartitionState;

    fn status(partitions: &[(i32, bool, i64)]) -> Result<ShardStatus, String> {
        Ok(ShardStatus {
            topic: "t".into(),
            topic_partitions: 4,
            partitions: partitions
                .iter()
                .map(|&(p, caught_up, committed)| {
                    (
                        p,
                        PartitionState {
                            caught_up,
                            committed: Some(committed),
                        },
                    )
                })
                .collect(),
        })
    }

    #[test]
    fn each_partition_goes_to_one_owner_and_gaps_are_named() {
        let shards = BTreeMap::from([
            ("a:1".to_owned(), status(&[(0, true, 10), (2, true, 5)])),
            // A new owner of 2, still replaying it, and the owner of 3.
            ("b:1".to_owned(), status(&[(2, false, 3), (3, false, 1)])),
            ("c:1".to_owned(), Err("connection refused".into())),
        ]);
        let routing = route(shards);
        assert_eq!(routing.assignment["a:1"], [0, 2]);
        assert_eq!(routing.assignment["b:1"], [3]);
        assert_eq!(
            routing.gaps.partitions.iter().copied().collect::<Vec<_>>(),
            [1, 3]
        );
        let reasons = routing.gaps.reasons.iter().cloned().collect::<Vec<_>>().join(" ");
        assert!(
            reasons.contains("c:1") && reasons.contains("rebuilt"),
            "{reasons}"
        );
    }
}
