//! Stopping a read its caller has given up on (the client disconnected, the deadline
//! passed), so abandoned requests do not keep burning CPU.
//!
//! A read runs on a blocking thread, out of reach of the async task that wanted it. The
//! caller runs it inside [`scope`] with a shared flag and raises the flag when it gives
//! up; the index checks the flag ([`check`]) between slices and between segments, and
//! returns [`IndexError::Interrupted`]. A thread-local keeps the read API unchanged:
//! reads outside a scope are never interrupted.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{SegmentOrdinal, SegmentReader};

use crate::IndexError;

thread_local! {
    static CURRENT: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Runs `read` with `flag` as its interrupt: once the flag is raised, the read stops at
/// its next check.
pub fn scope<T>(flag: &Arc<AtomicBool>, read: impl FnOnce() -> T) -> T {
    let previous = CURRENT.with(|current| current.replace(Some(flag.clone())));
    let result = read();
    CURRENT.with(|current| *current.borrow_mut() = previous);
    result
}

/// Whether the read running on this thread has been given up.
pub fn is_raised() -> bool {
    CURRENT.with(|current| {
        current
            .borrow()
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    })
}

/// `Err(Interrupted)` once the read running on this thread has been given up.
pub fn check() -> Result<(), IndexError> {
    if is_raised() {
        Err(IndexError::Interrupted)
    } else {
        Ok(())
    }
}

/// A collector that stops a search before each segment once the read is given up (a
/// segment of a large slice is the unit of work worth checking between).
pub(crate) struct Interruptible<C>(pub C);

impl<C: Collector> Collector for Interruptible<C> {
    type Fruit = C::Fruit;
    type Child = C::Child;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<C::Child> {
        if is_raised() {
            return Err(tantivy::TantivyError::InternalError(INTERRUPTED.into()));
        }
        self.0.for_segment(segment, reader)
    }

    fn requires_scoring(&self) -> bool {
        self.0.requires_scoring()
    }

    fn merge_fruits(&self, fruits: Vec<<C::Child as SegmentCollector>::Fruit>) -> tantivy::Result<C::Fruit> {
        self.0.merge_fruits(fruits)
    }
}

const INTERRUPTED: &str = "interrupted";

/// The error of a search, as [`IndexError::Interrupted`] when the read was given up.
pub(crate) fn or_interrupted(err: tantivy::TantivyError) -> IndexError {
    if is_raised() {
        IndexError::Interrupted
    } else {
        err.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_raised_flag_in_scope_interrupts() {
        let flag = Arc::new(AtomicBool::new(false));
        assert!(check().is_ok(), "outside a scope");
        scope(&flag, || {
            assert!(check().is_ok());
            flag.store(true, Ordering::Relaxed);
            assert!(matches!(check(), Err(IndexError::Interrupted)));
        });
        assert!(check().is_ok(), "the scope ended");
    }
}
