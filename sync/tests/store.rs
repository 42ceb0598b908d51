//! The local store, end to end: open, edit, close, reopen; crash leftovers and damage; the
//! plain file; one writer at a time.

use std::fs;
use std::path::{Path, PathBuf};

use crdt_text::{Doc, Op, ReplicaId, VersionVector};
use duet_sync::ids::{DocId, DocSecret};
use duet_sync::store::{KnownPeer, Opened, PlainImport, Store, StoreError, StoreWarning};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn store_dir(file: &Path) -> PathBuf {
    let parent = file.parent().expect("test files live in a directory");
    parent
        .join(".duet")
        .join(file.file_name().expect("test files have names"))
}

fn open(file: &Path) -> Opened {
    Store::open(file).unwrap_or_else(|e| panic!("open {}: {e}", file.display()))
}

/// Types `text` at `pos` as a local edit and appends it.
fn type_at(o: &mut Opened, pos: usize, text: &str) -> Op {
    let op = o.doc.insert(pos, text);
    o.store
        .append(std::slice::from_ref(&op))
        .expect("append is in memory");
    op
}

/// Every author run of the document, to compare authorship across reopen.
fn authorship(doc: &Doc) -> Vec<(ReplicaId, String)> {
    doc.authors(0..doc.len())
        .map(|(r, s)| (r, s.to_string()))
        .collect()
}

/// A random local edit on `doc`; returns its op (possibly empty).
fn random_edit(doc: &mut Doc, rng: &mut ChaCha8Rng) -> Op {
    let len = doc.len();
    if len > 0 && rng.random_bool(0.3) {
        let pos = rng.random_range(0..len);
        let del = rng.random_range(1..=(len - pos).min(5));
        doc.delete(pos, del)
    } else {
        let pos = rng.random_range(0..=len);
        let words = ["a", "é", "b c", "\n", "日本", "xyz", "🙂"];
        doc.insert(pos, words[rng.random_range(0..words.len())])
    }
}

#[test]
fn a_new_store_imports_the_file_and_reopens_identically() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    fs::write(&file, "# Notes\nfirst line\n").unwrap();

    let o = open(&file);
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    assert_eq!(o.doc.text(), "# Notes\nfirst line\n");
    let (id, secret, replica) = (
        *o.store.doc_id(),
        o.store.secret().clone(),
        o.store.replica(),
    );
    assert_eq!(o.doc.replica(), replica);
    assert!(store_dir(&file).join("log").exists());
    o.store.close().unwrap();

    let o = open(&file);
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    assert_eq!(o.doc.text(), "# Notes\nfirst line\n");
    assert_eq!(*o.store.doc_id(), id);
    assert_eq!(*o.store.secret(), secret);
    assert_eq!(
        o.store.replica(),
        replica,
        "a clean close keeps the replica id"
    );
}

#[test]
fn a_file_that_does_not_exist_yet_starts_an_empty_document() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new.txt");
    let mut o = open(&file);
    assert_eq!(o.doc.text(), "");
    type_at(&mut o, 0, "hello");
    o.store.sync().unwrap();
    o.store.write_plain_file(&o.doc).unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), "hello");
}

#[test]
fn thousands_of_random_edits_survive_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("random.txt");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut o = open(&file);
    let mut other = Doc::new(ReplicaId::from(0xfeed));

    for step in 0..3000 {
        // Mostly our own typing; now and then a peer's edit arrives and is appended too.
        if step % 10 == 9 {
            for op in other.ops_since(&o.doc.version()) {
                o.doc.apply(&op).unwrap();
                o.store.append(&[op]).unwrap();
            }
            for op in o.doc.ops_since(&other.version()) {
                other.apply(&op).unwrap();
            }
            let op = random_edit(&mut other, &mut rng);
            assert!(op.is_empty() || !other.version().is_empty());
        } else {
            let op = random_edit(&mut o.doc, &mut rng);
            o.store.append(&[op]).unwrap();
        }
        if rng.random_bool(0.2) {
            o.store.sync().unwrap();
        }
        if step % 500 == 0 {
            o.store.snapshot_now(&o.doc).unwrap();
        }
    }
    let (text, version, authors) = (o.doc.text(), o.doc.version(), authorship(&o.doc));
    assert!(authors.iter().any(|(r, _)| *r == ReplicaId::from(0xfeed)));
    o.store.close().unwrap();

    let o = open(&file);
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    assert_eq!(o.doc.text(), text);
    assert_eq!(o.doc.version(), version);
    assert_eq!(authorship(&o.doc), authors);
}

