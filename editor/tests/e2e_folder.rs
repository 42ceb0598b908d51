//! End to end: a shared folder between two real `duet` binaries on loopback. `duet serve DIR`
//! shares a folder; `duet join TICKET DIR2` creates the other copy; files created, edited,
//! renamed and deleted on either disk (by other programs: these peers have no editor) arrive
//! on the other's disk; an ignored file never leaves its machine; two files created at one
//! path while apart both keep their texts; a store damaged while duet was closed is told of,
//! and no file on disk is written shorter for it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pty;

use std::fs;
use std::path::Path;

use pty::{Scratch, Serve, User, wait_for_file, wait_until};

/// Waits until `path` no longer exists.
fn wait_gone(path: &Path) {
    wait_until(
        &format!("{} to be removed", path.display()),
        || (!path.exists()).then_some(()),
        || format!("still there: {:?}", fs::read_to_string(path)),
    );
}

/// Every file under `dir` (outside `.duet`), with its text, sorted.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in fs::read_dir(&at).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == ".duet") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

/// Whether any file under `dir` (the store included) holds `needle`.
fn anywhere_holds(dir: &Path, needle: &[u8]) -> bool {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if fs::read(&path)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                return true;
            }
        }
    }
    false
}

#[test]
fn a_folder_stays_the_same_on_both_disks_and_ignored_files_stay_home() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    let (home_a, home_b) = (scratch.dir("home-a"), scratch.dir("home-b"));
    fs::create_dir_all(a.join("src")).unwrap();
    fs::write(a.join("README.md"), "# project\n").unwrap();
    fs::write(a.join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::write(a.join(".gitignore"), "secret.txt\n").unwrap();
    fs::write(a.join("secret.txt"), "the password is hunter2\n").unwrap();
    fs::write(a.join("logo.bin"), b"\x89PNG\0\0binary").unwrap();

    let alice = Serve::spawn(&User::new("alice", &home_a), scratch.path(), "a", &[]);
    let ticket = alice.ticket();
    alice.wait_line("how many files it shares", |l| l.contains("(3 files)"));
    let bob = Serve::spawn_args(
        &User::new("bob", &home_b),
        scratch.path(),
        &["join", &ticket, "b"],
    );
    let b = scratch.path().join("b");
    wait_for_file(&b.join("src/main.rs"), "alice's main.rs", |s| {
        s == "fn main() {}\n"
    });
    wait_for_file(&b.join("README.md"), "alice's README", |s| {
        s == "# project\n"
    });
    wait_for_file(&b.join(".gitignore"), "the ignore file", |s| {
        s == "secret.txt\n"
    });
    bob.wait_line("alice joining", |l| l.starts_with("joined: alice"));

    // Each side changes its disk as another program would; the other's disk follows.
    fs::write(a.join("README.md"), "# project\nby alice\n").unwrap();
    wait_for_file(&b.join("README.md"), "alice's edit", |s| {
        s.ends_with("by alice\n")
    });
    fs::create_dir_all(b.join("notes")).unwrap();
    fs::write(b.join("notes/todo.md"), "- ship folders\n").unwrap();
    wait_for_file(&a.join("notes/todo.md"), "bob's new file", |s| {
        s == "- ship folders\n"
    });
    fs::rename(a.join("src/main.rs"), a.join("src/lib.rs")).unwrap();
    wait_for_file(&b.join("src/lib.rs"), "the renamed file", |s| {
        s == "fn main() {}\n"
    });
    wait_gone(&b.join("src/main.rs"));
    fs::write(b.join("src/lib.rs"), "pub fn lib() {}\n").unwrap();
    wait_for_file(&a.join("src/lib.rs"), "bob's edit", |s| {
        s == "pub fn lib() {}\n"
    });
    fs::remove_file(b.join("README.md")).unwrap();
    wait_gone(&a.join("README.md"));
    fs::create_dir_all(b.join("docs")).unwrap();
    fs::rename(b.join("notes/todo.md"), b.join("docs/todo.md")).unwrap();
    wait_for_file(&a.join("docs/todo.md"), "bob's rename", |s| {
        s == "- ship folders\n"
    });
    wait_gone(&a.join("notes/todo.md"));
    fs::write(a.join("scratch.md"), "temporary\n").unwrap();
    wait_for_file(&b.join("scratch.md"), "alice's scratch file", |s| {
        s == "temporary\n"
    });
    fs::remove_file(a.join("scratch.md")).unwrap();
    wait_gone(&b.join("scratch.md"));

    let want = vec![
        (".gitignore".to_string(), "secret.txt\n".to_string()),
        ("docs/todo.md".into(), "- ship folders\n".into()),
        ("src/lib.rs".into(), "pub fn lib() {}\n".into()),
    ];
    wait_until(
        "both folders to hold the same files",
        || (files(&b) == want).then_some(()),
        || format!("b: {:#?}", files(&b)),
    );
    let mut at_a = files(&a);
    at_a.retain(|(p, _)| p != "secret.txt" && p != "logo.bin");
    assert_eq!(at_a, want);
    // The ignored file (and the binary one) never left alice's machine: not on bob's disk,
    // not in his store.
    assert!(!b.join("secret.txt").exists() && !b.join("logo.bin").exists());
    assert!(
        !anywhere_holds(&b, b"hunter2"),
        "the ignored file's text reached bob"
    );
    let lines = bob.stop();
    assert!(
        lines.iter().any(|l| l.starts_with("renamed: src/main.rs")),
        "{lines:#?}"
    );
    alice.stop();
}

