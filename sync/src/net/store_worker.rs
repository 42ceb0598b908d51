//! The store's own thread: appends, `fdatasync`s and exports happen here, so a slow disk never
//! delays a keystroke on its way to the peers.
//!
//! The actor sends [`StoreCmd`]s in the order it gets [`Output::Persist`](crate::proto::Output)
//! and friends; the worker syncs at the store's deadline (50 ms after the first unsynced
//! append, see [`store::FlushPolicy`](crate::store::FlushPolicy)) and reports back which
//! version became durable, which the actor feeds to the protocol as `Input::Durable`.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crdt_text::{Doc, Op, VersionVector};
use tokio::sync::{mpsc, oneshot};

use crate::store::{KnownPeer, PlainImport, Store, StoreError};

/// After a failed sync (disk full, I/O error), wait this long before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Work for the store thread.
pub(crate) enum StoreCmd {
    /// Append ops (in the order they were applied); they become durable at the next sync.
    Append(Vec<Op>),
    /// Save a peer in the known-peers list.
    RememberPeer(KnownPeer),
    /// Export the document's text to the plain file.
    WritePlain(Box<Doc>, Option<oneshot::Sender<Result<(), StoreError>>>),
    /// Check whether the plain file differs from what was last written or seen; if so, answer
    /// [`StoreNews::PlainChanged`].
    CheckPlain,
    /// Merge what another program changed in the plain file into this copy of the document
    /// (reporting the new local ops), then export it. Only for sessions without an editor:
    /// the ops take this replica's next counters.
    ImportAndWritePlain {
        /// The actor's current document.
        doc: Box<Doc>,
        /// Export even if nothing was imported (the document changed).
        write: bool,
    },
    /// Rewrite the snapshot if the log tail is large (the doc holds every op appended).
    Compact(Box<Doc>),
    /// Sync, optionally export the text, and close the store.
    Close {
        /// Export this text first, if given.
        plain: Option<Box<Doc>>,
        /// Gets the outcome.
        done: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// News from the store thread.
#[derive(Debug)]
pub(crate) enum StoreNews {
    /// Everything in this version is durable.
    Durable(VersionVector),
    /// A store operation failed; nothing is lost (ops stay buffered and the sync is retried).
    Failed(StoreError),
    /// The log tail is large: send a [`StoreCmd::Compact`] with the current document.
    NeedsCompaction,
    /// The plain file was written.
    PlainWritten,
    /// The plain file differs from what was last written or seen: send
    /// [`StoreCmd::ImportAndWritePlain`].
    PlainChanged,
    /// Another program changed the plain file; these local ops (already stored) carry its
    /// changes into the document.
    Imported {
        /// The ops, in order.
        ops: Vec<Op>,
        /// Characters inserted.
        inserted: usize,
        /// Characters deleted.
        deleted: usize,
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

/// Starts the store thread. `version` is what the store already holds durably.
pub(crate) fn spawn(
    store: Store,
    version: VersionVector,
    news: mpsc::UnboundedSender<StoreNews>,
) -> std::io::Result<Sender<StoreCmd>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("duet-store".into())
        .spawn(move || run(store, version, rx, news))?;
    Ok(tx)
}

fn run(
    mut store: Store,
    version: VersionVector,
    rx: Receiver<StoreCmd>,
    news: mpsc::UnboundedSender<StoreNews>,
) {
    let mut frontier = Frontier {
        version: version.clone(),
        gaps: Vec::new(),
    };
    // The version that the next successful sync makes durable.
    let mut pending = version;
    let mut retry_at: Option<Instant> = None;
    let mut compaction_asked = false;
    let mut plain_seen = plain_hash(&store);
    loop {
        let deadline = match (store.sync_deadline(), retry_at) {
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
            Some(StoreCmd::Append(ops)) => {
                for op in &ops {
                    frontier.add(op);
                }
                if let Err(e) = store.append(&ops) {
                    let _ = news.send(StoreNews::Failed(e));
                }
                pending = frontier.version.clone();
            }
            Some(StoreCmd::RememberPeer(peer)) => {
                if let Err(e) = store.remember_peer(peer) {
                    let _ = news.send(StoreNews::Failed(e));
                }
            }
            // `plain_seen` is read back right after each write, so a change another program
            // makes within that instant goes unnoticed here; it is still merged, not lost: the
            // store compares the file with what it wrote before every later export.
            Some(StoreCmd::CheckPlain) if plain_hash(&store) != plain_seen => {
                let _ = news.send(StoreNews::PlainChanged);
            }
            Some(StoreCmd::CheckPlain) => {}
            Some(StoreCmd::WritePlain(doc, reply)) => {
                let result = store.write_plain_file(&doc);
                plain_seen = plain_hash(&store);
                match reply {
                    Some(reply) => {
                        let _ = reply.send(result);
                    }
                    None => {
                        let _ = news.send(match result {
                            Ok(()) => StoreNews::PlainWritten,
                            Err(e) => StoreNews::Failed(e),
                        });
                    }
                }
            }
            Some(StoreCmd::ImportAndWritePlain { mut doc, write }) => {
                let imported = match store.import_plain_file(&mut doc) {
                    Ok(PlainImport::Imported {
                        ops,
                        inserted,
                        deleted,
                    }) => {
                        for op in &ops {
                            frontier.add(op);
                        }
                        pending = frontier.version.clone();
                        let _ = news.send(StoreNews::Imported {
                            ops,
                            inserted,
                            deleted,
                        });
                        true
                    }
                    Ok(PlainImport::Unchanged | PlainImport::Missing) => false,
                    Err(e) => {
                        // Never overwrite outside edits that could not be merged.
                        let _ = news.send(StoreNews::Failed(e));
                        continue;
                    }
                };
                plain_seen = plain_hash(&store);
                if write || imported {
                    let result = store.write_plain_file(&doc);
                    plain_seen = plain_hash(&store);
                    let _ = news.send(match result {
                        Ok(()) => StoreNews::PlainWritten,
                        Err(e) => StoreNews::Failed(e),
                    });
                }
            }
            Some(StoreCmd::Compact(doc)) => {
                compaction_asked = false;
                if let Err(e) = store.compact(&doc) {
                    let _ = news.send(StoreNews::Failed(e));
                }
            }
            Some(StoreCmd::Close { plain, done }) => {
                let result = close(store, plain.as_deref());
                if result.is_ok() {
                    let _ = news.send(StoreNews::Durable(pending));
                }
                let _ = done.send(result);
                return;
            }
        }
        let now = Instant::now();
        let due =
            store.sync_deadline().is_some_and(|d| d <= now) && retry_at.is_none_or(|r| r <= now);
        if due {
            match store.sync() {
                Ok(durable) => {
                    retry_at = None;
                    tracing::trace!(ops = durable.ops, bytes = durable.bytes, "store synced");
                    let _ = news.send(StoreNews::Durable(pending.clone()));
                    if !compaction_asked && store.needs_compaction() {
                        compaction_asked = true;
                        let _ = news.send(StoreNews::NeedsCompaction);
                    }
                }
                Err(e) => {
                    retry_at = Some(now + RETRY_AFTER);
                    let _ = news.send(StoreNews::Failed(e));
                }
            }
        }
    }
    // The actor went away without closing: closing on drop syncs what is buffered.
    drop(store);
}

/// A fingerprint of the plain file's content (`None`: missing or unreadable).
fn plain_hash(store: &Store) -> Option<blake3::Hash> {
    std::fs::read(store.plain_file())
        .ok()
        .map(|b| blake3::hash(&b))
}

fn close(mut store: Store, plain: Option<&Doc>) -> Result<(), StoreError> {
    store.sync()?;
    if let Some(doc) = plain {
        store.write_plain_file(doc)?;
    }
    store.close()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_text::{OpId, OpKind, ReplicaId};

    fn op(replica: u64, counter: u64, len: usize) -> Op {
        Op {
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