#[test]
fn dropping_the_store_syncs_and_closes_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("drop.txt");
    let mut o = open(&file);
    let replica = o.store.replica();
    type_at(&mut o, 0, "unsynced but dropped");
    drop(o);
    let o = open(&file);
    assert_eq!(o.doc.text(), "unsynced but dropped");
    assert_eq!(o.store.replica(), replica);
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
}

#[test]
fn a_session_that_did_not_close_cleanly_continues_under_a_new_replica() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.txt");
    let mut o = open(&file);
    let old = o.store.replica();
    type_at(&mut o, 0, "synced");
    o.store.sync().unwrap();
    o.store.close().unwrap();
    // What a killed process leaves behind: the lock file still says the session is open.
    fs::write(store_dir(&file).join("lock"), "open 4242\n").unwrap();

    let mut o = open(&file);
    assert_eq!(o.doc.text(), "synced");
    let new = o.store.replica();
    assert_ne!(new, old);
    assert_eq!(o.doc.replica(), new);
    assert!(
        matches!(o.warnings.as_slice(), [StoreWarning::NewReplica { old: w_old, new: w_new, .. }] if *w_old == old && *w_new == new),
        "{:?}",
        o.warnings
    );
    // New edits carry the new id, and the old authorship is intact.
    type_at(&mut o, 6, "!");
    assert_eq!(o.doc.author_at(6), Some(new));
    assert_eq!(o.doc.author_at(0), Some(old));
    o.store.close().unwrap();
    assert_eq!(open(&file).store.replica(), new);
}

#[test]
fn a_second_writer_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shared.txt");
    let first = open(&file);
    let err = Store::open(&file).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("already open in another duet process")
    );
    drop(first);
    open(&file);
}

/// Opens, types `lines` each synced as its own frame, saves the plain file (as the editor
/// does when it closes) and closes; returns the log path.
fn store_with_frames(file: &Path, lines: &[&str]) -> PathBuf {
    let mut o = open(file);
    for line in lines {
        let end = o.doc.len();
        type_at(&mut o, end, line);
        o.store.sync().expect("sync");
    }
    o.store.write_plain_file(&o.doc).expect("save");
    o.store.close().expect("close");
    store_dir(file).join("log")
}

#[test]
fn a_torn_tail_is_cut_with_a_warning_and_synced_frames_survive() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("torn.txt");
    let log = store_with_frames(&file, &["one ", "two "]);
    let good_len = fs::metadata(&log).unwrap().len();
    // Half of a frame: a length promising more than follows.
    let mut bytes = fs::read(&log).unwrap();
    bytes.extend_from_slice(&[40, 0, 0, 0, 1, 2, 3]);
    fs::write(&log, &bytes).unwrap();

    let o = open(&file);
    assert_eq!(o.doc.text(), "one two ");
    assert!(
        o.warnings.iter().any(|w| matches!(w,
            StoreWarning::TornTail { offset, cut_bytes: 7, .. } if *offset == good_len)),
        "{:?}",
        o.warnings
    );
    assert_eq!(
        fs::metadata(&log).unwrap().len(),
        good_len,
        "tail cut on disk"
    );
}

#[test]
fn a_flipped_bit_in_the_log_is_reported_with_offset_and_every_line_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bitrot.txt");
    let lines = ["alpha\n", "beta\n", "gamma\n", "delta\n"];
    let log = store_with_frames(&file, &lines);
    let saved = fs::read_to_string(&file).unwrap();
    let mut bytes = fs::read(&log).unwrap();
    // Inside the second frame's text: frames three and four still check out after it.
    let victim = bytes.windows(4).position(|w| w == b"beta").unwrap() + 1;
    bytes[victim] ^= 0x20;
    fs::write(&log, &bytes).unwrap();

    let mut o = open(&file);
    let damaged = o
        .warnings
        .iter()
        .find_map(|w| match w {
            StoreWarning::DamagedLog {
                path,
                offset,
                kept_as,
                recovered_frames,
                ..
            } => Some((path.clone(), *offset, kept_as.clone(), *recovered_frames)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no damage reported: {:?}", o.warnings));
    assert_eq!(damaged.0, log);
    assert!(damaged.1 <= victim as u64);
    assert_eq!(
        fs::read(&damaged.2).unwrap(),
        bytes,
        "damaged file kept aside as is"
    );
    assert_eq!(damaged.3, 3, "every other frame recovered");
    let report = o.report.as_ref().expect("a recovery report").to_string();
    assert!(
        report.contains("bitrot.txt/log") && report.contains("offset"),
        "{report}"
    );
    assert!(
        o.warnings
            .iter()
            .any(|w| matches!(w, StoreWarning::NewReplica { .. }))
    );
    // Every line is back: the frames after the damage wait for the lost one, and the plain
    // file's text was imported.
    assert_eq!(o.doc.text(), saved);
    assert_eq!(
        o.doc.pending_len(),
        2,
        "frames three and four are held, not dropped"
    );
    o.store.write_plain_file(&o.doc).unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), saved);
    drop(o);
    // The repaired log opens cleanly.
    let o = open(&file);
    assert!(o.report.is_none(), "{:?}", o.warnings);
    assert_eq!(o.doc.text(), saved);
}

