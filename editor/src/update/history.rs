//! Keys in the history view: ←→ step through the edits of the session in focus, PgUp/PgDn
//! (or [ and ]) through the sessions, Home/End to the oldest and newest session, ↑↓ scroll,
//! Enter restores the version shown (one undo step), Esc or q closes.

use crossterm::event::{KeyCode, KeyEvent};

use crate::commands::Command;
use crate::model::Model;

pub(super) fn on_history_key(model: &mut Model, key: KeyEvent) {
    let Some(view) = model.history.as_mut() else {
        model.close_history();
        return;
    };
    let doc = &model.doc;
    match key.code {
        KeyCode::Left => view.step(doc, 0, -1),
        KeyCode::Right => view.step(doc, 0, 1),
        KeyCode::PageUp | KeyCode::Char('[') => view.step(doc, -1, 0),
        KeyCode::PageDown | KeyCode::Char(']') => view.step(doc, 1, 0),
        KeyCode::Home => view.step(doc, -(view.sessions.len() as isize), 0),
        KeyCode::End => view.step(doc, view.sessions.len() as isize, 0),
        KeyCode::Up | KeyCode::Char('k') => scroll(model, -1),
        KeyCode::Down | KeyCode::Char('j') => scroll(model, 1),
        KeyCode::Enter => {
            let through = view.through();
            let number = view.session().number;
            model.close_history();
            model.restore_version(through);
            if model.message.is_none() {
                model.notify(
                    crate::model::Level::Info,
                    format!(
                        "Restored the text as of session {number}; Ctrl-Z brings today's text back"
                    ),
                );
            }
        }
        KeyCode::Esc | KeyCode::Char('q') => model.close_history(),
        _ if model.keymap.lookup(&key) == Some(Command::History) => model.close_history(),
        _ => {}
    }
}

/// Scrolls the history view's text by `delta` lines.
pub(super) fn scroll(model: &mut Model, delta: isize) {
    if let Some(view) = model.history.as_mut() {
        let last = view.lines.len().saturating_sub(1) as isize;
        view.top = (view.top as isize + delta).clamp(0, last) as usize;
    }
}
