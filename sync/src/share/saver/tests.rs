//! The writer thread: what it saves, when, and what a crash leaves.

use super::super::SAVE_DELAY;
use super::super::rewrites::{MAX_LAG, STILL};
use super::*;
use crate::share::FolderConfig;

#[test]
fn the_watcher_takes_only_what_duet_wrote_for_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    let own = OwnWrites::default();
    std::fs::write(&file, "duet wrote this").unwrap();
    assert!(!own.explains(&file), "not noted: another program's");
    own.note(file.clone(), *blake3::hash(b"duet wrote this").as_bytes());
    assert!(own.explains(&file));
    std::fs::write(&file, "then an editor saved this").unwrap();
    assert!(!own.explains(&file), "changed since duet wrote it");
    assert!(own.explains(&dir.path().join(".notes.md.duet-tmp")));
}

/// A folder session with no network and no watcher.
fn offline(dir: &Path) -> FolderConfig {
    let mut config = FolderConfig::new(dir);
    config.net = None;
    config.watch = false;
    config
}

async fn run_for(session: &mut FolderSession, time: std::time::Duration) -> Vec<FolderEvent> {
    let mut events = Vec::new();
    let until = Instant::now() + time;
    while Instant::now() < until {
        if let Ok(wake) = tokio::time::timeout_at(until.into(), session.next()).await {
            events.extend(session.handle(wake));
        }
    }
    events
}

/// A folder of one file, `a.md` ("one\n"), opened offline; and the file's path.
async fn one_file(dir: &Path) -> (FolderSession, PathBuf) {
    let file = dir.join("a.md");
    std::fs::write(&file, "one\n").unwrap();
    let (session, _) = FolderSession::open(offline(dir)).await.unwrap();
    (session, file)
}

/// Types `text` at the start of `a.md`, then runs the session for `time`.
async fn type_at_start(session: &mut FolderSession, text: &str, time: std::time::Duration) {
    session
        .edit("a.md", |doc| vec![doc.insert(0, text)])
        .unwrap();
    run_for(session, time).await;
}

/// Opens the folder again after a crash: `a.md` holds `text` in its document and on disk,
/// and nothing on disk was imported as an edit (the document is still at `version`).
async fn restarts_intact(
    dir: &Path,
    doc: DocId,
    version: &VersionVector,
    text: &str,
) -> FolderSession {
    let (mut session, _) = FolderSession::open(offline(dir)).await.unwrap();
    run_for(&mut session, SAVE_DELAY * 3).await;
    assert_eq!(session.text("a.md").unwrap(), text);
    assert_eq!(
        session.docs[&doc].version(),
        *version,
        "nothing imported as an edit"
    );
    assert_eq!(std::fs::read_to_string(dir.join("a.md")).unwrap(), text);
    session
}

#[tokio::test]
async fn the_state_the_thread_saves_is_the_state_the_loop_holds() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20 {
        std::fs::write(dir.path().join(format!("f{i}.md")), format!("file {i}\n")).unwrap();
    }
    let (mut session, _) = FolderSession::open(offline(dir.path())).await.unwrap();
    // Each kind of change to the records, each saved by its own job on the thread:
    // edits written out, a file renamed, one deleted, one created by another program.
    for round in 0..4 {
        session
            .edit("f1.md", |doc| vec![doc.insert(0, "typed ")])
            .unwrap();
        match round {
            1 => std::fs::rename(dir.path().join("f2.md"), dir.path().join("moved.md")).unwrap(),
            2 => std::fs::remove_file(dir.path().join("f3.md")).unwrap(),
            3 => std::fs::write(dir.path().join("new.md"), "new\n").unwrap(),
            _ => {}
        }
        session.rescan_now();
        run_for(&mut session, SAVE_DELAY * 3).await;
    }
    // Long enough for the thread to save the state that waits.
    run_for(&mut session, SAVE_DELAY * 3).await;
    let held = session.store.state().on_disk.clone();
    assert!(
        held.values().any(|r| r.path == "moved.md") && !held.values().any(|r| r.path == "f3.md")
    );
    assert_eq!(held.len(), 20);
    // The process dies: what is on disk is what the thread saved.
    drop(session);
    let again = crate::store::FolderStore::open(dir.path(), None).unwrap();
    assert_eq!(again.store.state().on_disk, held);
}

