//! Local changes of the file tree, one at a time or many at once: a batch is checked and
//! stamped change by change, then merged and rendered once (a first scan creates thousands
//! of files, a `git checkout` moves hundreds; rendering after each would be quadratic).

use std::collections::{BTreeMap, BTreeSet};

use super::{
    DirEntry, DirId, FileEntry, FileId, Lww, Manifest, ManifestDelta, ManifestError, Place,
};
use crate::folder::path::split_path;

/// What earlier changes of a batch took, which the tree does not show yet.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Paths of files created or moved.
    files: BTreeSet<String>,
    /// Folders created, by path.
    dirs: BTreeMap<String, DirId>,
    /// Files already changed (a second change of one file in a batch is refused: it would
    /// not see the first).
    touched: BTreeSet<FileId>,
}

impl Manifest {
    /// Creates an empty file at `path`; its folders are created as needed.
    pub fn create(&mut self, path: &str) -> Result<(FileId, ManifestDelta), ManifestError> {
        let (mut created, delta) = self.create_all([path]);
        let id = created
            .pop()
            .unwrap_or_else(|| Err(ManifestError::NoFile(path.into())))?;
        Ok((id, delta))
    }

    /// [`create`](Self::create)s a file at each path, as one change. A path is refused as
    /// `create` refuses it, also when an earlier path of the batch has it (or is one of its
    /// folders); the others are created. The outcome of each, in order, and the delta.
    pub fn create_all<'p>(
        &mut self,
        paths: impl IntoIterator<Item = &'p str>,
    ) -> (Vec<Result<FileId, ManifestError>>, ManifestDelta) {
        let mut pending = Pending::default();
        let mut delta = ManifestDelta::default();
        let created = paths
            .into_iter()
            .map(|path| self.create_into(path, &mut pending, &mut delta))
            .collect();
        (created, self.commit(delta))
    }

    fn create_into(
        &mut self,
        path: &str,
        pending: &mut Pending,
        delta: &mut ManifestDelta,
    ) -> Result<FileId, ManifestError> {
        let parts = split_path(path)?;
        self.check_free(path, &parts, pending)?;
        let (dirs, name) = parts.split_at(parts.len() - 1);
        let parent = self.ensure_dirs(dirs, delta, pending);
        let id = FileId(self.tick());
        let entry = FileEntry {
            author: Some(self.author.clone()),
            place: Some(Lww {
                stamp: id.0,
                value: Place {
                    parent,
                    name: name[0].to_string(),
                },
            }),
            keep: BTreeSet::from([id.0]),
            ..FileEntry::default()
        };
        delta.files.insert(id, entry);
        pending.files.insert(path.to_string());
        pending.touched.insert(id);
        Ok(id)
    }

    /// Renames or moves the live file `file` to `to` (its id, and so its text and history,
    /// stay the same). A rename concurrent with a delete keeps the file.
    pub fn rename(&mut self, file: FileId, to: &str) -> Result<ManifestDelta, ManifestError> {
        let (mut renamed, delta) = self.rename_all([(file, to)]);
        renamed.pop().unwrap_or(Ok(()))?;
        Ok(delta)
    }

    /// [`rename`](Self::rename)s each file, as one change. A move is refused as `rename`
    /// refuses it, also when an earlier move of the batch took its path or moved the same
    /// file (a path a move leaves stays taken until the batch ends); the others are made.
    pub fn rename_all<'p>(
        &mut self,
        moves: impl IntoIterator<Item = (FileId, &'p str)>,
    ) -> (Vec<Result<(), ManifestError>>, ManifestDelta) {
        let mut pending = Pending::default();
        let mut delta = ManifestDelta::default();
        let renamed = moves
            .into_iter()
            .map(|(file, to)| self.rename_into(file, to, &mut pending, &mut delta))
            .collect();
        (renamed, self.commit(delta))
    }

    fn rename_into(
        &mut self,
        file: FileId,
        to: &str,
        pending: &mut Pending,
        delta: &mut ManifestDelta,
    ) -> Result<(), ManifestError> {
        let parts = split_path(to)?;
        if self.tree.path(file).is_none() || pending.touched.contains(&file) {
            return Err(ManifestError::NoFile(format!("{file:?}")));
        }
        if self.tree.path(file) != Some(to) {
            self.check_free(to, &parts, pending)?;
        }
        let (dirs, name) = parts.split_at(parts.len() - 1);
        let parent = self.ensure_dirs(dirs, delta, pending);
        let stamp = self.tick();
        let entry = FileEntry {
            place: Some(Lww {
                stamp,
                value: Place {
                    parent,
                    name: name[0].to_string(),
                },
            }),
            keep: BTreeSet::from([stamp]),
            ..FileEntry::default()
        };
        delta.files.insert(file, entry);
        pending.files.insert(to.to_string());
        pending.touched.insert(file);
        Ok(())
    }

    /// Deletes the live file `file`. Edits of its text that this replica has not seen keep it
    /// (see [`text_changed`](Self::text_changed)).
    pub fn delete(&mut self, file: FileId) -> Result<ManifestDelta, ManifestError> {
        let (mut deleted, delta) = self.delete_all([file]);
        deleted.pop().unwrap_or(Ok(()))?;
        Ok(delta)
    }

    /// [`delete`](Self::delete)s each file, as one change: the outcome of each, in order.
    pub fn delete_all(
        &mut self,
        files: impl IntoIterator<Item = FileId>,
    ) -> (Vec<Result<(), ManifestError>>, ManifestDelta) {
        let mut delta = ManifestDelta::default();
        let deleted = files
            .into_iter()
            .map(|file| {
                if self.tree.path(file).is_none() || delta.files.contains_key(&file) {
                    return Err(ManifestError::NoFile(format!("{file:?}")));
                }
                self.delete_into(file, &mut delta);
                Ok(())
            })
            .collect();
        (deleted, self.commit(delta))
    }

    /// Refuses a path that a file or folder has (in the tree, or taken earlier in the
    /// batch), or whose folders are files.
    pub(super) fn check_free(
        &self,
        path: &str,
        parts: &[&str],
        pending: &Pending,
    ) -> Result<(), ManifestError> {
        let taken = self.tree.file_at(path).is_some()
            || self.tree.is_dir(path)
            || pending.files.contains(path)
            || pending.dirs.contains_key(path);
        if taken {
            return Err(ManifestError::Exists(path.to_string()));
        }
        let mut prefix = String::new();
        for part in &parts[..parts.len() - 1] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if self.tree.file_at(&prefix).is_some() || pending.files.contains(&prefix) {
                return Err(ManifestError::NotAFolder(prefix));
            }
        }
        Ok(())
    }

    /// The folder at `dirs` (created where missing, each into `delta`), and the places of the
    /// existing ones re-sent, so a delta never names a folder its receiver cannot place.
    pub(super) fn ensure_dirs(
        &mut self,
        dirs: &[&str],
        delta: &mut ManifestDelta,
        pending: &mut Pending,
    ) -> Option<DirId> {
        let mut parent = None;
        let mut path = String::new();
        for name in dirs {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(name);
            let existing = self.tree.dirs_at(&path).first().copied();
            let id = match (existing, pending.dirs.get(&path)) {
                (_, Some(id)) => *id,
                (Some(id), None) => {
                    self.resend_with_ancestors(id, delta);
                    id
                }
                (None, None) => {
                    let stamp = self.tick();
                    let place = Lww {
                        stamp,
                        value: Place {
                            parent,
                            name: name.to_string(),
                        },
                    };
                    let id = DirId(stamp);
                    delta.dirs.insert(id, DirEntry { place: Some(place) });
                    pending.dirs.insert(path.clone(), id);
                    id
                }
            };
            parent = Some(id);
        }
        parent
    }
}

