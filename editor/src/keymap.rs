//! Key bindings: which key runs which command.
//!
//! The defaults are data (`assets/keymap.toml`, embedded in the binary); a user file of the
//! same form in the config directory overrides single bindings. Keys are written like
//! `ctrl-s`, `shift-f3`, `ctrl-shift-z`, `alt-backspace`, `pagedown`; a binding to `"none"`
//! removes a default. Every command name is checked against the registry, so a typo is an
//! error that names the file and the key, not a silently dead key.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use crate::commands;

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

/// A keymap file could not be used.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum KeymapError {
    /// Not valid TOML, or not of the expected shape.
    #[error("{source_name}: {message}")]
    Syntax {
        /// Which file.
        source_name: String,
        /// The parser's message.
        message: String,
    },
    /// A key that cannot be parsed.
    #[error("{source_name}: key `{key}`: {error}")]
    Key {
        /// Which file.
        source_name: String,
        /// The key as written.
        key: String,
        /// What is wrong with it.
        error: KeyParseError,
    },
    /// A binding to a command that does not exist.
    #[error(
        "{source_name}: key `{key}` is bound to unknown command `{command}` (F1 lists the commands)"
    )]
    Command {
        /// Which file.
        source_name: String,
        /// The key as written.
        key: String,
        /// The unknown command name.
        command: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    #[serde(default)]
    keys: BTreeMap<String, String>,
}

/// Key → command name.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Keymap {
    bindings: HashMap<Key, &'static str>,
}

impl Keymap {
    /// The built-in keymap.
    pub fn builtin() -> Keymap {
        let mut map = Keymap::default();
        map.merge_toml(DEFAULT_KEYMAP, "assets/keymap.toml")
            .expect("the built-in keymap is valid (checked by a test)");
        map
    }

    /// Applies the bindings of a keymap file on top of the current ones. On error nothing
    /// is changed.
    pub fn merge_toml(&mut self, text: &str, source_name: &str) -> Result<(), KeymapError> {
        let file: KeymapFile = toml::from_str(text).map_err(|e| KeymapError::Syntax {
            source_name: source_name.into(),
            message: e.message().to_owned(),
        })?;
        let mut next = self.bindings.clone();
        for (key_text, command) in file.keys {
            let key: Key = key_text.parse().map_err(|error| KeymapError::Key {
                source_name: source_name.into(),
                key: key_text.clone(),
                error,
            })?;
            if command == "none" {
                next.remove(&key);
                continue;
            }
            let Some(cmd) = commands::find(&command) else {
                return Err(KeymapError::Command {
                    source_name: source_name.into(),
                    key: key_text,
                    command,
                });
            };
            next.insert(key, cmd.name);
        }
        self.bindings = next;
        Ok(())
    }

    /// The command bound to a key press, if any.
    pub fn lookup(&self, event: &KeyEvent) -> Option<&'static str> {
        self.bindings.get(&Key::from_event(event)).copied()
    }

    /// The keys bound to `command`, in a stable order (fewest modifiers first).
    pub fn keys_for(&self, command: &str) -> Vec<Key> {
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
