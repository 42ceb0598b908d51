//! [`FolderSession`]: a shared folder online — its store, its manifest, one text document per
//! file, the protocol and the transport, driven by one loop that owns them all.
//!
//! ```text
//!  disk ──scan (start, notify watcher)──▶ manifest deltas + text ops ──▶ proto::Peer ──▶ peers
//!   ▲                                                                      │
//!   └── materialise: write, rename, remove (atomically) ◀── remote ops ◀───┘
//! ```
//!
//! Every peer keeps every shared file. The manifest travels as its log document (see
//! [`folder::log`](crate::folder::log)), whose id is the folder's id; each file's text is a
//! document whose id derives from the folder and the file id
//! ([`crate::store::file_doc_id`]); all of them share the folder's secret and
//! one connection per pair of peers. When a peer joins the folder, the two compare summaries
//! of their `(file id, version)` pairs ([`summary`](crate::folder::summary), carried as
//! [`DocMessage::App`](crate::proto::DocMessage::App) on the manifest's channel) and open
//! only the files that differ, which then catch up by version vector: a reconnect where
//! nothing changed opens no file. A file created or changed here is opened with every
//! connected peer before its ops go out.
//!
//! Changes on disk made by other programs are found by scanning the folder (at start, and
//! 100 ms after the watcher last reported a change, at most 1 s after the first): new files
//! are created in the manifest, changed files imported as minimal text diffs, missing files
//! deleted, and a missing file whose content appears under a new path is taken as a rename.
//! One scan makes one manifest delta (one log line) and one batch of ops, whatever the
//! number of files.
//!
//! An editor edits a file's document in place (`buffer.rs`: the session lends it the file's
//! replica for each call) and shows its presence there, so peers see which file each is in
//! (`peers.rs`); a join tells its progress. What peers or the user change in a file's text is
//! saved 50 ms later by a thread of its own (the file, the documents and the state:
//! `saver.rs`), so the disk never holds up the loop; while the text keeps changing, each save
//! appends its new ops to the document's log (the store's `FolderDocs`: a document is saved
//! whole only when first stored and when its log has grown as large) and its file is
//! written once the typing pauses (`rewrites.rs`). Scans and changes of the tree on disk
//! happen on the loop, after any save in flight.

mod buffer;
mod disk;
mod edit;
mod event;
mod peers;
mod rewrites;
mod saver;

pub use buffer::Progress;
pub use edit::EditError;
pub use event::FolderEvent;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crdt_text::{Doc, VersionVector};
use iroh::{RelayUrl, SecretKey};
use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::folder::log::{LogReader, log_line};
use crate::folder::scan::{ScanError, SkipReason};
use crate::folder::{FileId, Manifest, ManifestDelta};
use crate::ids::{DocId, PeerId};
use crate::net::{EndpointError, NetConfig, Transport};
use crate::proto::{self, DocConfig, Input, Millis, Output, PeerAddr};
use crate::session::protocol_peer;
use crate::store::{FolderStore, KnownPeer, StoreError, file_doc_id};
use crate::ticket::DocTicket;
use rewrites::Rewrites;
use saver::{OwnWrites, Saver};

/// How long after the watcher's last report the folder is scanned.
const SETTLE: Duration = Duration::from_millis(100);
/// A scan happens at most this long after the first report of a burst.
const SETTLE_MAX: Duration = Duration::from_secs(1);
/// How long after a change documents are written to the store.
const SAVE_DELAY: Duration = Duration::from_millis(50);
/// How long to wait before retrying a failed store write.
const RETRY: Duration = Duration::from_secs(1);

/// Why a shared folder could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// The folder's store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Networking could not start.
    #[error(transparent)]
    Network(#[from] EndpointError),
    /// The folder could not be scanned.
    #[error(transparent)]
    Scan(#[from] ScanError),
}

/// How to open a shared folder.
#[derive(Clone, Debug)]
pub struct FolderConfig {
    /// The folder (created if missing when joining).
    pub dir: PathBuf,
    /// Join the folder of this ticket.
    pub join: Option<DocTicket>,
    /// Networking; `None`: offline.
    pub net: Option<NetConfig>,
    /// The name this user goes by (tags files of the same path created concurrently).
    pub name: String,
    /// Watch the folder for changes made by other programs.
    pub watch: bool,
    /// Protocol limits.
    pub limits: proto::Limits,
    /// Protocol timers.
    pub timers: proto::Timers,
}

impl FolderConfig {
    /// Defaults for `dir`: networking on all interfaces, watched.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FolderConfig {
            dir: dir.into(),
            join: None,
            net: Some(NetConfig::default()),
            name: String::new(),
            watch: true,
            limits: proto::Limits::default(),
            timers: proto::Timers::default(),
        }
    }
}

