#![allow(clippy::unwrap_used)]
//! Figures for big rooms: real iroh endpoints on loopback, all in this process (each peer runs
//! as `duet serve` does: a task owning its session and its one replica).
//!
//! ```text
//! cargo run --release -p duet-sync --example room_bench -- [rooms [N]|mesh|leave|join [N]]
//! ```
//!
//! `rooms N` measures one room of `N` peers; `ROOM_BENCH_DETAIL=1` also prints each peer's
//! keystroke latency and connections.
//!
//! - `rooms`: 16, 32, 64 and 100 peers gossiping in a room; `mesh`: 8 and 16 peers in a full
//!   mesh (the room threshold raised). For each: time to form, connections per peer, CPU and
//!   memory per idle peer, keystroke → applied on every peer (one writer, 100 keystrokes, one
//!   every 20 ms), bytes sent per peer per op, and the time until all converge after a burst
//!   of concurrent edits by 5 writers.
//! - `leave`: 64 peers in a room; 30 % of them leave at once; time until the rest converge on
//!   a new edit.
//! - `join`: a 100-peer room whose document holds the automerge-paper history; time for a new
//!   peer to catch up, and whom it caught up from.

#[path = "../tests/net_support/mod.rs"]
mod net_support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duet_sync::SessionConfig;
use duet_sync::store::Store;
use duet_sync::ticket::DocTicket;
use net_support::{Look, Node, wait_for_nodes};

const TRACE: &str = "traces/sequential/automerge-paper.json.gz";

