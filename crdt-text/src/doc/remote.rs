//! Applying other replicas' ops: ids to positions, held ops (placement: `place.rs`).

use smallvec::SmallVec;

use super::place::Placed;
use super::*;
use crate::Rejected;

/// The result of trying one op.
enum Step {
    Applied,
    Duplicate,
    Pending(OpId),
}

impl Doc {
    // ---- remote ops -----------------------------------------------------------------------

    /// Applies an op from another replica (or a duplicate, or one whose dependencies have not
    /// arrived yet — it is then held and applied when they do).
    /// Held ops it unblocks that turn out invalid are returned in [`Applied::Done`]'s
    /// `rejected`.
    pub fn apply(&mut self, op: &Op) -> Result<Applied, ApplyError> {
        let mut patches = Patches::new();
        match self.try_apply(op, &mut patches)? {
            Step::Duplicate => return Ok(Applied::Duplicate),
            Step::Pending(dep) => {
                self.pending.hold(dep, op.clone())?;
                return Ok(Applied::Pending);
            }
            Step::Applied => {}
        }
        let mut rejected = Vec::new();
        self.drain_pending(&mut patches, &mut rejected);
        Ok(Applied::Done { patches, rejected })
    }

    fn drain_pending(&mut self, patches: &mut Patches, rejected: &mut Vec<Rejected>) {
        while self.pending.len() > 0 {
            let ready = self.pending.take_ready(|r| self.hist.replicas.known(r));
            if ready.is_empty() {
                return;
            }
            for op in ready {
                match self.try_apply(&op, patches) {
                    Ok(Step::Applied | Step::Duplicate) => {}
                    Ok(Step::Pending(dep)) => {
                        if let Err(error) = self.pending.hold(dep, op.clone()) {
                            rejected.push(Rejected { op, error });
                        }
                    }
                    Err(error) => rejected.push(Rejected { op, error }),
                }
            }
        }
    }

    /// How many ops are held waiting for their dependencies.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// The ops held waiting for their dependencies. [`Doc::encode`] leaves them out: a store
    /// that saves the document whole keeps these beside it.
    ///
    /// ```
    /// use crdt_text::{Doc, ReplicaId};
    ///
    /// let mut alice = Doc::new(ReplicaId::from(1));
    /// let first = alice.insert(0, "first ");
    /// let second = alice.insert(6, "second");
    /// // Bob gets the second edit alone: it waits for the first.
    /// let mut bob = Doc::new(ReplicaId::from(2));
    /// bob.apply(&second).unwrap();
    /// assert_eq!(bob.pending_ops().collect::<Vec<_>>(), [&second]);
    /// // A copy made with `encode` lacks it; keep it beside.
    /// let mut copy = Doc::decode(&bob.encode(), ReplicaId::from(3)).unwrap();
    /// assert_eq!(copy.pending_len(), 0);
    /// for op in bob.pending_ops() {
    ///     copy.apply(op).unwrap();
    /// }
    /// copy.apply(&first).unwrap();
    /// assert_eq!(copy.text(), "first second");
    /// ```
    pub fn pending_ops(&self) -> impl Iterator<Item = &Op> {
        self.pending.iter()
    }

    /// Sets how many ops may be held waiting (default [`DEFAULT_PENDING_LIMIT`]); beyond it
    /// `apply` returns [`ApplyError::PendingFull`].
    pub fn set_pending_limit(&mut self, limit: usize) {
        self.pending.set_limit(limit);
    }

    /// Tries one op and records the history it carries (or inherits).
    fn try_apply(&mut self, op: &Op, patches: &mut Patches) -> Result<Step, ApplyError> {
        let lv = self.hist.next_lv;
        let step = self.try_apply_op(op, patches)?;
        if let Step::Pending(_) = step {
            return Ok(step);
        }
        let Some(r) = self.hist.replicas.index_of(op.id.replica) else {
            return Ok(step);
        };
        if let Some(author) = op.author()
            && r != self.me
        {
            self.hist.replicas.authors[r as usize] = Some(author.clone());
        }
        if self.hist.next_lv > lv {
            let time = op
                .time()
                .unwrap_or(self.hist.replicas.last_time[r as usize]);
            self.hist.stamp(r, lv, time);
        }
        Ok(step)
    }

