//! End to end, on the real binary in a pseudo-terminal: the keys of issue 11 as a user
//! presses them — find and replace with every match marked, Shift-F3, syntax colours, the
//! settings and their toggles, a keymap with a bad line, nano's editing keys, and going to
//! and following a peer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pty;

use std::fs;
use std::path::Path;

use pty::{Duet, Scratch, User, key, ticket_of};
use vt100::Color;

/// Ctrl-F: find.
const FIND: &[u8] = b"\x06";
/// Ctrl-R: replace.
const REPLACE: &[u8] = b"\x12";
/// Shift-F3 as a terminal with modified function keys sends it (`CSI 13;2~`).
const SHIFT_F3: &[u8] = b"\x1b[13;2~";
/// Ctrl-A: select all.
const SELECT_ALL: &[u8] = b"\x01";
/// Ctrl-V: paste.
const PASTE: &[u8] = b"\x16";
/// Ctrl-H: what many terminals send for Backspace.
const CTRL_H: &[u8] = b"\x08";

/// The theme's colours as the terminal shows them (`assets/theme.toml`).
const MATCH_BG: Color = Color::Rgb(0x6b, 0x54, 0x00);
const MATCH_CURRENT_BG: Color = Color::Rgb(0xd7, 0xa1, 0x00);
const MAGENTA: Color = Color::Idx(5);
const GREEN: Color = Color::Idx(2);
const DARK_GRAY: Color = Color::Idx(8);

#[test]
fn find_marks_every_match_counts_them_and_replace_all_is_one_undo() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    fs::write(dir.join("pets.txt"), "cat dog cat\nbird cat\n").unwrap();
    let mut duet = Duet::spawn("finder", &dir, &["--offline", "pets.txt"]);
    duet.wait_for("the file", |s| s.contains("bird cat"));

    duet.send(FIND);
    duet.type_str("cat");
    duet.wait_for("the count", |s| s.contains("Find: cat  1 of 3"));
    duet.send(key::ENTER);
    duet.wait_for("the second match", |s| s.contains("Find: cat  2 of 3"));
    // Every match on screen is marked; the current one (the second) stands out.
    let (row, col) = duet.find("cat dog cat").unwrap();
    let (bird_row, bird_col) = duet.find("bird cat").unwrap();
    assert_eq!(duet.colours(row, col).1, MATCH_BG, "first match");
    assert_eq!(duet.colours(row, col + 8).1, MATCH_CURRENT_BG, "current");
    assert_eq!(duet.colours(bird_row, bird_col + 5).1, MATCH_BG, "third");
    assert_eq!(duet.colours(row, col + 4).1, Color::Default, "`dog`");

    // Shift-F3 after the prompt closed goes back to the first match.
    duet.send(key::ESC);
    duet.wait_for("the prompt to close", |s| !s.contains("Find:"));
    duet.send(SHIFT_F3);
    duet.wait_for_status("the previous match", |s| s.contains("Ln 1/3, Col 4"));

    // Replace all, then one undo brings every match back. (Left first: a selected word
    // would be the query.)
    duet.send(b"\x1b[D");
    duet.send(REPLACE);
    duet.type_str("cat");
    duet.send(key::ENTER);
    duet.type_str("cow");
    duet.send(key::ENTER);
    duet.wait_for("the question", |s| s.contains("y: replace"));
    duet.send(b"a");
    duet.wait_for("every match replaced", |s| {
        s.contains("cow dog cow") && s.contains("bird cow")
    });
    duet.wait_for_status("the count", |s| s.contains("Replaced 3 matches"));
    duet.send(key::UNDO);
    duet.wait_for("one undo for all", |s| {
        s.contains("cat dog cat") && s.contains("bird cat")
    });
    duet.quit();
}

#[test]
fn a_rust_file_is_highlighted_by_its_name() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    let code = "// a note\nfn main() {\n    let s = \"hi\";\n}\n";
    fs::write(dir.join("main.rs"), code).unwrap();
    fs::write(dir.join("main.txt"), code).unwrap();
    let rust = Duet::spawn("reader", &dir, &["--offline", "main.rs"]);
    rust.wait_for("the code", |s| s.contains("let s = \"hi\";"));
    let (row, col) = rust.find("// a note").unwrap();
    assert_eq!(rust.colours(row, col).0, DARK_GRAY, "comment");
    let (row, col) = rust.find("fn main").unwrap();
    assert_eq!(rust.colours(row, col).0, MAGENTA, "keyword");
    let (row, col) = rust.find("\"hi\"").unwrap();
    assert_eq!(rust.colours(row, col + 1).0, GREEN, "string");
    rust.quit();
    // The same text in a .txt file is plain.
    let text = Duet::spawn("reader", &dir, &["--offline", "main.txt"]);
    text.wait_for("the text", |s| s.contains("let s = \"hi\";"));
    let (row, col) = text.find("fn main").unwrap();
    assert_eq!(text.colours(row, col).0, Color::Default);
    text.quit();
}

