//! What a consumer checks before it trusts a decoded event.

use prost::Message;

use crate::v1::debug_event::Record;
use crate::DebugEvent;

/// The schema version this build writes and the highest it can read.
pub const CURRENT_SCHEMA_VERSION: u32 = 1;

/// The four kinds of debug record, as named in the API and the search language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Request,
    Response,
    JsonError,
    SchemaError,
}

impl RecordKind {
    pub const ALL: [RecordKind; 4] = [
        RecordKind::Request,
        RecordKind::Response,
        RecordKind::JsonError,
        RecordKind::SchemaError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Request => "request",
            RecordKind::Response => "response",
            RecordKind::JsonError => "json_error",
            RecordKind::SchemaError => "schema_error",
        }
    }

    pub fn parse(name: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    pub fn of(record: &Record) -> RecordKind {
        match record {
            Record::Request(_) => RecordKind::Request,
            Record::Response(_) => RecordKind::Response,
            Record::JsonError(_) => RecordKind::JsonError,
            Record::SchemaError(_) => RecordKind::SchemaError,
        }
    }
}

impl Record {
    /// The record's body: the request body for requests, the reply body otherwise.
    pub fn body(&self) -> &str {
        match self {
            Record::Request(request) => &request.body,
            Record::Response(response) => &response.body,
            Record::JsonError(error) => &error.body,
            Record::SchemaError(error) => &error.body,
        }
    }

    /// The body's size before the publisher cut it to fit the topic, if it did.
    ///
    /// A marker not larger than the body cannot describe a cut (a bug or a forged record),
    /// so it reads as "whole" rather than making the record undecodable.
    pub fn original_body_bytes(&self) -> Option<u64> {
        let (body, original) = self.body_parts();
        (original > body.len() as u64).then_some(original)
    }

    /// Cuts the body to at most `max_bytes`, at a UTF-8 boundary, keeping its start, and
    /// marks the cut with the size before it. Cutting an already cut body keeps the first
    /// original size. Returns false (and changes nothing) when the body already fits.
    pub fn truncate_body(&mut self, max_bytes: usize) -> bool {
        let whole = self.original_body_bytes();
        let (body, original) = self.body_parts_mut();
        if body.len() <= max_bytes {
            return false;
        }
        let before = body.len() as u64;
        let mut cut = max_bytes;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        *original = whole.unwrap_or(before);
        true
    }

    fn body_parts(&self) -> (&str, u64) {
        match self {
            Record::Request(request) => (&request.body, request.body_original_bytes),
            Record::Response(response) => (&response.body, response.body_original_bytes),
            Record::JsonError(error) => (&error.body, error.body_original_bytes),
            Record::SchemaError(error) => (&error.body, error.body_original_bytes),
        }
    }

    fn body_parts_mut(&mut self) -> (&mut String, &mut u64) {
        match self {
            Record::Request(request) => (&mut request.body, &mut request.body_original_bytes),
            Record::Response(response) => (&mut response.body, &mut response.body_original_bytes),
            Record::JsonError(error) => (&mut error.body, &mut error.body_original_bytes),
            Record::SchemaError(error) => (&mut error.body, &mut error.body_original_bytes),
        }
    }
}

/// A well-formed protobuf message that is not a usable event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEvent {
    #[error("schema_version {0} is not supported (this build reads 1..={CURRENT_SCHEMA_VERSION})")]
    UnsupportedVersion(u32),
    #[error("required field `{0}` is missing or empty")]
    MissingField(&'static str),
    #[error("iteration must be at least 1")]
    ZeroIteration,
    #[error("created_unix_ms {0} is after the year 9999")]
    CreatedTooLate(i64),
    #[error("no record (request, response, json_error or schema_error) is set")]
    NoRecord,
    #[error("status_code {0} is not an HTTP status")]
    BadStatusCode(u32),
}

/// Why bytes read from Kafka could not become an event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a pivot.debug.v1.DebugEvent: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("invalid event: {0}")]
    Invalid(#[from] InvalidEvent),
}

impl DebugEvent {
    /// Checks what proto3 cannot express: versions, required fields, one record.
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        if self.schema_version == 0 {
            return Err(InvalidEvent::MissingField("schema_version"));
        }
        if self.schema_version > CURRENT_SCHEMA_VERSION {
            return Err(InvalidEvent::UnsupportedVersion(self.schema_version));
        }
        let required = [
            ("event_id", self.event_id.is_empty()),
            ("account_id", self.account_id.is_empty()),
            ("call_id", self.call_id.is_empty()),
            ("created_unix_ms", self.created_unix_ms <= 0),
        ];
        if let Some((field, _)) = required.iter().find(|(_, missing)| *missing) {
            return Err(InvalidEvent::MissingField(field));
        }
        if self.iteration == 0 {
            return Err(InvalidEvent::ZeroIteration);
        }
        if self.created_unix_ms > crate::time::MAX_UNIX_MS {
            return Err(InvalidEvent::CreatedTooLate(self.created_unix_ms));
        }
        match &self.record {
            None => Err(InvalidEvent::NoRecord),
            Some(Record::Response(response)) if !(100..=999).contains(&response.status_code) => {
                Err(InvalidEvent::BadStatusCode(response.status_code))
            }
            Some(_) => Ok(()),
        }
    }

    pub fn kind(&self) -> Option<RecordKind> {
        self.record.as_ref().map(RecordKind::of)
    }

    /// The Kafka record key: every record of a call goes to one partition, in order.
    pub fn kafka_key(&self) -> &[u8] {
        self.call_id.as_bytes()
    }
}

