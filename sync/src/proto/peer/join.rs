//! Documents on a connection: `Join` with its proof, `Leave`, going live, and the peer lists
//! that build the mesh.

use super::super::auth::{ProofInput, Role};
use super::super::conn::{Chan, ChanPhase, Phase};
use super::super::mesh::Dial;
use super::super::{
    ConnId, Departure, DocMessage, Event, GoodbyeCode, Join, Leave, Message, Output, PeerAddr,
    ProtoError,
};
use super::Peer;
use super::conns::clip;
use crate::ids::DocId;

/// Whose proof [`Peer::proof`] computes.
#[derive(Clone, Copy)]
enum Side {
    Ours,
    Theirs,
}

/// A peer that sends this many `Join`s that fail to verify on one connection is cut off.
const MAX_FAILED_JOINS: usize = 4;
/// How many documents left on a connection are remembered, to drop what crossed our `Leave`.
const LEFT_CHANS_KEPT: usize = 64;

impl Peer {
    /// Proposes `doc` on the open connection `id` (unless it is already there).
    pub(super) fn join(&mut self, id: ConnId, doc: DocId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.chans.contains_key(&doc) || !conn.is_open() {
            return;
        }
        let ours = conn.next_chan;
        conn.next_chan += 1;
        conn.chans.insert(doc, Chan::new(ours));
        if let Some(proof) = self.proof(id, doc, Side::Ours).map(|p| p.mac()) {
            self.send(
                id,
                Message::Join(Join {
                    doc,
                    chan: ours,
                    proof,
                }),
            );
        }
    }

    pub(super) fn on_join(&mut self, id: ConnId, join: Join) -> Result<(), ProtoError> {
        let Join { doc, chan, proof } = join;
        let conn = &self.conns[&id];
        if conn.their_chans.contains_key(&chan) || conn.left_chans.contains(&chan) {
            return Err(ProtoError::Violation(format!(
                "document {chan} joined twice"
            )));
        }
        // Joined already under another number: our `Leave` and the remote's new `Join`
        // crossed (both left and came back at once). The new number replaces the old.
        let rejoined = conn.chans.get(&doc).is_some_and(|c| c.theirs.is_some());
        let remote = conn.remote;
        if !self.docs.contains_key(&doc) {
            self.leave(id, doc, &ProtoError::UnknownDocument);
            return Ok(());
        }
        let valid = self
            .proof(id, doc, Side::Theirs)
            .is_some_and(|expected| expected.verify(&proof));
        if !valid {
            self.leave(id, doc, &ProtoError::AuthFailed);
            self.out.push(Output::Event(Event::Refused {
                doc: Some(doc),
                peer: remote,
                error: ProtoError::AuthFailed,
            }));
            let failed = self.conns.get_mut(&id).map_or(0, |c| {
                c.chans.remove(&doc);
                c.failed_joins += 1;
                c.failed_joins
            });
            if failed >= MAX_FAILED_JOINS {
                return Err(ProtoError::AuthFailed);
            }
            return Ok(());
        }
        self.join(id, doc);
        let Some(conn) = self.conns.get_mut(&id) else {
            return Ok(());
        };
        if rejoined {
            // Keep the previous number too: what was sent on it is still arriving.
            let previous = conn.chans.get(&doc).and_then(|c| c.theirs);
            conn.their_chans
                .retain(|n, d| *d != doc || Some(*n) == previous);
            conn.their_chans.insert(chan, doc);
            if let Some(c) = conn.chans.get_mut(&doc) {
                c.theirs = Some(chan);
            }
            return Ok(());
        }
        conn.their_chans.insert(chan, doc);
        conn.verified = true;
        conn.idle_since = None;
        if let Some(c) = conn.chans.get_mut(&doc) {
            c.theirs = Some(chan);
            c.phase = ChanPhase::Live;
        }
        self.go_live(id, doc);
        Ok(())
    }

