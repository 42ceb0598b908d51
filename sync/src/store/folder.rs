//! The store of a shared folder: one per folder, `DIR/.duet/@folder/`, holding the folder's
//! identity, the manifest's log document and one text document per file.
//!
//! | file | holds | written |
//! |---|---|---|
//! | `identity` | folder id and secret, endpoint key, the folder's name | at creation |
//! | `state` | known peers; path, hash and document version of each file as duet last wrote or read it on disk | after changes |
//! | `docs/ID` | snapshot: `Doc::encode` of document `ID` (hex), the manifest log (`ID` = the folder id) or a file's text | when first stored, and when its log has grown as large |
//! | `logs/ID` | the ops of document `ID` saved since its snapshot (see `docs.rs`) | appended after changes |
//! | `editor/ID` | this user's undo history in file `ID` and the version last seen (the single-file store's `editor` state) | when the editor leaves the file and at quit |
//! | `recent` | the paths this user last opened in the editor, most recent first | when the editor switches files and at quit |
//! | `plain-backup` | a plain file's old bytes while it is overwritten in place | during such a write |
//! | `lock` | advisory lock: one duet process per folder | while open |
//!
//! # Format (folder store format version 2)
//!
//! Every file but the logs (which have the single-file store's log format: `log.rs`) is
//! `postcard(FOLDER_STORE_FORMAT: u32 varint, kind: u8)` then its body, then the 32-byte
//! BLAKE3 checksum of everything before it (the store's `seal`). Kinds: 1 identity (postcard
//! [`FolderIdentity`]), 2 state (postcard [`FolderState`]), 3 document snapshot (crdt-text's
//! `Doc::encode`), 4 recent (postcard `Vec<String>`), 5 editor (postcard
//! [`EditorState`](super::EditorState), which starts with its own version). Every such file is
//! only ever replaced atomically (the store's `write_atomic`: temp file, fsync, rename, fsync
//! of the folder), so a crash leaves the old or the new file. Snapshots, logs created and
//! plain files written together (a join writing a thousand files) go as one group commit
//! (`write_atomic_all`, `Staged::commit_all`): the same steps per file, their flushes at once
//! and one fsync per folder; a crash leaves each file old or new, and nothing is reported
//! durable before the group's last fsync. Logs are appended to, their `fdatasync`s at once.
//! A newer format version is refused by name; a damaged snapshot or log is moved aside
//! (`NAME.damaged-…`, never deleted) and the document keeps what checks out, to be refilled
//! by peers and by the file on disk; a damaged `identity` stops the open (it holds the
//! secret).
//!
//! Version 1 had no logs (each save rewrote the whole document). Its stores are read as they
//! are; opening one writes its `state` as version 2 at once, so that a duet that knows only
//! version 1, which would not read the logs, refuses the store instead of losing them.
//!
//! Every open continues under a fresh random replica id, so op ids are never reused for
//! different edits, whether or not the last session closed cleanly (a version vector gains
//! one entry per session that edited).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crdt_text::{Doc, Op, ReplicaId, VersionVector};
use serde::{Deserialize, Serialize};

use super::format::{keep_aside, read_if_exists, seal, unseal, write_atomic};
use super::lock::Lock;
use super::meta::EndpointKey;
use super::paths::{STORE_DIR, create_private_dir};
use super::save;
use super::{KnownPeer, MAX_KNOWN_PEERS, StoreError};
use crate::folder::FileId;
use crate::ids::{DocId, DocSecret};

mod docs;

pub use docs::{DocSave, DocsSaved, FolderDocs};

/// The folder store format version written by this code (1: no logs, each save rewrote the
/// whole document; read as it is).
pub const FOLDER_STORE_FORMAT: u32 = 2;

/// The folder of a shared folder's store inside `DIR/.duet/` (a file named `@folder` in
/// `DIR` cannot also be opened as a single document).
pub const FOLDER_STORE: &str = "@folder";

