//! The header every store file starts with, and how a damaged header is told apart from a file
//! that is not this document's.
//!
//! # Layout (format versions 3 and 4, 52 bytes)
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic: which kind of file (`duet-idn`, `duet-sta`, `duet-snp`, `duet-log`, `duet-lck`, `duet-flr`, `duet-edt`) |
//! | 8..10 | format version, u16 little-endian ([`FORMAT_VERSION`]) |
//! | 10..12 | reserved, zero |
//! | 12..44 | document id (32 bytes) |
//! | 44..52 | check: the first 8 bytes of the BLAKE3 hash of bytes 0..44 |
//!
//! Versions 1 and 2 had the first 44 bytes only. From version 3 on, every header ends with its
//! check at 44..52 (later versions must keep it there), so a header that fails it is *damage*
//! (kept aside and recovered from), while one that passes and names another document or a
//! newer version is *not ours* (an error that leaves the file untouched). A flipped bit in the
//! magic or the version field is recognised as damage too: the check passes once the expected
//! value is put back.
//!
//! A version 1 or 2 header cannot tell damage from a foreign file by itself: it is reported
//! as [`HeaderRead::Unverified`] and the caller asks the file's content (whole-file checksum,
//! frame checksums keyed with the document id) which it is.

use std::path::Path;

use crate::ids::DocId;

use super::StoreError;

/// The on-disk format version written by this code. Readers accept this version and older
/// ones they know; a newer file is refused with [`StoreError::UnsupportedVersion`].
///
/// - 1: the first format.
/// - 2: log frames hold ops in crdt-text's compact byte-string form. Version 1 logs are read
///   (see `legacy.rs`) and rewritten as version 2 on open; other files did not change.
/// - 3: headers end with a check (see above); `identity` also holds the endpoint key and where
///   the store lives; `state` always exists; the lock file's clean-close record lists what
///   the store holds; the `floor` file. Older files are read and rewritten as version 3 when
///   their store opens.
/// - 4: recorded history — log frames' ops may carry their author and time (crdt-text's op
///   form 2) and the snapshot is crdt-text format 3. Version 3 stores are read and upgraded
///   on open (their log folded into a snapshot); duet builds that know only version 3 refuse
///   a version 4 store with [`StoreError::UnsupportedVersion`] instead of misreading it.
pub const FORMAT_VERSION: u16 = 4;

/// Length of a version 3 header.
pub const HEADER_LEN: usize = 52;

/// Length of a version 1 or 2 header (no check).
pub const LEGACY_HEADER_LEN: usize = 44;

/// The first version whose headers carry a check.
const CHECKED_SINCE: u16 = 3;

/// Which kind of store file a header introduces.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileKind {
    /// `identity`: document id, secrets, replica id, where the store lives.
    Identity,
    /// `state`: known peers and what duet last wrote to the plain file.
    State,
    /// `snapshot`: the encoded document.
    Snapshot,
    /// `log`: frames of ops appended since the snapshot.
    Log,
    /// `lock`: the record of a clean close.
    Lock,
    /// `floor`: the plain file's text when the store was found damaged.
    Floor,
    /// `editor`: this user's undo history and the version last seen.
    Editor,
}

impl FileKind {
    /// The magic as text, for error messages.
    pub fn magic_str(self) -> &'static str {
        match self {
            FileKind::Identity => "duet-idn",
            FileKind::State => "duet-sta",
            FileKind::Snapshot => "duet-snp",
            FileKind::Log => "duet-log",
            FileKind::Lock => "duet-lck",
            FileKind::Floor => "duet-flr",
            FileKind::Editor => "duet-edt",
        }
    }

    fn magic(self) -> &'static [u8] {
        self.magic_str().as_bytes()
    }
}

/// A header that checked out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    /// The format version of the file.
    pub version: u16,
    /// The document the file belongs to.
    pub doc: DocId,
    /// Where the content starts.
    pub len: usize,
}

