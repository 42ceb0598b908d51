//! End to end, on the real binary in a pseudo-terminal: history the user can see (issue 13)
//! — undo that survives a restart (and a `kill -9`), the blame view, the history view and
//! its restore, and the summary of what others changed while the user was away.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pty;

use std::fs;
use std::time::Duration;

use pty::{Duet, Scratch, Serve, User, key};

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

/// Alt-B, Alt-H.
const BLAME: &[u8] = b"\x1bb";
const HISTORY: &[u8] = b"\x1bh";
/// Alt-J: the next place changed while away.
const NEXT_CHANGE: &[u8] = b"\x1bj";
const LEFT: &[u8] = b"\x1b[D";

#[test]
fn the_history_view_restores_an_earlier_version_as_one_undo_step() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    let file = dir.join("notes.md");
    fs::write(&file, "base\n").unwrap();
    let mut duet = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    duet.wait_for("the file", |s| s.contains("base"));
    duet.type_str("one ");
    duet.send(key::DOC_END);
    duet.type_str("two");
    duet.wait_for("the typing", |s| {
        s.contains("one base") && s.contains("two")
    });
    duet.send(HISTORY);
    duet.wait_for("the history view", |s| {
        s.contains("History: session 1 of 1")
    });
    // Back through the session's edits: "two", then "one ".
    duet.send(LEFT);
    duet.wait_for("the last edit", |s| s.contains("edit 3 of 3"));
    duet.send(LEFT);
    duet.wait_for("the edit before", |s| s.contains("edit 2 of 3"));
    let shown = duet.contents();
    assert!(
        shown.contains("one base") && !shown.contains("two"),
        "{shown}"
    );
    duet.send(key::ENTER);
    duet.wait_for_status("the restore", |s| s.contains("Restored"));
    duet.wait_for("the restored text", |s| {
        s.contains("one base") && !s.contains("two")
    });
    // One Ctrl-Z brings today's text back.
    duet.send(key::UNDO);
    duet.wait_for("today's text", |s| {
        s.contains("one base") && s.contains("two")
    });
    duet.send(b"\x19"); // Ctrl-Y: restore again
    duet.wait_for("the restored text again", |s| !s.contains("two"));
    duet.save(&file, |s| s == "one base\n");
    duet.quit();
}

#[test]
fn the_blame_view_names_the_authors_of_a_shared_document() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.dir("bob"), scratch.dir("alice"));
    fs::write(a.join("notes.md"), "bob's line\n").unwrap();
    let bob = Serve::spawn(&User::new("bob", &a), &a, "notes.md", &["--name", "bob"]);
    let ticket = bob.ticket();
    let mut alice = Duet::spawn(
        "alice",
        &b,
        &["--bind", "127.0.0.1", "join", &ticket, "notes.md"],
    );
    alice.wait_for("bob's text", |s| s.contains("bob's line"));
    // Edits are dated to the second: alice's come a second after bob's, so hers is the
    // line's last change (within one second, the tie is broken by replica id).
    std::thread::sleep(Duration::from_millis(1100));
    alice.type_str("alice: ");
    alice.send(BLAME);
    let screen = alice.wait_for("the legend", |s| {
        s.contains("Blame") && s.contains("alice (you)") && s.contains(" bob ")
    });
    // The margin names the line's last author (alice typed on it last).
    let line = screen
        .lines()
        .find(|l| l.contains("alice: bob's line"))
        .unwrap();
    assert!(line.starts_with("alice "), "{line}");
    // Author and time of the cursor line in the status line.
    alice.wait_for_status("the cursor line's author", |s| s.contains("alice (you) ·"));
    alice.quit();
}

#[test]
fn while_you_were_away_sums_up_what_a_peer_changed() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.dir("bob"), scratch.dir("alice"));
    let served = a.join("notes.md");
    fs::write(&served, "first line\nsecond line\n").unwrap();
    let bob = Serve::spawn(&User::new("bob", &a), &a, "notes.md", &["--name", "bob"]);
    let ticket = bob.ticket();
    let mut alice = Duet::spawn(
        "alice",
        &b,
        &["--bind", "127.0.0.1", "join", &ticket, "notes.md"],
    );
    alice.wait_for("bob's text", |s| s.contains("first line"));
    alice.type_str("hi ");
    pty::wait_for_file(&served, "alice's edit", |s| s.starts_with("hi first line"));
    alice.quit();

    // While alice is away, bob's file changes in two places (merged by his duet as his
    // edits).
    fs::write(
        &served,
        "hi first line\nbob's new line\nsecond line, amended\n",
    )
    .unwrap();
    pty::wait_until(
        "bob's duet to merge the change",
        || {
            bob.lines()
                .iter()
                .any(|l| l.contains("merged edits made to the file"))
                .then_some(())
        },
        || format!("{:#?}", bob.lines()),
    );

    let mut alice = Duet::spawn("alice", &b, &["--bind", "127.0.0.1", "notes.md"]);
    alice.wait_for("bob's changes", |s| s.contains("second line, amended"));
    let screen = alice.wait_for("the summary", |s| {
        s.contains("While you were away: bob changed 2 places") && s.contains("2 to visit")
    });
    assert!(!screen.contains("alice changed"), "{screen}");
    alice.send(NEXT_CHANGE);
    alice.wait_for("one place visited", |s| s.contains("1 to visit"));
    alice.wait_for_status("the cursor on bob's line", |s| s.contains("Ln 2/"));
    alice.send(NEXT_CHANGE);
    alice.wait_for("every place visited", |s| {
        !s.contains("While you were away")
    });
    alice.quit();
    drop(bob);
}
