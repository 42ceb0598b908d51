//! The history view's model: the document's editing sessions and their edits, one of them in
//! focus, and the text as it was just after it with its changes marked.
//!
//! Sessions and edits come from the recorded history (crdt-text's `Doc::sessions` and
//! `Doc::edits`), computed once when the view opens; each step computes the past text once
//! (`Doc::past`). The view is read-only; [`Model::restore_version`] turns today's text into
//! the one shown, as one undo step.

use crdt_text::{Doc, Edit, Mark, Past, Session};

use crate::model::{Level, Mode, Model};
use crate::msg::Effect;
use crate::undo::EditKind;

/// What the history view shows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Focus {
    /// A whole session (index into the sessions): the text after it, all its changes marked.
    Session(usize),
    /// One edit of a session (session index, index among its edits): the text after it, its
    /// changes marked.
    Edit(usize, usize),
}

/// The history view (see the module documentation).
#[derive(Clone, PartialEq, Debug)]
pub struct HistoryView {
    /// Every session, oldest first.
    pub sessions: Vec<Session>,
    /// Every edit in history order.
    pub edits: Vec<Edit>,
    /// Per session, the indices of its edits in `edits`.
    by_session: Vec<Vec<usize>>,
    /// What is in focus.
    pub focus: Focus,
    /// The text shown, with the focus's changes marked.
    pub past: Past,
    /// Byte offset and char offset of each line of `past.text`.
    pub lines: Vec<(usize, usize)>,
    /// The first line on screen.
    pub top: usize,
}

impl HistoryView {
    /// The view of `doc`'s history, on its latest session (`None`: no history yet).
    pub fn open(doc: &Doc) -> Option<HistoryView> {
        let sessions = doc.sessions();
        let last = sessions.len().checked_sub(1)?;
        let edits = doc.edits();
        let mut by_session = vec![Vec::new(); sessions.len()];
        for (i, e) in edits.iter().enumerate() {
            if let Some(list) = by_session.get_mut(e.session - 1) {
                list.push(i);
            }
        }
        let mut view = HistoryView {
            sessions,
            edits,
            by_session,
            focus: Focus::Session(last),
            past: Past::default(),
            lines: Vec::new(),
            top: 0,
        };
        view.show(doc, Focus::Session(last));
        Some(view)
    }

    /// The point of the history the focus shows the text after.
    pub fn through(&self) -> u64 {
        match self.focus {
            Focus::Session(s) => self.sessions[s].through,
            Focus::Edit(s, k) => self.edits[self.by_session[s][k]].through,
        }
    }

    /// The session in focus.
    pub fn session(&self) -> &Session {
        match self.focus {
            Focus::Session(s) | Focus::Edit(s, _) => &self.sessions[s],
        }
    }

    /// The edit in focus, with its index among its session's edits and their count.
    pub fn edit(&self) -> Option<(&Edit, usize, usize)> {
        match self.focus {
            Focus::Session(_) => None,
            Focus::Edit(s, k) => Some((
                &self.edits[self.by_session[s][k]],
                k,
                self.by_session[s].len(),
            )),
        }
    }

    /// Shows `focus`: computes its text and scrolls to its first change.
    pub fn show(&mut self, doc: &Doc, focus: Focus) {
        self.focus = focus;
        let shown: Vec<_> = match focus {
            Focus::Session(s) => self.by_session[s]
                .iter()
                .map(|&i| self.edits[i].from..self.edits[i].through)
                .collect(),
            Focus::Edit(s, k) => {
                let e = &self.edits[self.by_session[s][k]];
                std::iter::once(e.from..e.through).collect()
            }
        };
        self.past = doc.past(self.through(), &shown);
        self.lines = line_starts(&self.past.text);
        let first = self.past.marks.first().map_or(0, |(r, _)| r.start);
        let line = self
            .lines
            .partition_point(|&(_, c)| c <= first)
            .saturating_sub(1);
        self.top = line.saturating_sub(3);
    }

    /// Steps: `sessions` sessions and `edits` edits of the session (negative: back).
    pub fn step(&mut self, doc: &Doc, sessions: isize, edits: isize) {
        let (s, k) = match self.focus {
            Focus::Session(s) => (s, None),
            Focus::Edit(s, k) => (s, Some(k)),
        };
        let focus = if sessions != 0 {
            let last = self.sessions.len() as isize - 1;
            Focus::Session((s as isize + sessions).clamp(0, last) as usize)
        } else {
            let n = self.by_session[s].len() as isize;
            if n == 0 {
                return;
            }
            let k = match k {
                Some(k) => (k as isize + edits).clamp(0, n - 1),
                None if edits < 0 => n - 1,
                None => 0,
            };
            Focus::Edit(s, k as usize)
        };
        if focus != self.focus {
            self.show(doc, focus);
        }
    }

    /// Characters the focus inserted and deleted (as shown).
    pub fn counts(&self) -> (usize, usize) {
        let mut out = (0, 0);
        for (r, m) in &self.past.marks {
            match m {
                Mark::Inserted => out.0 += r.len(),
                Mark::Deleted => out.1 += r.len(),
            }
        }
        out
    }
}

/// `(byte, char)` offsets where each line of `text` starts.
fn line_starts(text: &str) -> Vec<(usize, usize)> {
    let mut out = vec![(0, 0)];
    for (c, (b, ch)) in text.char_indices().enumerate() {
        if ch == '\n' {
            out.push((b + 1, c + 1));
        }
    }
    out
}

impl Model {
    /// Opens the history view (or says there is no history yet).
    pub fn open_history(&mut self) {
        match HistoryView::open(&self.doc) {
            Some(view) => {
                self.history = Some(Box::new(view));
                self.mode = Mode::History;
            }
            None => self.notify(Level::Info, "No history yet: nothing has been typed"),
        }
    }

    /// Closes the history view.
    pub fn close_history(&mut self) {
        self.history = None;
        self.mode = Mode::Edit;
    }

    /// Makes the text what it was after the first `through` ops of the history: new local
    /// ops, by character identity (see crdt-text's `Doc::restore`), as one undo step. Text
    /// written since, by anyone, comes back with undo; edits arriving later stay.
    pub fn restore_version(&mut self, through: u64) {
        if !self.can_edit() {
            return;
        }
        let ops = self.doc.restore(through);
        if ops.is_empty() {
            self.notify(Level::Info, "The text is already that version");
            return;
        }
        for op in &ops {
            self.emit(Effect::Submit(op.clone()));
        }
        self.undo.break_group();
        self.undo.record(&ops, EditKind::Other, false);
        self.undo.break_group();
        let pos = self.cursor().min(self.doc.len());
        self.set_cursor(pos, false);
        self.goal_col = None;
    }
}
