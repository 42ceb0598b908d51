//! Timers and the end of every `handle` call: timeouts, acknowledgements, catch-up requests,
//! digests, coalesced sends, dials and the status report.

use crdt_text::OpId;

use super::super::conn::Phase;
use super::super::split::batches;
use std::collections::BTreeMap;

use super::super::{
    ConnId, Departure, Digest, DocMessage, Docs, Event, Millis, Output, ProtoError, SyncStatus,
};
use super::Peer;
use crate::ids::{DocId, PeerId};

impl Peer {
    /// When the driver must feed [`Input::Tick`](super::super::Input::Tick) at the latest
    /// (`None`: only on other input).
    pub fn poll_timeout(&self) -> Option<Millis> {
        let t = &self.cfg.timers;
        let mut next: Option<Millis> = self.mesh.next_deadline(t);
        if let Some(room) = self.room_deadline() {
            next = Some(next.map_or(room, |n| n.min(room)));
        }
        let mut at = |m: Millis| next = Some(next.map_or(m, |n| n.min(m)));
        for c in self.conns.values() {
            match c.phase {
                Phase::AwaitHello => at(c.opened.plus(t.handshake_timeout_ms)),
                Phase::Open { .. } => {
                    if let Some(idle) = c.idle_since {
                        at(idle.plus(t.handshake_timeout_ms));
                    }
                }
            }
        }
        if let Some(doc) = self.deadlines.values().min() {
            at(*doc);
        }
        next
    }

    /// When `doc`'s live channels (acknowledgements, catch-up, digests) and held ops need the
    /// clock next; `self.now` when at once.
    fn doc_deadline(&self, doc: &DocId) -> Option<Millis> {
        let (t, now) = (&self.cfg.timers, self.now);
        let sync = self.docs.get(doc)?;
        let mut next: Option<Millis> = None;
        let mut at = |m: Millis| next = Some(next.map_or(m, |n| n.min(m)));
        for chan in self.conns.values().filter_map(|c| c.live(doc)) {
            if !settled(sync, chan) {
                at(chan.ack_sent.as_ref().map_or(now, |(v, sent)| {
                    sent.plus(if *v == sync.durable {
                        t.ack_interval_ms
                    } else {
                        t.ack_delay_ms
                    })
                }));
            }
            if chan.sync_deferred.is_some() {
                at(chan
                    .sync_served
                    .map_or(now, |s| s.plus(t.sync_min_interval_ms)));
            }
            if !sync.version.includes(&chan.known) {
                at(chan
                    .sync_asked
                    .map_or(now, |s| s.plus(t.sync_min_interval_ms)));
            }
            if self.wants_digest(sync, chan) {
                let last = sync.digest.as_ref().map(|(_, _, at)| *at);
                at(last.map_or(now, |l| l.plus(t.digest_interval_ms)));
            }
        }
        for h in &sync.held {
            at(h.since.plus(t.pending_timeout_ms));
        }
        next
    }

    /// Brings the cached deadlines of `ids` up to date (after a flush visited them).
    fn update_deadlines(&mut self, ids: &[DocId]) {
        if ids.len() == self.docs.len() {
            self.deadlines.clear();
        }
        for doc in ids {
            match self.doc_deadline(doc) {
                Some(at) => self.deadlines.insert(*doc, at),
                None => self.deadlines.remove(doc),
            };
        }
    }

