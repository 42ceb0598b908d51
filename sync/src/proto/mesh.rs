//! The peers we know (of every document) and when to dial them: full mesh with exponential
//! backoff and jitter. One connection to a peer serves every document both have.

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::RngCore;

use super::{Limits, Millis, PeerAddr, Timers};
use crate::ids::PeerId;

/// Dialing state of one known peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Dial {
    /// Dial at (or after) this time.
    At(Millis),
    /// A dial was requested at this time and has no outcome yet.
    InFlight(Millis),
    /// A connection to it exists: nothing to do.
    Connected,
    /// Not needed now (a big room dials only whom its swarm asks for); no dial is scheduled
    /// and no failure is counted until [`Mesh::wanted`] asks for it.
    Idle,
}

/// One known peer.
#[derive(Clone, Debug)]
pub(crate) struct Known {
    pub addr: PeerAddr,
    /// The name it announced (now or when last seen).
    pub name: Option<String>,
    pub dial: Dial,
    /// Consecutive failures (sets the backoff).
    pub failures: u32,
    /// Whether the user was told it cannot be reached (once per streak of failures).
    pub told_unreachable: bool,
}

/// All known peers except ourselves.
#[derive(Debug, Default)]
pub(crate) struct Mesh {
    pub peers: BTreeMap<PeerId, Known>,
}

impl Mesh {
    /// Adds a peer or merges its addresses (newest first, bounded). Returns whether anything
    /// changed (a new peer or new addresses); peers beyond the limit are not added.
    pub fn add(&mut self, addr: PeerAddr, now: Millis, limits: &Limits) -> bool {
        if let Some(known) = self.peers.get_mut(&addr.id) {
            let mut addrs = addr.addrs;
            for a in &known.addr.addrs {
                if !addrs.contains(a) {
                    addrs.push(*a);
                }
            }
            addrs.truncate(limits.max_addrs_per_peer);
            let changed = addrs != known.addr.addrs;
            known.addr.addrs = addrs;
            return changed;
        }
        if self.peers.len() >= limits.max_known_peers {
            return false;
        }
        let mut addr = addr;
        addr.addrs.truncate(limits.max_addrs_per_peer);
        self.peers.insert(
            addr.id,
            Known {
                addr,
                name: None,
                dial: Dial::At(now),
                failures: 0,
                told_unreachable: false,
            },
        );
        true
    }

    /// The peers to dial now, among those `needed`; marks them in flight. Dials without
    /// outcome past the timeout count as failed. Peers not needed are left idle.
    pub fn due(
        &mut self,
        now: Millis,
        timers: &Timers,
        rng: &mut ChaCha20Rng,
        needed: impl Fn(&PeerId) -> bool,
    ) -> Vec<PeerAddr> {
        let mut out = Vec::new();
        for (id, known) in &mut self.peers {
            if let Dial::InFlight(since) = known.dial
                && now.since(since) >= timers.dial_timeout_ms
            {
                known.failures += 1;
                known.dial = Dial::At(now.plus(backoff(known.failures, timers, rng)));
            }
            if let Dial::At(at) = known.dial
                && at <= now
            {
                if needed(id) {
                    known.dial = Dial::InFlight(now);
                    out.push(known.addr.clone());
                } else {
                    known.dial = Dial::Idle;
                }
            }
        }
        out
    }

    /// The earliest time [`due`](Self::due) has something to do.
    pub fn next_deadline(&self, timers: &Timers) -> Option<Millis> {
        self.peers
            .values()
            .filter_map(|k| match k.dial {
                Dial::At(at) => Some(at),
                Dial::InFlight(since) => Some(since.plus(timers.dial_timeout_ms)),
                Dial::Connected | Dial::Idle => None,
            })
            .min()
    }

    /// `key` should be dialed now (a big room asks for it), unless a dial is in flight, it is
    /// connected, or it is backing off after failures.
    pub fn wanted(&mut self, key: &PeerId, now: Millis) {
        if let Some(k) = self.peers.get_mut(key) {
            let asked = match k.dial {
                Dial::Idle => true,
                Dial::At(at) => at > now && k.failures == 0,
                Dial::InFlight(_) | Dial::Connected => false,
            };
            if asked {
                k.dial = Dial::At(now);
            }
        }
    }

    /// A connection to `key` exists (authenticated or not).
    pub fn connected(&mut self, key: &PeerId) {
        if let Some(k) = self.peers.get_mut(key) {
            k.dial = Dial::Connected;
        }
    }

    /// A connection to `key` was verified: the failure count resets.
    pub fn verified(&mut self, key: &PeerId) {
        if let Some(k) = self.peers.get_mut(key) {
            k.failures = 0;
            k.told_unreachable = false;
            k.dial = Dial::Connected;
        }
    }

    /// The last connection to `key` ended (or a dial failed); `fault`: count it as a failure.
    pub fn lost(
        &mut self,
        key: &PeerId,
        fault: bool,
        now: Millis,
        timers: &Timers,
        rng: &mut ChaCha20Rng,
    ) {
        if let Some(k) = self.peers.get_mut(key) {
            if fault {
                k.failures = k.failures.saturating_add(1);
            }
            k.dial = Dial::At(now.plus(backoff(k.failures, timers, rng)));
        }
    }
}

/// `base · 2^failures`, capped, times a random factor in [0.5, 1.5) so that peers that lost
/// each other at the same moment do not redial in lockstep.
pub(crate) fn backoff(failures: u32, timers: &Timers, rng: &mut ChaCha20Rng) -> u64 {
    let exp = timers
        .backoff_base_ms
        .saturating_mul(1u64 << failures.min(20));
    let capped = exp.min(timers.backoff_max_ms);
    let jitter = 500 + rng.next_u64() % 1000;
    capped * jitter / 1000
}

#[cfg(test)]
mod tests {
    use rand_chacha::rand_core::SeedableRng;

    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_up_to_the_cap() {
        let timers = Timers::default();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for failures in 0..30 {
            let ideal = (timers.backoff_base_ms << failures.min(20)).min(timers.backoff_max_ms);
            let d = backoff(failures, &timers, &mut rng);
            assert!(
                d >= ideal / 2 && d < ideal * 3 / 2,
                "{failures}: {d} vs {ideal}"
            );
        }
    }

    #[test]
    fn a_peer_is_dialed_once_until_the_dial_times_out() {
        let (limits, timers) = (Limits::default(), Timers::default());
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut mesh = Mesh::default();
        assert!(mesh.add(
            PeerAddr {
                id: PeerId([1; 32]),
                addrs: vec![]
            },
            Millis(0),
            &limits
        ));
        assert_eq!(mesh.due(Millis(0), &timers, &mut rng, |_| true).len(), 1);
        assert!(mesh.due(Millis(10), &timers, &mut rng, |_| true).is_empty());
        let timeout = Millis(timers.dial_timeout_ms);
        assert!(
            mesh.due(timeout, &timers, &mut rng, |_| true).is_empty(),
            "backing off"
        );
        assert_eq!(
            mesh.due(
                timeout.plus(timers.backoff_base_ms * 3),
                &timers,
                &mut rng,
                |_| true
            )
            .len(),
            1
        );
    }
}
