//! What can go wrong opening or writing a store: errors that stop the operation
//! ([`StoreError`]) and problems that were recovered from but must be shown to the user
//! ([`StoreWarning`]).

use std::io;
use std::path::PathBuf;

use crdt_text::{DecodeError, ReplicaId};

use crate::ids::DocId;

/// An error from the local store. Every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done ("read", "fsync", …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
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
    /// The file does not start with the expected header: not a duet store file, or damaged
    /// beyond what can be safely repaired.
    #[error("{path} is not a duet store file (expected a '{expected}' header)")]
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
    /// The file belongs to another document.
    #[error("{path} belongs to document {found}, not to this document {expected}")]
    WrongDocument {
        /// The file.
        path: PathBuf,
        /// The document being opened.
        expected: DocId,
        /// The document named in the file.
        found: DocId,
    },
    /// A file that cannot be recovered from is damaged (its checksum fails or its content does
    /// not decode). It is left untouched.
    #[error("{path} is damaged at byte {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the damage was found.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The snapshot checks out but the document inside does not decode.
    #[error("cannot decode the document snapshot {path}: {source}")]
    Snapshot {
        /// The snapshot file.
        path: PathBuf,
        /// Why decoding failed.
        source: DecodeError,
    },
    /// The store has history but its identity file is missing.
    #[error(
        "{path} is missing although the store has history; refusing to start a new document over it"
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
    /// Ops could not be encoded for the log.
    #[error("cannot encode ops for the log: {0}")]
    Encode(#[from] postcard::Error),
}

impl StoreError {
    /// Builds an [`StoreError::Io`].
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
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
    /// The log is damaged in the middle. Every frame that checks out was recovered; the
    /// damaged file was kept aside. Missing ops are fetched again from peers.
    #[error(
        "error: {path} is damaged at offset {offset} ({damaged_bytes} bytes unreadable); \
         recovered {recovered_frames} intact frames, kept the damaged file as {kept_as}; \
         missing edits will be fetched again from peers"
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
    /// The snapshot is damaged (failed checksum or truncated). The history in the log tail
    /// was recovered; the damaged file was kept aside. Missing ops are fetched again from peers.
    #[error(
        "error: snapshot {path} is damaged ({reason}); kept it as {kept_as}; loaded the \
         log tail only, earlier history will be fetched again from peers"
    )]
    DamagedSnapshot {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// Where the damaged original now is.
        kept_as: PathBuf,
    },
    /// The state file (known peers, plain-file bookkeeping) is damaged; it was kept aside and
    /// replaced by an empty one.
    #[error("{path} is damaged; kept it as {kept_as}; known peers were forgotten")]
    DamagedState {
        /// The state file.
        path: PathBuf,
        /// Where the damaged original now is.
        kept_as: PathBuf,
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
    /// This peer now writes under a new replica id, because ops written under the old one
    /// may have reached peers without reaching the disk (unclean shutdown or lost history).
    /// Reusing the old id could give two different edits the same id.
    #[error("continuing as replica {new} instead of {old}: {reason}")]
    NewReplica {
        /// The previous replica id.
        old: ReplicaId,
        /// The replica id used from now on.
        new: ReplicaId,
        /// Why.
        reason: &'static str,
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