#[test]
fn a_truncated_snapshot_is_kept_aside_and_every_line_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.txt");
    let mut o = open(&file);
    type_at(&mut o, 0, "before snapshot.\n");
    o.store.snapshot_now(&o.doc).unwrap();
    let end = o.doc.len();
    type_at(&mut o, end, "after\n");
    o.store.write_plain_file(&o.doc).unwrap();
    o.store.close().unwrap();
    let snap = store_dir(&file).join("snapshot");
    let bytes = fs::read(&snap).unwrap();
    fs::write(&snap, &bytes[..bytes.len() / 2]).unwrap();

    let mut o = open(&file);
    let kept = o
        .warnings
        .iter()
        .find_map(|w| match w {
            StoreWarning::DamagedSnapshot { kept_as, .. } => Some(kept_as.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{:?}", o.warnings));
    assert_eq!(fs::read(&kept).unwrap(), &bytes[..bytes.len() / 2]);
    assert!(!snap.exists());
    // The tail op depends on the lost history: it is held until peers send the rest, and
    // the text came back from the plain file.
    assert_eq!(o.doc.text(), "before snapshot.\nafter\n");
    assert_eq!(o.doc.pending_len(), 1);
    let report = o.report.as_ref().expect("a recovery report");
    assert_eq!(report.recovered.lines_from_file, 2);
    assert!(report.to_string().contains(&kept.display().to_string()));
    o.store.write_plain_file(&o.doc).unwrap();
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "before snapshot.\nafter\n"
    );
}

#[test]
fn garbage_and_foreign_files_give_clear_errors_and_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("g.txt");
    store_with_frames(&file, &["x"]);
    let log = store_dir(&file).join("log");
    let original = fs::read(&log).unwrap();

    fs::write(&log, "this is not a log, just some text someone saved here").unwrap();
    let err = Store::open(&file).unwrap_err();
    assert!(matches!(err, StoreError::BadHeader { .. }), "{err}");
    assert!(err.to_string().contains("g.txt/log"), "{err}");

    // A newer format's header: its check covers its own version.
    let mut newer = original.clone();
    newer[8] = 9;
    let check = *blake3::hash(&newer[..44]).as_bytes();
    newer[44..52].copy_from_slice(&check[..8]);
    fs::write(&log, &newer).unwrap();
    let err = Store::open(&file).unwrap_err();
    assert!(
        matches!(err, StoreError::UnsupportedVersion { found: 9, .. }),
        "{err}"
    );
    assert_eq!(fs::read(&log).unwrap(), newer, "left untouched");

    // Another document's log copied over this one.
    let other = dir.path().join("other.txt");
    let other_log = store_with_frames(&other, &["y"]);
    fs::copy(&other_log, &log).unwrap();
    let err = Store::open(&file).unwrap_err();
    assert!(matches!(err, StoreError::WrongDocument { .. }), "{err}");

    fs::write(&log, &original).unwrap();
    fs::write(store_dir(&file).join("identity"), b"\x00\x01garbage").unwrap();
    let err = Store::open(&file).unwrap_err();
    assert!(matches!(err, StoreError::BadHeader { .. }), "{err}");

    fs::remove_file(store_dir(&file).join("identity")).unwrap();
    let err = Store::open(&file).unwrap_err();
    assert!(matches!(err, StoreError::MissingIdentity { .. }), "{err}");
    assert_eq!(
        fs::read(&log).unwrap(),
        original,
        "history never overwritten"
    );
}

#[test]
fn a_damaged_identity_is_an_error_not_a_new_document() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("id.txt");
    store_with_frames(&file, &["x"]);
    let identity = store_dir(&file).join("identity");
    let mut bytes = fs::read(&identity).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&identity, &bytes).unwrap();
    let err = Store::open(&file).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert_eq!(fs::read(&identity).unwrap(), bytes);
}

