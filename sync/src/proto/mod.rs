//! The peer protocol as a pure state machine (sans-IO).
//!
//! [`Peer`] owns the authoritative replica of one document and is driven by
//! [`Peer::handle`]: inputs are received messages, local ops, connection changes, store
//! durability and timer ticks, each with the current time; outputs are messages to send,
//! connections to close or open, ops to persist and events for the UI. The iroh/tokio driver
//! only moves bytes and time; everything that decides is here, and is tested deterministically
//! under a simulated network (`proto::sim`, feature `test-utils`).
//!
//! # Driving a peer
//!
//! 1. Load the store; build a [`Config`] (doc id, secret, own endpoint key and addresses, a
//!    random seed) and `Peer::new(config, doc)`. Feed [`Input::AddPeer`] for the ticket host and
//!    every known peer of the store.
//! 2. Feed every event as an [`Input`] with the current [`Millis`]; inputs that arrive
//!    together may go through [`Peer::handle_all`] (their outgoing ops are coalesced). Feed
//!    [`Input::Tick`] no later than [`Peer::poll_timeout`].
//! 3. Perform each [`Output`] in order: `Send` (encode with [`encode`], write one frame),
//!    `Close`, `Dial`, `Persist` (append to the store; after fsync feed [`Input::Durable`]),
//!    `RememberPeer` (store it), `Event` (to the UI).
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
#[cfg(any(test, feature = "test-utils"))]
pub mod sim;
mod split;
#[cfg(test)]
mod tests;
mod wire;

pub use error::ProtoError;
pub use io::{ConnId, Event, Input, Millis, Output, SyncStatus};
pub use limits::{Limits, MAX_FRAME_BYTES, Timers};
pub use msg::{
    EndpointKey, Goodbye, GoodbyeCode, Hello, MAX_GOODBYE_DETAIL, Message, PeerAddr, PresenceState,
    Proof, UpdateChunk,
};
pub use peer::{Config, Peer, PeerInfo};
pub use wire::{WireError, decode, encode};

/// The QUIC ALPN of this protocol. Its suffix changes only if the handshake itself does: the
/// `Hello` of every version parses, so a peer of another [`PROTOCOL_VERSION`] is told why it
/// cannot sync instead of failing to connect.
pub const ALPN: &[u8] = b"duet/sync/1";

/// The protocol version sent in [`Hello`]; peers must speak the same one.
/// Version 2: ops travel in crdt-text's compact byte-string form.
pub const PROTOCOL_VERSION: u32 = 2;
