//! The peer protocol as a pure state machine (sans-IO).
//!
//! [`Peer`] is one endpoint's protocol: its connections and every document it syncs. It
//! holds no copy of any document: the caller owns the one replica of each and lends them to
//! [`Peer::handle`] (through [`Docs`]) together with an [`Input`] — a received message, the
//! user's own ops (already applied), a connection change, store durability, a timer tick —
//! and the current time. Outputs are messages to send, connections to close or open, ops to
//! persist and [`Event`]s for the user. The transport (`net`) only moves bytes; everything
//! that decides is here, and is tested deterministically under a simulated network
//! (`proto::sim`, feature `test-utils`).
//!
//! # Driving a peer
//!
//! 1. Build a [`Config`] (own id and addresses, a random seed) and `Peer::new(config)`; for
//!    each document loaded from its store, [`Peer::add_doc`] and feed [`Input::AddPeer`] for
//!    its ticket host and known peers.
//! 2. Feed every event as an [`Input`] with the current [`Millis`]; inputs that arrive
//!    together may go through [`Peer::handle_all`] (their outgoing ops are coalesced). Feed
//!    [`Input::Tick`] no later than [`Peer::poll_timeout`].
//! 3. Perform each [`Output`] in order: `Send` (encode with [`encode`], write one frame),
//!    `Close`, `Dial`, `Persist` (append to the store; after fsync feed [`Input::Durable`]),
//!    `RememberPeer` (store it), `Event` (to the user).
#![doc = ""]
#![doc = include_str!("PROTOCOL.md")]

mod auth;
mod conn;
mod error;
mod io;
mod limits;
mod mesh;
mod msg;
mod peer;
mod room;
#[cfg(any(test, feature = "test-utils"))]
pub mod sim;
mod split;
#[cfg(test)]
mod tests;
mod wire;

pub use error::ProtoError;
pub use io::{ConnId, Departure, Docs, Event, Input, Millis, OneDoc, Output, PeerInfo, SyncStatus};
pub use limits::{Limits, MAX_FRAME_BYTES, Timers};
pub use msg::{
    Digest, DocMessage, Goodbye, GoodbyeCode, Hello, Join, Leave, MAX_GOODBYE_DETAIL, Message,
    PeerAddr, PresenceState, UpdateChunk, Viewport,
};
pub use peer::{Config, DocConfig, Peer};
pub use wire::{WireError, decode, encode};

/// The QUIC ALPN of this protocol. Its suffix changes only if the handshake itself does: the
/// `Hello` of every version parses, so a peer of another [`PROTOCOL_VERSION`] is told why it
/// cannot sync instead of failing to connect.
pub const ALPN: &[u8] = b"duet/sync/1";

/// The protocol version sent in [`Hello`]; peers must speak the same one.
/// Version 2: ops travel in crdt-text's compact byte-string form.
/// Version 3: one connection carries several documents (`Join`/`Leave`, `Doc` frames), a
/// process session in `Hello`, and text digests.
/// Version 4: ops may carry recorded history (their replica's author, a time stamp: crdt-text's
/// op form 2) and catch-up updates are crdt-text format 3.
/// Version 5: presence carries the top of the sender's view, so a follower scrolls with it.
pub const PROTOCOL_VERSION: u32 = 5;
