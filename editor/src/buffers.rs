//! Buffers: in a shared folder the editor has several files open and shows one. The model
//! holds the shown file's document and state; switching files parks them ([`Parked`]) and
//! puts another file's on screen, so each file keeps its cursor, scroll, undo history and
//! caches.

use std::cell::RefCell;

use crdt_text::{Doc, VersionVector};

use crate::highlight::Highlighter;
use crate::model::{Mode, Model, Scroll, Selection};
use crate::settings::Settings;
use crate::undo::UndoHistory;

/// A file's editor state while another file is on screen (its document stays with the
/// folder's session).
#[derive(Debug)]
pub struct Parked {
    file_name: String,
    sel: Selection,
    goal_col: Option<usize>,
    scroll: Scroll,
    undo: UndoHistory,
    saved_version: Option<VersionVector>,
    read_only: Option<String>,
    settings: Settings,
    layouts: RefCell<crate::layout::LayoutCache>,
    highlight: RefCell<Highlighter>,
    matches: RefCell<crate::search::MatchCache>,
    blame: crate::blame::BlameCache,
    away: Option<crate::away::Away>,
}

impl Parked {
    /// The state of a file opened for the first time: cursor and view at the start.
    pub fn fresh(model: &Model, doc: &Doc, file_name: String, settings: Settings) -> Parked {
        let highlight = RefCell::new(Highlighter::for_file(&file_name, &model.theme.syntax));
        Parked {
            file_name,
            sel: Selection::START,
            goal_col: None,
            scroll: Scroll::TOP,
            undo: UndoHistory::default(),
            saved_version: Some(doc.version()),
            read_only: None,
            settings,
            layouts: Default::default(),
            highlight,
            matches: Default::default(),
            blame: Default::default(),
            away: None,
        }
    }

    /// The file's path in the folder, as it was when parked.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }
}

impl Model {
    /// Puts `doc` on screen with its parked state, and returns the document and state of the
    /// file that was shown. Prompts, popups and the history view of the old file close;
    /// the peers' cursors are the new file's from now on (none until they are told).
    pub fn switch_buffer(&mut self, doc: Doc, state: Parked) -> (Doc, Parked) {
        let old_doc = std::mem::replace(&mut self.doc, doc);
        let old = Parked {
            file_name: std::mem::replace(&mut self.file_name, state.file_name),
            sel: std::mem::replace(&mut self.sel, state.sel),
            goal_col: std::mem::replace(&mut self.goal_col, state.goal_col),
            scroll: std::mem::replace(&mut self.scroll, state.scroll),
            undo: std::mem::replace(&mut self.undo, state.undo),
            saved_version: std::mem::replace(&mut self.saved_version, state.saved_version),
            read_only: std::mem::replace(&mut self.read_only, state.read_only),
            settings: std::mem::replace(&mut self.settings, state.settings),
            layouts: std::mem::replace(&mut self.layouts, state.layouts),
            highlight: std::mem::replace(&mut self.highlight, state.highlight),
            matches: std::mem::replace(&mut self.matches, state.matches),
            blame: std::mem::replace(&mut self.blame, state.blame),
            away: std::mem::replace(&mut self.away, state.away),
        };
        self.history = None;
        if matches!(self.mode, Mode::History | Mode::Prompt(_)) {
            self.mode = Mode::Edit;
        }
        self.last_command = None;
        for peer in self.peers.values_mut() {
            peer.selection = None;
            peer.view = None;
        }
        (old_doc, old)
    }
}