/// What reading a header found.
#[derive(Debug)]
pub enum HeaderRead {
    /// The header is ours and intact.
    Ours(Header),
    /// The file is ours but its header is damaged (or the file is cut short inside it).
    Damaged(String),
    /// Certainly not this document's file (another document's, a newer format, not a store
    /// file at all): refuse it and leave it untouched.
    Foreign(StoreError),
    /// A version 1 or 2 header naming another document. Foreign, unless the content's own
    /// checks show that the file is ours: then its header is damaged.
    Unverified(StoreError),
}

fn check(fixed: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&blake3::hash(fixed).as_bytes()[..8]);
    out
}

/// Builds the header of a `kind` file of document `doc`.
pub fn header(kind: FileKind, doc: &DocId) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[0..8].copy_from_slice(kind.magic());
    out[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[12..44].copy_from_slice(doc.as_bytes());
    let sum = check(&out[..LEGACY_HEADER_LEN]);
    out[LEGACY_HEADER_LEN..].copy_from_slice(&sum);
    out
}

/// Whether the check at 44..52 passes once the magic and version are what they should be: a
/// header whose only damage is in those fields.
fn passes_when_restored(kind: FileKind, bytes: &[u8]) -> bool {
    let Some(stored) = bytes.get(LEGACY_HEADER_LEN..HEADER_LEN) else {
        return false;
    };
    let mut fixed = [0u8; LEGACY_HEADER_LEN];
    fixed.copy_from_slice(&bytes[..LEGACY_HEADER_LEN]);
    fixed[0..8].copy_from_slice(kind.magic());
    (CHECKED_SINCE..=FORMAT_VERSION).any(|v| {
        fixed[8..10].copy_from_slice(&v.to_le_bytes());
        check(&fixed) == stored
    })
}

