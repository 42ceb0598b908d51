//! The file picker of a shared folder, driven by keys as the user drives it, and what it
//! shows on a test terminal.

mod common;

use common::*;
use duet::model::{Mode, Model};
use duet::msg::{Effect, Msg};
use duet::picker::FolderFiles;
use duet::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A small project: src/main.rs is open, README.md was open before it; a font and a dump
/// are not shared.
fn project() -> FolderFiles {
    FolderFiles {
        files: strings(&[
            "Cargo.toml",
            "README.md",
            "docs/demo.md",
            "docs/design.md",
            "src/main.rs",
            "src/model.rs",
            "src/update/mod.rs",
            "tests/view.rs",
        ]),
        skipped: vec![
            ("assets/mono.ttf".into(), "binary".into()),
            ("data/dump.sql".into(), "over 1 MiB".into()),
        ],
        recent: strings(&["src/main.rs", "README.md"]),
    }
}

/// An editor of `src/main.rs` in that folder, on a terminal of `width`×`height`.
fn in_folder(width: u16, height: u16) -> Model {
    let mut m = model_sized("|fn main() {}\n", width, height);
    m.set_file_name("src/main.rs");
    m.set_folder(Some(project()));
    m.message = None;
    m
}

fn opened(effects: &[Effect]) -> Vec<&str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Open(path) => Some(path.as_str()),
            _ => None,
        })
        .collect()
}

fn query(m: &Model) -> &str {
    m.picker.as_ref().map_or("", |p| p.query())
}

#[test]
fn ctrl_e_then_a_fuzzy_query_then_enter_opens_the_file() {
    let mut m = in_folder(80, 20);
    press(&mut m, "ctrl-e");
    assert_eq!(m.mode, Mode::Picker);
    let typed = type_text(&mut m, "smn");
    assert!(opened(&typed).is_empty());
    assert_eq!(
        m.doc.text(),
        "fn main() {}\n",
        "typing goes to the query, not the text"
    );
    let effects = press(&mut m, "enter");
    assert_eq!(opened(&effects), ["src/main.rs"]);
    assert_eq!(m.mode, Mode::Edit);
    assert!(m.picker.is_none());
}

#[test]
fn enter_with_an_empty_query_opens_the_selected_file() {
    let mut m = in_folder(80, 20);
    // Recent first: src/main.rs, README.md; then the rest by path.
    let effects = press(&mut m, "ctrl-e down down enter");
    assert_eq!(opened(&effects), ["Cargo.toml"]);
    let effects = press(&mut m, "ctrl-e end up up enter");
    assert_eq!(
        opened(&effects),
        ["tests/view.rs"],
        "the skipped files are last"
    );
    let effects = press(&mut m, "ctrl-e pagedown home enter");
    assert_eq!(opened(&effects), ["src/main.rs"]);
}

#[test]
fn a_file_not_shared_stays_closed_and_says_why() {
    let mut m = in_folder(80, 20);
    press(&mut m, "ctrl-e");
    type_text(&mut m, "dump");
    let effects = press(&mut m, "enter");
    assert!(opened(&effects).is_empty());
    assert_eq!(m.mode, Mode::Picker, "the picker stays open");
    let (text, _) = screen(&m);
    assert!(
        text.contains("data/dump.sql is not shared (over 1 MiB)"),
        "{text}"
    );
    press(&mut m, "esc");
    assert_eq!(m.mode, Mode::Edit);
    assert!(m.picker.is_none());
}

#[test]
fn query_editing_keys_and_paste() {
    let mut m = in_folder(80, 20);
    press(&mut m, "ctrl-e");
    type_text(&mut m, "src mod");
    press(&mut m, "backspace");
    assert_eq!(query(&m), "src mo");
    press(&mut m, "ctrl-w");
    assert_eq!(query(&m), "src ");
    press(&mut m, "ctrl-u");
    assert_eq!(query(&m), "");
    update(&mut m, Msg::Paste("update\nsecond line".into()));
    assert_eq!(query(&m), "update");
    let effects = press(&mut m, "enter");
    assert_eq!(opened(&effects), ["src/update/mod.rs"]);
}

#[test]
fn the_open_file_key_closes_it_again() {
    let mut m = in_folder(80, 20);
    press(&mut m, "ctrl-e");
    type_text(&mut m, "read");
    let effects = press(&mut m, "ctrl-e");
    assert!(opened(&effects).is_empty());
    assert_eq!(m.mode, Mode::Edit);
    press(&mut m, "ctrl-e");
    assert_eq!(query(&m), "", "it opens afresh");
}

#[test]
fn single_file_mode_says_how_to_open_a_folder() {
    let mut m = model_sized("|hello", 80, 10);
    m.message = None;
    press(&mut m, "ctrl-e");
    assert_eq!(m.mode, Mode::Edit);
    let message = m.message.as_ref().map_or("", |m| m.text.as_str());
    assert!(message.contains("`duet DIR`"), "{message}");
}

