//! Format stability: a store written by every format version (committed under
//! `tests/store_fixtures/vN/`: identity, state, log, lock and plain file) must keep opening,
//! with the same text, document id, authorship and peers. If this fails after a change, the
//! change broke existing users' stores: bump `FORMAT_VERSION` and keep reading the old
//! versions instead of editing a fixture.
//!
//! Opened from a copy, every fixture continues under a new replica id: a version 3 store
//! recognises that it was copied (it records where it lives), and an older one cannot tell,
//! so it assumes it may be a copy.
//!
//! The fixtures were made by the ignored `write_fixture` test (the recipe for the next format
//! version's fixture).
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is the test failing

use std::fs;
use std::path::{Path, PathBuf};

use crdt_text::{Doc, ReplicaId};
use duet_sync::ids::DocId;
use duet_sync::store::{FORMAT_VERSION, KnownPeer, Store, StoreWarning};

const FIXTURE_TEXT: &str = "Shared notes\nline from the host\nline from a guest\n";
const FIXTURE_PEER: u8 = 0xab;
/// When the fixture's edits were made (format 4 on).
const FIXTURE_TIME: u64 = 1_795_000_000;

fn fixture_author(n: u8, name: &str) -> crdt_text::Author {
    crdt_text::Author::new(
        crdt_text::AuthorId([n; 16]),
        name,
        Some("someone@example.org"),
    )
}

/// The guest's replica id in the fixture.
fn guest_replica() -> ReplicaId {
    ReplicaId::from(0x2222)
}

fn fixture_dir(version: u16) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/store_fixtures/v{version}"))
}

/// Copies `from` into `to` recursively.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create fixture copy");
    for entry in fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

/// The fixture's facts: document id and the host's replica id (recorded beside it).
fn fixture_facts(dir: &Path) -> (DocId, ReplicaId) {
    let facts = fs::read_to_string(dir.join("fixture-facts")).expect("fixture facts");
    let mut lines = facts.lines();
    let id = lines
        .next()
        .and_then(|l| l.parse().ok())
        .expect("doc id line");
    let replica = lines
        .next()
        .and_then(|l| u64::from_str_radix(l, 16).ok())
        .expect("replica line");
    (id, ReplicaId::from(replica))
}

/// The document's text grouped by author, consecutive runs of one author merged.
fn by_author(doc: &Doc) -> Vec<(ReplicaId, String)> {
    let mut out: Vec<(ReplicaId, String)> = Vec::new();
    for (r, s) in doc.authors(0..doc.len()) {
        match out.last_mut() {
            Some((last, text)) if *last == r => text.push_str(s),
            _ => out.push((r, s.to_string())),
        }
    }
    out
}

/// Opens a copy of the fixture of format `version` and checks everything it holds.
fn open_fixture(version: u16) -> (tempfile::TempDir, duet_sync::store::Opened) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir(version), dir.path());
    let file = dir.path().join("notes.txt");
    let (id, host) = fixture_facts(dir.path());

    let o = Store::open(&file).unwrap();
    assert_eq!(*o.store.doc_id(), id);
    assert!(
        matches!(o.warnings.last(), Some(StoreWarning::NewReplica { old, new, .. })
            if *old == host && *new == o.store.replica()),
        "a copy continues under a new replica id: {:?}",
        o.warnings
    );
    assert_eq!(o.doc.text(), FIXTURE_TEXT);
    assert_eq!(
        by_author(&o.doc),
        vec![
            (host, "Shared notes\nline from the host\n".to_string()),
            (guest_replica(), "line from a guest\n".to_string()),
        ]
    );
    assert_eq!(o.store.known_peers().len(), 1);
    assert_eq!(o.store.known_peers()[0].endpoint_id, [FIXTURE_PEER; 32]);
    // The plain file keeps its CRLF line endings and is as duet wrote it: nothing imported.
    assert_eq!(
        fs::read(&file).unwrap(),
        FIXTURE_TEXT.replace('\n', "\r\n").as_bytes()
    );
    (dir, o)
}

/// The format version in a store file's header.
fn header_version(path: &Path) -> u16 {
    let bytes = fs::read(path).unwrap();
    u16::from_le_bytes([bytes[8], bytes[9]])
}

