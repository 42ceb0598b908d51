//! Figures for shared folders over real iroh on loopback, in one process: a generated tree of
//! N text files (default 1,000 × 10 KB, in 10 folders), or a copy of an existing folder,
//! shared by one session and joined by another.
//!
//! ```text
//! cargo run --release -p duet-sync --example folder_bench [-- FILES [BYTES_PER_FILE [RUNS]]]
//! cargo run --release -p duet-sync --example folder_bench -- tree PATH [RUNS]
//! ```
//!
//! Prints medians over RUNS (default 5) of: a fresh join (open to every file on the joiner's
//! disk) beside the baseline of copying the same tree with `std::fs::copy` in the same run,
//! bytes exchanged ÷ the tree's size; and a reconnect where nothing changed (open to the peer
//! joining the folder, bytes exchanged over the following second, summary included). With a
//! generated tree, also: a burst of 200 files changed on one disk (as a `git checkout` does)
//! → all of them on the other disk, the same with 200 files rewritten entirely, and one
//! keystroke → applied on the other peer in folder mode beside single-file mode, both driven
//! the same way in this process (20 rounds of 600 keystrokes per mode, one every 5 ms, the
//! modes taking turns, once no byte has moved for a second; the samples pooled; a round
//! lasts 3 s, so each one has the file typed in written twice, when the typing starts and 2 s
//! later, as it would be while someone types without a pause), and the
//! bytes an idle folder exchanges in 10 s. `tree PATH` copies PATH (without `.git`, `.duet` and `target`)
//! and shares the copy.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use duet_sync::net::NetConfig;
use duet_sync::proto::OneDoc;
use duet_sync::share::{FolderConfig, FolderEvent, FolderSession};
use duet_sync::ticket::DocTicket;
use duet_sync::{Opened, Session, SessionConfig};

fn config(dir: &Path, join: Option<DocTicket>) -> FolderConfig {
    let mut config = FolderConfig::new(dir);
    config.net = Some(NetConfig::loopback());
    config.join = join;
    config.watch = false;
    config
}

/// `len` pseudo-random words (text that does not compress away).
fn text(seed: usize, len: usize) -> String {
    let mut x = seed as u64 * 2_654_435_761 + 1;
    let mut out = String::with_capacity(len);
    while out.len() < len {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.push(char::from(b'a' + (x >> 59) as u8 % 26));
        if x.is_multiple_of(7) {
            out.push(if x.is_multiple_of(11) { '\n' } else { ' ' });
        }
    }
    out.truncate(len);
    out
}

fn path_of(i: usize) -> String {
    format!("d{}/f{i}.txt", i % 10)
}

/// Drives both sessions until `done` holds; returns b's events.
async fn pump(
    a: &mut FolderSession,
    b: &mut FolderSession,
    mut done: impl FnMut(&[FolderEvent]) -> bool,
) -> Vec<FolderEvent> {
    let start = Instant::now();
    let mut events = Vec::new();
    while !done(&events) {
        assert!(start.elapsed() < Duration::from_secs(300), "gave up");
        tokio::select! {
            wake = a.next() => { a.handle(wake); }
            wake = b.next() => events.extend(b.handle(wake)),
        }
    }
    events
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn copy_tree(from: &Path, to: &Path, paths: &[String]) {
    for path in paths {
        let dst = to.join(path);
        fs::create_dir_all(dst.parent().unwrap_or(to)).ok();
        fs::copy(from.join(path), dst).ok();
    }
}

/// Copies the folder `from` into `to`, leaving out `.git`, `.duet` and `target`.
fn copy_folder(from: &Path, to: &Path) {
    let Ok(entries) = fs::read_dir(from) else {
        return;
    };
    fs::create_dir_all(to).ok();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if [".git", ".duet", "target"].iter().any(|n| name == *n) {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => copy_folder(&entry.path(), &to.join(&name)),
            Ok(t) if t.is_file() => {
                fs::copy(entry.path(), to.join(&name)).ok();
            }
            _ => {}
        }
    }
}

/// A generated tree of `files` × `bytes`, or a copy of `tree`.
fn make_tree(dir: &Path, tree: Option<&Path>, files: usize, bytes: usize) {
    match tree {
        Some(from) => copy_folder(from, dir),
        None => {
            for i in 0..files {
                let path = dir.join(path_of(i));
                fs::create_dir_all(path.parent().unwrap_or(dir)).ok();
                fs::write(path, text(i, bytes)).ok();
            }
        }
    }
}

struct Args {
    tree: Option<std::path::PathBuf>,
    files: usize,
    bytes: usize,
    runs: usize,
}

