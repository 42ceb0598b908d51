//! A shared folder in an editor: the file on screen is edited in place, peers see where
//! everyone is, and a join shows its progress.
//!
//! The session holds every file's replica. The editor takes the one it shows out
//! ([`FolderSession::take_doc`]) and lends it back for every call that may touch it
//! ([`FolderSession::lend`]), so there is one replica per file and the editor draws from it
//! without copying. Nothing runs between calls (the session only waits in
//! [`FolderSession::next`]), so the session never sees the file without its document.

use std::collections::BTreeSet;

use crdt_text::{Doc, Op};

use super::{FolderEvent, FolderSession};
use crate::ids::{DocId, PeerId};
use crate::proto::{Input, PresenceState, SyncStatus};
use crate::session::PeerView;
use crate::store::{EditorRead, EditorState, StoreError, file_doc_id};

/// How far a join (or a catch-up after time offline) has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Whether the file tree itself is still arriving (file counts are not known yet).
    pub tree: bool,
    /// Shared files known so far.
    pub files: usize,
    /// Files still catching up with a peer.
    pub left: usize,
    /// Bytes received from peers so far.
    pub received: u64,
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = self.received as f64 / 1e6;
        if self.tree {
            write!(f, "receiving the file tree… {mb:.1} MB received")
        } else {
            let done = self.files.saturating_sub(self.left);
            write!(
                f,
                "syncing files: {done} of {} ({} left), {mb:.1} MB received",
                self.files, self.left
            )
        }
    }
}

impl FolderSession {
    /// The document of the shared file at `path`.
    pub fn doc_of(&self, path: &str) -> Option<DocId> {
        let file = self.manifest.tree().file_at(path)?;
        Some(file_doc_id(&self.folder, file))
    }

    /// The path of the file whose document is `doc` (`None`: deleted, or not a file).
    pub fn path_of(&self, doc: &DocId) -> Option<&str> {
        let file = self.files.get(doc)?;
        self.manifest.tree().path(*file)
    }

    /// Takes the document of a file out, for an editor to edit in place; it must be lent back
    /// for every later call ([`lend`](Self::lend)) and given back
    /// ([`put_doc`](Self::put_doc)) before switching to another file or shutting down.
    pub fn take_doc(&mut self, doc: &DocId) -> Option<Doc> {
        if !self.files.contains_key(doc) {
            return None;
        }
        self.docs.remove(doc)
    }

    /// Gives back a document taken with [`take_doc`](Self::take_doc).
    pub fn put_doc(&mut self, id: DocId, doc: Doc) {
        self.docs.insert(id, doc);
    }

    /// Runs `f` with the taken document `doc` back in place: what `f` does (remote ops,
    /// outside edits picked up from disk, saving) sees and changes the editor's replica.
    pub fn lend<R>(&mut self, id: DocId, doc: &mut Doc, f: impl FnOnce(&mut Self) -> R) -> R {
        // An empty document stands in the editor's place meanwhile, kept between calls so
        // that a keystroke does not build one.
        let stand_in = self
            .stand_in
            .take()
            .unwrap_or_else(|| Doc::new(doc.replica()));
        self.docs.insert(id, std::mem::replace(doc, stand_in));
        let result = f(self);
        if let Some(back) = self.docs.remove(&id) {
            self.stand_in = Some(std::mem::replace(doc, back));
        }
        result
    }

    /// Shares edits the user made to a file's document (already applied to it): the ops go to
    /// every connected peer at once, and the file on disk follows shortly (a burst of
    /// keystrokes is one write).
    pub fn local(&mut self, doc: DocId, ops: Vec<Op>) -> Vec<FolderEvent> {
        let mut events = Vec::new();
        let (Some(file), Some(d)) = (self.files.get(&doc).copied(), self.docs.get(&doc)) else {
            events.push(FolderEvent::Problem(format!(
                "an edit of {doc} was not shared: the folder has no such file"
            )));
            return events;
        };
        if ops.is_empty() {
            return events;
        }
        let version = d.version();
        let outcomes = self.manifest.text_changed(file, &version);
        events.extend(outcomes.into_iter().map(FolderEvent::Tree));
        self.open_with_connected(doc);
        self.run(vec![Input::Local { doc, ops }], &mut events);
        self.write_soon(BTreeSet::from([doc]));
        events
    }

