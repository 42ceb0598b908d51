//! What goes into and comes out of [`Peer::handle`](super::Peer::handle).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crdt_text::{Doc, Op, VersionVector};

use super::{Message, PeerAddr, PresenceState, ProtoError, WireError};
use crate::ids::{DocId, PeerId};

/// Milliseconds on the driver's monotonic clock (e.g. since it started). Only differences
/// matter; the simulator uses virtual time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// `self + ms`, saturating.
    pub fn plus(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub fn since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// A connection, numbered by the driver; never reused within a [`Peer`](super::Peer)'s life.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ConnId(pub u64);

/// The documents a [`Peer`](super::Peer) syncs, lent to it for one `handle` call. The peer
/// never keeps a copy: the caller owns the one replica of each document.
pub trait Docs {
    /// The document `id`, if the caller has it.
    fn get(&mut self, id: &DocId) -> Option<&mut Doc>;
}

impl Docs for BTreeMap<DocId, Doc> {
    fn get(&mut self, id: &DocId) -> Option<&mut Doc> {
        self.get_mut(id)
    }
}

/// One document lent to the peer: what an editor with one open file passes.
#[derive(Debug)]
pub struct OneDoc<'a> {
    /// Its id.
    pub id: DocId,
    /// The replica.
    pub doc: &'a mut Doc,
}

impl Docs for OneDoc<'_> {
    fn get(&mut self, id: &DocId) -> Option<&mut Doc> {
        (*id == self.id).then_some(&mut *self.doc)
    }
}

/// Something that happened, fed to [`Peer::handle`](super::Peer::handle).
#[derive(Clone, Debug)]
pub enum Input {
    /// Ops the local user made, already applied to the document (in the order made).
    Local {
        /// The document.
        doc: DocId,
        /// The ops.
        ops: Vec<Op>,
    },
    /// A connection is open (transport-authenticated as `remote`); `dialer`: we opened it.
    Connected {
        /// The driver's id for it.
        conn: ConnId,
        /// The remote's id, as authenticated by the transport.
        remote: PeerId,
        /// The remote's socket address, if it is a direct one.
        addr: Option<SocketAddr>,
        /// Whether we dialed (after an [`Output::Dial`]) rather than accepted.
        dialer: bool,
    },
    /// A dial requested by [`Output::Dial`] failed before a connection opened.
    DialFailed {
        /// Whom we dialed.
        remote: PeerId,
        /// Why, in words for the user.
        error: String,
    },
    /// A message arrived on a connection.
    Received {
        /// The connection.
        conn: ConnId,
        /// The decoded message.
        msg: Message,
    },
    /// A frame on a connection did not decode (or was too large to read).
    Malformed {
        /// The connection.
        conn: ConnId,
        /// What was wrong.
        error: WireError,
    },
    /// More than [`Limits::max_queued_bytes_per_peer`](super::Limits) wait to be sent on a
    /// connection: the remote stopped reading.
    Stalled {
        /// The connection.
        conn: ConnId,
        /// Bytes queued.
        queued: usize,
    },
    /// A connection closed (by either side, or lost).
    Disconnected {
        /// The connection.
        conn: ConnId,
    },
    /// The store has durably saved every op of the document in this version.
    Durable {
        /// The document.
        doc: DocId,
        /// What is durable.
        version: VersionVector,
    },
    /// Time passed; call at [`Peer::poll_timeout`](super::Peer::poll_timeout) at the latest.
    Tick,
    /// Our presence in a document changed (`None`: hide it).
    SetPresence {
        /// The document.
        doc: DocId,
        /// Our name, colour and cursor.
        presence: Option<PresenceState>,
    },
    /// A peer of a document to connect to (from a ticket or the store's known peers).
    AddPeer {
        /// The document.
        doc: DocId,
        /// The peer.
        addr: PeerAddr,
        /// The name it was last seen with.
        name: Option<String>,
    },
    /// Send bytes of the application that owns `doc` to `peer` (on the connection the
    /// document is live on with it; dropped if there is none).
    App {
        /// The document.
        doc: DocId,
        /// To whom.
        peer: PeerId,
        /// The bytes (they must fit a frame).
        bytes: Vec<u8>,
    },
    /// Our own direct addresses changed.
    LocalAddrs(Vec<SocketAddr>),
    /// Say goodbye on every connection; the driver then closes them.
    Shutdown,
}