    /// Closes `doc` on connection `id` (the connection stays for the other documents), telling
    /// the remote why.
    pub(super) fn leave_chan(&mut self, id: ConnId, doc: DocId, error: &ProtoError) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(chan) = conn.chans.remove(&doc) else {
            return;
        };
        if let Some(theirs) = chan.theirs {
            conn.left_chans.insert(theirs);
            while conn.left_chans.len() > LEFT_CHANS_KEPT {
                conn.left_chans.pop_first();
            }
        }
        conn.their_chans.retain(|_, d| *d != doc);
        if conn.chans.values().all(|c| !c.is_live()) {
            conn.idle_since.get_or_insert(self.now);
        }
        let remote = conn.remote;
        self.leave(id, doc, error);
        if let Some(d) = self.docs.get_mut(&doc) {
            d.held.retain(|h| h.conn != id);
        }
        if chan.is_live() {
            self.chan_gone(doc, remote, Departure::Quit);
            self.room_channel_down(doc, remote);
        }
    }

    /// Tells the remote that `doc` is closed (or refused) on `id`, and why.
    fn leave(&mut self, id: ConnId, doc: DocId, error: &ProtoError) {
        let leave = Leave {
            doc,
            code: error.goodbye_code(),
            detail: clip(error.to_string()),
        };
        self.send(id, Message::Leave(leave));
    }

    pub(super) fn on_leave(&mut self, id: ConnId, leave: Leave) {
        let Leave { doc, code, detail } = leave;
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(chan) = conn.chans.remove(&doc) else {
            return;
        };
        conn.their_chans.retain(|_, d| *d != doc);
        if conn.chans.values().all(|c| !c.is_live()) {
            conn.idle_since.get_or_insert(self.now);
        }
        let remote = conn.remote;
        if let Some(d) = self.docs.get_mut(&doc) {
            d.held.retain(|h| h.conn != id);
        }
        let error = ProtoError::Remote { code, detail };
        if chan.is_live() {
            let why = super::conns::departure(Some(&error));
            self.chan_gone(doc, remote, why);
            self.room_channel_down(doc, remote);
        } else if code != GoodbyeCode::UnknownDocument {
            self.out.push(Output::Event(Event::Refused {
                doc: Some(doc),
                peer: remote,
                error,
            }));
        }
    }

    /// Stops syncing `doc` with everyone: says so on every connection it is open on.
    pub fn leave_all(&mut self, doc: DocId) -> Vec<Output> {
        let ids: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| c.chans.contains_key(&doc))
            .map(|c| c.id)
            .collect();
        for id in ids {
            self.leave_chan(id, doc, &ProtoError::Shutdown);
        }
        self.docs.remove(&doc);
        self.deadlines.remove(&doc);
        self.rooms.remove(&doc);
        std::mem::take(&mut self.out)
    }

    /// What our proof on `id` for `doc` is made of, or the one we expect from the remote.
    fn proof<'a>(&'a self, id: ConnId, doc: DocId, side: Side) -> Option<ProofInput<'a>> {
        let conn = self.conns.get(&id)?;
        let Phase::Open { their_nonce, .. } = &conn.phase else {
            return None;
        };
        let secret = self.docs.get(&doc)?.secret.as_bytes();
        let me = &self.cfg.local.id;
        let (we_dial, own_key, other_key, own_nonce, other_nonce) = match side {
            Side::Ours => (conn.dialer, me, &conn.remote, &conn.our_nonce, their_nonce),
            Side::Theirs => (!conn.dialer, &conn.remote, me, their_nonce, &conn.our_nonce),
        };
        let doc = &self.docs.get_key_value(&doc)?.0;
        Some(ProofInput {
            secret,
            doc,
            role: if we_dial {
                Role::Dialer
            } else {
                Role::Acceptor
            },
            own_key,
            other_key,
            own_nonce,
            other_nonce,
        })
    }

    /// `doc` is verified on `id`: start catch-up, gossip and presence.
    fn go_live(&mut self, id: ConnId, doc: DocId) {
        let remote = self.conns[&id].remote;
        let Some(sync) = self.docs.get_mut(&doc) else {
            return;
        };
        sync.known.insert(remote);
        let (version, durable) = (sync.version.clone(), sync.durable.clone());
        // In a room, presence travels through the swarm.
        let presence = sync.presence.clone().filter(|_| sync.room.is_none());
        let addr = self.conns[&id].addr;
        self.mesh.add(
            PeerAddr {
                id: remote,
                addrs: addr.into_iter().collect(),
            },
            self.now,
            &self.cfg.limits,
        );
        self.mesh.verified(&remote);
        self.send_doc(id, doc, DocMessage::Sync(version));
        let peers = self.peer_list(doc);
        self.send_doc(id, doc, DocMessage::Peers(peers));
        if let Some(p) = presence {
            self.send_doc(id, doc, DocMessage::Presence(Some(p)));
        }
        self.send_doc(id, doc, DocMessage::Ack(durable.clone()));
        if let Some(c) = self.conns.get_mut(&id).and_then(|c| c.chans.get_mut(&doc)) {
            c.sync_asked = Some(self.now);
            c.ack_sent = Some((durable, self.now));
            c.live_since = Some(self.now);
        }
        self.announce(id, doc, remote);
        self.room_channel_up(id, doc, remote);
    }

    /// A verified peer of `doc` (on connection `via`): save it and tell the other peers.
    fn announce(&mut self, via: ConnId, doc: DocId, peer: crate::ids::PeerId) {
        let Some(known) = self.mesh.peers.get(&peer) else {
            return;
        };
        let (addr, name) = (known.addr.clone(), known.name.clone());
        self.out.push(Output::RememberPeer {
            doc,
            addr: addr.clone(),
            name,
        });
        if !addr.addrs.is_empty() {
            self.broadcast(doc, Some(via), DocMessage::Peers(vec![addr]));
        }
    }

    /// Our address first, then the document's known peers (connected ones first), bounded.
    fn peer_list(&self, doc: DocId) -> Vec<PeerAddr> {
        let Some(sync) = self.docs.get(&doc) else {
            return Vec::new();
        };
        let mut known: Vec<_> = sync
            .known
            .iter()
            .filter_map(|id| self.mesh.peers.get(id))
            .filter(|k| !k.addr.addrs.is_empty())
            .collect();
        known.sort_by_key(|k| k.dial != Dial::Connected);
        std::iter::once(self.cfg.local.clone())
            .chain(known.into_iter().map(|k| k.addr.clone()))
            .take(self.cfg.limits.max_peers_per_message)
            .collect()
    }

    pub(super) fn on_peers(
        &mut self,
        id: ConnId,
        doc: DocId,
        list: Vec<PeerAddr>,
    ) -> Result<(), ProtoError> {
        let limits = &self.cfg.limits;
        if list.len() > limits.max_peers_per_message {
            return Err(ProtoError::TooManyPeers(format!(
                "{} entries (limit {})",
                list.len(),
                limits.max_peers_per_message
            )));
        }
        if let Some(p) = list
            .iter()
            .find(|p| p.addrs.len() > limits.max_addrs_per_peer)
        {
            return Err(ProtoError::TooManyPeers(format!(
                "{} addresses for one peer (limit {})",
                p.addrs.len(),
                limits.max_addrs_per_peer
            )));
        }
        let remote = self.conns[&id].remote;
        for entry in list {
            if entry.id == self.cfg.local.id || entry.addrs.is_empty() {
                continue;
            }
            let peer = entry.id;
            let new_peer = self
                .docs
                .get_mut(&doc)
                .is_some_and(|d| d.known.insert(peer));
            let changed = self.mesh.add(entry, self.now, &self.cfg.limits);
            if !(changed || new_peer) {
                continue;
            }
            if self.conns.values().any(|c| c.remote == peer) {
                self.mesh.connected(&peer);
                let open: Vec<ConnId> = self
                    .conns
                    .values()
                    .filter(|c| c.remote == peer && c.is_open())
                    .map(|c| c.id)
                    .collect();
                for conn in open {
                    self.join(conn, doc);
                }
            }
            if peer == remote {
                self.announce(id, doc, peer);
            } else if let Some(k) = self.mesh.peers.get(&peer) {
                let addr = k.addr.clone();
                self.broadcast(doc, Some(id), DocMessage::Peers(vec![addr]));
            }
        }
        self.maybe_enter_room(doc);
        Ok(())
    }

    /// Sends one of `doc`'s messages on connection `id` (numbered as we joined it).
    pub(super) fn send_doc(&mut self, id: ConnId, doc: DocId, msg: DocMessage) {
        let Some(chan) = self.conns.get(&id).and_then(|c| c.chans.get(&doc)) else {
            return;
        };
        let chan = chan.ours;
        self.send(id, Message::Doc { chan, msg });
    }

    /// Sends `msg` for `doc` on every connection it is live on, except `except`.
    pub(super) fn broadcast(&mut self, doc: DocId, except: Option<ConnId>, msg: DocMessage) {
        let ids: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| Some(c.id) != except && c.live(&doc).is_some())
            .map(|c| c.id)
            .collect();
        for id in ids {
            self.send_doc(id, doc, msg.clone());
        }
    }
}
