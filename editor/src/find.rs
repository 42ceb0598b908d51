//! Find and replace on the model: stepping through matches, incremental search from where
//! the prompt opened, and replacing one match at a time or all at once (one undo step).

use std::ops::Range;
use std::rc::Rc;

use crate::model::{FindPrompt, Level, Mode, Model, Prompt, Replacing};
use crate::msg::Effect;
use crate::search::{Direction, Found};
use crate::undo::EditKind;

impl Model {
    /// The query being searched for: the one typed in the prompt, else the last one.
    pub fn current_query(&self) -> Option<String> {
        match &self.mode {
            Mode::Prompt(Prompt::Find(p)) if !p.query.is_empty() => Some(p.query.clone()),
            Mode::Prompt(Prompt::Replace(r)) => Some(r.query.clone()),
            _ => self.last_search.clone(),
        }
    }

    /// Every match of `query` in the document, or why the query is not valid.
    pub fn found(&self, query: &str) -> Option<Rc<Result<Found, String>>> {
        self.matches.borrow_mut().get(&self.doc, query, self.search)
    }

    /// Goes to the next or previous match of the current query (F3 / Shift-F3, Enter in the
    /// find prompt), wrapping around the document.
    pub fn find_again(&mut self, dir: Direction) {
        let Some(query) = self.current_query() else {
            self.notify(Level::Info, "Nothing to find yet: Ctrl-F starts a search");
            return;
        };
        self.last_search = Some(query.clone());
        let Some(found) = self.found(&query) else {
            return;
        };
        match &*found {
            Err(e) => self.notify(Level::Warn, format!("Not a valid search: {e}")),
            Ok(found) => match found.step(&self.selection_range(), dir) {
                Some(i) => {
                    self.select(found.matches[i].chars.clone());
                    self.goal_col = None;
                }
                None => self.notify(Level::Info, format!("Not found: {query}")),
            },
        }
    }

    /// After the query changed: selects the first match from where the search started, or
    /// goes back there when nothing matches.
    pub fn incremental_find(&mut self) {
        let Mode::Prompt(Prompt::Find(FindPrompt { query, origin, .. })) = &self.mode else {
            return;
        };
        let origin = self.doc.resolve(origin);
        let query = query.clone();
        let first = self.found(&query).and_then(|f| match &*f {
            Ok(found) => found
                .step(&(origin..origin), Direction::Forward)
                .map(|i| found.matches[i].chars.clone()),
            Err(_) => None,
        });
        match first {
            Some(range) => self.select(range),
            None => self.move_to(origin, false),
        }
    }

    /// Enter in the replacement field: starts asking match by match from where the prompt
    /// opened.
    pub fn start_replacing(&mut self, prompt: FindPrompt) {
        let replacement = prompt.replacement.unwrap_or_default();
        self.last_search = Some(prompt.query.clone());
        self.last_replacement = replacement.clone();
        let origin = self.doc.resolve(&prompt.origin);
        self.move_to(origin, false);
        self.mode = Mode::Prompt(Prompt::Replace(Replacing {
            query: prompt.query,
            replacement,
            stop: prompt.origin,
            wrapped: false,
            replaced: 0,
        }));
        self.find_again(Direction::Forward);
        if !self.is_on_match() {
            self.finish_replacing();
        }
    }

    /// Whether the selection is exactly a match of the current query.
    fn is_on_match(&self) -> bool {
        let Some(query) = self.current_query() else {
            return false;
        };
        self.found(&query).is_some_and(|f| {
            f.as_ref()
                .as_ref()
                .is_ok_and(|f| f.index_of(&self.selection_range()).is_some())
        })
    }

