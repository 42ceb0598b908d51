//! Saving a shared folder off its loop: the plain files whose texts changed, the documents
//! with ops the store lacks, and the state, written by a thread of their own, so a slow disk
//! never delays a keystroke on its way to the peers (as the single-file session's store
//! thread does).
//!
//! One save is one [`Job`], and one job is in flight at a time: what changes meanwhile waits
//! for the next. A job writes its plain files first (one group commit), then the documents and
//! the state (a second group commit), the state recording the new hash of every file written
//! since it was last saved; so a file is durable before the state that records it, and a
//! later scan never takes duet's own write for another program's. A job that writes files
//! always carries the state: a crash between a job's files and its documents must find
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

use crdt_text::{Doc, VersionVector};

use super::{FolderEvent, FolderSession, RETRY, REWRITE_EVERY};
use crate::folder::{FileId, Tree};
use crate::ids::DocId;
use crate::proto::Input;
use crate::store::{
    FolderState, FolderWriter, OnDisk, StateChanges, StoreError, encode_doc, file_doc_id,
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
    /// Copies of the documents to save (encoded by the thread: a copy costs the loop less
    /// than an encoding), and the version each holds.
    docs: Vec<(DocId, Doc, VersionVector)>,
    /// The changes to the state since the last job, if it is to be saved (with the records
    /// of the files written added).
    state: Option<StateChanges>,
}

/// What a [`Job`] did.
#[derive(Debug)]
pub(super) struct Done {
    writes: Vec<(Write, Wrote)>,
    docs: Vec<(DocId, VersionVector)>,
    /// Whether the documents and the state were saved, or why not.
    saved: Result<(), StoreError>,
    had_state: bool,
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
    /// The state as saved: the thread's own copy, brought up to date by each job's changes.
    /// Locked by whoever performs a job (one at a time), never while another waits.
    state: Arc<Mutex<FolderState>>,
    /// `None` once dropping.
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    done: mpsc::Receiver<Done>,
    /// Pinged once per finished job (wakes [`FolderSession::next`]).
    pub(super) wake: tokio::sync::mpsc::UnboundedReceiver<()>,
    busy: bool,
}

