//! Editing, written as annotated text: `|` is the cursor, `[` the other end of the selection.

mod common;

use common::*;

fn check(before: &str, keys: &str, after: &str) {
    let mut m = model(before);
    press(&mut m, keys);
    assert_eq!(show(&m), after, "{before:?} + {keys:?}");
}

#[test]
fn typing_inserts_at_the_cursor() {
    let mut m = model("he|llo");
    type_text(&mut m, "XY");
    assert_eq!(show(&m), "heXY|llo");
}

#[test]
fn arrows_move_by_character_and_line() {
    check("he|llo", "right", "hel|lo");
    check("he|llo", "left left left", "|hello");
    check("hello|", "right", "hello|");
    check("ab|c\nde", "down", "abc\nde|");
    check("abc\nd|e", "up", "a|bc\nde");
    check("abcdef\nx\nabc|def", "up up", "abc|def\nx\nabcdef");
}

#[test]
fn home_goes_to_first_non_blank_then_column_one() {
    check("    ab|c", "home", "    |abc");
    check("    ab|c", "home home", "|    abc");
    check("a|bc\nd", "end", "abc|\nd");
}

#[test]
fn word_motion() {
    check("|hello world", "ctrl-right", "hello| world");
    check("|hello world", "ctrl-right ctrl-right", "hello world|");
    check("hello world|", "ctrl-left", "hello |world");
    check("foo.bar|", "ctrl-left", "foo.|bar");
    check("a\n|b", "ctrl-left", "a|\nb");
}

#[test]
fn document_start_and_end() {
    check("a\nb|\nc", "ctrl-home", "|a\nb\nc");
    check("a\nb|\nc", "ctrl-end", "a\nb\nc|");
}

#[test]
fn shift_extends_the_selection() {
    check("he|llo", "shift-right shift-right", "he[ll|o");
    check("he|llo", "shift-left", "h|e[llo");
    check("he[ll|o", "left", "he|llo");
    check("he[ll|o", "right", "hell|o");
    check("a|b\ncd", "shift-down", "a[b\nc|d");
    check("h|ello", "ctrl-a", "[hello|");
}

#[test]
fn typing_replaces_the_selection() {
    let mut m = model("he[ll|o");
    type_text(&mut m, "y");
    assert_eq!(show(&m), "hey|o");
}

#[test]
fn backspace_and_delete() {
    check("he|llo", "backspace", "h|llo");
    check("he|llo", "delete", "he|lo");
    check("|hello", "backspace", "|hello");
    check("hello|", "delete", "hello|");
    check("he[ll|o", "backspace", "he|o");
    check("a\n|b", "backspace", "a|b");
    check("foo bar|", "alt-backspace", "foo |");
    check("foo bar|", "ctrl-backspace", "foo |");
    check("|foo bar", "ctrl-delete", "| bar");
}

#[test]
fn ctrl_h_is_backspace_as_many_terminals_send_it() {
    check("foo bar|", "ctrl-h", "foo ba|");
    check("he[ll|o", "ctrl-h", "he|o");
}

#[test]
fn enter_keeps_indentation_and_tab_indents_as_set() {
    check("    abc|", "enter", "    abc\n    |");
    // Spaces to the next tab stop by default (width 4), a tab once switched to tabs.
    check("ab|c", "tab", "ab  |c");
    check("ab|c", "alt-o tab", "ab\t|c");
    check("|x", "alt-t tab", "        |x");
}

#[test]
fn cut_copy_paste() {
    let mut m = model("[hello| world");
    press(&mut m, "ctrl-c ctrl-end ctrl-v");
    assert_eq!(show(&m), "hello worldhello|");
    let mut m = model("[hello| world");
    let effects = press(&mut m, "ctrl-x");
    assert_eq!(show(&m), "| world");
    assert!(
        effects.contains(&duet::msg::Effect::Clipboard("hello".into())),
        "cut goes to the system clipboard"
    );
    press(&mut m, "ctrl-end ctrl-v");
    assert_eq!(show(&m), " worldhello|");
}

#[test]
fn cut_line_takes_the_whole_line() {
    check("one\nt|wo\nthree", "ctrl-k", "one\n|three");
}

#[test]
fn cuts_in_a_row_collect_the_lines_for_one_paste() {
    let mut m = model("one\nt|wo\nthree\nfour");
    let effects = press(&mut m, "ctrl-k ctrl-k");
    assert_eq!(show(&m), "one\n|four");
    assert!(
        effects.contains(&duet::msg::Effect::Clipboard("two\nthree\n".into())),
        "the system clipboard gets both lines: {effects:?}"
    );
    press(&mut m, "ctrl-home ctrl-v");
    assert_eq!(show(&m), "two\nthree\n|one\nfour");
    // Anything in between starts a new collection.
    let mut m = model("|a\nb\nc");
    press(&mut m, "ctrl-k down ctrl-k ctrl-end ctrl-v");
    assert_eq!(m.doc.text(), "b\nc");
    assert_eq!(m.clipboard, "c", "moving the cursor ended the first cut");
    let mut m = model("|a\nb\nc");
    press(&mut m, "ctrl-k");
    type_text(&mut m, "x");
    press(&mut m, "ctrl-k");
    assert_eq!(m.clipboard, "xb\n", "typing in between starts afresh");
}

#[test]
fn paste_normalizes_line_breaks() {
    let mut m = model("a|b");
    duet::update::update(&mut m, duet::msg::Msg::Paste("x\r\ny\rz".into()));
    assert_eq!(show(&m), "ax\ny\nz|b");
}

