//! Find and replace, written as annotated text: `|` is the cursor, `[` the other end of the
//! selection.

mod common;

use common::*;
use duet::model::{Mode, Prompt};

/// "3 of 17": the selection's place among the matches of the prompt's query, and the count.
fn place(m: &duet::model::Model) -> Option<(usize, usize)> {
    let query = m.current_query()?;
    let found = m.found(&query)?;
    let found = found.as_ref().as_ref().ok()?;
    let at = found.index_of(&m.selection_range())?;
    Some((at + 1, found.matches.len()))
}

#[test]
fn replace_one_skip_one_then_stop() {
    let mut m = model("|cat cat cat cat");
    press(&mut m, "ctrl-r");
    type_text(&mut m, "cat");
    assert_eq!(place(&m), Some((1, 4)), "the first match is current");
    press(&mut m, "enter");
    type_text(&mut m, "dog");
    press(&mut m, "enter");
    assert_eq!(show(&m), "[cat| cat cat cat", "asks about the first match");
    press(&mut m, "y");
    assert_eq!(show(&m), "dog [cat| cat cat");
    press(&mut m, "n");
    assert_eq!(show(&m), "dog cat [cat| cat", "skipped one");
    press(&mut m, "y esc");
    assert_eq!(m.doc.text(), "dog cat dog cat");
    assert_eq!(m.mode, Mode::Edit);
    // Each replacement is its own undo step.
    press(&mut m, "ctrl-z");
    assert_eq!(m.doc.text(), "dog cat cat cat");
}

#[test]
fn replace_all_is_one_undo_step_and_wraps_to_where_it_started() {
    let mut m = model("a1 a2 |a3 a4");
    press(&mut m, "ctrl-r");
    type_text(&mut m, "a");
    press(&mut m, "tab");
    type_text(&mut m, "b");
    press(&mut m, "enter");
    assert_eq!(show(&m), "a1 a2 [a|3 a4", "from the cursor on");
    press(&mut m, "a");
    assert_eq!(
        m.doc.text(),
        "b1 b2 b3 b4",
        "all, the ones before the start too"
    );
    assert_eq!(m.mode, Mode::Edit);
    assert!(
        m.message
            .as_ref()
            .is_some_and(|msg| msg.text == "Replaced 4 matches")
    );
    press(&mut m, "ctrl-z");
    assert_eq!(m.doc.text(), "a1 a2 a3 a4", "one undo step for all of them");
}

#[test]
fn replace_walks_around_once_and_ends_where_it_started() {
    let mut m = model("x |x x");
    press(&mut m, "ctrl-r");
    type_text(&mut m, "x");
    press(&mut m, "enter");
    type_text(&mut m, "yy");
    press(&mut m, "enter y y y");
    assert_eq!(m.doc.text(), "yy yy yy");
    assert_eq!(m.mode, Mode::Edit, "no match left to ask about");
}

#[test]
fn regular_expressions_with_groups() {
    let mut m = model("|width: 10px; height: 20px;");
    press(&mut m, "alt-r ctrl-r");
    type_text(&mut m, r"(\d+)px");
    assert_eq!(place(&m), Some((1, 2)));
    press(&mut m, "enter");
    type_text(&mut m, "${1}em");
    press(&mut m, "enter a");
    assert_eq!(m.doc.text(), "width: 10em; height: 20em;");
    // Plain text again: the same pattern is taken literally and finds nothing.
    let mut m = model("|a.c abc");
    press(&mut m, "ctrl-f");
    type_text(&mut m, "a.c");
    assert_eq!(place(&m), Some((1, 1)), "plain text: the dot is a dot");
    press(&mut m, "alt-r");
    assert_eq!(place(&m), Some((1, 2)), "as a regex it matches abc too");
}

#[test]
fn a_bad_regex_is_reported_not_fatal() {
    let mut m = model("|(a");
    press(&mut m, "alt-r ctrl-f");
    type_text(&mut m, "(a");
    let found = m.found("(a").unwrap();
    assert!(found.as_ref().as_ref().is_err());
    assert_eq!(show(&m), "|(a", "the cursor stays");
    press(&mut m, "enter");
    assert!(
        m.message
            .as_ref()
            .is_some_and(|msg| msg.text.contains("Not a valid search"))
    );
}

#[test]
fn smart_case_and_its_toggle() {
    let mut m = model("|Rust rust RUST");
    press(&mut m, "ctrl-f");
    type_text(&mut m, "rust");
    assert_eq!(place(&m), Some((1, 3)), "lower case finds every case");
    let mut m = model("|Rust rust RUST");
    press(&mut m, "ctrl-f");
    type_text(&mut m, "Rust");
    assert_eq!(place(&m), Some((1, 1)), "a capital makes it case-sensitive");
    press(&mut m, "alt-c");
    assert_eq!(place(&m), Some((1, 3)), "ignore case");
    press(&mut m, "alt-c");
    let mut m2 = model("|Rust rust RUST");
    m2.search = m.search;
    press(&mut m2, "ctrl-f");
    type_text(&mut m2, "rust");
    assert_eq!(
        place(&m2),
        Some((1, 1)),
        "match case: only the lower-case one"
    );
    assert_eq!(show(&m2), "Rust [rust| RUST");
}

#[test]
fn the_count_follows_the_current_match_and_shift_f3_goes_back() {
    let mut m = model("|ab ab ab");
    press(&mut m, "ctrl-f");
    type_text(&mut m, "ab");
    assert_eq!(place(&m), Some((1, 3)));
    press(&mut m, "enter enter");
    assert_eq!(place(&m), Some((3, 3)));
    press(&mut m, "esc shift-f3");
    assert_eq!(show(&m), "ab [ab| ab");
    press(&mut m, "f15");
    assert_eq!(
        show(&m),
        "[ab| ab ab",
        "F15: Shift-F3 as some terminals send it"
    );
    press(&mut m, "shift-f3");
    assert_eq!(show(&m), "ab ab [ab|", "wraps to the end");
}

#[test]
fn a_selection_is_what_find_looks_for() {
    let mut m = model("[foo| bar foo");
    press(&mut m, "ctrl-f");
    assert!(matches!(&m.mode, Mode::Prompt(Prompt::Find(p)) if p.query == "foo"));
    press(&mut m, "enter");
    assert_eq!(show(&m), "foo bar [foo|");
}

#[test]
fn replacing_a_five_megabyte_file_stays_quick() {
    let line = "the quick brown fox jumps over the lazy dog 0123456789 ééé\n";
    let text = line.repeat(5_000_000 / line.len());
    let mut m = model(&format!("|{text}"));
    let start = std::time::Instant::now();
    press(&mut m, "ctrl-r");
    type_text(&mut m, "fox");
    press(&mut m, "enter");
    type_text(&mut m, "cat");
    press(&mut m, "enter a");
    let took = start.elapsed();
    let lines = text.lines().count();
    assert_eq!(m.doc.text().matches("cat").count(), lines);
    assert!(!m.doc.text().contains("fox"));
    // Debug builds are slow; the release figure is in the README (keystroke bench).
    assert!(took.as_secs() < 60, "replace all took {took:?}");
}
