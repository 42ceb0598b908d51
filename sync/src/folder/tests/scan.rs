//! Which files a shared folder shares, on real folders.

use std::fs;
use std::path::Path;

use super::super::scan::*;

fn write(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

fn shared(scan: &Scan) -> Vec<&str> {
    scan.files.iter().map(|f| f.path.as_str()).collect()
}

fn skipped(scan: &Scan) -> Vec<(&str, &SkipReason)> {
    scan.skipped
        .iter()
        .map(|s| (s.path.as_str(), &s.reason))
        .collect()
}

#[test]
fn text_files_are_shared_in_path_order_with_their_size() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "README.md", "# hi\n");
    write(dir.path(), "src/main.rs", "fn main() {}\n");
    write(dir.path(), ".github/ci.yml", "on: push\n");
    write(dir.path(), "empty.txt", "");
    write(dir.path(), "unicode/ünï.md", "naïve café\n");
    let scan = scan(dir.path(), &ScanConfig::default()).unwrap();
    assert_eq!(
        shared(&scan),
        [
            ".github/ci.yml",
            "README.md",
            "empty.txt",
            "src/main.rs",
            "unicode/ünï.md"
        ]
    );
    assert_eq!(scan.files[1].bytes, 5);
    assert_eq!(scan.files[1].hash, *blake3::hash(b"# hi\n").as_bytes());
    assert!(scan.skipped.is_empty(), "{:?}", scan.skipped);
}

#[test]
fn git_and_duet_folders_are_never_entered() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.md", "text\n");
    write(dir.path(), ".git/config", "[core]\n");
    write(dir.path(), ".git/hooks/pre-commit", "#!/bin/sh\n");
    write(dir.path(), ".duet/notes.md/log", "x");
    write(
        dir.path(),
        "vendor/lib/.git",
        "gitdir: ../../.git/modules/lib\n",
    );
    write(dir.path(), "vendor/lib/lib.rs", "\n");
    write(dir.path(), "sub/.GIT/config", "[core]\n");
    let scan = scan(dir.path(), &ScanConfig::default()).unwrap();
    assert_eq!(shared(&scan), ["notes.md", "vendor/lib/lib.rs"]);
    // Not even listed as skipped: they are not the user's files.
    assert!(scan.skipped.is_empty(), "{:?}", scan.skipped);
}

#[test]
fn an_ignored_file_is_never_included() {
    let dir = tempfile::tempdir().unwrap();
    // Not a git repository: .gitignore counts anyway.
    write(dir.path(), ".gitignore", "target/\n*.log\n!keep.log\n");
    write(dir.path(), ".duetignore", "secrets.env\ndrafts/\n");
    write(dir.path(), "src/.gitignore", "generated.rs\n");
    write(dir.path(), "secrets.env", "API_KEY=hunter2\n");
    write(dir.path(), "target/debug/out.txt", "build output\n");
    write(dir.path(), "debug.log", "log\n");
    write(dir.path(), "keep.log", "kept\n");
    write(dir.path(), "drafts/private.md", "not yet\n");
    write(dir.path(), "src/generated.rs", "// generated\n");
    write(dir.path(), "src/lib.rs", "pub fn f() {}\n");
    let scan = scan(dir.path(), &ScanConfig::default()).unwrap();
    assert_eq!(
        shared(&scan),
        [
            ".duetignore",
            ".gitignore",
            "keep.log",
            "src/.gitignore",
            "src/lib.rs"
        ]
    );
    // Ignored files are neither shared nor listed anywhere.
    let mentioned = format!("{scan:?}");
    for never in [
        "secrets",
        "hunter2",
        "target",
        "debug.log",
        "drafts",
        "generated.rs",
    ] {
        assert!(!mentioned.contains(never), "{never} appears in {mentioned}");
    }
}

#[test]
fn a_gitignore_of_the_enclosing_repository_counts() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), ".gitignore", "*.secret\n");
    write(dir.path(), "docs/a.md", "a\n");
    write(dir.path(), "docs/b.secret", "b\n");
    // Share only docs/: the repository's rules still apply.
    let scan = scan(&dir.path().join("docs"), &ScanConfig::default()).unwrap();
    assert_eq!(shared(&scan), ["a.md"]);
}

#[test]
fn binary_non_utf8_and_oversized_files_are_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    write(dir.path(), "latin1.txt", b"caf\xe9\n");
    write(dir.path(), "big.txt", "x".repeat(101));
    write(dir.path(), "fits.txt", "x".repeat(100));
    write(dir.path(), "back\\slash.txt", "odd name\n");
    let cfg = ScanConfig {
        max_file_bytes: 100,
    };
    let scan = scan(dir.path(), &cfg).unwrap();
    assert_eq!(shared(&scan), ["fits.txt"]);
    assert_eq!(
        skipped(&scan),
        [
            (
                "back\\slash.txt",
                &SkipReason::Name(crate::folder::path::PathError::BadChar {
                    path: "back\\slash.txt".into(),
                    found: '\\'
                })
            ),
            (
                "big.txt",
                &SkipReason::TooLarge {
                    bytes: 101,
                    limit: 100
                }
            ),
            ("latin1.txt", &SkipReason::NotUtf8 { offset: 3 }),
            ("logo.png", &SkipReason::Binary { offset: 8 }),
        ]
    );
    assert_eq!(
        SkipReason::Binary { offset: 8 }.to_string(),
        "binary file (a NUL byte at offset 8)"
    );
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_skipped_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "private.txt", "outside the folder\n");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.md", "a\n");
    std::os::unix::fs::symlink(outside.path(), dir.path().join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("private.txt"), dir.path().join("p.txt"))
        .unwrap();
    let scan = scan(dir.path(), &ScanConfig::default()).unwrap();
    assert_eq!(shared(&scan), ["a.md"]);
    assert_eq!(
        skipped(&scan),
        [
            ("elsewhere", &SkipReason::Symlink),
            ("p.txt", &SkipReason::Symlink)
        ]
    );
}

#[test]
fn a_missing_folder_is_an_error_not_an_empty_share() {
    let dir = tempfile::tempdir().unwrap();
    let err = scan(&dir.path().join("nope"), &ScanConfig::default()).unwrap_err();
    assert!(matches!(err, ScanError::Root { .. }), "{err:?}");
    write(dir.path(), "file", "x");
    let err = scan(&dir.path().join("file"), &ScanConfig::default()).unwrap_err();
    assert!(err.to_string().contains("not a folder"), "{err}");
}

#[test]
fn an_unparsable_ignore_rule_refuses_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    // A rule ending in a lone backslash is no glob: what did the user mean to keep home?
    write(dir.path(), ".duetignore", "secret\\\n");
    write(dir.path(), "secret\\", "do not share\n");
    write(dir.path(), "notes.md", "fine\n");
    let err = scan(dir.path(), &ScanConfig::default()).unwrap_err();
    assert!(matches!(err, ScanError::Rules(_)), "{err:?}");
}

#[test]
fn an_unreadable_ignore_file_refuses_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".duetignore")).unwrap();
    write(dir.path(), "notes.md", "fine\n");
    let err = scan(dir.path(), &ScanConfig::default()).unwrap_err();
    assert!(matches!(err, ScanError::Rules(_)), "{err:?}");
}
