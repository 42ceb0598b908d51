//! The keymap and theme: built-in data is valid, user overrides apply, mistakes are clear.

mod common;

use common::key_event;
use duet::commands::COMMANDS;
use duet::keymap::{Keymap, KeymapError};
use duet::theme::Theme;
use ratatui::style::Color;

#[test]
fn builtin_keymap_binds_the_documented_keys() {
    let map = Keymap::builtin();
    for (key, command) in [
        ("ctrl-s", "save"),
        ("ctrl-q", "quit"),
        ("ctrl-z", "undo"),
        ("ctrl-y", "redo"),
        ("ctrl-c", "copy"),
        ("ctrl-x", "cut"),
        ("ctrl-v", "paste"),
        ("ctrl-a", "select_all"),
        ("ctrl-f", "find"),
        ("f3", "find_next"),
        ("shift-f3", "find_prev"),
        ("ctrl-g", "goto_line"),
        ("ctrl-t", "show_ticket"),
        ("ctrl-p", "show_peers"),
        ("f1", "help"),
        ("ctrl-shift-left", "select_word_left"),
    ] {
        assert_eq!(map.lookup(&key_event(key)), Some(command), "{key}");
    }
}

#[test]
fn every_command_is_reachable_from_a_key() {
    let map = Keymap::builtin();
    for cmd in COMMANDS {
        assert!(
            !map.keys_for(cmd.name).is_empty(),
            "{} has no default key",
            cmd.name
        );
    }
}

#[test]
fn user_overrides_rebind_and_unbind() {
    let mut map = Keymap::builtin();
    map.merge_toml(
        "[keys]\n\"ctrl-s\" = \"none\"\n\"alt-w\" = \"save\"\n",
        "user",
    )
    .unwrap();
    assert_eq!(map.lookup(&key_event("ctrl-s")), None);
    assert_eq!(map.lookup(&key_event("alt-w")), Some("save"));
    assert_eq!(
        map.lookup(&key_event("ctrl-q")),
        Some("quit"),
        "other defaults stay"
    );
}

#[test]
fn keymap_mistakes_are_named_and_change_nothing() {
    let mut map = Keymap::builtin();
    let err = map
        .merge_toml("[keys]\n\"ctrl-s\" = \"sav\"\n", "keymap.toml")
        .unwrap_err();
    assert!(matches!(err, KeymapError::Command { .. }));
    assert_eq!(
        err.to_string(),
        "keymap.toml: key `ctrl-s` is bound to unknown command `sav` (F1 lists the commands)"
    );
    let err = map
        .merge_toml("[keys]\n\"hyper-s\" = \"save\"\n", "keymap.toml")
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown modifier `hyper`"),
        "{err}"
    );
    let err = map.merge_toml("[keys\n", "keymap.toml").unwrap_err();
    assert!(err.to_string().starts_with("keymap.toml: "), "{err}");
    assert_eq!(map.lookup(&key_event("ctrl-s")), Some("save"));
}

#[test]
fn keys_parse_and_print_the_way_they_are_written() {
    for (written, shown) in [
        ("ctrl-s", "Ctrl-S"),
        ("shift-f3", "Shift-F3"),
        ("ctrl-shift-z", "Ctrl-Shift-Z"),
        ("pagedown", "PgDn"),
    ] {
        let key: duet::keymap::Key = written.parse().unwrap();
        assert_eq!(key.to_string(), shown);
    }
    // A terminal reports Shift-Z as an upper-case Z: the binding still matches.
    let map = Keymap::builtin();
    let upper_z = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('Z'),
        crossterm::event::KeyModifiers::CONTROL | crossterm::event::KeyModifiers::SHIFT,
    );
    assert_eq!(map.lookup(&upper_z), Some("redo"));
}

#[test]
fn theme_overrides_and_errors() {
    let mut theme = Theme::builtin();
    theme
        .merge_toml("[ui]\nselection_bg = \"#102030\"\n", "theme.toml")
        .unwrap();
    assert_eq!(theme.selection_bg, Color::Rgb(0x10, 0x20, 0x30));
    let err = theme
        .merge_toml("[ui]\nselection_bg = \"blurple\"\n", "theme.toml")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`selection_bg` = `blurple` is not a colour"),
        "{err}"
    );
    let err = theme
        .merge_toml("[ui]\nsparkles = \"red\"\n", "theme.toml")
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown entry `sparkles`"),
        "{err}"
    );
    assert_eq!(
        theme.selection_bg,
        Color::Rgb(0x10, 0x20, 0x30),
        "a failed merge changes nothing"
    );
}

#[test]
fn peer_colours_are_stable_per_name() {
    let theme = Theme::builtin();
    assert_eq!(theme.color_for("alice"), theme.color_for("alice"));
    assert!(theme.palette.contains(&theme.color_for("bob")));
}
