//! Document traffic of a [`Peer`]: local ops, received ops and updates, acknowledgements,
//! presence and digests, persisting what changed and serving catch-ups.

use crdt_text::{Applied, Doc, Op, Rejected, VersionVector};

use super::super::conn::{ChunkOutcome, Inbound};
use super::super::{ConnId, Digest, DocMessage, Docs, Event, Output, ProtoError, UpdateChunk};
use super::{Held, Peer};
use crate::ids::{DocId, PeerId};

impl Peer {
    pub(super) fn local_ops(&mut self, docs: &mut dyn Docs, doc: DocId, ops: Vec<Op>) {
        let ops: Vec<Op> = ops.into_iter().filter(|op| !op.is_empty()).collect();
        if ops.is_empty() || !self.docs.contains_key(&doc) {
            return;
        }
        let Some(replica) = lent(docs, doc) else {
            return;
        };
        let version = replica.version();
        self.applied(doc, version, None, ops);
    }

    pub(super) fn on_doc_message(
        &mut self,
        docs: &mut dyn Docs,
        id: ConnId,
        doc: DocId,
        msg: DocMessage,
    ) -> Result<(), ProtoError> {
        match msg {
            DocMessage::Sync(v) => {
                if let Some(c) = self.chan_mut(id, doc) {
                    c.known = v;
                    c.outbox.clear();
                    c.sync_deferred = Some(c.known.clone());
                }
                Ok(())
            }
            DocMessage::Update(chunk) => self.on_update(docs, id, doc, chunk),
            DocMessage::Ops(ops) => self.on_ops(docs, id, doc, ops),
            DocMessage::Ack(v) => {
                if let Some(c) = self.chan_mut(id, doc) {
                    c.known.merge(&v);
                    c.their_ack = v.clone();
                    if c.sync_unacked.as_ref().is_some_and(|u| v.includes(u)) {
                        c.sync_unacked = None;
                    }
                }
                if let Some(d) = self.docs.get_mut(&doc) {
                    d.acked.merge(&v);
                }
                Ok(())
            }
            DocMessage::Peers(list) => self.on_peers(id, doc, list),
            DocMessage::Presence(p) => {
                if let Some(p) = &p {
                    let chars = p.name.chars().count();
                    let limit = self.cfg.limits.max_name_chars;
                    if chars > limit {
                        return Err(ProtoError::PresenceTooLarge { chars, limit });
                    }
                }
                let remote = self.conns[&id].remote;
                if let Some(p) = &p
                    && let Some(k) = self.mesh.peers.get_mut(&remote)
                {
                    k.name = Some(p.name.clone());
                }
                if let Some(c) = self.chan_mut(id, doc) {
                    c.presence = p.clone();
                }
                if let Some(d) = self.docs.get_mut(&doc) {
                    match p {
                        Some(_) => d.shown.insert(remote),
                        None => d.shown.remove(&remote),
                    };
                }
                self.out.push(Output::Event(Event::Presence {
                    doc,
                    peer: remote,
                    presence: p,
                }));
                Ok(())
            }
            DocMessage::Digest(digest) => {
                self.on_digest(docs, id, doc, digest);
                Ok(())
            }
            DocMessage::App(bytes) => {
                let peer = self.conns[&id].remote;
                self.out.push(Output::App { doc, peer, bytes });
                Ok(())
            }
            DocMessage::Gossip(msg) => {
                self.on_gossip(id, doc, msg);
                Ok(())
            }
        }
    }

    fn on_ops(
        &mut self,
        docs: &mut dyn Docs,
        id: ConnId,
        doc: DocId,
        ops: Vec<Op>,
    ) -> Result<(), ProtoError> {
        let limit = self.cfg.limits.max_ops_per_message;
        if ops.len() > limit {
            return Err(ProtoError::TooManyOps {
                count: ops.len(),
                limit,
            });
        }
        let Some(replica) = lent(docs, doc) else {
            return Ok(());
        };
        let before = replica.version();
        let mut done = Vec::new();
        let mut held = Vec::new();
        let mut unblocked = Vec::new();
        let mut result = Ok(());
        for op in ops {
            if let Some(c) = self.chan_mut(id, doc) {
                c.learn(&op);
            }
            match replica.apply(&op) {
                Ok(Applied::Done { rejected, .. }) => {
                    done.push(op);
                    unblocked.extend(rejected);
                }
                Ok(Applied::Duplicate) => {}
                Ok(Applied::Pending) => held.push(Held {
                    id: op.id,
                    end: op.end(),
                    conn: id,
                    since: self.now,
                }),
                Err(e) => {
                    result = Err(ProtoError::InvalidOp(e));
                    break;
                }
            }
        }
        let after = replica.version();
        let done = if exactly(&before, &done, &after) {
            done
        } else {
            replica.ops_since(&before)
        };
        let Some(sync) = self.docs.get_mut(&doc) else {
            return result;
        };
        sync.held.extend(held);
        let invalid = self.reject(doc, Some(id), unblocked);
        let from = self.conns[&id].remote;
        self.applied(doc, after, Some(from), done);
        result = result.and(invalid);
        let count = self.docs[&doc].held.iter().filter(|h| h.conn == id).count();
        let limit = self.cfg.limits.max_pending_ops_per_peer;
        if result.is_ok() && count > limit {
            result = Err(ProtoError::TooManyPending { count, limit });
        }
        result
    }

