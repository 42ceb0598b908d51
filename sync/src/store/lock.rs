//! One writer per document: an advisory lock on `.duet/NAME/lock`, held for the store's
//! lifetime, whose content also records how the last session ended and, after a clean close,
//! what the store held then.
//!
//! The lock is `flock`-style (`File::try_lock`): the operating system releases it when the
//! process dies, however it dies, so a crash never leaves a stale lock behind.
//!
//! # Content
//!
//! ```text
//! while a session runs   open PID\n
//! after a clean close    header "duet-lck" ‖ postcard(Manifest) ‖ BLAKE3-32 of all before
//! before version 3       closed\n   (a clean close, no manifest)
//! ```
//!
//! Finding `open` when taking the lock means the previous session crashed. The clean-close
//! record is the store's manifest: the log's length and frame count, the document version
//! and the snapshot's checksum. Opening compares the files against it, so a missing snapshot,
//! a log cut at a frame boundary, or damage in the last frame (which after a clean close is
//! not the torn tail of a crash) is reported instead of passing for a normal state. Writing it
//! costs nothing extra: it is the one write a clean close always did. The file is rewritten
//! in place (it is the lock); a record cut short by a crash fails its checksum and reads as
//! "unknown", which is handled like a crash.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crdt_text::VersionVector;
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::format::{self, FILE_MODE};
use super::header::{self, FileKind, HeaderRead};
use crate::ids::DocId;

/// What the store held at its last clean close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Bytes in the log, header included.
    pub log_len: u64,
    /// Frames in the log.
    pub frames: u64,
    /// The document's version.
    pub version: VersionVector,
    /// The snapshot file's checksum (its last 32 bytes); `None` before the first compaction.
    pub snapshot: Option<[u8; 32]>,
}

/// How the previous session ended, as recorded in the lock file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreviousSession {
    /// It closed cleanly: everything it handed out was synced first. The manifest is `None`
    /// for a store closed by a duet older than format version 3.
    Clean(Option<Manifest>),
    /// It did not record a clean close (crash, kill, power loss).
    Unclean,
    /// The lock file was missing or damaged: how it ended is unknown.
    Unknown(Unknown),
}

/// Why the previous session's end is unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unknown {
    /// The lock file did not exist, or was empty.
    NoRecord,
    /// The lock file held something else.
    Damaged {
        /// What is wrong.
        reason: String,
        /// What it held (the file itself is rewritten at open).
        content: Vec<u8>,
    },
}

/// The held lock. Dropping it releases the lock.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    file: File,
    /// What the file held when the lock was taken; `None` if it did not exist.
    found: Option<Vec<u8>>,
}

const LEGACY_CLOSED: &[u8] = b"closed\n";

impl Lock {
    /// Takes the lock, or fails with [`StoreError::Locked`] if another process holds it.
    pub fn acquire(path: &Path) -> Result<Lock, StoreError> {
        let mut options = OpenOptions::new();
        options.read(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
        let (mut file, existed) = match options.open(path) {
            Ok(file) => (file, true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let file = options
                    .create(true)
                    .open(path)
                    .map_err(|e| StoreError::io("create lock file", path, e))?;
                (file, false)
            }
            Err(e) => return Err(StoreError::io("open lock file", path, e)),
        };
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
        Ok(Lock {
            path: path.to_path_buf(),
            file,
            found: existed.then_some(content),
        })
    }

    /// Whether a process holds the lock at `path`. Creates nothing: a missing lock file is
    /// not held.
    pub fn is_held(path: &Path) -> Result<bool, StoreError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(StoreError::io("open lock file", path, e)),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(false),
            Err(TryLockError::WouldBlock) => Ok(true),
            Err(TryLockError::Error(e)) => Err(StoreError::io("lock", path, e)),
        }
    }

    /// How the previous session of document `doc` ended.
    pub fn previous_session(&self, doc: &DocId) -> PreviousSession {
        let Some(found) = self.found.as_ref().filter(|f| !f.is_empty()) else {
            return PreviousSession::Unknown(Unknown::NoRecord);
        };
        if found.starts_with(b"open ") {
            return PreviousSession::Unclean;
        }
        if found == LEGACY_CLOSED {
            return PreviousSession::Clean(None);
        }
        let damaged = |reason: String| {
            PreviousSession::Unknown(Unknown::Damaged {
                reason,
                content: found.clone(),
            })
        };
        let header = match header::read_header(FileKind::Lock, &self.path, found, Some(doc)) {
            HeaderRead::Ours(header) => header,
            HeaderRead::Damaged(reason) => return damaged(reason),
            HeaderRead::Foreign(e) | HeaderRead::Unverified(e) => return damaged(e.to_string()),
        };
        match format::unseal(found).and_then(|c| c.get(header.len..)) {
            Some(body) => match postcard::from_bytes(body) {
                Ok(manifest) => PreviousSession::Clean(Some(manifest)),
                Err(e) => damaged(format!("its clean-close record does not decode: {e}")),
            },
            None => damaged("its clean-close record fails its checksum".into()),
        }
    }

    /// The lock file now has another path (its folder was renamed into place).
    pub fn moved_to(&mut self, path: PathBuf) {
        self.path = path;
    }

    fn record(&mut self, content: &[u8]) -> Result<(), StoreError> {
        let path = &self.path;
        // Written over the old content, then cut to length: a crash in between leaves the new
        // content's start in place ("open …" reads as a crash, a torn record as unknown).
        self.file
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.file.write_all(content))
            .and_then(|_| self.file.set_len(content.len() as u64))
            .and_then(|_| self.file.sync_data())
            .map_err(|e| StoreError::io("write lock file", path, e))
    }

    /// Records that a session is running (so a crash is noticed by the next open).
    pub fn mark_open(&mut self) -> Result<(), StoreError> {
        self.record(format!("open {}\n", std::process::id()).as_bytes())
    }

    /// Records a clean close and what the store holds. Call only once everything handed out
    /// is durable.
    pub fn mark_closed(&mut self, doc: &DocId, manifest: &Manifest) -> Result<(), StoreError> {
        let mut bytes = header::header(FileKind::Lock, doc).to_vec();
        bytes.extend_from_slice(&postcard::to_stdvec(manifest)?);
        self.record(&format::seal(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_the_first_releases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let doc = DocId::random();
        let mut first = Lock::acquire(&path).unwrap();
        assert_eq!(
            first.previous_session(&doc),
            PreviousSession::Unknown(Unknown::NoRecord)
        );
        assert!(matches!(
            Lock::acquire(&path),
            Err(StoreError::Locked { .. })
        ));
        assert!(Lock::is_held(&path).unwrap());
        first.mark_open().unwrap();
        drop(first);
        assert!(!Lock::is_held(&path).unwrap());
        let mut again = Lock::acquire(&path).unwrap();
        assert_eq!(again.previous_session(&doc), PreviousSession::Unclean);
        let manifest = Manifest {
            log_len: 120,
            frames: 3,
            version: VersionVector::new(),
            snapshot: Some([7; 32]),
        };
        again.mark_closed(&doc, &manifest).unwrap();
        drop(again);
        let third = Lock::acquire(&path).unwrap();
        assert_eq!(
            third.previous_session(&doc),
            PreviousSession::Clean(Some(manifest))
        );
        drop(third);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let fourth = Lock::acquire(&path).unwrap();
        assert!(matches!(
            fourth.previous_session(&doc),
            PreviousSession::Unknown(Unknown::Damaged { .. })
        ));
        assert!(!Lock::is_held(&dir.path().join("nothing")).unwrap());
        assert!(!dir.path().join("nothing").exists());
    }
}
