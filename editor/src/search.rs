//! Text search over the document, a batch of lines at a time so that a match near the cursor
//! is found without copying the whole document. Smart case: a query without capitals
//! ignores ASCII case.

use std::ops::Range;

use crdt_text::Doc;

use crate::text::byte_to_char;

/// Lines searched per batch.
const BATCH: usize = 512;

/// Which way to search.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// Towards the end (wrapping to the start).
    Forward,
    /// Towards the start (wrapping to the end).
    Backward,
}

struct Query {
    text: String,
    fold: bool,
}

impl Query {
    fn new(q: &str) -> Query {
        let fold = !q.chars().any(char::is_uppercase);
        Query {
            text: if fold {
                q.to_ascii_lowercase()
            } else {
                q.to_owned()
            },
            fold,
        }
    }

    fn prepare(&self, hay: String) -> String {
        if self.fold {
            hay.to_ascii_lowercase()
        } else {
            hay
        }
    }
}

/// Finds the next match of `query` (one line of text) starting at or after `from` (forward)
/// or ending at or before `from` (backward), wrapping around the document once.
pub fn find(doc: &Doc, query: &str, from: usize, dir: Direction) -> Option<Range<usize>> {
    if query.is_empty() || query.contains('\n') {
        return None;
    }
    let q = Query::new(query);
    let from = from.min(doc.len());
    match dir {
        Direction::Forward => {
            forward(doc, &q, from..doc.len()).or_else(|| forward(doc, &q, 0..doc.len()))
        }
        Direction::Backward => {
            backward(doc, &q, 0..from).or_else(|| backward(doc, &q, 0..doc.len()))
        }
    }
}

fn forward(doc: &Doc, q: &Query, range: Range<usize>) -> Option<Range<usize>> {
    let mut start = range.start;
    while start < range.end {
        let line = doc.char_to_line(start);
        let end = doc
            .line_to_char((line + BATCH).min(doc.line_count()))
            .min(range.end)
            .max(start + 1);
        let hay = q.prepare(doc.slice(start..end));
        if let Some(byte) = hay.find(&q.text) {
            let s = start + byte_to_char(&hay, byte);
            return Some(s..s + q.text.chars().count());
        }
        start = end;
    }
    None
}

fn backward(doc: &Doc, q: &Query, range: Range<usize>) -> Option<Range<usize>> {
    let mut end = range.end;
    while end > range.start {
        let line = doc.char_to_line(end - 1);
        let start = doc
            .line_to_char(line.saturating_sub(BATCH))
            .max(range.start)
            .min(end - 1);
        let hay = q.prepare(doc.slice(start..end));
        if let Some(byte) = hay.rfind(&q.text) {
            let s = start + byte_to_char(&hay, byte);
            return Some(s..s + q.text.chars().count());
        }
        end = start;
    }
    None
}
