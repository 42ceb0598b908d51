//! Undo and redo of this user's own edits only.
//!
//! Every local edit produces crdt-text [`Op`]s; they are recorded here in groups (a burst of
//! typing is one group). Undo asks the document to *revert* each op of the last group
//! ([`Doc::revert`]): that makes new local ops deleting what the group inserted and restoring
//! what it deleted, by character identity rather than by position, so edits made meanwhile by
//! other people stay exactly where they are. Redo reverts the reverting ops.
//!
//! A group holds only which characters its ops inserted or deleted ([`OpRange`]s), so the
//! stacks can be kept in the store and still undo after a restart (see
//! [`UndoHistory::kept`] and [`UndoHistory::from_kept`]).

use crdt_text::{Doc, Op, OpRange};

/// What kind of edit extends the current group.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EditKind {
    /// Typing characters one by one (a run of word characters is one group).
    Type,
    /// Backspace or Delete presses.
    Erase,
    /// Anything else (paste, cut, newline, undo itself): always a group of its own.
    Other,
}

/// Ops of one undo step, in the order they were made.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Group {
    /// The ops.
    pub ops: Vec<OpRange>,
}

/// This user's undo and redo stacks.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct UndoHistory {
    undo: Vec<Group>,
    redo: Vec<Group>,
    /// The kind of the group still open for extension, if any.
    open: Option<EditKind>,
    /// Counts changes to the stacks (to know when they must be kept again).
    changes: u64,
}

/// Most undo steps kept.
const MAX_GROUPS: usize = 10_000;

impl UndoHistory {
    /// Records ops made by a fresh local edit. New edits clear the redo stack.
    pub fn record(&mut self, ops: &[Op], kind: EditKind, ends_word: bool) {
        let ops: Vec<OpRange> = ops
            .iter()
            .filter(|op| !op.is_empty())
            .map(Op::range)
            .collect();
        if ops.is_empty() {
            return;
        }
        self.changes += 1;
        self.redo.clear();
        match self.undo.last_mut() {
            Some(group) if self.open == Some(kind) && kind != EditKind::Other => {
                group.ops.extend(ops)
            }
            _ => {
                self.undo.push(Group { ops });
                if self.undo.len() > MAX_GROUPS {
                    self.undo.remove(0);
                }
            }
        }
        self.open = if kind == EditKind::Other || ends_word {
            None
        } else {
            Some(kind)
        };
    }

    /// Closes the current group: the next edit starts a new undo step (after cursor motion).
    pub fn break_group(&mut self) {
        self.open = None;
    }

    /// Whether there is anything to undo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether there is anything to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Undoes the last group: returns the new local ops (already applied to `doc`), to be
    /// sent to peers. `None` when there is nothing to undo.
    pub fn undo(&mut self, doc: &mut Doc) -> Option<Vec<Op>> {
        let group = self.undo.pop()?;
        self.open = None;
        self.changes += 1;
        let ops = revert_group(doc, &group);
        self.redo.push(Group {
            ops: ops.iter().map(Op::range).collect(),
        });
        Some(ops)
    }

    /// Redoes the last undone group (see [`UndoHistory::undo`]).
    pub fn redo(&mut self, doc: &mut Doc) -> Option<Vec<Op>> {
        let group = self.redo.pop()?;
        self.open = None;
        self.changes += 1;
        let ops = revert_group(doc, &group);
        self.undo.push(Group {
            ops: ops.iter().map(Op::range).collect(),
        });
        Some(ops)
    }

    /// How many times the stacks changed: a different count means they must be kept again.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The stacks as kept in the store: undo, then redo, oldest step first.
    pub fn kept(&self) -> (Vec<Vec<OpRange>>, Vec<Vec<OpRange>>) {
        let steps = |groups: &[Group]| groups.iter().map(|g| g.ops.clone()).collect();
        (steps(&self.undo), steps(&self.redo))
    }

    /// Stacks kept by an earlier run (see [`UndoHistory::kept`]). The next edit starts a new
    /// step.
    pub fn from_kept(undo: Vec<Vec<OpRange>>, redo: Vec<Vec<OpRange>>) -> Self {
        let groups = |steps: Vec<Vec<OpRange>>| {
            steps
                .into_iter()
                .filter(|ops| !ops.is_empty())
                .map(|ops| Group { ops })
                .collect::<Vec<_>>()
        };
        let mut undo = groups(undo);
        if undo.len() > MAX_GROUPS {
            undo.drain(..undo.len() - MAX_GROUPS);
        }
        UndoHistory {
            undo,
            redo: groups(redo),
            open: None,
            changes: 0,
        }
    }
}

fn revert_group(doc: &mut Doc, group: &Group) -> Vec<Op> {
    group
        .ops
        .iter()
        .rev()
        .flat_map(|&op| doc.revert_range(op))
        .filter(|op| !op.is_empty())
        .collect()
}
