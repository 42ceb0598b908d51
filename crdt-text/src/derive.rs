//! Origins that follow from the document order, so the encoding need not store them.
//!
//! When a character `x` was inserted, its left origin was the character just before the
//! insertion point, and everything then in the document had a smaller local version than `x`.
//! Characters inserted later got larger versions, and the order never changes. So in the
//! final order, `x`'s left origin is usually *the nearest character before `x` with a smaller
//! version* — always, in a history without concurrency — and likewise its right origin is the
//! nearest character after `x` with a smaller version. Both are computed for all runs in one
//! pass each with a monotonic stack, and the encoding stores one bit per origin when the
//! guess is right.

use crate::Lv;
use crate::tree::{NIL, Span};

/// For each query version in `starts` (ascending; each is in some span), the nearest
/// characters before and after it in document order with a smaller version (`NIL`: none).
pub(crate) fn older_neighbours(spans: &[Span], starts: &[Lv]) -> Vec<(Lv, Lv)> {
    let mut out = vec![(NIL, NIL); starts.len()];
    if starts.is_empty() {
        return out;
    }
    // The queries inside each span, as a range of indexes into `starts`, found through a
    // bitmap of the queried versions with a rank per word: no search per span.
    let words = (starts[starts.len() - 1] as usize) / 64 + 1;
    let mut bits = vec![0u64; words];
    for &x in starts {
        bits[x as usize / 64] |= 1 << (x % 64);
    }
    let mut rank = Vec::with_capacity(words);
    let mut before = 0u32;
    for &w in &bits {
        rank.push(before);
        before += w.count_ones();
    }
    // The index of the first query at or after version `x`.
    let first_from = |x: usize| -> usize {
        let (w, b) = (x / 64, x % 64);
        match bits.get(w) {
            Some(&word) => (rank[w] + (word & ((1u64 << b) - 1)).count_ones()) as usize,
            None => starts.len(),
        }
    };
    let ranges: Vec<std::ops::Range<usize>> = spans
        .iter()
        .map(|s| first_from(s.lv() as usize)..first_from(s.end() as usize))
        .collect();

    // Left to right: a stack of increasing runs of versions `lo..hi` seen so far that are
    // not hidden behind a nearer, smaller one.
    let mut stack: Vec<(Lv, Lv)> = Vec::new();
    for (s, qs) in spans.iter().zip(&ranges) {
        let a = s.lv();
        while let Some(top) = stack.last_mut() {
            if top.0 >= a {
                stack.pop();
            } else {
                top.1 = top.1.min(a);
                break;
            }
        }
        let before_a = stack.last().map_or(NIL, |t| t.1 - 1);
        for q in qs.clone() {
            let x = starts[q];
            out[q].0 = if x == a { before_a } else { x - 1 };
        }
        stack.push((a, s.end()));
    }

    // Right to left: a stack of single versions, increasing from bottom to top.
    let mut stack: Vec<Lv> = Vec::new();
    for (s, qs) in spans.iter().zip(&ranges).rev() {
        for q in qs.clone() {
            let x = starts[q];
            let below = stack.partition_point(|&v| v < x);
            out[q].1 = if below == 0 { NIL } else { stack[below - 1] };
        }
        let a = s.lv();
        while stack.last().is_some_and(|&v| v >= a) {
            stack.pop();
        }
        stack.push(a);
    }
    out
}
