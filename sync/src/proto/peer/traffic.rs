//! Document traffic of a [`Peer`]: applying local and received ops and updates, persisting
//! them, pushing local ops and serving catch-ups.

use crdt_text::{Applied, Op, VersionVector};

use super::super::conn::{ChunkOutcome, Inbound};
use super::super::{ConnId, Event, Message, Output, ProtoError, UpdateChunk};
use super::Held;
use super::Peer;

impl Peer {
    pub(super) fn local_op(&mut self, op: Op) {
        let before = self.doc.version();
        match self.doc.apply(&op) {
            Ok(Applied::Done(_)) => self.applied(None, before, vec![op]),
            Ok(Applied::Duplicate | Applied::Pending) => {}
            Err(e) => self.out.push(Output::Event(Event::LocalRejected(e))),
        }
    }

    pub(super) fn on_ops(&mut self, id: ConnId, ops: Vec<Op>) -> Result<(), ProtoError> {
        let limit = self.cfg.limits.max_ops_per_message;
        if ops.len() > limit {
            return Err(ProtoError::TooManyOps {
                count: ops.len(),
                limit,
            });
        }
        let before = self.doc.version();
        let mut done = Vec::new();
        let mut result = Ok(());
        for op in ops {
            if let Some(c) = self.conns.get_mut(&id) {
                c.learn(&op);
            }
            match self.doc.apply(&op) {
                Ok(Applied::Done(_)) => done.push(op),
                Ok(Applied::Duplicate) => {}
                Ok(Applied::Pending) => {
                    self.held.push(Held {
                        id: op.id,
                        end: op.end(),
                        conn: id,
                        since: self.now,
                    });
                }
                Err(e) => {
                    result = Err(ProtoError::InvalidOp(e));
                    break;
                }
            }
        }
        self.applied(Some(id), before, done);
        let count = self.held.iter().filter(|h| h.conn == id).count();
        let limit = self.cfg.limits.max_pending_ops_per_peer;
        if result.is_ok() && count > limit {
            result = Err(ProtoError::TooManyPending { count, limit });
        }
        result
    }

    pub(super) fn on_update(&mut self, id: ConnId, chunk: UpdateChunk) -> Result<(), ProtoError> {
        let Some(conn) = self.conns.get_mut(&id) else {
            return Ok(());
        };
        let bytes = match conn.inbound.push(chunk, &self.cfg.limits)? {
            ChunkOutcome::Complete(bytes) => bytes,
            ChunkOutcome::Partial | ChunkOutcome::Ignored => return Ok(()),
        };
        conn.inbound = Inbound::Idle;
        let before = self.doc.version();
        let result = self.doc.apply_update(&bytes);
        if self.doc.version() != before {
            let newly = self.doc.ops_since(&before);
            if let Some(c) = self.conns.get_mut(&id) {
                newly.iter().for_each(|op| c.learn(op));
            }
            self.applied(Some(id), before, newly);
        }
        result.map(drop).map_err(ProtoError::BadUpdate)
    }

    /// Ops took effect (`done`, from `source`; `None`: local): persist them, tell the UI, and
    /// push local ones to every connection.
    ///
    /// Received ops are not pushed on: every peer acknowledges what it stores to all its
    /// connections, and a peer that sees an acknowledged op it lacks asks that connection for
    /// it (`Sync`). So ops reach peers that cannot connect to their author one store-sync
    /// later, without the n² duplicates that pushing would cost in a full mesh.
    pub(super) fn applied(&mut self, source: Option<ConnId>, before: VersionVector, done: Vec<Op>) {
        let now_v = self.doc.version();
        let newly = if exactly(&before, &done, &now_v) {
            done
        } else {
            self.doc.ops_since(&before)
        };
        if newly.is_empty() {
            return;
        }
        if !self.held.is_empty() {
            self.held.retain(|h| now_v.get(h.id.replica) < h.end);
        }
        let me = self.doc.replica();
        let remote: Vec<Op> = match source {
            Some(_) => newly.clone(),
            None => newly
                .iter()
                .filter(|op| op.id.replica != me)
                .cloned()
                .collect(),
        };
        self.out.push(Output::Persist(newly.clone()));
        if !remote.is_empty() {
            self.out.push(Output::Event(Event::Remote(remote)));
        }
        for c in self.conns.values_mut().filter(|c| c.is_live()) {
            for op in newly.iter().filter(|op| op.id.replica == me) {
                if !c.has(op) {
                    c.learn(op);
                    c.outbox.push(op.clone());
                }
            }
        }
    }

    /// Sends `id` everything it lacks as a chunked compact update.
    pub(super) fn serve_sync(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.sync_deferred = None;
        c.sync_served = Some(self.now);
        c.outbox.clear();
        let version = self.doc.version();
        if c.known.includes(&version) {
            return;
        }
        let bytes = self.doc.encode_since(&c.known);
        c.known.merge(&version);
        let update = c.next_update;
        c.next_update = c.next_update.wrapping_add(1);
        let size = self.cfg.limits.update_chunk_bytes.max(1);
        let count = bytes.len().div_ceil(size).max(1) as u32;
        for index in 0..count {
            let start = index as usize * size;
            let piece = bytes[start.min(bytes.len())..(start + size).min(bytes.len())].to_vec();
            self.send(
                id,
                Message::Update(UpdateChunk {
                    update,
                    index,
                    count,
                    bytes: piece,
                }),
            );
        }
    }
}

/// Whether applying `done` to `before` gives exactly `after` (so `done` are all the new ops).
fn exactly(before: &VersionVector, done: &[Op], after: &VersionVector) -> bool {
    let mut v = before.clone();
    for op in done {
        if v.get(op.id.replica) != op.id.counter {
            return false;
        }
        v.advance(op.id.replica, op.end());
    }
    v == *after
}
