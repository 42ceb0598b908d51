//! The document order: a B-tree of [`Span`]s.
//!
//! Every character ever inserted (visible or deleted) sits in the tree in document order, named
//! by its local version ([`Lv`]). Consecutive local versions that sit next to each other and share
//! their deleted flag form one [`Span`], so typing a sentence costs one entry, not one per
//! character. Leaves hold up to [`LEAF_CAP`] spans; internal nodes hold up to [`NODE_CAP`]
//! children together with each child's [`Sum`] (items, visible chars, visible newlines), so a
//! position in chars, in items (including tombstones) or in lines is found in `O(log n)`.
//!
//! Leaves and nodes live in arenas and point to their parents, and an index maps local versions to
//! leaves: a remote op names characters by id, and the index plus a walk up the parents turns
//! that into a position in `O(log n)`.

use std::cell::Cell;
use std::collections::BTreeMap;

use crate::Lv;

mod check;
mod edit;
mod index;
mod lazy;
mod search;
mod split;

/// Spans per leaf.
pub(crate) const LEAF_CAP: usize = 32;
/// Children per internal node.
pub(crate) const NODE_CAP: usize = 32;
/// "No node" / "no item".
pub(crate) const NIL: u32 = u32::MAX;
const DELETED: u32 = 1 << 31;
/// The longest span the tree stores (the top bit of the length is the deleted flag).
pub(crate) const MAX_SPAN: u32 = DELETED - 1;

/// Consecutive characters `lv .. lv + len`, in document order, all visible or all deleted.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    lv: Lv,
    len_flags: u32,
}

impl Span {
    pub(crate) fn new(lv: Lv, len: u32, deleted: bool) -> Span {
        debug_assert!(len <= MAX_SPAN);
        Span {
            lv,
            len_flags: len | if deleted { DELETED } else { 0 },
        }
    }
    pub(crate) fn lv(self) -> Lv {
        self.lv
    }
    pub(crate) fn len(self) -> u32 {
        self.len_flags & !DELETED
    }
    pub(crate) fn end(self) -> Lv {
        self.lv + self.len()
    }
    pub(crate) fn deleted(self) -> bool {
        self.len_flags & DELETED != 0
    }
    fn visible_len(self) -> u32 {
        if self.deleted() { 0 } else { self.len() }
    }
    /// The part `from .. to` (offsets within the span), same flag.
    fn part(self, from: u32, to: u32) -> Span {
        Span::new(self.lv + from, to - from, self.deleted())
    }
    fn can_append(self, next: Span) -> bool {
        self.end() == next.lv
            && self.deleted() == next.deleted()
            && self.len() + next.len() <= MAX_SPAN
    }
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let del = if self.deleted() { "x" } else { "" };
        write!(f, "{}{}..{}", del, self.lv, self.end())
    }
}

/// What a subtree holds: all items (including tombstones), visible chars, visible newlines.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Sum {
    pub(crate) items: u32,
    pub(crate) chars: u32,
    pub(crate) lines: u32,
}

impl Sum {
    fn plus(self, o: Sum) -> Sum {
        Sum {
            items: self.items.wrapping_add(o.items),
            chars: self.chars.wrapping_add(o.chars),
            lines: self.lines.wrapping_add(o.lines),
        }
    }
    fn minus(self, o: Sum) -> Sum {
        Sum {
            items: self.items.wrapping_sub(o.items),
            chars: self.chars.wrapping_sub(o.chars),
            lines: self.lines.wrapping_sub(o.lines),
        }
    }
}

/// Newlines among the characters `lv .. lv + len`, given the sorted local versions of all
/// inserted newlines.
pub(crate) fn count_newlines(newlines: &[Lv], lv: Lv, len: u32) -> u32 {
    if newlines.is_empty() {
        return 0;
    }
    let a = newlines.partition_point(|&x| x < lv);
    let end = lv + len;
    let rest = &newlines[a..];
    // Usually zero or a few: scan a little before searching.
    match rest.iter().take(8).position(|&x| x >= end) {
        Some(k) => k as u32,
        None if rest.len() <= 8 => rest.len() as u32,
        None => rest.partition_point(|&x| x < end) as u32,
    }
}

fn span_sum(s: Span, newlines: &[Lv]) -> Sum {
    if s.deleted() {
        Sum {
            items: s.len(),
            chars: 0,
            lines: 0,
        }
    } else {
        Sum {
            items: s.len(),
            chars: s.len(),
            lines: count_newlines(newlines, s.lv, s.len()),
        }
    }
}

#[derive(Clone)]
struct Leaf {
    /// Room for a few extra spans: an edit may overflow a leaf briefly before it splits.
    spans: [Span; LEAF_CAP + 4],
    n: usize,
    parent: u32,
    /// This leaf's position among its parent's children.
    slot: u32,
    prev: u32,
    next: u32,
}

#[derive(Clone)]
struct Node {
    children: [u32; NODE_CAP + 1],
    sums: [Sum; NODE_CAP + 1],
    n: usize,
    parent: u32,
    /// This node's position among its parent's children.
    slot: u32,
}

/// A point between two items: before span `idx`'s item `off` (`off == len` is just after the
/// span; `idx == n` is the end of the leaf).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Cursor {
    pub(crate) leaf: u32,
    pub(crate) idx: usize,
    pub(crate) off: u32,
}

