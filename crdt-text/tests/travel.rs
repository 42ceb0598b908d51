//! Time travel: edits, the text at any point with an edit's changes marked, restoring an
//! earlier version as one undoable step, and what others changed since a version.

#![allow(clippy::unwrap_used)]

use crdt_text::{Author, AuthorId, Doc, Mark, Op, ReplicaId, Who};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const T0: u64 = 1_795_000_000;

fn doc(replica: u64, name: &str) -> Doc {
    let mut d = Doc::new(ReplicaId::from(replica));
    d.set_author(Author::new(AuthorId([replica as u8; 16]), name, None));
    d.set_time(T0);
    d
}

fn send(to: &mut Doc, ops: &[Op]) {
    for op in ops {
        to.apply(op).unwrap();
    }
}

fn who(d: &Doc, name: &str) -> Who {
    d.sessions()
        .iter()
        .map(|s| s.who)
        .find(|w| d.author(*w).is_some_and(|a| a.name == name))
        .unwrap()
}

/// Alice writes "hello world"; Bob later replaces "world" by "there" and adds a line.
fn alice_then_bob() -> (Doc, Doc, u64) {
    let mut a = doc(1, "alice");
    let mut b = doc(2, "bob");
    let op = a.insert(0, "hello world");
    send(&mut b, &[op]);
    let alice_done = a.history_len();
    b.set_time(T0 + 3600);
    let ops = vec![b.delete(6, 5), b.insert(6, "there"), b.insert(11, "\nbye")];
    send(&mut a, &ops);
    assert_eq!(a.text(), "hello there\nbye");
    (a, b, alice_done)
}

#[test]
fn edits_cover_the_history_in_order_and_name_their_sessions() {
    let (a, _, alice_done) = alice_then_bob();
    let edits = a.edits();
    let sessions = a.sessions();
    assert_eq!(edits.first().unwrap().from, 0);
    assert_eq!(edits.last().unwrap().through, a.history_len());
    for w in edits.windows(2) {
        assert_eq!(w[0].through, w[1].from, "edits are contiguous");
    }
    // alice typed once; bob deleted, then typed on (the new line continues his typing).
    let kinds: Vec<(usize, bool)> = edits.iter().map(|e| (e.session, e.insert)).collect();
    assert_eq!(kinds, [(1, true), (2, false), (2, true)]);
    assert_eq!(sessions[0].through, alice_done);
    assert_eq!(a.text_upto(alice_done), "hello world");
    assert_eq!(a.text_upto(edits[1].through), "hello ");
    assert_eq!(edits[1].time, T0 + 3600);
}

#[test]
fn past_marks_what_an_edit_inserted_and_deleted() {
    let (a, _, _) = alice_then_bob();
    let edits = a.edits();
    // Bob's deletion of "world": shown in place, marked deleted.
    let deletion = edits[1].from..edits[1].through;
    let del = a.past(edits[1].through, std::slice::from_ref(&deletion));
    assert_eq!(del.text, "hello world");
    assert_eq!(del.marks, [(6..11, Mark::Deleted)]);
    // The whole session of Bob: "there" and the new line inserted (before the deleted
    // "world": typed where it was, in front of its remains), "world" deleted.
    let all: Vec<_> = edits[1..].iter().map(|e| e.from..e.through).collect();
    let session = a.past(a.history_len(), &all);
    assert_eq!(session.text, "hello there\nbyeworld");
    assert_eq!(
        session.marks,
        [(6..15, Mark::Inserted), (15..20, Mark::Deleted)]
    );
}

#[test]
fn restore_is_one_undoable_step_that_keeps_later_edits_by_others() {
    let (mut a, mut b, alice_done) = alice_then_bob();
    let today = a.text();
    let restore = a.restore(alice_done);
    assert_eq!(a.text(), "hello world");
    send(&mut b, &restore);
    assert_eq!(b.text(), "hello world");
    // Bob, who received the restore, types on afterwards.
    let late = b.insert(b.len(), "!");
    send(&mut a, &[late]);
    assert_eq!(a.text(), "hello world!");
    // Undo the restore: Bob's edits come back, his late "!" stays.
    let undo: Vec<Op> = restore.iter().rev().flat_map(|op| a.revert(op)).collect();
    assert_eq!(a.text(), format!("{today}!"));
    send(&mut b, &undo);
    assert_eq!(b.text(), a.text());
    a.assert_invariants();
    b.assert_invariants();
}

#[test]
fn restore_to_the_current_point_changes_nothing() {
    let (mut a, _, _) = alice_then_bob();
    assert!(a.restore(a.history_len()).is_empty());
    assert_eq!(a.text(), "hello there\nbye");
}

#[test]
fn changes_since_name_who_inserted_and_where_they_deleted() {
    let (mut a, b, _) = alice_then_bob();
    let mut c = doc(3, "carol");
    send(&mut c, &a.ops_since(&crdt_text::VersionVector::new()));
    let seen = a.version();
    // While alice is away: carol deletes "hello " and appends; bob's earlier work is seen.
    c.set_time(T0 + 7200);
    let ops = vec![c.delete(0, 6), c.insert(c.len() - 3, "good")];
    send(&mut a, &ops);
    assert_eq!(a.text(), "there\ngoodbye");
    let changes = a.changes_since(&seen);
    let carol = who(&a, "carol");
    let ranges: Vec<_> = changes.iter().map(|c| (c.range.clone(), c.who)).collect();
    assert_eq!(ranges, [(0..0, carol), (6..10, carol)]);
    assert!(changes.iter().all(|c| c.time == T0 + 7200));
    let _ = b;
}

/// Random concurrent edits by three replicas; at random points, restore: the text equals the
/// text at that point on every replica once merged, and reverting the restore brings the
/// text back.
#[test]
fn restore_matches_text_upto_with_concurrent_authors() {
    for seed in 0..40 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut reps = [doc(1, "a"), doc(2, "b"), doc(3, "c")];
        let mut log: Vec<Op> = Vec::new();
        for _ in 0..60 {
            let r = rng.random_range(0..3);
            let d = &mut reps[r];
            let op = if !d.is_empty() && rng.random_bool(0.35) {
                let pos = rng.random_range(0..d.len());
                let n = rng.random_range(1..=(d.len() - pos).min(4));
                d.delete(pos, n)
            } else {
                let pos = rng.random_range(0..=d.len());
                d.insert(pos, ["x", "yz", "\n", "éé"][rng.random_range(0..4)])
            };
            log.push(op);
            if rng.random_bool(0.3) {
                for d in reps.iter_mut() {
                    let missing = d.version();
                    for op in &log {
                        if !missing.contains(op.id) {
                            d.apply(op).unwrap();
                        }
                    }
                }
            }
        }
        for d in reps.iter_mut() {
            for op in &log {
                if !d.version().contains(op.id) {
                    d.apply(op).unwrap();
                }
            }
        }
        let a = &mut reps[0];
        let before = a.text();
        let through = rng.random_range(0..=a.history_len());
        let want = a.text_upto(through);
        let restore = a.restore(through);
        assert_eq!(a.text(), want, "seed {seed}: restore to {through}");
        let undo: Vec<Op> = restore.iter().rev().flat_map(|op| a.revert(op)).collect();
        assert_eq!(a.text(), before, "seed {seed}: undo of the restore");
        a.assert_invariants();
        let mut all = restore;
        all.extend(undo);
        let (first, rest) = reps.split_at_mut(1);
        for d in rest {
            send(d, &all);
            assert_eq!(d.text(), first[0].text(), "seed {seed}: replicas agree");
        }
    }
}