#[test]
fn the_same_path_created_on_both_sides_while_apart_keeps_both_texts() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    let (home_a, home_b) = (scratch.dir("home-a"), scratch.dir("home-b"));
    fs::write(a.join("start.md"), "shared\n").unwrap();
    let alice = Serve::spawn(&User::new("alice", &home_a), scratch.path(), "a", &[]);
    let ticket = alice.ticket();
    let bob_user = User::new("bob", &home_b);
    let bob = Serve::spawn_args(&bob_user, scratch.path(), &["join", &ticket, "b"]);
    let b = scratch.path().join("b");
    wait_for_file(&b.join("start.md"), "the shared file", |s| s == "shared\n");
    bob.stop();

    // Apart, each creates notes.md; bob comes back (his store remembers alice).
    fs::write(a.join("notes.md"), "alice's notes\n").unwrap();
    wait_until(
        "alice to pick up her new file",
        || {
            let picked = alice
                .lines()
                .iter()
                .filter(|l| l.contains("1 created"))
                .count();
            (picked == 2).then_some(())
        },
        || format!("{:#?}", alice.lines()),
    );
    fs::write(b.join("notes.md"), "bob's notes\n").unwrap();
    let bob = Serve::spawn(&bob_user, scratch.path(), "b", &[]);

    let both = |dir: &Path| {
        let mut texts: Vec<String> = files(dir)
            .into_iter()
            .filter(|(p, _)| p.starts_with("notes"))
            .map(|(_, t)| t)
            .collect();
        texts.sort();
        (texts == ["alice's notes\n", "bob's notes\n"]).then(|| files(dir))
    };
    let at_b = wait_until(
        "bob to hold both notes",
        || both(&b),
        || format!("{:#?}", files(&b)),
    );
    let at_a = wait_until(
        "alice to hold both notes",
        || both(&a),
        || format!("{:#?}", files(&a)),
    );
    assert_eq!(at_a, at_b, "one tree on both sides");
    assert!(
        at_a.iter().any(|(p, _)| p.starts_with("notes (")),
        "one of them renamed: {at_a:#?}"
    );
    let told = |lines: Vec<String>| lines.iter().any(|l| l.starts_with("conflict: "));
    let (bob_lines, alice_lines) = (bob.stop(), alice.stop());
    assert!(
        told(bob_lines.clone()) && told(alice_lines.clone()),
        "both users are told: {bob_lines:#?}\n{alice_lines:#?}"
    );
}

#[test]
fn joining_into_a_folder_that_has_a_file_at_a_shared_path_keeps_both() {
    let scratch = Scratch::new();
    let (a, b) = (scratch.dir("a"), scratch.dir("b"));
    let (home_a, home_b) = (scratch.dir("home-a"), scratch.dir("home-b"));
    fs::write(a.join("notes.md"), "alice's notes\n").unwrap();
    fs::write(b.join("notes.md"), "bob's own notes\n").unwrap();
    let alice = Serve::spawn(&User::new("alice", &home_a), scratch.path(), "a", &[]);
    let ticket = alice.ticket();
    let bob = Serve::spawn_args(
        &User::new("bob", &home_b),
        scratch.path(),
        &["join", &ticket, "b"],
    );
    // Both were created at one path without seeing each other: one keeps it, the other is
    // tagged with its author's name, the same on both sides.
    let settled = |dir: &Path| {
        let found = files(dir);
        let mut texts: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
        texts.sort();
        let names: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        let tagged =
            names == ["notes (alice).md", "notes.md"] || names == ["notes (bob).md", "notes.md"];
        (tagged && texts == ["alice's notes\n", "bob's own notes\n"]).then_some(found.clone())
    };
    let at_b = wait_until(
        "both notes at bob",
        || settled(&b),
        || format!("{:#?}", files(&b)),
    );
    let at_a = wait_until(
        "both notes at alice",
        || settled(&a),
        || format!("{:#?}", files(&a)),
    );
    assert_eq!(at_a, at_b);
    let lines = bob.stop();
    assert!(
        lines.iter().any(|l| l.starts_with("conflict: ")),
        "bob is told: {lines:#?}"
    );
    alice.stop();
}

