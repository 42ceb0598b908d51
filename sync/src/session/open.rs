//! Starting a session: opening (or joining) a document's store, binding the endpoint, and
//! handing the document to the protocol.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crdt_text::{Doc, VersionVector};
use iroh::SecretKey;
use tokio::sync::mpsc;

use super::{Entry, Network, Session, SyncError, store_thread, watch};
use crate::identity;
use crate::ids::{DocId, PeerId};
use crate::net::{NetConfig, Transport};
use crate::proto::{self, DocConfig, Input, OneDoc, PeerAddr};
use crate::store::{Opened as OpenedStore, STORE_DIR, Store, StoreError, StoreWarning};
use crate::ticket::DocTicket;

/// How to open a document in a [`Session`].
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The document's plain file (need not exist yet).
    pub file: PathBuf,
    /// Join the document of this ticket (its store is created beside `file` if new; if the
    /// file already has the ticket's document, the ticket's host is added to its peers).
    pub join: Option<DocTicket>,
    /// Networking; `None` keeps the session offline (edits are kept, nothing is sent).
    pub net: Option<NetConfig>,
    /// duet's per-user directory (holds the identity); `None`: [`identity::home_dir`].
    pub home: Option<PathBuf>,
    /// The name this user goes by, told to every peer.
    pub name: String,
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
            home: None,
            name: String::new(),
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
}

impl Session {
    /// Opens the document of `config.file` (or joins `config.join`) and starts networking.
    /// Must run inside a tokio runtime.
    pub async fn open(config: SessionConfig) -> Result<Opened, SyncError> {
        let store = open_store(config.file.clone(), config.join.clone()).await?;
        let (transport, network) = match &config.net {
            None => (None, Network::Off),
            Some(net) => {
                let key = endpoint_key(&config)?;
                match Transport::bind(net, key, &config.timers, &config.limits).await {
                    Ok(t) => (Some(t), Network::On),
                    Err(e) => {
                        tracing::warn!("networking unavailable: {e}");
                        (None, Network::Unavailable(e.to_string()))
                    }
                }
            }
        };
        let local = PeerAddr {
            id: transport.as_ref().map_or(PeerId([0; 32]), Transport::id),
            addrs: transport
                .as_ref()
                .map(Transport::local_addrs)
                .unwrap_or_default(),
        };
        let peer = proto::Peer::new(proto::Config {
            local,
            name: config.name.clone(),
            seed: rand::random(),
            limits: config.limits.clone(),
            timers: config.timers.clone(),
        });
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
        };
        let (id, doc, warnings) = session.adopt(store, config.join.as_ref(), config.watch)?;
        Ok(Opened {
            session,
            id,
            doc,
            warnings,
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
        } = opened;
        let id = *store.doc_id();
        let secret = store.secret().clone();
        let file = store.plain_file().to_path_buf();
        let ticket_file = store.dir().join(TICKET_FILE);
        let known = store.known_peers().to_vec();
        self.peer.add_doc(
            DocConfig {
                id,
                secret: secret.clone(),
                acked: VersionVector::new(),
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
        if let Some(t) = &self.transport {
            write_ticket_file(&ticket_file, &DocTicket::new(id, secret.clone(), t.addr()));
        }
        self.docs.insert(
            id,
            Entry {
                store: commands,
                secret,
                file,
                ticket_file,
                changed_since: None,
                check_at: None,
                _watcher: watcher,
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

/// Name of the file in the store folder that holds the ticket of the running session.
const TICKET_FILE: &str = "ticket";

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

/// The endpoint identity of this process.
fn endpoint_key(config: &SessionConfig) -> Result<SecretKey, SyncError> {
    let home = match &config.home {
        Some(h) => h.clone(),
        None => identity::home_dir()?,
    };
    Ok(identity::load_or_create(&home)?)
}

/// Atomically replaces a ticket file (mode 0600: it carries the document secret).
pub(super) fn write_ticket_file(path: &Path, ticket: &DocTicket) {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| {
        use std::io::Write;
        let mut f = options.open(&tmp)?;
        writeln!(f, "{ticket}")?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        tracing::warn!("cannot write {}: {e}", path.display());
    }
}

/// The ticket of the document whose plain file is `file`, as published by the duet process
/// that has it open (for `duet ticket FILE`). Fails with [`SyncError::NotShared`] if no
/// running duet has the document open.
pub fn running_ticket(file: &Path) -> Result<DocTicket, SyncError> {
    let not_shared = || SyncError::NotShared(file.to_path_buf());
    let name = file.file_name().ok_or_else(not_shared)?;
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let path = parent.join(STORE_DIR).join(name).join(TICKET_FILE);
    let bad = |error: String| SyncError::BadTicketFile {
        file: file.to_path_buf(),
        error,
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_shared()),
        Err(e) => return Err(bad(e.to_string())),
    };
    // A ticket file counts only while a duet holds the store's lock; otherwise it is left
    // over from a crash.
    match Store::open(file) {
        Err(StoreError::Locked { .. }) => text
            .trim()
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