/// Reads the header at the start of `bytes` (the contents of `path`, a `kind` file). With
/// `expected`, a header naming another document is not ours.
pub fn read_header(
    kind: FileKind,
    path: &Path,
    bytes: &[u8],
    expected: Option<&DocId>,
) -> HeaderRead {
    let magic = kind.magic();
    if bytes.len() < LEGACY_HEADER_LEN && magic.starts_with(&bytes[..bytes.len().min(8)]) {
        return HeaderRead::Damaged(truncated(bytes.len()));
    }
    let doc_at = |b: &[u8]| -> Option<DocId> {
        let id: [u8; 32] = b.get(12..LEGACY_HEADER_LEN)?.try_into().ok()?;
        Some(DocId(id))
    };
    if bytes.get(0..8) != Some(magic) {
        // An intact header of another kind of file (its own check passes) is not damage.
        let intact = bytes.len() >= HEADER_LEN
            && check(&bytes[..LEGACY_HEADER_LEN])[..] == bytes[LEGACY_HEADER_LEN..HEADER_LEN];
        let names_ours = expected.is_some_and(|e| doc_at(bytes).as_ref() == Some(e));
        if !intact && (names_ours || passes_when_restored(kind, bytes)) {
            return HeaderRead::Damaged(format!(
                "its header is damaged (not '{}')",
                kind.magic_str()
            ));
        }
        return HeaderRead::Foreign(StoreError::BadHeader {
            path: path.to_path_buf(),
            expected: kind.magic_str(),
        });
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    let Some(doc) = doc_at(bytes) else {
        return HeaderRead::Damaged(truncated(bytes.len()));
    };
    let other_doc = |found: DocId| StoreError::WrongDocument {
        path: path.to_path_buf(),
        expected: expected.copied().unwrap_or(found),
        found,
    };
    let len = match version {
        // A flipped bit can turn version 3 into 1 or 2: then the check still follows.
        1 | 2 if passes_when_restored(kind, bytes) => {
            return HeaderRead::Damaged(format!(
                "its header's version field is damaged ({version})"
            ));
        }
        1 | 2 => {
            if expected.is_some_and(|e| *e != doc) {
                return HeaderRead::Unverified(other_doc(doc));
            }
            LEGACY_HEADER_LEN
        }
        CHECKED_SINCE..=FORMAT_VERSION => {
            if bytes.len() < HEADER_LEN {
                return HeaderRead::Damaged(truncated(bytes.len()));
            }
            if check(&bytes[..LEGACY_HEADER_LEN])[..] != bytes[LEGACY_HEADER_LEN..HEADER_LEN] {
                return HeaderRead::Damaged("its header fails its check".into());
            }
            if expected.is_some_and(|e| *e != doc) {
                return HeaderRead::Foreign(other_doc(doc));
            }
            HEADER_LEN
        }
        _ if version == 0 || passes_when_restored(kind, bytes) => {
            return HeaderRead::Damaged(format!(
                "its header's version field is damaged ({version})"
            ));
        }
        _ => {
            return HeaderRead::Foreign(StoreError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
    };
    HeaderRead::Ours(Header { version, doc, len })
}

fn truncated(len: usize) -> String {
    format!("it is cut short ({len} bytes)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(kind: FileKind, bytes: &[u8], expected: Option<&DocId>) -> HeaderRead {
        read_header(kind, Path::new("x"), bytes, expected)
    }

    /// A version 2 header, as older duet wrote it.
    fn legacy(kind: FileKind, doc: &DocId) -> Vec<u8> {
        let mut out = header(kind, doc)[..LEGACY_HEADER_LEN].to_vec();
        out[8..10].copy_from_slice(&2u16.to_le_bytes());
        out
    }

    #[test]
    fn headers_round_trip_in_both_layouts() {
        let id = DocId::random();
        let h = header(FileKind::Log, &id);
        assert!(matches!(
            read(FileKind::Log, &h, Some(&id)),
            HeaderRead::Ours(Header { version: FORMAT_VERSION, doc, len: HEADER_LEN }) if doc == id
        ));
        assert!(matches!(
            read(FileKind::Log, &legacy(FileKind::Log, &id), Some(&id)),
            HeaderRead::Ours(Header {
                version: 2,
                len: LEGACY_HEADER_LEN,
                ..
            })
        ));
    }

    #[test]
    fn every_flipped_bit_is_damage_never_another_document() {
        let id = DocId::random();
        let h = header(FileKind::Snapshot, &id);
        for byte in 0..HEADER_LEN {
            for bit in 0..8 {
                let mut bad = h;
                bad[byte] ^= 1 << bit;
                for expected in [Some(&id), None] {
                    let r = read(FileKind::Snapshot, &bad, expected);
                    assert!(
                        matches!(r, HeaderRead::Damaged(_)),
                        "flip {byte}.{bit} (expected {expected:?}): {r:?}"
                    );
                }
            }
        }
        for cut in 0..HEADER_LEN {
            let r = read(FileKind::Snapshot, &h[..cut], Some(&id));
            assert!(matches!(r, HeaderRead::Damaged(_)), "cut {cut}: {r:?}");
        }
    }

    #[test]
    fn foreign_files_are_told_apart_from_damage() {
        let id = DocId::random();
        let other = header(FileKind::Log, &DocId::random());
        assert!(matches!(
            read(FileKind::Log, &other, Some(&id)),
            HeaderRead::Foreign(StoreError::WrongDocument { .. })
        ));
        assert!(matches!(
            read(FileKind::Snapshot, &header(FileKind::Log, &id), Some(&id)),
            HeaderRead::Foreign(StoreError::BadHeader { .. })
        ));
        assert!(matches!(
            read(
                FileKind::Log,
                b"# my notes, saved here by mistake........................",
                Some(&id)
            ),
            HeaderRead::Foreign(StoreError::BadHeader { .. })
        ));
        // A newer version: its check is computed over its own version, which is not ours.
        let mut newer = header(FileKind::Log, &id);
        newer[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        let sum = check(&newer[..LEGACY_HEADER_LEN]);
        newer[LEGACY_HEADER_LEN..].copy_from_slice(&sum);
        assert!(matches!(
            read(FileKind::Log, &newer, Some(&id)),
            HeaderRead::Foreign(StoreError::UnsupportedVersion { found, .. }) if found == FORMAT_VERSION + 1
        ));
        // An old header naming another document cannot be verified by itself.
        assert!(matches!(
            read(
                FileKind::Log,
                &legacy(FileKind::Log, &DocId::random()),
                Some(&id)
            ),
            HeaderRead::Unverified(StoreError::WrongDocument { .. })
        ));
    }
}
