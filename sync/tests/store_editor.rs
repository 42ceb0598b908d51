//! The editor's state kept in the store (`editor`): undo and redo stacks and the version last
//! seen survive close and reopen; a damaged, foreign or newer file costs the undo history
//! only, with a message; a copy of the store does not take the stacks over.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

use crdt_text::OpRange;
use duet_sync::store::{EDITOR_STATE_VERSION, EditorRead, EditorState, Opened, Store};

fn open(file: &Path) -> Opened {
    Store::open(file).unwrap_or_else(|e| panic!("open {}: {e}", file.display()))
}

/// Opens `file`, types, keeps an undo step for the insert; returns the state kept.
fn typed_and_kept(file: &Path) -> EditorState {
    let mut o = open(file);
    let op = o.doc.insert(0, "hello");
    o.store.append(std::slice::from_ref(&op)).unwrap();
    let state = EditorState {
        version: EDITOR_STATE_VERSION,
        author: None,
        seen: o.doc.version(),
        at: 1_795_000_000,
        undo: vec![vec![op.range()]],
        redo: vec![vec![OpRange {
            start: op.id,
            len: 2,
            insert: false,
        }]],
    };
    assert_eq!(o.store.read_editor_state(&o.warnings), EditorRead::Missing);
    o.store.keep_editor_state(&state).unwrap();
    o.store.close().unwrap();
    state
}

#[test]
fn the_stacks_and_the_version_seen_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    let state = typed_and_kept(&file);
    let o = open(&file);
    assert_eq!(
        o.store.read_editor_state(&o.warnings),
        EditorRead::Found(state)
    );
    assert_eq!(o.doc.text(), "hello");
}

#[test]
fn a_damaged_editor_file_loses_undo_only_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    typed_and_kept(&file);
    let path = dir.path().join(".duet/notes.md/editor");
    let mut bytes = fs::read(&path).unwrap();
    let mid = bytes.len() / 2 + 20;
    bytes[mid] ^= 0x40;
    fs::write(&path, &bytes).unwrap();
    let o = open(&file);
    assert_eq!(o.doc.text(), "hello", "the text is untouched");
    match o.store.read_editor_state(&o.warnings) {
        EditorRead::Unreadable(why) => {
            assert!(why.contains("undo history"), "{why}");
            assert!(why.contains("your text is intact"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    // Cut short: the same.
    fs::write(&path, &bytes[..30]).unwrap();
    assert!(matches!(
        o.store.read_editor_state(&o.warnings),
        EditorRead::Unreadable(_)
    ));
}

#[test]
fn a_state_written_by_a_newer_duet_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    let mut state = typed_and_kept(&file);
    let o = open(&file);
    state.version = EDITOR_STATE_VERSION + 1;
    o.store.keep_editor_state(&state).unwrap();
    match o.store.read_editor_state(&o.warnings) {
        EditorRead::Unreadable(why) => assert!(why.contains("newer duet"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_copied_store_does_not_take_over_the_undo_history() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("a");
    fs::create_dir(&folder).unwrap();
    typed_and_kept(&folder.join("notes.md"));
    let copy = dir.path().join("b");
    assert!(
        Command::new("cp")
            .arg("-r")
            .arg(&folder)
            .arg(&copy)
            .status()
            .unwrap()
            .success()
    );
    let o = open(&copy.join("notes.md"));
    assert_eq!(o.store.read_editor_state(&o.warnings), EditorRead::Missing);
}
