//! Soft wrap: how one line of text is laid out on screen rows of a given width.
//!
//! The layout works on one line at a time, so the editor only ever lays out the lines it is
//! about to show (or walks past while scrolling by a screenful), never the whole document.
//! Each grapheme cluster is one [`Glyph`] with its cell width: wide CJK characters and emoji
//! take two cells, a tab extends to the next tab stop, control characters show as one cell.
//! Rows break after whitespace when a word would not fit, otherwise mid-word. Without soft
//! wrap a line is laid out on one row of unbounded width.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// One grapheme cluster placed on a row.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Glyph {
    /// Offset of its first char in the line, in chars.
    pub start: usize,
    /// How many chars it spans.
    pub chars: usize,
    /// Byte range of the cluster in the line text.
    pub bytes: (usize, usize),
    /// Screen row within the line (0 = the line's first row).
    pub row: usize,
    /// Column of its first cell.
    pub col: usize,
    /// Cells it takes.
    pub width: usize,
    /// How to draw it: the text itself, or a stand-in for tabs and control characters.
    pub look: Look,
}

/// How a glyph is drawn.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Look {
    /// The cluster's own text.
    Text,
    /// Blank cells (a tab).
    Blank,
    /// A replacement mark (a control character).
    Control,
}

/// A laid-out line: its glyphs in order and how many rows it needs (at least one).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LineLayout {
    /// The glyphs, in text order.
    pub glyphs: Vec<Glyph>,
    /// Rows the line occupies (at least one). A line that fills its last row exactly takes
    /// no extra row: the cursor at its end is shown on the last cell, as terminals do.
    pub rows: usize,
    /// Length of the line in chars.
    pub chars: usize,
}

/// One grapheme cluster before placement.
#[derive(Clone, Copy)]
struct Cluster {
    byte: usize,
    len: usize,
    chars: usize,
    /// Cells, or `None` for a tab (its width depends on the column).
    width: Option<usize>,
    look: Look,
    space: bool,
}

/// The clusters of `text`. Printable ASCII (most lines of most files) takes a fast path
/// that skips grapheme segmentation: there every byte is one cluster of one cell.
fn clusters(text: &str) -> Vec<Cluster> {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return text
            .bytes()
            .enumerate()
            .map(|(byte, b)| Cluster {
                byte,
                len: 1,
                chars: 1,
                width: Some(1),
                look: Look::Text,
                space: b == b' ',
            })
            .collect();
    }
    text.grapheme_indices(true)
        .map(|(byte, g)| {
            let (width, look) = match g {
                "\t" => (None, Look::Blank),
                _ if g.chars().next().is_some_and(char::is_control) => (Some(1), Look::Control),
                _ => (Some(g.width().max(1)), Look::Text),
            };
            Cluster {
                byte,
                len: g.len(),
                chars: g.chars().count(),
                width,
                look,
                space: g.chars().all(char::is_whitespace),
            }
        })
        .collect()
}

/// Lays out `text` (one line, without its line break) on rows of `width` cells, with tab
/// stops every `tab_width` columns.
pub fn layout_line(text: &str, width: usize, tab_width: usize) -> LineLayout {
    let tab_width = tab_width.max(1);
    let width = width.max(2);
    let clusters = clusters(text);
    let mut glyphs: Vec<Glyph> = Vec::with_capacity(clusters.len());
    let mut row = 0;
    let mut col = 0;
    let mut chars = 0;
    // Index into `glyphs` just after the last whitespace on the current row: where the row may
    // break if a later word does not fit.
    let mut break_at: Option<usize> = None;
    let mut i = 0;
    while i < clusters.len() {
        let c = clusters[i];
        let w = c.width.unwrap_or(tab_width - col % tab_width);
        if col + w > width && col > 0 {
            if let Some(b) = break_at.filter(|&b| b < glyphs.len()) {
                // Move the partial word to the next row and lay it out again from there.
                i = b;
                chars = glyphs[b].start;
                glyphs.truncate(b);
            }
            row += 1;
            col = 0;
            break_at = None;
            continue;
        }
        glyphs.push(Glyph {
            start: chars,
            chars: c.chars,
            bytes: (c.byte, c.byte + c.len),
            row,
            col,
            width: w,
            look: c.look,
        });
        chars += c.chars;
        col += w;
        if c.space {
            break_at = Some(glyphs.len());
        }
        i += 1;
    }
    LineLayout {
        glyphs,
        rows: row + 1,
        chars,
    }
}

