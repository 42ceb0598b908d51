//! The editor's state: the document replica, this user's selection, the view's scroll
//! position, the other peers, and whatever popup or prompt is open.
//!
//! Positions that must survive other people's edits (the cursor, the selection's other end,
//! the first line on screen, remote cursors) are kept as crdt-text [`Anchor`]s, so a remote
//! insert above the cursor moves it along with the text instead of leaving it on the wrong
//! character.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crdt_text::{Anchor, Bias, Doc, VersionVector};
use ratatui::style::Color;

use sync::proto::{PresenceState, SyncStatus, Viewport};
use sync::{Network, PeerId, PeerView};

use crate::commands::Command;
use crate::highlight::Highlighter;
use crate::keymap::Keymap;
use crate::msg::Effect;
use crate::picker::{FolderFiles, Picker};
use crate::search::{self, MatchCache};
use crate::settings::Settings;
use crate::theme::Theme;
use crate::undo::UndoHistory;

/// This user's selection: `head` is where the cursor is, `tail` the other end (equal to
/// `head` when nothing is selected).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Selection {
    /// The fixed end.
    pub tail: Anchor,
    /// The moving end, where the cursor is drawn.
    pub head: Anchor,
}

impl Selection {
    /// The cursor at the start of the document, nothing selected.
    pub const START: Selection = Selection {
        tail: Anchor::START,
        head: Anchor::START,
    };
}

/// Who this user is to the others.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Identity {
    /// Display name shown beside this user's cursor on the other screens.
    pub name: String,
    /// Colour of this user's cursor and selection on the other screens.
    pub color: Color,
}

/// Where the view starts: a line (anchored to its first character, so remote edits above do
/// not scroll the view), a wrapped row within it, and (without soft wrap) the first column.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Scroll {
    /// The first character of the top line.
    pub top: Anchor,
    /// Which wrapped row of that line is the first on screen.
    pub row: usize,
    /// The first screen column shown (always 0 with soft wrap).
    pub col: usize,
}

impl Scroll {
    /// The view at the start of the document.
    pub const TOP: Scroll = Scroll {
        top: Anchor::START,
        row: 0,
        col: 0,
    };
}

/// Another person editing the document.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Peer {
    /// Their display name.
    pub name: String,
    /// Their colour.
    pub color: Color,
    /// Their selection, once they have shared it.
    pub selection: Option<Selection>,
    /// What their screen shows, once they have shared it.
    pub view: Option<Viewport>,
    /// Whether a verified connection to them carries this document now.
    pub here: bool,
    /// In a shared folder: the file they are in (its path), while they show it.
    pub file: Option<String>,
}

/// What the sync layer last said about the document and the network.
#[derive(Clone, PartialEq, Debug)]
pub struct SyncState {
    /// Whether duet is on the network.
    pub network: Network,
    /// The document's sync state.
    pub status: SyncStatus,
    /// The ticket others join with, or why there is none.
    pub ticket: Result<String, String>,
    /// The peers panel: read from the session before each frame while the panel is open.
    pub panel: Vec<PeerView>,
    /// How far joining a shared folder (or catching up with it) has come, while it runs.
    pub progress: Option<String>,
}

impl Default for SyncState {
    fn default() -> Self {
        SyncState {
            network: Network::Off,
            status: SyncStatus::default(),
            ticket: Err("duet runs offline".into()),
            panel: Vec::new(),
            progress: None,
        }
    }
}

/// Width of the blame view's column of names, with its trailing space.
pub const BLAME_WIDTH: usize = 12;

/// How long a status message stays, in ticks.
pub const MESSAGE_TICKS: u32 = 8;

/// Severity of a status message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Level {
    /// Something happened (a peer joined, the file was saved).
    Info,
    /// Something went wrong but nothing was lost.
    Warn,
    /// An action failed.
    Error,
}

/// A short message in the status line that fades after a few seconds.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Message {
    /// The text.
    pub text: String,
    /// Its severity (its colour).
    pub level: Level,
    /// Ticks until it disappears.
    pub ticks_left: u32,
}

/// The find prompt, and the replace prompt (which has a second field).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FindPrompt {
    /// What to find, typed so far.
    pub query: String,
    /// Replace mode: the replacement typed so far; `None` for a plain find.
    pub replacement: Option<String>,
    /// Whether the replacement field has the keyboard (else the query field).
    pub in_replacement: bool,
    /// Where the selection started when the prompt opened: the search starts there, and
    /// an emptied query returns there.
    pub origin: Anchor,
}

