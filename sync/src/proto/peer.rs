//! [`Peer`]: the protocol state machine of one endpoint, for every document it syncs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crdt_text::{Doc, OpId, ReplicaId, VersionVector};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

mod conns;
mod join;
mod rooms;
mod timers;
mod traffic;

use super::conn::Conn;
use super::mesh::Mesh;
use super::{
    ConnId, Departure, Docs, Event, Input, Limits, Message, Millis, Output, PeerAddr, PeerInfo,
    PresenceState, ProtoError, SyncStatus, Timers,
};
use crate::ids::{DocId, DocSecret, PeerId};

/// Everything a [`Peer`] needs besides its documents.
#[derive(Clone, Debug)]
pub struct Config {
    /// Our id and direct addresses (gossiped to peers).
    pub local: PeerAddr,
    /// The name our user goes by, told to every peer we connect to.
    pub name: String,
    /// Seed of the random numbers (nonces, session, jitter): from the OS in production,
    /// fixed in tests.
    pub seed: [u8; 32],
    /// Limits on what peers may send.
    pub limits: Limits,
    /// Timers.
    pub timers: Timers,
}

/// A document to sync: what [`Peer::add_doc`] needs besides the document itself.
#[derive(Clone)]
pub struct DocConfig {
    /// The document id (public, in the ticket).
    pub id: DocId,
    /// The document secret (only in the ticket): proves membership.
    pub secret: DocSecret,
    /// Ops peers are known to have (acknowledged or sent by them), as the store last recorded:
    /// what is not in it counts as unsent.
    pub acked: VersionVector,
    /// Opened on a connection only when asked ([`Input::AddPeer`] while connected, or the
    /// remote's `Join`), never just because the remote is a known peer: a shared folder's
    /// files, opened with a peer only when a summary says they differ.
    pub on_demand: bool,
}

impl fmt::Debug for DocConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocConfig")
            .field("id", &self.id)
            .field("acked", &self.acked)
            .finish_non_exhaustive()
    }
}

/// An op received from a connection that waits in the document for its dependencies.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    pub id: OpId,
    pub end: u64,
    pub conn: ConnId,
    pub since: Millis,
}

/// The protocol's state of one document.
#[derive(Debug)]
pub(crate) struct DocSync {
    pub secret: DocSecret,
    /// See [`DocConfig::on_demand`].
    pub on_demand: bool,
    /// The replica id local ops are made under.
    pub replica: ReplicaId,
    /// The document's version after the last change (kept so that timers need no document).
    pub version: VersionVector,
    /// What the store has made durable.
    pub durable: VersionVector,
    /// What peers are known to have: acknowledged by them, or received from them.
    pub acked: VersionVector,
    pub held: Vec<Held>,
    pub presence: Option<PresenceState>,
    pub presence_dirty: bool,
    /// Peers of this document (from the store, tickets, gossip and verified connections).
    pub known: BTreeSet<PeerId>,
    pub status: SyncStatus,
    /// Our text's digest at a version, and when it was computed.
    pub digest: Option<(VersionVector, [u8; 32], Millis)>,
    /// Who the user was last told is here, with the name each announced.
    pub here: BTreeMap<PeerId, Option<String>>,
    /// Whose presence the user was last shown (hidden again when they leave).
    pub shown: BTreeSet<PeerId>,
    /// How peers who were here went away (reported when the user is told they left).
    pub departures: BTreeMap<PeerId, Departure>,
    /// The document's big room, once it has one.
    pub room: Option<rooms::RoomState>,
}

