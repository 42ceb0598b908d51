//! The runtime: one loop that owns the document (in the [`Model`]) and the sync [`Session`].
//! It selects over terminal events, the session (network, store, file changes, timers) and a
//! slow tick; turns each into a [`Msg`] for [`update`]; carries out the [`Effect`]s (local ops
//! to the session, presence, saving, the clipboard); and draws once per batch.

use std::collections::VecDeque;
use std::io::Write;
use std::time::Duration;

use crossterm::clipboard::CopyToClipboard;
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::{FutureExt, StreamExt};
use sync::proto::OneDoc;
use sync::{DocId, Session};

use crate::model::{Level, Mode, Model, Popup};
use crate::msg::{Effect, Msg};
use crate::terminal::TerminalGuard;
use crate::update::update;
use crate::view::view;

/// How often status messages fade and the ticket is refreshed.
const TICK: Duration = Duration::from_millis(500);
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
pub async fn run(mut model: Model, open: Open) -> anyhow::Result<()> {
    let Open { mut session, id } = open;
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    model.sync.network = session.network().clone();
    model.sync.status = session.status(&id);
    model.sync.ticket = ticket(&session, id);
    let mut pending = VecDeque::from([Msg::Resize(size.width, size.height)]);
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
    pending.extend(events.into_iter().map(Msg::Sync));
    let mut terminal = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let result = loop {
        // Handle everything that is ready before drawing once.
        while let Some(msg) = pending.pop_front() {
            let effects = update(&mut model, msg);
            run_effects(&mut model, &mut session, id, effects, &mut pending);
        }
        if model.quit {
            break Ok(());
        }
        if model.mode == Mode::Popup(Popup::Peers) {
            model.sync.panel = session.peers(&id);
        }
        if let Err(e) = guard.terminal.draw(|frame| view(&model, frame)) {
            break Err(e.into());
        }
        tokio::select! {
            event = terminal.next() => match event {
                Some(Ok(event)) => {
                    pending.extend(term_msg(event));
                    // Take every event the terminal already has, then draw once.
                    while pending.len() < MAX_BATCH
                        && let Some(Some(Ok(event))) = terminal.next().now_or_never()
                    {
                        pending.extend(term_msg(event));
                    }
                }
                Some(Err(e)) => break Err(anyhow::anyhow!("cannot read the terminal: {e}")),
                None => break Ok(()),
            },
            wake = session.next() => {
                let events = session.handle(&mut OneDoc { id, doc: &mut model.doc }, wake);
                pending.extend(events.into_iter().map(Msg::Sync));
            }
            _ = tick.tick() => {
                pending.push_back(Msg::Tick);
                model.sync.ticket = ticket(&session, id);
            }
        }
    };
    drop(guard);
    let shutdown = session
        .shutdown(&mut OneDoc {
            id,
            doc: &mut model.doc,
        })
        .await;
    result?;
    shutdown.map_err(|e| anyhow::anyhow!("while closing the document: {e}"))
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
    session: &mut Session,
    id: DocId,
    effects: Vec<Effect>,
    pending: &mut VecDeque<Msg>,
) {
    let mut ops = Vec::new();
    let mut presence = false;
    for effect in effects {
        match effect {
            Effect::Submit(op) => ops.push(op),
            Effect::Presence => presence = true,
            Effect::Save => {
                send_ops(model, session, id, &mut ops, pending);
                session.save(id, &model.doc);
            }
            Effect::SaveAnyway => {
                send_ops(model, session, id, &mut ops, pending);
                session.save_anyway(id, &model.doc);
            }
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
        }
    }
    send_ops(model, session, id, &mut ops, pending);
    if presence {
        let me = model.presence();
        let events = session.set_presence(
            &mut OneDoc {
                id,
                doc: &mut model.doc,
            },
            id,
            Some(me),
        );
        pending.extend(events.into_iter().map(Msg::Sync));
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
    pending.extend(events.into_iter().map(Msg::Sync));
}
