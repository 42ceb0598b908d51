//! The folder on disk: picking up what other programs changed ([`FolderSession::rescan`]) and
//! writing what peers changed ([`FolderSession::materialise`]).
//!
//! The store records each file as duet last wrote or read it (path, hash, and the version of
//! its document the file held). A file whose bytes differ from that record was changed by
//! another program: it is never overwritten, and its change is merged onto the version the
//! file held (the store's rebase, as for a single file), so peers' edits that had not reached
//! the disk yet are kept. So:
//!
//! - a file deleted by a peer is removed from disk only if it still holds what duet wrote;
//!   otherwise it stays, and the next scan shares it again as a new file;
//! - a file is written (atomically) only over bytes duet knows; a file of another program in
//!   the way is left alone and reported;
//! - a rename moves the file on disk when it holds what duet wrote, else writes the new path
//!   and leaves the old file to be shared again.

use std::collections::{BTreeMap, BTreeSet};

use crdt_text::{Doc, VersionVector};

use super::{FolderEvent, FolderSession};
use crate::folder::path::{split_path, tagged_name};
use crate::folder::scan::{ScanConfig, SkipReason, Skipped, read_text, scan};
use crate::folder::{FileId, ManifestDelta, Tree};
use crate::ids::DocId;
use crate::proto::{DocConfig, Input};
use crate::store::{FolderStore, OnDisk, file_doc_id};

/// Temporary files of atomic writes (ours and the store's): never shared.
fn is_temp(path: &str) -> bool {
    path.ends_with(".duet-tmp") || path.ends_with(".tmp") && path.contains("/.duet")
}

fn hash(bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(bytes).as_bytes()
}

