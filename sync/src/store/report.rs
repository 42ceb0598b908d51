//! The recovery report: what opening a store found wrong, what it recovered, where the
//! damaged files are, and what the user can do — for a popup, for the log, and for
//! `last-recovery.txt` in the store, where the last one stays for later reading.

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::plural;
use super::{StoreWarning, format};

/// What was recovered while opening a damaged store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Frames of the log that checked out and were replayed.
    pub frames: usize,
    /// Edits (characters inserted or deleted) the document holds from the store.
    pub edits: u64,
    /// Ops held because history they depend on was lost; they apply when a peer sends it.
    pub held: usize,
    /// Lines of the plain file imported because the store could not be trusted (0 when
    /// there was no plain file).
    pub lines_from_file: usize,
    /// Whether saving asks before dropping text the plain file had (see
    /// [`StoreError::WouldDropText`](super::StoreError::WouldDropText)).
    pub save_guarded: bool,
}

/// What opening found wrong with a store and what it did, for the user. Its `Display` is a
/// text of several lines, meant for a popup; the same text is logged and kept in the store as
/// `last-recovery.txt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The plain file of the document.
    pub plain_file: PathBuf,
    /// The store folder.
    pub store_dir: PathBuf,
    /// Everything opening found, problems first (the same as `Opened::warnings`).
    pub warnings: Vec<StoreWarning>,
    /// What was recovered.
    pub recovered: Recovered,
    /// Where this report was saved, if it could be.
    pub saved_as: Option<PathBuf>,
}

impl RecoveryReport {
    /// A report when `warnings` hold a problem (see [`StoreWarning::is_problem`]).
    pub(super) fn new(
        plain_file: &Path,
        store_dir: &Path,
        warnings: &[StoreWarning],
        recovered: Recovered,
    ) -> Option<RecoveryReport> {
        warnings
            .iter()
            .any(StoreWarning::is_problem)
            .then(|| RecoveryReport {
                plain_file: plain_file.to_path_buf(),
                store_dir: store_dir.to_path_buf(),
                warnings: warnings.to_vec(),
                recovered,
                saved_as: None,
            })
    }

    /// Where the damaged files were kept.
    pub fn kept(&self) -> impl Iterator<Item = &Path> {
        self.warnings.iter().filter_map(StoreWarning::kept_as)
    }

    /// Writes the report to `path` (`last-recovery.txt`) and logs it.
    pub(super) fn save(&mut self, path: &Path) {
        let text = self.to_string();
        tracing::warn!("store recovery report:\n{text}");
        match format::write_atomic(path, text.as_bytes()) {
            Ok(()) => self.saved_as = Some(path.to_path_buf()),
            Err(e) => tracing::error!("cannot keep the recovery report: {e}"),
        }
    }

    fn lost_history(&self) -> bool {
        self.recovered.held > 0
            || self.warnings.iter().any(|w| {
                matches!(
                    w,
                    StoreWarning::DamagedLog { .. }
                        | StoreWarning::LogCutShort { .. }
                        | StoreWarning::DamagedSnapshot { .. }
                        | StoreWarning::SnapshotMismatch { .. }
                        | StoreWarning::HistoryMissing { .. }
                        | StoreWarning::Missing { .. }
                )
            })
    }
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.recovered;
        writeln!(
            f,
            "duet found problems in the store of {} ({}):",
            self.plain_file.display(),
            self.store_dir.display()
        )?;
        for w in &self.warnings {
            writeln!(f, "  - {w}")?;
        }
        writeln!(f, "Recovered:")?;
        writeln!(
            f,
            "  - {} from the store's history ({} of the log replayed)",
            plural(r.edits, "character edit"),
            plural(r.frames as u64, "frame")
        )?;
        if r.held > 0 {
            writeln!(
                f,
                "  - {} held back: they build on history that was lost, and appear when a peer \
                 that has it sends it",
                plural(r.held as u64, "change")
            )?;
        }
        if r.lines_from_file > 0 {
            writeln!(
                f,
                "  - all {} lines of {}, imported into the document",
                r.lines_from_file,
                self.plain_file.display()
            )?;
        }
        let kept: Vec<&Path> = self.kept().collect();
        if !kept.is_empty() {
            writeln!(f, "Damaged files were kept, nothing was deleted:")?;
            for path in &kept {
                writeln!(f, "  - {}", path.display())?;
            }
        }
        writeln!(f, "What you can do:")?;
        if r.save_guarded {
            writeln!(
                f,
                "  - Check the text, then save: saving asks before removing any text the file \
                 had."
            )?;
        }
        if self.lost_history() {
            writeln!(
                f,
                "  - Connect to a peer of this document: edits this store lost are fetched \
                 again."
            )?;
        }
        if !kept.is_empty() {
            writeln!(
                f,
                "  - Once the text is right, the damaged copies can be deleted (or sent with a \
                 bug report)."
            )?;
        }
        writeln!(
            f,
            "  - Nothing else is needed: the store is repaired and in use."
        )?;
        if let Some(saved) = &self.saved_as {
            write!(f, "This report is kept in {}.", saved.display())?;
        }
        Ok(())
    }
}
