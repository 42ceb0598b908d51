//! The settings people change: tab width, tabs or spaces, soft wrap and line numbers.
//!
//! Defaults come from `config.toml` in the config directory (see [`crate::config`]), per
//! file type where it says so; the indentation of the file itself, where it has any, decides
//! tabs or spaces and the width (as editorconfig-less editors such as micro and helix guess
//! it); the View commands toggle them while editing.
//!
//! ```toml
//! tab_width = 4          # columns per tab stop
//! indent = "spaces"      # or "tabs"
//! soft_wrap = true
//! line_numbers = true
//!
//! [filetype.go]          # by file extension (or a whole name such as "makefile")
//! indent = "tabs"
//! ```

use std::collections::BTreeMap;

use crdt_text::Doc;
use serde::Deserialize;

/// How the Tab key indents.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Indent {
    /// A tab character.
    Tabs,
    /// Spaces to the next tab stop.
    Spaces,
}

/// The settings of one open document.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Settings {
    /// Columns between tab stops (1–16).
    pub tab_width: usize,
    /// What Tab inserts.
    pub indent: Indent,
    /// Long lines wrap onto the next rows; off, the view scrolls sideways.
    pub soft_wrap: bool,
    /// The line-number gutter.
    pub line_numbers: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            tab_width: 4,
            indent: Indent::Spaces,
            soft_wrap: true,
            line_numbers: true,
        }
    }
}

/// Tab widths the View command cycles through.
pub const TAB_WIDTHS: [usize; 3] = [2, 4, 8];

/// Settings given in a file: every field optional, so a file or a file type section only
/// names what it changes.
#[derive(Clone, Default, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    tab_width: Option<usize>,
    indent: Option<Indent>,
    soft_wrap: Option<bool>,
    line_numbers: Option<bool>,
}

impl Overrides {
    fn apply(&self, s: &mut Settings) {
        if let Some(w) = self.tab_width {
            s.tab_width = w.clamp(1, 16);
        }
        if let Some(i) = self.indent {
            s.indent = i;
        }
        if let Some(w) = self.soft_wrap {
            s.soft_wrap = w;
        }
        if let Some(n) = self.line_numbers {
            s.line_numbers = n;
        }
    }
}

/// The contents of `config.toml`.
#[derive(Clone, Default, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    tab_width: Option<usize>,
    indent: Option<Indent>,
    soft_wrap: Option<bool>,
    line_numbers: Option<bool>,
    #[serde(default)]
    filetype: BTreeMap<String, Overrides>,
}

/// Built-in per-type defaults, applied before `config.toml`: languages whose convention is
/// tabs, or narrow indentation.
fn builtin(kind: &str) -> Overrides {
    let tabs = Overrides {
        indent: Some(Indent::Tabs),
        ..Overrides::default()
    };
    let two = Overrides {
        tab_width: Some(2),
        ..Overrides::default()
    };
    match kind {
        "go" | "makefile" | "mk" => tabs,
        "yaml" | "yml" | "json" | "html" | "css" | "js" | "ts" | "jsx" | "tsx" => two,
        _ => Overrides::default(),
    }
}

/// The file type of a file name as `config.toml` names it: its extension, else its whole
/// name (lower case): `main.go` → `go`, `Makefile` → `makefile`.
pub fn file_type(file_name: &str) -> String {
    let lower = file_name.to_lowercase();
    match lower.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_owned(),
        _ => lower,
    }
}

impl Config {
    /// Parses `config.toml`.
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }

    /// The settings for a file: built-in defaults, the file's type, `config.toml`, then what
    /// the text's own indentation shows.
    pub fn settings_for(&self, file_name: &str, doc: &Doc) -> Settings {
        let kind = file_type(file_name);
        let mut s = Settings::default();
        builtin(&kind).apply(&mut s);
        let all = Overrides {
            tab_width: self.tab_width,
            indent: self.indent,
            soft_wrap: self.soft_wrap,
            line_numbers: self.line_numbers,
        };
        all.apply(&mut s);
        if let Some(o) = self.filetype.get(&kind) {
            o.apply(&mut s);
        }
        if let Some((indent, width)) = detect(doc) {
            s.indent = indent;
            if let Some(w) = width {
                s.tab_width = w;
            }
        }
        s
    }
}

/// Lines looked at to guess the indentation.
const DETECT_LINES: usize = 2000;

/// The indentation a document uses, judged by its first lines: tabs or spaces, whichever
/// starts more lines, and for spaces the most common step between the indentation of
/// consecutive lines (2, 4 or 8). `None` when no line is indented.
pub fn detect(doc: &Doc) -> Option<(Indent, Option<usize>)> {
    let lines = doc.line_count().min(DETECT_LINES);
    let end = doc.line_to_char(lines);
    let text = doc.slice(0..end);
    let (mut tabs, mut spaces) = (0usize, 0usize);
    let mut steps = [0usize; 9];
    let mut previous = 0usize;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let width = line.len() - line.trim_start_matches(' ').len();
        if line.starts_with('\t') {
            tabs += 1;
        } else if width > 0 {
            spaces += 1;
        }
        if !line.starts_with('\t') {
            let step = width.abs_diff(previous);
            if (2..=8).contains(&step) {
                steps[step] += 1;
            }
            previous = width;
        }
    }
    if tabs == 0 && spaces == 0 {
        return None;
    }
    if tabs > spaces {
        return Some((Indent::Tabs, None));
    }
    let width = [2, 4, 8]
        .into_iter()
        .filter(|&w| steps[w] > 0)
        .max_by_key(|&w| (steps[w], w));
    Some((Indent::Spaces, width))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Doc {
        let mut d = Doc::new(crdt_text::ReplicaId::from(1));
        let _ = d.insert(0, text);
        d
    }

    #[test]
    fn indentation_is_detected() {
        assert_eq!(detect(&doc("a\n\tb\n\t\tc\n")), Some((Indent::Tabs, None)));
        assert_eq!(
            detect(&doc("a:\n  b:\n    c\n  d\n")),
            Some((Indent::Spaces, Some(2)))
        );
        assert_eq!(
            detect(&doc("fn a() {\n    x\n    y\n}\n")),
            Some((Indent::Spaces, Some(4)))
        );
        assert_eq!(detect(&doc("no indent\nat all\n")), None);
    }

    #[test]
    fn config_file_type_and_file_each_have_a_say() {
        let config = Config::parse(
            "tab_width = 3\nsoft_wrap = false\n[filetype.md]\nline_numbers = false\n",
        )
        .unwrap();
        let s = config.settings_for("notes.md", &doc("plain\n"));
        assert_eq!(
            (s.tab_width, s.soft_wrap, s.line_numbers),
            (3, false, false)
        );
        let go = config.settings_for("main.go", &doc("x\n"));
        assert_eq!(go.indent, Indent::Tabs, "built-in: Go indents with tabs");
        let yaml = config.settings_for("a.yaml", &doc("a:\n    b: 1\n"));
        assert_eq!(
            (yaml.indent, yaml.tab_width),
            (Indent::Spaces, 4),
            "the file's own indentation wins"
        );
        assert!(Config::parse("tab_widht = 2\n").is_err());
        assert_eq!(file_type("Makefile"), "makefile");
        assert_eq!(file_type(".bashrc"), ".bashrc");
    }
}