#[test]
fn the_list_follows_the_folder_while_open() {
    let mut m = in_folder(80, 20);
    press(&mut m, "ctrl-e");
    type_text(&mut m, "rs");
    press(&mut m, "down");
    let picked = m
        .picker
        .as_ref()
        .and_then(|p| p.selected_row())
        .map(|r| r.path.to_owned());
    // A peer creates src/a.rs and deletes tests/view.rs.
    let mut folder = project();
    folder.files.push("src/a.rs".into());
    folder.files.retain(|f| f != "tests/view.rs");
    m.set_folder(Some(folder));
    assert_eq!(query(&m), "rs");
    let now = m
        .picker
        .as_ref()
        .and_then(|p| p.selected_row())
        .map(|r| r.path.to_owned());
    assert_eq!(now, picked, "the selection stays on its file");
    assert!(screen(&m).0.contains("src/a.rs"));
    assert!(!screen(&m).0.contains("tests/view.rs"));
    // The folder goes away (the runtime left it): the picker closes.
    m.set_folder(None);
    assert_eq!(m.mode, Mode::Edit);
    assert!(m.picker.is_none());
}

#[test]
fn empty_query_lists_recent_files_first() {
    let mut m = in_folder(64, 18);
    press(&mut m, "ctrl-e");
    let (text, (x, y)) = screen(&m);
    insta::assert_snapshot!(text);
    let row = text.lines().nth(usize::from(y)).unwrap();
    assert_eq!(
        usize::from(x),
        col(row, "> ") + 2,
        "the cursor is in the query: {row}"
    );
}

/// The screen column where `needle` starts in `row` (every character here is one cell wide).
fn col(row: &str, needle: &str) -> usize {
    let at = row
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not in {row:?}"));
    row[..at].chars().count()
}

#[test]
fn a_query_highlights_what_it_matched_and_dims_files_not_shared() {
    let mut m = in_folder(64, 18);
    press(&mut m, "ctrl-e");
    type_text(&mut m, "mo");
    let (text, cursor) = screen(&m);
    insta::assert_snapshot!(text);
    let rows: Vec<&str> = text.lines().collect();
    // The cursor is at the end of the query.
    let query_row = rows[usize::from(cursor.1)];
    assert!(query_row.contains("> mo"), "{query_row}");
    // src/model.rs: its "mo" is bold in the match colour, on the selection's background.
    let y = rows
        .iter()
        .position(|l| l.contains("src/model.rs"))
        .unwrap();
    let first = col(rows[y], "model") as u16;
    let y = y as u16;
    let hit = cell(&m, first, y);
    assert_eq!(hit.fg, m.theme.picker_match_fg);
    assert!(hit.modifier.contains(Modifier::BOLD));
    assert_eq!(hit.bg, m.theme.selection_bg, "the first match is selected");
    let plain = cell(&m, first + 2, y);
    assert!(!plain.modifier.contains(Modifier::BOLD), "d is not matched");
    // The font is listed, dimmed, with why it is not shared.
    let y = rows
        .iter()
        .position(|l| l.contains("assets/mono.ttf"))
        .unwrap();
    assert!(rows[y].contains("(not shared: binary)"), "{}", rows[y]);
    let x = col(rows[y], "assets") as u16;
    assert!(cell(&m, x, y as u16).modifier.contains(Modifier::DIM));
}

#[test]
fn no_matches() {
    let mut m = in_folder(64, 12);
    press(&mut m, "ctrl-e");
    type_text(&mut m, "zzz");
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
    press(&mut m, "enter");
    assert_eq!(m.mode, Mode::Picker);
}

#[test]
fn long_paths_keep_their_end_and_long_lists_scroll() {
    let mut m = in_folder(40, 12);
    let mut folder = project();
    let deep = "very/deeply/nested/folders/of/generated/code/final_name.rs";
    folder.files.push(deep.into());
    folder
        .files
        .extend((0..200).map(|i| format!("gen/f{i:03}.txt")));
    m.set_folder(Some(folder));
    press(&mut m, "ctrl-e");
    type_text(&mut m, "final");
    let (text, _) = screen(&m);
    assert!(text.contains("…"), "{text}");
    assert!(text.contains("final_name.rs"), "{text}");
    press(&mut m, "ctrl-u end");
    let (text, _) = screen(&m);
    let last = text.lines().find(|l| l.contains("▶ ")).unwrap();
    assert!(last.contains("dump.sql  (over 1 MiB)"), "{text}");
    press(&mut m, "home");
    let (text, _) = screen(&m);
    assert!(text.contains("src/main.rs"), "{text}");
    // PgDn moves by the rows shown, and the view follows.
    press(&mut m, "pagedown pagedown");
    let picker = m.picker.as_ref().expect("open");
    let selected = picker.selected().unwrap_or(0);
    assert!(selected >= 6, "two pages down: row {selected}");
    let path = picker
        .selected_row()
        .map(|r| r.path.to_owned())
        .unwrap_or_default();
    assert!(screen(&m).0.contains(&path), "{path} is on screen");
}

#[test]
fn tiny_terminals_do_not_panic() {
    let mut m = in_folder(80, 20);
    press(&mut m, "ctrl-e");
    type_text(&mut m, "s");
    for w in 1..=30 {
        for h in 1..=10 {
            m.size = (w, h);
            let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
            term.draw(|f| duet::view::view(&m, f)).unwrap();
        }
    }
}
