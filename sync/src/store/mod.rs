//! The local store: the source of truth for a document on this machine.
//!
//! A peer can close, crash or lose power, edit offline for days, and come back with nothing
//! lost and the document open in milliseconds. The plain text file is an export of the store
//! (and a way in for edits made by other programs).
//!
//! # Where it lives
//!
//! The store of `dir/notes.md` is the folder `dir/.duet/notes.md/`, beside the file (`dir`
//! canonical, symlinks resolved: see `paths.rs`). Moving or copying `dir` (a project folder,
//! a synced folder, a USB stick) takes the history and the identity along with the text, a
//! second document in the same folder gets its own store, and nothing about a document hides
//! in a per-user directory the user does not know to back up. A copy is recognised and
//! continues under fresh ids (see `home.rs`). Renaming the file alone starts a new document:
//! rename `.duet/OLD` to `.duet/NEW` as well to keep its history ([`Store::move_to`], the
//! editor's Save as, moves the store to a new name in one atomic rename).
//!
//! | file | holds | written |
//! |---|---|---|
//! | `identity` | document id and secret, replica id, endpoint key, where the store lives | at creation; when the ids are renewed or the store moved |
//! | `state` | known peers; hash, line endings and version of the last plain-file export | at creation; on remember_peer / export / import |
//! | `snapshot` | `Doc::encode` of the document at the last compaction | by compaction |
//! | `log` | frames of ops appended since the snapshot | append-only, `fdatasync` per sync |
//! | `lock` | advisory lock; `open PID`, or the manifest of a clean close | at open and clean close |
//! | `floor` | the plain file's text when the store was found damaged | at recovery; removed by the next save |
//! | `editor` | this user's undo and redo stacks, the version last seen (see `editor.rs`) | by the editor: at quit, and every few seconds after a change |
//! | `plain-backup` | the plain file's old bytes while it is overwritten in place | during such a save |
//! | `last-recovery.txt` | the last [`RecoveryReport`], for people | when opening finds a problem |
//!
//! Formats are documented beside their encoders: `header` (the common header and the format
//! version), `format` (checksums, atomic replace), `log`, `snapshot`, `meta`, `lock`, `floor`,
//! `editor`.
//! The store is built in a temporary folder and renamed into place when complete, so a refused
//! file or a failed open never leaves a half-made store. Folders are `0700`, files `0600`.
//!
//! # Durability contract (for the driver)
//!
//! - Append every op — local or remote — with [`Store::append`] *before* sending it to anyone.
//!   It is cheap (no IO).
//! - Sync at [`Store::sync_deadline`] (50 ms after the first unsynced append; see
//!   [`FlushPolicy`]). [`Store::sync`] writes one frame and `fdatasync`s; after it returns, the
//!   ops are durable: show "saved", acknowledge remote ops to their senders.
//! - Call [`Store::compact`] after each sync (the check is O(1)); it rewrites the snapshot
//!   once the log tail has grown as large as it, so opening never replays a long history and
//!   the store stays under twice the encoded document.
//! - Close with [`Store::close`] (or drop the store), which syncs and records a clean close.
//! - [`Store::write_plain_file`] syncs first: the file never holds text the store lacks. The
//!   `doc` it is given must hold only ops that were appended (a saved version the store does
//!   not hold is reported as lost history by the next open).
//!
//! # Crashes, damage and loss
//!
//! Opening recovers every frame that was synced and cuts a torn tail ([`StoreWarning::TornTail`]).
//! Anything else wrong — a file damaged or missing, a log shorter than at its last clean close,
//! damage in the last frame of a cleanly closed log (not a torn write then) — is reported in a
//! [`RecoveryReport`]: everything that checks out is recovered (frames after a damaged one
//! too: their ops wait in the document for the history they need, from peers), every damaged
//! file is kept (never deleted), and the plain file becomes a source again: its text is
//! imported, keeping everything the document had, so the document never holds less than the
//! file. Until the next save a *floor* guards that text (see `floor.rs`). Ops handed to peers
//! but never synced can be lost in a crash; so that their ids are never reused for different
//! edits, a session that did not close cleanly, lost history, or is a copy continues under a
//! new replica id ([`StoreWarning::NewReplica`]); after a clean close the replica id stays the
//! same. Only a damaged or missing `identity` stops the open (it holds the document secret,
//! which nothing else can rebuild), and then nothing on disk is changed.