#[test]
fn compaction_bounds_the_store_and_reopens_identically() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compact.txt");
    let mut o = open(&file);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for i in 0..20_000 {
        let op = random_edit(&mut o.doc, &mut rng);
        o.store.append(&[op]).unwrap();
        if i % 20 == 0 {
            o.store.sync().unwrap();
            o.store.compact(&o.doc).unwrap();
        }
    }
    o.store.sync().unwrap();
    o.store.compact(&o.doc).unwrap();
    let encoded = o.doc.encode().len() as u64;
    let store_bytes = o.store.snapshot_len() + o.store.log_tail_len();
    assert!(o.store.snapshot_len() > 0, "compaction ran");
    assert!(
        store_bytes <= 2 * encoded.max(duet_sync::store::MIN_COMPACT_TAIL),
        "store {store_bytes} vs encode {encoded}"
    );
    let text = o.doc.text();
    o.store.close().unwrap();
    let o = open(&file);
    assert_eq!(o.doc.text(), text);
}

#[test]
fn compaction_carries_ops_still_waiting_for_their_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pending.txt");
    let mut o = open(&file);
    let mut peer = Doc::new(ReplicaId::from(5));
    let first = peer.insert(0, "ab");
    let second = peer.insert(2, "cd");
    // The second arrives first: held, but appended (it was received).
    assert!(matches!(
        o.doc.apply(&second).unwrap(),
        crdt_text::Applied::Pending
    ));
    o.store.append(std::slice::from_ref(&second)).unwrap();
    o.store.snapshot_now(&o.doc).unwrap();
    o.store.close().unwrap();

    let mut o = open(&file);
    assert_eq!(o.doc.pending_len(), 1);
    o.doc.apply(&first).unwrap();
    assert_eq!(o.doc.text(), "abcd");
}

#[test]
fn known_peers_are_remembered_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("peers.txt");
    let mut o = open(&file);
    let alice = KnownPeer {
        endpoint_id: [1; 32],
        addrs: vec!["127.0.0.1:4000".parse().unwrap()],
        name: Some("alice".into()),
        last_seen_unix: 100,
    };
    let bob = KnownPeer {
        endpoint_id: [2; 32],
        addrs: vec!["[::1]:5000".parse().unwrap()],
        name: None,
        last_seen_unix: 200,
    };
    o.store.remember_peer(alice.clone()).unwrap();
    o.store.remember_peer(bob.clone()).unwrap();
    let alice_again = KnownPeer {
        last_seen_unix: 300,
        ..alice
    };
    o.store.remember_peer(alice_again.clone()).unwrap();
    drop(o);
    let o = open(&file);
    assert_eq!(o.store.known_peers(), &[alice_again, bob]);
}

#[test]
fn saving_keeps_crlf_line_endings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("win.txt");
    fs::write(&file, "one\r\ntwo\r\n").unwrap();
    let mut o = open(&file);
    assert_eq!(o.doc.text(), "one\ntwo\n");
    let end = o.doc.len();
    type_at(&mut o, end, "three\n");
    o.store.write_plain_file(&o.doc).unwrap();
    assert_eq!(fs::read(&file).unwrap(), b"one\r\ntwo\r\nthree\r\n");
    drop(o);
    let o = open(&file);
    assert!(
        o.warnings.is_empty(),
        "own export is not an outside change: {:?}",
        o.warnings
    );
}

#[test]
fn outside_edits_are_imported_as_local_edits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("outside.txt");
    fs::write(&file, "The quick brown fox\n").unwrap();
    let o = open(&file);
    let replica = o.store.replica();
    drop(o);
    fs::write(&file, "The quick red fox jumps\n").unwrap();

    let o = open(&file);
    assert_eq!(o.doc.text(), "The quick red fox jumps\n");
    assert!(
        o.warnings.iter().any(|w| matches!(w,
            StoreWarning::ImportedExternalEdits { inserted, deleted, .. }
                if *inserted == 8 && *deleted == 4)),
        "{:?}",
        o.warnings
    );
    // Minimal diff ("brown" → "red" keeps its "r"): untouched text keeps its characters.
    assert_eq!(o.doc.author_at(0), Some(replica));
    drop(o);
    let o = open(&file);
    assert!(o.warnings.is_empty(), "imported once: {:?}", o.warnings);
    assert_eq!(o.doc.text(), "The quick red fox jumps\n");
}

