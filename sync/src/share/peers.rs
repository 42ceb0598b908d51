//! A shared folder's peers: what the protocol tells of them (joining, leaving, presence and
//! the progress of each file), the summary exchange when one connects, and opening files with
//! them.

use std::collections::BTreeSet;

use crdt_text::VersionVector;

use super::{Changed, FolderEvent, FolderSession};
use crate::folder::FileId;
use crate::folder::summary::{Summary, SummaryMsg};
use crate::ids::{DocId, PeerId};
use crate::proto::{self, Input, PeerAddr};
use crate::store::file_doc_id;

impl FolderSession {
    /// Peers connected for the folder now.
    pub(super) fn connected(&self) -> Vec<PeerAddr> {
        self.peer
            .peers(&self.folder)
            .into_iter()
            .filter(|p| p.conn.is_some())
            .map(|p| p.addr)
            .collect()
    }

    pub(super) fn event(
        &mut self,
        event: proto::Event,
        changed: &mut Changed,
        events: &mut Vec<FolderEvent>,
    ) {
        use proto::Event as E;
        match event {
            E::Remote { doc, .. } if doc == self.folder => changed.manifest = true,
            E::Remote { doc, from, ops } => {
                changed.files.insert(doc);
                events.push(FolderEvent::Sync(crate::Event::Remote { doc, from, ops }));
            }
            // The file tree has arrived once the manifest is connected and caught up.
            E::Status { doc, status } if doc == self.folder => {
                self.joining &= status.connected == 0 || status.catching_up || status.pending > 0;
            }
            E::Status { doc, status } => {
                self.file_status(doc, &status);
                events.push(FolderEvent::Sync(crate::Event::Status { doc, status }));
            }
            E::Presence {
                doc,
                peer,
                presence,
            } if doc != self.folder => {
                events.push(FolderEvent::Sync(crate::Event::Presence {
                    doc,
                    peer,
                    presence,
                }));
            }
            E::PeerLeft { doc, peer, why } if self.files.contains_key(&doc) => {
                self.waiting.remove(&doc);
                events.push(FolderEvent::Sync(crate::Event::PeerLeft { doc, peer, why }));
            }
            E::PeerJoined { doc, peer, name } if doc == self.folder => {
                // Catch-up: the side with the smaller id starts comparing summaries; the files
                // found to differ are opened with the peer, and each side sends what the
                // other's version lacks. Unchanged files cost nothing.
                if self.peer.local().id < peer {
                    self.followups.push(Input::App {
                        doc: self.folder,
                        peer,
                        bytes: self.summary().start().encode(),
                    });
                }
                // Files we are in are opened with it, so it sees where we are.
                if let Some(addr) = self.addr_of(peer) {
                    for doc in &self.shown {
                        self.followups.push(Input::AddPeer {
                            doc: *doc,
                            addr: addr.clone(),
                            name: None,
                        });
                    }
                }
                events.push(FolderEvent::PeerJoined { peer, name });
            }
            E::PeerLeft { doc, peer, why } if doc == self.folder => {
                // Nobody left to catch up from.
                if self.connected().is_empty() {
                    self.waiting.clear();
                }
                events.push(FolderEvent::PeerLeft { peer, why });
            }
            E::Refused { peer, error, doc } if doc.is_none() || doc == Some(self.folder) => {
                events.push(FolderEvent::Refused { peer, error });
            }
            E::Unreachable { peer, error } => {
                events.push(FolderEvent::Unreachable { peer, error });
            }
            E::Diverged { doc, peer, .. } => events.push(FolderEvent::Problem(format!(
                "{peer} holds another text at the same version of {} (not merged)",
                self.describe(&doc)
            ))),
            _ => {}
        }
    }

    /// Every file's `(file id, text version)`, to compare with a peer's.
    pub(super) fn summary(&self) -> Summary {
        let versions: Vec<(FileId, VersionVector)> = self
            .files
            .iter()
            .filter_map(|(doc, file)| Some((*file, self.docs.get(doc)?.version())))
            .collect();
        Summary::new(versions.iter().map(|(f, v)| (*f, v)))
    }

    /// A peer's summary message: answers it, and opens the files that differ with the peer.
    pub(super) fn on_summary(&mut self, peer: PeerId, bytes: &[u8], events: &mut Vec<FolderEvent>) {
        let msg = match SummaryMsg::decode(bytes) {
            Ok(msg) => msg,
            Err(e) => {
                events.push(FolderEvent::Problem(format!(
                    "{peer} sent a bad summary: {e}"
                )));
                return;
            }
        };
        let handled = self.summary().handle(&msg);
        if let Some(reply) = handled.reply {
            self.followups.push(Input::App {
                doc: self.folder,
                peer,
                bytes: reply.encode(),
            });
        }
        let Some(addr) = self.addr_of(peer) else {
            return;
        };
        for file in handled.differ {
            let doc = file_doc_id(&self.folder, file);
            if self.files.contains_key(&doc) {
                self.waiting.entry(doc).or_insert(false);
                self.followups.push(Input::AddPeer {
                    doc,
                    addr: addr.clone(),
                    name: None,
                });
            }
        }
    }

    /// Where `peer` of the folder is known to be.
    pub(super) fn addr_of(&self, peer: PeerId) -> Option<PeerAddr> {
        self.peer
            .peers(&self.folder)
            .into_iter()
            .find(|p| p.addr.id == peer)
            .map(|p| p.addr)
    }

    /// Opens `doc` with every peer connected for the folder that does not have it open yet
    /// (before sending its new ops).
    pub(super) fn open_with_connected(&mut self, doc: DocId) {
        let open: BTreeSet<PeerId> = self
            .peer
            .peers(&doc)
            .into_iter()
            .filter(|p| p.conn.is_some())
            .map(|p| p.addr.id)
            .collect();
        for addr in self.connected() {
            if open.contains(&addr.id) {
                continue;
            }
            self.followups.push(Input::AddPeer {
                doc,
                addr,
                name: None,
            });
        }
    }

    /// A document, for the user: the path of its file, or "the file tree".
    pub(super) fn describe(&self, doc: &DocId) -> String {
        if *doc == self.folder {
            return "the file tree".into();
        }
        self.files
            .get(doc)
            .and_then(|f| self.manifest.tree().path(*f))
            .map_or_else(|| format!("document {doc}"), str::to_string)
    }
}
