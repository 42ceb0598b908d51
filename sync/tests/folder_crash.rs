//! Crash safety of a shared folder's group commits: a writer process is killed (SIGKILL) at
//! random moments while it saves many documents at once (`FolderDocs::save`: ops appended
//! to their logs, or documents saved whole, one in ten at random and those whose log has
//! grown) and writes many plain files at once (`FolderStore::write_plains`); after every
//! kill the store
//! must open without damage, every document must hold exactly the text of its last
//! acknowledged save or of the save in flight (each file old or new, never a mix or a
//! loss), and so must every plain file.
//!
//! The writer is this test binary re-run with `DUET_FOLDER_CRASH_CHILD` set (as in
//! `store_crash.rs`). Before each group it prints `PRE` with the new text hash of every
//! document of the group, and `ACK` once both group writes returned.
//!
//! Not simulated here: a power loss (bytes the disk had not flushed). The group commit
//! flushes every temp file before any rename and the folders after them, the order that
//! makes a power loss leave old or new files too.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crdt_text::{Doc, VersionVector};
use duet_sync::DocId;
use duet_sync::store::{DocSave, FolderStore};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CHILD_DIR: &str = "DUET_FOLDER_CRASH_CHILD";
const CHILD_SEED: &str = "DUET_FOLDER_CRASH_SEED";
/// A child never outlives this, even if its parent vanished without killing it.
const CHILD_LIFETIME: Duration = Duration::from_secs(20);
/// Documents in the folder store.
const DOCS: u8 = 60;

fn doc_id(i: u8) -> DocId {
    DocId([i + 1; 32])
}

fn plain_path(i: u8) -> String {
    format!("d{}/file{i}.txt", i % 4)
}

fn hash(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..16].to_string()
}

/// The child: appends to random groups of documents and saves each group at once, until
/// killed.
fn child(dir: &Path, seed: u64) {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut opened = FolderStore::open(dir, None).expect("child opens the store");
    let (store, mut files) = (opened.store, opened.files);
    // Each document, and the version the store holds (`None`: never stored).
    let mut docs: BTreeMap<u8, (Doc, Option<VersionVector>)> = (0..DOCS)
        .map(|i| match opened.docs.remove(&doc_id(i)) {
            Some(doc) => {
                let stored = doc.version();
                (i, (doc, Some(stored)))
            }
            None => (i, (Doc::new(store.replica()), None)),
        })
        .collect();
    let mut compact = std::collections::BTreeSet::<u8>::new();
    while started.elapsed() < CHILD_LIFETIME {
        let group: Vec<u8> = (0..DOCS).filter(|_| rng.random_bool(0.4)).collect();
        for i in &group {
            let (doc, _) = docs.get_mut(i).expect("doc");
            let line = format!("{} {}\n", doc.len(), rng.random::<u32>());
            let _ = doc.insert(doc.len(), &line);
        }
        let pre: Vec<String> = group
            .iter()
            .map(|i| format!("{i}:{}", hash(&docs[i].0.text())))
            .collect();
        say(&format!("PRE {} END\n", pre.join(",")));
        let saves: Vec<(DocId, DocSave)> = group
            .iter()
            .map(|i| {
                let (doc, stored) = &docs[i];
                let save = match stored {
                    Some(stored) if !compact.contains(i) && !rng.random_bool(0.1) => {
                        DocSave::Ops(doc.ops_since(stored))
                    }
                    _ => DocSave::Whole(Box::new(doc.clone())),
                };
                (doc_id(*i), save)
            })
            .collect();
        let saved = files.save(saves);
        for ((id, outcome), i) in saved.outcomes.iter().zip(&group) {
            outcome.as_ref().expect("save documents");
            assert_eq!(*id, doc_id(*i));
            let (doc, stored) = docs.get_mut(i).expect("doc");
            *stored = Some(doc.version());
            compact.remove(i);
        }
        compact.extend(
            group
                .iter()
                .filter(|i| saved.compact.contains(&doc_id(**i))),
        );
        store
            .writer()
            .save_state(store.state())
            .expect("save the state");
        let texts: Vec<(String, String)> = group
            .iter()
            .map(|i| (plain_path(*i), docs[i].0.text()))
            .collect();
        let files: Vec<(&str, &str)> = texts
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        for result in store.write_plains(&files) {
            result.expect("write plain file");
        }
        say("ACK END\n");
    }
}

/// Writes a whole line at once; lines end in `END` so a cut line is ignored.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|_| out.flush())
        .expect("stdout");
}

