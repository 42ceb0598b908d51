//! Finding points in the tree: by chars, items, lines or local version; reading around them.

use super::*;

impl Tree {
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
        let (node, mut pos, ..) = self.descend(items, false, |s| s.items);
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
        let (node, mut rem, before, _) = self.descend(line, false, |s| s.lines);
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
        let (node, mut pos, before, _) = self.descend(pos, false, |s| s.chars);
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

    /// The point just before the visible char at `pos` (`pos < total().chars`): unlike
    /// [`Tree::find_char`], after any tombstones before it, found through the sums rather than
    /// by walking over them.
    pub(crate) fn find_visible(&self, pos: u32) -> Cursor {
        let hinted = self
            .hint_get()
            .filter(|h| h.start <= pos && pos < h.start + h.chars);
        let (node, mut rem) = match hinted {
            Some(h) => (h.leaf, pos - h.start),
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

    /// The hint, if valid.
    fn hint_get(&self) -> Option<Hint> {
        Some(self.hint.get()).filter(|h| h.epoch == self.epoch)
    }

    /// Remembers `leaf` (holding `chars` visible chars, `start` before it) as the hint.
    fn hint_set(&self, leaf: u32, start: u32, chars: u32) {
        self.hint.set(Hint {
            leaf,
            start,
            chars,
            epoch: self.epoch,
        });
    }

    /// The hinted leaf and the offset of `pos` in it, if the hint is valid and the earliest
    /// point for `pos` lies inside that leaf.
    fn hinted_leaf(&self, pos: u32) -> Option<(u32, u32)> {
        let h = self.hint_get()?;
        (h.start < pos && pos <= h.start + h.chars).then(|| (h.leaf, pos - h.start))
    }

    /// Descends to the leaf holding visible position `pos` (the first child reaching it, or
    /// passing it if `past`), remembers it as the hint, and returns it with the offset of
    /// `pos` inside it.
    fn descend_chars(&self, pos: u32, past: bool) -> (u32, u32) {
        let (leaf, rem, before, here) = self.descend(pos, past, |s| s.chars);
        self.hint_set(leaf, before.chars, here.chars);
        (leaf, rem)
    }

    /// Walks from the root to a leaf: at each node, the first child whose `metric` reaches
    /// what remains of `target` (exceeds it, if `past`). Returns the leaf, the remainder, the
    /// sums of everything before the leaf and the leaf's own sums.
    fn descend(
        &self,
        target: u32,
        past: bool,
        metric: impl Fn(&Sum) -> u32,
    ) -> (u32, u32, Sum, Sum) {
        let (mut node, mut rem, mut before, mut here) =
            (self.root, target, Sum::default(), self.total);
        for level in (0..self.height as usize).rev() {
            let n = &self.nodes[node as usize];
            let mut i = 0;
            let mut s = self.child_sum(node, level, 0);
            while i + 1 < n.n && (rem > metric(&s) || (past && rem == metric(&s))) {
                rem -= metric(&s);
                before = before.plus(s);
                i += 1;
                s = self.child_sum(node, level, i);
            }
            node = n.children[i];
            here = s;
        }
        (node, rem, before, here)
    }

    /// Visible chars before a point: like [`Tree::offsets`], but cheap near the last search.
    pub(crate) fn chars_before(&self, c: Cursor) -> u32 {
        let Some(h) = self.hint_get().filter(|h| h.leaf == c.leaf) else {
            return self.offsets(c).chars;
        };
        let l = &self.leaves[h.leaf as usize];
        let mut chars = h.start;
        for s in &l.spans[..c.idx] {
            chars += s.visible_len();
        }
        if c.idx < l.n && !l.spans[c.idx].deleted() {
            chars += c.off;
        }
        chars
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
        let (mut p, mut slot) = (leaf.parent, leaf.slot);
        let leaf_chars = match p {
            NIL => self.total.chars,
            p => self.child_sum(p, 0, slot as usize).chars,
        };
        let mut level = 0;
        while p != NIL {
            for j in 0..slot as usize {
                sum = sum.plus(self.child_sum(p, level, j));
            }
            let n = &self.nodes[p as usize];
            (p, slot) = (n.parent, n.slot);
            level += 1;
        }
        self.hint_set(c.leaf, sum.chars - in_leaf, leaf_chars);
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
    pub(super) fn next_visible(&self, mut c: Cursor) -> Option<Cursor> {
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

    /// Every span in document order, copied leaf by leaf.
    pub(crate) fn spans(&self) -> Vec<Span> {
        let mut leaf = self.root;
        for _ in 0..self.height {
            leaf = self.nodes[leaf as usize].children[0];
        }
        let mut out = Vec::with_capacity(self.leaves.len() * LEAF_CAP);
        while leaf != NIL {
            let l = &self.leaves[leaf as usize];
            out.extend_from_slice(&l.spans[..l.n]);
            leaf = l.next;
        }
        out
    }

    pub(crate) fn span_count(&self) -> usize {
        self.leaves.iter().map(|l| l.n).sum()
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
