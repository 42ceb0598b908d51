//! [`Session`]: the protocol, the transport and the stores of the documents one process
//! syncs, driven by the loop that owns the documents.
//!
//! The session holds no copy of any document. The loop that owns them (the editor's, or
//! `duet serve`'s) selects on [`Session::next`] among its other event sources and lends the
//! documents to [`Session::handle`], which runs the protocol ([`proto::Peer`]) and carries out
//! what it asks: frames to the transport, ops and text to each document's store thread. The
//! user's own edits are applied by the loop and handed over with [`Session::local`]. Every
//! method that runs the protocol returns the [`Event`]s for the user interface.
//!
//! ```text
//!  loop (owns the Docs) ──local ops──▶ Session ──▶ proto::Peer ──▶ frames ──▶ net::Transport
//!        ▲   ◀── events ───────────────  │  ▲                                   │
//!        └── next() ◀── store news ◀── store thread ◀── ops, text, snapshots ◀──┘ inputs
//! ```

mod event;
mod open;
mod store_thread;
mod watch;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crdt_text::{Doc, Op};
use iroh::RelayUrl;
use tokio::sync::mpsc;

pub use event::Event;
pub(crate) use open::protocol_peer;
pub use open::{Opened, SessionConfig, running_ticket};

use self::store_thread::{StoreCmd, StoreNews};
use crate::ids::{DocId, DocSecret, PeerId};
use crate::net::{EndpointError, Link, Transport};
use crate::proto::{self, Docs, Input, Millis, Output, PeerAddr, PresenceState, SyncStatus};
use crate::store::{KnownPeer, StoreError, merge_change};
use crate::ticket::DocTicket;

/// How often the session looks for new local addresses.
const REFRESH: Duration = Duration::from_secs(1);
/// How long after a file-change notification the file is read (editors write in bursts).
const SETTLE: Duration = Duration::from_millis(50);

/// Why a session could not start or do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The document's store failed (locked by another duet, damaged, unwritable…).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Networking could not start.
    #[error(transparent)]
    Network(#[from] EndpointError),
    /// A ticket for another document than the one the file holds.
    #[error(
        "{file} holds another document than this ticket's ({found} ≠ {ticket}); join into another file"
    )]
    OtherDocument {
        /// The file.
        file: PathBuf,
        /// The document it holds.
        found: DocId,
        /// The ticket's document.
        ticket: DocId,
    },
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
    #[error("no ticket: {0}")]
    Offline(String),
    /// The store thread has stopped.
    #[error("the store of the document has stopped")]
    Stopped,
    /// A thread could not be started.
    #[error("cannot start the store thread: {0}")]
    Thread(std::io::Error),
}

/// Whether the session is on the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    /// Networking was turned off (`--offline`).
    Off,
    /// Networking could not start; the reason is for the user.
    Unavailable(String),
    /// The endpoint runs.
    On,
}

/// One line of the peers panel.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerView {
    /// Who.
    pub id: PeerId,
    /// The name it announced (now or when last seen).
    pub name: Option<String>,
    /// Its colour (`0xRRGGBB`), while it shares its presence.
    pub color: Option<u32>,
    /// The connection carrying the document, while connected (one serves every document
    /// two peers share).
    pub conn: Option<proto::ConnId>,
    /// Its path and traffic, while connected for the document.
    pub link: Option<Link>,
    /// Addresses it is known by.
    pub addrs: Vec<SocketAddr>,
    /// Its text differs from ours at an equal version.
    pub diverged: bool,
}

impl PeerView {
    /// The panel's line for what the protocol knows of a peer, with its connection's path
    /// and round-trip time from the transport.
    pub(crate) fn new(p: proto::PeerInfo, transport: Option<&Transport>) -> PeerView {
        PeerView {
            id: p.addr.id,
            color: p.presence.as_ref().map(|pr| pr.color),
            name: p.name,
            link: p.conn.and_then(|c| transport.and_then(|t| t.link(c))),
            conn: p.conn,
            addrs: p.addr.addrs,
            diverged: p.diverged,
        }
    }
}

/// Something [`Session::next`] waited for; hand it to [`Session::handle`].
#[derive(Debug)]
pub struct Wake(Vec<Trigger>);

#[derive(Debug)]
enum Trigger {
    Input(Input),
    Store(DocId, StoreNews),
    FileTouched(DocId),
    Due,
}