    fn on_update(
        &mut self,
        docs: &mut dyn Docs,
        id: ConnId,
        doc: DocId,
        chunk: UpdateChunk,
    ) -> Result<(), ProtoError> {
        let limits = self.cfg.limits.clone();
        let Some(chan) = self.chan_mut(id, doc) else {
            return Ok(());
        };
        let bytes = match chan.inbound.push(chunk, &limits)? {
            ChunkOutcome::Complete(bytes) => bytes,
            ChunkOutcome::Partial | ChunkOutcome::Ignored => return Ok(()),
        };
        chan.inbound = Inbound::Idle;
        let Some(replica) = lent(docs, doc) else {
            return Ok(());
        };
        let before = replica.version();
        let result = replica.apply_update(&bytes);
        let after = replica.version();
        let (result, unblocked) = match result {
            Ok(applied) => (Ok(()), applied.rejected),
            Err(e) => (Err(ProtoError::BadUpdate(e)), Vec::new()),
        };
        let invalid = self.reject(doc, Some(id), unblocked);
        if after != before {
            let newly = replica.ops_since(&before);
            if let Some(c) = self.chan_mut(id, doc) {
                newly.iter().for_each(|op| c.learn(op));
            }
            let from = self.conns[&id].remote;
            self.applied(doc, after, Some(from), newly);
        }
        result.and(invalid)
    }

    /// Held ops of `doc` that turned out invalid once what they waited for arrived (on
    /// connection `id`, or from a room's broadcast): every connection that sent one is closed
    /// — `id` itself through the returned error. An op held from an update or a broadcast has
    /// no recorded sender and is only logged.
    pub(super) fn reject(
        &mut self,
        doc: DocId,
        id: Option<ConnId>,
        rejected: Vec<Rejected>,
    ) -> Result<(), ProtoError> {
        let mut result = Ok(());
        for Rejected { op, error } in rejected {
            let sender = self
                .docs
                .get(&doc)
                .and_then(|d| d.held.iter().find(|h| h.id == op.id))
                .map(|h| h.conn);
            let error = ProtoError::InvalidOp(error);
            match sender {
                Some(conn) if Some(conn) != id => self.close(conn, error),
                Some(_) => result = result.and(Err(error)),
                None => {
                    tracing::warn!(%doc, op = ?op.id, %error, "dropped a held op of unknown origin")
                }
            }
        }
        result
    }

    /// Ops of `doc` took effect (`newly`, in order, from peer `source`; `None`: local), leaving
    /// the document at `version`: persist them, tell the user, and send local ones to every
    /// peer — pushed on every channel of the document, or in a big room broadcast to the room
    /// and pushed only on channels to peers that are not swarm neighbours.
    ///
    /// Received ops are not pushed on: every peer acknowledges what it stores to all its
    /// connections, and a peer that sees an acknowledged op it lacks asks that connection for
    /// it (`Sync`). So ops reach peers that cannot connect to their author one store-sync
    /// later, without the n² duplicates that pushing would cost in a full mesh.
    pub(super) fn applied(
        &mut self,
        doc: DocId,
        version: VersionVector,
        source: Option<PeerId>,
        newly: Vec<Op>,
    ) {
        let Some(sync) = self.docs.get_mut(&doc) else {
            return;
        };
        sync.version = version;
        if newly.is_empty() {
            return;
        }
        if !sync.held.is_empty() {
            let v = &sync.version;
            sync.held.retain(|h| v.get(h.id.replica) < h.end);
        }
        self.out.push(Output::Persist {
            doc,
            ops: newly.clone(),
        });
        let Some(from) = source else {
            let neighbors = sync.room.as_ref().map(|r| r.neighbors.clone());
            for c in self.conns.values_mut() {
                let Some(chan) = c.chans.get_mut(&doc).filter(|ch| ch.is_live()) else {
                    continue;
                };
                if neighbors.as_ref().is_some_and(|n| n.contains(&c.remote)) {
                    continue;
                }
                for op in &newly {
                    if !chan.has(op) {
                        chan.learn(op);
                        chan.outbox.push(op.clone());
                    }
                }
            }
            if neighbors.is_some() {
                self.room_broadcast_ops(doc, &newly);
            }
            return;
        };
        // The sender has what it sent (and everything before it of the same replicas).
        for op in &newly {
            sync.acked.advance(op.id.replica, op.end());
        }
        self.out.push(Output::Event(Event::Remote {
            doc,
            from,
            ops: newly.len(),
        }));
    }

