//! Reading a document's store without opening it: for `duet log`, `blame`, `show` and
//! `authors`, also while a running duet has the document open.
//!
//! Takes no lock and writes nothing: the snapshot, then the log's frames that check out (a
//! frame being appended right now is a torn tail and is left out). A compaction replaces the
//! snapshot first and the log second; if the snapshot changed while the log was read, the
//! two may not fit together, so the read starts again.

use std::path::Path;

use crdt_text::{Doc, ReplicaId};

use super::StoreError;
use super::log;
use super::meta;
use super::paths::Paths;
use super::snapshot::{self, SnapshotRead};

/// How often a read is retried when a compaction ran under it.
const ATTEMPTS: usize = 5;

/// The document stored for `file`, as far as its store holds it (`None`: `file` has no
/// store). Its replica is a fresh one that never edits.
pub fn read_document(file: &Path) -> Result<Option<Doc>, StoreError> {
    let paths = Paths::new(file)?;
    let Some((doc_id, _)) = meta::read_identity(&paths.identity)? else {
        return Ok(None);
    };
    let reader = ReplicaId::from(u64::MAX);
    for _ in 0..ATTEMPTS {
        let before = snapshot::read(&paths.snapshot, &doc_id)?;
        let mut doc = match &before {
            SnapshotRead::Missing => Doc::new(reader),
            SnapshotRead::Found(s) => {
                Doc::decode(&s.encoded, reader).map_err(|e| StoreError::Damaged {
                    file: paths.snapshot.clone(),
                    reason: e.to_string(),
                })?
            }
            SnapshotRead::Damaged(reason) => {
                return Err(StoreError::Damaged {
                    file: paths.snapshot.clone(),
                    reason: reason.clone(),
                });
            }
        };
        if let Some(found) = log::read(&paths.log, &doc_id)? {
            for frame in &found.scan.frames {
                // A frame that checks out but does not decode is damage the next open
                // reports; what it holds is missing here too.
                let Ok(ops) = log::decode_payload(&found.bytes[frame.clone()], found.version)
                else {
                    continue;
                };
                for op in &ops {
                    // Ops that do not apply are reported by the next open, not here.
                    let _ = doc.apply(op);
                }
            }
        }
        let after = snapshot::read(&paths.snapshot, &doc_id)?;
        if checksum(&before) == checksum(&after) {
            return Ok(Some(doc));
        }
    }
    Err(StoreError::Busy {
        file: paths.snapshot.clone(),
    })
}

fn checksum(read: &SnapshotRead) -> Option<[u8; 32]> {
    match read {
        SnapshotRead::Found(s) => Some(s.checksum),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use crdt_text::{Author, AuthorId};

    use super::*;
    use crate::store::Store;

    #[test]
    fn the_history_reads_while_the_store_is_open_through_compactions_and_torn_writes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notes.md");
        assert!(read_document(&file).unwrap().is_none(), "no store yet");
        assert!(
            !dir.path().join(".duet").exists(),
            "reading created nothing"
        );
        let mut o = Store::open(&file).unwrap();
        o.doc
            .set_author(Author::new(AuthorId([5; 16]), "Ann", None));
        o.doc.set_time(1_795_000_000);
        let op = o.doc.insert(0, "before the snapshot\n");
        o.store.append(&[op]).unwrap();
        o.store.sync().unwrap();
        o.store.snapshot_now(&o.doc).unwrap();
        let op = o.doc.insert(0, "after it\n");
        o.store.append(&[op]).unwrap();
        o.store.sync().unwrap();
        // A frame being written right now: not whole yet.
        let log = o.store.dir().join("log");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(&[200, 0, 0, 0, 1, 2, 3])
            .unwrap();

        let read = read_document(&file).unwrap().unwrap();
        assert_eq!(read.text(), o.doc.text());
        assert_eq!(read.blame(), o.doc.blame());
        assert_eq!(read.sessions(), o.doc.sessions());
        assert_eq!(
            read.author(read.blame().chars[0].who)
                .map(|a| a.name.as_str()),
            Some("Ann")
        );
    }
}