#[cfg(test)]
mod tests {
    use crdt_text::ReplicaId;

    use super::*;

    fn paths(m: &Manifest) -> Vec<&str> {
        m.tree().paths().collect()
    }

    #[test]
    fn a_batch_refuses_what_an_earlier_change_of_it_took_and_makes_the_rest() {
        let mut m = Manifest::new(ReplicaId::from(1), "ann");
        let (created, delta) = m.create_all(["src/a.rs", "src/a.rs", "src/a.rs/b.rs", "x.md"]);
        assert!(created[0].is_ok() && created[3].is_ok());
        assert!(matches!(created[1], Err(ManifestError::Exists(_))));
        assert!(matches!(created[2], Err(ManifestError::NotAFolder(_))));
        assert_eq!(paths(&m), ["src/a.rs", "x.md"]);
        assert_eq!(delta.dirs.len(), 1, "one folder src for the batch");

        let (a, x) = (created[0].clone().unwrap(), created[3].clone().unwrap());
        let (moved, _) = m.rename_all([(a, "lib/a.rs"), (x, "lib/a.rs"), (a, "a.rs")]);
        assert!(moved[0].is_ok());
        assert!(matches!(moved[1], Err(ManifestError::Exists(_))));
        assert!(matches!(moved[2], Err(ManifestError::NoFile(_))));
        assert_eq!(paths(&m), ["lib/a.rs", "x.md"]);

        let (deleted, _) = m.delete_all([x, x]);
        assert!(deleted[0].is_ok() && deleted[1].is_err());
        assert_eq!(paths(&m), ["lib/a.rs"]);
    }

    #[test]
    fn a_batch_reaches_the_tree_of_the_same_changes_made_one_by_one() {
        let names: Vec<String> = (0..40)
            .map(|i| format!("d{}/e{}/f{i}.txt", i % 3, i % 5))
            .collect();
        let mut one = Manifest::new(ReplicaId::from(1), "ann");
        for name in &names {
            let _ = one.create(name).unwrap();
        }
        let mut all = Manifest::new(ReplicaId::from(1), "ann");
        let (created, delta) = all.create_all(names.iter().map(String::as_str));
        assert!(created.iter().all(Result::is_ok));
        assert_eq!(paths(&one), paths(&all));
        // A peer given the batch's delta shows the same tree.
        let mut peer = Manifest::new(ReplicaId::from(2), "bob");
        peer.apply(&delta).unwrap();
        assert_eq!(paths(&peer), paths(&all));
    }
}
