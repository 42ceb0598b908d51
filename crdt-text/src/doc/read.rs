//! Reading the text: slices, lines, authorship and anchors.

use super::*;

impl Doc {
    // ---- reading the text -----------------------------------------------------------------

    /// The whole visible text.
    pub fn text(&self) -> String {
        self.slice(0..self.len())
    }

    /// The text in a char range.
    ///
    /// # Panics
    /// If the range is out of bounds or reversed.
    pub fn slice(&self, range: Range<usize>) -> String {
        let mut s = String::with_capacity(range.len());
        s.extend(self.chunks(range));
        s
    }

    /// The text in a char range as borrowed pieces, in order: no copying.
    ///
    /// # Panics
    /// If the range is out of bounds or reversed.
    pub fn chunks(&self, range: Range<usize>) -> impl Iterator<Item = &str> + '_ {
        self.visible_runs(range)
            .flat_map(move |(lv, n)| self.hist.text_pieces(lv, n))
    }

    /// Visible `(lv, len)` runs covering a char range.
    fn visible_runs(&self, range: Range<usize>) -> impl Iterator<Item = (Lv, u32)> + '_ {
        assert!(
            range.start <= range.end && range.end <= self.len(),
            "range {range:?} out of bounds"
        );
        let mut remaining = (range.end - range.start) as u32;
        // Start at the first char itself, not before the tombstones preceding it.
        let c = if range.is_empty() {
            self.tree.find_char(range.start as u32)
        } else {
            self.tree.find_visible(range.start as u32)
        };
        self.tree
            .spans_from(c)
            .filter(|s| !s.deleted())
            .map_while(move |s| {
                if remaining == 0 {
                    return None;
                }
                let take = remaining.min(s.len());
                remaining -= take;
                Some((s.lv(), take))
            })
    }

    /// The char at a position.
    pub fn char_at(&self, pos: usize) -> Option<char> {
        if pos >= self.len() {
            return None;
        }
        self.chunks(pos..pos + 1)
            .next()
            .and_then(|s| s.chars().next())
    }

    /// Number of lines: newlines + 1.
    pub fn line_count(&self) -> usize {
        self.tree.total().lines as usize + 1
    }

    /// The line (0-based) holding char position `pos` (`pos` may be `len()`).
    pub fn char_to_line(&self, pos: usize) -> usize {
        let pos = pos.min(self.len());
        self.tree.lines_before_char(pos as u32, &self.hist.newlines) as usize
    }

    /// The char position where `line` starts; `len()` for lines past the last.
    pub fn line_to_char(&self, line: usize) -> usize {
        if line == 0 {
            return 0;
        }
        if line > self.tree.total().lines as usize {
            return self.len();
        }
        self.tree
            .find_line_start(line as u32, &self.hist.newlines)
            .map_or(self.len(), |p| p as usize)
    }

    /// Who wrote the visible char at `pos`.
    pub fn author_at(&self, pos: usize) -> Option<ReplicaId> {
        self.authors(pos..pos.checked_add(1)?.min(self.len()))
            .next()
            .map(|(r, _)| r)
    }

    /// The text in a char range as `(author, text)` runs in order (neighbouring runs may share
    /// an author).
    pub fn authors(&self, range: Range<usize>) -> impl Iterator<Item = (ReplicaId, &str)> + '_ {
        let reps = &self.hist.replicas;
        self.visible_runs(range).flat_map(move |(lv, n)| {
            reps.split_lv_range(lv, n).flat_map(move |run| {
                let who = reps.ids[run.replica as usize];
                self.hist
                    .text_pieces(run.lv, run.len)
                    .map(move |s| (who, s))
            })
        })
    }

    // ---- anchors --------------------------------------------------------------------------

    /// A stable anchor for the point before char `pos` (`pos <= len()`).
    pub fn anchor(&self, pos: usize, bias: Bias) -> Anchor {
        let pos = pos.min(self.len()) as u32;
        let c = self.tree.find_char(pos);
        let lv = match bias {
            Bias::Left => self.tree.item_before(c),
            Bias::Right => {
                if pos == self.tree.total().chars {
                    None
                } else {
                    let c = self.tree.find_visible(pos);
                    Some(self.tree.span_at(c).lv() + c.off)
                }
            }
        };
        Anchor {
            id: lv.map(|lv| self.hist.replicas.id_of(lv)),
            bias,
        }
    }

    /// The current char position of an anchor. An anchor naming a character this replica has
    /// not seen yet resolves to the document start (`Bias::Left`) or end (`Bias::Right`).
    pub fn resolve(&self, anchor: &Anchor) -> usize {
        let lv = anchor
            .id
            .and_then(|id| self.hist.replicas.lv_of(id))
            .filter(|&lv| self.hist.is_char(lv));
        match (lv, anchor.bias) {
            (None, Bias::Left) => 0,
            (None, Bias::Right) => self.len(),
            (Some(lv), bias) => {
                let Some(c) = self.tree.locate(lv) else {
                    return 0;
                };
                let before = self.tree.offsets(c).chars as usize;
                let visible = !self.tree.span_at(c).deleted();
                if bias == Bias::Left && visible {
                    before + 1
                } else {
                    before
                }
            }
        }
    }
}
