//! The store among the user's files: copies and moves of the folder, private modes, saving
//! without breaking what is set up around the plain file, and no half-made stores.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is the test failing

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use duet_sync::ids::{DocId, DocSecret};
use duet_sync::store::{Opened, Store, StoreError, StoreWarning};

fn open(file: &Path) -> Opened {
    Store::open(file).unwrap_or_else(|e| panic!("open {}: {e}", file.display()))
}

fn type_at_end(o: &mut Opened, text: &str) {
    let end = o.doc.len();
    let op = o.doc.insert(end, text);
    o.store.append(&[op]).unwrap();
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A project folder holding `notes.md` and its store, closed.
fn project(root: &Path) -> PathBuf {
    let folder = root.join("project");
    fs::create_dir(&folder).unwrap();
    let file = folder.join("notes.md");
    fs::write(&file, "shared notes\n").unwrap();
    open(&file).store.close().unwrap();
    folder
}

#[test]
fn a_copied_folder_continues_under_new_ids_and_a_moved_one_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let original = project(dir.path());
    let copy = dir.path().join("copy");
    let status = Command::new("cp")
        .args(["-r"])
        .arg(&original)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());

    let a = open(&original.join("notes.md"));
    let b = open(&copy.join("notes.md"));
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    assert_eq!(a.store.doc_id(), b.store.doc_id(), "still one document");
    assert_ne!(a.store.replica(), b.store.replica());
    assert_ne!(a.store.endpoint_secret(), b.store.endpoint_secret());
    assert_eq!(b.doc.replica(), b.store.replica());
    assert!(
        b.warnings.iter().any(|w| matches!(w,
            StoreWarning::Copied { from } if *from == fs::canonicalize(&original).unwrap().join(".duet/notes.md"))),
        "{:?}",
        b.warnings
    );
    let report = b.report.as_ref().expect("a copy is reported").to_string();
    assert!(report.contains("copy"), "{report}");
    let (replica, endpoint) = (b.store.replica(), b.store.endpoint_secret());
    let (a_replica, a_endpoint) = (a.store.replica(), a.store.endpoint_secret());
    drop((a, b));

    // The copy is now a store of its own: reopened, it keeps its new ids.
    let b = open(&copy.join("notes.md"));
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    assert_eq!(
        (b.store.replica(), b.store.endpoint_secret()),
        (replica, endpoint)
    );
    drop(b);

    // A moved folder is the same store.
    let moved = dir.path().join("moved");
    fs::rename(&original, &moved).unwrap();
    let a = open(&moved.join("notes.md"));
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    assert_eq!(
        (a.store.replica(), a.store.endpoint_secret()),
        (a_replica, a_endpoint)
    );
    drop(a);
    let a = open(&moved.join("notes.md"));
    assert!(
        a.warnings.is_empty(),
        "the new place is recorded: {:?}",
        a.warnings
    );
}

#[test]
fn a_new_store_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    fs::write(&file, "secret plans\n").unwrap();
    let mut o = open(&file);
    o.store.snapshot_now(&o.doc).unwrap();
    o.store.close().unwrap();
    let store = dir.path().join(".duet/notes.md");
    assert_eq!(mode(&dir.path().join(".duet")), 0o700);
    assert_eq!(mode(&store), 0o700);
    let files: Vec<PathBuf> = fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() >= 5, "{files:?}");
    for path in files {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    // A `.duet` folder that was already there keeps its mode; the store in it is private.
    let other = dir.path().join("other");
    fs::create_dir_all(other.join(".duet")).unwrap();
    set_mode(&other.join(".duet"), 0o755);
    open(&other.join("b.md"));
    assert_eq!(mode(&other.join(".duet")), 0o755);
    assert_eq!(mode(&other.join(".duet/b.md")), 0o700);
}

