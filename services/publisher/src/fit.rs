//! Making every record fit the topic: a record whose encoding the broker would refuse
//! (`MessageSizeTooLarge`, Kafka's default `max.message.bytes` is 1 MB) has its body cut
//! instead, marked with the body's original size ([`pivotlog_proto::Record::original_body_bytes`]), so
//! nothing is refused and nothing is dropped silently.
//!
//! The broker checks a record batch as it arrives, compressed; librdkafka checks each
//! record before compression against its `message.max.bytes`. So the limit here is on
//! the compressed size, estimated with the producer's own codec (LZ4 or zstd at
//! librdkafka's default level; other codecs are estimated at the uncompressed size, which
//! is conservative), and the producer raises librdkafka's check to
//! [`MAX_UNCOMPRESSED_RECORD_BYTES`], the indexer's default `--max-record-bytes`, so a
//! whole record never becomes one the indexer dead-letters. A 1.2 MB HTML page
//! compresses to a fraction of the limit and is published whole; only what stays too big
//! once compressed is cut. Records whose encoding is within the limit are not compressed
//! here at all (the common case costs nothing): compressing incompressible data grows it
//! by a fraction of a percent, well within the 48 KB the default leaves under the
//! broker's 1,048,588 bytes.

use prost::Message;

use pivotlog_proto::DebugEvent;

/// Default most bytes a record may take on the broker, compressed: just under Kafka's
/// default `max.message.bytes` (1,048,588), which also counts the batch framing and the key.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1_000_000;

/// Most bytes a record may take uncompressed: the indexer's default `--max-record-bytes`
/// (8 MiB), so that a record published whole is never dead-lettered as oversized.
pub const MAX_UNCOMPRESSED_RECORD_BYTES: usize = 8 << 20;

/// librdkafka's default `compression.level` for zstd (`-1` means the codec's default).
const ZSTD_DEFAULT_LEVEL: i32 = 3;

/// The codec the producer compresses with, as far as the size estimate is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Lz4,
    Zstd {
        level: i32,
    },
    /// gzip or snappy: estimated at the uncompressed size.
    Other,
}

impl Codec {
    /// The codec of librdkafka's `compression.type` (or its alias `compression.codec`)
    /// and `compression.level` settings.
    pub fn from_settings(codec: &str, level: Option<&str>) -> Codec {
        let level = level
            .and_then(|l| l.trim().parse::<i32>().ok())
            .filter(|l| *l >= 0);
        match codec.trim().to_ascii_lowercase().as_str() {
            "none" | "" => Codec::None,
            "lz4" => Codec::Lz4,
            "zstd" => Codec::Zstd {
                level: level.unwrap_or(ZSTD_DEFAULT_LEVEL),
            },
            _ => Codec::Other,
        }
    }

    /// Bytes `payload` takes once compressed (an estimate: librdkafka compresses a whole
    /// batch, and a record this large is alone in its batch once over `batch.size`).
    pub fn compressed_len(self, payload: &[u8]) -> usize {
        match self {
            Codec::None | Codec::Other => payload.len(),
            Codec::Lz4 => {
                let mut output = vec![0; lz4_flex::block::get_maximum_output_size(payload.len())];
                lz4_flex::block::compress_into(payload, &mut output).unwrap_or(payload.len())
            }
            Codec::Zstd { level } => {
                zstd::bulk::compress(payload, level).map_or(payload.len(), |compressed| compressed.len())
            }
        }
    }
}

/// What a record may take: on the broker (compressed), and uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLimits {
    pub max_record_bytes: usize,
    pub max_uncompressed_bytes: usize,
}

impl Default for RecordLimits {
    fn default() -> RecordLimits {
        RecordLimits {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_uncompressed_bytes: MAX_UNCOMPRESSED_RECORD_BYTES,
        }
    }
}

/// A body the fitter cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub original_body_bytes: u64,
    pub kept_body_bytes: usize,
    /// The record's encoding before the cut.
    pub original_record_bytes: usize,
}

