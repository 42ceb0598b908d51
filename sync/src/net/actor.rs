//! The actor: one tokio task that owns the protocol state machine ([`proto::Peer`]) and runs
//! it against the real world.
//!
//! It turns everything that happens — commands from the editor's [`Session`](crate::api::Session),
//! frames from connection tasks, news from the store thread, timers — into
//! [`proto::Input`]s, feeds them to [`Peer::handle_all`] with the current time, and performs
//! the resulting [`proto::Output`]s: frames go to connection writers, dials become tasks, ops
//! go to the store thread, events go to the editor. Inputs that are ready together are handled
//! together, so a burst of keystrokes leaves as one message.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use crdt_text::Op;
use iroh::{Endpoint, EndpointAddr, EndpointId, RelayUrl, TransportAddr};
use tokio::sync::{mpsc, oneshot, watch};

use super::conn::{self, CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_SLOW, ConnHandle, NetEvent};
use super::store_worker::{StoreCmd, StoreNews};
use super::{frame, ticket_file};
use crate::api::{Event, PeerStatus, SyncError};
use crate::proto::{
    self, ConnId, EndpointKey, Input, Limits, MAX_FRAME_BYTES, Millis, Output, Peer, PeerAddr,
    PresenceState, SyncStatus, Timers,
};
use crate::store::KnownPeer;
use crate::ticket::DocTicket;

/// Capacity of the channel from connection readers to the actor: readers wait when it is
/// full, which pushes back on fast senders through QUIC flow control.
const NET_QUEUE: usize = 1024;
/// How often RTTs and the local addresses are refreshed.
const REFRESH: Duration = Duration::from_secs(1);
/// Inputs handled in one go at most (keeps the loop responsive under floods).
const MAX_BATCH: usize = 256;
/// Open connections at most (verified or not); more are refused at once, so a flood of
/// connection attempts cannot exhaust memory.
const MAX_CONNECTIONS: usize = 128;

/// What the [`Session`](crate::api::Session) asks of the actor.
pub(crate) enum Command {
    /// Local ops from the editor's replica.
    Submit(Vec<Op>),
    /// Our presence.
    SetPresence(Option<PresenceState>),
    /// Connect to this peer (e.g. from a ticket).
    AddPeer(EndpointAddr),
    /// Write the plain file now.
    Save(oneshot::Sender<Result<(), SyncError>>),
    /// Say goodbye, flush the store, close everything.
    Shutdown(oneshot::Sender<Result<(), SyncError>>),
}

/// Everything the actor starts with.
pub(crate) struct Setup {
    pub(crate) peer: Peer,
    pub(crate) endpoint: Option<Endpoint>,
    pub(crate) relay: Option<RelayUrl>,
    pub(crate) limits: Limits,
    pub(crate) timers: Timers,
    pub(crate) store: std::sync::mpsc::Sender<StoreCmd>,
    pub(crate) store_news: mpsc::UnboundedReceiver<StoreNews>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) events: mpsc::UnboundedSender<Event>,
    pub(crate) peers: watch::Sender<Vec<PeerStatus>>,
    pub(crate) status: watch::Sender<SyncStatus>,
    pub(crate) addrs: watch::Sender<Vec<SocketAddr>>,
    pub(crate) autosave: Option<Duration>,
    pub(crate) initial_peers: Vec<Input>,
    /// Where to keep the current ticket for `duet ticket FILE`, and the ticket to keep there.
    pub(crate) ticket_file: Option<(PathBuf, DocTicket)>,
}

struct Actor {
    peer: Peer,
    endpoint: Option<Endpoint>,
    relay: Option<RelayUrl>,
    relays: HashMap<EndpointKey, RelayUrl>,
    limits: Limits,
    timers: Timers,
    conns: HashMap<ConnId, ConnHandle>,
    next_conn: u64,
    dialing: HashSet<EndpointKey>,
    net_tx: mpsc::Sender<NetEvent>,
    store: std::sync::mpsc::Sender<StoreCmd>,
    events: mpsc::UnboundedSender<Event>,
    peers_watch: watch::Sender<Vec<PeerStatus>>,
    status_watch: watch::Sender<SyncStatus>,
    addrs_watch: watch::Sender<Vec<SocketAddr>>,
    names: HashMap<EndpointKey, String>,
    start: Instant,
    autosave: Option<Duration>,
    changed_since: Option<Instant>,
    /// Whether an editor submits local ops (then outside edits to the file are not merged
    /// behind its back: they would take the editor's counters).
    has_editor: bool,
    /// Inputs produced while performing outputs, fed in the next round.
    followups: Vec<Input>,
    ticket_file: Option<(PathBuf, DocTicket)>,
}

