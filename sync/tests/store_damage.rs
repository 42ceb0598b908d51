//! A damaged or missing store never makes Save shrink the file.
//!
//! Every file of a store is, in turn, removed, truncated, bit-flipped (in its header, its
//! middle, its end), or replaced by an older copy of itself; then the store is reopened and
//! the document saved. Whatever happened:
//! - the document holds every line the file had, and saving writes every one of them back;
//! - every damaged file is kept, byte for byte;
//! - a report says what was found;
//! - the store is repaired: it opens cleanly afterwards.
//!
//! Only the identity (the document secret and the store's keys, which nothing can rebuild)
//! stops the open, with a clear error, and then nothing on disk has changed.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is the test failing

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crdt_text::{Doc, ReplicaId};
use duet_sync::store::{Opened, Store, StoreError, StoreWarning};

/// A document as people use it: written in another editor, then edited in duet across a
/// compaction, saved and closed. Earlier copies of the snapshot and the log are kept, to play
/// a restore from an old backup.
struct Scenario {
    dir: tempfile::TempDir,
    file: PathBuf,
    store: PathBuf,
    lines: Vec<String>,
    earlier: BTreeMap<&'static str, Vec<u8>>,
}

fn type_line(o: &mut Opened, line: &str) {
    let end = o.doc.len();
    let op = o.doc.insert(end, line);
    o.store.append(&[op]).unwrap();
    o.store.sync().unwrap();
}

fn scenario() -> Scenario {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    let store = dir.path().join(".duet/notes.md");
    let mut lines: Vec<String> = (1..=10)
        .map(|i| format!("line {i:02}: written in another editor\n"))
        .collect();
    fs::write(&file, lines.concat()).unwrap();
    let mut o = Store::open(&file).unwrap();
    let mut type_lines = |o: &mut Opened, range: std::ops::RangeInclusive<u32>, what: &str| {
        for i in range {
            let line = format!("line {i:02}: typed {what}\n");
            type_line(o, &line);
            lines.push(line);
        }
    };
    type_lines(&mut o, 11..=14, "before the first compaction");
    o.store.snapshot_now(&o.doc).unwrap();
    let mut earlier = BTreeMap::new();
    earlier.insert("snapshot", fs::read(store.join("snapshot")).unwrap());
    type_lines(&mut o, 15..=16, "between the compactions");
    earlier.insert("log", fs::read(store.join("log")).unwrap());
    o.store.snapshot_now(&o.doc).unwrap();
    type_lines(&mut o, 17..=20, "after the last compaction");
    o.store.write_plain_file(&o.doc).unwrap();
    o.store.close().unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), lines.concat());
    Scenario {
        dir,
        file,
        store,
        lines,
        earlier,
    }
}

/// What is done to a file.
#[derive(Clone, Copy, Debug)]
enum Damage {
    Removed,
    /// Cut to half its length.
    Truncated,
    /// Cut at the start of its last frame (a log that lost its last edits cleanly).
    LastFrameCut,
    /// One bit flipped, in the header (inside the document id), the middle, or near the end
    /// (the last frame's check, or the checksum).
    FlippedInHeader,
    FlippedInMiddle,
    FlippedAtEnd,
    /// Replaced by the copy it had earlier (a restore from an old backup).
    Stale,
}

impl Damage {
    /// Applies the damage to `path`; returns the damaged bytes (to find the kept copy).
    fn apply(self, path: &Path, earlier: Option<&Vec<u8>>) -> Option<Vec<u8>> {
        let mut bytes = fs::read(path).unwrap();
        let len = bytes.len();
        let flip = |bytes: &mut Vec<u8>, at: usize| bytes[at] ^= 0x10;
        match self {
            Damage::Removed => {
                fs::remove_file(path).unwrap();
                return None;
            }
            Damage::Truncated => bytes.truncate(len / 2),
            Damage::LastFrameCut => bytes.truncate(last_frame_start(&bytes)),
            Damage::FlippedInHeader => flip(&mut bytes, 20),
            Damage::FlippedInMiddle => flip(&mut bytes, len / 2),
            Damage::FlippedAtEnd => flip(&mut bytes, len - 3),
            Damage::Stale => bytes = earlier.expect("an earlier copy").clone(),
        }
        fs::write(path, &bytes).unwrap();
        Some(bytes)
    }
}

