//! End to end: a shared folder in the editor. `duet DIR/FILE` inside a shared folder edits
//! the file in the folder's workspace (peers' edits and other programs' changes arrive on
//! screen, the user's own reach the other disk); `duet DIR` and `duet join FOLDER-TICKET`
//! open the folder with its file picker; peers see which file each other is in, and going
//! to or following a peer crosses files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pty;

use std::fs;

use pty::{Duet, Scratch, Serve, User, wait_for_file};

/// A served folder `a` (README.md, notes.md, src/main.rs) and bob's joined copy `b`, kept
/// current by alice's `duet serve a`; bob's headless join has stopped.
fn served_and_joined(scratch: &Scratch) -> (Serve, User) {
    let a = scratch.dir("a");
    fs::create_dir_all(a.join("src")).unwrap();
    fs::write(a.join("README.md"), "# project\n").unwrap();
    fs::write(a.join("notes.md"), "first line\n").unwrap();
    fs::write(a.join("src/main.rs"), "fn main() {}\n").unwrap();
    let alice = Serve::spawn(
        &User::new("alice", &scratch.dir("home-a")),
        scratch.path(),
        "a",
        &[],
    );
    let ticket = alice.ticket();
    let bob = User::new("bob", &scratch.dir("home-b"));
    let join = Serve::spawn_args(&bob, scratch.path(), &["join", &ticket, "b"]);
    let b = scratch.path().join("b");
    wait_for_file(&b.join("notes.md"), "alice's notes", |s| {
        s == "first line\n"
    });
    wait_for_file(&b.join("src/main.rs"), "alice's main.rs", |s| {
        s == "fn main() {}\n"
    });
    join.stop();
    (alice, bob)
}

#[test]
fn a_file_inside_a_shared_folder_is_edited_in_the_folder() {
    let scratch = Scratch::new();
    let (alice, bob_user) = served_and_joined(&scratch);
    let (a, b) = (scratch.path().join("a"), scratch.path().join("b"));

    let mut bob = Duet::spawn_as(
        &bob_user,
        scratch.path(),
        &["--bind", "127.0.0.1", "b/notes.md"],
    );
    bob.wait_for("the file's text", |s| s.contains("first line"));
    bob.wait_for_status("the file named by its path in the folder", |s| {
        s.contains("notes.md")
    });
    bob.wait_for_status("alice, connected", |s| s.contains("alice"));

    // Bob's typing reaches alice's disk without a save (a folder writes as it changes).
    bob.type_str("bob says hi ");
    wait_for_file(&a.join("notes.md"), "bob's words", |s| {
        s == "bob says hi first line\n"
    });
    assert!(
        !bob.status_line().contains("[+]"),
        "nothing is unsaved in a folder: {}",
        bob.status_line()
    );
    // Another program changes the file on alice's disk: bob sees it.
    fs::write(a.join("notes.md"), "bob says hi first line\nsecond line\n").unwrap();
    bob.wait_for("alice's outside edit", |s| s.contains("second line"));
    // A file created on alice's disk appears on bob's.
    fs::write(a.join("todo.md"), "- folders\n").unwrap();
    wait_for_file(&b.join("todo.md"), "the new file", |s| s == "- folders\n");
    bob.quit();
    wait_for_file(&b.join("notes.md"), "everything on bob's disk", |s| {
        s == "bob says hi first line\nsecond line\n"
    });
    drop(alice);
}
