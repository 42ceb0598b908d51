//! Which files of a folder are shared: a walk of the folder as ripgrep does it (the `ignore`
//! crate), keeping UTF-8 text files only.
//!
//! - **Ignored, silently:** whatever `.gitignore` files (in the folder, its subfolders and the
//!   folders above it), `.git/info/exclude`, the user's global git excludes, `.ignore` files
//!   (as ripgrep) and `.duetignore` files (same syntax, for what git tracks but duet should not
//!   share) exclude — inside a git repository or not. `.git` and `.duet` (files or folders, any letter case) are never
//!   entered. An ignored file is not read, not listed, and never leaves the machine.
//! - **Skipped, with the reason** ([`SkipReason`]), so the picker can list them: binary files
//!   (a NUL byte), files that are not UTF-8, files over the size limit, symbolic links and
//!   other non-regular files (following links could share files outside the folder), names a
//!   shared folder cannot hold (see [`path`](super::path)), and what could not be read.
//! - **Shared:** everything else, in path order.
//!
//! If an ignore file cannot be read or parsed (or is a folder), the scan is refused
//! ([`ScanError::Rules`]):
//! sharing with half the rules could send out a file the user meant to keep home.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path};

use ignore::WalkBuilder;

use super::path::{PathError, RESERVED_NAMES, split_path};
use crate::store::MAX_PLAIN_FILE;

/// The per-folder ignore file of duet (`.gitignore` syntax).
pub const DUETIGNORE: &str = ".duetignore";

/// Files larger than this are not shared by default (8 MiB): every peer keeps every shared
/// file, with its history.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 8 << 20;

/// How to scan.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    /// Larger files are skipped ([`SkipReason::TooLarge`]); at most [`MAX_PLAIN_FILE`].
    pub max_file_bytes: u64,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// A file that is shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedFile {
    /// Its path in the folder (`/`-separated, a valid shared path).
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// BLAKE3 of its bytes when scanned (tells later whether it changed).
    pub hash: [u8; 32],
}

/// A file that is not shared, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Its path in the folder, as far as it could be read (lossy for non-UTF-8 names).
    pub path: String,
    /// Why it is not shared.
    pub reason: SkipReason,
}

/// Why a file is not shared.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// It holds a NUL byte: a binary file.
    #[error("binary file (a NUL byte at offset {offset})")]
    Binary {
        /// Where the first NUL is.
        offset: u64,
    },
    /// It is not UTF-8 text.
    #[error("not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Where the first invalid byte is.
        offset: u64,
    },
    /// It is over the size limit.
    #[error("{bytes} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// A symbolic link (only regular files are shared; a link could point outside).
    #[error("a symbolic link (only regular files are shared)")]
    Symlink,
    /// A socket, FIFO or device.
    #[error("not a regular file")]
    NotAFile,
    /// Its name is not UTF-8.
    #[error("its name is not UTF-8")]
    NameNotUtf8,
    /// Its name cannot be shared.
    #[error(transparent)]
    Name(#[from] PathError),
    /// It (or its folder) could not be read.
    #[error("could not be read: {0}")]
    Unreadable(String),
}

/// Why a folder cannot be scanned at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// The folder does not exist or is not a folder.
    #[error("{path}: {error}")]
    Root {
        /// The folder.
        path: String,
        /// What is wrong.
        error: String,
    },
    /// An ignore file could not be read or parsed: nothing is shared until it is fixed.
    #[error("an ignore rule could not be read, so nothing is shared until it is fixed: {0}")]
    Rules(String),
}

/// What a scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Files to share, by path.
    pub files: Vec<ScannedFile>,
    /// Files not shared, by path, with the reason.
    pub skipped: Vec<Skipped>,
}