/// Decodes and validates one Kafka record value.
pub fn decode_event(bytes: &[u8]) -> Result<DebugEvent, DecodeError> {
    let event = DebugEvent::decode(bytes)?;
    event.validate()?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HttpResponse;

    fn valid() -> DebugEvent {
        DebugEvent {
            schema_version: 1,
            event_id: "e1".into(),
            account_id: "a".repeat(32),
            ancestor_ids: vec![],
            call_id: "c@1".into(),
            iteration: 1,
            created_unix_ms: 1_710_253_474_000,
            node: "n".into(),
            record: Some(Record::Response(HttpResponse {
                status_code: 200,
                body: "ok".into(),
                ..Default::default()
            })),
        }
    }

    #[test]
    fn a_valid_event_round_trips() {
        let bytes = valid().encode_to_vec();
        assert_eq!(decode_event(&bytes).unwrap(), valid());
    }

    #[test]
    fn truncated_and_garbage_bytes_are_rejected() {
        let bytes = valid().encode_to_vec();
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode_event(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(
            decode_event(&[0xff, 0xff, 0xff]),
            Err(DecodeError::Protobuf(_))
        ));
        // Empty bytes decode to the default message, which has no version.
        assert!(matches!(
            decode_event(&[]),
            Err(DecodeError::Invalid(InvalidEvent::MissingField("schema_version")))
        ));
    }

    #[test]
    fn future_versions_and_missing_fields_are_rejected() {
        let mut event = valid();
        event.schema_version = 2;
        assert_eq!(event.validate(), Err(InvalidEvent::UnsupportedVersion(2)));
        let mut event = valid();
        event.call_id.clear();
        assert_eq!(event.validate(), Err(InvalidEvent::MissingField("call_id")));
        let mut event = valid();
        event.iteration = 0;
        assert_eq!(event.validate(), Err(InvalidEvent::ZeroIteration));
        let mut event = valid();
        event.record = None;
        assert_eq!(event.validate(), Err(InvalidEvent::NoRecord));
        let mut event = valid();
        event.record = Some(Record::Response(HttpResponse {
            status_code: 42,
            ..Default::default()
        }));
        assert_eq!(event.validate(), Err(InvalidEvent::BadStatusCode(42)));
    }

    #[test]
    fn unknown_fields_from_newer_producers_are_tolerated() {
        let mut bytes = valid().encode_to_vec();
        // Field 99, varint 7: a field this build does not know.
        bytes.extend_from_slice(&[0x98, 0x06, 0x07]);
        assert_eq!(decode_event(&bytes).unwrap(), valid());
    }

    #[test]
    fn bodies_are_cut_at_char_boundaries_and_marked() {
        let mut event = valid();
        let record = event.record.as_mut().unwrap();
        assert_eq!(record.original_body_bytes(), None);
        assert!(!record.truncate_body(2), "a body that fits is left alone");
        *record = Record::Request(crate::HttpRequest {
            body: "aé€x".into(), // 1 + 2 + 3 + 1 bytes
            ..Default::default()
        });
        assert!(record.truncate_body(5), "inside the euro sign: cut before it");
        assert_eq!(record.body(), "aé");
        assert_eq!(record.original_body_bytes(), Some(7));
        assert!(record.truncate_body(1));
        assert_eq!(record.body(), "a");
        assert_eq!(
            record.original_body_bytes(),
            Some(7),
            "the first original size stays"
        );
        // The marker survives the wire, and an old reader's view is a valid event.
        let bytes = event.encode_to_vec();
        let decoded = decode_event(&bytes).unwrap();
        assert_eq!(decoded.record.unwrap().original_body_bytes(), Some(7));
    }

    #[test]
    fn a_marker_that_describes_no_cut_reads_as_whole() {
        let mut event = valid();
        if let Some(Record::Response(response)) = event.record.as_mut() {
            response.body_original_bytes = 2; // == body.len(): not a cut
        }
        let decoded = decode_event(&event.encode_to_vec()).expect("still a valid event");
        assert_eq!(decoded.record.unwrap().original_body_bytes(), None);
    }

    #[test]
    fn kinds_have_stable_names() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(RecordKind::parse("nope"), None);
    }
}
