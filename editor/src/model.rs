//! The editor's state: the document replica, this user's selection, the view's scroll
//! position, the other peers, and whatever popup or prompt is open.
//!
//! Positions that must survive other people's edits (the cursor, the selection's other end,
//! the first line on screen, remote cursors) are kept as crdt-text [`Anchor`]s, so a remote
//! insert above the cursor moves it along with the text instead of leaving it on the wrong
//! character.

use std::collections::BTreeMap;

use crdt_text::{Anchor, Bias, Doc, VersionVector};
use ratatui::style::Color;

use sync::proto::{PresenceState, SyncStatus};
use sync::{Network, PeerId, PeerView};

use crate::keymap::Keymap;
use crate::msg::Effect;
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

/// Who this user is to the others.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Identity {
    /// Display name shown beside this user's cursor on the other screens.
    pub name: String,
    /// Colour of this user's cursor and selection on the other screens.
    pub color: Color,
}

/// Where the view starts: a line (anchored to its first character, so remote edits above do
/// not scroll the view) and a wrapped row within it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Scroll {
    /// The first character of the top line.
    pub top: Anchor,
    /// Which wrapped row of that line is the first on screen.
    pub row: usize,
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
    /// Whether a verified connection to them carries this document now.
    pub here: bool,
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
}

impl Default for SyncState {
    fn default() -> Self {
        SyncState {
            network: Network::Off,
            status: SyncStatus::default(),
            ticket: Err("duet runs offline".into()),
            panel: Vec::new(),
        }
    }
}

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

/// A one-line text prompt at the bottom of the screen.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Prompt {
    /// Incremental search.
    Find {
        /// What is typed so far.
        query: String,
        /// Where the cursor was when the search began (Esc returns there... or stays on the
        /// match; see `update`).
        origin: Anchor,
        /// Whether the last search found nothing.
        failed: bool,
    },
    /// Go to a line number.
    Goto {
        /// The digits typed so far.
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
    /// The peers and their connections.
    Peers,
    /// Quitting with changes not yet written to the plain file.
    ConfirmQuit,
    /// Saving would drop text the file held when duet found its store damaged.
    ConfirmDrop {
        /// Characters that would be lost.
        chars: usize,
        /// Lines they touch.
        lines: usize,
    },
    /// What opening the document found wrong with its store, and what was recovered.
    Recovery {
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
    /// The document version last written to the plain file.
    pub saved_version: VersionVector,
    /// What has the keyboard.
    pub mode: Mode,
    /// The last search query (F3 repeats it).
    pub last_search: Option<String>,
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
    /// Effects produced by the current update, drained by [`crate::update::update`].
    pub(crate) outbox: Vec<Effect>,
    /// Whether the current update moved the cursor (so the view must follow it).
    pub(crate) reveal: bool,
    /// Layouts of recently shown lines.
    pub(crate) layouts: std::cell::RefCell<crate::layout::LayoutCache>,
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
        let saved_version = doc.version();
        Model {
            doc,
            file_name: file_name.into(),
            sel: Selection {
                tail: Anchor::START,
                head: Anchor::START,
            },
            goal_col: None,
            scroll: Scroll {
                top: Anchor::START,
                row: 0,
            },
            size: (80, 24),
            peers: BTreeMap::new(),
            me,
            clipboard: String::new(),
            undo: UndoHistory::default(),
            saved_version,
            mode: Mode::Edit,
            last_search: None,
            message: None,
            sync: SyncState::default(),
            keymap,
            theme,
            quit: false,
            quit_after_save: false,
            outbox: Vec::new(),
            reveal: false,
            layouts: Default::default(),
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
        self.doc.version() != self.saved_version
    }

    /// This user's name, colour, cursor and selection, as the peers are shown them.
    pub fn presence(&self) -> PresenceState {
        let (head, tail) = (self.sel.head, self.sel.tail);
        PresenceState {
            name: self.me.name.clone(),
            color: crate::theme::color_to_rgb(self.me.color),
            cursor: head,
            selection: (tail != head).then_some((tail, head)),
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

    /// Rows available for text (the terminal minus the status line and an open prompt).
    pub fn text_height(&self) -> usize {
        let chrome = 1 + usize::from(matches!(self.mode, Mode::Prompt(_)));
        usize::from(self.size.1).saturating_sub(chrome).max(1)
    }

    /// Width of the line-number gutter, including its trailing space.
    pub fn gutter_width(&self) -> usize {
        let digits = self.doc.line_count().max(1).ilog10() as usize + 1;
        digits.max(3) + 1
    }

    /// Columns available for text.
    pub fn text_width(&self) -> usize {
        usize::from(self.size.0)
            .saturating_sub(self.gutter_width())
            .max(2)
    }
}
