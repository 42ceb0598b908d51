//! End to end, data safety (issue 9): the real `duet` binary in pseudo-terminals, asserting on
//! what the user sees and on the files on disk.
//!
//! - a damaged store is reported in a popup, and saving afterwards writes every line back
//!   (and asks before dropping text the file had);
//! - what another program writes to the open file is merged, never overwritten;
//! - two `cp -r` copies of a document folder, edited apart, merge when they meet, and no
//!   screen says "synced" while the texts differ;
//! - `duet join` takes the ticket from a prompt or standard input, never only from argv.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pty;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use pty::{Duet, Scratch, User, key, ticket_of, wait_until};

/// The lines of `want` (each with its own occurrence) that `text` lacks.
fn missing_lines<'a>(want: &'a [String], text: &str) -> Vec<&'a str> {
    let mut have: Vec<&str> = text.lines().collect();
    want.iter()
        .map(|l| l.trim_end())
        .filter(|l| match have.iter().position(|h| h.contains(l)) {
            Some(i) => {
                have.remove(i);
                false
            }
            None => true,
        })
        .collect()
}

#[test]
fn after_the_store_is_damaged_the_popup_says_so_and_save_keeps_every_line() {
    let scratch = Scratch::new();
    let dir = scratch.dir("doc");
    let file = dir.join("notes.md");
    let lines: Vec<String> = (1..=30)
        .map(|i| format!("line {i:02}: written in another editor, number {i}\n"))
        .collect();
    fs::write(&file, lines.concat()).unwrap();

    let mut duet = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    duet.wait_for("the file's text", |s| s.contains("line 01: written"));
    duet.type_str("typed in duet ");
    duet.save(&file, |s| s.starts_with("typed in duet line 01"));
    duet.quit();

    // Damage the store: flip a bit in the middle of its log (a store this small has no
    // snapshot yet: the log holds the whole history, the file's import first).
    let store = dir.join(".duet/notes.md");
    let log = store.join("log");
    let mut bytes = fs::read(&log).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    fs::write(&log, &bytes).unwrap();
    let saved = fs::read_to_string(&file).unwrap();

    let mut duet = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    let popup = duet.wait_for("the recovery popup", |s| {
        s.contains("duet recovered this document")
    });
    assert!(
        popup.contains("duet found problems in the store"),
        "{popup}"
    );
    // The popup scrolls; the whole report is kept in the store.
    let report = fs::read_to_string(store.join("last-recovery.txt")).unwrap();
    for what in [
        "log is damaged at offset",
        "Recovered:",
        "all 30 lines of",
        "Damaged files were kept",
    ] {
        assert!(
            report.contains(what),
            "the report lacks {what:?}:\n{report}"
        );
    }
    let kept = fs::read_dir(&store)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .find(|name| name.starts_with("log.damaged"))
        .expect("the damaged log is kept");
    assert_eq!(fs::read(store.join(kept)).unwrap(), bytes);
    duet.send(key::ENTER);
    duet.wait_for("the popup to close on the text", |s| {
        !s.contains("duet recovered") && s.contains("typed in duet line 01")
    });

    // Cutting the first line, then saving: duet asks before dropping the file's text.
    duet.send(key::CUT_LINE);
    duet.wait_for("the line to be cut", |s| !s.contains("typed in duet"));
    duet.send(key::SAVE);
    let ask = duet.wait_for("the question", |s| s.contains("Drop text from the file?"));
    assert!(
        ask.contains("Saving would drop") && ask.contains("(1 lines)"),
        "{ask}"
    );
    duet.send(b"n");
    duet.wait_for("the refusal", |s| s.contains("Not saved"));
    assert_eq!(fs::read_to_string(&file).unwrap(), saved, "file untouched");

    // Undo the cut, add a line at the end, save: every line is in the file.
    duet.send(key::UNDO);
    duet.wait_for("the line back", |s| s.contains("typed in duet line 01"));
    duet.send(key::DOC_END);
    duet.type_str("added after the repair");
    let text = duet.save(&file, |s| s.contains("added after the repair"));
    assert!(text.starts_with("typed in duet line 01"), "{text}");
    assert_eq!(missing_lines(&lines, &text), Vec::<&str>::new(), "{text}");
    duet.quit();
}

#[test]
fn what_other_programs_write_to_the_open_file_is_merged_and_saved() {
    let scratch = Scratch::new();
    let dir = scratch.dir("doc");
    let file = dir.join("notes.md");
    fs::write(&file, "first line\nsecond line\n").unwrap();
    let mut duet = Duet::spawn("writer", &dir, &["--offline", "notes.md"]);
    duet.wait_for("the file's text", |s| s.contains("second line"));

    // `printf 'appended from a shell\n' >> notes.md`
    {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(&file).unwrap();
        f.write_all(b"appended from a shell\n").unwrap();
    }
    duet.wait_for("the appended line and a message", |s| {
        s.contains("appended from a shell") && s.contains("Merged changes another program made")
    });
    duet.type_str("typed ");
    let text = duet.save(&file, |s| s.contains("typed "));
    assert_eq!(
        text,
        "typed first line\nsecond line\nappended from a shell\n"
    );

    // `sed -i 's/second/2nd/' notes.md`: a new file renamed over the old one.
    let replaced = fs::read_to_string(&file).unwrap().replace("second", "2nd");
    fs::write(dir.join("notes.md.sed"), replaced).unwrap();
    fs::rename(dir.join("notes.md.sed"), &file).unwrap();
    duet.wait_for("the replaced word", |s| {
        s.contains("2nd line") && !s.contains("second line")
    });
    duet.type_str("again ");
    let text = duet.save(&file, |s| s.contains("again "));
    assert_eq!(
        text,
        "typed again first line\n2nd line\nappended from a shell\n"
    );
    duet.quit();
}