mod diff;
mod editor;
mod error;
mod export;
mod floor;
mod flush;
mod folder;
mod format;
mod header;
mod home;
mod legacy;
mod lock;
mod log;
mod meta;
mod open;
mod paths;
mod peek;
mod plain;
mod rebase;
mod recover;
mod rename;
mod report;
mod save;
mod snapshot;
mod thread;

use std::fs;
use std::path::Path;
use std::time::Instant;

use crdt_text::{Doc, Op, ReplicaId, VersionVector};

pub use editor::{EDITOR_STATE_VERSION, EditorRead, EditorState};
pub use error::{StoreError, StoreFile, StoreWarning};
pub use export::{Import, PlainChange, Saved, merge_change};
pub use flush::{DEFAULT_DELAY, FlushPolicy};
pub use folder::{
    DocSave, DocsSaved, FOLDER_STORE, FOLDER_STORE_FORMAT, FolderDocs, FolderIdentity, FolderState,
    FolderStore, FolderWriter, OnDisk, OpenedFolder, StateChanges, file_doc_id, is_shared_folder,
};
pub use header::FORMAT_VERSION;
pub use meta::KnownPeer;
pub use paths::{STORE_DIR, store_dir_of};
pub use peek::read_document;
pub use plain::{Imported, LineEnding, MAX_PLAIN_FILE, PlainText};
pub use report::{Recovered, RecoveryReport};
pub(crate) use thread::spawn_writer;

use crate::ids::{DocId, DocSecret};
use lock::{Lock, Manifest};
use meta::{Identity, PlainState, State};
use paths::Paths;

/// The log tail may grow to the snapshot's size (so the store stays under twice the encoded
/// document), but compaction never runs for less than this many bytes of tail (a compaction
/// costs a `Doc::encode` and four fsyncs; below this, a tiny document's store may exceed
/// twice its encoding by up to this much).
pub const MIN_COMPACT_TAIL: u64 = 8 << 10;

/// At most this many peers are remembered (the least recently seen are forgotten).
pub const MAX_KNOWN_PEERS: usize = 64;

/// The wall clock in Unix seconds (0 if the clock is before 1970): what edits are dated with.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether a duet process has the document of `file` open (holds its store's lock). Creates
/// nothing.
pub fn is_open_elsewhere(file: &Path) -> Result<bool, StoreError> {
    Lock::is_held(&Paths::new(file)?.lock)
}

/// The document whose store `file` has, if it has one (read from the store's identity;
/// nothing is created or locked).
pub fn stored_document(file: &Path) -> Option<DocId> {
    let paths = Paths::new(file).ok()?;
    meta::read_identity(&paths.identity)
        .ok()
        .flatten()
        .map(|(doc, _)| doc)
}

/// The ticket published by the duet process that has the document of `file` open, if one
/// has (see [`Store::publish_ticket`]). A ticket left by a process that crashed is removed.
/// Creates nothing.
pub fn published_ticket(file: &Path) -> Result<Option<String>, StoreError> {
    let paths = Paths::new(file)?;
    let text = match fs::read_to_string(&paths.ticket) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", &paths.ticket, e)),
    };
    if Lock::is_held(&paths.lock)? {
        return Ok(Some(text.trim().to_owned()));
    }
    // Nobody has the document open: the ticket is left over from a crash.
    let _ = fs::remove_file(&paths.ticket);
    Ok(None)
}

