//! The local-version index: which leaf holds each version, so an id becomes a position.

use super::*;

impl Tree {
    /// The point just before the item `lv` (pointing at it). `None` if `lv` is not in the tree.
    pub(crate) fn locate(&self, lv: Lv) -> Option<Cursor> {
        // Lookups cluster: first the span found last and its neighbours, then the leaf of the
        // last search, then the index.
        let (leaf, idx) = self.found.get();
        let l = &self.leaves[leaf as usize];
        for i in [idx, idx.wrapping_sub(1), idx + 1] {
            if let Some(s) = l.spans[..l.n].get(i)
                && s.lv <= lv
                && lv < s.end()
            {
                self.found.set((leaf, i));
                return Some(Cursor {
                    leaf,
                    idx: i,
                    off: lv - s.lv,
                });
            }
        }
        let leaf = match self.find_in_leaf(self.hint.get().leaf, lv) {
            Some(c) => return Some(c),
            None => *self.index.range(..=lv).next_back()?.1,
        };
        self.find_in_leaf(leaf, lv)
    }

    fn find_in_leaf(&self, leaf: u32, lv: Lv) -> Option<Cursor> {
        let l = &self.leaves[leaf as usize];
        let idx = l.spans[..l.n]
            .iter()
            .position(|s| s.lv <= lv && lv < s.end())?;
        self.found.set((leaf, idx));
        Some(Cursor {
            leaf,
            idx,
            off: lv - l.spans[idx].lv,
        })
    }

    /// The first of the versions `lv .. lv + len` that is not an item in the tree (not an
    /// inserted character), if any.
    pub(crate) fn first_missing(&self, mut lv: Lv, len: u32) -> Option<Lv> {
        let end = lv + len;
        while lv < end {
            match self.locate(lv) {
                Some(c) => lv = self.span_at(c).end(),
                None => return Some(lv),
            }
        }
        None
    }

    /// Records that fresh versions from `lv` on live in `leaf`.
    pub(super) fn index_append(&mut self, lv: Lv, leaf: u32) {
        if self.index_last != leaf {
            self.index.insert(lv, leaf);
            self.index_last = leaf;
        }
    }

    /// Records that the versions `from .. to`, until now all items of leaf `old`, moved to
    /// leaf `new`. Call [`Tree::index_settle`] after the last move.
    pub(super) fn index_move(&mut self, from: Lv, to: Lv, old: u32, new: u32) {
        // Keys inside the range can only repeat `old`.
        while let Some((&k, _)) = self.index.range(from + 1..to).next() {
            self.index.remove(&k);
        }
        self.index.insert(from, new);
        // Versions from `to` on keep their owner: without a key of their own, the key
        // covering `to` was the one covering `to - 1`, so `old`.
        self.index.entry(to).or_insert(old);
    }

    /// Recomputes where fresh versions go after [`Tree::index_move`]s.
    pub(super) fn index_settle(&mut self) {
        self.index_last = self.index.last_key_value().map_or(NIL, |(_, &l)| l);
    }
}
