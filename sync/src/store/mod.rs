//! The local store: the source of truth for a document on this machine.
//!
//! A peer can close, crash or lose power, edit offline for days, and come back with nothing
//! lost and the document open in milliseconds. The plain text file is an export of the store
//! (and a way in for edits made by other programs).
//!
//! # Where it lives
//!
//! The store of `dir/notes.md` is the folder `dir/.duet/notes.md/`, beside the file. Moving or
//! copying `dir` (a project folder, a synced folder, a USB stick) takes the history and the
//! identity along with the text, a second document in the same folder gets its own store, and
//! nothing about a document hides in a per-user directory the user does not know to back up.
//! Renaming the file alone starts a new document: rename `.duet/OLD` to `.duet/NEW` as well to
//! keep its history. The peer's iroh secret key is per user and lives elsewhere (see `net`).
//!
//! | file | holds | written |
//! |---|---|---|
//! | `identity` | document id, document secret, this peer's replica id | at creation; when the replica id is renewed |
//! | `state` | known peers; hash, line endings and version of the last plain-file export | on remember_peer / export / import |
//! | `snapshot` | `Doc::encode` of the document at the last compaction | by compaction |
//! | `log` | frames of ops appended since the snapshot | append-only, `fdatasync` per sync |
//! | `lock` | advisory lock; `open PID` / `closed` | at open and clean close |
//!
//! Formats are documented beside their encoders: `format` (common header, atomic replace),
//! `log`, `snapshot`, `meta`. Every file starts with a versioned header naming the document.
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
//!
//! # Crashes and damage
//!
//! Opening recovers every frame that was synced and cuts a torn tail ([`StoreWarning::TornTail`]).
//! Damage in the middle of the log or a damaged snapshot is reported with the file and offset,
//! everything that checks out is recovered, the damaged file is kept aside (never deleted), and
//! peers fill in the rest. Ops handed to peers but never synced can be lost in a crash; so that
//! their ids are never reused for different edits, a session that did not close cleanly (or lost
//! history) continues under a new replica id ([`StoreWarning::NewReplica`]); after a clean close
//! the replica id stays the same.

mod error;
mod export;
mod flush;
mod format;
mod legacy;
mod lock;
mod log;
mod meta;
mod plain;
mod rebase;
mod snapshot;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crdt_text::{Doc, Op, ReplicaId, VersionVector};

pub use error::{StoreError, StoreWarning};
pub use export::{Merge, PlainChange, Saved, merge_change};
pub use flush::{DEFAULT_DELAY, FlushPolicy};
pub use format::FORMAT_VERSION;
pub use meta::KnownPeer;
pub use plain::{Imported, LineEnding, PlainText};

use crate::ids::{DocId, DocSecret};
use lock::{Lock, PreviousSession};
use meta::{Identity, MetaRead, PlainState, State};
use snapshot::SnapshotRead;

/// Name of the folder, beside the plain files, that holds their stores.
pub const STORE_DIR: &str = ".duet";

/// The log tail may grow to the snapshot's size (so the store stays under twice the encoded
/// document), but compaction never runs for less than this many bytes of tail (a compaction
/// costs a `Doc::encode` and four fsyncs; below this, a tiny document's store may exceed
/// twice its encoding by up to this much).
pub const MIN_COMPACT_TAIL: u64 = 8 << 10;

/// At most this many peers are remembered (the least recently seen are forgotten).
pub const MAX_KNOWN_PEERS: usize = 64;

/// The paths of one document's store.
#[derive(Clone, Debug)]
struct Paths {
    plain: PathBuf,
    dir: PathBuf,
    identity: PathBuf,
    state: PathBuf,
    snapshot: PathBuf,
    log: PathBuf,
    lock: PathBuf,
}

impl Paths {
    fn new(file: &Path) -> Result<Paths, StoreError> {
        let name = file.file_name().ok_or_else(|| StoreError::NotAFile {
            path: file.to_path_buf(),
        })?;
        let parent = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = parent.join(STORE_DIR).join(name);
        Ok(Paths {
            plain: file.to_path_buf(),
            identity: dir.join("identity"),
            state: dir.join("state"),
            snapshot: dir.join("snapshot"),
            log: dir.join("log"),
            lock: dir.join("lock"),
            dir,
        })
    }
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
    closed: bool,
}

