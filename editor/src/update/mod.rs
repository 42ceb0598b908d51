//! `update`: the one place the model changes. Every [`Msg`] goes through [`update`], which
//! returns the [`Effect`]s the runtime must carry out. Keys in the text go through the
//! keymap to a [`Command`]; prompts (`prompt.rs`) and popups (`popup.rs`) read their own
//! keys; the history view (`history.rs`) and the file picker (`picker.rs`) too; news from
//! the sync layer is in `sync.rs`.

mod folder;
mod history;
mod picker;
mod popup;
mod prompt;
mod sync;

use std::time::Duration;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use crate::commands::Command;
use crate::edit::normalize_newlines;
use crate::model::{Mode, Model, Popup, Prompt};
use crate::msg::{Effect, Msg};
use crate::undo::EditKind;

/// Rows the mouse wheel scrolls per notch.
const WHEEL_ROWS: isize = 3;

/// How long one [`Msg::Idle`] may spend bringing the highlighting up to the view.
const IDLE_SLICE: Duration = Duration::from_millis(8);

/// Applies `msg` to the model and returns the effects to run, in order.
pub fn update(model: &mut Model, msg: Msg) -> Vec<Effect> {
    let (before, top_before) = (model.sel, model.scroll.top);
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(model, key),
        Msg::Key(_) => {}
        Msg::Mouse(mouse) => {
            model.stop_following();
            model.last_command = None;
            on_mouse(model, mouse);
        }
        Msg::Paste(text) => {
            model.last_command = None;
            on_paste(model, &text);
        }
        Msg::Resize(w, h) => {
            model.size = (w, h);
            model.reveal = true;
        }
        Msg::Tick => {
            model.refresh_away();
            if let Some(m) = &mut model.message {
                m.ticks_left = m.ticks_left.saturating_sub(1);
                if m.ticks_left == 0 {
                    model.message = None;
                }
            }
        }
        Msg::Idle => {
            model
                .highlight
                .borrow_mut()
                .catch_up(&model.doc, IDLE_SLICE);
        }
        Msg::Sync(event) => {
            sync::on_sync(model, *event);
            model.track_followed();
        }
        Msg::Folder(news) => {
            folder::on_folder(model, *news);
            model.track_followed();
        }
    }
    if model.reveal {
        model.reveal = false;
        model.reveal_cursor();
    }
    if model.away.is_some() {
        model.settle_away();
    }
    if model.sel != before || model.scroll.top != top_before {
        model.emit(Effect::Presence);
    }
    std::mem::take(&mut model.outbox)
}

fn on_key(model: &mut Model, key: KeyEvent) {
    if model.follow.is_some() {
        // Any key stops following; Esc and the follow key itself do nothing else.
        model.stop_following();
        let toggle = model.keymap.lookup(&key) == Some(Command::FollowPeer);
        if key.code == KeyCode::Esc || toggle {
            return;
        }
    }
    match model.mode.clone() {
        Mode::Edit => on_edit_key(model, key),
        Mode::Prompt(prompt) => prompt::on_prompt_key(model, prompt, key),
        Mode::Popup(popup) => popup::on_popup_key(model, popup, key),
        Mode::History => history::on_history_key(model, key),
        Mode::Picker => picker::on_picker_key(model, key),
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
    if let Some(command) = model.keymap.lookup(&key) {
        command.run(model);
    } else if let Some(c) = typed_char(&key) {
        model.last_command = None;
        model.type_char(c);
    }
}

fn on_paste(model: &mut Model, text: &str) {
    let text = normalize_newlines(text);
    let first_line = text.lines().next().unwrap_or("");
    match &mut model.mode {
        Mode::Edit => model.insert_text(&text, EditKind::Other),
        Mode::Prompt(Prompt::Find(p)) => {
            match (&mut p.replacement, p.in_replacement) {
                (Some(r), true) => r.push_str(first_line),
                _ => p.query.push_str(first_line),
            }
            model.incremental_find();
        }
        Mode::Prompt(Prompt::Goto { input }) => {
            input.extend(text.chars().filter(char::is_ascii_digit))
        }
        Mode::Prompt(Prompt::SaveAs { input }) => input.push_str(first_line),
        Mode::Picker => {
            if let Some(picker) = model.picker.as_mut() {
                picker.push_str(first_line);
            }
        }
        Mode::Prompt(Prompt::Replace(_)) | Mode::Popup(_) | Mode::History => {}
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
        (Mode::History, MouseEventKind::ScrollDown) => history::scroll(model, WHEEL_ROWS),
        (Mode::History, MouseEventKind::ScrollUp) => history::scroll(model, -WHEEL_ROWS),
        (Mode::History, _) => {}
        (Mode::Picker, MouseEventKind::ScrollDown | MouseEventKind::ScrollUp) => {
            if let Some(picker) = model.picker.as_mut() {
                let down = mouse.kind == MouseEventKind::ScrollDown;
                picker.move_by(if down { WHEEL_ROWS } else { -WHEEL_ROWS });
            }
        }
        (Mode::Picker, _) => {}
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

/// The command a key is bound to, if it is one of `allowed` (prompts and popups let a few
/// commands through).
fn bound_to(model: &Model, key: &KeyEvent, allowed: &[Command]) -> Option<Command> {
    model.keymap.lookup(key).filter(|c| allowed.contains(c))
}
