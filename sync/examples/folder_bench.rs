//! Figures for shared folders over real iroh on loopback, in one process: a generated tree of
//! N text files (default 1,000 × 10 KB, in 10 folders), shared by one session and joined by
//! another.
//!
//! ```text
//! cargo run --release -p duet-sync --example folder_bench [-- FILES [BYTES_PER_FILE [RUNS]]]
//! ```
//!
//! Prints medians over RUNS (default 5) of: a fresh join (open to every file on the joiner's
//! disk) beside the baseline of copying the same tree with `std::fs::copy` in the same run,
//! bytes exchanged ÷ the tree's size; and a reconnect where nothing changed (open to the peer
//! joining the folder, bytes exchanged over the following second, summary included).

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use duet_sync::net::NetConfig;
use duet_sync::share::{FolderConfig, FolderEvent, FolderSession};
use duet_sync::ticket::DocTicket;

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
    done: impl Fn(&[FolderEvent]) -> bool,
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

fn copy_tree(from: &Path, to: &Path, files: usize) {
    for i in 0..files {
        let dst = to.join(path_of(i));
        fs::create_dir_all(dst.parent().unwrap_or(to)).ok();
        fs::copy(from.join(path_of(i)), dst).ok();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let files = args.first().copied().unwrap_or(1000);
    let bytes = args.get(1).copied().unwrap_or(10_000);
    let runs = args.get(2).copied().unwrap_or(5);
    let Ok(scratch) = tempfile::tempdir() else {
        eprintln!("cannot make a temporary folder");
        return;
    };
    let a_dir = scratch.path().join("a");
    for i in 0..files {
        let path = a_dir.join(path_of(i));
        fs::create_dir_all(path.parent().unwrap_or(&a_dir)).ok();
        fs::write(path, text(i, bytes)).ok();
    }
    let total = (files * bytes) as f64;
    let opened = Instant::now();
    let Ok((mut a, _)) = FolderSession::open(config(&a_dir, None)).await else {
        eprintln!("cannot share the folder");
        return;
    };
    println!(
        "shared {} files of {bytes} bytes in {:.0} ms (first scan and store)",
        a.paths().len(),
        opened.elapsed().as_secs_f64() * 1e3
    );
    let Some(ticket) = a.ticket() else {
        eprintln!("offline");
        return;
    };
    let (mut join_ms, mut copy_ms, mut ratio, mut again_ms, mut again_bytes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut open_ms = Vec::new();
    for run in 0..runs {
        let copy_dir = scratch.path().join(format!("copy{run}"));
        let t = Instant::now();
        copy_tree(&a_dir, &copy_dir, files);
        copy_ms.push(t.elapsed().as_secs_f64() * 1e3);

        let b_dir = scratch.path().join(format!("b{run}"));
        let t = Instant::now();
        let Ok((mut b, _)) = FolderSession::open(config(&b_dir, Some(ticket.clone()))).await else {
            eprintln!("cannot join");
            return;
        };
        let last = b.root().join(path_of(files - 1));
        let root = b.root().to_path_buf();
        pump(&mut a, &mut b, |_| {
            last.exists() && (0..files).all(|i| root.join(path_of(i)).exists())
        })
        .await;
        join_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let (s, r) = b.traffic();
        ratio.push((s + r) as f64 / total);
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
        let _ = b.shutdown().await;
        let _ = fs::remove_dir_all(&copy_dir);
        let _ = fs::remove_dir_all(&b_dir);
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
    let _ = a.shutdown().await;
}