impl FolderSession {
    /// Scans the folder and shares what changed on disk since duet last wrote or read it:
    /// one manifest delta and one batch of text ops. Returns the inputs for the protocol.
    pub(super) fn rescan(&mut self, events: &mut Vec<FolderEvent>) -> Vec<Input> {
        // A save in flight could be taken for an outside change: wait for it.
        let mut inputs = self.settle_saves(events);
        let root = self.store.root().to_path_buf();
        let cfg = ScanConfig::default();
        let found = match scan(&root, &cfg) {
            Ok(found) => found,
            Err(e) => {
                events.push(FolderEvent::Problem(e.to_string()));
                return inputs;
            }
        };
        self.note_skipped(found.skipped, events);
        let scanned: BTreeMap<String, [u8; 32]> = found
            .files
            .iter()
            .filter(|f| !is_temp(&f.path))
            .map(|f| (f.path.clone(), f.hash))
            .collect();
        let tree = self.manifest.tree().clone();
        let recorded: BTreeMap<String, FileId> = self
            .store
            .state()
            .on_disk
            .iter()
            .map(|(id, r)| (r.path.clone(), *id))
            .collect();
        let mut delta = ManifestDelta::default();
        let (mut created, mut edited, mut renamed, mut deleted) = (0, 0, 0, 0);
        let mut merged = BTreeSet::new();
        let mut missing: Vec<FileId> = Vec::new();
        let mut foreign: Vec<(String, String)> = Vec::new();
        for (file, shown) in tree.files() {
            let record = self.store.state().on_disk.get(&file).cloned();
            let doc_id = file_doc_id(&self.folder, file);
            match scanned.get(&shown.path) {
                Some(h) => {
                    let known = record
                        .as_ref()
                        .is_some_and(|r| r.path == shown.path && r.hash == *h);
                    // A file recorded at a version its document lacks (the store lost part of
                    // it) holds text the document needs: it is taken back as a change.
                    let lost = || {
                        let doc = self.docs.get(&doc_id);
                        record
                            .as_ref()
                            .zip(doc)
                            .is_some_and(|(r, d)| r.ahead_of(&d.version()))
                    };
                    if known && !lost() {
                        continue;
                    }
                    let Ok(text) = read_text(&root.join(&shown.path), &cfg) else {
                        continue;
                    };
                    let Some(doc) = self.docs.get_mut(&doc_id) else {
                        continue;
                    };
                    let ours = record.as_ref().is_some_and(|r| r.path == shown.path);
                    if !ours && doc.text() != text {
                        // Not a file duet wrote: another file created at this path here
                        // while a peer created this one. Both stay, this one renamed.
                        if !doc.version().is_empty() {
                            foreign.push((shown.path.clone(), text));
                        }
                        continue;
                    }
                    let mut exported = doc.version();
                    if doc.text() != text {
                        let (ops, holds) = FolderStore::merge_text(doc, record.as_ref(), &text);
                        exported = holds;
                        // The manifest must know the edit: a delete that did not see it
                        // then keeps the file.
                        let version = doc.version();
                        let _ = self.manifest.text_changed(file, &version);
                        if !ops.is_empty() {
                            edited += 1;
                            merged.insert(doc_id);
                            inputs.push(Input::Local { doc: doc_id, ops });
                            self.open_with_connected(doc_id);
                        }
                    }
                    let path = shown.path.clone();
                    self.record(file, path, hash(text.as_bytes()), exported);
                }
                None => {
                    let exists = std::fs::symlink_metadata(root.join(&shown.path)).is_ok();
                    if !exists && record.is_some_and(|r| r.path == shown.path) {
                        missing.push(file);
                    }
                }
            }
        }
        // Files on disk that the tree does not have (and that no file waits to be moved
        // from): renames of missing files (same content) or new files. Each kind is one
        // batch of the manifest (one render of the tree, whatever the number of files).
        let mut moves: Vec<(FileId, String, [u8; 32])> = Vec::new();
        // Path, text, and the path a peer's file took from it (a conflict to tell).
        let mut news: Vec<(String, String, Option<String>)> = Vec::new();
        for (path, h) in &scanned {
            if tree.file_at(path).is_some() || recorded.contains_key(path) {
                continue;
            }
            let moved = missing.iter().position(|f| {
                self.store
                    .state()
                    .on_disk
                    .get(f)
                    .is_some_and(|r| r.hash == *h)
            });
            if let Some(at) = moved {
                moves.push((missing.remove(at), path.clone(), *h));
                continue;
            }
            if let Ok(text) = read_text(&root.join(path), &cfg) {
                news.push((path.clone(), text, None));
            }
        }
        let (outcomes, d) = self
            .manifest
            .rename_all(moves.iter().map(|(file, path, _)| (*file, path.as_str())));
        delta.merge(&d);
        for ((file, path, h), outcome) in moves.into_iter().zip(outcomes) {
            match outcome {
                Ok(()) => {
                    renamed += 1;
                    let version = self
                        .store
                        .state()
                        .on_disk
                        .get(&file)
                        .map(|r| r.version.clone());
                    self.record(file, path, h, version.unwrap_or_default());
                }
                Err(e) => events.push(FolderEvent::Problem(format!("cannot share {path}: {e}"))),
            }
        }
        for (path, text) in foreign {
            let Some(to) = self.free_path(&path) else {
                continue;
            };
            if let Err(e) = self.store.rename_plain(&path, &to) {
                events.push(FolderEvent::Problem(e.to_string()));
                continue;
            }
            news.push((to, text, Some(path)));
        }
        let (outcomes, d) = self
            .manifest
            .create_all(news.iter().map(|(path, _, _)| path.as_str()));
        delta.merge(&d);
        for ((path, text, taken), outcome) in news.into_iter().zip(outcomes) {
            match outcome {
                Ok(file) => {
                    created += 1;
                    inputs.extend(self.new_file(file, &text));
                    let version = self.version_of(file);
                    self.record(file, path.clone(), hash(text.as_bytes()), version);
                    if let Some(wanted) = taken {
                        events.push(FolderEvent::Disk(format!(
                            "conflict: a peer created {wanted} too; the file made here is now \
                             {path}"
                        )));
                    }
                }
                Err(e) => events.push(FolderEvent::Problem(format!("cannot share {path}: {e}"))),
            }
        }
        let (outcomes, d) = self.manifest.delete_all(missing.iter().copied());
        delta.merge(&d);
        for (file, outcome) in missing.into_iter().zip(outcomes) {
            if outcome.is_ok() {
                deleted += 1;
                self.store.forget_on_disk(file);
                self.state_dirty = true;
            }
        }
        if let Some(input) = self.publish(&delta) {
            // The tree change goes out before the texts that need it.
            inputs.insert(0, input);
        }
        if created + edited + renamed + deleted > 0 {
            events.push(FolderEvent::PickedUp {
                created,
                edited,
                renamed,
                deleted,
            });
        }
        // An outside change merged with peers' edits the file lacked: write the result.
        // (Only those files: the rest of the disk is as the scan found it.)
        if !merged.is_empty() {
            self.materialise_some(Some(&merged), events);
        }
        inputs
    }

