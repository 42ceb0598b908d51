//! End to end, on the real binary in a pseudo-terminal: what a new user of the editor runs
//! into (issue 11) — bursts of typed input, the unsaved mark after quitting without saving,
//! Save as, the read-only view, the ticket as one copyable line, the joiner's file name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pty;

use std::fs;
use std::time::{Duration, Instant};

use pty::{Duet, Scratch, Serve, User, key, ticket_of};

/// Ctrl-O: save as.
const SAVE_AS: &[u8] = b"\x0f";
/// Ctrl-Q: quit.
const QUIT: &[u8] = b"\x11";

#[test]
fn a_burst_of_typed_keys_is_all_on_screen_at_once() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    let mut duet = Duet::spawn("typist", &dir, &["--offline", "burst.txt"]);
    duet.wait_for_status("the editor", |s| s.contains("Ln 1/1"));
    // 5,000 characters as keystrokes, as a terminal without bracketed paste, tmux
    // send-keys or a slow link delivers them: far more than one read of the terminal.
    let burst: String = (0..5000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let sent = Instant::now();
    duet.send(burst.as_bytes());
    duet.send(b"END");
    duet.wait_for_status("all 5,003 characters", |s| s.contains("Col 5004"));
    let took = sent.elapsed();
    let screen = duet.contents();
    assert!(screen.contains("END"), "{screen}");
    assert!(
        took < Duration::from_secs(1),
        "the burst took {took:?} to show"
    );
    duet.quit();
}

#[test]
fn quitting_without_saving_leaves_the_unsaved_mark_for_next_time() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    fs::write(dir.join("notes.md"), "saved text\n").unwrap();
    let mut duet = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    duet.wait_for("the file", |s| s.contains("saved text"));
    duet.type_str("unsaved ");
    duet.wait_for_status("the unsaved mark", |s| s.contains("[+]"));
    duet.quit(); // Ctrl-Q, then q: quit without writing the file.
    assert_eq!(
        fs::read_to_string(dir.join("notes.md")).unwrap(),
        "saved text\n"
    );

    let mut again = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    again.wait_for("the kept edit", |s| s.contains("unsaved saved text"));
    again.wait_for_status("the unsaved mark after reopening", |s| s.contains("[+]"));
    again.send(QUIT);
    again.wait_for("the question before quitting", |s| s.contains("Quit?"));
    again.send(b"s");
    assert!(again.wait_exit(), "saved and quit");
    assert_eq!(
        fs::read_to_string(dir.join("notes.md")).unwrap(),
        "unsaved saved text\n"
    );
    let last = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    last.wait_for("the file", |s| s.contains("unsaved saved text"));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !last.status_line().contains("[+]"),
        "{}",
        last.status_line()
    );
    last.quit();
}

#[test]
fn save_as_writes_the_new_file_and_moves_the_store_along() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    fs::write(dir.join("draft.txt"), "fn main() {}\n").unwrap();
    let mut duet = Duet::spawn("writer", &dir, &["--offline", "draft.txt"]);
    duet.wait_for("the file", |s| s.contains("fn main"));
    duet.type_str("// hi");
    duet.send(key::ENTER);
    duet.send(SAVE_AS);
    duet.wait_for("the save-as prompt", |s| s.contains("Save as: draft.txt"));
    for _ in 0.."draft.txt".len() {
        duet.send(b"\x7f");
    }
    duet.type_str("main.rs");
    duet.send(key::ENTER);
    pty::wait_for_file(&dir.join("main.rs"), "the document", |s| {
        s == "// hi\nfn main() {}\n"
    });
    duet.wait_for_status("the new name", |s| {
        s.contains("main.rs") && !s.contains("[+]")
    });
    assert!(dir.join(".duet/main.rs").is_dir(), "the store moved");
    assert!(!dir.join(".duet/draft.txt").exists());
    assert_eq!(
        fs::read_to_string(dir.join("draft.txt")).unwrap(),
        "fn main() {}\n"
    );
    duet.quit();
    // The history came along: reopening the new name finds it, with nothing to import.
    let again = Duet::spawn("writer", &dir, &["--offline", "main.rs"]);
    again.wait_for("the document", |s| s.contains("// hi"));
    again.quit();
}

#[test]
fn a_read_only_view_shows_the_file_and_refuses_edits() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    fs::write(dir.join("look.md"), "# look only\n").unwrap();
    let mut duet = Duet::spawn("reader", &dir, &["--read-only", "look.md"]);
    duet.wait_for("the file", |s| s.contains("# look only"));
    duet.wait_for_status("read-only", |s| s.contains("read-only"));
    duet.type_str("x");
    duet.wait_for_status("the refusal", |s| s.contains("Read-only"));
    assert!(!duet.contents().contains("x# look"));
    duet.send(QUIT);
    assert!(duet.wait_exit(), "quits at once");
    assert!(!dir.join(".duet").exists(), "a view makes no store");
}

#[test]
fn the_ticket_is_one_line_to_copy_and_the_joiner_gets_the_file_name() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.dir("a"), scratch.dir("b"));
    fs::write(a.join("notes.md"), "# shared\n").unwrap();
    fs::write(b.join("notes.md"), "someone else's notes\n").unwrap();
    let mut host = Duet::spawn("hostie", &a, &["--bind", "127.0.0.1", "notes.md"]);
    host.wait_for("the document", |s| s.contains("# shared"));
    let ticket = ticket_of(&a, "notes.md");
    host.send(key::TICKET);
    // The terminal wrapped the ticket itself: its rows read back as one line.
    host.wait_for("the ticket as one line", |s| {
        s.lines().any(|l| l.trim() == ticket)
    });
    host.send(key::ESC);

    let guest = Duet::spawn("guesto", &b, &["--bind", "127.0.0.1", "join", &ticket]);
    guest.wait_for("the host's text", |s| s.contains("# shared"));
    guest.wait_for_status("the sharer's name, made unique", |s| {
        s.contains("notes (2).md")
    });
    assert!(b.join(".duet/notes (2).md").is_dir());
    assert_eq!(
        fs::read_to_string(b.join("notes.md")).unwrap(),
        "someone else's notes\n",
        "the joiner's own file is left alone"
    );
    guest.quit();
    host.quit();
}

#[test]
fn joining_without_a_terminal_says_so_and_creates_nothing() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.dir("a"), scratch.dir("b"));
    fs::write(a.join("served.md"), "x\n").unwrap();
    let server = Serve::spawn(&User::new("server", &a), &a, "served.md", &[]);
    let ticket = server.ticket();
    let out = std::process::Command::new(pty::duet_bin())
        .args(["--bind", "127.0.0.1", "join", &ticket])
        .current_dir(&b)
        .env("DUET_HOME", &b)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(err.contains("duet serve --join"), "{err}");
    assert!(!b.join(".duet").exists(), "nothing was created");
    assert!(!b.join("served.md").exists());
    server.stop();
}
