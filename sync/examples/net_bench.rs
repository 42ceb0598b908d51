#![allow(clippy::unwrap_used)]
//! Figures for the iroh driver: real iroh endpoints on loopback, in one process.
//!
//! ```text
//! cargo run --release -p duet-sync --example net_bench -- [latency|catchup|mesh|all]
//! ```
//!
//! Each peer runs as `duet serve` does: a task owning its session and its one replica.
//!
//! - `latency`: 3 peers; one types 1,000 keystrokes (one every 5 ms); time from the keystroke
//!   on the typist to the op being applied to the replica of each of the two others.
//! - `catchup`: a peer holding the automerge-paper history (259,778 ops) and a fresh peer that
//!   joins by ticket: time from `Session::open` to its replica holding the whole history, and
//!   bytes received vs `Doc::encode` size.
//! - `mesh`: 8 peers in a full mesh; every peer makes 20 concurrent edits; time until all
//!   eight replicas are identical. 20 rounds.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crdt_text::{Doc, ReplicaId, VersionVector};
use duet_sync::net::NetConfig;
use duet_sync::proto::{OneDoc, SyncStatus};
use duet_sync::store::Store;
use duet_sync::ticket::DocTicket;
use duet_sync::{Event, Opened, Session, SessionConfig};
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, oneshot};

const TRACE: &str = "traces/sequential/automerge-paper.json.gz";

fn config(dir: &Path, name: &str, join: Option<DocTicket>) -> SessionConfig {
    let mut c = SessionConfig::new(dir.join(name).join("notes.md"));
    std::fs::create_dir_all(dir.join(name)).unwrap();
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

/// What a peer's loop is asked to do.
enum Cmd {
    /// Insert text at a position (clamped), as the user.
    Type(usize, String),
    /// Report the status and the document's version and text.
    Look(oneshot::Sender<(SyncStatus, VersionVector, String)>),
    /// Shut down.
    Stop(oneshot::Sender<()>),
}

/// A peer run the way `duet serve` runs one: its own task owns the session and the one
/// replica, selecting over commands and the session.
struct Node {
    cmds: mpsc::UnboundedSender<Cmd>,
    /// (when, counters of `watch` now applied) after each change of the watched replica.
    seen: mpsc::UnboundedReceiver<(Instant, u64)>,
    ticket: Option<DocTicket>,
    replica: ReplicaId,
}

impl Node {
    async fn start(config: SessionConfig, watch: Option<ReplicaId>) -> Node {
        let Opened {
            mut session,
            id,
            mut doc,
            ..
        } = Session::open(config).await.unwrap();
        let ticket = session.ticket(&id).ok();
        let replica = doc.replica();
        let (cmds, mut rx) = mpsc::unbounded_channel();
        let (seen_tx, seen) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::select! {
                    cmd = rx.recv() => match cmd {
                        Some(Cmd::Type(pos, text)) => {
                            let op = doc.insert(pos.min(doc.len()), &text);
                            session.local(&mut OneDoc { id, doc: &mut doc }, id, vec![op]);
                        }
                        Some(Cmd::Look(reply)) => {
                            let _ = reply.send((session.status(&id), doc.version(), doc.text()));
                        }
                        Some(Cmd::Stop(done)) => {
                            session.shutdown(&mut OneDoc { id, doc: &mut doc }).await.unwrap();
                            let _ = done.send(());
                            return;
                        }
                        None => return,
                    },
                    wake = session.next() => {
                        let events = session.handle(&mut OneDoc { id, doc: &mut doc }, wake);
                        if let Some(w) = watch
                            && events.iter().any(|e| matches!(e, Event::Remote { .. }))
                        {
                            let now = doc.version().get(w);
                            if now > last {
                                last = now;
                                let _ = seen_tx.send((Instant::now(), now));
                            }
                        }
                    }
                }
            }
        });
        Node {
            cmds,
            seen,
            ticket,
            replica,
        }
    }

    async fn look(&self) -> (SyncStatus, VersionVector, String) {
        let (tx, rx) = oneshot::channel();
        let _ = self.cmds.send(Cmd::Look(tx));
        rx.await.unwrap()
    }

    async fn stop(self) {
        let (tx, rx) = oneshot::channel();
        let _ = self.cmds.send(Cmd::Stop(tx));
        let _ = rx.await;
    }
}

