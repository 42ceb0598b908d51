//! Helpers for the real-iroh loopback tests: a peer = a `Session` plus the editor's replica.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use crdt_text::Doc;
use duet_sync::api::{Event, Session, SessionConfig, Started};
use duet_sync::net::NetConfig;
use duet_sync::ticket::DocTicket;

/// Every wait in these tests gives up after this long.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A peer as an editor would run it: the session and the editor's own replica.
pub struct Peer {
    pub name: &'static str,
    pub session: Session,
    pub doc: Doc,
    pub events: Vec<Event>,
    pub file: PathBuf,
    pub home: PathBuf,
}

pub fn config(file: &Path, home: &Path, join: Option<DocTicket>, online: bool) -> SessionConfig {
    let mut config = SessionConfig::new(file);
    config.join = join;
    config.home = Some(home.to_path_buf());
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
        Self::start_configured(name, dir, |file, home| config(file, home, join, online)).await
    }

    /// Starts a peer with a config made from its file and home directory.
    pub async fn start_configured(
        name: &'static str,
        dir: &Path,
        make: impl FnOnce(&Path, &Path) -> SessionConfig,
    ) -> Peer {
        let file = dir.join(name).join("notes.md");
        let home = dir.join(name).join("home");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let Started { session, doc, .. } = Session::start(make(&file, &home))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        Peer {
            name,
            session,
            doc,
            events: Vec::new(),
            file,
            home,
        }
    }

    pub fn ticket(&self) -> DocTicket {
        self.session.ticket().unwrap()
    }

    /// Types `text` at `pos` (clamped to the document) like an editor would.
    pub fn type_at(&mut self, pos: usize, text: &str) {
        let pos = pos.min(self.doc.len());
        let op = self.doc.insert(pos, text);
        self.session.submit(op);
    }

    /// Deletes up to `len` chars at `pos` (clamped).
    pub fn delete_at(&mut self, pos: usize, len: usize) {
        let pos = pos.min(self.doc.len());
        let len = len.min(self.doc.len() - pos);
        if len > 0 {
            let op = self.doc.delete(pos, len);
            self.session.submit(op);
        }
    }

    /// Applies every waiting event to the editor's replica; returns how many arrived.
    pub fn pump(&mut self) -> usize {
        let mut n = 0;
        while let Some(event) = self.session.try_event() {
            n += 1;
            if let Event::Remote(ops) = &event {
                for op in ops {
                    self.doc
                        .apply(op)
                        .unwrap_or_else(|e| panic!("{}: {e}", self.name));
                }
            }
            self.events.push(event);
        }
        n
    }

    pub fn connected(&self) -> usize {
        self.session.status().connected
    }

    pub async fn stop(self) -> (PathBuf, PathBuf) {
        let (file, home) = (self.file.clone(), self.home.clone());
        self.session.shutdown().await.unwrap();
        (file, home)
    }
}

/// Waits (pumping every peer's events) until `done` holds.
pub async fn wait_until(
    peers: &mut [&mut Peer],
    what: &str,
    mut done: impl FnMut(&[&mut Peer]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        for p in peers.iter_mut() {
            p.pump();
        }
        if done(peers) {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let state: Vec<String> = peers
                .iter()
                .map(|p| {
                    format!(
                        "{}: {:?} connected={} len={}",
                        p.name,
                        p.session.status(),
                        p.connected(),
                        p.doc.len()
                    )
                })
                .collect();
            panic!("timed out waiting for {what}: {state:#?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
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
