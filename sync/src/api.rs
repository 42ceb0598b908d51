//! What the editor sees of the sync layer: a [`Session`] for one open document.
//!
//! [`Session::start`] opens (or, with a ticket, creates) the document's store, loads the user's
//! identity, starts networking and returns the document as stored. The editor keeps its own
//! replica of it (same replica id as the store's) and
//! - hands every local op to [`Session::submit`] (the session persists it within 50 ms and
//!   sends it to every peer),
//! - applies the ops of every [`Event::Remote`] to its replica, in order,
//! - shows the rest of the [`Event`]s (peers joining and leaving, presence, sync state, errors),
//! - reads [`Session::peers`], [`Session::status`] and [`Session::ticket`] when it draws,
//! - calls [`Session::shutdown`] before exiting (it flushes the store).
//!
//! Networking is optional: if it cannot start (no usable address, port taken) the session
//! still persists every edit and [`Session::network_error`] says why peers are unreachable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crdt_text::{ApplyError, Doc, Op, ReplicaId};
use iroh::{Endpoint, EndpointAddr, EndpointId, RelayUrl, TransportAddr};
use tokio::sync::{mpsc, oneshot, watch};

use crate::identity::{self, IdentityError};
use crate::ids::{DocId, DocSecret};
use crate::net::actor::{self, Command, Setup};
use crate::net::{EndpointError, NetConfig, endpoint, store_worker, ticket_file};
use crate::proto::{self, EndpointKey, Input, PeerAddr, PresenceState, ProtoError, SyncStatus};
use crate::store::{Store, StoreError, StoreWarning};
use crate::ticket::DocTicket;

/// How to start a [`Session`].
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The document's plain file (need not exist yet).
    pub file: PathBuf,
    /// Join the document of this ticket (its store is created beside `file` if new).
    pub join: Option<DocTicket>,
    /// Networking; `None` keeps the session offline (edits are persisted, nothing is sent).
    pub net: Option<NetConfig>,
    /// duet's per-user directory (holds the identity); `None`: [`identity::home_dir`].
    pub home: Option<PathBuf>,
    /// For headless peers (`duet serve`): write the plain file at most this long after the
    /// document changed, and every this often merge what other programs changed in the file
    /// into the document (as local edits, shared with peers). `None`: the file is written only
    /// on [`Session::save`]. Outside edits are not merged once ops are submitted (an editor
    /// owns the replica then).
    pub autosave: Option<Duration>,
    /// Protocol limits.
    pub limits: proto::Limits,
    /// Protocol timers.
    pub timers: proto::Timers,
}

impl SessionConfig {
    /// Defaults for `file`: networking on all interfaces, no autosave.
    pub fn new(file: impl Into<PathBuf>) -> Self {
        SessionConfig {
            file: file.into(),
            join: None,
            net: Some(NetConfig::default()),
            home: None,
            autosave: None,
            limits: proto::Limits::default(),
            timers: proto::Timers::default(),
        }
    }
}

/// Why a session could not start or do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The document's store failed (locked by another duet, damaged, unwritable…).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The user's identity could not be loaded or created.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Networking could not start.
    #[error(transparent)]
    Network(#[from] EndpointError),
    /// The document is not open in a running duet, so there are no current addresses to
    /// put in a ticket.
    #[error(
        "{0} is not open in a running duet: open it with `duet FILE` or `duet serve FILE` to share it"
    )]
    NotShared(PathBuf),
    /// A ticket file left by a running session does not parse.
    #[error("the ticket kept for {file} is unreadable: {error}")]
    BadTicketFile {
        /// The document's plain file.
        file: PathBuf,
        /// What is wrong.
        error: String,
    },
    /// The session is offline, so it has no ticket to give.
    #[error("networking is off: {0}")]
    Offline(String),
    /// The session's task or store thread has stopped.
    #[error("the sync session has stopped")]
    Stopped,
    /// A thread could not be started.
    #[error("cannot start the store thread: {0}")]
    Thread(std::io::Error),
}

