//! Starting a session: opening (or joining) a document's store, binding the endpoint, and
//! handing the document to the protocol.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crdt_text::Doc;
use iroh::SecretKey;
use tokio::sync::mpsc;

use super::{Entry, Network, Session, SyncError, store_thread, watch};
use crate::ids::{DocId, PeerId};
use crate::net::{NetConfig, Transport};
use crate::proto::{self, DocConfig, Input, OneDoc, PeerAddr};
use crate::store::{self, Opened as OpenedStore, RecoveryReport, Store, StoreError, StoreWarning};
use crate::ticket::DocTicket;

/// How to open a document in a [`Session`].
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The document's plain file (need not exist yet).
    pub file: PathBuf,
    /// Join the document of this ticket (its store is created beside `file` if new; if the
    /// file already has the ticket's document, the ticket's host is added to its peers).
    pub join: Option<DocTicket>,
    /// Networking; `None` keeps the session offline (edits are kept, nothing is sent). The
    /// endpoint's identity is the first document's store's own key, so that two documents
    /// open in two terminals of one user are two peers that can meet.
    pub net: Option<NetConfig>,
    /// The name this user goes by, told to every peer.
    pub name: String,
    /// Who this user is in the documents' recorded history (see [`crate::identity::author`]);
    /// `None`: edits are recorded under the replica only.
    pub author: Option<crdt_text::Author>,
    /// For headless peers (`duet serve`): write the plain file at most this long after the
    /// document changed. `None`: the file is written only on [`Session::save`].
    pub autosave: Option<Duration>,
    /// Watch the plain file and merge what other programs change in it (as local edits,
    /// shared with peers).
    pub watch: bool,
    /// Protocol limits.
    pub limits: proto::Limits,
    /// Protocol timers.
    pub timers: proto::Timers,
}

impl SessionConfig {
    /// Defaults for `file`: networking on all interfaces, file watched, no autosave.
    pub fn new(file: impl Into<PathBuf>) -> Self {
        SessionConfig {
            file: file.into(),
            join: None,
            net: Some(NetConfig::default()),
            name: String::new(),
            author: None,
            autosave: None,
            watch: true,
            limits: proto::Limits::default(),
            timers: proto::Timers::default(),
        }
    }
}

/// A started session and its first document.
#[derive(Debug)]
pub struct Opened {
    /// The session.
    pub session: Session,
    /// The document's id.
    pub id: DocId,
    /// The document as stored: the one replica, owned by the caller from now on.
    pub doc: Doc,
    /// Problems the store recovered from; show them to the user.
    pub warnings: Vec<StoreWarning>,
    /// When opening found a problem with the store (damage, loss, a copy): the whole story,
    /// for a popup.
    pub report: Option<RecoveryReport>,
    /// Whether the plain file holds the document's text (as duet last wrote or read it):
    /// false after quitting without saving edits, which the store kept.
    pub saved: bool,
    /// This user's undo history and the version last seen, as the editor kept them (see
    /// [`Session::keep_editor_state`]).
    pub editor: store::EditorRead,
}

impl Session {
    /// Opens the document of `config.file` (or joins `config.join`) and starts networking.
    /// Must run inside a tokio runtime.
    pub async fn open(config: SessionConfig) -> Result<Opened, SyncError> {
        let mut store = open_store(config.file.clone(), config.join.clone()).await?;
        let (transport, network) = match &config.net {
            None => (None, Network::Off),
            Some(net) => {
                let key = SecretKey::from_bytes(&store.store.endpoint_secret());
                let last = store.store.last_port();
                match bind(net, last, key, &config).await {
                    Ok(t) => {
                        if let Some(&port) = t.bound_ports().first()
                            && let Err(e) = store.store.bound_port(port)
                        {
                            tracing::warn!("cannot record the port: {e}");
                        }
                        (Some(t), Network::On)
                    }
                    Err(e) => {
                        tracing::warn!("networking unavailable: {e}");
                        (None, Network::Unavailable(e.to_string()))
                    }
                }
            }
        };
        let peer = protocol_peer(
            transport.as_ref(),
            config.name.clone(),
            &config.limits,
            &config.timers,
        );
        let (news_tx, news) = mpsc::unbounded_channel();
        let (touched_tx, touched) = mpsc::unbounded_channel();
        let mut session = Session {
            peer,
            transport,
            network,
            docs: BTreeMap::new(),
            news_tx,
            news,
            touched_tx,
            touched,
            relays: HashMap::new(),
            autosave: config.autosave,
            start: Instant::now(),
            next_refresh: Instant::now(),
            after: Vec::new(),
            followups: Vec::new(),
            author: config.author.clone(),
        };
        let report = store.report.clone();
        let saved = store.store.plain_holds(&store.doc.text());
        let editor = store.store.read_editor_state(&store.warnings);
        let (id, doc, warnings) = session.adopt(store, config.join.as_ref(), config.watch)?;
        Ok(Opened {
            session,
            id,
            doc,
            warnings,
            report,
            saved,
            editor,
        })
    }

    /// Opens another document in this session: one endpoint and one connection per peer
    /// serve every document.
    pub async fn add_document(
        &mut self,
        file: PathBuf,
        join: Option<DocTicket>,
        watch: bool,
    ) -> Result<(DocId, Doc, Vec<StoreWarning>), SyncError> {
        let store = open_store(file, join.clone()).await?;
        self.adopt(store, join.as_ref(), watch)
    }

