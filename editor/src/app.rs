//! The runtime: one loop that owns the document (in the [`Model`]) and the sync [`Session`]
//! (none for a read-only view). It selects over terminal events, the session (network, store,
//! file changes, timers) and a slow tick; turns each into a [`Msg`] for [`update`]; carries
//! out the [`Effect`]s (local ops to the session, presence, saving, the clipboard); and draws
//! once per batch: every terminal event already waiting is handled before the frame. When
//! nothing waits and the syntax highlighting is behind the view, it does a slice of that.
//!
//! Terminal input is read on a thread of its own that blocks in `crossterm::event::read` and
//! hands each event over a channel, so the loop takes every event read so far at once.
//! (crossterm's `EventStream` gave one event per wake-up through a helper thread, and its
//! default input source stopped reading mid-burst: a paste typed as keys showed only its
//! first 1,024 or 2,048 bytes until the next key press.)

use std::collections::VecDeque;
use std::io::Write;
use std::time::Duration;

use crossterm::clipboard::CopyToClipboard;
use crossterm::event::Event as TermEvent;
use crossterm::style::Print;
use sync::proto::OneDoc;
use sync::{DocId, Session};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::model::{Level, Mode, Model, Popup};
use crate::msg::{Effect, Msg};
use crate::terminal::TerminalGuard;
use crate::update::update;
use crate::view::{open_ticket, ticket_rows, view};

/// How often status messages fade and the ticket is refreshed.
const TICK: Duration = Duration::from_millis(500);
/// While editing, the undo history is kept in the store at most this often (and at quit), so
/// a crash loses at most this much of it (never text).
const KEEP_UNDO_EVERY: Duration = Duration::from_secs(5);
/// Terminal events handled at most before a frame is drawn (a paste typed as keystrokes can
/// be thousands; each batch still ends with a frame).
const MAX_BATCH: usize = 4096;

/// What the loop syncs the document through: one document's [`Session`], or a shared
/// folder's (see [`crate::workspace`]). Every call that may change the document gets the
/// model; what the sync layer reports comes back as messages.
pub(crate) trait Link {
    /// What [`Link::next`] waited for.
    type Wake;
    /// Shows our cursor to peers from the start; news to show.
    fn start(&mut self, model: &mut Model) -> Vec<Msg>;
    /// Waits for the next thing to handle (cancel-safe).
    async fn next(&mut self) -> Self::Wake;
    /// Handles what [`Link::next`] waited for.
    fn handle(&mut self, model: &mut Model, wake: Self::Wake) -> Vec<Msg>;
    /// Shares the user's ops (already applied to the document).
    fn local(&mut self, model: &mut Model, ops: Vec<crdt_text::Op>) -> Vec<Msg>;
    /// Shows this user's presence to the peers.
    fn presence(&mut self, model: &mut Model) -> Vec<Msg>;
    /// Carries out [`Effect::Save`], [`Effect::SaveAnyway`] or [`Effect::SaveAs`].
    fn save(&mut self, model: &mut Model, effect: Effect) -> Vec<Msg>;
    /// Carries out [`Effect::Open`].
    fn open(&mut self, model: &mut Model, path: String) -> Vec<Msg>;
    /// Before each frame: what the open panel or the status line reads from the session.
    fn refresh(&mut self, model: &mut Model);
    /// The slow tick: the ticket, keeping the undo history.
    fn tick(&mut self, model: &mut Model);
    /// After the last frame: keeps what the next run needs and closes the session.
    async fn close(self, model: &mut Model) -> anyhow::Result<()>;
}

/// The document the editor has open in the session.
#[derive(Debug)]
pub struct Open {
    /// The session.
    pub session: Session,
    /// The document's id in it.
    pub id: DocId,
}

impl Open {
    fn docs<'a>(&self, model: &'a mut Model) -> OneDoc<'a> {
        OneDoc {
            id: self.id,
            doc: &mut model.doc,
        }
    }

    fn events(events: Vec<sync::Event>) -> Vec<Msg> {
        events.into_iter().map(Msg::from).collect()
    }
}

impl Link for (Open, UndoKept) {
    type Wake = sync::Wake;

    fn start(&mut self, model: &mut Model) -> Vec<Msg> {
        let (open, _) = self;
        model.sync.network = open.session.network().clone();
        model.sync.status = open.session.status(&open.id);
        model.sync.ticket = ticket(&open.session, open.id);
        self.presence(model)
    }

    async fn next(&mut self) -> sync::Wake {
        self.0.session.next().await
    }

    fn handle(&mut self, model: &mut Model, wake: sync::Wake) -> Vec<Msg> {
        let open = &mut self.0;
        let mut docs = open.docs(model);
        Open::events(open.session.handle(&mut docs, wake))
    }

    fn local(&mut self, model: &mut Model, ops: Vec<crdt_text::Op>) -> Vec<Msg> {
        let open = &mut self.0;
        let id = open.id;
        Open::events(open.session.local(&mut open.docs(model), id, ops))
    }