#[test]
fn outside_edits_merge_with_remote_edits_received_since_the_last_save() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("merge.txt");
    fs::write(&file, "line one\nline two\n").unwrap();
    let mut o = open(&file);
    let mut peer = Doc::new(ReplicaId::from(77));
    for op in o.doc.ops_since(&VersionVector::new()) {
        peer.apply(&op).unwrap();
    }
    // A peer appends a line; we receive it but do not save the plain file.
    let remote = peer.insert(peer.len(), "line three\n");
    o.doc.apply(&remote).unwrap();
    o.store.append(&[remote]).unwrap();
    drop(o);
    // Meanwhile someone edits the first line in another editor.
    fs::write(&file, "LINE one\nline two\n").unwrap();

    let mut o = open(&file);
    assert_eq!(o.doc.text(), "LINE one\nline two\nline three\n");
    // The imported ops merge on the peer too.
    for op in o.doc.ops_since(&peer.version()) {
        peer.apply(&op).unwrap();
    }
    assert_eq!(peer.text(), o.doc.text());
    // Our own next edit continues our counter without clashing.
    type_at(&mut o, 0, ">");
    o.store.write_plain_file(&o.doc).unwrap();
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        ">LINE one\nline two\nline three\n"
    );
}

#[test]
fn import_while_running_reports_the_ops_to_send() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.txt");
    fs::write(&file, "abc").unwrap();
    let mut o = open(&file);
    assert_eq!(
        o.store.import_plain_file(&mut o.doc).unwrap(),
        PlainImport::Unchanged
    );
    fs::write(&file, "abXc").unwrap();
    match o.store.import_plain_file(&mut o.doc).unwrap() {
        PlainImport::Imported {
            ops,
            inserted: 1,
            deleted: 0,
        } => assert_eq!(ops.len(), 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(o.doc.text(), "abXc");
    fs::remove_file(&file).unwrap();
    assert_eq!(
        o.store.import_plain_file(&mut o.doc).unwrap(),
        PlainImport::Missing
    );
}

#[test]
fn a_binary_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("image.png");
    fs::write(&file, b"\x89PNG\r\n\x1a\n\xff\x00").unwrap();
    let err = Store::open(&file).unwrap_err();
    assert!(
        matches!(err, StoreError::NotUtf8 { offset: 0, .. }),
        "{err}"
    );
    assert!(!dir.path().join(".duet").exists(), "no store left behind");
}

#[test]
fn joining_creates_an_empty_history_under_the_ticket_identity() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("joined.txt");
    let id = DocId::random();
    let secret = DocSecret::random();
    let mut o = Store::create_joined(&file, id, secret.clone()).unwrap();
    assert_eq!(*o.store.doc_id(), id);
    assert_eq!(*o.store.secret(), secret);
    assert!(o.doc.version().is_empty());
    let mut host = Doc::new(ReplicaId::from(1));
    let op = host.insert(0, "from the host");
    o.doc.apply(&op).unwrap();
    o.store.append(&[op]).unwrap();
    drop(o);

    // Rejoining with the same ticket reopens the history.
    let o = Store::create_joined(&file, id, secret.clone()).unwrap();
    assert_eq!(o.doc.text(), "from the host");
    drop(o);
    // A ticket for another document is refused.
    let err = Store::create_joined(&file, DocId::random(), DocSecret::random()).unwrap_err();
    assert!(matches!(err, StoreError::WrongDocument { .. }), "{err}");

    // Joining into a file that holds text would overwrite it.
    let busy = dir.path().join("busy.txt");
    fs::write(&busy, "my own notes").unwrap();
    let err = Store::create_joined(&busy, id, secret).unwrap_err();
    assert!(matches!(err, StoreError::PlainFileExists { .. }), "{err}");
    assert_eq!(fs::read_to_string(&busy).unwrap(), "my own notes");
    assert!(!store_dir(&busy).exists(), "a refused join leaves no store");
}

#[test]
fn the_sync_deadline_follows_the_first_unsynced_append() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deadline.txt");
    let mut o = open(&file);
    assert_eq!(o.store.sync_deadline(), None);
    let before = std::time::Instant::now();
    type_at(&mut o, 0, "a");
    let deadline = o.store.sync_deadline().unwrap();
    assert!(deadline >= before + duet_sync::store::DEFAULT_DELAY);
    type_at(&mut o, 1, "b");
    assert_eq!(o.store.sync_deadline(), Some(deadline));
    let durable = o.store.sync().unwrap();
    assert_eq!((durable.ops, durable.frames), (2, 1));
    assert_eq!(o.store.sync_deadline(), None);
    assert!(o.store.sync().unwrap().is_empty());
}

#[test]
fn paths_that_are_not_files_in_existing_folders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotAFile { .. }), "{err}");
    let typo = dir.path().join("no-such-folder").join("notes.md");
    let err = Store::open(&typo).unwrap_err();
    assert!(err.to_string().contains("no-such-folder"), "{err}");
    assert!(
        !dir.path().join("no-such-folder").exists(),
        "nothing created"
    );
}
