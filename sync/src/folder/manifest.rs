//! [`Manifest`]: which files a shared folder holds and where, as a delta-state CRDT.
//!
//! The replicated state is a map of registers plus an add-wins set (why: see the
//! [module docs](super)):
//!
//! - every **file** ([`FileId`]) has its author's name, a last-writer-wins *place* (parent
//!   folder and name), and an add-wins liveness set: `keep` holds the stamp of its creation
//!   and of every placement (rename, move), `gone` the stamps deletes have observed, and
//!   `deleted_text` the text version deletes have observed;
//! - every **folder** ([`DirId`]) has a last-writer-wins place. Folders have no liveness of
//!   their own: a folder is shown while a file lives in it.
//!
//! Merging two states takes the union of sets, the pointwise maximum of text versions and
//! the greater stamp of each register: commutative, associative and idempotent, so replicas
//! that received the same deltas hold the same state in whatever order, however often and
//! however batched they arrived. A local operation returns the [`ManifestDelta`] to send; it
//! is already merged into the local state.

use std::collections::{BTreeMap, BTreeSet};

use crdt_text::{ReplicaId, VersionVector};
use serde::{Deserialize, Serialize};

use super::path::{PathError, check_name, split_path};
use super::tree::{Outcome, Tree};

mod batch;

use batch::Pending;

/// A Lamport stamp: orders the writes of registers, and names files, folders and writes. A
/// replica stamps each of its own writes with a larger `lamport` than any stamp it has seen,
/// so stamps are unique (per [`ReplicaId`]) and a write orders after everything its author
/// had seen.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Stamp {
    /// The Lamport clock.
    pub lamport: u64,
    /// Who wrote: breaks ties between concurrent writes.
    pub replica: ReplicaId,
}

/// A file's id: the stamp of its creation. It never changes: a renamed or moved file keeps
/// its id, and with it its text document and history.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct FileId(pub Stamp);

/// A folder's id: the stamp of its creation. Moving a folder changes its place, not its id,
/// so everything in it, even files created concurrently, moves along.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct DirId(pub Stamp);

/// Where a file or folder is: its parent folder (`None`: the shared folder's root) and name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Place {
    /// The folder it is in; `None` is the root.
    pub parent: Option<DirId>,
    /// Its name (a [valid name](super::path::check_name)).
    pub name: String,
}

/// A last-writer-wins register: the write with the greatest stamp wins.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Lww<T> {
    /// When it was written.
    pub stamp: Stamp,
    /// What was written.
    pub value: T,
}

impl<T: Ord + Clone> Lww<T> {
    /// Keeps the later write. Equal stamps with different values only come from a faulty
    /// peer; the greater value wins then, so the merge stays commutative.
    fn merge(this: &mut Option<Lww<T>>, other: &Lww<T>) {
        match this {
            Some(mine) if (mine.stamp, &mine.value) >= (other.stamp, &other.value) => {}
            _ => *this = Some(other.clone()),
        }
    }
}

/// The replicated state of one file.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct FileEntry {
    /// The name of whoever created it (tags its name when two files want one path).
    pub author: Option<String>,
    /// Where it is.
    pub place: Option<Lww<Place>>,
    /// Stamps that keep it alive: its creation and every placement.
    pub keep: BTreeSet<Stamp>,
    /// Stamps of `keep` that deletes have observed.
    pub gone: BTreeSet<Stamp>,
    /// The text version the deletes of this file had seen.
    pub deleted_text: VersionVector,
}

/// The replicated state of one folder.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct DirEntry {
    /// Where it is.
    pub place: Option<Lww<Place>>,
}

/// A piece of manifest state: what a local operation changed (to send to peers), a batch of
/// such changes, or a whole manifest. Deltas merge with [`ManifestDelta::merge`] and into a
/// manifest with [`Manifest::apply`].
#[must_use = "a delta is a change peers must receive"]
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct ManifestDelta {
    /// Files.
    pub files: BTreeMap<FileId, FileEntry>,
    /// Folders.
    pub dirs: BTreeMap<DirId, DirEntry>,
}

impl FileEntry {
    fn merge(&mut self, other: &FileEntry) {
        match (&mut self.author, &other.author) {
            (None, Some(a)) => self.author = Some(a.clone()),
            (Some(mine), Some(a)) if a.as_str() < mine.as_str() => *mine = a.clone(),
            _ => {}
        }
        if let Some(place) = &other.place {
            Lww::merge(&mut self.place, place);
        }
        self.keep.extend(other.keep.iter().copied());
        self.gone.extend(other.gone.iter().copied());
        self.deleted_text.merge(&other.deleted_text);
    }