const KIND_IDENTITY: u8 = 1;
const KIND_STATE: u8 = 2;
const KIND_DOC: u8 = 3;
const KIND_RECENT: u8 = 4;
const KIND_EDITOR: u8 = 5;

/// Who a shared folder is: written once, at creation.
#[derive(Clone, Serialize, Deserialize)]
pub struct FolderIdentity {
    /// The folder's id (public, in tickets); also the id of its manifest log document.
    pub folder: DocId,
    /// The folder's secret (in tickets only).
    pub secret: DocSecret,
    endpoint: EndpointKey,
    /// The folder's name, given to joiners as a default.
    pub name: String,
}

impl std::fmt::Debug for FolderIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderIdentity")
            .field("folder", &self.folder)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A file as duet last wrote or read it on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnDisk {
    /// Its path in the folder.
    pub path: String,
    /// BLAKE3 of its bytes.
    pub hash: [u8; 32],
    /// The version of the file's document whose text it holds: an outside change is merged
    /// onto that version, so it never undoes what peers changed since.
    pub version: VersionVector,
}

impl OnDisk {
    /// Whether a document at `version` lacks the version this file was recorded at: its
    /// store lost part of it (records are saved after their documents), so the file holds
    /// text the document needs and must be read back, never written over.
    pub fn ahead_of(&self, version: &VersionVector) -> bool {
        !version.includes(&self.version)
    }
}

/// What a shared folder's store remembers besides documents.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FolderState {
    /// Peers of the folder, most recently seen first.
    pub known_peers: Vec<KnownPeer>,
    /// Each file as duet last wrote or read it on disk: what tells an outside change (or a
    /// delete) from duet's own writes.
    pub on_disk: BTreeMap<FileId, OnDisk>,
}

/// What changed in a store's [`FolderState`] since [`FolderStore::take_changes`] last took it:
/// the latest record (or its removal) of each file touched, and the peers if they changed.
/// Applied to a writer thread's own copy of the state, it lets a save write the whole state
/// without copying a thousand records on the loop for every keystroke.
#[derive(Debug)]
pub struct StateChanges {
    on_disk: BTreeMap<FileId, Option<OnDisk>>,
    known_peers: Option<Vec<KnownPeer>>,
}

impl StateChanges {
    /// Brings `state` (a copy that was equal before these changes) up to date.
    pub fn apply(self, state: &mut FolderState) {
        for (file, rec) in self.on_disk {
            match rec {
                Some(rec) => state.on_disk.insert(file, rec),
                None => state.on_disk.remove(&file),
            };
        }
        if let Some(peers) = self.known_peers {
            state.known_peers = peers;
        }
    }
}

/// A shared folder's store, open (and locked) by this process.
#[derive(Debug)]
pub struct FolderStore {
    writer: FolderWriter,
    identity: FolderIdentity,
    state: FolderState,
    /// The records changed since the writer last took the changes, and whether the peers
    /// did.
    changed: BTreeMap<FileId, Option<OnDisk>>,
    peers_changed: bool,
    replica: ReplicaId,
}

/// Writes a folder store's files and the folder's plain files, from any thread (a
/// [`FolderStore`] hands one to its writer thread). Holds the store's lock: the folder
/// stays locked until the store and every writer are gone.
#[derive(Clone, Debug)]
pub struct FolderWriter {
    root: PathBuf,
    dir: PathBuf,
    _lock: Arc<Lock>,
}

/// A folder store as opened, with its documents.
#[derive(Debug)]
pub struct OpenedFolder {
    /// The store.
    pub store: FolderStore,
    /// Every stored document, continuing under the store's replica id.
    pub docs: BTreeMap<DocId, Doc>,
    /// The documents' files, for the writer that saves them.
    pub files: FolderDocs,
    /// Damaged store files moved aside or repaired: tell the user.
    pub warnings: Vec<String>,
    /// Whether the store was created by this open.
    pub created: bool,
}

