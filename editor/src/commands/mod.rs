//! The command registry: every action a key can run, as a typed [`Command`] with its name
//! (used in keymap files), its section and its documentation (shown by the help screen).
//! The keymap binds keys to `Command` values — names are parsed once, when a keymap file is
//! loaded — and the help screen is generated from [`Command::ALL`], so the two cannot
//! disagree.

mod handlers;

use crate::model::Model;

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
    /// Finding, replacing and going places.
    Search,
    /// How the text is shown and indented.
    View,
    /// Working with others.
    Share,
    /// Who wrote what, and when.
    History,
}

impl Group {
    /// All sections, in help order.
    pub const ALL: [Group; 8] = [
        Group::File,
        Group::Edit,
        Group::Move,
        Group::Select,
        Group::Search,
        Group::View,
        Group::Share,
        Group::History,
    ];

    /// The section title.
    pub fn title(self) -> &'static str {
        match self {
            Group::File => "File",
            Group::Edit => "Edit",
            Group::Move => "Move",
            Group::Select => "Select",
            Group::Search => "Search and replace",
            Group::View => "View and indentation",
            Group::Share => "Collaborate",
            Group::History => "History",
        }
    }
}

/// Declares [`Command`]: one variant per command with its keymap name, help section, one-line
/// documentation and handler (as helix's `static_commands!` declares its commands).
macro_rules! static_commands {
    ($($variant:ident = $name:literal, $group:ident, $doc:literal, $run:expr;)*) => {
        /// A command a key can run. Keymaps hold these values; [`Command::from_name`] reads
        /// the names keymap files use.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum Command {
            $(#[doc = $doc] $variant,)*
        }

        impl Command {
            /// Every command, in help order.
            pub const ALL: &'static [Command] = &[$(Command::$variant,)*];

            /// The name used in keymap files.
            pub fn name(self) -> &'static str {
                match self {
                    $(Command::$variant => $name,)*
                }
            }

            /// What it does, in one line (help screen).
            pub fn doc(self) -> &'static str {
                match self {
                    $(Command::$variant => $doc,)*
                }
            }

            /// The section of the help screen it belongs to.
            pub fn group(self) -> Group {
                match self {
                    $(Command::$variant => Group::$group,)*
                }
            }

            fn handler(self) -> fn(&mut Model) {
                match self {
                    $(Command::$variant => $run,)*
                }
            }
        }
    };
}

use handlers as h;

