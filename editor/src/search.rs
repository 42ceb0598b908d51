//! Finding text: a query, as plain text or a regular expression (the `regex` crate), compiled
//! with its case rule; and every match of it in the document, found in one pass over the
//! text and cached per document version, so the prompt can say "3 of 17", the view can mark
//! the matches on screen, and F3 can step through them without searching again.
//!
//! Case follows micro and helix: *smart* by default (a query with a capital letter matches
//! case, one without ignores it), cycled to *ignore* and *match* with Alt-C.

use std::ops::Range;
use std::rc::Rc;

use crdt_text::Doc;
use regex::{Regex, RegexBuilder};

/// Matches counted at most (a pattern like `.` on a large file would fill memory); more are
/// shown as "N+". Replacing all still replaces every match.
pub const MAX_MATCHES: usize = 1_000_000;

/// Which way to search.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// Towards the end (wrapping to the start).
    Forward,
    /// Towards the start (wrapping to the end).
    Backward,
}

/// How a query treats upper and lower case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Case {
    /// Ignore case unless the query has a capital letter.
    #[default]
    Smart,
    /// Always ignore case.
    Ignore,
    /// Always match case.
    Match,
}

impl Case {
    /// The next mode (Alt-C).
    pub fn next(self) -> Case {
        match self {
            Case::Smart => Case::Ignore,
            Case::Ignore => Case::Match,
            Case::Match => Case::Smart,
        }
    }

    /// How the prompt names it.
    pub fn label(self) -> &'static str {
        match self {
            Case::Smart => "smart case",
            Case::Ignore => "ignore case",
            Case::Match => "match case",
        }
    }
}

/// How queries are read.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Options {
    /// Case rule.
    pub case: Case,
    /// A regular expression (else plain text).
    pub regex: bool,
}

/// Whether the query asks for case to matter under smart case: it has a capital letter that
/// is not an escape (`\S`, `\W`, `\D`, `\B` are classes, not letters).
fn has_capital(query: &str, regex: bool) -> bool {
    let mut escaped = false;
    for c in query.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        if regex && c == '\\' {
            escaped = true;
        } else if c.is_uppercase() {
            return true;
        }
    }
    false
}

/// Compiles a query. `^` and `$` match at line starts and ends; `.` does not match a line
/// break. The error is the regex crate's message, for the prompt.
pub fn compile(query: &str, opts: Options) -> Result<Regex, String> {
    let pattern = if opts.regex {
        query.to_owned()
    } else {
        regex::escape(query)
    };
    let ignore = match opts.case {
        Case::Smart => !has_capital(query, opts.regex),
        Case::Ignore => true,
        Case::Match => false,
    };
    RegexBuilder::new(&pattern)
        .case_insensitive(ignore)
        .multi_line(true)
        .build()
        .map_err(|e| match e {
            regex::Error::Syntax(s) => s.lines().last().unwrap_or("invalid").trim().to_owned(),
            other => other.to_string(),
        })
}

/// One match: its chars in the document and where it starts in the text's bytes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Match {
    /// The matched chars (empty for a zero-width match such as `^`).
    pub chars: Range<usize>,
    /// Byte offset of its start in [`Found::text`].
    pub byte: usize,
}

/// Every match of a query in one version of the document.
#[derive(Debug)]
pub struct Found {
    /// The compiled query.
    pub regex: Regex,
    /// The document's text it was run on.
    pub text: Rc<str>,
    /// The matches, in document order (at most [`MAX_MATCHES`]).
    pub matches: Vec<Match>,
    /// Whether there were more than [`MAX_MATCHES`].
    pub capped: bool,
}

impl Found {
    /// Runs `regex` over `text`.
    pub fn new(regex: Regex, text: Rc<str>) -> Found {
        let mut matches = Vec::new();
        let mut capped = false;
        // Chars before `byte`, counted incrementally from the previous match.
        let (mut byte, mut chars) = (0, 0);
        for m in regex.find_iter(&text) {
            if matches.len() == MAX_MATCHES {
                capped = true;
                break;
            }
            chars += text[byte..m.start()].chars().count();
            byte = m.start();
            let len = m.as_str().chars().count();
            matches.push(Match {
                chars: chars..chars + len,
                byte,
            });
        }
        Found {
            regex,
            text,
            matches,
            capped,
        }
    }

    /// The index of the match that is exactly `range`.
    pub fn index_of(&self, range: &Range<usize>) -> Option<usize> {
        let i = self
            .matches
            .partition_point(|m| m.chars.start < range.start);
        self.matches[i..]
            .iter()
            .take_while(|m| m.chars.start == range.start)
            .position(|m| m.chars == *range)
            .map(|j| i + j)
    }

