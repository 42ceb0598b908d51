//! A shared folder in the editor (`duet DIR`): the folder's session, the file on screen and
//! the files parked behind it, driven by the editor's loop (as its `Link` to the sync layer).
//!
//! The folder's session holds every file's document; the one on screen is taken out into the
//! model and lent back for every session call
//! ([`FolderSession::lend`](sync::share::FolderSession::lend)), so the editor and the folder
//! share one replica per file. Files are written to disk by the session as they change (the
//! editor never has unsaved files in a folder).

use std::collections::HashMap;

use sync::proto::PresenceState;
use sync::share::{FolderEvent, FolderSession, FolderWake};
use sync::{DocId, Event, Network};

use crate::app::{Link, UndoKept};
use crate::buffers::Parked;
use crate::model::{Level, Mode, Model, Popup};
use crate::msg::{Effect, FolderNews, Msg};
use crate::picker::FolderFiles;
use crate::settings::Config;

/// How many recently opened files are remembered (the picker lists them first).
const RECENT: usize = 50;

/// A shared folder open in the editor.
#[derive(Debug)]
pub struct Workspace {
    session: FolderSession,
    network: Network,
    config: Config,
    /// The file on screen (its document is the model's).
    current: Option<DocId>,
    parked: HashMap<DocId, Parked>,
    /// Paths opened, most recent first.
    recent: Vec<String>,
    /// When the undo history of the file on screen was last kept.
    kept: UndoKept,
}

impl Workspace {
    /// The editor's side of `session`; `config` gives each file's settings. Also returns a
    /// note for the user if the files opened last time could not be read.
    pub fn new(
        session: FolderSession,
        network: Network,
        config: Config,
    ) -> (Workspace, Option<String>) {
        let (recent, note) = match session.recent() {
            Ok(recent) => (recent, None),
            Err(e) => (
                Vec::new(),
                Some(format!("The list of recent files is lost: {e}")),
            ),
        };
        let workspace = Workspace {
            session,
            network,
            config,
            current: None,
            parked: HashMap::new(),
            recent,
            kept: UndoKept::default(),
        };
        (workspace, note)
    }

    /// Runs the editor on the folder until the user quits, showing `first` (a path in the
    /// folder) or, without one, the file picker; then closes the folder's session.
    pub async fn run(mut self, mut model: Model, first: Option<String>) -> anyhow::Result<()> {
        let mut pending = Vec::new();
        model.set_folder(Some(self.folder_files()));
        match first {
            Some(path) => pending.extend(self.open(&mut model, path)),
            None => model.open_picker(),
        }
        crate::app::run_with(model, Some(self), pending).await
    }

    /// Runs `f` with the file on screen lent back to the session.
    fn lend<R>(&mut self, model: &mut Model, f: impl FnOnce(&mut FolderSession) -> R) -> R {
        match self.current {
            Some(id) => self.session.lend(id, &mut model.doc, f),
            None => f(&mut self.session),
        }
    }

    /// The folder's files as the picker lists them.
    fn folder_files(&self) -> FolderFiles {
        FolderFiles {
            files: self.session.paths(),
            skipped: self
                .session
                .skipped()
                .map(|(path, why)| (path.to_string(), why.to_string()))
                .collect(),
            recent: self.recent_for_picker(),
        }
    }

    /// The recent files as the picker orders them: the file on screen last of them, so that
    /// the previous file comes first (Ctrl-E, Enter goes back to it).
    fn recent_for_picker(&self) -> Vec<String> {
        let mut recent = self.recent.clone();
        let on_screen = self.current.and_then(|id| self.session.path_of(&id));
        if on_screen.is_some_and(|p| recent.first().is_some_and(|r| r == p)) {
            recent.rotate_left(1);
        }
        recent
    }