#[test]
fn a_delete_while_the_other_side_edits_keeps_the_file_with_the_edit() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    let (home_a, home_b) = (scratch.dir("home-a"), scratch.dir("home-b"));
    fs::write(a.join("plan.md"), "step one\n").unwrap();
    let alice = Serve::spawn(&User::new("alice", &home_a), scratch.path(), "a", &[]);
    let ticket = alice.ticket();
    let bob_user = User::new("bob", &home_b);
    let bob = Serve::spawn_args(&bob_user, scratch.path(), &["join", &ticket, "b"]);
    let b = scratch.path().join("b");
    wait_for_file(&b.join("plan.md"), "the plan", |s| s == "step one\n");
    bob.stop();

    // Apart: alice deletes the plan, bob adds a step to it.
    fs::remove_file(a.join("plan.md")).unwrap();
    alice.wait_line("the delete picked up", |l| l.contains("1 deleted"));
    fs::write(b.join("plan.md"), "step one\nstep two\n").unwrap();
    let bob = Serve::spawn(&bob_user, scratch.path(), "b", &[]);

    // The edit wins: the file comes back on alice's disk with bob's step, and she is told.
    wait_for_file(&a.join("plan.md"), "bob's edit", |s| {
        s == "step one\nstep two\n"
    });
    alice.wait_line("alice told the file was kept", |l| {
        l.starts_with("kept: plan.md")
    });
    assert_eq!(
        fs::read_to_string(b.join("plan.md")).unwrap(),
        "step one\nstep two\n"
    );
    let lines = bob.stop();
    assert!(
        lines.iter().any(|l| l.starts_with("kept: plan.md")),
        "bob is told: {lines:#?}"
    );
    alice.stop();
}

