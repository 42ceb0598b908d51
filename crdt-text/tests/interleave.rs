//! Concurrent runs typed at the same place never interleave (Fugue's guarantees), and
//! anchors and authorship behave across merges.

use crdt_text::{Anchor, Bias, Doc, Op, ReplicaId};

fn doc(id: u64) -> Doc {
    Doc::new(ReplicaId::from(id))
}

fn sync_all(docs: &mut [Doc]) {
    for _ in 0..2 {
        for i in 0..docs.len() {
            for j in 0..docs.len() {
                if i != j {
                    let ops = docs[j].ops_since(&docs[i].version());
                    for op in ops {
                        docs[i].apply(&op).expect("apply");
                    }
                }
            }
        }
    }
    let text = docs[0].text();
    assert!(docs.iter().all(|d| d.text() == text), "converged");
}

/// Types `text` one char at a time, each after the previous (forward typing).
fn type_forward(d: &mut Doc, pos: usize, text: &str) {
    for (k, ch) in text.chars().enumerate() {
        let _ = d.insert(pos + k, &ch.to_string());
    }
}

/// Types `text` one char at a time, each inserted *before* the previous (backward typing:
/// the cursor stays put while the text grows to its right).
fn type_backward(d: &mut Doc, pos: usize, text: &str) {
    for ch in text.chars().rev() {
        let _ = d.insert(pos, &ch.to_string());
    }
}

#[test]
fn forward_runs_at_the_same_place_stay_contiguous() {
    for (a_id, b_id) in [(1, 2), (2, 1)] {
        let mut docs = [doc(a_id), doc(b_id)];
        let base = docs[0].insert(0, "[]");
        docs[1].apply(&base).unwrap();
        type_forward(&mut docs[0], 1, "hello");
        type_forward(&mut docs[1], 1, "world");
        sync_all(&mut docs);
        let t = docs[0].text();
        assert!(
            t == "[helloworld]" || t == "[worldhello]",
            "interleaved: {t}"
        );
    }
}

#[test]
fn backward_runs_at_the_same_place_stay_contiguous() {
    for (a_id, b_id) in [(1, 2), (2, 1)] {
        let mut docs = [doc(a_id), doc(b_id)];
        let base = docs[0].insert(0, "[]");
        docs[1].apply(&base).unwrap();
        type_backward(&mut docs[0], 1, "hello");
        type_backward(&mut docs[1], 1, "world");
        sync_all(&mut docs);
        let t = docs[0].text();
        assert!(
            t == "[helloworld]" || t == "[worldhello]",
            "interleaved: {t}"
        );
    }
}

#[test]
fn three_replicas_keep_a_before_b() {
    // Replica 3 inserts "b"; replica 1 sees it and inserts "a" before it; replica 2, not
    // having seen "b", inserts "x" at 0. "a" and "b" must stay adjacent. Try every order of
    // replica ids, since ties are broken by id.
    for ids in [
        [1, 2, 3],
        [3, 2, 1],
        [2, 3, 1],
        [1, 3, 2],
        [2, 1, 3],
        [3, 1, 2],
    ] {
        let mut r1 = doc(ids[0]);
        let mut r2 = doc(ids[1]);
        let mut r3 = doc(ids[2]);
        let b = r3.insert(0, "b");
        r1.apply(&b).unwrap();
        let a = r1.insert(0, "a");
        let x = r2.insert(0, "x");
        for (d, ops) in [
            (&mut r1, vec![&x]),
            (&mut r2, vec![&b, &a]),
            (&mut r3, vec![&a, &x]),
        ] {
            for op in ops {
                d.apply(op).unwrap();
            }
        }
        let t = r1.text();
        assert_eq!(r2.text(), t);
        assert_eq!(r3.text(), t);
        assert!(
            t == "xab" || t == "abx",
            "ids {ids:?}: a and b separated: {t}"
        );
    }
}

#[test]
fn concurrent_inserts_into_a_deleted_region_converge() {
    let mut docs = [doc(1), doc(2), doc(3)];
    let op = docs[0].insert(0, "abcdef");
    docs[1].apply(&op).unwrap();
    docs[2].apply(&op).unwrap();
    let _ = docs[0].delete(1, 4);
    type_forward(&mut docs[1], 3, "XY");
    type_backward(&mut docs[2], 3, "PQ");
    sync_all(&mut docs);
    let t = docs[0].text();
    assert!(t == "aXYPQf" || t == "aPQXYf", "got {t}");
}

#[test]
fn anchors_stay_between_the_same_characters() {
    let mut a = doc(1);
    let mut b = doc(2);
    let op = a.insert(0, "hello world");
    b.apply(&op).unwrap();
    // A cursor just after "hello" on a, and a selection over "world".
    let cursor = a.anchor(5, Bias::Left);
    let sel_start = a.anchor(6, Bias::Right);
    let sel_end = a.anchor(11, Bias::Left);
    // b edits around them concurrently; a edits too.
    let ops_b = [b.insert(0, ">> "), b.insert(b.len(), "!"), b.insert(8, ",")];
    let op_a = a.insert(0, "¡");
    for op in &ops_b {
        a.apply(op).unwrap();
    }
    b.apply(&op_a).unwrap();
    assert_eq!(a.text(), "¡>> hello, world!");
    assert_eq!(a.text(), b.text());
    for d in [&a, &b] {
        assert_eq!(d.resolve(&cursor), 9, "cursor after 'hello', before ','");
        let (s, e) = (d.resolve(&sel_start), d.resolve(&sel_end));
        assert_eq!(d.slice(s..e), "world");
    }
    // Deleting the anchored character leaves the anchor where it was.
    let del = b.delete(4, 5); // "hello"
    a.apply(&del).unwrap();
    assert_eq!(a.text(), "¡>> , world!");
    assert_eq!(a.resolve(&cursor), 4);
    // Anchors round-trip through serde and work on a replica that decoded the document.
    let wire = postcard::to_allocvec(&cursor).unwrap();
    let back: Anchor = postcard::from_bytes(&wire).unwrap();
    let loaded = Doc::decode(&a.encode(), ReplicaId::from(9)).unwrap();
    assert_eq!(loaded.resolve(&back), 4);
    assert_eq!(loaded.resolve(&Anchor::START), 0);
    assert_eq!(loaded.resolve(&Anchor::END), loaded.len());
}

