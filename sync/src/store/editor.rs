//! `editor`: what the editor keeps for this user between runs — the undo and redo stacks, and
//! the version of the document the user last had open (for "while you were away").
//!
//! # Format
//!
//! ```text
//! editor   header "duet-edt" ‖ postcard(EditorState) ‖ BLAKE3-32 of all before
//! ```
//!
//! `EditorState` starts with its own version ([`EDITOR_STATE_VERSION`], 1): a later duet that
//! changes it bumps that number, and this code reads a newer one as unreadable (undo starts
//! afresh, with a message) rather than misreading it. Version 1: whose stacks they are (the
//! author id; another user opening the same store does not take them over), the version last
//! seen and when (Unix seconds), then the undo and the redo stack, oldest step first, each step the [`OpRange`]s of its
//! ops in the order they were made. Undo works by character identity (see crdt-text's
//! `Doc::revert_range`), so the stacks stay valid whatever others edited meanwhile; a range
//! naming ops the document no longer knows (lost in a crash before they were synced) undoes
//! nothing.
//!
//! The file is replaced atomically (`format::write_atomic`) and is `0600`: a crash leaves the
//! old or the new file, never a mix. It holds no text: a damaged or unreadable file loses the
//! undo history only, and is simply rewritten at the next write. Stores without the file (made
//! before it existed) open with empty stacks; older duet builds ignore it. A store found to be
//! a copy does not take over the stacks (they are another user's edits).

use std::path::Path;

use crdt_text::{AuthorId, OpRange, VersionVector};
use serde::{Deserialize, Serialize};

use super::format::{self, Sealed};
use super::header::{self, FileKind};
use super::{Store, StoreError, StoreWarning};

/// The version of [`EditorState`] this code writes.
pub const EDITOR_STATE_VERSION: u16 = 1;

/// The editor's state kept for this user (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorState {
    /// [`EDITOR_STATE_VERSION`] when written by this code.
    pub version: u16,
    /// Whose stacks these are (`None`: a user without an author identity). Another user
    /// opening the same store does not take them over.
    pub author: Option<AuthorId>,
    /// The document version the user last had open.
    pub seen: VersionVector,
    /// When this state was kept (Unix seconds; 0: unknown): when the user last had the
    /// document open, as of `seen`.
    pub at: u64,
    /// Undo steps, oldest first; each the ops of one step in the order they were made.
    pub undo: Vec<Vec<OpRange>>,
    /// Redo steps, oldest first.
    pub redo: Vec<Vec<OpRange>>,
}

/// What reading `editor` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditorRead {
    /// No state kept (a new store, one made before the file existed, or a copy).
    Missing,
    /// The state.
    Found(EditorState),
    /// The file cannot be used; the message says why. Only undo history is lost.
    Unreadable(String),
}

impl EditorRead {
    /// The state in `body`, the content of the file `path` (a single document's `editor`,
    /// or a shared folder's `editor/ID`).
    pub(super) fn decode(path: &Path, body: &[u8]) -> EditorRead {
        match postcard::take_from_bytes::<u16>(body) {
            Ok((v, _)) if v > EDITOR_STATE_VERSION => EditorRead::unreadable(
                path,
                format!(
                    "written by a newer duet (state version {v}, this one reads up to \
                     {EDITOR_STATE_VERSION})"
                ),
            ),
            Ok(_) => match postcard::from_bytes::<EditorState>(body) {
                Ok(state) => EditorRead::Found(state),
                Err(e) => EditorRead::unreadable(path, format!("its content does not decode: {e}")),
            },
            Err(e) => EditorRead::unreadable(path, format!("its content does not decode: {e}")),
        }
    }

    /// The file `path` cannot be used, because of `why`.
    pub(super) fn unreadable(path: &Path, why: String) -> EditorRead {
        EditorRead::Unreadable(format!(
            "the undo history kept in {} is unusable ({why}); your text is intact and undo \
             starts afresh",
            path.display()
        ))
    }
}

impl Store {
    /// Reads this user's editor state. `warnings` are what opening the store found: a store
    /// that is a copy gives [`EditorRead::Missing`].
    pub fn read_editor_state(&self, warnings: &[StoreWarning]) -> EditorRead {
        if warnings.iter().any(StoreWarning::is_copy) {
            return EditorRead::Missing;
        }
        let path = &self.paths.editor;
        match format::read_sealed(FileKind::Editor, path, Some(&self.doc_id)) {
            Ok(Sealed::Missing) => EditorRead::Missing,
            Ok(Sealed::Damaged(why)) => EditorRead::unreadable(path, why),
            Err(e) => EditorRead::unreadable(path, e.to_string()),
            Ok(Sealed::Found { body, .. }) => EditorRead::decode(path, &body),
        }
    }

    /// Replaces this user's editor state, atomically.
    pub fn keep_editor_state(&self, state: &EditorState) -> Result<(), StoreError> {
        let mut bytes = header::header(FileKind::Editor, &self.doc_id).to_vec();
        bytes.extend_from_slice(&postcard::to_stdvec(state)?);
        format::write_atomic(&self.paths.editor, &format::seal(bytes))
    }
}
