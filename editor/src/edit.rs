//! Editing and motion on the model: what the commands do. Every change to the text goes
//! through [`Model::replace`], which records it for undo and emits the resulting ops.

use std::ops::Range;

use crdt_text::{Anchor, Bias, OpId, OpKind};

use crate::layout::{LaidOutLine, layout_line};
use crate::model::{Model, Scroll, Selection};
use crate::msg::Effect;
use crate::text;
use crate::undo::EditKind;

/// Normalizes line breaks of text coming from outside (paste): `\r\n` and lone `\r` become `\n`.
pub fn normalize_newlines(s: &str) -> String {
    if s.contains('\r') {
        s.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        s.to_owned()
    }
}

/// A position on screen relative to the document: a line, a wrapped row in it, a column.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Visual {
    /// The line.
    pub line: usize,
    /// The wrapped row within the line.
    pub row: usize,
    /// The screen column within the text area.
    pub col: usize,
}

impl Model {
    // ----- text changes -----

    /// Replaces `range` by `text`: the one way the user's edits change the document. Records
    /// the ops for undo, emits them for the store and the peers, and leaves the cursor after
    /// the inserted text.
    pub fn replace(&mut self, range: Range<usize>, text: &str, kind: EditKind, ends_word: bool) {
        if !self.can_edit() {
            return;
        }
        let mut ops = Vec::with_capacity(2);
        if !range.is_empty() {
            ops.push(self.doc.delete(range.start, range.len()));
        }
        if !text.is_empty() {
            ops.push(self.doc.insert(range.start, text));
        }
        for op in ops.iter().filter(|op| !op.is_empty()) {
            self.emit(Effect::Submit(op.clone()));
        }
        self.undo.record(&ops, kind, ends_word);
        self.set_cursor(range.start + text.chars().count(), false);
        self.goal_col = None;
    }

    /// Whether the document may be edited; if not, says why.
    pub fn can_edit(&mut self) -> bool {
        match &self.read_only {
            None => true,
            Some(why) => {
                let text = format!("Read-only: {why}");
                self.notify(crate::model::Level::Warn, text);
                false
            }
        }
    }

    /// Inserts `text` in place of the selection (typing or pasting). Typing over a selection
    /// starts an undo step that the following keystrokes extend, so one undo removes the
    /// typing and brings the selected text back.
    pub fn insert_text(&mut self, text: &str, kind: EditKind) {
        let range = self.selection_range();
        if !range.is_empty() {
            self.undo.break_group();
        }
        let ends_word = text.chars().last().is_some_and(|c| !c.is_alphanumeric());
        self.replace(range, text, kind, ends_word);
    }

    /// Types one character.
    pub fn type_char(&mut self, c: char) {
        self.insert_text(c.encode_utf8(&mut [0; 4]), EditKind::Type);
    }

    /// Enter: a line break, keeping the current line's indentation.
    pub fn insert_newline(&mut self) {
        let start = self.selection_range().start;
        let indent = text::indent_of_line(&self.doc, start);
        let line_start = self.doc.line_to_char(self.doc.char_to_line(start));
        // Only copy the part of the indentation that lies before the cursor.
        let indent: String = indent.chars().take(start - line_start).collect();
        self.insert_text(&format!("\n{indent}"), EditKind::Other);
    }

    /// Deletes the selection, or else the range `motion` computes from the cursor.
    fn delete_with(&mut self, kind: EditKind, motion: impl Fn(&Self, usize) -> usize) {
        let sel = self.selection_range();
        let range = if sel.is_empty() {
            let cursor = self.cursor();
            let other = motion(self, cursor);
            cursor.min(other)..cursor.max(other)
        } else {
            sel
        };
        if range.is_empty() {
            return;
        }
        self.replace(range, "", kind, false);
    }

    /// Backspace: the selection, or the grapheme before the cursor.
    pub fn delete_backward(&mut self) {
        self.delete_with(EditKind::Erase, |m, p| text::prev_grapheme(&m.doc, p));
    }

    /// Delete: the selection, or the grapheme after the cursor.
    pub fn delete_forward(&mut self) {
        self.delete_with(EditKind::Erase, |m, p| text::next_grapheme(&m.doc, p));
    }

    /// Deletes back to the start of the word.
    pub fn delete_word_backward(&mut self) {
        self.delete_with(EditKind::Other, |m, p| text::prev_word(&m.doc, p));
    }

