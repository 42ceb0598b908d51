//! What every store file shares: checksums, crash-safe replacement, and keeping damaged files.
//!
//! Every file starts with the header described in `header.rs`.
//!
//! # Whole-file checksum (identity, state, snapshot, floor, the lock's clean-close record)
//!
//! These files end with the 32-byte BLAKE3 hash of everything before it. They are only ever
//! replaced atomically ([`write_atomic`]): written to `NAME.tmp`, `fsync`ed, renamed over
//! `NAME`, and the directory `fsync`ed, so a crash leaves either the old or the new file.
//! Store files are created `0600`: some hold secrets, all hold the document.
//!
//! # Group commit
//!
//! Many files replaced at once ([`write_atomic_all`], [`Staged::commit_all`], e.g. the
//! thousand documents and files of a folder being joined) keep that guarantee per file and
//! pay for it once: every temp file is written, then all are `fsync`ed together (from a few
//! threads, so the disk merges their flushes instead of waiting for each in turn), then
//! each is renamed over its target, then each folder involved is `fsync`ed once. A crash at
//! any point leaves each target old or new (a rename only happens after its temp file is
//! durable); nothing is reported durable before the folders' `fsync`s return. A batch of more
//! than [`GROUP_FILES`] files goes as several groups, one after the other (each temp file
//! stays open until it is renamed).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::ids::DocId;

use super::StoreError;
use super::header::{FileKind, Header, HeaderRead, read_header};

/// Length of the whole-file BLAKE3 checksum.
pub const CHECKSUM_LEN: usize = 32;

/// The mode of every file in a store (owner read and write: some hold secrets).
pub const FILE_MODE: u32 = 0o600;

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

/// What reading a sealed file found.
#[derive(Debug)]
pub enum Sealed {
    /// The file does not exist.
    Missing,
    /// The file checks out.
    Found {
        /// Its header.
        header: Header,
        /// What follows the header, checksum removed.
        body: Vec<u8>,
        /// The whole-file checksum (the file's last 32 bytes).
        checksum: [u8; CHECKSUM_LEN],
    },
    /// The file is ours but damaged; the reason says how.
    Damaged(String),
}

/// Reads the sealed `kind` file at `path`. A file that is certainly not this document's is an
/// error; one that is ours but fails a check is [`Sealed::Damaged`].
pub fn read_sealed(
    kind: FileKind,
    path: &Path,
    expected: Option<&DocId>,
) -> Result<Sealed, StoreError> {
    let Some(bytes) = read_if_exists(path)? else {
        return Ok(Sealed::Missing);
    };
    let header = match read_header(kind, path, &bytes, expected) {
        HeaderRead::Ours(header) => header,
        HeaderRead::Damaged(reason) => return Ok(Sealed::Damaged(reason)),
        HeaderRead::Foreign(error) => return Err(error),
        // An old header naming another document: if the file checks out, it is that
        // document's; if not, it is ours and its header is damaged with the rest.
        HeaderRead::Unverified(error) => {
            return match unseal(&bytes) {
                Some(_) => Err(error),
                None => Ok(Sealed::Damaged("it fails its checksum".into())),
            };
        }
    };
    match unseal(&bytes) {
        Some(content) if content.len() >= header.len => {
            let mut checksum = [0u8; CHECKSUM_LEN];
            checksum.copy_from_slice(&bytes[content.len()..]);
            Ok(Sealed::Found {
                header,
                body: content[header.len..].to_vec(),
                checksum,
            })
        }
        _ => Ok(Sealed::Damaged(format!(
            "it is {} bytes long and fails its checksum",
            bytes.len()
        ))),
    }
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

/// The mode a [`Staged`] file gets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NewMode {
    /// [`FILE_MODE`], from its creation on: a store file.
    Private,
    /// The default for a new file (`0666` less the umask): a plain file created by duet.
    Default,
    /// Exactly this mode (not masked by the umask): the mode of the file it replaces.
    Copy(u32),
}

/// A new file being written under a temporary name, to replace `target` atomically with
/// [`Staged::commit`]. Dropped uncommitted, it removes itself.
#[derive(Debug)]
pub struct Staged {
    target: PathBuf,
    file: File,
    tmp: TempFile,
}

