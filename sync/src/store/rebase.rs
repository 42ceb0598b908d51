//! Merging outside edits into a document that changed since the plain file was written.

use crdt_text::{DeleteSpan, Doc, Op, OpId, OpKind, OpMeta, ReplicaId, VersionVector};

use super::meta::PlainState;
use super::plain;

/// Rebuilds the document as it was exported, diffs the file against that, and replays the
/// resulting edits on the current document as this replica's ops, so they merge with
/// everything received since like any concurrent edit. `None` if the exported state
/// cannot be rebuilt exactly (then the caller diffs against the current text).
pub fn import_onto_export(
    doc: &mut Doc,
    export: &PlainState,
    target: &str,
) -> Option<(plain::Imported, VersionVector)> {
    let scratch = ReplicaId::from(rand::random::<u64>());
    let mut base = Doc::new(scratch);
    for op in doc.ops_since(&VersionVector::new()) {
        let seen = export.exported.get(op.id.replica);
        if op.end() <= seen {
            base.apply(&op).ok()?;
        } else if op.id.counter < seen {
            // History keeps a replica's consecutive edits as one run; the export saw its
            // beginning (typing went on after the file was written).
            base.apply(&seen_prefix(&op, seen)?).ok()?;
        }
    }
    let rendered = plain::render(&base.text(), export.line_ending, export.bom);
    if blake3::hash(&rendered).as_bytes() != &export.hash {
        return None;
    }
    let imported = plain::import_diff(&mut base, target, plain::Merge::Replace);
    let me = doc.replica();
    let start = doc.version().get(me);
    let restamp = |id: OpId| {
        if id.replica == scratch {
            OpId::new(me, start + id.counter)
        } else {
            id
        }
    };
    let mut ops = Vec::with_capacity(imported.ops.len());
    for op in &imported.ops {
        let kind = match &op.kind {
            OpKind::Insert {
                origin_left,
                origin_right,
                text,
            } => OpKind::Insert {
                origin_left: origin_left.map(restamp),
                origin_right: origin_right.map(restamp),
                text: text.clone(),
            },
            OpKind::Delete { targets } => OpKind::Delete {
                targets: targets
                    .iter()
                    .map(|t| DeleteSpan {
                        start: restamp(t.start),
                        ..*t
                    })
                    .collect(),
            },
        };
        // The time stamp stays (the author is this replica's own).
        let meta = op.time().map(|time| {
            Box::new(OpMeta {
                time: Some(time),
                author: None,
            })
        });
        ops.push(Op {
            meta,
            id: restamp(op.id),
            kind,
        });
    }
    // From here on the ops are applied, so they must reach the log: a rejected one (a bug
    // in the restamping) is reported and skipped, never half-handled.
    ops.retain(|op| match doc.apply(op) {
        Ok(_) => true,
        Err(e) => {
            tracing::error!("importing an outside edit failed: {e}");
            false
        }
    });
    // The file now holds the export plus these ops. A version vector can say so exactly
    // only if this replica had no unexported ops; otherwise claim the whole document, so
    // a later rebase fails its hash check and falls back to a plain diff.
    let exported = if export.exported.get(me) == start {
        let mut v = export.exported.clone();
        v.advance(me, doc.version().get(me));
        v
    } else {
        doc.version()
    };
    Some((
        plain::Imported {
            ops,
            inserted: imported.inserted,
            deleted: imported.deleted,
        },
        exported,
    ))
}

/// The part of the run `op` below counter `seen` (a prefix of a run means what it meant in
/// the run: see `proto/split.rs`). `None` if that part is empty.
fn seen_prefix(op: &Op, seen: u64) -> Option<Op> {
    let keep = seen.checked_sub(op.id.counter).filter(|&n| n > 0)?;
    let kind = match &op.kind {
        OpKind::Insert {
            origin_left,
            origin_right,
            text,
        } => {
            let cut = text
                .char_indices()
                .nth(usize::try_from(keep).ok()?)
                .map_or(text.len(), |(at, _)| at);
            OpKind::Insert {
                origin_left: *origin_left,
                origin_right: *origin_right,
                text: text[..cut].into(),
            }
        }
        OpKind::Delete { targets } => {
            let mut left = keep;
            let mut kept = Vec::new();
            for span in targets.iter() {
                if left == 0 {
                    break;
                }
                let len = span.len.min(left);
                kept.push(DeleteSpan { len, ..*span });
                left -= len;
            }
            OpKind::Delete {
                targets: kept.into_iter().collect(),
            }
        }
    };
    // The history rides on the first piece of a split run, as in `proto/split.rs`.
    Some(Op {
        id: op.id,
        kind,
        meta: op.meta.clone(),
    })
}
