//! The write side of pivotlog: everything that puts debug events on the topic.
//!
//! * [`import`] reads Kazoo `pivot_debug` documents as newline-delimited JSON (a CouchDB
//!   export, or a live feed) and publishes each as a [`DebugEvent`]; a malformed line is
//!   reported with its number and reason and the rest still goes through.
//! * [`simulate`] generates realistic, seed-reproducible Pivot traffic as Kazoo
//!   documents, so demos, tests and benchmarks exercise the same conversion path.
//! * [`EventProducer`] produces with delivery confirmation, keyed by call id.

pub mod import;
pub mod simulate;
pub mod traffic;

mod producer;

pub use producer::{Delivered, EventProducer, PublishError, MAX_IN_FLIGHT};

pub use pivotlog_proto::DebugEvent;