/// The store of one document, open for writing. Holds the document's lock for its lifetime:
/// no other process can open the document meanwhile.
#[derive(Debug)]
pub struct Store {
    paths: Paths,
    lock: Lock,
    doc_id: DocId,
    identity: Identity,
    state: State,
    log: log::LogWriter,
    buffered: Vec<Op>,
    flush: FlushPolicy,
    snapshot_len: u64,
    /// The snapshot file's checksum, for the manifest; `None` before the first compaction.
    snapshot_checksum: Option<[u8; 32]>,
    /// The ops the store holds, as far as they run without gaps (for the manifest).
    version: VersionVector,
    /// The plain file's text when the store was found damaged, until the next save.
    floor: Option<String>,
    /// The user agreed that the next save may drop text of the floor.
    drop_confirmed: bool,
    closed: bool,
}

/// A freshly opened store, the document it holds, and what was recovered on the way.
#[derive(Debug)]
pub struct Opened {
    /// The store, ready to append.
    pub store: Store,
    /// The document as of the last synced op (plus any outside edits to the plain file).
    pub doc: Doc,
    /// What opening found and recovered from; show them to the user.
    pub warnings: Vec<StoreWarning>,
    /// When opening found a problem with the store (damage, loss, a copy): the whole story,
    /// for a popup. Also logged and kept in the store as `last-recovery.txt`.
    pub report: Option<RecoveryReport>,
}

/// What a [`Store::sync`] made durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Durable {
    /// Ops written and synced.
    pub ops: usize,
    /// Frames written.
    pub frames: usize,
    /// Bytes written.
    pub bytes: u64,
}

impl Durable {
    /// Whether nothing was waiting.
    pub fn is_empty(&self) -> bool {
        self.ops == 0
    }
}

/// What [`Store::import_plain_file`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlainImport {
    /// The file is as duet last wrote it (or there is no file and never was).
    Unchanged,
    /// The file does not exist (any more).
    Missing,
    /// The file's differences were applied to the document as local edits, appended and synced.
    Imported {
        /// The ops made (already applied to the document); send them to peers.
        ops: Vec<Op>,
        /// Characters inserted.
        inserted: usize,
        /// Characters deleted.
        deleted: usize,
    },
}

impl Store {
    /// Opens or creates the store of the document whose plain file is `file` (which need not
    /// exist). A new store imports the file's text as the initial text; an existing one
    /// imports whatever another program changed in the file since duet last wrote it.
    pub fn open(file: &Path) -> Result<Opened, StoreError> {
        open::open_or_create(Paths::new(file)?, None)
    }

    /// Creates the store for a document joined through a ticket: its id and secret are
    /// known, its history arrives from peers. If this file already has the store of the same
    /// document, that store is opened (rejoining keeps the history); a store of another
    /// document, or a non-empty plain file, is an error rather than being overwritten, and
    /// leaves nothing behind.
    pub fn create_joined(file: &Path, doc: DocId, secret: DocSecret) -> Result<Opened, StoreError> {
        open::open_or_create(Paths::new(file)?, Some((doc, secret)))
    }

    /// The document's id.
    pub fn doc_id(&self) -> &DocId {
        &self.doc_id
    }

    /// The document's secret.
    pub fn secret(&self) -> &DocSecret {
        &self.identity.secret
    }

    /// This peer's replica id for the document (the `Doc` returned by open uses it).
    pub fn replica(&self) -> ReplicaId {
        self.identity.replica()
    }

    /// The secret key of the network endpoint that whoever opens this store runs as: one per
    /// store (so two documents open in two terminals are two endpoints), renewed with the
    /// replica id when the store turns out to be a copy.
    pub fn endpoint_secret(&self) -> [u8; 32] {
        self.identity.endpoint.0
    }

    /// The folder holding the store.
    pub fn dir(&self) -> &Path {
        &self.paths.dir
    }

    /// The plain file the store exports to (canonical: symlinks resolved).
    pub fn plain_file(&self) -> &Path {
        &self.paths.plain
    }

    /// Buffers ops (local or remote) for the log. Cheap: no IO until [`Store::sync`]. Empty
    /// ops are skipped.
    pub fn append(&mut self, ops: &[Op]) -> Result<(), StoreError> {
        let before = self.buffered.len();
        for op in ops.iter().filter(|op| !op.is_empty()) {
            if op.id.counter <= self.version.get(op.id.replica) {
                self.version.advance(op.id.replica, op.end());
            }
            self.buffered.push(op.clone());
        }
        if self.buffered.len() > before {
            self.flush.appended(Instant::now());
        }
        Ok(())
    }