#[tokio::test]
async fn a_file_written_soon_after_the_last_save_is_recorded_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut session, file) = one_file(dir.path()).await;
    type_at_start(&mut session, "first ", SAVE_DELAY * 3).await;
    // Within a second of the last save: the state still goes with the file written (a
    // stale record here once made a crash repeat text, see the module docs).
    type_at_start(&mut session, "second ", STILL + SAVE_DELAY * 3).await;
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "second first one\n"
    );
    let doc = session.doc_of("a.md").unwrap();
    let version = session.docs[&doc].version();
    // The process dies: no shutdown, so nothing more is saved.
    drop(session);
    let recorded = || {
        let store = crate::store::FolderStore::open(dir.path(), None)
            .unwrap()
            .store;
        store.state().on_disk.values().next().cloned().unwrap().hash
    };
    assert_eq!(
        recorded(),
        *blake3::hash(b"second first one\n").as_bytes(),
        "recorded with the write"
    );
    let session = restarts_intact(dir.path(), doc, &version, "second first one\n").await;
    let _ = session.shutdown().await;
    assert_eq!(recorded(), *blake3::hash(b"second first one\n").as_bytes());
}

#[cfg(unix)]
#[tokio::test]
async fn a_file_that_cannot_be_written_is_reported_once_and_written_once_it_can_be() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/a.md"), "one\n").unwrap();
    let (mut session, _) = FolderSession::open(offline(dir.path())).await.unwrap();
    // A symbolic link now stands where the file's folder was: duet never writes through
    // one.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::rename(dir.path().join("sub"), dir.path().join("moved")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("sub")).unwrap();
    session
        .edit("sub/a.md", |doc| vec![doc.insert(3, " two")])
        .unwrap();
    let events = run_for(&mut session, RETRY * 5 / 2).await;
    let problems: Vec<&FolderEvent> = events
        .iter()
        .filter(|e| matches!(e, FolderEvent::Problem(p) if p.contains("symbolic link")))
        .collect();
    assert_eq!(problems.len(), 1, "said once, tried again: {events:?}");
    assert!(!elsewhere.path().join("a.md").exists());
    // The way is clear again: the next try writes the file.
    std::fs::remove_file(dir.path().join("sub")).unwrap();
    std::fs::rename(dir.path().join("moved"), dir.path().join("sub")).unwrap();
    let events = run_for(&mut session, RETRY * 2).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FolderEvent::Disk(what) if what == "wrote sub/a.md")),
        "{events:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sub/a.md")).unwrap(),
        "one two\n"
    );
    let _ = session.shutdown().await;
}

#[tokio::test]
async fn a_file_typed_in_is_written_when_the_typing_pauses_and_a_crash_between_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut session, file) = one_file(dir.path()).await;
    let doc = session.doc_of("a.md").unwrap();
    type_at_start(&mut session, "first ", SAVE_DELAY * 3).await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "first one\n");
    // Typing goes on: the ops are saved, the file waits for a pause.
    type_at_start(&mut session, "second ", SAVE_DELAY * 3).await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "first one\n");
    let version = session.docs[&doc].version();
    // The process dies before the file's turn.
    drop(session);
    let store = crate::store::FolderStore::open(dir.path(), None).unwrap();
    assert_eq!(
        store.docs[&doc].text(),
        "second first one\n",
        "the ops were durable"
    );
    drop(store);
    // The restart writes the file; its old text is not taken for an edit.
    let session = restarts_intact(dir.path(), doc, &version, "second first one\n").await;
    let _ = session.shutdown().await;
    // A file held back is written once the typing pauses, without more typing.
    let (mut session, _) = FolderSession::open(offline(dir.path())).await.unwrap();
    type_at_start(&mut session, "3 ", SAVE_DELAY * 3).await;
    type_at_start(&mut session, "4 ", STILL + SAVE_DELAY * 3).await;
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "4 3 second first one\n"
    );
    // Typing without a pause reaches the disk too, at most MAX_LAG after the first change.
    let start = Instant::now();
    let mut typed = String::from("4 3 second first one\n");
    while start.elapsed() < MAX_LAG + STILL {
        type_at_start(&mut session, "k", SAVE_DELAY * 2).await;
        typed.insert(0, 'k');
        if start.elapsed() > MAX_LAG + SAVE_DELAY * 2 {
            let on_disk = std::fs::read_to_string(&file).unwrap();
            assert!(on_disk.starts_with("kkkk"), "{on_disk:?}");
        }
    }
    let _ = session.shutdown().await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), typed);
}