    pub(super) fn tick(&mut self, docs: &mut dyn Docs) {
        let (now, t) = (self.now, self.cfg.timers.clone());
        // Only documents whose timers are due have anything to do (and their deadlines to
        // update).
        let due_docs: Vec<DocId> = self
            .deadlines
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(doc, _)| *doc)
            .collect();
        for doc in &due_docs {
            self.touch(*doc);
        }
        let mut expired: Vec<(ConnId, ProtoError)> = Vec::new();
        for c in self.conns.values() {
            match c.phase {
                Phase::AwaitHello if now.since(c.opened) >= t.handshake_timeout_ms => {
                    expired.push((c.id, ProtoError::HandshakeTimeout(t.handshake_timeout_ms)));
                }
                Phase::Open { .. }
                    if c.idle_since
                        .is_some_and(|i| now.since(i) >= t.handshake_timeout_ms) =>
                {
                    let error = if c.verified {
                        ProtoError::Idle(t.handshake_timeout_ms)
                    } else {
                        ProtoError::HandshakeTimeout(t.handshake_timeout_ms)
                    };
                    expired.push((c.id, error));
                }
                _ => {}
            }
        }
        for (id, error) in expired {
            self.close(id, error);
        }
        // Held ops count in their document's deadline: only due documents can have stuck ones.
        let stuck: Vec<(ConnId, OpId, u64)> = due_docs
            .iter()
            .filter_map(|doc| self.docs.get(doc))
            .flat_map(|d| d.held.iter())
            .filter(|h| now.since(h.since) >= t.pending_timeout_ms)
            .map(|h| (h.conn, h.id, now.since(h.since)))
            .collect();
        for (id, op, waited_ms) in stuck {
            self.close(id, ProtoError::StuckOp { op, waited_ms });
        }
        let due: Vec<(ConnId, DocId)> = self
            .live_chans_of(&due_docs)
            .into_iter()
            .filter(|(id, doc)| {
                let chan = &self.conns[id].chans[doc];
                !settled(&self.docs[doc], chan)
                    && chan
                        .ack_sent
                        .as_ref()
                        .is_none_or(|(_, at)| now.since(*at) >= t.ack_interval_ms)
            })
            .collect();
        for (id, doc) in due {
            self.send_ack(id, doc);
            if let Some(p) = self.docs.get(&doc).and_then(|d| d.presence.clone()) {
                self.send_doc(id, doc, DocMessage::Presence(Some(p)));
            }
        }
        self.send_digests(docs, &due_docs);
        self.trim_room_channels();
    }

    /// Every (connection, document) pair that is live.
    fn live_chans(&self) -> impl Iterator<Item = (ConnId, DocId)> + '_ {
        self.conns
            .values()
            .flat_map(|c| c.live_docs().map(move |d| (c.id, d)))
    }

    /// The live (connection, document) pairs of these documents.
    fn live_chans_of(&self, ids: &[DocId]) -> Vec<(ConnId, DocId)> {
        if ids.len() == self.docs.len() {
            return self.live_chans().collect();
        }
        ids.iter()
            .flat_map(|doc| {
                self.conns
                    .values()
                    .filter(|c| c.live(doc).is_some())
                    .map(|c| (c.id, *doc))
            })
            .collect()
    }

    /// Whether we owe the remote our digest on this channel: as far as we know it has exactly
    /// our version (it said so, or we sent it what it lacked: the digest follows those ops on
    /// the same ordered connection), and we have not sent the digest for this version yet.
    fn wants_digest(&self, sync: &super::DocSync, chan: &super::super::conn::Chan) -> bool {
        chan.known == sync.version && chan.digest_sent.as_ref() != Some(&sync.version)
    }

    /// Sends our digest where it is owed on the channels of `ids`, computing it at most once
    /// per interval.
    fn send_digests(&mut self, docs: &mut dyn Docs, ids: &[DocId]) {
        let (now, interval) = (self.now, self.cfg.timers.digest_interval_ms);
        let owed: Vec<(ConnId, DocId)> = self
            .live_chans_of(ids)
            .into_iter()
            .filter(|(id, doc)| {
                let sync = &self.docs[doc];
                self.wants_digest(sync, &self.conns[id].chans[doc])
            })
            .collect();
        for (id, doc) in owed {
            let sync = &self.docs[&doc];
            let fresh = sync
                .digest
                .as_ref()
                .is_some_and(|(v, ..)| *v == sync.version);
            let recent = sync
                .digest
                .as_ref()
                .is_some_and(|(.., at)| now.since(*at) < interval);
            if !fresh && recent {
                continue;
            }
            let version = sync.version.clone();
            let Some(hash) = self.digest(docs, doc, &version) else {
                continue;
            };
            if let Some(c) = self.chan_mut(id, doc) {
                c.digest_sent = Some(version.clone());
            }
            self.send_doc(id, doc, DocMessage::Digest(Digest { version, hash }));
        }
    }

    /// Acknowledges our durable version on every live channel whose last acknowledgement is
    /// older than it and was sent at least `min_gap_ms` ago (0: at once, as when quitting).
    pub(super) fn send_stale_acks(&mut self, min_gap_ms: u64) {
        let chans: Vec<(ConnId, DocId)> = self.live_chans().collect();
        self.send_stale_acks_on(chans, min_gap_ms);
    }

    /// [`send_stale_acks`](Self::send_stale_acks) on these channels.
    fn send_stale_acks_on(&mut self, chans: Vec<(ConnId, DocId)>, min_gap_ms: u64) {
        let now = self.now;
        let stale: Vec<(ConnId, DocId)> = chans
            .into_iter()
            .filter(|(id, doc)| {
                let durable = &self.docs[doc].durable;
                self.conns[id].chans[doc]
                    .ack_sent
                    .as_ref()
                    .is_none_or(|(v, at)| v != durable && now.since(*at) >= min_gap_ms)
            })
            .collect();
        for (id, doc) in stale {
            self.send_ack(id, doc);
        }
    }

    fn send_ack(&mut self, id: ConnId, doc: DocId) {
        let Some(durable) = self.docs.get(&doc).map(|d| d.durable.clone()) else {
            return;
        };
        let now = self.now;
        if let Some(c) = self.chan_mut(id, doc) {
            c.ack_sent = Some((durable.clone(), now));
        }
        self.send_doc(id, doc, DocMessage::Ack(durable));
    }

    /// Sends what accumulated during this `handle` call, dials due peers, reports status.
    /// Visits only the documents the call touched (see `Touched`).
    pub(super) fn flush(&mut self, docs: &mut dyn Docs) {
        let now = self.now;
        let min = self.cfg.timers.sync_min_interval_ms;
        let ids = self.take_touched();
        for doc in &ids {
            self.maybe_enter_room(*doc);
        }
        for doc in &ids {
            let Some(sync) = self.docs.get_mut(doc) else {
                continue;
            };
            if !std::mem::take(&mut sync.presence_dirty) {
                continue;
            }
            match sync.room.as_mut() {
                Some(room) => room.presence_due = true,
                None => {
                    let p = sync.presence.clone();
                    self.broadcast(*doc, None, DocMessage::Presence(p));
                }
            }
        }
        for doc in &ids {
            self.room_step(docs, *doc);
        }
        let chans = self.live_chans_of(&ids);
        for &(id, doc) in &chans {
            let Some(version) = self.docs.get(&doc).map(|d| d.version.clone()) else {
                continue;
            };
            let Some(c) = self.chan_mut(id, doc) else {
                continue;
            };
            // The remote has ops we lack (it acknowledged them, or sent ops that wait for
            // dependencies): ask for them, at most once per interval.
            let lacking = !version.includes(&c.known) && !c.inbound.in_progress();
            if lacking && c.sync_asked.is_none_or(|t| now.since(t) >= min) {
                c.sync_asked = Some(now);
                self.send_doc(id, doc, DocMessage::Sync(version));
            }
            let Some(c) = self.chan_mut(id, doc) else {
                continue;
            };
            if c.sync_deferred.is_some() {
                if c.sync_served.is_none_or(|t| now.since(t) >= min) {
                    self.serve_sync(docs, id, doc);
                }
                continue;
            }
            let ops = std::mem::take(&mut c.outbox);
            for batch in batches(ops, self.cfg.limits.max_ops_per_message) {
                self.send_doc(id, doc, DocMessage::Ops(batch));
            }
        }
        let chans = self.live_chans_of(&ids);
        self.send_stale_acks_on(chans, self.cfg.timers.ack_delay_ms);
        // Big rooms dial only whom their swarm asks for; small groups dial everyone.
        let docs_now = &self.docs;
        let needed = |id: &PeerId| {
            docs_now.values().any(|d| match &d.room {
                None => d.known.contains(id),
                Some(room) => room.waiting.contains_key(id),
            })
        };
        let due = self.mesh.due(now, &self.cfg.timers, &mut self.rng, needed);
        for addr in due {
            if self.conns.values().any(|c| c.remote == addr.id) {
                self.mesh.connected(&addr.id);
            } else {
                self.out.push(Output::Dial(addr));
            }
        }
        self.report_here(&ids);
        self.report_status(docs, &ids);
        self.update_deadlines(&ids);
    }

    /// Who is here for each document: peers with a verified channel carrying it. Tells the
    /// user who joined and who left since the last report (hiding the cursors of those who
    /// left), so a peer that reconnects within one step is never shown leaving.
    fn report_here(&mut self, ids: &[DocId]) {
        for &doc in ids {
            let mut now_here: BTreeMap<PeerId, Option<String>> = self
                .room_heard(&doc)
                .map(|(peer, name)| (peer, Some(name).filter(|n| !n.is_empty())))
                .collect();
            for c in self.conns.values().filter(|c| c.live(&doc).is_some()) {
                now_here.insert(c.remote, c.name.clone());
            }
            let Some(d) = self.docs.get_mut(&doc) else {
                continue;
            };
            if d.here == now_here {
                d.departures.retain(|p, _| !now_here.contains_key(p));
                continue;
            }
            let before = std::mem::replace(&mut d.here, now_here);
            for (peer, name) in &d.here {
                if !before.contains_key(peer) {
                    self.out.push(Output::Event(Event::PeerJoined {
                        doc,
                        peer: *peer,
                        name: name.clone(),
                    }));
                }
            }
            for peer in before.keys().filter(|p| !d.here.contains_key(p)) {
                if d.shown.remove(peer) {
                    self.out.push(Output::Event(Event::Presence {
                        doc,
                        peer: *peer,
                        presence: None,
                    }));
                }
                let why = d.departures.remove(peer).unwrap_or(Departure::Lost);
                self.out.push(Output::Event(Event::PeerLeft {
                    doc,
                    peer: *peer,
                    why,
                }));
            }
            d.departures.retain(|p, _| !d.here.contains_key(p));
        }
    }

    /// Reports each document's status if it changed.
    fn report_status(&mut self, docs: &mut dyn Docs, ids: &[DocId]) {
        for &doc in ids {
            let pending = docs.get(&doc).map_or(0, |d| d.pending_len());
            let status = self.compute_status(doc, pending);
            if let Some(sync) = self.docs.get_mut(&doc)
                && status != sync.status
            {
                sync.status = status;
                self.out.push(Output::Event(Event::Status { doc, status }));
            }
        }
    }

    fn compute_status(&self, doc: DocId, pending: usize) -> SyncStatus {
        let sync = &self.docs[&doc];
        let me = sync.replica;
        let mine = sync.version.get(me);
        let mut live = 0;
        let (mut in_sync, mut diverged, mut catching_up) = (true, 0, false);
        for c in self.conns.values() {
            let Some(chan) = c.live(&doc) else {
                continue;
            };
            live += 1;
            in_sync &= chan.confirmed.as_ref() == Some(&sync.version);
            diverged += usize::from(chan.diverged);
            catching_up |= chan.inbound.in_progress();
        }
        let unsent = (!sync.known.is_empty()).then(|| {
            sync.version
                .iter()
                .map(|(r, n)| n.saturating_sub(sync.acked.get(r)))
                .sum()
        });
        SyncStatus {
            connected: sync.here.len(),
            unsaved: mine.saturating_sub(sync.durable.get(me)),
            unsent,
            pending,
            catching_up,
            in_sync: live > 0 && in_sync,
            diverged,
        }
    }
}

/// Whether a channel needs no heartbeat: everything we have is durable and acknowledged on it,
/// and the remote confirmed by digest that it holds exactly that. Both sides know they are
/// equal, so there is nothing to repair until something changes; a quiet channel costs
/// nothing, which matters to a folder of a thousand documents on one connection.
fn settled(sync: &super::DocSync, chan: &super::super::conn::Chan) -> bool {
    sync.durable == sync.version
        && chan.confirmed.as_ref() == Some(&sync.version)
        && chan
            .ack_sent
            .as_ref()
            .is_some_and(|(acked, _)| *acked == sync.durable)
}
