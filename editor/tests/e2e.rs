//! End to end: two real `duet` binaries in pseudo-terminals on loopback. The host opens a
//! file, the guest joins with the host's ticket; both type, both screens converge and show
//! the other's cursor; the guest quits, the host edits on, the guest restarts and catches up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pty;

use std::fs;

use pty::{Duet, Scratch, Serve, User, key, ticket_of, wait_for_file};

#[test]
fn two_duets_edit_together_and_catch_up_after_a_restart() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.dir("a"), scratch.dir("b"));
    fs::write(a.join("notes.md"), "shared notes\n").unwrap();

    let mut host = Duet::spawn("hostie", &a, &["--bind", "127.0.0.1", "notes.md"]);
    host.wait_for("the document", |s| s.contains("shared notes"));
    let ticket = ticket_of(&a, "notes.md");

    let mut guest = Duet::spawn(
        "guesto",
        &b,
        &["--bind", "127.0.0.1", "join", &ticket, "notes.md"],
    );
    guest.wait_for("the host's text", |s| s.contains("shared notes"));
    guest.wait_for("the host in the status line", |s| s.contains("hostie"));

    host.type_str("host was here ");
    guest.send(key::DOWN); // to the empty last line
    guest.type_str("guest too");
    for duet in [&host, &guest] {
        duet.wait_for("both edits", |s| {
            s.contains("host was here shared notes") && s.contains("guest too")
        });
    }
    host.wait_for("the guest's cursor label", |s| s.contains("guesto"));
    guest.wait_for("the host's cursor label", |s| s.contains("hostie"));

    // The guest quits; the host keeps editing; the guest comes back and catches up.
    guest.quit();
    host.wait_for("the guest to leave", |s| {
        s.contains("guesto left") || s.contains("○guesto")
    });
    host.type_str("while you were away ");
    let guest = Duet::spawn("guesto", &b, &["--bind", "127.0.0.1", "notes.md"]);
    guest.wait_for("the edits made while it was away", |s| {
        s.contains("while you were away")
    });
    host.wait_for("the guest to return", |s| s.contains("●guesto"));

    guest.quit();
    host.quit();
}

/// `duet serve`: a headless peer prints its ticket, keeps its file up to date on disk as a
/// joined editor types, and on SIGTERM saves and exits cleanly.
#[test]
fn serve_keeps_the_file_current_and_stops_cleanly_on_sigterm() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.dir("a"), scratch.dir("b"));
    let file = a.join("served.md");
    fs::write(&file, "served text\n").unwrap();

    let server = Serve::spawn(&User::new("server", &a), &a, "served.md", &[]);
    let ticket = server.ticket();

    let mut guest = Duet::spawn(
        "guesto",
        &b,
        &["--bind", "127.0.0.1", "join", &ticket, "served.md"],
    );
    guest.wait_for("the served text", |s| s.contains("served text"));
    // The guest's name may arrive after it joins (with its presence): its id is printed.
    server.wait_line("the guest joining", |l| l.starts_with("joined: "));
    guest.type_str("typed remotely ");

    // The server writes its file (debounced) with the guest's edit.
    wait_for_file(&file, "the guest's edit", |s| {
        s == "typed remotely served text\n"
    });

    guest.quit();
    let lines = server.stop();
    assert!(
        lines.iter().any(|l| l.starts_with("stopping: saving")),
        "{lines:#?}"
    );
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "typed remotely served text\n"
    );
}
