//! Where duet's user configuration lives, and loading it: `keymap.toml`, `theme.toml` and
//! `config.toml` (settings, see [`crate::settings`]) in the config directory, each on top of
//! the built-in defaults.

use std::path::{Path, PathBuf};

use crate::keymap::Keymap;
use crate::settings::Config;
use crate::theme::Theme;

/// The configuration directory: `$DUET_HOME` if set, else the platform's config directory
/// (e.g. `~/.config/duet`).
pub fn config_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("DUET_HOME") {
        return Some(PathBuf::from(home));
    }
    directories::ProjectDirs::from("", "", "duet").map(|d| d.config_dir().to_path_buf())
}

/// The user's configuration, with what was wrong in it.
#[derive(Debug)]
pub struct Loaded {
    /// Key bindings: the built-in ones, with every valid binding of the user's file.
    pub keymap: Keymap,
    /// Colours.
    pub theme: Theme,
    /// Settings defaults.
    pub config: Config,
    /// Every problem found, one line each, naming the file (and the line where known).
    pub problems: Vec<String>,
}

/// Reads `dir/name`; `None` if it does not exist (a problem is noted if it cannot be read).
fn read(dir: &Path, name: &str, problems: &mut Vec<String>) -> Option<(String, String)> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some((text, path.display().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            problems.push(format!("{}: {e}", path.display()));
            None
        }
    }
}

/// Loads the configuration from `dir` (the built-in defaults where a file is missing or
/// wrong).
pub fn load_from(dir: Option<&Path>) -> Loaded {
    let mut loaded = Loaded {
        keymap: Keymap::builtin(),
        theme: Theme::builtin(),
        config: Config::default(),
        problems: Vec::new(),
    };
    let Some(dir) = dir else {
        return loaded;
    };
    let problems = &mut loaded.problems;
    if let Some((text, path)) = read(dir, "keymap.toml", problems) {
        let found = loaded.keymap.merge_toml(&text, &path);
        problems.extend(found.iter().map(ToString::to_string));
    }
    if let Some((text, path)) = read(dir, "theme.toml", problems)
        && let Err(e) = loaded.theme.merge_toml(&text, &path)
    {
        problems.push(e.to_string());
    }
    if let Some((text, path)) = read(dir, "config.toml", problems) {
        match Config::parse(&text) {
            Ok(config) => loaded.config = config,
            Err(e) => problems.push(format!("{path}: {e}")),
        }
    }
    loaded
}

/// Loads the configuration from [`config_dir`].
pub fn load() -> Loaded {
    load_from(config_dir().as_deref())
}
