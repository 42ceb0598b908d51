//! The layout of a store on disk: the one place that knows where each file of a document's
//! store lives, how a document's path is resolved, and which modes the store keeps.
//!
//! A document is identified by its **canonical path**: symlinks are resolved (the file's own,
//! and its folder's), so every path that reaches one file finds the same store and the same
//! lock. The store of `dir/notes.md` is `dir/.duet/notes.md/`, with `dir` canonical.
//!
//! Folders duet creates are `0700` and its files `0600`: the store holds the document secret
//! and the endpoint key, and the whole history of the text. Opening an existing store tightens
//! looser modes (stores made before format version 3 were `0755`/`0644`).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::StoreError;
use super::lock::Lock;

/// Name of the folder, beside the plain files, that holds their stores.
pub const STORE_DIR: &str = ".duet";

/// The file in a store folder that publishes the ticket of the session that has it open.
pub const TICKET_FILE: &str = "ticket";

/// The mode of the folders duet creates.
const DIR_MODE: u32 = 0o700;

/// How many symlinks resolving a path may follow (as the kernel's `ELOOP` limit).
const MAX_LINKS: usize = 40;

/// The paths of one document's store.
#[derive(Clone, Debug)]
pub struct Paths {
    /// The plain file, canonical.
    pub plain: PathBuf,
    /// `.duet/` beside it.
    pub root: PathBuf,
    /// The store folder, `.duet/NAME/`.
    pub dir: PathBuf,
    /// `identity`: document id and secret, replica id, endpoint key, where the store lives.
    pub identity: PathBuf,
    /// `state`: known peers, what duet last wrote to the plain file.
    pub state: PathBuf,
    /// `snapshot`: the document at the last compaction.
    pub snapshot: PathBuf,
    /// `log`: ops since the snapshot.
    pub log: PathBuf,
    /// `lock`: the advisory lock and the record of a clean close.
    pub lock: PathBuf,
    /// `floor`: the plain file's text when the store was found damaged, until the next save.
    pub floor: PathBuf,
    /// `editor`: this user's undo history and the version last seen (see `editor.rs`).
    pub editor: PathBuf,
    /// `plain-backup`: the plain file's previous bytes while it is overwritten in place.
    pub plain_backup: PathBuf,
    /// `last-recovery.txt`: the last recovery report, for people.
    pub report: PathBuf,
    /// `ticket`: the ticket of the session that has the document open (for `duet ticket`).
    pub ticket: PathBuf,
    /// `building`: present only in a store being built, never in one renamed into place.
    pub building: PathBuf,
}

impl Paths {
    /// The store paths of the document whose plain file is `file` (which need not exist; its
    /// folder must).
    pub fn new(file: &Path) -> Result<Paths, StoreError> {
        let plain = canonical_file(file)?;
        let (Some(name), Some(parent)) = (plain.file_name(), plain.parent()) else {
            return Err(StoreError::NotAFile {
                path: file.to_path_buf(),
            });
        };
        let root = parent.join(STORE_DIR);
        let dir = root.join(name);
        Ok(Paths::within(plain.clone(), root, dir))
    }

    fn within(plain: PathBuf, root: PathBuf, dir: PathBuf) -> Paths {
        Paths {
            plain,
            identity: dir.join("identity"),
            state: dir.join("state"),
            snapshot: dir.join("snapshot"),
            log: dir.join("log"),
            lock: dir.join("lock"),
            floor: dir.join("floor"),
            editor: dir.join("editor"),
            plain_backup: dir.join("plain-backup"),
            report: dir.join("last-recovery.txt"),
            ticket: dir.join(TICKET_FILE),
            building: dir.join("building"),
            root,
            dir,
        }
    }

    /// The same layout in the folder `dir` (a store being built before it is renamed into
    /// place).
    pub fn moved_to(&self, dir: PathBuf) -> Paths {
        Paths::within(self.plain.clone(), self.root.clone(), dir)
    }

    /// The name of a folder in which a new store is built, unique to this attempt.
    pub fn building_dir(&self) -> PathBuf {
        let mut name = self.building_prefix();
        name.push(format!("{:016x}", rand::random::<u64>()));
        self.root.join(name)
    }

    fn building_prefix(&self) -> OsString {
        let mut name = OsString::from(".");
        name.push(self.dir.file_name().unwrap_or_default());
        name.push(".new-");
        name
    }