/// Replacing match by match: the current match is the selection.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Replacing {
    /// What is replaced.
    pub query: String,
    /// What replaces it.
    pub replacement: String,
    /// Where the walk started; it ends there after wrapping around once.
    pub stop: Anchor,
    /// Whether the walk has wrapped past the end of the document.
    pub wrapped: bool,
    /// Matches replaced so far.
    pub replaced: usize,
}

/// A one-line text prompt at the bottom of the screen.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Prompt {
    /// Incremental search, or the two fields of replace.
    Find(FindPrompt),
    /// Asking, for each match, whether to replace it.
    Replace(Replacing),
    /// Go to a line number.
    Goto {
        /// The digits typed so far.
        input: String,
    },
    /// Save under another file name.
    SaveAs {
        /// The name typed so far.
        input: String,
    },
}

/// A popup over the text.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Popup {
    /// The key bindings, generated from the command registry and the keymap.
    Help {
        /// First visible line of the help text.
        scroll: usize,
    },
    /// The ticket others use to join this document.
    Ticket,
    /// The peers and their connections; one of them is picked (to go to or follow).
    Peers {
        /// The picked row of the panel.
        selected: usize,
    },
    /// Quitting with changes not yet written to the plain file.
    ConfirmQuit,
    /// Saving would drop text the file held when duet found its store damaged.
    ConfirmDrop {
        /// Characters that would be lost.
        chars: usize,
        /// Lines they touch.
        lines: usize,
    },
    /// A report to read: what opening the document recovered, or what is wrong in the
    /// user's configuration files.
    Report {
        /// The title.
        title: String,
        /// The report, several lines.
        text: String,
        /// First visible line.
        scroll: usize,
    },
}

/// What has the keyboard.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Keys edit the text.
    Edit,
    /// A prompt is open at the bottom.
    Prompt(Prompt),
    /// A popup is open.
    Popup(Popup),
    /// The history view is open (its state is [`Model::history`]).
    History,
    /// The file picker is open (its state is [`Model::picker`]).
    Picker,
}

/// Why a file of a shared folder is being opened: to go to a peer there, or to follow one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arrival {
    /// Go to the peer's cursor.
    GoTo(PeerId),
    /// Follow the peer.
    Follow(PeerId),
}

/// The whole state of one editor.
#[derive(Debug)]
pub struct Model {
    /// This replica of the document.
    pub doc: Doc,
    /// The file name shown in the status line.
    pub file_name: String,
    /// This user's selection.
    pub sel: Selection,
    /// The screen column vertical motion tries to keep.
    pub goal_col: Option<usize>,
    /// The view's first row.
    pub scroll: Scroll,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// The other people editing, by id.
    pub peers: BTreeMap<PeerId, Peer>,
    /// This user.
    pub me: Identity,
    /// The internal clipboard (also sent to the system clipboard via OSC 52).
    pub clipboard: String,
    /// This user's own edits, for undo and redo.
    pub undo: UndoHistory,
    /// The document version the plain file holds; `None` when the file differs from the
    /// document (edits were kept in the store only, e.g. after quitting without saving).
    pub saved_version: Option<VersionVector>,
    /// Why the document cannot be edited (a read-only view), if it cannot.
    pub read_only: Option<String>,
    /// Tab width, indentation, soft wrap, line numbers.
    pub settings: Settings,
    /// What has the keyboard.
    pub mode: Mode,
    /// How queries are read (case, regular expression).
    pub search: search::Options,
    /// The last search query (F3 repeats it).
    pub last_search: Option<String>,
    /// The last replacement typed.
    pub last_replacement: String,
    /// The peer whose cursor the view follows.
    pub follow: Option<PeerId>,
    /// The peer last jumped to or picked in the peers panel (the next one to follow).
    pub picked: Option<PeerId>,
    /// What to do once the file being opened is on screen.
    pub arrive: Option<Arrival>,
    /// The transient status message.
    pub message: Option<Message>,
    /// What the sync layer last said.
    pub sync: SyncState,
    /// Key bindings.
    pub keymap: Keymap,
    /// Colours.
    pub theme: Theme,
    /// Set once the user has quit.
    pub quit: bool,
    /// Quit as soon as the pending save succeeds.
    pub quit_after_save: bool,
    /// The last command run, if nothing else happened since (consecutive cuts collect).
    pub(crate) last_command: Option<Command>,
    /// Effects produced by the current update, drained by [`crate::update::update`].
    pub(crate) outbox: Vec<Effect>,
    /// Whether the current update moved the cursor (so the view must follow it).
    pub(crate) reveal: bool,
    /// Layouts of recently shown lines.
    pub(crate) layouts: RefCell<crate::layout::LayoutCache>,
    /// Syntax highlighting, with its parse states and recently highlighted lines.
    pub(crate) highlight: RefCell<Highlighter>,
    /// The matches of the current search.
    pub(crate) matches: RefCell<MatchCache>,
    /// Whether the blame view is on.
    pub blame_on: bool,
    /// What others changed while this user was away, until visited or dismissed.
    pub away: Option<crate::away::Away>,
    /// The history view, while it is open.
    pub history: Option<Box<crate::past::HistoryView>>,
    /// The blame the view shows, computed after changes only.
    pub(crate) blame: crate::blame::BlameCache,
    /// The shared folder's files, when duet works in a folder (`None` for a single file).
    pub folder: Option<FolderFiles>,
    /// The file picker, while it is open.
    pub picker: Option<Box<Picker>>,
}