#[test]
fn a_version_4_store_still_opens_with_its_recorded_history() {
    let (dir, o) = open_fixture(4);
    // Recorded where it was made: this copy is recognised as one.
    assert!(
        matches!(
            &o.warnings[..],
            [StoreWarning::Copied { .. }, StoreWarning::NewReplica { .. }]
        ),
        "{:?}",
        o.warnings
    );
    assert!(o.store.log_tail_len() > 0);
    assert_eq!(
        FORMAT_VERSION, 4,
        "new format version: add a fixture for it"
    );
    let (host, guest) = (fixture_author(1, "Host"), fixture_author(2, "Guest"));
    // The imported first line (dated when the fixture was made), the host's line and the
    // guest's line, with their authors.
    let blame: Vec<_> = o
        .doc
        .blame()
        .chars
        .iter()
        .map(|r| (r.len, o.doc.author(r.who).cloned(), r.time))
        .collect();
    assert_eq!(blame.len(), 3, "{blame:?}");
    assert!(blame[0].2 > FIXTURE_TIME);
    assert_eq!(
        blame,
        [
            (13, Some(host.clone()), blame[0].2),
            (19, Some(host), FIXTURE_TIME),
            (18, Some(guest), FIXTURE_TIME + 60)
        ]
    );
    let (text, replica, endpoint) = (o.doc.text(), o.store.replica(), o.store.endpoint_secret());
    drop(o);
    let again = Store::open(&dir.path().join("notes.txt")).unwrap();
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.doc.text(), text);
    assert_eq!(
        (again.store.replica(), again.store.endpoint_secret()),
        (replica, endpoint)
    );
}

#[test]
fn a_version_3_store_opens_and_is_upgraded() {
    let (dir, o) = open_fixture(3);
    // Before recorded history: every edit is its replica's, at an unknown time.
    assert!(o.doc.blame().chars.iter().all(|r| r.time == 0));
    let store = dir.path().join(".duet/notes.txt");
    for name in ["log", "snapshot"] {
        assert_eq!(header_version(&store.join(name)), FORMAT_VERSION, "{name}");
    }
    let text = o.doc.text();
    o.store.close().unwrap();
    let again = Store::open(&dir.path().join("notes.txt")).unwrap();
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.doc.text(), text);
}

#[test]
fn a_version_2_store_opens_and_is_upgraded() {
    let (dir, o) = open_fixture(2);
    assert_eq!(o.warnings.len(), 1, "{:?}", o.warnings);
    // Its files are rewritten in the current format.
    let store = dir.path().join(".duet/notes.txt");
    for name in ["identity", "log", "snapshot", "state"] {
        assert_eq!(header_version(&store.join(name)), FORMAT_VERSION, "{name}");
    }
    let text = o.doc.text();
    o.store.close().unwrap();
    let again = Store::open(&dir.path().join("notes.txt")).unwrap();
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.doc.text(), text);
}

#[test]
fn a_version_1_store_opens_and_is_upgraded() {
    let (dir, o) = open_fixture(1);
    // The version 1 log (ops in the old serde form) was folded into a snapshot and a fresh
    // current log replaced it.
    assert!(o.store.snapshot_len() > 0);
    assert_eq!(o.store.log_tail_len(), 0);
    let log = dir.path().join(".duet/notes.txt/log");
    assert_eq!(header_version(&log), FORMAT_VERSION);
    let text = o.doc.text();
    o.store.close().unwrap();
    let again = Store::open(&dir.path().join("notes.txt")).unwrap();
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.doc.text(), text);
}

#[cfg(unix)]
#[test]
fn an_old_store_with_loose_modes_is_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir(2), dir.path());
    let store = dir.path().join(".duet/notes.txt");
    fs::set_permissions(&store, fs::Permissions::from_mode(0o755)).unwrap();
    for entry in fs::read_dir(&store).unwrap() {
        let path = entry.unwrap().path();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    }
    drop(Store::open(&dir.path().join("notes.txt")).unwrap());
    assert_eq!(mode(&store), 0o700);
    for entry in fs::read_dir(&store).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

/// Writes the fixture of the current format version (run once per format version, then
/// commit the files).
#[test]
#[ignore = "writes tests/store_fixtures/vN; run by hand when making a new fixture"]
fn write_fixture() {
    let dir = fixture_dir(FORMAT_VERSION);
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join("notes.txt");
    fs::write(&file, "Shared notes\r\n").unwrap();
    let mut o = Store::open(&file).unwrap();
    o.doc.set_author(fixture_author(1, "Host"));
    o.doc.set_time(FIXTURE_TIME);
    let end = o.doc.len();
    let op = o.doc.insert(end, "line from the host\n");
    o.store.append(&[op]).unwrap();
    o.store.sync().unwrap();

    let mut guest = Doc::new(guest_replica());
    for op in o.doc.ops_since(&guest.version()) {
        guest.apply(&op).unwrap();
    }
    guest.set_author(fixture_author(2, "Guest"));
    guest.set_time(FIXTURE_TIME + 60);
    let op = guest.insert(guest.len(), "line from a guest\n");
    o.doc.apply(&op).unwrap();
    o.store.append(&[op]).unwrap();
    o.store
        .remember_peer(KnownPeer {
            endpoint_id: [FIXTURE_PEER; 32],
            addrs: vec!["127.0.0.1:7000".parse().unwrap()],
            name: Some("guest".into()),
            last_seen_unix: 1_790_000_000,
        })
        .unwrap();
    o.store.write_plain_file(&o.doc).unwrap();
    fs::write(
        dir.join("fixture-facts"),
        format!("{}\n{:x}\n", o.store.doc_id(), o.store.replica().as_u64()),
    )
    .unwrap();
    o.store.close().unwrap();
}
