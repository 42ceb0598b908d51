//! Growing the tree: splitting full leaves and nodes.

use super::*;

impl Tree {
    // ---- splitting ------------------------------------------------------------------------

    pub(super) fn split_leaf(&mut self, leaf_id: u32, newlines: &[Lv]) {
        self.apply_deferred();
        self.epoch += 1;
        let new_id = self.leaves.len() as u32;
        let old = &mut self.leaves[leaf_id as usize];
        let half = old.n / 2;
        let mut new = Leaf {
            spans: [Span::default(); LEAF_CAP + 4],
            n: old.n - half,
            parent: old.parent,
            slot: 0,
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
        // The moved versions, as few ranges as possible: spans in a leaf often continue
        // each other's versions.
        let mut ranges = [Span::default(); LEAF_CAP + 4];
        let ranges = &mut ranges[..new.n];
        ranges.copy_from_slice(&new.spans[..new.n]);
        ranges.sort_unstable_by_key(|s| s.lv);
        self.leaves.push(new);
        let mut i = 0;
        while i < ranges.len() {
            let from = ranges[i].lv;
            let mut to = ranges[i].end();
            i += 1;
            while i < ranges.len() && ranges[i].lv == to {
                to = ranges[i].end();
                i += 1;
            }
            self.index_move(from, to, leaf_id, new_id);
        }
        self.index_settle();
        self.insert_child_after(leaf_id, new_id, moved, true);
    }

    /// Puts `new` (holding `moved`, taken out of `old`) right after `old` in `old`'s parent.
    fn insert_child_after(&mut self, old: u32, new: u32, moved: Sum, leaves: bool) {
        let (parent, j) = if leaves {
            let l = &self.leaves[old as usize];
            (l.parent, l.slot as usize)
        } else {
            let n = &self.nodes[old as usize];
            (n.parent, n.slot as usize)
        };
        if parent == NIL {
            let root_id = self.nodes.len() as u32;
            let mut root = Node {
                children: [NIL; NODE_CAP + 1],
                sums: [Sum::default(); NODE_CAP + 1],
                n: 2,
                parent: NIL,
                slot: 0,
            };
            root.children[0] = old;
            root.children[1] = new;
            root.sums[0] = self.total.minus(moved);
            root.sums[1] = moved;
            self.nodes.push(root);
            self.set_parent(old, root_id, 0, leaves);
            self.set_parent(new, root_id, 1, leaves);
            self.root = root_id;
            self.height += 1;
            return;
        }
        let p = &mut self.nodes[parent as usize];
        p.sums[j] = p.sums[j].minus(moved);
        p.children.copy_within(j + 1..p.n, j + 2);
        p.sums.copy_within(j + 1..p.n, j + 2);
        p.children[j + 1] = new;
        p.sums[j + 1] = moved;
        p.n += 1;
        let n = p.n;
        // The children after `old` moved one slot right.
        for k in j + 1..n {
            let child = self.nodes[parent as usize].children[k];
            self.set_parent(child, parent, k, leaves);
        }
        if n > NODE_CAP {
            self.split_node(parent, leaves);
        }
    }

    /// Records that `child` (a leaf or a node) is child `slot` of `parent`.
    pub(super) fn set_parent(&mut self, child: u32, parent: u32, slot: usize, leaf: bool) {
        if leaf {
            let l = &mut self.leaves[child as usize];
            (l.parent, l.slot) = (parent, slot as u32);
        } else {
            let n = &mut self.nodes[child as usize];
            (n.parent, n.slot) = (parent, slot as u32);
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
            slot: 0,
        };
        new.children[..new.n].copy_from_slice(&old.children[half..old.n]);
        new.sums[..new.n].copy_from_slice(&old.sums[half..old.n]);
        old.n = half;
        let moved = new.sums[..new.n]
            .iter()
            .fold(Sum::default(), |a, &s| a.plus(s));
        let (children, n) = (new.children, new.n);
        self.nodes.push(new);
        for (k, &c) in children[..n].iter().enumerate() {
            self.set_parent(c, new_id, k, children_are_leaves);
        }
        self.insert_child_after(id, new_id, moved, false);
    }
}
