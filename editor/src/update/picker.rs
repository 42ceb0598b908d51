//! The file picker of a shared folder: opening and closing it, keeping it current, and its
//! keys. Typing, Backspace, Ctrl-W or Ctrl-Backspace (a word) and Ctrl-U (everything) edit the query; ↑↓
//! (or Ctrl-P/Ctrl-N), PgUp/PgDn, Home/End pick a file; Enter opens it; Esc closes.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::commands::Command;
use crate::model::{Level, Mode, Model};
use crate::msg::Effect;
use crate::picker::{FolderFiles, Picker};

impl Model {
    /// Opens the file picker over the shared folder's files (in single-file mode, says how
    /// to open a folder instead).
    pub fn open_picker(&mut self) {
        let Some(folder) = &self.folder else {
            self.notify(
                Level::Info,
                "One file is open: `duet DIR` opens a folder and shares all its files",
            );
            return;
        };
        self.picker = Some(Box::new(Picker::new(folder)));
        self.mode = Mode::Picker;
    }

    /// Closes the file picker.
    pub fn close_picker(&mut self) {
        self.picker = None;
        if self.mode == Mode::Picker {
            self.mode = Mode::Edit;
        }
    }

    /// Takes the shared folder's files as they are now (`None`: no folder). An open picker
    /// lists them at once, keeping its query and selection; it closes with the folder.
    pub fn set_folder(&mut self, folder: Option<FolderFiles>) {
        self.folder = folder;
        match (&self.folder, self.picker.as_mut()) {
            (Some(folder), Some(picker)) => picker.set_items(folder),
            (None, Some(_)) => self.close_picker(),
            (_, None) => {}
        }
    }
}

/// Commands whose keys work in the picker too (it closes first): the picker is what `duet
/// DIR` shows at start, so quitting, help and sharing must not need an Esc first.
const THROUGH_PICKER: &[Command] = &[
    Command::Quit,
    Command::Help,
    Command::ShowTicket,
    Command::ShowPeers,
];

pub(super) fn on_picker_key(model: &mut Model, key: KeyEvent) {
    if model.keymap.lookup(&key) == Some(Command::OpenFile) {
        model.close_picker();
        return;
    }
    if let Some(command) = super::bound_to(model, &key, THROUGH_PICKER) {
        model.close_picker();
        command.run(model);
        return;
    }
    let Some(picker) = model.picker.as_mut() else {
        model.close_picker();
        return;
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => model.close_picker(),
        KeyCode::Enter => {
            if let Some(path) = picker.choose() {
                model.close_picker();
                model.emit(Effect::Open(path));
            }
        }
        KeyCode::Up => picker.move_by(-1),
        KeyCode::Down => picker.move_by(1),
        KeyCode::Char('p') if ctrl => picker.move_by(-1),
        KeyCode::Char('n') if ctrl => picker.move_by(1),
        KeyCode::PageUp => picker.move_page(false),
        KeyCode::PageDown => picker.move_page(true),
        KeyCode::Home => picker.select_first(),
        KeyCode::End => picker.select_last(),
        KeyCode::Backspace if ctrl || key.modifiers.contains(KeyModifiers::ALT) => {
            picker.pop_word()
        }
        KeyCode::Backspace => picker.pop(),
        KeyCode::Char('h') if ctrl => picker.pop(),
        KeyCode::Char('w') if ctrl => picker.pop_word(),
        KeyCode::Char('u') if ctrl => picker.clear_query(),
        _ => {
            if let Some(c) = super::typed_char(&key) {
                picker.push(c);
            }
        }
    }
}
