//! A folder's documents on disk: appending, compaction, crashes, damage and old stores.

use std::path::Path;

use crdt_text::VersionVector;

use super::*;
use crate::store::folder::{
    FOLDER_STORE_FORMAT, FolderState, FolderStore, KIND_STATE, OpenedFolder, decode_versioned,
    encode_file_as,
};

/// One document in a fresh folder store, stored whole, typed into and saved by appending.
struct Typing {
    opened: OpenedFolder,
    id: DocId,
    doc: Doc,
    stored: VersionVector,
}

impl Typing {
    fn new(dir: &Path, text: &str) -> Typing {
        let mut opened = FolderStore::open(dir, None).unwrap();
        let mut doc = Doc::new(opened.store.replica());
        let _ = doc.insert(0, text);
        let id = DocId::random();
        assert_ok(
            &opened
                .files
                .save(vec![(id, DocSave::Whole(Box::new(doc.clone())))]),
        );
        let stored = doc.version();
        Typing {
            opened,
            id,
            doc,
            stored,
        }
    }

    /// Inserts `text` at `pos` and saves what the store lacks.
    fn type_at(&mut self, pos: usize, text: &str) -> DocsSaved {
        let _ = self.doc.insert(pos, text);
        let ops = self.doc.ops_since(&self.stored);
        let saved = self.opened.files.save(vec![(self.id, DocSave::Ops(ops))]);
        assert_ok(&saved);
        self.stored = self.doc.version();
        saved
    }

    fn type_at_end(&mut self, text: &str) -> DocsSaved {
        self.type_at(self.doc.len(), text)
    }

    fn save_whole(&mut self) {
        let saved = self
            .opened
            .files
            .save(vec![(self.id, DocSave::Whole(Box::new(self.doc.clone())))]);
        assert_ok(&saved);
    }

    fn snapshot(&self) -> PathBuf {
        self.opened.files.snapshot_path(&self.id)
    }

    fn log(&self) -> PathBuf {
        self.opened.files.log_path(&self.id)
    }

    /// Closes the store (as a crash would: nothing more is written).
    fn close(self) -> (DocId, String) {
        let text = self.doc.text();
        drop(self.opened);
        (self.id, text)
    }
}

fn assert_ok(saved: &DocsSaved) {
    for (id, outcome) in &saved.outcomes {
        assert!(outcome.is_ok(), "{id}: {outcome:?}");
    }
}

fn reopen(dir: &Path) -> OpenedFolder {
    FolderStore::open(dir, None).unwrap()
}

fn damaged_beside(path: &Path) -> usize {
    fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().contains(".damaged-")
        })
        .count()
}

#[test]
fn typing_appends_to_the_log_and_leaves_the_snapshot_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut typing = Typing::new(dir.path(), "hello");
    let snapshot = fs::read(typing.snapshot()).unwrap();
    let mut log_len = 0;
    for word in [" world", ",", " again"] {
        let saved = typing.type_at_end(word);
        assert!(saved.compact.is_empty());
        let now = fs::metadata(typing.log()).unwrap().len();
        assert!(now > log_len, "the log grows with each save");
        assert!(
            now < log_len.max(HEADER_LEN as u64) + 200,
            "by the ops only"
        );
        log_len = now;
    }
    assert_eq!(fs::read(typing.snapshot()).unwrap(), snapshot);
    let version = typing.doc.version();
    let (id, text) = typing.close();
    assert_eq!(text, "hello world, again");

    let again = reopen(dir.path());
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.docs[&id].text(), text);
    assert_eq!(again.docs[&id].version(), version);
}

