//! A shared folder's documents on disk, as a single document's store keeps its one: each is a
//! snapshot, `docs/ID` (the sealed `Doc::encode` of the folder store's format), and a log of
//! the ops saved since, `logs/ID` (the single-file store's log: checksummed frames keyed with
//! the document's id, appended and `fdatasync`ed; see `log.rs`).
//!
//! A save appends the new ops of each document typed in, a few hundred bytes, instead of
//! rewriting the whole document: the writer's work per keystroke no longer grows with the
//! file. A document is saved whole (its snapshot replaced, then its log emptied) when it was
//! never stored, and once its log has grown as large as its snapshot (at least
//! [`MIN_COMPACT_TAIL`]): [`DocsSaved::compact`] asks the caller for it. A crash between the
//! snapshot and the emptied log leaves the old log, whose ops the snapshot holds: they apply
//! as duplicates.
//!
//! Opening applies each log onto its snapshot. A torn tail (a write cut short by a crash)
//! held nothing reported durable and is cut at the next append. A log damaged otherwise gives
//! every frame that checks out; the document is then saved whole at once, with a warning, and
//! the log replaced (a copy of the damaged one kept beside it). A damaged snapshot is moved
//! aside: the document starts from its log, and peers and the file on disk refill the rest.
//!
//! `Doc::encode` leaves out the ops a document holds waiting for their history (ops after a
//! lost one): saving a document whole writes them to its fresh log.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use crdt_text::{Doc, Op, ReplicaId};

use super::{KIND_DOC, decode_file, encode_doc};
use crate::ids::DocId;
use crate::store::format::{keep_aside, keep_copy, read_if_exists, write_atomic, write_atomic_all};
use crate::store::header::{self, FileKind, HEADER_LEN};
use crate::store::log::{self, LogEnd, LogWriter};
use crate::store::{MIN_COMPACT_TAIL, StoreError};

/// At most this many logs stay open between saves (a save touching more opens them for its
/// own length): the documents typed in, without holding a descriptor per file of the folder.
const MAX_OPEN_LOGS: usize = 16;

/// How a document is to be saved.
#[derive(Debug)]
pub enum DocSave {
    /// Append these ops to its log: every op it has beyond what the store holds.
    Ops(Vec<Op>),
    /// Replace its snapshot with the whole document, then start its log afresh (boxed: a
    /// document is large, and rarely saved whole).
    Whole(Box<Doc>),
}

/// What saving documents did.
#[derive(Debug)]
pub struct DocsSaved {
    /// Each document's outcome, in the order given. On an error the store holds what it
    /// held before for that document (or that and some of the ops): save it again.
    pub outcomes: Vec<(DocId, Result<(), StoreError>)>,
    /// Documents whose log has grown as large as their snapshot: save them whole
    /// ([`DocSave::Whole`]) next time.
    pub compact: Vec<DocId>,
}

/// What the store holds of one document.
#[derive(Clone, Copy, Debug, Default)]
struct Held {
    /// Bytes of its snapshot file (0: none).
    snapshot: u64,
    /// Where its log's next frame goes (`None`: no log).
    log: Option<LogEnd>,
}

/// A folder's document files, for whoever saves them (one saver at a time: the store's
/// writer thread): what each holds, and the logs open for appending.
#[derive(Debug)]
pub struct FolderDocs {
    docs_dir: PathBuf,
    logs_dir: PathBuf,
    held: HashMap<DocId, Held>,
    open: HashMap<DocId, LogWriter>,
}

/// The documents as opening found them.
pub(super) struct Loaded {
    pub files: FolderDocs,
    pub docs: BTreeMap<DocId, Doc>,
}