/// A freshly opened store, the document it holds, and what was recovered on the way.
#[derive(Debug)]
pub struct Opened {
    /// The store, ready to append.
    pub store: Store,
    /// The document as of the last synced op (plus any outside edits to the plain file).
    pub doc: Doc,
    /// Problems found and recovered from; show them to the user.
    pub warnings: Vec<StoreWarning>,
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
        let paths = Paths::new(file)?;
        let (lock, previous) = Self::lock(&paths)?;
        match meta::read_identity(&paths.identity)? {
            Some((doc_id, identity)) => Self::load(paths, lock, previous, doc_id, identity),
            None => {
                Self::refuse_orphan_history(&paths)?;
                Self::create(paths, lock, DocId::random(), DocSecret::random())
            }
        }
    }

    /// Creates the store for a document joined through a ticket: its id and secret are
    /// known, its history arrives from peers. If this file already has the store of the same
    /// document, that store is opened (rejoining keeps the history); a store of another
    /// document, or a non-empty plain file, is an error rather than being overwritten.
    pub fn create_joined(file: &Path, doc: DocId, secret: DocSecret) -> Result<Opened, StoreError> {
        let paths = Paths::new(file)?;
        let (lock, previous) = Self::lock(&paths)?;
        match meta::read_identity(&paths.identity)? {
            Some((found, identity)) if found == doc => {
                Self::load(paths, lock, previous, found, identity)
            }
            Some((found, _)) => Err(StoreError::WrongDocument {
                path: paths.identity,
                expected: doc,
                found,
            }),
            None => {
                Self::refuse_orphan_history(&paths)?;
                if fs::metadata(&paths.plain).is_ok_and(|m| m.len() > 0) {
                    return Err(StoreError::PlainFileExists { path: paths.plain });
                }
                Self::create(paths, lock, doc, secret)
            }
        }
    }

    fn lock(paths: &Paths) -> Result<(Lock, PreviousSession), StoreError> {
        if paths.plain.is_dir() {
            return Err(StoreError::NotAFile {
                path: paths.plain.clone(),
            });
        }
        // The file's folder must exist: a typo in a path must not create a folder tree.
        let folder = paths
            .dir
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."));
        if !folder.is_dir() {
            return Err(StoreError::io(
                "open folder",
                folder,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        fs::create_dir_all(&paths.dir).map_err(|e| StoreError::io("create", &paths.dir, e))?;
        Lock::acquire(&paths.lock)
    }

    fn refuse_orphan_history(paths: &Paths) -> Result<(), StoreError> {
        if paths.log.exists() || paths.snapshot.exists() {
            return Err(StoreError::MissingIdentity {
                path: paths.identity.clone(),
            });
        }
        Ok(())
    }

    /// A brand-new store with empty history; then the plain file (if any) is imported.
    fn create(
        paths: Paths,
        lock: Lock,
        doc_id: DocId,
        secret: DocSecret,
    ) -> Result<Opened, StoreError> {
        let identity = Identity {
            secret,
            replica: rand::random(),
        };
        meta::write_identity(&paths.identity, &doc_id, &identity)?;
        let log = log::LogWriter::create(&paths.log, &doc_id, &[])?;
        let doc = Doc::new(identity.replica());
        let store = Store {
            paths,
            lock,
            doc_id,
            identity,
            state: State::default(),
            log,
            buffered: Vec::new(),
            flush: FlushPolicy::default(),
            snapshot_len: 0,
            closed: false,
        };
        store.finish_open(doc, Vec::new())
    }

    /// Opens an existing store: snapshot, log tail, repair, replica renewal, plain file.
    fn load(
        paths: Paths,
        lock: Lock,
        previous: PreviousSession,
        doc_id: DocId,
        mut identity: Identity,
    ) -> Result<Opened, StoreError> {
        let mut warnings = Vec::new();
        let mut lost_history = false;

        let snapshot = match snapshot::read(&paths.snapshot, &doc_id)? {
            SnapshotRead::Missing => None,
            SnapshotRead::Found(bytes) => Some(bytes),
            SnapshotRead::Damaged(reason) => {
                let kept_as = format::keep_aside(&paths.snapshot)?;
                warnings.push(StoreWarning::DamagedSnapshot {
                    path: paths.snapshot.clone(),
                    reason,
                    kept_as,
                });
                lost_history = true;
                None
            }
        };
        let snapshot_len = snapshot.as_ref().map_or(0, |b| b.len() as u64);

        let log_bytes = format::read_if_exists(&paths.log)?;
        let scan = match &log_bytes {
            Some(bytes) => {
                format::check_header(format::FileKind::Log, &paths.log, bytes, Some(&doc_id))?;
                Some((log::scan(&doc_id, bytes), format::version(bytes)))
            }
            None => None,
        };
        lost_history |= scan.as_ref().is_some_and(|(s, _)| !s.damage.is_empty());

        if previous == PreviousSession::Unclean || lost_history {
            let old = identity.replica();
            identity.replica = rand::random();
            meta::write_identity(&paths.identity, &doc_id, &identity)?;
            warnings.push(StoreWarning::NewReplica {
                old,
                new: identity.replica(),
                reason: if lost_history {
                    "part of the history was lost, so ops under the old id may be missing"
                } else {
                    "the last session did not close cleanly, so ops it sent may be missing"
                },
            });
        }

        let mut doc = match &snapshot {
            Some(bytes) => {
                Doc::decode(bytes, identity.replica()).map_err(|source| StoreError::Snapshot {
                    path: paths.snapshot.clone(),
                    source,
                })?
            }
            None => Doc::new(identity.replica()),
        };

        let log = match (scan, log_bytes) {
            (Some((scan, version)), Some(bytes)) => {
                Self::replay(&paths.log, &bytes, &scan, version, &mut doc, &mut warnings);
                Self::repair_log(&paths, &doc_id, &bytes, scan, version, &mut warnings)?
            }
            _ => log::LogWriter::create(&paths.log, &doc_id, &[])?,
        };

        let state = match meta::read_state(&paths.state, &doc_id)? {
            MetaRead::Missing => State::default(),
            MetaRead::Found(state) => state,
            MetaRead::Damaged(_) => {
                let kept_as = format::keep_aside(&paths.state)?;
                warnings.push(StoreWarning::DamagedState {
                    path: paths.state.clone(),
                    kept_as,
                });
                State::default()
            }
        };

        let store = Store {
            paths,
            lock,
            doc_id,
            identity,
            state,
            log,
            buffered: Vec::new(),
            flush: FlushPolicy::default(),
            snapshot_len,
            closed: false,
        };
        store.finish_open(doc, warnings)
    }

    /// Applies the ops of every frame that checks out.
    fn replay(
        path: &Path,
        bytes: &[u8],
        scan: &log::Scan,
        version: u16,
        doc: &mut Doc,
        warnings: &mut Vec<StoreWarning>,
    ) {
        let mut count = 0;
        let mut first = None;
        for frame in &scan.frames {
            match log::decode_payload(&bytes[frame.clone()], version) {
                Ok(ops) => {
                    for op in &ops {
                        if let Err(e) = doc.apply(op) {
                            count += 1;
                            first.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
                Err(e) => {
                    count += 1;
                    first.get_or_insert_with(|| {
                        format!("frame at offset {} does not decode: {e}", frame.start - 4)
                    });
                }
            }
        }
        if let Some(first) = first {
            warnings.push(StoreWarning::RejectedOps {
                path: path.to_path_buf(),
                count,
                first,
            });
        }
    }

    /// Cuts a torn tail; rebuilds a log damaged in the middle from its good frames, keeping
    /// the damaged original aside.
    fn repair_log(
        paths: &Paths,
        doc_id: &DocId,
        bytes: &[u8],
        scan: log::Scan,
        version: u16,
        warnings: &mut Vec<StoreWarning>,
    ) -> Result<log::LogWriter, StoreError> {
        if let Some((offset, cut_bytes)) = scan.torn {
            warnings.push(StoreWarning::TornTail {
                path: paths.log.clone(),
                offset,
                cut_bytes,
            });
        }
        let Some(&(offset, _)) = scan.damage.first() else {
            return log::LogWriter::open(&paths.log, scan.good_end(), version);
        };
        let kept_as = format::keep_copy(&paths.log)?;
        let mut frames = Vec::with_capacity(bytes.len());
        for frame in &scan.frames {
            if version == format::FORMAT_VERSION {
                frames.extend_from_slice(&bytes[frame.start - 4..frame.end + 8]);
            } else if let Ok(ops) = log::decode_payload(&bytes[frame.clone()], version) {
                // The fresh log is written in the current format.
                log::encode_frames(doc_id, &ops, &mut frames)?;
            }
        }
        let writer = log::LogWriter::create(&paths.log, doc_id, &frames)?;
        warnings.push(StoreWarning::DamagedLog {
            path: paths.log.clone(),
            offset,
            damaged_bytes: scan.damage.iter().map(|d| d.1).sum(),
            recovered_frames: scan.frames.len(),
            kept_as,
        });
        Ok(writer)
    }

    /// The steps shared by every open: bring in outside edits, then mark the session open.
    fn finish_open(
        mut self,
        mut doc: Doc,
        mut warnings: Vec<StoreWarning>,
    ) -> Result<Opened, StoreError> {
        if self.log.version() < format::FORMAT_VERSION {
            // An older log: fold it into a snapshot and start a current one, so that frames
            // of two formats never share a file.
            tracing::info!(doc = %self.doc_id, from = self.log.version(), "upgrading the op log");
            self.snapshot_now(&doc)?;
        }
        let had_export = self.state.plain.is_some();
        let was_empty = doc.version().is_empty();
        match self.import_plain_file(&mut doc)? {
            PlainImport::Unchanged => {}
            PlainImport::Missing => {
                if had_export {
                    warnings.push(StoreWarning::PlainFileMissing {
                        path: self.paths.plain.clone(),
                    });
                }
            }
            PlainImport::Imported {
                inserted, deleted, ..
            } => {
                if !was_empty {
                    warnings.push(StoreWarning::ImportedExternalEdits {
                        path: self.paths.plain.clone(),
                        inserted,
                        deleted,
                    });
                }
            }
        }
        self.lock.mark_open()?;
        for warning in &warnings {
            tracing::warn!(doc = %self.doc_id, "{warning}");
        }
        Ok(Opened {
            store: self,
            doc,
            warnings,
        })
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

    /// The folder holding the store.
    pub fn dir(&self) -> &Path {
        &self.paths.dir
    }

    /// The plain file the store exports to.
    pub fn plain_file(&self) -> &Path {
        &self.paths.plain
    }

    /// Buffers ops (local or remote) for the log. Cheap: no IO until [`Store::sync`]. Empty
    /// ops are skipped.
    pub fn append(&mut self, ops: &[Op]) -> Result<(), StoreError> {
        let before = self.buffered.len();
        self.buffered
            .extend(ops.iter().filter(|op| !op.is_empty()).cloned());
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
        self.log.append(&bytes)?;
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
        self.log.len() - format::HEADER_LEN as u64
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
    ///
    /// Crash-safe at every step: the snapshot is replaced atomically first (the old log then
    /// only repeats ops it already holds, which apply as duplicates), then the log.
    pub fn snapshot_now(&mut self, doc: &Doc) -> Result<(), StoreError> {
        self.sync()?;
        let version = doc.version();
        let carried = self.ops_not_in(&version)?;
        let encoded = doc.encode();
        format::write_atomic(
            &self.paths.snapshot,
            &snapshot::encode(&self.doc_id, &encoded),
        )?;
        self.snapshot_len = encoded.len() as u64;
        let mut frames = Vec::new();
        log::encode_frames(&self.doc_id, &carried, &mut frames)?;
        self.log = log::LogWriter::create(&self.paths.log, &self.doc_id, &frames)?;
        Ok(())
    }

    /// The ops in the log tail that `version` does not fully include.
    fn ops_not_in(&self, version: &VersionVector) -> Result<Vec<Op>, StoreError> {
        let bytes = format::read(&self.paths.log)?;
        let end = (self.log.len() as usize).min(bytes.len());
        let scan = log::scan(&self.doc_id, &bytes[..end]);
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

    /// Exports the visible text to the plain file atomically, in the file's line endings.
    /// Overwrites changes another program made meanwhile: call
    /// [`Store::import_plain_file`] first to merge them.
    pub fn write_plain_file(&mut self, doc: &Doc) -> Result<(), StoreError> {
        let (line_ending, bom) = self
            .state
            .plain
            .as_ref()
            .map_or((LineEnding::Lf, false), |p| (p.line_ending, p.bom));
        let bytes = plain::render(&doc.text(), line_ending, bom);
        plain::write(&self.paths.plain, &bytes)?;
        self.state.plain = Some(PlainState {
            hash: *blake3::hash(&bytes).as_bytes(),
            line_ending,
            bom,
            exported: doc.version(),
        });
        meta::write_state(&self.paths.state, &self.doc_id, &self.state)
    }

    /// Checks whether another program changed the plain file since duet last wrote or read it
    /// and, if so, applies the difference to `doc` as local edits (a minimal character diff),
    /// appends them and syncs. Edits the document received since the last export are kept:
    /// the file's changes are diffed against the text it was exported with and merged.
    pub fn import_plain_file(&mut self, doc: &mut Doc) -> Result<PlainImport, StoreError> {
        let Some(file) = plain::read(&self.paths.plain)? else {
            return Ok(PlainImport::Missing);
        };
        let previous = self.state.plain.clone();
        if previous.as_ref().is_some_and(|p| p.hash == file.hash) {
            return Ok(PlainImport::Unchanged);
        }
        let (imported, exported) = match previous {
            Some(p) if p.exported != doc.version() => {
                match rebase::import_onto_export(doc, &p, &file.text) {
                    Some(done) => done,
                    None => {
                        let imported = plain::import_diff(doc, &file.text);
                        (imported, doc.version())
                    }
                }
            }
            _ => {
                let imported = plain::import_diff(doc, &file.text);
                (imported, doc.version())
            }
        };
        self.append(&imported.ops)?;
        self.sync()?;
        self.state.plain = Some(PlainState {
            hash: file.hash,
            line_ending: file.line_ending,
            bom: file.bom,
            exported,
        });
        meta::write_state(&self.paths.state, &self.doc_id, &self.state)?;
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

    /// Syncs everything buffered and records a clean close, so the next open keeps the
    /// replica id. Dropping the store does the same, but cannot report errors.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.close_inner()
    }

    fn close_inner(&mut self) -> Result<(), StoreError> {
        if self.closed {
            return Ok(());
        }
        self.sync()?;
        self.lock.mark_closed()?;
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