/// Where the last frame of a log starts (frames: u32 length, payload, 8-byte check).
fn last_frame_start(log: &[u8]) -> usize {
    let mut pos = 52;
    let mut last = pos;
    while pos + 4 <= log.len() {
        last = pos;
        let len = u32::from_le_bytes(log[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 4 + len + 8;
    }
    last
}

/// What must happen.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// The open recovers and reports; the damaged file is kept (when there was one).
    Recovered,
    /// The open refuses with the error, and changes nothing on disk.
    Refused(fn(&StoreError) -> bool),
}

use Damage::*;

fn missing_identity(e: &StoreError) -> bool {
    matches!(e, StoreError::MissingIdentity { .. })
}

fn damaged_identity(e: &StoreError) -> bool {
    matches!(e, StoreError::Corrupt { .. })
}

/// Every file of the store and what may happen to it.
const CASES: &[(&str, Damage, Outcome)] = &[
    ("identity", Removed, Outcome::Refused(missing_identity)),
    ("identity", Truncated, Outcome::Refused(damaged_identity)),
    (
        "identity",
        FlippedInHeader,
        Outcome::Refused(damaged_identity),
    ),
    (
        "identity",
        FlippedInMiddle,
        Outcome::Refused(damaged_identity),
    ),
    ("identity", FlippedAtEnd, Outcome::Refused(damaged_identity)),
    ("state", Removed, Outcome::Recovered),
    ("state", Truncated, Outcome::Recovered),
    ("state", FlippedInHeader, Outcome::Recovered),
    ("state", FlippedInMiddle, Outcome::Recovered),
    ("state", FlippedAtEnd, Outcome::Recovered),
    ("snapshot", Removed, Outcome::Recovered),
    ("snapshot", Truncated, Outcome::Recovered),
    ("snapshot", FlippedInHeader, Outcome::Recovered),
    ("snapshot", FlippedInMiddle, Outcome::Recovered),
    ("snapshot", FlippedAtEnd, Outcome::Recovered),
    ("snapshot", Stale, Outcome::Recovered),
    ("log", Removed, Outcome::Recovered),
    ("log", Truncated, Outcome::Recovered),
    ("log", LastFrameCut, Outcome::Recovered),
    ("log", FlippedInHeader, Outcome::Recovered),
    ("log", FlippedInMiddle, Outcome::Recovered),
    ("log", FlippedAtEnd, Outcome::Recovered),
    ("log", Stale, Outcome::Recovered),
    ("lock", Removed, Outcome::Recovered),
    ("lock", Truncated, Outcome::Recovered),
    ("lock", FlippedInHeader, Outcome::Recovered),
    ("lock", FlippedInMiddle, Outcome::Recovered),
    ("lock", FlippedAtEnd, Outcome::Recovered),
];

/// Every file of a folder (recursively), with its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(contents(&path));
        } else {
            out.insert(path.clone(), fs::read(&path).unwrap());
        }
    }
    out
}

/// The lines of `text` that `lines` lacks (each line of `lines` needs its own occurrence).
fn missing_lines(lines: &[String], text: &str) -> Vec<String> {
    let mut have: Vec<&str> = text.split_inclusive('\n').collect();
    lines
        .iter()
        .filter(|line| match have.iter().position(|h| h == line) {
            Some(i) => {
                have.swap_remove(i);
                false
            }
            None => true,
        })
        .cloned()
        .collect()
}

#[test]
fn no_damage_to_any_store_file_makes_save_shrink_the_file() {
    for &(name, damage, outcome) in CASES {
        let case = format!("{name} {damage:?}");
        let s = scenario();
        let target = s.store.join(name);
        let damaged = damage.apply(&target, s.earlier.get(name));
        let before = contents(s.dir.path());

        let mut o = match (Store::open(&s.file), outcome) {
            (Err(e), Outcome::Refused(expected)) => {
                assert!(expected(&e), "{case}: {e}");
                assert!(e.to_string().contains(name), "{case}: {e}");
                assert_eq!(contents(s.dir.path()), before, "{case}: changed the disk");
                continue;
            }
            (Ok(_), Outcome::Refused(_)) => panic!("{case}: opened"),
            (Err(e), Outcome::Recovered) => panic!("{case}: {e}"),
            (Ok(o), Outcome::Recovered) => o,
        };

        let missing = missing_lines(&s.lines, &o.doc.text());
        assert!(missing.is_empty(), "{case}: lost {missing:?}");
        let report = o
            .report
            .clone()
            .unwrap_or_else(|| panic!("{case}: no report: {:?}", o.warnings));
        let text = report.to_string();
        assert!(
            text.contains(&target.display().to_string()),
            "{case}: {text}"
        );
        // A stale file is intact, only older: it stays in use.
        if let Some(damaged) = damaged.filter(|_| !matches!(damage, Stale)) {
            assert!(
                report
                    .kept()
                    .any(|p| fs::read(p).ok() == Some(damaged.clone())),
                "{case}: damaged file not kept: {text}"
            );
        }
        assert!(
            fs::read_to_string(report.saved_as.as_ref().unwrap())
                .unwrap()
                .contains(&target.display().to_string()),
            "{case}"
        );

        o.store.write_plain_file(&o.doc).unwrap();
        let saved = fs::read_to_string(&s.file).unwrap();
        let missing = missing_lines(&s.lines, &saved);
        assert!(missing.is_empty(), "{case}: saving dropped {missing:?}");
        drop(o);

        let again = Store::open(&s.file).unwrap();
        assert!(
            again.report.is_none(),
            "{case}: not repaired: {:?}",
            again.warnings
        );
        assert_eq!(again.doc.text(), saved, "{case}");
    }
}

