//! The store's side of saving and of outside edits, for a store that lives on its own thread
//! while the document lives elsewhere: it gets text and encoded bytes, never a `Doc`.
//!
//! - [`Store::save_text`] writes the text of the document at a version, unless another
//!   program changed the file since duet last saw it: then nothing is written and the change
//!   comes back ([`Saved::Changed`]) for the document's owner to merge first.
//! - [`Store::plain_change`] tells whether the file differs from what duet last wrote or
//!   merged; [`merge_change`] turns such a change into local edits of the document (on the
//!   owner's side) and [`Store::merged`] records that they were made (after syncing them).
//! - [`Store::compact_encoded`] rewrites the snapshot from `Doc::encode` output.
//!
//! [`Store::import_plain_file`] (at open) is these three steps in one call.

use crdt_text::{Doc, VersionVector};

use super::meta::{self, PlainState};
use super::plain::{self, Imported, Merge, PlainText};
use super::{Store, StoreError, rebase};

/// The plain file as another program left it, and what duet had last written there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainChange {
    /// The file's content now.
    pub file: PlainText,
    /// What duet last wrote or merged (`None`: it never had the file).
    pub(super) base: Option<PlainState>,
    /// The store recovers from damage (until the next save): merging only adds text.
    pub(super) union: bool,
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

/// What [`merge_change`] did to the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The local edits made (already applied).
    pub imported: Imported,
    /// The version whose text the file holds, as far as the store can tell.
    pub exported: VersionVector,
    /// The file is not a version of the document (duet never wrote it, or the store is
    /// recovering, and the document kept text the file lacks): save the document so it is.
    pub rewrite: bool,
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
        let union = self.floor.is_some();
        Ok(Some(PlainChange { file, base, union }))
    }

    /// Records that `change` was merged into the document, whose text the file holds as of
    /// `exported` (from [`merge_change`]). The edits it made must have been appended: they are
    /// synced first, so the record never claims edits a crash could lose.
    pub fn merged(
        &mut self,
        change: &PlainChange,
        exported: VersionVector,
    ) -> Result<(), StoreError> {
        self.sync()?;
        self.state.plain = Some(PlainState {
            hash: change.file.hash,
            line_ending: change.file.line_ending,
            bom: change.file.bom,
            exported,
        });
        meta::write_state(&self.paths.state, &self.doc_id, &self.state)
    }

    /// Writes `text`, the document's text at `version`, to the plain file (see
    /// [`Store::write_plain_file`]) — unless the file changed since duet last saw it.
    pub fn save_text(&mut self, text: &str, version: &VersionVector) -> Result<Saved, StoreError> {
        if let Some(change) = self.plain_change()? {
            return Ok(Saved::Changed(change));
        }
        self.write_text(text, version.clone())?;
        Ok(Saved::Written)
    }

    /// Rewrites the snapshot from `encoded` (see [`Store::snapshot_encoded`]) when the log
    /// tail is large (see [`Store::needs_compaction`]).
    pub fn compact_encoded(
        &mut self,
        version: &VersionVector,
        encoded: &[u8],
    ) -> Result<(), StoreError> {
        if self.needs_compaction() {
            self.snapshot_encoded(version, encoded)?;
        }
        Ok(())
    }
}

/// Edits `doc` (as local edits of its replica) so that it carries what `change` made of the
/// file, merged with everything the document received since the file was last written.
///
/// A file duet never wrote or read is not a version of the document, and neither is the file
/// of a store that is recovering from damage: then nothing is deleted, the document only gains
/// the file's text.
pub fn merge_change(doc: &mut Doc, change: &PlainChange) -> Import {
    let text = &change.file.text;
    if *text == doc.text() {
        // The file already holds the document's text (a save whose record a crash cut short).
        return Import {
            imported: Imported::default(),
            exported: doc.version(),
            rewrite: false,
        };
    }
    let additive = change.union || (change.base.is_none() && !doc.is_empty());
    if additive {
        let imported = plain::import_diff(doc, text, Merge::Union);
        let rewrite = doc.text() != *text;
        return Import {
            imported,
            exported: doc.version(),
            rewrite,
        };
    }
    let rebased = change
        .base
        .as_ref()
        .filter(|base| base.exported != doc.version())
        .and_then(|base| rebase::import_onto_export(doc, base, text));
    let (imported, exported) = rebased.unwrap_or_else(|| {
        let imported = plain::import_diff(doc, text, Merge::Replace);
        (imported, doc.version())
    });
    Import {
        imported,
        exported,
        rewrite: false,
    }
}
