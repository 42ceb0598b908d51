//! [`FolderEvent`]: what the user of a shared folder is told.

use crate::folder::Outcome;
use crate::folder::scan::Skipped;
use crate::ids::PeerId;
use crate::proto::{Departure, ProtoError};

/// News for the user of a shared folder.
#[derive(Debug)]
pub enum FolderEvent {
    /// The tree changed because of a peer (or a conflict was resolved): see [`Outcome`].
    Tree(Outcome),
    /// Changes made on disk by other programs were picked up and shared.
    PickedUp {
        /// Files created.
        created: usize,
        /// Files whose text changed.
        edited: usize,
        /// Files renamed or moved.
        renamed: usize,
        /// Files deleted.
        deleted: usize,
    },
    /// A file was written, renamed or removed on disk to match the folder.
    Disk(String),
    /// A file of the folder is not shared (binary, over the size limit, …), said when it
    /// is first found so (at the start, or when it appears) or for another reason than
    /// before. [`FolderSession::skipped`](super::FolderSession::skipped) lists them all.
    Skipped(Skipped),
    /// A peer joined the folder.
    PeerJoined {
        /// Who.
        peer: PeerId,
        /// Its user's name.
        name: Option<String>,
    },
    /// A peer left the folder.
    PeerLeft {
        /// Who.
        peer: PeerId,
        /// How.
        why: Departure,
    },
    /// A peer was refused, or refused us.
    Refused {
        /// Who.
        peer: PeerId,
        /// Why.
        error: ProtoError,
    },
    /// A known peer cannot be reached yet.
    Unreachable {
        /// Who.
        peer: PeerId,
        /// Why.
        error: String,
    },
    /// Something went wrong that the user must know (nothing was lost: the store keeps it).
    Problem(String),
    /// News of one file's document, as a single document's session tells it: a peer's
    /// presence in the file (where it is), its edits, the file's sync state, a peer leaving
    /// the file. Joins and departures of the folder itself are `PeerJoined` and `PeerLeft`.
    Sync(crate::Event),
}

impl std::fmt::Display for FolderEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FolderEvent::Tree(o) => match o {
                Outcome::Appeared { path, .. } => write!(f, "new file: {path}"),
                Outcome::Moved { from, to, .. } => write!(f, "renamed: {from} → {to}"),
                Outcome::Removed { path, .. } => write!(f, "deleted: {path}"),
                Outcome::KeptAfterDelete { path, .. } => write!(
                    f,
                    "kept: {path} was deleted by a peer who had not seen every edit of it"
                ),
                Outcome::NameTaken { wanted, path, .. } => write!(
                    f,
                    "conflict: two files were created as {wanted}; one is now {path}"
                ),
            },
            FolderEvent::PickedUp {
                created,
                edited,
                renamed,
                deleted,
            } => write!(
                f,
                "picked up changes on disk: {created} created, {edited} edited, \
                 {renamed} renamed, {deleted} deleted"
            ),
            FolderEvent::Disk(what) => f.write_str(what),
            FolderEvent::Skipped(s) => write!(f, "not shared: {} ({})", s.path, s.reason),
            FolderEvent::PeerJoined { peer, name } => match name {
                Some(n) => write!(f, "joined: {n} ({peer})"),
                None => write!(f, "joined: {peer}"),
            },
            FolderEvent::PeerLeft { peer, why } => write!(f, "left: {peer} ({why:?})"),
            FolderEvent::Refused { peer, error } => write!(f, "refused: {peer} ({error})"),
            FolderEvent::Unreachable { peer, error } => {
                write!(f, "cannot reach {peer} yet: {error}")
            }
            FolderEvent::Problem(what) => write!(f, "problem: {what}"),
            FolderEvent::Sync(event) => write!(f, "{event}"),
        }
    }
}
