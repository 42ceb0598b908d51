//! What goes into and comes out of [`Peer::handle`](super::Peer::handle).

use std::net::SocketAddr;

use crdt_text::{ApplyError, Op, VersionVector};

use super::{EndpointKey, Message, PeerAddr, PresenceState, ProtoError, WireError};

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

/// Something that happened, fed to [`Peer::handle`](super::Peer::handle).
#[derive(Clone, Debug)]
pub enum Input {
    /// An op made by the local editor's replica (same `ReplicaId` as the peer's document).
    Local(Op),
    /// A connection is open (transport-authenticated as `remote`); `dialer`: we opened it.
    Connected {
        /// The driver's id for it.
        conn: ConnId,
        /// The remote endpoint key, as authenticated by the transport.
        remote: EndpointKey,
        /// Whether we dialed (after an [`Output::Dial`]) rather than accepted.
        dialer: bool,
    },
    /// A dial requested by [`Output::Dial`] failed before a connection opened.
    DialFailed {
        /// Whom we dialed.
        remote: EndpointKey,
        /// Why (for logs).
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
    /// A connection closed (by either side, or lost).
    Disconnected {
        /// The connection.
        conn: ConnId,
    },
    /// The store has durably saved every op in this version.
    Durable(VersionVector),
    /// Time passed; call at [`Peer::poll_timeout`](super::Peer::poll_timeout) at the latest.
    Tick,
    /// Our presence changed (`None`: hide it).
    SetPresence(Option<PresenceState>),
    /// A peer to connect to (from a ticket or the store's known peers).
    AddPeer(PeerAddr),
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
    /// Close `conn` after sending what was queued before (log `error`). The peer has
    /// forgotten it: a later `Disconnected` for it is ignored.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        error: ProtoError,
    },
    /// Open a connection to this peer (then report `Connected { dialer: true }` or
    /// `DialFailed`).
    Dial(PeerAddr),
    /// Append these ops to the store (in order), then report `Durable` once synced.
    Persist(Vec<Op>),
    /// Save this peer in the store's known peers (it proved it knows the secret).
    RememberPeer(PeerAddr),
    /// Tell the UI.
    Event(Event),
}

/// News for the UI.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Remote ops were applied, in causal order: the editor applies the same ops to its own
    /// replica, which yields the patches for *its* text (the peer's replica may not have the
    /// editor's latest local ops yet, so its positions could differ).
    Remote(Vec<Op>),
    /// A peer completed the handshake (first connection to it).
    PeerJoined {
        /// Its key.
        peer: EndpointKey,
    },
    /// The last connection to a peer closed.
    PeerLeft {
        /// Its key.
        peer: EndpointKey,
        /// Why, if it was an error.
        error: Option<ProtoError>,
    },
    /// A connection failed or was refused before the peer joined (bad secret, version…).
    Rejected {
        /// The remote key.
        peer: EndpointKey,
        /// Why.
        error: ProtoError,
    },
    /// A peer's presence changed (`None`: gone or hidden).
    Presence {
        /// Its key.
        peer: EndpointKey,
        /// Its presence.
        presence: Option<PresenceState>,
    },
    /// The sync state changed.
    Status(SyncStatus),
    /// A local op was refused by the document (a bug in the caller; nothing was sent).
    LocalRejected(ApplyError),
}

/// How far the local document is from being safe and shared.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SyncStatus {
    /// Peers with a verified connection.
    pub connected: usize,
    /// Local ops (counters) not yet durable in our store.
    pub unsaved: u64,
    /// Local ops (counters) not yet durably stored by any peer.
    pub unacknowledged: u64,
    /// Received ops waiting for missing dependencies.
    pub pending: usize,
    /// A catch-up update is being received.
    pub catching_up: bool,
}
