//! Telling a true duplicate from a forged or forked one.
//!
//! An op whose ids this replica already has is normally a harmless duplicate (re-sent, or
//! relayed by another peer). But if two replicas ever write under the same replica id (a store
//! copied with `cp -r`, a restored backup), the same ids name different characters, and
//! dropping the second copy as a duplicate would let the replicas diverge without a word.
//! [`Doc::apply`] therefore compares what an already-known op says with what the history
//! holds for those ids, character by character, and refuses a mismatch with
//! [`ApplyError::Conflict`]. This costs nothing on the normal path: only ops whose ids are
//! already known are compared.

use super::*;

/// What one counter of an op does: insert a character between two origins, or delete one.
#[derive(PartialEq, Eq, Debug)]
enum Unit {
    Insert {
        ch: char,
        left: Option<OpId>,
        right: Option<OpId>,
    },
    Delete(OpId),
}

/// The first `n` units of `op` (or fewer if it is shorter).
fn units(op: &Op, n: u64, out: &mut Vec<Unit>) {
    let base = op.id;
    match &op.kind {
        OpKind::Insert {
            origin_left,
            origin_right,
            text,
        } => {
            for (k, ch) in text.chars().take(n as usize).enumerate() {
                let left = match k {
                    0 => *origin_left,
                    _ => Some(OpId::new(base.replica, base.counter + k as u64 - 1)),
                };
                out.push(Unit::Insert {
                    ch,
                    left,
                    right: *origin_right,
                });
            }
        }
        OpKind::Delete { targets } => {
            let mut left = n;
            for span in targets {
                let take = span.len.min(left);
                for j in 0..take {
                    let counter = if span.backward {
                        span.start.counter.wrapping_sub(j)
                    } else {
                        span.start.counter + j
                    };
                    out.push(Unit::Delete(OpId::new(span.start.replica, counter)));
                }
                left -= take;
                if left == 0 {
                    return;
                }
            }
        }
    }
}

impl Doc {
    /// Whether `op`, whose counters below `known` this replica already has, says something
    /// else about those counters than the history does.
    pub(super) fn contradicts_history(&self, op: &Op, known: u64) -> bool {
        let (from, to) = (op.id.counter, op.end().min(known));
        if from >= to {
            return false;
        }
        let mut held = Vec::new();
        // Only the edits are compared: no authors needed.
        let mut announced = vec![true; self.hist.replicas.ids.len()];
        let mut counter = from;
        while counter < to {
            let id = OpId::new(op.id.replica, counter);
            let Some((lv, room)) = self.hist.replicas.lv_and_room(id, false) else {
                return true;
            };
            let take = room.min(to - counter);
            self.ops_in(lv, lv + take as Lv, &mut held, &mut announced);
            counter += take;
        }
        let mut theirs = Vec::new();
        units(op, to - from, &mut theirs);
        let mut ours = Vec::with_capacity(theirs.len());
        for known_op in &held {
            units(known_op, known_op.len(), &mut ours);
        }
        theirs != ours
    }
}

#[cfg(test)]
mod tests {
    use crate::{ApplyError, Doc, OpKind, ReplicaId};

    #[test]
    fn a_forked_replica_id_is_a_conflict_not_a_duplicate() {
        let mut a = Doc::new(ReplicaId::from(1));
        let mut b = a.clone();
        let common = a.insert(0, "shared ");
        b.apply(&common).unwrap();
        // A copy of the store: both sides now write under replica 1.
        let mut fork = b.clone();
        let mine = b.insert(7, "typed on b");
        let theirs = fork.insert(7, "typed on the copy");
        assert_eq!(mine.id, theirs.id, "the same ids name different text");
        assert!(matches!(b.apply(&theirs), Err(ApplyError::Conflict(id)) if id == theirs.id));
        assert!(matches!(b.apply(&mine), Ok(crate::Applied::Duplicate)));
        assert!(matches!(a.apply(&common), Ok(crate::Applied::Duplicate)));
        assert_eq!(b.text(), "shared typed on b", "the document is untouched");
    }

    #[test]
    fn a_partly_known_op_is_compared_on_the_part_that_is_known() {
        let mut a = Doc::new(ReplicaId::from(1));
        let mut b = Doc::new(ReplicaId::from(2));
        let first = a.insert(0, "abc");
        b.apply(&first).unwrap();
        let more = a.insert(3, "def");
        // The same six characters as one run: known for its first half, new for the rest.
        let run = crate::Op {
            meta: None,
            id: first.id,
            kind: OpKind::Insert {
                origin_left: None,
                origin_right: None,
                text: "abcdef".into(),
            },
        };
        b.apply(&run).unwrap();
        assert_eq!(b.text(), "abcdef");
        assert!(matches!(b.apply(&more), Ok(crate::Applied::Duplicate)));
        let forged = crate::Op {
            meta: None,
            id: first.id,
            kind: OpKind::Insert {
                origin_left: None,
                origin_right: None,
                text: "abXdefg".into(),
            },
        };
        assert!(matches!(b.apply(&forged), Err(ApplyError::Conflict(_))));
        assert_eq!(b.text(), "abcdef");
    }

    #[test]
    fn deletes_are_compared_by_their_targets() {
        let mut a = Doc::new(ReplicaId::from(1));
        let mut b = Doc::new(ReplicaId::from(2));
        let ins = b.insert(0, "hello");
        a.apply(&ins).unwrap();
        let mut copy = a.clone();
        let del = a.delete(0, 2);
        let other = copy.delete(3, 2);
        assert_eq!(del.id, other.id);
        b.apply(&del).unwrap();
        assert!(matches!(b.apply(&del), Ok(crate::Applied::Duplicate)));
        assert!(matches!(b.apply(&other), Err(ApplyError::Conflict(_))));
        assert_eq!(b.text(), "llo");
    }
}
