//! Recorded history: authors and times travel with the ops and in the encodings, and the
//! queries (sessions, text at a session or a moment, blame) agree with replaying the ops.

#![allow(clippy::unwrap_used)]

use crdt_text::{
    Applied, Author, AuthorId, Doc, Op, ReplicaId, SESSION_GAP, TIME_GRAIN, VersionVector, Who,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const T0: u64 = 1_795_000_000; // 2026-11-19

fn author(n: u8, name: &str) -> Author {
    Author::new(
        AuthorId([n; 16]),
        name,
        Some(&format!("{name}@example.org")),
    )
}

fn doc(replica: u64, who: Option<&Author>) -> Doc {
    let mut d = Doc::new(ReplicaId::from(replica));
    if let Some(a) = who {
        d.set_author(a.clone());
    }
    d
}

/// Sends ops through their wire form (postcard), as peers and the op log do.
fn send(to: &mut Doc, ops: &[Op]) {
    for op in ops {
        let bytes = postcard::to_stdvec(op).unwrap();
        let op: Op = postcard::from_bytes(&bytes).unwrap();
        to.apply(&op).unwrap();
    }
}

fn alice() -> Author {
    author(1, "Alice")
}

fn bob() -> Author {
    author(2, "Bob")
}

/// Alice writes two lines; Bob, an hour later, edits the second and adds a third; Alice's
/// second machine (another replica, the same author) fixes the first line.
fn two_authors() -> (Doc, Doc) {
    let mut a = doc(1, Some(&alice()));
    let mut b = doc(2, Some(&bob()));
    a.set_time(T0);
    let mut ops = vec![a.insert(0, "hello world\n")];
    a.set_time(T0 + 5); // within the grain: no new stamp
    ops.push(a.insert(12, "second line\n"));
    send(&mut b, &ops);
    b.set_time(T0 + 3600);
    let ops = vec![
        b.delete(12, 6),
        b.insert(12, "2nd"),
        b.insert(b.len(), "bob's line\n"),
    ];
    send(&mut a, &ops);
    let mut a2 = Doc::decode(&a.encode(), ReplicaId::from(3)).unwrap();
    a2.set_author(alice());
    a2.set_time(T0 + 7200);
    let fix = a2.insert(0, "H");
    let fix2 = a2.delete(1, 1);
    send(&mut a, &[fix.clone(), fix2.clone()]);
    send(&mut b, &[fix, fix2]);
    assert_eq!(a.text(), "Hello world\n2nd line\nbob's line\n");
    assert_eq!(a.text(), b.text());
    (a, b)
}

#[test]
fn authors_and_times_travel_with_ops_and_in_encodings() {
    let (a, b) = two_authors();
    for d in [
        &a,
        &b,
        &Doc::decode(&a.encode(), ReplicaId::from(9)).unwrap(),
    ] {
        assert_eq!(d.author_of(ReplicaId::from(1)), Some(&alice()));
        assert_eq!(d.author_of(ReplicaId::from(2)), Some(&bob()));
        assert_eq!(d.author_of(ReplicaId::from(3)), Some(&alice()));
        assert_eq!(d.blame(), a.blame());
    }
    // An update carries them too, and so does a whole document merged into a non-empty one.
    let mut late = doc(7, None);
    late.apply(&a.ops_since(&VersionVector::new())[0]).unwrap();
    late.apply_update(&a.encode_since(&late.version())).unwrap();
    assert_eq!(late.blame(), a.blame());
    let mut merged = doc(8, None);
    let _ = merged.insert(0, "x");
    merged.apply_update(&a.encode()).unwrap();
    assert_eq!(merged.author_of(ReplicaId::from(2)), Some(&bob()));
}

#[test]
fn sessions_group_one_authors_edits_and_number_them_oldest_first() {
    let (a, _) = two_authors();
    let s = a.sessions();
    let alice = Who::Author(AuthorId([1; 16]));
    let bob = Who::Author(AuthorId([2; 16]));
    let got: Vec<_> = s
        .iter()
        .map(|s| {
            (
                s.number,
                s.who,
                s.start - T0,
                s.end - T0,
                s.inserted,
                s.deleted,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, alice, 0, 0, 24, 0),
            (2, bob, 3600, 3600, 14, 6),
            (3, alice, 7200, 7200, 1, 1),
        ]
    );
    assert_eq!(a.text_after(&s[0]), "hello world\nsecond line\n");
    assert_eq!(a.text_after(&s[1]), "hello world\n2nd line\nbob's line\n");
    assert_eq!(a.text_after(&s[2]), a.text());
    assert_eq!(a.text_at_time(T0 - 1), "");
    assert_eq!(a.text_at_time(T0 + 3599), "hello world\nsecond line\n");
    assert_eq!(a.text_at_time(T0 + 99_999), a.text());
}

#[test]
fn edits_within_the_gap_are_one_session_and_numbers_never_change() {
    let mut a = doc(1, Some(&alice()));
    for k in 0..10 {
        a.set_time(T0 + k * (SESSION_GAP / 3));
        let _ = a.insert(a.len(), "ab");
    }
    let before = a.sessions();
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0].end, T0 + 9 * (SESSION_GAP / 3));
    a.set_time(T0 + 100 * SESSION_GAP);
    let _ = a.delete(0, 2);
    let after = a.sessions();
    assert_eq!(after.len(), 2);
    assert_eq!((after[0].number, after[0].start), (1, before[0].start));
    assert_eq!((after[1].number, after[1].deleted), (2, 2));
}