    /// `y`: replaces the current match (an undo step of its own) and goes to the next.
    pub fn replace_current(&mut self) {
        let Mode::Prompt(Prompt::Replace(r)) = &self.mode else {
            return;
        };
        let (query, replacement) = (r.query.clone(), r.replacement.clone());
        let sel = self.selection_range();
        let text = self.found(&query).and_then(|f| match &*f {
            Ok(found) => found
                .index_of(&sel)
                .map(|i| found.expand(found.matches[i].byte, &replacement, self.search)),
            Err(_) => None,
        });
        if let Some(text) = text {
            if !self.can_edit() {
                self.mode = Mode::Edit;
                return;
            }
            self.undo.break_group();
            self.replace(sel, &text, EditKind::Other, false);
            self.undo.break_group();
            if let Mode::Prompt(Prompt::Replace(r)) = &mut self.mode {
                r.replaced += 1;
            }
        }
        self.next_replacement();
    }

    /// `n` (and after `y`): goes to the next match, or ends when the walk came around to
    /// where it started.
    pub fn next_replacement(&mut self) {
        let before = self.selection_range();
        self.find_again(Direction::Forward);
        let at = self.selection_range();
        let on_match = self.is_on_match();
        let done = match &mut self.mode {
            Mode::Prompt(Prompt::Replace(r)) => {
                let stop = self.doc.resolve(&r.stop);
                let wrapped_now = at.start < before.start || at == before;
                let twice = wrapped_now && r.wrapped;
                r.wrapped |= wrapped_now;
                !on_match || twice || (r.wrapped && at.start >= stop)
            }
            _ => false,
        };
        if done {
            self.finish_replacing();
        }
    }

    /// `a`: replaces the current match and every one after it up to where the walk started,
    /// as one undo step.
    pub fn replace_remaining(&mut self) {
        let Mode::Prompt(Prompt::Replace(r)) = &self.mode else {
            return;
        };
        let r = r.clone();
        let from = self.selection_range().start;
        let stop = self.doc.resolve(&r.stop);
        let remaining = |start: usize| {
            if r.wrapped {
                start >= from && start < stop
            } else {
                start >= from || start < stop
            }
        };
        let edits: Vec<(Range<usize>, String)> = match self.found(&r.query).as_deref() {
            Some(Ok(found)) => found
                .replacements(&r.replacement, self.search)
                .into_iter()
                .filter(|(range, _)| remaining(range.start))
                .collect(),
            _ => Vec::new(),
        };
        let n = self.replace_all_ranges(edits);
        if let Mode::Prompt(Prompt::Replace(r)) = &mut self.mode {
            r.replaced += n;
        }
        self.finish_replacing();
    }

    fn finish_replacing(&mut self) {
        if let Mode::Prompt(Prompt::Replace(r)) = &self.mode {
            let n = r.replaced;
            let text = match n {
                0 => "Nothing replaced".to_owned(),
                1 => "Replaced 1 match".to_owned(),
                n => format!("Replaced {n} matches"),
            };
            self.notify(Level::Info, text);
        }
        self.mode = Mode::Edit;
        let head = self.sel.head;
        self.sel.tail = head;
    }

    /// Replaces each range (in document order, not overlapping) by its text, as one undo
    /// step; returns how many were replaced.
    pub fn replace_all_ranges(&mut self, edits: Vec<(Range<usize>, String)>) -> usize {
        if edits.is_empty() || !self.can_edit() {
            return 0;
        }
        let mut ops = Vec::with_capacity(edits.len() * 2);
        // Back to front, so the positions of the earlier ranges stay valid.
        for (range, text) in edits.iter().rev() {
            if !range.is_empty() {
                ops.push(self.doc.delete(range.start, range.len()));
            }
            if !text.is_empty() {
                ops.push(self.doc.insert(range.start, text));
            }
        }
        ops.retain(|op| !op.is_empty());
        for op in &ops {
            self.emit(Effect::Submit(op.clone()));
        }
        self.undo.break_group();
        self.undo.record(&ops, EditKind::Other, false);
        self.reveal = true;
        edits.len()
    }
}
