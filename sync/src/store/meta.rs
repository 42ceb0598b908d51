//! The two small files beside the history: `identity` (who this document and this peer are,
//! and where the store lives) and `state` (peers met, and what duet last wrote to the plain
//! file).
//!
//! # Formats
//!
//! ```text
//! identity   header "duet-idn" ‖ postcard(Identity) ‖ BLAKE3-32 of all before
//! state      header "duet-sta" ‖ postcard(State)    ‖ BLAKE3-32 of all before
//! ```
//!
//! - `Identity` (version 3): document secret, replica id, endpoint key, [`Home`]. Versions 1
//!   and 2 held the secret and the replica id only ([`StoredIdentity::Legacy`]); such a store
//!   is upgraded on open (see `open.rs`).
//! - `State` (version 3): known peers, the plain file as duet last left it, the port the
//!   endpoint last bound, and the ops peers are known to have. Versions 1 and 2 held the
//!   first two only ([`LegacyState`]). Since version 3 every store has one (written at
//!   creation), so a missing `state` is reported.
//!
//! Both are replaced atomically and are `0600`. `identity` changes only when the replica id
//! and endpoint key are renewed or the store moved; `state` whenever a peer is remembered or
//! the plain file is written. They are separate so that frequent state updates never put the
//! secrets at risk.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use crdt_text::{ReplicaId, VersionVector};
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::format::{self, Sealed};
use super::header::{self, FileKind};
use super::home::Home;
use super::plain::LineEnding;
use crate::ids::{DocId, DocSecret};

/// A peer this document has been shared with, remembered so it can be dialled again without a
/// new ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownPeer {
    /// The peer's iroh endpoint id (its public key).
    pub endpoint_id: [u8; 32],
    /// Direct addresses it was last reachable at.
    pub addrs: Vec<SocketAddr>,
    /// The name it announced, if any.
    pub name: Option<String>,
    /// When it was last seen, in seconds since the Unix epoch.
    pub last_seen_unix: u64,
}

/// The secret key of the endpoint that whoever opens this store runs as. Its `Debug` output
/// is redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointKey(pub [u8; 32]);

impl EndpointKey {
    /// A fresh random key.
    pub fn random() -> Self {
        EndpointKey(rand::random())
    }
}

impl fmt::Debug for EndpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EndpointKey(<redacted>)")
    }
}

/// Contents of `identity`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The document's secret.
    pub secret: DocSecret,
    /// This peer's replica id for the document.
    pub replica: u64,
    /// The endpoint key of this store; renewed with the replica id when the store is copied.
    pub endpoint: EndpointKey,
    /// Where the store lives.
    pub home: Home,
}

impl Identity {
    /// The replica id.
    pub fn replica(&self) -> ReplicaId {
        ReplicaId::from(self.replica)
    }
}

/// Contents of `identity` in format versions 1 and 2.
#[derive(Deserialize)]
struct LegacyIdentity {
    secret: DocSecret,
    replica: u64,
}

/// An identity as found on disk.
#[derive(Debug)]
pub enum StoredIdentity {
    /// Written by this format version.
    Current(Identity),
    /// Written before version 3: no endpoint key, no record of where the store lives.
    Legacy {
        /// The document's secret.
        secret: DocSecret,
        /// The replica id used so far.
        replica: u64,
    },
}

/// What duet last wrote to (or read from) the plain file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlainState {
    /// BLAKE3 of the file's bytes exactly as duet wrote or imported them. Another hash on
    /// disk means another program changed the file.
    pub hash: [u8; 32],
    /// The file's line endings (the document itself always uses `\n`).
    pub line_ending: LineEnding,
    /// Whether the file starts with a UTF-8 byte order mark.
    pub bom: bool,
    /// The document version whose text the file holds.
    pub exported: VersionVector,
}

/// Contents of `state`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Peers met, most recently seen first.
    pub peers: Vec<KnownPeer>,
    /// The plain file as duet last left it; `None` before the first import or export.
    pub plain: Option<PlainState>,
    /// The UDP port the endpoint last bound: bound again when free, so that peers that
    /// remember this store's addresses find it after everyone restarted.
    pub port: Option<u16>,
    /// Ops peers are known to have (they acknowledged storing them, or sent them): what is
    /// not in it counts as unsent. Recorded at close.
    pub acked: VersionVector,
}

/// Contents of `state` in format versions 1 and 2.
#[derive(Deserialize)]
struct LegacyState {
    peers: Vec<KnownPeer>,
    plain: Option<PlainState>,
}

fn encode<T: Serialize>(kind: FileKind, doc: &DocId, value: &T) -> Result<Vec<u8>, StoreError> {
    let mut bytes = header::header(kind, doc).to_vec();
    bytes.extend_from_slice(&postcard::to_stdvec(value)?);
    Ok(format::seal(bytes))
}

/// Outcome of reading a sealed meta file.
#[derive(Debug)]
pub enum MetaRead<T> {
    /// The file does not exist.
    Missing,
    /// The file checks out.
    Found(T),
    /// The file is ours but damaged; the reason says how.
    Damaged(String),
}

/// Reads `identity`. Damage here is an error: without the secret the document cannot be
/// shared, and guessing would be worse than stopping.
pub fn read_identity(path: &Path) -> Result<Option<(DocId, StoredIdentity)>, StoreError> {
    let damaged = |reason: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let (header, body) = match format::read_sealed(FileKind::Identity, path, None)? {
        Sealed::Missing => return Ok(None),
        Sealed::Damaged(reason) => return Err(damaged(reason)),
        Sealed::Found { header, body, .. } => (header, body),
    };
    let stored = if header.version >= 3 {
        postcard::from_bytes(&body).map(StoredIdentity::Current)
    } else {
        postcard::from_bytes(&body).map(|l: LegacyIdentity| StoredIdentity::Legacy {
            secret: l.secret,
            replica: l.replica,
        })
    };
    stored
        .map(|s| Some((header.doc, s)))
        .map_err(|e| damaged(format!("its content does not decode: {e}")))
}

/// Writes `identity` atomically.
pub fn write_identity(path: &Path, doc: &DocId, identity: &Identity) -> Result<(), StoreError> {
    format::write_atomic(path, &encode(FileKind::Identity, doc, identity)?)
}

/// Reads `state`.
pub fn read_state(path: &Path, doc: &DocId) -> Result<MetaRead<State>, StoreError> {
    Ok(
        match format::read_sealed(FileKind::State, path, Some(doc))? {
            Sealed::Missing => MetaRead::Missing,
            Sealed::Damaged(reason) => MetaRead::Damaged(reason),
            Sealed::Found { header, body, .. } => {
                let state = if header.version >= 3 {
                    postcard::from_bytes(&body)
                } else {
                    postcard::from_bytes(&body).map(|l: LegacyState| State {
                        peers: l.peers,
                        plain: l.plain,
                        ..State::default()
                    })
                };
                match state {
                    Ok(state) => MetaRead::Found(state),
                    Err(e) => MetaRead::Damaged(format!("its content does not decode: {e}")),
                }
            }
        },
    )
}

/// Writes `state` atomically.
pub fn write_state(path: &Path, doc: &DocId, state: &State) -> Result<(), StoreError> {
    format::write_atomic(path, &encode(FileKind::State, doc, state)?)
}
