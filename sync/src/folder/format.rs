//! The encoding of a [`ManifestDelta`] — a change sent to peers, or a whole manifest stored on
//! disk — with its format version.
//!
//! # Layout (manifest format version 1)
//!
//! Everything is [postcard](https://docs.rs/postcard): unsigned integers as varints,
//! sequences and maps as a varint length then their items, `Option` as a byte 0/1 then the
//! value, strings as a varint length then UTF-8.
//!
//! | field | encoding |
//! |---|---|
//! | format version | varint, [`MANIFEST_FORMAT`] |
//! | files | map of `FileId` → `FileEntry`, ascending ids |
//! | dirs | map of `DirId` → `DirEntry`, ascending ids |
//!
//! A `Stamp` is `lamport` (varint) then `replica` (varint u64); `FileId` and `DirId` are a
//! stamp. A `Place` is `parent` (`Option<DirId>`) then `name` (string). A `Lww<Place>` is its
//! `stamp` then its `value`. A `FileEntry` is `author` (`Option<String>`), `place`
//! (`Option<Lww<Place>>`), `keep` and `gone` (sequences of stamps, ascending), then
//! `deleted_text` (a map of replica → count, crdt-text's `VersionVector`). A `DirEntry` is its
//! `place`.
//!
//! Decoding refuses (with [`ManifestFormatError`]) a newer version, bytes that do not parse,
//! trailing bytes, and any name that is not a [valid name](super::path::check_name) — so a
//! delta from a peer cannot name a path outside the folder.

use super::manifest::ManifestDelta;
use super::path::PathError;

/// The manifest format version written by this code; older versions are read, newer refused.
pub const MANIFEST_FORMAT: u32 = 1;

/// Why bytes are not a manifest or manifest delta.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestFormatError {
    /// Written by a newer duet (or not a manifest at all).
    #[error(
        "manifest format version {0} is not supported (this duet reads up to {MANIFEST_FORMAT})"
    )]
    UnsupportedVersion(u32),
    /// The bytes do not parse.
    #[error("undecodable manifest: {0}")]
    Postcard(#[from] postcard::Error),
    /// Bytes follow the manifest.
    #[error("{0} unexpected bytes after the manifest")]
    TrailingBytes(usize),
    /// A name in it is not allowed.
    #[error("manifest names an invalid path: {0}")]
    Path(#[from] PathError),
}

impl ManifestDelta {
    /// Encodes it (format above).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = postcard::to_stdvec(&MANIFEST_FORMAT).unwrap_or_default();
        // Serializing plain data into a Vec cannot fail.
        if let Ok(body) = postcard::to_stdvec(self) {
            out.extend_from_slice(&body);
        }
        out
    }

    /// Decodes bytes written by [`encode`](Self::encode) (of this version or an older one).
    /// Never panics, whatever the bytes.
    pub fn decode(bytes: &[u8]) -> Result<ManifestDelta, ManifestFormatError> {
        let (version, rest) = postcard::take_from_bytes::<u32>(bytes)?;
        if version != MANIFEST_FORMAT {
            return Err(ManifestFormatError::UnsupportedVersion(version));
        }
        let (delta, rest) = postcard::take_from_bytes::<ManifestDelta>(rest)?;
        if !rest.is_empty() {
            return Err(ManifestFormatError::TrailingBytes(rest.len()));
        }
        delta.check()?;
        Ok(delta)
    }
}

#[cfg(test)]
mod tests {
    use crdt_text::ReplicaId;

    use super::*;
    use crate::folder::Manifest;

    fn sample() -> ManifestDelta {
        let mut m = Manifest::new(ReplicaId::from(7), "alice");
        let (file, _) = m.create("docs/notes.md").unwrap();
        let _ = m.create("README.md").unwrap();
        let _ = m.rename(file, "docs/plan.md").unwrap();
        let _ = m.delete(file).unwrap();
        m.state().clone()
    }

    #[test]
    fn a_manifest_survives_encoding() {
        let state = sample();
        assert_eq!(ManifestDelta::decode(&state.encode()), Ok(state));
    }

    #[test]
    fn the_encoding_starts_with_its_version_and_is_stable() {
        let bytes = sample().encode();
        assert_eq!(bytes[0], MANIFEST_FORMAT as u8);
        // Pinned: a change to this encoding must bump MANIFEST_FORMAT.
        assert_eq!(blake3::hash(&bytes).to_hex()[..16], *"bc3c997fc7924d26");
    }

    #[test]
    fn a_newer_version_is_refused_by_name() {
        let mut bytes = sample().encode();
        bytes[0] = 2;
        assert_eq!(
            ManifestDelta::decode(&bytes),
            Err(ManifestFormatError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn garbage_and_cut_bytes_are_refused_without_panic() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            assert!(
                ManifestDelta::decode(&bytes[..len]).is_err(),
                "cut at {len}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            ManifestDelta::decode(&longer),
            Err(ManifestFormatError::TrailingBytes(1))
        );
        let mut seed = 1u32;
        for _ in 0..2000 {
            let mut noisy = bytes.clone();
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let at = seed as usize % noisy.len();
            noisy[at] ^= (seed >> 24) as u8 | 1;
            let _ = ManifestDelta::decode(&noisy);
        }
    }

    #[test]
    fn a_delta_naming_a_path_outside_the_folder_is_refused() {
        let mut state = sample();
        let entry = state.files.values_mut().next().unwrap();
        entry.place.as_mut().unwrap().value.name = "..".into();
        assert!(matches!(
            ManifestDelta::decode(&state.encode()),
            Err(ManifestFormatError::Path(PathError::Dots { .. }))
        ));
        let entry = state.files.values_mut().next().unwrap();
        entry.place.as_mut().unwrap().value.name = ".git".into();
        assert!(matches!(
            ManifestDelta::decode(&state.encode()),
            Err(ManifestFormatError::Path(PathError::Reserved { .. }))
        ));
    }
}
