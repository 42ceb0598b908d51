//! End to end, on the real binary in a pseudo-terminal: history the user can see (issue 13)
//! — undo that survives a restart (and a `kill -9`), the blame view, the history view and
//! its restore, and the summary of what others changed while the user was away.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pty;

use std::fs;
use std::time::Duration;

use pty::{Duet, Scratch, key};

/// Ctrl-Q: quit.
const QUIT: &[u8] = b"\x11";

/// Quits, saving the file when asked.
fn save_and_quit(mut duet: Duet) {
    duet.send(QUIT);
    duet.wait_for("the question before quitting", |s| s.contains("Quit?"));
    duet.send(b"s");
    assert!(duet.wait_exit(), "saved and quit");
}

#[test]
fn undo_survives_quitting_and_reopening() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    fs::write(dir.join("notes.md"), "base\n").unwrap();
    let mut duet = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    duet.wait_for("the file", |s| s.contains("base"));
    duet.type_str("one ");
    duet.type_str("two ");
    duet.wait_for("the typing", |s| s.contains("one two base"));
    duet.quit(); // without writing the file: the edits are in the store
    assert_eq!(fs::read_to_string(dir.join("notes.md")).unwrap(), "base\n");

    let mut again = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    again.wait_for("the kept edits", |s| s.contains("one two base"));
    again.send(key::UNDO);
    again.wait_for("the last word undone", |s| {
        s.contains("one base") && !s.contains("two")
    });
    again.send(key::UNDO);
    again.wait_for("both words undone", |s| {
        !s.contains("one") && s.contains("base")
    });
    save_and_quit(again);
    assert_eq!(fs::read_to_string(dir.join("notes.md")).unwrap(), "base\n");

    // Redo survives too, and a third run has nothing of the undone words left to undo.
    let mut third = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    third.wait_for("the file", |s| s.contains("base"));
    third.send(b"\x19"); // Ctrl-Y: redo
    third.wait_for("the first word redone", |s| s.contains("one base"));
    third.quit();
}

#[test]
fn undo_kept_before_a_kill_dash_9_still_works() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    fs::write(dir.join("notes.md"), "base\n").unwrap();
    let mut duet = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    duet.wait_for("the file", |s| s.contains("base"));
    duet.type_str("kept ");
    duet.wait_for("the typing", |s| s.contains("kept base"));
    // The undo history is kept every few seconds while editing.
    let editor = dir.join(".duet/notes.md/editor");
    pty::wait_until(
        "the undo history to be kept",
        || fs::metadata(&editor).ok(),
        || duet.contents(),
    );
    std::thread::sleep(Duration::from_millis(300));
    duet.kill_hard();

    let mut again = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    again.wait_for("the synced edit", |s| s.contains("kept base"));
    again.send(key::UNDO);
    again.wait_for("the edit undone", |s| {
        !s.contains("kept") && s.contains("base")
    });
    again.quit();
}

#[test]
fn a_damaged_undo_file_is_named_and_the_text_is_intact() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    fs::write(dir.join("notes.md"), "base\n").unwrap();
    let mut duet = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    duet.wait_for("the file", |s| s.contains("base"));
    duet.type_str("more ");
    duet.wait_for("the typing", |s| s.contains("more base"));
    duet.quit();
    let editor = dir.join(".duet/notes.md/editor");
    let mut bytes = fs::read(&editor).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&editor, bytes).unwrap();

    let mut again = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    again.wait_for("the text", |s| s.contains("more base"));
    again.wait_for_status("the message", |s| s.contains("undo history"));
    again.send(key::UNDO);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        again.contents().contains("more base"),
        "{}",
        again.contents()
    );
    again.quit();
}
