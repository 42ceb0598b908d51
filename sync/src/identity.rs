//! The user's iroh identity: one secret key per user (not per document), so that peers who met
//! this user once recognise the same endpoint id after a restart and can redial it.
//!
//! # Where it lives
//! `$DUET_HOME/identity.key` if the `DUET_HOME` environment variable is set (tests and portable
//! setups use it so they never touch the real home directory), otherwise `identity.key` in the
//! platform's data directory for duet (`~/.local/share/duet` on Linux, `~/Library/Application
//! Support/duet` on macOS, `%APPDATA%\duet\data` on Windows).
//!
//! # File format (version 1)
//! A small text file, readable with `cat`, created with mode `0600` on Unix:
//! ```text
//! duet-identity v1
//! <64 lowercase hex digits: the 32-byte ed25519 secret key>
//! ```
//! A file with another header or a key that is not 64 hex digits is reported as
//! [`IdentityError::Malformed`] and left untouched (never overwritten: it is someone's identity).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use iroh::SecretKey;

/// The environment variable that overrides duet's per-user directory.
pub const HOME_ENV: &str = "DUET_HOME";
/// File name of the identity inside duet's per-user directory.
pub const FILE_NAME: &str = "identity.key";
/// First line of an identity file of the current format.
const HEADER: &str = "duet-identity v1";

/// Why the user's identity could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Neither `DUET_HOME` nor a platform data directory is available.
    #[error("cannot find a directory for duet's per-user data: set {HOME_ENV}")]
    NoHome,
    /// Reading, creating or writing the identity file failed.
    #[error("identity file {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file exists but is not an identity this version of duet understands.
    #[error("identity file {path} is malformed ({reason}); move it away to create a new identity")]
    Malformed {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// duet's per-user directory: `$DUET_HOME` if set, else the platform data directory.
pub fn home_dir() -> Result<PathBuf, IdentityError> {
    if let Some(home) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    directories::ProjectDirs::from("", "", "duet")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or(IdentityError::NoHome)
}

/// The stable author id of the user whose identity key is `key`: derived from its public
/// half, so all their replicas (every document, every store, after a crash) are one author,
/// and the secret never leaves the key file.
pub fn author_id(key: &SecretKey) -> crdt_text::AuthorId {
    let hash = blake3::derive_key("duet author id v1", key.public().as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&hash[..16]);
    crdt_text::AuthorId(id)
}

/// The user's author for recorded history: the identity in `home` (created if missing),
/// `name` and an optional `email`.
pub fn author(
    home: &Path,
    name: &str,
    email: Option<&str>,
) -> Result<crdt_text::Author, IdentityError> {
    let key = load_or_create(home)?;
    Ok(crdt_text::Author::new(author_id(&key), name, email))
}

/// Loads the identity stored in `home`, creating (and persisting) a fresh one if there is none.
pub fn load_or_create(home: &Path) -> Result<SecretKey, IdentityError> {
    let path = home.join(FILE_NAME);
    match fs::read_to_string(&path) {
        Ok(text) => return parse(&text, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(IdentityError::Io { path, source }),
    }
    fs::create_dir_all(home).map_err(|source| IdentityError::Io {
        path: home.to_path_buf(),
        source,
    })?;
    let key = SecretKey::generate();
    match write_new(&path, &key) {
        Ok(()) => Ok(key),
        // Another duet process created it first: use theirs, so both agree.
        Err(IdentityError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            let text = fs::read_to_string(&path).map_err(|source| IdentityError::Io {
                path: path.clone(),
                source,
            })?;
            parse(&text, &path)
        }
        Err(e) => Err(e),
    }
}

/// Parses the content of an identity file.
fn parse(text: &str, path: &Path) -> Result<SecretKey, IdentityError> {
    let malformed = |reason| IdentityError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(HEADER) {
        return Err(malformed("first line is not `duet-identity v1`"));
    }
    let hex = lines.next().map(str::trim).unwrap_or_default();
    let bytes = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex.as_bytes())
        .map_err(|_| malformed("second line is not hexadecimal"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| malformed("key is not 32 bytes"))?;
    if lines.any(|l| !l.trim().is_empty()) {
        return Err(malformed("unexpected content after the key"));
    }
    Ok(SecretKey::from_bytes(&bytes))
}

/// Writes `key` to `path`, failing with `AlreadyExists` if the file appeared meanwhile. The key
/// is written and synced under a temporary name, then hard-linked into place, so `path` is
/// either absent or complete.
fn write_new(path: &Path, key: &SecretKey) -> Result<(), IdentityError> {
    let io = |source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let text = format!(
        "{HEADER}\n{}\n",
        data_encoding::HEXLOWER.encode(&key.to_bytes())
    );
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::hard_link(&tmp, path)?;
        if let Some(dir) = path.parent() {
            // Make the new directory entry durable too (best effort on platforms without it).
            if let Ok(dir) = fs::File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    })();
    let _ = fs::remove_file(&tmp);
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_identity_is_one_author_for_every_document() {
        let dir = tempfile::tempdir().unwrap();
        let a = author(dir.path(), "Ann", Some("ann@example.org")).unwrap();
        let b = author(dir.path(), "Ann B.", None).unwrap();
        assert_eq!(a.id, b.id, "the id comes from the key, not the name");
        let other = tempfile::tempdir().unwrap();
        assert_ne!(author(other.path(), "Ann", None).unwrap().id, a.id);
        assert_eq!(a.email.as_deref(), Some("ann@example.org"));
    }

    fn temp_home(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("duet-identity-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_new_user_gets_an_identity_that_survives_a_restart() {
        let home = temp_home("restart");
        let first = load_or_create(&home).unwrap();
        let again = load_or_create(&home).unwrap();
        assert_eq!(first.public(), again.public());
        let text = fs::read_to_string(home.join(FILE_NAME)).unwrap();
        assert!(text.starts_with("duet-identity v1\n"));
        fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn two_users_get_different_identities() {
        let (a, b) = (temp_home("a"), temp_home("b"));
        let ka = load_or_create(&a).unwrap();
        let kb = load_or_create(&b).unwrap();
        assert_ne!(ka.public(), kb.public());
        fs::remove_dir_all(&a).unwrap();
        fs::remove_dir_all(&b).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let home = temp_home("mode");
        load_or_create(&home).unwrap();
        let mode = fs::metadata(home.join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn a_damaged_identity_is_reported_and_left_alone() {
        let home = temp_home("damaged");
        fs::create_dir_all(&home).unwrap();
        for (content, reason) in [
            ("hello\n", "first line"),
            ("duet-identity v1\nzz\n", "hexadecimal"),
            ("duet-identity v1\nabcd\n", "32 bytes"),
            ("", "first line"),
        ] {
            fs::write(home.join(FILE_NAME), content).unwrap();
            let err = load_or_create(&home).unwrap_err();
            assert!(
                matches!(&err, IdentityError::Malformed { reason: r, .. } if r.contains(reason)),
                "{content:?}: {err}"
            );
            assert!(err.to_string().contains("identity.key"), "{err}");
            assert_eq!(fs::read_to_string(home.join(FILE_NAME)).unwrap(), content);
        }
        fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn an_existing_identity_file_is_read_as_written() {
        let home = temp_home("known");
        fs::create_dir_all(&home).unwrap();
        let key = SecretKey::from_bytes(&[7; 32]);
        fs::write(
            home.join(FILE_NAME),
            format!("duet-identity v1\n{}\n", "07".repeat(32)),
        )
        .unwrap();
        assert_eq!(load_or_create(&home).unwrap().public(), key.public());
        fs::remove_dir_all(&home).unwrap();
    }
}
