//! Colours, from `assets/theme.toml` plus the user's override file.

use std::collections::BTreeMap;
use std::str::FromStr;

use ratatui::style::{Color, Modifier};
use serde::Deserialize;

/// The default theme, embedded from `assets/theme.toml`.
pub const DEFAULT_THEME: &str = include_str!("../../assets/theme.toml");

/// Every colour the view uses.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Theme {
    /// Text foreground.
    pub text_fg: Color,
    /// Text background.
    pub text_bg: Color,
    /// Line numbers.
    pub gutter_fg: Color,
    /// The cursor line's number.
    pub gutter_current_fg: Color,
    /// This user's selection.
    pub selection_bg: Color,
    /// Text on the selection, on other peers' selections and on search matches (over syntax
    /// colours, so it stays readable).
    pub selection_fg: Color,
    /// Status line text.
    pub status_fg: Color,
    /// Status line background.
    pub status_bg: Color,
    /// Status line background while offline.
    pub status_offline_bg: Color,
    /// The unsaved-changes mark.
    pub status_dirty_fg: Color,
    /// Prompt text.
    pub prompt_fg: Color,
    /// Prompt text when the search found nothing.
    pub prompt_fail_fg: Color,
    /// Search matches on screen.
    pub match_bg: Color,
    /// The current search match.
    pub match_current_bg: Color,
    /// Text on the current search match.
    pub match_current_fg: Color,
    /// Popup borders.
    pub popup_border: Color,
    /// Popup titles.
    pub popup_title: Color,
    /// Informational messages.
    pub message_info: Color,
    /// Warnings.
    pub message_warn: Color,
    /// Errors.
    pub message_error: Color,
    /// Control characters shown as a replacement mark.
    pub control_fg: Color,
    /// The characters of a path the file picker's query matched (also bold).
    pub picker_match_fg: Color,
    /// Colours for peers who did not choose one.
    pub palette: Vec<Color>,
    /// Text on the history colours (blame, history marks, changes while away): they are
    /// light backgrounds with dark text, readable on dark and light terminals alike.
    pub history_fg: Color,
    /// Text the shown edit of the history view inserted.
    pub history_inserted_bg: Color,
    /// Text the shown edit of the history view deleted (also struck through).
    pub history_deleted_bg: Color,
    /// Changes others made while this user was away, until visited.
    pub away_bg: Color,
    /// Authors' colours in the blame view (by a hash of the name, as the peers').
    pub blame_palette: Vec<Color>,
    /// Syntax colours, by scope selector (see [`crate::highlight`]).
    pub syntax: Vec<SyntaxRule>,
}

/// How one kind of syntax is drawn: `"string" = "green"`, `"markup.heading" = "blue bold"`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SyntaxRule {
    /// A scope selector (TextMate/Sublime style): `comment`, `entity.name.function`, …
    pub scope: String,
    /// The text colour (`None`: the terminal's).
    pub fg: Option<Color>,
    /// Bold, italic, underlined.
    pub modifiers: Modifier,
}

/// Parses `colour [bold] [italic] [underlined]` (any order; the colour may be left out).
fn parse_syntax_style(value: &str) -> Option<(Option<Color>, Modifier)> {
    let mut fg = None;
    let mut modifiers = Modifier::empty();
    for word in value.split_whitespace() {
        match word {
            "bold" => modifiers |= Modifier::BOLD,
            "italic" => modifiers |= Modifier::ITALIC,
            "underlined" | "underline" => modifiers |= Modifier::UNDERLINED,
            colour if fg.is_none() => fg = Some(parse_color(colour)?),
            _ => return None,
        }
    }
    Some((fg.filter(|c| *c != Color::Reset), modifiers))
}