    fn try_apply_op(&mut self, op: &Op, patches: &mut Patches) -> Result<Step, ApplyError> {
        let len = op.len();
        if len == 0 {
            return Ok(Step::Duplicate);
        }
        let end = op
            .id
            .counter
            .checked_add(len)
            .ok_or(ApplyError::TooLarge(op.id))?;
        if len > u64::from(MAX_SPAN) || self.hist.next_lv as u64 + len >= u64::from(NIL) {
            return Err(ApplyError::TooLarge(op.id));
        }
        let replica = self.hist.replicas.index_of(op.id.replica);
        let known = replica.map_or(0, |r| self.hist.replicas.next_counter(r));
        if op.id.counter < known && self.contradicts_history(op, known) {
            return Err(ApplyError::Conflict(op.id));
        }
        if end <= known {
            return Ok(Step::Duplicate);
        }
        if op.id.counter > known {
            return Ok(Step::Pending(OpId::new(op.id.replica, op.id.counter - 1)));
        }
        let skip = known - op.id.counter;
        match &op.kind {
            OpKind::Insert {
                origin_left,
                origin_right,
                text,
            } => {
                let (origin_left, text) = if skip > 0 {
                    let text = match text.char_indices().nth(skip as usize) {
                        Some((b, _)) => &text[b..],
                        None => "",
                    };
                    (Some(OpId::new(op.id.replica, known - 1)), text)
                } else {
                    (*origin_left, text.as_str())
                };
                let n = (len - skip) as u32;
                let first = OpId::new(op.id.replica, known);
                // Typing on from the last insert, with the tree unchanged since: no lookups.
                if let Some(t) = self.typing.filter(|t| t.epoch == self.tree.epoch())
                    && let Some(origins) = t.origins(origin_left, *origin_right)
                    && self.tree.item_after(t.after).unwrap_or(NIL) == t.right
                {
                    let r = replica.unwrap_or_else(|| self.hist.replicas.intern(op.id.replica));
                    let at = (t.after, t.pos);
                    self.integrate(at, r, first, origins, *origin_right, text, n, patches);
                    return Ok(Step::Applied);
                }
                for origin in [origin_left, *origin_right].into_iter().flatten() {
                    if origin.replica == op.id.replica && origin.counter >= known {
                        return Err(ApplyError::Acausal {
                            op: op.id,
                            dependency: origin,
                        });
                    }
                }
                let mut origins = [NIL; 2];
                for (lv, id) in origins.iter_mut().zip([origin_left, *origin_right]) {
                    if let Some(id) = id {
                        match self.hist.replicas.lv_of(id) {
                            Some(known) => *lv = known,
                            None => return Ok(Step::Pending(id)),
                        }
                    }
                }
                let r = replica.unwrap_or_else(|| self.hist.replicas.intern(op.id.replica));
                let bad = |origin: Option<OpId>| ApplyError::BadOrigin {
                    op: op.id,
                    origin: origin.unwrap_or(op.id),
                };
                match self.place(r, origins) {
                    Placed::At(c, pos) => {
                        self.integrate((c, pos), r, first, origins, *origin_right, text, n, patches)
                    }
                    Placed::BadLeft => return Err(bad(origin_left)),
                    Placed::BadRight => return Err(bad(*origin_right)),
                }
            }
            OpKind::Delete { targets } => {
                let mut runs = SmallVec::new();
                if let Err(dep) = self.resolve_delete(op.id, targets, skip, &mut runs)? {
                    return Ok(Step::Pending(dep));
                }
                let r = replica.unwrap_or_else(|| self.hist.replicas.intern(op.id.replica));
                for (lv, n, backward) in runs {
                    let lo = if backward { lv + 1 - n } else { lv };
                    self.tree
                        .delete_items(lo, lo + n, &self.hist.newlines, |pos, k| {
                            patches.push(Patch {
                                pos: pos as usize,
                                del: k as usize,
                                ins: 0,
                            })
                        });
                    self.hist.push_delete(r, lv, n, backward);
                }
            }
        }
        Ok(Step::Applied)
    }

