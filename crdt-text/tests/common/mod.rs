//! Loading the real editing traces from `../shared/traces`.
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

pub fn traces_dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for dir in [
        here.join("../../shared/traces"),
        here.join("../shared/traces"),
    ] {
        if dir.is_dir() {
            return dir;
        }
    }
    panic!("editing traces not found beside the workspace (expected ../shared/traces)");
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
