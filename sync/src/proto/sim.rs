//! A deterministic network simulator for [`Peer`]s (feature `test-utils`).
//!
//! N peers (plus optionally an intruder that has the document ids but wrong secrets) run on a
//! virtual network with virtual time, all randomness drawn from one seed. Each peer owns one
//! replica of each of the documents and lends them to its [`Peer`], as the real loop does;
//! random local edits are applied to that replica and handed over as [`Input::Local`]. Every
//! message goes through [`encode`]/[`decode`]. Links delay messages and, when configured, lose,
//! duplicate and reorder them; links are cut and healed (partitions); peers crash and restart
//! on the same endpoint id keeping only what their store had synced (the sim's store
//! acknowledges with [`Input::Durable`] every 50 ms, like the real one). A crashed peer's
//! connections die silently: the survivors notice only after QUIC's idle timeout
//! ([`CRASH_NOTICED_MS`]), or when the restarted peer connects again. After the chaotic phase
//! the network heals and the simulator runs until all replicas agree, then checks that
//! nothing acknowledged was lost.
//!
//! With [`SimConfig::fork`], two peers start under one replica id (a copied store): they must
//! never be shown as in sync while their texts differ, and the divergence must be reported.
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
    Config, DocConfig, Event, Input, Limits, Millis, Output, Peer, PeerAddr, PresenceState,
    ProtoError, Timers,
};
use crate::ids::{DocId, DocSecret, PeerId};

/// How long a survivor takes to notice that a crashed peer's connection is dead (QUIC's idle
/// timeout): it is not told at once.
pub const CRASH_NOTICED_MS: u64 = 30_000;

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
    /// Add an intruder with wrong secrets that keeps dialing peer 0.
    pub intruder: bool,
    /// Documents every peer syncs (all over the same connections).
    pub docs: usize,
    /// Two peers that start under one replica id, as if one's store were a copy of the
    /// other's; they are kept apart for the first second so both write under it.
    pub fork: Option<(usize, usize)>,
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
            docs: 1,
            fork: None,
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
    /// Divergences reported (a peer's text differs at an equal version, or its ops reuse
    /// known ids for other edits).
    pub divergences: u64,
    /// Honest peers whose documents all gossip in a big room at the end.
    pub in_rooms: usize,
    /// Most connections one honest peer had open at the end.
    pub max_connections: usize,
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

/// A peer's store of one document: ops in persist order, of which `synced` are durable.
#[derive(Default)]
struct SimStore {
    ops: Vec<Op>,
    synced: usize,
    durable: VersionVector,
}