/// The id of the text document of `file` in the folder `folder`.
pub fn file_doc_id(folder: &DocId, file: FileId) -> DocId {
    let mut hasher = blake3::Hasher::new_derive_key("duet shared folder file document v1");
    hasher.update(folder.as_bytes());
    hasher.update(&file.0.lamport.to_le_bytes());
    hasher.update(&file.0.replica.as_u64().to_le_bytes());
    DocId(*hasher.finalize().as_bytes())
}

/// Whether `root` holds a shared folder's store.
pub fn is_shared_folder(root: &Path) -> bool {
    root.join(STORE_DIR)
        .join(FOLDER_STORE)
        .join("identity")
        .is_file()
}

fn encode_file(kind: u8, body: &[u8]) -> Vec<u8> {
    encode_file_as(FOLDER_STORE_FORMAT, kind, body)
}

/// A sealed folder-store file of format `version` (older ones for tests).
fn encode_file_as(version: u32, kind: u8, body: &[u8]) -> Vec<u8> {
    // Serializing plain data into a Vec cannot fail.
    let mut out = postcard::to_stdvec(&(version, kind)).unwrap_or_default();
    out.extend_from_slice(body);
    seal(out)
}

/// The body of a sealed folder-store file of `kind`, or why it is not one.
fn decode_file(path: &Path, bytes: &[u8], kind: u8) -> Result<Vec<u8>, StoreError> {
    decode_versioned(path, bytes, kind).map(|(_, body)| body)
}

/// [`decode_file`], with the file's format version.
fn decode_versioned(path: &Path, bytes: &[u8], kind: u8) -> Result<(u32, Vec<u8>), StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let content = unseal(bytes).ok_or_else(|| corrupt("checksum mismatch"))?;
    let ((version, found), body) = postcard::take_from_bytes::<(u32, u8)>(content)
        .map_err(|_| corrupt("no folder store header"))?;
    if version > FOLDER_STORE_FORMAT {
        return Err(StoreError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: u16::try_from(version).unwrap_or(u16::MAX),
            supported: FOLDER_STORE_FORMAT as u16,
        });
    }
    if found != kind {
        return Err(corrupt("a store file of another kind"));
    }
    Ok((version, body.to_vec()))
}