/// Something [`FolderSession::next`] waited for; hand it to [`FolderSession::handle`].
#[derive(Debug)]
pub struct FolderWake(Vec<Trigger>);

#[derive(Debug)]
enum Trigger {
    Input(Input),
    Touched,
    Due,
    Saved,
}

/// A shared folder online. See the [module docs](self).
#[derive(Debug)]
pub struct FolderSession {
    peer: proto::Peer,
    transport: Option<Transport>,
    store: FolderStore,
    manifest: Manifest,
    log: LogReader,
    folder: DocId,
    /// The manifest log (under the folder's id) and every file's text.
    docs: BTreeMap<DocId, Doc>,
    /// File documents by id.
    files: BTreeMap<DocId, FileId>,
    /// Documents with ops the store lacks.
    dirty: BTreeSet<DocId>,
    /// The version of each document the store holds (a save appends the ops since).
    stored: BTreeMap<DocId, VersionVector>,
    /// Documents to save whole with the next save, their logs having grown large.
    compact: BTreeSet<DocId>,
    /// Documents whose files on disk wait for their turn ([`Self::write_soon`]).
    rewrites: Rewrites,
    /// Documents whose file could not be written, and the error the user was told.
    write_failed: BTreeMap<DocId, String>,
    /// Writes files, documents and the state on a thread of its own.
    saver: Saver,
    /// Files of the folder that are not shared, as the last scan found them.
    skipped: BTreeMap<String, SkipReason>,
    save_at: Option<Instant>,
    state_dirty: bool,
    /// When to scan the folder, and when the burst that asked for it began.
    scan_at: Option<(Instant, Instant)>,
    touched: mpsc::UnboundedReceiver<()>,
    _watcher: Option<Watcher>,
    relays: BTreeMap<PeerId, RelayUrl>,
    start: Instant,
    /// When the protocol wants its next tick (as of the last wait).
    tick_at: Option<Instant>,
    followups: Vec<Input>,
    /// Files whose document we show presence in (an editor has them open): opened with
    /// every peer that connects.
    shown: BTreeSet<DocId>,
    /// Files whose text is still to come from a peer (a summary found them to differ, or a
    /// peer's manifest brought them), until they caught up; `true` once connected.
    waiting: BTreeMap<DocId, bool>,
    /// Joined by ticket and nothing received yet.
    joining: bool,
    /// What stands in an editor's place while it lends its document ([`Self::lend`]).
    stand_in: Option<Doc>,
}