    /// Keeps the files a scan skipped, telling the user of each newly skipped one (or
    /// skipped for another kind of reason than before).
    fn note_skipped(&mut self, skipped: Vec<Skipped>, events: &mut Vec<FolderEvent>) {
        let now: BTreeMap<String, SkipReason> = skipped
            .into_iter()
            .filter(|s| !is_temp(&s.path))
            .map(|s| (s.path, s.reason))
            .collect();
        for (path, reason) in &now {
            let known = self.skipped.get(path);
            if known.is_none_or(|r| std::mem::discriminant(r) != std::mem::discriminant(reason)) {
                events.push(FolderEvent::Skipped(Skipped {
                    path: path.clone(),
                    reason: reason.clone(),
                }));
            }
        }
        self.skipped = now;
    }

    /// Gives a file created here its document holding `text`; returns the ops to send. The
    /// document is opened with every connected peer after the manifest change went out.
    fn new_file(&mut self, file: FileId, text: &str) -> Option<Input> {
        let doc_id = file_doc_id(&self.folder, file);
        let mut doc = Doc::new(self.store.replica());
        self.peer.add_doc(
            DocConfig {
                id: doc_id,
                secret: self.store.identity().secret.clone(),
                acked: Default::default(),
                on_demand: true,
            },
            &doc,
        );
        let mut ops = FolderStore::import_text(&mut doc, text);
        if ops.is_empty() {
            // An empty file still gets a version (a character typed and deleted), so peers
            // can tell "empty" from "its text has not arrived yet" (see `materialise`).
            ops.push(doc.insert(0, " "));
            ops.push(doc.delete(0, 1));
        }
        let _ = self.manifest.text_changed(file, &doc.version());
        self.docs.insert(doc_id, doc);
        self.files.insert(doc_id, file);
        self.open_with_connected(doc_id);
        Some(Input::Local { doc: doc_id, ops })
    }

    /// A path beside `path` that neither the tree nor the disk has: `name (me).ext`, then
    /// `name (me 2).ext`, …
    fn free_path(&self, path: &str) -> Option<String> {
        let (dir, name) = match path.rfind('/') {
            Some(cut) => (&path[..=cut], &path[cut + 1..]),
            None => ("", path),
        };
        let me = self.manifest.author().to_string();
        (1..1000).find_map(|n| {
            let tag = if n == 1 {
                me.clone()
            } else {
                format!("{me} {n}")
            };
            let candidate = format!("{dir}{}", tagged_name(name, &tag));
            let free = self.manifest.tree().file_at(&candidate).is_none()
                && !self.manifest.tree().is_dir(&candidate)
                && matches!(self.store.read_plain(&candidate), Ok(None));
            (free && split_path(&candidate).is_ok()).then_some(candidate)
        })
    }