/// The protocol of one endpoint: its connections and every document it syncs, driven by
/// [`handle`](Self::handle). Pure: no IO, no clock, no threads, and no copy of any document
/// (the caller lends them for each call).
#[derive(Debug)]
pub struct Peer {
    pub(super) cfg: Config,
    /// Random per run; tells peers a restart from a duplicate connection.
    session: u64,
    rng: ChaCha20Rng,
    docs: BTreeMap<DocId, DocSync>,
    conns: BTreeMap<ConnId, Conn>,
    mesh: Mesh,
    out: Vec<Output>,
    now: Millis,
    /// What the next flush must look at.
    touched: Touched,
    /// When each document's channels and held ops need the clock next, as of the last flush
    /// that visited it (so `poll_timeout` and ticks need not walk every channel).
    deadlines: BTreeMap<DocId, Millis>,
    /// Documents gossiping in a big room: they run on the clock, so every flush visits them
    /// (kept apart so that nothing walks every document to find them).
    rooms: BTreeSet<DocId>,
}

/// The documents an input may have given work to (queued ops, a changed status…), so that
/// the flush at the end of `handle` visits only those: with a thousand documents open with
/// a peer, a keystroke must not cost a walk over all of them. Anything that concerns a whole
/// connection touches them all; a tick, those whose timers are due (see `Peer::deadlines`).
#[derive(Debug, Default)]
struct Touched {
    all: bool,
    docs: BTreeSet<DocId>,
}

impl Peer {
    /// A peer with no documents yet (see [`add_doc`](Self::add_doc)).
    pub fn new(cfg: Config) -> Peer {
        let mut rng = ChaCha20Rng::from_seed(cfg.seed);
        let session = rng.next_u64();
        Peer {
            cfg,
            session,
            rng,
            docs: BTreeMap::new(),
            conns: BTreeMap::new(),
            mesh: Mesh::default(),
            out: Vec::new(),
            now: Millis(0),
            touched: Touched::default(),
            deadlines: BTreeMap::new(),
            rooms: BTreeSet::new(),
        }
    }

    /// Starts syncing `doc` (as loaded from its store: everything in it counts as durable).
    /// Its known peers follow as [`Input::AddPeer`].
    pub fn add_doc(&mut self, cfg: DocConfig, doc: &Doc) {
        let version = doc.version();
        let sync = DocSync {
            secret: cfg.secret,
            on_demand: cfg.on_demand,
            replica: doc.replica(),
            durable: version.clone(),
            version,
            acked: cfg.acked,
            held: Vec::new(),
            presence: None,
            presence_dirty: false,
            known: BTreeSet::new(),
            status: SyncStatus::default(),
            digest: None,
            here: BTreeMap::new(),
            shown: BTreeSet::new(),
            departures: BTreeMap::new(),
            room: None,
        };
        self.docs.insert(cfg.id, sync);
        self.touch(cfg.id);
    }

    /// `doc` may have work for the next flush.
    fn touch(&mut self, doc: DocId) {
        if !self.touched.all {
            self.touched.docs.insert(doc);
        }
    }

    /// Every document may have work for the next flush (a connection came or went).
    fn touch_all(&mut self) {
        self.touched.all = true;
        self.touched.docs.clear();
    }

    /// The documents the next flush must visit (and forgets them): those touched, and every
    /// document in a big room (rooms run on the clock).
    fn take_touched(&mut self) -> Vec<DocId> {
        let touched = std::mem::take(&mut self.touched);
        if touched.all {
            return self.docs.keys().copied().collect();
        }
        let mut ids = touched.docs;
        ids.retain(|d| self.docs.contains_key(d));
        ids.extend(self.rooms.iter().copied());
        ids.into_iter().collect()
    }

    /// Our id and addresses.
    pub fn local(&self) -> &PeerAddr {
        &self.cfg.local
    }

    /// Whether `doc` gossips in a big room (rather than a full mesh).
    pub fn in_room(&self, doc: &DocId) -> bool {
        self.docs.get(doc).is_some_and(|d| d.room.is_some())
    }

