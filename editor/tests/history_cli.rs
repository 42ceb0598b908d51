//! `duet log`, `blame`, `show --at` and `authors` on a two-author document built through the
//! real store: golden outputs, and the real binary reading the store while a `duet serve` has
//! the document open.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use crdt_text::{Author, AuthorId, Doc, ReplicaId};
use duet::history::{self, At};
use sync::store::Store;

/// 2026-11-18 11:06:40 UTC.
const T0: u64 = 1_795_000_000;

fn alice() -> Author {
    Author::new(
        AuthorId([0xa1; 16]),
        "Alice Liddell",
        Some("alice@example.org"),
    )
}

fn bob() -> Author {
    Author::new(AuthorId([0xb0; 16]), "Bob", None)
}

/// Alice writes a shopping list; an hour later Bob (his own replica, his ops reaching
/// Alice's store as a session stores remote ops) fixes an item and adds one; two days later
/// Alice reorders. Returns the plain file.
fn two_author_document(dir: &Path) -> PathBuf {
    let file = dir.join("list.md");
    let mut o = Store::open(&file).unwrap();
    o.doc.set_author(alice());
    o.doc.set_time(T0);
    let ops = vec![o.doc.insert(0, "# Shopping\n- milk\n- bread\n")];
    o.store.append(&ops).unwrap();
    o.doc.set_time(T0 + 90);
    let at = o.doc.len();
    let ops = vec![o.doc.insert(at, "- eggs\n")];
    o.store.append(&ops).unwrap();
    o.store.sync().unwrap();

    let mut b = Doc::new(ReplicaId::from(0xb0b));
    for op in o.doc.ops_since(&b.version()) {
        b.apply(&op).unwrap();
    }
    b.set_author(bob());
    b.set_time(T0 + 3600);
    let bread = b.text().find("bread").unwrap();
    let ops = vec![
        b.delete(bread, 5),
        b.insert(bread, "rye bread"),
        b.insert(b.len(), "- apples\n"),
    ];
    for op in &ops {
        o.doc.apply(op).unwrap();
    }
    o.store.append(&ops).unwrap();
    o.store.sync().unwrap();

    o.doc.set_time(T0 + 2 * 86_400);
    let milk = o.doc.text().find("- milk\n").unwrap();
    let ops = vec![o.doc.delete(milk, 7)];
    o.store.append(&ops).unwrap();
    let at = o.doc.len();
    let ops = vec![o.doc.insert(at, "- milk\n")];
    o.store.append(&ops).unwrap();
    o.store.write_plain_file(&o.doc).unwrap();
    o.store.close().unwrap();
    file
}

fn stored(file: &Path) -> Doc {
    sync::store::read_document(file).unwrap().unwrap()
}

#[test]
fn log_lists_sessions_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let doc = stored(&two_author_document(dir.path()));
    insta::assert_snapshot!(history::log(&doc, &Utc));
}

#[test]
fn blame_names_each_lines_last_change() {
    let dir = tempfile::tempdir().unwrap();
    let doc = stored(&two_author_document(dir.path()));
    insta::assert_snapshot!(history::blame(&doc, &Utc));
}

#[test]
fn authors_are_co_authored_by_lines() {
    let dir = tempfile::tempdir().unwrap();
    let doc = stored(&two_author_document(dir.path()));
    insta::assert_snapshot!(history::authors(&doc));
}

#[test]
fn show_gives_the_text_after_a_session_or_at_a_moment() {
    let dir = tempfile::tempdir().unwrap();
    let doc = stored(&two_author_document(dir.path()));
    let show = |at| history::show(&doc, at).unwrap();
    assert_eq!(
        show(At::Session(1)),
        "# Shopping\n- milk\n- bread\n- eggs\n"
    );
    assert_eq!(
        show(At::Session(2)),
        "# Shopping\n- milk\n- rye bread\n- eggs\n- apples\n"
    );
    assert_eq!(show(At::Session(3)), doc.text());
    assert_eq!(show(At::Time(T0 + 10)), "# Shopping\n- milk\n- bread\n");
    assert_eq!(show(At::Time(T0 - 1)), "");
    assert!(history::show(&doc, At::Session(4)).is_err());
}

// ---- the real binary ----------------------------------------------------------------------

fn duet(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_duet"));
    cmd.args(args)
        .current_dir(dir)
        .env("DUET_HOME", dir.join("home"))
        .env("DUET_LOG", dir.join("duet.log"))
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    duet(dir, args).output().unwrap()
}

/// A `duet serve` holding the document open; killed when dropped.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_reads_history_while_a_duet_has_the_document_open() {
    let dir = tempfile::tempdir().unwrap();
    let file = two_author_document(dir.path());
    let doc = stored(&file);
    let _serving = Serving(
        duet(dir.path(), &["--bind", "127.0.0.1", "serve", "list.md"])
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sync::store::is_open_elsewhere(&file).unwrap() {
        assert!(
            Instant::now() < deadline,
            "duet serve did not open the document"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let out = run(dir.path(), &["log", "list.md"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        history::log(&doc, &Utc)
    );

    let out = run(dir.path(), &["show", "list.md", "--at", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "# Shopping\n- milk\n- rye bread\n- eggs\n- apples\n"
    );
    // Local time (TZ=UTC here) and RFC 3339 name the same moment.
    for at in ["2026-11-18 11:06:50", "2026-11-18T12:06:50+01:00"] {
        let out = run(dir.path(), &["show", "list.md", "--at", at]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "# Shopping\n- milk\n- bread\n"
        );
    }

    let out = run(dir.path(), &["blame", "list.md"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        history::blame(&doc, &Utc)
    );
    let out = run(dir.path(), &["authors", "list.md"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "Co-authored-by: Alice Liddell <alice@example.org>\nCo-authored-by: Bob\n"
    );
}

#[test]
fn mistakes_say_what_to_do_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["log", "typo.md"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("typo.md is not a duet document"), "{err}");
    assert!(!dir.path().join(".duet").exists(), "no store was made");

    two_author_document(dir.path());
    let out = run(dir.path(), &["show", "list.md", "--at", "yesterday"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a session number"), "{err}");
    let out = run(dir.path(), &["show", "list.md", "--at", "9"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sessions are numbered 1 to 3"), "{err}");
}
