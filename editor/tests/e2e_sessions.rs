//! End to end, peers and what the status line says (issue 10): real `duet` binaries on
//! loopback, asserting on the screens, on `duet serve`'s output and on the files on disk.
//!
//! - the same user in two terminals (one `DUET_HOME`) pairs like two people;
//! - the status line tells the truth: alone online, offline, a peer that left;
//! - a server killed with SIGKILL and restarted syncs again at once, without flapping;
//! - peers that all quit and reopen (no ticket, no flags) find each other again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pty;

use std::fs;
use std::time::{Duration, Instant};

use pty::{Duet, Scratch, Serve, User, key, ticket_of, wait_for_file, wait_until};

/// How long a restarted peer may take to sync again before a test fails (the target is one
/// second; the margin is for debug builds on a loaded CI machine).
const RESUME_LIMIT: Duration = Duration::from_secs(5);

#[test]
fn the_same_user_in_two_terminals_edits_together() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.dir("a"), scratch.dir("b"));
    let me = User::new("sam", &scratch.dir("home"));
    fs::write(a.join("notes.md"), "shared notes\n").unwrap();

    let mut first = Duet::spawn_as(&me, &a, &["--bind", "127.0.0.1", "notes.md"]);
    first.wait_for("the file's text", |s| s.contains("shared notes"));
    let ticket = ticket_of(&a, "notes.md");
    let mut second = Duet::spawn_as(
        &me,
        &b,
        &["--bind", "127.0.0.1", "join", &ticket, "notes.md"],
    );
    second.wait_for("the shared text", |s| s.contains("shared notes"));

    first.type_str("from a ");
    second.send(key::DOWN);
    second.type_str("from b");
    for duet in [&first, &second] {
        duet.wait_for("both edits", |s| {
            s.contains("from a shared notes") && s.contains("from b")
        });
        duet.wait_for_status("the other terminal here", |s| s.contains("(1 here)"));
    }
    second.quit();
    first.quit();
}

#[test]
fn the_status_line_tells_the_truth() {
    let scratch = Scratch::new();
    let (a, b, c) = (scratch.dir("a"), scratch.dir("b"), scratch.dir("c"));
    fs::write(a.join("notes.md"), "shared notes\n").unwrap();
    fs::write(c.join("notes.md"), "private notes\n").unwrap();

    // Alone but online: nobody else yet, and how to share. Typing adds no count of unsent
    // edits: there is no one to send them to.
    let mut host = Duet::spawn("host", &a, &["--bind", "127.0.0.1", "notes.md"]);
    host.wait_for_status("alone", |s| s.contains("only you · Ctrl-T shares"));
    host.type_str("typed alone ");
    host.wait_for("the typed text", |s| s.contains("typed alone shared notes"));
    let status = host.status_line();
    assert!(
        status.contains("only you · Ctrl-T shares")
            && !status.to_lowercase().contains("offline")
            && !status.contains("unsent")
            && !status.contains("sending"),
        "{status}"
    );

    // A guest joins: both are here; the guest quits: the host says it left.
    let ticket = ticket_of(&a, "notes.md");
    let guest = Duet::spawn(
        "guest",
        &b,
        &["--bind", "127.0.0.1", "join", &ticket, "notes.md"],
    );
    guest.wait_for("the host's text", |s| {
        s.contains("typed alone shared notes")
    });
    guest.wait_for_status("the host here", |s| {
        s.contains("●host (1 here)") && s.contains("synced")
    });
    host.wait_for_status("the guest here", |s| {
        s.contains("●guest (1 here)") && s.contains("synced")
    });
    guest.quit();
    let status = host.wait_for_status("that the guest left", |s| s.contains("guest left"));
    assert!(
        !status.contains("(1 here)") && status.contains("○guest"),
        "{status}"
    );
    // Everything was acknowledged before the guest left: nothing is counted as unsent.
    let status = host.wait_for_status("nobody here", |s| s.contains("nobody here"));
    assert!(!status.contains("unsent"), "{status}");

    // Offline: said so, and Ctrl-T says why there is no ticket.
    let mut alone = Duet::spawn("alone", &c, &["--offline", "notes.md"]);
    let status = alone.wait_for_status("offline", |s| s.contains("offline │"));
    assert!(!status.contains("Ctrl-T shares"), "{status}");
    alone.send(key::TICKET);
    let popup = alone.wait_for("why there is no ticket", |s| {
        s.contains("There is no ticket to share")
    });
    assert!(popup.contains("--offline"), "{popup}");
    assert!(!popup.contains("try again"), "{popup}");
    alone.send(key::ESC);
    alone.wait_for("the popup to close", |s| !s.contains("no ticket to share"));
    alone.quit();
    host.quit();
}

