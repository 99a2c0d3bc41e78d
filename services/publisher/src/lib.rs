//! The write side of pivotlog: everything that puts debug events on the topic.
//!
//! * [`import`] reads Kazoo `pivot_debug` documents as newline-delimited JSON (a CouchDB
//!   export, or a live feed) and publishes each as a [`DebugEvent`]; a malformed line is
//!   reported with its number and reason and the rest still goes through.
//! * [`simulate`] generates realistic, seed-reproducible Pivot traffic as Kazoo
//!   documents, so demos, tests and benchmarks exercise the same conversion path.
//! * [`EventProducer`] produces with delivery confirmation, keyed by call id, compressed;
//!   [`fit`] cuts the body of a record too large for the topic instead of losing it.

pub mod fit;
pub mod import;
pub mod simulate;
pub mod traffic;

mod producer;

pub use fit::{RecordLimits, DEFAULT_MAX_RECORD_BYTES, MAX_UNCOMPRESSED_RECORD_BYTES};
pub use producer::{Delivered, EventProducer, PublishError, DEFAULT_COMPRESSION, MAX_IN_FLIGHT};

pub use pivotlog_proto::DebugEvent;
