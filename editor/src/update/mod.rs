//! `update`: the one place the model changes. Every [`Msg`] goes through [`update`], which
//! returns the [`Effect`]s the runtime must carry out.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use crate::commands;
use crate::edit::normalize_newlines;
use sync::proto::{Departure, PresenceState};
use sync::{Event, PeerId};

use crate::model::{Level, Mode, Model, Peer, Popup, Prompt, Selection};
use crate::msg::{Effect, Msg};
use crate::search::{self, Direction};
use crate::theme::rgb_to_color;
use crate::undo::EditKind;

/// Rows the mouse wheel scrolls per notch.
const WHEEL_ROWS: isize = 3;

/// Applies `msg` to the model and returns the effects to run, in order.
pub fn update(model: &mut Model, msg: Msg) -> Vec<Effect> {
    let before = model.sel;
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(model, key),
        Msg::Key(_) => {}
        Msg::Mouse(mouse) => on_mouse(model, mouse),
        Msg::Paste(text) => on_paste(model, &text),
        Msg::Resize(w, h) => {
            model.size = (w, h);
            model.reveal = true;
        }
        Msg::Tick => {
            if let Some(m) = &mut model.message {
                m.ticks_left = m.ticks_left.saturating_sub(1);
                if m.ticks_left == 0 {
                    model.message = None;
                }
            }
        }
        Msg::Sync(event) => on_sync(model, event),
    }
    if model.reveal {
        model.reveal = false;
        model.reveal_cursor();
    }
    if model.sel != before {
        model.emit(Effect::Presence);
    }
    std::mem::take(&mut model.outbox)
}

fn on_key(model: &mut Model, key: KeyEvent) {
    match model.mode.clone() {
        Mode::Edit => on_edit_key(model, key),
        Mode::Prompt(prompt) => on_prompt_key(model, prompt, key),
        Mode::Popup(popup) => on_popup_key(model, popup, key),
    }
}

/// A printable character typed without Ctrl or Alt (AltGr, reported as Ctrl+Alt, counts as
/// typing: it is how many keyboards type `@` or `{`).
fn typed_char(key: &KeyEvent) -> Option<char> {
    let KeyCode::Char(c) = key.code else {
        return None;
    };
    let ctrl_alt = KeyModifiers::CONTROL | KeyModifiers::ALT;
    let m = key.modifiers & ctrl_alt;
    (m.is_empty() || m == ctrl_alt)
        .then_some(c)
        .filter(|c| !c.is_control())
}

fn on_edit_key(model: &mut Model, key: KeyEvent) {
    if let Some(name) = model.keymap.lookup(&key) {
        commands::run(model, name);
    } else if let Some(c) = typed_char(&key) {
        model.type_char(c);
    }
}

fn on_paste(model: &mut Model, text: &str) {
    let text = normalize_newlines(text);
    match &mut model.mode {
        Mode::Edit => model.insert_text(&text, EditKind::Other),
        Mode::Prompt(Prompt::Find { query, .. }) => {
            query.push_str(text.lines().next().unwrap_or(""));
            incremental_find(model);
        }
        Mode::Prompt(Prompt::Goto { input }) => {
            input.extend(text.chars().filter(char::is_ascii_digit))
        }
        Mode::Popup(_) => {}
    }
}

fn on_mouse(model: &mut Model, mouse: MouseEvent) {
    let in_text = usize::from(mouse.row) < model.text_height();
    match (&model.mode, mouse.kind) {
        (Mode::Popup(Popup::Help { scroll }), MouseEventKind::ScrollDown) => {
            model.mode = Mode::Popup(Popup::Help {
                scroll: scroll + WHEEL_ROWS as usize,
            })
        }
        (Mode::Popup(Popup::Help { scroll }), MouseEventKind::ScrollUp) => {
            model.mode = Mode::Popup(Popup::Help {
                scroll: scroll.saturating_sub(WHEEL_ROWS as usize),
            })
        }
        (Mode::Popup(_), _) => {}
        (_, MouseEventKind::ScrollDown) => model.scroll_rows(WHEEL_ROWS),
        (_, MouseEventKind::ScrollUp) => model.scroll_rows(-WHEEL_ROWS),
        (_, MouseEventKind::Down(MouseButton::Left)) if in_text => {
            model.undo.break_group();
            let pos = model.position_at(mouse.column, mouse.row);
            model.move_to(pos, mouse.modifiers.contains(KeyModifiers::SHIFT));
        }
        (_, MouseEventKind::Drag(MouseButton::Left)) => {
            let row = mouse.row.min(model.text_height().saturating_sub(1) as u16);
            let pos = model.position_at(mouse.column, row);
            model.move_to(pos, true);
        }
        _ => {}
    }
}

