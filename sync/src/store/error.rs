//! What can go wrong opening or writing a store: errors that stop the operation
//! ([`StoreError`]) and problems that were recovered from but must be shown to the user
//! ([`StoreWarning`]).
//!
//! Messages are complete sentences that name the file concerned and say what the user can do.
//! An error's underlying cause is part of its message and is not also returned by
//! `Error::source`, so printing the chain never repeats it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crdt_text::ReplicaId;

use crate::ids::DocId;

/// An error from the local store. Every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file operation failed.
    #[error("cannot {action} {path}: {error}")]
    Io {
        /// What was being done ("read", "fsync", …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
    /// Another process (another duet) holds the document's lock.
    #[error(
        "this document is already open in another duet process (lock held on {path}); \
         close it there first"
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The file is not a duet store file of the expected kind (and not a damaged one).
    #[error(
        "{path} is not a duet store file (expected a '{expected}' header); duet leaves it \
         untouched: move it away if it does not belong there"
    )]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// The magic that was expected.
        expected: &'static str,
    },
    /// The file was written by a newer duet.
    #[error(
        "{path} uses store format version {found}, but this duet reads up to version \
         {supported}; upgrade duet"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u16,
        /// The newest version this code reads.
        supported: u16,
    },
    /// The file belongs to another document (its header checks out and names it).
    #[error(
        "{path} belongs to document {found}, not to this document {expected}; duet leaves it \
         untouched"
    )]
    WrongDocument {
        /// The file.
        path: PathBuf,
        /// The document being opened.
        expected: DocId,
        /// The document named in the file.
        found: DocId,
    },
    /// The identity file is damaged. It holds the document secret and this store's keys,
    /// which nothing else can rebuild, so the open stops and nothing is changed.
    #[error(
        "{path} is damaged ({reason}); it holds the document's secret, which cannot be \
         rebuilt, so duet changed nothing. Restore it from a backup, or move its folder away \
         to start a new document from the plain file (the history is then lost)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading the history without opening the store found a damaged file.
    #[error(
        "cannot read the history in {file}: {reason}. Open the document with duet once: it \
         recovers what the store holds"
    )]
    Damaged {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading the history without opening the store kept meeting a compaction.
    #[error("{file} kept changing while it was read (a running duet compacts it); try again")]
    Busy {
        /// The snapshot file.
        file: PathBuf,
    },
    /// The store has history but its identity file is missing.
    #[error(
        "{path} is missing although the store has history; it holds the document's secret, \
         so duet changed nothing. Restore it from a backup, or move its folder away to start \
         a new document from the plain file (the history is then lost)"
    )]
    MissingIdentity {
        /// The missing identity file.
        path: PathBuf,
    },
    /// The plain file is not UTF-8 text.
    #[error(
        "{path} is not UTF-8 text (invalid byte at offset {offset}); duet edits text files only"
    )]
    NotUtf8 {
        /// The plain file.
        path: PathBuf,
        /// The first invalid byte.
        offset: u64,
    },
    /// The plain file is larger than duet opens.
    #[error("{path} holds {bytes} bytes; duet opens text files of up to {limit} bytes")]
    FileTooLarge {
        /// The plain file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The largest size duet opens ([`MAX_PLAIN_FILE`](super::MAX_PLAIN_FILE)).
        limit: u64,
    },
    /// The path does not name a file.
    #[error("{path} does not name a file")]
    NotAFile {
        /// The path given.
        path: PathBuf,
    },
    /// Joining a shared document into a file that already holds text would overwrite it.
    #[error(
        "{path} already exists and is not empty; join the shared document under another file name"
    )]
    PlainFileExists {
        /// The plain file.
        path: PathBuf,
    },
    /// The plain file may not be written (no write permission, or another user's file).
    #[error(
        "{path} is read-only, so it was not saved; your edits are safe in duet's store. Make \
         the file writable (chmod u+w) and save again"
    )]
    ReadOnly {
        /// The plain file.
        path: PathBuf,
    },
    /// Saving would drop text the plain file had when the store was found damaged. Call
    /// [`Store::confirm_drop`](super::Store::confirm_drop) once the user agrees, then save
    /// again.
    #[error(
        "saving would remove {} in {} that {path} held when duet found its store damaged; \
         check the text, and confirm to save anyway",
        count(.chars, "character"),
        count(.lines, "line")
    )]
    WouldDropText {
        /// The plain file.
        path: PathBuf,
        /// Characters of that text missing from what would be written.
        chars: usize,
        /// Lines of that text they touch.
        lines: usize,
    },
    /// Save as: a file or a store already has the new name.
    #[error("{path} already exists; save under another name (duet does not overwrite it)")]
    TargetExists {
        /// The file or store folder in the way.
        path: PathBuf,
    },
    /// Save as: the new name is on another file system, where the store cannot be moved in
    /// one step.
    #[error(
        "{path} is on another file system than the document's store; save into the same \
         file system, or copy the folder (store included) and open the copy"
    )]
    OtherFileSystem {
        /// The new file.
        path: PathBuf,
    },
    /// An op is too large for a log frame (only a single edit larger than the frame limit).
    #[error("an edit of {bytes} bytes is larger than the store's limit of {limit} bytes")]
    OpTooLarge {
        /// The encoded op's size.
        bytes: usize,
        /// The largest frame payload.
        limit: usize,
    },
    /// Ops could not be encoded for the log.
    #[error("cannot encode ops for the log: {0}")]
    Encode(postcard::Error),
}

