//! The file picker: a centred popup with the query and how many files match it, then the
//! matching files, the selected one highlighted, the characters the query matched in bold
//! colour, recently opened files marked `•`, files the folder does not share dimmed with
//! the reason.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Clear, HighlightSpacing, List, ListItem, ListState, Paragraph, StatefulWidget, Widget,
};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use super::popup::{centered, frame};
use crate::model::Model;
use crate::picker::{Picker, Row};

/// Marks the selected row.
const SELECTED: &str = "▶ ";
/// Marks a recently opened file.
const RECENT: &str = "• ";

/// Draws the picker over `area`; returns where the terminal cursor goes (the query's end).
pub(super) fn render_picker(
    model: &Model,
    picker: &Picker,
    area: Rect,
    buf: &mut Buffer,
) -> Option<Position> {
    // Over the text, leaving the status line below visible where there is room.
    let above_status = Rect {
        height: area.height.saturating_sub(u16::from(area.height > 6)),
        ..area
    };
    let w = if area.width > 40 {
        (area.width - 4).min(100)
    } else {
        area.width
    };
    let h = if above_status.height > 8 {
        (above_status.height - 2).min(24)
    } else {
        above_status.height
    };
    let rect = centered(above_status, w, h);
    Clear.render(rect, buf);
    let block = frame(model, "Open file").title_bottom(Line::styled(
        " ↑↓ pick · Enter open · Esc close ",
        Style::default().fg(model.theme.popup_border),
    ));
    let inner = block.inner(rect);
    block.render(rect, buf);
    let note = picker.note();
    let [query_row, list_area, note_row] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(u16::from(note.is_some())),
    ])
    .areas(inner);
    if let Some(note) = note {
        Paragraph::new(note)
            .style(Style::default().fg(model.theme.message_warn))
            .render(note_row, buf);
    }
    render_list(model, picker, list_area, buf);
    render_query(picker, query_row, buf)
}

/// The query line: `> query` and, on the right, `matching/total`.
fn render_query(picker: &Picker, row: Rect, buf: &mut Buffer) -> Option<Position> {
    if row.width == 0 || row.height == 0 {
        return None;
    }
    let count = format!("{}/{}", picker.len(), picker.total());
    let width = usize::from(row.width);
    let room = width.saturating_sub(count.width() + 3);
    let shown = tail(picker.query(), room.max(1));
    let bold = Style::default().add_modifier(Modifier::BOLD);
    Line::from(vec![Span::styled("> ", bold), Span::raw(shown)]).render(row, buf);
    if width > count.width() + 3 {
        Line::styled(count, Style::default().add_modifier(Modifier::DIM))
            .right_aligned()
            .render(row, buf);
    }
    let x = (2 + shown.width()).min(width - 1) as u16;
    Some(Position::new(row.x + x, row.y))
}

/// The longest end of `text` at most `width` cells wide.
fn tail(text: &str, width: usize) -> &str {
    let mut cut = text.len();
    let mut used = 0;
    for (i, g) in text.grapheme_indices(true).rev() {
        used += g.width();
        if used > width {
            break;
        }
        cut = i;
    }
    &text[cut..]
}

/// The matching files, scrolled so that the selection is on screen.
fn render_list(model: &Model, picker: &Picker, area: Rect, buf: &mut Buffer) {
    let rows = usize::from(area.height);
    if rows == 0 || area.width == 0 {
        return;
    }
    picker.page.set(rows);
    if picker.is_empty() {
        let why = if picker.total() == 0 {
            "The folder has no files yet".to_owned()
        } else {
            format!("No file matches “{}”", picker.query())
        };
        // Under the paths' column.
        Paragraph::new(format!("    {why}"))
            .style(Style::default().add_modifier(Modifier::DIM))
            .render(area, buf);
        return;
    }
    let selected = picker.selected().unwrap_or(0);
    let mut top = picker.top.get().min(picker.len().saturating_sub(rows));
    if selected < top {
        top = selected;
    } else if selected >= top + rows {
        top = selected + 1 - rows;
    }
    picker.top.set(top);
    let width = usize::from(area.width).saturating_sub(SELECTED.width());
    let mut matched = Vec::new();
    let items: Vec<ListItem<'_>> = (top..picker.len().min(top + rows))
        .filter_map(|r| {
            let row = picker.row(r)?;
            picker.matched_chars(r, &mut matched);
            Some(ListItem::new(row_line(
                model,
                row,
                &matched,
                width,
                r == selected,
            )))
        })
        .collect();
    let list = List::new(items)
        .highlight_style(Style::default().bg(model.theme.selection_bg))
        .highlight_symbol(SELECTED)
        .highlight_spacing(HighlightSpacing::Always);
    let mut state = ListState::default().with_selected(Some(selected - top));
    StatefulWidget::render(list, area, buf, &mut state);
}

/// One file: the recent mark, the path (its start cut off with `…` when it does not fit)
/// with the matched characters marked, and why it is not shared.
fn row_line<'a>(
    model: &Model,
    row: Row<'a>,
    matched: &[u32],
    width: usize,
    selected: bool,
) -> Line<'a> {
    let theme = &model.theme;
    let mut base = if selected {
        Style::default().fg(theme.selection_fg)
    } else {
        Style::default()
    };
    if row.skipped.is_some() {
        base = base.add_modifier(Modifier::DIM);
    }
    let hit = base.fg(theme.picker_match_fg).add_modifier(Modifier::BOLD);
    let mark = if row.recent { RECENT } else { "  " };
    let mut reason = row
        .skipped
        .map(|why| format!("  (not shared: {why})"))
        .unwrap_or_default();
    if let Some(why) = row.skipped
        && mark.width() + row.path.width() + reason.width() > width
    {
        // Narrow: the reason alone, so that more of the path shows.
        reason = format!("  ({why})");
    }
    let room = width.saturating_sub(mark.width() + reason.width());
    let mut spans = vec![Span::styled(mark, base)];
    let graphemes: Vec<(usize, &str)> = row.path.grapheme_indices(true).collect();
    // Cut graphemes off the start until the rest fits after an ellipsis.
    let mut skip = 0;
    if row.path.width() > room {
        let mut used = row.path.width() + 1;
        while skip < graphemes.len() && used > room {
            used -= graphemes[skip].1.width();
            skip += 1;
        }
        spans.push(Span::styled("…", base));
    }
    // Runs of graphemes alike (matched or not) become one span each.
    let mut m = matched.partition_point(|&i| (i as usize) < skip);
    let mut run: Option<(usize, bool)> = None;
    for (k, &(byte, _)) in graphemes.iter().enumerate().skip(skip) {
        let is_hit = matched.get(m) == Some(&(k as u32));
        if is_hit {
            m += 1;
        }
        match run {
            Some((_, h)) if h == is_hit => {}
            Some((start, h)) => {
                spans.push(Span::styled(
                    &row.path[start..byte],
                    if h { hit } else { base },
                ));
                run = Some((byte, is_hit));
            }
            None => run = Some((byte, is_hit)),
        }
    }
    if let Some((start, h)) = run {
        spans.push(Span::styled(&row.path[start..], if h { hit } else { base }));
    }
    if !reason.is_empty() {
        spans.push(Span::styled(reason, base));
    }
    Line::from(spans)
}
