//! The folder store: identity, state, documents, locking and damage.

use super::*;

#[test]
fn a_files_undo_history_is_kept_and_a_damaged_one_is_named() {
    use crate::store::{EDITOR_STATE_VERSION, EditorRead, EditorState};
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::open(dir.path(), None).unwrap().store;
    let doc = DocId::random();
    assert_eq!(store.read_editor(&doc), EditorRead::Missing);
    let state = EditorState {
        version: EDITOR_STATE_VERSION,
        at: 42,
        ..EditorState::default()
    };
    store.keep_editor(&doc, &state).unwrap();
    assert_eq!(store.read_editor(&doc), EditorRead::Found(state));
    let file = dir.path().join(format!(".duet/@folder/editor/{doc}"));
    let mut bytes = fs::read(&file).unwrap();
    bytes[2] ^= 1;
    fs::write(&file, bytes).unwrap();
    match store.read_editor(&doc) {
        EditorRead::Unreadable(why) => assert!(why.contains("undo starts afresh"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_recent_files_are_kept_and_a_damaged_list_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::open(dir.path(), None).unwrap().store;
    assert_eq!(store.recent().unwrap(), Vec::<String>::new());
    let recent = vec!["src/main.rs".to_string(), "README.md".to_string()];
    store.keep_recent(&recent).unwrap();
    drop(store);
    let store = FolderStore::open(dir.path(), None).unwrap().store;
    assert_eq!(store.recent().unwrap(), recent);
    let file = dir.path().join(".duet/@folder/recent");
    let mut bytes = fs::read(&file).unwrap();
    bytes[3] ^= 1;
    fs::write(&file, bytes).unwrap();
    let error = store.recent().unwrap_err().to_string();
    assert!(error.contains("recent"), "{error}");
}

#[test]
fn a_folder_store_keeps_its_identity_state_and_documents() {
    let dir = tempfile::tempdir().unwrap();
    let opened = FolderStore::open(dir.path(), None).unwrap();
    assert!(opened.created && opened.docs.is_empty());
    let (mut store, mut files) = (opened.store, opened.files);
    let folder = store.identity().folder;
    let mut doc = Doc::new(store.replica());
    let _ = doc.insert(0, "hello");
    let id = DocId::random();
    let saved = files.save(vec![(id, DocSave::Whole(Box::new(doc)))]);
    assert!(saved.outcomes.iter().all(|(_, o)| o.is_ok()));
    let file = FileId(crate::folder::Stamp {
        lamport: 1,
        replica: store.replica(),
    });
    store.record_on_disk(
        file,
        OnDisk {
            path: "a.md".into(),
            hash: [7; 32],
            version: VersionVector::new(),
        },
    );
    store.writer().save_state(store.state()).unwrap();
    let replica = store.replica();
    drop((store, files));

    let again = FolderStore::open(dir.path(), None).unwrap();
    assert!(!again.created);
    assert_eq!(again.store.identity().folder, folder);
    assert_ne!(again.store.replica(), replica, "a fresh replica per open");
    assert_eq!(again.docs[&id].text(), "hello");
    assert_eq!(again.store.state().on_disk[&file].path, "a.md");
}

#[test]
fn a_second_process_is_refused_and_another_folders_ticket_too() {
    let dir = tempfile::tempdir().unwrap();
    let opened = FolderStore::open(dir.path(), None).unwrap();
    assert!(matches!(
        FolderStore::open(dir.path(), None),
        Err(StoreError::Locked { .. })
    ));
    drop(opened);
    let other = (DocId::random(), DocSecret::random());
    assert!(matches!(
        FolderStore::open(dir.path(), Some(other)),
        Err(StoreError::WrongDocument { .. })
    ));
}

#[test]
fn an_outside_change_is_merged_onto_what_the_file_held_keeping_later_edits() {
    let mut alice = Doc::new(ReplicaId::from(1));
    let first = alice.insert(0, "base\n");
    let mut bob = Doc::new(ReplicaId::from(2));
    let _ = bob.apply(&first).unwrap();
    let on_disk = OnDisk {
        path: "plan.md".into(),
        hash: *blake3::hash(b"base\n").as_bytes(),
        version: bob.version(),
    };
    let later = alice.insert(5, "alice\n");
    let _ = bob.apply(&later).unwrap();
    let (ops, _) = FolderStore::merge_text(&mut bob, Some(&on_disk), "bob\nbase\n");
    assert!(!ops.is_empty());
    assert_eq!(bob.text(), "bob\nbase\nalice\n");
}

#[test]
fn plain_files_are_written_renamed_and_removed_inside_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let store = FolderStore::open(dir.path(), None).unwrap().store;
    store
        .write_plains(&[("a/b/c.md", "one")])
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join("a/b/c.md")).unwrap(),
        "one"
    );
    store.rename_plain("a/b/c.md", "d/e.md").unwrap();
    assert!(!dir.path().join("a").exists(), "empty folders go");
    store.remove_plain("d/e.md").unwrap();
    assert!(!dir.path().join("d").exists());
    #[cfg(unix)]
    {
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        assert!(store.write_plains(&[("link/x.md", "no")])[0].is_err());
        assert!(!outside.path().join("x.md").exists());
    }
}