impl Model {
    /// Searches again for the last query (F3 / Shift-F3, or Enter in the find prompt).
    pub fn find_again(&mut self, dir: Direction) {
        let query = match &self.mode {
            Mode::Prompt(Prompt::Find { query, .. }) if !query.is_empty() => query.clone(),
            _ => match &self.last_search {
                Some(q) => q.clone(),
                None => {
                    self.notify(Level::Info, "Nothing to find yet: Ctrl-F starts a search");
                    return;
                }
            },
        };
        let sel = self.selection_range();
        let from = match dir {
            Direction::Forward if sel.is_empty() => sel.start,
            Direction::Forward => sel.start + 1,
            Direction::Backward => sel.start,
        };
        match search::find(&self.doc, &query, from, dir) {
            Some(found) => {
                self.select(found);
                self.goal_col = None;
                self.set_find_failed(false);
            }
            None => {
                self.set_find_failed(true);
                self.notify(Level::Info, format!("Not found: {query}"));
            }
        }
        self.last_search = Some(query);
    }

    fn set_find_failed(&mut self, value: bool) {
        if let Mode::Prompt(Prompt::Find { failed, .. }) = &mut self.mode {
            *failed = value;
        }
    }
}

/// After the query changed: the first match from where the search started.
fn incremental_find(model: &mut Model) {
    let Mode::Prompt(Prompt::Find { query, origin, .. }) = &model.mode else {
        return;
    };
    let origin_pos = model.doc.resolve(origin);
    let query = query.clone();
    if query.is_empty() {
        model.move_to(origin_pos, false);
        model.set_find_failed(false);
        return;
    }
    match search::find(&model.doc, &query, origin_pos, Direction::Forward) {
        Some(found) => {
            model.select(found);
            model.set_find_failed(false);
        }
        None => model.set_find_failed(true),
    }
}

fn on_prompt_key(model: &mut Model, prompt: Prompt, key: KeyEvent) {
    let shift =
        key.modifiers.contains(KeyModifiers::SHIFT) || key.modifiers.contains(KeyModifiers::ALT);
    match prompt {
        Prompt::Find {
            mut query,
            origin,
            failed,
        } => match key.code {
            KeyCode::Esc => {
                if !query.is_empty() {
                    model.last_search = Some(query);
                }
                model.mode = Mode::Edit;
            }
            KeyCode::Enter | KeyCode::F(3) | KeyCode::Down if !query.is_empty() => {
                let dir = if shift && key.code != KeyCode::Down {
                    Direction::Backward
                } else {
                    Direction::Forward
                };
                model.find_again(dir);
            }
            KeyCode::Up if !query.is_empty() => model.find_again(Direction::Backward),
            KeyCode::Backspace => {
                query.pop();
                model.mode = Mode::Prompt(Prompt::Find {
                    query,
                    origin,
                    failed,
                });
                incremental_find(model);
            }
            _ => {
                if let Some(name) = model
                    .keymap
                    .lookup(&key)
                    .filter(|n| matches!(*n, "find_next" | "find_prev" | "quit"))
                {
                    if name == "quit" {
                        model.mode = Mode::Edit;
                    }
                    commands::run(model, name);
                } else if let Some(c) = typed_char(&key) {
                    query.push(c);
                    model.mode = Mode::Prompt(Prompt::Find {
                        query,
                        origin,
                        failed,
                    });
                    incremental_find(model);
                }
            }
        },
        Prompt::Goto { mut input } => match key.code {
            KeyCode::Esc => model.mode = Mode::Edit,
            KeyCode::Enter => {
                model.mode = Mode::Edit;
                match input.parse::<usize>() {
                    Ok(n) if n > 0 => model.goto_line(n),
                    _ => model.notify(Level::Info, "Type a line number, then Enter"),
                }
            }
            KeyCode::Backspace => {
                input.pop();
                model.mode = Mode::Prompt(Prompt::Goto { input });
            }
            KeyCode::Char(c) if c.is_ascii_digit() && input.len() < 12 => {
                input.push(c);
                model.mode = Mode::Prompt(Prompt::Goto { input });
            }
            _ => {}
        },
    }
}

fn on_popup_key(model: &mut Model, popup: Popup, key: KeyEvent) {
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
        Popup::Recovery { text, scroll } => {
            let page = model.text_height().saturating_sub(4);
            let scroll = match key.code {
                KeyCode::Down | KeyCode::Char('j') => scroll + 1,
                KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                KeyCode::PageDown | KeyCode::Char(' ') => scroll + page,
                KeyCode::PageUp => scroll.saturating_sub(page),
                _ => {
                    model.mode = Mode::Edit;
                    return;
                }
            };
            model.mode = Mode::Popup(Popup::Recovery { text, scroll });
        }
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
            _ if bound == Some("quit") => {
                model.emit(Effect::Quit);
                model.quit = true;
            }
            _ => model.mode = Mode::Edit,
        },
        Popup::Help { scroll } => {
            let page = model.text_height().saturating_sub(4);
            let scroll = match key.code {
                KeyCode::Down | KeyCode::Char('j') => scroll + 1,
                KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                KeyCode::PageDown | KeyCode::Char(' ') => scroll + page,
                KeyCode::PageUp => scroll.saturating_sub(page),
                KeyCode::Home => 0,
                _ => {
                    model.mode = Mode::Edit;
                    return;
                }
            };
            model.mode = Mode::Popup(Popup::Help { scroll });
        }
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
        Popup::Peers => model.mode = Mode::Edit,
    }
}

