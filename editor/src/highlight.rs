//! Syntax highlighting: syntect with its pure-Rust regex engine (`fancy-regex`) and the
//! syntax definitions bat maintains (the `two-face` crate), chosen by file name. Colours come
//! from the `[syntax]` section of the theme, so they follow the terminal's palette.
//!
//! Highlighting a line needs the parser's state at the line's start, which depends on every
//! line above it. So the highlighter keeps:
//!
//! - **checkpoints**: the state at the start of every [`INTERVAL`]th line it has passed,
//!   anchored to the line break before the line (crdt-text anchors), so edits above move
//!   them along instead of invalidating them;
//! - **dirty points**: where the document changed since the checkpoints were made, found
//!   from the ops applied since ([`Doc::ops_since`]). Checkpoints before the first dirty
//!   point are valid; a checkpoint after one is checked by parsing forward from the last
//!   valid one, and when the fresh state equals the stored one the change's effect has ended
//!   and every checkpoint up to the next dirty point is valid again;
//! - **lines**: the highlighted lines recently drawn, keyed by their text and starting state,
//!   so a line that did not change (even if it moved) is never parsed again.
//!
//! A keystroke thus parses its own line (and the following ones only as long as its effect
//! lasts, e.g. after opening a block comment); scrolling parses the lines that come into
//! view; nothing walks the document. The one exception is the first view of a place far
//! from every checkpoint (a jump into a large file): then the view starts parsing
//! [`SYNC_LINES`] above with a fresh state, and [`Highlighter::catch_up`] brings the
//! checkpoints there in the background, a slice at a time, until the colours are exact.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::rc::Rc;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crdt_text::{Anchor, Bias, Doc, OpId, OpKind, VersionVector};
use ratatui::style::{Color, Modifier, Style};
use syntect::highlighting::{
    self as sh, FontStyle, HighlightState, RangedHighlightIterator, ScopeSelectors, StyleModifier,
    ThemeItem,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};

use crate::theme::SyntaxRule;

/// Lines between checkpoints.
pub const INTERVAL: usize = 16;
/// Lines parsed at most to reach the view from a valid checkpoint before the view starts
/// from a guess instead (and the checkpoints catch up in the background).
pub const MAX_WALK: usize = 64;
/// How far above the view a guessed start begins.
pub const SYNC_LINES: usize = 40;
/// Lines longer than this (bytes) are shown without highlighting: a regex-based parser can
/// take very long on a megabyte-long line (minified files).
pub const LONG_LINE: usize = 4096;
/// Lines with a word (a run without white space) longer than this (bytes) are shown without
/// highlighting too: several grammars take time quadratic in a word's length (measured with
/// optimised dependencies: a 1,000-byte word in a Rust comment 60 ms, in JavaScript 240 ms; 128
/// bytes 1 ms), and a long hash, URL or data blob is no reason for a keystroke to stall.
pub const LONG_WORD: usize = 200;
/// Highlighted lines kept.
const CACHE_LINES: usize = 2048;
/// Dirty points kept apart; more are merged into the first.
const MAX_DIRTY: usize = 64;

/// The syntax definitions, loaded on first use (their regexes compile lazily, per syntax).
fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(two_face::syntax::extra_newlines)
}

/// The syntax for a file name: by extension, else by the whole name (`Makefile`,
/// `Dockerfile`); `None` for plain text.
pub fn syntax_for(file_name: &str) -> Option<&'static SyntaxReference> {
    let set = syntaxes();
    let ext = file_name.rsplit_once('.').map(|(_, e)| e);
    ext.and_then(|e| set.find_syntax_by_extension(e))
        .or_else(|| set.find_syntax_by_extension(file_name))
        .or_else(|| ext.and_then(|e| set.find_syntax_by_extension(&e.to_lowercase())))
        .filter(|s| s.name != "Plain Text")
}

/// How much parsing a walk may do.
#[derive(Clone, Copy)]
enum Budget {
    /// At most this many lines.
    Lines(usize),
    /// Until this time.
    Until(Instant),
}

