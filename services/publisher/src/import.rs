//! `pivotlog publish`: Kazoo documents as newline-delimited JSON, to the topic.

use std::io::BufRead;

use serde_json::Value;

use pivotlog_proto::kazoo::event_from_doc;

use crate::{EventProducer, PublishError};

/// What an import did; `is_complete` says whether every line was delivered.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Non-blank lines read.
    pub lines: u64,
    pub delivered: u64,
    /// Lines that could not be read or converted: (line number, reason).
    pub malformed: Vec<(u64, String)>,
    /// Lines converted but not delivered: (line number, reason).
    pub undelivered: Vec<(u64, String)>,
    /// Delivered records whose body was cut to fit the topic (each logged with its id).
    pub truncated: u64,
}

impl ImportReport {
    pub fn is_complete(&self) -> bool {
        self.malformed.is_empty() && self.undelivered.is_empty()
    }

    fn record(&mut self, outcomes: Vec<(u64, Result<crate::Delivered, PublishError>)>) {
        for (line, outcome) in outcomes {
            match outcome {
                Ok(_) => self.delivered += 1,
                Err(err) => self.undelivered.push((line, err.to_string())),
            }
        }
    }
}

/// Publishes every document of `input`; `on_problem` hears about each bad line as it
/// happens (for logs), and the report lists them all.
pub async fn publish_ndjson<R: BufRead>(
    input: R,
    producer: &mut EventProducer<u64>,
    mut on_problem: impl FnMut(u64, &str),
) -> ImportReport {
    let mut report = ImportReport::default();
    for (index, line) in input.lines().enumerate() {
        let number = index as u64 + 1;
        let line = match line {
            Ok(line) => line,
            Err(err) => {
                let reason = format!("unreadable line: {err}");
                on_problem(number, &reason);
                report.malformed.push((number, reason));
                if err.kind() == std::io::ErrorKind::InvalidData {
                    continue;
                }
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        report.lines += 1;
        match parse_line(&line) {
            Ok(event) => {
                let outcomes = producer.send(&event, number).await;
                report.record(outcomes);
            }
            Err(reason) => {
                on_problem(number, &reason);
                report.malformed.push((number, reason));
            }
        }
    }
    let outcomes = producer.flush().await;
    report.record(outcomes);
    report.truncated = producer.truncated();
    for (line, reason) in &report.undelivered {
        on_problem(*line, reason);
    }
    report
}

/// One line to an event, or the reason it cannot be one.
pub fn parse_line(line: &str) -> Result<pivotlog_proto::DebugEvent, String> {
    let doc: Value = serde_json::from_str(line).map_err(|err| format!("invalid JSON: {err}"))?;
    event_from_doc(&doc).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_say_why() {
        assert!(parse_line("{").unwrap_err().starts_with("invalid JSON"));
        assert_eq!(parse_line("[]").unwrap_err(), "not a JSON object");
        assert_eq!(
            parse_line("{\"_id\":\"x\"}").unwrap_err(),
            "missing field `iteration`"
        );
    }
}
