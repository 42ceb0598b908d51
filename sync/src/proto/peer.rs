//! [`Peer`]: the protocol state machine for one document on one endpoint.

use std::collections::BTreeMap;
use std::fmt;

use crdt_text::{Doc, OpId, VersionVector};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

mod timers;
mod traffic;

use super::auth::{ProofInput, Role};
use super::conn::{Conn, Phase};
use super::mesh::{Dial, Mesh};
use super::{
    ConnId, EndpointKey, Event, Goodbye, Hello, Input, Limits, MAX_GOODBYE_DETAIL, Message, Millis,
    Output, PROTOCOL_VERSION, PeerAddr, PresenceState, Proof, ProtoError, SyncStatus, Timers,
    WireError,
};

/// Everything a [`Peer`] needs besides its document.
#[derive(Clone)]
pub struct Config {
    /// The document id (public, in the ticket).
    pub doc_id: [u8; 32],
    /// The document secret (only in the ticket); proves membership.
    pub secret: [u8; 32],
    /// Our endpoint key and direct addresses (gossiped to peers).
    pub local: PeerAddr,
    /// Seed of the random numbers (nonces, jitter): from the OS in production, fixed in tests.
    pub seed: [u8; 32],
    /// Limits on what peers may send.
    pub limits: Limits,
    /// Timers.
    pub timers: Timers,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("doc_id", &self.doc_id)
            .field("secret", &"<redacted>")
            .field("local", &self.local)
            .field("limits", &self.limits)
            .field("timers", &self.timers)
            .finish_non_exhaustive()
    }
}

/// An op received from a connection that waits in the document for its dependencies.
#[derive(Clone, Debug)]
struct Held {
    id: OpId,
    end: u64,
    conn: ConnId,
    since: Millis,
}

/// Whose proof [`Peer::proof`] computes.
#[derive(Clone, Copy)]
enum Side {
    Ours,
    Theirs,
}

/// What the UI's peers panel shows about one peer.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerInfo {
    /// Its endpoint key and last known addresses.
    pub addr: PeerAddr,
    /// Whether a verified connection to it is open.
    pub connected: bool,
    /// Its presence, if connected and shown.
    pub presence: Option<PresenceState>,
}

/// The protocol for one document: owns the authoritative replica and is driven by
/// [`handle`](Self::handle). Pure: no IO, no clock, no threads.
#[derive(Debug)]
pub struct Peer {
    cfg: Config,
    doc: Doc,
    rng: ChaCha20Rng,
    conns: BTreeMap<ConnId, Conn>,
    mesh: Mesh,
    durable: VersionVector,
    acked_any: VersionVector,
    held: Vec<Held>,
    presence: Option<PresenceState>,
    presence_dirty: bool,
    status: SyncStatus,
    out: Vec<Output>,
    now: Millis,
}

impl Peer {
    /// A peer for `doc`, as loaded from the store: everything in it counts as durable.
    pub fn new(cfg: Config, doc: Doc) -> Peer {
        let rng = ChaCha20Rng::from_seed(cfg.seed);
        let durable = doc.version();
        Peer {
            cfg,
            doc,
            rng,
            conns: BTreeMap::new(),
            mesh: Mesh::default(),
            durable,
            acked_any: VersionVector::new(),
            held: Vec::new(),
            presence: None,
            presence_dirty: false,
            status: SyncStatus::default(),
            out: Vec::new(),
            now: Millis(0),
        }
    }

    /// The authoritative replica.
    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Our endpoint key and addresses.
    pub fn local(&self) -> &PeerAddr {
        &self.cfg.local
    }

    /// The current sync state (also reported by [`Event::Status`] when it changes).
    pub fn status(&self) -> SyncStatus {
        self.status
    }

