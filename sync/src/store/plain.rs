//! The plain text file: duet's export of the document, and a way in for edits made by other
//! programs.
//!
//! The document always holds `\n` line endings. The file keeps its own: a file whose line
//! breaks are mostly `\r\n` is read with `\r\n` → `\n` and written back with `\n` → `\r\n`;
//! any other file is taken byte for byte. A UTF-8 byte order mark is stripped on import and
//! restored on export. Writes are atomic (a temp file beside the target, fsync, rename) and
//! keep the file's permissions; a symlink is followed, not replaced.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crdt_text::{Doc, Op};
use serde::{Deserialize, Serialize};
use similar::{Algorithm, DiffOp};

use super::StoreError;
use super::format;

const BOM: &str = "\u{feff}";

/// How lines end in the plain file.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum LineEnding {
    /// `\n` (Unix).
    Lf,
    /// `\r\n` (Windows).
    CrLf,
}

/// The plain file's content, as the document sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainText {
    /// The text with `\n` line endings and no byte order mark.
    pub text: String,
    /// The file's line endings.
    pub line_ending: LineEnding,
    /// Whether the file starts with a byte order mark.
    pub bom: bool,
    /// BLAKE3 of the file's bytes.
    pub hash: [u8; 32],
}

/// Reads the plain file; `None` if it does not exist.
pub fn read(path: &Path) -> Result<Option<PlainText>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => decode(path, &bytes).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("read", path, e)),
    }
}

/// Interprets the bytes of the plain file at `path`.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<PlainText, StoreError> {
    let hash = *blake3::hash(bytes).as_bytes();
    let raw = std::str::from_utf8(bytes).map_err(|e| StoreError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.valid_up_to() as u64,
    })?;
    let (bom, raw) = match raw.strip_prefix(BOM) {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let crlf = raw.matches("\r\n").count();
    let lf_only = raw.matches('\n').count() - crlf;
    let (line_ending, text) = if crlf > lf_only {
        (LineEnding::CrLf, raw.replace("\r\n", "\n"))
    } else {
        (LineEnding::Lf, raw.to_string())
    };
    Ok(PlainText {
        text,
        line_ending,
        bom,
        hash,
    })
}

/// The bytes of the plain file for document text `text`.
pub fn render(text: &str, line_ending: LineEnding, bom: bool) -> Vec<u8> {
    let mut out = String::with_capacity(text.len() + if bom { 3 } else { 0 });
    if bom {
        out.push_str(BOM);
    }
    match line_ending {
        LineEnding::Lf => out.push_str(text),
        LineEnding::CrLf => {
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    out.push_str("\r\n");
                }
                out.push_str(line);
            }
        }
    }
    out.into_bytes()
}

/// Replaces the plain file with `bytes` atomically, keeping its permissions and following a
/// symlink to its target.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let target: PathBuf = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(|e| StoreError::io("resolve symlink", path, e))?
        }
        _ => path.to_path_buf(),
    };
    let permissions = fs::metadata(&target).ok().map(|m| m.permissions());
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let tmp = target.with_file_name(format!(".{name}.duet-tmp"));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| StoreError::io("create", &tmp, e))?;
        file.write_all(bytes)
            .map_err(|e| StoreError::io("write", &tmp, e))?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)
                .map_err(|e| StoreError::io("set permissions of", &tmp, e))?;
        }
        file.sync_all()
            .map_err(|e| StoreError::io("fsync", &tmp, e))?;
        drop(file);
        fs::rename(&tmp, &target).map_err(|e| StoreError::io("rename into place", &target, e))?;
        format::sync_dir(&target)
    })();
    if result.is_err() {
        // Best effort: the temp file is hidden and overwritten next time.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// What importing a changed file did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// The local ops made (already applied to the document).
    pub ops: Vec<Op>,
    /// Characters inserted.
    pub inserted: usize,
    /// Characters deleted.
    pub deleted: usize,
}

/// How long the diff may search for a minimal edit before settling for a larger one.
const DIFF_BUDGET: Duration = Duration::from_secs(1);

/// Edits `doc` (as local edits) until its text is `target`, with a minimal character diff.
pub fn import_diff(doc: &mut Doc, target: &str) -> Imported {
    let old: Vec<char> = doc.text().chars().collect();
    let new: Vec<char> = target.chars().collect();
    let diff = similar::capture_diff_slices_deadline(
        Algorithm::Myers,
        &old,
        &new,
        Some(Instant::now() + DIFF_BUDGET),
    );
    let mut out = Imported::default();
    // Back to front, so the old indexes of earlier hunks stay valid.
    for hunk in diff.iter().rev() {
        let (del, ins) = match *hunk {
            DiffOp::Equal { .. } => continue,
            DiffOp::Delete {
                old_index, old_len, ..
            } => ((old_index, old_len), None),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => ((old_index, 0), Some(new_index..new_index + new_len)),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => ((old_index, old_len), Some(new_index..new_index + new_len)),
        };
        let (pos, len) = del;
        if len > 0 {
            out.ops.push(doc.delete(pos, len));
            out.deleted += len;
        }
        if let Some(range) = ins {
            let text: String = new[range.clone()].iter().collect();
            out.ops.push(doc.insert(pos, &text));
            out.inserted += range.len();
        }
    }
    out.ops.retain(|op| !op.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_files_are_normalised_and_restored() {
        let bytes = b"one\r\ntwo\r\nthree";
        let plain = decode(Path::new("f"), bytes).unwrap();
        assert_eq!(plain.text, "one\ntwo\nthree");
        assert_eq!(plain.line_ending, LineEnding::CrLf);
        assert_eq!(render(&plain.text, plain.line_ending, plain.bom), bytes);
    }

    #[test]
    fn lf_files_and_stray_carriage_returns_are_kept_byte_for_byte() {
        let bytes = "a\nb\r\nc\n\rd é\n".as_bytes();
        let plain = decode(Path::new("f"), bytes).unwrap();
        assert_eq!(plain.line_ending, LineEnding::Lf);
        assert_eq!(render(&plain.text, plain.line_ending, plain.bom), bytes);
    }

    #[test]
    fn byte_order_mark_is_stripped_and_restored() {
        let bytes = "\u{feff}hi\r\n".as_bytes();
        let plain = decode(Path::new("f"), bytes).unwrap();
        assert!(plain.bom);
        assert_eq!(plain.text, "hi\n");
        assert_eq!(render(&plain.text, plain.line_ending, plain.bom), bytes);
    }

    #[test]
    fn binary_files_are_refused_with_the_offset() {
        let err = decode(Path::new("img.png"), b"ok\xff\xfe").unwrap_err();
        assert!(
            matches!(err, StoreError::NotUtf8 { offset: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("img.png"));
    }

    #[test]
    fn atomic_write_keeps_permissions_and_follows_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        fs::write(&real, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
            let link = dir.path().join("link.txt");
            std::os::unix::fs::symlink(&real, &link).unwrap();
            write(&link, b"new").unwrap();
            assert!(
                fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(fs::read(&real).unwrap(), b"new");
            let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640);
        }
        write(&real, b"newer").unwrap();
        assert_eq!(fs::read(&real).unwrap(), b"newer");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("duet-tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
