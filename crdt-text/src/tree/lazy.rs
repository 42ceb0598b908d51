//! Deferred sums: the edits made in one leaf in a row add their change to a pending delta
//! instead of walking up to the root each time. The delta reaches the nodes when an edit
//! lands in another leaf or the tree changes shape; until then every reader of node sums
//! adds it on the way (see [`Tree::child_sum`]). Typing costs no walk at all.

use super::*;

/// Most levels a tree can have: with 32 children per node this covers 32¹² leaves.
pub(super) const MAX_HEIGHT: usize = 12;

/// A change to the sums above one leaf, not yet applied to its ancestors.
#[derive(Clone, Debug)]
pub(super) struct Deferred {
    /// The leaf, or [`NIL`] when nothing is deferred.
    pub(super) leaf: u32,
    pub(super) delta: Sum,
    /// `(node, slot)` of each ancestor, from the leaf's parent up to the root.
    pub(super) path: [(u32, u32); MAX_HEIGHT],
}

impl Deferred {
    pub(super) const NONE: Deferred = Deferred {
        leaf: NIL,
        delta: Sum {
            items: 0,
            chars: 0,
            lines: 0,
        },
        path: [(NIL, 0); MAX_HEIGHT],
    };
}

impl Tree {
    /// Adds `delta` to the sums above `leaf` (the total at once, the nodes lazily).
    pub(super) fn add_to_sums(&mut self, leaf: u32, delta: Sum) {
        self.total = self.total.plus(delta);
        if self.deferred.leaf == leaf {
            self.deferred.delta = self.deferred.delta.plus(delta);
            return;
        }
        self.apply_deferred();
        let d = &mut self.deferred;
        d.leaf = leaf;
        d.delta = delta;
        let l = &self.leaves[leaf as usize];
        let (mut p, mut slot) = (l.parent, l.slot);
        for level in 0..self.height as usize {
            d.path[level] = (p, slot);
            let n = &self.nodes[p as usize];
            (p, slot) = (n.parent, n.slot);
        }
    }

    /// Applies the deferred delta to the nodes (before the tree changes shape).
    pub(super) fn apply_deferred(&mut self) {
        let d = &mut self.deferred;
        if d.leaf == NIL {
            return;
        }
        for &(p, slot) in &d.path[..self.height as usize] {
            let s = &mut self.nodes[p as usize].sums[slot as usize];
            *s = s.plus(d.delta);
        }
        d.leaf = NIL;
    }

    /// The sums of child `slot` of `node`, which sits `level` levels above the leaves
    /// (0: its children are leaves), the deferred delta included.
    #[inline]
    pub(super) fn child_sum(&self, node: u32, level: usize, slot: usize) -> Sum {
        let s = self.nodes[node as usize].sums[slot];
        let d = &self.deferred;
        if d.leaf != NIL && d.path[level] == (node, slot as u32) {
            s.plus(d.delta)
        } else {
            s
        }
    }
}