struct Watcher(#[allow(dead_code)] notify::RecommendedWatcher);

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

impl FolderSession {
    /// Opens (or joins) the shared folder of `config`, picks up what changed on disk since it
    /// was last open, writes what peers changed meanwhile, and starts networking. Must run in
    /// a tokio runtime.
    pub async fn open(
        config: FolderConfig,
    ) -> Result<(FolderSession, Vec<FolderEvent>), FolderError> {
        if config.join.is_some() && !config.dir.exists() {
            std::fs::create_dir_all(&config.dir)
                .map_err(|e| StoreError::io("create", &config.dir, e))?;
        }
        let join = config.join.as_ref().map(|t| (t.doc, t.secret.clone()));
        let opened = FolderStore::open(&config.dir, join)?;
        let mut events: Vec<FolderEvent> = opened
            .warnings
            .into_iter()
            .map(FolderEvent::Problem)
            .collect();
        let store = opened.store;
        let mut docs = opened.docs;
        let stored = docs.iter().map(|(id, doc)| (*id, doc.version())).collect();
        let folder = store.identity().folder;
        let replica = store.replica();
        docs.entry(folder).or_insert_with(|| Doc::new(replica));
        let mut log = LogReader::default();
        let (state, errors) = log.read(&docs[&folder].text());
        events.extend(errors.iter().map(|e| FolderEvent::Problem(e.to_string())));
        let mut manifest = Manifest::new(replica, config.name.clone());
        if let Err(e) = manifest.apply(&state) {
            events.push(FolderEvent::Problem(e.to_string()));
        }

        let transport = match &config.net {
            None => None,
            Some(net) => {
                let key = SecretKey::from_bytes(&store.endpoint_secret());
                Some(Transport::bind(net, key, &config.timers, &config.limits).await?)
            }
        };
        let peer = protocol_peer(
            transport.as_ref(),
            config.name.clone(),
            &config.limits,
            &config.timers,
        );
        let saver = Saver::spawn(store.writer(), store.state().clone(), opened.files)?;
        let (touched_tx, touched) = mpsc::unbounded_channel();
        let watcher = if config.watch {
            watch(store.root(), touched_tx, saver.own_writes())
        } else {
            None
        };
        let mut session = FolderSession {
            peer,
            transport,
            store,
            manifest,
            log,
            folder,
            docs,
            files: BTreeMap::new(),
            dirty: BTreeSet::new(),
            stored,
            compact: BTreeSet::new(),
            rewrites: Rewrites::default(),
            write_failed: BTreeMap::new(),
            saver,
            skipped: BTreeMap::new(),
            save_at: None,
            state_dirty: false,
            scan_at: None,
            touched,
            _watcher: watcher,
            relays: BTreeMap::new(),
            start: Instant::now(),
            tick_at: None,
            followups: Vec::new(),
            shown: BTreeSet::new(),
            waiting: BTreeMap::new(),
            joining: false,
            stand_in: None,
        };
        let secret = session.store.identity().secret.clone();
        session.peer.add_doc(
            DocConfig {
                id: folder,
                secret,
                acked: Default::default(),
                on_demand: false,
            },
            &session.docs[&folder],
        );
        session.adopt_files(&mut events);
        let mut inputs: Vec<Input> = session
            .store
            .state()
            .known_peers
            .iter()
            .map(|k| Input::AddPeer {
                doc: folder,
                addr: PeerAddr {
                    id: PeerId(k.endpoint_id),
                    addrs: k.addrs.clone(),
                },
                name: k.name.clone(),
            })
            .collect();
        if let Some(ticket) = &config.join {
            session.joining = session.manifest.tree().is_empty();
            let host = PeerId::from(ticket.host.id);
            if let Some(url) = ticket.relay() {
                session.relays.insert(host, url.clone());
            }
            inputs.push(Input::AddPeer {
                doc: folder,
                addr: PeerAddr {
                    id: host,
                    addrs: ticket.direct_addrs().copied().collect(),
                },
                name: None,
            });
        }
        inputs.extend(session.rescan(&mut events));
        session.materialise(&mut events);
        session.run(inputs, &mut events);
        Ok((session, events))
    }

    /// The folder's id.
    pub fn id(&self) -> DocId {
        self.folder
    }

    /// The shared folder on disk (canonical).
    pub fn root(&self) -> &Path {
        self.store.root()
    }

    /// Every shared file's path, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.manifest.tree().paths().map(str::to_string).collect()
    }

    /// Files of the folder that are not shared, by path, and why (binary, not UTF-8, over
    /// the size limit, links, names a shared folder cannot hold), as the last scan found
    /// them. Ignored files are not among them: they are not looked at.
    pub fn skipped(&self) -> impl Iterator<Item = (&str, &SkipReason)> {
        self.skipped.iter().map(|(p, r)| (p.as_str(), r))
    }

    /// The text of the shared file at `path`, as the folder holds it (the disk may lag).
    pub fn text(&self, path: &str) -> Option<String> {
        let file = self.manifest.tree().file_at(path)?;
        self.docs
            .get(&file_doc_id(&self.folder, file))
            .map(Doc::text)
    }

    /// Bytes sent and received on the network so far (for figures).
    pub fn traffic(&self) -> (u64, u64) {
        self.transport.as_ref().map_or((0, 0), Transport::traffic)
    }

    /// A ticket to join the folder, with our current addresses.
    pub fn ticket(&self) -> Option<DocTicket> {
        let t = self.transport.as_ref()?;
        let identity = self.store.identity();
        Some(
            DocTicket::new(self.folder, identity.secret.clone(), t.addr())
                .with_folder_name(&identity.name),
        )
    }

    /// Gives every file of the manifest its document (empty until peers or the disk fill it)
    /// and hands new ones to the protocol, opened with every peer connected for the folder.
    fn adopt_files(&mut self, events: &mut Vec<FolderEvent>) {
        let ids: Vec<FileId> = self.manifest.state().files.keys().copied().collect();
        let connected = self.connected();
        let secret = self.store.identity().secret.clone();
        for file in ids {
            let doc_id = file_doc_id(&self.folder, file);
            if self.files.contains_key(&doc_id) {
                continue;
            }
            self.files.insert(doc_id, file);
            let replica = self.store.replica();
            let doc = self.docs.entry(doc_id).or_insert_with(|| Doc::new(replica));
            let version = doc.version();
            self.peer.add_doc(
                DocConfig {
                    id: doc_id,
                    secret: secret.clone(),
                    acked: Default::default(),
                    on_demand: true,
                },
                doc,
            );
            let outcomes = self.manifest.text_changed(file, &version);
            events.extend(outcomes.into_iter().map(FolderEvent::Tree));
            // A file a peer's manifest brought, whose text is still to come from it.
            if version.is_empty() && !connected.is_empty() {
                self.waiting.insert(doc_id, false);
            }
            for addr in &connected {
                self.followups.push(Input::AddPeer {
                    doc: doc_id,
                    addr: addr.clone(),
                    name: None,
                });
            }
        }
    }

    /// Records a manifest change made here: appends its log line (one op) for the peers.
    fn publish(&mut self, delta: &ManifestDelta) -> Option<Input> {
        if delta.is_empty() {
            return None;
        }
        let line = log_line(delta);
        let doc = self.docs.get_mut(&self.folder)?;
        let op = doc.insert(doc.len(), &line);
        // Our own line is read already.
        let _ = self.log.read(&doc.text());
        Some(Input::Local {
            doc: self.folder,
            ops: vec![op],
        })
    }

    /// Waits for the next thing to handle (cancel-safe).
    pub async fn next(&mut self) -> FolderWake {
        if !self.followups.is_empty() {
            return FolderWake(self.followups.drain(..).map(Trigger::Input).collect());
        }
        self.tick_at = self
            .peer
            .poll_timeout()
            .map(|m| self.start + Duration::from_millis(m.0));
        let due = self.next_due();
        let mut triggers = Vec::new();
        let transport = Transport::next_of(self.transport.as_mut());
        tokio::select! {
            inputs = transport => triggers.extend(inputs.into_iter().map(Trigger::Input)),
            Some(()) = self.touched.recv() => triggers.push(Trigger::Touched),
            Some(()) = self.saver.wake.recv() => triggers.push(Trigger::Saved),
            () = tokio::time::sleep_until(due.into()) => triggers.push(Trigger::Due),
        }
        while let Ok(()) = self.touched.try_recv() {
            triggers.push(Trigger::Touched);
        }
        FolderWake(triggers)
    }

    fn next_due(&self) -> Instant {
        [self.tick_at, self.save_at, self.scan_at.map(|(at, _)| at)]
            .into_iter()
            .flatten()
            .fold(Instant::now() + Duration::from_secs(1), Instant::min)
    }

    /// Handles what [`next`](Self::next) waited for.
    pub fn handle(&mut self, wake: FolderWake) -> Vec<FolderEvent> {
        let mut events = Vec::new();
        let mut inputs = Vec::new();
        for trigger in wake.0 {
            match trigger {
                Trigger::Input(input) => inputs.push(input),
                Trigger::Touched => {
                    let now = Instant::now();
                    let first = self.scan_at.map_or(now, |(_, first)| first);
                    self.scan_at = Some(((now + SETTLE).min(first + SETTLE_MAX), first));
                }
                Trigger::Due => {
                    let now = Instant::now();
                    if self.tick_at.is_none_or(|t| t <= now) {
                        inputs.push(Input::Tick);
                    }
                    if self.scan_at.is_some_and(|(at, _)| at <= now) {
                        self.scan_at = None;
                        inputs.extend(self.rescan(&mut events));
                    }
                    if self.save_at.is_some_and(|at| at <= now) {
                        inputs.extend(self.save(&mut events));
                    }
                }
                Trigger::Saved => inputs.extend(self.take_saved(&mut events)),
            }
        }
        self.run(inputs, &mut events);
        events
    }

    /// Scans the folder now for changes made by other programs (as the watcher asks after a
    /// change) and shares them.
    pub fn rescan_now(&mut self) -> Vec<FolderEvent> {
        let mut events = Vec::new();
        let inputs = self.rescan(&mut events);
        self.run(inputs, &mut events);
        events
    }

    /// Makes everything durable, says goodbye to every peer and closes the endpoint.
    pub async fn shutdown(mut self) -> Vec<FolderEvent> {
        let mut events = Vec::new();
        let inputs = self.save_now(&mut events);
        self.run(inputs, &mut events);
        self.run(vec![Input::Shutdown], &mut events);
        let _ = self.save_now(&mut events);
        if let Some(t) = self.transport.take() {
            t.shutdown().await;
        }
        events
    }

    /// Writes the files of these documents when their turn comes (when only their texts
    /// changed): a burst of keystrokes or of arriving ops is one write of the file.
    fn write_soon(&mut self, docs: BTreeSet<DocId>) {
        self.rewrites.changed(docs, Instant::now());
        self.save_soon();
    }

    /// Saves within [`SAVE_DELAY`] (or sooner, if a save is due sooner): the first change
    /// of a burst sets when, the others go with it.
    fn save_soon(&mut self) {
        self.save_by(Instant::now() + SAVE_DELAY);
    }

    /// Saves at `at`, or sooner if a save is due sooner.
    fn save_by(&mut self, at: Instant) {
        self.save_at = Some(self.save_at.map_or(at, |t| t.min(at)));
    }

    fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64)
    }

    /// Runs the protocol on `inputs`, carries out its outputs, and brings the manifest and
    /// the disk up to date with what peers sent.
    fn run(&mut self, mut inputs: Vec<Input>, events: &mut Vec<FolderEvent>) {
        loop {
            let mut changed = Changed::default();
            if !inputs.is_empty() {
                let now = self.now();
                let outputs =
                    self.peer
                        .handle_all(&mut self.docs, std::mem::take(&mut inputs), now);
                self.perform(outputs, &mut changed, events);
            }
            if changed.manifest {
                let text = self
                    .docs
                    .get(&self.folder)
                    .map(Doc::text)
                    .unwrap_or_default();
                let (delta, errors) = self.log.read(&text);
                events.extend(errors.iter().map(|e| FolderEvent::Problem(e.to_string())));
                match self.manifest.apply(&delta) {
                    Ok(outcomes) => events.extend(outcomes.into_iter().map(FolderEvent::Tree)),
                    Err(e) => events.push(FolderEvent::Problem(format!(
                        "a peer's change of the file tree was refused: {e}"
                    ))),
                }
                self.adopt_files(events);
            }
            let mut tree_changed = changed.manifest;
            for doc in &changed.files {
                if let (Some(file), Some(d)) = (self.files.get(doc), self.docs.get(doc)) {
                    let outcomes = self.manifest.text_changed(*file, &d.version());
                    // An edit can bring a deleted file back.
                    tree_changed |= !outcomes.is_empty();
                    events.extend(outcomes.into_iter().map(FolderEvent::Tree));
                }
            }
            if tree_changed {
                self.materialise(events);
            } else if !changed.files.is_empty() {
                self.write_soon(changed.files);
            }
            if self.followups.is_empty() {
                return;
            }
            inputs = std::mem::take(&mut self.followups);
        }
    }

    fn perform(
        &mut self,
        outputs: Vec<Output>,
        changed: &mut Changed,
        events: &mut Vec<FolderEvent>,
    ) {
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
                Output::Persist { doc, .. } => {
                    self.dirty.insert(doc);
                    self.save_soon();
                }
                Output::RememberPeer { doc, addr, name } if doc == self.folder => {
                    self.store.remember_peer(KnownPeer {
                        endpoint_id: addr.id.0,
                        name,
                        addrs: addr.addrs,
                        last_seen_unix: SystemTime::now()
                            .duration_since(SystemTime::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs()),
                    });
                    self.state_dirty = true;
                    self.save_soon();
                }
                Output::RememberPeer { .. } => {}
                Output::App { doc, peer, bytes } if doc == self.folder => {
                    self.on_summary(peer, &bytes, events);
                }
                Output::App { .. } => {}
                Output::Event(event) => self.event(event, changed, events),
            }
        }
    }
}

/// What peers changed in one protocol run.
#[derive(Debug, Default)]
struct Changed {
    manifest: bool,
    files: BTreeSet<DocId>,
}

/// Watches `root` recursively; a change outside `.duet/` that is not duet's own write
/// reports on `touched`.
fn watch(root: &Path, touched: mpsc::UnboundedSender<()>, own: OwnWrites) -> Option<Watcher> {
    let store = root.join(crate::store::STORE_DIR);
    let handler = move |event: notify::Result<notify::Event>| match event {
        Ok(event)
            if event
                .paths
                .iter()
                .any(|p| !p.starts_with(&store) && !own.explains(p)) =>
        {
            let _ = touched.send(());
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("watching the folder failed: {e}"),
    };
    let started = notify::recommended_watcher(handler).and_then(|mut w| {
        w.watch(root, RecursiveMode::Recursive)?;
        Ok(w)
    });
    match started {
        Ok(w) => Some(Watcher(w)),
        Err(e) => {
            tracing::warn!("cannot watch {} for outside changes: {e}", root.display());
            None
        }
    }
}
