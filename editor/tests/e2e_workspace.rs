//! End to end: a shared folder in the editor. `duet DIR/FILE` inside a shared folder edits
//! the file in the folder's workspace (peers' edits and other programs' changes arrive on
//! screen, the user's own reach the other disk); `duet DIR` and `duet join FOLDER-TICKET`
//! open the folder with its file picker; peers see which file each other is in, and going
//! to or following a peer crosses files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pty;

use std::fs;

use pty::{Duet, Scratch, Serve, User, key, wait_for_file};

/// A UDP port free on loopback now (so that a peer restarted on it is found again).
fn free_port() -> String {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port().to_string()
}

/// A served folder `a` (README.md, notes.md, src/main.rs) and bob's joined copy `b`, kept
/// current by alice's `duet serve a`; bob's headless join has stopped. `ports`: alice's and
/// bob's fixed ports, if they are to find each other again after restarting.
fn served_and_joined(scratch: &Scratch, ports: Option<(&str, &str)>) -> (Serve, User) {
    let a = scratch.dir("a");
    fs::create_dir_all(a.join("src")).unwrap();
    fs::write(a.join("README.md"), "# project\n").unwrap();
    fs::write(a.join("notes.md"), "first line\n").unwrap();
    fs::write(a.join("src/main.rs"), "fn main() {}\n").unwrap();
    let (alice_port, bob_port) = match ports {
        Some((a, b)) => (vec!["--port", a], vec!["--port", b]),
        None => (Vec::new(), Vec::new()),
    };
    let alice = Serve::spawn(
        &User::new("alice", &scratch.dir("home-a")),
        scratch.path(),
        "a",
        &alice_port,
    );
    let ticket = alice.ticket();
    let bob = User::new("bob", &scratch.dir("home-b"));
    let mut join = vec!["join", &ticket, "b"];
    join.extend(bob_port);
    let join = Serve::spawn_args(&bob, scratch.path(), &join);
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

/// Makes `a` (already written) a shared folder by serving it once, offline; returns its user.
fn offline_shared_folder(scratch: &Scratch) -> User {
    let user = User::new("alice", &scratch.dir("home"));
    let serve = Serve::spawn(&user, scratch.path(), "a", &["--offline"]);
    serve.wait_line("the folder served", |l| l.starts_with("serving folder"));
    serve.stop();
    user
}

#[test]
fn a_file_inside_a_shared_folder_is_edited_in_the_folder() {
    let scratch = Scratch::new();
    let (alice, bob_user) = served_and_joined(&scratch, None);
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
    // Alice renames the file bob is in: his status line follows, his typing goes on in it.
    fs::rename(a.join("notes.md"), a.join("journal.md")).unwrap();
    bob.wait_for_status("the new name", |s| s.contains("journal.md"));
    bob.type_str("! ");
    wait_for_file(
        &a.join("journal.md"),
        "bob's typing after the rename",
        |s| s == "bob says hi ! first line\nsecond line\n",
    );
    // Alice deletes it while bob has it open: he is told, and his next edit brings it back
    // (an edit wins over a delete).
    fs::remove_file(a.join("journal.md")).unwrap();
    bob.wait_for("being told of the delete", |s| {
        s.contains("was deleted by a peer")
    });
    bob.type_str("kept ");
    wait_for_file(
        &a.join("journal.md"),
        "the file back on alice's disk",
        |s| s.contains("kept "),
    );
    bob.quit();
    wait_for_file(&b.join("journal.md"), "everything on bob's disk", |s| {
        s == "bob says hi ! kept first line\nsecond line\n"
    });
    assert!(!b.join("notes.md").exists(), "the old name is gone");
    drop(alice);
}

#[test]
fn peers_see_which_file_each_is_in_and_go_to_one_across_files() {
    let scratch = Scratch::new();
    let (pa, pb) = (free_port(), free_port());
    let (serve, bob_user) = served_and_joined(&scratch, Some((&pa, &pb)));
    serve.stop();
    let alice_user = User::new("alice", &scratch.path().join("home-a"));
    let mut alice = Duet::spawn_as(
        &alice_user,
        scratch.path(),
        &["--bind", "127.0.0.1", "--port", &pa, "a/src/main.rs"],
    );
    alice.wait_for("main.rs", |s| s.contains("fn main() {}"));
    let mut bob = Duet::spawn_as(
        &bob_user,
        scratch.path(),
        &["--bind", "127.0.0.1", "--port", &pb, "b/notes.md"],
    );
    bob.wait_for("notes.md", |s| s.contains("first line"));
    // Each sees the other, and in which file.
    bob.wait_for_status("alice in main.rs", |s| s.contains("alice in main.rs"));
    alice.wait_for_status("bob in notes.md", |s| s.contains("bob in notes.md"));
    bob.send(key::PEERS);
    bob.wait_for("the panel naming alice's file", |s| {
        s.lines()
            .any(|l| l.contains("alice") && l.contains("in src/main.rs"))
    });
    bob.send(key::ESC);

    // Alice moves to the end of main.rs; bob goes to her: main.rs opens at her cursor.
    alice.send(key::DOC_END);
    alice.type_str("// alice was here");
    wait_for_file(
        &scratch.path().join("b/src/main.rs"),
        "alice's line on bob's disk",
        |s| s.ends_with("// alice was here"),
    );
    // Her cursor's last move follows her last keystroke (presence is rate-limited).
    std::thread::sleep(std::time::Duration::from_millis(500));
    bob.send(key::GOTO_PEER);
    bob.wait_for_status("bob in main.rs", |s| {
        s.contains("main.rs") && !s.contains("notes.md")
    });
    bob.wait_for("alice's line", |s| s.contains("// alice was here"));
    bob.wait_for_status("bob on alice's line", |s| s.contains("Ln 2/2"));
    // And bob's typing lands in main.rs beside hers, on both disks.
    bob.type_str(" and bob");
    let main_rs = "fn main() {}\n// alice was here and bob";
    wait_for_file(&scratch.path().join("a/src/main.rs"), "both edits", |s| {
        s == main_rs
    });
    alice.wait_for("bob's words", |s| s.contains("alice was here and bob"));
    assert_eq!(
        fs::read_to_string(scratch.path().join("b/notes.md")).unwrap(),
        "first line\n"
    );
    // Bob follows alice; she opens README.md with the picker: his view goes along.
    bob.send(key::FOLLOW);
    bob.wait_for_status("following alice", |s| s.contains("following alice"));
    alice.send(key::PICK);
    alice.wait_for("the picker", |s| s.contains("README.md"));
    alice.type_str("readme");
    alice.send(key::ENTER);
    alice.wait_for_status("README open", |s| s.contains("README.md"));
    bob.wait_for_status("bob in README.md, still following", |s| {
        s.contains("README.md") && s.contains("following alice")
    });
    bob.wait_for("the README", |s| s.contains("# project"));
    // A key stops following; bob's buffer of main.rs kept his place.
    bob.send(key::ESC);
    bob.wait_for_status("no longer following", |s| !s.contains("following"));
    bob.send(key::PICK);
    bob.type_str("main");
    bob.send(key::ENTER);
    bob.wait_for_status("main.rs again, where he was", |s| {
        s.contains("main.rs") && s.contains("Ln 2/2")
    });
    // The previous file comes first in the picker: Ctrl-E, Enter goes back to it.
    bob.send(key::PICK);
    bob.wait_for("the picker", |s| s.contains("Open file"));
    bob.send(key::ENTER);
    bob.wait_for_status("back in README.md", |s| s.contains("README.md"));
    bob.quit();
    alice.quit();
}

#[test]
fn a_folder_opened_in_the_editor_is_shared_with_ctrl_t() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    fs::create_dir_all(a.join("src")).unwrap();
    fs::write(a.join("notes.md"), "hello from alice\n").unwrap();
    fs::write(a.join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::write(a.join("logo.png"), b"\x89PNG\0\0binary").unwrap();
    let mut alice = Duet::spawn_as(
        &User::new("alice", &scratch.dir("home-a")),
        scratch.path(),
        &["--bind", "127.0.0.1", "a"],
    );
    alice.wait_for_status("the folder's name", |s| s.contains(" a "));
    // The picker is open at once: the files, and the one not shared with the reason.
    alice.wait_for("the picker", |s| {
        s.contains("notes.md")
            && s.contains("src/main.rs")
            && s.contains("logo.png  (not shared: binary")
    });
    alice.type_str("smn");
    alice.send(key::ENTER);
    alice.wait_for_status("main.rs open", |s| s.contains("src/main.rs"));
    alice.wait_for("its text", |s| s.contains("fn main() {}"));
    alice.type_str("// ");
    wait_for_file(&a.join("src/main.rs"), "alice's typing", |s| {
        s == "// fn main() {}\n"
    });
    alice.send(key::TICKET);
    // Read once the whole of it is drawn: a screen caught mid-draw holds a cut ticket.
    let whole = |l: &str| l.parse::<sync::ticket::DocTicket>().is_ok();
    let screen = alice.wait_for("the folder's whole ticket", |s| {
        s.lines().any(|l| whole(l.trim()))
    });
    let ticket = screen
        .lines()
        .map(str::trim)
        .find(|l| whole(l))
        .unwrap()
        .to_string();
    alice.send(key::ESC);
    // Bob joins from a script: the folder appears on his disk.
    let bob = Serve::spawn_args(
        &User::new("bob", &scratch.dir("home-b")),
        scratch.path(),
        &["join", &ticket, "b"],
    );
    wait_for_file(&scratch.path().join("b/notes.md"), "alice's notes", |s| {
        s == "hello from alice\n"
    });
    alice.wait_for_status("bob, connected", |s| s.contains("bob"));
    drop(bob);
    alice.quit();
}

#[test]
fn undo_in_a_folder_file_survives_quitting_and_reopening() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    fs::write(a.join("notes.md"), "text\n").unwrap();
    let user = offline_shared_folder(&scratch);
    let mut alice = Duet::spawn_as(&user, scratch.path(), &["--offline", "a/notes.md"]);
    alice.wait_for("the file", |s| s.contains("text"));
    alice.type_str("my ");
    wait_for_file(&a.join("notes.md"), "the typing", |s| s == "my text\n");
    alice.quit();
    let mut alice = Duet::spawn_as(&user, scratch.path(), &["--offline", "a/notes.md"]);
    alice.wait_for("the typing", |s| s.contains("my text"));
    alice.send(key::UNDO);
    alice.wait_for("the typing undone", |s| !s.contains("my text"));
    wait_for_file(&a.join("notes.md"), "the undo on disk", |s| s == "text\n");
    alice.quit();
}

