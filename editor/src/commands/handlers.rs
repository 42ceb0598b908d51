//! What the commands that are not plain editing or motion do (those are methods of
//! [`Model`] in `edit.rs`).

use crate::model::{FindPrompt, Level, Mode, Model, Popup, Prompt};
use crate::msg::Effect;
use crate::search::Direction;
use crate::settings::{Indent, TAB_WIDTHS};

pub(super) fn save(m: &mut Model) {
    if let Some(why) = &m.read_only {
        let text = format!("Read-only: {why}");
        m.notify(Level::Warn, text);
        return;
    }
    m.emit(Effect::Save);
}

pub(super) fn save_as(m: &mut Model) {
    if m.read_only.is_some() {
        m.notify(
            Level::Warn,
            "A read-only view cannot be saved under another name",
        );
        return;
    }
    m.mode = Mode::Prompt(Prompt::SaveAs {
        input: m.file_name.clone(),
    });
}

pub(super) fn quit(m: &mut Model) {
    if m.is_dirty() && m.read_only.is_none() {
        m.mode = Mode::Popup(Popup::ConfirmQuit);
    } else {
        m.emit(Effect::Quit);
        m.quit = true;
    }
}

pub(super) fn help(m: &mut Model) {
    m.mode = Mode::Popup(Popup::Help { scroll: 0 });
}

pub(super) fn cancel(m: &mut Model) {
    let head = m.sel.head;
    m.sel.tail = head;
}

pub(super) fn undo(m: &mut Model) {
    if !m.undo() {
        m.notify(Level::Info, "Nothing of yours to undo");
    }
}

pub(super) fn redo(m: &mut Model) {
    if !m.redo() {
        m.notify(Level::Info, "Nothing to redo");
    }
}

pub(super) fn copy(m: &mut Model) {
    m.copy();
}

/// Opens the find prompt (or, from the replace prompt, goes back to a plain find).
fn open_prompt(m: &mut Model, replace: bool) {
    let (query, origin) = match &m.mode {
        Mode::Prompt(Prompt::Find(p)) => (p.query.clone(), p.origin),
        _ => {
            let sel = m.selection_range();
            // A one-line selection is what to find (as in most editors).
            let selected = m.selected_text();
            let query = if !sel.is_empty() && !selected.contains('\n') {
                selected
            } else {
                String::new()
            };
            (query, m.anchor_at(sel.start))
        }
    };
    let replacement = replace.then(|| m.last_replacement.clone());
    m.mode = Mode::Prompt(Prompt::Find(FindPrompt {
        in_replacement: false,
        query,
        replacement,
        origin,
    }));
    m.incremental_find();
}

pub(super) fn find(m: &mut Model) {
    open_prompt(m, false);
}

pub(super) fn replace(m: &mut Model) {
    if m.can_edit() {
        open_prompt(m, true);
    }
}

pub(super) fn find_next(m: &mut Model) {
    m.find_again(Direction::Forward);
}

pub(super) fn find_prev(m: &mut Model) {
    m.find_again(Direction::Backward);
}

pub(super) fn toggle_case(m: &mut Model) {
    m.search.case = m.search.case.next();
    let text = format!("Search: {}", m.search.case.label());
    m.notify(Level::Info, text);
    m.incremental_find();
}

pub(super) fn toggle_regex(m: &mut Model) {
    m.search.regex = !m.search.regex;
    let text = if m.search.regex {
        "Search: regular expressions"
    } else {
        "Search: plain text"
    };
    m.notify(Level::Info, text);
    m.incremental_find();
}

pub(super) fn goto_line(m: &mut Model) {
    m.mode = Mode::Prompt(Prompt::Goto {
        input: String::new(),
    });
}

pub(super) fn toggle_soft_wrap(m: &mut Model) {
    m.settings.soft_wrap = !m.settings.soft_wrap;
    m.scroll.col = 0;
    m.reveal = true;
    let text = if m.settings.soft_wrap {
        "Soft wrap on"
    } else {
        "Soft wrap off: long lines scroll sideways"
    };
    m.notify(Level::Info, text);
}

pub(super) fn toggle_line_numbers(m: &mut Model) {
    m.settings.line_numbers = !m.settings.line_numbers;
    m.reveal = true;
    let text = if m.settings.line_numbers {
        "Line numbers on"
    } else {
        "Line numbers off"
    };
    m.notify(Level::Info, text);
}

pub(super) fn toggle_indent_style(m: &mut Model) {
    m.settings.indent = match m.settings.indent {
        Indent::Tabs => Indent::Spaces,
        Indent::Spaces => Indent::Tabs,
    };
    let text = match m.settings.indent {
        Indent::Tabs => "Tab inserts a tab".to_owned(),
        Indent::Spaces => format!("Tab inserts spaces ({} per stop)", m.settings.tab_width),
    };
    m.notify(Level::Info, text);
}

pub(super) fn cycle_tab_width(m: &mut Model) {
    let next = TAB_WIDTHS
        .iter()
        .copied()
        .find(|&w| w > m.settings.tab_width)
        .unwrap_or(TAB_WIDTHS[0]);
    m.settings.tab_width = next;
    m.reveal = true;
    m.notify(Level::Info, format!("Tab width {next}"));
}

pub(super) fn show_ticket(m: &mut Model) {
    if let Ok(ticket) = m.sync.ticket.clone() {
        m.emit(Effect::Clipboard(ticket));
    }
    m.mode = Mode::Popup(Popup::Ticket);
}

pub(super) fn show_peers(m: &mut Model) {
    let selected = m
        .picked
        .and_then(|p| m.sync.panel.iter().position(|v| v.id == p))
        .unwrap_or(0);
    m.mode = Mode::Popup(Popup::Peers { selected });
}

pub(super) fn goto_peer(m: &mut Model) {
    let Some(peer) = m.next_peer(m.picked) else {
        m.notify(Level::Info, "Nobody here shows a cursor yet");
        return;
    };
    m.go_to_peer(peer);
}

pub(super) fn follow_peer(m: &mut Model) {
    let peer = match m.picked.filter(|p| m.shows_cursor(p)) {
        Some(p) => Some(p),
        None => m.next_peer(None),
    };
    match peer {
        Some(peer) => m.start_following(peer),
        None => m.notify(Level::Info, "Nobody here shows a cursor yet"),
    }
}

pub(super) fn toggle_blame(m: &mut Model) {
    m.blame_on = !m.blame_on;
    if !m.blame_on {
        m.blame.clear();
    }
    m.reveal = true;
}
