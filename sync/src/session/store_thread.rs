//! The store's own thread: appends, `fdatasync`s and file writes happen here, so a slow disk
//! never delays a keystroke on its way to the peers. It gets what it must write (ops, text,
//! encoded snapshots), never the document.
//!
//! The session sends [`StoreCmd`]s in the order the protocol asks for them; the thread syncs
//! at the store's deadline (50 ms after the first unsynced append, see
//! [`FlushPolicy`](crate::store::FlushPolicy)) and reports which version became durable,
//! which the session feeds to the protocol.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crdt_text::{Op, VersionVector};
use tokio::sync::mpsc;

use crate::ids::DocId;
use crate::store::{EditorState, KnownPeer, PlainChange, Saved, Store, StoreError};

/// After a failed sync (disk full, I/O error), wait this long before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Work for the store thread.
#[derive(Debug)]
pub(crate) enum StoreCmd {
    /// Append ops (in the order they were applied); they become durable at the next sync.
    Append(Vec<Op>),
    /// Save a peer among the known peers.
    RememberPeer(KnownPeer),
    /// Write the document's text (at this version) to the plain file, unless another program
    /// changed it meanwhile.
    Save {
        /// The text.
        text: String,
        /// The document version it is the text of.
        version: VersionVector,
    },
    /// [`StoreCmd::Save`], dropping text the file held when the store was found damaged
    /// (the user confirmed).
    SaveAnyway {
        /// The text.
        text: String,
        /// The document version it is the text of.
        version: VersionVector,
    },
    /// Save as: move the store to the store folder of another file, then save the text there.
    SaveAs {
        /// The new plain file.
        file: std::path::PathBuf,
        /// The text.
        text: String,
        /// The document version it is the text of.
        version: VersionVector,
    },
    /// Check whether the plain file differs from what duet last wrote or merged.
    CheckPlain,
    /// A change to the plain file was merged into the document (its text is the file's as of
    /// this version).
    Merged(Box<PlainChange>, VersionVector),
    /// Rewrite the snapshot from this encoding of the document at this version, if the log
    /// tail is large.
    Compact(VersionVector, Vec<u8>),
    /// Publish this ticket for `duet ticket FILE` (our addresses changed).
    PublishTicket(String),
    /// Replace the editor's state kept for this user.
    KeepEditor(Box<EditorState>),
    /// Record what peers are known to have, sync and close the store.
    Close {
        /// Ops peers are known to have.
        acked: VersionVector,
        /// Gets the outcome.
        done: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
    },
}

/// News from the store thread.
#[derive(Debug)]
pub(crate) enum StoreNews {
    /// Everything in this version is durable.
    Durable(VersionVector),
    /// A store operation failed; nothing is lost (ops stay buffered and the sync is retried).
    Failed(StoreError),
    /// The log tail is large: send a [`StoreCmd::Compact`].
    NeedsCompaction,
    /// The plain file holds the document at this version.
    Saved(VersionVector),
    /// Saving failed.
    SaveFailed(StoreError),
    /// Save as moved the store: the document's plain file is now this one (canonical); or
    /// why nothing moved.
    Moved(Result<std::path::PathBuf, StoreError>),
    /// Another program changed the plain file: merge this change (then save again if a save
    /// was asked for: `resave`).
    PlainChanged {
        /// The change.
        change: Box<PlainChange>,
        /// Whether a save found it (and must be repeated after the merge).
        resave: bool,
    },
}

/// Tracks which version the appended ops form, even if ops of one replica were appended out
/// of counter order (then the later ones count only once the gap is filled).
#[derive(Debug)]
struct Frontier {
    version: VersionVector,
    gaps: Vec<Op>,
}

impl Frontier {
    fn add(&mut self, op: &Op) {
        if op.id.counter <= self.version.get(op.id.replica) {
            self.version.advance(op.id.replica, op.end());
            self.fill_gaps();
        } else {
            self.gaps.push(op.clone());
        }
    }

    fn fill_gaps(&mut self) {
        while let Some(i) = self
            .gaps
            .iter()
            .position(|op| op.id.counter <= self.version.get(op.id.replica))
        {
            let op = self.gaps.swap_remove(i);
            self.version.advance(op.id.replica, op.end());
        }
    }
}

/// Starts the store thread of document `doc`. `version` is what the store already holds
/// durably. News arrives tagged with the document.
pub(crate) fn spawn(
    doc: DocId,
    store: Store,
    version: VersionVector,
    news: mpsc::UnboundedSender<(DocId, StoreNews)>,
) -> std::io::Result<Sender<StoreCmd>> {
    let (tx, rx) = std::sync::mpsc::channel();
    crate::store::spawn_writer("duet-store", move || {
        let worker = Worker {
            doc,
            store,
            frontier: Frontier {
                version: version.clone(),
                gaps: Vec::new(),
            },
            pending: version,
            news,
        };
        worker.run(rx);
    })?;
    Ok(tx)
}

struct Worker {
    doc: DocId,
    store: Store,
    frontier: Frontier,
    /// The version that the next successful sync makes durable.
    pending: VersionVector,
    news: mpsc::UnboundedSender<(DocId, StoreNews)>,
}

impl Worker {
    fn tell(&self, news: StoreNews) {
        let _ = self.news.send((self.doc, news));
    }