#[tokio::test]
async fn typing_appends_to_the_files_log_until_it_is_compacted_and_a_crash_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut session, _) = one_file(dir.path()).await;
    let doc = session.doc_of("a.md").unwrap();
    let store = dir.path().join(".duet/@folder");
    let (snapshot, log) = (
        store.join("docs").join(doc.to_string()),
        store.join("logs").join(doc.to_string()),
    );
    run_for(&mut session, SAVE_DELAY * 3).await;
    let first = std::fs::read(&snapshot).unwrap();
    let line = format!("{}\n", "typed, saved by appending ".repeat(20));
    let mut appended = 0;
    let mut compacted = false;
    for _ in 0..40 {
        type_at_start(&mut session, &line, SAVE_DELAY * 3).await;
        if std::fs::read(&snapshot).unwrap() == first {
            appended += 1;
            let len = std::fs::metadata(&log).unwrap().len();
            assert!(len > 52 * appended, "the log grows with each save: {len}");
        } else {
            // Saved whole once the log is as large as the snapshot: the log starts afresh.
            assert!(appended >= 8, "not before 8 KB of log: {appended} saves");
            assert!(std::fs::metadata(&log).unwrap().len() < 100);
            compacted = true;
            break;
        }
    }
    assert!(compacted, "the log was never compacted");
    type_at_start(&mut session, "after ", SAVE_DELAY * 3).await;
    let version = session.docs[&doc].version();
    let text = session.docs[&doc].text();
    // The process dies before the file's turn to be rewritten.
    drop(session);
    let session = restarts_intact(dir.path(), doc, &version, &text).await;
    let _ = session.shutdown().await;
}

/// Flips one bit of the store file `path`, `from_end` bytes before its end (0: the last).
fn flip(path: &Path, from_end: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() - 1 - from_end;
    bytes[at] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn a_damaged_store_takes_each_file_back_from_disk_and_never_writes_it_shorter() {
    for victim in ["log", "snapshot", "both", "state"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut session, file) = one_file(dir.path()).await;
        let doc = session.doc_of("a.md").unwrap();
        // Three saves, three frames in the file's log.
        for word in ["first ", "second ", "third "] {
            type_at_start(&mut session, word, SAVE_DELAY * 3).await;
        }
        let _ = session.shutdown().await;
        let text = "third second first one\n";
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
        let store = dir.path().join(".duet/@folder");
        let log = store.join("logs").join(doc.to_string());
        let snapshot = store.join("docs").join(doc.to_string());
        match victim {
            // Inside the middle frame: the last one then waits for it.
            "log" => flip(&log, 40),
            "snapshot" => flip(&snapshot, 0),
            "both" => {
                flip(&log, 40);
                flip(&snapshot, 0);
            }
            _ => flip(&store.join("state"), 0),
        }

        let (mut session, events) = FolderSession::open(offline(dir.path())).await.unwrap();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, FolderEvent::Problem(p) if p.contains("kept"))),
            "{victim}: the damage is told: {events:?}"
        );
        run_for(&mut session, SAVE_DELAY * 3).await;
        assert_eq!(session.text("a.md").unwrap(), text, "{victim}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "{victim}");
        // Typing goes on from the whole text, and a restart keeps it.
        type_at_start(&mut session, "after ", SAVE_DELAY * 3).await;
        let _ = session.shutdown().await;
        let after = format!("after {text}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), after, "{victim}");
        let (mut session, _) = FolderSession::open(offline(dir.path())).await.unwrap();
        run_for(&mut session, SAVE_DELAY * 3).await;
        assert_eq!(session.text("a.md").unwrap(), after, "{victim}");
        let _ = session.shutdown().await;
        assert_eq!(std::fs::read_to_string(&file).unwrap(), after, "{victim}");
    }
}
