//! Replays the real editing traces and reports medians, every figure beside the baselines
//! measured in the same run: `cargo bench -p crdt-text --bench traces [-- NAME…]`.
//!
//! Baselines (see `contenders.rs`): Diamond Types 1.0, cola 0.1 (with a jumprope buffer for
//! its text), and two floors that are no CRDT: ropey and jumprope (plain text, encoded as
//! itself). For every sequential trace:
//! - local: every patch as a local edit into a fresh document (text checked);
//! - encode / bytes / decode: what a fresh peer is sent, and loading it (text checked);
//! - heap: live bytes held by the replayed document (a counting global allocator);
//! - remote: a fresh replica receiving one message per transaction (crdt-text: postcard ops;
//!   Diamond Types: `encode_from` patches; cola: its edits);
//! - doubling: crdt-text replaying the trace 1×, 2×, 4×, 8× in one document, ns per edit.
//!
//! Then the concurrent traces (one replica per agent, every op one wire message) against cola,
//! and many writers at one place: n replicas each insert at the same position of a shared
//! document, delivered to a fresh replica in ascending and in descending replica order.
//!
//! `-- b4x100` runs only the scale case (automerge-paper replayed 100 times into one
//! document, 26 M edits); it is not part of the default run.
//! `DUET_PROFILE=local|remote|decode|encode [DUET_TRACE=name] [DUET_REPEAT=n]` repeats one
//! phase (on the trace replayed `n` times into one document) for a
//! profiler (`DUET_PROFILE=concurrent DUET_TRACE=friendsforever` a concurrent replay,
//! `DUET_PROFILE=many` 4,000 writers at one place received in descending order).

use std::hint::black_box;
use std::time::Duration;

use contenders::{Cola, ColaDoc, Contender, Dt, Duet, Jump, Ropey, Txns};
use crdt_text::{Doc, ReplicaId};
use measure::{live_heap, median, ms};

#[path = "../../tests/common/mod.rs"]
mod common;
mod contenders;
mod many;
mod measure;

/// One contender's figures on one trace.
#[derive(Clone, Copy)]
struct Figures {
    local: Duration,
    encode: Duration,
    bytes: usize,
    decode: Duration,
    heap: usize,
}

fn figures<C: Contender>(txns: &Txns, repeat: usize, end: &str, budget: Duration) -> Figures {
    let min = if repeat > 1 { 3 } else { 5 };
    let (state, heap) = live_heap(|| C::local(txns, repeat));
    assert!(C::text(&state) == end, "{}: local replay", C::NAME);
    let local = median(budget, min, || C::local(txns, repeat));
    let bytes = C::encode(&state);
    let encode = median(budget, min, || C::encode(&state));
    assert!(
        C::loaded_text(&C::decode(&bytes)) == end,
        "{}: decode",
        C::NAME
    );
    let decode = median(budget, min, || C::decode(&bytes));
    Figures {
        local,
        encode,
        bytes: bytes.len(),
        decode,
        heap,
    }
}

/// The five contenders, in table order.
fn all_figures(txns: &Txns, repeat: usize, end: &str, budget: Duration) -> [Figures; 5] {
    [
        figures::<Duet>(txns, repeat, end, budget),
        figures::<Dt>(txns, repeat, end, budget),
        figures::<Cola>(txns, repeat, end, budget),
        figures::<Ropey>(txns, repeat, end, budget),
        figures::<Jump>(txns, repeat, end, budget),
    ]
}

const BASELINES: [&str; 4] = ["Diamond Types", "cola", "ropey", "jumprope"];

/// Prints one metric for every trace: crdt-text's value, then each baseline's and the ratio
/// crdt-text ÷ baseline (below 1: crdt-text is ahead).
fn print_metric(
    title: &str,
    unit: &str,
    rows: &[(String, [Figures; 5])],
    value: fn(&Figures) -> f64,
) {
    println!("\n{title} ({unit}; ×: crdt-text ÷ baseline)");
    print!("| trace | crdt-text |");
    for b in BASELINES {
        print!(" {b} | × |");
    }
    println!("\n|---|---:|{}", "---:|---:|".repeat(BASELINES.len()));
    for (name, f) in rows {
        let ours = value(&f[0]);
        print!("| {name} | {} |", fmt(ours));
        for theirs in &f[1..] {
            let theirs = value(theirs);
            print!(" {} | {:.2} |", fmt(theirs), ours / theirs);
        }
        println!();
    }
}