/// The parser's state between two lines.
#[derive(Clone, PartialEq, Eq, Debug)]
struct LineState {
    parse: ParseState,
    highlight: HighlightState,
}

/// One highlighted line.
#[derive(Debug)]
pub struct Highlighted {
    text: Box<str>,
    start: LineState,
    end: LineState,
    /// Styled runs: each style holds up to its end byte.
    pub spans: Vec<(usize, Style)>,
}

impl Highlighted {
    /// The style at byte `byte` of the line.
    pub fn style_at(&self, byte: usize) -> Style {
        let i = self.spans.partition_point(|(end, _)| *end <= byte);
        self.spans.get(i).map_or_else(Style::default, |(_, s)| *s)
    }
}

/// A checkpoint: the state at the start of a line.
#[derive(Debug)]
struct Checkpoint {
    /// Anchored to the line break before the line.
    at: Anchor,
    state: LineState,
}

/// The highlighting of one document. See the [module docs](self).
pub struct Highlighter {
    syntax: Option<&'static SyntaxReference>,
    theme: sh::Theme,
    /// The document version the dirty points account for.
    seen: Option<VersionVector>,
    checkpoints: Vec<Checkpoint>,
    /// The dirty points, each with its position at version `seen` (resolved once per version:
    /// a walk compares against them at every line it checks).
    dirty: Vec<(Anchor, usize)>,
    lines: HashMap<u64, Vec<Rc<Highlighted>>>,
    cached: usize,
    /// The line the view last needed a state for, while the checkpoints are behind it.
    behind: Option<usize>,
}

impl std::fmt::Debug for Highlighter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Highlighter")
            .field("syntax", &self.syntax.map(|s| &s.name))
            .field("checkpoints", &self.checkpoints.len())
            .field("dirty", &self.dirty.len())
            .field("cached", &self.cached)
            .field("behind", &self.behind)
            .finish()
    }
}

/// A colour as syntect carries it: alpha 0xff for RGB, 1 for a palette index (named colours
/// are indexes 0–15), 0 for the terminal's default.
fn encode(color: Color) -> sh::Color {
    let index = |i: u8| sh::Color {
        r: i,
        g: 0,
        b: 0,
        a: 1,
    };
    match color {
        Color::Rgb(r, g, b) => sh::Color { r, g, b, a: 0xff },
        Color::Indexed(i) => index(i),
        Color::Reset => sh::Color::BLACK.with_alpha(0),
        named => NAMED
            .iter()
            .position(|c| *c == named)
            .map_or(sh::Color::BLACK.with_alpha(0), |i| index(i as u8)),
    }
}

const NAMED: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

trait WithAlpha {
    fn with_alpha(self, a: u8) -> Self;
}

impl WithAlpha for sh::Color {
    fn with_alpha(self, a: u8) -> Self {
        sh::Color { a, ..self }
    }
}

fn decode(color: sh::Color) -> Option<Color> {
    match color.a {
        0xff => Some(Color::Rgb(color.r, color.g, color.b)),
        1 => Some(
            NAMED
                .get(usize::from(color.r))
                .copied()
                .unwrap_or(Color::Indexed(color.r)),
        ),
        _ => None,
    }
}

fn to_style(style: sh::Style) -> Style {
    let mut out = Style::default();
    if let Some(fg) = decode(style.foreground) {
        out = out.fg(fg);
    }
    for (font, modifier) in [
        (FontStyle::BOLD, Modifier::BOLD),
        (FontStyle::ITALIC, Modifier::ITALIC),
        (FontStyle::UNDERLINE, Modifier::UNDERLINED),
    ] {
        if style.font_style.contains(font) {
            out = out.add_modifier(modifier);
        }
    }
    out
}

