//! The per-call summary behind the listing endpoint.

use serde::{Deserialize, Serialize};

use pivotlog_proto::{DebugEvent, Record};

/// What the listing shows of one call, folded from all of its records.
///
/// Kazoo's fields (`created`, `node`, `uri`, `status_code`) come from the call's first
/// iteration, as Kazoo's `first_iteration` view does; the rest is what an operator
/// wants at a glance. Folding is insensitive to the arrival order of records except
/// for exact timestamp ties, where the first one seen wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSummary {
    pub account_id: String,
    pub call_id: String,
    pub ancestor_ids: Vec<String>,
    /// Unix ms of the call's earliest record; the listing's sort key.
    pub first_created_ms: i64,
    /// Unix ms of the call's latest record.
    pub last_created_ms: i64,
    pub node: String,
    /// The URI of the earliest iteration-1 request.
    pub uri: Option<String>,
    /// `uri` came from this record's time (to keep the earliest on merge).
    uri_created_ms: i64,
    /// Status of the earliest iteration-1 response.
    pub status_code: Option<u32>,
    status_created_ms: i64,
    /// Status of the latest response of the call, by (iteration, time).
    pub last_status_code: Option<u32>,
    last_status_at: (u32, i64),
    pub has_json_errors: bool,
    pub has_schema_errors: bool,
    /// Highest iteration seen.
    pub iterations: u32,
    /// Number of records of the call.
    pub records: u64,
}

impl CallSummary {
    pub fn from_event(event: &DebugEvent) -> CallSummary {
        let mut summary = CallSummary {
            account_id: event.account_id.clone(),
            call_id: event.call_id.clone(),
            ancestor_ids: event.ancestor_ids.clone(),
            first_created_ms: event.created_unix_ms,
            last_created_ms: event.created_unix_ms,
            node: event.node.clone(),
            uri: None,
            uri_created_ms: i64::MAX,
            status_code: None,
            status_created_ms: i64::MAX,
            last_status_code: None,
            last_status_at: (0, i64::MIN),
            has_json_errors: false,
            has_schema_errors: false,
            iterations: 0,
            records: 0,
        };
        summary.fold_record(event);
        summary
    }

    /// Folds one more record of the same call into the summary.
    pub fn add(&mut self, event: &DebugEvent) {
        if event.created_unix_ms < self.first_created_ms {
            self.first_created_ms = event.created_unix_ms;
            self.node = event.node.clone();
        }
        self.last_created_ms = self.last_created_ms.max(event.created_unix_ms);
        if self.ancestor_ids.is_empty() {
            self.ancestor_ids = event.ancestor_ids.clone();
        }
        self.fold_record(event);
    }

    fn fold_record(&mut self, event: &DebugEvent) {
        self.records += 1;
        self.iterations = self.iterations.max(event.iteration);
        let created = event.created_unix_ms;
        match &event.record {
            Some(Record::Request(request)) if event.iteration == 1 && created < self.uri_created_ms => {
                self.uri = Some(request.uri.clone());
                self.uri_created_ms = created;
            }
            Some(Record::Response(response)) => {
                if event.iteration == 1 && created < self.status_created_ms {
                    self.status_code = Some(response.status_code);
                    self.status_created_ms = created;
                }
                if (event.iteration, created) > self.last_status_at {
                    self.last_status_code = Some(response.status_code);
                    self.last_status_at = (event.iteration, created);
                }
            }
            Some(Record::JsonError(_)) => self.has_json_errors = true,
            Some(Record::SchemaError(_)) => self.has_schema_errors = true,
            _ => {}
        }
    }
}