fn fmt(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn print_tables(rows: &[(String, [Figures; 5])]) {
    print_metric("Local replay", "ms", rows, |f| ms(f.local));
    print_metric("Encode", "ms", rows, |f| ms(f.encode));
    print_metric("Encoded size", "bytes", rows, |f| f.bytes as f64);
    print_metric("Decode", "ms", rows, |f| ms(f.decode));
    print_metric("Live heap", "bytes", rows, |f| f.heap as f64);
}

fn patches(trace: &common::Sequential) -> Txns {
    trace.txns.iter().map(|t| t.patches.clone()).collect()
}

fn profile(phase: &str) {
    if phase == "many" {
        return many::profile();
    }
    let default = if phase == "concurrent" {
        "friendsforever"
    } else {
        "automerge-paper"
    };
    let name = std::env::var("DUET_TRACE").unwrap_or_else(|_| default.into());
    if phase == "concurrent" {
        let trace = common::concurrent(&name);
        for _ in 0..30 {
            drop(black_box(common::replay_concurrent(&trace, duet_replica)));
        }
        return;
    }
    let txns = patches(&common::sequential(&name));
    let msgs = match phase {
        "remote" => contenders::messages(&txns)[0].clone(),
        _ => Vec::new(),
    };
    let repeat: usize = std::env::var("DUET_REPEAT").map_or(1, |r| r.parse().expect("DUET_REPEAT"));
    let doc = Duet::local(&txns, repeat);
    let bytes = doc.encode();
    for _ in 0..(300 / repeat).max(10) {
        match phase {
            "local" => drop(black_box(Duet::local(&txns, 1))),
            "remote" => drop(black_box(contenders::remote_duet(&msgs))),
            "encode" => drop(black_box(doc.encode())),
            _ => drop(black_box(Duet::decode(&bytes))),
        }
    }
}

fn duet_replica(agent: usize) -> Doc {
    Doc::new(ReplicaId::from(agent as u64 + 1))
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if let Ok(phase) = std::env::var("DUET_PROFILE") {
        return profile(&phase);
    }
    if filter.iter().any(|f| f == "b4x100") {
        return b4x100();
    }
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let budget = Duration::from_secs(1);

    let mut rows = Vec::new();
    let mut remote = Vec::new();
    let mut doubling = Vec::new();
    for name in common::SEQUENTIAL.iter().copied().filter(|n| wanted(n)) {
        let trace = common::sequential(name);
        let txns = patches(&trace);
        let edits: usize = txns.iter().map(Vec::len).sum();
        rows.push((
            name.to_string(),
            all_figures(&txns, 1, &trace.end_content, budget),
        ));

        let [ours, dt, cola] = contenders::messages(&txns);
        assert_eq!(contenders::remote_duet(&ours).text(), trace.end_content);
        assert_eq!(Dt::text(&contenders::remote_dt(&dt)), trace.end_content);
        assert_eq!(
            contenders::remote_cola(&cola).text.to_string(),
            trace.end_content
        );
        remote.push((
            name,
            median(budget, 5, || contenders::remote_duet(&ours)),
            median(budget, 5, || contenders::remote_dt(&dt)),
            median(budget, 5, || contenders::remote_cola(&cola)),
        ));

        let mut row = vec![name.to_string()];
        for repeat in [1, 2, 4, 8] {
            let t = median(budget, 5, || Duet::local(&txns, repeat));
            row.push(format!(
                "{:.0}",
                t.as_secs_f64() * 1e9 / (edits * repeat) as f64
            ));
        }
        doubling.push(row);
    }
    if !rows.is_empty() {
        print_tables(&rows);
        println!("\nRemote: one message per transaction into a fresh replica (ms)");
        println!(
            "| trace | crdt-text | Diamond Types | × | cola | × |\n|---|---:|---:|---:|---:|---:|"
        );
        for (name, ours, dt, cola) in remote {
            println!(
                "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                ms(ours),
                ms(dt),
                ms(ours) / ms(dt),
                ms(cola),
                ms(ours) / ms(cola)
            );
        }
        println!(
            "\nDoubling (crdt-text, the trace replayed 1×, 2×, 4×, 8× in one document): ns per edit"
        );
        println!("| trace | 1× | 2× | 4× | 8× |\n|---|---:|---:|---:|---:|");
        for row in doubling {
            println!("| {} |", row.join(" | "));
        }
    }

    let concurrent: Vec<_> = ["friendsforever", "clownschool"]
        .into_iter()
        .filter(|n| wanted(n))
        .collect();
    if !concurrent.is_empty() {
        println!("\nConcurrent traces: one replica per agent, every op one wire message (ms)");
        println!(
            "| trace | agents | txns | crdt-text | cola | × |\n|---|---:|---:|---:|---:|---:|"
        );
    }
    for name in concurrent {
        let trace = common::concurrent(name);
        let docs = common::replay_concurrent(&trace, duet_replica);
        assert!(docs.iter().all(|d| d.text() == trace.end_content), "{name}");
        let colas = common::replay_concurrent(&trace, |a| ColaDoc::new(a as u64 + 1));
        assert!(
            colas
                .iter()
                .all(|d| d.text.to_string() == trace.end_content),
            "{name}: cola"
        );
        let ours = median(budget, 5, || {
            common::replay_concurrent(&trace, duet_replica)
        });
        let cola = median(budget, 5, || {
            common::replay_concurrent(&trace, |a| ColaDoc::new(a as u64 + 1))
        });
        println!(
            "| {name} | {} | {} | {:.2} | {:.2} | {:.2} |",
            trace.num_agents,
            trace.txns.len(),
            ms(ours),
            ms(cola),
            ms(ours) / ms(cola)
        );
    }

    if wanted("many-writers") {
        many::report(budget);
    }
}

/// B4x100: automerge-paper replayed 100 times into one document.
fn b4x100() {
    let trace = common::sequential("automerge-paper");
    let txns = patches(&trace);
    let end = trace.end_content.repeat(100);
    let edits: usize = 100 * txns.iter().map(Vec::len).sum::<usize>();
    println!(
        "B4x100: automerge-paper replayed 100× into one document: {edits} edits, {} chars of text",
        end.chars().count()
    );
    let rows = [(
        "automerge-paper ×100".to_string(),
        all_figures(&txns, 100, &end, Duration::ZERO),
    )];
    print_tables(&rows);
    let ours = rows[0].1[0];
    println!(
        "\ncrdt-text memory per character of history: {:.2} bytes of live heap, {:.2} bytes encoded",
        ours.heap as f64 / edits as f64,
        ours.bytes as f64 / edits as f64
    );
}
