//! Randomized convergence: replicas edit concurrently while a hostile network delivers their
//! ops late, out of order, duplicated, re-batched and through compact updates; a replica also
//! restarts from its encoding. Every replica's reported patches must keep a plain-string model
//! in step with its text, invariants hold after every step, and after full delivery all
//! replicas are identical.

use crdt_text::{Applied, Doc, Op, Patch, ReplicaId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ALPHABET: &[&str] = &[
    "a",
    "b",
    "c",
    " ",
    "\n",
    "\r\n",
    "é",
    "e\u{301}",
    "日本",
    "🦀",
    "👩‍👩‍👧",
    "x",
    "y",
    "z",
    "\t",
];

struct Replica {
    doc: Doc,
    model: Vec<char>,
}

impl Replica {
    fn check(&self) {
        self.doc.assert_invariants();
        assert_eq!(self.doc.len(), self.model.len());
        assert_eq!(self.doc.text(), self.model.iter().collect::<String>());
    }

    fn follow(&mut self, patches: &[Patch]) {
        // Patches are applied in order; the inserted text is read back afterwards, so apply
        // the deletions and placeholder insertions, then fill from the doc.
        for p in patches {
            self.model.drain(p.pos..p.pos + p.del);
            for k in 0..p.ins {
                self.model.insert(p.pos + k, '\0');
            }
        }
        let text: Vec<char> = self.doc.text().chars().collect();
        assert_eq!(text.len(), self.model.len(), "patch lengths");
        for (m, t) in self.model.iter_mut().zip(&text) {
            if *m == '\0' {
                *m = *t;
            }
        }
    }
}

fn random_text(rng: &mut ChaCha8Rng) -> String {
    let n = rng.random_range(1..=4);
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect()
}

fn run(seed: u64, replicas: usize, steps: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut peers: Vec<Replica> = (0..replicas)
        .map(|i| Replica {
            doc: Doc::new(ReplicaId::from(1000 + i as u64 * 7919)),
            model: Vec::new(),
        })
        .collect();
    // In-flight messages: (destination, op).
    let mut network: Vec<(usize, Op)> = Vec::new();
    let mut sent: Vec<Op> = Vec::new();

    for _ in 0..steps {
        let i = rng.random_range(0..replicas);
        match rng.random_range(0..100) {
            0..=34 => {
                let p = &mut peers[i];
                let pos = rng.random_range(0..=p.doc.len());
                let text = random_text(&mut rng);
                let op = p.doc.insert(pos, &text);
                for (k, ch) in text.chars().enumerate() {
                    p.model.insert(pos + k, ch);
                }
                for j in (0..replicas).filter(|&j| j != i) {
                    network.push((j, op.clone()));
                }
                sent.push(op);
            }
            35..=49 => {
                let p = &mut peers[i];
                if p.doc.is_empty() {
                    continue;
                }
                let pos = rng.random_range(0..p.doc.len());
                let len = rng.random_range(1..=(p.doc.len() - pos).min(5));
                let op = p.doc.delete(pos, len);
                p.model.drain(pos..pos + len);
                for j in (0..replicas).filter(|&j| j != i) {
                    network.push((j, op.clone()));
                }
                sent.push(op);
            }
            50..=84 => {
                // Deliver a random in-flight message, sometimes keeping a duplicate around.
                if network.is_empty() {
                    continue;
                }
                let k = rng.random_range(0..network.len());
                let (to, op) = if rng.random_bool(0.1) {
                    network[k].clone()
                } else {
                    network.swap_remove(k)
                };
                let p = &mut peers[to];
                match p.doc.apply(&op).expect("valid op") {
                    Applied::Done { patches, .. } => p.follow(&patches),
                    Applied::Duplicate | Applied::Pending => {}
                }
                p.check();
                continue;
            }
            85..=91 => {
                // Anti-entropy: i catches up from j with ops_since (re-batched, partial
                // duplicates possible).
                let j = rng.random_range(0..replicas);
                if i == j {
                    continue;
                }
                let ops = peers[j].doc.ops_since(&peers[i].doc.version());
                for op in ops {
                    if let Applied::Done { patches, .. } =
                        peers[i].doc.apply(&op).expect("valid op")
                    {
                        peers[i].follow(&patches);
                    }
                }
            }
            92..=96 => {
                // The same through a compact update.
                let j = rng.random_range(0..replicas);
                if i == j {
                    continue;
                }
                let update = peers[j].doc.encode_since(&peers[i].doc.version());
                let applied = peers[i].doc.apply_update(&update).expect("valid update");
                assert!(applied.rejected.is_empty());
                peers[i].follow(&applied.patches);
            }
            _ => {
                // Restart from the encoding (pending ops are in flight again, as a real peer
                // would re-request them).
                let p = &mut peers[i];
                let bytes = p.doc.encode();
                p.doc = Doc::decode(&bytes, p.doc.replica()).expect("decode");
                for op in &sent {
                    if !p
                        .doc
                        .version()
                        .includes(&[(op.id.replica, op.end())].into_iter().collect())
                    {
                        network.push((i, op.clone()));
                    }
                }
            }
        }
        peers[i].check();
    }

    // Heal: deliver everything, in random order.
    while !network.is_empty() {
        let k = rng.random_range(0..network.len());
        let (to, op) = network.swap_remove(k);
        if let Applied::Done { patches, .. } = peers[to].doc.apply(&op).expect("valid op") {
            peers[to].follow(&patches);
        }
    }
    let first = peers[0].doc.text();
    for p in &peers {
        p.check();
        assert_eq!(p.doc.pending_len(), 0, "seed {seed}: nothing left pending");
        assert_eq!(p.doc.text(), first, "seed {seed}: converged");
        assert_eq!(
            p.doc.version(),
            peers[0].doc.version(),
            "seed {seed}: same version"
        );
        // Authorship covers the text exactly.
        let by_author: String = p.doc.authors(0..p.doc.len()).map(|(_, s)| s).collect();
        assert_eq!(by_author, first);
    }
}

#[test]
fn replicas_converge_under_a_hostile_network() {
    for seed in 0..40 {
        run(seed, 2 + (seed as usize % 4), 600);
    }
}

#[test]
#[ignore = "long randomized run: cargo test -p crdt-text --release -- --ignored"]
fn replicas_converge_long_run() {
    for seed in 1000..3000 {
        run(seed, 2 + (seed as usize % 4), 3000);
    }
}

/// Many writers at one place: `n` replicas that saw the same two characters each insert
/// between them, some others answer right after one writer's text (one, with `mixed`, just
/// before it), and receivers get every op in ascending, descending and shuffled replica order
/// (answers before what they answer, too). Everyone converges, and the writers' texts stand
/// in replica order.
fn many_writers(n: usize, answers: usize, mixed: bool, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut base = Doc::new(ReplicaId::from(1));
    let first = base.insert(0, "[]");
    let mut ops = Vec::new();
    for i in 0..n {
        let mut d = Doc::new(ReplicaId::from(1000 + i as u64));
        d.apply(&first).expect("apply");
        ops.push(d.insert(1, &format!("<{i}>")));
    }
    for a in 0..answers {
        let mut d = Doc::new(ReplicaId::from(500 + a as u64 * 1000));
        d.apply(&first).expect("apply");
        let i = rng.random_range(0..n);
        d.apply(&ops[i]).expect("apply");
        let after = 1 + format!("<{i}>").len();
        let at = if mixed && a == answers / 2 { 1 } else { after };
        ops.push(d.insert(at, &format!("({a})")));
    }
    let mut orders = vec![ops.clone(), ops.iter().rev().cloned().collect()];
    let mut shuffled = ops.clone();
    for k in (1..shuffled.len()).rev() {
        shuffled.swap(k, rng.random_range(0..=k));
    }
    orders.push(shuffled);
    let mut texts = Vec::new();
    for order in &orders {
        let mut d = Doc::new(ReplicaId::from(2));
        d.apply(&first).expect("apply");
        for op in order {
            d.apply(op).expect("valid op");
        }
        assert_eq!(d.pending_len(), 0);
        d.assert_invariants();
        texts.push(d.text());
    }
    assert!(
        texts.iter().all(|t| *t == texts[0]),
        "seed {seed}: converged"
    );
    let writers: Vec<usize> = texts[0]
        .split(['<', '>'])
        .filter_map(|s| s.parse().ok())
        .collect();
    assert_eq!(
        writers,
        (0..n).collect::<Vec<_>>(),
        "writers in replica order"
    );
}

#[test]
fn a_thousand_writers_at_one_place_converge_in_any_delivery_order() {
    many_writers(1000, 0, false, 1);
    many_writers(300, 100, false, 2);
    many_writers(300, 100, true, 3);
}
