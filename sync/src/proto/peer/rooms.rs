//! Big rooms: once a document has more than [`Limits::room_threshold`](super::super::Limits)
//! peers, its live ops and presence travel through a gossip swarm ([`Room`]) instead of the
//! full mesh.
//!
//! Each peer then keeps channels to its swarm neighbours only (HyParView's active view, plus
//! short-lived ones the swarm asks for), whatever the size of the room. Catch-up and repair stay
//! exact: the neighbours' channels still carry `Sync`, `Update` and `Ack`, so ops a broadcast
//! lost arrive through anti-entropy. Who is here is who was heard from recently (presence is a
//! heartbeat), besides the neighbours. A document enters its room when it knows enough peers, or
//! when a neighbour speaks to it in the swarm, so a room spreads to everyone by itself.

use std::collections::{BTreeMap, BTreeSet};

use crdt_text::{Applied, Op, VersionVector};

use super::super::conn::Chan;
use super::super::room::{Broadcast, GossipMessage, MAX_BROADCAST, Room, RoomOut};
use super::super::split::batches;
use super::super::{
    ConnId, DocMessage, Docs, Event, Millis, Output, PeerAddr, PresenceState, ProtoError,
};
use super::{Departure, Peer};
use crate::ids::{DocId, PeerId};

/// A channel to a peer that is not a swarm neighbour is left after this long.
const SPARE_CHANNEL_MS: u64 = 10_000;
/// A channel the swarm no longer needs is kept while a catch-up runs on it (a late joiner
/// fetching the history from the peer it joined through, which the swarm may replace at
/// once), but no longer than this after it went live.
const CATCH_UP_GRACE_MS: u64 = 60_000;
/// Our presence is broadcast at most this often.
const PRESENCE_MIN_INTERVAL_MS: u64 = 250;
/// A peer not heard from for this many heartbeats has left the room.
const HEARTBEATS_MISSED: u64 = 3;
/// How often a member joins the swarm again through a random peer it knows: links the
/// overlay across what a partition left split (neighbours are only replaced on failures).
const REJOIN_MS: u64 = 20_000;
/// How soon a member without a single neighbour tries again.
const LONELY_REJOIN_MS: u64 = 3_000;
/// Swarm messages for a peer we could not open a channel to within this long are dropped, and
/// the swarm is told the peer is gone (it picks another): a peer that refuses us or never
/// answers must not hold our place in the overlay.
const WAITING_MS: u64 = 15_000;

/// A peer heard through the swarm.
#[derive(Clone, Debug)]
pub(crate) struct Heard {
    /// The name its user goes by.
    pub name: String,
    /// Its cursor, unless hidden.
    pub presence: Option<PresenceState>,
    /// When it was last heard from.
    pub at: Millis,
}

/// The room of one document.
#[derive(Debug)]
pub(crate) struct RoomState {
    pub swarm: Room,
    /// Our swarm neighbours.
    pub neighbors: BTreeSet<PeerId>,
    /// Swarm messages for peers the document has no channel to yet, since when.
    pub waiting: BTreeMap<PeerId, (Millis, Vec<GossipMessage>)>,
    /// Peers heard through the swarm.
    pub heard: BTreeMap<PeerId, Heard>,
    /// Our presence broadcasts so far.
    pub presence_seq: u64,
    /// When we last broadcast our presence.
    pub presence_sent: Option<Millis>,
    /// Our presence changed since.
    pub presence_due: bool,
    /// Broadcasts received, handled at the end of the step (they may carry ops).
    pub inbox: Vec<(PeerId, Broadcast)>,
    /// When to join the swarm again through a random peer.
    pub rejoin_at: Millis,
}

impl Peer {
    /// Moves `doc` into its room if it knows enough peers.
    pub(super) fn maybe_enter_room(&mut self, doc: DocId) {
        let Some(sync) = self.docs.get(&doc) else {
            return;
        };
        // `known` counts the others: the group is them and us.
        if sync.room.is_some() || sync.known.len() < self.cfg.limits.room_threshold {
            return;
        }
        // Join the swarm through the peers we have channels to, else a few known ones.
        let mut through: Vec<PeerId> = self
            .conns
            .values()
            .filter(|c| c.live(&doc).is_some())
            .map(|c| c.remote)
            .collect();
        through.sort_unstable();
        through.dedup();
        if through.is_empty() {
            through = sync.known.iter().take(3).copied().collect();
        }
        self.enter_room(doc, through);
    }