/// Scans the folder `root` (see the module docs).
pub fn scan(root: &Path, cfg: &ScanConfig) -> Result<Scan, ScanError> {
    let meta = std::fs::metadata(root).map_err(|e| ScanError::Root {
        path: root.display().to_string(),
        error: e.to_string(),
    })?;
    if !meta.is_dir() {
        return Err(ScanError::Root {
            path: root.display().to_string(),
            error: "not a folder".into(),
        });
    }
    let walk = WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .add_custom_ignore_filename(DUETIGNORE)
        .filter_entry(|entry| !is_reserved(entry.file_name().to_str()))
        .build();
    let mut out = Scan::default();
    for item in walk {
        let entry = match item {
            Ok(entry) => entry,
            Err(e) => {
                out.skipped.push(Skipped {
                    path: error_path(root, &e),
                    reason: SkipReason::Unreadable(e.to_string()),
                });
                continue;
            }
        };
        if let Some(e) = entry.error() {
            return Err(ScanError::Rules(e.to_string()));
        }
        if entry.depth() == 0 {
            continue;
        }
        let Some(kind) = entry.file_type() else {
            continue;
        };
        if is_rule_file(entry.file_name().to_str()) {
            // The walk skips an ignore file it cannot read; sharing without its rules could
            // send out what they keep home.
            if let Err(e) = std::fs::read(entry.path()) {
                let at = entry.path().display();
                return Err(ScanError::Rules(format!("{at}: {e}")));
            }
        }
        if kind.is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let shown: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
        let shown = shown.join("/");
        let skip = |reason| Skipped {
            path: shown.clone(),
            reason,
        };
        let path = match shared_path(rel) {
            Ok(path) => path,
            Err(reason) => {
                out.skipped.push(skip(reason));
                continue;
            }
        };
        if kind.is_symlink() {
            out.skipped.push(skip(SkipReason::Symlink));
            continue;
        }
        if !kind.is_file() {
            out.skipped.push(skip(SkipReason::NotAFile));
            continue;
        }
        match read_text(entry.path(), cfg) {
            Ok(text) => out.files.push(ScannedFile {
                path,
                bytes: text.len() as u64,
                hash: *blake3::hash(text.as_bytes()).as_bytes(),
            }),
            Err(reason) => out.skipped.push(skip(reason)),
        }
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    out.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Reads the file at `path` if it is shareable text (UTF-8, no NUL, within the limit).
pub fn read_text(path: &Path, cfg: &ScanConfig) -> Result<String, SkipReason> {
    let limit = cfg.max_file_bytes.min(MAX_PLAIN_FILE);
    let unreadable = |e: io::Error| SkipReason::Unreadable(e.to_string());
    let file = File::open(path).map_err(unreadable)?;
    let bytes = file.metadata().map_err(unreadable)?.len();
    if bytes > limit {
        return Err(SkipReason::TooLarge { bytes, limit });
    }
    let mut buf = Vec::with_capacity(bytes as usize);
    // The file may grow while it is read: at most one byte past the limit.
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(unreadable)?;
    if buf.len() as u64 > limit {
        return Err(SkipReason::TooLarge {
            bytes: buf.len() as u64,
            limit,
        });
    }
    if let Some(offset) = buf.iter().position(|&b| b == 0) {
        return Err(SkipReason::Binary {
            offset: offset as u64,
        });
    }
    String::from_utf8(buf).map_err(|e| SkipReason::NotUtf8 {
        offset: e.utf8_error().valid_up_to() as u64,
    })
}

/// The shared path of `rel` (relative to the folder), if it can be one.
fn shared_path(rel: &Path) -> Result<String, SkipReason> {
    let mut parts = Vec::new();
    for component in rel.components() {
        match component {
            Component::Normal(name) => parts.push(name.to_str().ok_or(SkipReason::NameNotUtf8)?),
            _ => return Err(SkipReason::Unreadable(format!("unexpected path {rel:?}"))),
        }
    }
    let path = parts.join("/");
    split_path(&path)?;
    Ok(path)
}

/// Whether `name` is a file of ignore rules the walk reads.
fn is_rule_file(name: Option<&str>) -> bool {
    name.is_some_and(|n| [".gitignore", ".ignore", DUETIGNORE].contains(&n))
}

fn is_reserved(name: Option<&str>) -> bool {
    name.is_some_and(|n| RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(n)))
}

/// The folder-relative path an error of the walk is about, if it names one.
fn error_path(root: &Path, e: &ignore::Error) -> String {
    fn find(e: &ignore::Error) -> Option<&Path> {
        match e {
            ignore::Error::WithPath { path, .. } => Some(path),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                find(err)
            }
            ignore::Error::Partial(errs) => errs.iter().find_map(find),
            _ => None,
        }
    }
    find(e).map_or_else(String::new, |p| {
        p.strip_prefix(root).unwrap_or(p).to_string_lossy().into()
    })
}
