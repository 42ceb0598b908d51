//! The file picker of a shared folder: the folder's files filtered by a fuzzy query
//! (`nucleo-matcher`, as helix's picker), the recently opened ones first.
//!
//! Order: with an empty query, recently opened files (most recent first), then the others by
//! path; with a query, by match score, ties broken by recency, then path. Files the folder does
//! not share (binary, too large) are listed after the shared ones, with the reason, and cannot
//! be opened. The query is read as fzf reads it: words match in any order, `^start`, `end$`,
//! `'exact` and `!not` narrow a word; a capital letter makes matching case-sensitive.
//!
//! Every keystroke rescores every path with the same matcher and buffers (no allocation per
//! path); the list the folder lists can change while the picker is open ([`Picker::set_items`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32String};

/// The files of the shared folder this editor works in, as the picker lists them. The runtime
/// fills it and keeps it current ([`crate::model::Model::set_folder`]).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct FolderFiles {
    /// The shared files: paths relative to the folder, `/`-separated.
    pub files: Vec<String>,
    /// Files of the folder that are not shared, with why (`"binary"`, `"over 1 MiB"`).
    pub skipped: Vec<(String, String)>,
    /// Files opened lately, the most recent first.
    pub recent: Vec<String>,
}

/// One file the picker lists.
#[derive(Debug)]
struct Item {
    path: String,
    /// The path as the matcher reads it.
    haystack: Utf32String,
    /// Why the file is not shared (`None`: it is, and can be opened).
    skipped: Option<String>,
    /// Its place among the recently opened files (`u32::MAX`: not among them).
    recency: u32,
}

/// The sort key of a matching item: shared before skipped, then the higher score, the more
/// recent, the earlier path (`index` into the items sorted by path).
fn order(item: &Item, score: u32, index: u32) -> u128 {
    (u128::from(item.skipped.is_some()) << 127)
        | (u128::from(u32::MAX - score) << 64)
        | (u128::from(item.recency) << 32)
        | u128::from(index)
}

/// One row of the list, as the view draws it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Row<'a> {
    /// The path, relative to the folder.
    pub path: &'a str,
    /// Why it is not shared, if it is not.
    pub skipped: Option<&'a str>,
    /// Whether it was opened lately.
    pub recent: bool,
}

/// The picker's state: the files, the query, the matching files in order, the selection.
#[derive(Debug)]
pub struct Picker {
    /// Every file, sorted by path (so an index order is the path order).
    items: Vec<Item>,
    query: String,
    pattern: Pattern,
    /// The matching files, best first, as their [`order`] keys (the low 32 bits: the index
    /// into `items`).
    matches: Vec<u128>,
    /// The selected row of `matches`.
    selected: usize,
    /// Why Enter did not open anything, until the next key.
    note: Option<String>,
    /// The first row drawn: the view keeps the selection on screen and scrolls no more
    /// than it must.
    pub(crate) top: Cell<usize>,
    /// Rows the list showed when last drawn (PgUp/PgDn move by that).
    pub(crate) page: Cell<usize>,
    /// Also borrowed by the view, for the matched characters of the rows it draws.
    matcher: RefCell<Matcher>,
}

impl Picker {
    /// A picker listing `folder`'s files, with an empty query.
    pub fn new(folder: &FolderFiles) -> Picker {
        let mut picker = Picker {
            items: Vec::new(),
            query: String::new(),
            pattern: Pattern::default(),
            matches: Vec::new(),
            selected: 0,
            note: None,
            top: Cell::new(0),
            page: Cell::new(10),
            matcher: RefCell::new(Matcher::new(Config::DEFAULT.match_paths())),
        };
        picker.set_items(folder);
        picker
    }