    /// Creates `.duet/` if it does not exist; returns whether it was created now.
    pub fn create_root(&self) -> Result<bool, StoreError> {
        match create_private_dir(&self.root) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(StoreError::io("create", &self.root, e)),
        }
    }

    /// Removes what is left of stores whose building was interrupted (a crash mid-creation):
    /// folders of this document's building name that hold the `building` mark (set once the
    /// builder holds the folder's lock, removed before the folder is renamed into place) and
    /// whose lock no process holds. A store of another document that happens to have such a
    /// name never has the mark.
    pub fn remove_abandoned_builds(&self) {
        let prefix = self.building_prefix();
        let Ok(entries) = fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !name
                .as_encoded_bytes()
                .starts_with(prefix.as_encoded_bytes())
            {
                continue;
            }
            let build = self.moved_to(entry.path());
            if build.building.exists() && Lock::is_held(&build.lock).is_ok_and(|held| !held) {
                tracing::info!("removing an abandoned store build {}", build.dir.display());
                // Best effort: what is left is harmless, and tried again next time.
                let _ = fs::remove_dir_all(&build.dir);
            }
        }
    }

    /// Tightens the modes of the store folder and its files to `0700`/`0600` where they are
    /// looser; returns what was changed.
    pub fn repair_modes(&self) -> Result<Vec<PathBuf>, StoreError> {
        let mut repaired = Vec::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mut tighten = |path: &Path, meta: &fs::Metadata| -> Result<(), StoreError> {
                let mode = meta.permissions().mode();
                if mode & 0o077 != 0 {
                    fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7700))
                        .map_err(|e| StoreError::io("set permissions of", path, e))?;
                    repaired.push(path.to_path_buf());
                }
                Ok(())
            };
            let meta = fs::metadata(&self.dir).map_err(|e| StoreError::io("stat", &self.dir, e))?;
            tighten(&self.dir, &meta)?;
            let entries =
                fs::read_dir(&self.dir).map_err(|e| StoreError::io("list", &self.dir, e))?;
            for entry in entries.flatten() {
                // Symlinks and folders are not ours; their targets are left alone.
                if let Ok(meta) = fs::symlink_metadata(entry.path())
                    && meta.is_file()
                {
                    tighten(&entry.path(), &meta)?;
                }
            }
        }
        Ok(repaired)
    }
}

/// Creates the folder `path` with mode `0700`.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(path)
}

/// The canonical path of the file `file`: symlinks followed to their final target (which need
/// not exist yet), its folder canonicalized. The folder must exist: a typo in a path must not
/// create a folder tree.
fn canonical_file(file: &Path) -> Result<PathBuf, StoreError> {
    let mut path = file.to_path_buf();
    let mut links = 0;
    loop {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(StoreError::io(
                        "resolve",
                        file,
                        io::Error::other("too many levels of symbolic links"),
                    ));
                }
                let target =
                    fs::read_link(&path).map_err(|e| StoreError::io("resolve", &path, e))?;
                path = folder_of(&path).join(target);
            }
            Ok(meta) if meta.is_dir() => {
                return Err(StoreError::NotAFile {
                    path: file.to_path_buf(),
                });
            }
            _ => break,
        }
    }
    let Some(name) = path.file_name() else {
        return Err(StoreError::NotAFile {
            path: file.to_path_buf(),
        });
    };
    let folder = folder_of(&path);
    let folder = fs::canonicalize(folder).map_err(|e| StoreError::io("open folder", folder, e))?;
    Ok(folder.join(name))
}

/// The folder holding `path` (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The store folder of the document whose plain file is `file`, for tools that look into it
/// (the published ticket, "does this file have a store"). Resolves symlinks like opening
/// does; creates nothing.
pub fn store_dir_of(file: &Path) -> Result<PathBuf, StoreError> {
    Ok(Paths::new(file)?.dir)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn symlinks_and_relative_paths_resolve_to_one_store() {
        let dir = tempfile::tempdir().unwrap();
        let real = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir(real.join("docs")).unwrap();
        fs::write(real.join("docs/notes.md"), "x").unwrap();
        std::os::unix::fs::symlink(real.join("docs/notes.md"), real.join("link.md")).unwrap();
        std::os::unix::fs::symlink(real.join("docs"), real.join("docs-link")).unwrap();
        // A dangling link: its target does not exist yet.
        std::os::unix::fs::symlink("docs/new.md", real.join("new-link.md")).unwrap();
        let expected = real.join("docs/.duet/notes.md");
        for path in [
            "docs/notes.md",
            "link.md",
            "docs-link/notes.md",
            "docs/../docs/notes.md",
        ] {
            assert_eq!(
                Paths::new(&real.join(path)).unwrap().dir,
                expected,
                "{path}"
            );
        }
        assert_eq!(
            Paths::new(&real.join("new-link.md")).unwrap().plain,
            real.join("docs/new.md")
        );
        assert!(matches!(
            Paths::new(&real.join("docs")),
            Err(StoreError::NotAFile { .. })
        ));
        let err = Paths::new(&real.join("nowhere/notes.md")).unwrap_err();
        assert!(err.to_string().contains("nowhere"), "{err}");
    }
}
