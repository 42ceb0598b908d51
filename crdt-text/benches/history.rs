//! What recorded history costs, and how fast its queries are:
//! `cargo bench -p crdt-text --bench history [-- NAME…]`.
//!
//! Every sequential trace is replayed twice in the same process, the history replay measured
//! first (whichever runs first measures up to 10 % faster local replay on this machine: an
//! order effect, not a cost): without history (no clock, no author: what duet recorded
//! before) and as a typed session (an author, and the clock
//! advancing 0.3 s per transaction, about 3 edits a second). For each: the medians of local
//! replay, encode, decode and remote replay (one postcard message per op), the encoded bytes
//! and the wire/log bytes (every op's postcard form), and their ratios. Then, on the history
//! replay: blame, the sessions, and the text after the oldest session (what
//! `duet show --at 1` computes once the store is read).

use std::hint::black_box;
use std::time::Duration;

use crdt_text::{Author, AuthorId, Doc, Op, ReplicaId};

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "traces/measure.rs"]
#[allow(dead_code)] // the heap counter is for the traces bench
mod measure;

use measure::{median, ms};

const T0: u64 = 1_795_000_000;

/// Replays a trace as local edits; with `history`, as a dated typed session of one author.
fn replay(trace: &common::Sequential, history: bool) -> (Doc, Vec<Op>) {
    let mut doc = Doc::new(ReplicaId::from(0xd1e7_0000_0000_0001));
    if history {
        doc.set_author(Author::new(
            AuthorId([7; 16]),
            "Ann Author",
            Some("ann@example.org"),
        ));
    }
    let mut ops = Vec::new();
    for (i, txn) in trace.txns.iter().enumerate() {
        if history {
            doc.set_time(T0 + i as u64 * 3 / 10);
        }
        for (pos, del, ins) in &txn.patches {
            if *del > 0 {
                ops.push(doc.delete(*pos, *del));
            }
            if !ins.is_empty() {
                ops.push(doc.insert(*pos, ins));
            }
        }
    }
    (doc, ops)
}

struct Row {
    local: Duration,
    encode: Duration,
    decode: Duration,
    remote: Duration,
    bytes: usize,
    wire: usize,
}

fn row(trace: &common::Sequential, history: bool, budget: Duration) -> Row {
    let (doc, ops) = replay(trace, history);
    assert_eq!(doc.text(), trace.end_content);
    let local = median(budget, 5, || replay(trace, history));
    let encoded = doc.encode();
    let encode = median(budget, 5, || doc.encode());
    let decode = median(budget, 5, || Doc::decode(&encoded, ReplicaId::from(2)));
    let messages: Vec<Vec<u8>> = ops
        .iter()
        .map(|op| postcard::to_stdvec(op).expect("encode"))
        .collect();
    let remote = median(budget, 5, || {
        let mut r = Doc::new(ReplicaId::from(3));
        for m in &messages {
            let op: Op = postcard::from_bytes(m).expect("decode");
            r.apply(&op).expect("apply");
        }
        r
    });
    Row {
        local,
        encode,
        decode,
        remote,
        bytes: encoded.len(),
        wire: messages.iter().map(Vec::len).sum(),
    }
}

fn main() {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let budget = Duration::from_secs(2);
    println!(
        "{:<22} {:>22} {:>22} {:>22} {:>22} {:>18} {:>18}",
        "trace (ms, no → with)",
        "local",
        "encode",
        "decode",
        "remote",
        "doc bytes",
        "wire/log bytes"
    );
    for name in common::SEQUENTIAL {
        if !names.is_empty() && !names.iter().any(|n| name.contains(n.as_str())) {
            continue;
        }
        let trace = common::sequential(name);
        let b = row(&trace, true, budget);
        let a = row(&trace, false, budget);
        let t = |x: Duration, y: Duration| {
            format!(
                "{:.1}→{:.1} {:.2}×",
                ms(x),
                ms(y),
                y.as_secs_f64() / x.as_secs_f64()
            )
        };
        let n = |x: usize, y: usize| format!("+{:.2}% ({y})", (y as f64 / x as f64 - 1.0) * 100.0);
        println!(
            "{name:<22} {:>22} {:>22} {:>22} {:>22} {:>18} {:>18}",
            t(a.local, b.local),
            t(a.encode, b.encode),
            t(a.decode, b.decode),
            t(a.remote, b.remote),
            n(a.bytes, b.bytes),
            n(a.wire, b.wire),
        );
        let (doc, _) = replay(&trace, true);
        let blame = median(budget, 5, || black_box(doc.blame()));
        let sessions = median(budget, 5, || black_box(doc.sessions()));
        let first = doc.sessions()[0].clone();
        let oldest = median(budget, 5, || black_box(doc.text_after(&first)));
        println!(
            "{:<22} blame {:.1} ms, sessions {:.1} ms ({}), text after session 1 {:.1} ms",
            "",
            ms(blame),
            ms(sessions),
            doc.sessions().len(),
            ms(oldest)
        );
    }
}
