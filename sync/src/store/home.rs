//! Where a store lives, so that a copy is never mistaken for the original.
//!
//! `cp -r` of a folder (or restoring it from a backup) gives two stores with the same replica
//! id and endpoint key; if both then edit, their ops share ids, each side drops the other's as
//! duplicates, and the texts diverge without a word. So `identity` records the store folder's
//! device and inode and its canonical path, and every open compares:
//!
//! - same device and inode, same path: the same store;
//! - same device and inode, another path: the folder was moved or renamed; the ids stay and
//!   the path is updated;
//! - another device or inode: a copy, a restored backup, or a move across file systems. The
//!   store continues under a fresh replica id and endpoint key, as after an unclean shutdown,
//!   which is always safe (it only costs new ids).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StoreError;

/// The store folder's identity on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Home {
    /// The device holding the folder.
    pub dev: u64,
    /// The folder's inode.
    pub ino: u64,
    /// Its canonical path, as bytes (paths need not be UTF-8).
    pub path: Vec<u8>,
}

/// How the store's folder relates to the one recorded in its identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Whereabouts {
    /// The same folder, where it was.
    Same,
    /// The same folder under another path; the ids stay.
    Moved {
        /// Where it was recorded.
        from: PathBuf,
    },
    /// Another folder: a copy or a restored backup; the ids must be renewed.
    Copied {
        /// Where the original was recorded.
        from: PathBuf,
    },
}

impl Home {
    /// The identity of the folder `dir` (which exists).
    pub fn of(dir: &Path) -> Result<Home, StoreError> {
        let canonical = fs::canonicalize(dir).map_err(|e| StoreError::io("resolve", dir, e))?;
        let meta = fs::metadata(&canonical).map_err(|e| StoreError::io("stat", dir, e))?;
        let (dev, ino) = dev_ino(&meta);
        Ok(Home {
            dev,
            ino,
            path: path_bytes(&canonical),
        })
    }

    /// The same folder, recorded at `path` (where it is about to be renamed to).
    pub fn at(mut self, path: &Path) -> Home {
        self.path = path_bytes(path);
        self
    }

    /// The recorded path.
    pub fn path(&self) -> PathBuf {
        path_from_bytes(&self.path)
    }

    /// How `actual` (the folder as found now) relates to this record.
    pub fn compare(&self, actual: &Home) -> Whereabouts {
        if (self.dev, self.ino) != (actual.dev, actual.ino) {
            Whereabouts::Copied { from: self.path() }
        } else if self.path != actual.path {
            Whereabouts::Moved { from: self.path() }
        } else {
            Whereabouts::Same
        }
    }
}

#[cfg(unix)]
fn dev_ino(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// Without inodes, a copy cannot be told from the original: every open is the same store.
#[cfg(not(unix))]
fn dev_ino(_: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_move_keeps_the_inode_and_a_copy_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::create_dir(&a).unwrap();
        let home = Home::of(&a).unwrap();
        assert_eq!(home.compare(&Home::of(&a).unwrap()), Whereabouts::Same);
        let b = dir.path().join("b");
        fs::rename(&a, &b).unwrap();
        let from = fs::canonicalize(dir.path()).unwrap().join("a");
        assert_eq!(
            home.compare(&Home::of(&b).unwrap()),
            Whereabouts::Moved { from: from.clone() }
        );
        fs::create_dir(&a).unwrap();
        assert_eq!(
            home.compare(&Home::of(&a).unwrap()),
            Whereabouts::Copied { from }
        );
    }
}
