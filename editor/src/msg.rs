//! Everything that can happen to the editor ([`Msg`]) and everything it asks the runtime to do
//! ([`Effect`]). Key presses, mouse events, network events and timer ticks all arrive as one
//! `Msg`; [`crate::update::update`] turns them into model changes plus effects.

use crdt_text::{Anchor, Op};
use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::style::Color;

use crate::model::ConnInfo;

/// Identifies a remote peer (its endpoint id, as text).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct PeerId(pub String);

impl std::fmt::Display for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A cursor and selection shared with the other peers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Presence {
    /// Where the cursor is.
    pub head: Anchor,
    /// The other end of the selection (equal to `head` when nothing is selected).
    pub tail: Anchor,
}

/// Something the network layer reports.
#[derive(Clone, PartialEq, Debug)]
pub enum NetEvent {
    /// Edits made by other peers, in causal order.
    Remote(Vec<Op>),
    /// A peer connected.
    PeerJoined {
        /// Who.
        peer: PeerId,
        /// Their display name, if known yet.
        name: Option<String>,
    },
    /// A peer disconnected (it quit, or the connection dropped).
    PeerLeft {
        /// Who.
        peer: PeerId,
    },
    /// A peer moved its cursor or changed its name or colour.
    Presence {
        /// Who.
        peer: PeerId,
        /// Their display name.
        name: String,
        /// Their colour.
        color: Color,
        /// Their selection.
        presence: Presence,
    },
    /// A peer stopped sharing its cursor.
    PresenceHidden {
        /// Who.
        peer: PeerId,
    },
    /// Writing the local store failed; edits stay in memory and the write is retried.
    StoreFailed(String),
    /// A connection attempt or an open connection failed.
    ConnectionFailed {
        /// The peer, if known.
        peer: Option<PeerId>,
        /// What went wrong, in words for the user.
        reason: String,
    },
    /// How far the other peers are behind this one.
    Sync {
        /// Whether any peer is connected.
        online: bool,
        /// Local ops not yet acknowledged.
        unacked: u64,
    },
    /// Connection details for the peers panel.
    Connections(Vec<(PeerId, ConnInfo)>),
    /// The current ticket (addresses change as the network changes).
    Ticket(String),
    /// Networking stopped or failed to start; editing continues locally.
    Unavailable(String),
}

/// An input to [`crate::update::update`].
#[derive(Clone, PartialEq, Debug)]
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
    /// Something from the network layer.
    Net(NetEvent),
    /// The plain file was written with the document at this version (or writing failed,
    /// with the reason).
    Saved(Result<crdt_text::VersionVector, String>),
}

/// Something `update` asks the runtime to do.
#[derive(Clone, PartialEq, Debug)]
pub enum Effect {
    /// A local edit: append it to the store and send it to the peers.
    Submit(Op),
    /// This user's cursor or selection changed: tell the peers.
    Presence(Presence),
    /// Write the document to its plain file.
    Save,
    /// Copy text to the system clipboard (OSC 52).
    Clipboard(String),
    /// Stop the editor (the runtime flushes the store first).
    Quit,
}
