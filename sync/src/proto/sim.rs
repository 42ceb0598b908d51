//! A deterministic network simulator for [`Peer`]s (feature `test-utils`).
//!
//! N peers (plus optionally an intruder that has the document id but a wrong secret) run on a
//! virtual network with virtual time, all randomness drawn from one seed. Every message goes
//! through [`encode`]/[`decode`]. Links delay messages and, when configured, lose, duplicate
//! and reorder them; links are cut and healed (partitions); peers crash and restart keeping
//! only what their store had synced (the sim's store acknowledges with
//! [`Input::Durable`] every 50 ms, like the real driver); every peer has an "editor" replica
//! that makes random local edits and applies the peer's [`Event::Remote`] ops, as the real
//! editor does. After the chaotic phase the network heals and the simulator runs until all
//! replicas agree, then checks that nothing acknowledged was lost.
//!
//! Invariants are checked after every step; a violation panics with the seed, the virtual
//! time and what went wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};

use crdt_text::{Anchor, Applied, Bias, Doc, Op, ReplicaId, VersionVector};
mod check;
mod net;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use super::{
    Config, EndpointKey, Event, Input, Limits, Millis, Output, Peer, PeerAddr, PresenceState,
    Timers,
};

/// Message-level faults of every link during the chaotic phase.
#[derive(Clone, Debug)]
pub struct Faults {
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice.
    pub dup: f64,
    /// Whether messages on one connection may overtake each other.
    pub reorder: bool,
    /// One-way delay range in ms (per message, uniformly).
    pub delay_ms: (u64, u64),
}

/// A simulation scenario.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The seed of everything.
    pub seed: u64,
    /// Number of honest peers.
    pub peers: usize,
    /// Length of the chaotic phase (edits, faults, partitions, restarts), virtual ms.
    pub chaos_ms: u64,
    /// Mean time between two edits (on random peers), ms.
    pub edit_interval_ms: u64,
    /// Faults during the chaotic phase (after it, links are reliable with 1–20 ms delay).
    pub faults: Faults,
    /// Probability per virtual second that a random link is cut for 1–8 s.
    pub cut_rate: f64,
    /// Probability per virtual second that the group splits in two for 2–10 s.
    pub split_rate: f64,
    /// Probability per virtual second that a random peer crashes (restarting 0.3–4 s later).
    pub crash_rate: f64,
    /// Pairs of peers that can never connect directly (they must sync through others).
    pub blocked: Vec<(usize, usize)>,
    /// Add an intruder with a wrong secret that keeps dialing peer 0.
    pub intruder: bool,
    /// Longest time to converge after healing, virtual ms.
    pub converge_limit_ms: u64,
}

impl SimConfig {
    /// A QUIC-like network: ordered reliable connections, partitions and crashes.
    pub fn reliable(seed: u64, peers: usize) -> SimConfig {
        SimConfig {
            seed,
            peers,
            chaos_ms: 20_000,
            edit_interval_ms: 40,
            faults: Faults {
                loss: 0.0,
                dup: 0.0,
                reorder: false,
                delay_ms: (1, 40),
            },
            cut_rate: 0.3,
            split_rate: 0.1,
            crash_rate: 0.15,
            blocked: Vec::new(),
            intruder: false,
            converge_limit_ms: 180_000,
        }
    }

    /// Like [`reliable`](Self::reliable) but messages are also lost, duplicated and reordered.
    pub fn lossy(seed: u64, peers: usize) -> SimConfig {
        let faults = Faults {
            loss: 0.05,
            dup: 0.05,
            reorder: true,
            delay_ms: (1, 80),
        };
        SimConfig {
            faults,
            ..SimConfig::reliable(seed, peers)
        }
    }
}

/// What a finished simulation saw.
#[derive(Clone, Debug, Default)]
pub struct SimReport {
    /// Local edits made.
    pub edits: u64,
    /// Messages sent.
    pub messages: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Crashes (each followed by a restart).
    pub crashes: u64,
    /// Link cuts.
    pub cuts: u64,
    /// Connections refused to the intruder.
    pub intruder_rejections: u64,
    /// Ops (counters) in the final version.
    pub final_ops: u64,
    /// Characters in the final text.
    pub final_len: usize,
    /// Virtual ms from healing to convergence.
    pub converge_ms: u64,
}

enum Ev {
    Input {
        peer: usize,
        epoch: u32,
        input: Input,
    },
    Open {
        conn: u64,
    },
    Deliver {
        conn: u64,
        to: usize,
        bytes: Vec<u8>,
    },
    Tick {
        peer: usize,
        epoch: u32,
    },
    Edit,
    Chaos,
    Restart {
        peer: usize,
    },
    Uncut {
        a: usize,
        b: usize,
    },
}