impl FolderStore {
    /// Opens the store of the folder `root`, creating it if it has none: as a new folder
    /// (`join: None`, named after `root`) or as a replica of the ticket's folder. Refuses a
    /// store of another folder than the ticket's.
    pub fn open(root: &Path, join: Option<(DocId, DocSecret)>) -> Result<OpenedFolder, StoreError> {
        let root = fs::canonicalize(root).map_err(|e| StoreError::io("open folder", root, e))?;
        let top = root.join(STORE_DIR);
        match create_private_dir(&top) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(StoreError::io("create", &top, e)),
        }
        let dir = top.join(FOLDER_STORE);
        match create_private_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(StoreError::io("create", &dir, e)),
        }
        for sub in ["docs", "logs"] {
            let sub = dir.join(sub);
            match create_private_dir(&sub) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::io("create", &sub, e)),
            }
        }
        let lock = Lock::acquire(&dir.join("lock"))?;
        let identity_path = dir.join("identity");
        let (identity, created) = match read_if_exists(&identity_path)? {
            Some(bytes) => {
                let body = decode_file(&identity_path, &bytes, KIND_IDENTITY)?;
                let identity: FolderIdentity =
                    postcard::from_bytes(&body).map_err(|e| StoreError::Corrupt {
                        path: identity_path.clone(),
                        reason: e.to_string(),
                    })?;
                if let Some((folder, _)) = &join
                    && *folder != identity.folder
                {
                    return Err(StoreError::WrongDocument {
                        path: identity_path,
                        expected: *folder,
                        found: identity.folder,
                    });
                }
                (identity, false)
            }
            None => {
                let (folder, secret) =
                    join.unwrap_or_else(|| (DocId::random(), DocSecret::random()));
                let name = root
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let identity = FolderIdentity {
                    folder,
                    secret,
                    endpoint: EndpointKey::random(),
                    name,
                };
                let body = postcard::to_stdvec(&identity).unwrap_or_default();
                write_atomic(&identity_path, &encode_file(KIND_IDENTITY, &body))?;
                (identity, true)
            }
        };
        let mut warnings = Vec::new();
        let state_path = dir.join("state");
        let (state, state_version) = match read_if_exists(&state_path)? {
            None => (FolderState::default(), None),
            Some(bytes) => match decode_versioned(&state_path, &bytes, KIND_STATE).and_then(
                |(version, body)| {
                    postcard::from_bytes(&body)
                        .map(|state| (state, Some(version)))
                        .map_err(|e| StoreError::Corrupt {
                            path: state_path.clone(),
                            reason: e.to_string(),
                        })
                },
            ) {
                Ok(read) => read,
                Err(e @ StoreError::UnsupportedVersion { .. }) => return Err(e),
                Err(e) => {
                    let kept = keep_aside(&state_path)?;
                    warnings.push(format!(
                        "{e}; kept as {}: every file on disk is taken as it is",
                        kept.display()
                    ));
                    (FolderState::default(), None)
                }
            },
        };
        let replica = ReplicaId::from(rand::random::<u64>());
        let loaded = FolderDocs::load(&dir, replica, &mut warnings)?;
        let store = FolderStore {
            writer: FolderWriter {
                root,
                dir,
                _lock: Arc::new(lock),
            },
            identity,
            state,
            changed: BTreeMap::new(),
            peers_changed: false,
            replica,
        };
        // Marks the store as this version's before anything is appended to a log.
        if state_version != Some(FOLDER_STORE_FORMAT) {
            store.writer.save_state(&store.state)?;
        }
        Ok(OpenedFolder {
            store,
            docs: loaded.docs,
            files: loaded.files,
            warnings,
            created,
        })
    }

    /// The shared folder (canonical).
    pub fn root(&self) -> &Path {
        &self.writer.root
    }

    /// A handle that writes this store's files and the plain files from another thread.
    pub fn writer(&self) -> FolderWriter {
        self.writer.clone()
    }

    /// The folder's identity.
    pub fn identity(&self) -> &FolderIdentity {
        &self.identity
    }

    /// The replica id this process writes under (fresh per open).
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// The secret key of the endpoint serving this folder.
    pub fn endpoint_secret(&self) -> [u8; 32] {
        self.identity.endpoint.0
    }

    /// What the store remembers besides documents.
    pub fn state(&self) -> &FolderState {
        &self.state
    }

    /// Records how the file `file` is on disk now; the writer makes it durable with the state
    /// ([`FolderWriter::save_state`]).
    pub fn record_on_disk(&mut self, file: FileId, rec: OnDisk) {
        self.state.on_disk.insert(file, rec.clone());
        self.changed.insert(file, Some(rec));
    }

    /// Forgets how `file` was on disk (it is gone from the disk or the tree).
    pub fn forget_on_disk(&mut self, file: FileId) {
        if self.state.on_disk.remove(&file).is_some() {
            self.changed.insert(file, None);
        }
    }

    /// The changes to the state since this was last called, for a writer that keeps its own
    /// copy of the state (which must have been equal to this one after the last call).
    pub fn take_changes(&mut self) -> StateChanges {
        StateChanges {
            on_disk: std::mem::take(&mut self.changed),
            known_peers: std::mem::take(&mut self.peers_changed)
                .then(|| self.state.known_peers.clone()),
        }
    }

    /// The paths the editor last opened, most recent first; a damaged file is named in the
    /// error (it only orders the file picker: nothing else is lost).
    pub fn recent(&self) -> Result<Vec<String>, StoreError> {
        let path = self.writer.dir.join("recent");
        let Some(bytes) = read_if_exists(&path)? else {
            return Ok(Vec::new());
        };
        let body = decode_file(&path, &bytes, KIND_RECENT)?;
        postcard::from_bytes(&body).map_err(|_| StoreError::Corrupt {
            path: path.clone(),
            reason: "not a list of paths".into(),
        })
    }

    /// Keeps the paths the editor last opened (atomically).
    pub fn keep_recent(&self, paths: &[String]) -> Result<(), StoreError> {
        // Serializing plain data into a Vec cannot fail.
        let body = postcard::to_stdvec(paths).unwrap_or_default();
        write_atomic(
            &self.writer.dir.join("recent"),
            &encode_file(KIND_RECENT, &body),
        )
    }

    /// This user's editor state for the file whose document is `doc` (see
    /// [`EditorState`](super::EditorState)); a damaged one loses the undo history only.
    pub fn read_editor(&self, doc: &DocId) -> super::EditorRead {
        use super::EditorRead;
        let path = self.writer.dir.join("editor").join(doc.to_string());
        let bytes = match read_if_exists(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return EditorRead::Missing,
            Err(e) => return EditorRead::unreadable(&path, e.to_string()),
        };
        match decode_file(&path, &bytes, KIND_EDITOR) {
            Ok(body) => EditorRead::decode(&path, &body),
            Err(e) => EditorRead::unreadable(&path, e.to_string()),
        }
    }

    /// Keeps this user's editor state for the file whose document is `doc` (atomically).
    pub fn keep_editor(&self, doc: &DocId, state: &super::EditorState) -> Result<(), StoreError> {
        let dir = self.writer.dir.join("editor");
        create_private_dir(&dir).map_err(|e| StoreError::io("create", &dir, e))?;
        let body = postcard::to_stdvec(state)?;
        write_atomic(&dir.join(doc.to_string()), &encode_file(KIND_EDITOR, &body))
    }

    /// Remembers a peer (most recently seen first, at most [`MAX_KNOWN_PEERS`]).
    pub fn remember_peer(&mut self, peer: KnownPeer) {
        let peers = &mut self.state.known_peers;
        peers.retain(|p| p.endpoint_id != peer.endpoint_id);
        peers.insert(0, peer);
        peers.truncate(MAX_KNOWN_PEERS);
        self.peers_changed = true;
    }

    /// Makes `doc`'s text `text` with a minimal diff (local ops, already applied: to send).
    pub fn import_text(doc: &mut Doc, text: &str) -> Vec<Op> {
        super::plain::import_diff(doc, text, super::plain::Merge::Replace).ops
    }

    /// Merges `text`, what another program made of a file that held `doc` at `on_disk`, into
    /// `doc` (local ops, already applied: to send) as the single-file store merges outside
    /// edits: the change is diffed against the text the file held and replayed onto the
    /// document, so what peers changed since is kept. Returns the ops and the version whose
    /// text the file holds now.
    pub fn merge_text(
        doc: &mut Doc,
        on_disk: Option<&OnDisk>,
        text: &str,
    ) -> (Vec<Op>, VersionVector) {
        if let Some(rec) = on_disk.filter(|r| r.version != doc.version()) {
            let base = super::meta::PlainState {
                hash: rec.hash,
                line_ending: super::LineEnding::Lf,
                bom: false,
                exported: rec.version.clone(),
            };
            if let Some((imported, exported)) = super::rebase::import_onto_export(doc, &base, text)
            {
                return (imported.ops, exported);
            }
        }
        let ops = FolderStore::import_text(doc, text);
        (ops, doc.version())
    }

    /// Reads the plain file `rel`: `None` if it does not exist.
    pub fn read_plain(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.writer.read_plain(rel)
    }

    /// Writes each `(rel, text)` to the plain file `rel`, atomically (creating its folders),
    /// as one group (the store's group commit): the outcome of each, in order.
    pub fn write_plains(&self, files: &[(&str, &str)]) -> Vec<Result<(), StoreError>> {
        self.writer.write_plains(files)
    }

    /// Renames the plain file `from` to `to` (creating `to`'s folders, removing `from`'s
    /// folders left empty).
    pub fn rename_plain(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.writer.check_no_link(from)?;
        self.writer.check_no_link(to)?;
        let (src, dst) = (self.writer.plain(from), self.writer.plain(to));
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).map_err(|e| StoreError::io("create", parent, e))?;
        }
        fs::rename(&src, &dst).map_err(|e| StoreError::io("rename", &src, e))?;
        super::format::sync_dir(&dst)?;
        self.remove_empty_dirs(from);
        Ok(())
    }

    /// Removes the plain file `rel` and its folders left empty.
    pub fn remove_plain(&self, rel: &str) -> Result<(), StoreError> {
        self.writer.check_no_link(rel)?;
        let path = self.writer.plain(rel);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("remove", &path, e)),
        }
        self.remove_empty_dirs(rel);
        Ok(())
    }

    fn remove_empty_dirs(&self, rel: &str) {
        let mut at = self.writer.plain(rel);
        while at.pop() && at != self.writer.root && at.starts_with(&self.writer.root) {
            // Only an empty folder is removed; anything else stops the walk.
            if fs::remove_dir(&at).is_err() {
                break;
            }
        }
    }
}

