//! Why [`run`](super::run) gives up. Only setting up can fail (opening the writer,
//! creating the Kafka clients, an index of another topic): once the loop runs, broker
//! and disk failures are waited out, never returned.

use pivotlog_index::IndexError;
use rdkafka::error::KafkaError;

#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error("kafka client: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the index holds offsets of topic {stored:?}, not {configured:?}; use a fresh data directory")]
    TopicMismatch { stored: String, configured: String },
}
