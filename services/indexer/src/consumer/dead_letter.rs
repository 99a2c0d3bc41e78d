//! The dead-letter producer: undecodable and oversized records are copied to a topic,
//! with where they came from and why, and confirmed there before the checkpoint may
//! pass them (otherwise a crash between the skip and the delivery would lose them).
//!
//! A dead letter's payload is cut to what the producer may send (`message.max.bytes`
//! less room for the key and headers), with the original size in a
//! `pivotlog.payload.truncated` header: a record the producer refuses would fail every
//! commit after it. The whole record stays in the source topic, at the offset given.

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

/// Room left in a dead letter for the key, the headers and the record framing.
const DEAD_LETTER_OVERHEAD: usize = 16 << 10;

pub(super) struct DeadLetters {
    producer: FutureProducer,
    topic: String,
    max_payload: usize,
    /// Enqueued deliveries, or why a record could not even be enqueued.
    pending: Vec<Result<DeliveryFuture, KafkaError>>,
}

impl DeadLetters {
    pub(super) fn new(kafka: &ClientConfig, topic: &str) -> Result<DeadLetters, KafkaError> {
        let mut config = kafka.clone();
        // A retried send must not copy a record twice.
        config.set("enable.idempotence", "true");
        let message_max = config
            .get("message.max.bytes")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1_000_000);
        Ok(DeadLetters {
            producer: config.create()?,
            topic: topic.to_owned(),
            max_payload: message_max.saturating_sub(DEAD_LETTER_OVERHEAD).max(1024),
            pending: Vec::new(),
        })
    }

    pub(super) fn send(&mut self, message: &BorrowedMessage<'_>, reason: &str) {
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let payload = message.payload().unwrap_or_default();
        let key = message.key().unwrap_or_default();
        let room = self.max_payload.saturating_sub(key.len() + reason.len());
        let original_bytes = payload.len().to_string();
        let mut headers = OwnedHeaders::new()
            .insert(Header {
                key: "pivotlog.source.topic",
                value: Some(message.topic()),
            })
            .insert(Header {
                key: "pivotlog.source.partition",
                value: Some(&partition),
            })
            .insert(Header {
                key: "pivotlog.source.offset",
                value: Some(&offset),
            })
            .insert(Header {
                key: "pivotlog.error",
                value: Some(reason),
            });
        if payload.len() > room {
            headers = headers.insert(Header {
                key: "pivotlog.payload.truncated",
                value: Some(&original_bytes),
            });
        }
        let mut record = FutureRecord::to(&self.topic)
            .payload(&payload[..payload.len().min(room)])
            .headers(headers);
        if message.key().is_some() {
            record = record.key(key);
        }
        match self.producer.send_result(record) {
            Ok(delivery) => self.pending.push(Ok(delivery)),
            Err((err, _)) => self.pending.push(Err(err)),
        }
    }

    /// Waits for every pending dead letter; the checkpoint may only pass them once they
    /// are on the broker. Returns how many were confirmed.
    pub(super) fn confirm(&mut self) -> Result<u64, String> {
        let mut confirmed = 0;
        for delivery in self.pending.drain(..) {
            let delivery = delivery.map_err(|err| err.to_string())?;
            match futures::executor::block_on(delivery) {
                Ok(Ok(_)) => confirmed += 1,
                Ok(Err((err, _))) => return Err(err.to_string()),
                Err(_) => return Err("dead-letter producer dropped the delivery".into()),
            }
        }
        Ok(confirmed)
    }
}
