//! Replays the real editing traces and reports medians, each beside the rope floor measured in
//! the same run: `cargo bench -p crdt-text --bench traces [-- NAME…]`.
//!
//! - local: every patch as a local edit into a fresh `Doc` (text checked against endContent);
//! - remote: a fresh replica receiving one postcard message per transaction, decoding it and
//!   applying its ops;
//! - encode: `Doc::encode` time and size; decode: `Doc::decode` of that encoding;
//! - heap: live bytes held by the replayed `Doc` (a counting global allocator);
//! - floor: the same patches applied to a ropey `Rope`, no CRDT;
//! - doubling: the trace replayed 1×, 2×, 4× and 8× end to end in one document, ns per edit;
//! - concurrent: the concurrent traces with one replica per agent honouring parents.
#![allow(unsafe_code)] // the counting allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use crdt_text::{Doc, Op, ReplicaId};

#[path = "../tests/common/mod.rs"]
mod common;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only counting bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs `f` until ~`budget` has passed (at least 5, at most 51 times) and returns the median.
fn measure<T>(budget: Duration, mut f: impl FnMut() -> T) -> Duration {
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 5 || (start.elapsed() < budget && samples.len() < 51) {
        let t = Instant::now();
        black_box(f());
        samples.push(t.elapsed());
    }
    median(samples)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

type Patches = Vec<Vec<(usize, usize, String)>>;

fn patches(trace: &common::Sequential) -> Patches {
    trace.txns.iter().map(|t| t.patches.clone()).collect()
}

fn local(txns: &Patches, repeat: usize) -> Doc {
    let mut doc = Doc::new(ReplicaId::from(1));
    for _ in 0..repeat {
        let base = doc.len();
        for txn in txns {
            for (pos, del, ins) in txn {
                if *del > 0 {
                    doc.delete(base + pos, *del);
                }
                if !ins.is_empty() {
                    doc.insert(base + pos, ins);
                }
            }
        }
    }
    doc
}

fn rope(txns: &Patches) -> ropey::Rope {
    let mut rope = ropey::Rope::new();
    for txn in txns {
        for (pos, del, ins) in txn {
            if *del > 0 {
                rope.remove(*pos..pos + del);
            }
            if !ins.is_empty() {
                rope.insert(*pos, ins);
            }
        }
    }
    rope
}

/// One postcard message per transaction, as the source replica would send them.
fn messages(txns: &Patches) -> Vec<Vec<u8>> {
    let mut doc = Doc::new(ReplicaId::from(1));
    txns.iter()
        .map(|txn| {
            let mut ops = Vec::with_capacity(txn.len());
            for (pos, del, ins) in txn {
                if *del > 0 {
                    ops.push(doc.delete(*pos, *del));
                }
                if !ins.is_empty() {
                    ops.push(doc.insert(*pos, ins));
                }
            }
            postcard::to_allocvec(&ops).expect("encode")
        })
        .collect()
}

fn remote(msgs: &[Vec<u8>]) -> Doc {
    let mut doc = Doc::new(ReplicaId::from(2));
    for m in msgs {
        let ops: Vec<Op> = postcard::from_bytes(m).expect("decode");
        for op in &ops {
            doc.apply(op).expect("apply");
        }
    }
    doc
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let budget = Duration::from_secs(2);
    // For profilers: `DUET_PROFILE=local|remote|decode [DUET_TRACE=name]` repeats one phase
    // on one trace (automerge-paper by default); `DUET_PROFILE=concurrent DUET_TRACE=name`
    // replays a concurrent trace.
    if let Ok(phase) = std::env::var("DUET_PROFILE") {
        if phase == "concurrent" {
            let name = std::env::var("DUET_TRACE").unwrap_or_else(|_| "friendsforever".into());
            let trace = common::concurrent(&name);
            for _ in 0..30 {
                drop(black_box(common::replay_concurrent(&trace)));
            }
            return;
        }
        let name = std::env::var("DUET_TRACE").unwrap_or_else(|_| "automerge-paper".into());
        let trace = common::sequential(&name);
        let txns = patches(&trace);
        let msgs = messages(&txns);
        let bytes = local(&txns, 1).encode();
        for _ in 0..30 {
            match phase.as_str() {
                "local" => drop(black_box(local(&txns, 1))),
                "remote" => drop(black_box(remote(&msgs))),
                _ => drop(black_box(Doc::decode(&bytes, ReplicaId::from(3)))),
            }
        }
        return;
    }

    println!(
        "| trace | edits | floor ms | local ms (×floor) | remote ms (×floor) | encode ms | encoded bytes | decode ms (×floor) | heap bytes | spans |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut doubling = Vec::new();
    for name in common::SEQUENTIAL.iter().copied().filter(|n| wanted(n)) {
        let trace = common::sequential(name);
        let txns = patches(&trace);
        let edits: usize = txns.iter().map(Vec::len).sum();

        assert_eq!(rope(&txns).to_string(), trace.end_content, "{name}: rope");
        let floor = measure(budget, || rope(&txns));

        let before = LIVE.load(Ordering::Relaxed);
        let doc = local(&txns, 1);
        let heap = LIVE.load(Ordering::Relaxed) - before;
        assert_eq!(doc.text(), trace.end_content, "{name}: local");
        let t_local = measure(budget, || local(&txns, 1));

        let msgs = messages(&txns);
        assert_eq!(remote(&msgs).text(), trace.end_content, "{name}: remote");
        let t_remote = measure(budget, || remote(&msgs));

        let bytes = doc.encode();
        let t_encode = measure(budget, || doc.encode());
        assert_eq!(
            Doc::decode(&bytes, ReplicaId::from(3))
                .expect("decode")
                .text(),
            trace.end_content
        );
        let t_decode = measure(budget, || {
            Doc::decode(&bytes, ReplicaId::from(3)).expect("decode")
        });

        let f = ms(floor);
        println!(
            "| {name} | {edits} | {f:.2} | {:.2} ({:.2}×) | {:.2} ({:.2}×) | {:.2} | {} | {:.2} ({:.2}×) | {heap} | {} |",
            ms(t_local),
            ms(t_local) / f,
            ms(t_remote),
            ms(t_remote) / f,
            ms(t_encode),
            bytes.len(),
            ms(t_decode),
            ms(t_decode) / f,
            doc.span_count(),
        );

        let mut row = vec![name.to_string()];
        for repeat in [1, 2, 4, 8] {
            let t = measure(budget, || local(&txns, repeat));
            row.push(format!(
                "{:.0}",
                t.as_secs_f64() * 1e9 / (edits * repeat) as f64
            ));
        }
        doubling.push(row);
    }

    println!("\nDoubling (local replay of the trace 1×, 2×, 4×, 8× in one document): ns per edit");
    println!("| trace | 1× | 2× | 4× | 8× |\n|---|---:|---:|---:|---:|");
    for row in doubling {
        println!("| {} |", row.join(" | "));
    }

    println!(
        "\n| concurrent trace | agents | txns | replay ms (all replicas converge) |\n|---|---:|---:|---:|"
    );
    for name in ["friendsforever", "clownschool"]
        .into_iter()
        .filter(|n| wanted(n))
    {
        let trace = common::concurrent(name);
        let docs = common::replay_concurrent(&trace);
        assert!(
            docs.iter().all(|d| d.text() == trace.end_content),
            "{name}: converged"
        );
        let t = measure(budget, || common::replay_concurrent(&trace));
        println!(
            "| {name} | {} | {} | {:.2} |",
            trace.num_agents,
            trace.txns.len(),
            ms(t)
        );
    }
}
