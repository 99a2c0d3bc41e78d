//! Producing events with delivery confirmation, in order per call.

use std::collections::VecDeque;
use std::time::Duration;

use prost::Message;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use pivotlog_proto::DebugEvent;

/// Deliveries awaited at most at once; bounds memory whatever the input size.
pub const MAX_IN_FLIGHT: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot create the Kafka producer: {0}")]
    Client(KafkaError),
    #[error("delivery failed: {0}")]
    Delivery(KafkaError),
    #[error("delivery was cancelled (producer shut down)")]
    Cancelled,
}

/// Where a record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// A Kafka producer for debug events: key = call id, value = protobuf.
///
/// Records are handed to librdkafka in call order, and the producer is idempotent,
/// so the records of a call keep their order on their partition even across retries.
/// [`EventProducer::send`] keeps at most [`MAX_IN_FLIGHT`] deliveries pending; each
/// confirmation (or failure) comes back with the caller's tag.
pub struct EventProducer<T> {
    producer: FutureProducer,
    topic: String,
    in_flight: VecDeque<(T, DeliveryFuture)>,
}

impl<T> EventProducer<T> {
    /// `config` carries the brokers and any librdkafka property; delivery guarantees
    /// (idempotence, acks) are set here and win over it.
    pub fn new(config: &ClientConfig, topic: &str) -> Result<EventProducer<T>, PublishError> {
        let mut config = config.clone();
        config.set("enable.idempotence", "true").set("acks", "all");
        if config.get("linger.ms").is_none() {
            config.set("linger.ms", "5");
        }
        let producer = config.create().map_err(PublishError::Client)?;
        Ok(EventProducer {
            producer,
            topic: topic.to_owned(),
            in_flight: VecDeque::new(),
        })
    }

    /// Enqueues one event. Returns the confirmations that completed meanwhile, oldest first.
    pub async fn send(&mut self, event: &DebugEvent, tag: T) -> Vec<(T, Result<Delivered, PublishError>)> {
        let payload = event.encode_to_vec();
        let mut completed = Vec::new();
        loop {
            let record = FutureRecord::to(&self.topic)
                .key(event.kafka_key())
                .payload(&payload);
            match self.producer.send_result(record) {
                Ok(delivery) => {
                    self.in_flight.push_back((tag, delivery));
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    match self.in_flight.pop_front() {
                        Some(oldest) => completed.push(confirm(oldest).await),
                        None => tokio::time::sleep(Duration::from_millis(10)).await,
                    }
                }
                Err((err, _)) => {
                    completed.push((tag, Err(PublishError::Delivery(err))));
                    return completed;
                }
            }
        }
        while self.in_flight.len() > MAX_IN_FLIGHT {
            let oldest = self.in_flight.pop_front().expect("in_flight is not empty");
            completed.push(confirm(oldest).await);
        }
        completed
    }

    /// Waits for every pending delivery.
    pub async fn flush(&mut self) -> Vec<(T, Result<Delivered, PublishError>)> {
        let mut completed = Vec::with_capacity(self.in_flight.len());
        while let Some(pending) = self.in_flight.pop_front() {
            completed.push(confirm(pending).await);
        }
        completed
    }
}

async fn confirm<T>((tag, delivery): (T, DeliveryFuture)) -> (T, Result<Delivered, PublishError>) {
    let outcome = match delivery.await {
        Ok(Ok(delivery)) => Ok(Delivered {
            partition: delivery.partition,
            offset: delivery.offset,
        }),
        Ok(Err((err, _))) => Err(PublishError::Delivery(err)),
        Err(_) => Err(PublishError::Cancelled),
    };
    (tag, outcome)
}