    /// Shows our name, colour and cursor in a file to its peers (`None`: we left the file).
    /// The file is opened with every connected peer first, and with every peer that connects
    /// later while we are in it.
    pub fn set_presence(
        &mut self,
        doc: DocId,
        presence: Option<PresenceState>,
    ) -> Vec<FolderEvent> {
        let mut events = Vec::new();
        if presence.is_some() {
            self.shown.insert(doc);
            self.open_with_connected(doc);
        } else {
            self.shown.remove(&doc);
        }
        self.run(vec![Input::SetPresence { doc, presence }], &mut events);
        events
    }

    /// The folder's sync state: peers connected for it, and whether it is catching up.
    pub fn status(&self) -> SyncStatus {
        let mut status = self.peer.status(&self.folder);
        status.catching_up |= !self.waiting.is_empty();
        status
    }

    /// The folder's peers, for the peers panel (where each is is told by
    /// [`FolderEvent::Sync`] presence news of the files).
    pub fn peers(&self) -> Vec<PeerView> {
        self.peer
            .peers(&self.folder)
            .into_iter()
            .map(|p| PeerView::new(p, self.transport.as_ref()))
            .collect()
    }

    /// The peers showing their cursor in a file's document now, with their presence.
    pub fn presences(&self, doc: &DocId) -> Vec<(PeerId, PresenceState)> {
        self.peer
            .peers(doc)
            .into_iter()
            .filter_map(|p| Some((p.addr.id, p.presence?)))
            .collect()
    }

    /// The paths this user last opened in the editor, most recent first (see
    /// [`FolderStore::recent`](crate::store::FolderStore::recent)).
    pub fn recent(&self) -> Result<Vec<String>, StoreError> {
        self.store.recent()
    }

    /// Keeps the paths this user last opened in the editor, for the next run.
    pub fn keep_recent(&self, paths: &[String]) -> Result<(), StoreError> {
        self.store.keep_recent(paths)
    }

    /// This user's undo history in a file and the version last seen there.
    pub fn read_editor(&self, doc: &DocId) -> EditorRead {
        self.store.read_editor(doc)
    }

    /// Keeps this user's undo history in a file for the next run.
    pub fn keep_editor(&self, doc: &DocId, state: &EditorState) -> Result<(), StoreError> {
        self.store.keep_editor(doc, state)
    }

    /// Our id on the network, if it is on.
    pub fn local_id(&self) -> Option<PeerId> {
        self.transport.as_ref().map(crate::net::Transport::id)
    }

    /// How far a join or catch-up has come, while one runs.
    pub fn progress(&self) -> Option<Progress> {
        let folder = self.peer.status(&self.folder);
        let tree = folder.catching_up || (self.joining && self.manifest.tree().is_empty());
        if !tree && self.waiting.is_empty() {
            return None;
        }
        Some(Progress {
            tree,
            files: self.manifest.tree().len(),
            left: self.waiting.len(),
            received: self.traffic().1,
        })
    }

    /// Writes every changed file and makes every document durable now, on this thread (the
    /// editor's Save), rather than with the next timed save.
    pub fn save_all_now(&mut self) -> Vec<FolderEvent> {
        let mut events = Vec::new();
        let inputs = self.save_now(&mut events);
        self.run(inputs, &mut events);
        events
    }

    /// A file document's sync state changed: a file caught up with its peer is no longer
    /// waited for.
    pub(super) fn file_status(&mut self, doc: DocId, status: &SyncStatus) {
        let Some(connected) = self.waiting.get_mut(&doc) else {
            return;
        };
        let caught_up = !status.catching_up && status.pending == 0 && status.in_sync;
        // A channel that closed again is not waited for (the next summary finds the file).
        if (status.connected > 0 && caught_up) || (*connected && status.connected == 0) {
            self.waiting.remove(&doc);
        } else if status.connected > 0 {
            *connected = true;
        }
    }
}
