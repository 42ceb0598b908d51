//! The runtime: turns terminal events, sync events and timer ticks into [`Msg`]s, runs
//! [`update`], carries out the [`Effect`]s (ops to the sync session, presence, saving, the
//! clipboard), and redraws.

use std::io::Write;
use std::time::Duration;

use crossterm::clipboard::CopyToClipboard;
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use sync::api::Session;

use crate::bridge;
use crate::model::{Level, Model};
use crate::msg::{Effect, Msg, NetEvent};
use crate::terminal::TerminalGuard;
use crate::update::update;
use crate::view::view;

/// How often status messages fade and the peers panel refreshes.
const TICK: Duration = Duration::from_millis(500);

/// Runs the editor until the user quits, then shuts the session down (flushing the store).
pub async fn run(mut model: Model, mut session: Session) -> anyhow::Result<()> {
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    let mut pending = vec![Msg::Resize(size.width, size.height)];
    if let Some(reason) = session.network_error() {
        pending.push(Msg::Net(NetEvent::Unavailable(reason.to_owned())));
    } else {
        pending.push(Msg::Net(bridge::sync_event(&session.status())));
    }
    // Show our cursor to peers from the start, not only once it first moves.
    let here = crate::msg::Presence {
        head: model.sel.head,
        tail: model.sel.tail,
    };
    session.set_presence(Some(bridge::presence_state(
        &model.me.name,
        model.me.color,
        here,
    )));
    let mut last_ticket = None;
    refresh(&session, &mut pending, &mut last_ticket);
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut session_open = true;

    let result = loop {
        // Handle everything that is ready before drawing once.
        for msg in pending.drain(..) {
            let effects = update(&mut model, msg);
            run_effects(&mut model, &session, effects).await;
        }
        if model.quit {
            break Ok(());
        }
        if let Err(e) = guard.terminal.draw(|frame| view(&model, frame)) {
            break Err(e.into());
        }
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => pending.extend(term_msg(event)),
                Some(Err(e)) => break Err(anyhow::anyhow!("cannot read the terminal: {e}")),
                None => break Ok(()),
            },
            event = session.next_event(), if session_open => match event {
                Some(event) => {
                    let peers = session.peers();
                    pending.extend(bridge::net_events(event, &peers).into_iter().map(Msg::Net));
                    while let Some(event) = session.try_event() {
                        pending.extend(bridge::net_events(event, &peers).into_iter().map(Msg::Net));
                    }
                }
                None => {
                    session_open = false;
                    pending.push(Msg::Net(NetEvent::StoreFailed("the sync session stopped; edits can no longer be saved".into())));
                }
            },
            _ = tick.tick() => {
                pending.push(Msg::Tick);
                refresh(&session, &mut pending, &mut last_ticket);
            }
        }
    };
    drop(guard);
    let shutdown = session.shutdown().await;
    result?;
    shutdown.map_err(|e| anyhow::anyhow!("while closing the document: {e}"))
}

/// Peer connection details and the current ticket, polled on each tick.
fn refresh(session: &Session, pending: &mut Vec<Msg>, last_ticket: &mut Option<String>) {
    let peers = session.peers();
    if !peers.is_empty() {
        pending.push(Msg::Net(NetEvent::Connections(bridge::connections(&peers))));
    }
    if let Ok(ticket) = session.ticket() {
        let ticket = ticket.to_string();
        if last_ticket.as_deref() != Some(ticket.as_str()) {
            pending.push(Msg::Net(NetEvent::Ticket(ticket.clone())));
            *last_ticket = Some(ticket);
        }
    }
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

/// Carries out effects in order. Saving feeds its outcome back through `update`.
async fn run_effects(model: &mut Model, session: &Session, effects: Vec<Effect>) {
    let mut queue = std::collections::VecDeque::from(effects);
    let mut ops = Vec::new();
    while let Some(effect) = queue.pop_front() {
        match effect {
            Effect::Submit(op) => ops.push(op),
            Effect::Presence(p) => {
                session.submit_all(std::mem::take(&mut ops));
                session.set_presence(Some(bridge::presence_state(
                    &model.me.name,
                    model.me.color,
                    p,
                )));
            }
            Effect::Save => {
                session.submit_all(std::mem::take(&mut ops));
                let version = model.doc.version();
                let outcome = session
                    .save()
                    .await
                    .map(|()| version)
                    .map_err(|e| e.to_string());
                queue.extend(update(model, Msg::Saved(outcome)));
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
    session.submit_all(ops);
}
