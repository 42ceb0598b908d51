//! The messages peers exchange, and the addresses they gossip.
//!
//! The wire format is specified in `PROTOCOL.md` beside this file (part of the
//! [`proto`](super) docs).

use std::net::SocketAddr;

use crdt_text::{Anchor, Op, VersionVector};
use serde::{Deserialize, Serialize};

use crate::ids::{DocId, PeerId};

/// How to reach a peer: its id and direct socket addresses.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PeerAddr {
    /// The peer's id (the endpoint key the transport authenticates).
    pub id: PeerId,
    /// Direct addresses it was last reachable at, most recent first.
    pub addrs: Vec<SocketAddr>,
}

/// One frame's message. Connection-level messages open and close the connection and the
/// documents on it; [`Message::Doc`] carries one document's traffic.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Message {
    /// Opens the connection (both sides, first).
    Hello(Hello),
    /// Why the sender closes the whole connection.
    Goodbye(Goodbye),
    /// Opens one document on this connection, proving the sender knows its secret.
    Join(Join),
    /// Closes one document on this connection (or refuses to open it), and why.
    Leave(Leave),
    /// Traffic of the document the sender numbered `chan` in its [`Join`].
    Doc {
        /// The sender's number for the document.
        chan: u32,
        /// The message.
        msg: DocMessage,
    },
}

/// One document's traffic on a connection.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum DocMessage {
    /// The sender's version: the receiver answers with the ops the sender lacks.
    Sync(VersionVector),
    /// One chunk of a catch-up update.
    Update(UpdateChunk),
    /// Live operations.
    Ops(Vec<Op>),
    /// Everything in this version is stored durably by the sender.
    Ack(VersionVector),
    /// Peers of the document the sender knows; its own address first.
    Peers(Vec<PeerAddr>),
    /// The sender's presence (`None`: it hides its cursor).
    Presence(Option<PresenceState>),
    /// A digest of the sender's text at this version: equal versions must have equal texts.
    Digest(Digest),
    /// A message of the document's gossip swarm (big rooms, see `room.rs`).
    Gossip(super::room::GossipMessage),
    /// Bytes for the application that owns the document (a shared folder's catch-up
    /// summary), handed to it as they are ([`Output::App`](super::Output::App)).
    App(#[serde(with = "serde_bytes_compat")] Vec<u8>),
}

impl Message {
    /// The message's name, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello(_) => "Hello",
            Message::Goodbye(_) => "Goodbye",
            Message::Join(_) => "Join",
            Message::Leave(_) => "Leave",
            Message::Doc { msg, .. } => msg.name(),
        }
    }
}

impl DocMessage {
    /// The message's name, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            DocMessage::Sync(_) => "Sync",
            DocMessage::Update(_) => "Update",
            DocMessage::Ops(_) => "Ops",
            DocMessage::Ack(_) => "Ack",
            DocMessage::Peers(_) => "Peers",
            DocMessage::Presence(_) => "Presence",
            DocMessage::Digest(_) => "Digest",
            DocMessage::Gossip(_) => "Gossip",
            DocMessage::App(_) => "App",
        }
    }
}

/// The first message on a connection, from both sides.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION) of the sender. Always the first field.
    pub version: u32,
    /// The sender's id; must match what the transport authenticated.
    pub key: PeerId,
    /// Fresh random bytes binding the document proofs to this connection.
    pub nonce: [u8; 32],
    /// Random per run of the sender's process: a connection whose remote session differs
    /// from an older connection's comes from a restarted peer and replaces it at once.
    pub session: u64,
    /// The name the sender's user goes by (at most
    /// [`Limits::max_name_chars`](super::Limits::max_name_chars); may be empty).
    pub name: String,
}

/// Opens a document on a connection.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Join {
    /// The document (public: it is in the ticket).
    pub doc: DocId,
    /// The number the sender gives the document in its [`Message::Doc`] frames.
    pub chan: u32,
    /// The keyed blake3 hash of the connection's parameters under the document secret (see
    /// `PROTOCOL.md`).
    pub proof: [u8; 32],
}

/// Closes (or refuses) a document on a connection.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Leave {
    /// The document.
    pub doc: DocId,
    /// Machine-readable reason.
    pub code: GoodbyeCode,
    /// Human-readable detail (at most [`MAX_GOODBYE_DETAIL`] bytes are sent).
    pub detail: String,
}

/// Why a peer closes a connection.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Goodbye {
    /// Machine-readable reason.
    pub code: GoodbyeCode,
    /// Human-readable detail (at most [`MAX_GOODBYE_DETAIL`] bytes are sent).
    pub detail: String,
}

/// Longest `Goodbye::detail` or `Leave::detail` sent, in bytes.
pub const MAX_GOODBYE_DETAIL: usize = 256;

/// Machine-readable reasons in [`Goodbye`] and [`Leave`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum GoodbyeCode {
    /// The sender speaks another protocol version (the one given).
    VersionMismatch {
        /// The sender's protocol version.
        supported: u32,
    },
    /// The sender does not have this document open.
    UnknownDocument,
    /// The receiver's proof did not verify: it does not know the document secret.
    AuthFailed,
    /// Another connection between the same two peers is kept instead of this one.
    Duplicate,
    /// The receiver broke the protocol or a limit (detail says which).
    Violation,
    /// The sender is shutting down (or closing the document).
    Shutdown,
    /// A newer connection from the same peer (it restarted) replaces this one.
    Superseded,
    /// The sender has too many connections open.
    TooManyConnections,
    /// The receiver did not read what the sender sent.
    TooSlow,
    /// The connection carried no document for too long.
    Idle,
}

/// One chunk of a catch-up update (`Doc::encode_since` output).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct UpdateChunk {
    /// Which update of this document on this connection the chunk belongs to (counts up).
    pub update: u32,
    /// Position of this chunk, `0..count`.
    pub index: u32,
    /// Number of chunks in the update.
    pub count: u32,
    /// The chunk's bytes.
    #[serde(with = "serde_bytes_compat")]
    pub bytes: Vec<u8>,
}

/// A digest of a document's text at a version (see [`DocMessage::Digest`]).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Digest {
    /// The version the text is at.
    pub version: VersionVector,
    /// BLAKE3 of the text's UTF-8 bytes.
    pub hash: [u8; 32],
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
    /// What the sender's screen shows, if it has one: a follower scrolls with it (protocol
    /// version 5).
    pub view: Option<Viewport>,
}

/// The part of the document a peer's screen shows.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Viewport {
    /// The first character of the top line.
    pub top: Anchor,
    /// How many screen rows of text it shows.
    pub rows: u32,
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