#[test]
fn files_not_shared_are_listed_with_the_reason_at_the_start_and_when_they_appear() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    let home = scratch.dir("home-a");
    fs::write(a.join("README.md"), "# shared\n").unwrap();
    fs::write(a.join("logo.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    fs::write(a.join("latin1.txt"), b"caf\xe9\n").unwrap();
    fs::write(a.join("big.log"), "x".repeat(9 << 20)).unwrap();
    fs::write(a.join(".gitignore"), "ignored.bin\n").unwrap();
    fs::write(a.join("ignored.bin"), b"\0ignored\0").unwrap();

    let alice = Serve::spawn(&User::new("alice", &home), scratch.path(), "a", &[]);
    alice.wait_line("how many files it shares", |l| l.contains("(2 files)"));
    let lines = alice.lines();
    let said = |start: &str, reason: &str| {
        lines
            .iter()
            .any(|l| l.starts_with(&format!("not shared: {start} (")) && l.contains(reason))
    };
    assert!(said("logo.png", "binary file"), "{lines:#?}");
    assert!(said("latin1.txt", "not UTF-8"), "{lines:#?}");
    assert!(said("big.log", "over the limit"), "{lines:#?}");
    assert!(
        !lines.iter().any(|l| l.contains("ignored.bin")),
        "an ignored file is not even listed: {lines:#?}"
    );

    // One that appears while it runs is said when the folder is scanned; said once.
    fs::write(a.join("photo.jpg"), b"\xff\xd8\xff\xe0\0\x10JFIF").unwrap();
    alice.wait_line("the new binary file", |l| {
        l.starts_with("not shared: photo.jpg (binary file")
    });
    fs::write(a.join("README.md"), "# shared\nstill\n").unwrap();
    alice.wait_line("the next scan", |l| l.contains("1 edited"));
    let lines = alice.stop();
    let told = lines
        .iter()
        .filter(|l| l.starts_with("not shared: logo.png"))
        .count();
    assert_eq!(told, 1, "{lines:#?}");
}

/// Every file under `dir` but `.git` and `.duet`, with its text, sorted; read while duet
/// may be changing the folder (what vanishes meanwhile is left out).
fn work_tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path
                .file_name()
                .is_some_and(|n| n == ".duet" || n == ".git")
            {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = fs::read_to_string(&path) {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, text));
            }
        }
    }
    out.sort();
    out
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(["-c", "init.defaultBranch=main", "-c", "core.autocrlf=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_git_checkout_of_another_branch_reaches_the_other_disk() {
    if std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("git is not installed: skipping the checkout test");
        return;
    }
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    let (home_a, home_b) = (scratch.dir("home-a"), scratch.dir("home-b"));
    git(&a, &["init", "-q"]);
    for i in 0..240 {
        let dir = a.join(format!("src/m{}", i % 12));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join(format!("f{i}.rs")),
            format!("// file {i}\nfn f{i}() {{}}\n"),
        )
        .unwrap();
    }
    git(&a, &["add", "-A"]);
    git(&a, &["commit", "-qm", "main"]);
    // The other branch edits 200 files, deletes 20, adds 20 and moves a folder.
    git(&a, &["checkout", "-qb", "other"]);
    for i in 0..200 {
        let path = a.join(format!("src/m{}/f{i}.rs", i % 12));
        fs::write(
            path,
            format!("// file {i}, on the other branch\nfn f{i}() {{ other() }}\n"),
        )
        .unwrap();
    }
    for i in 200..220 {
        fs::remove_file(a.join(format!("src/m{}/f{i}.rs", i % 12))).unwrap();
    }
    fs::create_dir_all(a.join("new")).unwrap();
    for i in 0..20 {
        fs::write(a.join(format!("new/n{i}.md")), format!("new {i}\n")).unwrap();
    }
    git(&a, &["add", "-A"]);
    git(&a, &["mv", "src/m11", "moved"]);
    git(&a, &["commit", "-qm", "other"]);
    let other = work_tree(&a);
    git(&a, &["checkout", "-q", "main"]);
    let main = work_tree(&a);
    assert_ne!(main, other);

    let alice = Serve::spawn(&User::new("alice", &home_a), scratch.path(), "a", &[]);
    let ticket = alice.ticket();
    let bob = Serve::spawn_args(
        &User::new("bob", &home_b),
        scratch.path(),
        &["join", &ticket, "b"],
    );
    let b = scratch.path().join("b");
    wait_until(
        "bob to hold the main branch",
        || (work_tree(&b) == main).then_some(()),
        || format!("{} files at bob", work_tree(&b).len()),
    );

    git(&a, &["checkout", "-q", "other"]);
    assert_eq!(work_tree(&a), other);
    wait_until(
        "bob to hold the other branch",
        || (work_tree(&b) == other).then_some(()),
        || {
            let at_b = work_tree(&b);
            let wrong: Vec<_> = other.iter().filter(|f| !at_b.contains(f)).take(5).collect();
            format!(
                "{} files at bob; missing or different: {wrong:#?}",
                at_b.len()
            )
        },
    );
    // And back, from bob's side this time: the git repository is alice's alone, so bob's
    // disk changes as a checkout would change it, by copying main's files over.
    for (path, text) in &main {
        let at = b.join(path);
        fs::create_dir_all(at.parent().unwrap()).unwrap();
        if fs::read_to_string(&at).ok().as_deref() != Some(text.as_str()) {
            fs::write(at, text).unwrap();
        }
    }
    for (path, _) in &other {
        if !main.iter().any(|(p, _)| p == path) {
            fs::remove_file(b.join(path)).unwrap();
        }
    }
    wait_until(
        "alice to hold the main branch again",
        || (work_tree(&a) == main).then_some(()),
        || format!("{} files at alice", work_tree(&a).len()),
    );
    bob.stop();
    alice.stop();
}