    /// Whether a placement no delete has observed keeps the file.
    pub(super) fn kept_by_place(&self) -> bool {
        self.keep.iter().any(|s| !self.gone.contains(s))
    }
}

impl ManifestDelta {
    /// Adds `other` (a join: the result holds both).
    pub fn merge(&mut self, other: &ManifestDelta) {
        for (id, entry) in &other.files {
            self.files.entry(*id).or_default().merge(entry);
        }
        for (id, entry) in &other.dirs {
            if let Some(place) = &entry.place {
                Lww::merge(&mut self.dirs.entry(*id).or_default().place, place);
            }
        }
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.dirs.is_empty()
    }

    /// The greatest Lamport clock in it.
    fn max_lamport(&self) -> u64 {
        let file_stamps = self.files.iter().flat_map(|(id, e)| {
            let place = e.place.as_ref().map(|p| p.stamp);
            std::iter::once(id.0)
                .chain(place)
                .chain(e.keep.iter().copied())
                .chain(e.gone.iter().copied())
        });
        let dir_stamps = self
            .dirs
            .iter()
            .flat_map(|(id, e)| std::iter::once(id.0).chain(e.place.as_ref().map(|p| p.stamp)));
        file_stamps
            .chain(dir_stamps)
            .map(|s| s.lamport)
            .max()
            .unwrap_or(0)
    }

    /// Checks every name in it (a delta from a peer is refused whole if one is invalid).
    pub fn check(&self) -> Result<(), PathError> {
        let places = self.files.values().filter_map(|e| e.place.as_ref());
        let dir_places = self.dirs.values().filter_map(|e| e.place.as_ref());
        for place in places.chain(dir_places) {
            check_name(&place.value.name)?;
        }
        Ok(())
    }
}

/// Why a local operation on the manifest was refused. Nothing changed then.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The path is not valid.
    #[error(transparent)]
    Path(#[from] PathError),
    /// A file or folder already has this path.
    #[error("{0:?} already exists")]
    Exists(String),
    /// A file is in the way of a folder this path needs.
    #[error("{0:?} is a file, not a folder")]
    NotAFolder(String),
    /// No file has this id or path (it may have been deleted).
    #[error("no file {0}")]
    NoFile(String),
    /// No folder with a file in it has this path.
    #[error("no folder {0:?}")]
    NoFolder(String),
    /// A folder cannot move into itself.
    #[error("{from:?} cannot move into itself ({to:?})")]
    IntoItself {
        /// The folder.
        from: String,
        /// Where it was to go.
        to: String,
    },
}

/// One replica of a shared folder's file tree. Local operations ([`create`](Self::create),
/// [`rename`](Self::rename), [`move_dir`](Self::move_dir), [`delete`](Self::delete),
/// [`delete_dir`](Self::delete_dir)) return the delta to send; deltas from peers go to
/// [`apply`](Self::apply), which says what changed for the user. What the files' text
/// documents hold comes in through [`text_changed`](Self::text_changed): an edit that a delete
/// had not seen keeps the file.
///
/// Every change re-renders the whole [`Tree`] (`O(n log n)` in the files and folders): batch
/// many changes into one delta ([`ManifestDelta::merge`]) rather than applying them one by one.
#[derive(Clone, Debug)]
pub struct Manifest {
    replica: ReplicaId,
    author: String,
    clock: u64,
    state: ManifestDelta,
    /// What each file's text document holds here (local knowledge; the documents replicate
    /// themselves).
    text: BTreeMap<FileId, VersionVector>,
    tree: Tree,
}

impl Manifest {
    /// An empty manifest for replica `replica` (unique per peer and folder), whose user goes
    /// by `author`.
    pub fn new(replica: ReplicaId, author: impl Into<String>) -> Manifest {
        Manifest::from_state(replica, author, ManifestDelta::default())
    }

    /// A manifest holding `state` (e.g. decoded from the store).
    pub fn from_state(
        replica: ReplicaId,
        author: impl Into<String>,
        state: ManifestDelta,
    ) -> Manifest {
        let mut manifest = Manifest {
            replica,
            author: author.into(),
            clock: state.max_lamport(),
            state,
            text: BTreeMap::new(),
            tree: Tree::default(),
        };
        manifest.tree = Tree::render(&manifest.state, &manifest.text);
        manifest
    }

    /// The replicated state (to encode, or to send whole to a peer that has nothing).
    pub fn state(&self) -> &ManifestDelta {
        &self.state
    }

    /// The tree as it is shown: every live file and its path.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The name this replica's user goes by.
    pub fn author(&self) -> &str {
        &self.author
    }

