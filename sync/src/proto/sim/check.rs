//! The simulator's invariants and its end-state checks.

use crdt_text::Doc;

use super::super::Peer;
use super::Sim;

impl Sim {
    /// Prints every peer's state (on failure).
    pub(super) fn dump(&self) {
        for (i, p) in self.peers.iter().enumerate() {
            match &p.peer {
                Some(peer) => eprintln!(
                    "peer {i}: len {} text hash {} version {:?} pending {} status {:?} known {}",
                    peer.doc().len(),
                    blake3::hash(peer.doc().text().as_bytes()).to_hex(),
                    peer.doc().version(),
                    peer.doc().pending_len(),
                    peer.status(),
                    peer.peers().len()
                ),
                None => eprintln!("peer {i}: down"),
            }
        }
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
            self.peers[i]
                .peer
                .as_ref()
                .is_some_and(|p| p.status().connected == reachable)
        });
        if !meshed {
            return false;
        }
        let mut docs = self
            .honest()
            .map(|i| self.peers[i].peer.as_ref().map(Peer::doc));
        let Some(Some(first)) = docs.next() else {
            return false;
        };
        let v = first.version();
        let settled = |d: &Doc| d.version() == v && (self.lossy || d.pending_len() == 0);
        docs.all(|d| d.is_some_and(settled))
            && settled(first)
            && self.honest().all(|i| {
                self.peers[i]
                    .peer
                    .as_ref()
                    .is_some_and(|p| p.doc().text() == first.text())
            })
    }

    /// Each replica's editor copy has the same text as the peer's, and replicas with equal
    /// versions have equal texts.
    pub(super) fn check_replicas(&self) {
        let up: Vec<(usize, &Doc)> = self
            .peers
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i, p.peer.as_ref()?.doc())))
            .collect();
        for (k, (i, a)) in up.iter().enumerate() {
            for (j, b) in &up[k + 1..] {
                if a.version() == b.version() && a.text() != b.text() {
                    self.dump();
                    self.fail(&format!(
                        "peers {i} and {j} have equal versions but different texts"
                    ));
                }
            }
        }
        for (i, p) in self.peers.iter().enumerate() {
            if let Some(peer) = &p.peer {
                if p.editor.text() != peer.doc().text() {
                    self.fail(&format!(
                        "peer {i}: editor replica diverged from the peer's"
                    ));
                }
                if p.editor.pending_len() != 0 {
                    self.fail(&format!("peer {i}: editor replica holds pending ops"));
                }
            }
        }
    }

    pub(super) fn check_final(&mut self) {
        self.check_replicas();
        let honest = self.honest();
        let Some(first) = self.peers[0].peer.as_ref().map(Peer::doc) else {
            self.fail("peer 0 down")
        };
        let version = first.version();
        if !version.includes(&self.acked) {
            self.fail(&format!(
                "acknowledged ops lost: acked {:?}, final {version:?}",
                self.acked
            ));
        }
        for i in honest.clone() {
            let Some(peer) = &self.peers[i].peer else {
                self.fail("peer down at the end")
            };
            if peer.doc().version() != version || peer.doc().text() != first.text() {
                self.fail(&format!("peer {i} did not converge"));
            }
            // Presence: every connected honest peer shows the others' latest presence.
            for j in honest.clone().filter(|&j| j != i && self.reachable(i, j)) {
                let expected = self.peers[j].my_presence.as_ref();
                if self.peers[i].presence.get(&self.peers[j].key) != expected {
                    let shown = self.peers[i].presence.get(&self.peers[j].key);
                    self.fail(&format!(
                        "peer {i} shows presence {shown:?} for peer {j}, not {expected:?}"
                    ));
                }
            }
            // Full mesh: a verified connection to every reachable honest peer.
            let reachable = honest
                .clone()
                .filter(|&j| j != i && self.reachable(i, j))
                .count();
            if peer.status().connected != reachable {
                self.fail(&format!(
                    "peer {i} has {} connections, expected {reachable}",
                    peer.status().connected
                ));
            }
            if self.cfg.intruder {
                let intruder = self.peers[self.cfg.peers].key;
                if peer.peers().iter().any(|p| p.addr.key == intruder) {
                    self.fail(&format!("peer {i} knows the intruder as a peer"));
                }
            }
        }
        if let Some(intruder) = self.cfg.intruder.then(|| &self.peers[self.cfg.peers])
            && intruder.peer.as_ref().is_some_and(|p| !p.doc().is_empty())
        {
            self.fail("the intruder learned document content");
        }
        self.report.final_ops = version.total();
        self.report.final_len = first.len();
    }
}