fn on_saved(model: &mut Model, result: Result<crdt_text::VersionVector, String>) {
    match result {
        Ok(version) => {
            model.saved_version = version;
            model.notify(Level::Info, format!("Saved {}", model.file_name));
            if model.quit_after_save {
                model.emit(Effect::Quit);
                model.quit = true;
            }
        }
        Err(reason) => {
            model.quit_after_save = false;
            model.notify(Level::Error, format!("Could not save: {reason}"));
        }
    }
}

/// The entry for `peer`, created with its short id as name until it announces one.
fn peer_entry(model: &mut Model, peer: PeerId) -> &mut Peer {
    let color = model.theme.color_for(&peer.to_hex());
    model.peers.entry(peer).or_insert_with(|| Peer {
        name: peer.short(),
        color,
        selection: None,
        here: false,
    })
}

/// How the user knows `peer`: its name if it gave one, else its short id.
fn who(model: &Model, peer: &PeerId) -> String {
    model
        .peers
        .get(peer)
        .map_or_else(|| peer.short(), |p| p.name.clone())
}

fn on_sync(model: &mut Model, event: Event) {
    match event {
        // The ops are in the document already; anchors keep cursors and the view in place.
        Event::Remote { .. } => {}
        Event::PeerJoined { peer, name, .. } => {
            let entry = peer_entry(model, peer);
            entry.here = true;
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                entry.name = name;
            }
            let text = format!("{} joined", entry.name);
            model.notify(Level::Info, text);
        }
        Event::PeerLeft { peer, why, .. } => {
            let name = who(model, &peer);
            if let Some(entry) = model.peers.get_mut(&peer) {
                entry.here = false;
                entry.selection = None;
            }
            match why {
                Departure::Quit => model.notify(Level::Info, format!("{name} left")),
                Departure::Restarted => {
                    model.notify(Level::Info, format!("{name} restarted and is reconnecting"))
                }
                Departure::Lost => {
                    model.notify(Level::Warn, format!("Lost the connection to {name}"))
                }
                Departure::Error(e) => {
                    model.notify(Level::Warn, format!("{name} was disconnected: {e}"))
                }
            }
        }
        Event::Refused { peer, error, .. } => {
            let name = who(model, &peer);
            model.notify(Level::Warn, format!("{name}: {error}"));
        }
        Event::Unreachable { peer, error } => {
            let name = who(model, &peer);
            model.notify(Level::Warn, format!("Cannot reach {name} yet: {error}"));
        }
        Event::Presence {
            peer,
            presence: Some(p),
            ..
        } => show_presence(model, peer, p),
        Event::Presence {
            peer,
            presence: None,
            ..
        } => {
            if let Some(entry) = model.peers.get_mut(&peer) {
                entry.selection = None;
            }
        }
        Event::Status { status, .. } => model.sync.status = status,
        Event::Diverged { peer, version, .. } => {
            let name = who(model, &peer);
            tracing::error!(%peer, ?version, "text differs from the peer's at an equal version");
            model.notify(
                Level::Error,
                format!(
                    "Your text differs from {name}'s although both have the same edits \
                     (two copies of one store?). Nothing was merged; see the log."
                ),
            );
        }
        Event::Saved { version, .. } => on_saved(model, Ok(version)),
        Event::SaveFailed {
            error: sync::store::StoreError::WouldDropText { chars, lines, .. },
            ..
        } => {
            model.mode = Mode::Popup(Popup::ConfirmDrop { chars, lines });
        }
        Event::SaveFailed { error, .. } => on_saved(model, Err(error.to_string())),
        Event::OutsideEdits {
            inserted, deleted, ..
        } => {
            let text = format!(
                "Merged changes another program made to {} (+{inserted} −{deleted} chars)",
                model.file_name
            );
            model.notify(Level::Info, text);
        }
        Event::StoreFailed { error, .. } => model.notify(
            Level::Error,
            format!("Could not write duet's store: {error} (retrying; edits are kept)"),
        ),
    }
}

fn show_presence(model: &mut Model, peer: PeerId, p: PresenceState) {
    let entry = peer_entry(model, peer);
    if !p.name.is_empty() {
        entry.name = p.name;
    }
    entry.color = rgb_to_color(p.color);
    entry.here = true;
    let tail = p.selection.map_or(p.cursor, |(tail, _)| tail);
    entry.selection = Some(Selection {
        tail,
        head: p.cursor,
    });
}