impl FolderDocs {
    /// Reads every document in `dir` (the folder store), continuing under `replica`; damage
    /// is repaired or moved aside and told in `warnings`. Only a newer format is an error.
    pub(super) fn load(
        dir: &Path,
        replica: ReplicaId,
        warnings: &mut Vec<String>,
    ) -> Result<Loaded, StoreError> {
        let mut files = FolderDocs {
            docs_dir: dir.join("docs"),
            logs_dir: dir.join("logs"),
            held: HashMap::new(),
            open: HashMap::new(),
        };
        // Which documents have a log (most have none): only those are read.
        let mut ids: BTreeMap<DocId, bool> = BTreeMap::new();
        for (folder, log) in [(&files.docs_dir, false), (&files.logs_dir, true)] {
            let entries = fs::read_dir(folder).map_err(|e| StoreError::io("list", folder, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| StoreError::io("list", folder, e))?;
                if let Some(id) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
                    *ids.entry(id).or_default() |= log;
                }
            }
        }
        let mut docs = BTreeMap::new();
        for (id, has_log) in ids {
            if let Some(doc) = files.load_one(id, has_log, replica, warnings)? {
                docs.insert(id, doc);
            }
        }
        Ok(Loaded { files, docs })
    }

    /// Reads the document `id`: its snapshot, then its log if it has one; `None` if neither
    /// gave anything.
    fn load_one(
        &mut self,
        id: DocId,
        has_log: bool,
        replica: ReplicaId,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Doc>, StoreError> {
        let mut held = Held::default();
        let snapshot = self.snapshot_path(&id);
        let mut doc = match read_if_exists(&snapshot)? {
            None => None,
            Some(bytes) => {
                let decoded = decode_file(&snapshot, &bytes, KIND_DOC).and_then(|body| {
                    Doc::decode(&body, replica).map_err(|e| StoreError::Corrupt {
                        path: snapshot.clone(),
                        reason: e.to_string(),
                    })
                });
                match decoded {
                    Ok(doc) => {
                        held.snapshot = bytes.len() as u64;
                        Some(doc)
                    }
                    Err(e @ StoreError::UnsupportedVersion { .. }) => return Err(e),
                    Err(e) => {
                        let kept = keep_aside(&snapshot)?;
                        warnings.push(format!(
                            "{e}; kept as {}: the document starts from its log, and is \
                             refilled from peers and from the file on disk",
                            kept.display()
                        ));
                        None
                    }
                }
            }
        };
        let log_path = self.log_path(&id);
        let read = if has_log {
            log::read(&log_path, &id)
        } else {
            Ok(None)
        };
        let found = match read {
            Ok(found) => found,
            Err(e @ StoreError::UnsupportedVersion { .. }) => return Err(e),
            Err(e) => {
                let kept = keep_aside(&log_path)?;
                warnings.push(format!("{e}; kept as {}", kept.display()));
                None
            }
        };
        if let Some(found) = found {
            let mut damage = found.damaged_header.clone();
            if !found.scan.damage.is_empty() {
                damage = Some(format!(
                    "{} damaged region(s) in the middle",
                    found.scan.damage.len()
                ));
            }
            if found.version != header::FORMAT_VERSION {
                damage.get_or_insert_with(|| format!("format version {}", found.version));
            }
            if !found.scan.frames.is_empty() {
                let doc = doc.get_or_insert_with(|| Doc::new(replica));
                for frame in &found.scan.frames {
                    let applied = log::decode_payload(&found.bytes[frame.clone()], found.version)
                        .map_err(|e| e.to_string())
                        .and_then(|ops| {
                            ops.iter()
                                .try_for_each(|op| doc.apply(op).map(drop))
                                .map_err(|e| e.to_string())
                        });
                    if let Err(e) = applied {
                        damage = Some(format!("a frame that checks out but does not apply: {e}"));
                    }
                }
            }
            match (damage, &doc) {
                (None, _) => held.log = Some(found.end()),
                // What checked out is saved whole, and the log replaced by one holding only
                // the ops still waiting for history (a copy of the damaged one kept first).
                (Some(reason), Some(doc)) => {
                    let encoded = encode_doc(doc);
                    write_atomic(&snapshot, &encoded)?;
                    held.snapshot = encoded.len() as u64;
                    let kept = keep_copy(&log_path)?;
                    let (fresh, end) = fresh_log(&id, doc)?;
                    write_atomic(&log_path, &fresh)?;
                    held.log = Some(end);
                    warnings.push(format!(
                        "the log {} was damaged ({reason}); everything in it that checks out \
                         is kept, and the damaged log as {}",
                        log_path.display(),
                        kept.display()
                    ));
                }
                (Some(reason), None) => {
                    let kept = keep_aside(&log_path)?;
                    warnings.push(format!(
                        "the log {} was damaged ({reason}) and nothing in it checks out; \
                         kept as {}",
                        log_path.display(),
                        kept.display()
                    ));
                }
            }
        }
        self.held.insert(id, held);
        Ok(doc)
    }

    fn snapshot_path(&self, id: &DocId) -> PathBuf {
        self.docs_dir.join(id.to_string())
    }

    fn log_path(&self, id: &DocId) -> PathBuf {
        self.logs_dir.join(id.to_string())
    }

    /// Saves documents: whole ones first (their snapshots as one group commit, then their
    /// logs emptied as another), then the ops of the others appended to their logs (their
    /// `fdatasync`s at once; a document's first log is created whole). Every op of a
    /// document whose outcome is `Ok` is durable.
    pub fn save(&mut self, docs: Vec<(DocId, DocSave)>) -> DocsSaved {
        let mut outcomes: BTreeMap<DocId, Result<(), StoreError>> = BTreeMap::new();
        let order: Vec<DocId> = docs.iter().map(|(id, _)| *id).collect();
        let mut whole = Vec::new();
        let mut appends = Vec::new();
        for (id, save) in docs {
            match save {
                DocSave::Whole(doc) => whole.push((id, doc)),
                DocSave::Ops(ops) if ops.is_empty() => {
                    outcomes.insert(id, Ok(()));
                }
                DocSave::Ops(ops) => appends.push((id, ops)),
            }
        }
        self.save_whole(whole, &mut outcomes);
        self.append(appends, &mut outcomes);
        let compact = order
            .iter()
            .filter(|id| matches!(outcomes.get(id), Some(Ok(()))))
            .filter(|id| self.held.get(id).is_some_and(Held::wants_compaction))
            .copied()
            .collect();
        DocsSaved {
            outcomes: order
                .into_iter()
                .map(|id| {
                    let outcome = outcomes.remove(&id).unwrap_or(Ok(()));
                    (id, outcome)
                })
                .collect(),
            compact,
        }
    }

    fn save_whole(
        &mut self,
        whole: Vec<(DocId, Box<Doc>)>,
        outcomes: &mut BTreeMap<DocId, Result<(), StoreError>>,
    ) {
        if whole.is_empty() {
            return;
        }
        let files: Vec<(PathBuf, Vec<u8>)> = whole
            .iter()
            .map(|(id, doc)| (self.snapshot_path(id), encode_doc(doc)))
            .collect();
        let results = write_atomic_all(&files);
        // A log is replaced by one holding only the ops still waiting for history, once the
        // snapshot holding its other ops is durable.
        // Each new log's document and end, and (beside) its path and bytes.
        let mut fresh = Vec::new();
        let mut logs: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        for (((id, doc), (_, bytes)), result) in whole.iter().zip(&files).zip(results) {
            if let Err(e) = result {
                outcomes.insert(*id, Err(e));
                continue;
            }
            let held = self.held.entry(*id).or_default();
            held.snapshot = bytes.len() as u64;
            if held.log.is_some_and(|log| log.frames > 0) || doc.pending_len() > 0 {
                match fresh_log(id, doc) {
                    Ok((log, end)) => {
                        fresh.push((*id, end));
                        logs.push((self.log_path(id), log));
                    }
                    Err(e) => {
                        outcomes.insert(*id, Err(e));
                        continue;
                    }
                }
            }
            outcomes.insert(*id, Ok(()));
        }
        for ((id, end), result) in fresh.into_iter().zip(write_atomic_all(&logs)) {
            // The old log stays open on the replaced file: forget it.
            self.open.remove(&id);
            match result {
                Ok(()) => self.held.entry(id).or_default().log = Some(end),
                // The old log, still in place, repeats ops the snapshot holds; the held ops
                // in it, if any, stay there.
                Err(e) => {
                    outcomes.insert(id, Err(e));
                }
            }
        }
    }

    fn append(
        &mut self,
        appends: Vec<(DocId, Vec<Op>)>,
        outcomes: &mut BTreeMap<DocId, Result<(), StoreError>>,
    ) {
        let mut frames: HashMap<DocId, (Vec<u8>, usize)> = HashMap::new();
        for (id, ops) in appends {
            let mut bytes = Vec::new();
            match log::encode_frames(&id, &ops, &mut bytes) {
                Ok(count) => {
                    frames.insert(id, (bytes, count));
                }
                Err(e) => {
                    outcomes.insert(id, Err(e));
                }
            }
        }
        // A document with no log yet gets one, created whole with its first frames.
        let new: Vec<DocId> = frames
            .keys()
            .filter(|id| self.held.get(id).is_none_or(|h| h.log.is_none()))
            .copied()
            .collect();
        let created: Vec<(PathBuf, Vec<u8>)> = new
            .iter()
            .map(|id| {
                let mut bytes = header::header(FileKind::Log, id).to_vec();
                bytes.extend_from_slice(&frames[id].0);
                (self.log_path(id), bytes)
            })
            .collect();
        for ((id, (_, bytes)), result) in new.iter().zip(&created).zip(write_atomic_all(&created)) {
            if result.is_ok() {
                let count = frames[id].1 as u64;
                self.held.entry(*id).or_default().log = Some(fresh_end(bytes.len(), count));
            }
            frames.remove(id);
            outcomes.insert(*id, result);
        }
        // The others (each has a log: those without one were created above) are appended
        // to, their logs opened if they are not.
        let closed: Vec<(DocId, LogEnd)> = frames
            .keys()
            .filter(|id| !self.open.contains_key(id))
            .filter_map(|id| Some((*id, self.held.get(id)?.log?)))
            .collect();
        for (id, end) in closed {
            match LogWriter::resume(&self.log_path(&id), end) {
                Ok(writer) => {
                    self.open.insert(id, writer);
                }
                Err(e) => {
                    frames.remove(&id);
                    outcomes.insert(id, Err(e));
                }
            }
        }
        let mut ids = Vec::new();
        let mut batch = Vec::new();
        for (id, writer) in &mut self.open {
            if let Some((bytes, count)) = frames.get(id) {
                ids.push(*id);
                batch.push((writer, bytes.as_slice(), *count));
            }
        }
        for (id, result) in ids.iter().zip(LogWriter::append_all(batch)) {
            if let (Some(writer), Some(held)) = (self.open.get(id), self.held.get_mut(id)) {
                held.log = Some(writer.end());
            }
            outcomes.insert(*id, result);
        }
        if self.open.len() > MAX_OPEN_LOGS {
            self.open.retain(|id, _| frames.contains_key(id));
            if self.open.len() > MAX_OPEN_LOGS {
                self.open.clear();
            }
        }
    }
}