#[test]
fn moving_a_folder_on_disk_moves_its_files_on_the_other_disk_with_their_history() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    let (home_a, home_b) = (scratch.dir("home-a"), scratch.dir("home-b"));
    fs::create_dir_all(a.join("sub/deep")).unwrap();
    fs::write(a.join("sub/x.md"), "x\n").unwrap();
    fs::write(a.join("sub/deep/y.md"), "y\n").unwrap();
    fs::write(a.join("top.md"), "top\n").unwrap();
    let alice = Serve::spawn(&User::new("alice", &home_a), scratch.path(), "a", &[]);
    let ticket = alice.ticket();
    let bob = Serve::spawn_args(
        &User::new("bob", &home_b),
        scratch.path(),
        &["join", &ticket, "b"],
    );
    let b = scratch.path().join("b");
    wait_for_file(&b.join("sub/deep/y.md"), "y", |s| s == "y\n");
    wait_for_file(&b.join("sub/x.md"), "x", |s| s == "x\n");

    fs::rename(a.join("sub"), a.join("other")).unwrap();
    wait_for_file(&b.join("other/x.md"), "x, moved", |s| s == "x\n");
    wait_for_file(&b.join("other/deep/y.md"), "y, moved", |s| s == "y\n");
    wait_gone(&b.join("sub"));
    // Moved, not deleted and created again: the same files, so their histories go along,
    // and an edit at the new place on one side reaches the other.
    bob.wait_line("the move of x", |l| l == "renamed: sub/x.md → other/x.md");
    bob.wait_line("the move of y", |l| {
        l == "renamed: sub/deep/y.md → other/deep/y.md"
    });
    fs::write(b.join("other/x.md"), "x\nedited after the move\n").unwrap();
    wait_for_file(&a.join("other/x.md"), "bob's edit", |s| {
        s == "x\nedited after the move\n"
    });
    let lines = alice.stop();
    assert!(
        lines.iter().any(|l| l.contains("2 renamed")),
        "alice picked the move up as renames: {lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("deleted: sub/")),
        "{lines:#?}"
    );
    assert_eq!(
        work_tree(&b),
        vec![
            ("other/deep/y.md".to_string(), "y\n".to_string()),
            ("other/x.md".into(), "x\nedited after the move\n".into()),
            ("top.md".into(), "top\n".into()),
        ]
    );
    bob.stop();
}

/// The largest log in a folder store (the file typed in most) and its length.
fn largest_log(logs: &Path) -> Option<(std::path::PathBuf, u64)> {
    fs::read_dir(logs)
        .ok()?
        .filter_map(|e| {
            let path = e.ok()?.path();
            let len = fs::metadata(&path).ok()?.len();
            Some((path, len))
        })
        .max_by_key(|(_, len)| *len)
}

#[test]
fn a_damaged_store_is_told_and_every_file_on_disk_stays_whole() {
    let scratch = Scratch::new();
    let a = scratch.dir("a");
    let home = scratch.dir("home-a");
    let alice = User::new("alice", &home);
    let notes = a.join("notes.md");
    fs::write(&notes, "one\n").unwrap();
    let serve = Serve::spawn(&alice, scratch.path(), "a", &[]);
    serve.wait_line("how many files it shares", |l| l.contains("(1 file"));
    // Another program changes the file three times; duet logs each change.
    let logs = a.join(".duet/@folder/logs");
    let mut text = String::from("one\n");
    for i in 1..=3u64 {
        text.push_str(&format!("line {i}: {}\n", "x".repeat(200)));
        fs::write(&notes, &text).unwrap();
        wait_until(
            "the change in the store's log",
            || largest_log(&logs).filter(|(_, len)| *len > 52 + 200 * i),
            || format!("{:?}", largest_log(&logs)),
        );
    }
    serve.stop();

    // A bit flips in the middle of the file's log: the change in that frame is lost to the
    // store (and the next one waits for it).
    let (log, len) = largest_log(&logs).unwrap();
    let mut bytes = fs::read(&log).unwrap();
    let middle = (len as usize + 52) / 2;
    bytes[middle] ^= 0x10;
    fs::write(&log, bytes).unwrap();

    let serve = Serve::spawn(&alice, scratch.path(), "a", &[]);
    serve.wait_line("how many files it shares", |l| l.contains("(1 file"));
    let stderr = home.join("duet-alice.stderr");
    wait_for_file(&stderr, "the damage, told", |s| {
        s.contains("damaged") && s.contains("kept")
    });
    // The file is not written shorter: its text goes back into the store instead.
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(fs::read_to_string(&notes).unwrap(), text);
    let repaired = fs::metadata(&log).unwrap().len();
    fs::write(&notes, format!("{text}and after\n")).unwrap();
    wait_until(
        "the change after the damage in the store's log",
        || fs::metadata(&log).ok().filter(|m| m.len() > repaired),
        String::new,
    );
    serve.stop();
    let serve = Serve::spawn(&alice, scratch.path(), "a", &[]);
    serve.wait_line("how many files it shares", |l| l.contains("(1 file"));
    std::thread::sleep(std::time::Duration::from_secs(1));
    serve.stop();
    assert_eq!(
        fs::read_to_string(&notes).unwrap(),
        format!("{text}and after\n")
    );
    let kept = fs::read_dir(&logs)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().contains(".damaged-")
        })
        .count();
    assert_eq!(kept, 1, "a copy of the damaged log is kept");
}