/// One document of the session.
#[derive(Debug)]
struct Entry {
    store: std::sync::mpsc::Sender<StoreCmd>,
    secret: DocSecret,
    file: PathBuf,
    /// Since when the document has changes the plain file lacks (autosave only).
    changed_since: Option<Instant>,
    /// When to read the plain file after it was touched.
    check_at: Option<Instant>,
    /// Watches the plain file (restarted when Save as moves it).
    watcher: Option<watch::Watcher>,
}

impl Entry {
    /// The document's ticket for a sharer at `addr`, with the plain file's name.
    fn ticket(&self, id: DocId, addr: iroh::EndpointAddr) -> DocTicket {
        let name = self.file.file_name().map(|n| n.to_string_lossy());
        let ticket = DocTicket::new(id, self.secret.clone(), addr);
        match name {
            Some(name) => ticket.with_name(&name),
            None => ticket,
        }
    }
}

/// The protocol, transport and stores of one process. See the [module docs](self).
#[derive(Debug)]
pub struct Session {
    peer: proto::Peer,
    transport: Option<Transport>,
    network: Network,
    docs: BTreeMap<DocId, Entry>,
    news_tx: mpsc::UnboundedSender<(DocId, StoreNews)>,
    news: mpsc::UnboundedReceiver<(DocId, StoreNews)>,
    touched_tx: mpsc::UnboundedSender<DocId>,
    touched: mpsc::UnboundedReceiver<DocId>,
    relays: HashMap<PeerId, RelayUrl>,
    autosave: Option<Duration>,
    start: Instant,
    next_refresh: Instant,
    /// Store commands to send after the protocol's outputs (they must follow its appends).
    after: Vec<(DocId, StoreCmd)>,
    followups: Vec<Input>,
    /// Who this user is in recorded history (set on every document opened).
    author: Option<crdt_text::Author>,
}

impl Session {
    /// Whether the session is on the network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Our id on the network, if it is on.
    pub fn id(&self) -> Option<PeerId> {
        self.transport.as_ref().map(Transport::id)
    }

    /// Bytes sent and received on the network so far (for figures).
    pub fn traffic(&self) -> (u64, u64) {
        self.transport.as_ref().map_or((0, 0), Transport::traffic)
    }

    /// Connections open now (for figures: big rooms keep them bounded).
    pub fn connections(&self) -> usize {
        self.peer.connections()
    }

    /// Whether `doc` gossips in a big room (more peers than a full mesh serves well).
    pub fn in_room(&self, doc: &DocId) -> bool {
        self.peer.in_room(doc)
    }

    /// The plain file of `doc`.
    pub fn file(&self, doc: &DocId) -> Option<&Path> {
        self.docs.get(doc).map(|e| e.file.as_path())
    }

    /// The sync state of `doc`.
    pub fn status(&self, doc: &DocId) -> SyncStatus {
        self.peer.status(doc)
    }

    /// The peers of `doc` with their connections, read from the protocol and the transport.
    pub fn peers(&self, doc: &DocId) -> Vec<PeerView> {
        self.peer
            .peers(doc)
            .into_iter()
            .map(|p| PeerView::new(p, self.transport.as_ref()))
            .collect()
    }

    /// A ticket for `doc` with our current addresses.
    pub fn ticket(&self, doc: &DocId) -> Result<DocTicket, SyncError> {
        let entry = self.docs.get(doc).ok_or(SyncError::Stopped)?;
        match (&self.transport, &self.network) {
            (Some(t), _) => Ok(entry.ticket(*doc, t.addr())),
            (None, Network::Off) => Err(SyncError::Offline(
                "duet runs with --offline; restart it without to share".into(),
            )),
            (None, Network::Unavailable(why)) => Err(SyncError::Offline(why.clone())),
            (None, Network::On) => Err(SyncError::Offline("networking stopped".into())),
        }
    }

    /// Waits for the next thing to handle: a transport event, store news, a file change or a
    /// timer. Cancel-safe: use it in `select!` beside the loop's other sources.
    pub async fn next(&mut self) -> Wake {
        if !self.followups.is_empty() {
            return Wake(self.followups.drain(..).map(Trigger::Input).collect());
        }
        let due = self.next_due();
        let mut triggers = Vec::new();
        let transport = Transport::next_of(self.transport.as_mut());
        tokio::select! {
            inputs = transport => triggers.extend(inputs.into_iter().map(Trigger::Input)),
            Some((doc, news)) = self.news.recv() => triggers.push(Trigger::Store(doc, news)),
            Some(doc) = self.touched.recv() => triggers.push(Trigger::FileTouched(doc)),
            () = sleep_until(due) => triggers.push(Trigger::Due),
        }
        while let Ok((doc, news)) = self.news.try_recv() {
            triggers.push(Trigger::Store(doc, news));
        }
        Wake(triggers)
    }