#[test]
fn a_read_only_file_is_not_written_and_the_edits_stay_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    fs::write(&file, "draft\n").unwrap();
    set_mode(&file, 0o444);
    let mut o = open(&file);
    type_at_end(&mut o, "more\n");
    let err = o.store.write_plain_file(&o.doc).unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
    assert!(err.to_string().contains("notes.md is read-only"), "{err}");
    assert_eq!(fs::read_to_string(&file).unwrap(), "draft\n");
    assert_eq!(mode(&file), 0o444);
    drop(o);
    let o = open(&file);
    assert_eq!(o.doc.text(), "draft\nmore\n");
}

#[test]
fn saving_keeps_hard_links_and_modes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    let link = dir.path().join("also-notes.md");
    fs::write(&file, "one\n").unwrap();
    fs::hard_link(&file, &link).unwrap();
    set_mode(&file, 0o640);
    let inode = fs::metadata(&file).unwrap().ino();

    let mut o = open(&file);
    type_at_end(&mut o, "two\n");
    o.store.write_plain_file(&o.doc).unwrap();
    for path in [&file, &link] {
        let meta = fs::metadata(path).unwrap();
        assert_eq!((meta.ino(), meta.nlink()), (inode, 2), "{}", path.display());
        assert_eq!(fs::read_to_string(path).unwrap(), "one\ntwo\n");
    }
    assert_eq!(mode(&file), 0o640);
    assert!(!o.store.dir().join("plain-backup").exists());
    drop(o);
    assert!(
        open(&file).warnings.is_empty(),
        "own save is not an outside edit"
    );

    // Without links the file is replaced atomically, keeping its mode.
    fs::remove_file(&link).unwrap();
    let mut o = open(&file);
    type_at_end(&mut o, "three\n");
    o.store.write_plain_file(&o.doc).unwrap();
    assert_eq!(mode(&file), 0o640);
    assert_eq!(fs::read_to_string(&file).unwrap(), "one\ntwo\nthree\n");
}

#[test]
fn saving_keeps_the_owner_of_someone_elses_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    fs::write(&file, "theirs\n").unwrap();
    if fs::metadata(&file).unwrap().uid() != 0 {
        eprintln!("skipped: only root can give a file to another user");
        return;
    }
    std::os::unix::fs::chown(&file, Some(4242), Some(4343)).unwrap();
    let mut o = open(&file);
    type_at_end(&mut o, "ours\n");
    o.store.write_plain_file(&o.doc).unwrap();
    let meta = fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4242, 4343));
    assert_eq!(fs::read_to_string(&file).unwrap(), "theirs\nours\n");
}

#[test]
fn an_interrupted_in_place_save_is_undone_not_imported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    fs::write(&file, "first line\nsecond line\n").unwrap();
    let o = open(&file);
    let store = o.store.dir().to_path_buf();
    drop(o);
    // What a crash in the middle of an in-place save leaves: the old bytes kept aside, the
    // file half overwritten.
    fs::copy(&file, store.join("plain-backup")).unwrap();
    fs::write(&file, "first li").unwrap();

    let o = open(&file);
    assert!(
        o.warnings
            .iter()
            .any(|w| matches!(w, StoreWarning::InterruptedSave { .. })),
        "{:?}",
        o.warnings
    );
    assert_eq!(o.doc.text(), "first line\nsecond line\n");
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "first line\nsecond line\n"
    );
    assert!(!store.join("plain-backup").exists());
}

#[test]
fn a_symlinked_path_finds_the_same_store_and_lock() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.md");
    fs::write(&real, "x\n").unwrap();
    let link = dir.path().join("link.md");
    std::os::unix::fs::symlink(&real, &link).unwrap();

    let first = open(&link);
    let err = Store::open(&real).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert_eq!(first.store.plain_file(), fs::canonicalize(&real).unwrap());
    assert!(duet_sync::store::is_open_elsewhere(&real).unwrap());
    drop(first);
    assert!(!duet_sync::store::is_open_elsewhere(&link).unwrap());
    assert!(!dir.path().join(".duet/link.md").exists());
}

