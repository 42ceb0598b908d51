//! The snapshot: the whole document (`Doc::encode`) as of the last compaction, so opening
//! decodes one blob instead of replaying the history op by op.
//!
//! # Format (`snapshot`, the same in every format version but for the header)
//!
//! ```text
//! header     magic "duet-snp", version, document id, check (see `header.rs`)
//! len        u64 little-endian: length of `doc`
//! doc        Doc::encode() (itself versioned and compressed by crdt-text)
//! checksum   32 bytes: BLAKE3 of everything above
//! ```
//!
//! Replaced only atomically (temp file, fsync, rename, directory fsync). A snapshot that is
//! certainly another document's or a newer format's is an error; one whose header, length or
//! checksum fails (a flipped bit, a truncated copy) is damaged: the caller moves it aside and
//! recovers from the log tail and the plain file. Its checksum also names it in the manifest
//! (see `lock.rs`), so a snapshot that is missing or from another time is noticed.

use std::path::Path;

use super::StoreError;
use super::format::{self, CHECKSUM_LEN, Sealed};
use super::header::{self, FileKind, HEADER_LEN};
use crate::ids::DocId;

/// A snapshot that checks out.
#[derive(Debug)]
pub struct Snapshot {
    /// The encoded document.
    pub encoded: Vec<u8>,
    /// The file's checksum, which names it in the manifest.
    pub checksum: [u8; CHECKSUM_LEN],
}

/// What was found at the snapshot path.
#[derive(Debug)]
pub enum SnapshotRead {
    /// No snapshot (a store that was never compacted, or one that lost it).
    Missing,
    /// The snapshot checks out.
    Found(Snapshot),
    /// The file is ours but damaged; the reason says how.
    Damaged(String),
}

/// Encodes a snapshot file holding `encoded` (the output of `Doc::encode`).
pub fn encode(doc: &DocId, encoded: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + 8 + encoded.len() + CHECKSUM_LEN);
    bytes.extend_from_slice(&header::header(FileKind::Snapshot, doc));
    bytes.extend_from_slice(&(encoded.len() as u64).to_le_bytes());
    bytes.extend_from_slice(encoded);
    format::seal(bytes)
}

/// The checksum of an encoded snapshot file (its last 32 bytes).
pub fn checksum_of(file: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut out = [0u8; CHECKSUM_LEN];
    if let Some(sum) = file
        .len()
        .checked_sub(CHECKSUM_LEN)
        .and_then(|at| file.get(at..))
    {
        out.copy_from_slice(sum);
    }
    out
}

/// Reads and checks the snapshot at `path`.
pub fn read(path: &Path, doc: &DocId) -> Result<SnapshotRead, StoreError> {
    let (body, checksum) = match format::read_sealed(FileKind::Snapshot, path, Some(doc))? {
        Sealed::Missing => return Ok(SnapshotRead::Missing),
        Sealed::Damaged(reason) => return Ok(SnapshotRead::Damaged(reason)),
        Sealed::Found { body, checksum, .. } => (body, checksum),
    };
    let Some((len, encoded)) = body.split_first_chunk::<8>() else {
        return Ok(SnapshotRead::Damaged(
            "it is too short to hold a document".into(),
        ));
    };
    if u64::from_le_bytes(*len) != encoded.len() as u64 {
        return Ok(SnapshotRead::Damaged(format!(
            "it holds {} bytes of document but its header announces {}",
            encoded.len(),
            u64::from_le_bytes(*len)
        )));
    }
    Ok(SnapshotRead::Found(Snapshot {
        encoded: encoded.to_vec(),
        checksum,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(doc: &DocId, bytes: &[u8]) -> Result<SnapshotRead, StoreError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot");
        std::fs::write(&path, bytes).unwrap();
        read(&path, doc)
    }

    #[test]
    fn snapshot_round_trips() {
        let doc = DocId::random();
        let bytes = encode(&doc, b"encoded doc");
        assert!(matches!(
            parsed(&doc, &bytes),
            Ok(SnapshotRead::Found(Snapshot { encoded, checksum }))
                if encoded == b"encoded doc" && checksum == checksum_of(&bytes)
        ));
    }

    #[test]
    fn every_truncation_and_bit_flip_is_damage() {
        let doc = DocId::random();
        let bytes = encode(&doc, b"some encoded document bytes");
        for cut in 0..bytes.len() {
            let r = parsed(&doc, &bytes[..cut]);
            assert!(
                matches!(r, Ok(SnapshotRead::Damaged(_))),
                "cut {cut}: {r:?}"
            );
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            let r = parsed(&doc, &bad);
            assert!(matches!(r, Ok(SnapshotRead::Damaged(_))), "flip {i}: {r:?}");
        }
    }

    #[test]
    fn another_documents_snapshot_is_refused() {
        let bytes = encode(&DocId::random(), b"x");
        assert!(matches!(
            parsed(&DocId::random(), &bytes),
            Err(StoreError::WrongDocument { .. })
        ));
    }

    #[test]
    fn garbage_is_not_a_snapshot() {
        let r = parsed(
            &DocId::random(),
            b"# my notes\nnot a snapshot at all, just text..........................................",
        );
        assert!(matches!(r, Err(StoreError::BadHeader { .. })));
    }
}
