//! Undo and redo of this user's own edits only.
//!
//! Every local edit produces crdt-text [`Op`]s; they are recorded here in groups (a burst of
//! typing is one group). Undo asks the document to *revert* each op of the last group
//! ([`Doc::revert`]): that makes new local ops deleting what the group inserted and restoring
//! what it deleted, by character identity rather than by position, so edits made meanwhile by
//! other people stay exactly where they are. Redo reverts the reverting ops.

use crdt_text::{Doc, Op};

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
    pub ops: Vec<Op>,
}

/// This user's undo and redo stacks.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct UndoHistory {
    undo: Vec<Group>,
    redo: Vec<Group>,
    /// The kind of the group still open for extension, if any.
    open: Option<EditKind>,
}

/// Most undo steps kept.
const MAX_GROUPS: usize = 10_000;

impl UndoHistory {
    /// Records ops made by a fresh local edit. New edits clear the redo stack.
    pub fn record(&mut self, ops: Vec<Op>, kind: EditKind, ends_word: bool) {
        let ops: Vec<Op> = ops.into_iter().filter(|op| !op.is_empty()).collect();
        if ops.is_empty() {
            return;
        }
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
        let ops = revert_group(doc, &group);
        self.redo.push(Group { ops: ops.clone() });
        Some(ops)
    }

    /// Redoes the last undone group (see [`UndoHistory::undo`]).
    pub fn redo(&mut self, doc: &mut Doc) -> Option<Vec<Op>> {
        let group = self.redo.pop()?;
        self.open = None;
        let ops = revert_group(doc, &group);
        self.undo.push(Group { ops: ops.clone() });
        Some(ops)
    }
}

fn revert_group(doc: &mut Doc, group: &Group) -> Vec<Op> {
    group
        .ops
        .iter()
        .rev()
        .flat_map(|op| doc.revert(op))
        .filter(|op| !op.is_empty())
        .collect()
}