    /// Deletes forward to the end of the word.
    pub fn delete_word_forward(&mut self) {
        self.delete_with(EditKind::Other, |m, p| text::next_word(&m.doc, p));
    }

    /// The selected text.
    pub fn selected_text(&self) -> String {
        self.doc.slice(self.selection_range())
    }

    /// Copies the selection to the internal and the system clipboard.
    pub fn copy(&mut self) -> bool {
        let text = self.selected_text();
        if text.is_empty() {
            return false;
        }
        self.clipboard = text.clone();
        self.emit(Effect::Clipboard(text));
        true
    }

    /// Cuts the selection.
    pub fn cut(&mut self) {
        if self.copy() {
            self.replace(self.selection_range(), "", EditKind::Other, false);
        }
    }

    /// Cuts the whole line (with its line break). Cuts in a row collect the lines, so one
    /// paste puts them all back (as nano and micro do).
    pub fn cut_line(&mut self) {
        let cursor = self.cursor();
        let line = self.doc.char_to_line(cursor);
        let start = self.doc.line_to_char(line);
        let end = self.doc.line_to_char(line + 1).min(self.doc.len());
        if start == end || !self.can_edit() {
            return;
        }
        let text = self.doc.slice(start..end);
        if self.last_command == Some(crate::commands::Command::CutLine) {
            self.clipboard.push_str(&text);
        } else {
            self.clipboard = text;
        }
        self.emit(Effect::Clipboard(self.clipboard.clone()));
        self.replace(start..end, "", EditKind::Other, false);
    }

    /// Tab: a tab character, or spaces to the next tab stop (per the indentation setting).
    pub fn insert_indent(&mut self) {
        let text = match self.settings.indent {
            crate::settings::Indent::Tabs => "\t".to_owned(),
            crate::settings::Indent::Spaces => {
                let v = self.visual(self.selection_range().start);
                let width = self.settings.tab_width.max(1);
                " ".repeat(width - v.col % width)
            }
        };
        self.insert_text(&text, EditKind::Other);
    }

    /// Pastes the internal clipboard.
    pub fn paste(&mut self) {
        let text = self.clipboard.clone();
        if !text.is_empty() {
            self.insert_text(&text, EditKind::Other);
        }
    }

    /// Undoes this user's last edit group (others' edits stay).
    pub fn undo(&mut self) -> bool {
        if !self.can_edit() {
            return true;
        }
        let Some(ops) = self.undo.undo(&mut self.doc) else {
            return false;
        };
        self.after_history(ops);
        true
    }

    /// Redoes the last undone group.
    pub fn redo(&mut self) -> bool {
        if !self.can_edit() {
            return true;
        }
        let Some(ops) = self.undo.redo(&mut self.doc) else {
            return false;
        };
        self.after_history(ops);
        true
    }

    /// Emits the ops an undo or redo made and puts the cursor where the last one acted.
    fn after_history(&mut self, ops: Vec<crdt_text::Op>) {
        let replica = self.doc.replica();
        let mut cursor = None;
        for op in ops {
            cursor = Some(match &op.kind {
                // After the last re-inserted character.
                OpKind::Insert { .. } => {
                    let last = OpId::new(replica, op.end() - 1);
                    self.doc.resolve(&Anchor {
                        id: Some(last),
                        bias: Bias::Left,
                    })
                }
                // Where the deleted characters were.
                OpKind::Delete { targets } => targets.first().map_or(self.cursor(), |t| {
                    let first = OpId::new(t.start.replica, t.min_counter());
                    self.doc.resolve(&Anchor {
                        id: Some(first),
                        bias: Bias::Right,
                    })
                }),
            });
            self.emit(Effect::Submit(op));
        }
        if let Some(pos) = cursor {
            self.set_cursor(pos, false);
        }
        self.goal_col = None;
    }

    // ----- motions -----

    /// Moves the cursor to `pos`; with `extend` the selection grows, without it a selection
    /// collapses.
    pub fn move_to(&mut self, pos: usize, extend: bool) {
        self.set_cursor(pos, extend);
        self.goal_col = None;
    }

    /// ← (or Shift-←). Without Shift, a selection collapses to its start.
    pub fn move_left(&mut self, extend: bool) {
        let sel = self.selection_range();
        let pos = if !extend && !sel.is_empty() {
            sel.start
        } else {
            text::prev_grapheme(&self.doc, self.cursor())
        };
        self.move_to(pos, extend);
    }

