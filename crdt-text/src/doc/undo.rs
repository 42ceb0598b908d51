//! Undo and restore: local ops that bring back an earlier state of some characters, by
//! character identity.
//!
//! - [`Doc::revert`] undoes one of this replica's ops: what it inserted and is still visible
//!   is deleted, what it deleted is inserted again where it was.
//! - [`Doc::restore`] makes the visible text equal to the text of an earlier point of the
//!   history: every visible character inserted after that point is deleted, and every
//!   character visible then but deleted since is inserted again where it was.
//!
//! Characters are never brought back to life (a deletion is final in the CRDT): "inserted
//! again" means a fresh copy, made by this replica, placed right after the deleted
//! original, so it lands where the original was even among concurrent edits.

use super::*;

impl Doc {
    // ---- undo -----------------------------------------------------------------------------

    /// Local ops that undo the visible effect of `op`, one of this replica's earlier ops
    /// (others' later edits stay): the still-visible characters an insert added are deleted,
    /// and the characters a delete removed are inserted again where they were.
    #[must_use = "other replicas need the ops to see the undo"]
    pub fn revert(&mut self, op: &Op) -> Vec<Op> {
        self.revert_range(op.range())
    }

    /// [`Doc::revert`] of the op `range` names (an op this document knows; any replica's).
    /// A range this document does not know changes nothing.
    #[must_use = "other replicas need the ops to see the undo"]
    pub fn revert_range(&mut self, range: OpRange) -> Vec<Op> {
        let mut out = Vec::new();
        let Some(first) = self.hist.replicas.lv_of(range.start) else {
            return out;
        };
        let len = range.len.min(u64::from(self.hist.next_lv - first)) as u32;
        if range.insert {
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
            self.delete_runs(&visible, &mut out);
        } else {
            // The characters deleted, ascending.
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
            self.reinsert(targets, &mut out);
        }
        out
    }

    /// Local ops that make the visible text equal to the text after the first `through` ops
    /// of this copy's history (what [`Doc::text_upto`] gives): visible characters inserted by
    /// later ops are deleted, characters visible then and deleted since are inserted again
    /// where they were. Reverting these ops (undo) brings today's text back, later edits of
    /// everyone included; edits that arrive afterwards (concurrent with the restore) stay.
    #[must_use = "other replicas need the ops to see the restore"]
    pub fn restore(&mut self, through: u64) -> Vec<Op> {
        let through = through.min(u64::from(self.hist.next_lv)) as Lv;
        let then = self.dead_before(through);
        let mut remove: Vec<(Lv, u32)> = Vec::new();
        let mut back: Vec<Lv> = Vec::new();
        for span in self.tree.spans() {
            for lv in span.lv()..span.end() {
                let was = lv < through && !then[lv as usize];
                match (span.deleted(), was) {
                    (false, false) => match remove.last_mut() {
                        Some((a, n)) if *a + *n == lv => *n += 1,
                        _ => remove.push((lv, 1)),
                    },
                    (true, true) => back.push(lv),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        remove.sort_unstable();
        self.delete_runs(&remove, &mut out);
        back.sort_unstable();
        self.reinsert(back, &mut out);
        out
    }

    /// Per version: whether one of the first `upto` ops deleted that character.
    pub(crate) fn dead_before(&self, upto: Lv) -> Vec<bool> {
        let mut dead = vec![false; self.hist.next_lv as usize];
        for run in &self.hist.del {
            if run.lv >= upto {
                break;
            }
            for k in 0..run.len.min(upto - run.lv) {
                dead[run.target_of(k) as usize] = true;
            }
        }
        dead
    }

    /// Deletes the visible items `runs` (ascending) as one local op, pushed to `out`.
    fn delete_runs(&mut self, runs: &[(Lv, u32)], out: &mut Vec<Op>) {
        if runs.is_empty() {
            return;
        }
        for &(lv, n) in runs {
            self.tree
                .delete_items(lv, lv + n, &self.hist.newlines, |_, _| {});
        }
        out.push(self.record_local_delete(runs));
    }

    /// Inserts fresh copies of the deleted characters `targets` (ascending), each group of
    /// consecutive versions adjacent in the text as one op right after its originals.
    fn reinsert(&mut self, targets: Vec<Lv>, out: &mut Vec<Op>) {
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