    /// Whether ops wait to be synced.
    pub fn has_unsynced(&self) -> bool {
        !self.buffered.is_empty()
    }

    /// When the next [`Store::sync`] is due (50 ms after the first unsynced append); `None`
    /// when nothing waits.
    pub fn sync_deadline(&self) -> Option<Instant> {
        self.flush.deadline()
    }

    /// Writes the buffered ops as a frame and `fdatasync`s. When it returns `Ok`, every op
    /// appended before is durable. On error nothing is lost: the ops stay buffered and the
    /// log is cut back to its last whole frame; call again later.
    pub fn sync(&mut self) -> Result<Durable, StoreError> {
        if self.buffered.is_empty() {
            return Ok(Durable::default());
        }
        let mut bytes = Vec::new();
        let frames = log::encode_frames(&self.doc_id, &self.buffered, &mut bytes)?;
        self.log.append(&bytes, frames)?;
        let durable = Durable {
            ops: self.buffered.len(),
            frames,
            bytes: bytes.len() as u64,
        };
        self.buffered.clear();
        self.flush.synced();
        Ok(durable)
    }

    /// Bytes in the log tail (after the header).
    pub fn log_tail_len(&self) -> u64 {
        self.log.tail_len()
    }

    /// Bytes of the encoded document in the snapshot (0 before the first compaction).
    pub fn snapshot_len(&self) -> u64 {
        self.snapshot_len
    }

    /// Whether the log tail has grown enough for [`Store::compact`] to rewrite the snapshot:
    /// as large as the snapshot, and at least [`MIN_COMPACT_TAIL`].
    pub fn needs_compaction(&self) -> bool {
        self.log_tail_len() >= self.snapshot_len.max(MIN_COMPACT_TAIL)
    }

    /// Writes a fresh snapshot of `doc` and starts a new log tail, when the tail is large (see
    /// [`Store::needs_compaction`]). `doc` must be this store's document, holding every op
    /// appended so far (ops it still holds back waiting for dependencies are carried over).
    pub fn compact(&mut self, doc: &Doc) -> Result<(), StoreError> {
        if self.needs_compaction() {
            self.snapshot_now(doc)?;
        }
        Ok(())
    }

    /// Writes a fresh snapshot of `doc` and starts a new log tail, whatever the tail's size.
    pub fn snapshot_now(&mut self, doc: &Doc) -> Result<(), StoreError> {
        self.snapshot_encoded(&doc.version(), &doc.encode())
    }

    /// Writes `encoded` (`Doc::encode` of this store's document at `version`, holding every
    /// op appended before) as the snapshot and starts a new log tail with the ops it lacks.
    ///
    /// Crash-safe at every step: the snapshot is replaced atomically first (the old log then
    /// only repeats ops it already holds, which apply as duplicates), then the log.
    pub fn snapshot_encoded(
        &mut self,
        version: &VersionVector,
        encoded: &[u8],
    ) -> Result<(), StoreError> {
        self.sync()?;
        let carried = self.ops_not_in(version)?;
        let file = snapshot::encode(&self.doc_id, encoded);
        format::write_atomic(&self.paths.snapshot, &file)?;
        self.snapshot_len = encoded.len() as u64;
        self.snapshot_checksum = Some(snapshot::checksum_of(&file));
        let mut frames = Vec::new();
        let count = log::encode_frames(&self.doc_id, &carried, &mut frames)?;
        self.log = log::LogWriter::create(&self.paths.log, &self.doc_id, &frames, count)?;
        Ok(())
    }

    /// The ops in the log tail that `version` does not fully include.
    fn ops_not_in(&self, version: &VersionVector) -> Result<Vec<Op>, StoreError> {
        let bytes = format::read(&self.paths.log)?;
        let end = (self.log.len() as usize).min(bytes.len());
        let scan = log::scan(&self.doc_id, &bytes[..end], self.log.start());
        let mut out = Vec::new();
        for frame in &scan.frames {
            // Frames that do not decode were reported at open; there is nothing to carry.
            if let Ok(ops) = log::decode_payload(&bytes[frame.clone()], self.log.version()) {
                out.extend(
                    ops.into_iter()
                        .filter(|op| op.end() > version.get(op.id.replica)),
                );
            }
        }
        Ok(out)
    }

