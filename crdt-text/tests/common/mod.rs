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

/// A replica the concurrent replay drives through the op path the network uses: a local edit
/// yields the messages (bytes) to send, and a message from another replica is decoded and
/// applied.
pub trait Replica {
    fn edit(&mut self, pos: usize, del: usize, ins: &str, out: &mut Vec<Vec<u8>>);
    fn receive(&mut self, msg: &[u8]);
}

/// A duet replica: one postcard-encoded [`crdt_text::Op`] per message, as the protocol sends.
impl Replica for crdt_text::Doc {
    fn edit(&mut self, pos: usize, del: usize, ins: &str, out: &mut Vec<Vec<u8>>) {
        if del > 0 {
            let op = self.delete(pos, del);
            out.push(postcard::to_allocvec(&op).expect("encode"));
        }
        if !ins.is_empty() {
            let op = self.insert(pos, ins);
            out.push(postcard::to_allocvec(&op).expect("encode"));
        }
    }

    fn receive(&mut self, msg: &[u8]) {
        let op: crdt_text::Op = postcard::from_bytes(msg).expect("decode");
        self.apply(&op).expect("valid op");
    }
}

/// Replays a concurrent trace with one replica per agent (`make(agent)`): before each
/// transaction its agent's replica receives exactly the messages of the transaction's parents
/// it lacks (from the other agents' logs, in creation order, which respects every dependency),
/// then applies the patches as local edits. Returns the replicas, each finally merged with
/// everything.
pub fn replay_concurrent<R: Replica>(trace: &Concurrent, make: impl Fn(usize) -> R) -> Vec<R> {
    let n = trace.num_agents;
    let mut docs: Vec<R> = (0..n).map(make).collect();
    // Per agent: its messages, each with its global creation sequence number.
    let mut logs: Vec<Vec<(usize, Vec<u8>)>> = vec![Vec::new(); n];
    let mut seq = 0usize;
    // Versions as message counts per agent: what each replica has received (its own
    // included), and what each transaction's replica had after it (`n` counts per txn).
    let mut have: Vec<Vec<usize>> = vec![vec![0; n]; n];
    let mut versions: Vec<usize> = Vec::with_capacity(trace.txns.len() * n);
    let mut target = vec![0usize; n];
    let mut wanted: Vec<(usize, usize, usize)> = Vec::new();
    let mut out = Vec::new();
    let merge = |doc: &mut R,
                 have: &mut [usize],
                 target: &[usize],
                 logs: &[Vec<(usize, Vec<u8>)>],
                 wanted: &mut Vec<(usize, usize, usize)>| {
        wanted.clear();
        for (a, log) in logs.iter().enumerate() {
            for (k, (s, _)) in log.iter().enumerate().take(target[a]).skip(have[a]) {
                wanted.push((*s, a, k));
            }
            have[a] = have[a].max(target[a]);
        }
        wanted.sort_unstable();
        for &(_, a, k) in wanted.iter() {
            doc.receive(&logs[a][k].1);
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
        for (pos, del, ins) in &txn.patches {
            out.clear();
            docs[a].edit(*pos, *del, ins, &mut out);
            for msg in out.drain(..) {
                logs[a].push((seq, msg));
                seq += 1;
                have[a][a] += 1;
            }
        }
        versions.extend_from_slice(&have[a]);
    }
    let all: Vec<usize> = logs.iter().map(Vec::len).collect();
    for (doc, have) in docs.iter_mut().zip(&mut have) {
        merge(doc, have, &all, &logs, &mut wanted);
    }
    docs
}
