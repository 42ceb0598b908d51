//! The history side: versions and the ops another replica lacks.

use super::*;

impl Doc {
    // ---- history --------------------------------------------------------------------------

    /// The set of operations this replica has applied.
    pub fn version(&self) -> VersionVector {
        self.hist.replicas.version()
    }

    /// Whether the character or deletion `id` has been applied.
    pub fn contains(&self, id: OpId) -> bool {
        self.hist.replicas.known(id.replica) > id.counter
    }

    /// Exactly the ops that a replica at `version` lacks, in an order that applies cleanly
    /// (every op after the ops it depends on), with their recorded history (each replica's
    /// author on its first op, a time stamp wherever its time changes).
    pub fn ops_since(&self, version: &VersionVector) -> Vec<Op> {
        let mut ops: Vec<Op> = Vec::new();
        let mut announced = vec![false; self.hist.replicas.ids.len()];
        for (lv, len) in self.lv_ranges_since(version) {
            self.ops_in(lv, lv + len, &mut ops, &mut announced);
        }
        ops
    }

    /// The recorded history the op with id `id` at version `lv` carries: the author of its
    /// replica `r` if not `announced` yet in this batch, its time if it differs from the time
    /// of the replica's previous op (which the receiver has, and assumes).
    fn meta_of(&self, r: u32, id: OpId, lv: Lv, announced: &mut [bool]) -> Option<Box<OpMeta>> {
        let time = self.hist.time_of(lv);
        let before = match id.counter.checked_sub(1) {
            Some(c) => self
                .hist
                .replicas
                .lv_of(OpId::new(id.replica, c))
                .map_or(0, |p| self.hist.time_of(p)),
            None => 0,
        };
        let author = if announced[r as usize] {
            None
        } else {
            announced[r as usize] = true;
            self.hist.replicas.authors[r as usize].clone()
        };
        let time = (time != before).then_some(time);
        (time.is_some() || author.is_some()).then(|| Box::new(OpMeta { time, author }))
    }

    /// The local-version ranges a replica at `version` lacks, ascending.
    pub(crate) fn lv_ranges_since(&self, version: &VersionVector) -> Vec<(Lv, u32)> {
        let reps = &self.hist.replicas;
        let mut ranges: Vec<(Lv, u32)> = Vec::new();
        for (r, &id) in reps.ids.iter().enumerate() {
            ranges.extend(reps.lv_ranges_from(r as u32, version.get(id)));
        }
        ranges.sort_unstable();
        ranges
    }

    /// Appends the ops for local versions `lv .. end` (one replica, consecutive counters),
    /// cut where their time changes.
    pub(super) fn ops_in(&self, mut lv: Lv, end: Lv, ops: &mut Vec<Op>, announced: &mut [bool]) {
        while lv < end {
            let id = self.hist.replicas.id_of(lv);
            let r = self.hist.replicas.run_of(lv).replica;
            let end = end.min(self.hist.next_time_change(lv));
            let meta = self.meta_of(r, id, lv, announced);
            match self.hist.kind_of(lv) {
                Some(Kind::Ins(i)) => {
                    let run = self.hist.ins[i];
                    let take = end.min(run.end()) - lv;
                    let (left, right) = run.origins_of(lv);
                    ops.push(Op {
                        meta,
                        id,
                        kind: OpKind::Insert {
                            origin_left: self.hist.origin_id(left),
                            origin_right: self.hist.origin_id(right),
                            text: Text::from(self.hist.text_of(i, lv, take)),
                        },
                    });
                    lv += take;
                }
                Some(Kind::Del(i)) => {
                    let run = self.hist.del[i];
                    let take = end.min(run.end()) - lv;
                    let from = lv - run.lv;
                    let (first, n, backward) = run.targets(from, from + take);
                    let mut spans = Targets::new();
                    self.wire_targets(first, n, backward, &mut spans);
                    match ops.last_mut() {
                        Some(Op {
                            id: last,
                            kind: OpKind::Delete { targets },
                            ..
                        }) if meta.is_none()
                            && last.replica == id.replica
                            && last.counter + targets.iter().map(|s| s.len).sum::<u64>()
                                == id.counter =>
                        {
                            targets.extend(spans)
                        }
                        _ => ops.push(Op {
                            meta,
                            id,
                            kind: OpKind::Delete { targets: spans },
                        }),
                    }
                    lv += take;
                }
                None => return,
            }
        }
    }
}
