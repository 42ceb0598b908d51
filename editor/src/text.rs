//! Grapheme- and word-aware positions over a [`Doc`], and the helpers the editor needs to read
//! lines. Every function here looks only at a small window around the position it is given, so
//! its cost never grows with the size of the document.

use std::ops::Range;

use crdt_text::Doc;
use unicode_segmentation::UnicodeSegmentation;

/// How far (in chars) around a position grapheme segmentation looks. A grapheme cluster longer
/// than this (a pathological pile of combining marks) is split at the window edge.
const WINDOW: usize = 64;

/// The chars of `line`, without its line break (`\n` and a `\r` before it).
pub fn line_range(doc: &Doc, line: usize) -> Range<usize> {
    let start = doc.line_to_char(line);
    let mut end = if line + 1 < doc.line_count() {
        doc.line_to_char(line + 1) - 1
    } else {
        doc.len()
    };
    if end > start && doc.char_at(end - 1) == Some('\r') {
        end -= 1;
    }
    start..end
}

/// The text of `line` without its line break.
pub fn line_text(doc: &Doc, line: usize) -> String {
    doc.slice(line_range(doc, line))
}

/// Char offsets (relative to the start of `text`) of every grapheme boundary in `text`,
/// including 0 and the end.
fn boundaries(text: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(text.graphemes(true).scan(0usize, |off, g| {
        *off += g.chars().count();
        Some(*off)
    }))
}

/// The first grapheme boundary after `pos` (or `doc.len()`).
pub fn next_grapheme(doc: &Doc, pos: usize) -> usize {
    let len = doc.len();
    if pos >= len {
        return len;
    }
    let start = pos
        .saturating_sub(WINDOW)
        .max(doc.line_to_char(doc.char_to_line(pos)));
    let end = (pos + WINDOW).min(len);
    let window = doc.slice(start..end);
    boundaries(&window)
        .map(|b| start + b)
        .find(|&b| b > pos)
        .unwrap_or(end)
}

/// The last grapheme boundary before `pos` (or 0).
pub fn prev_grapheme(doc: &Doc, pos: usize) -> usize {
    if pos == 0 {
        return 0;
    }
    let pos = pos.min(doc.len());
    let start = (pos - 1)
        .saturating_sub(WINDOW)
        .max(doc.line_to_char(doc.char_to_line(pos - 1)));
    let window = doc.slice(start..pos);
    boundaries(&window)
        .map(|b| start + b)
        .take_while(|&b| b < pos)
        .last()
        .unwrap_or(start)
}

/// Rounds `pos` to a grapheme boundary: itself if it is one, else the end (`forward`) or start
/// of the cluster it falls inside.
pub fn snap(doc: &Doc, pos: usize, forward: bool) -> usize {
    if pos == 0 || pos >= doc.len() {
        return pos.min(doc.len());
    }
    let before = prev_grapheme(doc, pos);
    let after = next_grapheme(doc, before);
    if after == pos {
        pos
    } else if forward {
        after
    } else {
        before
    }
}

/// The kind of character a word motion skips over as one run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Space,
    Newline,
    Word,
    Punct,
}

fn class(c: char) -> Class {
    if c == '\n' {
        Class::Newline
    } else if c.is_whitespace() {
        Class::Space
    } else if c.is_alphanumeric() || c == '_' {
        Class::Word
    } else {
        Class::Punct
    }
}

/// Ctrl-→: to the end of the next word (skipping spaces, then one run of word or punctuation
/// characters; a line break counts as its own stop).
pub fn next_word(doc: &Doc, pos: usize) -> usize {
    let len = doc.len();
    let mut p = pos;
    while p < len && doc.char_at(p).map(class) == Some(Class::Space) {
        p += 1;
    }
    let Some(first) = doc.char_at(p).map(class) else {
        return len;
    };
    if first == Class::Newline {
        return if p == pos { p + 1 } else { p };
    }
    while p < len && doc.char_at(p).map(class) == Some(first) {
        p += 1;
    }
    snap(doc, p, true)
}

/// Ctrl-←: to the start of the previous word (the mirror of [`next_word`]).
pub fn prev_word(doc: &Doc, pos: usize) -> usize {
    let mut p = pos.min(doc.len());
    while p > 0 && doc.char_at(p - 1).map(class) == Some(Class::Space) {
        p -= 1;
    }
    if p == 0 {
        return 0;
    }
    let first = doc.char_at(p - 1).map(class);
    if first == Some(Class::Newline) {
        return if p == pos { p - 1 } else { p };
    }
    while p > 0 && doc.char_at(p - 1).map(class) == first {
        p -= 1;
    }
    snap(doc, p, false)
}

/// The leading whitespace of the line containing `pos` (what Enter copies to the new line).
pub fn indent_of_line(doc: &Doc, pos: usize) -> String {
    let range = line_range(doc, doc.char_to_line(pos));
    let mut indent = String::new();
    for p in range {
        match doc.char_at(p) {
            Some(c @ (' ' | '\t')) => indent.push(c),
            _ => break,
        }
    }
    indent
}

/// The position of the first non-blank character of the line containing `pos`.
pub fn first_non_blank(doc: &Doc, pos: usize) -> usize {
    let range = line_range(doc, doc.char_to_line(pos));
    range.start + indent_of_line(doc, pos).chars().count().min(range.len())
}

/// Converts a byte offset in `s` into a char offset.
pub fn byte_to_char(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}
