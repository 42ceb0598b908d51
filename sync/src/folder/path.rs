//! Paths inside a shared folder: what a file or folder may be called, checked wherever a path
//! comes in (the user, the disk, a peer).
//!
//! A path is relative to the folder's root, its components separated by `/`. Every component
//! is a [`valid name`](check_name): not empty, not `.` or `..`, no `/`, `\` or NUL, at most
//! [`MAX_NAME_BYTES`] bytes, and never `.git` or `.duet` (in any letter case): a peer must not
//! be able to write into a repository's hooks or into duet's own store. So a path from a peer
//! can be joined to the folder's root without ever leaving it.

/// Longest name of one file or folder, in bytes (the common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;

/// Longest path, in bytes (the common `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;

/// Folder names that are never shared nor written: git's repository and duet's store.
pub const RESERVED_NAMES: [&str; 2] = [".git", crate::store::STORE_DIR];

/// Why a path or name cannot be part of a shared folder.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path or one of its components is empty (`a//b`, a leading or trailing `/`).
    #[error("{path:?}: a path is names separated by single slashes, with no empty name")]
    Empty {
        /// The path.
        path: String,
    },
    /// A component is `.` or `..`.
    #[error("{path:?}: `.` and `..` cannot be part of a shared path")]
    Dots {
        /// The path.
        path: String,
    },
    /// A name holds a character no shared name may hold.
    #[error("{path:?}: names may not contain {found:?}")]
    BadChar {
        /// The path.
        path: String,
        /// The character.
        found: char,
    },
    /// A component is `.git` or `.duet`.
    #[error("{path:?}: {name:?} is never shared")]
    Reserved {
        /// The path.
        path: String,
        /// The reserved component.
        name: String,
    },
    /// A name or the whole path is too long.
    #[error("{path:?}: longer than {limit} bytes")]
    TooLong {
        /// The path (cut for display).
        path: String,
        /// The limit exceeded.
        limit: usize,
    },
}

/// Checks one name (a path component).
pub fn check_name(name: &str) -> Result<(), PathError> {
    let err_path = || cut(name);
    if name.is_empty() {
        return Err(PathError::Empty { path: err_path() });
    }
    if name == "." || name == ".." {
        return Err(PathError::Dots { path: err_path() });
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(PathError::TooLong {
            path: err_path(),
            limit: MAX_NAME_BYTES,
        });
    }
    if let Some(found) = name.chars().find(|c| matches!(c, '/' | '\\' | '\0')) {
        return Err(PathError::BadChar {
            path: err_path(),
            found,
        });
    }
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(PathError::Reserved {
            path: err_path(),
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Checks a whole path and returns its components.
pub fn split_path(path: &str) -> Result<Vec<&str>, PathError> {
    if path.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong {
            path: cut(path),
            limit: MAX_PATH_BYTES,
        });
    }
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts {
        check_name(part).map_err(|e| with_path(e, path))?;
    }
    Ok(parts)
}

/// The same error about the whole `path` rather than one of its names.
fn with_path(e: PathError, path: &str) -> PathError {
    let path = cut(path);
    match e {
        PathError::Empty { .. } => PathError::Empty { path },
        PathError::Dots { .. } => PathError::Dots { path },
        PathError::BadChar { found, .. } => PathError::BadChar { path, found },
        PathError::Reserved { name, .. } => PathError::Reserved { path, name },
        PathError::TooLong { limit, .. } => PathError::TooLong { path, limit },
    }
}

/// `s`, cut to a length fit for a message.
fn cut(s: &str) -> String {
    const SHOWN: usize = 80;
    match s.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// `name` with `tag` before its extension: `("notes.md", "bob")` → `notes (bob).md`. A leading
/// dot does not start an extension (`.bashrc` → `.bashrc (bob)`).
pub fn tagged_name(name: &str, tag: &str) -> String {
    let split = name.rfind('.').filter(|&at| at > 0);
    let (stem, ext) = split.map_or((name, ""), |at| name.split_at(at));
    format!("{stem} ({tag}){ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_paths_split_into_their_names() {
        assert_eq!(split_path("notes.md"), Ok(vec!["notes.md"]));
        assert_eq!(
            split_path("src/folder/a b.rs"),
            Ok(vec!["src", "folder", "a b.rs"])
        );
        assert_eq!(split_path(".github/ci.yml"), Ok(vec![".github", "ci.yml"]));
    }

    #[test]
    fn paths_that_could_leave_the_folder_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "a//b",
            "a/",
            "../x",
            "a/./b",
            "a/../../b",
        ] {
            assert!(split_path(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(matches!(
            split_path("a\\..\\b"),
            Err(PathError::BadChar { found: '\\', .. })
        ));
    }

    #[test]
    fn git_and_duet_folders_are_never_shared_in_any_case() {
        for bad in [
            ".git/hooks/pre-commit",
            "sub/.GIT/config",
            ".duet/x/identity",
        ] {
            assert!(
                matches!(split_path(bad), Err(PathError::Reserved { .. })),
                "{bad:?}"
            );
        }
        assert!(split_path(".gitignore").is_ok());
    }

    #[test]
    fn overlong_names_are_refused_with_the_limit() {
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        assert!(matches!(
            split_path(&format!("a/{long}")),
            Err(PathError::TooLong {
                limit: MAX_NAME_BYTES,
                ..
            })
        ));
    }

    #[test]
    fn a_tag_goes_before_the_extension() {
        assert_eq!(tagged_name("notes.md", "bob"), "notes (bob).md");
        assert_eq!(tagged_name("archive.tar.gz", "bob"), "archive.tar (bob).gz");
        assert_eq!(tagged_name(".bashrc", "bob"), ".bashrc (bob)");
        assert_eq!(tagged_name("Makefile", "bob 2"), "Makefile (bob 2)");
    }
}
