//! The common header of every store file, checksums, and crash-safe file replacement.
//!
//! # File header (44 bytes, all store files)
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic: which kind of file (`duet-idn`, `duet-sta`, `duet-snp`, `duet-log`) |
//! | 8..10 | format version, u16 little-endian ([`FORMAT_VERSION`]) |
//! | 10..12 | reserved, zero |
//! | 12..44 | document id (32 bytes) |
//!
//! Header fields are checked strictly: a wrong magic, a newer version or another document's id
//! is an error that stops the open and leaves the file untouched (it is not ours to repair).
//! Damage *after* the header is detected by checksums and recovered from.
//!
//! # Whole-file checksum (identity, state, snapshot)
//!
//! Small files and snapshots end with the 32-byte BLAKE3 hash of everything before it. They
//! are only ever replaced atomically: written to `NAME.tmp`, `fsync`ed, renamed over `NAME`,
//! and the directory `fsync`ed, so a crash leaves either the old or the new file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::ids::DocId;

use super::StoreError;

/// The on-disk format version written by this code. Readers accept this version and older
/// ones they know; a newer file is refused with [`StoreError::UnsupportedVersion`].
///
/// - 1: the first format.
/// - 2: log frames hold ops in crdt-text's compact byte-string form. Version 1 logs are read
///   (see `legacy.rs`) and rewritten as version 2 on open; other files did not change.
pub const FORMAT_VERSION: u16 = 2;

/// The format version in a header that [`check_header`] accepted.
pub fn version(bytes: &[u8]) -> u16 {
    u16::from_le_bytes([bytes[8], bytes[9]])
}

/// Length of the common header.
pub const HEADER_LEN: usize = 44;

/// Length of the whole-file BLAKE3 checksum.
pub const CHECKSUM_LEN: usize = 32;

/// Which kind of store file a header introduces.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileKind {
    /// `identity`: document id, secret, replica id.
    Identity,
    /// `state`: known peers and what duet last wrote to the plain file.
    State,
    /// `snapshot`: the encoded document.
    Snapshot,
    /// `log`: frames of ops appended since the snapshot.
    Log,
}

impl FileKind {
    fn magic(self) -> &'static [u8; 8] {
        match self {
            FileKind::Identity => b"duet-idn",
            FileKind::State => b"duet-sta",
            FileKind::Snapshot => b"duet-snp",
            FileKind::Log => b"duet-log",
        }
    }
}

/// Builds the header of a `kind` file of document `doc`.
pub fn header(kind: FileKind, doc: &DocId) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[0..8].copy_from_slice(kind.magic());
    out[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[12..44].copy_from_slice(doc.as_bytes());
    out
}

/// Checks the header at the start of `bytes` (the contents of `path`) and returns the document
/// id it names. With `expected`, another document's id is an error.
pub fn check_header(
    kind: FileKind,
    path: &Path,
    bytes: &[u8],
    expected: Option<&DocId>,
) -> Result<DocId, StoreError> {
    if bytes.len() < HEADER_LEN || &bytes[0..8] != kind.magic() {
        return Err(StoreError::BadHeader {
            path: path.to_path_buf(),
            expected: kind.magic_str(),
        });
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version == 0 || version > FORMAT_VERSION {
        return Err(StoreError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let mut id = [0u8; 32];
    id.copy_from_slice(&bytes[12..44]);
    let found = DocId(id);
    if let Some(expected) = expected
        && *expected != found
    {
        return Err(StoreError::WrongDocument {
            path: path.to_path_buf(),
            expected: *expected,
            found,
        });
    }
    Ok(found)
}

impl FileKind {
    /// The magic as text, for error messages.
    pub fn magic_str(self) -> &'static str {
        match self {
            FileKind::Identity => "duet-idn",
            FileKind::State => "duet-sta",
            FileKind::Snapshot => "duet-snp",
            FileKind::Log => "duet-log",
        }
    }
}

/// Appends the whole-file checksum to `bytes`.
pub fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
    let hash = blake3::hash(&bytes);
    bytes.extend_from_slice(hash.as_bytes());
    bytes
}

/// Splits a sealed file into its content (header included) and checks the checksum. `None`
/// when the file is too short or the checksum does not match.
pub fn unseal(bytes: &[u8]) -> Option<&[u8]> {
    let split = bytes.len().checked_sub(CHECKSUM_LEN)?;
    let (content, sum) = bytes.split_at(split);
    (blake3::hash(content).as_bytes() == sum).then_some(content)
}

/// Reads a whole file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, StoreError> {
    fs::read(path).map_err(|source| StoreError::io("read", path, source))
}

