//! When the file of a document whose text changed is written to disk.
//!
//! A document's ops are durable with every save (50 ms after a change) whatever this decides:
//! the file on disk shows the text to other programs (an editor, a build, a dev server). A
//! change that comes alone (a peer's edit, a `git checkout` on another disk) is written with
//! the next save. A change within [`STILL`] of the file's previous one is typing: the file is
//! written once its text has been still for [`STILL`], and never more than [`MAX_LAG`] after
//! its first change not yet written. So other programs see whole words rather than each
//! keystroke, the file lags continuous typing by at most [`MAX_LAG`], and rewriting it (temp
//! file, fsync, rename) does not compete with the typing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::ids::DocId;

/// Changes closer than this are typing; a file being typed in is written once its text has
/// been still this long.
pub(super) const STILL: Duration = Duration::from_millis(500);
/// A file being typed in is written at most this long after its first change not yet written.
pub(super) const MAX_LAG: Duration = Duration::from_secs(2);

/// The files that wait to be written, and when each last changed.
#[derive(Debug, Default)]
pub(super) struct Rewrites {
    waiting: BTreeMap<DocId, Waiting>,
    /// When files last changed, kept for [`STILL`].
    changed: BTreeMap<DocId, Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Waiting {
    /// The first change not yet written, and the last.
    first: Instant,
    last: Instant,
    /// The first change came within [`STILL`] of the one before.
    typing: bool,
}

impl Waiting {
    fn due(&self) -> Instant {
        if self.typing {
            (self.last + STILL).min(self.first + MAX_LAG)
        } else {
            self.first
        }
    }
}

impl Rewrites {
    /// The texts of `docs` changed at `now`.
    pub(super) fn changed(&mut self, docs: impl IntoIterator<Item = DocId>, now: Instant) {
        for doc in docs {
            let before = self.changed.insert(doc, now);
            let typing = before.is_some_and(|at| now.saturating_duration_since(at) < STILL);
            self.waiting
                .entry(doc)
                .and_modify(|w| w.last = now)
                .or_insert(Waiting {
                    first: now,
                    last: now,
                    typing,
                });
        }
    }

    /// `doc`'s file could not be written: it is tried again at `at`, not sooner (a change
    /// meanwhile is no reason to fail faster, and is not typing).
    pub(super) fn retry(&mut self, doc: DocId, at: Instant) {
        self.waiting.insert(
            doc,
            Waiting {
                first: at,
                last: at,
                typing: false,
            },
        );
    }

    /// Takes the files whose turn has come at `now` (every waiting file with `all`).
    pub(super) fn take_due(&mut self, now: Instant, all: bool) -> BTreeSet<DocId> {
        self.changed
            .retain(|_, at| now.saturating_duration_since(*at) < STILL);
        self.waiting
            .extract_if(.., |_, w| all || w.due() <= now)
            .map(|(doc, _)| doc)
            .collect()
    }

    /// Every file is being written now (the whole tree is): nothing waits.
    pub(super) fn clear(&mut self) {
        self.waiting.clear();
    }

    /// When the next waiting file's turn comes.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.waiting.values().map(Waiting::due).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// A file, its changes at these times (ms), and the times a save looked for due files
    /// (every 50 ms, as the saver does while anything waits): when it was written.
    fn writes_of(changes: &[u64], until: u64) -> Vec<u64> {
        let doc = DocId::random();
        let start = Instant::now();
        let at = |ms: u64| start + MS * ms as u32;
        let mut rewrites = Rewrites::default();
        let mut written = Vec::new();
        for ms in (0..=until).step_by(10) {
            if changes.contains(&ms) {
                rewrites.changed([doc], at(ms));
            }
            if ms % 50 == 0 && rewrites.take_due(at(ms), false).contains(&doc) {
                written.push(ms);
            }
        }
        written
    }

    #[test]
    fn a_file_changed_once_is_written_with_the_next_save() {
        assert_eq!(writes_of(&[10], 3_000), [50]);
    }

    #[test]
    fn a_file_typed_in_waits_until_the_typing_pauses() {
        // Keystrokes every 100 ms for a second, then a pause.
        let keys: Vec<u64> = (1..=10).map(|k| k * 100).collect();
        // The first is written at once; the rest once still for 500 ms.
        assert_eq!(writes_of(&keys, 3_000), [100, 1_500]);
    }

    #[test]
    fn a_file_typed_in_without_a_pause_is_written_at_least_every_two_seconds() {
        let keys: Vec<u64> = (1..=50).map(|k| k * 100).collect();
        assert_eq!(writes_of(&keys, 7_000), [100, 2_200, 4_300, 5_500]);
    }

    #[test]
    fn a_change_a_second_after_the_last_is_written_at_once() {
        assert_eq!(writes_of(&[100, 1_100, 2_100], 3_000), [100, 1_100, 2_100]);
    }

    #[test]
    fn typing_again_after_a_long_pause_is_written_at_once() {
        assert_eq!(
            writes_of(&[100, 200, 5_000, 5_100], 7_000),
            [100, 700, 5_000, 5_600]
        );
    }

    #[test]
    fn a_file_that_could_not_be_written_is_tried_again_when_asked_not_sooner() {
        let doc = DocId::random();
        let now = Instant::now();
        let mut rewrites = Rewrites::default();
        rewrites.retry(doc, now + MS * 1_000);
        rewrites.changed([doc], now + MS * 100);
        assert!(rewrites.take_due(now + MS * 500, false).is_empty());
        assert_eq!(rewrites.next_due(), Some(now + MS * 1_000));
        assert_eq!(
            rewrites.take_due(now + MS * 1_000, false),
            BTreeSet::from([doc])
        );
    }

    #[test]
    fn all_takes_every_waiting_file_and_nothing_waits_after() {
        let doc = DocId::random();
        let now = Instant::now();
        let mut rewrites = Rewrites::default();
        rewrites.changed([doc], now);
        assert_eq!(
            rewrites.take_due(now, false),
            BTreeSet::from([doc]),
            "alone"
        );
        let later = now + MS * 100;
        rewrites.changed([doc], later);
        assert!(
            rewrites.take_due(later, false).is_empty(),
            "typing: it waits"
        );
        assert_eq!(rewrites.next_due(), Some(later + STILL));
        assert_eq!(rewrites.take_due(later, true), BTreeSet::from([doc]));
        assert_eq!(rewrites.next_due(), None);
    }
}
