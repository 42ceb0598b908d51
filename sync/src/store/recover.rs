//! Opening an existing store: reading every file, checking them against each other and
//! against the manifest of the last clean close, recovering what checks out, keeping what is
//! damaged, renewing ids when needed, and reporting it all.
//!
//! Every file is read before anything is changed, so a file that is certainly not this
//! document's (another document's, a newer format's) stops the open with the store as it was.

use std::path::Path;

use crdt_text::{Doc, Op, ReplicaId};

use super::floor;
use super::format;
use super::home::{Home, Whereabouts};
use super::lock::{Lock, Manifest, PreviousSession, Unknown};
use super::log::{self, LogWriter};
use super::meta::{self, EndpointKey, Identity, MetaRead, PlainState, State, StoredIdentity};
use super::paths::Paths;
use super::plain::{self, Merge};
use super::report::{Recovered, RecoveryReport};
use super::save::{self, Interrupted};
use super::snapshot::{self, Snapshot, SnapshotRead};
use super::{FORMAT_VERSION, Opened, PlainImport, Store, StoreError, StoreFile, StoreWarning};
use crate::ids::DocId;

const LOST: &str = "part of the history was lost, so ops under the old id may be missing";
const CRASHED: &str = "the last session did not close cleanly, so ops it sent may be missing";
const UNKNOWN_END: &str = "how the last session ended is unknown, so ops it sent may be missing";
pub(super) const COPIED: &str =
    "this store is a copy, and two copies must never write under one id";
pub(super) const LEGACY: &str = "this store was made by an older duet that did not record where it \
                      lives, so it may be a copy";

/// What opening has found so far.
#[derive(Default)]
struct Findings {
    warnings: Vec<StoreWarning>,
    /// Something was damaged or missing: the plain file becomes a source, under a floor.
    damaged: bool,
    /// History may be lost.
    lost: bool,
    /// Why the replica id must be renewed, if it must.
    renew: Option<&'static str>,
    /// The store was written by an older format: its files are rewritten in this one.
    upgrade: bool,
}

impl Findings {
    /// A file was damaged or missing, with no history lost.
    fn damage(&mut self, warning: StoreWarning) {
        self.warnings.push(warning);
        self.damaged = true;
    }

    /// History was lost.
    fn loss(&mut self, warning: StoreWarning) {
        self.damage(warning);
        self.lost = true;
        self.renew(LOST);
    }

    fn renew(&mut self, reason: &'static str) {
        self.renew.get_or_insert(reason);
    }
}

/// How the log is reopened.
enum LogPlan {
    /// It is missing: start an empty one.
    Create,
    /// Reopen after its last good frame (cutting a torn tail).
    Reopen,
    /// Rebuild it from its good frames (a copy of the damaged one was kept).
    Rebuild,
}