/// Reads a file that may not exist.
pub fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::io("read", path, source)),
    }
}

/// Replaces `path` with `bytes` atomically: a crash leaves the old file or the new one, never
/// a mix. Writes `path` + `.tmp`, fsyncs it, renames it over `path`, fsyncs the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = sibling(path, ".tmp");
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| StoreError::io("create", &tmp, e))?;
        file.write_all(bytes)
            .map_err(|e| StoreError::io("write", &tmp, e))?;
        file.sync_all()
            .map_err(|e| StoreError::io("fsync", &tmp, e))?;
        drop(file);
        fs::rename(&tmp, path).map_err(|e| StoreError::io("rename into place", path, e))?;
        sync_dir(path)
    })();
    if result.is_err() {
        // Best effort: a leftover temp file is harmless (it is overwritten next time), so a
        // failure to remove it must not hide the real error.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Fsyncs the directory containing `path`, making a rename or a file creation durable.
pub fn sync_dir(path: &Path) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // Directories cannot be fsynced on every platform; where opening one fails there is
    // nothing more to do.
    #[cfg(unix)]
    {
        let handle = File::open(dir).map_err(|e| StoreError::io("open directory", dir, e))?;
        handle
            .sync_all()
            .map_err(|e| StoreError::io("fsync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// `path` with `suffix` appended to its file name.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// A free name for keeping a damaged file: `NAME.damaged-UNIXSECONDS[-N]`.
fn damaged_name(path: &Path) -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut target = sibling(path, &format!(".damaged-{now}"));
    let mut n = 1;
    while target.exists() {
        target = sibling(path, &format!(".damaged-{now}-{n}"));
        n += 1;
    }
    target
}

/// Moves a damaged file aside (never deleting it) and returns its new name.
pub fn keep_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let target = damaged_name(path);
    fs::rename(path, &target).map_err(|e| StoreError::io("move aside", path, e))?;
    sync_dir(path)?;
    Ok(target)
}

/// Keeps a copy of a damaged file under a new name while it stays in place (a hard link
/// where the file system allows, else a copy), so it can then be replaced atomically: at no
/// moment is there neither the original nor its repair.
pub fn keep_copy(path: &Path) -> Result<PathBuf, StoreError> {
    let target = damaged_name(path);
    if fs::hard_link(path, &target).is_err() {
        fs::copy(path, &target).map_err(|e| StoreError::io("copy aside", path, e))?;
        File::open(&target)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io("fsync", &target, e))?;
    }
    sync_dir(path)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_rejects_mismatches() {
        let id = DocId::random();
        let path = Path::new("x");
        let h = header(FileKind::Log, &id);
        assert_eq!(
            check_header(FileKind::Log, path, &h, Some(&id)).unwrap(),
            id
        );
        assert!(matches!(
            check_header(FileKind::Snapshot, path, &h, None),
            Err(StoreError::BadHeader { .. })
        ));
        assert!(matches!(
            check_header(FileKind::Log, path, &h, Some(&DocId::random())),
            Err(StoreError::WrongDocument { .. })
        ));
        let mut newer = h;
        newer[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert!(matches!(
            check_header(FileKind::Log, path, &newer, None),
            Err(StoreError::UnsupportedVersion { found, .. }) if found == FORMAT_VERSION + 1
        ));
        assert!(matches!(
            check_header(FileKind::Log, path, &h[..20], None),
            Err(StoreError::BadHeader { .. })
        ));
    }

    #[test]
    fn sealed_content_detects_any_flipped_bit() {
        let sealed = seal(b"hello store".to_vec());
        assert_eq!(unseal(&sealed), Some(&b"hello store"[..]));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x10;
            assert_eq!(unseal(&bad), None, "flip at {i} undetected");
        }
        assert_eq!(unseal(&sealed[..10]), None);
    }
}