/// Counts the times a message appears on a status line across successive reads (a message
/// that stays up is counted once).
#[derive(Default)]
struct Appearances {
    shown: bool,
    count: usize,
}

impl Appearances {
    fn see(&mut self, shown: bool) {
        if shown && !self.shown {
            self.count += 1;
        }
        self.shown = shown;
    }
}

#[test]
fn a_server_killed_with_sigkill_syncs_again_as_soon_as_it_restarts() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.dir("server"), scratch.dir("editor"));
    let file = a.join("served.md");
    fs::write(&file, "served text\n").unwrap();
    let server_user = User::new("host", &a);
    let server = Serve::spawn(&server_user, &a, "served.md", &["--name", "host"]);
    let ticket = server.ticket();

    let mut editor = Duet::spawn(
        "guest",
        &b,
        &["--bind", "127.0.0.1", "join", &ticket, "served.md"],
    );
    editor.wait_for("the served text", |s| s.contains("served text"));
    editor.wait_for_status("the server here", |s| s.contains("●host (1 here)"));
    editor.type_str("before the crash ");
    wait_for_file(&file, "the first edit", |s| s.contains("before the crash "));

    server.kill_hard();
    let restarted = Instant::now();
    let server = Serve::spawn(&server_user, &a, "served.md", &["--name", "host"]);
    editor.type_str("after the restart ");
    let (mut left, mut joined) = (Appearances::default(), Appearances::default());
    let mut watch = |editor: &Duet| {
        let status = editor.status_line();
        left.see(
            status.contains("host left")
                || status.contains("restarted")
                || status.contains("Lost the connection"),
        );
        joined.see(status.contains("host joined"));
    };
    let (mut connected, mut on_disk) = (None, None);
    let (connected, on_disk) = wait_until(
        "the edit made after the restart to reach the server's file",
        || {
            watch(&editor);
            if connected.is_none() && server.lines().iter().any(|l| l.starts_with("joined: ")) {
                connected = Some(restarted.elapsed());
            }
            if on_disk.is_none()
                && fs::read_to_string(&file).is_ok_and(|s| s.contains("after the restart "))
            {
                on_disk = Some(restarted.elapsed());
            }
            connected.zip(on_disk)
        },
        || {
            format!(
                "file: {:?}\nserver: {:#?}\neditor:\n{}",
                fs::read_to_string(&file),
                server.lines(),
                editor.contents()
            )
        },
    );
    eprintln!(
        "kill -9 then restart: editor reconnected {} ms and its edit was on the server's disk \
         {} ms after the restart (the server writes its file 500 ms after a change)",
        connected.as_millis(),
        on_disk.as_millis()
    );
    assert!(
        on_disk <= RESUME_LIMIT,
        "sync resumed only {on_disk:?} after the restart"
    );

    // No flapping: for two more seconds, the connection stays up, and each side told of
    // the restart at most once.
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(2) {
        watch(&editor);
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "kill -9 then restart: the editor showed {} message(s) of the server leaving and {} \
         of it joining",
        left.count, joined.count
    );
    let printed = server.lines();
    let joins = printed.iter().filter(|l| l.starts_with("joined: ")).count();
    let leaves = printed.iter().filter(|l| l.starts_with("left: ")).count();
    assert!(joins == 1 && leaves == 0, "server flapped: {printed:#?}");
    assert!(
        left.count <= 1 && joined.count <= 1,
        "editor flapped: {} left and {} joined messages",
        left.count,
        joined.count
    );
    editor.wait_for_status("the server still here", |s| s.contains("●host (1 here)"));
    editor.quit();
    server.stop();
    assert!(
        fs::read_to_string(&file)
            .unwrap()
            .contains("before the crash after the restart served text")
    );
}