    fn presence(&mut self, model: &mut Model) -> Vec<Msg> {
        let open = &mut self.0;
        let me = model.presence();
        let id = open.id;
        Open::events(
            open.session
                .set_presence(&mut open.docs(model), id, Some(me)),
        )
    }

    fn save(&mut self, model: &mut Model, effect: Effect) -> Vec<Msg> {
        let Open { session, id } = &mut self.0;
        let id = *id;
        if let Effect::SaveAs(name) = effect {
            // A bare name goes beside the document (the prompt starts with its name); a path
            // is taken as it is.
            let file = match session.file(&id).and_then(|f| f.parent()) {
                Some(folder) if name.is_relative() => folder.join(name),
                _ => name,
            };
            session.save_as(id, &model.doc, file);
        } else if effect == Effect::SaveAnyway {
            session.save_anyway(id, &model.doc);
        } else {
            session.save(id, &model.doc);
        }
        Vec::new()
    }

    fn open(&mut self, model: &mut Model, _path: String) -> Vec<Msg> {
        model.notify(
            Level::Info,
            "Only a shared folder has other files to open: `duet DIR` opens one",
        );
        Vec::new()
    }

    fn refresh(&mut self, model: &mut Model) {
        if let Mode::Popup(Popup::Peers { .. }) = &model.mode {
            model.sync.panel = self.0.session.peers(&self.0.id);
        }
    }

    fn tick(&mut self, model: &mut Model) {
        let (Open { session, id }, kept) = self;
        model.sync.ticket = ticket(session, *id);
        if kept.due(model) {
            session.keep_editor_state(*id, model.editor_state());
        }
    }

    async fn close(self, model: &mut Model) -> anyhow::Result<()> {
        let (Open { mut session, id }, _) = self;
        // The undo history and the version seen, for the next run (before the store closes).
        session.keep_editor_state(id, model.editor_state());
        let shutdown = session
            .shutdown(&mut OneDoc {
                id,
                doc: &mut model.doc,
            })
            .await;
        shutdown.map_err(|e| anyhow::anyhow!("while closing the document: {e}"))
    }
}

/// When the undo history was last kept in the store: it is kept again at most every
/// [`KEEP_UNDO_EVERY`] while it changes.
#[derive(Debug)]
pub(crate) struct UndoKept(u64, std::time::Instant);

impl Default for UndoKept {
    fn default() -> Self {
        UndoKept(0, std::time::Instant::now())
    }
}

impl UndoKept {
    pub(crate) fn new(model: &Model) -> Self {
        UndoKept(model.undo.changes(), std::time::Instant::now())
    }

    /// Whether to keep it now (and then counts it as kept).
    pub(crate) fn due(&mut self, model: &Model) -> bool {
        let due = model.undo.changes() != self.0 && self.1.elapsed() >= KEEP_UNDO_EVERY;
        if due {
            *self = UndoKept::new(model);
        }
        due
    }
}

/// Runs the editor until the user quits, then shuts the session down (flushing the store).
/// Without a session the document is only shown (a read-only view).
pub async fn run(model: Model, open: Option<Open>) -> anyhow::Result<()> {
    let link = open.map(|open| (open, UndoKept::new(&model)));
    run_with(model, link, Vec::new()).await
}

/// Runs the editor on `link` until the user quits, then closes it.
/// `first`: messages to handle before anything else.
pub(crate) async fn run_with<L: Link>(
    mut model: Model,
    mut link: Option<L>,
    first: Vec<Msg>,
) -> anyhow::Result<()> {
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    let mut pending = VecDeque::from([Msg::Resize(size.width, size.height)]);
    if let Some(link) = link.as_mut() {
        pending.extend(link.start(&mut model));
    }
    pending.extend(first);
    let result = drive(&mut model, link.as_mut(), &mut guard, pending).await;
    drop(guard);
    let closed = match link {
        Some(link) => link.close(&mut model).await,
        None => Ok(()),
    };
    result?;
    closed
}

/// The loop: handles what is pending, draws, waits for the next thing.
async fn drive<L: Link>(
    model: &mut Model,
    mut link: Option<&mut L>,
    guard: &mut TerminalGuard,
    mut pending: VecDeque<Msg>,
) -> anyhow::Result<()> {
    let mut terminal = spawn_input()?;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Edits made now are recorded at this time (the document keeps it coarse).
        model.doc.set_time(sync::store::unix_now());
        // Handle everything that is ready before drawing once.
        while let Some(msg) = pending.pop_front() {
            let effects = update(model, msg);
            run_effects(model, link.as_deref_mut(), effects, &mut pending);
        }
        if model.quit {
            return Ok(());
        }
        if let Some(l) = link.as_deref_mut() {
            l.refresh(model);
        }
        guard.terminal.draw(|frame| view(model, frame))?;
        write_ticket(model, guard)?;
        let idle = model.highlight_is_behind();
        let wake = async {
            match link.as_deref_mut() {
                Some(l) => Some(l.next().await),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            event = terminal.recv() => {
                let Some(event) = event else {
                    return Ok(());
                };
                pending.extend(term_msg(event?));
                // Take every event the terminal already has, then draw once.
                while pending.len() < MAX_BATCH
                    && let Ok(event) = terminal.try_recv()
                {
                    pending.extend(term_msg(event?));
                }
            }
            Some(wake) = wake => {
                if let Some(l) = link.as_deref_mut() {
                    pending.extend(l.handle(model, wake));
                }
            }
            _ = tick.tick() => {
                pending.push_back(Msg::Tick);
                if let Some(l) = link.as_deref_mut() {
                    l.tick(model);
                }
            }
            () = std::future::ready(()), if idle => pending.push_back(Msg::Idle),
        }
    }
}