struct SimConn {
    ends: [usize; 2],
    epochs: [u32; 2],
    /// Messages still flow (false once cut, crashed or fully closed).
    alive: bool,
    /// A side closed it: its sends stop, the other gets `Disconnected` after in-flight data.
    closing: bool,
    /// Latest scheduled delivery time towards `ends[i]` (keeps connections ordered).
    last_at: [u64; 2],
}

struct SimPeer {
    key: EndpointKey,
    addr: PeerAddr,
    secret: [u8; 32],
    peer: Option<Peer>,
    editor: Doc,
    epoch: u32,
    /// The store: ops in persist order, of which `synced` are durable.
    store: Vec<Op>,
    synced: usize,
    durable: VersionVector,
    known: BTreeMap<EndpointKey, PeerAddr>,
    presence: BTreeMap<EndpointKey, PresenceState>,
    my_presence: Option<PresenceState>,
}

/// The simulator. Build with [`Sim::new`], run with [`Sim::run`].
pub struct Sim {
    cfg: SimConfig,
    rng: ChaCha20Rng,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Ev>,
    peers: Vec<SimPeer>,
    conns: BTreeMap<u64, SimConn>,
    next_conn: u64,
    cut: BTreeSet<(usize, usize)>,
    chaos: bool,
    /// The chaotic phase loses messages.
    lossy: bool,
    doc_id: [u8; 32],
    acked: VersionVector,
    report: SimReport,
    steps: u64,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("cfg", &self.cfg)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

const TICK_MS: u64 = 50;

impl Sim {
    /// Sets up the peers; peer 0 holds the document, the others join with its "ticket".
    pub fn new(cfg: SimConfig) -> Sim {
        let lossy = cfg.faults.loss > 0.0;
        let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
        let mut doc_id = [0; 32];
        rng.fill_bytes(&mut doc_id);
        let mut secret = [0; 32];
        rng.fill_bytes(&mut secret);
        let total = cfg.peers + usize::from(cfg.intruder);
        let peers = (0..total)
            .map(|i| {
                let mut key = [0; 32];
                rng.fill_bytes(&mut key);
                let ip = Ipv4Addr::new(10, 0, (i / 200) as u8, (i % 200) as u8 + 1);
                let addr = PeerAddr {
                    key,
                    addrs: vec![SocketAddr::from((ip, 7000))],
                };
                let secret = if i < cfg.peers { secret } else { [0x66; 32] };
                let replica = ReplicaId::from(rng.next_u64());
                SimPeer {
                    key,
                    addr,
                    secret,
                    peer: None,
                    editor: Doc::new(replica),
                    epoch: 0,
                    store: Vec::new(),
                    synced: 0,
                    durable: VersionVector::new(),
                    known: BTreeMap::new(),
                    presence: BTreeMap::new(),
                    my_presence: None,
                }
            })
            .collect();
        let mut sim = Sim {
            cfg,
            rng,
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            peers,
            conns: BTreeMap::new(),
            next_conn: 0,
            cut: BTreeSet::new(),
            chaos: true,
            lossy,
            doc_id,
            acked: VersionVector::new(),
            report: SimReport::default(),
            steps: 0,
        };
        for i in 0..total {
            sim.start(i);
        }
        sim.schedule(0, Ev::Edit);
        sim.schedule(1000, Ev::Chaos);
        sim
    }

    /// Runs the chaotic phase, heals everything and runs to convergence; panics on any
    /// violated invariant.
    pub fn run(mut self) -> SimReport {
        while let Some(t) = self.next_time() {
            if t > self.cfg.chaos_ms {
                break;
            }
            self.step();
        }
        self.heal();
        let healed = self.now;
        let deadline = healed + self.cfg.converge_limit_ms;
        loop {
            let Some(t) = self.next_time() else {
                self.fail("event queue ran dry")
            };
            if t > deadline {
                self.dump();
                self.fail(&format!(
                    "no convergence within {} ms of healing",
                    self.cfg.converge_limit_ms
                ));
            }
            self.step();
            if self.steps.is_multiple_of(64) && self.converged() {
                break;
            }
        }
        self.report.converge_ms = self.now - healed;
        // Let presence and acknowledgements settle, then check the end state.
        let settle = self.now + 6000;
        while self.next_time().is_some_and(|t| t <= settle) {
            self.step();
        }
        self.check_final();
        self.report
    }

    fn fail(&self, what: &str) -> ! {
        panic!("sim seed {} at {} ms: {what}", self.cfg.seed, self.now)
    }

    fn honest(&self) -> std::ops::Range<usize> {
        0..self.cfg.peers
    }

    fn schedule(&mut self, delay: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((self.now + delay, self.seq), ev);
    }

    fn next_time(&self) -> Option<u64> {
        self.queue.keys().next().map(|(t, _)| *t)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.rng.next_u64() % (hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.rng.next_u64() as f64 / u64::MAX as f64) < p
    }

