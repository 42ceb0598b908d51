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

/// Spans per leaf.
pub(crate) const LEAF_CAP: usize = 32;
/// Children per internal node.
pub(crate) const NODE_CAP: usize = 16;
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
    prev: u32,
    next: u32,
}

#[derive(Clone)]
struct Node {
    children: [u32; NODE_CAP + 1],
    sums: [Sum; NODE_CAP + 1],
    n: usize,
    parent: u32,
}

/// A point between two items: before span `idx`'s item `off` (`off == len` is just after the
/// span; `idx == n` is the end of the leaf).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Cursor {
    pub(crate) leaf: u32,
    pub(crate) idx: usize,
    pub(crate) off: u32,
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
    /// The leaf of the last search and the visible chars before it, valid at `hint_epoch`
    /// (edits inside that leaf keep it valid: they do not move its start). Most edits land
    /// near the previous one, and then need no descent from the root.
    hint: Cell<(u32, u32)>,
    hint_epoch: Cell<u64>,
}

impl Tree {
    pub(crate) fn new() -> Tree {
        Tree {
            leaves: vec![Leaf {
                spans: [Span::default(); LEAF_CAP + 4],
                n: 0,
                parent: NIL,
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
            hint: Cell::new((0, 0)),
            hint_epoch: Cell::new(u64::MAX),
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
        let mut index_entries: Vec<(Lv, u32)> = Vec::with_capacity(spans.len());
        for (i, chunk) in spans.chunks(fill).enumerate() {
            let id = i as u32;
            let mut leaf = Leaf {
                spans: [Span::default(); LEAF_CAP + 4],
                n: chunk.len(),
                parent: NIL,
                prev: if i == 0 { NIL } else { id - 1 },
                next: NIL,
            };
            leaf.spans[..chunk.len()].copy_from_slice(chunk);
            if i > 0 {
                tree.leaves[i - 1].next = id;
            }
            let mut sum = Sum::default();
            for &s in chunk {
                sum = sum.plus(span_sum(s, newlines));
                index_entries.push((s.lv, id));
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
                };
                let mut sum = Sum::default();
                for (j, &(c, s)) in chunk.iter().enumerate() {
                    node.children[j] = c;
                    node.sums[j] = s;
                    sum = sum.plus(s);
                    if children_are_leaves {
                        tree.leaves[c as usize].parent = id;
                    } else {
                        tree.nodes[c as usize].parent = id;
                    }
                }
                tree.nodes.push(node);
                next_level.push((id, sum));
            }
            children_are_leaves = false;
            tree.height += 1;
            level = next_level;
        }
        tree.root = level[0].0;
        index_entries.sort_unstable_by_key(|&(lv, _)| lv);
        let mut last = NIL;
        tree.index = index_entries
            .into_iter()
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

    // ---- finding points -------------------------------------------------------------------

    /// The earliest point with `pos` visible chars before it (so tombstones right after the
    /// `pos`-th char come after the point). `pos <= total().chars`.
    pub(crate) fn find_char(&self, pos: u32) -> Cursor {
        let (node, mut pos) = match self.hinted_leaf(pos) {
            Some(found) => found,
            None => self.descend_chars(pos, false),
        };
        let leaf = &self.leaves[node as usize];
        for (i, s) in leaf.spans[..leaf.n].iter().enumerate() {
            if pos == 0 {
                return Cursor {
                    leaf: node,
                    idx: i,
                    off: 0,
                };
            }
            if !s.deleted() {
                if pos <= s.len() {
                    return Cursor {
                        leaf: node,
                        idx: i,
                        off: pos,
                    };
                }
                pos -= s.len();
            }
        }
        Cursor {
            leaf: node,
            idx: leaf.n,
            off: 0,
        }
    }

    /// The point with `items` items (visible or not) before it. `items <= total().items`.
    pub(crate) fn find_item(&self, items: u32) -> Cursor {
        let (node, mut pos, _) = self.descend(items, false, |s| s.items);
        let leaf = &self.leaves[node as usize];
        for (i, s) in leaf.spans[..leaf.n].iter().enumerate() {
            if pos <= s.len() {
                return Cursor {
                    leaf: node,
                    idx: i,
                    off: pos,
                };
            }
            pos -= s.len();
        }
        Cursor {
            leaf: node,
            idx: leaf.n,
            off: 0,
        }
    }

    /// The visible position just after the `line`-th newline (`line >= 1`), or `None` if there
    /// are fewer newlines.
    pub(crate) fn find_line_start(&self, line: u32, newlines: &[Lv]) -> Option<u32> {
        if line > self.total.lines {
            return None;
        }
        let (node, mut rem, before) = self.descend(line, false, |s| s.lines);
        let mut chars = before.chars;
        let leaf = &self.leaves[node as usize];
        for s in &leaf.spans[..leaf.n] {
            if s.deleted() {
                continue;
            }
            let k = count_newlines(newlines, s.lv, s.len());
            if rem <= k {
                // The rem-th newline inside this span.
                let a = newlines.partition_point(|&x| x < s.lv);
                let nl_lv = newlines[a + rem as usize - 1];
                return Some(chars + (nl_lv - s.lv) + 1);
            }
            rem -= k;
            chars += s.len();
        }
        None
    }

    /// Newlines among the first `pos` visible chars.
    pub(crate) fn lines_before_char(&self, pos: u32, newlines: &[Lv]) -> u32 {
        let (node, mut pos, before) = self.descend(pos, false, |s| s.chars);
        let mut lines = before.lines;
        let leaf = &self.leaves[node as usize];
        for s in &leaf.spans[..leaf.n] {
            if pos == 0 {
                break;
            }
            if s.deleted() {
                continue;
            }
            let take = pos.min(s.len());
            lines += count_newlines(newlines, s.lv, take);
            pos -= take;
        }
        lines
    }

    /// The point just before the item `lv`. `None` if `lv` is not in the tree.
    /// The point just before the visible char at `pos` (`pos < total().chars`): unlike
    /// [`Tree::find_char`], after any tombstones before it, found through the sums rather than
    /// by walking over them.
    pub(crate) fn find_visible(&self, pos: u32) -> Cursor {
        let hinted = self
            .hint_get()
            .filter(|&(_, start, chars)| start <= pos && pos < start + chars);
        let (node, mut rem) = match hinted {
            Some((leaf, start, _)) => (leaf, pos - start),
            None => self.descend_chars(pos, true),
        };
        let leaf = &self.leaves[node as usize];
        for (idx, s) in leaf.spans[..leaf.n].iter().enumerate() {
            if !s.deleted() {
                if rem < s.len() {
                    return Cursor {
                        leaf: node,
                        idx,
                        off: rem,
                    };
                }
                rem -= s.len();
            }
        }
        Cursor {
            leaf: node,
            idx: leaf.n,
            off: 0,
        }
    }

    /// The hint as `(leaf, chars before it, chars in it)`, if valid.
    fn hint_get(&self) -> Option<(u32, u32, u32)> {
        if self.hint_epoch.get() != self.epoch {
            return None;
        }
        let (leaf, start) = self.hint.get();
        let l = &self.leaves[leaf as usize];
        Some((
            leaf,
            start,
            l.spans[..l.n].iter().map(|s| s.visible_len()).sum(),
        ))
    }

    /// The hinted leaf and the offset of `pos` in it, if the hint is valid and the earliest
    /// point for `pos` lies inside that leaf.
    fn hinted_leaf(&self, pos: u32) -> Option<(u32, u32)> {
        let (leaf, start, chars) = self.hint_get()?;
        (start < pos && pos <= start + chars).then(|| (leaf, pos - start))
    }

    /// Descends to the leaf holding visible position `pos` (the first child reaching it, or
    /// passing it if `past`), remembers it as the hint, and returns it with the offset of
    /// `pos` inside it.
    fn descend_chars(&self, pos: u32, past: bool) -> (u32, u32) {
        let (leaf, rem, before) = self.descend(pos, past, |s| s.chars);
        self.hint.set((leaf, before.chars));
        self.hint_epoch.set(self.epoch);
        (leaf, rem)
    }

    /// Walks from the root to a leaf: at each node, the first child whose `metric` reaches
    /// what remains of `target` (exceeds it, if `past`). Returns the leaf, the remainder, and
    /// the sums of everything before the leaf.
    fn descend(&self, target: u32, past: bool, metric: impl Fn(&Sum) -> u32) -> (u32, u32, Sum) {
        let (mut node, mut rem, mut before) = (self.root, target, Sum::default());
        for _ in 0..self.height {
            let n = &self.nodes[node as usize];
            let mut i = 0;
            while i + 1 < n.n && (rem > metric(&n.sums[i]) || (past && rem == metric(&n.sums[i]))) {
                rem -= metric(&n.sums[i]);
                before = before.plus(n.sums[i]);
                i += 1;
            }
            node = n.children[i];
        }
        (node, rem, before)
    }

    /// Visible chars before a point: like [`Tree::offsets`], but cheap near the last search.
    pub(crate) fn chars_before(&self, c: Cursor) -> u32 {
        let (leaf, start) = self.hint.get();
        if self.hint_epoch.get() != self.epoch || leaf != c.leaf {
            return self.offsets(c).chars;
        }
        let l = &self.leaves[leaf as usize];
        let mut chars = start;
        for s in &l.spans[..c.idx] {
            chars += s.visible_len();
        }
        if c.idx < l.n && !l.spans[c.idx].deleted() {
            chars += c.off;
        }
        chars
    }

    pub(crate) fn locate(&self, lv: Lv) -> Option<Cursor> {
        // The last leaf searched first: lookups cluster.
        let (hint, _) = self.hint.get();
        let h = &self.leaves[hint as usize];
        if let Some(idx) = h.spans[..h.n]
            .iter()
            .position(|s| s.lv <= lv && lv < s.end())
        {
            return Some(Cursor {
                leaf: hint,
                idx,
                off: lv - h.spans[idx].lv,
            });
        }
        let (_, &leaf) = self.index.range(..=lv).next_back()?;
        let l = &self.leaves[leaf as usize];
        let idx = l.spans[..l.n]
            .iter()
            .position(|s| s.lv <= lv && lv < s.end())?;
        Some(Cursor {
            leaf,
            idx,
            off: lv - l.spans[idx].lv,
        })
    }

    /// The span at a cursor that points at an item (as returned by [`Tree::locate`]).
    pub(crate) fn span_at(&self, c: Cursor) -> Span {
        self.leaves[c.leaf as usize].spans[c.idx]
    }

    /// Visible chars and items before a point.
    pub(crate) fn offsets(&self, c: Cursor) -> Sum {
        let leaf = &self.leaves[c.leaf as usize];
        let mut sum = Sum::default();
        for s in &leaf.spans[..c.idx] {
            sum.items += s.len();
            sum.chars += s.visible_len();
        }
        if c.idx < leaf.n {
            sum.items += c.off;
            if !leaf.spans[c.idx].deleted() {
                sum.chars += c.off;
            }
        }
        let in_leaf = sum.chars;
        let mut child = c.leaf;
        let mut p = leaf.parent;
        while p != NIL {
            let n = &self.nodes[p as usize];
            for j in 0..n.n {
                if n.children[j] == child {
                    break;
                }
                sum = sum.plus(n.sums[j]);
            }
            child = p;
            p = n.parent;
        }
        self.hint.set((c.leaf, sum.chars - in_leaf));
        self.hint_epoch.set(self.epoch);
        sum
    }

    /// The item just before a point.
    pub(crate) fn item_before(&self, c: Cursor) -> Option<Lv> {
        let leaf = &self.leaves[c.leaf as usize];
        if c.off > 0 && c.idx < leaf.n {
            return Some(leaf.spans[c.idx].lv + c.off - 1);
        }
        if c.idx > 0 {
            return Some(leaf.spans[c.idx - 1].end() - 1);
        }
        let mut prev = leaf.prev;
        while prev != NIL {
            let l = &self.leaves[prev as usize];
            if l.n > 0 {
                return Some(l.spans[l.n - 1].end() - 1);
            }
            prev = l.prev;
        }
        None
    }

    /// The item just after a point.
    pub(crate) fn item_after(&self, c: Cursor) -> Option<Lv> {
        let leaf = &self.leaves[c.leaf as usize];
        if c.idx < leaf.n && c.off < leaf.spans[c.idx].len() {
            return Some(leaf.spans[c.idx].lv + c.off);
        }
        let next_idx = if c.idx < leaf.n { c.idx + 1 } else { c.idx };
        if next_idx < leaf.n {
            return Some(leaf.spans[next_idx].lv);
        }
        let mut next = leaf.next;
        while next != NIL {
            let l = &self.leaves[next as usize];
            if l.n > 0 {
                return Some(l.spans[0].lv);
            }
            next = l.next;
        }
        None
    }

    /// Moves a point forward past deleted items and span ends until it points at a visible item
    /// (`off < len` of a visible span). `None` at the end of the document.
    fn next_visible(&self, mut c: Cursor) -> Option<Cursor> {
        loop {
            let leaf = &self.leaves[c.leaf as usize];
            if c.idx < leaf.n {
                let s = leaf.spans[c.idx];
                if !s.deleted() && c.off < s.len() {
                    return Some(c);
                }
                c.idx += 1;
                c.off = 0;
            } else {
                if leaf.next == NIL {
                    return None;
                }
                c = Cursor {
                    leaf: leaf.next,
                    idx: 0,
                    off: 0,
                };
            }
        }
    }

    // ---- iteration ------------------------------------------------------------------------

    /// Spans in document order from a point (the first one trimmed to start at it).
    pub(crate) fn spans_from(&self, c: Cursor) -> SpanIter<'_> {
        SpanIter {
            tree: self,
            leaf: c.leaf,
            idx: c.idx,
            off: c.off,
        }
    }

    /// Every span in document order.
    pub(crate) fn spans(&self) -> SpanIter<'_> {
        let mut leaf = self.root;
        for _ in 0..self.height {
            leaf = self.nodes[leaf as usize].children[0];
        }
        SpanIter {
            tree: self,
            leaf,
            idx: 0,
            off: 0,
        }
    }

    pub(crate) fn span_count(&self) -> usize {
        self.leaves.iter().map(|l| l.n).sum()
    }

    // ---- editing --------------------------------------------------------------------------

    /// Inserts new visible items `span` (fresh local versions: larger than any in the tree)
    /// holding `lines` newlines at a point. `newlines` must already include them. Returns the
    /// point just after the inserted items, unless the leaf had to split.
    pub(crate) fn insert(
        &mut self,
        c: Cursor,
        span: Span,
        lines: u32,
        newlines: &[Lv],
    ) -> Option<Cursor> {
        let delta = Sum {
            items: span.len(),
            chars: span.len(),
            lines,
        };
        let leaf_id = c.leaf;
        let (mut idx, mut off) = (c.idx, c.off);
        let leaf = &mut self.leaves[leaf_id as usize];
        if off == 0 && idx > 0 {
            idx -= 1;
            off = leaf.spans[idx].len();
        }
        let after =
            if idx < leaf.n && off == leaf.spans[idx].len() && leaf.spans[idx].can_append(span) {
                let s = leaf.spans[idx];
                leaf.spans[idx] = Span::new(s.lv, s.len() + span.len(), s.deleted());
                Cursor {
                    leaf: leaf_id,
                    idx,
                    off: off + span.len(),
                }
            } else if idx < leaf.n && off == 0 {
                leaf_splice(leaf, idx, 0, &[span]);
                Cursor {
                    leaf: leaf_id,
                    idx,
                    off: span.len(),
                }
            } else if idx < leaf.n && off < leaf.spans[idx].len() {
                let s = leaf.spans[idx];
                leaf_splice(leaf, idx, 1, &[s.part(0, off), span, s.part(off, s.len())]);
                Cursor {
                    leaf: leaf_id,
                    idx: idx + 1,
                    off: span.len(),
                }
            } else {
                let at = if idx < leaf.n { idx + 1 } else { idx };
                leaf_splice(leaf, at, 0, &[span]);
                Cursor {
                    leaf: leaf_id,
                    idx: at,
                    off: span.len(),
                }
            };
        self.index_append(span.lv, leaf_id);
        self.propagate(leaf_id, delta, false);
        if self.leaves[leaf_id as usize].n > LEAF_CAP {
            self.split_leaf(leaf_id, newlines);
            return None;
        }
        Some(after)
    }

    /// Deletes up to `len` visible chars starting at the item `c` points at (or the next visible
    /// one), within one span. Returns the deleted items `(lv, count)`, or `None` at the end.
    fn delete_in_span(&mut self, c: Cursor, len: u32, newlines: &[Lv]) -> Option<(Lv, u32)> {
        let c = self.next_visible(c)?;
        let leaf = &mut self.leaves[c.leaf as usize];
        let s = leaf.spans[c.idx];
        let take = len.min(s.len() - c.off);
        let end = c.off + take;
        let dead = Span::new(s.lv + c.off, take, true);
        let mut parts = [Span::default(); 3];
        let mut k = 0;
        if c.off > 0 {
            parts[k] = s.part(0, c.off);
            k += 1;
        }
        parts[k] = dead;
        k += 1;
        if end < s.len() {
            parts[k] = s.part(end, s.len());
            k += 1;
        }
        leaf_splice(leaf, c.idx, 1, &parts[..k]);
        let dead_idx = c.idx + usize::from(c.off > 0);
        merge_around(leaf, dead_idx);
        let delta = Sum {
            items: 0,
            chars: take,
            lines: count_newlines(newlines, dead.lv, take),
        };
        self.propagate(c.leaf, delta, true);
        if self.leaves[c.leaf as usize].n > LEAF_CAP {
            self.split_leaf(c.leaf, newlines);
        }
        Some((dead.lv, take))
    }

    /// Deletes `len` visible chars starting at visible position `pos`, appending the deleted
    /// items as `(lv, count)` runs in document order.
    pub(crate) fn delete_visible(
        &mut self,
        pos: u32,
        mut len: u32,
        newlines: &[Lv],
        out: &mut Vec<(Lv, u32)>,
    ) {
        while len > 0 {
            let c = self.find_visible(pos);
            match self.delete_in_span(c, len, newlines) {
                Some((lv, n)) => {
                    out.push((lv, n));
                    len -= n;
                }
                None => break,
            }
        }
    }

    /// Marks the items `lv .. lv + len` deleted, reporting each visible run removed as
    /// `(visible position, count)`. All the items must be in the tree.
    pub(crate) fn delete_items(
        &mut self,
        mut lv: Lv,
        end: Lv,
        newlines: &[Lv],
        mut report: impl FnMut(u32, u32),
    ) {
        while lv < end {
            let Some(c) = self.locate(lv) else {
                debug_assert!(false, "deleting an item missing from the tree");
                return;
            };
            let s = self.span_at(c);
            let take = (end - lv).min(s.len() - c.off);
            if !s.deleted() {
                let pos = self.chars_before(c);
                self.delete_in_span(c, take, newlines);
                report(pos, take);
            }
            lv += take;
        }
    }

    fn propagate(&mut self, leaf: u32, delta: Sum, subtract: bool) {
        let apply = |s: Sum| {
            if subtract {
                s.minus(delta)
            } else {
                s.plus(delta)
            }
        };
        if self.hint_epoch.get() == self.epoch && self.hint.get().0 == leaf {
            self.hint_epoch.set(self.epoch + 1);
        }
        self.epoch += 1;
        self.total = apply(self.total);
        let mut child = leaf;
        let mut p = self.leaves[leaf as usize].parent;
        while p != NIL {
            let n = &mut self.nodes[p as usize];
            let j = n.children[..n.n]
                .iter()
                .position(|&x| x == child)
                .unwrap_or(0);
            n.sums[j] = apply(n.sums[j]);
            child = p;
            p = n.parent;
        }
    }

    // ---- the local-version index ----------------------------------------------------------

    /// Records that fresh versions from `lv` on live in `leaf`.
    fn index_append(&mut self, lv: Lv, leaf: u32) {
        if self.index_last != leaf {
            self.index.insert(lv, leaf);
            self.index_last = leaf;
        }
    }

    /// Records that versions `from .. to` live in `leaf`.
    fn index_set(&mut self, from: Lv, to: Lv, leaf: u32) {
        let after = self.index.range(..=to).next_back().map(|(_, &l)| l);
        let inside: Vec<Lv> = self.index.range(from..to).map(|(&k, _)| k).collect();
        for k in inside {
            self.index.remove(&k);
        }
        self.index.insert(from, leaf);
        if let Some(after) = after {
            self.index.entry(to).or_insert(after);
        }
        self.index_last = self.index.last_key_value().map_or(NIL, |(_, &l)| l);
    }

    // ---- splitting ------------------------------------------------------------------------

    fn split_leaf(&mut self, leaf_id: u32, newlines: &[Lv]) {
        self.epoch += 1;
        let new_id = self.leaves.len() as u32;
        let old = &mut self.leaves[leaf_id as usize];
        let half = old.n / 2;
        let mut new = Leaf {
            spans: [Span::default(); LEAF_CAP + 4],
            n: old.n - half,
            parent: old.parent,
            prev: leaf_id,
            next: old.next,
        };
        new.spans[..new.n].copy_from_slice(&old.spans[half..old.n]);
        old.n = half;
        let old_next = old.next;
        old.next = new_id;
        if old_next != NIL {
            self.leaves[old_next as usize].prev = new_id;
        }
        let mut moved = Sum::default();
        for &s in &new.spans[..new.n] {
            moved = moved.plus(span_sum(s, newlines));
        }
        let moved_spans: Vec<Span> = new.spans[..new.n].to_vec();
        self.leaves.push(new);
        for s in moved_spans {
            self.index_set(s.lv, s.end(), new_id);
        }
        self.insert_child_after(leaf_id, new_id, moved, true);
    }

    /// Puts `new` (holding `moved`, taken out of `old`) right after `old` in `old`'s parent.
    fn insert_child_after(&mut self, old: u32, new: u32, moved: Sum, leaves: bool) {
        let parent = if leaves {
            self.leaves[old as usize].parent
        } else {
            self.nodes[old as usize].parent
        };
        if parent == NIL {
            let root_id = self.nodes.len() as u32;
            let mut root = Node {
                children: [NIL; NODE_CAP + 1],
                sums: [Sum::default(); NODE_CAP + 1],
                n: 2,
                parent: NIL,
            };
            root.children[0] = old;
            root.children[1] = new;
            root.sums[0] = self.total.minus(moved);
            root.sums[1] = moved;
            self.nodes.push(root);
            self.set_parent(old, root_id, leaves);
            self.set_parent(new, root_id, leaves);
            self.root = root_id;
            self.height += 1;
            return;
        }
        self.set_parent(new, parent, leaves);
        let p = &mut self.nodes[parent as usize];
        let j = p.children[..p.n]
            .iter()
            .position(|&x| x == old)
            .unwrap_or(0);
        p.sums[j] = p.sums[j].minus(moved);
        p.children.copy_within(j + 1..p.n, j + 2);
        p.sums.copy_within(j + 1..p.n, j + 2);
        p.children[j + 1] = new;
        p.sums[j + 1] = moved;
        p.n += 1;
        if p.n > NODE_CAP {
            self.split_node(parent, leaves);
        }
    }

    fn set_parent(&mut self, child: u32, parent: u32, leaf: bool) {
        if leaf {
            self.leaves[child as usize].parent = parent;
        } else {
            self.nodes[child as usize].parent = parent;
        }
    }

    fn split_node(&mut self, id: u32, children_are_leaves: bool) {
        let new_id = self.nodes.len() as u32;
        let old = &mut self.nodes[id as usize];
        let half = old.n / 2;
        let mut new = Node {
            children: [NIL; NODE_CAP + 1],
            sums: [Sum::default(); NODE_CAP + 1],
            n: old.n - half,
            parent: old.parent,
        };
        new.children[..new.n].copy_from_slice(&old.children[half..old.n]);
        new.sums[..new.n].copy_from_slice(&old.sums[half..old.n]);
        old.n = half;
        let moved = new.sums[..new.n]
            .iter()
            .fold(Sum::default(), |a, &s| a.plus(s));
        let children: Vec<u32> = new.children[..new.n].to_vec();
        self.nodes.push(new);
        for c in children {
            self.set_parent(c, new_id, children_are_leaves);
        }
        self.insert_child_after(id, new_id, moved, false);
    }

    // ---- checking -------------------------------------------------------------------------

    /// Panics if any internal invariant is broken (sums, links, index). For tests.
    pub(crate) fn assert_invariants(&self, newlines: &[Lv]) {
        let total = self.check_subtree(self.root, self.height, NIL, newlines);
        assert_eq!(total, self.total, "root sum");
        let mut prev = NIL;
        let mut leaf = self.root;
        for _ in 0..self.height {
            leaf = self.nodes[leaf as usize].children[0];
        }
        let mut count = 0;
        while leaf != NIL {
            let l = &self.leaves[leaf as usize];
            assert_eq!(l.prev, prev, "leaf links");
            for (i, s) in l.spans[..l.n].iter().enumerate() {
                assert!(s.len() > 0, "empty span");
                for lv in [s.lv, s.end() - 1] {
                    let c = self.locate(lv).expect("indexed");
                    assert_eq!((c.leaf, c.idx), (leaf, i), "index of {lv}");
                }
            }
            count += 1;
            prev = leaf;
            leaf = l.next;
        }
        assert_eq!(count, self.leaves.len(), "every leaf linked");
    }

    fn check_subtree(&self, id: u32, height: u32, parent: u32, newlines: &[Lv]) -> Sum {
        if height == 0 {
            let l = &self.leaves[id as usize];
            assert_eq!(l.parent, parent, "leaf parent");
            assert!(l.n <= LEAF_CAP);
            return l.spans[..l.n]
                .iter()
                .fold(Sum::default(), |a, &s| a.plus(span_sum(s, newlines)));
        }
        let n = &self.nodes[id as usize];
        assert_eq!(n.parent, parent, "node parent");
        assert!(n.n >= 1 && n.n <= NODE_CAP);
        let mut total = Sum::default();
        for j in 0..n.n {
            let s = self.check_subtree(n.children[j], height - 1, id, newlines);
            assert_eq!(s, n.sums[j], "child sum");
            total = total.plus(s);
        }
        total
    }

    /// Bytes of heap the tree holds (for memory figures).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.leaves.capacity() * std::mem::size_of::<Leaf>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.index.len() * 2 * std::mem::size_of::<u32>()
    }
}

