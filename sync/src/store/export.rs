//! The store's side of saving and of outside edits, for a store that lives on its own thread
//! while the document lives elsewhere: it gets text and encoded bytes, never a `Doc`.
//!
//! - [`Store::save_text`] writes the text of the document at a version, unless another
//!   program changed the file since duet last saw it: then nothing is written and the change
//!   comes back ([`Saved::Changed`]) for the document's owner to merge first.
//! - [`Store::plain_change`] tells whether the file differs from what duet last wrote or
//!   merged; [`merge_change`] turns such a change into local edits of the document (on the
//!   owner's side) and [`Store::merged`] records that they were made.
//! - [`Store::compact_encoded`] rewrites the snapshot from `Doc::encode` output.

use crdt_text::{Doc, VersionVector};

use super::meta::{self, PlainState};
use super::plain::{self, Imported, PlainText};
use super::{Store, StoreError, log, rebase, snapshot};

/// The plain file as another program left it, and what duet had last written there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainChange {
    /// The file's content now.
    pub file: PlainText,
    /// What duet last wrote or merged (`None`: it never had the file).
    pub(super) base: Option<PlainState>,
}

/// What [`Store::save_text`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Saved {
    /// The file holds the text now.
    Written,
    /// Another program changed the file since duet last saw it; nothing was written. Merge
    /// the change ([`merge_change`]), then save again.
    Changed(PlainChange),
}

impl Store {
    /// The plain file's content if it differs from what duet last wrote or merged; `None` if
    /// it is unchanged or missing.
    pub fn plain_change(&self) -> Result<Option<PlainChange>, StoreError> {
        let Some(file) = plain::read(&self.paths.plain)? else {
            return Ok(None);
        };
        let base = self.state.plain.clone();
        if base.as_ref().is_some_and(|b| b.hash == file.hash) {
            return Ok(None);
        }
        Ok(Some(PlainChange { file, base }))
    }

    /// Records that `change` was merged into the document, whose text the file holds as of
    /// `exported` (from [`merge_change`]).
    pub fn merged(
        &mut self,
        change: &PlainChange,
        exported: VersionVector,
    ) -> Result<(), StoreError> {
        self.state.plain = Some(PlainState {
            hash: change.file.hash,
            line_ending: change.file.line_ending,
            bom: change.file.bom,
            exported,
        });
        meta::write_state(&self.paths.state, &self.doc_id, &self.state)
    }

    /// Writes `text`, the document's text at `version`, to the plain file (atomically, in the
    /// file's line endings) — unless the file changed since duet last saw it.
    pub fn save_text(&mut self, text: &str, version: &VersionVector) -> Result<Saved, StoreError> {
        if let Some(change) = self.plain_change()? {
            return Ok(Saved::Changed(change));
        }
        let (line_ending, bom) = self
            .state
            .plain
            .as_ref()
            .map_or((plain::LineEnding::Lf, false), |p| (p.line_ending, p.bom));
        let bytes = plain::render(text, line_ending, bom);
        plain::write(&self.paths.plain, &bytes)?;
        self.state.plain = Some(PlainState {
            hash: *blake3::hash(&bytes).as_bytes(),
            line_ending,
            bom,
            exported: version.clone(),
        });
        meta::write_state(&self.paths.state, &self.doc_id, &self.state)?;
        Ok(Saved::Written)
    }

    /// Rewrites the snapshot from `encoded` (`Doc::encode` of the document at `version`, which
    /// holds every op appended before) and starts a new log tail, when the tail is large (see
    /// [`Store::needs_compaction`]). Crash-safe at every step: the snapshot is replaced
    /// atomically first (the old log then only repeats ops it already holds), then the log.
    pub fn compact_encoded(
        &mut self,
        version: &VersionVector,
        encoded: &[u8],
    ) -> Result<(), StoreError> {
        if !self.needs_compaction() {
            return Ok(());
        }
        self.sync()?;
        let carried = self.ops_not_in(version)?;
        super::format::write_atomic(
            &self.paths.snapshot,
            &snapshot::encode(&self.doc_id, encoded),
        )?;
        self.snapshot_len = encoded.len() as u64;
        let mut frames = Vec::new();
        log::encode_frames(&self.doc_id, &carried, &mut frames)?;
        self.log = log::LogWriter::create(&self.paths.log, &self.doc_id, &frames)?;
        Ok(())
    }
}

/// What [`merge_change`] did to the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merge {
    /// The local edits made (already applied).
    pub imported: Imported,
    /// The version whose text the file holds, as far as the store can tell.
    pub exported: VersionVector,
    /// The file is not a version of the document (duet never wrote it, and its text was
    /// added to the document's): save the document now so that it is.
    pub rewrite: bool,
}

/// Edits `doc` (as local edits of its replica) so that it carries what `change` made of the
/// file, merged with everything the document received since the file was last written.
///
/// A file duet never wrote or read is not a version of the document, so nothing is deleted
/// for it: its text is added at the end of a non-empty document.
pub fn merge_change(doc: &mut Doc, change: &PlainChange) -> Merge {
    let text = &change.file.text;
    let Some(base) = &change.base else {
        if doc.is_empty() {
            let imported = plain::import_diff(doc, text);
            let exported = doc.version();
            return Merge {
                imported,
                exported,
                rewrite: false,
            };
        }
        let op = doc.insert(doc.len(), text);
        let imported = Imported {
            inserted: text.chars().count(),
            deleted: 0,
            ops: vec![op],
        };
        let exported = doc.version();
        return Merge {
            imported,
            exported,
            rewrite: true,
        };
    };
    let (imported, exported) = match base.exported != doc.version() {
        true => rebase::import_onto_export(doc, base, text),
        false => None,
    }
    .unwrap_or_else(|| {
        let imported = plain::import_diff(doc, text);
        (imported, doc.version())
    });
    Merge {
        imported,
        exported,
        rewrite: false,
    }
}
