//! Saving a shared folder off its loop: the plain files whose texts changed, the documents
//! with ops the store lacks, and the state, written by a thread of their own, so a slow disk
//! never delays a keystroke on its way to the peers (as the single-file session's store
//! thread does).
//!
//! One save is one [`Job`], and one job is in flight at a time: what changes meanwhile waits
//! for the next. A job writes its plain files first (one group commit), then the documents
//! (the ops each lacks appended to its log, or the whole document: see the store's
//! `FolderDocs`), then the state, recording the new hash of every file written since it was
//! last saved; so a file is durable before the state that records it, and a later scan never
//! takes duet's own write for another program's. A job that writes files always carries the
//! state, and the state is written only once every document of the job is: a crash must find
//! records no newer than the documents, or the scan would merge the file onto an older
//! record and repeat the text in between. The loop learns the outcome ([`Done`]):
//! only then does it record the files, report ops durable (`Input::Durable`) and report
//! problems, whose work is retried. Scans, tree changes on disk and shutdown first wait for
//! the job in flight ([`FolderSession::settle_saves`]), so the disk and the records never
//! change under a job.
//!
//! The thread keeps its own copy of the folder's state (a record per file): a job carries
//! only what changed since the last one ([`StateChanges`]), so the loop never copies the
//! records of a thousand files to save one keystroke.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use crdt_text::VersionVector;

use super::{FolderEvent, FolderSession, RETRY};
use crate::folder::{FileId, Tree};
use crate::ids::DocId;
use crate::proto::Input;
use crate::store::{
    DocSave, FolderDocs, FolderState, FolderWriter, OnDisk, StateChanges, StoreError, file_doc_id,
};

/// A plain file to write: the text of its document at `version`.
#[derive(Debug)]
pub(super) struct Write {
    file: FileId,
    doc: DocId,
    path: String,
    text: String,
    hash: [u8; 32],
    version: VersionVector,
    /// The hash duet recorded for a file at this path: bytes it may replace.
    expect: Option<[u8; 32]>,
}

/// What became of a [`Write`].
#[derive(Debug)]
enum Wrote {
    /// Written (durable).
    Written,
    /// The file already held this text.
    Held,
    /// The file holds bytes duet does not know: left alone.
    Foreign,
    /// Reading or writing it failed.
    Failed(StoreError),
}

/// One save, for the writer thread.
#[derive(Debug)]
pub(super) struct Job {
    writes: Vec<Write>,
    /// The documents to save (the ops each lacks in the store, or a copy of it whole,
    /// encoded by the thread), and the version each holds.
    docs: Vec<(DocId, DocSave, VersionVector)>,
    /// The changes to the state since the last job, if it is to be saved (with the records
    /// of the files written added).
    state: Option<StateChanges>,
}

/// What a [`Job`] did.
#[derive(Debug)]
pub(super) struct Done {
    writes: Vec<(Write, Wrote)>,
    /// The documents saved, and the version each holds now in the store.
    docs: Vec<(DocId, VersionVector)>,
    /// The documents not saved, and the first error.
    failed: Option<(Vec<DocId>, StoreError)>,
    /// Documents whose log has grown as large as their snapshot: save them whole next.
    compact: Vec<DocId>,
    /// Whether the state was saved, or why not: `None` if the job had no state, or if a
    /// document was not saved (the records wait for it).
    state: Option<Result<(), StoreError>>,
    had_state: bool,
}

/// What the writer keeps between jobs: its own copy of the folder's state, and the
/// documents' files.
#[derive(Debug)]
struct Kept {
    state: FolderState,
    docs: FolderDocs,
}

/// What duet last wrote at each path (absolute), so that the watcher can tell duet's own
/// writes from another program's without waking the loop for a scan.
#[derive(Clone, Debug, Default)]
pub(super) struct OwnWrites(Arc<Mutex<HashMap<PathBuf, [u8; 32]>>>);