    /// → (or Shift-→). Without Shift, a selection collapses to its end.
    pub fn move_right(&mut self, extend: bool) {
        let sel = self.selection_range();
        let pos = if !extend && !sel.is_empty() {
            sel.end
        } else {
            text::next_grapheme(&self.doc, self.cursor())
        };
        self.move_to(pos, extend);
    }

    /// Ctrl-← by word.
    pub fn move_word_left(&mut self, extend: bool) {
        let pos = text::prev_word(&self.doc, self.cursor());
        self.move_to(pos, extend);
    }

    /// Ctrl-→ by word.
    pub fn move_word_right(&mut self, extend: bool) {
        let pos = text::next_word(&self.doc, self.cursor());
        self.move_to(pos, extend);
    }

    /// Home: to the first non-blank character, or to column 0 if already there.
    pub fn move_line_start(&mut self, extend: bool) {
        let cursor = self.cursor();
        let first = text::first_non_blank(&self.doc, cursor);
        let start = self.doc.line_to_char(self.doc.char_to_line(cursor));
        self.move_to(if cursor == first { start } else { first }, extend);
    }

    /// End: to the end of the line.
    pub fn move_line_end(&mut self, extend: bool) {
        let end = text::line_range(&self.doc, self.doc.char_to_line(self.cursor())).end;
        self.move_to(end, extend);
    }

    /// Moves by `delta` screen rows (soft-wrap aware), keeping the goal column.
    pub fn move_rows(&mut self, delta: isize, extend: bool) {
        let v = self.visual(self.cursor());
        let goal = self.goal_col.unwrap_or(v.col);
        let pos = match self.step_rows(v.line, v.row, delta) {
            Step::Before => 0,
            Step::After => self.doc.len(),
            Step::At(line, row) => {
                self.doc.line_to_char(line) + self.layout(line).offset_at(row, goal)
            }
        };
        self.set_cursor(pos, extend);
        self.goal_col = Some(goal);
    }

    /// PgUp/PgDn: the view and the cursor move by a screenful.
    pub fn page(&mut self, down: bool, extend: bool) {
        let n = self.text_height().saturating_sub(1).max(1) as isize;
        let delta = if down { n } else { -n };
        self.scroll_rows(delta);
        self.move_rows(delta, extend);
    }

    // ----- layout and scrolling -----

    /// The layout of `line` at the current width (unbounded without soft wrap).
    pub fn layout(&self, line: usize) -> std::rc::Rc<LaidOutLine> {
        let width = self.wrap_width();
        let tab = self.settings.tab_width;
        let key = (self.doc.version().total(), width, tab);
        self.layouts.borrow_mut().get(key, line, || {
            let text = text::line_text(&self.doc, line);
            let layout = layout_line(&text, width, tab);
            LaidOutLine { text, layout }
        })
    }

    /// Where `pos` appears on screen relative to the document (the column counted from the
    /// line's start, before horizontal scrolling).
    pub fn visual(&self, pos: usize) -> Visual {
        let line = self.doc.char_to_line(pos);
        let off = pos - self.doc.line_to_char(line);
        let (row, col) = self.layout(line).position_of(off);
        Visual { line, row, col }
    }

    /// The line and row at the top of the view.
    pub fn top(&self) -> (usize, usize) {
        let pos = self.doc.resolve(&self.scroll.top);
        let line = self.doc.char_to_line(pos);
        let row = if self.scroll.row == 0 {
            0
        } else {
            self.scroll.row.min(self.layout(line).rows - 1)
        };
        (line, row)
    }

    pub(crate) fn set_top(&mut self, line: usize, row: usize) {
        let top = self.doc.anchor(self.doc.line_to_char(line), Bias::Right);
        self.scroll = Scroll {
            top,
            row,
            col: self.scroll.col,
        };
    }

