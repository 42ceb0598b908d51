//! [`Tree`]: the file tree a manifest shows, computed from its state alone, so every replica
//! with the same state (and the same texts) shows the same tree; and the [`Outcome`]s that tell
//! the user how it changed.
//!
//! Rendering, in order:
//!
//! 1. **Folders.** Each placed folder hangs under its parent. Concurrent moves can make a cycle
//!    (`a` moved into `b` while `b` moved into `a`); each cycle is broken at the folder whose
//!    move has the greatest stamp, which goes to the root under its name. A folder whose parent
//!    has not arrived yet is not shown (nor is anything in it) until it does.
//! 2. **Liveness.** A file lives while a placement no delete has observed keeps it, or while
//!    its text holds an edit no delete had seen (an edit wins over a concurrent delete:
//!    [`Shown::kept_by_edit`]).
//! 3. **Names.** Live files that want the same path — created concurrently, or moved to one
//!    place — are told apart: the file with the smallest id keeps the path, the others are
//!    shown as `name (author).ext` (`name (author 2).ext`, … if that is taken too). A file
//!    wanting the path of a folder that holds files yields to the folder the same way.
//!    Folders with the same path show as one folder.

use std::collections::{BTreeMap, BTreeSet};

use crdt_text::VersionVector;

use super::manifest::{DirId, FileId, ManifestDelta};
use super::path::{MAX_NAME_BYTES, MAX_PATH_BYTES, tagged_name};

/// A live file as the tree shows it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Shown {
    /// Where it is shown (and written on disk).
    pub path: String,
    /// Where its place says it is; differs from `path` when another file has that path.
    pub wanted: String,
    /// Deleted by a peer who had not seen every edit of its text: kept for those edits.
    pub kept_by_edit: bool,
}

/// How the tree changed, for the user: what [`Manifest::apply`](super::Manifest::apply) and
/// [`Manifest::text_changed`](super::Manifest::text_changed) report.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// A file appeared (created by a peer, or back from a delete).
    Appeared {
        /// The file.
        file: FileId,
        /// Its path.
        path: String,
    },
    /// A file was renamed or moved (also when its folder moved).
    Moved {
        /// The file.
        file: FileId,
        /// Its old path.
        from: String,
        /// Its new path.
        to: String,
    },
    /// A file was deleted.
    Removed {
        /// The file.
        file: FileId,
        /// Its last path.
        path: String,
    },
    /// A peer deleted the file without having seen every edit of it: the file stays (with
    /// the edits) and the user should be told.
    KeptAfterDelete {
        /// The file.
        file: FileId,
        /// Its path.
        path: String,
    },
    /// Another file has the path this file wants (both were created at one path at once): it
    /// is shown under another name, and the user should be told.
    NameTaken {
        /// The file.
        file: FileId,
        /// The path it wanted.
        wanted: String,
        /// The path it has.
        path: String,
    },
}

/// The files a manifest shows, with their paths.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Tree {
    files: BTreeMap<FileId, Shown>,
    by_path: BTreeMap<String, FileId>,
    /// Every placed folder, by path (also those without a live file).
    dirs: BTreeMap<String, Vec<DirId>>,
    /// Folders that hold a live file.
    live_dirs: BTreeSet<String>,
}

impl Tree {
    /// The path of a live file.
    pub fn path(&self, file: FileId) -> Option<&str> {
        self.files.get(&file).map(|s| s.path.as_str())
    }

    /// How a live file is shown.
    pub fn shown(&self, file: FileId) -> Option<&Shown> {
        self.files.get(&file)
    }

    /// The live file at `path`.
    pub fn file_at(&self, path: &str) -> Option<FileId> {
        self.by_path.get(path).copied()
    }

    /// Whether `path` is a folder holding a live file.
    pub fn is_dir(&self, path: &str) -> bool {
        self.live_dirs.contains(path)
    }

    /// The folders placed at `path` (several when created concurrently), smallest id first.
    pub fn dirs_at(&self, path: &str) -> &[DirId] {
        self.dirs.get(path).map_or(&[], Vec::as_slice)
    }