    /// (Re)starts peer `i` from its durable store, with a fresh replica id.
    fn start(&mut self, i: usize) {
        let replica = ReplicaId::from(self.rng.next_u64());
        let mut seed = [0; 32];
        self.rng.fill_bytes(&mut seed);
        let p = &mut self.peers[i];
        p.store.truncate(p.synced);
        let mut doc = Doc::new(replica);
        for op in &p.store {
            match doc.apply(op) {
                Ok(Applied::Done(_) | Applied::Duplicate) => {}
                other => panic!(
                    "sim seed {}: stored op {:?} does not reload: {other:?}",
                    self.cfg.seed, op.id
                ),
            }
        }
        p.editor = doc.clone();
        p.epoch += 1;
        p.presence.clear();
        let cfg = Config {
            doc_id: self.doc_id,
            secret: p.secret,
            local: p.addr.clone(),
            seed,
            limits: Limits::default(),
            timers: Timers::default(),
        };
        p.peer = Some(Peer::new(cfg, doc));
        let epoch = p.epoch;
        // Reconnect from the known peers and the ticket it joined with (a peer's own ticket
        // host: the first peer it is not blocked from), as the driver keeps both in the store.
        let mut addrs: Vec<PeerAddr> = p.known.values().cloned().collect();
        let host = (0..self.cfg.peers).find(|&j| j != i && !self.blocked(i, j));
        if let (true, Some(host)) = (i != 0, host) {
            addrs.push(self.peers[host].addr.clone());
        }
        for addr in addrs {
            self.schedule(
                0,
                Ev::Input {
                    peer: i,
                    epoch,
                    input: Input::AddPeer(addr),
                },
            );
        }
        let name = format!("peer-{i}");
        let presence = PresenceState {
            name,
            color: 0x40_80_c0 + i as u32,
            cursor: Anchor::START,
            selection: None,
        };
        self.peers[i].my_presence = Some(presence.clone());
        self.schedule(
            0,
            Ev::Input {
                peer: i,
                epoch,
                input: Input::SetPresence(Some(presence)),
            },
        );
        self.schedule(1, Ev::Tick { peer: i, epoch });
    }

    fn step(&mut self) {
        let Some(((t, _), ev)) = self.queue.pop_first() else {
            return;
        };
        self.now = t;
        self.steps += 1;
        match ev {
            Ev::Input { peer, epoch, input } => {
                if self.peers[peer].epoch == epoch {
                    self.feed(peer, input);
                }
            }
            Ev::Open { conn } => self.open(conn),
            Ev::Deliver { conn, to, bytes } => self.deliver(conn, to, bytes),
            Ev::Tick { peer, epoch } => {
                if self.peers[peer].epoch == epoch && self.peers[peer].peer.is_some() {
                    self.fsync(peer);
                    self.feed(peer, Input::Tick);
                    self.schedule(TICK_MS, Ev::Tick { peer, epoch });
                }
            }
            Ev::Edit => {
                if self.chaos {
                    self.edit();
                    let gap = self.range(1, 2 * self.cfg.edit_interval_ms);
                    self.schedule(gap, Ev::Edit);
                }
            }
            Ev::Chaos => {
                if self.chaos {
                    self.chaos_event();
                    self.schedule(1000, Ev::Chaos);
                }
            }
            Ev::Restart { peer } => {
                if self.peers[peer].peer.is_none() {
                    self.start(peer);
                }
            }
            Ev::Uncut { a, b } => {
                self.cut.remove(&(a, b));
            }
        }
        if self.steps.is_multiple_of(128) {
            self.check_replicas();
        }
    }

    /// Feeds one input to peer `i` and carries out its outputs.
    fn feed(&mut self, i: usize, input: Input) {
        let now = Millis(self.now);
        let Some(peer) = self.peers[i].peer.as_mut() else {
            return;
        };
        let outputs = peer.handle(input, now);
        for out in outputs {
            self.output(i, out);
        }
        let p = &self.peers[i];
        if let Some(peer) = &p.peer {
            if p.editor.len() != peer.doc().len() {
                self.fail(&format!(
                    "peer {i}: editor and peer replicas differ in length"
                ));
            }
            if !peer.doc().version().includes(&p.durable) {
                self.fail(&format!("peer {i}: durable ops missing from its replica"));
            }
        }
    }

