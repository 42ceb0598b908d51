//! The text area: line numbers, soft-wrapped text, this user's selection, and the other
//! peers' cursors, selections and names.

use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};

use crate::layout::Look;
use crate::model::Model;

/// A remote peer's cursor as drawn.
struct Remote<'a> {
    name: &'a str,
    color: Color,
    head: usize,
    sel: Range<usize>,
}

/// A dimmed version of a colour, for selection backgrounds.
fn dim(color: Color) -> Color {
    match color {
        Color::Rgb(r, g, b) => Color::Rgb(r / 3, g / 3, b / 3),
        other => other,
    }
}

/// Draws the visible part of the document; returns the screen position of this user's cursor
/// if it is visible.
pub fn render_text(model: &Model, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let theme = &model.theme;
    let base = Style::default().fg(theme.text_fg).bg(theme.text_bg);
    buf.set_style(area, base);
    let doc = &model.doc;
    let gutter = model.gutter_width() as u16;
    let width = model.text_width();
    let cursor = model.cursor();
    let sel = model.selection_range();
    let remotes: Vec<Remote<'_>> = model
        .peers
        .values()
        .filter(|p| p.here)
        .filter_map(|p| {
            let s = p.selection?;
            let (a, b) = (doc.resolve(&s.tail), doc.resolve(&s.head));
            Some(Remote {
                name: &p.name,
                color: p.color,
                head: b,
                sel: a.min(b)..a.max(b),
            })
        })
        .collect();
    let cursor_line = doc.char_to_line(cursor);
    let (mut line, mut row) = model.top();
    let mut screen_cursor = None;
    let mut y = area.y;
    while y < area.bottom() {
        if line >= doc.line_count() {
            buf.set_string(
                area.x,
                y,
                format!("{:>w$} ", "~", w = usize::from(gutter) - 1),
                Style::default().fg(theme.gutter_fg),
            );
            y += 1;
            continue;
        }
        let start = doc.line_to_char(line);
        let laid = model.layout(line);
        let content = laid.text.as_str();
        let layout = &laid.layout;
        let end = start + layout.chars;
        let has_break = line + 1 < doc.line_count();
        while row < layout.rows && y < area.bottom() {
            let number_style = if line == cursor_line {
                Style::default()
                    .fg(theme.gutter_current_fg)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default().fg(theme.gutter_fg)
            };
            let number = if row == 0 {
                (line + 1).to_string()
            } else {
                String::new()
            };
            buf.set_stringn(
                area.x,
                y,
                format!("{number:>w$} ", w = usize::from(gutter) - 1),
                usize::from(gutter),
                number_style,
            );
            let x0 = area.x + gutter;
            let mut row_end_col = 0;
            for g in layout.row_glyphs(row) {
                let pos = start + g.start;
                let mut style = base;
                for r in &remotes {
                    if r.sel.contains(&pos) {
                        style = style.bg(dim(r.color));
                    }
                }
                if sel.contains(&pos) {
                    style = style.bg(theme.selection_bg);
                }
                for r in &remotes {
                    if r.head == pos {
                        style = style.bg(r.color).fg(Color::Black);
                    }
                }
                let x = x0 + g.col as u16;
                match g.look {
                    Look::Text => {
                        buf.set_stringn(x, y, &content[g.bytes.0..g.bytes.1], g.width, style);
                    }
                    Look::Blank => {
                        buf.set_stringn(x, y, " ".repeat(g.width), g.width, style);
                    }
                    Look::Control => {
                        buf.set_stringn(x, y, "�", 1, style.fg(theme.control_fg));
                    }
                }
                if pos == cursor {
                    screen_cursor = Some(Position { x, y });
                }
                row_end_col = g.col + g.width;
            }
            let is_last_row = row + 1 == layout.rows;
            // The position at the end of the line is drawn on its last row.
            let end_col = if is_last_row {
                layout.position_of(layout.chars, width).1
            } else {
                row_end_col
            };
            if is_last_row {
                let x = x0 + end_col as u16;
                if cursor == end {
                    screen_cursor = Some(Position { x, y });
                }
                if x < area.right() {
                    // A selected line break shows as one highlighted cell.
                    let mut style = None;
                    if has_break && sel.contains(&end) {
                        style = Some(base.bg(theme.selection_bg));
                    }
                    for r in &remotes {
                        if r.head == end {
                            style = Some(base.bg(r.color));
                        }
                    }
                    if let Some(style) = style {
                        buf.set_stringn(x, y, " ", 1, style);
                    }
                }
            }
            // Names of the peers whose cursor is on this row, after its text.
            let mut label_x = x0 + end_col as u16 + 2;
            for r in &remotes {
                let on_row = (start..=end).contains(&r.head) && {
                    let off = r.head - start;
                    layout.position_of(off, width).0 == row
                };
                if on_row && label_x < area.right() {
                    let label = format!(" {} ", r.name);
                    let room = usize::from(area.right() - label_x);
                    let (nx, _) = buf.set_stringn(
                        label_x,
                        y,
                        &label,
                        room,
                        Style::default().bg(r.color).fg(Color::Black),
                    );
                    label_x = nx + 1;
                }
            }
            row += 1;
            y += 1;
        }
        line += 1;
        row = 0;
    }
    screen_cursor
}
