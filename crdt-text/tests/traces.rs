//! Real editing traces replay exactly: locally, on a remote replica, and through encode/decode.

mod common;

use crdt_text::{Applied, Doc, Op, ReplicaId, VersionVector};

fn replay_local(trace: &common::Sequential) -> (Doc, Vec<Vec<Op>>) {
    let mut doc = Doc::new(ReplicaId::from(1));
    let mut txns = Vec::with_capacity(trace.txns.len());
    for txn in &trace.txns {
        let mut ops = Vec::new();
        for (pos, del, ins) in &txn.patches {
            if *del > 0 {
                ops.push(doc.delete(*pos, *del));
            }
            if !ins.is_empty() {
                ops.push(doc.insert(*pos, ins));
            }
        }
        txns.push(ops);
    }
    (doc, txns)
}

#[test]
fn every_sequential_trace_replays_exactly() {
    for name in common::SEQUENTIAL {
        let trace = common::sequential(name);
        let (doc, txns) = replay_local(&trace);
        assert_eq!(doc.text(), trace.end_content, "{name}: local replay");
        doc.assert_invariants();

        // A remote replica receiving one postcard message per transaction.
        let mut remote = Doc::new(ReplicaId::from(2));
        for ops in &txns {
            let bytes = postcard::to_allocvec(ops).expect("encode");
            let ops: Vec<Op> = postcard::from_bytes(&bytes).expect("decode");
            for op in &ops {
                assert!(
                    matches!(remote.apply(op), Ok(Applied::Done { .. })),
                    "{name}: remote apply"
                );
            }
        }
        assert_eq!(remote.text(), trace.end_content, "{name}: remote replay");
        remote.assert_invariants();

        // The whole history round-trips through encode/decode.
        let bytes = doc.encode();
        let loaded = Doc::decode(&bytes, ReplicaId::from(1)).expect("decode");
        assert_eq!(loaded.text(), trace.end_content, "{name}: decode");
        assert_eq!(loaded.version(), doc.version(), "{name}: version");
        loaded.assert_invariants();
        // Origins the encoding derived from the order must be the real ones.
        let all = VersionVector::new();
        assert!(
            loaded.ops_since(&all) == doc.ops_since(&all),
            "{name}: history after decode"
        );

        // ops_since(empty) rebuilds the document on a fresh replica.
        let mut fresh = Doc::new(ReplicaId::from(3));
        for op in doc.ops_since(&VersionVector::new()) {
            fresh.apply(&op).expect("apply");
        }
        assert_eq!(fresh.text(), trace.end_content, "{name}: ops_since");
        assert_eq!(fresh.pending_len(), 0);
    }
}
