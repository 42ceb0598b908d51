//! One writer per document: an advisory lock on `.duet/NAME/lock`, held for the store's
//! lifetime, whose content also records whether the last session closed cleanly.
//!
//! The lock is `flock`-style (`File::try_lock`): the operating system releases it when the
//! process dies, however it dies, so a crash never leaves a stale lock behind. The file holds
//! `open <pid>` while a session runs and `closed` after a clean close; finding `open` when
//! taking the lock means the previous session crashed.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::StoreError;

/// How the previous session ended, as recorded in the lock file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PreviousSession {
    /// It closed cleanly: everything it handed out was synced first.
    Clean,
    /// It did not record a clean close (crash, kill, power loss, or the store is new).
    Unclean,
}

/// The held lock. Dropping it releases the lock.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    file: File,
}

const CLOSED: &[u8] = b"closed\n";

impl Lock {
    /// Takes the lock, or fails with [`StoreError::Locked`] if another process holds it.
    pub fn acquire(path: &Path) -> Result<(Lock, PreviousSession), StoreError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io("open lock file", path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::io("lock", path, e)),
        }
        let mut content = Vec::new();
        file.read_to_end(&mut content)
            .map_err(|e| StoreError::io("read lock file", path, e))?;
        let previous = if content == CLOSED {
            PreviousSession::Clean
        } else {
            PreviousSession::Unclean
        };
        Ok((
            Lock {
                path: path.to_path_buf(),
                file,
            },
            previous,
        ))
    }

    fn record(&mut self, content: &[u8]) -> Result<(), StoreError> {
        let path = &self.path;
        self.file
            .set_len(0)
            .and_then(|_| self.file.seek(SeekFrom::Start(0)))
            .and_then(|_| self.file.write_all(content))
            .and_then(|_| self.file.sync_data())
            .map_err(|e| StoreError::io("write lock file", path, e))
    }

    /// Records that a session is running (so a crash is noticed by the next open).
    pub fn mark_open(&mut self) -> Result<(), StoreError> {
        self.record(format!("open {}\n", std::process::id()).as_bytes())
    }

    /// Records a clean close. Call only once everything handed out is durable.
    pub fn mark_closed(&mut self) -> Result<(), StoreError> {
        self.record(CLOSED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_the_first_releases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let (mut first, previous) = Lock::acquire(&path).unwrap();
        assert_eq!(
            previous,
            PreviousSession::Unclean,
            "a brand new lock has no clean close"
        );
        assert!(matches!(
            Lock::acquire(&path),
            Err(StoreError::Locked { .. })
        ));
        first.mark_open().unwrap();
        drop(first);
        let (mut again, previous) = Lock::acquire(&path).unwrap();
        assert_eq!(previous, PreviousSession::Unclean, "left open = crashed");
        again.mark_closed().unwrap();
        drop(again);
        let (_third, previous) = Lock::acquire(&path).unwrap();
        assert_eq!(previous, PreviousSession::Clean);
    }
}