impl From<postcard::Error> for StoreError {
    fn from(error: postcard::Error) -> Self {
        StoreError::Encode(error)
    }
}

impl StoreError {
    /// Builds an [`StoreError::Io`].
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, error: io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            error,
        }
    }
}

/// A file of the store, as named in warnings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreFile {
    /// `snapshot`.
    Snapshot,
    /// `log`.
    Log,
    /// `state`.
    State,
}

impl fmt::Display for StoreFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreFile::Snapshot => "the snapshot (the history up to the last compaction)",
            StoreFile::Log => "the log (the edits since the last compaction)",
            StoreFile::State => "the state file (known peers, what duet last saved)",
        })
    }
}

/// A problem found and recovered from while opening. Show these to the user: each says what
/// happened and what, if anything, was lost or moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreWarning {
    /// The log ended in a write that never finished (a crash or power loss); it was cut off.
    /// Nothing acknowledged as saved is ever in such a tail.
    #[error(
        "{path}: cut {cut_bytes} bytes of an unfinished write at offset {offset} \
         (left by a crash; edits saved before it are intact)"
    )]
    TornTail {
        /// The log file.
        path: PathBuf,
        /// Where the unfinished write started (the new end of the log).
        offset: u64,
        /// How many bytes were cut.
        cut_bytes: u64,
    },
    /// The log is damaged (in the middle, in its header, or in its last frame after a clean
    /// close). Every frame that checks out was recovered; the damaged file was kept.
    #[error(
        "{path} is damaged at offset {offset} ({damaged_bytes} bytes unreadable); recovered \
         {recovered_frames} intact frames and kept the damaged file as {kept_as}"
    )]
    DamagedLog {
        /// The log file.
        path: PathBuf,
        /// Offset of the first damaged byte.
        offset: u64,
        /// Bytes that could not be read as frames.
        damaged_bytes: u64,
        /// How many frames were recovered.
        recovered_frames: usize,
        /// Where the damaged original now is.
        kept_as: PathBuf,
    },
    /// The log is shorter than at the last clean close: its last frames are gone.
    #[error(
        "{path} holds {found} bytes but held {expected} at the last clean close: its last \
         edits are missing; kept it as {kept_as}"
    )]
    LogCutShort {
        /// The log file.
        path: PathBuf,
        /// Its length at the last clean close.
        expected: u64,
        /// Its length now.
        found: u64,
        /// Where a copy of it now is.
        kept_as: PathBuf,
    },
    /// The snapshot is damaged; it was kept aside and the rest recovered.
    #[error("the snapshot {path} is damaged ({reason}); kept it as {kept_as}")]
    DamagedSnapshot {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// Where the damaged original now is.
        kept_as: PathBuf,
    },
    /// The snapshot is intact but not the one the store closed with (restored from another
    /// time?); it was used, and what it lacks was recovered from the plain file.
    #[error("the snapshot {path} is not the one this store last closed with")]
    SnapshotMismatch {
        /// The snapshot file.
        path: PathBuf,
    },
    /// The state file (known peers, plain-file bookkeeping) is damaged; it was kept aside and
    /// replaced.
    #[error("{path} is damaged ({reason}); kept it as {kept_as}; known peers were forgotten")]
    DamagedState {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// Where the damaged original now is.
        kept_as: PathBuf,
    },
    /// A file the store should hold is missing.
    #[error("{path} is missing: {file} is gone")]
    Missing {
        /// The missing file.
        path: PathBuf,
        /// Which file it is.
        file: StoreFile,
    },
    /// The store holds fewer edits than it did at its last clean close or the last save of
    /// the plain file, though no file is visibly damaged (a file restored from another time?).
    #[error("the store holds {found} edits but held {expected} at {since}")]
    HistoryMissing {
        /// Edits (characters inserted or deleted) it held then.
        expected: u64,
        /// Edits it holds now.
        found: u64,
        /// When: "the last clean close" or "the last save of the file".
        since: &'static str,
    },
    /// The record of a floor (see [`StoreError::WouldDropText`]) is damaged; it was kept aside
    /// and a new one taken from the plain file.
    #[error("{path} is damaged ({reason}); kept it as {kept_as}")]
    DamagedFloor {
        /// The floor file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// Where the damaged original now is.
        kept_as: PathBuf,
    },
    /// Because the store was damaged, the plain file's text was imported into the document
    /// (keeping everything the document had), so no text the file held is lost.
    #[error(
        "imported the text of {path} ({lines} lines; {inserted} characters the store lacked) \
         so that nothing the file holds is lost"
    )]
    RecoveredFromPlainFile {
        /// The plain file.
        path: PathBuf,
        /// Lines of the file.
        lines: usize,
        /// Characters added to the document.
        inserted: usize,
    },
    /// Ops that passed their checksum were rejected by the document (they can never apply).
    #[error("{path}: {count} ops in the log were rejected by the document, first: {first}")]
    RejectedOps {
        /// The log file.
        path: PathBuf,
        /// How many ops were rejected.
        count: usize,
        /// The first rejection.
        first: String,
    },
    /// The lock file was missing or damaged, so how the last session ended is unknown; it is
    /// handled like a crash.
    #[error(
        "{path} {reason}, so duet cannot tell whether the last session closed cleanly{}",
        kept(.kept_as)
    )]
    PreviousSessionUnknown {
        /// The lock file.
        path: PathBuf,
        /// What was wrong ("was missing", "was damaged (…)").
        reason: String,
        /// Where a copy of a damaged lock file was kept.
        kept_as: Option<PathBuf>,
    },
    /// The store is a copy (or a restored backup) of a store recorded elsewhere; it now writes
    /// under its own replica id and endpoint key.
    #[error(
        "this store is a copy of {from} (or was restored from a backup): it continues under a \
         new replica id and endpoint key, so the two copies never write under one id"
    )]
    Copied {
        /// Where the original store was recorded.
        from: PathBuf,
    },
    /// This peer now writes under a new replica id, because ops written under the old one
    /// may have reached peers without reaching the disk (unclean shutdown or lost history),
    /// or another copy of the store may write under it.
    #[error("continuing as replica {new} instead of {old}: {reason}")]
    NewReplica {
        /// The previous replica id.
        old: ReplicaId,
        /// The replica id used from now on.
        new: ReplicaId,
        /// Why.
        reason: &'static str,
    },
    /// A save that wrote the plain file in place was interrupted by a crash; the file's
    /// previous content was put back (the edits are in the store).
    #[error(
        "saving {path} was interrupted; put its previous content back (your edits are in the \
         store and are written at the next save)"
    )]
    InterruptedSave {
        /// The plain file.
        path: PathBuf,
    },
    /// The plain file was changed by another program since duet last wrote it; the
    /// difference was imported as local edits.
    #[error(
        "{path} was changed outside duet: imported {inserted} inserted and {deleted} deleted \
         characters as your edits"
    )]
    ImportedExternalEdits {
        /// The plain file.
        path: PathBuf,
        /// Characters inserted.
        inserted: usize,
        /// Characters deleted.
        deleted: usize,
    },
    /// The plain file is gone (deleted or moved); it is written again on the next save.
    #[error("{path} no longer exists; it will be written again when you save")]
    PlainFileMissing {
        /// The plain file.
        path: PathBuf,
    },
}