#[test]
fn a_log_as_large_as_its_snapshot_asks_to_be_saved_whole_which_empties_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut typing = Typing::new(dir.path(), "start\n");
    let line = "a line typed in, long enough to grow the log quickly\n";
    let mut asked = false;
    for _ in 0..1_000 {
        if typing.type_at_end(line).compact.contains(&typing.id) {
            asked = true;
            break;
        }
    }
    assert!(asked, "compaction was never asked for");
    let tail = fs::metadata(typing.log()).unwrap().len() - HEADER_LEN as u64;
    assert!(
        tail >= MIN_COMPACT_TAIL,
        "not before {MIN_COMPACT_TAIL} bytes: {tail}"
    );

    typing.save_whole();
    assert_eq!(fs::metadata(typing.log()).unwrap().len(), HEADER_LEN as u64);
    // Typing goes on in the emptied log.
    assert!(typing.type_at_end("after\n").compact.is_empty());
    let (id, text) = typing.close();
    let again = reopen(dir.path());
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.docs[&id].text(), text);
}

#[test]
fn a_crash_between_the_new_snapshot_and_the_emptied_log_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut typing = Typing::new(dir.path(), "a");
    let _ = typing.type_at_end("b");
    let _ = typing.type_at_end("c");
    // The snapshot is replaced; the crash comes before the log is emptied.
    fs::write(typing.snapshot(), encode_doc(&typing.doc)).unwrap();
    let (id, text) = typing.close();
    let again = reopen(dir.path());
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.docs[&id].text(), "abc");
    assert_eq!(text, "abc");
}

#[test]
fn every_cut_of_the_log_reopens_with_the_saves_before_it_and_typing_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut typing = Typing::new(dir.path(), "start ");
    let mut texts = vec![typing.doc.text()];
    for word in ["one ", "two ", "three "] {
        let _ = typing.type_at_end(word);
        texts.push(typing.doc.text());
    }
    let log = typing.log();
    let (id, _) = typing.close();
    let full = fs::read(&log).unwrap();
    for cut in HEADER_LEN..=full.len() {
        fs::write(&log, &full[..cut]).unwrap();
        let mut again = reopen(dir.path());
        assert!(
            again.warnings.is_empty(),
            "cut at {cut}: {:?}",
            again.warnings
        );
        let mut doc = again.docs.remove(&id).unwrap();
        let text = doc.text();
        assert!(texts.contains(&text), "cut at {cut}: {text:?}");
        // The torn end is cut at the next append; what follows reopens whole.
        let stored = doc.version();
        let _ = doc.insert(doc.len(), "more");
        let saved = again
            .files
            .save(vec![(id, DocSave::Ops(doc.ops_since(&stored)))]);
        assert_ok(&saved);
        drop(again);
        let after = reopen(dir.path());
        assert!(
            after.warnings.is_empty(),
            "cut at {cut}: {:?}",
            after.warnings
        );
        assert_eq!(
            after.docs[&id].text(),
            format!("{text}more"),
            "cut at {cut}"
        );
    }
}

#[test]
fn a_damaged_log_keeps_what_checks_out_saves_it_whole_and_is_kept_aside() {
    let dir = tempfile::tempdir().unwrap();
    let mut typing = Typing::new(dir.path(), "0123456789");
    let _ = typing.type_at(2, "A");
    let middle_start = fs::metadata(typing.log()).unwrap().len() as usize;
    let _ = typing.type_at(6, "B");
    let _ = typing.type_at(10, "C");
    let (log, snapshot, full) = (typing.log(), typing.snapshot(), typing.doc.clone());
    let (id, text) = typing.close();
    assert_eq!(text, "01A234B567C89");
    let mut bytes = fs::read(&log).unwrap();
    bytes[middle_start + 6] ^= 0x10;
    fs::write(&log, bytes).unwrap();

    let again = reopen(dir.path());
    assert_eq!(again.warnings.len(), 1, "{:?}", again.warnings);
    assert!(
        again.warnings[0].contains("damaged"),
        "{}",
        again.warnings[0]
    );
    assert_eq!(
        damaged_beside(&log),
        1,
        "the damaged log is kept beside its repair"
    );
    assert_eq!(damaged_beside(&snapshot), 0);
    drop(again);
    // What checked out is in the snapshot now: the frame before the damage, and the one
    // after it, held until a peer brings the lost one (the same replica's ops go in order).
    let mut after = reopen(dir.path());
    assert!(after.warnings.is_empty(), "{:?}", after.warnings);
    let doc = after.docs.get_mut(&id).unwrap();
    assert_eq!(doc.text(), "01A23456789");
    assert!(doc.pending_len() > 0, "C waits for B");
    for op in full.ops_since(&VersionVector::new()) {
        let _ = doc.apply(&op).unwrap();
    }
    assert_eq!(doc.text(), text);
}

