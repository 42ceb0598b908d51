#![allow(clippy::unwrap_used)]
//! Figures for the iroh driver: real iroh endpoints on loopback, in one process.
//!
//! ```text
//! cargo run --release -p duet-sync --example net_bench -- [latency|catchup|mesh|all]
//! ```
//!
//! - `latency`: 3 peers; one types 1,000 keystrokes (one every 5 ms); time from `submit` on
//!   the typist to the op's `Event::Remote` on each of the two others.
//! - `catchup`: a peer holding the automerge-paper history (259,778 ops) and a fresh peer that
//!   joins by ticket: time from `Session::start` to the last op arriving (and applied to the
//!   editor's replica), and bytes received vs `Doc::encode` size.
//! - `mesh`: 8 peers in a full mesh; every peer makes 20 concurrent edits; time until all
//!   eight replicas are identical. 20 rounds.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crdt_text::{Doc, OpId};
use duet_sync::api::{Event, Session, SessionConfig, Started};
use duet_sync::net::NetConfig;
use duet_sync::store::Store;
use duet_sync::ticket::DocTicket;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;

const TRACE: &str = "traces/sequential/automerge-paper.json.gz";

fn config(dir: &Path, name: &str, join: Option<DocTicket>) -> SessionConfig {
    let mut c = SessionConfig::new(dir.join(name).join("notes.md"));
    std::fs::create_dir_all(dir.join(name)).unwrap();
    c.home = Some(dir.join(name).join("home"));
    c.net = Some(NetConfig::loopback());
    c.join = join;
    c
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name}: n={} median={:.3} ms p99={:.3} ms max={:.3} ms",
        samples.len(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

async fn latency(dir: &Path) {
    let Started {
        session: mut a,
        doc: mut a_doc,
        ..
    } = Session::start(config(dir, "a", None)).await.unwrap();
    let ticket = a.ticket().unwrap();
    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel::<(usize, OpId, u64, Instant)>();
    let mut receivers = Vec::new();
    for (i, name) in ["b", "c"].into_iter().enumerate() {
        let Started { session: mut s, .. } =
            Session::start(config(dir, name, Some(ticket.clone())))
                .await
                .unwrap();
        let tx = arrivals_tx.clone();
        receivers.push(tokio::spawn(async move {
            while let Some(event) = s.next_event().await {
                if let Event::Remote(ops) = event {
                    let now = Instant::now();
                    for op in ops {
                        let _ = tx.send((i, op.id, op.len(), now));
                    }
                }
            }
        }));
    }
    // Wait for both to connect.
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.status().connected < 2 {
        assert!(Instant::now() < deadline, "peers did not connect");
        while a.try_event().is_some() {}
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = 1000;
    let mut sent: HashMap<u64, Instant> = HashMap::new();
    let replica = a_doc.replica();
    for i in 0..n {
        let op = a_doc.insert(i, "x");
        sent.insert(op.id.counter, Instant::now());
        a.submit(op);
        while a.try_event().is_some() {}
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut samples = [Vec::new(), Vec::new()];
    let deadline = Instant::now() + Duration::from_secs(30);
    while samples.iter().map(Vec::len).sum::<usize>() < 2 * n {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some((who, id, len, at))) = tokio::time::timeout(left, arrivals.recv()).await else {
            panic!(
                "only {} of {} keystrokes arrived",
                samples.iter().map(Vec::len).sum::<usize>(),
                2 * n
            );
        };
        if id.replica != replica {
            continue;
        }
        for counter in id.counter..id.counter + len {
            if let Some(t0) = sent.get(&counter) {
                samples[who].push(at - *t0);
            }
        }
    }
    let all: Vec<Duration> = samples.iter().flatten().copied().collect();
    summary("keystroke -> applied on the 2 other peers (3 peers)", all);
    a.shutdown().await.unwrap();
    for r in receivers {
        r.abort();
    }
}

fn load_trace() -> Vec<(usize, usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join(TRACE);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut json = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut json)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut patches = Vec::new();
    for txn in v["txns"].as_array().unwrap() {
        for p in txn["patches"].as_array().unwrap() {
            patches.push((
                p[0].as_u64().unwrap() as usize,
                p[1].as_u64().unwrap() as usize,
                p[2].as_str().unwrap().to_owned(),
            ));
        }
    }
    patches
}

/// Builds the store of `dir/a` holding the whole trace; returns the document.
fn build_history(dir: &Path) -> Doc {
    std::fs::create_dir_all(dir.join("a")).unwrap();
    let opened = Store::open(&dir.join("a").join("notes.md")).unwrap();
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
    store.sync().unwrap();
    store.snapshot_now(&doc).unwrap();
    store.close().unwrap();
    doc
}

async fn catchup(dir: &Path, rounds: usize) {
    let history = build_history(dir);
    let encoded = history.encode().len();
    println!(
        "history: {} ops (counters), {} chars, Doc::encode = {} bytes",
        history.version().total(),
        history.len(),
        encoded
    );
    let t = Instant::now();
    let update = history.encode_since(&crdt_text::VersionVector::new());
    let encode_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let mut fresh = Doc::new(crdt_text::ReplicaId::from(99));
    fresh.apply_update(&update).unwrap();
    let apply_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let ops = fresh.ops_since(&crdt_text::VersionVector::new());
    let ops_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let mut editor = Doc::new(crdt_text::ReplicaId::from(98));
    for op in &ops {
        editor.apply(op).unwrap();
    }
    println!(
        "crdt-text alone: encode_since {encode_ms:.1} ms ({} bytes), apply_update {apply_ms:.1} ms, \
         ops_since {ops_ms:.1} ms ({} ops), applying them one by one {:.1} ms",
        update.len(),
        ops.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let Started { session: a, .. } = Session::start(config(dir, "a", None)).await.unwrap();
    let ticket = a.ticket().unwrap();
    let mut to_event = Vec::new();
    let mut to_editor = Vec::new();
    for round in 0..rounds {
        let name = format!("fresh{round}");
        let t0 = Instant::now();
        let Started {
            session: mut b,
            doc: mut b_doc,
            ..
        } = Session::start(config(dir, &name, Some(ticket.clone())))
            .await
            .unwrap();
        let started = t0.elapsed();
        let mut joined = None;
        // The time the protocol delivered the last ops, and the time the editor applied them.
        let mut last_event;
        let done = loop {
            match tokio::time::timeout(Duration::from_secs(60), b.next_event()).await {
                Ok(Some(Event::Remote(ops))) => {
                    last_event = Instant::now();
                    for op in &ops {
                        b_doc.apply(op).unwrap();
                    }
                    if b_doc.version().includes(&history.version()) {
                        break Instant::now();
                    }
                }
                Ok(Some(Event::PeerJoined { .. })) => joined = joined.or(Some(t0.elapsed())),
                Ok(Some(_)) => {}
                _ => panic!("catch-up stalled"),
            }
        };
        assert_eq!(b_doc.text(), history.text());
        to_event.push(last_event - t0);
        to_editor.push(done - t0);
        // Traffic counters refresh every second.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let received: u64 = b.peers().iter().map(|p| p.bytes_received).sum();
        println!(
            "round {round}: session started in {:.1} ms, handshake done at {:.1} ms, protocol caught up in {:.1} ms, editor replica in {:.1} ms; received {} bytes = {:.3} x Doc::encode",
            started.as_secs_f64() * 1e3,
            joined.unwrap_or_default().as_secs_f64() * 1e3,
            (last_event - t0).as_secs_f64() * 1e3,
            (done - t0).as_secs_f64() * 1e3,
            received,
            received as f64 / encoded as f64
        );
        b.shutdown().await.unwrap();
    }
    summary("fresh peer: start -> last ops delivered", to_event);
    summary("fresh peer: start -> editor replica caught up", to_editor);
    a.shutdown().await.unwrap();
}

async fn mesh(dir: &Path, rounds: usize) {
    let n = 8;
    let mut peers: Vec<(Session, Doc)> = Vec::new();
    let Started { session, doc, .. } = Session::start(config(dir, "m0", None)).await.unwrap();
    let ticket = session.ticket().unwrap();
    peers.push((session, doc));
    for i in 1..n {
        let Started { session, doc, .. } =
            Session::start(config(dir, &format!("m{i}"), Some(ticket.clone())))
                .await
                .unwrap();
        peers.push((session, doc));
    }
    let t_mesh = Instant::now();
    pump_until(&mut peers, |ps| {
        ps.iter().all(|(s, _)| s.status().connected == n - 1)
    })
    .await;
    println!(
        "8-peer full mesh formed in {:.1} ms",
        t_mesh.elapsed().as_secs_f64() * 1e3
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let mut samples = Vec::new();
    for _ in 0..rounds {
        let t0 = Instant::now();
        for (session, doc) in &mut peers {
            for _ in 0..20 {
                let pos = rng.random_range(0..=doc.len());
                session.submit(doc.insert(pos, "m"));
            }
        }
        pump_until(&mut peers, |ps| {
            let v = ps[0].1.version();
            ps.iter().all(|(_, d)| d.version() == v)
        })
        .await;
        samples.push(t0.elapsed());
        let text = peers[0].1.text();
        assert!(peers.iter().all(|(_, d)| d.text() == text));
    }
    summary(
        "8-peer mesh: burst of 8x20 concurrent edits -> all converged",
        samples,
    );
    for (s, _) in peers {
        s.shutdown().await.unwrap();
    }
}

async fn pump_until(peers: &mut [(Session, Doc)], done: impl Fn(&[(Session, Doc)]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for (session, doc) in peers.iter_mut() {
            while let Some(event) = session.try_event() {
                if let Event::Remote(ops) = event {
                    for op in &ops {
                        doc.apply(op).unwrap();
                    }
                }
            }
        }
        if done(peers) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let tmp = tempfile::Builder::new()
        .prefix("duet-net-bench-")
        .tempdir()
        .unwrap();
    let dir: PathBuf = tmp.path().to_path_buf();
    if what == "latency" || what == "all" {
        latency(&dir.join("latency")).await;
    }
    if what == "catchup" || what == "all" {
        catchup(&dir.join("catchup"), 5).await;
    }
    if what == "mesh" || what == "all" {
        mesh(&dir.join("mesh"), 20).await;
    }
}