    /// The earliest timer: the protocol's, an autosave, a file to read, the address refresh.
    fn next_due(&self) -> Instant {
        let tick = self
            .peer
            .poll_timeout()
            .map(|m| self.start + Duration::from_millis(m.0));
        let autosave = self.autosave.and_then(|delay| {
            self.docs
                .values()
                .filter_map(|e| e.changed_since.map(|t| t + delay))
                .min()
        });
        let check = self.docs.values().filter_map(|e| e.check_at).min();
        [tick, autosave, check]
            .into_iter()
            .flatten()
            .fold(self.next_refresh, Instant::min)
    }

    /// Handles what [`next`](Self::next) waited for, with the documents lent.
    pub fn handle(&mut self, docs: &mut dyn Docs, wake: Wake) -> Vec<Event> {
        let mut inputs = Vec::new();
        let mut events = Vec::new();
        for trigger in wake.0 {
            match trigger {
                Trigger::Input(input) => inputs.push(input),
                Trigger::Store(doc, news) => {
                    self.store_news(docs, doc, news, &mut inputs, &mut events);
                }
                Trigger::FileTouched(doc) => {
                    if let Some(e) = self.docs.get_mut(&doc) {
                        e.check_at.get_or_insert(Instant::now() + SETTLE);
                    }
                }
                Trigger::Due => self.timers(docs, &mut inputs),
            }
        }
        self.run(docs, inputs, &mut events);
        events
    }

    /// The user's own edits of `doc`, already applied to it: persists and sends them.
    pub fn local(&mut self, docs: &mut dyn Docs, doc: DocId, ops: Vec<Op>) -> Vec<Event> {
        let mut events = Vec::new();
        self.run(docs, vec![Input::Local { doc, ops }], &mut events);
        events
    }

    /// Shows our name, colour and cursor in `doc` to its peers (`None`: hide).
    pub fn set_presence(
        &mut self,
        docs: &mut dyn Docs,
        doc: DocId,
        presence: Option<PresenceState>,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        self.run(
            docs,
            vec![Input::SetPresence { doc, presence }],
            &mut events,
        );
        events
    }

    /// Connects to the host of a ticket for `doc` (e.g. pasted again): its addresses are added
    /// to what is known of it and dialed.
    pub fn add_ticket(&mut self, docs: &mut dyn Docs, ticket: &DocTicket) -> Vec<Event> {
        let peer = PeerId::from(ticket.host.id);
        if let Some(url) = ticket.relay() {
            self.relays.insert(peer, url.clone());
        }
        let addr = PeerAddr {
            id: peer,
            addrs: ticket.direct_addrs().copied().collect(),
        };
        let input = Input::AddPeer {
            doc: ticket.doc,
            addr,
            name: None,
        };
        let mut events = Vec::new();
        self.run(docs, vec![input], &mut events);
        events
    }

    /// Writes `doc`'s text to its plain file (on the store thread). The outcome arrives as
    /// [`Event::Saved`] or [`Event::SaveFailed`]; if another program changed the file
    /// meanwhile, its change is merged first ([`Event::OutsideEdits`]) and the save repeated.
    pub fn save(&mut self, id: DocId, doc: &Doc) {
        if let Some(entry) = self.docs.get_mut(&id) {
            entry.changed_since = None;
            let _ = entry.store.send(StoreCmd::Save {
                text: doc.text(),
                version: doc.version(),
            });
        }
    }

    /// Keeps the editor's state for this user in `id`'s store (written on the store thread,
    /// after every op handed over before; a failure arrives as [`Event::StoreFailed`]).
    pub fn keep_editor_state(&mut self, id: DocId, state: crate::store::EditorState) {
        if let Some(entry) = self.docs.get_mut(&id) {
            let _ = entry.store.send(StoreCmd::KeepEditor(Box::new(state)));
        }
    }

