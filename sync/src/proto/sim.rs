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
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use super::{
    Config, ConnId, EndpointKey, Event, Input, Limits, MAX_FRAME_BYTES, Message, Millis, Output,
    Peer, PeerAddr, PresenceState, Timers, decode, encode,
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

    /// Prints every peer's state (on failure).
    fn dump(&self) {
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

    /// Kills matching connections: both ends notice after an idle timeout.
    fn sever(&mut self, matches: impl Fn(&SimConn) -> bool) {
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

    fn heal(&mut self) {
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

    fn blocked(&self, a: usize, b: usize) -> bool {
        let pair = (a.min(b), a.max(b));
        self.cfg
            .blocked
            .iter()
            .any(|&(x, y)| (x.min(y), x.max(y)) == pair)
    }

    fn reachable(&self, a: usize, b: usize) -> bool {
        !self.cut.contains(&(a.min(b), a.max(b)))
            && !self.blocked(a, b)
            && self.peers[a].peer.is_some()
            && self.peers[b].peer.is_some()
    }

    fn dial(&mut self, from: usize, addr: PeerAddr) {
        let to = self
            .peers
            .iter()
            .position(|p| p.key == addr.key && p.addr.addrs == addr.addrs);
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

    fn open(&mut self, id: u64) {
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
                [0; 32]
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
        self.feed(
            a,
            Input::Connected {
                conn: ConnId(id),
                remote: kb,
                dialer: true,
            },
        );
        self.feed(
            b,
            Input::Connected {
                conn: ConnId(id),
                remote: ka,
                dialer: false,
            },
        );
    }

    fn send(&mut self, from: usize, id: u64, msg: &Message) {
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
                Message::Hello(_) | Message::Proof(_) | Message::Goodbye(_)
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

    fn deliver(&mut self, id: u64, to: usize, bytes: Vec<u8>) {
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

    fn close(&mut self, from: usize, id: u64) {
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

    /// All honest peers up and fully meshed, with equal versions and texts, nothing pending.
    ///
    /// Only a network that loses messages may leave ops pending forever: an op whose
    /// dependency was lost on the way and then with its author's crash (on a real, reliable
    /// transport every peer only ever sends ops it has applied, after their dependencies).
    fn converged(&self) -> bool {
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
    fn check_replicas(&self) {
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

    fn check_final(&mut self) {
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