    /// Lists `folder`'s files instead (a peer created, renamed or deleted some): the query
    /// stays, and so does the selection when its file is still listed.
    pub fn set_items(&mut self, folder: &FolderFiles) {
        let kept = self.selected_row().map(|r| r.path.to_owned());
        let recency: HashMap<&str, u32> = folder
            .recent
            .iter()
            .enumerate()
            .rev()
            .map(|(i, p)| (p.as_str(), u32::try_from(i).unwrap_or(u32::MAX - 1)))
            .collect();
        let item = |path: &String, skipped: Option<&String>| Item {
            path: path.clone(),
            haystack: Utf32String::from(path.as_str()),
            skipped: skipped.cloned(),
            recency: recency.get(path.as_str()).copied().unwrap_or(u32::MAX),
        };
        self.items.clear();
        self.items
            .extend(folder.files.iter().map(|p| item(p, None)));
        self.items
            .extend(folder.skipped.iter().map(|(p, why)| item(p, Some(why))));
        // A path listed twice is listed once, as shared if it is.
        self.items.sort_unstable_by(|a, b| {
            (&a.path, a.skipped.is_some()).cmp(&(&b.path, b.skipped.is_some()))
        });
        self.items.dedup_by(|b, a| a.path == b.path);
        let row = self.selected;
        self.refilter();
        self.selected = match kept {
            Some(path) => (0..self.matches.len())
                .find(|&r| self.item(r).path == path)
                .unwrap_or(row),
            None => row,
        }
        .min(self.matches.len().saturating_sub(1));
    }

    /// Scores every file against the query and orders the matches.
    fn refilter(&mut self) {
        self.matches.clear();
        let matcher = self.matcher.get_mut();
        for (i, item) in self.items.iter().enumerate() {
            if let Some(score) = self.pattern.score(item.haystack.slice(..), matcher) {
                self.matches.push(order(item, score, i as u32));
            }
        }
        // Plain integers: the sort reads no item.
        self.matches.sort_unstable();
    }

    /// The query changed: match anew, select the best match.
    fn query_changed(&mut self) {
        self.pattern
            .reparse(&self.query, CaseMatching::Smart, Normalization::Smart);
        self.refilter();
        self.selected = 0;
        self.top.set(0);
        self.note = None;
    }

    fn item(&self, row: usize) -> &Item {
        &self.items[self.matches[row] as u32 as usize]
    }

