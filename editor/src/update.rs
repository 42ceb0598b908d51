//! `update`: the one place the model changes. Every [`Msg`] goes through [`update`], which
//! returns the [`Effect`]s the runtime must carry out.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use crate::commands;
use crate::edit::normalize_newlines;
use crate::model::{Level, Mode, Model, NetStatus, Peer, PeerState, Popup, Prompt, Selection};
use crate::msg::{Effect, Msg, NetEvent, PeerId, Presence};
use crate::search::{self, Direction};
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
        Msg::Net(event) => on_net(model, event),
        Msg::Saved(result) => on_saved(model, result),
    }
    if model.reveal {
        model.reveal = false;
        model.reveal_cursor();
    }
    if model.sel != before {
        model.emit(Effect::Presence(Presence {
            head: model.sel.head,
            tail: model.sel.tail,
        }));
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
                if let Some(ticket) = model.ticket.clone() {
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

fn peer_entry<'a>(model: &'a mut Model, peer: &PeerId) -> &'a mut Peer {
    let color = model.theme.color_for(&peer.0);
    model.peers.entry(peer.clone()).or_insert_with(|| Peer {
        name: short_id(peer),
        color,
        selection: None,
        state: PeerState::Connected,
        conn: None,
    })
}

fn short_id(peer: &PeerId) -> String {
    peer.0.chars().take(8).collect()
}

fn on_net(model: &mut Model, event: NetEvent) {
    match event {
        NetEvent::Remote(ops) => {
            for op in &ops {
                if let Err(e) = model.doc.apply(op) {
                    tracing::warn!(error = %e, "rejected a remote op");
                    model.notify(
                        Level::Warn,
                        format!("Ignored an invalid edit from a peer ({e})"),
                    );
                }
            }
        }
        NetEvent::PresenceHidden { peer } => {
            if let Some(entry) = model.peers.get_mut(&peer) {
                entry.selection = None;
            }
        }
        NetEvent::StoreFailed(reason) => {
            model.notify(
                Level::Error,
                format!("Could not write duet's store: {reason} (retrying)"),
            );
        }
        NetEvent::PeerJoined { peer, name } => {
            let entry = peer_entry(model, &peer);
            entry.state = PeerState::Connected;
            if let Some(name) = name {
                entry.name = name;
            }
            let text = format!("{} joined", entry.name);
            model.notify(Level::Info, text);
        }
        NetEvent::PeerLeft { peer } => {
            if let Some(entry) = model.peers.get_mut(&peer) {
                entry.state = PeerState::Offline;
                entry.selection = None;
                let text = format!("{} left", entry.name);
                model.notify(Level::Info, text);
            }
        }
        NetEvent::Presence {
            peer,
            name,
            color,
            presence,
        } => {
            let entry = peer_entry(model, &peer);
            entry.name = name;
            entry.color = color;
            entry.state = PeerState::Connected;
            entry.selection = Some(Selection {
                tail: presence.tail,
                head: presence.head,
            });
        }
        NetEvent::ConnectionFailed { peer, reason } => {
            let who = match peer.as_ref().and_then(|p| model.peers.get(p)) {
                Some(p) => p.name.clone(),
                None => peer.as_ref().map_or_else(|| "a peer".to_owned(), short_id),
            };
            model.notify(Level::Warn, format!("Connection to {who} failed: {reason}"));
        }
        NetEvent::Sync { online, unacked } => {
            model.net = if online {
                NetStatus::Online { unacked }
            } else {
                NetStatus::Offline { unacked }
            };
        }
        NetEvent::Connections(list) => {
            for (peer, info) in list {
                peer_entry(model, &peer).conn = Some(info);
            }
        }
        NetEvent::Ticket(ticket) => model.ticket = Some(ticket),
        NetEvent::Unavailable(reason) => {
            model.notify(Level::Warn, format!("Networking unavailable: {reason}"));
            model.net = NetStatus::Unavailable(reason);
        }
    }
}