impl Held {
    /// Whether the log has grown as large as the snapshot (and at least
    /// [`MIN_COMPACT_TAIL`]), as the single-file store compacts.
    fn wants_compaction(&self) -> bool {
        self.log.is_some_and(|log| {
            log.len.saturating_sub(log.start as u64) >= self.snapshot.max(MIN_COMPACT_TAIL)
        })
    }
}

/// A new log for `doc` saved whole: the ops it holds waiting for their history, which its
/// snapshot leaves out. Returns its bytes and where its next frame goes.
fn fresh_log(id: &DocId, doc: &Doc) -> Result<(Vec<u8>, LogEnd), StoreError> {
    let pending: Vec<Op> = doc.pending_ops().cloned().collect();
    let mut bytes = header::header(FileKind::Log, id).to_vec();
    let frames = log::encode_frames(id, &pending, &mut bytes)?;
    let end = fresh_end(bytes.len(), frames as u64);
    Ok((bytes, end))
}

/// The end of a log just written whole by this code: `len` bytes, `frames` frames.
fn fresh_end(len: usize, frames: u64) -> LogEnd {
    LogEnd {
        len: len as u64,
        start: HEADER_LEN,
        version: header::FORMAT_VERSION,
        frames,
    }
}

#[cfg(test)]
mod tests;
