//! Undo: the local ops that revert one of this replica's earlier ops.

use super::*;

impl Doc {
    // ---- undo -----------------------------------------------------------------------------

    /// Local ops that undo the visible effect of `op`, one of this replica's earlier ops
    /// (others' later edits stay): the still-visible characters an insert added are deleted,
    /// and the characters a delete removed are inserted again where they were.
    #[must_use = "other replicas need the ops to see the undo"]
    pub fn revert(&mut self, op: &Op) -> Vec<Op> {
        let mut out = Vec::new();
        let Some(first) = self.hist.replicas.lv_of(op.id) else {
            return out;
        };
        let len = op.len().min(u64::from(self.hist.next_lv - first)) as u32;
        match &op.kind {
            OpKind::Insert { .. } => {
                let mut visible = Vec::new();
                let mut lv = first;
                while lv < first + len {
                    let Some(c) = self.tree.locate(lv) else { break };
                    let s = self.tree.span_at(c);
                    let take = (first + len - lv).min(s.len() - c.off);
                    if !s.deleted() {
                        visible.push((lv, take));
                    }
                    lv += take;
                }
                if !visible.is_empty() {
                    for &(lv, n) in &visible {
                        self.tree
                            .delete_items(lv, lv + n, &self.hist.newlines, |_, _| {});
                    }
                    out.push(self.record_local_delete(&visible));
                }
            }
            OpKind::Delete { .. } => {
                // The characters deleted, ascending, grouped into runs adjacent in the text.
                let mut targets: Vec<Lv> = Vec::new();
                let mut lv = first;
                while lv < first + len {
                    let Some(Kind::Del(i)) = self.hist.kind_of(lv) else {
                        break;
                    };
                    let run = self.hist.del[i];
                    let take = (first + len).min(run.end()) - lv;
                    let from = lv - run.lv;
                    let (lo, n) = run.target_range(from, from + take);
                    targets.extend(lo..lo + n);
                    lv += take;
                }
                targets.sort_unstable();
                targets.dedup();
                let mut groups: Vec<(Lv, u32)> = Vec::new();
                for t in targets {
                    let Some(c) = self.tree.locate(t) else {
                        continue;
                    };
                    if !self.tree.span_at(c).deleted() {
                        continue;
                    }
                    let adjacent = |prev: Lv| {
                        self.tree.locate(prev).is_some_and(|mut p| {
                            p.off += 1;
                            self.tree.item_after(p) == Some(t)
                        })
                    };
                    match groups.last_mut() {
                        Some((lo, n)) if *lo + *n == t && adjacent(t - 1) => *n += 1,
                        _ => groups.push((t, 1)),
                    }
                }
                for (lo, n) in groups {
                    let text: String = self.hist.text_pieces(lo, n).collect();
                    let mut c = self.tree.locate(lo + n - 1).expect("target in tree");
                    c.off += 1;
                    out.push(self.insert_at(c, None, &text));
                }
            }
        }
        out
    }
}