    /// Moves `doc` into its room, joining the swarm through `through`.
    pub(super) fn enter_room(&mut self, doc: DocId, through: Vec<PeerId>) {
        let mut seed = [0; 32];
        rand_chacha::rand_core::RngCore::fill_bytes(&mut self.rng, &mut seed);
        let mut swarm = Room::new(self.cfg.local.id, &self.cfg.local.addrs, seed);
        let outs = swarm.join(through, self.now);
        let Some(sync) = self.docs.get_mut(&doc) else {
            return;
        };
        tracing::info!(%doc, peers = sync.known.len(), "the document's group is big: gossiping");
        sync.room = Some(RoomState {
            swarm,
            neighbors: BTreeSet::new(),
            waiting: BTreeMap::new(),
            heard: BTreeMap::new(),
            presence_seq: 0,
            presence_sent: None,
            presence_due: sync.presence.is_some(),
            inbox: Vec::new(),
            rejoin_at: self.now.plus(LONELY_REJOIN_MS),
        });
        self.rooms.insert(doc);
        self.room_out(doc, outs);
    }

    /// Carries out what a room's swarm asks.
    fn room_out(&mut self, doc: DocId, outs: Vec<RoomOut>) {
        for out in outs {
            match out {
                RoomOut::Send(peer, msg) => self.room_send(doc, peer, msg),
                RoomOut::Neighbor(peer, up) => {
                    if let Some(room) = self.room_mut(doc) {
                        if up {
                            room.neighbors.insert(peer);
                        } else {
                            room.neighbors.remove(&peer);
                        }
                    }
                }
                RoomOut::Received(from, broadcast) => {
                    if let Some(room) = self.room_mut(doc) {
                        room.inbox.push((from, broadcast));
                    }
                }
                RoomOut::Drop(peer) => self.room_drop(doc, peer),
                RoomOut::Addrs(peer, addrs) => {
                    let addr = PeerAddr { id: peer, addrs };
                    self.mesh.add(addr, self.now, &self.cfg.limits);
                }
            }
        }
    }

