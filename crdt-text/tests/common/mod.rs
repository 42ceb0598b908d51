//! Loading the real editing traces committed in the repository's `traces/` folder.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;

use serde::Deserialize;

/// A sequential trace: apply each patch in order to an empty document.
#[derive(Deserialize)]
pub struct Sequential {
    #[serde(rename = "endContent")]
    pub end_content: String,
    pub txns: Vec<SeqTxn>,
}

#[derive(Deserialize)]
pub struct SeqTxn {
    pub patches: Vec<(usize, usize, String)>,
}

/// A concurrent trace: transactions with parents and agents.
#[derive(Deserialize)]
pub struct Concurrent {
    #[serde(rename = "endContent")]
    pub end_content: String,
    #[serde(rename = "numAgents")]
    pub num_agents: usize,
    pub txns: Vec<ConcTxn>,
}

#[derive(Deserialize)]
pub struct ConcTxn {
    pub parents: Vec<usize>,
    pub agent: usize,
    pub patches: Vec<(usize, usize, String)>,
}

/// The repository's `traces/` folder (see its README for sources and licence).
pub fn traces_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../traces")
}

fn read_gz(path: &std::path::Path) -> String {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut s = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut s)
        .expect("gzip");
    s
}

pub const SEQUENTIAL: &[&str] = &[
    "automerge-paper",
    "seph-blog1",
    "rustcode",
    "sveltecomponent",
    "json-crdt-patch",
    "json-crdt-blog-post",
    "friendsforever_flat",
    "clownschool_flat",
];

pub fn sequential(name: &str) -> Sequential {
    let path = traces_dir()
        .join("sequential")
        .join(format!("{name}.json.gz"));
    serde_json::from_str(&read_gz(&path)).expect("trace json")
}

pub fn concurrent(name: &str) -> Concurrent {
    let path = traces_dir()
        .join("concurrent")
        .join(format!("{name}.json.gz"));
    serde_json::from_str(&read_gz(&path)).expect("trace json")
}

/// Replays a concurrent trace with one replica per agent: before each transaction its agent's
/// replica merges exactly the ops of the transaction's parents (fetched by id from the other
/// agents' logs, in creation order), then applies the patches as local edits.
/// Returns the replicas, each finally merged with everything.
pub fn replay_concurrent(trace: &Concurrent) -> Vec<crdt_text::Doc> {
    use crdt_text::{Doc, Op, ReplicaId};
    let n = trace.num_agents;
    let mut docs: Vec<Doc> = (0..n)
        .map(|a| Doc::new(ReplicaId::from(a as u64 + 1)))
        .collect();
    // Per agent: its ops in counter order, with their global creation sequence number.
    let mut logs: Vec<Vec<(u64, usize, Op)>> = vec![Vec::new(); n];
    let mut seq = 0usize;
    // Versions as dense per-agent counts (agent `a` is replica `a + 1`): what each doc has
    // applied, and what each transaction's doc had after it (`n` counts per transaction).
    let mut have: Vec<Vec<u64>> = vec![vec![0; n]; n];
    let mut versions: Vec<u64> = Vec::with_capacity(trace.txns.len() * n);
    let mut target = vec![0u64; n];
    let mut wanted: Vec<(usize, usize, usize)> = Vec::new();
    // Applies to `doc` the ops in `target` it lacks, in creation order (which respects every
    // dependency).
    let merge = |doc: &mut Doc,
                 have: &mut [u64],
                 target: &[u64],
                 logs: &[Vec<(u64, usize, Op)>],
                 wanted: &mut Vec<(usize, usize, usize)>| {
        wanted.clear();
        for (a, log) in logs.iter().enumerate() {
            let (from, to) = (have[a], target[a]);
            if from >= to {
                continue;
            }
            let start = log.partition_point(|(c, _, op)| c + op.len() <= from);
            for (k, (c, s, _)) in log[start..].iter().enumerate() {
                if *c >= to {
                    break;
                }
                wanted.push((*s, a, start + k));
            }
            have[a] = to;
        }
        wanted.sort_unstable();
        for &(_, a, k) in wanted.iter() {
            doc.apply(&logs[a][k].2).expect("valid op");
        }
    };
    for txn in &trace.txns {
        let a = txn.agent;
        target.fill(0);
        for &p in &txn.parents {
            for (t, &v) in target.iter_mut().zip(&versions[p * n..(p + 1) * n]) {
                *t = (*t).max(v);
            }
        }
        merge(&mut docs[a], &mut have[a], &target, &logs, &mut wanted);
        let doc = &mut docs[a];
        for (pos, del, ins) in &txn.patches {
            if *del > 0 {
                let op = doc.delete(*pos, *del);
                have[a][a] += op.len();
                logs[a].push((op.id.counter, seq, op));
                seq += 1;
            }
            if !ins.is_empty() {
                let op = doc.insert(*pos, ins);
                have[a][a] += op.len();
                logs[a].push((op.id.counter, seq, op));
                seq += 1;
            }
        }
        versions.extend_from_slice(&have[a]);
    }
    let all: Vec<u64> = (0..n)
        .map(|a| logs[a].last().map_or(0, |(c, _, op)| c + op.len()))
        .collect();
    for (doc, have) in docs.iter_mut().zip(&mut have) {
        merge(doc, have, &all, &logs, &mut wanted);
    }
    docs
}
