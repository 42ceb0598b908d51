//! The text area: line numbers, soft-wrapped (or sideways-scrolled) text in its syntax
//! colours, search matches, this user's selection, and the other peers' cursors, selections
//! and names.
//!
//! Layers, bottom to top: syntax colours (or, in the blame view, each author's colour);
//! changes others made while this user was away; other peers' selections; search matches
//! (the current one distinct); this user's selection; other peers' cursors. Every background
//! layer sets a foreground that reads on it, so syntax colours never hide under a selection.

use std::ops::Range;
use std::rc::Rc;

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};

use crate::highlight::Highlighted;
use crate::layout::Look;
use crate::model::{Mode, Model, Prompt};

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

/// The search matches to mark: while a find or replace prompt is open, every match of its
/// query that overlaps `visible`.
fn visible_matches(model: &Model, visible: Range<usize>) -> Vec<Range<usize>> {
    let open = matches!(
        model.mode,
        Mode::Prompt(Prompt::Find(_) | Prompt::Replace(_))
    );
    let Some(query) = model.current_query().filter(|_| open) else {
        return Vec::new();
    };
    match model.found(&query).as_deref() {
        Some(Ok(found)) => found
            .within(visible)
            .iter()
            .filter(|m| !m.chars.is_empty())
            .map(|m| m.chars.clone())
            .collect(),
        _ => Vec::new(),
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
    let blame_w = model.blame_width() as u16;
    let numbers_w = gutter - blame_w;
    let blame = model.blame_on.then(|| model.blame_view());
    let width = model.text_width();
    let hscroll = model.scroll.col;
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
    // At most one screen row per line: the visible chars end before this line.
    let last_line = (line + usize::from(area.height)).min(doc.line_count());
    let visible = doc.line_to_char(line)..doc.line_to_char(last_line);
    let matches = visible_matches(model, visible.clone());
    let away: Vec<Range<usize>> = model.away.as_ref().map_or_else(Vec::new, |a| {
        a.unvisited(doc)
            .into_iter()
            .filter(|r| r.start <= visible.end && r.end >= visible.start)
            .collect()
    });
    let away_style = Style::default().fg(theme.history_fg).bg(theme.away_bg);
    // A deletion point shows on the character after it.
    let in_away = |pos: usize| {
        away.iter()
            .any(|r| r.contains(&pos) || (r.is_empty() && r.start == pos))
    };
    let current_match = matches.iter().position(|m| *m == sel);
    let mut highlight = model.highlight.borrow_mut();
    let mut colours = highlight.view(doc, line);
    let mut screen_cursor = None;
    let mut y = area.y;
    let x0 = area.x + gutter;
    let right = area.right();
    while y < area.bottom() {
        if line >= doc.line_count() {
            if numbers_w > 0 {
                buf.set_string(
                    area.x + blame_w,
                    y,
                    format!("{:>w$} ", "~", w = usize::from(numbers_w) - 1),
                    Style::default().fg(theme.gutter_fg),
                );
            }
            y += 1;
            continue;
        }
        let start = doc.line_to_char(line);
        let laid = model.layout(line);
        let syntax: Option<Rc<Highlighted>> = colours.as_mut().map(|c| c.next_line(&laid.text));
        let content = laid.text.as_str();
        let layout = &laid.layout;
        let end = start + layout.chars;
        let has_break = line + 1 < doc.line_count();
        while row < layout.rows && y < area.bottom() {
            if let Some(b) = &blame
                && row == 0
                && let Some((person, _)) = b.line(line)
            {
                let name: String = person.name.chars().take(usize::from(blame_w) - 2).collect();
                let style = Style::default().bg(person.color).fg(theme.history_fg);
                buf.set_stringn(
                    area.x,
                    y,
                    format!("{name:<w$}", w = usize::from(blame_w) - 1),
                    usize::from(blame_w) - 1,
                    style,
                );
            }
            if numbers_w > 0 {
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
                    area.x + blame_w,
                    y,
                    format!("{number:>w$} ", w = usize::from(numbers_w) - 1),
                    usize::from(numbers_w),
                    number_style,
                );
            }
            for g in layout.row_glyphs(row) {
                // Without soft wrap, glyphs left or right of the view are not drawn (nor one
                // cut by the left edge).
                if g.col < hscroll || g.col + g.width > hscroll + width {
                    continue;
                }
                let pos = start + g.start;
                let mut style = base;
                match blame.as_ref().and_then(|b| b.person_at(pos)) {
                    Some(person) => style = style.bg(person.color).fg(theme.history_fg),
                    None => {
                        if let Some(h) = &syntax {
                            style = style.patch(h.style_at(g.bytes.0));
                        }
                    }
                }
                if in_away(pos) {
                    style = style.patch(away_style);
                }
                for r in &remotes {
                    if r.sel.contains(&pos) {
                        style = style.bg(dim(r.color)).fg(theme.selection_fg);
                    }
                }
                if let Some(i) = matches.iter().position(|m| m.contains(&pos)) {
                    style = if Some(i) == current_match {
                        style.bg(theme.match_current_bg).fg(theme.match_current_fg)
                    } else {
                        style.bg(theme.match_bg).fg(theme.selection_fg)
                    };
                }
                if sel.contains(&pos) && current_match.is_none() {
                    style = style.bg(theme.selection_bg).fg(theme.selection_fg);
                }
                for r in &remotes {
                    if r.head == pos {
                        style = style.bg(r.color).fg(Color::Black);
                    }
                }
                let x = x0 + (g.col - hscroll) as u16;
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
            }
            let is_last_row = row + 1 == layout.rows;
            // The position at the end of the line is drawn on its last row, after its text —
            // on its last cell when the row is full (as a terminal shows it).
            let end_col = if is_last_row {
                layout.position_of(layout.chars).1
            } else {
                layout.row_glyphs(row).last().map_or(0, |g| g.col + g.width)
            };
            let end_x = (x0 as usize + end_col.saturating_sub(hscroll)).min(usize::from(u16::MAX));
            let end_x = end_x as u16;
            if is_last_row && end_col >= hscroll {
                if cursor == end {
                    screen_cursor = Some(Position {
                        x: end_x.min(right.saturating_sub(1)),
                        y,
                    });
                }
                if end_x < right {
                    // A selected line break shows as one highlighted cell.
                    let mut style = None;
                    if in_away(end) {
                        style = Some(away_style);
                    }
                    if has_break && sel.contains(&end) {
                        style = Some(base.bg(theme.selection_bg));
                    }
                    for r in &remotes {
                        if r.head == end {
                            style = Some(base.bg(r.color));
                        }
                    }
                    if let Some(style) = style {
                        buf.set_stringn(end_x, y, " ", 1, style);
                    }
                }
            }
            // Names of the peers whose cursor is on this row, after its text.
            let mut label_x = end_x.saturating_add(2);
            for r in &remotes {
                let on_row =
                    (start..=end).contains(&r.head) && layout.position_of(r.head - start).0 == row;
                if on_row && label_x < right {
                    let label = format!(" {} ", r.name);
                    let room = usize::from(right - label_x);
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
