//! The `duet` command line, run as a real process: mistakes leave nothing behind and say what
//! to do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn duet(dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_duet"))
        .args(args)
        .current_dir(dir)
        .env("DUET_HOME", dir.join("home"))
        .env("DUET_LOG", dir.join("duet.log"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn asking_for_the_ticket_of_a_file_that_is_no_document_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = duet(dir.path(), &["--offline", "ticket", "typo.md"], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a duet document yet"), "{err}");
    assert!(!dir.path().join(".duet").exists(), "no store was made");
    assert!(!dir.path().join("typo.md").exists());
}

#[test]
fn join_reads_the_ticket_from_standard_input_and_refuses_a_bad_one_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = duet(dir.path(), &["join", "-", "notes.md"], "duet1notaticket\n");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("this ticket cannot be used"), "{err}");
    assert!(!dir.path().join(".duet").exists(), "no store was made");
    let out = duet(dir.path(), &["join"], "\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no ticket given"), "{err}");
}

#[test]
fn help_says_how_to_keep_the_ticket_out_of_the_process_list() {
    let dir = tempfile::tempdir().unwrap();
    let out = duet(dir.path(), &["join", "--help"], "");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("standard input"), "{help}");
    assert!(help.contains("process list"), "{help}");
}

#[test]
fn without_a_terminal_duet_says_so_and_suggests_serve() {
    let dir = tempfile::tempdir().unwrap();
    // Standard output is a pipe here: there is nothing to draw the editor on.
    let out = duet(dir.path(), &["--offline", "notes.md"], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(err.contains("duet serve"), "{err}");
    assert!(!err.contains("os error"), "{err}");
    assert!(!dir.path().join(".duet").exists(), "nothing was created");
}

#[test]
fn a_folder_given_to_the_editor_without_a_terminal_suggests_serve() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("project")).unwrap();
    let out = duet(dir.path(), &["--offline", "project"], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs a terminal") && err.contains("duet serve project"),
        "{err}"
    );
    assert!(
        !dir.path().join("project/.duet").exists(),
        "nothing was created"
    );
}
