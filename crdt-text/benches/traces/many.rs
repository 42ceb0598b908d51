//! Many writers at one place: `n` replicas that all saw the same two characters each insert
//! one character between them, and a fresh replica receives the `n` inserts in ascending or
//! descending replica order (FugueMax orders such siblings by replica id, so one of the two
//! orders makes every insert land after all the earlier ones).

use std::time::Duration;

use crdt_text::{Doc, Op, ReplicaId};

use crate::contenders::{ColaDoc, ColaOp};
use crate::measure::{median, ms};

/// The base op and the `n` concurrent inserts, ascending by replica, each one wire message.
fn duet_ops(n: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut base = Doc::new(ReplicaId::from(1));
    let first = base.insert(0, "[]");
    let ops = (0..n)
        .map(|i| {
            let mut d = Doc::new(ReplicaId::from(10 + i as u64));
            d.apply(&first).expect("apply");
            postcard::to_allocvec(&d.insert(1, "x")).expect("encode")
        })
        .collect();
    (postcard::to_allocvec(&first).expect("encode"), ops)
}

fn duet_receive(base: &[u8], ops: &[Vec<u8>], descending: bool) -> Doc {
    let mut doc = Doc::new(ReplicaId::from(2));
    let apply = |doc: &mut Doc, m: &[u8]| {
        let op: Op = postcard::from_bytes(m).expect("decode");
        doc.apply(&op).expect("apply");
    };
    apply(&mut doc, base);
    if descending {
        ops.iter().rev().for_each(|m| apply(&mut doc, m));
    } else {
        ops.iter().for_each(|m| apply(&mut doc, m));
    }
    doc
}

fn cola_ops(n: usize) -> (ColaDoc, Vec<Vec<u8>>) {
    let mut base = ColaDoc::new(1);
    base.edit(0, 0, "[]", &mut Vec::new());
    let ops = (0..n)
        .map(|i| {
            let mut d = ColaDoc {
                replica: base.replica.fork(10 + i as u64),
                text: base.text.clone(),
            };
            let mut out = Vec::new();
            d.edit(1, 0, "x", &mut out);
            postcard::to_allocvec(&out[0]).expect("encode")
        })
        .collect();
    (base, ops)
}

fn cola_receive(base: &ColaDoc, ops: &[Vec<u8>], descending: bool) -> ColaDoc {
    let mut doc = ColaDoc {
        replica: base.replica.fork(2),
        text: base.text.clone(),
    };
    let apply = |doc: &mut ColaDoc, m: &[u8]| {
        let op: ColaOp = postcard::from_bytes(m).expect("decode");
        doc.apply(&op);
    };
    if descending {
        ops.iter().rev().for_each(|m| apply(&mut doc, m));
    } else {
        ops.iter().for_each(|m| apply(&mut doc, m));
    }
    doc
}

/// `DUET_PROFILE=many`: 4,000 writers at one place, received in descending order, repeated.
pub fn profile() {
    let (base, ops) = duet_ops(4_000);
    for _ in 0..100 {
        drop(std::hint::black_box(duet_receive(&base, &ops, true)));
    }
}

pub fn report(budget: Duration) {
    println!(
        "\nMany writers at one place: n concurrent one-char inserts at one position into a fresh replica"
    );
    println!(
        "| n | order | crdt-text ms | ns per insert | cola ms | × |\n|---:|---|---:|---:|---:|---:|"
    );
    for n in [1_000, 4_000] {
        let (base, ops) = duet_ops(n);
        let (cbase, cops) = cola_ops(n);
        for descending in [false, true] {
            let want = format!("[{}]", "x".repeat(n));
            let doc = duet_receive(&base, &ops, descending);
            assert_eq!(doc.text(), want);
            assert_eq!(
                cola_receive(&cbase, &cops, descending).text.to_string(),
                want
            );
            let ours = median(budget, 3, || duet_receive(&base, &ops, descending));
            let cola = median(budget, 3, || cola_receive(&cbase, &cops, descending));
            println!(
                "| {n} | {} | {:.2} | {:.0} | {:.2} | {:.2} |",
                if descending {
                    "descending"
                } else {
                    "ascending"
                },
                ms(ours),
                ours.as_secs_f64() * 1e9 / n as f64,
                ms(cola),
                ms(ours) / ms(cola)
            );
        }
    }
}
