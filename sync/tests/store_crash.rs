//! Crash safety: a writer process is killed (SIGKILL) at random moments while it edits,
//! syncs and compacts; after every kill the store must open with every acknowledged edit
//! present and the text exactly as it was at a sync point.
//!
//! Half of the kills also simulate a power loss: bytes written after the last acknowledged
//! sync are cut at a random point (and sometimes replaced by zeros), as a disk may do.
//!
//! The writer is this very test binary, re-run with `DUET_STORE_CRASH_CHILD` set: the test
//! function then acts as the child instead of the parent. The child prints `PRE <state>`
//! before each sync and `ACK <state>` once the sync returned (the moment an editor shows
//! "saved" or a peer gets its acknowledgement).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crdt_text::{Doc, ReplicaId, VersionVector};
use duet_sync::store::{Store, StoreWarning};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CHILD_FILE: &str = "DUET_STORE_CRASH_CHILD";
const CHILD_SEED: &str = "DUET_STORE_CRASH_SEED";
/// A child never outlives this, even if its parent vanished without killing it.
const CHILD_LIFETIME: Duration = Duration::from_secs(20);
/// Bytes of the log's header (the log file is this plus `Store::log_tail_len`).
const LOG_HEADER: u64 = 52;

/// One recoverable state: the version and the text's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    version: VersionVector,
    text_hash: String,
}

impl State {
    fn of(doc: &Doc) -> State {
        State {
            version: doc.version(),
            text_hash: blake3::hash(doc.text().as_bytes()).to_hex().to_string(),
        }
    }

    fn line(&self) -> String {
        let version: Vec<String> = self
            .version
            .iter()
            .map(|(r, n)| format!("{}={n}", r.as_u64()))
            .collect();
        format!("{} {}", version.join(","), self.text_hash)
    }

    fn parse(line: &str) -> Option<State> {
        let (version, text_hash) = line.split_once(' ')?;
        let version = version
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (r, n) = p.split_once('=')?;
                Some((ReplicaId::from(r.parse::<u64>().ok()?), n.parse().ok()?))
            })
            .collect::<Option<VersionVector>>()?;
        Some(State {
            version,
            text_hash: text_hash.to_string(),
        })
    }
}

/// The child: edits, syncs and compacts the store at `file` until killed.
fn child(file: &Path, seed: u64) {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut o = Store::open(file).expect("child opens the store");
    while started.elapsed() < CHILD_LIFETIME {
        for _ in 0..rng.random_range(1..4) {
            let len = o.doc.len();
            let op = if len > 2000 || (len > 0 && rng.random_bool(0.3)) {
                let pos = rng.random_range(0..len);
                let del = rng.random_range(1..=(len - pos).min(300));
                o.doc.delete(pos, del)
            } else {
                let pos = rng.random_range(0..=len);
                // Mostly keystrokes, sometimes a paste (a larger write to interrupt).
                let text = if rng.random_bool(0.05) {
                    "pasted paragraph ü ".repeat(rng.random_range(10..200))
                } else {
                    ["a", "ß", "\n", "字", "🦀"][rng.random_range(0..5)].to_string()
                };
                o.doc.insert(pos, &text)
            };
            o.store.append(&[op]).expect("append");
        }
        let state = State::of(&o.doc).line();
        say(&format!("PRE {state} END\n"));
        if rng.random_bool(0.05) {
            o.store.snapshot_now(&o.doc).expect("snapshot");
        } else {
            o.store.sync().expect("sync");
        }
        // The log's durable length: the parent may drop anything beyond it (power loss).
        let durable = o.store.log_tail_len() + LOG_HEADER;
        say(&format!("ACK {state} {durable} END\n"));
    }
}

/// Writes a whole line at once. A kill can still cut it short, so lines end in `END` and the
/// parent ignores any line without it.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|_| out.flush())
        .expect("stdout");
}

fn spawn_child(test_name: &str, file: &Path, seed: u64) -> Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .arg("--include-ignored")
        .env(CHILD_FILE, file)
        .env(CHILD_SEED, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn writer child")
}

/// The complete `PRE`/`ACK` report in a line from the child, if there is one. The first
/// report shares its line with the test harness's `test NAME ... ` (printed without a newline
/// before the test runs), so it is looked for anywhere in the line, not only at its start.
fn report(line: &str) -> Option<&str> {
    let start = [line.rfind("PRE "), line.rfind("ACK ")]
        .into_iter()
        .flatten()
        .max()?;
    let report = &line[start..];
    report.ends_with(" END").then_some(report)
}