impl OwnWrites {
    fn note(&self, path: PathBuf, hash: [u8; 32]) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(path, hash);
    }

    /// Whether a change reported at `path` is duet's own: a temp file of its atomic writes,
    /// or a file that holds what duet last wrote there (read and compared: another
    /// program's change in between is never hidden).
    pub(super) fn explains(&self, path: &Path) -> bool {
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".duet-tmp"))
        {
            return true;
        }
        let wrote = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(path)
            .copied();
        wrote.is_some_and(|h| std::fs::read(path).is_ok_and(|b| *blake3::hash(&b).as_bytes() == h))
    }
}

/// The writer thread, seen from the loop.
#[derive(Debug)]
pub(super) struct Saver {
    writer: FolderWriter,
    own: OwnWrites,
    /// The state as saved (the thread's own copy, brought up to date by each job's changes)
    /// and the documents' files. Locked by whoever performs a job (one at a time), never
    /// while another waits.
    kept: Arc<Mutex<Kept>>,
    /// `None` once dropping.
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    done: mpsc::Receiver<Done>,
    /// Pinged once per finished job (wakes [`FolderSession::next`]).
    pub(super) wake: tokio::sync::mpsc::UnboundedReceiver<()>,
    busy: bool,
}

impl Saver {
    /// Starts the writer thread, the store's state being `state` and its documents `docs`.
    pub(super) fn spawn(
        writer: FolderWriter,
        state: FolderState,
        docs: FolderDocs,
    ) -> Result<Saver, StoreError> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let (wake_tx, wake) = tokio::sync::mpsc::unbounded_channel();
        let own = OwnWrites::default();
        let kept = Arc::new(Mutex::new(Kept { state, docs }));
        let (w, o, st) = (writer.clone(), own.clone(), kept.clone());
        let thread = crate::store::spawn_writer("duet-folder-saver", move || {
            for job in job_rx {
                if done_tx.send(perform(&w, &o, &st, job)).is_err() {
                    return;
                }
                let _ = wake_tx.send(());
            }
        })
        .map_err(|e| StoreError::io("start the writer thread of", writer.root(), e))?;
        Ok(Saver {
            writer,
            own,
            kept,
            jobs: Some(jobs),
            thread: Some(thread),
            done,
            wake,
            busy: false,
        })
    }

    /// Hands `job` to the thread; gives it back if the thread is gone.
    fn send(&self, job: Job) -> Result<(), Job> {
        match &self.jobs {
            Some(jobs) => jobs.send(job).map_err(|mpsc::SendError(job)| job),
            None => Err(job),
        }
    }

    /// duet's own writes, for the watcher.
    pub(super) fn own_writes(&self) -> OwnWrites {
        self.own.clone()
    }
}

