//! Opening a store, or creating one: a new store is built complete in a temporary folder
//! beside where it goes (`.duet/.NAME.new-RANDOM/`, holding its own lock) and renamed into
//! place, so `.duet/NAME/` exists only as a whole store. A refused plain file (binary, too
//! large), a refused join or any failure removes the temporary folder, and `.duet/` too when
//! it was made for this store; a crash leaves only the temporary folder, which the next
//! creation removes once no process holds its lock.

use std::fs;
use std::io;

use crdt_text::Doc;

use super::format;
use super::home::Home;
use super::lock::Lock;
use super::log::{self, LogWriter};
use super::meta::{self, EndpointKey, Identity, PlainState, State};
use super::paths::{self, Paths};
use super::plain::{self, Merge};
use super::{Opened, Store, StoreError};
use crate::ids::{DocId, DocSecret};

/// Opens the store at `paths`, or creates it (for a document joined with `join`, else a new
/// one).
pub(super) fn open_or_create(
    paths: Paths,
    join: Option<(DocId, DocSecret)>,
) -> Result<Opened, StoreError> {
    // A store created by another process between our look and our rename is opened instead.
    for _ in 0..2 {
        if fs::symlink_metadata(&paths.dir).is_ok() {
            let lock = Lock::acquire(&paths.lock)?;
            match meta::read_identity(&paths.identity)? {
                Some((found, identity)) => {
                    if let Some((expected, _)) = &join
                        && *expected != found
                    {
                        return Err(StoreError::WrongDocument {
                            path: paths.identity.clone(),
                            expected: *expected,
                            found,
                        });
                    }
                    return Store::load(paths, lock, found, identity);
                }
                None => remove_leftover(&paths, lock)?,
            }
        }
        if let Some(opened) = create(&paths, join.clone())? {
            return Ok(opened);
        }
    }
    Err(StoreError::io(
        "create",
        &paths.dir,
        io::Error::other("another process keeps creating and removing this store"),
    ))
}

/// A store folder without an identity: what an older duet left when it refused a file (only
/// a lock, perhaps a state or ticket: removed), or a store that lost it (an error, and
/// nothing is changed).
fn remove_leftover(paths: &Paths, lock: Lock) -> Result<(), StoreError> {
    let transient = |name: &std::ffi::OsStr| {
        let name = name.to_string_lossy();
        // The session's published ticket (see `net`) is the one file not of the store's own.
        [
            "lock",
            "state",
            "last-recovery.txt",
            super::paths::TICKET_FILE,
        ]
        .contains(&name.as_ref())
            || name.ends_with(".tmp")
    };
    let entries = fs::read_dir(&paths.dir).map_err(|e| StoreError::io("list", &paths.dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("list", &paths.dir, e))?;
        if !transient(&entry.file_name()) {
            return Err(StoreError::MissingIdentity {
                path: paths.identity.clone(),
            });
        }
    }
    tracing::info!(
        "removing {}, a store folder without history",
        paths.dir.display()
    );
    fs::remove_dir_all(&paths.dir).map_err(|e| StoreError::io("remove", &paths.dir, e))?;
    drop(lock);
    Ok(())
}

/// Creates the store; `None` if another process created it first.
fn create(paths: &Paths, join: Option<(DocId, DocSecret)>) -> Result<Option<Opened>, StoreError> {
    // Everything that can refuse the file is checked before anything is created.
    if join.is_some() && fs::metadata(&paths.plain).is_ok_and(|m| m.len() > 0) {
        return Err(StoreError::PlainFileExists {
            path: paths.plain.clone(),
        });
    }
    let text = plain::read(&paths.plain)?;
    let made_root = paths.create_root()?;
    paths.remove_abandoned_builds();
    let building = paths.building_dir();
    let result = paths::create_private_dir(&building)
        .map_err(|e| StoreError::io("create", &building, e))
        .and_then(|()| build(paths, &building, join, text));
    if !matches!(result, Ok(Some(_))) {
        // Best effort: a leftover build is removed by the next creation.
        let _ = fs::remove_dir_all(&building);
        if made_root && result.is_err() {
            // Only if still empty: another store may have been created meanwhile.
            let _ = fs::remove_dir(&paths.root);
        }
    }
    result
}

/// Builds a complete store in `building` and renames it into place.
fn build(
    paths: &Paths,
    building: &std::path::Path,
    join: Option<(DocId, DocSecret)>,
    text: Option<plain::PlainText>,
) -> Result<Option<Opened>, StoreError> {
    let tmp = paths.moved_to(building.to_path_buf());
    let mut lock = Lock::acquire(&tmp.lock)?;
    fs::write(&tmp.building, b"").map_err(|e| StoreError::io("create", &tmp.building, e))?;
    let (doc_id, secret) = join.unwrap_or_else(|| (DocId::random(), DocSecret::random()));
    let root =
        fs::canonicalize(&paths.root).map_err(|e| StoreError::io("resolve", &paths.root, e))?;
    let identity = Identity {
        secret,
        replica: rand::random(),
        endpoint: EndpointKey::random(),
        home: Home::of(building)?.at(&root.join(paths.dir.file_name().unwrap_or_default())),
    };
    meta::write_identity(&tmp.identity, &doc_id, &identity)?;
    let mut doc = Doc::new(identity.replica());
    let mut state = State::default();
    let mut frames = Vec::new();
    let mut count = 0;
    if let Some(file) = text {
        let imported = plain::import_diff(&mut doc, &file.text, Merge::Replace);
        count = log::encode_frames(&doc_id, &imported.ops, &mut frames)?;
        state.plain = Some(PlainState {
            hash: file.hash,
            line_ending: file.line_ending,
            bom: file.bom,
            exported: doc.version(),
        });
    }
    meta::write_state(&tmp.state, &doc_id, &state)?;
    let mut log = LogWriter::create(&tmp.log, &doc_id, &frames, count)?;
    // Marked open before it appears: a crash from here on is seen as one.
    lock.mark_open()?;
    fs::remove_file(&tmp.building).map_err(|e| StoreError::io("remove", &tmp.building, e))?;
    match fs::rename(building, &paths.dir) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::AlreadyExists | io::ErrorKind::DirectoryNotEmpty
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(StoreError::io("move into place", &paths.dir, e)),
    }
    format::sync_dir(&paths.dir)?;
    lock.moved_to(paths.lock.clone());
    log.moved_to(paths.log.clone());
    let version = doc.version();
    let store = Store {
        paths: paths.clone(),
        lock,
        doc_id,
        identity,
        state,
        log,
        buffered: Vec::new(),
        flush: Default::default(),
        snapshot_len: 0,
        snapshot_checksum: None,
        version,
        floor: None,
        drop_confirmed: false,
        closed: false,
    };
    Ok(Some(Opened {
        store,
        doc,
        warnings: Vec::new(),
        report: None,
    }))
}