/// Something the driver must do, returned by [`Peer::handle`](super::Peer::handle). Perform
/// them in order.
#[derive(Clone, Debug)]
pub enum Output {
    /// Send `msg` on `conn` (encode with [`encode`](super::encode), one frame).
    Send {
        /// The connection.
        conn: ConnId,
        /// The message.
        msg: Message,
    },
    /// Close `conn` after sending what was queued before. The peer has forgotten it: a later
    /// `Disconnected` for it is ignored.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        error: ProtoError,
    },
    /// Open a connection to this peer (then report `Connected { dialer: true }` or
    /// `DialFailed`).
    Dial(PeerAddr),
    /// Append these ops of a document to its store (in order), then report `Durable`.
    Persist {
        /// The document.
        doc: DocId,
        /// The ops.
        ops: Vec<Op>,
    },
    /// Save this peer among the document's known peers (it proved it knows the secret).
    RememberPeer {
        /// The document.
        doc: DocId,
        /// Its id and every address known for it.
        addr: PeerAddr,
        /// The name it announced, if any.
        name: Option<String>,
    },
    /// Tell the user.
    Event(Event),
    /// Bytes the application of `peer` sent for `doc` ([`Input::App`] on its side).
    App {
        /// The document.
        doc: DocId,
        /// Who sent them.
        peer: PeerId,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// News for the user, in the order it happened.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A peer's ops were applied to the document (it changed under the user's cursor).
    Remote {
        /// The document.
        doc: DocId,
        /// Who sent them.
        from: PeerId,
        /// How many ops.
        ops: usize,
    },
    /// A peer proved it knows the document and is now connected for it.
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
    /// A peer was refused for the document, or refused us (wrong secret, another version…).
    Refused {
        /// The document, if the refusal concerns one.
        doc: Option<DocId>,
        /// Who.
        peer: PeerId,
        /// Why.
        error: ProtoError,
    },
    /// A known peer cannot be reached (reported once until it is reached again; dials go on
    /// with backoff).
    Unreachable {
        /// Who.
        peer: PeerId,
        /// Why the last dial failed.
        error: String,
    },
    /// A peer's presence in the document changed (`None`: gone or hidden).
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
    /// A peer has the same version of the document but another text: the replicas diverged
    /// (two replicas wrote under one replica id). Nothing is merged or dropped; the user must
    /// be told.
    Diverged {
        /// The document.
        doc: DocId,
        /// Who.
        peer: PeerId,
        /// The version both claim.
        version: VersionVector,
        /// Our text's digest.
        ours: [u8; 32],
        /// Theirs.
        theirs: [u8; 32],
    },
}

/// How a peer stopped being connected for a document.
#[derive(Clone, Debug, PartialEq)]
pub enum Departure {
    /// It said goodbye (quit, or closed the document).
    Quit,
    /// It restarted: a new connection from it replaced the old one.
    Restarted,
    /// The connection was lost (network, crash) without a goodbye.
    Lost,
    /// The connection was closed because of this error (by either side).
    Error(ProtoError),
}

/// How far one document is from being safe and shared.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SyncStatus {
    /// Peers connected for the document (verified).
    pub connected: usize,
    /// Local ops (counters) not yet durable in our store.
    pub unsaved: u64,
    /// Ops (counters) no peer has acknowledged storing; `None` while the document has no known
    /// peer (it was never shared: there is no one to send to).
    pub unsent: Option<u64>,
    /// Received ops waiting for missing dependencies.
    pub pending: usize,
    /// A catch-up update is being received.
    pub catching_up: bool,
    /// Every connected peer confirmed (by digest) that it has exactly our text.
    pub in_sync: bool,
    /// Connected peers whose text differs at an equal version (see [`Event::Diverged`]).
    pub diverged: usize,
}

/// What the peers panel shows about one peer of a document.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerInfo {
    /// Its id and known addresses.
    pub addr: PeerAddr,
    /// The name it announced (now or when last seen).
    pub name: Option<String>,
    /// The connection carrying the document, while connected.
    pub conn: Option<ConnId>,
    /// Its presence, while connected and shown.
    pub presence: Option<PresenceState>,
    /// Its text differs from ours at an equal version.
    pub diverged: bool,
}