impl Model {
    /// A model showing `doc`, with the cursor at the start.
    pub fn new(
        doc: Doc,
        file_name: impl Into<String>,
        me: Identity,
        keymap: Keymap,
        theme: Theme,
    ) -> Self {
        let saved_version = Some(doc.version());
        let file_name = file_name.into();
        let highlight = RefCell::new(Highlighter::for_file(&file_name, &theme.syntax));
        Model {
            doc,
            file_name,
            sel: Selection::START,
            goal_col: None,
            scroll: Scroll::TOP,
            size: (80, 24),
            peers: BTreeMap::new(),
            me,
            clipboard: String::new(),
            undo: UndoHistory::default(),
            saved_version,
            read_only: None,
            settings: Settings::default(),
            mode: Mode::Edit,
            search: search::Options::default(),
            last_search: None,
            last_replacement: String::new(),
            follow: None,
            picked: None,
            arrive: None,
            message: None,
            sync: SyncState::default(),
            keymap,
            theme,
            quit: false,
            quit_after_save: false,
            last_command: None,
            outbox: Vec::new(),
            reveal: false,
            layouts: Default::default(),
            highlight,
            matches: Default::default(),
            blame_on: false,
            history: None,
            away: None,
            blame: Default::default(),
            folder: None,
            picker: None,
        }
    }

    /// What is kept in the store for the next run: the undo history and the version seen.
    pub fn editor_state(&self) -> sync::store::EditorState {
        let (undo, redo) = self.undo.kept();
        sync::store::EditorState {
            version: sync::store::EDITOR_STATE_VERSION,
            author: self.doc.author_of(self.doc.replica()).map(|a| a.id),
            seen: self.doc.version(),
            at: sync::store::unix_now(),
            undo,
            redo,
        }
    }

    /// Takes over what an earlier run kept (see [`Model::editor_state`]): the undo history,
    /// and the changes others made since, to show. Returns a note for the user when the
    /// kept state cannot be used.
    pub fn take_editor_state(&mut self, read: sync::store::EditorRead) -> Option<String> {
        use sync::store::EditorRead;
        match read {
            // Another user's stacks (the same store opened under another identity) are not
            // ours.
            EditorRead::Found(kept)
                if kept.author == self.doc.author_of(self.doc.replica()).map(|a| a.id) =>
            {
                self.undo = UndoHistory::from_kept(kept.undo, kept.redo);
                self.track_away(kept.seen, kept.at);
                None
            }
            EditorRead::Unreadable(why) => Some(why),
            EditorRead::Found(_) | EditorRead::Missing => None,
        }
    }

    /// The cursor position in chars.
    pub fn cursor(&self) -> usize {
        self.doc.resolve(&self.sel.head)
    }

    /// The selected range in chars (empty when nothing is selected).
    pub fn selection_range(&self) -> std::ops::Range<usize> {
        let a = self.doc.resolve(&self.sel.tail);
        let b = self.doc.resolve(&self.sel.head);
        a.min(b)..a.max(b)
    }

    /// Anchors a cursor position: it sticks to the character on its left, so text others
    /// insert exactly at the cursor lands after it.
    pub fn anchor_at(&self, pos: usize) -> Anchor {
        self.doc.anchor(pos, Bias::Left)
    }

