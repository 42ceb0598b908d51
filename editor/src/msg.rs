//! Everything that can happen to the editor ([`Msg`]) and everything it asks the runtime to do
//! ([`Effect`]). Key presses, mouse events, news from the sync layer and timer ticks all
//! arrive as one `Msg`; [`crate::update::update`] turns them into model changes plus effects.

use crdt_text::Op;
use crossterm::event::{KeyEvent, MouseEvent};

/// An input to [`crate::update::update`].
#[derive(Debug)]
pub enum Msg {
    /// A key press.
    Key(KeyEvent),
    /// A mouse click, drag or wheel.
    Mouse(MouseEvent),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// The terminal was resized to (columns, rows).
    Resize(u16, u16),
    /// The periodic timer (a few times a second): status messages fade.
    Tick,
    /// Nothing else is waiting: time for background work (syntax highlighting catching up
    /// with a far jump).
    Idle,
    /// News from the sync layer: peers, presence, the document's sync state, saving. Edits
    /// from peers are already in the document when this arrives. Boxed: the largest event is
    /// several times the size of a key.
    Sync(Box<sync::Event>),
    /// In a shared folder: a peer is now in this file (`None`: in none of them), or news of
    /// the folder itself (files appearing, renamed, deleted, picked up from disk).
    Folder(Box<FolderNews>),
}

/// News of a shared folder for the editor (the runtime sorts the folder session's events:
/// those of the file on screen arrive as [`Msg::Sync`]).
#[derive(Debug)]
pub enum FolderNews {
    /// A peer shows its cursor in this file (the path).
    PeerIn {
        /// Who.
        peer: sync::PeerId,
        /// The file.
        file: String,
        /// Its name, if it told one.
        name: Option<String>,
    },
    /// A peer left this file (it may be in another one already).
    PeerOut {
        /// Who.
        peer: sync::PeerId,
        /// The file.
        file: String,
    },
    /// The file asked for with [`Effect::Open`] is on screen (and the peers in it are known).
    Opened,
    /// Something that happened in the folder, for the status line.
    Event(sync::share::FolderEvent),
}

impl From<sync::Event> for Msg {
    fn from(event: sync::Event) -> Self {
        Msg::Sync(Box::new(event))
    }
}

/// Something `update` asks the runtime to do.
#[derive(Clone, PartialEq, Debug)]
pub enum Effect {
    /// A local edit, already applied to the document: persist it and send it to the peers.
    Submit(Op),
    /// This user's cursor or selection changed: tell the peers ([`Model::presence`]).
    ///
    /// [`Model::presence`]: crate::model::Model::presence
    Presence,
    /// Write the document to its plain file (the outcome comes back as a [`Msg::Sync`]).
    Save,
    /// Write it although it drops text the file held when duet found its store damaged (the
    /// user confirmed).
    SaveAnyway,
    /// Save the document under another file name: write it there and move its store along
    /// (the outcome comes back as `Moved` or `MoveFailed` in a [`Msg::Sync`]).
    SaveAs(std::path::PathBuf),
    /// Copy text to the system clipboard (OSC 52).
    Clipboard(String),
    /// Stop the editor (the runtime flushes the store first).
    Quit,
    /// In a shared folder: show the file at this path (relative to the folder).
    Open(String),
}