#[test]
fn a_keystroke_carries_no_time_until_the_clock_moves_a_grain() {
    let mut a = doc(1, None);
    a.set_time(T0);
    assert_eq!(a.insert(0, "a").time(), Some(T0));
    a.set_time(T0 + TIME_GRAIN - 1);
    assert_eq!(a.insert(1, "b").time(), None);
    a.set_time(T0 + TIME_GRAIN);
    assert_eq!(a.insert(2, "c").time(), Some(T0 + TIME_GRAIN));
    a.set_time(T0);
    assert_eq!(
        a.delete(0, 1).time(),
        Some(T0),
        "a clock set back is recorded"
    );
    // The author rides on the next op only.
    a.set_author(alice());
    assert_eq!(a.insert(0, "x").author(), Some(&alice()));
    assert_eq!(a.insert(0, "y").author(), None);
}

#[test]
fn blame_names_every_characters_author_and_each_lines_last_change() {
    let (a, _) = two_authors();
    let alice = Who::Author(AuthorId([1; 16]));
    let bob = Who::Author(AuthorId([2; 16]));
    let blame = a.blame();
    let chars: Vec<_> = blame
        .chars
        .iter()
        .map(|r| (r.len, r.who, r.time - T0))
        .collect();
    // "H" (alice, later) | "ello world\n" (alice) | "2nd" (bob) | " line\n" (alice) |
    // "bob's line\n" (bob)
    assert_eq!(
        chars,
        [
            (1, alice, 7200),
            (11, alice, 0),
            (3, bob, 3600),
            (6, alice, 0),
            (11, bob, 3600)
        ]
    );
    let lines: Vec<_> = blame
        .lines
        .iter()
        .map(|l| (l.who, l.time - T0, l.authors.clone()))
        .collect();
    assert_eq!(
        lines,
        [
            (alice, 7200, vec![alice]),
            (bob, 3600, vec![alice, bob]),
            (bob, 3600, vec![bob]),
        ]
    );
    assert_eq!(blame.authors(), [(alice, 18), (bob, 14)]);
}

#[test]
fn blame_after_undo_names_who_undid() {
    let mut a = doc(1, Some(&alice()));
    let mut b = doc(2, Some(&bob()));
    a.set_time(T0);
    let typed = a.insert(0, "abc");
    send(&mut b, std::slice::from_ref(&typed));
    b.set_time(T0 + 100);
    let cut = b.delete(1, 1);
    send(&mut a, std::slice::from_ref(&cut));
    b.set_time(T0 + 200);
    let undo = b.revert(&cut);
    send(&mut a, &undo);
    assert_eq!(a.text(), "abc");
    let who: Vec<_> = a
        .blame()
        .chars
        .iter()
        .map(|r| (r.len, r.time - T0))
        .collect();
    assert_eq!(
        who,
        [(1, 0), (1, 200), (1, 0)],
        "the restored b is bob's undo"
    );
    assert_eq!(a.blame().lines.len(), 1);
    assert_eq!(a.blame().lines[0].time, T0 + 200);
}

#[test]
fn a_deletion_inside_a_line_is_its_last_change() {
    let mut a = doc(1, Some(&alice()));
    let mut b = doc(2, Some(&bob()));
    a.set_time(T0);
    send(&mut b, &[a.insert(0, "one\ntwo\n")]);
    b.set_time(T0 + 50);
    send(&mut a, &[b.delete(5, 1)]);
    let lines = a.blame().lines;
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0].time, lines[1].time), (T0, T0 + 50));
    assert_eq!(lines[1].who, Who::Author(AuthorId([2; 16])));
    assert_eq!(lines[1].authors, [Who::Author(AuthorId([1; 16]))]);
}

