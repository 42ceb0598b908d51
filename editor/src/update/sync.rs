//! News from the sync layer: peers, presence, saving, outside edits.

use sync::proto::{Departure, PresenceState};
use sync::{Event, PeerId};

use crate::model::{Level, Mode, Model, Peer, Popup, Selection};
use crate::msg::Effect;
use crate::theme::rgb_to_color;

fn on_saved(model: &mut Model, result: Result<crdt_text::VersionVector, String>) {
    match result {
        Ok(version) => {
            model.saved_version = Some(version);
            model.notify(Level::Info, format!("Saved {}", model.file_name));
            if model.quit_after_save {
                model.emit(Effect::Quit);
                model.quit = true;
            }
        }
        Err(reason) => {
            model.quit_after_save = false;
            model.notify(Level::Error, format!("Could not save: {reason}"));
        }
    }
}

/// The entry for `peer`, created with its short id as name until it announces one.
pub(super) fn peer_entry(model: &mut Model, peer: PeerId) -> &mut Peer {
    let color = model.theme.color_for(&peer.to_hex());
    model.peers.entry(peer).or_insert_with(|| Peer {
        name: peer.short(),
        color,
        selection: None,
        view: None,
        here: false,
        file: None,
    })
}

/// How the user knows `peer`: its name if it gave one, else its short id.
fn who(model: &Model, peer: &PeerId) -> String {
    model
        .peers
        .get(peer)
        .map_or_else(|| peer.short(), |p| p.name.clone())
}

pub(super) fn on_sync(model: &mut Model, event: Event) {
    match event {
        // The ops are in the document already; anchors keep cursors and the view in place.
        Event::Remote { .. } => model.away_remote(),
        Event::PeerJoined { peer, name, .. } => {
            let entry = peer_entry(model, peer);
            entry.here = true;
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                entry.name = name;
            }
            let text = format!("{} joined", entry.name);
            model.notify(Level::Info, text);
        }
        Event::PeerLeft { peer, why, .. } => {
            let name = who(model, &peer);
            if let Some(entry) = model.peers.get_mut(&peer) {
                entry.here = false;
                entry.selection = None;
                entry.file = None;
            }
            match why {
                Departure::Quit => model.notify(Level::Info, format!("{name} left")),
                Departure::Restarted => {
                    model.notify(Level::Info, format!("{name} restarted and is reconnecting"))
                }
                Departure::Lost => {
                    model.notify(Level::Warn, format!("Lost the connection to {name}"))
                }
                Departure::Error(e) => {
                    model.notify(Level::Warn, format!("{name} was disconnected: {e}"))
                }
            }
        }
        Event::Refused { peer, error, .. } => {
            let name = who(model, &peer);
            model.notify(Level::Warn, format!("{name}: {error}"));
        }
        Event::Unreachable { peer, error } => {
            let name = who(model, &peer);
            model.notify(Level::Warn, format!("Cannot reach {name} yet: {error}"));
        }
        Event::Presence {
            peer,
            presence: Some(p),
            ..
        } => show_presence(model, peer, p),
        Event::Presence {
            peer,
            presence: None,
            ..
        } => {
            if let Some(entry) = model.peers.get_mut(&peer) {
                entry.selection = None;
            }
        }
        Event::Status { status, .. } => {
            let caught_up = status.connected > 0 && status.in_sync && !status.catching_up;
            model.sync.status = status;
            if caught_up {
                model.away_caught_up();
            }
        }
        Event::Diverged { peer, version, .. } => {
            let name = who(model, &peer);
            tracing::error!(%peer, ?version, "text differs from the peer's at an equal version");
            model.notify(
                Level::Error,
                format!(
                    "Your text differs from {name}'s although both have the same edits \
                     (two copies of one store?). Nothing was merged; see the log."
                ),
            );
        }
        Event::Saved { version, .. } => on_saved(model, Ok(version)),
        Event::SaveFailed {
            error: sync::store::StoreError::WouldDropText { chars, lines, .. },
            ..
        } => {
            model.mode = Mode::Popup(Popup::ConfirmDrop { chars, lines });
        }
        Event::SaveFailed { error, .. } => on_saved(model, Err(error.to_string())),
        Event::Moved { file, .. } => {
            let name = file.file_name().map_or_else(
                || file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            model.set_file_name(name);
            model.saved_version = None;
        }
        Event::MoveFailed { error, .. } => {
            model.notify(Level::Error, format!("Could not save as: {error}"))
        }
        Event::OutsideEdits {
            inserted, deleted, ..
        } => {
            let text = format!(
                "Merged changes another program made to {} (+{inserted} −{deleted} chars)",
                model.file_name
            );
            model.notify(Level::Info, text);
        }
        Event::StoreFailed { error, .. } => model.notify(
            Level::Error,
            format!("Could not write duet's store: {error} (retrying; edits are kept)"),
        ),
    }
}

fn show_presence(model: &mut Model, peer: PeerId, p: PresenceState) {
    let entry = peer_entry(model, peer);
    if !p.name.is_empty() {
        entry.name = p.name;
    }
    entry.color = rgb_to_color(p.color);
    entry.here = true;
    let tail = p.selection.map_or(p.cursor, |(tail, _)| tail);
    entry.selection = Some(Selection {
        tail,
        head: p.cursor,
    });
    entry.view = p.view;
}