    /// Sends `id` everything of `doc` it lacks as a chunked compact update.
    pub(super) fn serve_sync(&mut self, docs: &mut dyn Docs, id: ConnId, doc: DocId) {
        let now = self.now;
        let size = self.cfg.limits.update_chunk_bytes.max(1);
        let Some(replica) = lent(docs, doc) else {
            return;
        };
        let version = replica.version();
        let Some(c) = self.chan_mut(id, doc) else {
            return;
        };
        c.sync_deferred = None;
        c.sync_served = Some(now);
        c.outbox.clear();
        if c.known.includes(&version) {
            return;
        }
        let bytes = replica.encode_since(&c.known);
        c.known.merge(&version);
        c.sync_unacked = Some(version);
        let update = c.next_update;
        c.next_update = c.next_update.wrapping_add(1);
        let count = bytes.len().div_ceil(size).max(1) as u32;
        for index in 0..count {
            let start = index as usize * size;
            let piece = bytes[start.min(bytes.len())..(start + size).min(bytes.len())].to_vec();
            let chunk = UpdateChunk {
                update,
                index,
                count,
                bytes: piece,
            };
            self.send_doc(id, doc, DocMessage::Update(chunk));
        }
    }

    /// The remote's digest: at our version, its text must be ours.
    fn on_digest(&mut self, docs: &mut dyn Docs, id: ConnId, doc: DocId, digest: Digest) {
        let Some(ours) = self.digest(docs, doc, &digest.version) else {
            return;
        };
        let remote = self.conns[&id].remote;
        let Some(chan) = self.chan_mut(id, doc) else {
            return;
        };
        if ours == digest.hash {
            chan.confirmed = Some(digest.version);
            chan.diverged = false;
        } else if !chan.diverged {
            chan.diverged = true;
            chan.confirmed = None;
            tracing::error!(
                %remote,
                version = ?digest.version,
                ours = %data_encoding::HEXLOWER.encode(&ours),
                theirs = %data_encoding::HEXLOWER.encode(&digest.hash),
                "texts differ at an equal version"
            );
            self.out.push(Output::Event(Event::Diverged {
                doc,
                peer: remote,
                version: digest.version,
                ours,
                theirs: digest.hash,
            }));
        }
    }

    /// Our text's digest if the document is at `version` (cached per version).
    pub(super) fn digest(
        &mut self,
        docs: &mut dyn Docs,
        doc: DocId,
        version: &VersionVector,
    ) -> Option<[u8; 32]> {
        let now = self.now;
        let sync = self.docs.get_mut(&doc)?;
        if sync.version != *version {
            return None;
        }
        if let Some((v, hash, _)) = &sync.digest
            && v == version
        {
            return Some(*hash);
        }
        let replica = lent(docs, doc)?;
        let mut hasher = blake3::Hasher::new();
        for chunk in replica.chunks(0..replica.len()) {
            hasher.update(chunk.as_bytes());
        }
        let hash = *hasher.finalize().as_bytes();
        sync.digest = Some((version.clone(), hash, now));
        Some(hash)
    }

    pub(super) fn chan_mut(
        &mut self,
        id: ConnId,
        doc: DocId,
    ) -> Option<&mut super::super::conn::Chan> {
        self.conns.get_mut(&id)?.chans.get_mut(&doc)
    }
}

/// The caller's replica of `doc`. A peer syncs only documents it was given with
/// [`Peer::add_doc`](super::Peer::add_doc), and the caller must lend each of them.
fn lent(docs: &mut dyn Docs, doc: DocId) -> Option<&mut Doc> {
    let found = docs.get(&doc);
    if found.is_none() {
        tracing::error!(%doc, "the driver did not lend a document the protocol syncs");
        debug_assert!(false, "document {doc} not lent to Peer::handle");
    }
    found
}

/// Whether applying `done` to `before` gives exactly `after` (so `done` are all the new ops).
pub(super) fn exactly(before: &VersionVector, done: &[Op], after: &VersionVector) -> bool {
    let mut v = before.clone();
    for op in done {
        if v.get(op.id.replica) != op.id.counter {
            return false;
        }
        v.advance(op.id.replica, op.end());
    }
    v == *after
}