    /// The peers this document has met, most recently seen first.
    pub fn known_peers(&self) -> &[KnownPeer] {
        &self.state.peers
    }

    /// The UDP port the endpoint last bound for this document, if any.
    pub fn last_port(&self) -> Option<u16> {
        self.state.port
    }

    /// Records the port the endpoint bound, to bind it again next time.
    pub fn bound_port(&mut self, port: u16) -> Result<(), StoreError> {
        if self.state.port == Some(port) {
            return Ok(());
        }
        self.state.port = Some(port);
        meta::write_state(&self.paths.state, &self.doc_id, &self.state)
    }

    /// Ops peers are known to have, as last recorded.
    pub fn acked(&self) -> &VersionVector {
        &self.state.acked
    }

    /// Records what peers are known to have (saved with the next state write, and at close).
    pub fn set_acked(&mut self, acked: VersionVector) {
        self.state.acked = acked;
    }

    /// Publishes the ticket of the session that has the document open, for `duet ticket FILE`
    /// in another shell (see [`published_ticket`]). Private (`0600`): it carries the secret.
    pub fn publish_ticket(&self, ticket: &str) -> Result<(), StoreError> {
        format::write_atomic(&self.paths.ticket, format!("{ticket}\n").as_bytes())
    }

    /// Withdraws the published ticket (the session is closing).
    pub fn withdraw_ticket(&self) -> Result<(), StoreError> {
        match fs::remove_file(&self.paths.ticket) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("remove", &self.paths.ticket, e)),
        }
    }

    /// Records a peer (replacing what was known about the same endpoint) and saves the list.
    pub fn remember_peer(&mut self, peer: KnownPeer) -> Result<(), StoreError> {
        self.state
            .peers
            .retain(|p| p.endpoint_id != peer.endpoint_id);
        self.state.peers.push(peer);
        self.state
            .peers
            .sort_by_key(|p| std::cmp::Reverse(p.last_seen_unix));
        self.state.peers.truncate(MAX_KNOWN_PEERS);
        meta::write_state(&self.paths.state, &self.doc_id, &self.state)
    }

    /// Whether the plain file holds `text` as duet last wrote or read it (the hash recorded
    /// then matches `text` in the file's encoding). A document never exported is held when
    /// empty. Costs one hash of the text: for opening, not for every keystroke.
    pub fn plain_holds(&self, text: &str) -> bool {
        match &self.state.plain {
            Some(p) => {
                *blake3::hash(&plain::render(text, p.line_ending, p.bom)).as_bytes() == p.hash
            }
            None => text.is_empty(),
        }
    }

    /// Exports the visible text to the plain file, in the file's line endings, keeping its
    /// mode, owner and hard links (see `save.rs`). Overwrites changes another program made
    /// meanwhile: call [`Store::import_plain_file`] first to merge them.
    ///
    /// Fails with [`StoreError::ReadOnly`] for a read-only file, and, after the store was
    /// found damaged, with [`StoreError::WouldDropText`] when the text lacks some of what the
    /// file held then (see [`Store::confirm_drop`]). Either way the file is left as it was and
    /// the edits stay in the store.
    pub fn write_plain_file(&mut self, doc: &Doc) -> Result<(), StoreError> {
        self.write_text(&doc.text(), doc.version())
    }

    /// [`Store::write_plain_file`] for the text of the document at `version`.
    fn write_text(&mut self, text: &str, version: VersionVector) -> Result<(), StoreError> {
        if let Some(floor) = &self.floor
            && !self.drop_confirmed
            && let Some(dropped) = floor::dropped(floor, text)
        {
            return Err(StoreError::WouldDropText {
                path: self.paths.plain.clone(),
                chars: dropped.chars,
                lines: dropped.lines,
            });
        }
        // The store holds every op whose text the file is about to hold.
        self.sync()?;
        let (line_ending, bom) = self
            .state
            .plain
            .as_ref()
            .map_or((LineEnding::Lf, false), |p| (p.line_ending, p.bom));
        let bytes = plain::render(text, line_ending, bom);
        let written = save::write(&self.paths.plain, &bytes, &self.paths.plain_backup)?;
        self.state.plain = Some(PlainState {
            hash: *blake3::hash(&bytes).as_bytes(),
            line_ending,
            bom,
            exported: version,
        });
        meta::write_state(&self.paths.state, &self.doc_id, &self.state)?;
        if written == save::Written::InPlace {
            save::finish_in_place(&self.paths.plain_backup);
        }
        if self.floor.is_some() {
            floor::remove(&self.paths.floor)?;
            self.floor = None;
            self.drop_confirmed = false;
        }
        Ok(())
    }

    /// Lets the next [`Store::write_plain_file`] drop text that the plain file held when the
    /// store was found damaged. Call it once the user has confirmed, after a
    /// [`StoreError::WouldDropText`]; the save then clears the guard.
    pub fn confirm_drop(&mut self) {
        self.drop_confirmed = true;
    }

    /// Checks whether another program changed the plain file since duet last wrote or read it
    /// and, if so, applies the difference to `doc` as local edits (a minimal character diff),
    /// appends them and syncs. Edits the document received since the last export are kept:
    /// the file's changes are diffed against the text it was exported with and merged. While
    /// the store recovers from damage (until the next save), an import only adds text.
    pub fn import_plain_file(&mut self, doc: &mut Doc) -> Result<PlainImport, StoreError> {
        if !self.paths.plain.exists() {
            return Ok(PlainImport::Missing);
        }
        let Some(change) = self.plain_change()? else {
            return Ok(PlainImport::Unchanged);
        };
        let import = merge_change(doc, &change);
        self.append(&import.imported.ops)?;
        self.merged(&change, import.exported)?;
        let imported = import.imported;
        Ok(if imported.ops.is_empty() {
            PlainImport::Unchanged
        } else {
            PlainImport::Imported {
                ops: imported.ops,
                inserted: imported.inserted,
                deleted: imported.deleted,
            }
        })
    }

    /// Closes the store — or removes it if it never held anything: no op was typed, received
    /// or imported, no peer was ever met, and nothing is being recovered. So a join that never
    /// reached anyone, or a new file left empty, leaves no `.duet/NAME/` behind (nor `.duet/`
    /// if that is then empty). Returns whether the store was removed.
    pub fn close_or_discard(mut self) -> Result<bool, StoreError> {
        let empty = self.version.is_empty()
            && self.buffered.is_empty()
            && self.floor.is_none()
            && self.state.peers.is_empty();
        if !empty {
            self.close()?;
            return Ok(false);
        }
        self.closed = true;
        let (dir, root) = (self.paths.dir.clone(), self.paths.root.clone());
        drop(self);
        fs::remove_dir_all(&dir).map_err(|e| StoreError::io("remove", &dir, e))?;
        // Only if now empty: other documents in the folder keep their stores.
        let _ = fs::remove_dir(&root);
        Ok(true)
    }

    /// Syncs everything buffered and records a clean close with what the store holds, so the
    /// next open keeps the replica id and can check the files. Dropping the store does the
    /// same, but cannot report errors.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.close_inner()
    }

    fn close_inner(&mut self) -> Result<(), StoreError> {
        if self.closed {
            return Ok(());
        }
        self.sync()?;
        meta::write_state(&self.paths.state, &self.doc_id, &self.state)?;
        let manifest = Manifest {
            log_len: self.log.len(),
            frames: self.log.frames(),
            version: self.version.clone(),
            snapshot: self.snapshot_checksum,
        };
        self.lock.mark_closed(&self.doc_id, &manifest)?;
        self.closed = true;
        Ok(())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Err(e) = self.close_inner() {
            tracing::error!(doc = %self.doc_id, "closing the store failed: {e}");
        }
    }
}