fn config(dir: &Path, i: usize, join: Option<DocTicket>, mesh: bool) -> SessionConfig {
    let folder = dir.join(format!("p{i}"));
    std::fs::create_dir_all(&folder).unwrap();
    let mut c = net_support::config(&folder.join("notes.md"), join, true);
    c.watch = false;
    if mesh {
        c.limits.room_threshold = usize::MAX;
    }
    c
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn quantiles(mut xs: Vec<Duration>) -> (f64, f64, f64) {
    xs.sort();
    let at = |p: f64| ms(xs[((xs.len() - 1) as f64 * p).round() as usize]);
    (at(0.5), at(0.99), ms(*xs.last().unwrap()))
}

/// CPU seconds this process used so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident memory of this process, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

async fn start_group(dir: &Path, n: usize, mesh: bool) -> Vec<Node> {
    let first = Node::start(config(dir, 0, None, mesh)).await;
    first.type_at(0, "notes\n");
    let ticket = first.ticket.clone().unwrap();
    let mut nodes = vec![first];
    for i in 1..n {
        nodes.push(Node::start(config(dir, i, Some(ticket.clone()), mesh)).await);
    }
    nodes
}

async fn looks(nodes: &[Node]) -> Vec<Look> {
    let mut out = Vec::new();
    for n in nodes {
        out.push(n.look().await);
    }
    out
}

async fn group(n: usize, mesh: bool, dir: &Path) {
    let kind = if mesh { "mesh" } else { "room" };
    let rss0 = rss_mib();
    let t0 = Instant::now();
    let nodes = start_group(dir, n, mesh).await;
    let all: Vec<&Node> = nodes.iter().collect();
    wait_for_nodes(&all, "the group to form", Duration::from_secs(300), |ls| {
        ls.iter().all(|l| {
            l.text == "notes\n"
                && if mesh {
                    l.status.connected == n - 1
                } else {
                    l.in_room
                }
        })
    })
    .await;
    let formed = t0.elapsed();
    // Let spare channels go, then measure an idle group.
    let _ = tokio::time::timeout(
        Duration::from_secs(30),
        wait_for_nodes(&all, "bounded connections", Duration::from_secs(30), |ls| {
            mesh || ls.iter().all(|l| l.connections <= 12)
        }),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu0 = cpu_seconds();
    let idle = Duration::from_secs(5);
    tokio::time::sleep(idle).await;
    let cpu = (cpu_seconds() - cpu0) / idle.as_secs_f64() / n as f64 * 100.0;
    let mem = (rss_mib() - rss0) / n as f64;
    let ls = looks(&nodes).await;
    let mut conns: Vec<usize> = ls.iter().map(|l| l.connections).collect();
    conns.sort_unstable();
    // Keystrokes from one writer.
    let writer = &nodes[1];
    for node in &nodes {
        node.watch(writer.replica);
    }
    let sent0: u64 = looks(&nodes).await.iter().map(|l| l.traffic.0).sum();
    let strokes = 100u64;
    let mut typed = Vec::new();
    for k in 0..strokes {
        typed.push(Instant::now());
        writer.type_at(usize::MAX, if k % 10 == 9 { "\n" } else { "k" });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let have = |l: &Look| l.version.get(writer.replica);
    let done = wait_for_nodes(&all, "the keystrokes", Duration::from_secs(60), |ls| {
        ls.iter().all(|l| have(l) >= have(&ls[1]) && have(l) > 0)
    })
    .await;
    let base = have(&done[1]) - strokes;
    let mut latency = Vec::new();
    for (i, l) in done.iter().enumerate() {
        if i == 1 {
            continue;
        }
        for k in 0..strokes {
            if let Some((at, _)) = l.arrivals.iter().find(|(_, c)| *c > base + k) {
                latency.push(at.saturating_duration_since(typed[k as usize]));
            }
        }
    }
    let sent1: u64 = done.iter().map(|l| l.traffic.0).sum();
    let per_op = (sent1 - sent0) as f64 / n as f64 / strokes as f64;
    if std::env::var_os("ROOM_BENCH_DETAIL").is_some() {
        for (i, l) in done.iter().enumerate() {
            let mine: Vec<Duration> = (0..strokes)
                .filter_map(|k| {
                    let (at, _) = l.arrivals.iter().find(|(_, c)| *c > base + k)?;
                    Some(at.saturating_duration_since(typed[k as usize]))
                })
                .collect();
            if !mine.is_empty() {
                let (p50, _, max) = quantiles(mine);
                println!(
                    "  peer {i}: {} connections, median {p50:.1} ms, max {max:.1} ms",
                    l.connections
                );
            }
        }
    }
    let (p50, p99, max) = quantiles(latency);
    // A burst of concurrent edits by 5 writers.
    let t = Instant::now();
    for (w, node) in nodes.iter().step_by(n / 5).take(5).enumerate() {
        for k in 0..20 {
            node.type_at(k * 3, &format!("{w}"));
        }
    }
    wait_for_nodes(
        &all,
        "convergence after the burst",
        Duration::from_secs(120),
        |ls| {
            ls.iter()
                .all(|l| l.version == ls[0].version && l.text == ls[0].text)
                && ls[0].text.len() >= "notes\n".len() + 100 + 100
        },
    )
    .await;
    let burst = t.elapsed();
    println!(
        "{kind} of {n}: formed in {:.0} ms; connections per peer median {} max {}; idle CPU {cpu:.2} % \
         and {mem:.1} MiB per peer; keystroke -> every peer: median {p50:.2} ms p99 {p99:.2} ms \
         max {max:.2} ms; {per_op:.0} bytes sent per peer per op; burst of 5x20 edits converged \
         in {:.0} ms",
        ms(formed),
        conns[conns.len() / 2],
        conns[conns.len() - 1],
        ms(burst)
    );
    for node in nodes {
        node.stop().await;
    }
}

async fn leave(dir: &Path) {
    let n = 64;
    let nodes = start_group(dir, n, false).await;
    let all: Vec<&Node> = nodes.iter().collect();
    wait_for_nodes(&all, "the room", Duration::from_secs(300), |ls| {
        ls.iter().all(|l| l.in_room && l.text == "notes\n")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut nodes = nodes;
    let leaving: Vec<Node> = (0..n * 3 / 10).map(|_| nodes.remove(1)).collect();
    let t0 = Instant::now();
    let stops = leaving.into_iter().map(|node| node.stop());
    futures_join_all(stops).await;
    let left = t0.elapsed();
    let t = Instant::now();
    nodes[5].type_at(0, "after the exodus\n");
    let rest: Vec<&Node> = nodes.iter().collect();
    wait_for_nodes(
        &rest,
        "the rest to converge",
        Duration::from_secs(120),
        |ls| ls.iter().all(|l| l.text.starts_with("after the exodus\n")),
    )
    .await;
    println!(
        "room of {n}: {} left at once (stopping took {:.0} ms); the {} others converged on a \
         new edit {:.0} ms after it was typed",
        n * 3 / 10,
        ms(left),
        nodes.len(),
        ms(t.elapsed())
    );
    for node in nodes {
        node.stop().await;
    }
}

async fn futures_join_all<F: std::future::Future<Output = ()>>(fs: impl Iterator<Item = F>) {
    let handles: Vec<_> = fs.map(|f| Box::pin(f)).collect();
    for h in handles {
        h.await;
    }
}

fn load_trace() -> Vec<(usize, usize, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(TRACE);
    let file = std::fs::File::open(&path).unwrap();
    let mut json = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut json)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut out = Vec::new();
    for txn in v["txns"].as_array().unwrap() {
        for p in txn["patches"].as_array().unwrap() {
            out.push((
                p[0].as_u64().unwrap() as usize,
                p[1].as_u64().unwrap() as usize,
                p[2].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

async fn join_with_history(dir: &Path, n: usize) {
    // Peer 0's store holds the whole trace before anyone joins.
    let folder = dir.join("p0");
    std::fs::create_dir_all(&folder).unwrap();
    let opened = Store::open(&folder.join("notes.md")).unwrap();
    let (mut store, mut doc) = (opened.store, opened.doc);
    let mut ops = Vec::new();
    for (pos, del, ins) in load_trace() {
        if del > 0 {
            ops.push(doc.delete(pos, del));
        }
        if !ins.is_empty() {
            ops.push(doc.insert(pos, &ins));
        }
    }
    store.append(&ops).unwrap();
    store.snapshot_now(&doc).unwrap();
    store.close().unwrap();
    let text = doc.text();
    let first = Node::start(config(dir, 0, None, false)).await;
    let ticket = first.ticket.clone().unwrap();
    let mut nodes = vec![first];
    for i in 1..n {
        nodes.push(Node::start(config(dir, i, Some(ticket.clone()), false)).await);
    }
    let all: Vec<&Node> = nodes.iter().collect();
    wait_for_nodes(
        &all,
        "the room with the history",
        Duration::from_secs(600),
        |ls| ls.iter().all(|l| l.in_room && l.text.len() == text.len()),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let t = Instant::now();
    let late = Node::start(config(dir, n, Some(ticket), false)).await;
    let opened = t.elapsed();
    let got = wait_for_nodes(
        &[&late],
        "the late joiner to catch up",
        Duration::from_secs(120),
        |ls| ls[0].text == text,
    )
    .await;
    let caught = t.elapsed();
    if std::env::var_os("ROOM_BENCH_DETAIL").is_some() {
        println!(
            "the late joiner opened its session in {:.0} ms, first held text at {:?}; its news: \
             {:#?}",
            ms(opened),
            got[0].first_text,
            got[0].news
        );
    }
    let mut from: Vec<(String, u64)> = got[0]
        .received_from
        .iter()
        .map(|(p, b)| (p.to_string(), *b))
        .collect();
    from.sort_by_key(|(_, b)| std::cmp::Reverse(*b));
    println!(
        "a new peer joined a room of {n} holding automerge-paper ({} chars of text): caught up in \
         {:.0} ms; bytes received per peer: {from:?} (peer 0, the ticket's host, is {})",
        text.chars().count(),
        ms(caught),
        nodes[0].id.map(|p| p.to_string()).unwrap_or_default()
    );
    late.stop().await;
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "rooms".into());
    let tmp = tempfile::Builder::new()
        .prefix("duet-room-bench-")
        .tempdir()
        .unwrap();
    let dir: PathBuf = tmp.path().to_path_buf();
    println!(
        "load: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    match what.as_str() {
        "rooms" => {
            let sizes: Vec<usize> = match std::env::args().nth(2) {
                Some(n) => vec![n.parse().expect("a number of peers")],
                None => vec![16, 32, 64, 100],
            };
            for n in sizes {
                group(n, false, &dir.join(format!("room{n}"))).await;
            }
        }
        "mesh" => {
            for n in [8, 16] {
                group(n, true, &dir.join(format!("mesh{n}"))).await;
            }
        }
        "leave" => leave(&dir.join("leave")).await,
        "join" => {
            let n = std::env::args()
                .nth(2)
                .map_or(100, |n| n.parse().expect("a number"));
            join_with_history(&dir.join("join"), n).await;
        }
        other => panic!("unknown figure {other}: rooms, mesh, leave or join"),
    }
}
