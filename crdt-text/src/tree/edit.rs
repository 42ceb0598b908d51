//! Editing: inserting spans, marking items deleted, keeping the sums up to date.

use super::*;

impl Tree {
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

    /// Adds `delta` (or subtracts it) to the sums on the path from `leaf` to the root.
    fn propagate(&mut self, leaf: u32, delta: Sum, subtract: bool) {
        // Sums use wrapping arithmetic, so subtracting is adding the negation.
        let delta = if subtract {
            Sum::default().minus(delta)
        } else {
            delta
        };
        // An edit inside the hinted leaf keeps the hint true: its start does not move.
        let mut hint = self.hint.get();
        if hint.epoch == self.epoch && hint.leaf == leaf {
            hint.chars = hint.chars.wrapping_add(delta.chars);
            hint.epoch = self.epoch + 1;
            self.hint.set(hint);
        }
        self.epoch += 1;
        self.add_to_sums(leaf, delta);
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
