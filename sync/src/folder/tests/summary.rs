//! Catch-up summaries: two peers find the files whose versions differ, sending hashes only
//! where their trees differ.

use std::collections::{BTreeMap, BTreeSet};

use crdt_text::{ReplicaId, VersionVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::super::manifest::Stamp;
use super::super::summary::*;
use super::super::*;

fn file(n: u64) -> FileId {
    FileId(Stamp {
        lamport: n,
        replica: ReplicaId::from(7),
    })
}

fn version(edits: u64) -> VersionVector {
    [(ReplicaId::from(1), edits)].into_iter().collect()
}

/// `n` files, file `i` edited `i + 1` times.
fn tree_of(n: u64) -> BTreeMap<FileId, VersionVector> {
    (0..n).map(|i| (file(i), version(i + 1))).collect()
}

struct Exchange {
    /// What each side found differs.
    a: BTreeSet<FileId>,
    b: BTreeSet<FileId>,
    bytes: usize,
    messages: usize,
}

/// Runs the exchange, `a` first, until a message needs no reply.
fn exchange(a: &BTreeMap<FileId, VersionVector>, b: &BTreeMap<FileId, VersionVector>) -> Exchange {
    let sa = Summary::new(a.iter().map(|(k, v)| (*k, v)));
    let sb = Summary::new(b.iter().map(|(k, v)| (*k, v)));
    let mut out = Exchange {
        a: BTreeSet::new(),
        b: BTreeSet::new(),
        bytes: 0,
        messages: 0,
    };
    let mut msg = Some(sa.start());
    let mut to_b = true;
    while let Some(m) = msg {
        let bytes = m.encode();
        assert_eq!(SummaryMsg::decode(&bytes).unwrap(), m);
        out.bytes += bytes.len();
        out.messages += 1;
        assert!(out.messages < 100, "the exchange does not end");
        let handled = if to_b { sb.handle(&m) } else { sa.handle(&m) };
        if to_b { &mut out.b } else { &mut out.a }.extend(handled.differ);
        msg = handled.reply;
        to_b = !to_b;
    }
    out
}

/// Files present on one side only or at different versions.
fn truly_differ(
    a: &BTreeMap<FileId, VersionVector>,
    b: &BTreeMap<FileId, VersionVector>,
) -> BTreeSet<FileId> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(k) != b.get(k))
        .copied()
        .collect()
}

#[test]
fn a_reconnect_where_nothing_changed_costs_one_root_hash() {
    let tree = tree_of(1000);
    let x = exchange(&tree, &tree);
    assert!(x.a.is_empty() && x.b.is_empty());
    // (In a real exchange each side sends its root: one such message each way.)
    assert_eq!(x.messages, 1, "the root matched: no reply");
    assert!(x.bytes < 40, "{} bytes", x.bytes);
}

#[test]
fn one_edited_file_among_a_thousand_is_found_with_a_few_hashes() {
    let a = tree_of(1000);
    let mut b = a.clone();
    b.insert(file(500), version(9999));
    let x = exchange(&a, &b);
    assert_eq!(x.a, BTreeSet::from([file(500)]));
    assert_eq!(x.b, x.a);
    // Whole version vectors of 1,000 files would be ~10 KB; this is a few hundred bytes.
    assert!(
        x.bytes < 2_000,
        "{} bytes in {} messages",
        x.bytes,
        x.messages
    );
}

#[test]
fn a_new_file_and_a_deleted_one_are_found_on_both_sides() {
    let a = tree_of(300);
    let mut b = a.clone();
    b.remove(&file(3));
    b.insert(file(5000), version(1));
    let x = exchange(&a, &b);
    let want = BTreeSet::from([file(3), file(5000)]);
    assert_eq!(x.a, want);
    assert_eq!(x.b, want);
}

#[test]
fn an_empty_peer_learns_every_file() {
    let a = tree_of(200);
    let x = exchange(&BTreeMap::new(), &a);
    assert_eq!(x.a, a.keys().copied().collect());
    assert_eq!(x.b, x.a);
}

#[test]
fn both_sides_find_exactly_the_files_that_differ_on_random_trees() {
    for seed in 0..40 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.random_range(0..600);
        let a = tree_of(n);
        let mut b = a.clone();
        for _ in 0..rng.random_range(0..30) {
            let k = file(rng.random_range(0..n + 50));
            match rng.random_range(0..3) {
                0 => b.remove(&k),
                _ => b.insert(k, version(rng.random_range(1..5000))),
            };
        }
        let want = truly_differ(&a, &b);
        let x = exchange(&a, &b);
        assert_eq!(x.a, want, "seed {seed}");
        assert_eq!(x.b, want, "seed {seed}");
    }
}

#[test]
fn malformed_prefixes_and_bytes_are_ignored_or_refused() {
    let summary = Summary::new(tree_of(50).iter().map(|(k, v)| (*k, v)));
    let bogus = SummaryMsg {
        nodes: vec![NodeHash {
            prefix: Prefix {
                depth: 200,
                bits: 1,
            },
            count: 3,
            hash: [0; 16],
        }],
        items: vec![ItemList {
            prefix: Prefix { depth: 1, bits: 1 },
            items: vec![],
            answer: false,
        }],
    };
    assert_eq!(summary.handle(&bogus), Handled::default());
    let bytes = summary.start().encode();
    for len in 0..bytes.len() {
        assert!(SummaryMsg::decode(&bytes[..len]).is_err());
    }
    let mut newer = bytes.clone();
    newer[0] = 9;
    assert_eq!(
        SummaryMsg::decode(&newer),
        Err(SummaryFormatError::UnsupportedVersion(9))
    );
}