    /// Sends a swarm message on the document's channel to `peer`, or keeps it until there is
    /// one (asking for a connection).
    fn room_send(&mut self, doc: DocId, peer: PeerId, msg: GossipMessage) {
        let live = self
            .conns
            .values()
            .find(|c| c.remote == peer && c.live(&doc).is_some())
            .map(|c| c.id);
        if let Some(id) = live {
            self.send_doc(id, doc, DocMessage::Gossip(msg));
            return;
        }
        let now = self.now;
        let Some(room) = self.room_mut(doc) else {
            return;
        };
        room.waiting
            .entry(peer)
            .or_insert((now, Vec::new()))
            .1
            .push(msg);
        let open: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| c.remote == peer && c.is_open())
            .map(|c| c.id)
            .collect();
        if open.is_empty() {
            if !self.mesh.peers.contains_key(&peer) {
                let addr = PeerAddr {
                    id: peer,
                    addrs: Vec::new(),
                };
                self.mesh.add(addr, now, &self.cfg.limits);
            }
            self.mesh.wanted(&peer, now);
        }
        for id in open {
            self.join(id, doc);
        }
    }

    /// The swarm no longer needs `peer` for `doc`: leave the document on its connections,
    /// except where a catch-up is under way (those are left by
    /// [`Peer::trim_room_channels`] once it is done).
    fn room_drop(&mut self, doc: DocId, peer: PeerId) {
        if let Some(room) = self.room_mut(doc) {
            room.waiting.remove(&peer);
            room.neighbors.remove(&peer);
        }
        let (now, version) = (self.now, self.room_version(doc));
        let ids: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| c.remote == peer)
            .filter(|c| {
                c.chans
                    .get(&doc)
                    .is_some_and(|chan| !catching_up(chan, &version, now))
            })
            .map(|c| c.id)
            .collect();
        for id in ids {
            self.leave_room_chan(id, doc);
        }
    }

    /// Leaves `doc`'s channel on `id` for its room, and closes the connection at once if it
    /// carried nothing else: a room's connections come and go with its swarm, and idle ones
    /// waiting out their timeout would hold far more connections than the swarm uses. The peer
    /// counts as heard just now: it is still in the room (only our swarm moved on), so the user
    /// is not told it left unless its heartbeats stop.
    fn leave_room_chan(&mut self, id: ConnId, doc: DocId) {
        let now = self.now;
        if let Some(c) = self.conns.get(&id) {
            let (peer, name) = (c.remote, c.name.clone().unwrap_or_default());
            let presence = c.chans.get(&doc).and_then(|chan| chan.presence.clone());
            if let Some(room) = self.docs.get_mut(&doc).and_then(|d| d.room.as_mut()) {
                let heard = room.heard.entry(peer).or_insert(Heard {
                    name,
                    presence,
                    at: now,
                });
                heard.at = heard.at.max(now);
            }
        }
        self.leave_chan(id, doc, &ProtoError::Shutdown);
        if self.conns.get(&id).is_some_and(|c| c.chans.is_empty()) {
            self.close(id, ProtoError::Unneeded);
        }
    }

    /// A swarm message arrived on the document's channel: a document not yet in its room
    /// enters it (someone in the room speaks to it).
    pub(super) fn on_gossip(&mut self, id: ConnId, doc: DocId, msg: GossipMessage) {
        let from = self.conns[&id].remote;
        if self.docs.get(&doc).is_some_and(|d| d.room.is_none()) {
            self.enter_room(doc, Vec::new());
        }
        let now = self.now;
        let outs = match self.room_mut(doc) {
            Some(room) => room.swarm.receive(from, msg, now),
            None => return,
        };
        self.room_out(doc, outs);
    }

    /// The document's channel to `peer` went live: send what the swarm kept for it.
    pub(super) fn room_channel_up(&mut self, id: ConnId, doc: DocId, peer: PeerId) {
        let Some((_, kept)) = self.room_mut(doc).and_then(|r| r.waiting.remove(&peer)) else {
            return;
        };
        for msg in kept {
            self.send_doc(id, doc, DocMessage::Gossip(msg));
        }
    }

    /// The document's last channel to `peer` closed.
    pub(super) fn room_channel_down(&mut self, doc: DocId, peer: PeerId) {
        let still = self
            .conns
            .values()
            .any(|c| c.remote == peer && c.live(&doc).is_some());
        let now = self.now;
        if still {
            return;
        }
        let outs = match self.room_mut(doc) {
            Some(room) => room.swarm.disconnected(peer, now),
            None => return,
        };
        self.room_out(doc, outs);
    }

    /// A dial the swarm wanted failed: the swarm picks another peer.
    pub(super) fn room_dial_failed(&mut self, peer: PeerId) {
        let docs: Vec<DocId> = self
            .docs
            .iter()
            .filter(|(_, d)| {
                d.room
                    .as_ref()
                    .is_some_and(|r| r.waiting.contains_key(&peer))
            })
            .map(|(id, _)| *id)
            .collect();
        for doc in docs {
            if let Some(room) = self.room_mut(doc) {
                room.waiting.remove(&peer);
            }
            self.room_channel_down(doc, peer);
        }
    }

    /// Broadcasts our own new ops of `doc` to its room, in batches that fit a broadcast.
    pub(super) fn room_broadcast_ops(&mut self, doc: DocId, ops: &[Op]) {
        let now = self.now;
        let Some(room) = self.room_mut(doc) else {
            return;
        };
        let mut outs = Vec::new();
        for batch in batches(ops.to_vec(), usize::MAX)
            .into_iter()
            .flat_map(fit_broadcast)
        {
            outs.extend(room.swarm.broadcast(&Broadcast::Ops(batch), now));
        }
        self.room_out(doc, outs);
    }

    /// Handles the broadcasts received during this step, and the room's timers.
    pub(super) fn room_step(&mut self, docs: &mut dyn Docs, doc: DocId) {
        let now = self.now;
        let Some(room) = self.room_mut(doc) else {
            return;
        };
        let stale: Vec<PeerId> = room
            .waiting
            .iter()
            .filter(|(_, (since, _))| now.since(*since) >= WAITING_MS)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in stale {
            tracing::debug!(%doc, %peer, "no channel for the swarm's messages: giving up on it");
            if let Some(room) = self.room_mut(doc) {
                room.waiting.remove(&peer);
            }
            self.room_channel_down(doc, peer);
        }
        let outs = match self.room_mut(doc) {
            Some(room) => room.swarm.expire(now),
            None => return,
        };
        self.room_out(doc, outs);
        let inbox = self.room_mut(doc).map(|r| std::mem::take(&mut r.inbox));
        for (from, broadcast) in inbox.into_iter().flatten() {
            self.on_broadcast(docs, doc, from, broadcast);
        }
        self.room_presence(doc);
        self.rejoin(doc);
    }

    /// Joins the swarm again through a random known peer that is not a neighbour: often when
    /// alone or when most known peers are not heard in the room (we are likely in a piece of
    /// a split overlay), now and then otherwise. Peers not heard from are tried first: they
    /// are the likeliest to be in another piece, so the pieces grow together again.
    fn rejoin(&mut self, doc: DocId) {
        let (now, me) = (self.now, self.cfg.local.id);
        let Some(sync) = self.docs.get(&doc) else {
            return;
        };
        let Some(room) = sync.room.as_ref() else {
            return;
        };
        if now < room.rejoin_at {
            return;
        }
        let others = |p: &&PeerId| **p != me && !room.neighbors.contains(p);
        let unheard: Vec<PeerId> = sync
            .known
            .iter()
            .filter(others)
            .filter(|p| !room.heard.contains_key(p))
            .copied()
            .collect();
        let heard = room.heard.len();
        let split = heard * 2 < sync.known.len() && !unheard.is_empty();
        let lonely = (room.neighbors.is_empty() && room.waiting.is_empty()) || split;
        let candidates: Vec<PeerId> = if unheard.is_empty() {
            sync.known
                .iter()
                .chain(room.heard.keys())
                .filter(others)
                .copied()
                .collect()
        } else {
            unheard
        };
        let pick = match candidates.len() {
            0 => None,
            n => Some(
                candidates[(rand_chacha::rand_core::RngCore::next_u64(&mut self.rng) % n as u64)
                    as usize],
            ),
        };
        let wait = if lonely { LONELY_REJOIN_MS } else { REJOIN_MS };
        let jitter = rand_chacha::rand_core::RngCore::next_u64(&mut self.rng) % (wait / 2 + 1);
        let Some(room) = self.room_mut(doc) else {
            return;
        };
        room.rejoin_at = now.plus(wait / 2 + jitter);
        let Some(peer) = pick else {
            return;
        };
        let outs = room.swarm.join(vec![peer], now);
        self.room_out(doc, outs);
    }

    fn on_broadcast(&mut self, docs: &mut dyn Docs, doc: DocId, via: PeerId, what: Broadcast) {
        let me = self.cfg.local.id;
        let now = self.now;
        match what {
            Broadcast::Ops(ops) => self.room_ops(docs, doc, via, ops),
            Broadcast::Presence {
                from,
                name,
                presence,
                ..
            } if from != me => {
                if let Some(k) = self.mesh.peers.get_mut(&from)
                    && !name.is_empty()
                {
                    k.name = Some(name.clone());
                }
                let Some(sync) = self.docs.get_mut(&doc) else {
                    return;
                };
                match presence {
                    Some(_) => sync.shown.insert(from),
                    None => sync.shown.remove(&from),
                };
                if let Some(room) = sync.room.as_mut() {
                    let heard = Heard {
                        name,
                        presence: presence.clone(),
                        at: now,
                    };
                    room.heard.insert(from, heard);
                }
                self.out.push(Output::Event(Event::Presence {
                    doc,
                    peer: from,
                    presence,
                }));
            }
            Broadcast::Bye { from } if from != me => {
                if let Some(sync) = self.docs.get_mut(&doc) {
                    if let Some(room) = sync.room.as_mut() {
                        room.heard.remove(&from);
                    }
                    sync.departures.insert(from, Departure::Quit);
                }
            }
            Broadcast::Presence { .. } | Broadcast::Bye { .. } => {}
        }
    }

    /// Ops broadcast in the room (relayed by `via`): applied as they would be from a channel.
    fn room_ops(&mut self, docs: &mut dyn Docs, doc: DocId, via: PeerId, ops: Vec<Op>) {
        let Some(replica) = docs.get(&doc) else {
            return;
        };
        let before = replica.version();
        let mut done = Vec::new();
        let mut unblocked = Vec::new();
        for op in ops {
            match replica.apply(&op) {
                Ok(Applied::Done { rejected, .. }) => {
                    done.push(op);
                    unblocked.extend(rejected);
                }
                // Held by the document until its dependencies arrive (by anti-entropy if not
                // by broadcast).
                Ok(Applied::Duplicate | Applied::Pending) => {}
                Err(e) => {
                    tracing::warn!(%via, "an invalid op was broadcast in the room: {e}");
                    self.out.push(Output::Event(Event::Refused {
                        doc: Some(doc),
                        peer: via,
                        error: ProtoError::InvalidOp(e),
                    }));
                    break;
                }
            }
        }
        let after = replica.version();
        let newly = if super::traffic::exactly(&before, &done, &after) {
            done
        } else {
            replica.ops_since(&before)
        };
        self.applied(doc, after, Some(via), newly);
        // Held ops that turned out invalid close the connections that sent them.
        let _ = self.reject(doc, None, unblocked);
    }

    /// Broadcasts our presence when it changed (at most every
    /// [`PRESENCE_MIN_INTERVAL_MS`]) and as a heartbeat; forgets peers no longer heard.
    fn room_presence(&mut self, doc: DocId) {
        let (now, me) = (self.now, self.cfg.local.id);
        let heartbeat = self.cfg.timers.ack_interval_ms;
        let name = self.cfg.name.clone();
        let Some(sync) = self.docs.get_mut(&doc) else {
            return;
        };
        let presence = sync.presence.clone();
        let Some(room) = sync.room.as_mut() else {
            return;
        };
        let gone: Vec<PeerId> = room
            .heard
            .iter()
            .filter(|(_, h)| now.since(h.at) >= heartbeat * HEARTBEATS_MISSED)
            .map(|(p, _)| *p)
            .collect();
        for peer in gone {
            room.heard.remove(&peer);
            sync.departures.entry(peer).or_insert(Departure::Lost);
        }
        let since = room.presence_sent.map(|t| now.since(t));
        let due = match since {
            None => true,
            Some(s) => (room.presence_due && s >= PRESENCE_MIN_INTERVAL_MS) || s >= heartbeat,
        };
        if !due {
            return;
        }
        room.presence_due = false;
        room.presence_sent = Some(now);
        room.presence_seq += 1;
        let what = Broadcast::Presence {
            from: me,
            seq: room.presence_seq,
            name,
            presence,
        };
        let outs = room.swarm.broadcast(&what, now);
        self.room_out(doc, outs);
    }

    /// Leaves channels of room documents to peers the swarm does not use, once no catch-up
    /// runs on them.
    pub(super) fn trim_room_channels(&mut self) {
        let now = self.now;
        let mut spare: Vec<(ConnId, DocId)> = Vec::new();
        for doc in &self.rooms {
            let Some(sync) = self.docs.get(doc) else {
                continue;
            };
            let Some(room) = sync.room.as_ref() else {
                continue;
            };
            for c in self.conns.values() {
                let Some(chan) = c.chans.get(doc) else {
                    continue;
                };
                let used =
                    room.neighbors.contains(&c.remote) || room.waiting.contains_key(&c.remote);
                let old = chan
                    .live_since
                    .is_some_and(|t| now.since(t) >= SPARE_CHANNEL_MS);
                if !used && old && !catching_up(chan, &sync.version, now) {
                    spare.push((c.id, *doc));
                }
            }
        }
        for (id, doc) in spare {
            self.leave_room_chan(id, doc);
        }
    }

    /// Says goodbye in every room, before the connections close.
    pub(super) fn leave_rooms(&mut self) {
        let (now, me) = (self.now, self.cfg.local.id);
        let ids: Vec<DocId> = self.rooms.iter().copied().collect();
        for doc in ids {
            let outs = match self.room_mut(doc) {
                Some(room) => {
                    let mut outs = room.swarm.broadcast(&Broadcast::Bye { from: me }, now);
                    outs.extend(room.swarm.quit(now));
                    outs
                }
                None => continue,
            };
            self.room_out(doc, outs);
        }
    }

    /// Our addresses changed: the swarms tell them to new neighbours.
    pub(super) fn rooms_moved(&mut self, addrs: &[std::net::SocketAddr]) {
        let now = self.now;
        let ids: Vec<DocId> = self.rooms.iter().copied().collect();
        for doc in ids {
            let outs = match self.room_mut(doc) {
                Some(room) => room.swarm.addrs_changed(addrs, now),
                None => continue,
            };
            self.room_out(doc, outs);
        }
    }

    /// Peers heard through `doc`'s room, with their names.
    pub(super) fn room_heard(&self, doc: &DocId) -> impl Iterator<Item = (PeerId, String)> + '_ {
        self.docs
            .get(doc)
            .and_then(|d| d.room.as_ref())
            .into_iter()
            .flat_map(|r| r.heard.iter().map(|(p, h)| (*p, h.name.clone())))
    }

    /// When the rooms need the clock next.
    pub(super) fn room_deadline(&self) -> Option<Millis> {
        let heartbeat = self.cfg.timers.ack_interval_ms;
        self.rooms
            .iter()
            .filter_map(|id| self.docs.get(id)?.room.as_ref())
            .flat_map(|r| {
                let presence = r.presence_sent.map(|t| {
                    t.plus(if r.presence_due {
                        PRESENCE_MIN_INTERVAL_MS
                    } else {
                        heartbeat
                    })
                });
                let expiry = r
                    .heard
                    .values()
                    .map(|h| h.at.plus(heartbeat * HEARTBEATS_MISSED))
                    .min();
                let waiting = r
                    .waiting
                    .values()
                    .map(|(since, _)| since.plus(WAITING_MS))
                    .min();
                [
                    r.swarm.next_timer(),
                    presence,
                    expiry,
                    waiting,
                    Some(r.rejoin_at),
                ]
            })
            .flatten()
            .min()
    }

    /// Our version of `doc` (empty if we do not have it).
    fn room_version(&self, doc: DocId) -> VersionVector {
        self.docs
            .get(&doc)
            .map(|d| d.version.clone())
            .unwrap_or_default()
    }

    fn room_mut(&mut self, doc: DocId) -> Option<&mut RoomState> {
        self.docs.get_mut(&doc)?.room.as_mut()
    }
}