#[test]
fn a_deleted_whole_line_changes_no_other_line_but_a_deleted_word_does() {
    let mut a = doc(1, Some(&alice()));
    let mut b = doc(2, Some(&bob()));
    a.set_time(T0);
    send(&mut b, &[a.insert(0, "one\ntwo\nthree\n")]);
    b.set_time(T0 + 50);
    send(&mut a, &[b.delete(0, 4)]); // "one\n"
    let times: Vec<_> = a.blame().lines.iter().map(|l| l.time - T0).collect();
    assert_eq!(times, [0, 0]);
    b.set_time(T0 + 200);
    send(&mut a, &[b.delete(4, 2)]); // "th" of "three": the line's start
    let times: Vec<_> = a.blame().lines.iter().map(|l| l.time - T0).collect();
    assert_eq!(times, [0, 200]);
}

/// Documents written in format 2 (before history) load: every time unknown, every edit its
/// replica's.
#[test]
fn format_2_documents_load_without_history() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    let d = Doc::decode(&read("v2-doc.bin"), ReplicaId::from(5)).unwrap();
    assert_eq!(d.text().as_bytes(), read("v2-doc.txt"));
    d.assert_invariants();
    assert!(d.blame().chars.iter().all(|r| r.time == 0));
    assert!(
        d.blame()
            .chars
            .iter()
            .all(|r| matches!(r.who, Who::Replica(_)))
    );
    assert_eq!(d.text_at_time(0), d.text());
    let mut base = Doc::decode(&read("v2-base.bin"), ReplicaId::from(6)).unwrap();
    base.apply_update(&read("v2-update.bin")).unwrap();
    assert_eq!(base.text().as_bytes(), read("v2-merged.txt"));
    // Re-encoded in format 3, it is the same document; new edits get times.
    let mut again = Doc::decode(&d.encode(), ReplicaId::from(5)).unwrap();
    assert_eq!(again.text(), d.text());
    again.set_time(T0);
    let _ = again.insert(0, "new ");
    assert_eq!(again.sessions().last().unwrap().start, T0);
}

// ---- randomized ---------------------------------------------------------------------------

/// Replays this copy's ops in its own order up to `through` ops on a fresh replica.
fn replay_prefix(d: &Doc, through: u64) -> String {
    let mut fresh = Doc::new(ReplicaId::from(u64::MAX));
    let mut done = 0;
    for op in d.ops_since(&VersionVector::new()) {
        if done >= through {
            break;
        }
        done += op.len();
        assert!(done <= through, "a session ends inside an op");
        assert!(matches!(fresh.apply(&op).unwrap(), Applied::Done { .. }));
    }
    fresh.text()
}

/// Who and when per character, as the observer saw the ops arrive.
type Shadow = Vec<(Who, u64)>;

