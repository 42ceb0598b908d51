//! Operations as they travel between replicas, and the outcome of applying one.
//!
//! An [`Op`] is a *run*: an insert of several characters typed one after another, or a
//! deletion of several characters. Each character inserted or deleted consumes one counter
//! value of the op's replica, so `op.id.counter .. op.id.counter + op.len()` are its ids.

use serde::{Deserialize, Serialize};

use crate::{Author, OpId, OpMeta, Patches, Targets, Text};

/// One operation on the wire. Serialize it with any serde format (duet uses postcard): binary
/// formats get a compact byte string, human-readable ones the fields (see `wire.rs`).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Op {
    /// The id of the first character inserted or deleted; the rest follow consecutively.
    pub id: OpId,
    /// What the operation does.
    pub kind: OpKind,
    /// Recorded history, when the op carries any (boxed: most ops carry none).
    pub meta: Option<Box<OpMeta>>,
}

/// The two kinds of operation.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum OpKind {
    /// Insert `text` between two existing characters. Character `k` of the text has id
    /// `id.counter + k`; its left origin is the previous character of the run (for `k > 0`) or
    /// `origin_left` (for `k == 0`); all characters share `origin_right`.
    Insert {
        /// The character immediately left of the insertion point when it was made
        /// (`None`: the start of the document).
        origin_left: Option<OpId>,
        /// The character immediately right of the insertion point when it was made
        /// (`None`: the end of the document).
        origin_right: Option<OpId>,
        /// The inserted characters.
        text: Text,
    },
    /// Delete characters by id. The op's counters are consumed by the targets in order:
    /// the first span's characters first.
    Delete {
        /// The deleted characters, as runs of consecutive ids.
        targets: Targets,
    },
}

/// A run of deleted characters of one replica.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct DeleteSpan {
    /// The first character deleted (in the order the deletions were made).
    pub start: OpId,
    /// How many characters.
    pub len: u64,
    /// `false`: targets `start, start+1, …` (forward delete); `true`: targets
    /// `start, start-1, …` (backspacing).
    pub backward: bool,
}

impl DeleteSpan {
    /// The lowest counter among the targets.
    pub fn min_counter(&self) -> u64 {
        if self.backward {
            self.start.counter + 1 - self.len
        } else {
            self.start.counter
        }
    }
}

/// Which characters an op inserted or deleted, without its content: enough to revert it
/// ([`Doc::revert_range`](crate::Doc::revert_range)) long after the op itself is gone, e.g.
/// from an undo stack kept on disk.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct OpRange {
    /// The op's first id; the rest follow consecutively.
    pub start: OpId,
    /// How many ids (characters inserted or deleted).
    pub len: u64,
    /// Whether the op inserted (else it deleted).
    pub insert: bool,
}

impl Op {
    /// Which characters the op inserted or deleted (see [`OpRange`]).
    pub fn range(&self) -> OpRange {
        OpRange {
            start: self.id,
            len: self.len(),
            insert: matches!(self.kind, OpKind::Insert { .. }),
        }
    }

    /// An op without recorded history.
    pub fn new(id: OpId, kind: OpKind) -> Op {
        Op {
            id,
            kind,
            meta: None,
        }
    }

    /// The op's time stamp (Unix seconds), if it carries one.
    pub fn time(&self) -> Option<u64> {
        self.meta.as_ref().and_then(|m| m.time)
    }

    /// The author of the op's replica, if the op carries it.
    pub fn author(&self) -> Option<&Author> {
        self.meta.as_ref().and_then(|m| m.author.as_ref())
    }

    /// How many counter values (characters inserted or deleted) this op consumes.
    pub fn len(&self) -> u64 {
        match &self.kind {
            OpKind::Insert { text, .. } => text.chars().count() as u64,
            OpKind::Delete { targets } => targets.iter().map(|s| s.len).sum(),
        }
    }

    /// Whether the op does nothing (an empty insert or delete).
    pub fn is_empty(&self) -> bool {
        match &self.kind {
            OpKind::Insert { text, .. } => text.is_empty(),
            OpKind::Delete { targets } => targets.iter().all(|s| s.len == 0),
        }
    }

    /// The counter one past the op's last id.
    pub fn end(&self) -> u64 {
        self.id.counter + self.len()
    }
}

/// A change to the visible text, in the style of the editing traces: at `pos`, `del`
/// characters were removed and then `ins` characters inserted. Patches returned together are
/// applied in order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Patch {
    /// Position (in chars) in the text as it was after the previous patch.
    pub pos: usize,
    /// Characters removed at `pos`.
    pub del: usize,
    /// Characters inserted at `pos` (after the removal).
    pub ins: usize,
}

/// The outcome of [`Doc::apply`](crate::Doc::apply).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Applied {
    /// The op (and any held ops it unblocked) took effect.
    Done {
        /// The visible changes, in order. Empty when the op only touched already-deleted
        /// characters.
        patches: Patches,
        /// Held ops that this op unblocked and that turned out invalid (or that wait on
        /// something else and no longer fit among the held ops): they changed nothing. An
        /// invalid one's sender sent something no valid replica makes.
        rejected: Vec<Rejected>,
    },
    /// Every character of the op was already applied: nothing changed.
    Duplicate,
    /// The op depends on operations not yet received. It is held and applied as soon as they
    /// arrive (their `apply` reports its patches too).
    Pending,
}

/// An op that was held for its dependencies and was dropped once they arrived: see
/// [`Applied::Done`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Rejected {
    /// The op, as it was received.
    pub op: Op,
    /// Why it can never apply.
    pub error: ApplyError,
}

/// An op that can never be valid, whatever else arrives.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ApplyError {
    /// The op consumes no counters (empty text or no targets) yet claims a fresh id.
    #[error("op {0:?} is empty")]
    Empty(OpId),
    /// Counters would overflow, or an op is larger than the document format allows.
    #[error("op {0:?} is too large")]
    TooLarge(OpId),
    /// An op refers to a character that the op itself, or a later op of the same replica,
    /// creates: its dependencies can never be satisfied.
    #[error("op {op:?} depends on {dependency:?}, which cannot precede it")]
    Acausal {
        /// The offending op.
        op: OpId,
        /// The impossible dependency.
        dependency: OpId,
    },
    /// A delete names an id that is a deletion, not a character.
    #[error("op {op:?} deletes {target:?}, which is not an inserted character")]
    NotACharacter {
        /// The offending op.
        op: OpId,
        /// The target that is itself a deletion.
        target: OpId,
    },
    /// An insert names as origin an id that is a deletion, not a character.
    #[error("op {op:?} names {origin:?} as origin, which is not an inserted character")]
    BadOrigin {
        /// The offending op.
        op: OpId,
        /// The origin that is itself a deletion.
        origin: OpId,
    },
    /// The op's ids are already known but name other characters or deletions: two replicas
    /// wrote under the same replica id (a copied store, a restored backup). Nothing is applied.
    #[error(
        "op {0:?} reuses ids this document already has for different edits: two replicas share one replica id"
    )]
    Conflict(OpId),
    /// Too many ops are already held waiting for their dependencies.
    #[error("too many pending ops ({0}); op rejected")]
    PendingFull(usize),
}