fn spawn_child(test_name: &str, dir: &Path, seed: u64) -> Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .arg("--include-ignored")
        .env(CHILD_DIR, dir)
        .env(CHILD_SEED, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn writer child")
}

/// The complete report in a line from the child (the first shares its line with the test
/// harness's `test NAME ... `).
fn report(line: &str) -> Option<&str> {
    let start = [line.rfind("PRE "), line.rfind("ACK ")]
        .into_iter()
        .flatten()
        .max()?;
    let report = &line[start..];
    report.ends_with(" END").then_some(report)
}

/// Each document's text hash in the store, and each plain file's.
// A test driver: every unwrap here is an assertion, its panic the test's failure.
#[allow(clippy::unwrap_used)]
fn recovered(dir: &Path) -> (BTreeMap<u8, String>, BTreeMap<u8, String>) {
    let opened = FolderStore::open(dir, None).unwrap();
    assert!(opened.warnings.is_empty(), "{:?}", opened.warnings);
    let docs = (0..DOCS)
        .map(|i| {
            let text = opened.docs.get(&doc_id(i)).map(Doc::text);
            (i, hash(&text.unwrap_or_default()))
        })
        .collect();
    let plains = (0..DOCS)
        .map(|i| {
            let text = std::fs::read_to_string(dir.join(plain_path(i))).unwrap_or_default();
            (i, hash(&text))
        })
        .collect();
    (docs, plains)
}

#[allow(clippy::unwrap_used)]
fn kill_and_recover(test_name: &str, kills: u64, seed: u64) {
    if let (Ok(dir), Ok(seed)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_SEED)) {
        child(Path::new(&dir), seed.parse().expect("child seed"));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    drop(FolderStore::open(dir.path(), None).unwrap());
    let (mut docs, mut plains) = recovered(dir.path());
    let mut torn_groups = 0;
    for round in 0..kills {
        let mut child = spawn_child(test_name, dir.path(), rng_seed(seed, round));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut rng = ChaCha8Rng::seed_from_u64(rng_seed(seed, round) ^ 1);
        let wait_for = rng.random_range(0..8);
        let mut lines = Vec::new();
        while lines.len() < wait_for {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if report(&line).is_some() => lines.push(line),
                Ok(_) => {}
                Err(_) => {
                    let _ = child.kill();
                    let out = child.wait_with_output().unwrap();
                    panic!(
                        "round {round}: writer stopped early: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..20_000)));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter().filter(|l| report(l).is_some()));

        // What each document and file may hold now: its last acknowledged text, or the one
        // of the group in flight.
        let mut in_flight: BTreeMap<u8, String> = BTreeMap::new();
        for line in &lines {
            let r = report(line).unwrap();
            if let Some(pre) = r.strip_prefix("PRE ") {
                in_flight = pre
                    .trim_end_matches(" END")
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (i, h) = p.split_once(':').unwrap();
                        (i.parse().unwrap(), h.to_string())
                    })
                    .collect();
            } else {
                for (i, h) in std::mem::take(&mut in_flight) {
                    docs.insert(i, h.clone());
                    plains.insert(i, h);
                }
            }
        }
        let (now_docs, now_plains) = recovered(dir.path());
        let mut new_in_group = 0;
        for i in 0..DOCS {
            let allowed = [Some(&docs[&i]), in_flight.get(&i)];
            assert!(
                allowed.contains(&Some(&now_docs[&i])),
                "round {round}: document {i} holds neither its acknowledged text nor the one \
                 in flight"
            );
            assert!(
                [Some(&plains[&i]), in_flight.get(&i)].contains(&Some(&now_plains[&i])),
                "round {round}: file {i} holds neither its acknowledged text nor the one in \
                 flight"
            );
            new_in_group += usize::from(in_flight.get(&i) == Some(&now_docs[&i]));
        }
        if new_in_group > 0 && new_in_group < in_flight.len() {
            torn_groups += 1;
        }
        docs = now_docs;
        plains = now_plains;
    }
    // A group cut part-way (some documents new, some old) is allowed, each file whole.
    eprintln!("{kills} kills survived ({torn_groups} groups cut part-way)");
}

fn rng_seed(seed: u64, round: u64) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(round)
}

#[test]
fn killed_group_commits_leave_every_file_old_or_new() {
    kill_and_recover("killed_group_commits_leave_every_file_old_or_new", 40, 1);
}

#[test]
#[ignore = "long run: cargo test -p duet-sync --test folder_crash -- --ignored"]
fn killed_group_commits_leave_every_file_old_or_new_long_run() {
    kill_and_recover(
        "killed_group_commits_leave_every_file_old_or_new_long_run",
        500,
        2,
    );
}
