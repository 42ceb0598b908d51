//! [`Event`]: the one type of news that flows from the sync layer to the user interface.

use crdt_text::VersionVector;

use crate::ids::{DocId, PeerId};
use crate::proto::{self, Departure, PresenceState, ProtoError, SyncStatus};
use crate::store::StoreError;

/// News for the user interface, in the order it happened.
#[derive(Debug)]
pub enum Event {
    /// A peer's ops were applied to the document (its text changed).
    Remote {
        /// The document.
        doc: DocId,
        /// Who sent them.
        from: PeerId,
        /// How many ops.
        ops: usize,
    },
    /// A peer proved it knows the document and is connected for it.
    PeerJoined {
        /// The document.
        doc: DocId,
        /// Who.
        peer: PeerId,
        /// The name its user goes by, if it gave one.
        name: Option<String>,
    },
    /// A peer is no longer connected for the document.
    PeerLeft {
        /// The document.
        doc: DocId,
        /// Who.
        peer: PeerId,
        /// How it went.
        why: Departure,
    },
    /// A peer was refused, or refused us.
    Refused {
        /// The document, if the refusal concerns one.
        doc: Option<DocId>,
        /// Who.
        peer: PeerId,
        /// Why.
        error: ProtoError,
    },
    /// A known peer cannot be reached (once until it is reached again).
    Unreachable {
        /// Who.
        peer: PeerId,
        /// Why the last dial failed.
        error: String,
    },
    /// A peer's presence changed (`None`: gone or hidden).
    Presence {
        /// The document.
        doc: DocId,
        /// Who.
        peer: PeerId,
        /// Its name, colour and cursor.
        presence: Option<PresenceState>,
    },
    /// The document's sync state changed.
    Status {
        /// The document.
        doc: DocId,
        /// The new state.
        status: SyncStatus,
    },
    /// A peer has the same version of the document but another text.
    Diverged {
        /// The document.
        doc: DocId,
        /// Who.
        peer: PeerId,
        /// The version both claim.
        version: VersionVector,
    },
    /// The plain file was written with the document at this version.
    Saved {
        /// The document.
        doc: DocId,
        /// The version written.
        version: VersionVector,
    },
    /// Writing the plain file failed; the edits are safe in the store.
    SaveFailed {
        /// The document.
        doc: DocId,
        /// Why.
        error: StoreError,
    },
    /// Save as moved the document (and its store) to another file.
    Moved {
        /// The document.
        doc: DocId,
        /// Its plain file now.
        file: std::path::PathBuf,
    },
    /// Save as failed; the document stays where it was.
    MoveFailed {
        /// The document.
        doc: DocId,
        /// Why.
        error: StoreError,
    },
    /// Another program changed the plain file; its changes were merged into the document as
    /// local edits (and sent to peers).
    OutsideEdits {
        /// The document.
        doc: DocId,
        /// Characters inserted.
        inserted: usize,
        /// Characters deleted.
        deleted: usize,
    },
    /// Writing the store failed; the ops stay in memory and the write is retried.
    StoreFailed {
        /// The document.
        doc: DocId,
        /// Why.
        error: StoreError,
    },
}

impl From<proto::Event> for Event {
    fn from(event: proto::Event) -> Event {
        match event {
            proto::Event::Remote { doc, from, ops } => Event::Remote { doc, from, ops },
            proto::Event::PeerJoined { doc, peer, name } => Event::PeerJoined { doc, peer, name },
            proto::Event::PeerLeft { doc, peer, why } => Event::PeerLeft { doc, peer, why },
            proto::Event::Refused { doc, peer, error } => Event::Refused { doc, peer, error },
            proto::Event::Unreachable { peer, error } => Event::Unreachable { peer, error },
            proto::Event::Presence {
                doc,
                peer,
                presence,
            } => Event::Presence {
                doc,
                peer,
                presence,
            },
            proto::Event::Status { doc, status } => Event::Status { doc, status },
            proto::Event::Diverged {
                doc, peer, version, ..
            } => Event::Diverged { doc, peer, version },
        }
    }
}

/// A one-line description for logs and `duet serve` output (names are the caller's).
impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Remote { from, ops, .. } => write!(f, "received {ops} op(s) from {from}"),
            Event::PeerJoined {
                peer,
                name: Some(name),
                ..
            } => write!(f, "{name} ({peer}) joined"),
            Event::PeerJoined { peer, .. } => write!(f, "{peer} joined"),
            Event::PeerLeft { peer, why, .. } => match why {
                Departure::Quit => write!(f, "{peer} left"),
                Departure::Restarted => write!(f, "{peer} restarted"),
                Departure::Lost => write!(f, "{peer} left (connection lost)"),
                Departure::Error(e) => write!(f, "{peer} left: {e}"),
            },
            Event::Refused { peer, error, .. } => write!(f, "{peer}: {error}"),
            Event::Unreachable { peer, error } => write!(f, "cannot reach {peer}: {error}"),
            Event::Presence { peer, .. } => write!(f, "{peer} moved"),
            Event::Status { status, .. } => write!(f, "{status:?}"),
            Event::Diverged { peer, version, .. } => write!(
                f,
                "the text differs from {peer}'s although both have version {version:?}"
            ),
            Event::Saved { .. } => f.write_str("saved"),
            Event::SaveFailed { error, .. } => write!(f, "could not save: {error}"),
            Event::Moved { file, .. } => write!(f, "moved to {}", file.display()),
            Event::MoveFailed { error, .. } => write!(f, "could not save as: {error}"),
            Event::OutsideEdits {
                inserted, deleted, ..
            } => write!(
                f,
                "merged edits made to the file by another program (+{inserted} -{deleted} chars)"
            ),
            Event::StoreFailed { error, .. } => {
                write!(f, "cannot write duet's store (will retry): {error}")
            }
        }
    }
}