impl Store {
    /// Opens the existing store at `paths`, whose identity was read.
    pub(super) fn load(
        paths: Paths,
        lock: Lock,
        doc_id: DocId,
        stored: StoredIdentity,
    ) -> Result<Opened, StoreError> {
        // Read everything first: a file that is not ours stops the open before any change.
        let snapshot = snapshot::read(&paths.snapshot, &doc_id)?;
        let log = log::read(&paths.log, &doc_id)?;
        let state = meta::read_state(&paths.state, &doc_id)?;
        let floor = floor::read(&paths.floor, &doc_id)?;
        let previous = lock.previous_session(&doc_id);

        let repaired = paths.repair_modes()?;
        if !repaired.is_empty() {
            tracing::info!(doc = %doc_id, "made private: {repaired:?}");
        }
        let mut found = Findings::default();
        let (mut identity, change) = whereabouts(&paths, stored, &mut found)?;
        let manifest = previous_session(&paths, previous, &mut found)?;
        let mut snapshot = check_snapshot(&paths, snapshot, manifest.as_ref(), &mut found)?;
        let log_plan = check_log(&paths, log.as_ref(), manifest.as_ref(), &mut found)?;
        let (ops, frames) = match &log {
            Some(log) => decode_frames(&paths.log, log, &mut found),
            None => (Vec::new(), 0),
        };

        // The document, under the replica id it will edit as.
        let mut replica = next_replica(&identity, &found);
        let (mut doc, snapshot_len, mut rejected) =
            rebuild(&paths, &mut snapshot, &ops, replica, &mut found)?;
        found.upgrade = change == IdentityChange::Upgraded;
        let state = check_state(&paths, state, found.upgrade, &mut found)?;
        if !found.lost
            && let Some(missing) = history_missing(&doc, manifest.as_ref(), state.as_ref())
        {
            found.loss(missing);
        }
        if found.renew.is_some() && replica == identity.replica() {
            // What was found while building the document calls for a new replica id.
            replica = next_replica(&identity, &found);
            (doc, _, rejected) = rebuild(&paths, &mut snapshot, &ops, replica, &mut found)?;
        }
        found.warnings.extend(rejected);
        let floor = check_floor(&paths, floor, &mut found)?;

        if let Some(reason) = found.renew {
            found.warnings.push(StoreWarning::NewReplica {
                old: identity.replica(),
                new: replica,
                reason,
            });
            identity.replica = replica.as_u64();
        }
        if change == IdentityChange::Copied {
            // Two copies must never share an endpoint identity either.
            identity.endpoint = EndpointKey::random();
        }
        if change != IdentityChange::Same || found.renew.is_some() {
            meta::write_identity(&paths.identity, &doc_id, &identity)?;
        }
        let log = match (log_plan, log) {
            (LogPlan::Reopen, Some(found)) => LogWriter::reopen(&paths.log, &found)?,
            (LogPlan::Rebuild, Some(found)) => rebuild_log(&paths.log, &doc_id, &found, &ops)?,
            _ => LogWriter::create(&paths.log, &doc_id, &[], 0)?,
        };
        // A missing or damaged state is written afresh; an old one in the current format.
        let write_state = state.is_none() || found.upgrade;
        let version = doc.version();
        let store = Store {
            paths,
            lock,
            doc_id,
            identity,
            state: state.unwrap_or_default(),
            log,
            buffered: Vec::new(),
            flush: Default::default(),
            snapshot_len,
            snapshot_checksum: snapshot.map(|s| s.checksum),
            version,
            floor,
            drop_confirmed: false,
            closed: false,
        };
        let recovered = Recovered {
            frames,
            edits: doc.version().total(),
            held: doc.pending_len(),
            ..Recovered::default()
        };
        store.finish_load(doc, found, recovered, write_state)
    }

    /// Upgrades an old store, brings in the plain file (as a source after damage, else its
    /// outside edits), marks the session open and reports.
    fn finish_load(
        mut self,
        mut doc: Doc,
        mut found: Findings,
        mut recovered: Recovered,
        mut state_unwritten: bool,
    ) -> Result<Opened, StoreError> {
        if found.upgrade || self.log.version() < FORMAT_VERSION {
            // An older store: fold its history into a snapshot and start a current log, so
            // that files of two formats never mix (frames of two formats never share a log).
            tracing::info!(doc = %self.doc_id, log = self.log.version(), "upgrading the store");
            self.snapshot_now(&doc)?;
        }
        let recorded = self.state.plain.as_ref().map(|p| p.hash);
        if save::recover_interrupted(
            &self.paths.plain,
            &self.paths.plain_backup,
            recorded.as_ref(),
        )? == Interrupted::Restored
        {
            found.warnings.push(StoreWarning::InterruptedSave {
                path: self.paths.plain.clone(),
            });
        }
        if found.damaged {
            if let Some(lines) = self.recover_from_plain_file(&mut doc, &mut found)? {
                recovered.lines_from_file = lines;
                state_unwritten = false;
            }
        } else {
            let had_export = self.state.plain.is_some();
            match self.import_plain_file(&mut doc)? {
                PlainImport::Unchanged => {}
                PlainImport::Missing => {
                    if had_export {
                        found.warnings.push(StoreWarning::PlainFileMissing {
                            path: self.paths.plain.clone(),
                        });
                    }
                }
                PlainImport::Imported {
                    inserted, deleted, ..
                } => {
                    state_unwritten = false;
                    found.warnings.push(StoreWarning::ImportedExternalEdits {
                        path: self.paths.plain.clone(),
                        inserted,
                        deleted,
                    });
                }
            }
        }
        if state_unwritten {
            meta::write_state(&self.paths.state, &self.doc_id, &self.state)?;
        }
        self.lock.mark_open()?;
        for warning in &found.warnings {
            tracing::warn!(doc = %self.doc_id, "{warning}");
        }
        recovered.save_guarded = self.floor.is_some();
        let mut report = RecoveryReport::new(
            &self.paths.plain,
            &self.paths.dir,
            &found.warnings,
            recovered,
        );
        if let Some(report) = &mut report {
            report.save(&self.paths.report);
        }
        Ok(Opened {
            store: self,
            doc,
            warnings: found.warnings,
            report,
        })
    }

