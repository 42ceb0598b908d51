//! The two small files beside the history: `identity` (who this document and this peer are)
//! and `state` (peers met, and what duet last wrote to the plain file).
//!
//! # Formats (format version 1)
//!
//! ```text
//! identity   header "duet-idn" ‖ postcard(Identity) ‖ BLAKE3-32 of all before
//! state      header "duet-sta" ‖ postcard(State)    ‖ BLAKE3-32 of all before
//! ```
//!
//! Both are replaced atomically. `identity` changes only when the replica id is renewed;
//! `state` whenever a peer is remembered or the plain file is written. They are separate so
//! that frequent state updates never put the document secret at risk.

use std::net::SocketAddr;
use std::path::Path;

use crdt_text::{ReplicaId, VersionVector};
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::format::{self, FileKind, HEADER_LEN};
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

/// Contents of `identity`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The document's secret.
    pub secret: DocSecret,
    /// This peer's replica id for the document.
    pub replica: u64,
}

impl Identity {
    /// The replica id.
    pub fn replica(&self) -> ReplicaId {
        ReplicaId::from(self.replica)
    }
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
}

fn encode<T: Serialize>(kind: FileKind, doc: &DocId, value: &T) -> Result<Vec<u8>, StoreError> {
    let mut bytes = format::header(kind, doc).to_vec();
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
    /// The file has our header but its checksum or content is bad.
    Damaged(String),
}

fn decode<T: for<'de> Deserialize<'de>>(
    kind: FileKind,
    path: &Path,
    expected: Option<&DocId>,
) -> Result<MetaRead<(DocId, T)>, StoreError> {
    let Some(bytes) = format::read_if_exists(path)? else {
        return Ok(MetaRead::Missing);
    };
    let doc = format::check_header(kind, path, &bytes, expected)?;
    let Some(content) = format::unseal(&bytes) else {
        return Ok(MetaRead::Damaged("checksum mismatch".into()));
    };
    match postcard::from_bytes(&content[HEADER_LEN..]) {
        Ok(value) => Ok(MetaRead::Found((doc, value))),
        Err(e) => Ok(MetaRead::Damaged(format!("content does not decode: {e}"))),
    }
}

/// Reads `identity`. Damage here is an error: without the secret the document cannot be
/// shared, and guessing would be worse than stopping.
pub fn read_identity(path: &Path) -> Result<Option<(DocId, Identity)>, StoreError> {
    match decode(FileKind::Identity, path, None)? {
        MetaRead::Missing => Ok(None),
        MetaRead::Found(found) => Ok(Some(found)),
        MetaRead::Damaged(reason) => Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            offset: HEADER_LEN as u64,
            reason,
        }),
    }
}

/// Writes `identity` atomically.
pub fn write_identity(path: &Path, doc: &DocId, identity: &Identity) -> Result<(), StoreError> {
    format::write_atomic(path, &encode(FileKind::Identity, doc, identity)?)
}

/// Reads `state`.
pub fn read_state(path: &Path, doc: &DocId) -> Result<MetaRead<State>, StoreError> {
    Ok(match decode(FileKind::State, path, Some(doc))? {
        MetaRead::Missing => MetaRead::Missing,
        MetaRead::Found((_, state)) => MetaRead::Found(state),
        MetaRead::Damaged(reason) => MetaRead::Damaged(reason),
    })
}

/// Writes `state` atomically.
pub fn write_state(path: &Path, doc: &DocId, state: &State) -> Result<(), StoreError> {
    format::write_atomic(path, &encode(FileKind::State, doc, state)?)
}
