//! Watching a document's plain file for changes made by other programs (`notify`).
//!
//! The folder is watched rather than the file: editors and tools often replace a file by
//! renaming a new one over it, which a watch on the old file would miss. Any event naming the
//! file tells the session to look; the store then compares the file's hash with what duet last
//! wrote or merged, so duet's own writes cause no merge.

use std::path::{Path, PathBuf};

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::ids::DocId;

/// A running watch; dropping it stops it.
pub(super) struct Watcher {
    _inner: notify::RecommendedWatcher,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

impl Watcher {
    /// Watches `file`, sending `doc` on `touched` whenever it may have changed. `None` (and a
    /// warning in the log) if the platform cannot watch it: outside edits are then merged
    /// when the document is next opened or saved.
    pub(super) fn start(
        file: &Path,
        doc: DocId,
        touched: mpsc::UnboundedSender<DocId>,
    ) -> Option<Watcher> {
        let folder = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = file.file_name()?.to_os_string();
        let handler = move |event: notify::Result<notify::Event>| match event {
            Ok(event) if event.paths.iter().any(|p| p.file_name() == Some(&name)) => {
                let _ = touched.send(doc);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("watching the file failed: {e}"),
        };
        let started = notify::recommended_watcher(handler).and_then(|mut w| {
            w.watch(&folder, RecursiveMode::NonRecursive)?;
            Ok(w)
        });
        match started {
            Ok(inner) => Some(Watcher { _inner: inner }),
            Err(e) => {
                tracing::warn!("cannot watch {} for outside edits: {e}", file.display());
                None
            }
        }
    }
}