impl Drop for Saver {
    /// Waits for the job in flight: the folder stays locked until its writes are done.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Writes what `writes` asks for where the disk holds what duet expects (one group commit).
fn write_files(writer: &FolderWriter, own: &OwnWrites, writes: Vec<Write>) -> Vec<(Write, Wrote)> {
    let mut out = Vec::with_capacity(writes.len());
    let mut go = Vec::new();
    for w in writes {
        match writer.read_plain(&w.path) {
            Ok(None) => go.push(w),
            Ok(Some(bytes)) if w.expect == Some(*blake3::hash(&bytes).as_bytes()) => go.push(w),
            Ok(Some(bytes)) if bytes == w.text.as_bytes() => out.push((w, Wrote::Held)),
            Ok(Some(_)) => out.push((w, Wrote::Foreign)),
            Err(e) => out.push((w, Wrote::Failed(e))),
        }
    }
    // Noted before the write: the watcher may report it before the write returns.
    for w in &go {
        own.note(writer.root().join(&w.path), w.hash);
    }
    let files: Vec<(&str, &str)> = go
        .iter()
        .map(|w| (w.path.as_str(), w.text.as_str()))
        .collect();
    let results = writer.write_plains(&files);
    for (w, result) in go.into_iter().zip(results) {
        let wrote = match result {
            Ok(()) => Wrote::Written,
            Err(e) => Wrote::Failed(e),
        };
        out.push((w, wrote));
    }
    out
}

/// Carries out a job (on the writer thread, or on the loop at shutdown).
fn perform(writer: &FolderWriter, own: &OwnWrites, kept: &Mutex<Kept>, job: Job) -> Done {
    let writes = write_files(writer, own, job.writes);
    let mut kept = kept
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (versions, saves): (Vec<_>, Vec<_>) = job
        .docs
        .into_iter()
        .map(|(id, save, version)| ((id, version), (id, save)))
        .unzip();
    let saved = kept.docs.save(saves);
    let mut docs = Vec::with_capacity(versions.len());
    let mut failed: Option<(Vec<DocId>, StoreError)> = None;
    for ((id, version), (_, outcome)) in versions.into_iter().zip(saved.outcomes) {
        match (outcome, &mut failed) {
            (Ok(()), _) => docs.push((id, version)),
            (Err(_), Some((ids, _))) => ids.push(id),
            (Err(e), None) => failed = Some((vec![id], e)),
        }
    }
    let had_state = job.state.is_some();
    if let Some(changes) = job.state {
        changes.apply(&mut kept.state);
        for (w, wrote) in &writes {
            if matches!(wrote, Wrote::Written | Wrote::Held) {
                kept.state.on_disk.insert(w.file, record(w));
            }
        }
    }
    // Records only once every document holds what they record.
    let state = (had_state && failed.is_none()).then(|| writer.save_state(&kept.state));
    Done {
        writes,
        docs,
        failed,
        compact: saved.compact,
        state,
        had_state,
    }
}

fn record(w: &Write) -> OnDisk {
    OnDisk {
        path: w.path.clone(),
        hash: w.hash,
        version: w.version.clone(),
    }
}

impl FolderSession {
    /// The files to write for these documents (all of the tree's with `None`): those whose
    /// text differs from what duet last wrote or read at their path, once it has arrived.
    pub(super) fn plan_writes(&self, tree: &Tree, only: Option<&BTreeSet<DocId>>) -> Vec<Write> {
        let wanted: Vec<(FileId, DocId)> = match only {
            None => tree
                .files()
                .map(|(f, _)| (f, file_doc_id(&self.folder, f)))
                .collect(),
            Some(docs) => docs
                .iter()
                .filter_map(|d| Some((*self.files.get(d)?, *d)))
                .collect(),
        };
        let on_disk = &self.store.state().on_disk;
        // The hash recorded at each path: a map for the whole tree, a look-up for a few
        // files (a save while someone types must not cost a walk per file of the folder).
        let recorded: Option<BTreeMap<&str, [u8; 32]>> = only.is_none().then(|| {
            on_disk
                .values()
                .map(|r| (r.path.as_str(), r.hash))
                .collect()
        });
        // The file's own record, almost always; another file's after a rename.
        let expect = |file: FileId, path: &str| match on_disk.get(&file) {
            Some(own) if own.path == path => Some(own.hash),
            _ => match &recorded {
                Some(map) => map.get(path).copied(),
                None => on_disk
                    .values()
                    .rev()
                    .find(|r| r.path == path)
                    .map(|r| r.hash),
            },
        };
        let mut writes = Vec::new();
        for (file, doc_id) in wanted {
            let Some(shown) = tree.shown(file) else {
                continue;
            };
            let Some(doc) = self.docs.get(&doc_id) else {
                continue;
            };
            let version = doc.version();
            let rec = self.store.state().on_disk.get(&file);
            // A document with no version has not received its text yet. One that lacks the
            // version its file was recorded at (its store lost part of it) takes the file's
            // text back with the next scan, and never writes over it before.
            if version.is_empty() || rec.is_some_and(|r| r.ahead_of(&version)) {
                continue;
            }
            let text = doc.text();
            let hash = *blake3::hash(text.as_bytes()).as_bytes();
            if rec.is_some_and(|r| r.path == shown.path && r.hash == hash) {
                continue;
            }
            writes.push(Write {
                file,
                doc: doc_id,
                expect: expect(file, &shown.path),
                path: shown.path.clone(),
                text,
                hash,
                version,
            });
        }
        writes
    }