#[test]
fn text_inserted_at_a_left_biased_anchor_lands_after_it() {
    let mut a = doc(1);
    let mut b = doc(2);
    b.apply(&a.insert(0, "ab")).unwrap();
    let left = a.anchor(1, Bias::Left);
    let right = a.anchor(1, Bias::Right);
    a.apply(&b.insert(1, "XYZ")).unwrap();
    assert_eq!(a.text(), "aXYZb");
    assert_eq!(a.resolve(&left), 1);
    assert_eq!(a.resolve(&right), 4);
}

#[test]
fn authorship_follows_merges() {
    let mut a = doc(0xA);
    let mut b = doc(0xB);
    b.apply(&a.insert(0, "hello world")).unwrap();
    a.apply(&b.insert(5, " there")).unwrap();
    b.apply(&a.delete(0, 1)).unwrap();
    a.apply(&b.insert(0, "H")).unwrap();
    assert_eq!(a.text(), "Hello there world");
    for d in [&a, &b] {
        let runs: Vec<(u64, String)> = d
            .authors(0..d.len())
            .map(|(r, s)| (r.as_u64(), s.to_string()))
            .collect();
        let mut merged: Vec<(u64, String)> = Vec::new();
        for (r, s) in runs {
            match merged.last_mut() {
                Some((lr, ls)) if *lr == r => ls.push_str(&s),
                _ => merged.push((r, s)),
            }
        }
        assert_eq!(
            merged,
            vec![
                (0xB, "H".to_string()),
                (0xA, "ello".to_string()),
                (0xB, " there".to_string()),
                (0xA, " world".to_string())
            ]
        );
        assert_eq!(d.author_at(0), Some(ReplicaId::from(0xB)));
        assert_eq!(d.author_at(1), Some(ReplicaId::from(0xA)));
        assert_eq!(d.author_at(d.len()), None);
    }
}

#[test]
fn lines_and_slices_with_any_unicode() {
    let mut d = doc(1);
    let _ = d.insert(0, "héllo 🦀\r\nдругой\n\n日本語 e\u{301}");
    assert_eq!(d.line_count(), 4);
    assert_eq!(d.line_to_char(0), 0);
    assert_eq!(d.line_to_char(1), 9);
    assert_eq!(d.line_to_char(2), 16);
    assert_eq!(d.line_to_char(3), 17);
    assert_eq!(d.line_to_char(4), d.len());
    assert_eq!(d.char_to_line(8), 0); // the '\n' of "\r\n" belongs to line 0
    assert_eq!(d.char_to_line(9), 1);
    assert_eq!(d.char_to_line(d.len()), 3);
    assert_eq!(d.slice(6..7), "🦀");
    assert_eq!(d.char_at(17), Some('日'));
    let _ = d.delete(7, 2); // "\r\n"
    assert_eq!(d.line_count(), 3);
    assert_eq!(d.slice(0..13), "héllo 🦀другой");
    let pieces: Vec<&str> = d.chunks(0..d.len()).collect();
    assert_eq!(pieces.concat(), d.text());
}

#[test]
fn revert_undoes_only_own_edits() {
    let mut a = doc(1);
    let mut b = doc(2);
    let typed = a.insert(0, "hello");
    b.apply(&typed).unwrap();
    a.apply(&b.insert(5, " world")).unwrap();
    a.apply(&b.insert(2, "-")).unwrap(); // inside a's word: "he-llo world"
    // Undo a's typing: b's text stays.
    let undo = a.revert(&typed);
    for op in &undo {
        b.apply(op).unwrap();
    }
    assert_eq!(a.text(), "- world");
    assert_eq!(b.text(), a.text());
    // Redo: reverting the undo brings the text back where it was.
    let redo: Vec<Op> = undo.iter().flat_map(|op| a.revert(op)).collect();
    for op in &redo {
        b.apply(op).unwrap();
    }
    assert_eq!(a.text(), "he-llo world");
    assert_eq!(b.text(), a.text());
}

#[test]
fn reading_inside_a_long_non_ascii_run() {
    // One insert of a long CJK/emoji text, then reads, edits and a round trip through
    // encode/decode: slices come from the right place.
    let line = "日本語のテキスト🦀 e\u{301} ascii tail\n";
    let text: String = line.repeat(500);
    let mut d = doc(1);
    let _ = d.insert(0, &text);
    let chars: Vec<char> = text.chars().collect();
    for start in [0, 1, 63, 64, 65, 1000, 7000, chars.len() - 5] {
        let want: String = chars[start..start + 5].iter().collect();
        assert_eq!(d.slice(start..start + 5), want, "slice at {start}");
    }
    let _ = d.insert(3000, "ASCII");
    let _ = d.delete(100, 50);
    let loaded = Doc::decode(&d.encode(), ReplicaId::from(2)).unwrap();
    assert_eq!(loaded.text(), d.text());
    for start in [0, 99, 100, 2950, 2955, 6000] {
        assert_eq!(loaded.slice(start..start + 7), d.slice(start..start + 7));
    }
}
