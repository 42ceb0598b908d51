//! Editing a shared file through the session, as an editor's buffer does: the ops go to the
//! peers at once and the file on disk follows.

use crdt_text::{Doc, Op};

use super::{FolderEvent, FolderSession};
use crate::store::file_doc_id;

/// Why an edit of a shared file was refused (nothing changed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// No shared file has this path (it may have been renamed or deleted meanwhile).
    #[error("no shared file {0}")]
    NoFile(String),
}

impl FolderSession {
    /// Edits the shared file at `path` as its user: `edit` changes its document and returns
    /// the ops it made (already applied), which go to every connected peer at once; the
    /// file on disk is written and the document saved shortly after (a burst of
    /// keystrokes is one write).
    pub fn edit(
        &mut self,
        path: &str,
        edit: impl FnOnce(&mut Doc) -> Vec<Op>,
    ) -> Result<Vec<FolderEvent>, EditError> {
        let file = self
            .manifest
            .tree()
            .file_at(path)
            .ok_or_else(|| EditError::NoFile(path.to_string()))?;
        let doc_id = file_doc_id(&self.folder, file);
        let doc = self
            .docs
            .get_mut(&doc_id)
            .ok_or_else(|| EditError::NoFile(path.to_string()))?;
        let ops = edit(doc);
        let events = self.local(doc_id, ops);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::FolderConfig;

    #[tokio::test]
    async fn an_edit_changes_the_document_and_the_file_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.md"), "hello\n").unwrap();
        let mut config = FolderConfig::new(dir.path());
        config.net = None;
        config.watch = false;
        let (mut session, _) = FolderSession::open(config).await.unwrap();
        session
            .edit("notes.md", |doc| vec![doc.insert(5, " world")])
            .unwrap();
        assert_eq!(session.text("notes.md").unwrap(), "hello world\n");
        let file = dir.path().join("notes.md");
        let start = std::time::Instant::now();
        while std::fs::read_to_string(&file).unwrap() != "hello world\n" {
            assert!(start.elapsed().as_secs() < 10, "the file was not written");
            let wake = session.next().await;
            let _ = session.handle(wake);
        }
        assert!(matches!(
            session.edit("gone.md", |_| Vec::new()),
            Err(EditError::NoFile(p)) if p == "gone.md"
        ));
        // The next scan takes the written file as duet's own, not as an outside change.
        let events = session.rescan_now();
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, FolderEvent::PickedUp { .. })),
            "{events:?}"
        );
        let _ = session.shutdown().await;
    }
}
