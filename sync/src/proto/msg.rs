//! The messages peers exchange, and the addresses they gossip.
//!
//! The wire format is specified in `PROTOCOL.md` beside this file (part of the
//! [`proto`](super) docs).

use std::net::SocketAddr;

use crdt_text::{Anchor, Op, VersionVector};
use serde::{Deserialize, Serialize};

/// An iroh endpoint's public key (its endpoint id), as raw bytes.
pub type EndpointKey = [u8; 32];

/// How to reach a peer: its endpoint key and direct socket addresses.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PeerAddr {
    /// The peer's endpoint key (what the transport authenticates).
    pub key: EndpointKey,
    /// Direct addresses it was last reachable at.
    pub addrs: Vec<SocketAddr>,
}

/// One protocol message. See `PROTOCOL.md` (the [`proto`](super) docs) for the wire format.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Message {
    /// Opens the handshake.
    Hello(Hello),
    /// Proves knowledge of the document secret.
    Proof(Proof),
    /// Tells the other side why the connection is being closed.
    Goodbye(Goodbye),
    /// The sender's version: the receiver answers with the ops the sender lacks.
    Sync(VersionVector),
    /// One chunk of a catch-up update.
    Update(UpdateChunk),
    /// Live operations.
    Ops(Vec<Op>),
    /// Everything in this version is stored durably by the sender.
    Ack(VersionVector),
    /// Peers the sender knows; its own address first.
    Peers(Vec<PeerAddr>),
    /// The sender's presence (`None`: it hides its cursor).
    Presence(Option<PresenceState>),
}

impl Message {
    /// The message's name, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello(_) => "Hello",
            Message::Proof(_) => "Proof",
            Message::Goodbye(_) => "Goodbye",
            Message::Sync(_) => "Sync",
            Message::Update(_) => "Update",
            Message::Ops(_) => "Ops",
            Message::Ack(_) => "Ack",
            Message::Peers(_) => "Peers",
            Message::Presence(_) => "Presence",
        }
    }
}

/// The first message on a connection, from both sides.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION) of the sender. Always the first field.
    pub version: u32,
    /// The document id (public: it is in the ticket).
    pub doc: [u8; 32],
    /// The sender's endpoint key; must match what the transport authenticated.
    pub key: EndpointKey,
    /// Fresh random bytes binding the proofs to this connection.
    pub nonce: [u8; 32],
}

/// Proof of knowledge of the document secret, bound to this connection.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Proof {
    /// The keyed blake3 hash of the handshake (see `PROTOCOL.md`).
    pub mac: [u8; 32],
}

/// Why a peer closes a connection.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Goodbye {
    /// Machine-readable reason.
    pub code: GoodbyeCode,
    /// Human-readable detail (at most [`MAX_GOODBYE_DETAIL`] bytes are sent).
    pub detail: String,
}

/// Longest `Goodbye::detail` sent, in bytes.
pub const MAX_GOODBYE_DETAIL: usize = 256;

/// Machine-readable reasons in [`Goodbye`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum GoodbyeCode {
    /// The sender speaks another protocol version (the one given).
    VersionMismatch {
        /// The sender's protocol version.
        supported: u32,
    },
    /// The sender has another document open.
    WrongDocument,
    /// The receiver's proof did not verify: it does not know the document secret.
    AuthFailed,
    /// Another connection between the same two peers is kept instead of this one.
    Duplicate,
    /// The receiver broke the protocol or a limit (detail says which).
    Violation,
    /// The sender is shutting down.
    Shutdown,
}

/// One chunk of a catch-up update (`Doc::encode_since` output).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct UpdateChunk {
    /// Which update of this connection the chunk belongs to (counts up from 0).
    pub update: u32,
    /// Position of this chunk, `0..count`.
    pub index: u32,
    /// Number of chunks in the update.
    pub count: u32,
    /// The chunk's bytes.
    #[serde(with = "serde_bytes_compat")]
    pub bytes: Vec<u8>,
}

/// A peer's presence: who it is and where its cursor is. Ephemeral: never stored.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PresenceState {
    /// Display name (at most [`Limits::max_name_chars`](super::Limits::max_name_chars)).
    pub name: String,
    /// Colour as `0xRRGGBB`.
    pub color: u32,
    /// Cursor position, valid on every replica.
    pub cursor: Anchor,
    /// Selection as (anchor, head), if any.
    pub selection: Option<(Anchor, Anchor)>,
}

/// Byte vectors as one postcard byte string (not a sequence of varints).
mod serde_bytes_compat {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let bytes: &[u8] = <&[u8]>::deserialize(d)?;
        Ok(bytes.to_vec())
    }
}