#[test]
fn settings_come_from_config_toml_and_toggle_while_editing() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    fs::write(
        dir.join("config.toml"),
        "line_numbers = false\n[filetype.txt]\nindent = \"tabs\"\n",
    )
    .unwrap();
    let long = "word ".repeat(30);
    fs::write(dir.join("notes.txt"), format!("alpha\n{long}\nomega\n")).unwrap();
    let mut duet = Duet::spawn("setter", &dir, &["--offline", "notes.txt"]);
    duet.wait_for("the file", |s| s.contains("omega"));
    assert_eq!(duet.rows()[0], "alpha", "no line numbers, as configured");
    // Soft wrap is on: the long line takes two rows, so omega is on the fourth.
    assert_eq!(duet.rows()[3], "omega", "{:#?}", duet.rows());

    duet.send(b"\x1bn"); // Alt-N: line numbers on
    duet.wait_for("line numbers", |s| {
        s.lines().next().is_some_and(|l| l.trim() == "1 alpha")
    });
    duet.send(b"\x1bs"); // Alt-S: soft wrap off
    duet.wait_for("the long line on one row", |s| {
        s.lines().nth(2).is_some_and(|l| l.trim() == "3 omega")
    });
    // Tab inserts a tab, as config.toml says for .txt; Alt-O switches to spaces.
    duet.send(b"\t");
    duet.send(b"\x1bo");
    duet.send(b"\t");
    duet.save(&dir.join("notes.txt"), |s| s.starts_with("\t    alpha"));
    duet.quit();
}

#[test]
fn a_keymap_with_a_bad_line_keeps_the_others_and_says_which_line() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    fs::write(
        dir.join("keymap.toml"),
        "[keys]\n\"alt-w\" = \"save\"\n\"ctrl-s\" = \"sav\"\n\"alt-q\" = \"quit\"\n",
    )
    .unwrap();
    fs::write(dir.join("k.txt"), "text\n").unwrap();
    let mut duet = Duet::spawn("binder", &dir, &["--offline", "k.txt"]);
    duet.wait_for("the report", |s| {
        s.contains("keymap.toml:3") && s.contains("`sav`")
    });
    duet.send(key::ESC);
    duet.wait_for("the text", |s| {
        s.contains("text") && !s.contains("keymap.toml:3")
    });
    duet.type_str("more ");
    duet.send(b"\x1bw"); // Alt-W: save, from the user's file
    pty::wait_for_file(&dir.join("k.txt"), "the edit", |s| s == "more text\n");
    duet.send(b"\x1bq"); // Alt-Q: quit, from the user's file
    assert!(duet.wait_exit(), "quit with the user's key");
}

#[test]
fn nano_editing_keys_ctrl_h_consecutive_cuts_and_undo_after_select_all() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    fs::write(dir.join("list.txt"), "one\ntwo\nthree\n").unwrap();
    let mut duet = Duet::spawn("nano", &dir, &["--offline", "list.txt"]);
    duet.wait_for("the file", |s| s.contains("three"));
    let text = |d: &Duet| -> Vec<String> {
        d.text_rows(&[])
            .into_iter()
            .map(|r| r.trim_start().to_owned())
            .take(4)
            .collect()
    };
    // Two Ctrl-K in a row, then paste: both lines come back.
    duet.send(key::CUT_LINE);
    duet.send(key::CUT_LINE);
    duet.wait_for("both lines cut", |s| {
        s.lines().next().is_some_and(|l| l.ends_with("three"))
    });
    duet.send(PASTE);
    duet.wait_for("both lines pasted", |s| s.contains("2 two"));
    assert_eq!(text(&duet), ["1 one", "2 two", "3 three", "4"]);
    // Ctrl-H deletes one character, as Backspace does.
    duet.send(key::DOC_END);
    duet.type_str("xyz");
    duet.send(CTRL_H);
    duet.wait_for("one character deleted", |s| {
        s.contains("4 xy") && !s.contains("xyz")
    });
    // Select all, type, undo: the whole text is back, no typed character left behind.
    duet.send(SELECT_ALL);
    duet.type_str("new");
    duet.wait_for("the typed text alone", |s| {
        s.contains("1 new") && !s.contains("three")
    });
    duet.send(key::UNDO);
    duet.wait_for("the text before typing", |s| s.contains("4 xy"));
    assert_eq!(text(&duet), ["1 one", "2 two", "3 three", "4 xy"]);
    duet.quit();
}