/// A leaf found by the last search: where it starts and how many visible chars it holds.
#[derive(Clone, Copy, Debug)]
struct Hint {
    leaf: u32,
    /// Visible chars before the leaf.
    start: u32,
    /// Visible chars in the leaf.
    chars: u32,
    /// The tree's epoch when this was true.
    epoch: u64,
}

impl Hint {
    const NONE: Hint = Hint {
        leaf: 0,
        start: 0,
        chars: 0,
        epoch: u64::MAX,
    };
}

/// See the module docs.
#[derive(Clone)]
pub(crate) struct Tree {
    leaves: Vec<Leaf>,
    nodes: Vec<Node>,
    root: u32,
    /// 0: the root is a leaf.
    height: u32,
    total: Sum,
    /// Local version → leaf holding it: each key covers the versions up to the next key.
    index: BTreeMap<Lv, u32>,
    /// The value of the index's last entry (where fresh versions go), or [`NIL`].
    index_last: u32,
    /// Changes on every edit: a cursor saved at one epoch is valid while it is unchanged.
    epoch: u64,
    /// The leaf of the last search, valid while its epoch is the tree's (edits inside that
    /// leaf keep it valid: they do not move its start). Most edits land near the previous
    /// one, and then need no descent from the root.
    hint: Cell<Hint>,
    /// Where [`Tree::locate`] last found an item: `(leaf, span index)`, checked before use.
    found: Cell<(u32, usize)>,
    /// Sums not yet added to the nodes (see `lazy.rs`).
    deferred: lazy::Deferred,
}

impl Tree {
    pub(crate) fn new() -> Tree {
        Tree {
            leaves: vec![Leaf {
                spans: [Span::default(); LEAF_CAP + 4],
                n: 0,
                parent: NIL,
                slot: 0,
                prev: NIL,
                next: NIL,
            }],
            nodes: Vec::new(),
            root: 0,
            height: 0,
            total: Sum::default(),
            index: BTreeMap::new(),
            index_last: NIL,
            epoch: 0,
            hint: Cell::new(Hint::NONE),
            found: Cell::new((0, 0)),
            deferred: lazy::Deferred::NONE,
        }
    }

    /// Builds a tree from spans in document order (as decoded), filling leaves.
    pub(crate) fn from_spans(spans: &[Span], newlines: &[Lv]) -> Tree {
        let mut tree = Tree::new();
        if spans.is_empty() {
            return tree;
        }
        tree.leaves.clear();
        let fill = LEAF_CAP - LEAF_CAP / 8;
        let mut level: Vec<(u32, Sum)> = Vec::with_capacity(spans.len() / fill + 1);
        // Index entries packed as `lv << 32 | leaf`, so that sorting compares plain numbers.
        let mut index_entries: Vec<u64> = Vec::with_capacity(spans.len());
        for (i, chunk) in spans.chunks(fill).enumerate() {
            let id = i as u32;
            let mut leaf = Leaf {
                spans: [Span::default(); LEAF_CAP + 4],
                n: chunk.len(),
                parent: NIL,
                slot: 0,
                prev: if i == 0 { NIL } else { id - 1 },
                next: NIL,
            };
            leaf.spans[..chunk.len()].copy_from_slice(chunk);
            if i > 0 {
                tree.leaves[i - 1].next = id;
            }
            let mut sum = Sum::default();
            let mut prev_end = NIL;
            for &s in chunk {
                sum = sum.plus(span_sum(s, newlines));
                // A span continuing the previous one's versions in the same leaf would get an
                // entry right after the previous one's, repeating its leaf: skip it.
                if s.lv != prev_end {
                    index_entries.push(u64::from(s.lv) << 32 | u64::from(id));
                }
                prev_end = s.end();
            }
            tree.leaves.push(leaf);
            level.push((id, sum));
        }
        tree.total = level.iter().fold(Sum::default(), |a, &(_, s)| a.plus(s));
        let mut children_are_leaves = true;
        while level.len() > 1 {
            let mut next_level = Vec::with_capacity(level.len() / NODE_CAP + 1);
            let node_fill = NODE_CAP - NODE_CAP / 8;
            for chunk in level.chunks(node_fill) {
                let id = tree.nodes.len() as u32;
                let mut node = Node {
                    children: [NIL; NODE_CAP + 1],
                    sums: [Sum::default(); NODE_CAP + 1],
                    n: chunk.len(),
                    parent: NIL,
                    slot: 0,
                };
                let mut sum = Sum::default();
                for (j, &(c, s)) in chunk.iter().enumerate() {
                    node.children[j] = c;
                    node.sums[j] = s;
                    sum = sum.plus(s);
                    tree.set_parent(c, id, j, children_are_leaves);
                }
                tree.nodes.push(node);
                next_level.push((id, sum));
            }
            children_are_leaves = false;
            tree.height += 1;
            level = next_level;
        }
        tree.root = level[0].0;
        index_entries.sort_unstable();
        let mut last = NIL;
        tree.index = index_entries
            .into_iter()
            .map(|e| ((e >> 32) as Lv, e as u32))
            .filter(|&(_, leaf)| std::mem::replace(&mut last, leaf) != leaf)
            .collect();
        tree.index_last = tree.index.last_key_value().map_or(NIL, |(_, &l)| l);
        tree
    }

    pub(crate) fn total(&self) -> Sum {
        self.total
    }

    /// Changes whenever the tree does.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }
}