    fn output(&mut self, i: usize, out: Output) {
        match out {
            Output::Send { conn, msg } => self.send(i, conn.0, &msg),
            Output::Close { conn, .. } => self.close(i, conn.0),
            Output::Dial(addr) => self.dial(i, addr),
            Output::Persist(ops) => self.peers[i].store.extend(ops),
            Output::RememberPeer(addr) => {
                if i >= self.cfg.peers && self.cfg.intruder {
                    self.fail("the intruder was told about a peer");
                }
                if addr.key == self.peers.last().map_or([0; 32], |p| p.key) && self.cfg.intruder {
                    self.fail(&format!("peer {i} remembered the intruder"));
                }
                self.peers[i].known.insert(addr.key, addr);
            }
            Output::Event(Event::Remote(ops)) => {
                for op in &ops {
                    match self.peers[i].editor.apply(op) {
                        Ok(Applied::Done(_) | Applied::Duplicate) => {}
                        other => self.fail(&format!(
                            "peer {i}: editor cannot apply remote {:?}: {other:?}",
                            op.id
                        )),
                    }
                }
            }
            Output::Event(Event::Presence { peer, presence }) => match presence {
                Some(p) => {
                    self.peers[i].presence.insert(peer, p);
                }
                None => {
                    self.peers[i].presence.remove(&peer);
                }
            },
            Output::Event(Event::Rejected { .. }) if self.cfg.intruder && i == self.cfg.peers => {
                self.report.intruder_rejections += 1;
            }
            Output::Event(Event::LocalRejected(e)) => {
                self.fail(&format!("peer {i}: local op rejected: {e}"))
            }
            Output::Event(_) => {}
        }
    }

    fn fsync(&mut self, i: usize) {
        let p = &mut self.peers[i];
        if p.synced == p.store.len() {
            return;
        }
        for op in &p.store[p.synced..] {
            p.durable.advance(op.id.replica, op.end());
        }
        p.synced = p.store.len();
        let durable = p.durable.clone();
        if i < self.cfg.peers {
            self.acked.merge(&durable);
        }
        self.feed(i, Input::Durable(durable));
    }

    fn edit(&mut self) {
        let up: Vec<usize> = self
            .honest()
            .filter(|&i| self.peers[i].peer.is_some())
            .collect();
        if up.is_empty() {
            return;
        }
        let i = up[(self.rng.next_u64() % up.len() as u64) as usize];
        let len = self.peers[i].editor.len() as u64;
        let op = if len > 0 && self.chance(0.3) {
            let pos = self.range(0, len - 1);
            let n = self.range(1, (len - pos).min(4));
            self.peers[i].editor.delete(pos as usize, n as usize)
        } else {
            let pos = self.range(0, len);
            let n = self.range(1, 6) as usize;
            let text: String = (0..n)
                .map(|_| char::from(b'a' + (self.rng.next_u64() % 26) as u8))
                .collect();
            let text = if self.chance(0.1) {
                format!("{text}\né")
            } else {
                text
            };
            self.peers[i].editor.insert(pos as usize, &text)
        };
        self.report.edits += 1;
        self.feed(i, Input::Local(op));
        if self.chance(0.2) {
            let editor = &self.peers[i].editor;
            let pos = self.range(0, editor.len() as u64) as usize;
            let cursor = self.peers[i].editor.anchor(pos, Bias::Left);
            let mut presence = self.peers[i]
                .my_presence
                .clone()
                .unwrap_or_else(|| self.fail("no presence"));
            presence.cursor = cursor;
            self.peers[i].my_presence = Some(presence.clone());
            self.feed(i, Input::SetPresence(Some(presence)));
        }
    }

    fn chaos_event(&mut self) {
        let n = self.cfg.peers as u64;
        if n >= 2 && self.chance(self.cfg.cut_rate) {
            let a = self.range(0, n - 1) as usize;
            let b = (a + 1 + self.range(0, n - 2) as usize) % n as usize;
            let (a, b) = (a.min(b), a.max(b));
            self.report.cuts += 1;
            self.cut.insert((a, b));
            self.sever(|c| c.ends.contains(&a) && c.ends.contains(&b));
            let d = self.range(1000, 8000);
            self.schedule(d, Ev::Uncut { a, b });
        }
        if n >= 2 && self.chance(self.cfg.split_rate) {
            let side: Vec<bool> = (0..n).map(|_| self.chance(0.5)).collect();
            let d = self.range(2000, 10_000);
            for a in 0..n as usize {
                for b in a + 1..n as usize {
                    if side[a] != side[b] {
                        self.cut.insert((a, b));
                        self.sever(|c| c.ends.contains(&a) && c.ends.contains(&b));
                        self.schedule(d, Ev::Uncut { a, b });
                    }
                }
            }
            self.report.cuts += 1;
        }
        if self.chance(self.cfg.crash_rate) {
            let i = self.range(0, n - 1) as usize;
            if self.peers[i].peer.is_some() {
                self.report.crashes += 1;
                self.peers[i].peer = None;
                self.peers[i].epoch += 1;
                self.sever(|c| c.ends.contains(&i));
                let d = self.range(300, 4000);
                self.schedule(d, Ev::Restart { peer: i });
            }
        }
    }
}