    /// Walks `delta` rows from (line, row); stops at the document's ends.
    fn step_rows(&self, mut line: usize, mut row: usize, delta: isize) -> Step {
        let last = self.doc.line_count() - 1;
        let mut n = delta.unsigned_abs();
        if delta < 0 {
            while n > 0 {
                if row >= n {
                    row -= n;
                    n = 0;
                } else if line == 0 {
                    return Step::Before;
                } else {
                    n -= row + 1;
                    line -= 1;
                    row = self.layout(line).rows - 1;
                }
            }
        } else {
            while n > 0 {
                let rows = self.layout(line).rows;
                if row + n < rows {
                    row += n;
                    n = 0;
                } else if line == last {
                    return Step::After;
                } else {
                    n -= rows - row;
                    line += 1;
                    row = 0;
                }
            }
        }
        Step::At(line, row)
    }

    /// Scrolls the view by `delta` rows without moving the cursor (mouse wheel).
    pub fn scroll_rows(&mut self, delta: isize) {
        let (line, row) = self.top();
        let (line, row) = match self.step_rows(line, row, delta) {
            Step::Before => (0, 0),
            Step::After => {
                let last = self.doc.line_count() - 1;
                (last, self.layout(last).rows - 1)
            }
            Step::At(l, r) => (l, r),
        };
        self.set_top(line, row);
    }

    /// Scrolls just enough that the cursor is on screen (with a small margin).
    pub fn reveal_cursor(&mut self) {
        self.reveal_pos(self.cursor());
    }

    /// Scrolls just enough that `pos` is on screen (with a small margin).
    pub fn reveal_pos(&mut self, pos: usize) {
        let h = self.text_height();
        let margin = (h / 4).min(3);
        let v = self.visual(pos);
        self.reveal_column(v.col);
        let top = self.top();
        let up_to = match self.step_rows(v.line, v.row, -(margin as isize)) {
            Step::At(l, r) => (l, r),
            _ => (0, 0),
        };
        if up_to < top {
            self.set_top(up_to.0, up_to.1);
            return;
        }
        let last_line = v.line + 1 >= self.doc.line_count();
        let below = if last_line { 0 } else { margin };
        let back = h.saturating_sub(1 + below) as isize;
        let down_to = match self.step_rows(v.line, v.row, -back) {
            Step::At(l, r) => (l, r),
            _ => (0, 0),
        };
        if top < down_to {
            self.set_top(down_to.0, down_to.1);
        }
    }

    /// Without soft wrap: scrolls sideways just enough that column `col` is on screen.
    fn reveal_column(&mut self, col: usize) {
        if self.settings.soft_wrap {
            self.scroll.col = 0;
            return;
        }
        let width = self.text_width();
        let margin = (width / 8).min(4);
        if col < self.scroll.col + margin.min(self.scroll.col) {
            self.scroll.col = col.saturating_sub(margin);
        } else if col + 1 > self.scroll.col + width {
            self.scroll.col = col + 1 + margin.min(width / 2) - width;
        }
    }

    /// Centres the view on `pos` (going somewhere far: a line number, a peer's cursor).
    pub fn center_on(&mut self, pos: usize) {
        let v = self.visual(pos);
        let back = (self.text_height() / 2) as isize;
        let (l, r) = match self.step_rows(v.line, v.row, -back) {
            Step::At(l, r) => (l, r),
            _ => (0, 0),
        };
        self.set_top(l, r);
        self.reveal_column(v.col);
    }

    /// The document position under a screen cell of the text area (`x` counted from the
    /// left edge of the terminal, `y` from the top), for mouse clicks.
    pub fn position_at(&self, x: u16, y: u16) -> usize {
        let col = usize::from(x).saturating_sub(self.gutter_width()) + self.scroll.col;
        let (line, row) = self.top();
        match self.step_rows(line, row, isize::from(y.min(i16::MAX as u16) as i16)) {
            Step::Before => 0,
            Step::After => self.doc.len(),
            Step::At(l, r) => self.doc.line_to_char(l) + self.layout(l).offset_at(r, col),
        }
    }

    /// Selects everything.
    pub fn select_all(&mut self) {
        self.sel = Selection {
            tail: Anchor::START,
            head: self.anchor_at(self.doc.len()),
        };
        self.reveal = true;
    }

    /// Goes to a 1-based line number (clamped to the document), centred.
    pub fn goto_line(&mut self, line: usize) {
        let line = line.saturating_sub(1).min(self.doc.line_count() - 1);
        let pos = self.doc.line_to_char(line);
        self.move_to(pos, false);
        self.center_on(pos);
    }
}

/// Where a walk over screen rows ended.
enum Step {
    Before,
    After,
    At(usize, usize),
}