/// News for the editor, in the order it happened.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Remote ops, in causal order: apply them to the editor's replica, in order.
    Remote(Vec<Op>),
    /// A peer completed the handshake.
    PeerJoined {
        /// Its endpoint key.
        peer: EndpointKey,
    },
    /// The last connection to a peer closed.
    PeerLeft {
        /// Its endpoint key.
        peer: EndpointKey,
        /// Why, if it was an error.
        error: Option<ProtoError>,
    },
    /// A connection was refused (wrong secret, other version, other document…).
    Rejected {
        /// The remote's endpoint key.
        peer: EndpointKey,
        /// Why.
        error: ProtoError,
    },
    /// A peer's presence changed (`None`: gone or hidden).
    Presence {
        /// Its endpoint key.
        peer: EndpointKey,
        /// Its name, colour, cursor and selection.
        presence: Option<PresenceState>,
    },
    /// Connected peers, unsaved and unacknowledged ops changed.
    Status(SyncStatus),
    /// Dialing a peer failed (it will be retried with backoff).
    DialFailed {
        /// Whom.
        peer: EndpointKey,
        /// Why.
        error: String,
    },
    /// Writing the store failed; the ops stay in memory and the write is retried.
    StoreFailed(String),
    /// The plain file was written by autosave.
    PlainFileWritten,
    /// Another program changed the plain file; its changes were merged into the document as
    /// local edits and sent to peers.
    OutsideEdits {
        /// Characters inserted.
        inserted: usize,
        /// Characters deleted.
        deleted: usize,
    },
    /// A submitted op was refused by the document (a bug in the caller).
    LocalRejected(ApplyError),
}

/// A one-line description for logs, status lines and `duet serve` output.
impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Remote(ops) => write!(f, "received {} op(s)", ops.len()),
            Event::PeerJoined { peer } => write!(f, "peer {} joined", short_key(peer)),
            Event::PeerLeft { peer, error: None } => write!(f, "peer {} left", short_key(peer)),
            Event::PeerLeft {
                peer,
                error: Some(e),
            } => write!(f, "peer {} left: {e}", short_key(peer)),
            Event::Rejected { peer, error } => {
                write!(f, "refused peer {}: {error}", short_key(peer))
            }
            Event::Presence {
                peer,
                presence: Some(p),
            } => write!(f, "peer {} is {}", short_key(peer), p.name),
            Event::Presence {
                peer,
                presence: None,
            } => write!(f, "peer {} hid its cursor", short_key(peer)),
            Event::Status(s) => write!(
                f,
                "{} peer(s) connected, {} op(s) unsaved, {} not yet on any peer",
                s.connected, s.unsaved, s.unacknowledged
            ),
            Event::DialFailed { peer, error } => {
                write!(f, "cannot reach peer {}: {error}", short_key(peer))
            }
            Event::StoreFailed(e) => write!(f, "saving failed (will retry): {e}"),
            Event::PlainFileWritten => f.write_str("file written"),
            Event::OutsideEdits { inserted, deleted } => write!(
                f,
                "merged edits made to the file by another program (+{inserted} -{deleted} chars)"
            ),
            Event::LocalRejected(e) => write!(f, "an edit was refused: {e}"),
        }
    }
}

/// The first 10 hex digits of an endpoint key: enough to tell peers apart on screen.
pub fn short_key(key: &EndpointKey) -> String {
    actor::short(key)
}

/// One line of the peers panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    /// Its endpoint key.
    pub key: EndpointKey,
    /// The name it announced.
    pub name: Option<String>,
    /// Its colour (`0xRRGGBB`), if it shares its presence.
    pub color: Option<u32>,
    /// Whether a verified connection to it is open.
    pub connected: bool,
    /// The address the connection currently uses.
    pub addr: Option<SocketAddr>,
    /// Addresses it is known by.
    pub known_addrs: Vec<SocketAddr>,
    /// Round-trip time on the current path.
    pub rtt: Option<Duration>,
    /// Bytes sent to it on the open connection(s).
    pub bytes_sent: u64,
    /// Bytes received from it on the open connection(s).
    pub bytes_received: u64,
}

/// A started session and what the editor needs to begin.
#[derive(Debug)]
pub struct Started {
    /// The running session.
    pub session: Session,
    /// The document as stored: the editor's replica starts from it.
    pub doc: Doc,
    /// Problems the store recovered from; show them to the user.
    pub warnings: Vec<StoreWarning>,
}

