//! The command registry: every action a key can run, with its name (used in keymap files)
//! and its documentation (shown by the help screen). The keymap and the help screen are both
//! generated from this one list, so they cannot disagree.

use crate::model::{Mode, Model, Popup, Prompt};
use crate::msg::Effect;
use crate::search::Direction;

/// One command.
#[derive(Clone, Copy)]
pub struct Command {
    /// The name used in keymap files.
    pub name: &'static str,
    /// What it does, in one line (help screen).
    pub doc: &'static str,
    /// The section of the help screen it belongs to.
    pub group: Group,
    /// Runs it.
    pub run: fn(&mut Model),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Help screen sections.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Group {
    /// Saving, quitting.
    File,
    /// Changing text.
    Edit,
    /// Moving the cursor.
    Move,
    /// Selecting.
    Select,
    /// Finding and going places.
    Search,
    /// Working with others.
    Share,
}

impl Group {
    /// All sections, in help order.
    pub const ALL: [Group; 6] = [
        Group::File,
        Group::Edit,
        Group::Move,
        Group::Select,
        Group::Search,
        Group::Share,
    ];

    /// The section title.
    pub fn title(self) -> &'static str {
        match self {
            Group::File => "File",
            Group::Edit => "Edit",
            Group::Move => "Move",
            Group::Select => "Select",
            Group::Search => "Search",
            Group::Share => "Collaborate",
        }
    }
}

macro_rules! cmd {
    ($name:literal, $group:ident, $doc:literal, $run:expr) => {
        Command {
            name: $name,
            doc: $doc,
            group: Group::$group,
            run: $run,
        }
    };
}