    /// Puts the cursor at `pos`, extending the selection when `extend` (Shift held) or
    /// dropping it otherwise.
    pub fn set_cursor(&mut self, pos: usize, extend: bool) {
        let head = self.anchor_at(pos.min(self.doc.len()));
        self.sel = if extend {
            Selection {
                tail: self.sel.tail,
                head,
            }
        } else {
            Selection { tail: head, head }
        };
        self.reveal = true;
    }

    /// Selects `range`, with the cursor at its end.
    pub fn select(&mut self, range: std::ops::Range<usize>) {
        self.sel = Selection {
            tail: self.anchor_at(range.start),
            head: self.anchor_at(range.end),
        };
        self.reveal = true;
    }

    /// Whether the document differs from what was last written to the plain file.
    pub fn is_dirty(&self) -> bool {
        // A shared folder writes its files as they change.
        self.folder.is_none() && self.saved_version.as_ref() != Some(&self.doc.version())
    }

    /// Whether the editor shows a file of a shared folder.
    pub fn in_folder(&self) -> bool {
        self.folder.is_some()
    }

    /// Whether the syntax highlighting is still catching up with a far jump (the runtime
    /// then sends [`crate::msg::Msg::Idle`] when nothing else waits).
    pub fn highlight_is_behind(&self) -> bool {
        self.highlight.borrow().is_behind()
    }

    /// Names the document's file anew (after Save as): the status line and the syntax
    /// highlighting follow.
    pub fn set_file_name(&mut self, name: impl Into<String>) {
        self.file_name = name.into();
        self.highlight = RefCell::new(Highlighter::for_file(&self.file_name, &self.theme.syntax));
    }

    /// This user's name, colour, cursor, selection and the top of the view, as the peers are
    /// shown them.
    pub fn presence(&self) -> PresenceState {
        let (head, tail) = (self.sel.head, self.sel.tail);
        PresenceState {
            name: self.me.name.clone(),
            color: crate::theme::color_to_rgb(self.me.color),
            cursor: head,
            selection: (tail != head).then_some((tail, head)),
            view: Some(Viewport {
                top: self.scroll.top,
                rows: u32::try_from(self.text_height()).unwrap_or(u32::MAX),
            }),
        }
    }

    /// Queues an effect for the runtime.
    pub fn emit(&mut self, effect: Effect) {
        self.outbox.push(effect);
    }

    /// Shows a short status message.
    pub fn notify(&mut self, level: Level, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            level,
            ticks_left: MESSAGE_TICKS,
        });
    }

    /// Rows available for text (the terminal minus the status line, an open prompt, the
    /// blame view's legend and the summary of changes made while away).
    pub fn text_height(&self) -> usize {
        let chrome = 1
            + usize::from(matches!(self.mode, Mode::Prompt(_)))
            + usize::from(self.blame_on)
            + usize::from(self.away_shown());
        usize::from(self.size.1).saturating_sub(chrome).max(1)
    }

    /// Width of the gutter: the blame view's names, then the line numbers, each with a
    /// trailing space (0 with both off).
    pub fn gutter_width(&self) -> usize {
        self.blame_width() + self.numbers_width()
    }

    /// Width of the blame view's column of names (0 with the view off).
    pub fn blame_width(&self) -> usize {
        if self.blame_on { BLAME_WIDTH } else { 0 }
    }

    /// Width of the line numbers with their trailing space (0 with line numbers off).
    pub fn numbers_width(&self) -> usize {
        if !self.settings.line_numbers {
            return 0;
        }
        let digits = self.doc.line_count().max(1).ilog10() as usize + 1;
        digits.max(3) + 1
    }

    /// The blame of the current text (computed only after changes; see [`crate::blame`]).
    pub fn blame_view(&self) -> std::rc::Rc<crate::blame::BlameView> {
        self.blame.get(&self.doc, &self.theme)
    }

    /// Columns available for text.
    pub fn text_width(&self) -> usize {
        usize::from(self.size.0)
            .saturating_sub(self.gutter_width())
            .max(2)
    }

    /// The width lines are laid out at: the text width with soft wrap, unbounded without.
    pub fn wrap_width(&self) -> usize {
        if self.settings.soft_wrap {
            self.text_width()
        } else {
            usize::MAX
        }
    }
}
