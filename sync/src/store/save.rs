//! Writing the plain file without breaking what the user set up around it.
//!
//! - A **read-only** file (no write permission bit) is not written:
//!   [`StoreError::ReadOnly`]; the edits stay in the store.
//! - Normally the file is replaced **atomically**: a temp file beside it (`.NAME.duet-tmp`),
//!   given the file's mode and owner, fsynced and renamed over it.
//! - Where a rename would break something, the file is **overwritten in place**: when it has
//!   other hard links (a rename would detach this name from them), or when its owner or group
//!   cannot be given to a new file (another user's file that we may write). A copy of the
//!   old bytes is written to the store first (`plain-backup`, atomically), then the file is
//!   overwritten and fsynced, and the copy is removed once the store has recorded the new
//!   content ([`finish_in_place`]). A crash in between leaves the copy: the next open
//!   ([`recover_interrupted`]) puts it back if the file does not hold what the store
//!   recorded, so a half-written file is never mistaken for an outside edit.
//! - A symlink is followed to its target, never replaced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::StoreError;
use super::format::{self, NewMode, Staged};

/// How the plain file was written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Written {
    /// Replaced atomically by a new file.
    Replaced,
    /// Overwritten in place; call [`finish_in_place`] once the store recorded it.
    InPlace,
}

/// Writes `bytes` to the plain file `path` (see the module docs). `backup` is where the old
/// bytes are kept during an in-place write.
pub fn write(path: &Path, bytes: &[u8], backup: &Path) -> Result<Written, StoreError> {
    match prepare(path, bytes, backup)? {
        Some(staged) => {
            staged.commit(bytes)?;
            Ok(Written::Replaced)
        }
        None => Ok(Written::InPlace),
    }
}

/// [`write`]s many plain files, those replaced atomically as one group (the store's group
/// commit): the outcome of each, in order. A file overwritten in place has its copy
/// removed at once ([`finish_in_place`]), before the next one needs `backup`.
pub fn write_all(files: &[(PathBuf, &[u8])], backup: &Path) -> Vec<Result<(), StoreError>> {
    files
        .chunks(format::GROUP_FILES)
        .flat_map(|group| write_group(group, backup))
        .collect()
}

fn write_group(files: &[(PathBuf, &[u8])], backup: &Path) -> Vec<Result<(), StoreError>> {
    let mut results: Vec<Option<Result<(), StoreError>>> = files.iter().map(|_| None).collect();
    let mut batch = Vec::new();
    let mut at = Vec::new();
    for (i, (path, bytes)) in files.iter().enumerate() {
        match prepare(path, bytes, backup) {
            Ok(Some(staged)) => {
                batch.push((staged, *bytes));
                at.push(i);
            }
            Ok(None) => {
                finish_in_place(backup);
                results[i] = Some(Ok(()));
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    for (i, result) in at.into_iter().zip(Staged::commit_all(batch)) {
        results[i] = Some(result);
    }
    results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
}

/// The temp file to commit `bytes` into to replace `path`; `None` when the file had to be
/// overwritten in place instead (done, its old bytes kept in `backup`).
fn prepare(path: &Path, bytes: &[u8], backup: &Path) -> Result<Option<Staged>, StoreError> {
    let target = follow(path)?;
    let meta = match fs::metadata(&target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Staged::create(&target, temp_name(&target), NewMode::Default).map(Some);
        }
        Err(e) => return Err(StoreError::io("stat", &target, e)),
    };
    if meta.permissions().readonly() {
        return Err(StoreError::ReadOnly { path: target });
    }
    let staged = staged_like(&target, &meta)?;
    if staged.is_none() {
        overwrite_keeping_backup(&target, bytes, backup)?;
    }
    Ok(staged)
}

/// A symlink's final target; any other path as it is.
fn follow(path: &Path) -> Result<PathBuf, StoreError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|e| StoreError::io("resolve symlink", path, e))
        }
        _ => Ok(path.to_path_buf()),
    }
}

fn temp_name(target: &Path) -> PathBuf {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    target.with_file_name(format!(".{name}.duet-tmp"))
}