#[test]
fn refused_files_and_joins_leave_no_store_behind() {
    let dir = tempfile::tempdir().unwrap();
    let latin1 = dir.path().join("latin1.txt");
    fs::write(&latin1, b"caf\xe9\n").unwrap();
    let err = Store::open(&latin1).unwrap_err();
    assert!(
        matches!(err, StoreError::NotUtf8 { offset: 3, .. }),
        "{err}"
    );
    assert!(!dir.path().join(".duet").exists());

    // Beside another document's store, `.duet` stays and holds nothing new.
    open(&dir.path().join("kept.md"));
    let busy = dir.path().join("busy.md");
    fs::write(&busy, "my own notes").unwrap();
    let err = Store::create_joined(&busy, DocId::random(), DocSecret::random()).unwrap_err();
    assert!(matches!(err, StoreError::PlainFileExists { .. }), "{err}");
    let entries: Vec<_> = fs::read_dir(dir.path().join(".duet"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["kept.md"]);

    // A file past the limit (sparse: nothing is written) is refused before anything is made.
    let huge = dir.path().join("huge.log");
    fs::File::create(&huge)
        .unwrap()
        .set_len(duet_sync::store::MAX_PLAIN_FILE + 1)
        .unwrap();
    let err = Store::open(&huge).unwrap_err();
    assert!(matches!(err, StoreError::FileTooLarge { .. }), "{err}");
    assert!(!dir.path().join(".duet/huge.log").exists());
}

#[test]
fn an_os_error_is_told_once() {
    let dir = tempfile::tempdir().unwrap();
    // `.duet` is a file: the store folder cannot be made in it.
    fs::write(dir.path().join(".duet"), "not a folder").unwrap();
    let err = Store::open(&dir.path().join("notes.md")).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err}");
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        chain.push_str(&format!(": {e}"));
        source = e.source();
    }
    assert_eq!(chain.matches("os error").count(), 1, "{chain}");
    assert_eq!(fs::read(dir.path().join(".duet")).unwrap(), b"not a folder");
}

#[test]
fn leftovers_of_older_duets_and_of_crashed_creations_are_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    fs::write(&file, "text\n").unwrap();
    // An older duet left a store folder with only a lock when it refused the file.
    fs::create_dir_all(dir.path().join(".duet/notes.md")).unwrap();
    fs::write(dir.path().join(".duet/notes.md/lock"), "").unwrap();
    // A creation that crashed half-way.
    let crashed = dir.path().join(".duet/.notes.md.new-0123456789abcdef");
    fs::create_dir(&crashed).unwrap();
    fs::write(crashed.join("lock"), "").unwrap();
    fs::write(crashed.join("building"), "").unwrap();
    fs::write(crashed.join("identity"), "half").unwrap();
    // Another document's store whose name looks like a build is left alone.
    let lookalike = dir.path().join(".duet/.notes.md.new-fedcba9876543210");
    fs::create_dir(&lookalike).unwrap();
    fs::write(lookalike.join("lock"), "").unwrap();

    let o = open(&file);
    assert_eq!(o.doc.text(), "text\n");
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    assert!(!crashed.exists());
    assert!(lookalike.join("lock").exists());
    assert!(o.store.dir().join("identity").exists());
    assert!(!o.store.dir().join("building").exists());
}

/// Past the 64 MiB a log frame may hold: the import is cut into many ops and frames.
#[test]
fn a_70_mib_file_opens_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("huge.txt");
    let line = "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
    let text = line.repeat((70 << 20) / line.len());
    fs::write(&file, &text).unwrap();
    let o = open(&file);
    assert_eq!(o.doc.len(), text.len());
    assert!(o.store.log_tail_len() > text.len() as u64);
    drop(o);
    let mut o = open(&file);
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    assert_eq!(o.doc.text(), text);
    o.store.write_plain_file(&o.doc).unwrap();
    assert_eq!(fs::read(&file).unwrap(), text.as_bytes());
}