    /// Live files whose path is under the folder `dir`.
    pub fn files_under(&self, dir: &str) -> Vec<FileId> {
        let prefix = format!("{dir}/");
        self.by_path
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(_, id)| *id)
            .collect()
    }

    /// Every live file and how it is shown, by id.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &Shown)> {
        self.files.iter().map(|(id, s)| (*id, s))
    }

    /// Every live file's path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.by_path.keys().map(String::as_str)
    }

    /// How many files live.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file lives.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Renders the tree of `state`, given what each file's text holds here.
    pub(super) fn render(state: &ManifestDelta, text: &BTreeMap<FileId, VersionVector>) -> Tree {
        let dir_paths = dir_paths(state);
        let mut dirs: BTreeMap<String, Vec<DirId>> = BTreeMap::new();
        for (id, path) in &dir_paths {
            dirs.entry(path.clone()).or_default().push(*id);
        }

        // Live files and the paths they want, by id.
        let empty = VersionVector::new();
        let mut live: Vec<(FileId, String, String, bool)> = Vec::new();
        for (id, entry) in &state.files {
            let (Some(author), Some(place)) = (&entry.author, &entry.place) else {
                continue;
            };
            let wanted = match place.value.parent {
                None => place.value.name.clone(),
                Some(dir) => match dir_paths.get(&dir) {
                    Some(dir) => format!("{dir}/{}", place.value.name),
                    None => continue,
                },
            };
            let by_place = entry.kept_by_place();
            let by_edit = !entry.deleted_text.includes(text.get(id).unwrap_or(&empty));
            if (by_place || by_edit) && wanted.len() <= MAX_PATH_BYTES {
                live.push((*id, wanted, author.clone(), !by_place));
            }
        }

        let mut live_dirs = BTreeSet::new();
        for (_, wanted, _, _) in &live {
            let mut at = wanted.as_str();
            while let Some(cut) = at.rfind('/') {
                at = &at[..cut];
                if !live_dirs.insert(at.to_string()) {
                    break;
                }
            }
        }

        // Who keeps each wanted path: the smallest id, unless a folder has it.
        let mut taken: BTreeSet<String> = live_dirs.clone();
        let mut keeper: BTreeMap<&str, FileId> = BTreeMap::new();
        for (id, wanted, _, _) in &live {
            if !live_dirs.contains(wanted) && !keeper.contains_key(wanted.as_str()) {
                keeper.insert(wanted, *id);
                taken.insert(wanted.clone());
            }
        }
        let mut order: Vec<&(FileId, String, String, bool)> = live.iter().collect();
        order.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
        let mut files = BTreeMap::new();
        let mut by_path = BTreeMap::new();
        for (id, wanted, author, kept_by_edit) in order {
            let path = if keeper.get(wanted.as_str()) == Some(id) {
                wanted.clone()
            } else {
                free_name(wanted, &tag_of(author, *id), &taken)
            };
            taken.insert(path.clone());
            by_path.insert(path.clone(), *id);
            let shown = Shown {
                path,
                wanted: wanted.clone(),
                kept_by_edit: *kept_by_edit,
            };
            files.insert(*id, shown);
        }
        Tree {
            files,
            by_path,
            dirs,
            live_dirs,
        }
    }

    /// What changed from `self` to `new`, file by file in id order.
    pub(super) fn diff(&self, new: &Tree) -> Vec<Outcome> {
        let mut out = Vec::new();
        for (&file, shown) in &new.files {
            let old = self.files.get(&file);
            match old {
                None => out.push(Outcome::Appeared {
                    file,
                    path: shown.path.clone(),
                }),
                Some(old) if old.path != shown.path => out.push(Outcome::Moved {
                    file,
                    from: old.path.clone(),
                    to: shown.path.clone(),
                }),
                Some(_) => {}
            }
            if shown.kept_by_edit && !old.is_some_and(|o| o.kept_by_edit) {
                out.push(Outcome::KeptAfterDelete {
                    file,
                    path: shown.path.clone(),
                });
            }
            let conflicted = |s: &Shown| s.path != s.wanted;
            let was = old.is_some_and(|o| conflicted(o) && o.wanted == shown.wanted);
            if conflicted(shown) && !was {
                out.push(Outcome::NameTaken {
                    file,
                    wanted: shown.wanted.clone(),
                    path: shown.path.clone(),
                });
            }
        }
        for (&file, shown) in &self.files {
            if !new.files.contains_key(&file) {
                out.push(Outcome::Removed {
                    file,
                    path: shown.path.clone(),
                });
            }
        }
        out
    }
}