/// A theme file could not be used.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ThemeError {
    /// Not valid TOML, or not of the expected shape.
    #[error("{source_name}: {message}")]
    Syntax {
        /// Which file.
        source_name: String,
        /// The parser's message.
        message: String,
    },
    /// An entry that is not a colour the theme has.
    #[error("{source_name}: unknown entry `{key}`")]
    Unknown {
        /// Which file.
        source_name: String,
        /// The entry.
        key: String,
    },
    /// A syntax entry whose scope selector does not parse.
    #[error("{source_name}: `[syntax]` entry `{key}` is not a scope selector")]
    Scope {
        /// Which file.
        source_name: String,
        /// The entry.
        key: String,
    },
    /// A value that is not a colour.
    #[error("{source_name}: `{key}` = `{value}` is not a colour (a name, 0-255 or #rrggbb)")]
    Color {
        /// Which file.
        source_name: String,
        /// The entry.
        key: String,
        /// The value.
        value: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    ui: BTreeMap<String, String>,
    #[serde(default)]
    peers: Option<PaletteFile>,
    #[serde(default)]
    blame: Option<PaletteFile>,
    #[serde(default)]
    syntax: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaletteFile {
    palette: Vec<String>,
}

impl Theme {
    /// The built-in theme.
    pub fn builtin() -> Theme {
        let mut theme = Theme {
            text_fg: Color::Reset,
            text_bg: Color::Reset,
            gutter_fg: Color::Reset,
            gutter_current_fg: Color::Reset,
            selection_bg: Color::Reset,
            selection_fg: Color::Reset,
            status_fg: Color::Reset,
            status_bg: Color::Reset,
            status_offline_bg: Color::Reset,
            status_dirty_fg: Color::Reset,
            prompt_fg: Color::Reset,
            prompt_fail_fg: Color::Reset,
            match_bg: Color::Reset,
            match_current_bg: Color::Reset,
            match_current_fg: Color::Reset,
            popup_border: Color::Reset,
            popup_title: Color::Reset,
            message_info: Color::Reset,
            message_warn: Color::Reset,
            message_error: Color::Reset,
            control_fg: Color::Reset,
            picker_match_fg: Color::Reset,
            palette: Vec::new(),
            history_fg: Color::Reset,
            history_inserted_bg: Color::Reset,
            history_deleted_bg: Color::Reset,
            away_bg: Color::Reset,
            blame_palette: Vec::new(),
            syntax: Vec::new(),
        };
        theme
            .merge_toml(DEFAULT_THEME, "assets/theme.toml")
            .expect("the built-in theme is valid (checked by a test)");
        theme
    }

    fn slot(&mut self, key: &str) -> Option<&mut Color> {
        Some(match key {
            "text_fg" => &mut self.text_fg,
            "text_bg" => &mut self.text_bg,
            "gutter_fg" => &mut self.gutter_fg,
            "gutter_current_fg" => &mut self.gutter_current_fg,
            "selection_bg" => &mut self.selection_bg,
            "selection_fg" => &mut self.selection_fg,
            "status_fg" => &mut self.status_fg,
            "status_bg" => &mut self.status_bg,
            "status_offline_bg" => &mut self.status_offline_bg,
            "status_dirty_fg" => &mut self.status_dirty_fg,
            "prompt_fg" => &mut self.prompt_fg,
            "prompt_fail_fg" => &mut self.prompt_fail_fg,
            "match_bg" => &mut self.match_bg,
            "match_current_bg" => &mut self.match_current_bg,
            "match_current_fg" => &mut self.match_current_fg,
            "popup_border" => &mut self.popup_border,
            "popup_title" => &mut self.popup_title,
            "message_info" => &mut self.message_info,
            "message_warn" => &mut self.message_warn,
            "message_error" => &mut self.message_error,
            "control_fg" => &mut self.control_fg,
            "picker_match_fg" => &mut self.picker_match_fg,
            "history_fg" => &mut self.history_fg,
            "history_inserted_bg" => &mut self.history_inserted_bg,
            "history_deleted_bg" => &mut self.history_deleted_bg,
            "away_bg" => &mut self.away_bg,
            _ => return None,
        })
    }

    /// Applies a theme file on top of this theme. On error nothing is changed.
    pub fn merge_toml(&mut self, text: &str, source_name: &str) -> Result<(), ThemeError> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| ThemeError::Syntax {
            source_name: source_name.into(),
            message: e.message().to_owned(),
        })?;
        let mut next = self.clone();
        let bad = |key: &str, value: &str| ThemeError::Color {
            source_name: source_name.into(),
            key: key.into(),
            value: value.into(),
        };
        for (key, value) in &file.ui {
            let color = parse_color(value).ok_or_else(|| bad(key, value))?;
            let slot = next.slot(key).ok_or_else(|| ThemeError::Unknown {
                source_name: source_name.into(),
                key: key.clone(),
            })?;
            *slot = color;
        }
        if let Some(peers) = file.peers {
            next.palette = peers
                .palette
                .iter()
                .map(|v| parse_color(v).ok_or_else(|| bad("peers.palette", v)))
                .collect::<Result<_, _>>()?;
        }
        if let Some(blame) = file.blame {
            next.blame_palette = blame
                .palette
                .iter()
                .map(|v| parse_color(v).ok_or_else(|| bad("blame.palette", v)))
                .collect::<Result<_, _>>()?;
        }
        for (scope, value) in &file.syntax {
            if syntect::highlighting::ScopeSelectors::from_str(scope).is_err() {
                return Err(ThemeError::Scope {
                    source_name: source_name.into(),
                    key: scope.clone(),
                });
            }
            let (fg, modifiers) = parse_syntax_style(value).ok_or_else(|| bad(scope, value))?;
            let rule = SyntaxRule {
                scope: scope.clone(),
                fg,
                modifiers,
            };
            match next.syntax.iter_mut().find(|r| r.scope == *scope) {
                Some(existing) => *existing = rule,
                None => next.syntax.push(rule),
            }
        }
        *self = next;
        Ok(())
    }

    /// The palette colour for a name (stable: everybody computes the same one).
    pub fn color_for(&self, name: &str) -> Color {
        pick(&self.palette, name).unwrap_or(Color::Magenta)
    }

    /// An author's colour in the blame view (stable, as [`Theme::color_for`]).
    pub fn blame_color_for(&self, name: &str) -> Color {
        pick(&self.blame_palette, name).unwrap_or(Color::Gray)
    }
}