#[test]
fn a_folder_open_in_one_terminal_is_refused_clearly_in_a_second() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    fs::write(a.join("notes.md"), "text\n").unwrap();
    let user = User::new("alice", &scratch.dir("home"));
    let first = Duet::spawn_as(&user, scratch.path(), &["--offline", "a/notes.md"]);
    // Not yet a shared folder: the file opens on its own; `duet a` shares the folder.
    first.wait_for("the file", |s| s.contains("text"));
    first.quit();
    let first = Duet::spawn_as(&user, scratch.path(), &["--offline", "a"]);
    first.wait_for_status("the folder", |s| s.contains(" a "));
    let second = Duet::spawn_as(&user, scratch.path(), &["--offline", "a/notes.md"]);
    second.wait_for("the refusal", |s| {
        s.contains("already open in another duet")
    });
    assert!(!second.wait_exit(), "the second duet exits with an error");
    first.quit();
    assert_eq!(fs::read_to_string(a.join("notes.md")).unwrap(), "text\n");
}

#[test]
fn joining_a_folder_in_a_terminal_opens_it_in_the_editor() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    fs::create_dir_all(a.join("src")).unwrap();
    fs::write(a.join("README.md"), "# project\n").unwrap();
    fs::write(a.join("src/main.rs"), "fn main() {}\n").unwrap();
    let alice = Serve::spawn(
        &User::new("alice", &scratch.dir("home-a")),
        scratch.path(),
        "a",
        &[],
    );
    let ticket = alice.ticket();
    let mut bob = Duet::spawn_as(
        &User::new("bob", &scratch.dir("home-b")),
        scratch.path(),
        &["--bind", "127.0.0.1", "join", &ticket, "b"],
    );
    let b = scratch.path().join("b");
    wait_for_file(&b.join("src/main.rs"), "alice's main.rs", |s| {
        s == "fn main() {}\n"
    });
    wait_for_file(&b.join("README.md"), "alice's README", |s| {
        s == "# project\n"
    });
    bob.wait_for_status("the folder, with alice", |s| {
        s.contains(" b ") && s.contains("alice")
    });
    // The picker, open from the start, filled as the files arrived.
    bob.wait_for("the picker listing them", |s| {
        s.contains("README.md") && s.contains("src/main.rs")
    });
    bob.type_str("main");
    bob.send(key::ENTER);
    bob.wait_for("main.rs", |s| s.contains("fn main() {}"));
    bob.quit();
    drop(alice);
}

