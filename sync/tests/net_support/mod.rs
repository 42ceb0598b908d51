//! Helpers for the real-iroh loopback tests: a peer is a `Session` and the one replica of its
//! document, driven the way the editor's loop drives them.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use crdt_text::Doc;
use duet_sync::net::NetConfig;
use duet_sync::proto::{OneDoc, SyncStatus};
use duet_sync::ticket::DocTicket;
use duet_sync::{DocId, Event, Opened, Session, SessionConfig};

/// Every wait in these tests gives up after this long.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A peer as an editor would run it: the session and the one replica of the document.
pub struct Peer {
    pub name: &'static str,
    pub session: Session,
    pub id: DocId,
    pub doc: Doc,
    pub events: Vec<Event>,
    pub file: PathBuf,
}

pub fn config(file: &Path, join: Option<DocTicket>, online: bool) -> SessionConfig {
    let mut config = SessionConfig::new(file);
    config.join = join;
    config.net = online.then(NetConfig::loopback);
    // Quick reconnects keep the outage test short.
    config.timers.backoff_base_ms = 50;
    config.timers.backoff_max_ms = 500;
    config
}

impl Peer {
    /// Starts a peer whose files live in `dir/<name>/`.
    pub async fn start(name: &'static str, dir: &Path, join: Option<DocTicket>) -> Peer {
        Self::start_with(name, dir, join, true).await
    }

    pub async fn start_with(
        name: &'static str,
        dir: &Path,
        join: Option<DocTicket>,
        online: bool,
    ) -> Peer {
        Self::start_configured(name, dir, |file| config(file, join, online)).await
    }

    /// Starts a peer with a config made from its file.
    pub async fn start_configured(
        name: &'static str,
        dir: &Path,
        make: impl FnOnce(&Path) -> SessionConfig,
    ) -> Peer {
        let file = dir.join(name).join("notes.md");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let Opened {
            session, id, doc, ..
        } = Session::open(make(&file))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        Peer {
            name,
            session,
            id,
            doc,
            events: Vec::new(),
            file,
        }
    }

    pub fn ticket(&self) -> DocTicket {
        self.session.ticket(&self.id).unwrap()
    }

    /// Types `text` at `pos` (clamped to the document) like an editor would.
    pub fn type_at(&mut self, pos: usize, text: &str) {
        let pos = pos.min(self.doc.len());
        let op = self.doc.insert(pos, text);
        self.local(vec![op]);
    }

    /// Deletes up to `len` chars at `pos` (clamped).
    pub fn delete_at(&mut self, pos: usize, len: usize) {
        let pos = pos.min(self.doc.len());
        let len = len.min(self.doc.len() - pos);
        if len > 0 {
            let op = self.doc.delete(pos, len);
            self.local(vec![op]);
        }
    }

    fn local(&mut self, ops: Vec<crdt_text::Op>) {
        let id = self.id;
        let events = self.session.local(
            &mut OneDoc {
                id,
                doc: &mut self.doc,
            },
            id,
            ops,
        );
        self.events.extend(events);
    }

    /// Handles what the session has ready within `wait` (and then whatever is ready at
    /// once); returns how many events arrived.
    pub async fn pump(&mut self, wait: Duration) -> usize {
        let mut n = 0;
        let mut wait = wait;
        while let Ok(wake) = tokio::time::timeout(wait, self.session.next()).await {
            let id = self.id;
            let events = self.session.handle(
                &mut OneDoc {
                    id,
                    doc: &mut self.doc,
                },
                wake,
            );
            n += events.len();
            self.events.extend(events);
            wait = Duration::from_millis(1);
        }
        n
    }

    pub fn status(&self) -> SyncStatus {
        self.session.status(&self.id)
    }

    pub fn connected(&self) -> usize {
        self.status().connected
    }

    pub async fn stop(mut self) -> PathBuf {
        let file = self.file.clone();
        let id = self.id;
        self.session
            .shutdown(&mut OneDoc {
                id,
                doc: &mut self.doc,
            })
            .await
            .unwrap();
        file
    }
}

/// Waits (driving every peer) until `done` holds.
pub async fn wait_until(
    peers: &mut [&mut Peer],
    what: &str,
    mut done: impl FnMut(&[&mut Peer]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        for p in peers.iter_mut() {
            p.pump(Duration::from_millis(5)).await;
        }
        if done(peers) {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let state: Vec<String> = peers
                .iter()
                .map(|p| format!("{}: {:?} len={}", p.name, p.status(), p.doc.len()))
                .collect();
            panic!("timed out waiting for {what}: {state:#?}");
        }
    }
}

/// Awaits `fut` while driving every peer (as their loops would run meanwhile).
pub async fn pump_while<F: std::future::Future>(peers: &mut [&mut Peer], fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    loop {
        tokio::select! {
            out = &mut fut => return out,
            () = async {
                for p in peers.iter_mut() {
                    p.pump(Duration::from_millis(5)).await;
                }
            } => {}
        }
    }
}

/// Whether every peer's replica has the same text and version.
pub fn converged(peers: &[&mut Peer]) -> bool {
    let first = &peers[0].doc;
    peers
        .iter()
        .all(|p| p.doc.version() == first.version() && p.doc.text() == first.text())
}

/// A fresh directory for one test.
pub fn test_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("duet-net-{name}-"))
        .tempdir()
        .unwrap()
}

/// A peer run the way `duet serve` runs one: its own task owns the session and the one
/// replica, selecting over commands and the session. For tests and figures with many peers.
pub struct Node {
    cmds: tokio::sync::mpsc::UnboundedSender<NodeCmd>,
    /// The ticket of its document (if it is online).
    pub ticket: Option<DocTicket>,
    /// Its replica id.
    pub replica: crdt_text::ReplicaId,
    /// Its id on the network.
    pub id: Option<duet_sync::PeerId>,
}