/// The colour of `palette` a name hashes to.
fn pick(palette: &[Color], name: &str) -> Option<Color> {
    // FNV-1a: a stable hash (std's hasher may change between releases).
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (!palette.is_empty()).then(|| palette[(hash % palette.len() as u64) as usize])
}

/// Parses a colour name, palette index or `#rrggbb`.
pub fn parse_color(value: &str) -> Option<Color> {
    Color::from_str(value.trim()).ok()
}

/// A colour as `0xRRGGBB` for the wire (named colours map to common terminal values).
pub fn color_to_rgb(color: Color) -> u32 {
    let (r, g, b) = match color {
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Black => (0, 0, 0),
        Color::Red => (205, 49, 49),
        Color::Green => (13, 188, 121),
        Color::Yellow => (229, 229, 16),
        Color::Blue => (36, 114, 200),
        Color::Magenta => (188, 63, 188),
        Color::Cyan => (17, 168, 205),
        Color::Gray => (204, 204, 204),
        Color::DarkGray => (118, 118, 118),
        Color::LightRed => (241, 76, 76),
        Color::LightGreen => (35, 209, 139),
        Color::LightYellow => (245, 245, 67),
        Color::LightBlue => (59, 142, 234),
        Color::LightMagenta => (214, 112, 214),
        Color::LightCyan => (41, 184, 219),
        Color::White => (229, 229, 229),
        Color::Reset | Color::Indexed(_) => (198, 120, 221),
    };
    (u32::from(r) << 16) | (u32::from(g) << 8) | u32::from(b)
}

/// A `0xRRGGBB` colour from the wire.
pub fn rgb_to_color(rgb: u32) -> Color {
    Color::Rgb((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8)
}
