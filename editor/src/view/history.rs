//! The history view: a title naming the session or edit in focus (who, when, how much),
//! the text as it was just after it with its changes marked (inserted on green, deleted on
//! red and struck through), and the keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use unicode_width::UnicodeWidthChar;

use crate::blame::{name_of, when};
use crate::model::Model;
use crate::past::HistoryView;

/// The title: which session (and edit) is shown, by whom, when, and what it changed.
pub fn title(model: &Model, view: &HistoryView) -> String {
    let s = view.session();
    let who = name_of(&model.doc, s.who);
    let (ins, del) = view.counts();
    let span = if s.start == s.end || s.start == 0 {
        when(s.end)
    } else {
        format!("{} – {}", when(s.start), when(s.end))
    };
    let mut out = format!(
        " History: session {} of {} · {who} · {span}",
        s.number,
        view.sessions.len()
    );
    match view.edit() {
        Some((e, k, n)) => out.push_str(&format!(
            " │ edit {} of {n}, {} · +{ins} −{del}",
            k + 1,
            when(e.time)
        )),
        None => out.push_str(&format!(" · +{ins} −{del}")),
    }
    out
}

/// Keys, on the last row.
const KEYS: &str =
    " ←→ edit · PgUp/PgDn session · ↑↓ scroll · Enter restore this version · Esc close";

/// Draws the history view over `area`.
pub fn render_history(model: &Model, view: &HistoryView, area: Rect, buf: &mut Buffer) {
    let theme = &model.theme;
    let base = Style::default().fg(theme.text_fg).bg(theme.text_bg);
    buf.set_style(area, base);
    let bar = Style::default().fg(theme.status_fg).bg(theme.status_bg);
    let top_bar = Rect { height: 1, ..area };
    buf.set_style(top_bar, bar);
    buf.set_stringn(
        area.x,
        area.y,
        title(model, view),
        usize::from(area.width),
        bar.add_modifier(Modifier::BOLD),
    );
    let bottom = area.bottom() - 1;
    buf.set_style(
        Rect {
            y: bottom,
            height: 1,
            ..area
        },
        bar,
    );
    buf.set_stringn(area.x, bottom, KEYS, usize::from(area.width), bar);
    let inserted = Style::default()
        .fg(theme.history_fg)
        .bg(theme.history_inserted_bg);
    let deleted = Style::default()
        .fg(theme.history_fg)
        .bg(theme.history_deleted_bg)
        .add_modifier(Modifier::CROSSED_OUT);
    let text = &view.past.text;
    let marks = &view.past.marks;
    let tab = model.settings.tab_width.max(1);
    let width = usize::from(area.width);
    for (row, y) in (area.y + 1..bottom).enumerate() {
        let Some(&(byte, first)) = view.lines.get(view.top + row) else {
            break;
        };
        let mut m = marks.partition_point(|(r, _)| r.end <= first);
        let mut col = 0;
        for (k, ch) in text[byte..].chars().enumerate() {
            if ch == '\n' {
                break;
            }
            let pos = first + k;
            while marks.get(m).is_some_and(|(r, _)| r.end <= pos) {
                m += 1;
            }
            let style = match marks.get(m) {
                Some((r, mark)) if r.contains(&pos) => match mark {
                    crdt_text::Mark::Inserted => inserted,
                    crdt_text::Mark::Deleted => deleted,
                },
                _ => base,
            };
            let (shown, w) = match ch {
                '\t' => (" ".repeat(tab - col % tab), tab - col % tab),
                c if c.is_control() => ("�".to_owned(), 1),
                c => (c.to_string(), c.width().unwrap_or(0)),
            };
            if col + w > width {
                break;
            }
            buf.set_stringn(area.x + col as u16, y, &shown, w, style);
            col += w;
        }
    }
}