/// A temp file that can replace `target` keeping its mode, owner and links; `None` when a
/// rename cannot keep them (then the file is written in place).
#[cfg(unix)]
fn staged_like(target: &Path, meta: &fs::Metadata) -> Result<Option<Staged>, StoreError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if meta.nlink() > 1 {
        return Ok(None);
    }
    let mode = meta.permissions().mode() & 0o7777;
    let staged = match Staged::create(target, temp_name(target), NewMode::Copy(mode)) {
        Ok(staged) => staged,
        // A folder we may not create files in, holding a file we may write.
        Err(StoreError::Io { error, .. }) if error.kind() == io::ErrorKind::PermissionDenied => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let file = staged.file();
    let ours = file
        .metadata()
        .map_err(|e| StoreError::io("stat", target, e))?;
    if (ours.uid(), ours.gid()) != (meta.uid(), meta.gid()) {
        if std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).is_err() {
            // Only the owner's own process (or root) can give a file away.
            return Ok(None);
        }
        // Changing the owner clears set-id bits: put the mode back.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| StoreError::io("set permissions of", target, e))?;
    }
    Ok(Some(staged))
}

#[cfg(not(unix))]
fn staged_like(target: &Path, meta: &fs::Metadata) -> Result<Option<Staged>, StoreError> {
    let _ = meta;
    Staged::create(target, temp_name(target), NewMode::Default).map(Some)
}

/// Keeps the old bytes in `backup`, then overwrites `target` in place and fsyncs it.
fn overwrite_keeping_backup(target: &Path, bytes: &[u8], backup: &Path) -> Result<(), StoreError> {
    // Opened first: a file we may not write is refused before anything is done.
    let mut file = open_to_overwrite(target)?;
    let old = format::read(target)?;
    format::write_atomic(backup, &old)?;
    let result = overwrite(&mut file, target, bytes);
    // Half-written: put the old bytes back (if that fails too, the backup stays and the
    // next open restores it).
    if result.is_err() && overwrite(&mut file, target, &old).is_ok() {
        let _ = fs::remove_file(backup);
    }
    result
}

fn open_to_overwrite(target: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .write(true)
        .open(target)
        .map_err(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => StoreError::ReadOnly {
                path: target.to_path_buf(),
            },
            _ => StoreError::io("open", target, e),
        })
}

/// Overwrites the open file `target` with `bytes` in place and fsyncs it.
fn overwrite(file: &mut File, target: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.write_all(bytes))
        .and_then(|()| file.set_len(bytes.len() as u64))
        .and_then(|()| file.sync_all())
        .map_err(|e| StoreError::io("write", target, e))
}

/// Removes the copy kept during an in-place write, once the store recorded the new content.
pub fn finish_in_place(backup: &Path) {
    if let Err(e) = fs::remove_file(backup) {
        // Harmless: the next open sees the file matches the record and removes it.
        tracing::warn!("cannot remove {}: {e}", backup.display());
    }
}

/// What [`recover_interrupted`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Interrupted {
    /// No in-place write was interrupted.
    Nothing,
    /// A write finished but its copy was left; removed.
    Finished,
    /// A write was cut short: the file's previous bytes were put back.
    Restored,
}

/// Finishes or undoes an in-place write that a crash interrupted: if `backup` exists and the
/// plain file does not hash to `recorded` (what the store last recorded writing), the
/// backup's bytes are put back.
pub fn recover_interrupted(
    plain: &Path,
    backup: &Path,
    recorded: Option<&[u8; 32]>,
) -> Result<Interrupted, StoreError> {
    let Some(old) = format::read_if_exists(backup)? else {
        return Ok(Interrupted::Nothing);
    };
    let current = format::read_if_exists(plain)?;
    let finished = current
        .as_ref()
        .is_some_and(|c| recorded == Some(blake3::hash(c).as_bytes()));
    // A file deleted since has nothing to repair: the store holds the text.
    if !finished && current.is_some() {
        let target = follow(plain)?;
        overwrite(&mut open_to_overwrite(&target)?, &target, &old)?;
    }
    fs::remove_file(backup).map_err(|e| StoreError::io("remove", backup, e))?;
    Ok(if finished {
        Interrupted::Finished
    } else {
        Interrupted::Restored
    })
}