    /// Imports the plain file's text, keeping everything the document has, and sets the
    /// floor; returns the file's line count, or `None` when there is no file.
    fn recover_from_plain_file(
        &mut self,
        doc: &mut Doc,
        found: &mut Findings,
    ) -> Result<Option<usize>, StoreError> {
        let Some(file) = plain::read(&self.paths.plain)? else {
            return Ok(None);
        };
        let imported = plain::import_diff(doc, &file.text, Merge::Union);
        self.append(&imported.ops)?;
        self.sync()?;
        self.state.plain = Some(PlainState {
            hash: file.hash,
            line_ending: file.line_ending,
            bom: file.bom,
            exported: doc.version(),
        });
        meta::write_state(&self.paths.state, &self.doc_id, &self.state)?;
        // A floor from an earlier recovery that was never saved stays: it is the older text.
        if self.floor.is_none() {
            floor::write(&self.paths.floor, &self.doc_id, &file.text)?;
            self.floor = Some(file.text.clone());
        }
        let lines = file.text.lines().count();
        found.warnings.push(StoreWarning::RecoveredFromPlainFile {
            path: self.paths.plain.clone(),
            lines,
            inserted: imported.inserted,
        });
        Ok(Some(lines))
    }
}

/// How the identity relates to the store as found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum IdentityChange {
    /// The store is where its identity says.
    Same,
    /// The store moved: its new place is recorded.
    Moved,
    /// The store is a copy: its replica id and endpoint key are renewed.
    Copied,
    /// Written by an older format: upgraded, with a new endpoint key.
    Upgraded,
}

/// Compares where the store lives with where its identity says; upgrades an old identity.
fn whereabouts(
    paths: &Paths,
    stored: StoredIdentity,
    found: &mut Findings,
) -> Result<(Identity, IdentityChange), StoreError> {
    let home = Home::of(&paths.dir)?;
    Ok(match stored {
        StoredIdentity::Current(mut identity) => match identity.home.compare(&home) {
            Whereabouts::Same => (identity, IdentityChange::Same),
            Whereabouts::Moved { from } => {
                tracing::info!(
                    "the store moved from {} to {}",
                    from.display(),
                    paths.dir.display()
                );
                identity.home = home;
                (identity, IdentityChange::Moved)
            }
            Whereabouts::Copied { from } => {
                found.warnings.push(StoreWarning::Copied { from });
                found.renew(COPIED);
                identity.home = home;
                (identity, IdentityChange::Copied)
            }
        },
        StoredIdentity::Legacy { secret, replica } => {
            found.renew(LEGACY);
            let identity = Identity {
                secret,
                replica,
                endpoint: EndpointKey::random(),
                home,
            };
            (identity, IdentityChange::Upgraded)
        }
    })
}

/// What the lock file says of the last session: its manifest after a clean close.
fn previous_session(
    paths: &Paths,
    previous: PreviousSession,
    found: &mut Findings,
) -> Result<Option<Manifest>, StoreError> {
    let (reason, kept_as) = match previous {
        PreviousSession::Clean(manifest) => return Ok(manifest),
        PreviousSession::Unclean => {
            found.renew(CRASHED);
            return Ok(None);
        }
        PreviousSession::Unknown(Unknown::NoRecord) => ("was missing or empty".to_string(), None),
        // The lock is rewritten in place: what it held is kept as a copy of its own.
        PreviousSession::Unknown(Unknown::Damaged { reason, content }) => (
            format!("was damaged ({reason})"),
            Some(format::keep_bytes(&paths.lock, &content)?),
        ),
    };
    found.warnings.push(StoreWarning::PreviousSessionUnknown {
        path: paths.lock.clone(),
        reason,
        kept_as,
    });
    found.renew(UNKNOWN_END);
    Ok(None)
}