#[test]
fn a_read_only_folder_opens_the_file_as_a_view() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new();
    let dir = scratch.dir("locked");
    fs::write(dir.join("look.md"), "# look\n").unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
    let home = scratch.dir("home");
    let user = User::new("viewer", &home);
    let mut duet = if fs::write(dir.join("probe"), "").is_ok() {
        // Root may write anywhere: run duet as `nobody`, for whom the folder is read-only.
        fs::remove_file(dir.join("probe")).unwrap();
        let Some(setpriv) = as_nobody(scratch.path(), &home) else {
            eprintln!("skipped: running as root, and cannot run duet as nobody");
            return;
        };
        let args = [&setpriv[..], &[pty::duet_bin(), "--offline", "look.md"]].concat();
        Duet::spawn_program(&user, &dir, "setpriv", &args)
    } else {
        Duet::spawn_as(&user, &dir, &["--offline", "look.md"])
    };
    duet.wait_for("the file", |s| s.contains("# look"));
    duet.wait_for_status("read-only", |s| s.contains("read-only"));
    duet.type_str("x");
    assert!(!duet.contents().contains("x# look"));
    duet.send(b"\x11");
    assert!(duet.wait_exit());
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!dir.join(".duet").exists());
    assert_eq!(fs::read_to_string(dir.join("look.md")).unwrap(), "# look\n");
}

/// `setpriv` arguments that run a program as `nobody`, after opening `scratch` to it and
/// giving it `home`; `None` if that is impossible here (no `setpriv`, or `nobody` cannot run
/// the duet binary).
fn as_nobody(scratch: &Path, home: &Path) -> Option<Vec<&'static str>> {
    use std::os::unix::fs::PermissionsExt;
    const SETPRIV: [&str; 4] = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"];
    fs::set_permissions(scratch, fs::Permissions::from_mode(0o755)).ok()?;
    fs::set_permissions(home, fs::Permissions::from_mode(0o777)).ok()?;
    let probe = std::process::Command::new("setpriv")
        .args(SETPRIV)
        .args([pty::duet_bin(), "--version"])
        .output()
        .ok()?;
    probe.status.success().then(|| SETPRIV.to_vec())
}

#[test]
fn go_to_a_peer_and_follow_them_until_a_key_is_pressed() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.dir("a"), scratch.dir("b"));
    let lines: String = (1..=200).map(|i| format!("line {i}\n")).collect();
    fs::write(a.join("long.txt"), &lines).unwrap();
    let mut host = Duet::spawn("hostie", &a, &["--bind", "127.0.0.1", "long.txt"]);
    host.wait_for("the document", |s| s.contains("line 1"));
    let ticket = ticket_of(&a, "long.txt");
    let mut guest = Duet::spawn("guesto", &b, &["--bind", "127.0.0.1", "join", &ticket]);
    guest.wait_for("the host's text", |s| s.contains("line 1"));
    host.wait_for("the guest's cursor", |s| s.contains("guesto"));

    host.send(b"\x1bf"); // Alt-F: follow
    host.wait_for_status("whom we follow", |s| s.contains("following guesto"));
    guest.send(key::DOC_END);
    host.wait_for("the view at the guest's cursor", |s| s.contains("line 200"));
    guest.type_str("where am I");
    host.wait_for("the guest's typing", |s| s.contains("where am I"));
    // The guest scrolls up with the mouse wheel, away from the cursor: the host's screen
    // shows what the guest's shows.
    for _ in 0..20 {
        guest.send(b"\x1b[<64;10;5M");
    }
    let top = |d: &Duet| d.rows().first().cloned().unwrap_or_default();
    guest.wait_for("the guest's view to scroll", |s| !s.contains("where am I"));
    let mut last = String::new();
    let guest_top = pty::wait_until(
        "the guest's view to settle",
        || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            let now = top(&guest);
            (now == std::mem::replace(&mut last, now.clone())).then_some(now)
        },
        || guest.contents(),
    );
    host.wait_for("the host's view at the guest's", |_| {
        top(&host) == guest_top
    });
    host.send(key::ESC);
    host.wait_for_status("following to stop", |s| !s.contains("following"));
    assert!(
        host.status_line().contains("Ln 1/"),
        "{}",
        host.status_line()
    );

    // Alt-G moves the host's own cursor to the guest's.
    host.send(b"\x1bg");
    host.wait_for_status("the host's cursor at the guest's", |s| {
        s.contains("Ln 201/201")
    });
    guest.quit();
    host.quit();
}

#[test]
fn ctrl_e_in_a_single_file_says_how_to_open_a_folder() {
    let scratch = Scratch::new();
    let dir = scratch.dir("a");
    fs::write(dir.join("notes.txt"), "hello\n").unwrap();
    let mut duet = Duet::spawn("single", &dir, &["--offline", "notes.txt"]);
    duet.wait_for("the file", |s| s.contains("hello"));
    duet.send(b"\x05");
    duet.wait_for_status("how to open a folder", |s| {
        s.contains("`duet DIR` opens a folder")
    });
    // No picker took the keyboard: typing edits the text.
    duet.type_str("x");
    duet.wait_for("the typed x", |s| s.contains("xhello"));
    duet.quit();
}
