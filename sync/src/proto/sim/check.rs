//! The simulator's invariants and its end-state checks.

use crdt_text::Doc;

use super::Sim;
use crate::ids::DocId;

impl Sim {
    /// Prints every peer's state (on failure).
    pub(super) fn dump(&self) {
        for (i, p) in self.peers.iter().enumerate() {
            let Some(peer) = &p.peer else {
                eprintln!("peer {i}: down");
                continue;
            };
            for (id, doc) in &p.docs {
                eprintln!(
                    "peer {i} doc {}: len {} text hash {} version {:?} pending {} status {:?} known {}",
                    &id.to_string()[..8],
                    doc.len(),
                    blake3::hash(doc.text().as_bytes()).to_hex(),
                    doc.version(),
                    doc.pending_len(),
                    peer.status(id),
                    peer.peers(id).len()
                );
            }
        }
    }

    /// Peer `i`'s replica of `doc`, if it is up.
    fn doc(&self, i: usize, doc: &DocId) -> Option<&Doc> {
        self.peers[i].peer.as_ref()?;
        self.peers[i].docs.get(doc)
    }

    /// All honest peers up and fully meshed, with equal versions and texts, nothing pending.
    ///
    /// Only a network that loses messages may leave ops pending forever: an op whose
    /// dependency was lost on the way and then with its author's crash (on a real, reliable
    /// transport every peer only ever sends ops it has applied, after their dependencies).
    pub(super) fn converged(&self) -> bool {
        let meshed = self.honest().all(|i| {
            let reachable = self
                .honest()
                .filter(|&j| j != i && self.reachable(i, j))
                .count();
            self.peers[i].peer.as_ref().is_some_and(|p| {
                self.doc_ids
                    .iter()
                    .all(|d| p.status(d).connected == reachable)
            })
        });
        meshed
            && self.doc_ids.iter().all(|id| {
                let Some(first) = self.doc(0, id) else {
                    return false;
                };
                let v = first.version();
                let settled = |d: &Doc| d.version() == v && (self.lossy || d.pending_len() == 0);
                self.honest().all(|i| {
                    self.doc(i, id)
                        .is_some_and(|d| settled(d) && d.text() == first.text())
                })
            })
    }

    /// Replicas with equal versions have equal texts (unless two peers share a replica id,
    /// which is then reported); a peer claims to be in sync only with peers whose text at an
    /// equal version is its own.
    pub(super) fn check_replicas(&self) {
        for id in &self.doc_ids {
            let up: Vec<(usize, &Doc)> = (0..self.peers.len())
                .filter_map(|i| Some((i, self.doc(i, id)?)))
                .collect();
            for (k, (i, a)) in up.iter().enumerate() {
                for (j, b) in &up[k + 1..] {
                    if a.version() != b.version() || a.text() == b.text() {
                        continue;
                    }
                    if self.cfg.fork.is_none() {
                        self.dump();
                        self.fail(&format!(
                            "peers {i} and {j} have equal versions but different texts"
                        ));
                    }
                    for (me, other) in [(*i, *j), (*j, *i)] {
                        let claims = self.peers[me].peer.as_ref().is_some_and(|p| {
                            p.status(id).in_sync
                                && p.peers(id)
                                    .iter()
                                    .any(|v| v.addr.id == self.peers[other].key && v.conn.is_some())
                        });
                        if claims {
                            self.dump();
                            self.fail(&format!(
                                "peer {me} claims to be in sync with {other}, whose text differs"
                            ));
                        }
                    }
                }
            }
        }
    }

    /// Every honest peer with someone to talk to says it is in sync, for every document.
    pub(super) fn all_in_sync(&self) -> bool {
        self.honest().all(|i| {
            self.peers[i].peer.as_ref().is_some_and(|p| {
                self.doc_ids.iter().all(|d| {
                    let s = p.status(d);
                    s.connected == 0 || s.in_sync
                })
            })
        })
    }

    pub(super) fn check_final(&mut self) {
        self.check_replicas();
        let honest = self.honest();
        for id in self.doc_ids.clone() {
            let Some(first) = self.doc(0, &id) else {
                self.fail("peer 0 down")
            };
            let version = first.version();
            if !version.includes(&self.acked[&id]) {
                self.fail(&format!(
                    "acknowledged ops lost: acked {:?}, final {version:?}",
                    self.acked[&id]
                ));
            }
            for i in honest.clone() {
                let (Some(peer), Some(doc)) = (&self.peers[i].peer, self.doc(i, &id)) else {
                    self.fail("peer down at the end")
                };
                if doc.version() != version || doc.text() != first.text() {
                    self.fail(&format!("peer {i} did not converge"));
                }
                // Presence: every connected honest peer shows the others' latest presence.
                for j in honest.clone().filter(|&j| j != i && self.reachable(i, j)) {
                    let expected = self.peers[j].my_presence.get(&id);
                    let shown = self.peers[i].presence.get(&(id, self.peers[j].key));
                    if shown != expected {
                        self.fail(&format!(
                            "peer {i} shows presence {shown:?} for peer {j}, not {expected:?}"
                        ));
                    }
                }
                // Everyone reachable is here (connected in a full mesh, heard in a room), and in
                // sync.
                let reachable = honest
                    .clone()
                    .filter(|&j| j != i && self.reachable(i, j))
                    .count();
                let status = peer.status(&id);
                if status.connected != reachable {
                    self.fail(&format!(
                        "peer {i} has {} connections, expected {reachable}",
                        status.connected
                    ));
                }
                if reachable > 0 && !status.in_sync {
                    self.fail(&format!("peer {i} does not say it is in sync: {status:?}"));
                }
                if self.cfg.intruder {
                    let intruder = self.peers[self.cfg.peers].key;
                    if peer.peers(&id).iter().any(|p| p.addr.id == intruder) {
                        self.fail(&format!("peer {i} knows the intruder as a peer"));
                    }
                }
            }
            let final_ops = version.total();
            let final_len = first.len();
            self.report.final_ops += final_ops;
            self.report.final_len += final_len;
        }
        if let Some(intruder) = self.cfg.intruder.then(|| &self.peers[self.cfg.peers])
            && intruder.docs.values().any(|d| !d.is_empty())
        {
            self.fail("the intruder learned document content");
        }
        let honest: Vec<&super::super::Peer> = self
            .honest()
            .filter_map(|i| self.peers[i].peer.as_ref())
            .collect();
        self.report.in_rooms = honest
            .iter()
            .filter(|p| self.doc_ids.iter().all(|d| p.in_room(d)))
            .count();
        self.report.max_connections = honest.iter().map(|p| p.connections()).max().unwrap_or(0);
        let bigger = self.cfg.peers > super::super::Limits::default().room_threshold;
        if bigger && self.report.in_rooms != self.cfg.peers {
            self.fail(&format!(
                "{} peers, but only {} gossip in the room",
                self.cfg.peers, self.report.in_rooms
            ));
        }
    }
}
