//! Sharing a whole folder: which files it holds and where (the [`Manifest`], a CRDT), pure and
//! sans-IO like [`proto`](crate::proto).
//!
//! Each shared file is its own text document, named by a stable [`FileId`]; the manifest maps
//! file ids to paths. Every peer that received the same changes shows the same [`Tree`],
//! whatever the order, duplication or batching of delivery.
//!
//! # Which set CRDT, and why
//!
//! The manifest is a **map of last-writer-wins registers** (each file's and each folder's
//! place: parent folder and name) combined with an **add-wins observed-remove set** for each
//! file's existence, whose "adds" are the file's creation, every placement of it, *and every
//! edit of its text*. Concretely (see [`FileEntry`]): a delete records the placement stamps
//! and the text version it observed; the file lives while a placement or a text edit exists
//! that no delete observed. It is a delta-state CRDT: local operations return small deltas,
//! and merging is a join (union of sets, pointwise maximum of versions, greater stamp of each
//! register), so delivery needs no causal order.
//!
//! - *Registers for places*: a rename keeps the [`FileId`] (and so the history); concurrent
//!   renames of one file are concurrent writes of one register, and the greatest Lamport
//!   [`Stamp`] wins on every peer — one name everywhere, with no interleaving of the two.
//! - *Add-wins, not a 2P-set*: a 2P-set never lets a removed element back, so a delete would
//!   beat a concurrent edit and lose typed text. An add-wins set whose adds include the text's
//!   own operations gives exactly "a delete concurrent with an edit never loses the edit": the
//!   manifest learns of edits from the text documents' version vectors
//!   ([`Manifest::text_changed`]) without a manifest change per keystroke. A rename concurrent
//!   with a delete keeps the file too (a placement is an add).
//! - *Folders are nodes with ids*, not path prefixes: a file is placed in a folder, so moving
//!   a folder is one register write, and files that peers create in it concurrently move with
//!   it. Folders created at one path concurrently show as one folder; concurrent moves that
//!   would make a cycle are broken deterministically (see [`Tree`]).
//! - *Same path, two files*: files keep their ids and texts; the tree shows one of them under
//!   its path and the others as `name (author).ext`, and [`Outcome::NameTaken`] tells the user.
//!
//! Formats: [`format`](ManifestDelta::encode) (versioned, documented in `format.rs`).
//! Paths: [`path`] (what names a shared folder accepts; never `.git` or `.duet`).
//! Which files of a folder are shared: [`scan`] (`.gitignore`, `.duetignore`, text only).
//! Catch-up that sends only what differs: [`summary`] (hashes over `(file id, version)`).
//! How the manifest travels: as a text document of deltas, the [`log`].

mod format;
pub mod log;
mod manifest;
pub mod path;
pub mod scan;
pub mod summary;
mod tree;

#[cfg(test)]
mod tests;

pub use format::{MANIFEST_FORMAT, ManifestFormatError};
pub use manifest::{
    DirEntry, DirId, FileEntry, FileId, Lww, Manifest, ManifestDelta, ManifestError, Place, Stamp,
};
pub use tree::{Outcome, Shown, Tree};