    /// Hands an open store's document to the protocol and starts its store thread.
    fn adopt(
        &mut self,
        opened: OpenedStore,
        join: Option<&DocTicket>,
        watch: bool,
    ) -> Result<(DocId, Doc, Vec<StoreWarning>), SyncError> {
        let OpenedStore {
            store,
            mut doc,
            warnings,
            ..
        } = opened;
        if let Some(author) = &self.author {
            doc.set_author(author.clone());
        }
        let id = *store.doc_id();
        let secret = store.secret().clone();
        let file = store.plain_file().to_path_buf();
        let known = store.known_peers().to_vec();
        if let Some(t) = &self.transport {
            let mut ticket = DocTicket::new(id, secret.clone(), t.addr());
            if let Some(name) = file.file_name() {
                ticket = ticket.with_name(&name.to_string_lossy());
            }
            if let Err(e) = store.publish_ticket(&ticket.to_string()) {
                tracing::warn!("cannot publish the ticket of {}: {e}", file.display());
            }
        }
        self.peer.add_doc(
            DocConfig {
                id,
                secret: secret.clone(),
                acked: store.acked().clone(),
                on_demand: false,
            },
            &doc,
        );
        let commands = store_thread::spawn(id, store, doc.version(), self.news_tx.clone())
            .map_err(SyncError::Thread)?;
        let watcher = if watch {
            watch::Watcher::start(&file, id, self.touched_tx.clone())
        } else {
            None
        };
        self.docs.insert(
            id,
            Entry {
                store: commands,
                secret,
                file,
                changed_since: None,
                check_at: None,
                watcher,
            },
        );
        let mut inputs: Vec<Input> = known
            .into_iter()
            .map(|k| Input::AddPeer {
                doc: id,
                addr: PeerAddr {
                    id: PeerId(k.endpoint_id),
                    addrs: k.addrs,
                },
                name: k.name,
            })
            .collect();
        if let Some(ticket) = join {
            let host = PeerId::from(ticket.host.id);
            if let Some(url) = ticket.relay() {
                self.relays.insert(host, url.clone());
            }
            inputs.push(Input::AddPeer {
                doc: id,
                addr: PeerAddr {
                    id: host,
                    addrs: ticket.direct_addrs().copied().collect(),
                },
                name: None,
            });
        }
        let mut events = Vec::new();
        self.run(&mut OneDoc { id, doc: &mut doc }, inputs, &mut events);
        Ok((id, doc, warnings))
    }
}

/// Binds the endpoint: on the port the document's store last used when the configuration
/// leaves the port free and that port is free again (so peers that remember our addresses
/// find us after everyone restarted), else as configured.
async fn bind(
    net: &NetConfig,
    last: Option<u16>,
    key: SecretKey,
    config: &SessionConfig,
) -> Result<Transport, crate::net::EndpointError> {
    let free = net.bind.iter().all(|a| a.port() == 0);
    if let (true, Some(port)) = (free, last) {
        let again = NetConfig {
            bind: net
                .bind
                .iter()
                .map(|a| std::net::SocketAddr::new(a.ip(), port))
                .collect(),
            ..net.clone()
        };
        match Transport::bind(&again, key.clone(), &config.timers, &config.limits).await {
            Ok(t) => return Ok(t),
            Err(e) => tracing::info!("port {port} is taken ({e}); binding another"),
        }
    }
    Transport::bind(net, key, &config.timers, &config.limits).await
}

/// Opens the store of `file`, or creates it for the ticket's document.
async fn open_store(file: PathBuf, join: Option<DocTicket>) -> Result<OpenedStore, SyncError> {
    let shown = file.clone();
    let opened = tokio::task::spawn_blocking(move || match join {
        Some(ticket) => match Store::create_joined(&file, ticket.doc, ticket.secret.clone()) {
            Err(StoreError::WrongDocument { found, .. }) => Err(SyncError::OtherDocument {
                file,
                found,
                ticket: ticket.doc,
            }),
            other => other.map_err(SyncError::from),
        },
        None => Store::open(&file).map_err(SyncError::from),
    })
    .await;
    match opened {
        Ok(result) => result,
        Err(e) => {
            tracing::error!("opening the store of {} failed: {e}", shown.display());
            Err(SyncError::Stopped)
        }
    }
}

/// The ticket of the document whose plain file is `file`, as published by the duet process
/// that has it open (for `duet ticket FILE`). Fails with [`SyncError::NotShared`] if no
/// running duet has the document open. Creates nothing.
pub fn running_ticket(file: &Path) -> Result<DocTicket, SyncError> {
    match store::published_ticket(file)? {
        Some(text) => {
            text.parse()
                .map_err(|e: crate::ticket::TicketError| SyncError::BadTicketFile {
                    file: file.to_path_buf(),
                    error: e.to_string(),
                })
        }
        None => Err(SyncError::NotShared(file.to_path_buf())),
    }
}

/// The protocol state machine of an endpoint bound to `transport` (or of an offline one,
/// under a placeholder id), for a user who goes by `name`.
pub(crate) fn protocol_peer(
    transport: Option<&Transport>,
    name: String,
    limits: &proto::Limits,
    timers: &proto::Timers,
) -> proto::Peer {
    let local = PeerAddr {
        id: transport.map_or(PeerId([0; 32]), Transport::id),
        addrs: transport.map(Transport::local_addrs).unwrap_or_default(),
    };
    proto::Peer::new(proto::Config {
        local,
        name,
        seed: rand::random(),
        limits: limits.clone(),
        timers: timers.clone(),
    })
}