/// Opens a store whose log is damaged after its first line, with a copy of the document kept
/// by a peer; returns the scenario, the opened store and the peer.
fn damaged_in_the_middle() -> (Scenario, Opened, Doc) {
    let s = scenario();
    let mut peer = Doc::new(ReplicaId::from(99));
    {
        let o = Store::open(&s.file).unwrap();
        for op in o.doc.ops_since(&peer.version()) {
            peer.apply(&op).unwrap();
        }
    }
    let log = s.store.join("log");
    let mut bytes = fs::read(&log).unwrap();
    let victim = bytes.windows(7).position(|w| w == b"line 18").unwrap();
    bytes[victim] ^= 0x01;
    fs::write(&log, &bytes).unwrap();
    let o = Store::open(&s.file).unwrap();
    (s, o, peer)
}

#[test]
fn frames_after_a_damaged_one_are_held_until_a_peer_sends_what_was_lost() {
    let (s, mut o, peer) = damaged_in_the_middle();
    assert!(missing_lines(&s.lines, &o.doc.text()).is_empty());
    let report = o.report.clone().unwrap();
    assert_eq!(report.recovered.held, 2, "lines 19 and 20 wait for line 18");
    assert!(
        report.to_string().contains("2 changes held back"),
        "{report}"
    );
    // They survive a close and a compaction.
    o.store.snapshot_now(&o.doc).unwrap();
    drop(o);
    let mut o = Store::open(&s.file).unwrap();
    assert_eq!(o.doc.pending_len(), 2);
    // The peer sends what this store lost: the held frames apply.
    for op in peer.ops_since(&o.doc.version()) {
        o.doc.apply(&op).unwrap();
    }
    assert_eq!(o.doc.pending_len(), 0);
    assert!(missing_lines(&s.lines, &o.doc.text()).is_empty());
}

#[test]
fn save_asks_before_dropping_text_the_file_had_when_the_store_was_found_damaged() {
    let (s, mut o, _) = damaged_in_the_middle();
    let saved = fs::read(&s.file).unwrap();
    // The user deletes line 03 before saving.
    let at = o.doc.text().find("line 03").unwrap();
    let at = o.doc.text()[..at].chars().count();
    let op = o
        .doc
        .delete(at, "line 03: written in another editor\n".len());
    o.store.append(&[op]).unwrap();
    let err = o.store.write_plain_file(&o.doc).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::WouldDropText {
                chars: 35,
                lines: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("35 characters in 1 line "),
        "{err}"
    );
    assert_eq!(fs::read(&s.file).unwrap(), saved, "file untouched");

    // A crash now keeps the guard.
    drop(o);
    let mut o = Store::open(&s.file).unwrap();
    assert!(matches!(
        o.store.write_plain_file(&o.doc),
        Err(StoreError::WouldDropText { .. })
    ));
    // The user confirms: the save goes through, and the guard is gone for later saves.
    o.store.confirm_drop();
    o.store.write_plain_file(&o.doc).unwrap();
    assert!(!fs::read_to_string(&s.file).unwrap().contains("line 03"));
    let op = o.doc.delete(0, 8);
    o.store.append(&[op]).unwrap();
    o.store.write_plain_file(&o.doc).unwrap();
}

#[test]
fn a_damaged_header_is_reported_as_damage_not_as_another_document() {
    let s = scenario();
    let log = s.store.join("log");
    let mut bytes = fs::read(&log).unwrap();
    bytes[30] ^= 0x01; // inside the document id
    fs::write(&log, &bytes).unwrap();
    let o = Store::open(&s.file).unwrap();
    let text = o.report.unwrap().to_string();
    assert!(text.contains("damaged at offset 0"), "{text}");
    assert!(!text.contains("belongs to"), "{text}");
    // Every frame was read through the damaged header: no history lost, same replica.
    assert!(
        !o.warnings
            .iter()
            .any(|w| matches!(w, StoreWarning::NewReplica { .. })),
        "{:?}",
        o.warnings
    );
}

#[test]
fn a_damaged_floor_is_kept_and_taken_again_from_the_file() {
    let (s, o, _) = damaged_in_the_middle();
    drop(o);
    let floor = s.store.join("floor");
    let mut bytes = fs::read(&floor).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&floor, &bytes).unwrap();

    let mut o = Store::open(&s.file).unwrap();
    let report = o.report.clone().expect("a report");
    assert!(
        report
            .kept()
            .any(|p| fs::read(p).ok() == Some(bytes.clone())),
        "{report}"
    );
    assert!(report.recovered.save_guarded, "{report}");
    // The guard stands again: dropping a line of the file is refused.
    let op = o.doc.delete(0, 10);
    o.store.append(&[op]).unwrap();
    assert!(matches!(
        o.store.write_plain_file(&o.doc),
        Err(StoreError::WouldDropText { .. })
    ));
}