    /// Writes the files of `plan_writes` now, on the loop (tree changes, scans).
    pub(super) fn write_now(&mut self, writes: Vec<Write>, events: &mut Vec<FolderEvent>) {
        let outcomes = write_files(&self.saver.writer, &self.saver.own, writes);
        if self.wrote(outcomes, events) {
            self.save_at = Some(Instant::now() + RETRY);
        }
    }

    /// Records the files written and tells the user; the files that failed wait for the
    /// next save (returns whether any did).
    fn wrote(&mut self, outcomes: Vec<(Write, Wrote)>, events: &mut Vec<FolderEvent>) -> bool {
        let mut failed = false;
        for (w, wrote) in outcomes {
            match wrote {
                Wrote::Written => {
                    self.write_failed.remove(&w.doc);
                    events.push(FolderEvent::Disk(format!("wrote {}", w.path)));
                    self.record(w.file, w.path.clone(), w.hash, w.version.clone());
                }
                Wrote::Held => {
                    self.write_failed.remove(&w.doc);
                    self.record(w.file, w.path.clone(), w.hash, w.version.clone());
                }
                Wrote::Foreign => {
                    let rec = self.store.state().on_disk.get(&w.file);
                    if rec.is_none_or(|r| r.path != w.path) {
                        events.push(FolderEvent::Problem(format!(
                            "not writing {}: a file duet did not write is there (it will be shared)",
                            w.path
                        )));
                    }
                    // Else: changed here since duet wrote it; the next scan imports it.
                }
                Wrote::Failed(e) => {
                    // Said once per document and error; tried again until it works.
                    let said = e.to_string();
                    if self.write_failed.get(&w.doc) != Some(&said) {
                        events.push(FolderEvent::Problem(said.clone()));
                        self.write_failed.insert(w.doc, said);
                    }
                    self.rewrites.retry(w.doc, Instant::now() + RETRY);
                    failed = true;
                }
            }
        }
        failed
    }

    /// Hands what waits to be saved to the writer thread (unless a save is in flight: then
    /// it goes once that one is done). Returns the ops durable now (only if the thread is
    /// gone and the save was done here).
    pub(super) fn save(&mut self, events: &mut Vec<FolderEvent>) -> Vec<Input> {
        self.save_at = None;
        if self.saver.busy {
            return Vec::new();
        }
        let Some(job) = self.job(false) else {
            self.schedule_rewrites();
            return Vec::new();
        };
        match self.saver.send(job) {
            Ok(()) => {
                self.saver.busy = true;
                Vec::new()
            }
            // The thread is gone (it never ends on its own): save on the loop.
            Err(job) => {
                let done = perform(&self.saver.writer, &self.saver.own, &self.saver.kept, job);
                self.saved(done, events)
            }
        }
    }