static_commands! {
    OpenFile = "open_file", File,
        "Open another file of the shared folder: type parts of its path (fuzzy), ↑↓ pick, \
         Enter opens, Esc closes; recently opened files come first", Model::open_picker;
    Save = "save", File,
        "Write the document to its file (edits are kept in duet's store anyway)", h::save;
    SaveAs = "save_as", File,
        "Save under another file name (the document's store moves with it)", h::save_as;
    Quit = "quit", File,
        "Quit (asks first if the file has unsaved changes; nothing typed is lost)", h::quit;
    Help = "help", File, "Show this help", h::help;
    Cancel = "cancel", File, "Drop the selection (or stop following a peer)", h::cancel;
    Undo = "undo", Edit,
        "Undo your last edit (only yours: others' edits stay; kept across restarts)", h::undo;
    Redo = "redo", Edit, "Redo what you undid", h::redo;
    Copy = "copy", Edit, "Copy the selection (also to the system clipboard)", h::copy;
    Cut = "cut", Edit, "Cut the selection", Model::cut;
    CutLine = "cut_line", Edit,
        "Cut the current line (cuts in a row collect the lines for one paste)", Model::cut_line;
    Paste = "paste", Edit, "Paste", Model::paste;
    InsertNewline = "insert_newline", Edit,
        "Break the line (keeping its indentation)", Model::insert_newline;
    InsertTab = "insert_tab", Edit,
        "Indent: a tab, or spaces to the next tab stop (see the View settings)", Model::insert_indent;
    DeleteBackward = "delete_backward", Edit,
        "Delete the selection or the character before the cursor", Model::delete_backward;
    DeleteForward = "delete_forward", Edit,
        "Delete the selection or the character after the cursor", Model::delete_forward;
    DeleteWordBackward = "delete_word_backward", Edit,
        "Delete to the start of the word", Model::delete_word_backward;
    DeleteWordForward = "delete_word_forward", Edit,
        "Delete to the end of the word", Model::delete_word_forward;
    MoveLeft = "move_left", Move, "Left", |m| m.move_left(false);
    MoveRight = "move_right", Move, "Right", |m| m.move_right(false);
    MoveUp = "move_up", Move, "Up (by screen row)", |m| m.move_rows(-1, false);
    MoveDown = "move_down", Move, "Down (by screen row)", |m| m.move_rows(1, false);
    MoveWordLeft = "move_word_left", Move, "Previous word", |m| m.move_word_left(false);
    MoveWordRight = "move_word_right", Move, "Next word", |m| m.move_word_right(false);
    MoveLineStart = "move_line_start", Move,
        "Start of line (first non-blank, then column 1)", |m| m.move_line_start(false);
    MoveLineEnd = "move_line_end", Move, "End of line", |m| m.move_line_end(false);
    PageUp = "page_up", Move, "Page up", |m| m.page(false, false);
    PageDown = "page_down", Move, "Page down", |m| m.page(true, false);
    MoveDocStart = "move_doc_start", Move, "Start of document", |m| m.move_to(0, false);
    MoveDocEnd = "move_doc_end", Move, "End of document", |m| m.move_to(m.doc.len(), false);
    SelectAll = "select_all", Select, "Select everything", Model::select_all;
    SelectLeft = "select_left", Select, "Extend the selection left", |m| m.move_left(true);
    SelectRight = "select_right", Select, "Extend the selection right", |m| m.move_right(true);
    SelectUp = "select_up", Select, "Extend the selection up", |m| m.move_rows(-1, true);
    SelectDown = "select_down", Select, "Extend the selection down", |m| m.move_rows(1, true);
    SelectWordLeft = "select_word_left", Select,
        "Extend the selection to the previous word", |m| m.move_word_left(true);
    SelectWordRight = "select_word_right", Select,
        "Extend the selection to the next word", |m| m.move_word_right(true);
    SelectLineStart = "select_line_start", Select,
        "Extend the selection to the start of the line", |m| m.move_line_start(true);
    SelectLineEnd = "select_line_end", Select,
        "Extend the selection to the end of the line", |m| m.move_line_end(true);
    SelectPageUp = "select_page_up", Select,
        "Extend the selection a page up", |m| m.page(false, true);
    SelectPageDown = "select_page_down", Select,
        "Extend the selection a page down", |m| m.page(true, true);
    SelectDocStart = "select_doc_start", Select,
        "Extend the selection to the start of the document", |m| m.move_to(0, true);
    SelectDocEnd = "select_doc_end", Select,
        "Extend the selection to the end of the document", |m| m.move_to(m.doc.len(), true);
    Find = "find", Search,
        "Find (Enter / F3: next, Shift-Enter / Shift-F3 / ↑: previous, Esc: close)", h::find;
    FindNext = "find_next", Search, "Find the next match", h::find_next;
    FindPrev = "find_prev", Search, "Find the previous match", h::find_prev;
    Replace = "replace", Search,
        "Replace: type what to find, Enter, the replacement, Enter; then y replaces, \
         n skips, a replaces all (one undo step), Esc stops", h::replace;
    ToggleCase = "toggle_case", Search,
        "Cycle search case: smart (case-sensitive only with a capital), ignore, match", h::toggle_case;
    ToggleRegex = "toggle_regex", Search,
        "Search with a regular expression or for plain text", h::toggle_regex;
    GotoLine = "goto_line", Search, "Go to a line number", h::goto_line;
    ToggleSoftWrap = "toggle_soft_wrap", View,
        "Soft wrap long lines on or off (off: the view scrolls sideways)", h::toggle_soft_wrap;
    ToggleLineNumbers = "toggle_line_numbers", View, "Line numbers on or off", h::toggle_line_numbers;
    ToggleIndentStyle = "toggle_indent_style", View,
        "Indent with tabs or with spaces", h::toggle_indent_style;
    CycleTabWidth = "cycle_tab_width", View, "Tab width: 2, 4 or 8 columns", h::cycle_tab_width;
    ShowTicket = "show_ticket", Share,
        "Show the ticket others join with (and copy it)", h::show_ticket;
    ShowPeers = "show_peers", Share,
        "Peers: who is here and how they are connected; ↑↓ pick one, g go to, f follow",
        h::show_peers;
    GotoPeer = "goto_peer", Share,
        "Jump to a peer's cursor (again: the next peer)", h::goto_peer;
    FollowPeer = "follow_peer", Share,
        "Follow a peer: your view shows what their screen shows until you press a key", h::follow_peer;
    ToggleBlame = "toggle_blame", History,
        "Blame view on or off: each character in its author's colour, each line's author in \
         the margin, the cursor line's author and time below", h::toggle_blame;
    History = "history", History,
        "History view: PgUp/PgDn step through editing sessions, ←→ through a session's edits; \
         Enter restores the version shown (one undo step), Esc closes", Model::open_history;
    NextChange = "next_change", History,
        "Go to the next place others changed while you were away", |m| m.goto_away_change(true);
    PrevChange = "prev_change", History,
        "Go to the previous place others changed while you were away",
        |m| m.goto_away_change(false);
    DismissChanges = "dismiss_changes", History,
        "Stop highlighting what others changed while you were away", Model::dismiss_away;
}

impl Command {
    /// The command called `name` in keymap files.
    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// Runs the command.
    pub fn run(self, model: &mut Model) {
        // Any command other than erasing ends the current undo group (typing after moving the
        // cursor is a new step).
        if !matches!(self, Command::DeleteBackward | Command::DeleteForward) {
            model.undo.break_group();
        }
        (self.handler())(model);
        model.last_command = Some(self);
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
