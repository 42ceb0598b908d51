//! The concurrent traces: one replica per agent, honouring each transaction's parents, every op
//! through its wire form; every replica ends with the trace's final text.

mod common;

#[test]
fn concurrent_traces_converge_on_every_replica() {
    for name in ["friendsforever", "clownschool"] {
        let trace = common::concurrent(name);
        let docs = common::replay_concurrent(&trace, |a| {
            crdt_text::Doc::new(crdt_text::ReplicaId::from(a as u64 + 1))
        });
        assert_eq!(docs.len(), trace.num_agents);
        for (agent, doc) in docs.iter().enumerate() {
            assert_eq!(doc.text(), trace.end_content, "{name}: agent {agent}");
            assert_eq!(doc.pending_len(), 0);
            doc.assert_invariants();
        }
    }
}