    /// This replica's id.
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// Merges a delta from a peer (or a store) and says what changed for the user. Refuses a
    /// delta with an invalid name, changing nothing.
    pub fn apply(&mut self, delta: &ManifestDelta) -> Result<Vec<Outcome>, PathError> {
        delta.check()?;
        self.clock = self.clock.max(delta.max_lamport());
        self.state.merge(delta);
        Ok(self.rerender())
    }

    /// Records that the text document of `file` holds `version` here. An edit that no delete
    /// of the file had seen brings a deleted file back (the edit wins), which the outcome
    /// says.
    pub fn text_changed(&mut self, file: FileId, version: &VersionVector) -> Vec<Outcome> {
        let known = self.text.entry(file).or_default();
        if known.includes(version) {
            return Vec::new();
        }
        // Text only decides whether a file that no placement keeps lives (see `Tree`): it
        // starts to when the text gains an edit its deletes had not seen. Any other text
        // change leaves the tree as it is, so it is not rendered again (a join receives a
        // text for every file).
        let revives = self.state.files.get(&file).is_some_and(|entry| {
            !entry.kept_by_place()
                && entry.deleted_text.includes(known)
                && !entry.deleted_text.includes(version)
        });
        known.merge(version);
        if revives { self.rerender() } else { Vec::new() }
    }

    fn rerender(&mut self) -> Vec<Outcome> {
        let tree = Tree::render(&self.state, &self.text);
        let outcomes = self.tree.diff(&tree);
        self.tree = tree;
        outcomes
    }

    fn tick(&mut self) -> Stamp {
        self.clock += 1;
        Stamp {
            lamport: self.clock,
            replica: self.replica,
        }
    }

    /// Merges a local delta and re-renders (local changes are not reported as outcomes: the
    /// user made them).
    fn commit(&mut self, delta: ManifestDelta) -> ManifestDelta {
        if !delta.is_empty() {
            self.state.merge(&delta);
            self.tree = Tree::render(&self.state, &self.text);
        }
        delta
    }

    /// Moves (or renames) the folder at `from` to `to`, with everything in it — also what peers
    /// put in it concurrently. `to` must not exist yet.
    pub fn move_dir(&mut self, from: &str, to: &str) -> Result<ManifestDelta, ManifestError> {
        split_path(from)?;
        let parts = split_path(to)?;
        if !self.tree.is_dir(from) {
            return Err(ManifestError::NoFolder(from.to_string()));
        }
        if to.starts_with(from) && to.as_bytes().get(from.len()) == Some(&b'/') {
            return Err(ManifestError::IntoItself {
                from: from.to_string(),
                to: to.to_string(),
            });
        }
        self.check_free(to, &parts, &Pending::default())?;
        let ids = self.tree.dirs_at(from).to_vec();
        let mut delta = ManifestDelta::default();
        let (dirs, name) = parts.split_at(parts.len() - 1);
        let parent = self.ensure_dirs(dirs, &mut delta, &mut Pending::default());
        let stamp = self.tick();
        for id in ids {
            let place = Lww {
                stamp,
                value: Place {
                    parent,
                    name: name[0].to_string(),
                },
            };
            delta.dirs.insert(id, DirEntry { place: Some(place) });
        }
        Ok(self.commit(delta))
    }

    /// Deletes every file in the folder at `path`.
    pub fn delete_dir(&mut self, path: &str) -> Result<ManifestDelta, ManifestError> {
        split_path(path)?;
        if !self.tree.is_dir(path) {
            return Err(ManifestError::NoFolder(path.to_string()));
        }
        let mut delta = ManifestDelta::default();
        for file in self.tree.files_under(path) {
            self.delete_into(file, &mut delta);
        }
        Ok(self.commit(delta))
    }

    pub(super) fn delete_into(&self, file: FileId, delta: &mut ManifestDelta) {
        let Some(entry) = self.state.files.get(&file) else {
            return;
        };
        let text = self.text.get(&file).cloned().unwrap_or_default();
        delta.files.insert(
            file,
            FileEntry {
                gone: entry.keep.clone(),
                deleted_text: text,
                ..FileEntry::default()
            },
        );
    }

    /// Puts the places of folder `id` and of every folder above it into `delta` (its parent
    /// need not be the first folder shown at the parent's path).
    fn resend_with_ancestors(&self, id: DirId, delta: &mut ManifestDelta) {
        let mut at = Some(id);
        while let Some(dir) = at {
            if delta.dirs.contains_key(&dir) {
                break;
            }
            let place = self.state.dirs.get(&dir).and_then(|d| d.place.clone());
            at = place.as_ref().and_then(|p| p.value.parent);
            delta.dirs.insert(dir, DirEntry { place });
        }
    }
}