fn args() -> Args {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.first().map(String::as_str) == Some("tree") {
        return Args {
            tree: raw.get(1).map(Into::into),
            files: 0,
            bytes: 0,
            runs: raw.get(2).and_then(|r| r.parse().ok()).unwrap_or(5),
        };
    }
    let n: Vec<usize> = raw.iter().filter_map(|a| a.parse().ok()).collect();
    Args {
        tree: None,
        files: n.first().copied().unwrap_or(1000),
        bytes: n.get(1).copied().unwrap_or(10_000),
        runs: n.get(2).copied().unwrap_or(5),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    let Ok(scratch) = tempfile::tempdir() else {
        eprintln!("cannot make a temporary folder");
        return;
    };
    let a_dir = scratch.path().join("a");
    make_tree(&a_dir, args.tree.as_deref(), args.files, args.bytes);
    let opened = Instant::now();
    let Ok((mut a, events)) = FolderSession::open(config(&a_dir, None)).await else {
        eprintln!("cannot share the folder");
        return;
    };
    let paths = a.paths();
    let total: u64 = paths
        .iter()
        .filter_map(|p| fs::metadata(a_dir.join(p)).ok())
        .map(|m| m.len())
        .sum();
    let skipped = events
        .iter()
        .filter(|e| matches!(e, FolderEvent::Skipped(_)))
        .count();
    println!(
        "shared {} files, {total} bytes ({skipped} not shared) in {:.0} ms (first scan and store)",
        paths.len(),
        opened.elapsed().as_secs_f64() * 1e3
    );
    let Some(ticket) = a.ticket() else {
        eprintln!("offline");
        return;
    };
    let (mut join_ms, mut copy_ms, mut ratio, mut again_ms, mut again_bytes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut open_ms = Vec::new();
    for run in 0..args.runs {
        let copy_dir = scratch.path().join(format!("copy{run}"));
        let t = Instant::now();
        copy_tree(&a_dir, &copy_dir, &paths);
        copy_ms.push(t.elapsed().as_secs_f64() * 1e3);

        let b_dir = scratch.path().join(format!("b{run}"));
        let t = Instant::now();
        let Ok((mut b, _)) = FolderSession::open(config(&b_dir, Some(ticket.clone()))).await else {
            eprintln!("cannot join");
            return;
        };
        let root = b.root().to_path_buf();
        let mut left = paths.clone();
        pump(&mut a, &mut b, |_| {
            left.retain(|p| !root.join(p).exists());
            left.is_empty()
        })
        .await;
        join_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let (s, r) = b.traffic();
        ratio.push((s + r) as f64 / total as f64);
        let _ = b.shutdown().await;

        let t = Instant::now();
        let Ok((mut b, _)) = FolderSession::open(config(&b_dir, None)).await else {
            eprintln!("cannot reopen");
            return;
        };
        open_ms.push(t.elapsed().as_secs_f64() * 1e3);
        pump(&mut a, &mut b, |events| {
            events
                .iter()
                .any(|e| matches!(e, FolderEvent::PeerJoined { .. }))
        })
        .await;
        again_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let settle = Instant::now();
        while settle.elapsed() < Duration::from_secs(1) {
            tokio::select! {
                wake = a.next() => { a.handle(wake); }
                wake = b.next() => { b.handle(wake); }
            }
        }
        let (s, r) = b.traffic();
        again_bytes.push((s + r) as f64);
        if run + 1 < args.runs || args.tree.is_some() {
            let _ = b.shutdown().await;
            let _ = fs::remove_dir_all(&b_dir);
        } else {
            burst(&mut a, &mut b, args.files, args.bytes).await;
            // Each step from a quiet folder: a rewrite within half a second of the burst
            // would be typing to b, written once it stops (see `share/rewrites.rs`).
            quiet_folder(&mut a, &mut b, Duration::from_secs(1)).await;
            rewrite(&mut a, &mut b, args.files, args.bytes).await;
            let _ = b.shutdown().await;
        }
        let _ = fs::remove_dir_all(&copy_dir);
    }
    let (join, copy) = (median(join_ms), median(copy_ms));
    println!(
        "fresh join: median {join:.0} ms (baseline fs::copy of the tree: {copy:.1} ms, ratio {:.0}×); \
         bytes exchanged ÷ tree size: {:.2}",
        join / copy,
        median(ratio)
    );
    println!(
        "unchanged reconnect: median {:.0} ms to the peer joining ({:.0} ms of it opening the \
         store and scanning the folder), {:.0} bytes exchanged",
        median(again_ms),
        median(open_ms),
        median(again_bytes)
    );
    if args.tree.is_none() {
        let b_dir = scratch.path().join("keys-b");
        if let Ok((mut b, _)) = FolderSession::open(config(&b_dir, Some(ticket))).await {
            let root = b.root().to_path_buf();
            let last = paths.last().cloned().unwrap_or_default();
            pump(&mut a, &mut b, |_| root.join(&last).exists()).await;
            let t = Instant::now();
            let quiet = quiet_folder(&mut a, &mut b, Duration::from_secs(1)).await;
            println!(
                "after the join: quiet (no byte either way for 1 s) {:.1} s after the last file \
                 was on disk",
                (quiet - t).as_secs_f64()
            );
            let idle = idle_bytes(&mut a, &mut b, Duration::from_secs(10)).await;
            println!(
                "idle: {idle} bytes exchanged in 10 s with {} files shared",
                paths.len()
            );
            // The modes take turns, so both see the same moments of a noisy machine, and
            // the samples of all rounds are pooled (a p99 of 600 samples is its 7th worst).
            let Some(mut single) = Single::open(scratch.path(), args.bytes).await else {
                println!("keystrokes: the single-file sessions did not open");
                return;
            };
            let (mut folder, mut one) = (Vec::new(), Vec::new());
            for _ in 0..KEY_ROUNDS {
                folder.extend(keystrokes_folder(&mut a, &mut b, &paths[0]).await);
                one.extend(single.keystrokes().await);
            }
            single.close().await;
            let _ = b.shutdown().await;
            let (lo, hi) = ratio_interval(&folder, &one);
            let (folder, single) = (percentiles(folder), percentiles(one));
            println!(
                "keystroke -> applied on the other peer ({KEY_ROUNDS} rounds of {KEYS} \
                 keystrokes per mode, one per 5 ms, the modes taking turns): folder mode p50 \
                 {:.2} ms, p99 {:.2} ms; single-file mode p50 {:.2} ms, p99 {:.2} ms; p99 ratio \
                 {:.2} (95% interval {lo:.2}–{hi:.2})",
                folder.0,
                folder.1,
                single.0,
                single.1,
                folder.1 / single.1
            );
        }
    }
    let _ = a.shutdown().await;
}

/// Median and 99th percentile, in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |p: f64| {
        let i = ((samples.len().max(1) - 1) as f64 * p).round() as usize;
        samples.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    (at(0.5), at(0.99))
}

/// How far the p99 ratio of `a` to `b` could be from the one measured, by chance alone: the
/// 2.5th and 97.5th percentiles of the ratio over resamples of both. A slow moment delays
/// several keystrokes in a row, so the resamples take runs of [`BLOCK`] consecutive samples
/// (a moving-block bootstrap), not single ones.
fn ratio_interval(a: &[Duration], b: &[Duration]) -> (f64, f64) {
    const BLOCK: usize = 30;
    const RESAMPLES: usize = 2000;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut resample = |x: &[Duration]| -> f64 {
        let mut out = Vec::with_capacity(x.len());
        while out.len() < x.len() {
            let start = rng.random_range(0..=x.len().saturating_sub(BLOCK));
            out.extend_from_slice(&x[start..(start + BLOCK).min(x.len())]);
        }
        out.truncate(x.len());
        percentiles(out).1
    };
    let mut ratios: Vec<f64> = (0..RESAMPLES).map(|_| resample(a) / resample(b)).collect();
    ratios.sort_by(f64::total_cmp);
    let at = |p: f64| ratios[((RESAMPLES - 1) as f64 * p).round() as usize];
    (at(0.025), at(0.975))
}

/// Changes 200 files on a's disk as a checkout does (two lines each), and times them
/// reaching b's disk
/// (from the scan the watcher would start; its 100 ms settling is not counted). The
/// baseline: writing them on a's disk.
async fn burst(a: &mut FolderSession, b: &mut FolderSession, files: usize, bytes: usize) {
    let n = files.min(200);
    // As a checkout between branches does: a few lines of each file change.
    let new: Vec<(String, String)> = (0..n)
        .map(|i| {
            let old = text(i, bytes);
            let cut = old.len() / 2;
            let changed = format!(
                "{}\nchanged on the other branch {i}\n{}\nand at the end\n",
                &old[..cut],
                &old[cut..]
            );
            (path_of(i), changed)
        })
        .collect();
    let (ms, write_ms) = changed_files(a, b, &new).await;
    println!(
        "burst: {n} files changed on one disk -> all on the other disk in {ms:.0} ms \
         (baseline: writing them on the first disk, {write_ms:.1} ms; ratio {:.0}×)",
        ms / write_ms
    );
}

/// Rewrites 200 files on a's disk entirely (new text throughout, as a checkout between
/// unrelated branches or a generator does), and times them reaching b's disk, as
/// [`burst`] does.
async fn rewrite(a: &mut FolderSession, b: &mut FolderSession, files: usize, bytes: usize) {
    let n = files.min(200);
    let new: Vec<(String, String)> = (0..n)
        .map(|i| (path_of(i), text(1_000_000 + i, bytes)))
        .collect();
    let (ms, write_ms) = changed_files(a, b, &new).await;
    println!(
        "rewrite: {n} files rewritten entirely on one disk -> all on the other disk in \
         {ms:.0} ms (baseline: writing them on the first disk, {write_ms:.1} ms; ratio {:.0}×)",
        ms / write_ms
    );
}

/// Writes `new` on a's disk, scans, and waits until b's disk holds it all: (ms from the
/// scan to b's disk, ms writing a's disk).
async fn changed_files(
    a: &mut FolderSession,
    b: &mut FolderSession,
    new: &[(String, String)],
) -> (f64, f64) {
    let t = Instant::now();
    for (path, text) in new {
        fs::write(a.root().join(path), text).ok();
    }
    let write_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    a.rescan_now();
    let b_root = b.root().to_path_buf();
    let mut left: Vec<&(String, String)> = new.iter().collect();
    let mut seen = 0;
    pump(a, b, |events| {
        let wrote = events[seen..]
            .iter()
            .any(|e| matches!(e, FolderEvent::Disk(w) if w.starts_with("wrote ")));
        seen = events.len();
        if wrote {
            left.retain(|(p, t)| fs::read_to_string(b_root.join(p)).ok().as_deref() != Some(t));
        }
        left.is_empty()
    })
    .await;
    (t.elapsed().as_secs_f64() * 1e3, write_ms)
}

/// Drives both sessions until neither has sent or received a byte for `quiet` (bounded);
/// returns when that quiet began. Keystrokes are timed in the steady state, not amid a
/// join's last acknowledgements.
async fn quiet_folder(a: &mut FolderSession, b: &mut FolderSession, quiet: Duration) -> Instant {
    let start = Instant::now();
    let traffic = |a: &FolderSession, b: &FolderSession| (a.traffic(), b.traffic());
    let (mut last, mut since) = (traffic(a, b), Instant::now());
    while since.elapsed() < quiet && start.elapsed() < Duration::from_secs(60) {
        tokio::select! {
            wake = a.next() => { a.handle(wake); }
            wake = b.next() => { b.handle(wake); }
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        if traffic(a, b) != last {
            (last, since) = (traffic(a, b), Instant::now());
        }
    }
    since
}

/// Bytes both sessions exchange while nobody does anything for `time`.
async fn idle_bytes(a: &mut FolderSession, b: &mut FolderSession, time: Duration) -> u64 {
    let total = |a: &FolderSession| a.traffic().0 + a.traffic().1;
    let before = total(a) + total(b);
    let end = tokio::time::Instant::now() + time;
    loop {
        tokio::select! {
            wake = a.next() => { a.handle(wake); }
            wake = b.next() => { b.handle(wake); }
            () = tokio::time::sleep_until(end) => break,
        }
    }
    total(a) + total(b) - before
}

/// Rounds of keystrokes in each mode, and keystrokes per round.
const KEY_ROUNDS: usize = 20;
const KEYS: usize = 600;

/// [`KEYS`] keystrokes in `path` on a, one per 5 ms: the time until b's document has each.
async fn keystrokes_folder(
    a: &mut FolderSession,
    b: &mut FolderSession,
    path: &str,
) -> Vec<Duration> {
    // The length of b's document, as cheaply as the single-file harness reads its own (not
    // by rendering the text at every wake).
    let Some(id) = b.doc_of(path) else {
        return Vec::new();
    };
    let len = |b: &mut FolderSession| {
        b.take_doc(&id).map_or(0, |doc| {
            let len = doc.len();
            b.put_doc(id, doc);
            len
        })
    };
    let base = len(b);
    let mut trips = Trips::new();
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    while !trips.done() {
        tokio::select! {
            _ = tick.tick(), if trips.more() => {
                trips.send();
                let _ = a.edit(path, |doc| vec![doc.insert(0, "x")]);
            }
            wake = a.next() => { a.handle(wake); }
            wake = b.next() => {
                b.handle(wake);
                trips.arrived(len(b).saturating_sub(base));
            }
        }
    }
    trips.samples
}

/// [`KEYS`] keystrokes sent, and how long each took to arrive.
struct Trips {
    sent: Vec<Instant>,
    samples: Vec<Duration>,
    start: Instant,
}

impl Trips {
    fn new() -> Trips {
        Trips {
            sent: Vec::with_capacity(KEYS),
            samples: Vec::with_capacity(KEYS),
            start: Instant::now(),
        }
    }

    /// Whether keystrokes remain to be sent.
    fn more(&self) -> bool {
        self.sent.len() < KEYS
    }

    fn send(&mut self) {
        self.sent.push(Instant::now());
    }

    /// The receiver now has `count` of the keystrokes.
    fn arrived(&mut self, count: usize) {
        let now = Instant::now();
        while self.samples.len() < count.min(self.sent.len()) {
            self.samples.push(now - self.sent[self.samples.len()]);
        }
    }

    fn done(&self) -> bool {
        assert!(
            self.start.elapsed() < Duration::from_secs(120),
            "keystrokes lost"
        );
        self.samples.len() >= KEYS
    }
}

/// Two single-file sessions of one `bytes`-long file, caught up and quiet.
struct Single {
    sa: Session,
    sb: Session,
    id: duet_sync::ids::DocId,
    da: crdt_text::Doc,
    db: crdt_text::Doc,
}

impl Single {
    async fn open(scratch: &Path, bytes: usize) -> Option<Single> {
        let (a_dir, b_dir) = (scratch.join("single-a"), scratch.join("single-b"));
        fs::create_dir_all(&a_dir).ok();
        fs::create_dir_all(&b_dir).ok();
        fs::write(a_dir.join("notes.md"), text(7, bytes)).ok();
        let single = |file: std::path::PathBuf, join: Option<DocTicket>| {
            let mut c = SessionConfig::new(file);
            c.net = Some(NetConfig::loopback());
            c.join = join;
            c
        };
        let Ok(Opened {
            session: mut sa,
            id,
            doc: mut da,
            ..
        }) = Session::open(single(a_dir.join("notes.md"), None)).await
        else {
            return None;
        };
        let Ok(ticket) = sa.ticket(&id) else {
            return None;
        };
        let Ok(Opened {
            session: mut sb,
            doc: mut db,
            ..
        }) = Session::open(single(b_dir.join("notes.md"), Some(ticket))).await
        else {
            return None;
        };
        let start = Instant::now();
        while db.len() < da.len() {
            assert!(start.elapsed() < Duration::from_secs(60), "no catch-up");
            tokio::select! {
                wake = sa.next() => { sa.handle(&mut OneDoc { id, doc: &mut da }, wake); }
                wake = sb.next() => { sb.handle(&mut OneDoc { id, doc: &mut db }, wake); }
            }
        }
        // The same steady state as the folder's: a second without a byte either way.
        let quiet = Duration::from_secs(1);
        let (mut last, mut since) = ((sa.traffic(), sb.traffic()), Instant::now());
        while since.elapsed() < quiet && start.elapsed() < Duration::from_secs(60) {
            tokio::select! {
                wake = sa.next() => { sa.handle(&mut OneDoc { id, doc: &mut da }, wake); }
                wake = sb.next() => { sb.handle(&mut OneDoc { id, doc: &mut db }, wake); }
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            if (sa.traffic(), sb.traffic()) != last {
                (last, since) = ((sa.traffic(), sb.traffic()), Instant::now());
            }
        }
        Some(Single { sa, sb, id, da, db })
    }

    /// [`KEYS`] keystrokes on a, one per 5 ms: the time until b's document has each.
    async fn keystrokes(&mut self) -> Vec<Duration> {
        let Single { sa, sb, id, da, db } = self;
        let id = *id;
        let base = db.len();
        let mut trips = Trips::new();
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        while !trips.done() {
            tokio::select! {
                _ = tick.tick(), if trips.more() => {
                    trips.send();
                    let op = da.insert(0, "x");
                    sa.local(&mut OneDoc { id, doc: da }, id, vec![op]);
                }
                wake = sa.next() => { sa.handle(&mut OneDoc { id, doc: da }, wake); }
                wake = sb.next() => {
                    sb.handle(&mut OneDoc { id, doc: db }, wake);
                    trips.arrived(db.len().saturating_sub(base));
                }
            }
        }
        trips.samples
    }

    async fn close(self) {
        let Single {
            sa,
            sb,
            id,
            mut da,
            mut db,
        } = self;
        let _ = sa.shutdown(&mut OneDoc { id, doc: &mut da }).await;
        let _ = sb.shutdown(&mut OneDoc { id, doc: &mut db }).await;
    }
}