/// Runs `kills` rounds of: spawn writer, let it work a random while, SIGKILL it, reopen and
/// check the recovery.
// A test driver: every unwrap here is an assertion, its panic the test's failure.
#[allow(clippy::unwrap_used)]
fn kill_and_recover(test_name: &str, kills: u64, seed: u64) {
    if let (Ok(file), Ok(seed)) = (std::env::var(CHILD_FILE), std::env::var(CHILD_SEED)) {
        child(Path::new(&file), seed.parse().expect("child seed"));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.txt");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut start = {
        let o = Store::open(&file).unwrap();
        State::of(&o.doc)
    };
    let mut torn = 0;
    let mut power_losses = 0;
    let log_len = |dir: &Path| {
        std::fs::metadata(dir.join(".duet/crash.txt/log"))
            .unwrap()
            .len()
    };
    let mut start_log_len = log_len(dir.path());
    for round in 0..kills {
        let mut child = spawn_child(test_name, &file, rng.random());
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
        // Let it run for a random number of syncs, then a random sliver of time more.
        let wait_for = rng.random_range(0..25);
        let mut lines = Vec::new();
        while lines.len() < wait_for {
            match rx.recv_timeout(Duration::from_secs(10)) {
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
        std::thread::sleep(Duration::from_micros(rng.random_range(0..3000)));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter().filter(|l| report(l).is_some()));

        // What may be on disk: the last acknowledged state (or the start), or the state
        // whose sync was under way when the kill landed.
        let mut acked = start.clone();
        let mut acked_log_len = start_log_len;
        let mut in_flight = None;
        for line in &lines {
            let (tag, rest) = report(line).expect("kept only reports").split_at(4);
            let mut rest = rest.trim_end_matches(" END");
            if tag == "ACK " {
                let (state, len) = rest.rsplit_once(' ').expect("ACK has a length");
                acked_log_len = len.parse().expect("log length");
                rest = state;
            }
            let state = State::parse(rest).unwrap_or_else(|| panic!("bad line {line:?}"));
            if tag == "ACK " {
                acked = state;
                in_flight = None;
            } else {
                in_flight = Some(state);
            }
        }

        // Power loss on top of the kill, half the time: bytes written after the last fsync
        // may be lost from any point on, and the file may end in zeros.
        let log = dir.path().join(".duet/crash.txt/log");
        let actual = std::fs::metadata(&log).unwrap().len();
        if rng.random_bool(0.5) && actual > acked_log_len {
            let cut = rng.random_range(acked_log_len..=actual);
            let file = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
            file.set_len(cut).unwrap();
            if rng.random_bool(0.5) {
                file.set_len(cut + rng.random_range(1..200)).unwrap();
            }
            power_losses += 1;
        }

        let o = Store::open(&file)
            .unwrap_or_else(|e| panic!("round {round}: store does not open after a kill: {e}"));
        let recovered = State::of(&o.doc);
        assert!(
            recovered.version.includes(&acked.version),
            "round {round}: acknowledged edits lost: acked {:?}, recovered {:?}",
            acked.version,
            recovered.version
        );
        assert!(
            recovered == acked || Some(&recovered) == in_flight.as_ref(),
            "round {round}: recovered state {recovered:?} is neither the acknowledged \
             {acked:?} nor the in-flight {in_flight:?}; open warned {:?}",
            o.warnings
        );
        assert_eq!(o.doc.pending_len(), 0, "round {round}");
        let reencoded = Doc::decode(&o.doc.encode(), o.doc.replica()).unwrap();
        assert_eq!(reencoded.text(), o.doc.text(), "round {round}");
        if !lines.is_empty() {
            assert!(
                o.warnings
                    .iter()
                    .any(|w| matches!(w, StoreWarning::NewReplica { .. })),
                "round {round}: a killed session must not keep its replica id: {:?}",
                o.warnings
            );
        }
        torn += o
            .warnings
            .iter()
            .filter(|w| matches!(w, StoreWarning::TornTail { .. }))
            .count();
        for w in &o.warnings {
            assert!(
                matches!(
                    w,
                    StoreWarning::NewReplica { .. } | StoreWarning::TornTail { .. }
                ),
                "round {round}: unexpected warning after a kill: {w}"
            );
        }
        start = recovered;
        o.store.close().unwrap();
        start_log_len = log_len(dir.path());
    }
    eprintln!(
        "{kills} kills survived ({power_losses} with simulated power loss, {torn} torn tails cut)"
    );
}

#[test]
fn killed_writers_never_lose_acknowledged_edits() {
    kill_and_recover("killed_writers_never_lose_acknowledged_edits", 200, 1);
}

#[test]
#[ignore = "long run: cargo test -p duet-sync --test store_crash -- --ignored"]
fn killed_writers_never_lose_acknowledged_edits_long_run() {
    kill_and_recover(
        "killed_writers_never_lose_acknowledged_edits_long_run",
        2000,
        2,
    );
}
