//! The simulated network: dialing, message delivery with faults, closing, partitions.

use super::super::{ConnId, Input, MAX_FRAME_BYTES, Message, PeerAddr, decode, encode};
use super::{CRASH_NOTICED_MS, Ev, Faults, Sim, SimConn};
use crate::ids::PeerId;

impl Sim {
    /// Kills matching connections: both ends notice after an idle timeout.
    pub(super) fn sever(&mut self, matches: impl Fn(&SimConn) -> bool) {
        let dead: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.alive && matches(c))
            .map(|(id, _)| *id)
            .collect();
        for id in dead {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            c.alive = false;
            let (ends, epochs) = (c.ends, c.epochs);
            for k in 0..2 {
                let d = self.range(500, 3000);
                let input = Input::Disconnected { conn: ConnId(id) };
                self.schedule(
                    d,
                    Ev::Input {
                        peer: ends[k],
                        epoch: epochs[k],
                        input,
                    },
                );
            }
        }
    }

    /// Peer `i` crashed: its connections die without a word; each survivor notices after
    /// QUIC's idle timeout.
    pub(super) fn crash(&mut self, i: usize) {
        let dead: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.alive && c.ends.contains(&i))
            .map(|(id, _)| *id)
            .collect();
        for id in dead {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            c.alive = false;
            let k = usize::from(c.ends[0] == i);
            let (peer, epoch) = (c.ends[k], c.epochs[k]);
            let input = Input::Disconnected { conn: ConnId(id) };
            self.schedule(CRASH_NOTICED_MS, Ev::Input { peer, epoch, input });
        }
    }

    pub(super) fn heal(&mut self) {
        self.chaos = false;
        self.cut.clear();
        self.cfg.faults = Faults {
            loss: 0.0,
            dup: 0.0,
            reorder: false,
            delay_ms: (1, 20),
        };
        for i in 0..self.peers.len() {
            if self.peers[i].peer.is_none() {
                self.start(i);
            }
        }
    }

    pub(super) fn blocked(&self, a: usize, b: usize) -> bool {
        let pair = (a.min(b), a.max(b));
        self.cfg
            .blocked
            .iter()
            .any(|&(x, y)| (x.min(y), x.max(y)) == pair)
    }

    pub(super) fn reachable(&self, a: usize, b: usize) -> bool {
        !self.cut.contains(&(a.min(b), a.max(b)))
            && !self.blocked(a, b)
            && self.peers[a].peer.is_some()
            && self.peers[b].peer.is_some()
    }

    pub(super) fn dial(&mut self, from: usize, addr: PeerAddr) {
        let to = self
            .peers
            .iter()
            .position(|p| p.key == addr.id && p.addr.addrs == addr.addrs);
        let id = self.next_conn;
        self.next_conn += 1;
        let epochs = [
            self.peers[from].epoch,
            to.map_or(0, |t| self.peers[t].epoch),
        ];
        let d = self.range(self.cfg.faults.delay_ms.0, self.cfg.faults.delay_ms.1) * 2;
        self.conns.insert(
            id,
            SimConn {
                ends: [from, to.unwrap_or(usize::MAX)],
                epochs,
                alive: to.is_some(),
                closing: false,
                last_at: [0; 2],
            },
        );
        self.schedule(d.max(1), Ev::Open { conn: id });
    }

    pub(super) fn open(&mut self, id: u64) {
        let c = &self.conns[&id];
        let [a, b] = c.ends;
        let ok = b != usize::MAX
            && c.alive
            && self.peers[a].epoch == c.epochs[0]
            && self.peers[b].epoch == c.epochs[1]
            && self.reachable(a, b);
        if !ok {
            if let Some(c) = self.conns.get_mut(&id) {
                c.alive = false;
            }
            let remote = if b == usize::MAX {
                PeerId([0; 32])
            } else {
                self.peers[b].key
            };
            let epoch = self.conns[&id].epochs[0];
            let input = Input::DialFailed {
                remote,
                error: "unreachable".into(),
            };
            self.schedule(
                0,
                Ev::Input {
                    peer: a,
                    epoch,
                    input,
                },
            );
            return;
        }
        let (ka, kb) = (self.peers[a].key, self.peers[b].key);
        let (addr_a, addr_b) = (
            self.peers[a].addr.addrs.first().copied(),
            self.peers[b].addr.addrs.first().copied(),
        );
        self.feed(
            a,
            Input::Connected {
                conn: ConnId(id),
                remote: kb,
                addr: addr_b,
                dialer: true,
            },
        );
        self.feed(
            b,
            Input::Connected {
                conn: ConnId(id),
                remote: ka,
                addr: addr_a,
                dialer: false,
            },
        );
    }

    pub(super) fn send(&mut self, from: usize, id: u64, msg: &Message) {
        let bytes = match encode(msg) {
            Ok(b) if b.len() <= MAX_FRAME_BYTES => b,
            other => self.fail(&format!(
                "peer {from} produced an unsendable {}: {other:?}",
                msg.name()
            )),
        };
        self.report.messages += 1;
        self.report.bytes += bytes.len() as u64;
        let Some(c) = self.conns.get(&id) else { return };
        if !c.alive || c.closing || !c.ends.contains(&from) {
            return;
        }
        let k = usize::from(c.ends[0] == from);
        let to = c.ends[k];
        if self.cfg.intruder
            && to == self.cfg.peers
            && !matches!(
                msg,
                Message::Hello(_) | Message::Leave(_) | Message::Goodbye(_)
            )
        {
            self.fail(&format!("peer {from} sent {} to the intruder", msg.name()));
        }
        let faults = self.cfg.faults.clone();
        if self.chance(faults.loss) {
            return;
        }
        let copies = if self.chance(faults.dup) { 2 } else { 1 };
        for _ in 0..copies {
            let mut at = self.now + self.range(faults.delay_ms.0, faults.delay_ms.1);
            let c = self.conns.get_mut(&id).unwrap_or_else(|| unreachable!());
            if !faults.reorder {
                at = at.max(c.last_at[k]);
            }
            c.last_at[k] = c.last_at[k].max(at);
            let delay = at - self.now;
            self.schedule(
                delay,
                Ev::Deliver {
                    conn: id,
                    to,
                    bytes: bytes.clone(),
                },
            );
        }
    }

    pub(super) fn deliver(&mut self, id: u64, to: usize, bytes: Vec<u8>) {
        let Some(c) = self.conns.get(&id) else { return };
        let k = usize::from(c.ends[1] == to);
        if !c.alive || self.peers[to].epoch != c.epochs[k] {
            return;
        }
        let input = match decode(&bytes) {
            Ok(msg) => Input::Received {
                conn: ConnId(id),
                msg,
            },
            Err(error) => Input::Malformed {
                conn: ConnId(id),
                error,
            },
        };
        self.feed(to, input);
    }

    pub(super) fn close(&mut self, from: usize, id: u64) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if !c.alive || c.closing {
            return;
        }
        c.closing = true;
        let k = usize::from(c.ends[0] == from);
        let (to, epoch, at) = (c.ends[k], c.epochs[k], c.last_at[k].max(self.now) + 1);
        let input = Input::Disconnected { conn: ConnId(id) };
        let delay = at - self.now;
        self.schedule(
            delay,
            Ev::Input {
                peer: to,
                epoch,
                input,
            },
        );
    }
}
