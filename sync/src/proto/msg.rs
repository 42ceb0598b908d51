//! The messages peers exchange, and the addresses they gossip.
//!
//! # Wire format (protocol version 1, ALPN `duet/sync/1`)
//!
//! One QUIC bi-stream per connection carries frames; each frame (length-prefixed by the
//! driver, at most [`MAX_FRAME_BYTES`](super::MAX_FRAME_BYTES)) holds one [`Message`] encoded
//! with postcard (varint integers, length-prefixed sequences, enum variants as a varint
//! index in declaration order). [`encode`](super::encode)/[`decode`](super::decode) implement
//! it. Variant indices are part of the format: new variants are appended only.
//!
//! | # | message | phase | meaning |
//! |---|---------|-------|---------|
//! | 0 | `Hello {version, doc, key, nonce}` | handshake | first message of both sides |
//! | 1 | `Proof {mac}` | handshake | proves knowledge of the document secret |
//! | 2 | `Goodbye {code, detail}` | any | why the sender is closing |
//! | 3 | `Sync(VersionVector)` | live | "this is what I have: send me what I lack" |
//! | 4 | `Update {update, index, count, bytes}` | live | chunk of a catch-up update |
//! | 5 | `Ops(Vec<Op>)` | live | live operations (own and forwarded) |
//! | 6 | `Ack(VersionVector)` | live | ops the sender has stored durably |
//! | 7 | `Peers(Vec<PeerAddr>)` | live | peers the sender knows (itself first) |
//! | 8 | `Presence(Option<PresenceState>)` | live | sender's cursor; `None`: hidden |
//!
//! `Hello` is variant 0 and `version` its first field in every protocol version, so a peer
//! speaking another version is recognised and told so ([`Goodbye`] with
//! [`GoodbyeCode::VersionMismatch`]) instead of failing to parse.
//!
//! **Handshake.** Each side sends `Hello` with 32 fresh random nonce bytes. On receiving the
//! other's `Hello` it checks version, document id and that `key` is the endpoint key the
//! transport authenticated, then sends `Proof { mac = blake3::keyed_hash(secret, "duet-auth-v1"
//! ‖ role ‖ doc ‖ own key ‖ other key ‖ own nonce ‖ other nonce) }` with role `D` (dialer) or
//! `A` (acceptor). A side sends nothing about the document before it has verified the other's
//! proof (constant-time comparison); a failed proof gets `Goodbye(AuthFailed)` and a close.
//!
//! **Catch-up.** Once verified, each side sends `Sync(its version)`; the other answers with
//! `Doc::encode_since(that version)` cut into `Update` chunks of at most
//! [`Limits::update_chunk_bytes`](super::Limits::update_chunk_bytes) (`update` numbers the
//! update on this connection, `index` of `count` the chunk); the receiver reassembles and
//! applies it with `Doc::apply_update`.
//!
//! **Live.** New ops (local, or received and not yet known to the peer) go out as `Ops`
//! batches of at most [`Limits::max_ops_per_message`](super::Limits::max_ops_per_message) ops;
//! long runs are split into shorter runs with identical meaning. `Ack` carries the durable
//! version; a receiver that finds ops in it that it lacks sends `Sync` (anti-entropy).

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

/// One protocol message. See the [module docs](self) for the wire format.
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
    /// The keyed blake3 hash described in the [module docs](self).
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