    /// Sorts the session's events into messages: news of the file on screen as for one
    /// document, where peers are, and the folder's own news.
    fn news(&mut self, model: &mut Model, events: Vec<FolderEvent>) -> Vec<Msg> {
        let folder = self.session.id();
        let mut out = Vec::new();
        // The picker lists the files anew when the tree changed.
        if events.iter().any(|e| {
            matches!(
                e,
                FolderEvent::Tree(_) | FolderEvent::Skipped(_) | FolderEvent::PickedUp { .. }
            )
        }) {
            model.set_folder(Some(self.folder_files()));
        }
        for event in events {
            let msg = match event {
                FolderEvent::Sync(event) => {
                    self.file_news(event, &mut out);
                    continue;
                }
                FolderEvent::PeerJoined { peer, name } => Msg::from(Event::PeerJoined {
                    doc: folder,
                    peer,
                    name,
                }),
                FolderEvent::PeerLeft { peer, why } => Msg::from(Event::PeerLeft {
                    doc: folder,
                    peer,
                    why,
                }),
                FolderEvent::Refused { peer, error } => Msg::from(Event::Refused {
                    doc: None,
                    peer,
                    error,
                }),
                FolderEvent::Unreachable { peer, error } => {
                    Msg::from(Event::Unreachable { peer, error })
                }
                other => Msg::Folder(Box::new(FolderNews::Event(other))),
            };
            out.push(msg);
        }
        // The file on screen may have been renamed or moved.
        if let Some(path) = self.current.and_then(|id| self.session.path_of(&id))
            && path != model.file_name
        {
            let path = path.to_string();
            rename_recent(&mut self.recent, &model.file_name, &path);
            model.set_file_name(path);
        }
        out
    }

    /// News of one file's document.
    fn file_news(&self, event: Event, out: &mut Vec<Msg>) {
        let on_screen = |doc: &DocId| Some(*doc) == self.current;
        let path = |doc: &DocId| self.session.path_of(doc).map(str::to_string);
        match event {
            Event::Presence {
                doc,
                peer,
                presence,
            } => {
                if let Some(file) = path(&doc) {
                    out.push(Msg::Folder(Box::new(match &presence {
                        Some(p) => FolderNews::PeerIn {
                            peer,
                            file,
                            name: Some(p.name.clone()),
                        },
                        None => FolderNews::PeerOut { peer, file },
                    })));
                }
                if on_screen(&doc) {
                    out.push(Msg::from(Event::Presence {
                        doc,
                        peer,
                        presence,
                    }));
                }
            }
            // Leaving a file is not leaving the folder.
            Event::PeerLeft { doc, peer, .. } => {
                if let Some(file) = path(&doc) {
                    out.push(Msg::Folder(Box::new(FolderNews::PeerOut { peer, file })));
                }
                if on_screen(&doc) {
                    out.push(Msg::from(Event::Presence {
                        doc,
                        peer,
                        presence: None,
                    }));
                }
            }
            Event::Remote { doc, .. } | Event::Diverged { doc, .. } if on_screen(&doc) => {
                out.push(Msg::from(event));
            }
            _ => {}
        }
    }

    /// What the model shows of the folder: its files and the sync state.
    fn show_folder(&self, model: &mut Model) {
        model.sync.status = self.session.status();
        model.sync.progress = self.session.progress().map(|p| p.to_string());
    }
}

/// Renames `from` to `to` in the recent files.
fn rename_recent(recent: &mut [String], from: &str, to: &str) {
    for path in recent.iter_mut().filter(|p| *p == from) {
        *path = to.to_string();
    }
}

impl Link for Workspace {
    type Wake = FolderWake;

    fn start(&mut self, model: &mut Model) -> Vec<Msg> {
        model.sync.network = self.network.clone();
        model.sync.ticket = self.ticket();
        self.show_folder(model);
        Vec::new()
    }

    async fn next(&mut self) -> FolderWake {
        self.session.next().await
    }

    fn handle(&mut self, model: &mut Model, wake: FolderWake) -> Vec<Msg> {
        let events = self.lend(model, |s| s.handle(wake));
        let msgs = self.news(model, events);
        self.show_folder(model);
        msgs
    }

    fn local(&mut self, model: &mut Model, ops: Vec<crdt_text::Op>) -> Vec<Msg> {
        let Some(id) = self.current else {
            return Vec::new();
        };
        let events = self.lend(model, |s| s.local(id, ops));
        self.news(model, events)
    }

    fn presence(&mut self, model: &mut Model) -> Vec<Msg> {
        let Some(id) = self.current else {
            return Vec::new();
        };
        let me = model.presence();
        let events = self.lend(model, |s| s.set_presence(id, Some(me)));
        self.news(model, events)
    }

    fn save(&mut self, model: &mut Model, effect: Effect) -> Vec<Msg> {
        if let Effect::SaveAs(_) = effect {
            model.notify(
                Level::Info,
                "In a shared folder, rename the file on disk (e.g. with mv): duet shares the \
                 rename",
            );
            return Vec::new();
        }
        let events = self.lend(model, FolderSession::save_all_now);
        let failed = events.iter().any(|e| matches!(e, FolderEvent::Problem(_)));
        let msgs = self.news(model, events);
        if !failed {
            model.notify(
                Level::Info,
                format!(
                    "Saved {} (a shared folder's files are written as they change)",
                    model.file_name
                ),
            );
        }
        msgs
    }

