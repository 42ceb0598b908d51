//! The blame view's data: who wrote each character and each line's last change, with a
//! colour per author, computed from the document's recorded history.
//!
//! Computing blame walks the whole history (a few milliseconds for a large document, see the
//! history bench), so it is cached: computed when the view first needs it and again only
//! after the document changed (its history grew), at most once per frame however many
//! keystrokes the frame handles. With the blame view off, nothing is computed.

use std::cell::RefCell;
use std::rc::Rc;

use chrono::{Local, TimeZone};
use crdt_text::{Blame, Doc, Who};
use ratatui::style::Color;

use crate::theme::Theme;

/// Someone shown in the blame view.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Person {
    /// Who.
    pub who: Who,
    /// Their name.
    pub name: String,
    /// Whether it is this user.
    pub you: bool,
    /// Their colour.
    pub color: Color,
    /// Characters of the current text they wrote.
    pub chars: usize,
}

/// Blame of the current text, ready to draw.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct BlameView {
    /// Every author of text still present, most characters first.
    pub people: Vec<Person>,
    /// `(first char, person)` for each run of characters by one person, ascending.
    runs: Vec<(usize, usize)>,
    /// Per line: the person of its last change and when (Unix seconds; 0: unknown).
    lines: Vec<(usize, u64)>,
}

impl Person {
    /// The name, marked "(you)" for this user (legend and status line).
    pub fn label(&self) -> String {
        if self.you {
            format!("{} (you)", self.name)
        } else {
            self.name.clone()
        }
    }
}

impl BlameView {
    /// Blame of `doc`'s text; `me` marks this user's own name.
    pub fn new(doc: &Doc, blame: &Blame, theme: &Theme) -> BlameView {
        let me = doc.who(doc.replica());
        let people: Vec<Person> = blame
            .authors()
            .into_iter()
            .map(|(who, chars)| {
                let name = name_of(doc, who);
                Person {
                    who,
                    color: theme.blame_color_for(&name),
                    name,
                    you: who == me,
                    chars,
                }
            })
            .collect();
        let index = |who: Who| people.iter().position(|p| p.who == who).unwrap_or(0);
        let mut runs = Vec::with_capacity(blame.chars.len());
        let mut at = 0;
        for run in &blame.chars {
            let i = index(run.who);
            if runs.last().is_none_or(|&(_, last)| last != i) {
                runs.push((at, i));
            }
            at += run.len;
        }
        let lines = blame.lines.iter().map(|l| (index(l.who), l.time)).collect();
        BlameView {
            people,
            runs,
            lines,
        }
    }

    /// The person who wrote the character at `pos`.
    pub fn person_at(&self, pos: usize) -> Option<&Person> {
        let i = self.runs.partition_point(|&(start, _)| start <= pos);
        let (_, p) = *self.runs.get(i.checked_sub(1)?)?;
        self.people.get(p)
    }

    /// The person and time of `line`'s last change.
    pub fn line(&self, line: usize) -> Option<(&Person, u64)> {
        let &(p, time) = self.lines.get(line)?;
        Some((self.people.get(p)?, time))
    }
}

/// The name `who` goes by: the author's name, or the replica's short id for edits without an
/// author.
pub fn name_of(doc: &Doc, who: Who) -> String {
    match (doc.author(who), who) {
        (Some(a), _) => a.name.clone(),
        (None, Who::Replica(r)) => format!("replica {:04x}", r.as_u64() & 0xffff),
        (None, Who::Author(_)) => "unknown author".into(),
    }
}

/// A time for the status line and the history view: local, to the minute (`?` unknown).
pub fn when(unix_seconds: u64) -> String {
    if unix_seconds == 0 {
        return "time unknown".into();
    }
    match Local.timestamp_opt(unix_seconds as i64, 0).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => "time unknown".into(),
    }
}

/// The blame of the document as of its last change (see the module documentation).
#[derive(Debug, Default)]
pub struct BlameCache {
    /// The history length the view was computed at, and the view.
    cached: RefCell<Option<(u64, Rc<BlameView>)>>,
}

impl BlameCache {
    /// The blame of `doc` now, computed only if the document changed since the last call.
    pub fn get(&self, doc: &Doc, theme: &Theme) -> Rc<BlameView> {
        let key = doc.history_len();
        let mut cached = self.cached.borrow_mut();
        if let Some((at, view)) = cached.as_ref()
            && *at == key
        {
            return Rc::clone(view);
        }
        let view = Rc::new(BlameView::new(doc, &doc.blame(), theme));
        *cached = Some((key, Rc::clone(&view)));
        view
    }

    /// Forgets the cached blame (the view was closed: free its memory).
    pub fn clear(&self) {
        self.cached.borrow_mut().take();
    }
}