/// A running sync session for one document. Dropping it stops the session (the store closes
/// and syncs); prefer [`Session::shutdown`], which says goodbye to peers and reports errors.
#[derive(Debug)]
pub struct Session {
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<Event>,
    peers: watch::Receiver<Vec<PeerStatus>>,
    status: watch::Receiver<SyncStatus>,
    addrs: watch::Receiver<Vec<SocketAddr>>,
    doc_id: DocId,
    secret: DocSecret,
    replica: ReplicaId,
    endpoint: Option<Endpoint>,
    relay: Option<RelayUrl>,
    network_error: Option<String>,
    plain_file: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Session {
    /// Opens the document of `config.file` (or joins `config.join`), starts networking and
    /// the protocol. Must run inside a tokio runtime.
    pub async fn start(config: SessionConfig) -> Result<Started, SyncError> {
        // Opening the store (disk, fsync) and starting networking are independent: do both
        // at once, so a fresh peer is on the network sooner.
        let open_store = {
            let file = config.file.clone();
            let join = config.join.as_ref().map(|t| (t.doc, t.secret.clone()));
            tokio::task::spawn_blocking(move || match join {
                Some((doc, secret)) => Store::create_joined(&file, doc, secret),
                None => Store::open(&file),
            })
        };
        let start_net = async {
            let Some(net) = &config.net else {
                return Ok((None, Some("offline mode".to_owned())));
            };
            let home = match &config.home {
                Some(h) => h.clone(),
                None => identity::home_dir()?,
            };
            let key = identity::load_or_create(&home)?;
            Ok::<_, SyncError>(
                match endpoint::bind(net, key, vec![proto::ALPN.to_vec()]).await {
                    Ok(ep) => (Some(ep), None),
                    Err(e) => {
                        tracing::warn!("networking unavailable: {e}");
                        (None, Some(e.to_string()))
                    }
                },
            )
        };
        let (opened, net) = tokio::join!(open_store, start_net);
        let opened = match opened {
            Ok(Ok(opened)) => Ok(opened),
            Ok(Err(e)) => Err(SyncError::Store(e)),
            Err(_) => Err(SyncError::Stopped),
        };
        let (opened, (endpoint, network_error)) = match (opened, net) {
            (Ok(opened), Ok(net)) => (opened, net),
            (Err(e), net) => {
                if let Ok((Some(ep), _)) = net {
                    ep.close().await;
                }
                return Err(e);
            }
            (Ok(_), Err(e)) => return Err(e),
        };
        let store = opened.store;
        let doc_id = *store.doc_id();
        let secret = store.secret().clone();
        let replica = store.replica();
        let plain_file = store.plain_file().to_path_buf();
        let store_dir = store.dir().to_path_buf();
        let known: Vec<_> = store.known_peers().to_vec();
        let local_addrs: Vec<SocketAddr> = endpoint
            .as_ref()
            .map(|ep| ep.addr().ip_addrs().copied().collect())
            .unwrap_or_default();
        let local_key = endpoint
            .as_ref()
            .map(|ep| *ep.id().as_bytes())
            .unwrap_or_default();
        let peer = proto::Peer::new(
            proto::Config {
                doc_id: doc_id.0,
                secret: secret.0,
                local: PeerAddr {
                    key: local_key,
                    addrs: local_addrs.clone(),
                },
                seed: rand::random(),
                limits: config.limits.clone(),
                timers: config.timers.clone(),
            },
            opened.doc.clone(),
        );
        let initial_peers: Vec<Input> = known
            .iter()
            .map(|k| {
                Input::AddPeer(PeerAddr {
                    key: k.endpoint_id,
                    addrs: k.addrs.clone(),
                })
            })
            .collect();

        let (news_tx, news_rx) = mpsc::unbounded_channel();
        let store_tx =
            store_worker::spawn(store, opened.doc.version(), news_tx).map_err(SyncError::Thread)?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let (peers_tx, peers_rx) = watch::channel(Vec::new());
        let (status_tx, status_rx) = watch::channel(SyncStatus::default());
        let (addrs_tx, addrs_rx) = watch::channel(local_addrs);
        let relay = config.net.as_ref().and_then(|n| n.relay.clone());
        let ticket_file = endpoint.as_ref().map(|ep| {
            let mut host = EndpointAddr::from_parts(
                ep.id(),
                addrs_rx.borrow().iter().copied().map(TransportAddr::Ip),
            );
            if let Some(url) = &relay {
                host = host.with_relay_url(url.clone());
            }
            (
                store_dir.join(ticket_file::FILE_NAME),
                DocTicket::new(doc_id, secret.clone(), host),
            )
        });
        if let Some((path, ticket)) = &ticket_file
            && let Err(e) = ticket_file::write(path, ticket)
        {
            tracing::warn!("cannot write {}: {e}", path.display());
        }
        let task = tokio::spawn(actor::run(Setup {
            peer,
            endpoint: endpoint.clone(),
            relay: relay.clone(),
            limits: config.limits,
            timers: config.timers,
            store: store_tx,
            store_news: news_rx,
            commands: cmd_rx,
            events: event_tx,
            peers: peers_tx,
            status: status_tx,
            addrs: addrs_tx,
            autosave: config.autosave,
            initial_peers,
            ticket_file,
        }));
        let session = Session {
            commands: cmd_tx,
            events: event_rx,
            peers: peers_rx,
            status: status_rx,
            addrs: addrs_rx,
            doc_id,
            secret,
            replica,
            endpoint,
            relay,
            network_error,
            plain_file,
            task,
        };
        if let Some(ticket) = config.join {
            session.add_peer(ticket.host);
        }
        Ok(Started {
            session,
            doc: opened.doc,
            warnings: opened.warnings,
        })
    }

    /// Sends local ops made by the editor's replica (in the order they were made). Empty ops
    /// are ignored.
    pub fn submit(&self, op: Op) {
        self.submit_all(vec![op]);
    }

    /// Sends several local ops at once (they are coalesced into one message per peer).
    pub fn submit_all(&self, ops: Vec<Op>) {
        let ops: Vec<Op> = ops.into_iter().filter(|op| !op.is_empty()).collect();
        if !ops.is_empty() {
            let _ = self.commands.send(Command::Submit(ops));
        }
    }

    /// Shows our name, colour and cursor to the peers (`None`: hide).
    pub fn set_presence(&self, presence: Option<PresenceState>) {
        let _ = self.commands.send(Command::SetPresence(presence));
    }

    /// Connects to another peer of the same document (e.g. from a second ticket).
    pub fn add_peer(&self, addr: EndpointAddr) {
        let _ = self.commands.send(Command::AddPeer(addr));
    }

    /// The next event; `None` once the session has stopped.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// An event if one is waiting.
    pub fn try_event(&mut self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// The event channel, for `select!` loops.
    pub fn events(&mut self) -> &mut mpsc::UnboundedReceiver<Event> {
        &mut self.events
    }

    /// The peers this document knows, for the peers panel.
    pub fn peers(&self) -> Vec<PeerStatus> {
        self.peers.borrow().clone()
    }

    /// The latest sync state.
    pub fn status(&self) -> SyncStatus {
        *self.status.borrow()
    }

    /// A ticket for this document with our current addresses.
    pub fn ticket(&self) -> Result<DocTicket, SyncError> {
        let Some(ep) = &self.endpoint else {
            return Err(SyncError::Offline(
                self.network_error.clone().unwrap_or_default(),
            ));
        };
        let mut host = EndpointAddr::from_parts(
            ep.id(),
            self.addrs.borrow().iter().copied().map(TransportAddr::Ip),
        );
        if let Some(url) = &self.relay {
            host = host.with_relay_url(url.clone());
        }
        Ok(DocTicket::new(self.doc_id, self.secret.clone(), host))
    }

    /// Our endpoint id, if networking is on.
    pub fn endpoint_id(&self) -> Option<EndpointId> {
        self.endpoint.as_ref().map(Endpoint::id)
    }

    /// Why networking is off, if it is.
    pub fn network_error(&self) -> Option<&str> {
        self.network_error.as_deref()
    }

    /// The document's id.
    pub fn doc_id(&self) -> DocId {
        self.doc_id
    }

    /// This peer's replica id (the editor's `Doc` must use it).
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// The plain file the document is exported to.
    pub fn plain_file(&self) -> &Path {
        &self.plain_file
    }

    /// Writes the plain file now (atomically), with every op submitted before.
    pub async fn save(&self) -> Result<(), SyncError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Save(tx))
            .map_err(|_| SyncError::Stopped)?;
        rx.await.map_err(|_| SyncError::Stopped)?
    }

