//! The keymap and theme: built-in data is valid, user overrides apply, mistakes are clear.

mod common;

use common::key_event;
use duet::commands::Command;
use duet::keymap::{Keymap, KeymapError};
use duet::theme::Theme;
use ratatui::style::Color;

#[test]
fn builtin_keymap_binds_the_documented_keys() {
    let map = Keymap::builtin();
    for (key, command) in [
        ("ctrl-e", Command::OpenFile),
        ("ctrl-s", Command::Save),
        ("ctrl-o", Command::SaveAs),
        ("ctrl-q", Command::Quit),
        ("ctrl-z", Command::Undo),
        ("ctrl-y", Command::Redo),
        ("ctrl-c", Command::Copy),
        ("ctrl-x", Command::Cut),
        ("ctrl-v", Command::Paste),
        ("ctrl-a", Command::SelectAll),
        ("ctrl-f", Command::Find),
        ("ctrl-r", Command::Replace),
        ("f3", Command::FindNext),
        ("shift-f3", Command::FindPrev),
        ("f15", Command::FindPrev),
        ("alt-c", Command::ToggleCase),
        ("alt-r", Command::ToggleRegex),
        ("ctrl-g", Command::GotoLine),
        ("ctrl-t", Command::ShowTicket),
        ("ctrl-p", Command::ShowPeers),
        ("alt-g", Command::GotoPeer),
        ("alt-f", Command::FollowPeer),
        ("alt-s", Command::ToggleSoftWrap),
        ("alt-n", Command::ToggleLineNumbers),
        ("f1", Command::Help),
        ("ctrl-h", Command::DeleteBackward),
        ("ctrl-backspace", Command::DeleteWordBackward),
        ("alt-backspace", Command::DeleteWordBackward),
        ("ctrl-shift-left", Command::SelectWordLeft),
    ] {
        assert_eq!(map.lookup(&key_event(key)), Some(command), "{key}");
    }
}

#[test]
fn every_command_is_reachable_from_a_key() {
    let map = Keymap::builtin();
    for cmd in Command::ALL {
        assert!(!map.keys_for(*cmd).is_empty(), "{cmd} has no default key");
        assert_eq!(
            Command::from_name(cmd.name()),
            Some(*cmd),
            "names are unique"
        );
    }
}

#[test]
fn user_overrides_rebind_and_unbind() {
    let mut map = Keymap::builtin();
    let problems = map.merge_toml(
        "[keys]\n\"ctrl-s\" = \"none\"\n\"alt-w\" = \"save\"\n",
        "user",
    );
    assert_eq!(problems, []);
    assert_eq!(map.lookup(&key_event("ctrl-s")), None);
    assert_eq!(map.lookup(&key_event("alt-w")), Some(Command::Save));
    assert_eq!(
        map.lookup(&key_event("ctrl-q")),
        Some(Command::Quit),
        "other defaults stay"
    );
}

#[test]
fn a_bad_line_keeps_every_valid_binding_and_each_mistake_is_named_with_its_line() {
    let mut map = Keymap::builtin();
    let file = "[keys]\n\
                \"alt-w\" = \"save\"\n\
                \"ctrl-s\" = \"sav\"\n\
                \"hyper-s\" = \"save\"\n\
                this line is not toml\n\
                \"alt-q\" = \"quit\"\n\
                [colours]\n\
                red = 1\n";
    let problems = map.merge_toml(file, "keymap.toml");
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 4, "{text:#?}");
    assert!(matches!(problems[0], KeymapError::Command { line: 3, .. }));
    assert_eq!(
        text[0],
        "keymap.toml:3: key `ctrl-s` is bound to unknown command `sav` (F1 lists the commands)"
    );
    assert!(
        text[1].starts_with("keymap.toml:4: key `hyper-s`: unknown modifier `hyper`"),
        "{text:#?}"
    );
    assert!(text[2].starts_with("keymap.toml:5: "), "{text:#?}");
    assert!(
        text[3].starts_with("keymap.toml:7: unknown section `colours`"),
        "{text:#?}"
    );
    // The valid bindings before and after the bad lines are used; the bad ones change
    // nothing.
    assert_eq!(map.lookup(&key_event("alt-w")), Some(Command::Save));
    assert_eq!(map.lookup(&key_event("alt-q")), Some(Command::Quit));
    assert_eq!(map.lookup(&key_event("ctrl-s")), Some(Command::Save));
}

#[test]
fn sections_other_than_keys_are_reported() {
    let mut map = Keymap::builtin();
    let problems = map.merge_toml(
        "[keys]\n\"alt-w\" = \"save\"\n[colours]\nred = 1\n",
        "k.toml",
    );
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        ["k.toml:3: unknown section `colours` (bindings go under [keys])"]
    );
}

#[test]
fn the_config_directory_is_read_with_every_problem_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keymap.toml"),
        "[keys]\n\"alt-w\" = \"save\"\n\"ctrl-k\" = \"kut\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("config.toml"), "tab_width = 2\n").unwrap();
    std::fs::write(
        dir.path().join("theme.toml"),
        "[syntax]\ncomment = \"blurple\"\n",
    )
    .unwrap();
    let loaded = duet::config::load_from(Some(dir.path()));
    assert_eq!(
        loaded.keymap.lookup(&key_event("alt-w")),
        Some(Command::Save)
    );
    assert_eq!(loaded.problems.len(), 2, "{:#?}", loaded.problems);
    assert!(
        loaded.problems[0].contains("keymap.toml:3:"),
        "{:?}",
        loaded.problems
    );
    assert!(
        loaded.problems[1].contains("blurple"),
        "{:?}",
        loaded.problems
    );
    let doc = crdt_text::Doc::new(crdt_text::ReplicaId::from(1));
    assert_eq!(loaded.config.settings_for("a.txt", &doc).tab_width, 2);
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
    assert_eq!(map.lookup(&upper_z), Some(Command::Redo));
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
