//! The manifest as it travels (fixed seeds; a long run is `#[ignore]`d): three peers, each
//! with the manifest's log document, a manifest read from it, and one text document per file.
//! They create, rename, delete and edit files; every text op (of the log and of the files)
//! reaches the others late, out of order, duplicated. At the end every peer shows the same
//! tree, every file the same text, and the log parsed whole on each peer (no line mixed
//! with another).

use std::collections::BTreeMap;

use crdt_text::{Doc, Op, ReplicaId};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::super::log::{LogReader, log_line};
use super::super::*;

const PATHS: [&str; 6] = [
    "a.md",
    "b.md",
    "src/a.md",
    "src/c.rs",
    "docs/a.md",
    "notes.md",
];

/// Which document an op belongs to.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Target {
    Log,
    File(FileId),
}

struct Peer {
    manifest: Manifest,
    reader: LogReader,
    log: Doc,
    files: BTreeMap<FileId, Doc>,
    replica: ReplicaId,
}

impl Peer {
    fn new(n: u64, name: &str) -> Peer {
        let replica = ReplicaId::from(n);
        Peer {
            manifest: Manifest::new(replica, name),
            reader: LogReader::default(),
            log: Doc::new(replica),
            files: BTreeMap::new(),
            replica,
        }
    }

    /// Appends a local manifest change to the log; the op to send.
    fn publish(&mut self, delta: &ManifestDelta) -> Op {
        let op = self.log.insert(self.log.len(), &log_line(delta));
        let _ = self.reader.read(&self.log.text());
        op
    }

    fn doc(&mut self, file: FileId) -> &mut Doc {
        let replica = self.replica;
        self.files.entry(file).or_insert_with(|| Doc::new(replica))
    }

    /// Applies an op from a peer and brings the manifest up to date.
    fn receive(&mut self, target: Target, op: &Op) {
        match target {
            Target::Log => {
                self.log.apply(op).expect("a valid log op");
                let (delta, errors) = self.reader.read(&self.log.text());
                assert!(errors.is_empty(), "a log line did not parse: {errors:?}");
                self.manifest.apply(&delta).expect("a valid delta");
            }
            Target::File(file) => {
                let doc = self.doc(file);
                doc.apply(op).expect("a valid text op");
                let version = doc.version();
                let _ = self.manifest.text_changed(file, &version);
            }
        }
    }
}

/// Runs one seed; returns how many files live at the end and how many log lines were written.
fn run(seed: u64, steps: usize) -> (usize, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut peers = [
        Peer::new(1, "alice"),
        Peer::new(2, "bob"),
        Peer::new(3, "carol"),
    ];
    // (recipient, document, op) in flight.
    let mut net: Vec<(usize, Target, Op)> = Vec::new();
    let send = |net: &mut Vec<(usize, Target, Op)>, from: usize, target: Target, op: Op| {
        for to in 0..3 {
            if to != from {
                net.push((to, target, op.clone()));
            }
        }
    };
    for _ in 0..steps {
        let who = rng.random_range(0..3);
        match rng.random_range(0..10) {
            0..=4 if !net.is_empty() => {
                // Deliver a random message; sometimes keep a copy to deliver again.
                let at = rng.random_range(0..net.len());
                let (to, target, op) = if rng.random_bool(0.1) {
                    net[at].clone()
                } else {
                    net.swap_remove(at)
                };
                peers[to].receive(target, &op);
            }
            5 => {
                let path = *PATHS.choose(&mut rng).unwrap();
                let p = &mut peers[who];
                if let Ok((file, delta)) = p.manifest.create(path) {
                    let op = p.publish(&delta);
                    send(&mut net, who, Target::Log, op);
                    let text = format!("{} wrote {path}\n", p.manifest.replica().as_u64());
                    let op = p.doc(file).insert(0, &text);
                    let version = p.doc(file).version();
                    let _ = p.manifest.text_changed(file, &version);
                    send(&mut net, who, Target::File(file), op);
                }
            }
            6 => {
                let p = &mut peers[who];
                let live: Vec<FileId> = p.manifest.tree().files().map(|(f, _)| f).collect();
                if let Some(&file) = live.choose(&mut rng) {
                    let to = *PATHS.choose(&mut rng).unwrap();
                    if let Ok(delta) = p.manifest.rename(file, to) {
                        let op = p.publish(&delta);
                        send(&mut net, who, Target::Log, op);
                    }
                }
            }
            7 => {
                let p = &mut peers[who];
                let live: Vec<FileId> = p.manifest.tree().files().map(|(f, _)| f).collect();
                if let Some(&file) = live.choose(&mut rng)
                    && let Ok(delta) = p.manifest.delete(file)
                {
                    let op = p.publish(&delta);
                    send(&mut net, who, Target::Log, op);
                }
            }
            _ => {
                let p = &mut peers[who];
                let live: Vec<FileId> = p.manifest.tree().files().map(|(f, _)| f).collect();
                if let Some(&file) = live.choose(&mut rng) {
                    let doc = p.doc(file);
                    let at = rng.random_range(0..=doc.len());
                    let op = doc.insert(at, "typed ");
                    let version = doc.version();
                    let _ = p.manifest.text_changed(file, &version);
                    send(&mut net, who, Target::File(file), op);
                }
            }
        }
    }
    // Everything still in flight arrives, in a random order.
    while !net.is_empty() {
        let at = rng.random_range(0..net.len());
        let (to, target, op) = net.swap_remove(at);
        peers[to].receive(target, &op);
    }
    let first = &peers[0];
    for other in &peers[1..] {
        assert_eq!(other.log.text(), first.log.text(), "seed {seed}: one log");
        assert_eq!(
            other.manifest.tree(),
            first.manifest.tree(),
            "seed {seed}: one tree"
        );
        for (file, _) in first.manifest.tree().files() {
            assert_eq!(
                other.files.get(&file).map(Doc::text),
                first.files.get(&file).map(Doc::text),
                "seed {seed}: one text for {file:?}"
            );
        }
    }
    // The log holds whole lines only, each a delta.
    let (_, errors) = LogReader::default().read(&first.log.text());
    assert!(errors.is_empty(), "seed {seed}: {errors:?}");
    assert!(first.log.text().is_empty() || first.log.text().ends_with('\n'));
    (
        first.manifest.tree().len(),
        first.log.text().lines().count(),
    )
}

#[test]
fn three_peers_exchanging_the_log_and_texts_in_any_order_converge() {
    let (mut files, mut lines) = (0, 0);
    for seed in 0..40 {
        let (f, l) = run(seed, 300);
        files += f;
        lines += l;
    }
    // The runs did something: files live at the end and many changes went through the log.
    assert!(
        files > 40 && lines > 40 * 20,
        "{files} files, {lines} log lines"
    );
}

#[test]
#[ignore = "long run: cargo test -p duet-sync --lib log_sim -- --ignored"]
fn three_peers_converge_long_run() {
    for seed in 0..2000 {
        let _ = run(seed, 1500);
    }
}
