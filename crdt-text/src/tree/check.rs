//! Invariant checks and memory figures.

use super::*;

impl Tree {
    // ---- checking -------------------------------------------------------------------------

    /// Panics if any internal invariant is broken (sums, links, index). For tests.
    pub(crate) fn assert_invariants(&self, newlines: &[Lv]) {
        let total = self.check_subtree(self.root, self.height, (NIL, 0), newlines);
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

    fn check_subtree(&self, id: u32, height: u32, parent: (u32, u32), newlines: &[Lv]) -> Sum {
        if height == 0 {
            let l = &self.leaves[id as usize];
            assert_eq!((l.parent, l.slot), parent, "leaf parent and slot");
            assert!(l.n <= LEAF_CAP);
            return l.spans[..l.n]
                .iter()
                .fold(Sum::default(), |a, &s| a.plus(span_sum(s, newlines)));
        }
        let n = &self.nodes[id as usize];
        assert_eq!((n.parent, n.slot), parent, "node parent and slot");
        assert!(n.n >= 1 && n.n <= NODE_CAP);
        let mut total = Sum::default();
        for j in 0..n.n {
            let s = self.check_subtree(n.children[j], height - 1, (id, j as u32), newlines);
            assert_eq!(s, self.child_sum(id, height as usize - 1, j), "child sum");
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
