//! Save as: the document gets another file name, and its store moves to the store folder of
//! that name (`.duet/NEW/`, beside the new file), so the history goes along.
//!
//! The move is one `rename` of the store folder, atomic on one file system: after a crash the
//! store is either under its old name or under its new one, whole. The open files (the lock,
//! whose lock stays held, and the log) are the same files under the new name. What follows
//! the rename only brings the records up to date and is safe to lose: the identity's record
//! of where the store lives (an open that finds it stale sees a move and updates it), and the
//! record of the last export, which is dropped (the new file does not exist yet; saving
//! writes it). A move across file systems, or onto a name that exists, is refused before
//! anything changes.

use std::fs;
use std::io;
use std::path::Path;

use super::format;
use super::home::Home;
use super::meta;
use super::paths::Paths;
use super::{Store, StoreError};

impl Store {
    /// Moves the store to the store folder of `file` (which must not exist, in a folder that
    /// does). Afterwards the store exports to `file`; the old plain file is left as it is.
    pub fn move_to(&mut self, file: &Path) -> Result<(), StoreError> {
        let to = Paths::new(file)?;
        if to.dir == self.paths.dir {
            return Ok(());
        }
        for path in [&to.plain, &to.dir] {
            if fs::symlink_metadata(path).is_ok() {
                return Err(StoreError::TargetExists { path: path.clone() });
            }
        }
        self.sync()?;
        let made_root = to.create_root()?;
        match fs::rename(&self.paths.dir, &to.dir) {
            Ok(()) => {}
            Err(e) => {
                if made_root {
                    let _ = fs::remove_dir(&to.root);
                }
                return Err(match e.kind() {
                    io::ErrorKind::CrossesDevices => StoreError::OtherFileSystem {
                        path: to.plain.clone(),
                    },
                    io::ErrorKind::AlreadyExists | io::ErrorKind::DirectoryNotEmpty => {
                        StoreError::TargetExists {
                            path: to.dir.clone(),
                        }
                    }
                    _ => StoreError::io("move the store to", &to.dir, e),
                });
            }
        }
        format::sync_dir(&to.dir)?;
        format::sync_dir(&self.paths.dir)?;
        let old_root = self.paths.root.clone();
        self.lock.moved_to(to.lock.clone());
        self.log.moved_to(to.log.clone());
        self.paths = to;
        // Only if now empty: other documents in the old folder keep their stores.
        let _ = fs::remove_dir(&old_root);
        self.identity.home = Home::of(&self.paths.dir)?;
        meta::write_identity(&self.paths.identity, &self.doc_id, &self.identity)?;
        self.state.plain = None;
        meta::write_state(&self.paths.state, &self.doc_id, &self.state)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_store_moves_with_the_document_and_reopens_under_the_new_name() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("notes.txt");
        fs::write(&old, "hello\n").unwrap();
        let mut opened = Store::open(&old).unwrap();
        let op = opened.doc.insert(5, " world");
        opened.store.append(&[op]).unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        let new = dir.path().join("sub/notes.md");
        opened.store.move_to(&new).unwrap();
        opened.store.write_plain_file(&opened.doc).unwrap();
        let (doc, version) = (opened.doc.text(), opened.doc.version());
        opened.store.close().unwrap();
        assert_eq!(fs::read_to_string(&new).unwrap(), "hello world\n");
        assert_eq!(
            fs::read_to_string(&old).unwrap(),
            "hello\n",
            "the old file stays"
        );
        assert!(!dir.path().join(".duet/notes.txt").exists());
        assert!(!dir.path().join(".duet").exists(), "an emptied .duet/ goes");
        let again = Store::open(&new).unwrap();
        assert_eq!(again.doc.text(), doc);
        assert_eq!(
            again.doc.version(),
            version,
            "history moved along, nothing imported"
        );
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);
        assert!(again.report.is_none());
    }

    #[test]
    fn an_existing_name_is_refused_and_nothing_moves() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("a.md");
        let mut opened = Store::open(&old).unwrap();
        fs::write(dir.path().join("b.md"), "taken").unwrap();
        let err = opened.store.move_to(&dir.path().join("b.md")).unwrap_err();
        assert!(matches!(err, StoreError::TargetExists { .. }), "{err}");
        assert!(opened.store.dir().ends_with(".duet/a.md"));
        assert!(opened.store.dir().is_dir());
    }
}
