//! Debug events for tests that need many calls over many days without a simulator.

use pivotlog_proto::{DebugEvent, HttpRequest, HttpResponse, Record};

const DAY_MS: i64 = 86_400_000;

/// `calls_per_day` calls of `account` a day over `days` days from `start_unix_ms`, each a
/// request and its response 40 ms later, in time order and grouped by call (as a Kazoo
/// export lists them). Call `n` is `call-{n}`; its events are `call-{n}-req` and `-resp`.
pub fn daily_calls(account: &str, start_unix_ms: i64, days: i64, calls_per_day: i64) -> Vec<Vec<DebugEvent>> {
    let spacing = DAY_MS / calls_per_day;
    (0..days * calls_per_day)
        .map(|n| {
            let at = start_unix_ms + n * spacing;
            let call = format!("call-{n}");
            let record = |kind: &str, created_unix_ms, record| DebugEvent {
                schema_version: 1,
                event_id: format!("{call}-{kind}"),
                account_id: account.into(),
                ancestor_ids: vec![],
                call_id: call.clone(),
                iteration: 1,
                created_unix_ms,
                node: "kz".into(),
                record: Some(record),
            };
            vec![
                record(
                    "req",
                    at,
                    Record::Request(HttpRequest {
                        uri: format!("http://pivot.example/{n}"),
                        method: "POST".into(),
                        ..Default::default()
                    }),
                ),
                record(
                    "resp",
                    at + 40,
                    Record::Response(HttpResponse {
                        status_code: 200,
                        body: format!("<Response><Say>call {n}</Say></Response>"),
                        ..Default::default()
                    }),
                ),
            ]
        })
        .collect()
}