    /// The next job: the files, documents and state that wait; `None` when nothing does.
    /// Files wait for their turn ([`Rewrites`](super::rewrites::Rewrites)), unless `all`.
    fn job(&mut self, all: bool) -> Option<Job> {
        let now = Instant::now();
        let due = self.rewrites.take_due(now, all);
        let writes = if due.is_empty() {
            Vec::new()
        } else {
            self.plan_writes(self.manifest.tree(), Some(&due))
        };
        let dirty = std::mem::take(&mut self.dirty);
        let docs: Vec<(DocId, DocSave, VersionVector)> = dirty
            .iter()
            .filter_map(|id| {
                let doc = self.docs.get(id)?;
                // Whole when never stored or asked to compact; else only the ops it lacks.
                let save = match self.stored.get(id) {
                    Some(stored) if !self.compact.remove(id) => DocSave::Ops(doc.ops_since(stored)),
                    _ => DocSave::Whole(Box::new(doc.clone())),
                };
                Some((*id, save, doc.version()))
            })
            .collect();
        // Files written need their records saved with their documents: a crash after the
        // files and before the documents would otherwise merge a file onto a record older
        // than its document, and repeat the text between them.
        let state = (self.state_dirty || !writes.is_empty()).then(|| self.store.take_changes());
        self.state_dirty = false;
        if writes.is_empty() && docs.is_empty() && state.is_none() {
            return None;
        }
        Some(Job {
            writes,
            docs,
            state,
        })
    }

    /// A finished job: records the files written, and returns the ops now durable.
    pub(super) fn saved(&mut self, done: Done, events: &mut Vec<FolderEvent>) -> Vec<Input> {
        self.saver.busy = false;
        // Recording asks for a save of the state, but the job's state held these records.
        let (state_dirty, save_at) = (self.state_dirty, self.save_at);
        let mut failed = self.wrote(done.writes, events);
        (self.state_dirty, self.save_at) = (state_dirty, save_at);
        let mut inputs = Vec::with_capacity(done.docs.len());
        for (doc, version) in done.docs {
            self.stored.insert(doc, version.clone());
            inputs.push(Input::Durable { doc, version });
        }
        if done.had_state && !matches!(done.state, Some(Ok(()))) {
            self.state_dirty = true;
        }
        if let Some((docs, e)) = done.failed {
            events.push(FolderEvent::Problem(format!("cannot write the store: {e}")));
            self.dirty.extend(docs);
            failed = true;
        }
        if let Some(Err(e)) = done.state {
            events.push(FolderEvent::Problem(format!("cannot write the store: {e}")));
            failed = true;
        }
        // Compacted with the next save: the document goes whole.
        for doc in done.compact {
            self.compact.insert(doc);
            self.dirty.insert(doc);
        }
        if failed {
            self.save_at = Some(Instant::now() + RETRY);
        } else if !self.dirty.is_empty() || self.state_dirty {
            // What changed while the job ran goes now.
            self.save_by(Instant::now());
        }
        self.schedule_rewrites();
        inputs
    }

    /// Saves again when the next file waiting for its turn may be written.
    fn schedule_rewrites(&mut self) {
        if let Some(at) = self.rewrites.next_due() {
            self.save_by(at);
        }
    }

    /// Finished jobs (after a wake from the writer thread).
    pub(super) fn take_saved(&mut self, events: &mut Vec<FolderEvent>) -> Vec<Input> {
        let mut inputs = Vec::new();
        while let Ok(done) = self.saver.done.try_recv() {
            inputs.extend(self.saved(done, events));
        }
        inputs
    }

    /// Waits for the job in flight, if any (before the loop reads or changes the disk).
    pub(super) fn settle_saves(&mut self, events: &mut Vec<FolderEvent>) -> Vec<Input> {
        if !self.saver.busy {
            return Vec::new();
        }
        match self.saver.done.recv() {
            Ok(done) => self.saved(done, events),
            Err(_) => {
                self.saver.busy = false;
                Vec::new()
            }
        }
    }

    /// Saves everything now, on the loop (at shutdown); returns the ops now durable.
    pub(super) fn save_now(&mut self, events: &mut Vec<FolderEvent>) -> Vec<Input> {
        let mut inputs = self.settle_saves(events);
        self.save_at = None;
        if let Some(job) = self.job(true) {
            let done = perform(&self.saver.writer, &self.saver.own, &self.saver.kept, job);
            self.saver.busy = true;
            inputs.extend(self.saved(done, events));
        }
        inputs
    }
}

#[cfg(test)]
mod tests;
