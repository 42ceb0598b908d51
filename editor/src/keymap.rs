//! Key bindings: which key runs which command.
//!
//! The defaults are data (`assets/keymap.toml`, embedded in the binary); a user file of the
//! same form in the config directory overrides single bindings. Keys are written like
//! `ctrl-s`, `shift-f3`, `ctrl-shift-z`, `alt-backspace`, `pagedown`; a binding to `"none"`
//! removes a default. Command names are parsed into [`Command`]s once, when the file is
//! loaded: a typo is reported with its file and line (and only that binding is left out),
//! never a silently dead key.

use std::collections::HashMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::commands::Command;

/// The default keymap, embedded from `assets/keymap.toml`.
pub const DEFAULT_KEYMAP: &str = include_str!("../../assets/keymap.toml");

/// A key with its modifiers, normalized so that a binding matches however the terminal
/// reports it (letters lower-case with `shift` as a modifier; shifted symbols without it).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl, Alt and Shift.
    pub mods: KeyModifiers,
}

impl Key {
    /// Normalizes a key event from the terminal.
    pub fn from_event(event: &KeyEvent) -> Key {
        let mut mods =
            event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match event.code {
            KeyCode::Char(c) if c.is_uppercase() => {
                mods |= KeyModifiers::SHIFT;
                KeyCode::Char(c.to_lowercase().next().unwrap_or(c))
            }
            KeyCode::Char(c) if !c.is_alphabetic() => {
                mods -= KeyModifiers::SHIFT;
                KeyCode::Char(c)
            }
            KeyCode::BackTab => {
                mods |= KeyModifiers::SHIFT;
                KeyCode::Tab
            }
            other => other,
        };
        Key { code, mods }
    }
}

/// Why a key could not be parsed.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum KeyParseError {
    /// Nothing after the modifiers.
    #[error("empty key")]
    Empty,
    /// A modifier that is not ctrl, alt or shift.
    #[error("unknown modifier `{0}` (use ctrl, alt or shift)")]
    Modifier(String),
    /// A key name that is not known.
    #[error("unknown key `{0}`")]
    Name(String),
}

const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("tab", KeyCode::Tab),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("esc", KeyCode::Esc),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("space", KeyCode::Char(' ')),
    ("minus", KeyCode::Char('-')),
];

impl std::str::FromStr for Key {
    type Err = KeyParseError;

    fn from_str(s: &str) -> Result<Key, KeyParseError> {
        let s = s.trim().to_lowercase();
        // The key name is the last `-`-separated part, except for a bare `-` key.
        let (mod_part, name) = match s.rsplit_once('-') {
            Some((m, "")) => (m.strip_suffix('-').unwrap_or(""), "-"),
            Some((m, n)) => (m, n),
            None => ("", s.as_str()),
        };
        let mut mods = KeyModifiers::NONE;
        for m in mod_part.split('-').filter(|m| !m.is_empty()) {
            mods |= match m {
                "ctrl" | "c" => KeyModifiers::CONTROL,
                "alt" | "a" | "meta" => KeyModifiers::ALT,
                "shift" | "s" => KeyModifiers::SHIFT,
                other => return Err(KeyParseError::Modifier(other.into())),
            };
        }
        if name.is_empty() {
            return Err(KeyParseError::Empty);
        }
        let code = if let Some((_, code)) = NAMED.iter().find(|(n, _)| *n == name) {
            *code
        } else if let Some(n) = name.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
            KeyCode::F(n)
        } else {
            let mut chars = name.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => KeyCode::Char(c),
                _ => return Err(KeyParseError::Name(name.into())),
            }
        };
        Ok(Key::from_event(&KeyEvent::new(code, mods)))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (m, name) in [
            (KeyModifiers::CONTROL, "Ctrl-"),
            (KeyModifiers::ALT, "Alt-"),
            (KeyModifiers::SHIFT, "Shift-"),
        ] {
            if self.mods.contains(m) {
                f.write_str(name)?;
            }
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{}", c.to_uppercase()),
            KeyCode::F(n) => write!(f, "F{n}"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// A problem with one binding, or with the whole file.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum KeymapError {
    /// A line that is not valid TOML (it is skipped; the rest of the file is read).
    #[error("{source_name}:{line}: {message}")]
    Syntax {
        /// Which file.
        source_name: String,
        /// The line (1-based).
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A section other than `[keys]`.
    #[error("{source_name}:{line}: unknown section `{name}` (bindings go under [keys])")]
    Section {
        /// Which file.
        source_name: String,
        /// The line.
        line: usize,
        /// The section.
        name: String,
    },
    /// A key that cannot be parsed.
    #[error("{source_name}:{line}: key `{key}`: {error}")]
    Key {
        /// Which file.
        source_name: String,
        /// The line.
        line: usize,
        /// The key as written.
        key: String,
        /// What is wrong with it.
        error: KeyParseError,
    },
    /// A binding to a command that does not exist (or to something other than a name).
    #[error(
        "{source_name}:{line}: key `{key}` is bound to unknown command `{command}` \
         (F1 lists the commands)"
    )]
    Command {
        /// Which file.
        source_name: String,
        /// The line.
        line: usize,
        /// The key as written.
        key: String,
        /// The unknown command name.
        command: String,
    },
}