#[test]
fn undo_and_redo_a_typing_burst() {
    let mut m = model("|");
    type_text(&mut m, "hello world");
    press(&mut m, "ctrl-z");
    assert_eq!(show(&m), "hello |");
    press(&mut m, "ctrl-z");
    assert_eq!(show(&m), "|");
    press(&mut m, "ctrl-y");
    assert_eq!(show(&m), "hello |");
    press(&mut m, "ctrl-y");
    assert_eq!(show(&m), "hello world|");
}

#[test]
fn undo_restores_deleted_text() {
    let mut m = model("hello [world|");
    press(&mut m, "backspace");
    assert_eq!(show(&m), "hello |");
    press(&mut m, "ctrl-z");
    assert_eq!(m.doc.text(), "hello world");
}

#[test]
fn undo_after_select_all_and_typing_brings_the_whole_text_back() {
    let mut m = model("hello\nwor|ld");
    press(&mut m, "ctrl-a");
    type_text(&mut m, "xyz");
    assert_eq!(show(&m), "xyz|");
    press(&mut m, "ctrl-z");
    assert_eq!(
        m.doc.text(),
        "hello\nworld",
        "one undo: no typed character left behind"
    );
    press(&mut m, "ctrl-y");
    assert_eq!(m.doc.text(), "xyz");
}

#[test]
fn moving_the_cursor_starts_a_new_undo_step() {
    let mut m = model("|");
    type_text(&mut m, "ab");
    press(&mut m, "left");
    type_text(&mut m, "X");
    assert_eq!(show(&m), "aX|b");
    press(&mut m, "ctrl-z");
    assert_eq!(m.doc.text(), "ab");
}

#[test]
fn wide_and_combining_characters_move_and_delete_as_one() {
    // e + combining acute accent is one grapheme; so is a family emoji (ZWJ sequence).
    check("e\u{301}|x", "left", "|e\u{301}x");
    check("|e\u{301}x", "right", "e\u{301}|x");
    check("ae\u{301}|", "backspace", "a|");
    check("|👨‍👩‍👧x", "delete", "|x");
    check("漢字|", "left", "漢|字");
    check("🇫🇷|🇩🇪", "backspace", "|🇩🇪");
}

#[test]
fn vertical_motion_keeps_the_screen_column_across_wide_characters() {
    // "漢字" is 4 cells wide: column 2 in "abcd" is under the second character.
    check("ab|cd\n漢字", "down", "abcd\n漢|字");
    check("abcd\n漢|字", "up", "ab|cd\n漢字");
}

#[test]
fn find_and_find_next() {
    let mut m = model("|one two one two");
    press(&mut m, "ctrl-f");
    type_text(&mut m, "two");
    assert_eq!(show(&m), "one [two| one two");
    press(&mut m, "enter");
    assert_eq!(show(&m), "one two one [two|");
    press(&mut m, "enter");
    assert_eq!(show(&m), "one [two| one two", "wraps around");
    press(&mut m, "shift-enter");
    assert_eq!(show(&m), "one two one [two|");
    press(&mut m, "esc f3");
    assert_eq!(
        show(&m),
        "one [two| one two",
        "F3 repeats the search after the prompt closed"
    );
    press(&mut m, "shift-f3");
    assert_eq!(show(&m), "one two one [two|");
}

#[test]
fn find_is_case_insensitive_for_lowercase_queries() {
    let mut m = model("|Hello HELLO");
    press(&mut m, "ctrl-f");
    type_text(&mut m, "hello");
    assert_eq!(show(&m), "[Hello| HELLO");
    let mut m = model("|hello Hello");
    press(&mut m, "ctrl-f");
    type_text(&mut m, "Hello");
    assert_eq!(show(&m), "hello [Hello|");
}

#[test]
fn find_reports_no_match_and_keeps_the_cursor() {
    let mut m = model("ab|c");
    press(&mut m, "ctrl-f");
    type_text(&mut m, "zz");
    assert_eq!(show(&m), "ab|c");
    let found = m.found("zz").unwrap();
    assert!(found.as_ref().as_ref().is_ok_and(|f| f.matches.is_empty()));
}

#[test]
fn go_to_line() {
    let mut m = model("|a\nb\nc\nd");
    press(&mut m, "ctrl-g 3 enter");
    assert_eq!(show(&m), "a\nb\n|c\nd");
    press(&mut m, "ctrl-g 9 9 enter");
    assert_eq!(show(&m), "a\nb\nc\n|d", "clamped to the last line");
}

#[test]
fn quitting_with_unsaved_changes_asks_first() {
    use duet::msg::Effect;
    let mut m = model("|");
    type_text(&mut m, "x");
    let effects = press(&mut m, "ctrl-q");
    assert!(!effects.contains(&Effect::Quit));
    let effects = press(&mut m, "s");
    assert!(
        effects.contains(&Effect::Save) && !effects.contains(&Effect::Quit),
        "save first"
    );
    let version = m.doc.version();
    let effects = sync(&mut m, sync::Event::Saved { doc: DOC, version });
    assert!(effects.contains(&Effect::Quit), "then quit");
}

#[test]
fn quitting_a_saved_document_quits_at_once() {
    let mut m = model("|abc");
    let effects = press(&mut m, "ctrl-q");
    assert!(effects.contains(&duet::msg::Effect::Quit));
}

#[test]
fn a_failed_save_keeps_the_editor_open() {
    use duet::msg::Effect;
    let mut m = model("|");
    type_text(&mut m, "x");
    press(&mut m, "ctrl-q s");
    let error = sync::store::StoreError::ReadOnly {
        path: "notes.md".into(),
    };
    let effects = sync(&mut m, sync::Event::SaveFailed { doc: DOC, error });
    assert!(!effects.contains(&Effect::Quit));
    assert!(
        m.message
            .as_ref()
            .is_some_and(|msg| msg.text.contains("read-only"))
    );
}