/// Checks the snapshot against the manifest; keeps a damaged one aside.
fn check_snapshot(
    paths: &Paths,
    read: SnapshotRead,
    manifest: Option<&Manifest>,
    found: &mut Findings,
) -> Result<Option<Snapshot>, StoreError> {
    let path = paths.snapshot.clone();
    Ok(match read {
        SnapshotRead::Missing => {
            if manifest.is_some_and(|m| m.snapshot.is_some()) {
                found.loss(StoreWarning::Missing {
                    path,
                    file: StoreFile::Snapshot,
                });
            }
            None
        }
        SnapshotRead::Found(snapshot) => {
            if manifest.is_some_and(|m| m.snapshot != Some(snapshot.checksum)) {
                found.loss(StoreWarning::SnapshotMismatch { path });
            }
            Some(snapshot)
        }
        SnapshotRead::Damaged(reason) => {
            let kept_as = format::keep_aside(&path)?;
            found.loss(StoreWarning::DamagedSnapshot {
                path,
                reason,
                kept_as,
            });
            None
        }
    })
}

/// Classifies what is wrong with the log (damage, a torn tail, a cut after a clean close) and
/// keeps a copy of it when it is damaged.
fn check_log(
    paths: &Paths,
    log: Option<&log::Found>,
    manifest: Option<&Manifest>,
    found: &mut Findings,
) -> Result<LogPlan, StoreError> {
    let path = paths.log.clone();
    let Some(log) = log else {
        found.loss(StoreWarning::Missing {
            path,
            file: StoreFile::Log,
        });
        return Ok(LogPlan::Create);
    };
    let len = log.bytes.len() as u64;
    let expected = manifest.map(|m| m.log_len);
    let cut_short = expected.filter(|&e| len < e);
    // After a clean close nothing is torn: a bad tail within the recorded length is damage.
    let (bad_tail, torn) = match (log.scan.torn, expected) {
        (Some(tail), Some(e)) if cut_short.is_none() && tail.0 < e => (Some(tail), None),
        (tail, _) if cut_short.is_none() => (None, tail),
        _ => (None, None),
    };
    let mut damage: Vec<(u64, u64)> = log.scan.damage.clone();
    if let Some(reason) = &log.damaged_header {
        tracing::warn!("the header of {} is damaged: {reason}", path.display());
        damage.insert(0, (0, log.scan.start as u64));
    }
    damage.extend(bad_tail);
    if let Some((offset, cut_bytes)) = torn {
        found.warnings.push(StoreWarning::TornTail {
            path: path.clone(),
            offset,
            cut_bytes,
        });
    }
    if damage.is_empty() && cut_short.is_none() {
        return Ok(LogPlan::Reopen);
    }
    // The copy may be a hard link to the file: from here on it is only replaced, never
    // changed in place.
    let kept_as = format::keep_copy(&path)?;
    if let Some(expected) = cut_short {
        found.loss(StoreWarning::LogCutShort {
            path: path.clone(),
            expected,
            found: len,
            kept_as: kept_as.clone(),
        });
    }
    if let Some(&(offset, _)) = damage.first() {
        let warning = StoreWarning::DamagedLog {
            path,
            offset,
            damaged_bytes: damage.iter().map(|d| d.1).sum(),
            recovered_frames: log.scan.frames.len(),
            kept_as,
        };
        // A damaged header alone loses no edit: every frame is still read.
        if log.scan.damage.is_empty() && bad_tail.is_none() {
            found.damage(warning);
        } else {
            found.loss(warning);
        }
    }
    Ok(LogPlan::Rebuild)
}

/// The ops of every frame that checks out, and how many frames that was.
fn decode_frames(path: &Path, log: &log::Found, found: &mut Findings) -> (Vec<Op>, usize) {
    let mut ops = Vec::new();
    let mut bad = 0;
    let mut first = None;
    for frame in &log.scan.frames {
        match log::decode_payload(&log.bytes[frame.clone()], log.version) {
            Ok(decoded) => ops.extend(decoded),
            Err(e) => {
                bad += 1;
                first.get_or_insert_with(|| {
                    format!("frame at offset {} does not decode: {e}", frame.start - 4)
                });
            }
        }
    }
    if let Some(first) = first {
        found.warnings.push(StoreWarning::RejectedOps {
            path: path.to_path_buf(),
            count: bad,
            first,
        });
    }
    (ops, log.scan.frames.len())
}

/// The replica id to edit as: the stored one, or a fresh one when it must be renewed.
fn next_replica(identity: &Identity, found: &Findings) -> ReplicaId {
    match found.renew {
        Some(_) => ReplicaId::from(rand::random::<u64>()),
        None => identity.replica(),
    }
}