    /// What was typed.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Types `text` at the end of the query (a pasted text's first line).
    pub fn push_str(&mut self, text: &str) {
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            return;
        }
        self.query.extend(line.chars().filter(|c| !c.is_control()));
        self.query_changed();
    }

    /// Types `c` at the end of the query.
    pub fn push(&mut self, c: char) {
        self.query.push(c);
        self.query_changed();
    }

    /// Erases the query's last character.
    pub fn pop(&mut self) {
        if self.query.pop().is_some() {
            self.query_changed();
        }
    }

    /// Erases the query's last word (and the spaces after it).
    pub fn pop_word(&mut self) {
        let kept = self
            .query
            .trim_end()
            .trim_end_matches(|c: char| !c.is_whitespace());
        self.query.truncate(kept.len());
        self.query_changed();
    }

    /// Erases the whole query.
    pub fn clear_query(&mut self) {
        self.query.clear();
        self.query_changed();
    }

    /// How many files match the query.
    pub fn len(&self) -> usize {
        self.matches.len()
    }

    /// Whether no file matches the query.
    pub fn is_empty(&self) -> bool {
        self.matches.is_empty()
    }

    /// How many files the folder lists (shared or not).
    pub fn total(&self) -> usize {
        self.items.len()
    }

    /// Row `row` of the list (0 is the best match).
    pub fn row(&self, row: usize) -> Option<Row<'_>> {
        (row < self.matches.len()).then(|| {
            let item = self.item(row);
            Row {
                path: &item.path,
                skipped: item.skipped.as_deref(),
                recent: item.recency != u32::MAX,
            }
        })
    }

    /// The selected row's index (`None` when nothing matches).
    pub fn selected(&self) -> Option<usize> {
        (!self.matches.is_empty()).then_some(self.selected)
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<Row<'_>> {
        self.selected().and_then(|r| self.row(r))
    }

    /// Moves the selection `delta` rows down (up when negative), stopping at the ends.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.matches.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.note = None;
    }

    /// Moves the selection a page (the rows last drawn) down, or up.
    pub fn move_page(&mut self, down: bool) {
        let page = self.page.get().max(1) as isize;
        self.move_by(if down { page } else { -page });
    }

    /// Selects the first row.
    pub fn select_first(&mut self) {
        self.move_by(isize::MIN);
    }

    /// Selects the last row.
    pub fn select_last(&mut self) {
        self.move_by(isize::MAX);
    }

    /// Enter: the selected file's path, if it can be opened; otherwise `None`, and
    /// [`Picker::note`] says why.
    pub fn choose(&mut self) -> Option<String> {
        let Some(row) = self.selected_row() else {
            self.note = Some(if self.items.is_empty() {
                "The folder has no files yet".to_owned()
            } else {
                format!("No file matches “{}”", self.query)
            });
            return None;
        };
        match row.skipped {
            Some(why) => {
                self.note = Some(format!(
                    "{} is not shared ({why}), so it cannot be opened here",
                    row.path
                ));
                None
            }
            None => Some(row.path.to_owned()),
        }
    }

    /// Why Enter did not open anything (until the next key).
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The characters of row `row`'s path the query matched, as indices of its grapheme
    /// clusters, ascending, into `out` (cleared first; left empty with an empty query).
    pub fn matched_chars(&self, row: usize, out: &mut Vec<u32>) {
        out.clear();
        if row >= self.matches.len() {
            return;
        }
        let haystack = self.item(row).haystack.slice(..);
        self.pattern
            .indices(haystack, &mut self.matcher.borrow_mut(), out);
        out.sort_unstable();
        out.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[&str], skipped: &[(&str, &str)], recent: &[&str]) -> FolderFiles {
        FolderFiles {
            files: files.iter().map(|s| s.to_string()).collect(),
            skipped: skipped
                .iter()
                .map(|(p, w)| (p.to_string(), w.to_string()))
                .collect(),
            recent: recent.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn typed(picker: &mut Picker, query: &str) {
        picker.clear_query();
        for c in query.chars() {
            picker.push(c);
        }
    }

    fn listed(picker: &Picker) -> Vec<&str> {
        (0..picker.len())
            .map(|r| picker.row(r).map(|r| r.path).unwrap_or_default())
            .collect()
    }

    #[test]
    fn empty_query_lists_recent_files_first_then_by_path() {
        let p = Picker::new(&folder(
            &["b.rs", "a.rs", "src/main.rs", "z.md", "README.md"],
            &[("logo.png", "binary")],
            &["z.md", "src/main.rs", "gone.rs"],
        ));
        assert_eq!(
            listed(&p),
            [
                "z.md",
                "src/main.rs",
                "README.md",
                "a.rs",
                "b.rs",
                "logo.png"
            ]
        );
        assert!(p.row(0).is_some_and(|r| r.recent));
        assert!(p.row(2).is_some_and(|r| !r.recent));
        assert_eq!(p.total(), 6, "a recent file no longer listed is not listed");
    }

    #[test]
    fn query_orders_by_score_then_recency_then_path() {
        let files = ["src/main.rs", "docs/mailing.md", "src/model.rs", "main.c"];
        let mut p = Picker::new(&folder(&files, &[], &[]));
        typed(&mut p, "main");
        let found = listed(&p);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(
            found[2], "docs/mailing.md",
            "a scattered match scores below whole-word ones: {found:?}"
        );
        // main.c and src/main.rs both match "main" at a word start: a tie, broken by path
        // ("main.c" < "src/main.rs"), then by recency once one was opened lately.
        assert_eq!(&found[..2], ["main.c", "src/main.rs"]);
        p.set_items(&folder(&files, &[], &["src/main.rs"]));
        assert_eq!(&listed(&p)[..2], ["src/main.rs", "main.c"]);
    }

    #[test]
    fn matching_is_smart_case_and_fuzzy_across_the_path() {
        let mut p = Picker::new(&folder(&["src/main.rs", "Makefile", "README.md"], &[], &[]));
        typed(&mut p, "mdn");
        assert_eq!(listed(&p), Vec::<&str>::new(), "mdn is in no path in order");
        typed(&mut p, "smn");
        assert_eq!(listed(&p), ["src/main.rs"]);
        typed(&mut p, "m");
        assert_eq!(listed(&p).len(), 3, "lowercase ignores case");
        typed(&mut p, "M");
        assert_eq!(
            listed(&p),
            ["Makefile", "README.md"],
            "a capital matches case"
        );
        let mut out = Vec::new();
        typed(&mut p, "smn");
        p.matched_chars(0, &mut out);
        assert_eq!(out, [0, 4, 7], "s(rc/)m(ai)n");
    }

    #[test]
    fn skipped_files_are_listed_last_and_not_openable() {
        let mut p = Picker::new(&folder(
            &["notes.md"],
            &[("logo.png", "binary"), ("big.log", "over 1 MiB")],
            &[],
        ));
        typed(&mut p, "lo");
        assert_eq!(listed(&p), ["logo.png", "big.log"], "by score");
        assert_eq!(p.choose(), None);
        assert_eq!(
            p.note(),
            Some("logo.png is not shared (binary), so it cannot be opened here")
        );
        typed(&mut p, "o");
        assert_eq!(p.note(), None, "the next key clears the note");
        assert_eq!(
            listed(&p)[0],
            "notes.md",
            "shared files come first, whatever the score"
        );
        assert_eq!(p.choose(), Some("notes.md".to_owned()));
        typed(&mut p, "xyz");
        assert_eq!(p.choose(), None);
        assert_eq!(p.note(), Some("No file matches “xyz”"));
    }

    #[test]
    fn set_items_keeps_the_query_and_the_selected_file() {
        let mut p = Picker::new(&folder(&["a.rs", "b.rs", "c.rs", "notes.md"], &[], &[]));
        typed(&mut p, "rs");
        p.move_by(2);
        assert_eq!(p.selected_row().map(|r| r.path), Some("c.rs"));
        // A peer deletes a.rs and creates aa.rs, ab.rs: c.rs moves to row 3, still selected.
        let f = folder(&["aa.rs", "ab.rs", "b.rs", "c.rs", "notes.md"], &[], &[]);
        p.set_items(&f);
        assert_eq!(p.query(), "rs");
        assert_eq!(p.selected_row().map(|r| r.path), Some("c.rs"));
        assert_eq!(p.selected(), Some(3));
        // c.rs is renamed away: the selection stays on the same row.
        p.set_items(&folder(&["aa.rs", "ab.rs", "b.rs", "d.rs"], &[], &[]));
        assert_eq!(p.selected_row().map(|r| r.path), Some("d.rs"));
        // Everything goes: no selection, no panic; files come back.
        p.set_items(&FolderFiles::default());
        assert_eq!(p.selected(), None);
        assert_eq!(p.choose(), None);
        assert_eq!(p.note(), Some("The folder has no files yet"));
        p.set_items(&f);
        assert_eq!(p.selected(), Some(0));
    }

    #[test]
    fn a_path_both_shared_and_skipped_is_listed_once_as_shared() {
        let p = Picker::new(&folder(&["a.md"], &[("a.md", "binary")], &[]));
        assert_eq!(listed(&p), ["a.md"]);
        assert_eq!(p.row(0).and_then(|r| r.skipped), None);
    }

    #[test]
    fn movement_stops_at_the_ends() {
        let mut p = Picker::new(&folder(&["a", "b", "c", "d", "e"], &[], &[]));
        p.move_by(-1);
        assert_eq!(p.selected(), Some(0));
        p.page.set(3);
        p.move_page(true);
        assert_eq!(p.selected(), Some(3));
        p.move_page(true);
        assert_eq!(p.selected(), Some(4));
        p.select_first();
        assert_eq!(p.selected(), Some(0));
        p.select_last();
        assert_eq!(p.selected(), Some(4));
        p.move_page(false);
        assert_eq!(p.selected(), Some(1));
    }

    #[test]
    fn query_editing() {
        let mut p = Picker::new(&folder(&["src/main.rs"], &[], &[]));
        p.push_str("src ma\nsecond line");
        assert_eq!(p.query(), "src ma", "a paste types its first line");
        p.pop_word();
        assert_eq!(p.query(), "src ");
        p.pop_word();
        assert_eq!(p.query(), "");
        p.push_str("ab");
        p.pop();
        assert_eq!(p.query(), "a");
    }

    /// Ten thousand paths: the right files, in the right order (speed is not timed here).
    #[test]
    fn ten_thousand_paths() {
        let path = |i: usize| format!("crate{}/src/module{}/file{i}.rs", i % 7, i % 100);
        let files: Vec<String> = (0..10_000).map(path).collect();
        let recent = vec![path(1110)];
        let mut p = Picker::new(&FolderFiles {
            files,
            skipped: Vec::new(),
            recent,
        });
        assert_eq!(p.len(), 10_000);
        assert_eq!(p.row(0).map(|r| r.path), Some(path(1110).as_str()));
        typed(&mut p, "file111");
        // file111.rs, file1110..file1119.rs contain "file111" contiguously; other paths
        // match it only scattered (or not at all) and rank below.
        let found = listed(&p);
        assert_eq!(found[0], path(1110), "recent wins the tie");
        let exact: Vec<&str> = found[..11].to_vec();
        for f in &exact {
            assert!(f.contains("file111"), "{exact:?}");
        }
        typed(&mut p, "file1110.rs$");
        assert_eq!(listed(&p), [path(1110)]);
    }
}
