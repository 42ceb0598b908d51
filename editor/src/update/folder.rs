//! News of a shared folder: where each peer is, files appearing, moving and going.

use sync::folder::Outcome;
use sync::share::FolderEvent;

use super::sync::peer_entry;
use crate::model::{Level, Model};
use crate::msg::FolderNews;

pub(super) fn on_folder(model: &mut Model, news: FolderNews) {
    match news {
        FolderNews::PeerIn { peer, file, name } => {
            let entry = peer_entry(model, peer);
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                entry.name = name;
            }
            entry.here = true;
            entry.file = Some(file);
        }
        FolderNews::PeerOut { peer, file } => {
            if let Some(entry) = model.peers.get_mut(&peer)
                && entry.file.as_ref() == Some(&file)
            {
                entry.file = None;
            }
        }
        FolderNews::Opened => model.arrived(),
        FolderNews::Event(event) => on_event(model, event),
    }
}

fn on_event(model: &mut Model, event: FolderEvent) {
    let level = match &event {
        FolderEvent::Problem(_) => Level::Error,
        FolderEvent::Tree(Outcome::KeptAfterDelete { .. } | Outcome::NameTaken { .. })
        | FolderEvent::Refused { .. }
        | FolderEvent::Unreachable { .. } => Level::Warn,
        // Files written to disk as peers edit them: too frequent to tell.
        FolderEvent::Disk(_) | FolderEvent::Sync(_) => return,
        _ => Level::Info,
    };
    let text = match &event {
        FolderEvent::Tree(Outcome::Removed { path, .. }) if *path == model.file_name => format!(
            "{path} was deleted by a peer: it is still open here, and typing in it brings it back"
        ),
        FolderEvent::Problem(what) => what.clone(),
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    };
    model.notify(level, text);
}
