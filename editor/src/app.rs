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

/// The document the editor has open in the session.
#[derive(Debug)]
pub struct Open {
    /// The session.
    pub session: Session,
    /// The document's id in it.
    pub id: DocId,
}

/// Runs the editor until the user quits, then shuts the session down (flushing the store).
/// Without a session the document is only shown (a read-only view).
pub async fn run(mut model: Model, open: Option<Open>) -> anyhow::Result<()> {
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    let mut pending = VecDeque::from([Msg::Resize(size.width, size.height)]);
    let Some(Open { mut session, id }) = open else {
        let result = drive(&mut model, None, &mut guard, pending).await;
        drop(guard);
        return result;
    };
    model.sync.network = session.network().clone();
    model.sync.status = session.status(&id);
    model.sync.ticket = ticket(&session, id);
    // Show our cursor to peers from the start, not only once it first moves.
    let presence = model.presence();
    let events = session.set_presence(
        &mut OneDoc {
            id,
            doc: &mut model.doc,
        },
        id,
        Some(presence),
    );
    pending.extend(events.into_iter().map(Msg::from));
    let result = drive(&mut model, Some((&mut session, id)), &mut guard, pending).await;
    drop(guard);
    // The undo history and the version seen, for the next run (before the store closes).
    session.keep_editor_state(id, model.editor_state());
    let shutdown = session
        .shutdown(&mut OneDoc {
            id,
            doc: &mut model.doc,
        })
        .await;
    result?;
    shutdown.map_err(|e| anyhow::anyhow!("while closing the document: {e}"))
}

/// The loop: handles what is pending, draws, waits for the next thing.
async fn drive(
    model: &mut Model,
    mut session: Option<(&mut Session, DocId)>,
    guard: &mut TerminalGuard,
    mut pending: VecDeque<Msg>,
) -> anyhow::Result<()> {
    let mut terminal = spawn_input()?;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut kept = (model.undo.changes(), std::time::Instant::now());
    loop {
        // Edits made now are recorded at this time (the document keeps it coarse).
        model.doc.set_time(sync::store::unix_now());
        // Handle everything that is ready before drawing once.
        while let Some(msg) = pending.pop_front() {
            let effects = update(model, msg);
            run_effects(model, session.as_mut(), effects, &mut pending);
        }
        if model.quit {
            return Ok(());
        }
        if let (Mode::Popup(Popup::Peers { .. }), Some((s, id))) = (&model.mode, &session) {
            model.sync.panel = s.peers(id);
        }
        guard.terminal.draw(|frame| view(model, frame))?;
        write_ticket(model, guard)?;
        let idle = model.highlight_is_behind();
        let wake = async {
            match session.as_mut() {
                Some((s, _)) => Some(s.next().await),
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
                if let Some((s, id)) = session.as_mut() {
                    let events = s.handle(&mut OneDoc { id: *id, doc: &mut model.doc }, wake);
                    pending.extend(events.into_iter().map(Msg::from));
                }
            }
            _ = tick.tick() => {
                pending.push_back(Msg::Tick);
                if let Some((s, id)) = session.as_mut() {
                    model.sync.ticket = ticket(s, *id);
                    if model.undo.changes() != kept.0 && kept.1.elapsed() >= KEEP_UNDO_EVERY {
                        s.keep_editor_state(*id, model.editor_state());
                        kept = (model.undo.changes(), std::time::Instant::now());
                    }
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
fn run_effects(
    model: &mut Model,
    mut session: Option<&mut (&mut Session, DocId)>,
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
            // Only a folder's picker asks to open a file, and this runtime opens no folder.
            Effect::Open(path) => model.notify(
                Level::Warn,
                format!("Cannot open {path}: duet has no folder open"),
            ),
            Effect::Save | Effect::SaveAnyway | Effect::SaveAs(_) => {
                let Some((session, id)) = session.as_deref_mut() else {
                    model.notify(Level::Warn, "A read-only view cannot be saved");
                    continue;
                };
                send_ops(model, session, *id, &mut ops, pending);
                save(model, session, *id, effect);
            }
        }
    }
    let Some((session, id)) = session else {
        return;
    };
    send_ops(model, session, *id, &mut ops, pending);
    if presence {
        let me = model.presence();
        let events = session.set_presence(
            &mut OneDoc {
                id: *id,
                doc: &mut model.doc,
            },
            *id,
            Some(me),
        );
        pending.extend(events.into_iter().map(Msg::from));
    }
}

/// Carries out [`Effect::Save`], [`Effect::SaveAnyway`] or [`Effect::SaveAs`].
fn save(model: &Model, session: &mut Session, id: DocId, effect: Effect) {
    if let Effect::SaveAs(name) = effect {
        // A bare name goes beside the document (the prompt starts with its name); a path is
        // taken as it is.
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
}

/// Hands the user's ops (already applied to the document) to the session.
fn send_ops(
    model: &mut Model,
    session: &mut Session,
    id: DocId,
    ops: &mut Vec<crdt_text::Op>,
    pending: &mut VecDeque<Msg>,
) {
    if ops.is_empty() {
        return;
    }
    let ops = std::mem::take(ops);
    let events = session.local(
        &mut OneDoc {
            id,
            doc: &mut model.doc,
        },
        id,
        ops,
    );
    pending.extend(events.into_iter().map(Msg::from));
}