/// `n` and the noun, in the plural unless `n` is 1.
pub(super) fn plural(n: u64, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

fn count(n: &usize, noun: &str) -> String {
    plural(*n as u64, noun)
}

fn kept(kept_as: &Option<PathBuf>) -> String {
    kept_as
        .as_ref()
        .map(|p| format!("; kept it as {}", p.display()))
        .unwrap_or_default()
}

impl StoreWarning {
    /// Whether this is a problem with the store (damage, loss, a copy) that deserves a
    /// [`RecoveryReport`](super::RecoveryReport), rather than a routine event (a crash's
    /// leftovers, outside edits).
    pub fn is_problem(&self) -> bool {
        !matches!(
            self,
            StoreWarning::TornTail { .. }
                | StoreWarning::NewReplica { .. }
                | StoreWarning::ImportedExternalEdits { .. }
                | StoreWarning::PlainFileMissing { .. }
        )
    }

    /// Whether opening found the store to be a copy (or possibly one): it continues under new
    /// ids, and what belonged to the user of the original (the undo history) is not taken over.
    pub fn is_copy(&self) -> bool {
        match self {
            StoreWarning::Copied { .. } => true,
            StoreWarning::NewReplica { reason, .. } => {
                *reason == super::recover::COPIED || *reason == super::recover::LEGACY
            }
            _ => false,
        }
    }

    /// Where a damaged file was kept, if this warning kept one.
    pub fn kept_as(&self) -> Option<&Path> {
        match self {
            StoreWarning::DamagedLog { kept_as, .. }
            | StoreWarning::LogCutShort { kept_as, .. }
            | StoreWarning::DamagedSnapshot { kept_as, .. }
            | StoreWarning::DamagedState { kept_as, .. }
            | StoreWarning::DamagedFloor { kept_as, .. } => Some(kept_as),
            StoreWarning::PreviousSessionUnknown { kept_as, .. } => kept_as.as_deref(),
            _ => None,
        }
    }
}
