//! The index directory as a whole on disk: who may write it, and how `pivotlog reindex`
//! replaces it.
//!
//! * **One writer per directory.** A writer holds an exclusive `flock` on `writer.lock`
//!   for as long as it lives; a second writer fails at once ([`IndexError::Locked`])
//!   instead of interleaving its commits with the first one's. The lock belongs to the
//!   open file, so a writer that dies leaves nothing to clean up.
//! * **Atomic exchange for reindex.** A replacement is built beside the live index
//!   ([`rebuild_dir`]), marked ready once caught up ([`REBUILT_MARKER`]), and exchanged
//!   with it by one `renameat2(RENAME_EXCHANGE)` ([`swap_directories`]): a reader finds
//!   the old directory or the new one, never neither. The directory's inode tells an
//!   open index that the exchange happened ([`PivotIndex::is_swapped`]), so the writer
//!   drops what it holds and readers reopen their slices.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::{IndexError, PivotIndex};

/// Held (flock) by the one writer of an index directory.
const WRITER_LOCK: &str = "writer.lock";
/// In a rebuilt index: it is caught up and waits for the live writer to swap it in.
pub const REBUILT_MARKER: &str = "rebuilt.ready";

/// Where `pivotlog reindex` builds the replacement of the index in `live`.
pub fn rebuild_dir(live: &Path) -> PathBuf {
    let mut name = live.file_name().unwrap_or_default().to_owned();
    name.push(".rebuild");
    live.with_file_name(name)
}

/// The replacement of the index in `live`, if it is ready to be swapped in.
pub(crate) fn ready_rebuild(live: &Path) -> Option<PathBuf> {
    let rebuilt = rebuild_dir(live);
    rebuilt.join(REBUILT_MARKER).exists().then_some(rebuilt)
}

/// Swaps the ready replacement `rebuilt` into `live` for the writer holding `lock`.
/// The lock is on a file the exchange carries over to the old index, so it is let go
/// and taken again in the new live directory.
pub(crate) fn swap_in(live: &Path, rebuilt: &Path, lock: &mut Option<File>) -> Result<(), IndexError> {
    *lock = None;
    swap_directories(live, rebuilt)?;
    let _ = std::fs::remove_file(live.join(REBUILT_MARKER));
    *lock = Some(lock_dir(live)?);
    Ok(())
}

/// Replaces the index in `live` with the one in `rebuilt`, atomically (an exchange of
/// the two directories: a reader finds one or the other, never neither). The old index
/// is left in `rebuilt`.
pub fn swap_directories(live: &Path, rebuilt: &Path) -> Result<(), IndexError> {
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        live,
        rustix::fs::CWD,
        rebuilt,
        rustix::fs::RenameFlags::EXCHANGE,
    )
    .map_err(|err| IndexError::Io {
        path: format!("{} <-> {}", live.display(), rebuilt.display()),
        source: err.into(),
    })
}

/// Takes the writer lock of the directory, held until the returned file is dropped.
fn lock_dir(dir: &Path) -> Result<File, IndexError> {
    let path = dir.join(WRITER_LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| IndexError::Io {
            path: path.display().to_string(),
            source,
        })?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(|_| IndexError::Locked(dir.display().to_string()))?;
    Ok(file)
}

fn dir_identity(dir: &Path) -> Result<u64, IndexError> {
    std::fs::metadata(dir)
        .map(|meta| meta.ino())
        .map_err(|source| IndexError::Io {
            path: dir.display().to_string(),
            source,
        })
}

impl PivotIndex {
    /// Takes the directory's writer lock, held until the returned file is dropped;
    /// `None` (in memory) needs none. A second writer fails at once.
    pub(crate) fn lock_writer(&self) -> Result<Option<File>, IndexError> {
        match &self.dir {
            Some(dir) => lock_dir(dir).map(Some),
            None => Ok(None),
        }
    }

    /// The writer lock of the index in `dir` if no writer holds it now (held until the
    /// file is dropped).
    pub fn try_lock(dir: &Path) -> Option<File> {
        lock_dir(dir).ok()
    }

    /// True when the directory was replaced since the slices were opened (a rebuilt
    /// index swapped in): a writer must drop what it holds and start from the new one.
    pub fn is_swapped(&self) -> Result<bool, IndexError> {
        match &self.dir {
            Some(dir) => Ok(dir_identity(dir)? != self.identity.load(Ordering::SeqCst)),
            None => Ok(false),
        }
    }

    /// Notes the identity of `dir` as the one the slices are read from; true when it is
    /// not the one noted before (a swap, or the first look), so every slice is reopened.
    pub(crate) fn note_identity(&self, dir: &Path) -> Result<bool, IndexError> {
        let identity = dir_identity(dir)?;
        Ok(self.identity.swap(identity, Ordering::SeqCst) != identity)
    }
}