/// Every command, in help order.
pub static COMMANDS: &[Command] = &[
    cmd!(
        "save",
        File,
        "Write the document to its file (edits are kept in duet's store anyway)",
        |m| m.emit(Effect::Save)
    ),
    cmd!(
        "quit",
        File,
        "Quit (asks first if the file has unsaved changes; nothing typed is lost)",
        quit
    ),
    cmd!("help", File, "Show this help", |m| m.mode =
        Mode::Popup(Popup::Help { scroll: 0 })),
    cmd!("cancel", File, "Drop the selection", |m| {
        let head = m.sel.head;
        m.sel.tail = head;
    }),
    cmd!(
        "undo",
        Edit,
        "Undo your last edit (only yours: others' edits stay)",
        |m| {
            if !m.undo() {
                m.notify(crate::model::Level::Info, "Nothing of yours to undo");
            }
        }
    ),
    cmd!("redo", Edit, "Redo what you undid", |m| {
        if !m.redo() {
            m.notify(crate::model::Level::Info, "Nothing to redo");
        }
    }),
    cmd!(
        "copy",
        Edit,
        "Copy the selection (also to the system clipboard)",
        |m| {
            m.copy();
        }
    ),
    cmd!("cut", Edit, "Cut the selection", Model::cut),
    cmd!("cut_line", Edit, "Cut the current line", Model::cut_line),
    cmd!("paste", Edit, "Paste", Model::paste),
    cmd!(
        "insert_newline",
        Edit,
        "Break the line (keeping its indentation)",
        Model::insert_newline
    ),
    cmd!("insert_tab", Edit, "Insert a tab", |m| m.type_char('\t')),
    cmd!(
        "delete_backward",
        Edit,
        "Delete the selection or the character before the cursor",
        Model::delete_backward
    ),
    cmd!(
        "delete_forward",
        Edit,
        "Delete the selection or the character after the cursor",
        Model::delete_forward
    ),
    cmd!(
        "delete_word_backward",
        Edit,
        "Delete to the start of the word",
        Model::delete_word_backward
    ),
    cmd!(
        "delete_word_forward",
        Edit,
        "Delete to the end of the word",
        Model::delete_word_forward
    ),
    cmd!("move_left", Move, "Left", |m| m.move_left(false)),
    cmd!("move_right", Move, "Right", |m| m.move_right(false)),
    cmd!("move_up", Move, "Up (by screen row)", |m| m
        .move_rows(-1, false)),
    cmd!("move_down", Move, "Down (by screen row)", |m| m
        .move_rows(1, false)),
    cmd!("move_word_left", Move, "Previous word", |m| m
        .move_word_left(false)),
    cmd!("move_word_right", Move, "Next word", |m| m
        .move_word_right(false)),
    cmd!(
        "move_line_start",
        Move,
        "Start of line (first non-blank, then column 1)",
        |m| m.move_line_start(false)
    ),
    cmd!("move_line_end", Move, "End of line", |m| m
        .move_line_end(false)),
    cmd!("page_up", Move, "Page up", |m| m.page(false, false)),
    cmd!("page_down", Move, "Page down", |m| m.page(true, false)),
    cmd!("move_doc_start", Move, "Start of document", |m| m
        .move_to(0, false)),
    cmd!("move_doc_end", Move, "End of document", |m| m
        .move_to(m.doc.len(), false)),
    cmd!("select_all", Select, "Select everything", Model::select_all),
    cmd!("select_left", Select, "Extend the selection left", |m| m
        .move_left(true)),
    cmd!("select_right", Select, "Extend the selection right", |m| m
        .move_right(true)),
    cmd!("select_up", Select, "Extend the selection up", |m| m
        .move_rows(-1, true)),
    cmd!("select_down", Select, "Extend the selection down", |m| m
        .move_rows(1, true)),
    cmd!(
        "select_word_left",
        Select,
        "Extend the selection to the previous word",
        |m| m.move_word_left(true)
    ),
    cmd!(
        "select_word_right",
        Select,
        "Extend the selection to the next word",
        |m| m.move_word_right(true)
    ),
    cmd!(
        "select_line_start",
        Select,
        "Extend the selection to the start of the line",
        |m| m.move_line_start(true)
    ),
    cmd!(
        "select_line_end",
        Select,
        "Extend the selection to the end of the line",
        |m| m.move_line_end(true)
    ),
    cmd!(
        "select_page_up",
        Select,
        "Extend the selection a page up",
        |m| m.page(false, true)
    ),
    cmd!(
        "select_page_down",
        Select,
        "Extend the selection a page down",
        |m| m.page(true, true)
    ),
    cmd!(
        "select_doc_start",
        Select,
        "Extend the selection to the start of the document",
        |m| m.move_to(0, true)
    ),
    cmd!(
        "select_doc_end",
        Select,
        "Extend the selection to the end of the document",
        |m| { m.move_to(m.doc.len(), true) }
    ),
    cmd!(
        "find",
        Search,
        "Find (Enter / F3: next, Shift-Enter / Shift-F3: previous, Esc: close)",
        open_find
    ),
    cmd!("find_next", Search, "Find the next match", |m| m
        .find_again(Direction::Forward)),
    cmd!("find_prev", Search, "Find the previous match", |m| m
        .find_again(Direction::Backward)),
    cmd!("goto_line", Search, "Go to a line number", |m| {
        m.mode = Mode::Prompt(Prompt::Goto {
            input: String::new(),
        })
    }),
    cmd!(
        "show_ticket",
        Share,
        "Show the ticket others join with (and copy it)",
        show_ticket
    ),
    cmd!(
        "show_peers",
        Share,
        "Show who is here and how they are connected",
        |m| m.mode = Mode::Popup(Popup::Peers)
    ),
];

/// The command called `name`.
pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// Runs the command called `name`; false if there is none.
pub fn run(model: &mut Model, name: &str) -> bool {
    let Some(cmd) = find(name) else { return false };
    // Any command other than erasing ends the current undo group (typing after moving the
    // cursor is a new step).
    if !matches!(cmd.name, "delete_backward" | "delete_forward") {
        model.undo.break_group();
    }
    (cmd.run)(model);
    true
}

fn quit(m: &mut Model) {
    if m.is_dirty() {
        m.mode = Mode::Popup(Popup::ConfirmQuit);
    } else {
        m.emit(Effect::Quit);
        m.quit = true;
    }
}

fn open_find(m: &mut Model) {
    let origin = m.anchor_at(m.selection_range().start);
    m.mode = Mode::Prompt(Prompt::Find {
        query: String::new(),
        origin,
        failed: false,
    });
}

fn show_ticket(m: &mut Model) {
    if let Ok(ticket) = m.sync.ticket.clone() {
        m.emit(Effect::Clipboard(ticket));
    }
    m.mode = Mode::Popup(Popup::Ticket);
}