#[test]
fn peers_that_all_restart_find_each_other_without_a_ticket() {
    let scratch = Scratch::new();
    let folders = ["a", "b", "c"].map(|n| scratch.dir(n));
    let names = ["anna", "bert", "cleo"];
    fs::write(folders[0].join("notes.md"), "shared notes\n").unwrap();
    let open = ["--bind", "127.0.0.1", "notes.md"];

    let first = Duet::spawn(names[0], &folders[0], &open);
    first.wait_for("the file's text", |s| s.contains("shared notes"));
    let ticket = ticket_of(&folders[0], "notes.md");
    let mut peers = vec![first];
    for i in 1..3 {
        let join = ["--bind", "127.0.0.1", "join", &ticket, "notes.md"];
        peers.push(Duet::spawn(names[i], &folders[i], &join));
    }
    for duet in &peers {
        duet.wait_for("the shared text", |s| s.contains("shared notes"));
        duet.wait_for_status("both others here", |s| s.contains("(2 here)"));
    }
    for duet in peers {
        duet.quit();
    }

    // Everyone reopens with plain `duet notes.md`.
    let mut peers: Vec<Duet> = (0..3)
        .map(|i| Duet::spawn(names[i], &folders[i], &open))
        .collect();
    let last_started = Instant::now();
    for duet in &peers {
        duet.wait_for("the document", |s| s.contains("shared notes"));
    }
    let opened = last_started.elapsed();
    peers[2].type_str("after everyone restarted ");
    let typed = last_started.elapsed();
    for duet in &peers[..2] {
        duet.wait_for("the new edit", |s| {
            s.contains("after everyone restarted shared notes")
        });
    }
    let took = last_started.elapsed();
    eprintln!(
        "restart of all three: the new edit reached the others {} ms after the last one \
         started (all three showed the document after {} ms; typing it ended at {} ms)",
        took.as_millis(),
        opened.as_millis(),
        typed.as_millis()
    );
    assert!(took <= RESUME_LIMIT, "took {took:?}");
    for duet in &peers {
        duet.wait_for_status("both others here", |s| s.contains("(2 here)"));
    }
    for duet in peers {
        duet.quit();
    }
}

#[test]
fn a_headless_peer_joins_by_ticket_from_a_script_and_keeps_its_file_current() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.dir("host"), scratch.dir("always-on"));
    let host_file = a.join("served.md");
    fs::write(&host_file, "the host's text\n").unwrap();
    let host = Serve::spawn(&User::new("host", &a), &a, "served.md", &["--name", "host"]);
    let ticket = host.ticket();

    // `duet serve FILE --join TICKET`: no terminal, as a script or a service starts it.
    let joiner_file = b.join("served.md");
    let joiner = Serve::spawn(
        &User::new("always-on", &b),
        &b,
        "served.md",
        &["--join", &ticket, "--name", "always-on"],
    );
    wait_for_file(&joiner_file, "the host's text on the joiner's disk", |s| {
        s == "the host's text\n"
    });

    // An edit made on the host (by another program) reaches the joiner's file while it runs.
    fs::write(&host_file, "the host's text\nand a second line\n").unwrap();
    wait_for_file(&joiner_file, "the host's later edit", |s| {
        s.contains("and a second line")
    });
    drop(joiner);
    drop(host);
}