    /// Says goodbye to every peer, makes every op durable (and writes the plain file if
    /// autosave has unsaved changes), closes the store and the endpoint.
    pub async fn shutdown(self) -> Result<(), SyncError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Shutdown(tx))
            .map_err(|_| SyncError::Stopped)?;
        let result = rx.await.map_err(|_| SyncError::Stopped)?;
        let _ = self.task.await;
        result
    }
}

/// The ticket of the document whose plain file is `file`, as published by the duet process
/// that has it open (for `duet ticket FILE`). Fails with [`SyncError::NotShared`] if no
/// running duet has the document open.
pub fn running_ticket(file: &Path) -> Result<DocTicket, SyncError> {
    let not_shared = || SyncError::NotShared(file.to_path_buf());
    let path = ticket_file::path_for(file).ok_or_else(not_shared)?;
    let bad = |error: String| SyncError::BadTicketFile {
        file: file.to_path_buf(),
        error,
    };
    let Some(text) = ticket_file::read(&path).map_err(|e| bad(e.to_string()))? else {
        return Err(not_shared());
    };
    // A ticket file counts only while a duet holds the store's lock; otherwise it is left
    // over from a crash.
    match Store::open(file) {
        Err(StoreError::Locked { .. }) => text
            .parse()
            .map_err(|e: crate::ticket::TicketError| bad(e.to_string())),
        Ok(opened) => {
            opened.store.close()?;
            let _ = std::fs::remove_file(&path);
            Err(not_shared())
        }
        Err(e) => Err(e.into()),
    }
}