/// The document from the snapshot and the log's ops; returns it with the snapshot's length
/// and a warning for ops the document rejected. A snapshot whose document does not decode is
/// kept aside as damaged (and `snapshot` becomes `None`).
fn rebuild(
    paths: &Paths,
    snapshot: &mut Option<Snapshot>,
    ops: &[Op],
    replica: ReplicaId,
    found: &mut Findings,
) -> Result<(Doc, u64, Option<StoreWarning>), StoreError> {
    let decoded = snapshot
        .as_ref()
        .map(|s| (Doc::decode(&s.encoded, replica), s.encoded.len() as u64));
    let (mut doc, len) = match decoded {
        Some((Ok(doc), len)) => (doc, len),
        Some((Err(e), _)) => {
            *snapshot = None;
            let kept_as = format::keep_aside(&paths.snapshot)?;
            found.loss(StoreWarning::DamagedSnapshot {
                path: paths.snapshot.clone(),
                reason: format!("its document does not decode: {e}"),
                kept_as,
            });
            (Doc::new(replica), 0)
        }
        None => (Doc::new(replica), 0),
    };
    let mut rejected = 0;
    let mut first = None;
    for op in ops {
        if let Err(e) = doc.apply(op) {
            rejected += 1;
            first.get_or_insert_with(|| e.to_string());
        }
    }
    let rejected = first.map(|first| StoreWarning::RejectedOps {
        path: paths.log.clone(),
        count: rejected,
        first,
    });
    Ok((doc, len, rejected))
}

/// A warning if the document lacks edits the store held at its last clean close or at the
/// last save of the plain file.
fn history_missing(
    doc: &Doc,
    manifest: Option<&Manifest>,
    state: Option<&State>,
) -> Option<StoreWarning> {
    let version = doc.version();
    let behind = |expected: &crdt_text::VersionVector, since| {
        (!version.includes(expected)).then(|| StoreWarning::HistoryMissing {
            expected: expected.total(),
            found: version.total(),
            since,
        })
    };
    manifest
        .and_then(|m| behind(&m.version, "the last clean close"))
        .or_else(|| {
            state
                .and_then(|s| s.plain.as_ref())
                .and_then(|p| behind(&p.exported, "the last save of the file"))
        })
}

/// The state, or `None` when it must be written afresh (missing or damaged).
fn check_state(
    paths: &Paths,
    read: MetaRead<State>,
    legacy: bool,
    found: &mut Findings,
) -> Result<Option<State>, StoreError> {
    let path = paths.state.clone();
    Ok(match read {
        MetaRead::Found(state) => Some(state),
        // Before format version 3 a store had no state until its first save.
        MetaRead::Missing if legacy => None,
        MetaRead::Missing => {
            found.damage(StoreWarning::Missing {
                path,
                file: StoreFile::State,
            });
            None
        }
        MetaRead::Damaged(reason) => {
            let kept_as = format::keep_aside(&path)?;
            found.damage(StoreWarning::DamagedState {
                path,
                reason,
                kept_as,
            });
            None
        }
    })
}

/// The floor, if a recovery left one; a damaged one is kept aside and taken afresh.
fn check_floor(
    paths: &Paths,
    read: MetaRead<String>,
    found: &mut Findings,
) -> Result<Option<String>, StoreError> {
    Ok(match read {
        MetaRead::Found(text) => Some(text),
        MetaRead::Missing => None,
        MetaRead::Damaged(reason) => {
            let path = paths.floor.clone();
            let kept_as = format::keep_aside(&path)?;
            found.damage(StoreWarning::DamagedFloor {
                path,
                reason,
                kept_as,
            });
            None
        }
    })
}

/// Writes a fresh log holding the good frames of a damaged one, in the current format.
fn rebuild_log(
    path: &Path,
    doc: &DocId,
    log: &log::Found,
    ops: &[Op],
) -> Result<LogWriter, StoreError> {
    let mut frames = Vec::with_capacity(log.bytes.len());
    let count = if log.version >= 2 {
        // Version 2 frames are version 3 frames: copied as they are.
        for payload in &log.scan.frames {
            frames.extend_from_slice(&log.bytes[log::Scan::frame_bytes(payload)]);
        }
        log.scan.frames.len()
    } else {
        log::encode_frames(doc, ops, &mut frames)?
    };
    LogWriter::create(path, doc, &frames, count)
}