    fn open(&mut self, model: &mut Model, path: String) -> Vec<Msg> {
        let Some(id) = self.session.doc_of(&path) else {
            model.notify(
                Level::Warn,
                format!("{path} is not a shared file of this folder (renamed or deleted?)"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        if self.current != Some(id) {
            // Leave the file on screen: hide our cursor there, keep its undo history, park
            // it, give its document back.
            if let Some(old) = self.current {
                let events = self.lend(model, |s| s.set_presence(old, None));
                out.extend(self.news(model, events));
                self.keep_editor(model);
            }
            let Some(doc) = self.session.take_doc(&id) else {
                model.notify(Level::Error, format!("{path} has no document here"));
                return out;
            };
            let (state, first_time) = match self.parked.remove(&id) {
                Some(state) => (state, false),
                None => {
                    let settings = self.config.settings_for(&path, &doc);
                    (Parked::fresh(model, &doc, path.clone(), settings), true)
                }
            };
            let (old_doc, old_state) = model.switch_buffer(doc, state);
            // Opened for the first time in this run: the undo history of the last one, and
            // what others changed since.
            if first_time && let Some(note) = model.take_editor_state(self.session.read_editor(&id))
            {
                model.notify(Level::Warn, note);
            }
            self.kept = UndoKept::new(model);
            if let Some(old) = self.current.replace(id) {
                self.session.put_doc(old, old_doc);
                self.parked.insert(old, old_state);
            }
            if model.file_name != path {
                model.set_file_name(path.clone());
            }
            // The peers already in this file.
            for (peer, presence) in self.session.presences(&id) {
                out.push(presence_msg(id, peer, presence));
            }
            out.extend(self.presence(model));
        }
        self.recent.retain(|p| *p != path);
        self.recent.insert(0, path);
        self.recent.truncate(RECENT);
        if let Err(e) = self.session.keep_recent(&self.recent) {
            model.notify(
                Level::Warn,
                format!("Cannot keep the list of recent files: {e}"),
            );
        }
        if matches!(model.mode, Mode::Popup(Popup::Peers { .. })) {
            model.mode = Mode::Edit;
        }
        out.push(Msg::Folder(Box::new(FolderNews::Opened)));
        out
    }

    fn refresh(&mut self, model: &mut Model) {
        if let Mode::Popup(Popup::Peers { .. }) = &model.mode {
            model.sync.panel = self.session.peers();
        }
    }

    fn tick(&mut self, model: &mut Model) {
        model.sync.ticket = self.ticket();
        self.show_folder(model);
        if self.kept.due(model) {
            self.keep_editor(model);
        }
    }

    async fn close(mut self, model: &mut Model) -> anyhow::Result<()> {
        self.keep_editor(model);
        if let Some(id) = self.current.take() {
            let replica = model.doc.replica();
            let doc = std::mem::replace(&mut model.doc, crdt_text::Doc::new(replica));
            self.session.put_doc(id, doc);
        }
        for event in self.session.shutdown().await {
            if let FolderEvent::Problem(what) = event {
                tracing::error!("while closing the folder: {what}");
                anyhow::bail!("while closing the folder: {what}");
            }
        }
        Ok(())
    }
}

impl Workspace {
    /// Keeps the undo history of the file on screen for the next run (a failure loses only
    /// that, and is told).
    fn keep_editor(&self, model: &mut Model) {
        let Some(id) = self.current else { return };
        if let Err(e) = self.session.keep_editor(&id, &model.editor_state()) {
            model.notify(Level::Warn, format!("Cannot keep the undo history: {e}"));
        }
    }

    fn ticket(&self) -> Result<String, String> {
        match (self.session.ticket(), &self.network) {
            (Some(t), _) => Ok(t.to_string()),
            (None, Network::Unavailable(why)) => Err(why.clone()),
            (None, _) => Err("duet runs with --offline; restart it without to share".into()),
        }
    }
}

fn presence_msg(doc: DocId, peer: sync::PeerId, presence: PresenceState) -> Msg {
    Msg::from(Event::Presence {
        doc,
        peer,
        presence: Some(presence),
    })
}