/// Both screens' text areas (each without the other's cursor label), read until `done` holds
/// for both and they agree. Panics if a status line said "synced" while the texts differed for
/// longer than it takes to draw a frame (the two screens cannot be read at one instant).
fn converge(a: &Duet, b: &Duet, labels: &[&str], done: impl Fn(&str) -> bool) -> String {
    const FRAME_SLACK: Duration = Duration::from_millis(300);
    let mut lie_since: Option<Instant> = None;
    let mut synced_seen = false;
    let text = wait_until(
        "both screens to show both edits",
        || {
            let (ta, tb) = (
                a.text_rows(labels).join("\n"),
                b.text_rows(labels).join("\n"),
            );
            let (sa, sb) = (a.status_line(), b.status_line());
            let says_synced = sa.contains("synced │") || sb.contains("synced │");
            synced_seen |= says_synced;
            if says_synced && ta != tb {
                let since = *lie_since.get_or_insert_with(Instant::now);
                assert!(
                    since.elapsed() < FRAME_SLACK,
                    "a status line says synced while the texts differ:\n{}\n\n{}",
                    a.contents(),
                    b.contents()
                );
            } else {
                lie_since = None;
            }
            (ta == tb && done(&ta)).then_some(ta)
        },
        || format!("{}\n\n{}", a.contents(), b.contents()),
    );
    // Once they agree, both say so.
    for duet in [a, b] {
        duet.wait_for_status("synced", |s| s.contains("synced │"));
    }
    text
}

#[test]
fn two_copies_of_a_folder_edited_apart_merge_when_they_meet() {
    let scratch = Scratch::new();
    let original = scratch.dir("original");
    fs::write(original.join("notes.md"), "shared notes\n").unwrap();
    let duet = Duet::spawn("anna", &original, &["--offline", "notes.md"]);
    duet.wait_for("the file's text", |s| s.contains("shared notes"));
    duet.quit();
    let copy = scratch.path().join("copy");
    let cp = Command::new("cp")
        .arg("-r")
        .arg(&original)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(cp.success());

    // Each copy is edited on its own. The copy notices it is one, and says so.
    let anna = User::new("anna", &scratch.dir("anna"));
    let bert = User::new("bert", &scratch.dir("bert"));
    for (user, folder, typed) in [
        (&anna, &original, "anna was here "),
        (&bert, &copy, "bert was here "),
    ] {
        let mut duet = Duet::spawn_as(user, folder, &["--offline", "notes.md"]);
        duet.wait_for("the file's text", |s| s.contains("shared notes"));
        if folder == &copy {
            let popup = duet.wait_for("the popup", |s| s.contains("duet recovered"));
            assert!(
                popup.contains("this store is a copy") && popup.contains("new replica id"),
                "{popup}"
            );
            duet.send(key::ENTER);
            duet.wait_for("the popup to close", |s| !s.contains("duet recovered"));
        }
        duet.type_str(typed);
        duet.wait_for("the typed text", |s| s.contains(typed));
        duet.quit();
    }

    // They meet: the copy joins the original with its ticket, into its existing store.
    let a = Duet::spawn_as(&anna, &original, &["--bind", "127.0.0.1", "notes.md"]);
    a.wait_for("anna's edit", |s| s.contains("anna was here shared notes"));
    let ticket = ticket_of(&original, "notes.md");
    let b = Duet::spawn_as(
        &bert,
        &copy,
        &["--bind", "127.0.0.1", "join", &ticket, "notes.md"],
    );
    let text = converge(&a, &b, &["anna", "bert"], |t| {
        t.contains("anna was here") && t.contains("bert was here") && t.contains("shared notes")
    });
    eprintln!("merged text:\n{text}");
    a.quit();
    b.quit();
}

#[test]
fn join_takes_the_ticket_from_a_prompt_or_standard_input() {
    let scratch = Scratch::new();
    let (a, b, c) = (scratch.dir("a"), scratch.dir("b"), scratch.dir("c"));
    fs::write(a.join("notes.md"), "text of the host\n").unwrap();
    let host = Duet::spawn("host", &a, &["--bind", "127.0.0.1", "notes.md"]);
    host.wait_for("the file's text", |s| s.contains("text of the host"));
    let ticket = ticket_of(&a, "notes.md");

    // No ticket argument: duet asks for it.
    let mut guest = Duet::spawn("guest", &b, &["--bind", "127.0.0.1", "join"]);
    guest.wait_for("the prompt", |s| s.contains("Paste the ticket"));
    guest.send(ticket.as_bytes());
    guest.send(key::ENTER);
    guest.wait_for("the host's text", |s| s.contains("text of the host"));
    host.wait_for_status("the guest", |s| s.contains("●guest"));

    // `duet join - notes.md < ticket`: from standard input, the editor on the terminal.
    let ticket_file = scratch.path().join("ticket.txt");
    fs::write(&ticket_file, format!("{ticket}\n")).unwrap();
    let shell = format!(
        "exec '{}' --bind 127.0.0.1 join - notes.md < '{}'",
        pty::duet_bin(),
        ticket_file.display()
    );
    let third = Duet::spawn_program(&User::new("third", &c), &c, "sh", &["-c", &shell]);
    third.wait_for("the host's text", |s| s.contains("text of the host"));
    host.wait_for_status("the third peer", |s| s.contains("●third"));

    for help in [&["--help"][..], &["join", "--help"]] {
        let out = Command::new(pty::duet_bin()).args(help).output().unwrap();
        let out = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.contains("standard input"),
            "duet {help:?} does not say the ticket can come from standard input:\n{out}"
        );
    }
    guest.quit();
    third.quit();
    host.quit();
}
