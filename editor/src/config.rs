//! Where duet's user configuration lives, and loading the keymap and theme overrides.

use std::path::PathBuf;

use crate::keymap::Keymap;
use crate::theme::Theme;

/// The configuration directory: `$DUET_HOME` if set, else the platform's config directory
/// (e.g. `~/.config/duet`).
pub fn config_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("DUET_HOME") {
        return Some(PathBuf::from(home));
    }
    directories::ProjectDirs::from("", "", "duet").map(|d| d.config_dir().to_path_buf())
}

/// The keymap and theme: the built-in ones plus the user's overrides. Problems with the
/// user's files are returned as messages to show; the built-in values are used instead.
pub fn load() -> (Keymap, Theme, Vec<String>) {
    let mut keymap = Keymap::builtin();
    let mut theme = Theme::builtin();
    let mut problems = Vec::new();
    if let Some(dir) = config_dir() {
        let path = dir.join("keymap.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                if let Err(e) = keymap.merge_toml(&text, &path.display().to_string()) {
                    problems.push(e.to_string());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
        let path = dir.join("theme.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                if let Err(e) = theme.merge_toml(&text, &path.display().to_string()) {
                    problems.push(e.to_string());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    (keymap, theme, problems)
}
