//! Keys in the one-line prompts: find, replace (its two fields, then match by match), go to
//! line, save as.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{bound_to, typed_char};
use crate::commands::Command;
use crate::model::{FindPrompt, Level, Mode, Model, Prompt};
use crate::msg::Effect;
use crate::search::Direction;

/// Commands a key may run while the find or replace prompt is open.
const IN_FIND: &[Command] = &[
    Command::FindNext,
    Command::FindPrev,
    Command::ToggleCase,
    Command::ToggleRegex,
    Command::Find,
    Command::Replace,
    Command::Quit,
];

pub(super) fn on_prompt_key(model: &mut Model, prompt: Prompt, key: KeyEvent) {
    match prompt {
        Prompt::Find(p) => on_find_key(model, p, key),
        Prompt::Replace(_) => on_replace_key(model, key),
        Prompt::Goto { input } => on_goto_key(model, input, key),
        Prompt::SaveAs { input } => on_save_as_key(model, input, key),
    }
}

/// Deleting a character in a prompt: Backspace, or whatever the keymap binds to it (Ctrl-H).
fn erases(model: &Model, key: &KeyEvent) -> bool {
    key.code == KeyCode::Backspace || model.keymap.lookup(key) == Some(Command::DeleteBackward)
}

fn on_find_key(model: &mut Model, mut p: FindPrompt, key: KeyEvent) {
    let back = key
        .modifiers
        .intersects(KeyModifiers::SHIFT | KeyModifiers::ALT);
    let searching = !p.query.is_empty();
    match key.code {
        KeyCode::Esc => {
            if searching {
                model.last_search = Some(p.query);
            }
            if let Some(r) = p.replacement {
                model.last_replacement = r;
            }
            model.mode = Mode::Edit;
        }
        KeyCode::Tab | KeyCode::BackTab if p.replacement.is_some() => {
            p.in_replacement = !p.in_replacement;
            model.mode = Mode::Prompt(Prompt::Find(p));
        }
        KeyCode::Enter if p.replacement.is_some() && searching => {
            if p.in_replacement {
                model.start_replacing(p);
            } else {
                p.in_replacement = true;
                model.mode = Mode::Prompt(Prompt::Find(p));
            }
        }
        KeyCode::Enter | KeyCode::Down if searching => {
            let dir = if back && key.code == KeyCode::Enter {
                Direction::Backward
            } else {
                Direction::Forward
            };
            model.find_again(dir);
        }
        KeyCode::Up if searching => model.find_again(Direction::Backward),
        _ if erases(model, &key) => {
            let field = match (&mut p.replacement, p.in_replacement) {
                (Some(r), true) => r,
                _ => &mut p.query,
            };
            field.pop();
            let requery = !p.in_replacement;
            model.mode = Mode::Prompt(Prompt::Find(p));
            if requery {
                model.incremental_find();
            }
        }
        _ => {
            if let Some(command) = bound_to(model, &key, IN_FIND) {
                if command == Command::Quit {
                    model.mode = Mode::Edit;
                }
                command.run(model);
            } else if let Some(c) = typed_char(&key) {
                let requery = !p.in_replacement;
                match (&mut p.replacement, p.in_replacement) {
                    (Some(r), true) => r.push(c),
                    _ => p.query.push(c),
                }
                model.mode = Mode::Prompt(Prompt::Find(p));
                if requery {
                    model.incremental_find();
                }
            }
        }
    }
}

fn on_replace_key(model: &mut Model, key: KeyEvent) {
    match key.code {
        KeyCode::Char('y' | 'Y') | KeyCode::Enter => model.replace_current(),
        KeyCode::Char('n' | 'N' | ' ') => model.next_replacement(),
        KeyCode::Char('a' | 'A' | '!') => model.replace_remaining(),
        KeyCode::Esc | KeyCode::Char('q' | 'Q') => {
            if let Mode::Prompt(Prompt::Replace(r)) = &model.mode {
                let text = format!("Replaced {} and stopped", r.replaced);
                model.notify(Level::Info, text);
            }
            model.mode = Mode::Edit;
        }
        _ => {}
    }
}

fn on_goto_key(model: &mut Model, mut input: String, key: KeyEvent) {
    match key.code {
        KeyCode::Esc => model.mode = Mode::Edit,
        KeyCode::Enter => {
            model.mode = Mode::Edit;
            match input.parse::<usize>() {
                Ok(n) if n > 0 => model.goto_line(n),
                _ => model.notify(Level::Info, "Type a line number, then Enter"),
            }
        }
        _ if erases(model, &key) => {
            input.pop();
            model.mode = Mode::Prompt(Prompt::Goto { input });
        }
        KeyCode::Char(c) if c.is_ascii_digit() && input.len() < 12 => {
            input.push(c);
            model.mode = Mode::Prompt(Prompt::Goto { input });
        }
        _ => {}
    }
}

fn on_save_as_key(model: &mut Model, mut input: String, key: KeyEvent) {
    match key.code {
        KeyCode::Esc => model.mode = Mode::Edit,
        KeyCode::Enter => {
            model.mode = Mode::Edit;
            let name = input.trim();
            if name.is_empty() {
                model.notify(Level::Info, "Type a file name, then Enter");
            } else {
                model.emit(Effect::SaveAs(name.into()));
            }
        }
        _ if erases(model, &key) => {
            input.pop();
            model.mode = Mode::Prompt(Prompt::SaveAs { input });
        }
        _ => {
            if let Some(c) = typed_char(&key) {
                input.push(c);
                model.mode = Mode::Prompt(Prompt::SaveAs { input });
            }
        }
    }
}