impl LineLayout {
    /// Screen (row, column) of the cursor standing before char offset `off` of the line
    /// (`off == chars` is the end of the line: after the last glyph, which may be the column
    /// just past a full row).
    pub fn position_of(&self, off: usize) -> (usize, usize) {
        match self.glyphs.binary_search_by(|g| g.start.cmp(&off)) {
            Ok(i) => (self.glyphs[i].row, self.glyphs[i].col),
            Err(i) if i < self.glyphs.len() => (self.glyphs[i].row, self.glyphs[i].col),
            Err(_) => self
                .glyphs
                .last()
                .map_or((0, 0), |g| (g.row, g.col + g.width)),
        }
    }

    /// The char offset a click at (row, column) lands on: the glyph under it, or the end of
    /// the row when the click is past the row's text.
    pub fn offset_at(&self, row: usize, col: usize) -> usize {
        let row = row.min(self.rows - 1);
        let mut best = None;
        for g in self.glyphs.iter().filter(|g| g.row == row) {
            if g.col <= col {
                best = Some(if col < g.col + g.width {
                    g.start
                } else {
                    g.start + g.chars
                });
            } else {
                break;
            }
        }
        match best {
            Some(off) => {
                // Past the end of a wrapped row: stay on that row, before its last glyph's
                // successor (which begins the next row).
                let next_row_start = self.glyphs.iter().find(|g| g.row > row).map(|g| g.start);
                match next_row_start {
                    Some(s) if off >= s => self
                        .glyphs
                        .iter()
                        .rev()
                        .find(|g| g.row == row)
                        .map_or(s, |g| g.start),
                    _ => off,
                }
            }
            None => self
                .glyphs
                .iter()
                .find(|g| g.row >= row)
                .map_or(self.chars, |g| g.start),
        }
    }

    /// The glyphs on `row`.
    pub fn row_glyphs(&self, row: usize) -> impl Iterator<Item = &Glyph> + '_ {
        let from = self.glyphs.partition_point(|g| g.row < row);
        self.glyphs[from..].iter().take_while(move |g| g.row == row)
    }
}

/// A line's text with its layout.
#[derive(Debug)]
pub struct LaidOutLine {
    /// The line's text, without its line break.
    pub text: String,
    /// Its layout.
    pub layout: LineLayout,
}

impl std::ops::Deref for LaidOutLine {
    type Target = LineLayout;

    fn deref(&self) -> &LineLayout {
        &self.layout
    }
}

/// Lines laid out since the document, the width or the tab width last changed: one frame
/// lays out the lines around the cursor twice (to scroll, then to draw), and cursor motion
/// reuses them.
#[derive(Debug, Default)]
pub struct LayoutCache {
    key: (u64, usize, usize),
    lines: std::collections::HashMap<usize, std::rc::Rc<LaidOutLine>>,
}

/// Lines kept at most (a few screens).
const CACHE_LINES: usize = 1024;

impl LayoutCache {
    /// The cached layout of `line`, valid for `key` (document version, width, tab width),
    /// or `make`'s.
    pub fn get(
        &mut self,
        key: (u64, usize, usize),
        line: usize,
        make: impl FnOnce() -> LaidOutLine,
    ) -> std::rc::Rc<LaidOutLine> {
        if self.key != key || self.lines.len() >= CACHE_LINES {
            self.lines.clear();
            self.key = key;
        }
        self.lines
            .entry(line)
            .or_insert_with(|| std::rc::Rc::new(make()))
            .clone()
    }
}