/// Replaces `leaf.spans[at .. at + remove]` by `insert` (the leaf may overflow by up to 4).
fn leaf_splice(leaf: &mut Leaf, at: usize, remove: usize, insert: &[Span]) {
    let n = leaf.n;
    let new_n = n - remove + insert.len();
    leaf.spans.copy_within(at + remove..n, at + insert.len());
    leaf.spans[at..at + insert.len()].copy_from_slice(insert);
    leaf.n = new_n;
}

/// Merges span `i` with its neighbours where they continue each other.
fn merge_around(leaf: &mut Leaf, i: usize) {
    let mut i = i;
    if i > 0 && leaf.spans[i - 1].can_append(leaf.spans[i]) {
        let (a, b) = (leaf.spans[i - 1], leaf.spans[i]);
        leaf.spans[i - 1] = Span::new(a.lv, a.len() + b.len(), a.deleted());
        leaf_splice(leaf, i, 1, &[]);
        i -= 1;
    }
    if i + 1 < leaf.n && leaf.spans[i].can_append(leaf.spans[i + 1]) {
        let (a, b) = (leaf.spans[i], leaf.spans[i + 1]);
        leaf.spans[i] = Span::new(a.lv, a.len() + b.len(), a.deleted());
        leaf_splice(leaf, i + 1, 1, &[]);
    }
}

/// Iterator over spans in document order.
pub(crate) struct SpanIter<'a> {
    tree: &'a Tree,
    leaf: u32,
    idx: usize,
    off: u32,
}

impl Iterator for SpanIter<'_> {
    type Item = Span;
    fn next(&mut self) -> Option<Span> {
        loop {
            if self.leaf == NIL {
                return None;
            }
            let leaf = &self.tree.leaves[self.leaf as usize];
            if self.idx < leaf.n {
                let s = leaf.spans[self.idx];
                let off = std::mem::take(&mut self.off);
                self.idx += 1;
                if off < s.len() {
                    return Some(s.part(off, s.len()));
                }
            } else {
                self.leaf = leaf.next;
                self.idx = 0;
                self.off = 0;
            }
        }
    }
}