/// Removes a temporary file when dropped, unless it was renamed into place.
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    renamed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.renamed {
            // Best effort: a leftover temp file is replaced next time, so failing to remove
            // it must not hide the real error.
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Staged {
    /// Creates the temporary file `tmp` (beside `target`, replacing a leftover) with `mode`.
    pub fn create(target: &Path, tmp: PathBuf, mode: NewMode) -> Result<Staged, StoreError> {
        // A leftover of an interrupted write is ours to replace; created afresh, the file
        // gets its mode at birth instead of inheriting the leftover's.
        let _ = fs::remove_file(&tmp);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if mode != NewMode::Default {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
        }
        let file = options
            .open(&tmp)
            .map_err(|e| StoreError::io("create", &tmp, e))?;
        let staged = Staged {
            target: target.to_path_buf(),
            file,
            tmp: TempFile {
                path: tmp,
                renamed: false,
            },
        };
        #[cfg(unix)]
        if let NewMode::Copy(mode) = mode {
            use std::os::unix::fs::PermissionsExt;
            staged
                .file
                .set_permissions(fs::Permissions::from_mode(mode))
                .map_err(|e| StoreError::io("set permissions of", &staged.tmp.path, e))?;
        }
        Ok(staged)
    }

    /// The temporary file (to set its owner before committing).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Writes `bytes`, fsyncs, renames over the target and fsyncs the directory: a crash
    /// leaves the old file or the new one, never a mix.
    pub fn commit(self, bytes: &[u8]) -> Result<(), StoreError> {
        Staged::commit_all(vec![(self, bytes)])
            .pop()
            .unwrap_or(Ok(()))
    }

    /// [`commit`](Self::commit)s every staged file as one group (see the module docs): the
    /// outcome of each, in order. A file that failed keeps its old content.
    pub fn commit_all(batch: Vec<(Staged, &[u8])>) -> Vec<Result<(), StoreError>> {
        let mut failed: Vec<Option<StoreError>> = batch.iter().map(|_| None).collect();
        let mut written = Vec::with_capacity(batch.len());
        for (i, (mut staged, bytes)) in batch.into_iter().enumerate() {
            match staged.file.write_all(bytes) {
                Ok(()) => written.push((i, staged)),
                Err(e) => failed[i] = Some(StoreError::io("write", &staged.tmp.path, e)),
            }
        }
        let files: Vec<&File> = written.iter().map(|(_, s)| &s.file).collect();
        let synced = sync_at_once(&files, File::sync_all);
        let mut renamed = Vec::with_capacity(written.len());
        for ((i, staged), synced) in written.into_iter().zip(synced) {
            let Staged {
                target,
                file,
                mut tmp,
            } = staged;
            drop(file);
            if let Err(e) = synced {
                failed[i] = Some(StoreError::io("fsync", &tmp.path, e));
                continue;
            }
            match fs::rename(&tmp.path, &target) {
                Ok(()) => {
                    tmp.renamed = true;
                    renamed.push((i, target));
                }
                Err(e) => failed[i] = Some(StoreError::io("rename into place", &target, e)),
            }
        }
        // Each folder once; its outcome is every renamed file's in it.
        let mut dirs: BTreeMap<PathBuf, Option<(io::ErrorKind, String)>> = BTreeMap::new();
        for (i, target) in renamed {
            let dir = parent_dir(&target).to_path_buf();
            let outcome = dirs
                .entry(dir.clone())
                .or_insert_with(|| fsync_dir(&dir).err().map(|e| (e.kind(), e.to_string())));
            if let Some((kind, message)) = outcome {
                let error = io::Error::new(*kind, message.clone());
                failed[i] = Some(StoreError::io("fsync directory", dir, error));
            }
        }
        failed.into_iter().map(|f| f.map_or(Ok(()), Err)).collect()
    }
}

/// How many `fsync`s a group commit has in flight at once.
const SYNC_THREADS: usize = 8;

/// Runs `sync` (`File::sync_all` or `File::sync_data`) on every file, [`SYNC_THREADS`] at a
/// time: the outcome of each, in order. One slow flush no longer waits for the one before.
pub fn sync_at_once(files: &[&File], sync: fn(&File) -> io::Result<()>) -> Vec<io::Result<()>> {
    let one_by_one =
        |part: &[&File]| -> Vec<io::Result<()>> { part.iter().map(|f| sync(f)).collect() };
    if files.len() < 2 {
        return one_by_one(files);
    }
    let chunk = files.len().div_ceil(SYNC_THREADS);
    std::thread::scope(|scope| {
        let running: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let thread =
                    std::thread::Builder::new().spawn_scoped(scope, move || one_by_one(part));
                (part, thread)
            })
            .collect();
        running
            .into_iter()
            .flat_map(|(part, thread)| match thread {
                // No thread to be had: this one does it.
                Err(_) => one_by_one(part),
                Ok(thread) => thread.join().unwrap_or_else(|_| {
                    part.iter()
                        .map(|_| Err(io::Error::other("an fsync thread failed")))
                        .collect()
                }),
            })
            .collect()
    })
}

