//! The traffic mix: how often each kind of call, reply and caller shows up, and how big
//! bodies get, together so the mix can be read and tuned in one place.

use super::replies::ResponseKind;

/// Spread of the log-normal body size: p10 is about a third of the median, p99 about 7x.
pub(super) const BODY_SIGMA: f64 = 0.85;
pub(super) const BODY_CAP_BYTES: usize = 64 * 1024;
/// Keeps an absurd median from making one call allocate gigabytes.
pub(super) const MEDIAN_CAP_BYTES: usize = 256 * 1024;
pub(super) const TIMEOUT_SHARE: f64 = 0.05;

pub(super) const NODES: [&str; 4] = [
    "kazoo_apps@apps001.example.com",
    "kazoo_apps@apps002.example.com",
    "kazoo_apps@apps003.example.com",
    "kazoo_apps@apps001.dc2.example.com",
];
pub(super) const ITERATION_WEIGHTS: [(u32, u32); 5] = [(1, 45), (2, 30), (3, 12), (4, 7), (5, 6)];
pub(super) const RESPONSE_WEIGHTS: [(ResponseKind, u32); 9] = [
    (ResponseKind::Callflow, 59),
    (ResponseKind::Twiml, 10),
    (ResponseKind::NotFound, 8),
    (ResponseKind::ServerError, 8),
    (ResponseKind::Gateway, 4),
    (ResponseKind::ErrorReply, 4),
    (ResponseKind::SipTrace, 2),
    (ResponseKind::InvalidJson, 3),
    (ResponseKind::SchemaError, 2),
];

pub(super) const FIRST_NAMES: [&str; 16] = [
    "Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj",
    "Olivia", "Peggy", "Rupert", "Sybil",
];
pub(super) const LAST_NAMES: [&str; 12] = [
    "Smith", "Johnson", "Garcia", "Brown", "Nguyen", "Martin", "Lee", "Walker", "Young", "Lopez", "Clark",
    "Hill",
];
pub(super) const AREA_CODES: [&str; 8] = ["415", "212", "312", "617", "303", "206", "512", "702"];
pub(super) const LANGUAGES: [&str; 5] = ["en-us", "en-us", "en-gb", "fr-ca", "es-mx"];