#[test]
fn a_damaged_snapshot_is_kept_aside_and_the_log_waits_for_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut typing = Typing::new(dir.path(), "text");
    let _ = typing.type_at_end(" more");
    let snapshot = typing.snapshot();
    let full = typing.doc.clone();
    let (id, _) = typing.close();
    let mut bytes = fs::read(&snapshot).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&snapshot, bytes).unwrap();

    let mut again = reopen(dir.path());
    assert_eq!(again.warnings.len(), 1, "{:?}", again.warnings);
    assert!(
        again.warnings[0].contains("kept as"),
        "{}",
        again.warnings[0]
    );
    assert_eq!(damaged_beside(&snapshot), 1);
    // The log's ops wait for the history they build on; a peer's copy brings it.
    let doc = again.docs.get_mut(&id).unwrap();
    assert!(doc.pending_len() > 0);
    for op in full.ops_since(&VersionVector::new()) {
        let _ = doc.apply(&op).unwrap();
    }
    assert_eq!(doc.text(), "text more");
}

#[test]
fn a_version_1_store_is_read_and_marked_as_version_2_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let typing = Typing::new(dir.path(), "written by version 1");
    let (snapshot, state) = (typing.snapshot(), dir.path().join(".duet/@folder/state"));
    let body = typing.doc.encode();
    let (id, text) = typing.close();
    // What version 1 left: sealed files of version 1, and no logs.
    fs::write(&snapshot, encode_file_as(1, KIND_DOC, &body)).unwrap();
    let old_state = postcard::to_stdvec(&FolderState::default()).unwrap();
    fs::write(&state, encode_file_as(1, KIND_STATE, &old_state)).unwrap();
    fs::remove_dir_all(dir.path().join(".duet/@folder/logs")).unwrap();

    let again = reopen(dir.path());
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    assert_eq!(again.docs[&id].text(), text);
    let (version, _) = decode_versioned(&state, &fs::read(&state).unwrap(), KIND_STATE).unwrap();
    assert_eq!(
        version, FOLDER_STORE_FORMAT,
        "a version 1 duet now refuses the store"
    );
}

#[test]
fn a_newer_store_is_refused_by_name_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let typing = Typing::new(dir.path(), "text");
    let state = dir.path().join(".duet/@folder/state");
    drop(typing.opened);
    let newer = encode_file_as(FOLDER_STORE_FORMAT + 1, KIND_STATE, b"");
    fs::write(&state, &newer).unwrap();
    match FolderStore::open(dir.path(), None) {
        Err(e @ StoreError::UnsupportedVersion { .. }) => {
            assert!(e.to_string().contains("state"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read(&state).unwrap(), newer);
}

#[test]
fn a_document_saved_whole_keeps_the_ops_it_holds_waiting_for_their_history() {
    let dir = tempfile::tempdir().unwrap();
    let typing = Typing::new(dir.path(), "");
    let id = typing.id;
    let mut opened = typing.opened;
    // A peer's two edits; the second arrives alone and waits for the first.
    let mut peer = Doc::new(ReplicaId::from(99));
    let first = peer.insert(0, "first ");
    let second = peer.insert(6, "second");
    let mut doc = Doc::new(opened.store.replica());
    let _ = doc.apply(&second).unwrap();
    assert_eq!(doc.pending_len(), 1);
    assert_ok(&opened.files.save(vec![(id, DocSave::Whole(Box::new(doc)))]));
    drop(opened);

    let mut again = reopen(dir.path());
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    let doc = again.docs.get_mut(&id).unwrap();
    assert_eq!(doc.pending_len(), 1, "still held after the restart");
    let _ = doc.apply(&first).unwrap();
    assert_eq!(doc.text(), "first second");
}