    fn run(mut self, rx: Receiver<StoreCmd>) {
        let mut retry_at: Option<Instant> = None;
        let mut compaction_asked = false;
        loop {
            let deadline = match (self.store.sync_deadline(), retry_at) {
                (Some(d), Some(r)) => Some(d.max(r)),
                (d, _) => d,
            };
            let cmd = match deadline {
                Some(d) => match rx.recv_timeout(d.saturating_duration_since(Instant::now())) {
                    Ok(cmd) => Some(cmd),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(cmd) => Some(cmd),
                    Err(_) => break,
                },
            };
            match cmd {
                None => {}
                Some(StoreCmd::Close { acked, done }) => {
                    self.store.set_acked(acked);
                    if let Err(e) = self.store.withdraw_ticket() {
                        tracing::warn!("{e}");
                    }
                    let result = self.store.close_or_discard().map(|removed| {
                        if removed {
                            tracing::info!(
                                "the document never held anything: its store was removed"
                            );
                        }
                    });
                    if result.is_ok() {
                        let _ = self.news.send((self.doc, StoreNews::Durable(self.pending)));
                    }
                    let _ = done.send(result);
                    return;
                }
                Some(StoreCmd::Compact(version, encoded)) => {
                    compaction_asked = false;
                    if let Err(e) = self.store.compact_encoded(&version, &encoded) {
                        self.tell(StoreNews::Failed(e));
                    }
                }
                Some(cmd) => self.command(cmd),
            }
            let now = Instant::now();
            let due = self.store.sync_deadline().is_some_and(|d| d <= now)
                && retry_at.is_none_or(|r| r <= now);
            if due {
                match self.store.sync() {
                    Ok(durable) => {
                        retry_at = None;
                        tracing::trace!(ops = durable.ops, bytes = durable.bytes, "store synced");
                        self.tell(StoreNews::Durable(self.pending.clone()));
                        if !compaction_asked && self.store.needs_compaction() {
                            compaction_asked = true;
                            self.tell(StoreNews::NeedsCompaction);
                        }
                    }
                    Err(e) => {
                        retry_at = Some(now + RETRY_AFTER);
                        self.tell(StoreNews::Failed(e));
                    }
                }
            }
        }
        // The session went away without closing: closing on drop syncs what is buffered.
    }

    fn save(&mut self, text: &str, version: VersionVector) {
        match self.store.save_text(text, &version) {
            Ok(Saved::Written) => self.tell(StoreNews::Saved(version)),
            Ok(Saved::Changed(change)) => self.tell(StoreNews::PlainChanged {
                change: Box::new(change),
                resave: true,
            }),
            Err(e) => self.tell(StoreNews::SaveFailed(e)),
        }
    }

    fn command(&mut self, cmd: StoreCmd) {
        match cmd {
            StoreCmd::Append(ops) => {
                for op in &ops {
                    self.frontier.add(op);
                }
                if let Err(e) = self.store.append(&ops) {
                    self.tell(StoreNews::Failed(e));
                }
                self.pending = self.frontier.version.clone();
            }
            StoreCmd::KeepEditor(state) => {
                if let Err(e) = self.store.keep_editor_state(&state) {
                    self.tell(StoreNews::Failed(e));
                }
            }
            StoreCmd::RememberPeer(peer) => {
                if let Err(e) = self.store.remember_peer(peer) {
                    self.tell(StoreNews::Failed(e));
                }
            }
            StoreCmd::Save { text, version } => self.save(&text, version),
            StoreCmd::SaveAs {
                file,
                text,
                version,
            } => match self.store.move_to(&file) {
                Ok(()) => {
                    self.tell(StoreNews::Moved(Ok(self.store.plain_file().to_path_buf())));
                    self.save(&text, version);
                }
                Err(e) => self.tell(StoreNews::Moved(Err(e))),
            },
            StoreCmd::SaveAnyway { text, version } => {
                self.store.confirm_drop();
                self.save(&text, version);
            }
            StoreCmd::CheckPlain => match self.store.plain_change() {
                Ok(Some(change)) => self.tell(StoreNews::PlainChanged {
                    change: Box::new(change),
                    resave: false,
                }),
                Ok(None) => {}
                Err(e) => self.tell(StoreNews::Failed(e)),
            },
            StoreCmd::PublishTicket(ticket) => {
                if let Err(e) = self.store.publish_ticket(&ticket) {
                    tracing::warn!("{e}");
                }
            }
            StoreCmd::Merged(change, exported) => {
                if let Err(e) = self.store.merged(&change, exported) {
                    self.tell(StoreNews::Failed(e));
                }
            }
            StoreCmd::Compact(..) | StoreCmd::Close { .. } => unreachable!("handled by run"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_text::{OpId, OpKind, ReplicaId};

    fn op(replica: u64, counter: u64, len: usize) -> Op {
        Op {
            meta: None,
            id: OpId::new(ReplicaId::from(replica), counter),
            kind: OpKind::Insert {
                origin_left: None,
                origin_right: None,
                text: "x".repeat(len).into(),
            },
        }
    }

    #[test]
    fn the_durable_version_never_claims_an_op_that_was_not_appended() {
        let mut f = Frontier {
            version: VersionVector::new(),
            gaps: Vec::new(),
        };
        f.add(&op(1, 0, 3));
        assert_eq!(f.version.get(ReplicaId::from(1)), 3);
        // Counters 3..5 are missing: 5..7 must wait.
        f.add(&op(1, 5, 2));
        assert_eq!(f.version.get(ReplicaId::from(1)), 3);
        f.add(&op(2, 0, 1));
        f.add(&op(1, 3, 2));
        assert_eq!(f.version.get(ReplicaId::from(1)), 7);
        assert_eq!(f.version.get(ReplicaId::from(2)), 1);
        assert!(f.gaps.is_empty());
    }
}