/// Starts the thread that reads the terminal: every event, as soon as it is read, or the
/// error that ended the reading.
fn spawn_input() -> anyhow::Result<UnboundedReceiver<anyhow::Result<TermEvent>>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("terminal input".into())
        .spawn(move || {
            loop {
                let event = crossterm::event::read()
                    .map_err(|e| anyhow::anyhow!("cannot read the terminal: {e}"));
                let failed = event.is_err();
                // The loop has ended (the editor is closing) or the terminal failed.
                if tx.send(event).is_err() || failed {
                    break;
                }
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot start reading the terminal: {e}"))?;
    Ok(rx)
}

/// While the ticket popup is open: writes the ticket again over its rows as one run of
/// text, so the terminal wraps it itself and a mouse selection across the rows copies it as
/// one line (cells drawn row by row would copy as several lines).
fn write_ticket(model: &Model, guard: &mut TerminalGuard) -> anyhow::Result<()> {
    let Some(ticket) = open_ticket(model) else {
        return Ok(());
    };
    let size = guard.terminal.size()?;
    let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    let (y, _) = ticket_rows(area, ticket);
    let out = guard.terminal.backend_mut();
    crossterm::queue!(
        out,
        crossterm::cursor::MoveTo(0, y),
        crossterm::style::SetAttribute(crossterm::style::Attribute::Bold),
        Print(ticket),
        crossterm::style::SetAttribute(crossterm::style::Attribute::Reset)
    )?;
    out.flush()?;
    Ok(())
}

/// The ticket others join with, or why there is none.
fn ticket(session: &Session, id: DocId) -> Result<String, String> {
    session
        .ticket(&id)
        .map(|t| t.to_string())
        .map_err(|e| e.to_string())
}

/// A terminal event as a message (focus changes and the like are ignored).
fn term_msg(event: TermEvent) -> Option<Msg> {
    match event {
        TermEvent::Key(key) => Some(Msg::Key(key)),
        TermEvent::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        TermEvent::Paste(text) => Some(Msg::Paste(text)),
        TermEvent::Resize(w, h) => Some(Msg::Resize(w, h)),
        TermEvent::FocusGained | TermEvent::FocusLost => None,
    }
}

/// Carries out effects in order; what the session reports back is queued as messages.
fn run_effects<L: Link>(
    model: &mut Model,
    mut link: Option<&mut L>,
    effects: Vec<Effect>,
    pending: &mut VecDeque<Msg>,
) {
    let mut ops = Vec::new();
    let mut presence = false;
    for effect in effects {
        match effect {
            Effect::Submit(op) => ops.push(op),
            Effect::Presence => presence = true,
            Effect::Clipboard(text) => {
                let mut out = std::io::stdout();
                if let Err(e) = crossterm::execute!(out, CopyToClipboard::to_clipboard_from(text)) {
                    model.notify(
                        Level::Warn,
                        format!("Cannot reach the system clipboard: {e}"),
                    );
                }
                let _ = out.flush();
            }
            Effect::Quit => model.quit = true,
            Effect::Save | Effect::SaveAnyway | Effect::SaveAs(_) => {
                let Some(l) = link.as_deref_mut() else {
                    model.notify(Level::Warn, "A read-only view cannot be saved");
                    continue;
                };
                send_ops(model, l, &mut ops, pending);
                pending.extend(l.save(model, effect));
            }
            Effect::Open(path) => {
                let Some(l) = link.as_deref_mut() else {
                    model.notify(Level::Warn, "A read-only view has no other files");
                    continue;
                };
                // The ops belong to the file on screen: they go before it changes.
                send_ops(model, l, &mut ops, pending);
                pending.extend(l.open(model, path));
                presence = false;
            }
        }
    }
    let Some(l) = link else {
        return;
    };
    send_ops(model, l, &mut ops, pending);
    if presence {
        pending.extend(l.presence(model));
    }
}

/// Hands the user's ops (already applied to the document) to the session.
fn send_ops<L: Link>(
    model: &mut Model,
    link: &mut L,
    ops: &mut Vec<crdt_text::Op>,
    pending: &mut VecDeque<Msg>,
) {
    if ops.is_empty() {
        return;
    }
    pending.extend(link.local(model, std::mem::take(ops)));
}