    /// The swarm neighbours of `doc`'s room (tests look at the overlay).
    #[cfg(test)]
    pub(crate) fn room_neighbors(&self, doc: &DocId) -> Vec<PeerId> {
        self.docs
            .get(doc)
            .and_then(|d| d.room.as_ref())
            .map(|r| r.neighbors.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Open connections (verified or not).
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// The documents this peer syncs.
    pub fn doc_ids(&self) -> impl Iterator<Item = &DocId> {
        self.docs.keys()
    }

    /// The sync state of `doc` (also reported by [`Event::Status`] when it changes).
    pub fn status(&self, doc: &DocId) -> SyncStatus {
        self.docs.get(doc).map(|d| d.status).unwrap_or_default()
    }

    /// Ops of `doc` that peers are known to have (for the store to keep across restarts).
    pub fn acked(&self, doc: &DocId) -> Option<&VersionVector> {
        self.docs.get(doc).map(|d| &d.acked)
    }

    /// The peers of `doc`, for the peers panel: every known one, connected or not, and in a big
    /// room everyone heard through the swarm.
    pub fn peers(&self, doc: &DocId) -> Vec<PeerInfo> {
        let Some(sync) = self.docs.get(doc) else {
            return Vec::new();
        };
        let heard = sync.room.as_ref().map(|r| &r.heard);
        let mut ids: BTreeSet<PeerId> = sync.known.clone();
        ids.extend(heard.into_iter().flat_map(|h| h.keys().copied()));
        ids.into_iter()
            .map(|id| {
                let id = &id;
                let live = self
                    .conns
                    .values()
                    .find_map(|c| (c.remote == *id).then(|| c.live(doc).map(|ch| (c.id, ch)))?);
                let known = self.mesh.peers.get(id);
                let presence = live
                    .and_then(|(_, ch)| ch.presence.clone())
                    .or_else(|| heard.and_then(|h| h.get(id)?.presence.clone()));
                PeerInfo {
                    addr: known.map_or_else(
                        || PeerAddr {
                            id: *id,
                            addrs: Vec::new(),
                        },
                        |k| k.addr.clone(),
                    ),
                    name: presence
                        .as_ref()
                        .map(|p| p.name.clone())
                        .filter(|n| !n.is_empty())
                        .or_else(|| known.and_then(|k| k.name.clone())),
                    conn: live.map(|(c, _)| c),
                    diverged: live.is_some_and(|(_, ch)| ch.diverged),
                    presence,
                }
            })
            .collect()
    }

    /// Feeds one input at time `now`, with the documents lent; returns what the driver must
    /// do, in order.
    pub fn handle(&mut self, docs: &mut dyn Docs, input: Input, now: Millis) -> Vec<Output> {
        self.handle_all(docs, [input], now)
    }

    /// Feeds several inputs that arrived together; ops for the same connection are coalesced
    /// into as few messages as possible.
    pub fn handle_all(
        &mut self,
        docs: &mut dyn Docs,
        inputs: impl IntoIterator<Item = Input>,
        now: Millis,
    ) -> Vec<Output> {
        self.now = self.now.max(now);
        for input in inputs {
            self.input(docs, input);
        }
        self.flush(docs);
        std::mem::take(&mut self.out)
    }

    fn input(&mut self, docs: &mut dyn Docs, input: Input) {
        match &input {
            Input::Local { doc, .. }
            | Input::Durable { doc, .. }
            | Input::SetPresence { doc, .. }
            | Input::AddPeer { doc, .. }
            | Input::App { doc, .. } => self.touch(*doc),
            // Messages touch what they concern (see `on_message`); a tick, the documents
            // whose timers are due.
            Input::Received { .. } | Input::Tick => {}
            _ => self.touch_all(),
        }
        match input {
            Input::Local { doc, ops } => self.local_ops(docs, doc, ops),
            Input::Connected {
                conn,
                remote,
                addr,
                dialer,
            } => self.connected(conn, remote, addr, dialer),
            Input::DialFailed { remote, error } => self.dial_failed(remote, error),
            Input::Received { conn, msg } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                let result = c
                    .bucket
                    .take(self.now)
                    .and_then(|()| self.on_message(docs, conn, msg));
                if let Err(error) = result {
                    self.close(conn, error);
                }
            }
            Input::Malformed { conn, error } => {
                if self.conns.contains_key(&conn) {
                    self.close(conn, ProtoError::from_wire(error));
                }
            }
            Input::Stalled { conn, queued } => {
                let limit = self.cfg.limits.max_queued_bytes_per_peer;
                if queued > limit && self.conns.contains_key(&conn) {
                    self.close(conn, ProtoError::TooSlow { queued, limit });
                }
            }
            Input::Disconnected { conn } => {
                if let Some(c) = self.conns.remove(&conn) {
                    self.gone(c, None);
                }
            }
            Input::Durable { doc, version } => {
                if let Some(d) = self.docs.get_mut(&doc) {
                    d.durable.merge(&version);
                }
            }
            Input::Tick => self.tick(docs),
            Input::SetPresence { doc, presence } => {
                if let Some(d) = self.docs.get_mut(&doc) {
                    d.presence = presence;
                    d.presence_dirty = true;
                }
            }
            Input::AddPeer { doc, addr, name } => self.add_peer(doc, addr, name),
            Input::App { doc, peer, bytes } => {
                let conn = self
                    .conns
                    .values()
                    .find(|c| c.remote == peer && c.live(&doc).is_some())
                    .map(|c| c.id);
                match conn {
                    Some(conn) => self.send_doc(conn, doc, super::DocMessage::App(bytes)),
                    None => tracing::debug!(%doc, "no live channel for an app message"),
                }
            }
            Input::LocalAddrs(addrs) => {
                self.rooms_moved(&addrs);
                self.cfg.local.addrs = addrs;
                let me = self.cfg.local.clone();
                let docs: Vec<DocId> = self.docs.keys().copied().collect();
                for doc in docs {
                    self.broadcast(doc, None, super::DocMessage::Peers(vec![me.clone()]));
                }
            }
            Input::Shutdown => {
                // Acknowledge what is durable before saying goodbye, so that peers do not
                // count as unsent what we already keep.
                self.send_stale_acks(0);
                self.leave_rooms();
                let ids: Vec<ConnId> = self.conns.keys().copied().collect();
                for id in ids {
                    self.close(id, ProtoError::Shutdown);
                }
            }
        }
    }

    fn add_peer(&mut self, doc: DocId, addr: PeerAddr, name: Option<String>) {
        if addr.id == self.cfg.local.id {
            return;
        }
        let Some(sync) = self.docs.get_mut(&doc) else {
            return;
        };
        let id = addr.id;
        sync.known.insert(id);
        self.mesh.add(addr, self.now, &self.cfg.limits);
        if let Some(k) = self.mesh.peers.get_mut(&id)
            && k.name.is_none()
        {
            k.name = name;
        }
        let open: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| c.remote == id)
            .map(|c| c.id)
            .collect();
        if !open.is_empty() {
            self.mesh.connected(&id);
        }
        for conn in open {
            if self.conns[&conn].is_open() {
                self.join(conn, doc);
            }
        }
    }

    fn dial_failed(&mut self, remote: PeerId, error: String) {
        let in_flight = self
            .mesh
            .peers
            .get(&remote)
            .is_some_and(|k| matches!(k.dial, super::mesh::Dial::InFlight(_)));
        if !in_flight || self.conns.values().any(|c| c.remote == remote) {
            return;
        }
        self.mesh
            .lost(&remote, true, self.now, &self.cfg.timers, &mut self.rng);
        self.room_dial_failed(remote);
        if let Some(k) = self.mesh.peers.get_mut(&remote)
            && !k.told_unreachable
        {
            k.told_unreachable = true;
            self.out.push(Output::Event(Event::Unreachable {
                peer: remote,
                error,
            }));
        }
    }

    fn send(&mut self, conn: ConnId, msg: Message) {
        self.out.push(Output::Send { conn, msg });
    }
}

impl ProtoError {
    /// The error for a frame that did not decode.
    fn from_wire(error: super::WireError) -> ProtoError {
        match error {
            super::WireError::UnsupportedVersion(theirs) => ProtoError::VersionMismatch {
                ours: super::PROTOCOL_VERSION,
                theirs,
            },
            other => ProtoError::Malformed(other),
        }
    }
}