/// The path of every folder that can be placed, cycles broken (see the module docs).
fn dir_paths(state: &ManifestDelta) -> BTreeMap<DirId, String> {
    let mut parent: BTreeMap<DirId, Option<DirId>> = state
        .dirs
        .iter()
        .filter_map(|(id, e)| Some((*id, e.place.as_ref()?.value.parent)))
        .collect();
    // Break cycles: walk up from every folder; meeting the current walk again is a cycle.
    let mut done: BTreeSet<DirId> = BTreeSet::new();
    let ids: Vec<DirId> = parent.keys().copied().collect();
    for start in ids {
        let mut walk: Vec<DirId> = Vec::new();
        let mut in_walk: BTreeMap<DirId, usize> = BTreeMap::new();
        let mut at = Some(start);
        while let Some(dir) = at {
            if done.contains(&dir) || !parent.contains_key(&dir) {
                break;
            }
            if let Some(&pos) = in_walk.get(&dir) {
                let stamp = |d: &DirId| state.dirs[d].place.as_ref().map(|p| (p.stamp, *d));
                if let Some(breaker) = walk[pos..].iter().max_by_key(|d| stamp(d)) {
                    parent.insert(*breaker, None);
                }
                break;
            }
            in_walk.insert(dir, walk.len());
            walk.push(dir);
            at = parent[&dir];
        }
        done.extend(walk);
    }
    // Paths, top-down, iteratively (a peer may send a very deep chain).
    let mut paths: BTreeMap<DirId, String> = BTreeMap::new();
    let mut unplaced: BTreeSet<DirId> = BTreeSet::new();
    for &start in parent.keys() {
        let mut chain = Vec::new();
        let mut at = Some(start);
        let mut base: Option<String> = Some(String::new());
        while let Some(dir) = at {
            if let Some(p) = paths.get(&dir) {
                base = Some(p.clone());
                break;
            }
            if unplaced.contains(&dir) || !parent.contains_key(&dir) {
                base = None;
                break;
            }
            chain.push(dir);
            at = parent[&dir];
        }
        for dir in chain.into_iter().rev() {
            let name = state.dirs[&dir]
                .place
                .as_ref()
                .map(|p| p.value.name.as_str());
            base = match (base, name) {
                (Some(b), Some(n)) if b.len() + n.len() < MAX_PATH_BYTES => {
                    let path = if b.is_empty() {
                        n.to_string()
                    } else {
                        format!("{b}/{n}")
                    };
                    paths.insert(dir, path.clone());
                    Some(path)
                }
                _ => {
                    unplaced.insert(dir);
                    None
                }
            };
        }
    }
    paths
}

/// The tag for a file that yields its path: its author's name, made a valid part of a name.
fn tag_of(author: &str, id: FileId) -> String {
    let clean: String = author
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .take(32)
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        format!("{:x}", id.0.replica.as_u64())
    } else {
        clean.to_string()
    }
}

/// `wanted` with its name tagged (`notes (bob).md`, then `notes (bob 2).md`, …), the first
/// such path not `taken`.
fn free_name(wanted: &str, tag: &str, taken: &BTreeSet<String>) -> String {
    let (dir, name) = match wanted.rfind('/') {
        Some(cut) => (&wanted[..=cut], &wanted[cut + 1..]),
        None => ("", wanted),
    };
    (1u64..)
        .map(|n| {
            let tag = if n == 1 {
                tag.to_string()
            } else {
                format!("{tag} {n}")
            };
            format!("{dir}{}", fit(name, &tag))
        })
        .find(|p| !taken.contains(p))
        .unwrap_or_else(|| wanted.to_string())
}

/// `name` tagged, its stem cut so the result stays a valid name.
fn fit(name: &str, tag: &str) -> String {
    let tagged = tagged_name(name, tag);
    if tagged.len() <= MAX_NAME_BYTES {
        return tagged;
    }
    let over = tagged.len() - MAX_NAME_BYTES;
    let mut keep = name.len().saturating_sub(over);
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{} ({tag})", &name[..keep])
}
