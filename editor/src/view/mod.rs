//! `view`: draws the model. Pure: reads the model, writes cells into a ratatui buffer, and
//! says where the terminal cursor goes. Only the visible lines are laid out and drawn.

mod history;
mod picker;
mod popup;
mod status;
mod text;

pub use history::title as history_title;
pub use popup::{help_lines, open_ticket, ticket_rows};

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};

use crate::model::{Mode, Model};

/// Draws the model into a frame and places the terminal cursor.
pub fn view(model: &Model, frame: &mut Frame<'_>) {
    let area = frame.area();
    if let Some(cursor) = render(model, area, frame.buffer_mut()) {
        frame.set_cursor_position(cursor);
    }
}

/// Draws the model into `buf` over `area`; returns where the terminal cursor should be
/// (hidden when `None`, e.g. under a popup).
pub fn render(model: &Model, area: Rect, buf: &mut Buffer) -> Option<Position> {
    if area.width < 4 || area.height < 2 {
        return None;
    }
    if let (Mode::History, Some(view)) = (&model.mode, &model.history) {
        if area.height >= 3 {
            history::render_history(model, view, area, buf);
        }
        return None;
    }
    let text_height = model.text_height().min(usize::from(area.height) - 1) as u16;
    let text_area = Rect {
        height: text_height,
        ..area
    };
    let mut cursor = text::render_text(model, text_area, buf);
    let mut y = area.y + text_height;
    if let Some(row) = model.away_row()
        && y < area.bottom()
    {
        status::render_away(
            model,
            &row,
            Rect {
                y,
                height: 1,
                ..area
            },
            buf,
        );
        y += 1;
    }
    if model.blame_on && y < area.bottom() {
        status::render_legend(
            model,
            Rect {
                y,
                height: 1,
                ..area
            },
            buf,
        );
        y += 1;
    }
    if let Mode::Prompt(prompt) = &model.mode {
        let line = Rect {
            y,
            height: 1,
            ..area
        };
        cursor = Some(status::render_prompt(model, prompt, line, buf));
        y += 1;
    }
    if y < area.bottom() {
        status::render_status(
            model,
            Rect {
                y,
                height: 1,
                ..area
            },
            buf,
        );
    }
    if let Mode::Popup(popup) = &model.mode {
        popup::render_popup(model, popup, area, buf);
        cursor = None;
    }
    if let (Mode::Picker, Some(picker)) = (&model.mode, &model.picker) {
        cursor = picker::render_picker(model, picker, area, buf);
    }
    cursor
}