/// Key → command.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Keymap {
    bindings: HashMap<Key, Command>,
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Keymap {
    /// The built-in keymap.
    pub fn builtin() -> Keymap {
        let mut map = Keymap::default();
        let problems = map.merge_toml(DEFAULT_KEYMAP, "assets/keymap.toml");
        debug_assert!(
            problems.is_empty(),
            "the built-in keymap is valid: {problems:?}"
        );
        map
    }

    /// Applies the bindings of a keymap file on top of the current ones: every valid binding
    /// is used, and every invalid one — or line that is not TOML — is returned with its line
    /// number and left out.
    pub fn merge_toml(&mut self, text: &str, source_name: &str) -> Vec<KeymapError> {
        // The TOML parser stops at the first error: blank out each line it cannot read (so
        // line numbers stay) and read the rest again.
        let mut lines: Vec<&str> = text.split('\n').collect();
        let mut problems = Vec::new();
        let clean = loop {
            let clean = lines.join("\n");
            let Some(error) = toml::de::DeTable::parse(&clean).err() else {
                break clean;
            };
            let line = line_of(&clean, error.span().map_or(0, |s| s.start));
            problems.push(KeymapError::Syntax {
                source_name: source_name.into(),
                line,
                message: error.message().to_owned(),
            });
            match lines.get_mut(line - 1) {
                Some(l) if !l.is_empty() => *l = "",
                // Nothing left to blank out: give up on the file.
                _ => return problems,
            }
        };
        let Ok(file) = toml::de::DeTable::parse(&clean) else {
            return problems;
        };
        let text = clean.as_str();
        for (section, value) in file.get_ref() {
            let line = line_of(text, section.span().start);
            let Some(keys) = value
                .get_ref()
                .as_table()
                .filter(|_| section.get_ref() == "keys")
            else {
                problems.push(KeymapError::Section {
                    source_name: source_name.into(),
                    line,
                    name: section.get_ref().to_string(),
                });
                continue;
            };
            for (key_text, command) in keys {
                let line = line_of(text, key_text.span().start);
                let key_text = key_text.get_ref().to_string();
                let key: Key = match key_text.parse() {
                    Ok(key) => key,
                    Err(error) => {
                        problems.push(KeymapError::Key {
                            source_name: source_name.into(),
                            line,
                            key: key_text,
                            error,
                        });
                        continue;
                    }
                };
                let name = command.get_ref().as_str().unwrap_or("");
                if name == "none" {
                    self.bindings.remove(&key);
                    continue;
                }
                match Command::from_name(name) {
                    Some(command) => {
                        self.bindings.insert(key, command);
                    }
                    None => problems.push(KeymapError::Command {
                        source_name: source_name.into(),
                        line,
                        key: key_text,
                        command: name.to_owned(),
                    }),
                }
            }
        }
        problems.sort_by_key(|p| match p {
            KeymapError::Syntax { line, .. }
            | KeymapError::Section { line, .. }
            | KeymapError::Key { line, .. }
            | KeymapError::Command { line, .. } => *line,
        });
        problems
    }

    /// The command bound to a key press, if any.
    pub fn lookup(&self, event: &KeyEvent) -> Option<Command> {
        self.bindings.get(&Key::from_event(event)).copied()
    }

    /// The keys bound to `command`, in a stable order (fewest modifiers first).
    pub fn keys_for(&self, command: Command) -> Vec<Key> {
        let mut keys: Vec<Key> = self
            .bindings
            .iter()
            .filter(|(_, c)| **c == command)
            .map(|(k, _)| *k)
            .collect();
        keys.sort_by_key(|k| (k.mods.bits().count_ones(), k.mods.bits(), k.to_string()));
        keys
    }
}
