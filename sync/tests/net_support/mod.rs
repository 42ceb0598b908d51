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