    /// Appends the local versions a delete targets, after skipping its first `skip` counters,
    /// as `(first target, len, backward)` runs in the op's counter order; or returns the first
    /// unknown dependency. Every target must be a character.
    fn resolve_delete(
        &self,
        op: OpId,
        targets: &[DeleteSpan],
        mut skip: u64,
        runs: &mut SmallVec<[(Lv, u32, bool); 2]>,
    ) -> Result<Result<(), OpId>, ApplyError> {
        let too_large = ApplyError::TooLarge(op);
        for span in targets {
            if skip >= span.len {
                skip -= span.len;
                continue;
            }
            let backward = span.backward;
            let n = span.len - skip;
            // The first target after skipping, and the highest counter the span names.
            let (first, hi) = if backward {
                let first = span
                    .start
                    .counter
                    .checked_sub(skip)
                    .ok_or(too_large.clone())?;
                (first, first)
            } else {
                let first = span
                    .start
                    .counter
                    .checked_add(skip)
                    .ok_or(too_large.clone())?;
                (first, first.checked_add(n - 1).ok_or(too_large.clone())?)
            };
            if backward && first + 1 < n {
                return Err(too_large);
            }
            skip = 0;
            let replica = span.start.replica;
            if replica == op.replica && hi >= op.counter {
                return Err(ApplyError::Acausal {
                    op,
                    dependency: OpId::new(replica, hi),
                });
            }
            if self.hist.replicas.known(replica) <= hi {
                return Ok(Err(OpId::new(replica, hi)));
            }
            // Walk the ids in the op's order, one run of consecutive local versions at a time.
            let mut c = first;
            let mut left = n;
            while left > 0 {
                let (lv, room) = self
                    .hist
                    .replicas
                    .lv_and_room(OpId::new(replica, c), backward)
                    .ok_or(too_large.clone())?;
                let k = room.min(left) as u32;
                let lo = if backward { lv + 1 - k } else { lv };
                if let Some(missing) = self.tree.first_missing(lo, k) {
                    return Err(ApplyError::NotACharacter {
                        op,
                        target: self.hist.replicas.id_of(missing),
                    });
                }
                runs.push((lv, k, backward));
                left -= u64::from(k);
                c = if backward {
                    c.wrapping_sub(u64::from(k))
                } else {
                    c + u64::from(k)
                };
            }
        }
        Ok(Ok(()))
    }

    /// Records a remote insert of `n` chars from id `first` by replica `r`, placed at `c`
    /// (visible position `pos`).
    #[allow(clippy::too_many_arguments)]
    fn integrate(
        &mut self,
        (c, pos): (Cursor, u32),
        r: u32,
        first: OpId,
        [left, right]: [Lv; 2],
        right_id: Option<OpId>,
        text: &str,
        n: u32,
        patches: &mut Patches,
    ) {
        let (lv, lines) = self.hist.push_insert(r, text, n, left, right);
        self.siblings.added(left, right, first.replica, lv);
        let after = self
            .tree
            .insert(c, Span::new(lv, n, false), lines, &self.hist.newlines);
        let last_id = OpId::new(first.replica, first.counter + u64::from(n) - 1);
        self.remember_typing(
            after,
            (lv + n - 1, last_id),
            (right, right_id),
            Some(pos + n),
        );
        patches.push(Patch {
            pos: pos as usize,
            del: 0,
            ins: n as usize,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::{Applied, ApplyError, Doc, Op, OpId, OpKind, Rejected, ReplicaId};

    #[test]
    fn a_held_op_that_turns_out_invalid_is_returned_by_the_apply_that_unblocked_it() {
        let mut a = Doc::new(ReplicaId::from(1));
        let typed = a.insert(0, "ab");
        let deleted = a.delete(0, 1);
        // Names a's deletion (counter 2) as its left origin: held until that id is known.
        let forged = Op {
            meta: None,
            id: OpId::new(ReplicaId::from(2), 0),
            kind: OpKind::Insert {
                origin_left: Some(OpId::new(ReplicaId::from(1), 2)),
                origin_right: None,
                text: "x".into(),
            },
        };
        let mut b = Doc::new(ReplicaId::from(3));
        assert_eq!(b.apply(&forged), Ok(Applied::Pending));
        assert!(
            matches!(b.apply(&typed), Ok(Applied::Done { rejected, .. }) if rejected.is_empty())
        );
        let Ok(Applied::Done { patches, rejected }) = b.apply(&deleted) else {
            panic!("the deletion applies");
        };
        assert_eq!(patches.len(), 1);
        let error = ApplyError::BadOrigin {
            op: forged.id,
            origin: OpId::new(ReplicaId::from(1), 2),
        };
        assert_eq!(rejected, vec![Rejected { op: forged, error }]);
        assert_eq!(b.pending_len(), 0);
        assert_eq!(b.text(), "b");
    }
}
