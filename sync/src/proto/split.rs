//! Cutting ops and op lists into pieces that fit in bounded messages.
//!
//! An op is a run of consecutive counters; a prefix and the rest of a run are two runs with
//! exactly the same meaning (an insert's character `k` has the previous character as its
//! left origin either way; a delete consumes its targets in order), so long runs are split.

use crdt_text::{DeleteSpan, Op, OpId, OpKind};

/// Largest inserted text in one op piece, in bytes.
pub(crate) const MAX_PIECE_TEXT_BYTES: usize = 64 * 1024;
/// Most delete spans in one op piece.
pub(crate) const MAX_PIECE_SPANS: usize = 2048;
/// Estimated encoded bytes of one `Ops` message, kept well under the frame limit.
pub(crate) const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Upper bound on an op's postcard size.
fn estimate(op: &Op) -> usize {
    let history = op.meta.as_ref().map_or(0, |_| HISTORY_BYTES);
    history
        + match &op.kind {
            OpKind::Insert { text, .. } => 64 + text.len(),
            OpKind::Delete { targets } => 32 + 32 * targets.len(),
        }
}

/// Upper bound on the recorded history an op carries: a time and an author.
pub(crate) const HISTORY_BYTES: usize = 10 + 16 + 2 * (2 + crdt_text::MAX_AUTHOR_FIELD);

/// Splits `op` into runs of at most `max_text` bytes of text or `max_spans` delete spans.
/// The first piece carries the op's recorded history; the others inherit its time.
pub(crate) fn split_op(op: Op, max_text: usize, max_spans: usize) -> Vec<Op> {
    let mut meta = op.meta;
    match op.kind {
        OpKind::Insert {
            origin_left,
            origin_right,
            text,
        } if text.len() > max_text => {
            let mut pieces = Vec::new();
            let mut chars_before = 0u64;
            let mut rest = text.as_str();
            while !rest.is_empty() {
                let mut cut = rest.len().min(max_text.max(4));
                while !rest.is_char_boundary(cut) {
                    cut -= 1;
                }
                let (piece, tail) = rest.split_at(cut);
                let counter = op.id.counter + chars_before;
                let left = if chars_before == 0 {
                    origin_left
                } else {
                    Some(OpId::new(op.id.replica, counter - 1))
                };
                pieces.push(Op {
                    meta: meta.take(),
                    id: OpId::new(op.id.replica, counter),
                    kind: OpKind::Insert {
                        origin_left: left,
                        origin_right,
                        text: piece.into(),
                    },
                });
                chars_before += piece.chars().count() as u64;
                rest = tail;
            }
            pieces
        }
        OpKind::Delete { targets } if targets.len() > max_spans => {
            let mut counter = op.id.counter;
            targets
                .chunks(max_spans.max(1))
                .map(|spans: &[DeleteSpan]| {
                    let piece = Op {
                        meta: meta.take(),
                        id: OpId::new(op.id.replica, counter),
                        kind: OpKind::Delete {
                            targets: spans.into(),
                        },
                    };
                    counter += piece.len();
                    piece
                })
                .collect()
        }
        kind => vec![Op {
            meta,
            id: op.id,
            kind,
        }],
    }
}

/// Groups `ops` (in order) into batches of at most `max_ops` ops and about
/// [`MAX_BATCH_BYTES`] bytes each, splitting long runs first.
pub(crate) fn batches(ops: Vec<Op>, max_ops: usize) -> Vec<Vec<Op>> {
    let mut out = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0;
    for op in ops {
        for piece in split_op(op, MAX_PIECE_TEXT_BYTES, MAX_PIECE_SPANS) {
            let size = estimate(&piece);
            if !batch.is_empty()
                && (batch.len() >= max_ops.max(1) || bytes + size > MAX_BATCH_BYTES)
            {
                out.push(std::mem::take(&mut batch));
                bytes = 0;
            }
            bytes += size;
            batch.push(piece);
        }
    }
    if !batch.is_empty() {
        out.push(batch);
    }
    out
}

#[cfg(test)]
mod tests {
    use crdt_text::ReplicaId;

    use super::*;

    fn insert(counter: u64, text: &str) -> Op {
        Op {
            meta: None,
            id: OpId::new(ReplicaId::from(7), counter),
            kind: OpKind::Insert {
                origin_left: Some(OpId::new(ReplicaId::from(1), 3)),
                origin_right: None,
                text: text.into(),
            },
        }
    }

    #[test]
    fn a_long_insert_splits_into_consecutive_runs_chained_by_left_origin() {
        let pieces = split_op(insert(10, "héllo wörld"), 4, 8);
        let joined: String = pieces
            .iter()
            .map(|p| match &p.kind {
                OpKind::Insert { text, .. } => text.as_str(),
                OpKind::Delete { .. } => "",
            })
            .collect();
        assert_eq!(joined, "héllo wörld");
        let mut next = 10;
        for (i, p) in pieces.iter().enumerate() {
            assert_eq!(p.id.counter, next);
            let OpKind::Insert {
                origin_left,
                origin_right,
                text,
            } = &p.kind
            else {
                unreachable!()
            };
            assert!(text.len() <= 4);
            assert_eq!(*origin_right, None);
            let expected_left = if i == 0 {
                Some(OpId::new(ReplicaId::from(1), 3))
            } else {
                Some(OpId::new(ReplicaId::from(7), next - 1))
            };
            assert_eq!(*origin_left, expected_left);
            next = p.end();
        }
        assert_eq!(next, 10 + 11);
    }

    #[test]
    fn a_delete_with_many_spans_splits_by_spans_keeping_counters() {
        let targets: Vec<DeleteSpan> = (0..5)
            .map(|i| DeleteSpan {
                start: OpId::new(ReplicaId::from(1), i * 10),
                len: i + 1,
                backward: false,
            })
            .collect();
        let op = Op {
            meta: None,
            id: OpId::new(ReplicaId::from(2), 100),
            kind: OpKind::Delete {
                targets: targets.into(),
            },
        };
        let pieces = split_op(op.clone(), 100, 2);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces[0].id.counter, 100);
        assert_eq!(pieces[1].id.counter, 103);
        assert_eq!(pieces[2].id.counter, 110);
        assert_eq!(pieces[2].end(), op.end());
    }

    #[test]
    fn batches_respect_op_count_and_byte_budget() {
        let ops: Vec<Op> = (0..10)
            .map(|i| insert(i * 100_000, &"x".repeat(100_000)))
            .collect();
        let all = batches(ops, 3);
        for b in &all {
            assert!(b.len() <= 3);
            assert!(b.iter().map(estimate).sum::<usize>() <= MAX_BATCH_BYTES);
        }
        let total: u64 = all.iter().flatten().map(Op::len).sum();
        assert_eq!(total, 1_000_000);
    }
}