    /// Every known peer, for the peers panel.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.mesh
            .peers
            .values()
            .map(|k| {
                let live = self
                    .conns
                    .values()
                    .find(|c| c.remote == k.addr.key && c.is_live());
                PeerInfo {
                    addr: k.addr.clone(),
                    connected: live.is_some(),
                    presence: live.and_then(|c| c.presence.clone()),
                }
            })
            .collect()
    }

    /// Feeds one input at time `now`; returns what the driver must do, in order.
    pub fn handle(&mut self, input: Input, now: Millis) -> Vec<Output> {
        self.handle_all([input], now)
    }

    /// Feeds several inputs that arrived together; ops for the same connection are coalesced
    /// into as few messages as possible.
    pub fn handle_all(
        &mut self,
        inputs: impl IntoIterator<Item = Input>,
        now: Millis,
    ) -> Vec<Output> {
        self.now = self.now.max(now);
        for input in inputs {
            self.input(input);
        }
        self.flush();
        std::mem::take(&mut self.out)
    }

    /// When the driver must feed [`Input::Tick`] at the latest (`None`: only on other input).
    pub fn poll_timeout(&self) -> Option<Millis> {
        let t = &self.cfg.timers;
        let version = self.doc.version();
        let conns = self.conns.values().filter_map(|c| match c.phase {
            Phase::Live => {
                let ack = c.ack_sent.as_ref().map_or(self.now, |(v, at)| {
                    at.plus(if *v == self.durable {
                        t.ack_interval_ms
                    } else {
                        t.ack_delay_ms
                    })
                });
                let serve = c.sync_deferred.as_ref().map(|_| {
                    c.sync_served
                        .map_or(self.now, |at| at.plus(t.sync_min_interval_ms))
                });
                let ask = (!version.includes(&c.known)).then(|| {
                    c.sync_asked
                        .map_or(self.now, |at| at.plus(t.sync_min_interval_ms))
                });
                [Some(ack), serve, ask].into_iter().flatten().min()
            }
            _ => Some(c.opened.plus(t.handshake_timeout_ms)),
        });
        let held = self.held.iter().map(|h| h.since.plus(t.pending_timeout_ms));
        conns.chain(held).chain(self.mesh.next_deadline(t)).min()
    }

    fn input(&mut self, input: Input) {
        match input {
            Input::Local(op) => self.local_op(op),
            Input::Connected {
                conn,
                remote,
                dialer,
            } => self.connected(conn, remote, dialer),
            Input::DialFailed { remote, .. } => {
                let in_flight = self
                    .mesh
                    .peers
                    .get(&remote)
                    .is_some_and(|k| matches!(k.dial, Dial::InFlight(_)));
                if in_flight && !self.conns.values().any(|c| c.remote == remote) {
                    self.mesh
                        .lost(&remote, true, self.now, &self.cfg.timers, &mut self.rng);
                }
            }
            Input::Received { conn, msg } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                let result = c
                    .bucket
                    .take(self.now)
                    .and_then(|()| self.on_message(conn, msg));
                if let Err(error) = result {
                    self.close(conn, error);
                }
            }
            Input::Malformed { conn, error } => {
                if self.conns.contains_key(&conn) {
                    let error = match error {
                        WireError::UnsupportedVersion(theirs) => ProtoError::VersionMismatch {
                            ours: PROTOCOL_VERSION,
                            theirs,
                        },
                        other => ProtoError::Malformed(other),
                    };
                    self.close(conn, error);
                }
            }
            Input::Disconnected { conn } => {
                if let Some(c) = self.conns.remove(&conn) {
                    self.gone(c, None);
                }
            }
            Input::Durable(v) => self.durable.merge(&v),
            Input::Tick => self.tick(),
            Input::SetPresence(p) => {
                self.presence = p;
                self.presence_dirty = true;
            }
            Input::AddPeer(addr) => {
                if addr.key != self.cfg.local.key {
                    let key = addr.key;
                    self.mesh.add(addr, self.now, &self.cfg.limits);
                    if self.conns.values().any(|c| c.remote == key) {
                        self.mesh.connected(&key);
                    }
                }
            }
            Input::LocalAddrs(addrs) => {
                self.cfg.local.addrs = addrs;
                let me = self.cfg.local.clone();
                self.broadcast(None, Message::Peers(vec![me]));
            }
            Input::Shutdown => {
                let ids: Vec<ConnId> = self.conns.keys().copied().collect();
                for id in ids {
                    self.close(id, ProtoError::Shutdown);
                }
            }
        }
    }

    // ---- connections and handshake ----

    fn connected(&mut self, id: ConnId, remote: EndpointKey, dialer: bool) {
        if remote == self.cfg.local.key {
            self.out.push(Output::Close {
                conn: id,
                error: ProtoError::SelfConnection,
            });
            return;
        }
        if let Some(old) = self.conns.remove(&id) {
            self.gone(old, None);
        }
        let mut nonce = [0; 32];
        self.rng.fill_bytes(&mut nonce);
        let conn = Conn::new(id, remote, dialer, nonce, self.now, &self.cfg.limits);
        self.conns.insert(id, conn);
        self.mesh.connected(&remote);
        let hello = Hello {
            version: PROTOCOL_VERSION,
            doc: self.cfg.doc_id,
            key: self.cfg.local.key,
            nonce,
        };
        self.send(id, Message::Hello(hello));
    }

    fn on_message(&mut self, id: ConnId, msg: Message) -> Result<(), ProtoError> {
        let Some(conn) = self.conns.get(&id) else {
            return Ok(());
        };
        let (phase, remote, dialer, our_nonce) =
            (conn.phase.clone(), conn.remote, conn.dialer, conn.our_nonce);
        match (phase, msg) {
            (_, Message::Goodbye(Goodbye { code, detail })) => {
                let error = ProtoError::Remote { code, detail };
                if let Some(c) = self.conns.remove(&id) {
                    self.out.push(Output::Close {
                        conn: id,
                        error: error.clone(),
                    });
                    self.gone(c, Some(error));
                }
                Ok(())
            }
            (Phase::AwaitHello, Message::Hello(hello)) => {
                if hello.version != PROTOCOL_VERSION {
                    return Err(ProtoError::VersionMismatch {
                        ours: PROTOCOL_VERSION,
                        theirs: hello.version,
                    });
                }
                if hello.key != remote {
                    return Err(ProtoError::KeyMismatch);
                }
                if hello.doc != self.cfg.doc_id {
                    return Err(ProtoError::WrongDocument);
                }
                let mac = self
                    .proof(Side::Ours, dialer, &remote, &our_nonce, &hello.nonce)
                    .mac();
                if let Some(c) = self.conns.get_mut(&id) {
                    c.their_nonce = Some(hello.nonce);
                    c.phase = Phase::AwaitProof {
                        their_nonce: hello.nonce,
                    };
                }
                self.send(id, Message::Proof(Proof { mac }));
                Ok(())
            }
            (Phase::AwaitProof { their_nonce }, Message::Proof(proof)) => {
                if !self
                    .proof(Side::Theirs, dialer, &remote, &our_nonce, &their_nonce)
                    .verify(&proof.mac)
                {
                    return Err(ProtoError::AuthFailed);
                }
                if let Some(c) = self.conns.get_mut(&id) {
                    c.phase = Phase::Live;
                }
                self.go_live(id);
                Ok(())
            }
            (Phase::Live, Message::Sync(v)) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.known = v;
                    c.outbox.clear();
                    c.sync_deferred = Some(c.known.clone());
                }
                Ok(())
            }
            (Phase::Live, Message::Update(chunk)) => self.on_update(id, chunk),
            (Phase::Live, Message::Ops(ops)) => self.on_ops(id, ops),
            (Phase::Live, Message::Ack(v)) => {
                if let Some(c) = self.conns.get_mut(&id) {
                    c.known.merge(&v);
                }
                self.acked_any.merge(&v);
                Ok(())
            }
            (Phase::Live, Message::Peers(list)) => self.on_peers(id, list),
            (Phase::Live, Message::Presence(p)) => {
                if let Some(p) = &p {
                    let chars = p.name.chars().count();
                    let limit = self.cfg.limits.max_name_chars;
                    if chars > limit {
                        return Err(ProtoError::PresenceTooLarge { chars, limit });
                    }
                }
                if let Some(c) = self.conns.get_mut(&id) {
                    c.presence = p.clone();
                }
                self.out.push(Output::Event(Event::Presence {
                    peer: remote,
                    presence: p,
                }));
                Ok(())
            }
            (phase, msg) => {
                let phase = match phase {
                    Phase::AwaitHello => "before Hello",
                    Phase::AwaitProof { .. } => "before the proof was verified",
                    Phase::Live => "after the handshake",
                };
                Err(ProtoError::Violation(format!("{} {phase}", msg.name())))
            }
        }
    }

    /// Our proof or the one we expect from the remote, on a connection to `remote`.
    fn proof<'a>(
        &'a self,
        side: Side,
        dialer: bool,
        remote: &'a EndpointKey,
        our_nonce: &'a [u8; 32],
        their_nonce: &'a [u8; 32],
    ) -> ProofInput<'a> {
        let me = &self.cfg.local.key;
        let (we_dial, own_key, other_key, own_nonce, other_nonce) = match side {
            Side::Ours => (dialer, me, remote, our_nonce, their_nonce),
            Side::Theirs => (!dialer, remote, me, their_nonce, our_nonce),
        };
        ProofInput {
            secret: &self.cfg.secret,
            doc: &self.cfg.doc_id,
            role: if we_dial {
                Role::Dialer
            } else {
                Role::Acceptor
            },
            own_key,
            other_key,
            own_nonce,
            other_nonce,
        }
    }

    /// The handshake on `id` succeeded: dedupe, then start catch-up, gossip and presence.
    fn go_live(&mut self, id: ConnId) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        let remote = conn.remote;
        let twin = self
            .conns
            .values()
            .find(|c| c.id != id && c.remote == remote && c.is_live())
            .map(|c| c.id);
        if let Some(twin) = twin {
            let loser = if self.tie_break(id) < self.tie_break(twin) {
                twin
            } else {
                id
            };
            self.close(loser, ProtoError::Duplicate);
            if loser == id {
                return;
            }
        } else {
            self.out
                .push(Output::Event(Event::PeerJoined { peer: remote }));
        }
        self.mesh.verified(&remote);
        self.send(id, Message::Sync(self.doc.version()));
        let peers = self.peer_list();
        self.send(id, Message::Peers(peers));
        if let Some(p) = &self.presence {
            self.send(id, Message::Presence(Some(p.clone())));
        }
        self.send(id, Message::Ack(self.durable.clone()));
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.sync_asked = Some(self.now);
            conn.ack_sent = Some((self.durable.clone(), self.now));
            if conn.dialer
                && let Some(k) = self.mesh.peers.get(&remote)
            {
                let addr = k.addr.clone();
                self.announce(id, addr);
            }
        }
    }

    /// Both ends order duplicate connections the same way: by the dialer's key, then the
    /// dialer's nonce. The smaller one is kept.
    fn tie_break(&self, id: ConnId) -> ([u8; 32], [u8; 32]) {
        let c = &self.conns[&id];
        let their = c.their_nonce.unwrap_or([0xff; 32]);
        if c.dialer {
            (self.cfg.local.key, c.our_nonce)
        } else {
            (c.remote, their)
        }
    }

    /// Our address first, then known peers (connected ones first), bounded.
    fn peer_list(&self) -> Vec<PeerAddr> {
        let mut known: Vec<_> = self
            .mesh
            .peers
            .values()
            .filter(|k| !k.addr.addrs.is_empty())
            .collect();
        known.sort_by_key(|k| k.dial != Dial::Connected);
        std::iter::once(self.cfg.local.clone())
            .chain(known.into_iter().map(|k| k.addr.clone()))
            .take(self.cfg.limits.max_peers_per_message)
            .collect()
    }

    /// A verified peer's address (on connection `via`): save it and tell the other peers.
    fn announce(&mut self, via: ConnId, addr: PeerAddr) {
        self.out.push(Output::RememberPeer(addr.clone()));
        self.broadcast(Some(via), Message::Peers(vec![addr]));
    }

    fn on_peers(&mut self, id: ConnId, list: Vec<PeerAddr>) -> Result<(), ProtoError> {
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
            if entry.key == self.cfg.local.key || entry.addrs.is_empty() {
                continue;
            }
            let key = entry.key;
            if !self.mesh.add(entry, self.now, &self.cfg.limits) {
                continue;
            }
            if self.conns.values().any(|c| c.remote == key) {
                self.mesh.connected(&key);
            }
            let addr = self.mesh.peers[&key].addr.clone();
            if key == remote {
                self.announce(id, addr);
            } else {
                self.broadcast(Some(id), Message::Peers(vec![addr]));
            }
        }
        Ok(())
    }

    /// Closes `id`, telling the remote why.
    fn close(&mut self, id: ConnId, error: ProtoError) {
        let Some(conn) = self.conns.remove(&id) else {
            return;
        };
        let mut detail = error.to_string();
        if detail.len() > MAX_GOODBYE_DETAIL {
            let mut cut = MAX_GOODBYE_DETAIL;
            while !detail.is_char_boundary(cut) {
                cut -= 1;
            }
            detail.truncate(cut);
        }
        let code = error.goodbye_code();
        self.out.push(Output::Send {
            conn: id,
            msg: Message::Goodbye(Goodbye { code, detail }),
        });
        self.out.push(Output::Close {
            conn: id,
            error: error.clone(),
        });
        self.gone(conn, Some(error));
    }

    /// Bookkeeping after `conn` ended, with `error` if it was closed because of one.
    fn gone(&mut self, conn: Conn, error: Option<ProtoError>) {
        self.held.retain(|h| h.conn != conn.id);
        let remote = conn.remote;
        let others = self.conns.values().filter(|c| c.remote == remote);
        let (any_other, live_other) =
            others.fold((false, false), |(_, l), c| (true, l || c.is_live()));
        if conn.is_live() && !live_other {
            if conn.presence.is_some() {
                self.out.push(Output::Event(Event::Presence {
                    peer: remote,
                    presence: None,
                }));
            }
            self.out.push(Output::Event(Event::PeerLeft {
                peer: remote,
                error: error.clone(),
            }));
        } else if let Some(e) = &error
            && !conn.is_live()
            && !e.is_benign()
        {
            self.out.push(Output::Event(Event::Rejected {
                peer: remote,
                error: e.clone(),
            }));
        }
        if !any_other {
            let fault = error.as_ref().map_or(!conn.is_live(), |e| !e.is_benign());
            self.mesh
                .lost(&remote, fault, self.now, &self.cfg.timers, &mut self.rng);
        }
    }
}