async fn wait_for(
    nodes: &[&Node],
    what: &str,
    done: impl Fn(&[(SyncStatus, VersionVector, String)]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut looks = Vec::new();
        for n in nodes {
            looks.push(n.look().await);
        }
        if done(&looks) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn latency(dir: &Path) {
    let a = Node::start(config(dir, "a", None), None).await;
    let ticket = a.ticket.clone().unwrap();
    let mut others = Vec::new();
    for name in ["b", "c"] {
        let node = Node::start(config(dir, name, Some(ticket.clone())), Some(a.replica)).await;
        others.push(node);
    }
    wait_for(&[&a], "both peers to connect", |l| l[0].0.connected == 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = 1000u64;
    let mut sent: HashMap<u64, Instant> = HashMap::new();
    for i in 0..n {
        sent.insert(i, Instant::now());
        let _ = a.cmds.send(Cmd::Type(i as usize, "x".into()));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut samples = Vec::new();
    for node in &mut others {
        let mut have = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        while have < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(Some((at, now))) = tokio::time::timeout(left, node.seen.recv()).await else {
                panic!("only {have} of {n} keystrokes arrived");
            };
            for counter in have..now.min(n) {
                samples.push(at - sent[&counter]);
            }
            have = now;
        }
    }
    summary(
        "keystroke -> applied on the 2 other peers (3 peers)",
        samples,
    );
    a.stop().await;
    for node in others {
        node.stop().await;
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
    let a = Node::start(config(dir, "a", None), None).await;
    let ticket = a.ticket.clone().unwrap();
    let mut samples = Vec::new();
    for round in 0..rounds {
        let name = format!("fresh{round}");
        let t0 = Instant::now();
        let Opened {
            mut session,
            id,
            mut doc,
            ..
        } = Session::open(config(dir, &name, Some(ticket.clone())))
            .await
            .unwrap();
        let started = t0.elapsed();
        let mut joined = None;
        let done = loop {
            let wake = tokio::time::timeout(Duration::from_secs(60), session.next())
                .await
                .expect("catch-up stalled");
            let events = session.handle(&mut OneDoc { id, doc: &mut doc }, wake);
            if events.iter().any(|e| matches!(e, Event::PeerJoined { .. })) {
                joined = joined.or(Some(t0.elapsed()));
            }
            if doc.version().includes(&history.version()) {
                break t0.elapsed();
            }
        };
        assert_eq!(doc.text(), history.text());
        samples.push(done);
        let received: u64 = session
            .peers(&id)
            .iter()
            .filter_map(|p| p.link.as_ref())
            .map(|l| l.received)
            .sum();
        println!(
            "round {round}: session opened in {:.1} ms, joined at {:.1} ms, caught up in {:.1} ms; received {} bytes = {:.3} x Doc::encode",
            started.as_secs_f64() * 1e3,
            joined.unwrap_or_default().as_secs_f64() * 1e3,
            done.as_secs_f64() * 1e3,
            received,
            received as f64 / encoded as f64
        );
        session
            .shutdown(&mut OneDoc { id, doc: &mut doc })
            .await
            .unwrap();
    }
    summary("fresh peer: open -> caught up (one replica)", samples);
    a.stop().await;
}

async fn mesh(dir: &Path, rounds: usize) {
    let n = 8;
    let first = Node::start(config(dir, "m0", None), None).await;
    let ticket = first.ticket.clone().unwrap();
    let mut nodes = vec![first];
    for i in 1..n {
        nodes.push(Node::start(config(dir, &format!("m{i}"), Some(ticket.clone())), None).await);
    }
    let t_mesh = Instant::now();
    let all: Vec<&Node> = nodes.iter().collect();
    wait_for(&all, "the full mesh", |l| {
        l.iter().all(|(s, ..)| s.connected == n - 1)
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
        for node in &nodes {
            for _ in 0..20 {
                let pos = rng.random_range(0..=1000);
                let _ = node.cmds.send(Cmd::Type(pos, "m".into()));
            }
        }
        wait_for(&all, "convergence", |l| {
            l.iter().all(|(_, v, t)| *v == l[0].1 && *t == l[0].2) && l[0].1.total() > 0
        })
        .await;
        samples.push(t0.elapsed());
    }
    summary(
        "8-peer mesh: burst of 8x20 concurrent edits -> all converged",
        samples,
    );
    for node in nodes {
        node.stop().await;
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