fn fuzz(seed: u64, steps: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let authors = [Some(alice()), Some(alice()), Some(bob()), None];
    let mut reps: Vec<Doc> = authors
        .iter()
        .enumerate()
        .map(|(i, a)| doc(i as u64 + 1, a.as_ref()))
        .collect();
    // Each replica's recorded time (what its next op without a stamp has).
    let mut eff = [0u64; 4];
    let mut observer = Doc::new(ReplicaId::from(100));
    let mut shadow: Shadow = Vec::new();
    let mut undo: Vec<Vec<Op>> = vec![Vec::new(); 4];
    let mut clock = T0;
    let mut earlier_sessions = Vec::new();
    for step in 0..steps {
        clock += match rng.random_range(0..10) {
            0 => rng.random_range(SESSION_GAP..10 * SESSION_GAP),
            1..=3 => rng.random_range(0..3 * TIME_GRAIN),
            _ => 0,
        };
        let i = rng.random_range(0..4);
        let d = &mut reps[i];
        d.set_time(clock);
        let ops: Vec<Op> = match rng.random_range(0..10) {
            0..=4 => {
                let pos = rng.random_range(0..=d.len());
                let n = rng.random_range(1..5);
                let text: String = (0..n)
                    .map(|_| ['a', 'b', '\n', 'é', '🦀'][rng.random_range(0..5)])
                    .collect();
                vec![d.insert(pos, &text)]
            }
            5 | 6 if !d.is_empty() => {
                let pos = rng.random_range(0..d.len());
                let n = rng.random_range(1..=(d.len() - pos).min(4));
                vec![d.delete(pos, n)]
            }
            7 => match undo[i].pop() {
                Some(op) => d.revert(&op),
                None => Vec::new(),
            },
            8 => {
                // Catch up with another replica through an update.
                let j = rng.random_range(0..4);
                if j != i {
                    let bytes = reps[j].encode_since(&reps[i].version());
                    reps[i].apply_update(&bytes).unwrap();
                }
                Vec::new()
            }
            _ => {
                // Restart: the document reloads from its encoding, same replica.
                if rng.random_bool(0.3) {
                    let r = reps[i].replica();
                    reps[i] = Doc::decode(&reps[i].encode(), r).unwrap();
                }
                let j = rng.random_range(0..4);
                if j != i {
                    let ops = reps[j].ops_since(&reps[i].version());
                    send(&mut reps[i], &ops);
                }
                Vec::new()
            }
        };
        let ops: Vec<Op> = ops.into_iter().filter(|op| !op.is_empty()).collect();
        undo[i].extend(ops.iter().cloned());
        // The observer gets every op in the order they were made (a causal order).
        for op in &ops {
            if let Some(t) = op.time() {
                eff[i] = t;
            }
            let who = match &authors[i] {
                Some(a) => Who::Author(a.id),
                None => Who::Replica(ReplicaId::from(i as u64 + 1)),
            };
            let bytes = postcard::to_stdvec(op).unwrap();
            let Applied::Done { patches, .. } = observer
                .apply(&postcard::from_bytes::<Op>(&bytes).unwrap())
                .unwrap()
            else {
                panic!("step {step}: the observer gets ops in causal order");
            };
            for p in patches {
                shadow.splice(p.pos..p.pos + p.del, (0..p.ins).map(|_| (who, eff[i])));
            }
        }
        if step % 97 == 0 {
            // Numbers never change as history grows.
            let now = observer.sessions();
            for (old, new) in earlier_sessions.iter().zip(&now) {
                let (old, new): (&crdt_text::Session, &crdt_text::Session) = (old, new);
                assert_eq!(
                    (old.number, old.who, old.start),
                    (new.number, new.who, new.start)
                );
            }
            earlier_sessions = now;
        }
    }
    // Everyone catches up.
    for i in 0..4 {
        for j in 0..4 {
            if i != j {
                let bytes = reps[j].encode_since(&reps[i].version());
                reps[i].apply_update(&bytes).unwrap();
            }
        }
    }
    let blame = observer.blame();
    let per_char: Shadow = blame
        .chars
        .iter()
        .flat_map(|r| std::iter::repeat_n((r.who, r.time), r.len))
        .collect();
    assert_eq!(per_char, shadow, "blame of seed {seed}");
    let decoded = Doc::decode(&observer.encode(), ReplicaId::from(100)).unwrap();
    assert_eq!(decoded.sessions(), observer.sessions());
    for d in reps.iter().chain([&observer, &decoded]) {
        assert_eq!(d.text(), observer.text());
        let mine: Shadow = d
            .blame()
            .chars
            .iter()
            .flat_map(|r| std::iter::repeat_n((r.who, r.time), r.len))
            .collect();
        if let Some(k) = (0..mine.len()).find(|&k| mine[k] != per_char[k]) {
            panic!(
                "{:?}: char {k} is {:?}, the observer says {:?}",
                d.replica(),
                mine[k],
                per_char[k]
            );
        }
        assert_eq!(d.blame(), blame, "every copy blames alike");
        let sessions = d.sessions();
        assert!(sessions.len() > 1);
        for s in &sessions {
            assert_eq!(
                d.text_after(s),
                replay_prefix(d, s.through),
                "session {s:?}"
            );
        }
        assert_eq!(d.text_at_time(clock), d.text());
    }
    assert_eq!(observer.text_at_time(T0 - 1), "");
}

#[test]
fn history_matches_replay_with_concurrent_authors_merges_and_undo() {
    for seed in 0..6 {
        fuzz(seed, 600);
    }
}

#[test]
#[ignore = "long randomized run: cargo test -p crdt-text --release --test history -- --ignored"]
fn history_matches_replay_long_run() {
    // Long: each seed takes seconds in release; runs of 15 and 11 minutes (stopped by a
    // timeout on a shared 2-core machine) found no failure.
    for seed in 100..160 {
        fuzz(seed, 3000);
    }
}