/// The theme's `[syntax]` rules as a syntect theme (rules whose selector does not parse were
/// reported when the theme was loaded and are skipped).
fn syntect_theme(rules: &[SyntaxRule]) -> sh::Theme {
    let scopes = rules
        .iter()
        .filter_map(|rule| {
            let scope = ScopeSelectors::from_str(&rule.scope).ok()?;
            let mut font = FontStyle::empty();
            for (modifier, f) in [
                (Modifier::BOLD, FontStyle::BOLD),
                (Modifier::ITALIC, FontStyle::ITALIC),
                (Modifier::UNDERLINED, FontStyle::UNDERLINE),
            ] {
                if rule.modifiers.contains(modifier) {
                    font |= f;
                }
            }
            Some(ThemeItem {
                scope,
                style: StyleModifier {
                    foreground: rule.fg.map(encode),
                    background: None,
                    font_style: Some(font),
                },
            })
        })
        .collect();
    sh::Theme {
        settings: sh::ThemeSettings {
            foreground: Some(encode(Color::Reset)),
            background: Some(encode(Color::Reset)),
            ..Default::default()
        },
        scopes,
        ..Default::default()
    }
}

/// The length in bytes of the longest run of `text` without white space.
fn longest_word(text: &str) -> usize {
    text.split(|c: char| c.is_ascii_whitespace())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

fn text_key(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Where an op acted: the position of each run of characters it inserted or deleted
/// (deleted ones resolve to where they were).
fn positions(doc: &Doc, op: &crdt_text::Op) -> Vec<usize> {
    let at = |id: OpId| {
        doc.resolve(&Anchor {
            id: Some(id),
            bias: Bias::Right,
        })
    };
    match &op.kind {
        OpKind::Insert { .. } => vec![at(op.id)],
        OpKind::Delete { targets } => targets
            .iter()
            .map(|t| at(OpId::new(t.start.replica, t.min_counter())))
            .collect(),
    }
}

impl Highlighter {
    /// The highlighter for a file of this name, with the theme's `[syntax]` colours.
    pub fn for_file(file_name: &str, rules: &[SyntaxRule]) -> Highlighter {
        Highlighter {
            syntax: syntax_for(file_name),
            theme: syntect_theme(rules),
            seen: None,
            checkpoints: Vec::new(),
            dirty: Vec::new(),
            lines: HashMap::new(),
            cached: 0,
            behind: None,
        }
    }

    /// The name of the syntax in use (`None`: plain text).
    pub fn syntax_name(&self) -> Option<&str> {
        self.syntax.map(|s| s.name.as_str())
    }

    /// Whether checkpoints are still catching up with the view ([`Highlighter::catch_up`]).
    pub fn is_behind(&self) -> bool {
        self.behind.is_some()
    }

    fn fresh(&self, syntax: &SyntaxReference) -> LineState {
        let hl = sh::Highlighter::new(&self.theme);
        LineState {
            parse: ParseState::new(syntax),
            highlight: HighlightState::new(&hl, ScopeStack::new()),
        }
    }

    /// Turns the ops applied since the last call into dirty points.
    fn sync(&mut self, doc: &Doc) {
        let version = doc.version();
        let Some(seen) = &self.seen else {
            self.seen = Some(version);
            return;
        };
        if *seen == version {
            return;
        }
        let ops = doc.ops_since(seen);
        self.seen = Some(version);
        for (anchor, at) in &mut self.dirty {
            *at = doc.resolve(anchor);
        }
        if self.checkpoints.is_empty() {
            return;
        }
        for op in &ops {
            for pos in positions(doc, op) {
                self.dirty.push((doc.anchor(pos, Bias::Right), pos));
            }
        }
        if self.dirty.len() > MAX_DIRTY {
            // Keep the earliest only: checkpoints after it are all checked again.
            let first = self.dirty.iter().copied().min_by_key(|(_, at)| *at);
            self.dirty = first.into_iter().collect();
        }
    }

    /// The first dirty position (`usize::MAX` if none).
    fn first_dirty(&self) -> usize {
        self.dirty
            .iter()
            .map(|(_, at)| *at)
            .min()
            .unwrap_or(usize::MAX)
    }

    /// Forgets the dirty points before `pos` and, if there were any, marks `pos` dirty instead
    /// (everything up to it was just checked).
    fn dirty_moves_to(&mut self, doc: &Doc, pos: usize) {
        let before = self.dirty.len();
        self.dirty.retain(|(_, at)| *at >= pos);
        if self.dirty.len() < before {
            self.dirty.push((doc.anchor(pos, Bias::Right), pos));
        }
    }

    /// The line a checkpoint starts, if it still starts one (its line break was not deleted).
    fn checkpoint_line(doc: &Doc, cp: &Checkpoint) -> Option<(usize, usize)> {
        let pos = doc.resolve(&cp.at);
        let line = doc.char_to_line(pos);
        (line > 0 && doc.line_to_char(line) == pos).then_some((line, pos))
    }

    /// The last valid checkpoint at or before `line`: its line and state (line 0 and a fresh
    /// state if none). Drops checkpoints whose line break was deleted.
    fn valid_start(
        &mut self,
        doc: &Doc,
        line: usize,
        syntax: &SyntaxReference,
    ) -> (usize, LineState) {
        let limit = doc.line_to_char(line).min(self.first_dirty());
        loop {
            let i = self
                .checkpoints
                .partition_point(|cp| doc.resolve(&cp.at) <= limit);
            if i == 0 {
                return (0, self.fresh(syntax));
            }
            match Self::checkpoint_line(doc, &self.checkpoints[i - 1]) {
                Some((l, _)) => return (l, self.checkpoints[i - 1].state.clone()),
                None => {
                    self.checkpoints.remove(i - 1);
                }
            }
        }
    }

    /// Records the state at the start of `line` as a checkpoint, or checks it against the one
    /// there. Returns whether it converged: a checkpoint from before the edits that are still
    /// dirty holds the fresh state (so their effect ended before this line, and the
    /// checkpoints after it hold). A checkpoint recorded or corrected here is fresh, so the
    /// dirty points before it move to it: only what follows it is still in doubt, and a later
    /// pass never takes a state it wrote itself for a sign of convergence.
    fn checkpoint(&mut self, doc: &Doc, line: usize, state: &LineState) -> bool {
        let pos = doc.line_to_char(line);
        let i = self
            .checkpoints
            .partition_point(|cp| doc.resolve(&cp.at) < pos);
        let existing = self
            .checkpoints
            .get(i)
            .filter(|cp| doc.resolve(&cp.at) == pos && Self::checkpoint_line(doc, cp).is_some());
        let dirty_before = self.dirty.iter().any(|(_, at)| *at < pos);
        match existing {
            Some(cp) if cp.state == *state => {
                if dirty_before {
                    self.dirty.retain(|(_, at)| *at >= pos);
                }
                return dirty_before;
            }
            Some(_) => self.checkpoints[i].state = state.clone(),
            None => {
                let at = doc.anchor(pos, Bias::Left);
                self.checkpoints.insert(
                    i,
                    Checkpoint {
                        at,
                        state: state.clone(),
                    },
                );
            }
        }
        self.dirty_moves_to(doc, pos);
        false
    }

    /// Parses `text` (one line without its break) from `state`; the styles and the state
    /// after it.
    fn parse(&self, text: &str, state: &LineState) -> (Vec<(usize, Style)>, LineState) {
        let mut next = state.clone();
        if text.len() > LONG_LINE || longest_word(text) > LONG_WORD {
            return (Vec::new(), next);
        }
        let line = format!("{text}\n");
        let ops = match next.parse.parse_line(&line, syntaxes()) {
            Ok(ops) => ops,
            Err(e) => {
                tracing::debug!("highlighting stopped on a line: {e}");
                return (Vec::new(), state.clone());
            }
        };
        let hl = sh::Highlighter::new(&self.theme);
        let spans = RangedHighlightIterator::new(&mut next.highlight, &ops, &line, &hl)
            .map(|(style, _, range)| (range.end.min(text.len()), to_style(style)))
            .collect();
        (spans, next)
    }

    /// The highlighting of `text` starting in `state`, from the cache or parsed (and cached).
    fn line(&mut self, text: &str, state: &LineState) -> Rc<Highlighted> {
        let key = text_key(text);
        if let Some(hit) = self
            .lines
            .get(&key)
            .and_then(|v| v.iter().find(|h| &*h.text == text && h.start == *state))
        {
            return Rc::clone(hit);
        }
        let (spans, end) = self.parse(text, state);
        let entry = Rc::new(Highlighted {
            text: text.into(),
            start: state.clone(),
            end,
            spans,
        });
        if self.cached >= CACHE_LINES {
            self.lines.clear();
            self.cached = 0;
        }
        self.lines.entry(key).or_default().push(Rc::clone(&entry));
        self.cached += 1;
        entry
    }

    /// The state after `line` from `state`. `keep`: cache the line (the short walks to the
    /// view, which the next frame repeats), not the long catch-up walks that would push the
    /// visible lines out of the cache.
    fn pass(&mut self, doc: &Doc, line: usize, state: &LineState, keep: bool) -> LineState {
        let text = crate::text::line_text(doc, line);
        if keep {
            return self.line(&text, state).end.clone();
        }
        let key = text_key(&text);
        if let Some(hit) = self
            .lines
            .get(&key)
            .and_then(|v| v.iter().find(|h| *h.text == *text && h.start == *state))
        {
            return hit.end.clone();
        }
        self.parse(&text, state).1
    }

    /// Parses forward from the last valid checkpoint to the start of `target`, recording
    /// checkpoints, within `budget` (else `None`).
    fn walk(
        &mut self,
        doc: &Doc,
        target: usize,
        syntax: &SyntaxReference,
        budget: Budget,
    ) -> Option<LineState> {
        let (mut line, mut state) = self.valid_start(doc, target, syntax);
        let mut parsed = 0;
        while line < target {
            let spent = match budget {
                Budget::Lines(n) => parsed >= n,
                Budget::Until(deadline) => Instant::now() >= deadline,
            };
            if spent {
                return None;
            }
            state = self.pass(doc, line, &state, matches!(budget, Budget::Lines(_)));
            parsed += 1;
            line += 1;
            if self.keeps_state(doc, line) && self.checkpoint(doc, line, &state) {
                // The change's effect ended here: jump to the last valid checkpoint.
                let (l, s) = self.valid_start(doc, target, syntax);
                if l > line {
                    (line, state) = (l, s);
                }
            }
        }
        self.checked_to(doc, target);
        Some(state)
    }

    /// Whether a pass reaching the start of `line` records (or checks) the state there: every
    /// [`INTERVAL`] lines, and where a checkpoint sits that an edit above moved off that grid
    /// (it is checked, so that no stale state is left between fresh ones).
    fn keeps_state(&self, doc: &Doc, line: usize) -> bool {
        if line.is_multiple_of(INTERVAL) {
            return true;
        }
        let pos = doc.line_to_char(line);
        let i = self
            .checkpoints
            .partition_point(|cp| doc.resolve(&cp.at) < pos);
        self.checkpoints
            .get(i)
            .is_some_and(|cp| doc.resolve(&cp.at) == pos)
    }

    /// Every checkpoint up to `line` was just parsed again: a dirty point before it (an edit
    /// whose effect has not ended, such as an unclosed comment) now only makes the
    /// checkpoints after `line` suspect.
    fn checked_to(&mut self, doc: &Doc, line: usize) {
        self.dirty_moves_to(doc, doc.line_to_char(line));
    }

    /// Starts highlighting the view at `top`: a [`View`] that returns the styles of `top`
    /// and of each following line in turn. `None` for plain text.
    pub fn view<'a>(&'a mut self, doc: &'a Doc, top: usize) -> Option<View<'a>> {
        let syntax = self.syntax?;
        self.sync(doc);
        let (state, exact) =
            if let Some(state) = self.walk(doc, top, syntax, Budget::Lines(MAX_WALK)) {
                self.behind = None;
                (state, true)
            } else {
                self.behind = Some(top);
                let from = top.saturating_sub(SYNC_LINES);
                let mut state = self.fresh(syntax);
                for line in from..top {
                    state = self.pass(doc, line, &state, true);
                }
                (state, false)
            };
        Some(View {
            hl: self,
            doc,
            line: top,
            state,
            exact,
        })
    }

    /// Moves the checkpoints towards the place the view showed last, for at most `budget`;
    /// returns whether they got there (the view can then be drawn with exact colours).
    pub fn catch_up(&mut self, doc: &Doc, budget: Duration) -> bool {
        let (Some(target), Some(syntax)) = (self.behind, self.syntax) else {
            return true;
        };
        self.sync(doc);
        let target = target.min(doc.line_count() - 1);
        if self
            .walk(doc, target, syntax, Budget::Until(Instant::now() + budget))
            .is_some()
        {
            self.behind = None;
            return true;
        }
        false
    }
}

/// Highlights consecutive lines of the view (see [`Highlighter::view`]).
pub struct View<'a> {
    hl: &'a mut Highlighter,
    doc: &'a Doc,
    line: usize,
    state: LineState,
    exact: bool,
}

impl std::fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View").field("line", &self.line).finish()
    }
}