    /// The version of `file`'s document here.
    fn version_of(&self, file: FileId) -> VersionVector {
        self.docs
            .get(&file_doc_id(&self.folder, file))
            .map(Doc::version)
            .unwrap_or_default()
    }

    /// Records that the file at `path` holds `hash`, the text of its document at `version`.
    pub(super) fn record(
        &mut self,
        file: FileId,
        path: String,
        hash: [u8; 32],
        version: VersionVector,
    ) {
        self.store.record_on_disk(
            file,
            OnDisk {
                path,
                hash,
                version,
            },
        );
        self.state_dirty = true;
        self.save_soon();
    }

    /// Makes the disk show the tree: removes, renames and writes files (see the module docs).
    pub(super) fn materialise(&mut self, events: &mut Vec<FolderEvent>) {
        self.rewrites.clear();
        self.materialise_some(None, events);
    }

    /// [`materialise`](Self::materialise); with `only`, when just the texts of these
    /// documents changed (not the tree), only their files are written.
    pub(super) fn materialise_some(
        &mut self,
        only: Option<&BTreeSet<DocId>>,
        events: &mut Vec<FolderEvent>,
    ) {
        // The disk and the records must not change under a save in flight.
        let durable = self.settle_saves(events);
        self.followups.extend(durable);
        let tree = self.manifest.tree().clone();
        if only.is_none() {
            self.remove_and_rename(&tree, events);
        }
        // Written as one group: a thousand files cost a few flushes of the disk, not a
        // thousand.
        let writes = self.plan_writes(&tree, only);
        self.write_now(writes, events);
    }

    /// Removes files no longer in the tree (when they hold what duet wrote) and moves
    /// renamed ones.
    fn remove_and_rename(&mut self, tree: &Tree, events: &mut Vec<FolderEvent>) {
        // Files no longer in the tree.
        let gone: Vec<(FileId, OnDisk)> = self
            .store
            .state()
            .on_disk
            .iter()
            .filter(|(f, _)| tree.path(**f).is_none())
            .map(|(f, r)| (*f, r.clone()))
            .collect();
        for (file, rec) in gone {
            self.store.forget_on_disk(file);
            self.state_dirty = true;
            match self.store.read_plain(&rec.path) {
                Ok(Some(bytes)) if hash(&bytes) != rec.hash => {
                    events.push(FolderEvent::Disk(format!(
                        "kept {}: deleted by a peer, but changed here; shared again",
                        rec.path
                    )))
                }
                Ok(Some(_)) => match self.store.remove_plain(&rec.path) {
                    Ok(()) => events.push(FolderEvent::Disk(format!("removed {}", rec.path))),
                    Err(e) => events.push(FolderEvent::Problem(e.to_string())),
                },
                Ok(None) => {}
                Err(e) => events.push(FolderEvent::Problem(e.to_string())),
            }
        }
        // Renames first, so that a path freed by one is free for the writes.
        for (file, shown) in tree.files() {
            let Some(rec) = self.store.state().on_disk.get(&file).cloned() else {
                continue;
            };
            if rec.path == shown.path {
                continue;
            }
            let free = matches!(self.store.read_plain(&shown.path), Ok(None));
            let ours =
                matches!(self.store.read_plain(&rec.path), Ok(Some(b)) if hash(&b) == rec.hash);
            if free && ours {
                match self.store.rename_plain(&rec.path, &shown.path) {
                    Ok(()) => {
                        events.push(FolderEvent::Disk(format!(
                            "renamed {} → {}",
                            rec.path, shown.path
                        )));
                        self.record(file, shown.path.clone(), rec.hash, rec.version.clone());
                    }
                    Err(e) => events.push(FolderEvent::Problem(e.to_string())),
                }
            } else {
                // Written at its new path below; what is at the old one (changed here) is
                // shared again by the next scan.
                self.store.forget_on_disk(file);
                self.state_dirty = true;
            }
        }
    }
}