struct SimPeer {
    key: PeerId,
    addr: PeerAddr,
    secret: DocSecret,
    peer: Option<Peer>,
    /// The one replica of each document, lent to the peer.
    docs: BTreeMap<DocId, Doc>,
    epoch: u32,
    stores: BTreeMap<DocId, SimStore>,
    /// Known peers per document, as the store remembers them.
    known: BTreeMap<DocId, BTreeMap<PeerId, PeerAddr>>,
    presence: BTreeMap<(DocId, PeerId), PresenceState>,
    my_presence: BTreeMap<DocId, PresenceState>,
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
    doc_ids: Vec<DocId>,
    /// Per document: every op some honest store made durable.
    acked: BTreeMap<DocId, VersionVector>,
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
        let doc_ids: Vec<DocId> = (0..cfg.docs.max(1))
            .map(|_| {
                let mut id = [0; 32];
                rng.fill_bytes(&mut id);
                DocId(id)
            })
            .collect();
        let mut secret = [0; 32];
        rng.fill_bytes(&mut secret);
        let total = cfg.peers + usize::from(cfg.intruder);
        let peers = (0..total)
            .map(|i| {
                let mut key = [0; 32];
                rng.fill_bytes(&mut key);
                let ip = Ipv4Addr::new(10, 0, (i / 200) as u8, (i % 200) as u8 + 1);
                let addr = PeerAddr {
                    id: PeerId(key),
                    addrs: vec![SocketAddr::from((ip, 7000))],
                };
                let secret = DocSecret(if i < cfg.peers { secret } else { [0x66; 32] });
                SimPeer {
                    key: PeerId(key),
                    addr,
                    secret,
                    peer: None,
                    docs: BTreeMap::new(),
                    epoch: 0,
                    stores: doc_ids.iter().map(|d| (*d, SimStore::default())).collect(),
                    known: BTreeMap::new(),
                    presence: BTreeMap::new(),
                    my_presence: BTreeMap::new(),
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
            acked: doc_ids.iter().map(|d| (*d, VersionVector::new())).collect(),
            doc_ids,
            report: SimReport::default(),
            steps: 0,
        };
        for i in 0..total {
            sim.start(i);
        }
        if let Some((a, b)) = sim.cfg.fork {
            // Peer b's store is a copy of peer a's: same replica id; apart for a while.
            let (a, b) = (a.min(b), a.max(b));
            for doc in sim.doc_ids.clone() {
                let replica = sim.peers[a].docs[&doc].replica();
                sim.peers[b].docs.insert(doc, Doc::new(replica));
                let p = &mut sim.peers[b];
                let cfg = DocConfig {
                    id: doc,
                    secret: p.secret.clone(),
                    acked: VersionVector::new(),
                    on_demand: false,
                };
                if let Some(peer) = p.peer.as_mut() {
                    peer.add_doc(cfg, &p.docs[&doc]);
                }
            }
            sim.cut.insert((a, b));
            sim.schedule(1000, Ev::Uncut { a, b });
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
        if self.cfg.fork.is_some() {
            // Forked replicas never converge: run on, checking that no one claims to be in
            // sync with a differing text, and that the divergence was reported.
            while self.next_time().is_some_and(|t| t <= healed + 30_000) {
                self.step();
            }
            self.check_replicas();
            if self.report.divergences == 0 {
                self.dump();
                self.fail("two replicas shared an id and no one reported it");
            }
            return self.report;
        }
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
        // Let presence, acknowledgements and digests settle, then check the end state.
        let settle = self.now + 6000;
        while self.next_time().is_some_and(|t| t <= settle) || !self.all_in_sync() {
            if self.now > settle + 30_000 {
                break;
            }
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

    /// (Re)starts peer `i` from its durable stores, with a fresh replica id and session.
    fn start(&mut self, i: usize) {
        let replica = ReplicaId::from(self.rng.next_u64());
        let mut seed = [0; 32];
        self.rng.fill_bytes(&mut seed);
        let doc_ids = self.doc_ids.clone();
        let p = &mut self.peers[i];
        p.docs.clear();
        let mut peer = Peer::new(Config {
            local: p.addr.clone(),
            name: format!("peer-{i}"),
            seed,
            limits: Limits::default(),
            timers: Timers::default(),
        });
        for id in &doc_ids {
            let store = p.stores.entry(*id).or_default();
            store.ops.truncate(store.synced);
            let mut doc = Doc::new(replica);
            for op in &store.ops {
                match doc.apply(op) {
                    Ok(Applied::Done { .. } | Applied::Duplicate) => {}
                    other => panic!(
                        "sim seed {}: stored op {:?} does not reload: {other:?}",
                        self.cfg.seed, op.id
                    ),
                }
            }
            let cfg = DocConfig {
                id: *id,
                secret: p.secret.clone(),
                acked: VersionVector::new(),
                on_demand: false,
            };
            peer.add_doc(cfg, &doc);
            p.docs.insert(*id, doc);
        }
        p.peer = Some(peer);
        p.epoch += 1;
        p.presence.clear();
        let epoch = p.epoch;
        // Reconnect from the known peers and the ticket it joined with (a peer's own ticket
        // host: the first peer it is not blocked from), as the store keeps both.
        let host = (0..self.cfg.peers).find(|&j| j != i && !self.blocked(i, j));
        for doc in doc_ids {
            let mut addrs: Vec<PeerAddr> = self.peers[i]
                .known
                .get(&doc)
                .map(|k| k.values().cloned().collect())
                .unwrap_or_default();
            if let (true, Some(host)) = (i != 0, host) {
                addrs.push(self.peers[host].addr.clone());
            }
            for addr in addrs {
                let input = Input::AddPeer {
                    doc,
                    addr,
                    name: None,
                };
                self.schedule(
                    0,
                    Ev::Input {
                        peer: i,
                        epoch,
                        input,
                    },
                );
            }
            let presence = PresenceState {
                name: format!("peer-{i}"),
                color: 0x40_80_c0 + i as u32,
                cursor: Anchor::START,
                selection: None,
                view: None,
            };
            self.peers[i].my_presence.insert(doc, presence.clone());
            let input = Input::SetPresence {
                doc,
                presence: Some(presence),
            };
            self.schedule(
                0,
                Ev::Input {
                    peer: i,
                    epoch,
                    input,
                },
            );
        }
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

    /// Feeds one input to peer `i`, lending it the peer's documents, and carries out its
    /// outputs.
    fn feed(&mut self, i: usize, input: Input) {
        let now = Millis(self.now);
        let p = &mut self.peers[i];
        let Some(peer) = p.peer.as_mut() else {
            return;
        };
        let outputs = peer.handle(&mut p.docs, input, now);
        for out in outputs {
            self.output(i, out);
        }
        let p = &self.peers[i];
        for (id, doc) in &p.docs {
            if !doc.version().includes(&p.stores[id].durable) {
                self.fail(&format!("peer {i}: durable ops missing from its replica"));
            }
        }
    }

    fn output(&mut self, i: usize, out: Output) {
        let intruder = self.cfg.intruder.then(|| self.peers[self.cfg.peers].key);
        match out {
            Output::Send { conn, msg } => self.send(i, conn.0, &msg),
            Output::Close { conn, .. } => self.close(i, conn.0),
            Output::Dial(addr) => self.dial(i, addr),
            Output::Persist { doc, ops } => {
                if let Some(store) = self.peers[i].stores.get_mut(&doc) {
                    store.ops.extend(ops);
                }
            }
            Output::RememberPeer { doc, addr, .. } => {
                if i >= self.cfg.peers && self.cfg.intruder {
                    self.fail("the intruder was told about a peer");
                }
                if Some(addr.id) == intruder {
                    self.fail(&format!("peer {i} remembered the intruder"));
                }
                self.peers[i]
                    .known
                    .entry(doc)
                    .or_default()
                    .insert(addr.id, addr);
            }
            Output::Event(Event::Presence {
                doc,
                peer,
                presence,
            }) => match presence {
                Some(p) => {
                    self.peers[i].presence.insert((doc, peer), p);
                }
                None => {
                    self.peers[i].presence.remove(&(doc, peer));
                }
            },
            Output::Event(Event::Refused { .. }) if Some(self.peers[i].key) == intruder => {
                self.report.intruder_rejections += 1;
            }
            Output::Event(Event::Diverged { .. }) => self.report.divergences += 1,
            Output::Event(Event::PeerLeft {
                why:
                    super::Departure::Error(ProtoError::InvalidOp(crdt_text::ApplyError::Conflict(_))),
                ..
            }) => self.report.divergences += 1,
            Output::Event(_) => {}
            // The simulated applications send none.
            Output::App { .. } => self.fail("an app message nobody sent"),
        }
    }

    fn fsync(&mut self, i: usize) {
        let honest = i < self.cfg.peers;
        let mut durable = Vec::new();
        for (id, store) in self.peers[i].stores.iter_mut() {
            if store.synced == store.ops.len() {
                continue;
            }
            for op in &store.ops[store.synced..] {
                store.durable.advance(op.id.replica, op.end());
            }
            store.synced = store.ops.len();
            durable.push((*id, store.durable.clone()));
        }
        for (doc, version) in durable {
            if honest && let Some(acked) = self.acked.get_mut(&doc) {
                acked.merge(&version);
            }
            self.feed(i, Input::Durable { doc, version });
        }
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
        let doc_id = self.doc_ids[(self.rng.next_u64() % self.doc_ids.len() as u64) as usize];
        let len = self.peers[i].docs[&doc_id].len() as u64;
        let delete = len > 0 && self.chance(0.3);
        let (pos, n) = if delete {
            let pos = self.range(0, len - 1);
            (pos, self.range(1, (len - pos).min(4)))
        } else {
            (self.range(0, len), self.range(1, 6))
        };
        let text: String = (0..n)
            .map(|_| char::from(b'a' + (self.rng.next_u64() % 26) as u8))
            .collect();
        let text = if self.chance(0.1) {
            format!("{text}\né")
        } else {
            text
        };
        let doc = self.peers[i]
            .docs
            .get_mut(&doc_id)
            .unwrap_or_else(|| unreachable!());
        let op = if delete {
            doc.delete(pos as usize, n as usize)
        } else {
            doc.insert(pos as usize, &text)
        };
        self.report.edits += 1;
        self.feed(
            i,
            Input::Local {
                doc: doc_id,
                ops: vec![op],
            },
        );
        if self.chance(0.2) {
            let doc = &self.peers[i].docs[&doc_id];
            let pos = self.range(0, doc.len() as u64) as usize;
            let cursor = self.peers[i].docs[&doc_id].anchor(pos, Bias::Left);
            let Some(mut presence) = self.peers[i].my_presence.get(&doc_id).cloned() else {
                self.fail("no presence")
            };
            presence.cursor = cursor;
            self.peers[i].my_presence.insert(doc_id, presence.clone());
            self.feed(
                i,
                Input::SetPresence {
                    doc: doc_id,
                    presence: Some(presence),
                },
            );
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
            if self.peers[i].peer.is_some() && self.cfg.fork.is_none_or(|(a, b)| i != a && i != b) {
                self.report.crashes += 1;
                self.peers[i].peer = None;
                self.peers[i].epoch += 1;
                self.crash(i);
                let d = self.range(300, 4000);
                self.schedule(d, Ev::Restart { peer: i });
            }
        }
    }
}