impl View<'_> {
    /// The styles of the next line, whose text is `text`.
    pub fn next_line(&mut self, text: &str) -> Rc<Highlighted> {
        let h = self.hl.line(text, &self.state);
        self.state = h.end.clone();
        self.line += 1;
        if self.exact && self.hl.keeps_state(self.doc, self.line) {
            self.hl.checkpoint(self.doc, self.line, &self.state);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_text::ReplicaId;

    fn rules() -> Vec<SyntaxRule> {
        crate::theme::Theme::builtin().syntax
    }

    /// The styles of `line` once the highlighting has caught up with the view there (as
    /// the runtime does between events).
    fn styles_of(hl: &mut Highlighter, doc: &Doc, line: usize) -> Vec<(usize, Style)> {
        drop(hl.view(doc, line));
        while !hl.catch_up(doc, Duration::from_millis(50)) {}
        let mut view = hl.view(doc, line).unwrap();
        view.next_line(&crate::text::line_text(doc, line))
            .spans
            .clone()
    }

    #[test]
    fn languages_are_chosen_by_file_name() {
        for (file, name) in [
            ("a.rs", "Rust"),
            ("a.py", "Python"),
            ("a.js", "JavaScript"),
            ("a.ts", "TypeScript"),
            ("a.go", "Go"),
            ("a.c", "C"),
            ("a.cpp", "C++"),
            ("A.java", "Java"),
            ("a.sh", "Bourne Again Shell (bash)"),
            ("Cargo.toml", "TOML"),
            ("a.yaml", "YAML"),
            ("a.json", "JSON"),
            ("a.html", "HTML"),
            ("a.css", "CSS"),
            ("README.md", "Markdown"),
            ("Makefile", "Makefile"),
        ] {
            let hl = Highlighter::for_file(file, &rules());
            assert_eq!(hl.syntax_name(), Some(name), "{file}");
        }
        assert_eq!(
            Highlighter::for_file("notes.txt", &rules()).syntax_name(),
            None
        );
    }

    #[test]
    fn a_comment_opened_above_recolours_below_and_closing_it_restores() {
        let mut doc = Doc::new(ReplicaId::from(1));
        let code: String = (0..200).map(|i| format!("let x{i} = {i};\n")).collect();
        let _ = doc.insert(0, &code);
        let mut hl = Highlighter::for_file("a.rs", &rules());
        let before = styles_of(&mut hl, &doc, 150);
        let _ = doc.insert(doc.line_to_char(3), "/*\n");
        let commented = styles_of(&mut hl, &doc, 151);
        assert_ne!(
            before, commented,
            "line 150 (now 151) is inside the comment"
        );
        assert_eq!(commented.len(), 1, "one comment run: {commented:?}");
        let _ = doc.delete(doc.line_to_char(3), 3);
        assert_eq!(styles_of(&mut hl, &doc, 150), before);
    }

    /// Invariant after every random edit: the incremental highlighting of a few lines equals
    /// what a fresh highlighter computes for the same text.
    #[test]
    fn incremental_highlighting_matches_a_fresh_one_after_random_edits() {
        use rand::{Rng, SeedableRng};
        let pieces = [
            "/*",
            "*/",
            "\"",
            "(",
            ")",
            "{",
            "}",
            "\n",
            "// x",
            "let y = 1;",
            " ",
        ];
        for seed in 0..3 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut doc = Doc::new(ReplicaId::from(1));
            let code: String = (0..120).map(|i| format!("let x{i} = \"{i}\";\n")).collect();
            let _ = doc.insert(0, &code);
            let mut hl = Highlighter::for_file("a.rs", &rules());
            for step in 0..120 {
                // A few edits between two frames, as when several peers type.
                for _ in 0..rng.random_range(1..=4) {
                    let len = doc.len();
                    if rng.random_bool(0.7) || len == 0 {
                        let piece = pieces[rng.random_range(0..pieces.len())];
                        let _ = doc.insert(rng.random_range(0..=len), piece);
                    } else {
                        let at = rng.random_range(0..len);
                        let _ = doc.delete(at, rng.random_range(1..=(len - at).min(4)));
                    }
                }
                let lines = doc.line_count();
                for line in [0, lines / 2, lines - 1, rng.random_range(0..lines)] {
                    let fresh = styles_of(&mut Highlighter::for_file("a.rs", &rules()), &doc, line);
                    assert_eq!(
                        styles_of(&mut hl, &doc, line),
                        fresh,
                        "seed {seed}, step {step}, line {line}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_line_with_a_very_long_word_is_plain_and_keeps_the_state() {
        let mut doc = Doc::new(ReplicaId::from(1));
        let blob = "x".repeat(LONG_WORD + 1);
        let code = format!("/*\nlet a = 1; // {blob}\nlet b = 2;\n*/\nlet c = 3;\n");
        let _ = doc.insert(0, &code);
        let mut hl = Highlighter::for_file("a.rs", &rules());
        assert!(styles_of(&mut hl, &doc, 1).is_empty(), "shown plain");
        assert_eq!(
            styles_of(&mut hl, &doc, 2).len(),
            1,
            "still inside the comment after it"
        );
        assert!(
            styles_of(&mut hl, &doc, 4).len() > 1,
            "code after the comment"
        );
        // One byte shorter, the same line is highlighted.
        let _ = doc.delete(doc.line_to_char(1) + 20, 1);
        assert!(!styles_of(&mut hl, &doc, 1).is_empty());
    }

    #[test]
    fn a_far_jump_guesses_then_catches_up() {
        let mut doc = Doc::new(ReplicaId::from(1));
        let mut code = String::from("/*\n");
        code.extend((0..2000).map(|i| format!("let x{i} = {i};\n")));
        let _ = doc.insert(0, &code);
        let mut hl = Highlighter::for_file("a.rs", &rules());
        let guessed = {
            let mut view = hl.view(&doc, 1500).unwrap();
            view.next_line(&crate::text::line_text(&doc, 1500))
                .spans
                .clone()
        };
        assert!(hl.is_behind(), "the view came first, from a guess");
        let exact = styles_of(&mut hl, &doc, 1500);
        assert!(!hl.is_behind());
        assert_ne!(guessed, exact, "the whole file is one unclosed comment");
        assert_eq!(exact.len(), 1);
    }
}