impl FolderWriter {
    /// The shared folder (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Replaces the state with `state` (atomically).
    pub fn save_state(&self, state: &FolderState) -> Result<(), StoreError> {
        // Serializing plain data into a Vec cannot fail.
        let body = postcard::to_stdvec(state).unwrap_or_default();
        write_atomic(&self.dir.join("state"), &encode_file(KIND_STATE, &body))
    }

    /// The path on disk of the shared path `rel` (a valid shared path: it stays inside).
    fn plain(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Refuses to write through a symbolic link at `rel` or above it: it could lead out of
    /// the folder.
    fn check_no_link(&self, rel: &str) -> Result<(), StoreError> {
        let mut at = self.root.clone();
        for part in rel.split('/') {
            at.push(part);
            match fs::symlink_metadata(&at) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(StoreError::io(
                        "write through",
                        &at,
                        io::Error::other(
                            "a symbolic link (shared folders write regular files only)",
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Reads the plain file `rel`: `None` if it does not exist.
    pub fn read_plain(&self, rel: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check_no_link(rel)?;
        read_if_exists(&self.plain(rel))
    }

    /// Writes each `(rel, text)` to the plain file `rel`, atomically (creating its folders),
    /// as one group (the store's group commit): the outcome of each, in order.
    pub fn write_plains(&self, files: &[(&str, &str)]) -> Vec<Result<(), StoreError>> {
        let mut results: Vec<Option<Result<(), StoreError>>> = files.iter().map(|_| None).collect();
        let mut batch = Vec::with_capacity(files.len());
        let mut at = Vec::with_capacity(files.len());
        for (i, (rel, text)) in files.iter().enumerate() {
            let path = self.plain(rel);
            let ready = self.check_no_link(rel).and_then(|()| match path.parent() {
                Some(parent) => {
                    fs::create_dir_all(parent).map_err(|e| StoreError::io("create", parent, e))
                }
                None => Ok(()),
            });
            match ready {
                Ok(()) => {
                    batch.push((path, text.as_bytes()));
                    at.push(i);
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let backup = self.dir.join("plain-backup");
        for (i, result) in at.into_iter().zip(save::write_all(&batch, &backup)) {
            results[i] = Some(result);
        }
        results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
    }
}

/// A document's snapshot file (see `docs.rs`).
fn encode_doc(doc: &Doc) -> Vec<u8> {
    encode_file(KIND_DOC, &doc.encode())
}

#[cfg(test)]
mod tests;