    /// Save as: moves `doc`'s store to the store folder of `file` (beside it) and writes the
    /// text there; the old file stays. The outcome arrives as [`Event::Moved`] (then
    /// [`Event::Saved`]) or [`Event::MoveFailed`].
    pub fn save_as(&mut self, id: DocId, doc: &Doc, file: PathBuf) {
        if let Some(entry) = self.docs.get_mut(&id) {
            entry.changed_since = None;
            let _ = entry.store.send(StoreCmd::SaveAs {
                file,
                text: doc.text(),
                version: doc.version(),
            });
        }
    }

    /// [`save`](Self::save), confirmed by the user: the save may drop text that the file held
    /// when the store was found damaged (after [`StoreError::WouldDropText`]).
    pub fn save_anyway(&mut self, id: DocId, doc: &Doc) {
        if let Some(entry) = self.docs.get_mut(&id) {
            entry.changed_since = None;
            let _ = entry.store.send(StoreCmd::SaveAnyway {
                text: doc.text(),
                version: doc.version(),
            });
        }
    }

    /// Says goodbye to every peer, makes every op durable (saving the plain file first when
    /// autosaving), closes the stores and the endpoint.
    pub async fn shutdown(mut self, docs: &mut (dyn Docs + Send)) -> Result<(), SyncError> {
        let mut events = Vec::new();
        self.run(docs, vec![Input::Shutdown], &mut events);
        let ids: Vec<DocId> = self.docs.keys().copied().collect();
        for id in ids {
            let autosaved = self.autosave.is_some() && self.docs[&id].changed_since.is_some();
            if let (true, Some(doc)) = (autosaved, docs.get(&id)) {
                let doc = &*doc;
                self.save(id, doc);
            }
        }
        let mut result = Ok(());
        for (id, entry) in std::mem::take(&mut self.docs) {
            let (done, outcome) = tokio::sync::oneshot::channel();
            let acked = self.peer.acked(&id).cloned().unwrap_or_default();
            if entry.store.send(StoreCmd::Close { acked, done }).is_err() {
                result = Err(SyncError::Stopped);
                continue;
            }
            match outcome.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => result = Err(e.into()),
                Err(_) => result = Err(SyncError::Stopped),
            }
        }
        // Saves that found the file changed come back as news: nothing more can be merged
        // now, and the store keeps every edit.
        if let Some(t) = self.transport.take() {
            t.shutdown().await;
        }
        result
    }

    fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64)
    }

    /// Runs the protocol on `inputs` and carries out its outputs.
    fn run(&mut self, docs: &mut dyn Docs, mut inputs: Vec<Input>, events: &mut Vec<Event>) {
        loop {
            if !inputs.is_empty() {
                let now = self.now();
                let outputs = self.peer.handle_all(docs, std::mem::take(&mut inputs), now);
                self.perform(outputs, events);
            }
            for (doc, cmd) in self.after.drain(..) {
                if let Some(e) = self.docs.get(&doc) {
                    let _ = e.store.send(cmd);
                }
            }
            if self.followups.is_empty() {
                return;
            }
            inputs = std::mem::take(&mut self.followups);
        }
    }

    fn perform(&mut self, outputs: Vec<Output>, events: &mut Vec<Event>) {
        for output in outputs {
            match output {
                Output::Send { conn, msg } => {
                    if let Some(t) = self.transport.as_mut()
                        && let Some(stalled) = t.send(conn, &msg)
                    {
                        self.followups.push(stalled);
                    }
                }
                Output::Close { conn, error } => {
                    if !error.is_benign() {
                        tracing::info!(conn = conn.0, "closing a connection: {error}");
                    }
                    if let Some(t) = self.transport.as_mut() {
                        t.close(conn, &error);
                    }
                }
                Output::Dial(addr) => match self.transport.as_mut() {
                    Some(t) => t.dial(&addr, self.relays.get(&addr.id)),
                    None => self.followups.push(Input::DialFailed {
                        remote: addr.id,
                        error: "networking is off".into(),
                    }),
                },
                Output::Persist { doc, ops } => {
                    if let Some(e) = self.docs.get_mut(&doc) {
                        if self.autosave.is_some() {
                            e.changed_since.get_or_insert_with(Instant::now);
                        }
                        let _ = e.store.send(StoreCmd::Append(ops));
                    }
                }
                Output::RememberPeer { doc, addr, name } => {
                    let peer = KnownPeer {
                        endpoint_id: addr.id.0,
                        name,
                        addrs: addr.addrs,
                        last_seen_unix: SystemTime::now()
                            .duration_since(SystemTime::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs()),
                    };
                    if let Some(e) = self.docs.get(&doc) {
                        let _ = e.store.send(StoreCmd::RememberPeer(peer));
                    }
                }
                Output::Event(event) => events.push(event.into()),
                // Single documents exchange no application messages.
                Output::App { .. } => {}
            }
        }
    }

    fn store_news(
        &mut self,
        docs: &mut dyn Docs,
        id: DocId,
        news: StoreNews,
        inputs: &mut Vec<Input>,
        events: &mut Vec<Event>,
    ) {
        match news {
            StoreNews::Durable(version) => inputs.push(Input::Durable { doc: id, version }),
            StoreNews::Failed(error) => {
                tracing::error!(doc = %id, "store: {error}");
                events.push(Event::StoreFailed { doc: id, error });
            }
            StoreNews::NeedsCompaction => {
                if let (Some(doc), Some(e)) = (docs.get(&id), self.docs.get(&id)) {
                    let cmd = StoreCmd::Compact(doc.version(), doc.encode());
                    let _ = e.store.send(cmd);
                }
            }
            StoreNews::Saved(version) => events.push(Event::Saved { doc: id, version }),
            StoreNews::SaveFailed(error) => events.push(Event::SaveFailed { doc: id, error }),
            StoreNews::Moved(Ok(file)) => {
                if let Some(e) = self.docs.get_mut(&id) {
                    if e.watcher.is_some() {
                        e.watcher = watch::Watcher::start(&file, id, self.touched_tx.clone());
                    }
                    e.file = file.clone();
                    if let Some(t) = &self.transport {
                        let ticket = e.ticket(id, t.addr()).to_string();
                        let _ = e.store.send(StoreCmd::PublishTicket(ticket));
                    }
                }
                events.push(Event::Moved { doc: id, file });
            }
            StoreNews::Moved(Err(error)) => events.push(Event::MoveFailed { doc: id, error }),
            StoreNews::PlainChanged { change, resave } => {
                let Some(doc) = docs.get(&id) else {
                    return;
                };
                let merge = merge_change(doc, &change);
                let ops = merge.imported.ops;
                if !ops.is_empty() {
                    events.push(Event::OutsideEdits {
                        doc: id,
                        inserted: merge.imported.inserted,
                        deleted: merge.imported.deleted,
                    });
                    inputs.push(Input::Local { doc: id, ops });
                }
                self.after
                    .push((id, StoreCmd::Merged(change, merge.exported)));
                if resave || merge.rewrite {
                    self.after.push((
                        id,
                        StoreCmd::Save {
                            text: doc.text(),
                            version: doc.version(),
                        },
                    ));
                }
            }
        }
    }

    /// Whatever timers are due: the protocol's tick, autosaves, files to read, addresses.
    fn timers(&mut self, docs: &mut dyn Docs, inputs: &mut Vec<Input>) {
        let now = Instant::now();
        inputs.push(Input::Tick);
        let ids: Vec<DocId> = self.docs.keys().copied().collect();
        for id in ids {
            let Some(entry) = self.docs.get_mut(&id) else {
                continue;
            };
            if entry.check_at.is_some_and(|t| t <= now) {
                entry.check_at = None;
                let _ = entry.store.send(StoreCmd::CheckPlain);
            }
            let autosave_due = self
                .autosave
                .zip(entry.changed_since)
                .is_some_and(|(delay, since)| since + delay <= now);
            if autosave_due && let Some(doc) = docs.get(&id) {
                let doc = &*doc;
                self.save(id, doc);
            }
        }
        if now >= self.next_refresh {
            self.next_refresh = now + REFRESH;
            self.refresh_addrs(inputs);
        }
    }

    /// Notices new local addresses: tells peers and rewrites the ticket files.
    fn refresh_addrs(&mut self, inputs: &mut Vec<Input>) {
        let Some(t) = &self.transport else {
            return;
        };
        let addrs = t.local_addrs();
        if addrs == self.peer.local().addrs {
            return;
        }
        inputs.push(Input::LocalAddrs(addrs));
        for (id, entry) in &self.docs {
            let ticket = entry.ticket(*id, t.addr());
            let _ = entry
                .store
                .send(StoreCmd::PublishTicket(ticket.to_string()));
        }
    }
}

async fn sleep_until(at: Instant) {
    tokio::time::sleep_until(at.into()).await;
}