impl Saver {
    /// Starts the writer thread, the store's state being `state`.
    pub(super) fn spawn(writer: FolderWriter, state: FolderState) -> Result<Saver, StoreError> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let (wake_tx, wake) = tokio::sync::mpsc::unbounded_channel();
        let own = OwnWrites::default();
        let state = Arc::new(Mutex::new(state));
        let (w, o, st) = (writer.clone(), own.clone(), state.clone());
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
            state,
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
fn perform(writer: &FolderWriter, own: &OwnWrites, state: &Mutex<FolderState>, job: Job) -> Done {
    let writes = write_files(writer, own, job.writes);
    let had_state = job.state.is_some();
    let mut state = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(changes) = job.state {
        changes.apply(&mut state);
        for (w, wrote) in &writes {
            if matches!(wrote, Wrote::Written | Wrote::Held) {
                state.on_disk.insert(w.file, record(w));
            }
        }
    }
    let mut docs = Vec::with_capacity(job.docs.len());
    let mut encoded = Vec::with_capacity(job.docs.len());
    for (id, doc, version) in job.docs {
        encoded.push((id, encode_doc(&doc)));
        docs.push((id, version));
    }
    let saved = if encoded.is_empty() && !had_state {
        Ok(())
    } else {
        writer.save_encoded(encoded, had_state.then_some(&*state))
    };
    Done {
        writes,
        docs,
        saved,
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
            // A document with no version has not received its text yet.
            let Some(doc) = self.docs.get(&doc_id).filter(|d| !d.version().is_empty()) else {
                continue;
            };
            let text = doc.text();
            let hash = *blake3::hash(text.as_bytes()).as_bytes();
            let rec = self.store.state().on_disk.get(&file);
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
                version: doc.version(),
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
                    self.unwritten.insert(w.doc);
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
                let done = perform(&self.saver.writer, &self.saver.own, &self.saver.state, job);
                self.saved(done, events)
            }
        }
    }

    /// The next job: the files, documents and state that wait; `None` when nothing does.
    /// Files written less than [`REWRITE_EVERY`] ago wait for their turn, unless `all`.
    fn job(&mut self, all: bool) -> Option<Job> {
        let now = Instant::now();
        self.rewritten
            .retain(|_, at| now.duration_since(*at) < REWRITE_EVERY);
        let mut unwritten = std::mem::take(&mut self.unwritten);
        if !all {
            let rewritten = &self.rewritten;
            self.unwritten = unwritten
                .extract_if(.., |d| rewritten.contains_key(d))
                .collect();
        }
        let writes = if unwritten.is_empty() {
            Vec::new()
        } else {
            self.plan_writes(self.manifest.tree(), Some(&unwritten))
        };
        for w in &writes {
            self.rewritten.insert(w.doc, now);
        }
        let dirty = std::mem::take(&mut self.dirty);
        let docs: Vec<(DocId, Doc, VersionVector)> = dirty
            .iter()
            .filter_map(|id| {
                let doc = self.docs.get(id)?;
                Some((*id, doc.clone(), doc.version()))
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
        let mut inputs = Vec::new();
        match done.saved {
            Ok(()) => inputs.extend(
                done.docs
                    .into_iter()
                    .map(|(doc, version)| Input::Durable { doc, version }),
            ),
            Err(e) => {
                events.push(FolderEvent::Problem(format!("cannot write the store: {e}")));
                self.dirty.extend(done.docs.into_iter().map(|(doc, _)| doc));
                self.state_dirty |= done.had_state;
                failed = true;
            }
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

    /// Saves again when the first file held back by [`REWRITE_EVERY`] may be written.
    fn schedule_rewrites(&mut self) {
        let due = self
            .unwritten
            .iter()
            .map(|d| {
                self.rewritten
                    .get(d)
                    .map_or_else(Instant::now, |at| *at + REWRITE_EVERY)
            })
            .min();
        if let Some(at) = due {
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
            let done = perform(&self.saver.writer, &self.saver.own, &self.saver.state, job);
            self.saver.busy = true;
            inputs.extend(self.saved(done, events));
        }
        inputs
    }
}

#[cfg(test)]
mod tests {
    use super::super::SAVE_DELAY;
    use super::*;
    use crate::share::FolderConfig;

    #[test]
    fn the_watcher_takes_only_what_duet_wrote_for_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notes.md");
        let own = OwnWrites::default();
        std::fs::write(&file, "duet wrote this").unwrap();
        assert!(!own.explains(&file), "not noted: another program's");
        own.note(file.clone(), *blake3::hash(b"duet wrote this").as_bytes());
        assert!(own.explains(&file));
        std::fs::write(&file, "then an editor saved this").unwrap();
        assert!(!own.explains(&file), "changed since duet wrote it");
        assert!(own.explains(&dir.path().join(".notes.md.duet-tmp")));
    }

    /// A folder session with no network and no watcher.
    fn offline(dir: &Path) -> FolderConfig {
        let mut config = FolderConfig::new(dir);
        config.net = None;
        config.watch = false;
        config
    }

    async fn run_for(session: &mut FolderSession, time: std::time::Duration) -> Vec<FolderEvent> {
        let mut events = Vec::new();
        let until = Instant::now() + time;
        while Instant::now() < until {
            if let Ok(wake) = tokio::time::timeout_at(until.into(), session.next()).await {
                events.extend(session.handle(wake));
            }
        }
        events
    }

    /// A folder of one file, `a.md` ("one\n"), opened offline; and the file's path.
    async fn one_file(dir: &Path) -> (FolderSession, PathBuf) {
        let file = dir.join("a.md");
        std::fs::write(&file, "one\n").unwrap();
        let (session, _) = FolderSession::open(offline(dir)).await.unwrap();
        (session, file)
    }

    /// Types `text` at the start of `a.md`, then runs the session for `time`.
    async fn type_at_start(session: &mut FolderSession, text: &str, time: std::time::Duration) {
        session
            .edit("a.md", |doc| vec![doc.insert(0, text)])
            .unwrap();
        run_for(session, time).await;
    }

    /// Opens the folder again after a crash: `a.md` holds `text` in its document and on disk,
    /// and nothing on disk was imported as an edit (the document is still at `version`).
    async fn restarts_intact(
        dir: &Path,
        doc: DocId,
        version: &VersionVector,
        text: &str,
    ) -> FolderSession {
        let (mut session, _) = FolderSession::open(offline(dir)).await.unwrap();
        run_for(&mut session, SAVE_DELAY * 3).await;
        assert_eq!(session.text("a.md").unwrap(), text);
        assert_eq!(
            session.docs[&doc].version(),
            *version,
            "nothing imported as an edit"
        );
        assert_eq!(std::fs::read_to_string(dir.join("a.md")).unwrap(), text);
        session
    }

    #[tokio::test]
    async fn the_state_the_thread_saves_is_the_state_the_loop_holds() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..20 {
            std::fs::write(dir.path().join(format!("f{i}.md")), format!("file {i}\n")).unwrap();
        }
        let (mut session, _) = FolderSession::open(offline(dir.path())).await.unwrap();
        // Each kind of change to the records, each saved by its own job on the thread:
        // edits written out, a file renamed, one deleted, one created by another program.
        for round in 0..4 {
            session
                .edit("f1.md", |doc| vec![doc.insert(0, "typed ")])
                .unwrap();
            match round {
                1 => {
                    std::fs::rename(dir.path().join("f2.md"), dir.path().join("moved.md")).unwrap()
                }
                2 => std::fs::remove_file(dir.path().join("f3.md")).unwrap(),
                3 => std::fs::write(dir.path().join("new.md"), "new\n").unwrap(),
                _ => {}
            }
            session.rescan_now();
            run_for(&mut session, SAVE_DELAY * 3).await;
        }
        // Long enough for the thread to save the state that waits.
        run_for(&mut session, SAVE_DELAY * 3).await;
        let held = session.store.state().on_disk.clone();
        assert!(
            held.values().any(|r| r.path == "moved.md")
                && !held.values().any(|r| r.path == "f3.md")
        );
        assert_eq!(held.len(), 20);
        // The process dies: what is on disk is what the thread saved.
        drop(session);
        let again = crate::store::FolderStore::open(dir.path(), None).unwrap();
        assert_eq!(again.store.state().on_disk, held);
    }

    #[tokio::test]
    async fn a_file_written_soon_after_the_last_save_is_recorded_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mut session, file) = one_file(dir.path()).await;
        type_at_start(&mut session, "first ", SAVE_DELAY * 3).await;
        // Within a second of the last save: the state still goes with the file written (a
        // stale record here once made a crash repeat text, see the module docs).
        type_at_start(&mut session, "second ", REWRITE_EVERY + SAVE_DELAY * 3).await;
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "second first one\n"
        );
        let doc = session.doc_of("a.md").unwrap();
        let version = session.docs[&doc].version();
        // The process dies: no shutdown, so nothing more is saved.
        drop(session);
        let recorded = || {
            let store = crate::store::FolderStore::open(dir.path(), None)
                .unwrap()
                .store;
            store.state().on_disk.values().next().cloned().unwrap().hash
        };
        assert_eq!(
            recorded(),
            *blake3::hash(b"second first one\n").as_bytes(),
            "recorded with the write"
        );
        let session = restarts_intact(dir.path(), doc, &version, "second first one\n").await;
        let _ = session.shutdown().await;
        assert_eq!(recorded(), *blake3::hash(b"second first one\n").as_bytes());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_file_that_cannot_be_written_is_reported_once_and_written_once_it_can_be() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.md"), "one\n").unwrap();
        let (mut session, _) = FolderSession::open(offline(dir.path())).await.unwrap();
        // A symbolic link now stands where the file's folder was: duet never writes through
        // one.
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::rename(dir.path().join("sub"), dir.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("sub")).unwrap();
        session
            .edit("sub/a.md", |doc| vec![doc.insert(3, " two")])
            .unwrap();
        let events = run_for(&mut session, RETRY * 5 / 2).await;
        let problems: Vec<&FolderEvent> = events
            .iter()
            .filter(|e| matches!(e, FolderEvent::Problem(p) if p.contains("symbolic link")))
            .collect();
        assert_eq!(problems.len(), 1, "said once, tried again: {events:?}");
        assert!(!elsewhere.path().join("a.md").exists());
        // The way is clear again: the next try writes the file.
        std::fs::remove_file(dir.path().join("sub")).unwrap();
        std::fs::rename(dir.path().join("moved"), dir.path().join("sub")).unwrap();
        let events = run_for(&mut session, RETRY * 2).await;
        assert!(
            events
                .iter()
                .any(|e| matches!(e, FolderEvent::Disk(what) if what == "wrote sub/a.md")),
            "{events:?}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sub/a.md")).unwrap(),
            "one two\n"
        );
        let _ = session.shutdown().await;
    }

    #[tokio::test]
    async fn a_file_typed_in_is_rewritten_twice_a_second_and_a_crash_between_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (mut session, file) = one_file(dir.path()).await;
        let doc = session.doc_of("a.md").unwrap();
        type_at_start(&mut session, "first ", SAVE_DELAY * 3).await;
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "first one\n");
        // Typing goes on: the ops are saved, the file waits for its turn.
        type_at_start(&mut session, "second ", SAVE_DELAY * 3).await;
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "first one\n");
        let version = session.docs[&doc].version();
        // The process dies before the file's turn.
        drop(session);
        let store = crate::store::FolderStore::open(dir.path(), None).unwrap();
        assert_eq!(
            store.docs[&doc].text(),
            "second first one\n",
            "the ops were durable"
        );
        drop(store);
        // The restart writes the file; its old text is not taken for an edit.
        let session = restarts_intact(dir.path(), doc, &version, "second first one\n").await;
        let _ = session.shutdown().await;
        // And a file held back is written when its turn comes without more typing.
        let (mut session, _) = FolderSession::open(offline(dir.path())).await.unwrap();
        type_at_start(&mut session, "3 ", SAVE_DELAY * 3).await;
        type_at_start(&mut session, "4 ", REWRITE_EVERY + SAVE_DELAY * 3).await;
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "4 3 second first one\n"
        );
        let _ = session.shutdown().await;
    }
}