    /// The match to go to from the selection `sel`: the first one after its start (forward)
    /// or the last one before it (backward), wrapping around; never `sel` itself unless it is
    /// the only match.
    pub fn step(&self, sel: &Range<usize>, dir: Direction) -> Option<usize> {
        let n = self.matches.len();
        if n == 0 {
            return None;
        }
        let i = match dir {
            Direction::Forward => {
                let i = self.matches.partition_point(|m| m.chars.start < sel.start);
                let skip = self.matches.get(i).is_some_and(|m| m.chars == *sel);
                (i + usize::from(skip)) % n
            }
            Direction::Backward => {
                let i = self.matches.partition_point(|m| m.chars.start < sel.start);
                (i + n - 1) % n
            }
        };
        Some(i)
    }

    /// The matches that overlap the char range `visible` (for drawing).
    pub fn within(&self, visible: Range<usize>) -> &[Match] {
        let from = self
            .matches
            .partition_point(|m| m.chars.end <= visible.start);
        let to = self
            .matches
            .partition_point(|m| m.chars.start < visible.end);
        &self.matches[from..to.max(from)]
    }

    /// What replaces the match starting at byte `byte`: `replacement` with `$1`, `${name}`
    /// expanded for a regular expression, taken literally for plain text.
    pub fn expand(&self, byte: usize, replacement: &str, opts: Options) -> String {
        if !opts.regex {
            return replacement.to_owned();
        }
        let mut out = String::new();
        if let Some(caps) = self.regex.captures_at(&self.text, byte) {
            caps.expand(replacement, &mut out);
        }
        out
    }

    /// Every match with what replaces it, skipping those it would not change (all matches,
    /// also past [`MAX_MATCHES`]).
    pub fn replacements(&self, replacement: &str, opts: Options) -> Vec<(Range<usize>, String)> {
        let mut out = Vec::new();
        let (mut byte, mut chars) = (0, 0);
        let mut expanded = String::new();
        for caps in self.regex.captures_iter(&self.text) {
            let Some(m) = caps.get(0) else { continue };
            chars += self.text[byte..m.start()].chars().count();
            byte = m.start();
            expanded.clear();
            if opts.regex {
                caps.expand(replacement, &mut expanded);
            } else {
                expanded.push_str(replacement);
            }
            let len = m.as_str().chars().count();
            if m.as_str() != expanded {
                out.push((chars..chars + len, expanded.clone()));
            }
        }
        out
    }
}

/// The matches of the last query asked for, kept until the query, its options or the
/// document change.
#[derive(Debug, Default)]
pub struct MatchCache {
    key: Option<(String, Options, u64, usize)>,
    found: Option<Rc<Result<Found, String>>>,
}

impl MatchCache {
    /// Every match of `query` in `doc` (or why the query is not valid); `None` for an empty
    /// query.
    pub fn get(
        &mut self,
        doc: &Doc,
        query: &str,
        opts: Options,
    ) -> Option<Rc<Result<Found, String>>> {
        if query.is_empty() {
            return None;
        }
        let key = (query.to_owned(), opts, doc.version().total(), doc.len());
        if self.key.as_ref() != Some(&key) || self.found.is_none() {
            let found = compile(query, opts).map(|regex| Found::new(regex, doc.text().into()));
            self.found = Some(Rc::new(found));
            self.key = Some(key);
        }
        self.found.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, query: &str, opts: Options) -> Found {
        Found::new(compile(query, opts).unwrap(), text.into())
    }

    #[test]
    fn smart_case_ignores_escapes() {
        assert!(!has_capital(r"\S+\d", true));
        assert!(has_capital(r"\SFoo", true));
        assert!(has_capital(r"\S", false), "plain text has no escapes");
    }

    #[test]
    fn matches_are_counted_in_chars() {
        let f = found("é a é a", "a", Options::default());
        let starts: Vec<usize> = f.matches.iter().map(|m| m.chars.start).collect();
        assert_eq!(starts, [2, 6]);
        assert_eq!(f.index_of(&(6..7)), Some(1));
        assert_eq!(f.step(&(6..7), Direction::Forward), Some(0), "wraps");
        assert_eq!(f.step(&(2..3), Direction::Backward), Some(1), "wraps back");
        assert_eq!(f.within(3..7).len(), 1);
    }

    #[test]
    fn a_bad_regex_says_why() {
        let err = compile(
            "(a",
            Options {
                regex: true,
                ..Options::default()
            },
        )
        .unwrap_err();
        assert!(err.contains("unclosed"), "{err}");
    }
}