/// What a node's loop is asked to do.
enum NodeCmd {
    Type(usize, String),
    Watch(crdt_text::ReplicaId),
    Look(tokio::sync::oneshot::Sender<Look>),
    Stop(tokio::sync::oneshot::Sender<()>),
}

/// What a node shows: its status, version, text and open connections.
#[derive(Clone, Debug)]
pub struct Look {
    pub status: SyncStatus,
    pub version: crdt_text::VersionVector,
    pub text: String,
    pub connections: usize,
    pub in_room: bool,
    /// Bytes sent and received so far.
    pub traffic: (u64, u64),
    /// For the watched replica: when each new count of its ops was first applied here.
    pub arrivals: Vec<(std::time::Instant, u64)>,
    /// Bytes received from each connected peer.
    pub received_from: Vec<(duet_sync::PeerId, u64)>,
    /// Peers known for the document.
    pub known: usize,
    /// The first arrivals, departures, refusals and dial failures (what went wrong first),
    /// for the report of a wait that failed.
    pub news: Vec<String>,
    /// When the document first held text, since the node started.
    pub first_text: Option<Duration>,
}

impl Node {
    /// Starts a node on `config`.
    pub async fn start(config: SessionConfig) -> Node {
        let Opened {
            mut session,
            id,
            mut doc,
            ..
        } = Session::open(config).await.unwrap();
        let ticket = session.ticket(&id).ok();
        let replica = doc.replica();
        let peer_id = session.id();
        let (cmds, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut watched: Option<crdt_text::ReplicaId> = None;
            let mut arrivals = Vec::new();
            let started = std::time::Instant::now();
            let mut news: Vec<String> = Vec::new();
            let mut first_text = None;
            loop {
                tokio::select! {
                    cmd = rx.recv() => match cmd {
                        Some(NodeCmd::Type(pos, text)) => {
                            let op = doc.insert(pos.min(doc.len()), &text);
                            session.local(&mut OneDoc { id, doc: &mut doc }, id, vec![op]);
                        }
                        Some(NodeCmd::Watch(replica)) => {
                            watched = Some(replica);
                            arrivals.clear();
                        }
                        Some(NodeCmd::Look(reply)) => {
                            let look = Look {
                                status: session.status(&id),
                                version: doc.version(),
                                text: doc.text(),
                                connections: session.connections(),
                                in_room: session.in_room(&id),
                                traffic: session.traffic(),
                                arrivals: arrivals.clone(),
                                received_from: session
                                    .peers(&id)
                                    .iter()
                                    .filter_map(|p| Some((p.id, p.link.as_ref()?.received)))
                                    .collect(),
                                known: session.peers(&id).len(),
                                news: news.clone(),
                                first_text,
                            };
                            let _ = reply.send(look);
                        }
                        Some(NodeCmd::Stop(done)) => {
                            session.shutdown(&mut OneDoc { id, doc: &mut doc }).await.unwrap();
                            let _ = done.send(());
                            return;
                        }
                        None => return,
                    },
                    wake = session.next() => {
                        let events = session.handle(&mut OneDoc { id, doc: &mut doc }, wake);
                        for e in events.iter().filter(|e| matches!(e,
                            Event::PeerJoined { .. } | Event::PeerLeft { .. }
                            | Event::Refused { .. } | Event::Unreachable { .. }))
                        {
                            if news.len() < 24 {
                                let ms = started.elapsed().as_millis();
                                news.push(format!("{ms} ms: {e:?}"));
                            }
                        }
                        if first_text.is_none() && !doc.is_empty() {
                            first_text = Some(started.elapsed());
                        }
                        if let Some(replica) = watched {
                            let have = doc.version().get(replica);
                            if arrivals.last().is_none_or(|&(_, n)| have > n) {
                                arrivals.push((std::time::Instant::now(), have));
                            }
                        }
                    }
                }
            }
        });
        Node {
            cmds,
            ticket,
            replica,
            id: peer_id,
        }
    }

    /// Types `text` at `pos` (clamped).
    pub fn type_at(&self, pos: usize, text: &str) {
        let _ = self.cmds.send(NodeCmd::Type(pos, text.to_owned()));
    }

    /// Records when ops of `replica` arrive (see [`Look::arrivals`]).
    pub fn watch(&self, replica: crdt_text::ReplicaId) {
        let _ = self.cmds.send(NodeCmd::Watch(replica));
    }

    /// What it shows now.
    pub async fn look(&self) -> Look {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = self.cmds.send(NodeCmd::Look(tx));
        rx.await.unwrap()
    }

    /// Shuts it down cleanly.
    pub async fn stop(self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = self.cmds.send(NodeCmd::Stop(tx));
        let _ = rx.await;
    }
}

/// Waits until `done` holds for what the nodes show; panics after `limit` with `what`.
pub async fn wait_for_nodes(
    nodes: &[&Node],
    what: &str,
    limit: Duration,
    done: impl Fn(&[Look]) -> bool,
) -> Vec<Look> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let mut looks = Vec::with_capacity(nodes.len());
        for n in nodes {
            looks.push(n.look().await);
        }
        if done(&looks) {
            return looks;
        }
        if tokio::time::Instant::now() > deadline {
            let state: Vec<String> = looks
                .iter()
                .map(|l| {
                    format!(
                        "{:?} conns={} known={} room={} len={} news={:#?}",
                        l.status,
                        l.connections,
                        l.known,
                        l.in_room,
                        l.text.len(),
                        l.news
                    )
                })
                .collect();
            panic!("timed out waiting for {what}: {state:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
