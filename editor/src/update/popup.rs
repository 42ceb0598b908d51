//! Keys in the popups: help and reports scroll, confirmations answer, the peers panel picks
//! a peer to go to or follow.

use crossterm::event::{KeyCode, KeyEvent};

use crate::commands::Command;
use crate::model::{Level, Mode, Model, Popup};
use crate::msg::Effect;

/// A scrolled popup's next first line for `key`; `None` when the key closes it.
fn scrolled(model: &Model, scroll: usize, key: &KeyEvent) -> Option<usize> {
    let page = model.text_height().saturating_sub(4);
    Some(match key.code {
        KeyCode::Down | KeyCode::Char('j') => scroll + 1,
        KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => scroll + page,
        KeyCode::PageUp => scroll.saturating_sub(page),
        KeyCode::Home => 0,
        _ => return None,
    })
}

pub(super) fn on_popup_key(model: &mut Model, popup: Popup, key: KeyEvent) {
    let bound = model.keymap.lookup(&key);
    match popup {
        Popup::ConfirmDrop { .. } => match key.code {
            KeyCode::Char('s' | 'S' | 'y' | 'Y') => {
                model.mode = Mode::Edit;
                model.emit(Effect::SaveAnyway);
            }
            _ => {
                model.quit_after_save = false;
                model.mode = Mode::Edit;
                model.notify(
                    Level::Info,
                    "Not saved: the file keeps its text; your edits are safe in the store",
                );
            }
        },
        Popup::Report {
            title,
            text,
            scroll,
        } => match scrolled(model, scroll, &key) {
            Some(scroll) => {
                model.mode = Mode::Popup(Popup::Report {
                    title,
                    text,
                    scroll,
                })
            }
            None => model.mode = Mode::Edit,
        },
        Popup::ConfirmQuit => match key.code {
            KeyCode::Char('s' | 'S' | 'y' | 'Y') => {
                model.quit_after_save = true;
                model.mode = Mode::Edit;
                model.emit(Effect::Save);
            }
            KeyCode::Char('q' | 'Q' | 'n' | 'N') => {
                model.emit(Effect::Quit);
                model.quit = true;
            }
            _ if bound == Some(Command::Quit) => {
                model.emit(Effect::Quit);
                model.quit = true;
            }
            _ => model.mode = Mode::Edit,
        },
        Popup::Help { scroll } => match scrolled(model, scroll, &key) {
            Some(scroll) => model.mode = Mode::Popup(Popup::Help { scroll }),
            None => model.mode = Mode::Edit,
        },
        Popup::Ticket => {
            if key.code == KeyCode::Char('c') {
                if let Ok(ticket) = model.sync.ticket.clone() {
                    model.emit(Effect::Clipboard(ticket));
                    model.notify(Level::Info, "Ticket copied");
                }
            } else {
                model.mode = Mode::Edit;
            }
        }
        Popup::Peers { selected } => on_peers_key(model, selected, key),
    }
}

/// The peers panel: ↑↓ pick a row, g (or Enter) goes to that peer's cursor, f follows them.
fn on_peers_key(model: &mut Model, selected: usize, key: KeyEvent) {
    let rows = model.sync.panel.len();
    let picked = model.sync.panel.get(selected).map(|p| p.id);
    match key.code {
        KeyCode::Down | KeyCode::Char('j') if rows > 0 => {
            model.mode = Mode::Popup(Popup::Peers {
                selected: (selected + 1).min(rows - 1),
            })
        }
        KeyCode::Up | KeyCode::Char('k') => {
            model.mode = Mode::Popup(Popup::Peers {
                selected: selected.saturating_sub(1),
            })
        }
        KeyCode::Char('g') | KeyCode::Enter => {
            model.mode = Mode::Edit;
            if let Some(peer) = picked {
                model.go_to_peer(peer);
            }
        }
        KeyCode::Char('f') => {
            model.mode = Mode::Edit;
            if let Some(peer) = picked {
                model.start_following(peer);
            }
        }
        _ => model.mode = Mode::Edit,
    }
}