/// Runs the actor until shutdown (or until the session handle is dropped).
pub(crate) async fn run(setup: Setup) {
    let Setup {
        peer,
        endpoint,
        relay,
        limits,
        timers,
        store,
        mut store_news,
        mut commands,
        events,
        peers,
        status,
        addrs,
        autosave,
        initial_peers,
        ticket_file,
    } = setup;
    let (net_tx, mut net_rx) = mpsc::channel(NET_QUEUE);
    if let Some(ep) = &endpoint {
        let handshake = Duration::from_millis(timers.handshake_timeout_ms);
        tokio::spawn(conn::accept_loop(ep.clone(), handshake, net_tx.clone()));
    }
    let mut actor = Actor {
        peer,
        endpoint,
        relay,
        relays: HashMap::new(),
        limits,
        timers,
        conns: HashMap::new(),
        next_conn: 0,
        dialing: HashSet::new(),
        net_tx,
        store,
        events,
        peers_watch: peers,
        status_watch: status,
        addrs_watch: addrs,
        names: HashMap::new(),
        start: Instant::now(),
        autosave,
        changed_since: None,
        has_editor: false,
        followups: initial_peers,
        ticket_file,
    };
    let mut refresh = tokio::time::interval(REFRESH);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let shutdown_reply = loop {
        let mut inputs = std::mem::take(&mut actor.followups);
        let tick_at = actor
            .peer
            .poll_timeout()
            .map(|m| actor.start + Duration::from_millis(m.0));
        let autosave_at = actor
            .changed_since
            .zip(actor.autosave)
            .map(|(since, delay)| since + delay);
        if inputs.is_empty() {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Shutdown(reply)) => break Some(reply),
                    Some(cmd) => actor.command(cmd, &mut inputs),
                    None => break None,
                },
                Some(ev) = net_rx.recv() => actor.net_event(ev, &mut inputs),
                Some(news) = store_news.recv() => actor.store_news(news, &mut inputs),
                _ = sleep_until(tick_at) => inputs.push(Input::Tick),
                _ = sleep_until(autosave_at) => actor.autosave(),
                _ = refresh.tick() => actor.refresh(&mut inputs),
            }
        }
        // Take whatever else is ready, so that it is handled (and coalesced) together.
        let mut shutdown = None;
        while inputs.len() < MAX_BATCH {
            if let Ok(cmd) = commands.try_recv() {
                match cmd {
                    Command::Shutdown(reply) => {
                        shutdown = Some(reply);
                        break;
                    }
                    cmd => actor.command(cmd, &mut inputs),
                }
            } else if let Ok(ev) = net_rx.try_recv() {
                actor.net_event(ev, &mut inputs);
            } else if let Ok(news) = store_news.try_recv() {
                actor.store_news(news, &mut inputs);
            } else {
                break;
            }
        }
        if tick_at.is_some_and(|t| t <= Instant::now())
            && !inputs.iter().any(|i| matches!(i, Input::Tick))
        {
            inputs.push(Input::Tick);
        }
        actor.handle(inputs);
        if let Some(reply) = shutdown {
            break Some(reply);
        }
    };
    let result = actor.shutdown().await;
    if let Some(reply) = shutdown_reply {
        let _ = reply.send(result);
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

impl Actor {
    fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64)
    }

    fn handle(&mut self, inputs: Vec<Input>) {
        if inputs.is_empty() {
            return;
        }
        let now = self.now();
        let outputs = self.peer.handle_all(inputs, now);
        self.perform(outputs);
    }

    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn command(&mut self, cmd: Command, inputs: &mut Vec<Input>) {
        match cmd {
            Command::Submit(ops) => {
                self.has_editor = true;
                inputs.extend(ops.into_iter().map(Input::Local));
            }
            Command::SetPresence(p) => {
                if let Some(p) = &p {
                    self.names.insert(self.peer.local().key, p.name.clone());
                }
                inputs.push(Input::SetPresence(p));
            }
            Command::AddPeer(addr) => {
                let key = *addr.id.as_bytes();
                if let Some(url) = addr.relay_urls().next() {
                    self.relays.insert(key, url.clone());
                }
                inputs.push(Input::AddPeer(PeerAddr {
                    key,
                    addrs: addr.ip_addrs().copied().collect(),
                }));
            }
            Command::Save(reply) => {
                let doc = Box::new(self.peer.doc().clone());
                let (tx, rx) = oneshot::channel();
                if self
                    .store
                    .send(StoreCmd::WritePlain(doc, Some(tx)))
                    .is_err()
                {
                    let _ = reply.send(Err(SyncError::Stopped));
                    return;
                }
                tokio::spawn(async move {
                    let result = match rx.await {
                        Ok(r) => r.map_err(SyncError::from),
                        Err(_) => Err(SyncError::Stopped),
                    };
                    let _ = reply.send(result);
                });
            }
            Command::Shutdown(_) => unreachable!("handled by the loop"),
        }
    }

    fn net_event(&mut self, ev: NetEvent, inputs: &mut Vec<Input>) {
        match ev {
            NetEvent::Up {
                conn,
                send,
                recv,
                dialer,
            } => {
                if self.conns.len() >= MAX_CONNECTIONS {
                    tracing::warn!("refusing a connection: {MAX_CONNECTIONS} already open");
                    conn.close(
                        iroh::endpoint::VarInt::from_u32(conn::CLOSE_TOO_MANY),
                        b"too many connections",
                    );
                    if dialer {
                        let remote = *conn.remote_id().as_bytes();
                        self.dialing.remove(&remote);
                        inputs.push(Input::DialFailed {
                            remote,
                            error: "too many connections".to_owned(),
                        });
                    }
                    return;
                }
                let id = ConnId(self.next_conn);
                self.next_conn += 1;
                let handle = ConnHandle::start(id, conn, send, recv, self.net_tx.clone());
                let remote = handle.remote;
                if dialer {
                    self.dialing.remove(&remote);
                }
                self.conns.insert(id, handle);
                inputs.push(Input::Connected {
                    conn: id,
                    remote,
                    dialer,
                });
            }
            NetEvent::DialFailed { remote, error } => {
                self.dialing.remove(&remote);
                tracing::debug!(peer = %short(&remote), "dial failed: {error}");
                self.emit(Event::DialFailed {
                    peer: remote,
                    error: error.clone(),
                });
                inputs.push(Input::DialFailed { remote, error });
            }
            NetEvent::Received { conn, msg } => {
                if self.conns.contains_key(&conn) {
                    inputs.push(Input::Received { conn, msg });
                }
            }
            NetEvent::Malformed { conn, error } => {
                if self.conns.contains_key(&conn) {
                    inputs.push(Input::Malformed { conn, error });
                }
            }
            NetEvent::Down { conn, reason } => {
                if let Some(handle) = self.conns.remove(&conn) {
                    tracing::debug!(peer = %short(&handle.remote), "connection lost: {reason}");
                    inputs.push(Input::Disconnected { conn });
                }
            }
        }
    }

    fn store_news(&mut self, news: StoreNews, inputs: &mut Vec<Input>) {
        match news {
            StoreNews::Durable(version) => inputs.push(Input::Durable(version)),
            StoreNews::Failed(e) => {
                tracing::error!("store: {e}");
                self.emit(Event::StoreFailed(e.to_string()));
            }
            StoreNews::NeedsCompaction => {
                let doc = Box::new(self.peer.doc().clone());
                let _ = self.store.send(StoreCmd::Compact(doc));
            }
            StoreNews::PlainWritten => self.emit(Event::PlainFileWritten),
            StoreNews::PlainChanged => {
                if !self.has_editor {
                    let write = self.changed_since.take().is_some();
                    let doc = Box::new(self.peer.doc().clone());
                    let _ = self
                        .store
                        .send(StoreCmd::ImportAndWritePlain { doc, write });
                }
            }
            StoreNews::Imported {
                ops,
                inserted,
                deleted,
            } => {
                self.emit(Event::OutsideEdits { inserted, deleted });
                inputs.extend(ops.into_iter().map(Input::Local));
            }
        }
    }

    fn autosave(&mut self) {
        self.changed_since = None;
        let doc = Box::new(self.peer.doc().clone());
        let cmd = if self.has_editor {
            StoreCmd::WritePlain(doc, None)
        } else {
            StoreCmd::ImportAndWritePlain { doc, write: true }
        };
        let _ = self.store.send(cmd);
    }

    /// In autosave mode without an editor: ask the store thread whether another program
    /// changed the plain file (it compares contents); it answers `PlainChanged` if so.
    fn check_plain_file(&mut self) {
        if self.autosave.is_some() && !self.has_editor {
            let _ = self.store.send(StoreCmd::CheckPlain);
        }
    }

    /// Refreshes the peers panel (RTTs) and notices new local addresses.
    fn refresh(&mut self, inputs: &mut Vec<Input>) {
        self.publish_peers();
        self.check_plain_file();
        let Some(ep) = &self.endpoint else { return };
        let addrs: Vec<SocketAddr> = ep.addr().ip_addrs().copied().collect();
        if *self.addrs_watch.borrow() != addrs {
            self.addrs_watch.send_replace(addrs.clone());
            inputs.push(Input::LocalAddrs(addrs.clone()));
            if let Some((_, ticket)) = &mut self.ticket_file {
                let relay = ticket.relay().cloned();
                let mut host = EndpointAddr::from_parts(
                    ticket.host.id,
                    addrs.into_iter().map(TransportAddr::Ip),
                );
                if let Some(url) = relay {
                    host = host.with_relay_url(url);
                }
                ticket.host = host;
            }
            self.write_ticket_file();
        }
    }

    fn write_ticket_file(&self) {
        if let Some((path, ticket)) = &self.ticket_file
            && let Err(e) = ticket_file::write(path, ticket)
        {
            tracing::warn!("cannot write {}: {e}", path.display());
        }
    }

    fn perform(&mut self, outputs: Vec<Output>) {
        let mut peers_changed = false;
        for output in outputs {
            match output {
                Output::Send { conn, msg } => self.send(conn, &msg),
                Output::Close { conn, error } => {
                    if let Some(handle) = self.conns.remove(&conn) {
                        let code = if error.is_benign() {
                            CLOSE_NORMAL
                        } else {
                            tracing::warn!(peer = %short(&handle.remote), "closing connection: {error}");
                            CLOSE_PROTOCOL_ERROR
                        };
                        handle.close(code, &error.to_string());
                    }
                }
                Output::Dial(addr) => self.dial(addr),
                Output::Persist(ops) => {
                    if self.autosave.is_some() && self.changed_since.is_none() {
                        self.changed_since = Some(Instant::now());
                    }
                    let _ = self.store.send(StoreCmd::Append(ops));
                }
                Output::RememberPeer(addr) => {
                    let peer = KnownPeer {
                        endpoint_id: addr.key,
                        name: self.names.get(&addr.key).cloned(),
                        addrs: addr.addrs,
                        last_seen_unix: SystemTime::now()
                            .duration_since(SystemTime::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs()),
                    };
                    let _ = self.store.send(StoreCmd::RememberPeer(peer));
                }
                Output::Event(event) => {
                    peers_changed |= self.proto_event(event);
                }
            }
        }
        if peers_changed {
            self.publish_peers();
        }
    }

    /// Forwards a protocol event to the editor; returns whether the peers panel changed.
    fn proto_event(&mut self, event: proto::Event) -> bool {
        let (event, peers_changed) = match event {
            proto::Event::Remote(ops) => (Event::Remote(ops), false),
            proto::Event::PeerJoined { peer } => (Event::PeerJoined { peer }, true),
            proto::Event::PeerLeft { peer, error } => (Event::PeerLeft { peer, error }, true),
            proto::Event::Rejected { peer, error } => {
                tracing::warn!(peer = %short(&peer), "connection refused: {error}");
                (Event::Rejected { peer, error }, false)
            }
            proto::Event::Presence { peer, presence } => {
                if let Some(p) = &presence {
                    self.names.insert(peer, p.name.clone());
                }
                (Event::Presence { peer, presence }, true)
            }
            proto::Event::Status(status) => {
                self.status_watch.send_replace(status);
                (Event::Status(status), false)
            }
            proto::Event::LocalRejected(e) => {
                tracing::error!("a local op was refused by the document: {e}");
                (Event::LocalRejected(e), false)
            }
        };
        self.emit(event);
        peers_changed
    }

    fn send(&mut self, conn: ConnId, msg: &proto::Message) {
        let Some(handle) = self.conns.get(&conn) else {
            return;
        };
        let frame = match proto::encode(msg)
            .map_err(|e| e.to_string())
            .and_then(|payload| frame::encode(&payload, MAX_FRAME_BYTES).map_err(|e| e.to_string()))
        {
            Ok(frame) => frame,
            Err(e) => {
                // Our own message does not fit a frame: a bug; keep the connection, drop it loudly.
                tracing::error!("cannot send {}: {e}", msg.name());
                return;
            }
        };
        let queued = handle.send(frame);
        if queued > self.limits.max_queued_bytes_per_peer {
            let reason = format!(
                "peer is not reading: {queued} bytes queued (limit {})",
                self.limits.max_queued_bytes_per_peer
            );
            tracing::warn!(peer = %short(&handle.remote), "{reason}");
            handle.abort(CLOSE_TOO_SLOW, &reason);
            self.conns.remove(&conn);
            self.followups.push(Input::Disconnected { conn });
        }
    }

    fn dial(&mut self, addr: PeerAddr) {
        let fail = |this: &mut Self, error: String| {
            this.followups.push(Input::DialFailed {
                remote: addr.key,
                error,
            });
        };
        let Some(ep) = self.endpoint.clone() else {
            return fail(self, "networking is off".to_owned());
        };
        let Ok(id) = EndpointId::from_bytes(&addr.key) else {
            return fail(self, "invalid endpoint id".to_owned());
        };
        if !self.dialing.insert(addr.key) {
            return; // a dial to this peer is in flight; it will report
        }
        let mut target =
            EndpointAddr::from_parts(id, addr.addrs.iter().copied().map(TransportAddr::Ip));
        if let Some(url) = self.relays.get(&addr.key).or(self.relay.as_ref()) {
            target = target.with_relay_url(url.clone());
        }
        let timeout = Duration::from_millis(self.timers.dial_timeout_ms);
        tokio::spawn(conn::dial(ep, target, timeout, self.net_tx.clone()));
    }

    fn publish_peers(&self) {
        let local = self.peer.local().key;
        let peers = self
            .peer
            .peers()
            .into_iter()
            .filter(|info| info.addr.key != local)
            .map(|info| {
                let conns: Vec<&ConnHandle> = self
                    .conns
                    .values()
                    .filter(|c| c.remote == info.addr.key)
                    .collect();
                let live = conns.iter().find_map(|c| {
                    let paths = c.conn.paths();
                    let path = paths.iter().find(|p| p.is_selected())?;
                    let addr = match path.remote_addr() {
                        TransportAddr::Ip(a) => Some(*a),
                        _ => None,
                    };
                    Some((addr, path.rtt()))
                });
                let sent = conns
                    .iter()
                    .map(|c| c.traffic.sent.load(Ordering::Relaxed))
                    .sum();
                let received = conns
                    .iter()
                    .map(|c| c.traffic.received.load(Ordering::Relaxed))
                    .sum();
                PeerStatus {
                    key: info.addr.key,
                    name: info
                        .presence
                        .as_ref()
                        .map(|p| p.name.clone())
                        .or_else(|| self.names.get(&info.addr.key).cloned()),
                    color: info.presence.as_ref().map(|p| p.color),
                    connected: info.connected,
                    addr: live.and_then(|(a, _)| a),
                    known_addrs: info.addr.addrs,
                    rtt: live.map(|(_, rtt)| rtt),
                    bytes_sent: sent,
                    bytes_received: received,
                }
            })
            .collect();
        self.peers_watch.send_replace(peers);
    }

    async fn shutdown(mut self) -> Result<(), SyncError> {
        if let Some((path, _)) = &self.ticket_file {
            let _ = std::fs::remove_file(path);
        }
        let outputs = self.peer.handle(Input::Shutdown, self.now());
        self.perform(outputs);
        // Writers flush their goodbyes and close; dropping the handles closes the rest.
        let handles: Vec<ConnHandle> = self.conns.drain().map(|(_, h)| h).collect();
        for h in &handles {
            h.close(CLOSE_NORMAL, "shutting down");
        }
        let plain = self
            .changed_since
            .is_some()
            .then(|| Box::new(self.peer.doc().clone()));
        let (done, result) = oneshot::channel();
        let store_result = if self.store.send(StoreCmd::Close { plain, done }).is_ok() {
            match result.await {
                Ok(r) => r.map_err(SyncError::from),
                Err(_) => Err(SyncError::Stopped),
            }
        } else {
            Err(SyncError::Stopped)
        };
        if let Some(ep) = self.endpoint.take() {
            // Give writers a moment to deliver goodbyes, then close the endpoint.
            let wait_writers = async {
                for h in &handles {
                    let _ = h.conn.closed().await;
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(2), wait_writers).await;
            let _ = tokio::time::timeout(Duration::from_secs(2), ep.close()).await;
        }
        drop(handles);
        store_result
    }
}

/// A short printable form of an endpoint key (like iroh's `fmt_short`).
pub(crate) fn short(key: &EndpointKey) -> String {
    data_encoding::HEXLOWER.encode(&key[..5])
}