/// Whether a catch-up runs on `chan` (we are at `version`): an update is arriving, the remote
/// asked for one we have not sent, has not yet acknowledged the one we sent, or has ops we lack
/// — until [`CATCH_UP_GRACE_MS`] after the channel went live.
fn catching_up(chan: &Chan, version: &VersionVector, now: Millis) -> bool {
    let young = chan
        .live_since
        .is_none_or(|t| now.since(t) < CATCH_UP_GRACE_MS);
    young
        && (chan.inbound.in_progress()
            || chan.sync_deferred.is_some()
            || chan.sync_unacked.is_some()
            || !version.includes(&chan.known))
}

/// Cuts a batch of ops into pieces whose encoding fits a broadcast.
fn fit_broadcast(ops: Vec<Op>) -> Vec<Vec<Op>> {
    let mut out: Vec<Vec<Op>> = Vec::new();
    let mut size = 0;
    for op in ops
        .into_iter()
        .flat_map(|op| super::super::split::split_op(op, MAX_BROADCAST / 2, 64))
    {
        let len = postcard::to_stdvec(&op).map_or(MAX_BROADCAST, |b| b.len());
        if out.is_empty() || size + len > MAX_BROADCAST - 64 {
            out.push(Vec::new());
            size = 0;
        }
        size += len;
        if let Some(last) = out.last_mut() {
            last.push(op);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crdt_text::ReplicaId;

    use super::super::super::conn::Inbound;
    use super::*;

    /// A channel live since time 0 to a remote that has `theirs` ops of replica 1.
    fn chan(theirs: u64) -> Chan {
        let mut chan = Chan::new(0);
        chan.live_since = Some(Millis(0));
        chan.known.advance(ReplicaId::from(1), theirs);
        chan
    }

    fn version(ops: u64) -> VersionVector {
        let mut v = VersionVector::new();
        v.advance(ReplicaId::from(1), ops);
        v
    }

    #[test]
    fn a_channel_is_catching_up_until_both_sides_have_what_the_other_sent() {
        let now = Millis(1_000);
        assert!(!catching_up(&chan(5), &version(5), now), "both at 5: idle");
        assert!(
            catching_up(&chan(9), &version(5), now),
            "they have ops we lack"
        );

        let mut asked = chan(0);
        asked.sync_deferred = Some(VersionVector::new());
        assert!(
            catching_up(&asked, &version(5), now),
            "they asked, not yet served"
        );

        let mut served = chan(5);
        served.sync_served = Some(Millis(500));
        assert!(
            !catching_up(&served, &version(5), now),
            "served, nothing was lacking"
        );
        served.sync_unacked = Some(version(5));
        assert!(
            catching_up(&served, &version(5), now),
            "sent, not yet acknowledged"
        );

        let mut arriving = chan(5);
        arriving.inbound = Inbound::Collecting {
            update: 0,
            next: 1,
            count: 3,
            bytes: Vec::new(),
        };
        assert!(
            catching_up(&arriving, &version(5), now),
            "an update is arriving"
        );
        let late = Millis(CATCH_UP_GRACE_MS);
        assert!(
            !catching_up(&arriving, &version(5), late),
            "but not for ever"
        );
    }
}
