//! The snapshot: the whole document (`Doc::encode`) as of the last compaction, so opening
//! decodes one blob instead of replaying the history op by op.
//!
//! # Format (`snapshot`, format version 1)
//!
//! ```text
//! header     44 bytes   magic "duet-snp", version, document id (see `format`)
//! len        u64 little-endian: length of `doc`
//! doc        Doc::encode() (itself versioned and compressed by crdt-text)
//! checksum   32 bytes: BLAKE3 of everything above
//! ```
//!
//! Replaced only atomically (temp file, fsync, rename, directory fsync). A snapshot whose
//! header is not ours is an error; one whose checksum or length fails (a flipped bit, a
//! truncated copy) is damaged: the caller moves it aside and loads the log tail alone.

use std::path::Path;

use super::StoreError;
use super::format::{self, CHECKSUM_LEN, FileKind, HEADER_LEN};
use crate::ids::DocId;

/// What was found at the snapshot path.
#[derive(Debug)]
pub enum SnapshotRead {
    /// No snapshot yet (a store that was never compacted).
    Missing,
    /// The encoded document.
    Found(Vec<u8>),
    /// The file is ours but damaged; the reason says how.
    Damaged(String),
}

/// Encodes a snapshot file holding `encoded` (the output of `Doc::encode`).
pub fn encode(doc: &DocId, encoded: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + 8 + encoded.len() + CHECKSUM_LEN);
    bytes.extend_from_slice(&format::header(FileKind::Snapshot, doc));
    bytes.extend_from_slice(&(encoded.len() as u64).to_le_bytes());
    bytes.extend_from_slice(encoded);
    format::seal(bytes)
}

/// Reads and checks the snapshot at `path`.
pub fn read(path: &Path, doc: &DocId) -> Result<SnapshotRead, StoreError> {
    let Some(bytes) = format::read_if_exists(path)? else {
        return Ok(SnapshotRead::Missing);
    };
    parse(path, doc, bytes)
}

fn parse(path: &Path, doc: &DocId, mut bytes: Vec<u8>) -> Result<SnapshotRead, StoreError> {
    let min = HEADER_LEN + 8 + CHECKSUM_LEN;
    if bytes.len() < min {
        // Too short to hold a header: truncated if what is there is the start of ours.
        let magic = b"duet-snp";
        let n = bytes.len().min(magic.len());
        if bytes[..n] == magic[..n] {
            return Ok(SnapshotRead::Damaged(format!(
                "truncated to {} bytes",
                bytes.len()
            )));
        }
    }
    format::check_header(FileKind::Snapshot, path, &bytes, Some(doc))?;
    if bytes.len() < min {
        return Ok(SnapshotRead::Damaged(format!(
            "truncated to {} bytes",
            bytes.len()
        )));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[HEADER_LEN..HEADER_LEN + 8]);
    let len = u64::from_le_bytes(len);
    let expected = (min as u64).checked_add(len);
    if expected != Some(bytes.len() as u64) {
        return Ok(SnapshotRead::Damaged(format!(
            "holds {} bytes but its header announces {}",
            bytes.len(),
            expected.map_or_else(|| "an impossible length".to_string(), |e| e.to_string())
        )));
    }
    if format::unseal(&bytes).is_none() {
        return Ok(SnapshotRead::Damaged("checksum mismatch".into()));
    }
    bytes.truncate(bytes.len() - CHECKSUM_LEN);
    bytes.drain(..HEADER_LEN + 8);
    Ok(SnapshotRead::Found(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(doc: &DocId, bytes: Vec<u8>) -> Result<SnapshotRead, StoreError> {
        parse(Path::new("snapshot"), doc, bytes)
    }

    #[test]
    fn snapshot_round_trips() {
        let doc = DocId::random();
        let bytes = encode(&doc, b"encoded doc");
        assert!(matches!(parsed(&doc, bytes), Ok(SnapshotRead::Found(b)) if b == b"encoded doc"));
    }

    #[test]
    fn every_truncation_and_bit_flip_is_damage_or_a_header_error() {
        let doc = DocId::random();
        let bytes = encode(&doc, b"some encoded document bytes");
        for cut in 0..bytes.len() {
            let r = parsed(&doc, bytes[..cut].to_vec());
            assert!(
                matches!(r, Ok(SnapshotRead::Damaged(_))),
                "cut {cut}: {r:?}"
            );
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            match parsed(&doc, bad) {
                Ok(SnapshotRead::Damaged(_)) => assert!(i >= HEADER_LEN || (10..12).contains(&i)),
                Err(_) => assert!(i < HEADER_LEN, "flip {i} gave a header error"),
                Ok(SnapshotRead::Found(_)) | Ok(SnapshotRead::Missing) => {
                    panic!("flip at {i} undetected")
                }
            }
        }
    }

    #[test]
    fn another_documents_snapshot_is_refused() {
        let bytes = encode(&DocId::random(), b"x");
        assert!(matches!(
            parsed(&DocId::random(), bytes),
            Err(StoreError::WrongDocument { .. })
        ));
    }

    #[test]
    fn garbage_is_not_a_snapshot() {
        let r = parsed(&DocId::random(), b"# my notes\nnot a snapshot at all, just text..........................................".to_vec());
        assert!(matches!(r, Err(StoreError::BadHeader { .. })));
    }
}