/// Replaces the store file `path` with `bytes` atomically (see [`Staged`]), mode `0600`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    Staged::create(path, sibling(path, ".tmp"), NewMode::Private)?.commit(bytes)
}

/// Replaces each store file `path` with its `bytes` atomically, as one group (see the module
/// docs), mode `0600`: the outcome of each, in order.
pub fn write_atomic_all(files: &[(PathBuf, Vec<u8>)]) -> Vec<Result<(), StoreError>> {
    files
        .chunks(GROUP_FILES)
        .flat_map(write_atomic_group)
        .collect()
}

/// At most this many files are open at once in a group commit (each temp file is open until
/// it is renamed, and 1,024 open files is a common limit): a larger batch is committed as
/// groups of this size, one after the other.
pub const GROUP_FILES: usize = 256;

fn write_atomic_group(files: &[(PathBuf, Vec<u8>)]) -> Vec<Result<(), StoreError>> {
    let mut results: Vec<Option<Result<(), StoreError>>> = files.iter().map(|_| None).collect();
    let mut batch = Vec::with_capacity(files.len());
    let mut at = Vec::with_capacity(files.len());
    for (i, (path, bytes)) in files.iter().enumerate() {
        match Staged::create(path, sibling(path, ".tmp"), NewMode::Private) {
            Ok(staged) => {
                batch.push((staged, bytes.as_slice()));
                at.push(i);
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    for (i, result) in at.into_iter().zip(Staged::commit_all(batch)) {
        results[i] = Some(result);
    }
    results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
}

/// The directory containing `path`.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Fsyncs the directory containing `path`, making a rename or a file creation durable.
pub fn sync_dir(path: &Path) -> Result<(), StoreError> {
    let dir = parent_dir(path);
    fsync_dir(dir).map_err(|e| StoreError::io("fsync directory", dir, e))
}

/// Fsyncs the directory `dir`.
fn fsync_dir(dir: &Path) -> io::Result<()> {
    // Directories cannot be fsynced on every platform; where opening one fails there is
    // nothing more to do.
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
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

/// Keeps `bytes`, what the damaged file `path` held, under a new name beside it (for a file
/// that is then rewritten in place).
pub fn keep_bytes(path: &Path, bytes: &[u8]) -> Result<PathBuf, StoreError> {
    let target = damaged_name(path);
    write_atomic(&target, bytes)?;
    Ok(target)
}

/// Keeps a copy of a damaged file under a new name while it stays in place (a hard link
/// where the file system allows, else a copy), so it can then be replaced atomically: at no
/// moment is there neither the original nor its repair. The original must then only be
/// replaced, never changed in place (that would change the hard-linked copy too).
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
    use crate::store::header::header;

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

    #[test]
    fn sealed_files_read_back_and_damage_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let id = DocId::random();
        let mut bytes = header(FileKind::State, &id).to_vec();
        bytes.extend_from_slice(b"body");
        let bytes = seal(bytes);
        write_atomic(&path, &bytes).unwrap();
        assert!(matches!(
            read_sealed(FileKind::State, &path, Some(&id)).unwrap(),
            Sealed::Found { body, .. } if body == b"body"
        ));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            fs::write(&path, &bad).unwrap();
            let r = read_sealed(FileKind::State, &path, Some(&id)).unwrap();
            assert!(matches!(r, Sealed::Damaged(_)), "flip at {i}: {r:?}");
        }
        fs::remove_file(&path).unwrap();
        assert!(matches!(
            read_sealed(FileKind::State, &path, Some(&id)).unwrap(),
            Sealed::Missing
        ));
    }

    #[test]
    fn a_batch_larger_than_a_group_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<(PathBuf, Vec<u8>)> = (0..GROUP_FILES * 2 + 3)
            .map(|i| {
                (
                    dir.path().join(format!("f{i}")),
                    format!("{i}").into_bytes(),
                )
            })
            .collect();
        let results = write_atomic_all(&files);
        assert_eq!(results.len(), files.len());
        assert!(results.iter().all(Result::is_ok));
        for (path, bytes) in &files {
            assert_eq!(&fs::read(path).unwrap(), bytes);
        }
        let left = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(left, files.len(), "no temp file left");
    }

    #[cfg(unix)]
    #[test]
    fn atomic_writes_are_private_and_leave_no_temp_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("identity");
        fs::write(sibling(&path, ".tmp"), "leftover").unwrap();
        write_atomic(&path, b"secret").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"secret");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!sibling(&path, ".tmp").exists());
    }
}