#[test]
fn typing_in_a_folder_survives_a_kill_dash_9_and_a_restart_at_once() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    fs::write(a.join("notes.md"), "kept\n").unwrap();
    let user = offline_shared_folder(&scratch);
    let mut alice = Duet::spawn_as(&user, scratch.path(), &["--offline", "a/notes.md"]);
    alice.wait_for("the file", |s| s.contains("kept"));
    alice.type_str("typed before the crash ");
    // Killed once the typing is on disk: whether the store had it yet or not (a file that
    // differs from what the store recorded is taken as an outside edit), nothing is lost.
    wait_for_file(&a.join("notes.md"), "the typing on disk", |s| {
        s == "typed before the crash kept\n"
    });
    alice.kill_hard();
    let mut alice = Duet::spawn_as(&user, scratch.path(), &["--offline", "a/notes.md"]);
    alice.wait_for("the text after the crash", |s| {
        s.contains("typed before the crash kept")
    });
    alice.send(key::DOC_END);
    alice.type_str("and after");
    alice.quit();
    assert_eq!(
        fs::read_to_string(a.join("notes.md")).unwrap(),
        "typed before the crash kept\nand after"
    );
}

#[test]
fn typing_in_a_folder_reaches_the_disk_while_it_goes_on_and_whole_once_it_pauses() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    let file = a.join("notes.md");
    fs::write(&file, "end\n").unwrap();
    let user = offline_shared_folder(&scratch);
    let mut alice = Duet::spawn_as(&user, scratch.path(), &["--offline", "a/notes.md"]);
    alice.wait_for("the file", |s| s.contains("end"));
    // A key every 100 ms for 5 s, never pausing, while another program reads the file: it
    // sees the text grow as the typing goes on (every 2 s at least), whole each time, and
    // is not woken by every keystroke.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..50 {
        alice.type_str("k");
        std::thread::sleep(std::time::Duration::from_millis(100));
        seen.insert(fs::read_to_string(&file).unwrap());
    }
    assert!(
        seen.iter().all(|s| s.trim_start_matches('k') == "end\n"),
        "always whole: {seen:?}"
    );
    // Written at the first key, then every 2 s: 3 versions (a stalled moment may add one or
    // two; a write every 500 ms would make 10).
    let grown = seen.iter().filter(|s| s.starts_with('k')).count();
    assert!(
        (2..=7).contains(&grown),
        "written while the typing went on, not with every key: {seen:?}"
    );
    // Once the typing pauses, all of it.
    let all = format!("{}end\n", "k".repeat(50));
    wait_for_file(&file, "every key", |s| s == all);
    alice.quit();
    assert_eq!(fs::read_to_string(&file).unwrap(), all);
}