/// A record that cannot fit even with its body cut to nothing (huge headers, say).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "record of {record_bytes} bytes does not fit the {limit}-byte record limit even with its body cut (--max-record-bytes)"
)]
pub struct DoesNotFit {
    pub record_bytes: usize,
    pub limit: usize,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Fitter {
    pub(crate) codec: Codec,
    pub(crate) limits: RecordLimits,
}

impl Fitter {
    /// The payload to produce for `event`, and the cut made to get it, if any.
    pub(crate) fn fit(&self, event: &DebugEvent) -> Result<(Vec<u8>, Option<Cut>), DoesNotFit> {
        let payload = event.encode_to_vec();
        let key = event.kafka_key().len();
        if self.fits(&payload, key) {
            return Ok((payload, None));
        }
        let does_not_fit = DoesNotFit {
            record_bytes: payload.len(),
            limit: self.limits.max_record_bytes,
        };
        let Some(record) = event.record.as_ref() else {
            return Err(does_not_fit);
        };
        let body_len = record.body().len();
        let cut_to = |keep: usize| {
            let mut cut = event.clone();
            cut.record.as_mut().expect("checked above").truncate_body(keep);
            let payload = cut.encode_to_vec();
            (cut, payload)
        };
        // The largest prefix that fits: compressed size grows with the prefix (not
        // strictly, so each candidate is checked itself), hence a binary search, about
        // 20 compressions of at most the record, once per record too big.
        let mut fitting = None;
        let (mut low, mut high) = (0, body_len);
        while low < high {
            let middle = low + (high - low) / 2;
            let (cut, candidate) = cut_to(middle);
            if self.fits(&candidate, key) {
                fitting = Some((cut, candidate));
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        let (cut, payload_cut) = fitting.ok_or(does_not_fit)?;
        let cut_record = cut.record.as_ref().expect("checked above");
        let marked = Cut {
            original_body_bytes: cut_record.original_body_bytes().unwrap_or(body_len as u64),
            kept_body_bytes: cut_record.body().len(),
            original_record_bytes: payload.len(),
        };
        Ok((payload_cut, Some(marked)))
    }

    fn fits(&self, payload: &[u8], key_bytes: usize) -> bool {
        let RecordLimits {
            max_record_bytes,
            max_uncompressed_bytes,
        } = self.limits;
        payload.len() <= max_uncompressed_bytes
            && (payload.len() + key_bytes <= max_record_bytes
                || self.codec.compressed_len(payload) + key_bytes <= max_record_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pivotlog_proto::{HttpResponse, Record};

    fn response(body: String) -> DebugEvent {
        DebugEvent {
            schema_version: 1,
            event_id: "e1".into(),
            account_id: "a".repeat(32),
            call_id: "c@1".into(),
            iteration: 1,
            created_unix_ms: 1_710_253_474_000,
            record: Some(Record::Response(HttpResponse {
                status_code: 200,
                body,
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    /// Text that no codec shrinks below 3/4: random base64 symbols (6 bits a byte).
    fn incompressible(bytes: usize) -> String {
        const SYMBOLS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..bytes)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(SYMBOLS[(state % 64) as usize])
            })
            .collect()
    }

    fn html(bytes: usize) -> String {
        let row = "<tr><td class=\"cell\">account</td><td>callflow 42</td></tr>\n";
        let mut page = String::from("<html><body>needle<table>\n");
        while page.len() < bytes {
            page.push_str(row);
        }
        page
    }

    fn fitter(codec: Codec) -> Fitter {
        Fitter {
            codec,
            limits: RecordLimits::default(),
        }
    }

    #[test]
    fn a_compressible_big_body_is_published_whole() {
        let event = response(html(1_200_000));
        for codec in [Codec::Lz4, Codec::Zstd { level: 3 }] {
            let (payload, cut) = fitter(codec).fit(&event).unwrap();
            assert_eq!(cut, None, "{codec:?}");
            assert_eq!(payload, event.encode_to_vec());
        }
    }

    #[test]
    fn what_does_not_fit_compressed_is_cut_to_fit_and_marked() {
        let body = incompressible(1_500_000);
        let event = response(body.clone());
        for codec in [Codec::None, Codec::Lz4, Codec::Zstd { level: 3 }, Codec::Other] {
            let fitter = fitter(codec);
            let (payload, cut) = fitter.fit(&event).unwrap();
            let cut = cut.expect("cut");
            assert_eq!(cut.original_body_bytes, 1_500_000);
            assert!(fitter.fits(&payload, 3), "{codec:?}");
            let decoded = pivotlog_proto::decode_event(&payload).unwrap();
            let record = decoded.record.unwrap();
            assert_eq!(record.original_body_bytes(), Some(1_500_000));
            assert_eq!(record.body().len(), cut.kept_body_bytes);
            assert!(body.starts_with(record.body()), "the start of the body is kept");
            // Close to the limit, not far below it: little is cut that would have fitted.
            assert!(
                codec.compressed_len(&payload) > DEFAULT_MAX_RECORD_BYTES - 20_000,
                "{codec:?}: {} bytes",
                codec.compressed_len(&payload)
            );
        }
    }

    #[test]
    fn multi_byte_text_is_cut_at_a_character_boundary() {
        let event = response("é€😀".repeat(200_000));
        let (payload, cut) = fitter(Codec::None).fit(&event).unwrap();
        assert!(cut.is_some());
        // decode_event checks the body is UTF-8 (prost refuses invalid strings).
        assert!(pivotlog_proto::decode_event(&payload).is_ok());
    }

    #[test]
    fn a_record_too_big_without_its_body_is_refused_with_the_reason() {
        let mut event = response("small".into());
        if let Some(Record::Response(response)) = event.record.as_mut() {
            response
                .headers
                .insert("x-huge".into(), incompressible(2_000_000));
        }
        let err = fitter(Codec::Lz4).fit(&event).unwrap_err();
        assert_eq!(err.limit, DEFAULT_MAX_RECORD_BYTES);
        assert!(err.to_string().contains("--max-record-bytes"), "{err}");
    }

    #[test]
    fn whole_records_stay_within_the_uncompressed_cap() {
        // 9 MB that compresses to almost nothing: whole, it would be dead-lettered by
        // an indexer at its default --max-record-bytes.
        let event = response("a".repeat(9_000_000));
        let (payload, cut) = fitter(Codec::Zstd { level: 3 }).fit(&event).unwrap();
        assert!(cut.is_some());
        assert!(payload.len() <= MAX_UNCOMPRESSED_RECORD_BYTES);
    }

    #[test]
    fn codecs_come_from_librdkafka_settings() {
        assert_eq!(Codec::from_settings("LZ4", None), Codec::Lz4);
        assert_eq!(Codec::from_settings("zstd", None), Codec::Zstd { level: 3 });
        assert_eq!(Codec::from_settings("zstd", Some("9")), Codec::Zstd { level: 9 });
        assert_eq!(Codec::from_settings("zstd", Some("-1")), Codec::Zstd { level: 3 });
        assert_eq!(Codec::from_settings("none", None), Codec::None);
        assert_eq!(Codec::from_settings("gzip", None), Codec::Other);
    }
}
