//! The op log: an append-only file of checksummed frames, each a batch of ops.
//!
//! # Format (`log`, format version 4)
//!
//! ```text
//! header   52 bytes   magic "duet-log", version, document id, check (see `header.rs`;
//!                     44 bytes without the check before version 3)
//! frame*   len        u32 little-endian: payload length in bytes (≤ MAX_FRAME)
//!          payload    postcard encoding of Vec<crdt_text::Op> (each op a byte string in
//!                     crdt-text's compact form, which may carry author and time since
//!                     version 4; version 1: the derived serde form, read by `legacy.rs`)
//!          check      8 bytes: BLAKE3 keyed with the document id, over `len ‖ payload`,
//!                     truncated to 8 bytes
//! ```
//!
//! A frame is written with one `write` and made durable with `fdatasync` before anything that
//! depends on it (the editor's "saved", an acknowledgement to a peer). Keying the checksum with
//! the document id means a frame copied from another document's log never checks out, and a
//! log whose header is damaged is still recognised as ours by its frames. A large batch (an
//! imported file) is cut into frames of about [`FRAME_TARGET`] bytes.
//!
//! # Recovery
//!
//! Reading walks the frames. A frame that does not check out starts a bad region; the reader
//! looks for the next offset where a frame checks out (a false match has probability 2⁻⁶⁴).
//! - No valid frame after it: the bad region is the **torn tail** of a write interrupted by a
//!   crash. It holds nothing that was ever acknowledged; it is cut off with a warning. After a
//!   clean close nothing can be torn: the caller checks the tail against the manifest (see
//!   `lock.rs`) and treats it as damage.
//! - Valid frames after it: the log is **damaged in the middle** (a flipped bit, a bad
//!   sector). Every frame that checks out is kept; the damaged file is kept aside and a clean
//!   log with the recovered frames replaces it.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crdt_text::{Op, OpKind};

use super::StoreError;
use super::format;
use super::header::{self, FileKind, HEADER_LEN, HeaderRead, LEGACY_HEADER_LEN};
use crate::ids::DocId;

/// Bytes of the length prefix.
const LEN_BYTES: usize = 4;
/// Bytes of the per-frame checksum.
const CHECK_BYTES: usize = 8;
/// Largest payload a frame may have. Larger lengths are treated as damage, so a corrupted
/// length can never make the reader allocate or skip gigabytes.
pub const MAX_FRAME: usize = 64 << 20;
/// Payload bytes a frame aims at when a batch is cut: far below [`MAX_FRAME`], so any text
/// that fits in memory can be imported, a frame at a time.
pub const FRAME_TARGET: usize = 4 << 20;

fn checksum(doc: &DocId, len: &[u8], payload: &[u8]) -> [u8; CHECK_BYTES] {
    let mut hasher = blake3::Hasher::new_keyed(doc.as_bytes());
    hasher.update(len);
    hasher.update(payload);
    let mut out = [0u8; CHECK_BYTES];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..CHECK_BYTES]);
    out
}

/// An upper bound of the bytes `op` takes in a payload (its postcard length prefix, replica,
/// counter and origins as varints of at most 10 bytes, a head byte; then its text, or 31
/// bytes per delete span).
fn encoded_bound(op: &Op) -> usize {
    // Recorded history: a time varint and an author (id, name, email with their lengths).
    let history = op
        .meta
        .as_ref()
        .map_or(0, |_| 10 + 16 + 2 * (2 + crdt_text::MAX_AUTHOR_FIELD));
    history
        + match &op.kind {
            OpKind::Insert { text, .. } => 71 + text.len(),
            OpKind::Delete { targets } => 31 + 31 * targets.len(),
        }
}

/// Appends the frames for `ops` to `out`, cut so that each payload stays within
/// [`FRAME_TARGET`] (a single larger op gets a frame of its own, up to [`MAX_FRAME`]).
/// Returns how many frames were written.
pub fn encode_frames(doc: &DocId, ops: &[Op], out: &mut Vec<u8>) -> Result<usize, StoreError> {
    encode_frames_within(doc, ops, out, FRAME_TARGET)
}

fn encode_frames_within(
    doc: &DocId,
    ops: &[Op],
    out: &mut Vec<u8>,
    target: usize,
) -> Result<usize, StoreError> {
    let mut frames = 0;
    let mut rest = ops;
    while !rest.is_empty() {
        let mut size = 0;
        let take = rest
            .iter()
            .take_while(|op| {
                size += encoded_bound(op);
                size <= target
            })
            .count()
            .max(1);
        let (chunk, after) = rest.split_at(take);
        let payload = postcard::to_stdvec(chunk)?;
        if payload.len() > MAX_FRAME {
            return Err(StoreError::OpTooLarge {
                bytes: payload.len(),
                limit: MAX_FRAME,
            });
        }
        let len = (payload.len() as u32).to_le_bytes();
        out.extend_from_slice(&len);
        out.extend_from_slice(&payload);
        out.extend_from_slice(&checksum(doc, &len, &payload));
        frames += 1;
        rest = after;
    }
    Ok(frames)
}

/// The end offset of the frame starting at `pos`, if a whole frame that checks out is there.
fn frame_at(doc: &DocId, bytes: &[u8], pos: usize) -> Option<(Range<usize>, usize)> {
    let len_bytes = bytes.get(pos..pos + LEN_BYTES)?;
    let len = u32::from_le_bytes(len_bytes.try_into().ok()?) as usize;
    if len == 0 || len > MAX_FRAME {
        return None;
    }
    let payload = pos + LEN_BYTES..pos + LEN_BYTES + len;
    let end = payload.end + CHECK_BYTES;
    let check = bytes.get(payload.end..end)?;
    (checksum(doc, len_bytes, &bytes[payload.clone()]) == check).then_some((payload, end))
}

/// What reading a log found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Where the frames start (the header's length).
    pub start: usize,
    /// Payload byte ranges of the frames that check out, in file order.
    pub frames: Vec<Range<usize>>,
    /// Bad regions followed by valid frames: (offset, length).
    pub damage: Vec<(u64, u64)>,
    /// A bad region at the very end: (offset, length).
    pub torn: Option<(u64, u64)>,
}

impl Scan {
    /// The end of the last frame that checks out: where the next frame goes once the torn
    /// tail is cut.
    pub fn good_end(&self) -> u64 {
        self.frames
            .last()
            .map_or(self.start, |r| r.end + CHECK_BYTES) as u64
    }

    /// The whole frame (length, payload, check) around a payload range.
    pub fn frame_bytes(payload: &Range<usize>) -> Range<usize> {
        payload.start - LEN_BYTES..payload.end + CHECK_BYTES
    }
}

/// Walks the frames of a log from `start` (the end of its header).
pub fn scan(doc: &DocId, bytes: &[u8], start: usize) -> Scan {
    let mut out = Scan {
        start,
        ..Scan::default()
    };
    let mut pos = start;
    while pos < bytes.len() {
        if let Some((payload, end)) = frame_at(doc, bytes, pos) {
            out.frames.push(payload);
            pos = end;
            continue;
        }
        match (pos + 1..bytes.len()).find(|&p| frame_at(doc, bytes, p).is_some()) {
            Some(next) => {
                out.damage.push((pos as u64, (next - pos) as u64));
                pos = next;
            }
            None => {
                out.torn = Some((pos as u64, (bytes.len() - pos) as u64));
                break;
            }
        }
    }
    out
}

/// A log as found on disk.
#[derive(Debug)]
pub struct Found {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The format version of its frames.
    pub version: u16,
    /// Its frames.
    pub scan: Scan,
    /// Set when the header is damaged (the frames, keyed with the document id, still show
    /// the log is ours); the reason says how.
    pub damaged_header: Option<String>,
}

impl Found {
    /// Where the next frame goes once the torn tail (if any) is cut.
    pub fn end(&self) -> LogEnd {
        LogEnd {
            len: self.scan.good_end(),
            start: self.scan.start,
            version: self.version,
            frames: self.scan.frames.len() as u64,
        }
    }
}

/// Where a log's next frame goes, as reading it found: enough to open it for appending
/// again without reading it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEnd {
    /// Bytes of whole frames and header: the next frame goes here.
    pub len: u64,
    /// Where the frames start (the header's length).
    pub start: usize,
    /// The format version of the frames.
    pub version: u16,
    /// Frames in the log.
    pub frames: u64,
}

/// Reads the log at `path`: `None` if it does not exist. A log that is certainly not this
/// document's is an error and is left untouched.
pub fn read(path: &Path, doc: &DocId) -> Result<Option<Found>, StoreError> {
    let Some(bytes) = format::read_if_exists(path)? else {
        return Ok(None);
    };
    let (version, start, damaged_header) =
        match header::read_header(FileKind::Log, path, &bytes, Some(doc)) {
            HeaderRead::Ours(h) => (h.version, h.len, None),
            HeaderRead::Foreign(error) => return Err(error),
            HeaderRead::Unverified(error) => {
                if scan(doc, &bytes, LEGACY_HEADER_LEN).frames.is_empty() {
                    return Err(error);
                }
                (2, LEGACY_HEADER_LEN, Some(error.to_string()))
            }
            // The frames start after a current header, or after an old one.
            HeaderRead::Damaged(reason) => {
                if let Some((first, _)) = frame_at(doc, &bytes, LEGACY_HEADER_LEN) {
                    let payload = &bytes[first];
                    let v1 =
                        decode_payload(payload, 2).is_err() && decode_payload(payload, 1).is_ok();
                    (if v1 { 1 } else { 2 }, LEGACY_HEADER_LEN, Some(reason))
                } else {
                    (header::FORMAT_VERSION, HEADER_LEN, Some(reason))
                }
            }
        };
    let start = start.min(bytes.len());
    let scan = scan(doc, &bytes, start);
    Ok(Some(Found {
        bytes,
        version,
        scan,
        damaged_header,
    }))
}

/// Decodes one frame's payload, written by format `version`.
pub fn decode_payload(payload: &[u8], version: u16) -> Result<Vec<Op>, postcard::Error> {
    if version == 1 {
        return super::legacy::decode_payload(payload);
    }
    postcard::from_bytes(payload)
}

/// The log file open for appending.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: File,
    /// Length of the valid content: everything before it is whole frames.
    len: u64,
    /// Where the frames start.
    start: u64,
    /// Frames in the file.
    frames: u64,
    /// The format version of the file's frames.
    version: u16,
}

impl LogWriter {
    /// Atomically replaces the log at `path` with a fresh one holding `count` frames
    /// (`frames`, already encoded), then opens it for appending.
    pub fn create(
        path: &Path,
        doc: &DocId,
        frames: &[u8],
        count: usize,
    ) -> Result<Self, StoreError> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + frames.len());
        bytes.extend_from_slice(&header::header(FileKind::Log, doc));
        bytes.extend_from_slice(frames);
        format::write_atomic(path, &bytes)?;
        let mut writer = Self::open(path, bytes.len() as u64, HEADER_LEN, header::FORMAT_VERSION)?;
        writer.frames = count as u64;
        Ok(writer)
    }

    /// Opens the log found at `path` for appending after its last good frame, cutting
    /// anything beyond (a torn tail) durably.
    pub fn reopen(path: &Path, found: &Found) -> Result<Self, StoreError> {
        Self::resume(path, found.end())
    }

    /// Opens the log at `path` for appending at `end` (as a read found it, or as a writer
    /// left it), cutting anything beyond durably.
    pub fn resume(path: &Path, end: LogEnd) -> Result<Self, StoreError> {
        let mut writer = Self::open(path, end.len, end.start, end.version)?;
        writer.frames = end.frames;
        Ok(writer)
    }

    /// Where the next frame goes.
    pub fn end(&self) -> LogEnd {
        LogEnd {
            len: self.len,
            start: self.start as usize,
            version: self.version,
            frames: self.frames,
        }
    }

    fn open(path: &Path, good_len: u64, start: usize, version: u16) -> Result<Self, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let actual = file
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        if actual != good_len {
            file.set_len(good_len)
                .map_err(|e| StoreError::io("truncate", path, e))?;
            file.sync_all()
                .map_err(|e| StoreError::io("fsync", path, e))?;
        }
        Ok(LogWriter {
            path: path.to_path_buf(),
            file,
            len: good_len,
            start: start as u64,
            frames: 0,
            version,
        })
    }

    /// The log file now has another path (its folder was renamed into place).
    pub fn moved_to(&mut self, path: PathBuf) {
        self.path = path;
    }

    /// The format version of the file's frames.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// Bytes in the log, header included.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Bytes in the log after its header.
    pub fn tail_len(&self) -> u64 {
        self.len - self.start
    }

    /// Where the frames start.
    pub fn start(&self) -> usize {
        self.start as usize
    }

    /// Frames in the log.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Writes `count` encoded frames at the end and `fdatasync`s. On failure the log is cut
    /// back to its previous length, so a half-written frame never sits in front of later ones.
    pub fn append(&mut self, frames: &[u8], count: usize) -> Result<(), StoreError> {
        Self::append_all(vec![(self, frames, count)])
            .pop()
            .unwrap_or(Ok(()))
    }

    /// [`append`](Self::append)s to several logs as one group: every write, then their
    /// `fdatasync`s at once (as the store's group commit flushes). The outcome of each, in
    /// order.
    pub fn append_all(batch: Vec<(&mut LogWriter, &[u8], usize)>) -> Vec<Result<(), StoreError>> {
        let written: Vec<Result<(), StoreError>> = batch
            .iter()
            .map(|(log, frames, _)| {
                let mut file = &log.file;
                file.seek(SeekFrom::Start(log.len))
                    .and_then(|_| file.write_all(frames))
                    .map_err(|e| StoreError::io("append to", &log.path, e))
            })
            .collect();
        let files: Vec<&File> = batch.iter().map(|(log, _, _)| &log.file).collect();
        let synced = format::sync_at_once(&files, File::sync_data);
        batch
            .into_iter()
            .zip(written.into_iter().zip(synced))
            .map(|((log, frames, count), (written, synced))| {
                let result = written
                    .and_then(|()| synced.map_err(|e| StoreError::io("fdatasync", &log.path, e)));
                match result {
                    Ok(()) => {
                        log.len += frames.len() as u64;
                        log.frames += count as u64;
                    }
                    // Best effort: if even this fails, the next open finds a torn tail and
                    // cuts it.
                    Err(_) => {
                        let _ = log.file.set_len(log.len);
                    }
                }
                result
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crdt_text::{OpId, OpKind, ReplicaId};

    use super::*;

    fn op(counter: u64, text: &str) -> Op {
        Op {
            meta: None,
            id: OpId::new(ReplicaId::from(7), counter),
            kind: OpKind::Insert {
                origin_left: None,
                origin_right: None,
                text: text.into(),
            },
        }
    }

    fn log_with(doc: &DocId, batches: &[Vec<Op>]) -> Vec<u8> {
        let mut bytes = header::header(FileKind::Log, doc).to_vec();
        for batch in batches {
            encode_frames(doc, batch, &mut bytes).unwrap();
        }
        bytes
    }

    fn decoded(bytes: &[u8], scan: &Scan) -> Vec<Op> {
        scan.frames
            .iter()
            .flat_map(|r| decode_payload(&bytes[r.clone()], header::FORMAT_VERSION).unwrap())
            .collect()
    }

    #[test]
    fn frames_round_trip() {
        let doc = DocId::random();
        let batches = vec![vec![op(0, "ab"), op(2, "c")], vec![op(3, "dé")]];
        let bytes = log_with(&doc, &batches);
        let scan = scan(&doc, &bytes, HEADER_LEN);
        assert_eq!(scan.frames.len(), 2);
        assert!(scan.damage.is_empty() && scan.torn.is_none());
        assert_eq!(scan.good_end(), bytes.len() as u64);
        assert_eq!(decoded(&bytes, &scan), batches.concat());
    }

    #[test]
    fn every_truncation_point_is_a_torn_tail_keeping_whole_frames() {
        let doc = DocId::random();
        let batches: Vec<Vec<Op>> = (0..4).map(|i| vec![op(i, "xyz")]).collect();
        let full = log_with(&doc, &batches);
        let ends: Vec<usize> = {
            let s = scan(&doc, &full, HEADER_LEN);
            s.frames.iter().map(|r| r.end + CHECK_BYTES).collect()
        };
        for cut in HEADER_LEN..full.len() {
            let s = scan(&doc, &full[..cut], HEADER_LEN);
            let whole = ends.iter().filter(|&&e| e <= cut).count();
            assert_eq!(s.frames.len(), whole, "cut at {cut}");
            assert!(s.damage.is_empty(), "cut at {cut}");
            let expect_torn = !ends.contains(&cut) && cut > HEADER_LEN;
            assert_eq!(s.torn.is_some(), expect_torn, "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_bit_in_the_middle_loses_only_its_frame() {
        let doc = DocId::random();
        let batches: Vec<Vec<Op>> = (0..5).map(|i| vec![op(i, "hello")]).collect();
        let mut bytes = log_with(&doc, &batches);
        let s = scan(&doc, &bytes, HEADER_LEN);
        let victim = s.frames[2].start + 1;
        bytes[victim] ^= 0x04;
        let s = scan(&doc, &bytes, HEADER_LEN);
        assert_eq!(s.frames.len(), 4);
        assert_eq!(s.damage.len(), 1);
        assert!(s.torn.is_none());
        let ops = decoded(&bytes, &s);
        assert_eq!(ops.len(), 4);
        assert!(!ops.contains(&batches[2][0]));
    }

    #[test]
    fn zero_filled_tail_after_power_loss_is_torn_not_damage() {
        let doc = DocId::random();
        let mut bytes = log_with(&doc, &[vec![op(0, "a")]]);
        bytes.extend_from_slice(&[0u8; 4096]);
        let s = scan(&doc, &bytes, HEADER_LEN);
        assert_eq!(s.frames.len(), 1);
        assert_eq!(s.torn.map(|t| t.1), Some(4096));
    }

    #[test]
    fn frames_of_another_document_do_not_check_out() {
        let a = DocId::random();
        let b = DocId::random();
        let bytes = log_with(&a, &[vec![op(0, "a")]]);
        let s = scan(&b, &bytes, HEADER_LEN);
        assert!(s.frames.is_empty());
        assert!(s.torn.is_some());
    }

    #[test]
    fn large_batches_are_cut_into_frames_within_the_target() {
        let doc = DocId::random();
        let ops: Vec<Op> = (0..100).map(|i| op(i * 1000, &"k".repeat(1000))).collect();
        let mut out = header::header(FileKind::Log, &doc).to_vec();
        let frames = encode_frames_within(&doc, &ops, &mut out, 10_000).unwrap();
        let s = scan(&doc, &out, HEADER_LEN);
        assert_eq!(s.frames.len(), frames);
        assert!(frames >= 10, "{frames} frames");
        assert!(s.frames.iter().all(|r| r.len() <= 10_000));
        assert_eq!(decoded(&out, &s), ops);
        // An op larger than the target still gets a frame of its own.
        let big = vec![op(0, &"x".repeat(20_000))];
        let mut out = Vec::new();
        assert_eq!(
            encode_frames_within(&doc, &big, &mut out, 10_000).unwrap(),
            1
        );
    }

    #[test]
    fn a_log_with_a_damaged_header_is_still_read_by_its_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let doc = DocId::random();
        let batches: Vec<Vec<Op>> = (0..3).map(|i| vec![op(i, "abc")]).collect();
        let mut bytes = log_with(&doc, &batches);
        bytes[20] ^= 0x08; // inside the document id
        std::fs::write(&path, &bytes).unwrap();
        let found = read(&path, &doc).unwrap().unwrap();
        assert!(found.damaged_header.is_some());
        assert_eq!(found.scan.frames.len(), 3);
        assert_eq!(decoded(&found.bytes, &found.scan), batches.concat());
        // Another document's intact log is refused.
        std::fs::write(&path, log_with(&DocId::random(), &batches)).unwrap();
        assert!(matches!(
            read(&path, &doc),
            Err(StoreError::WrongDocument { .. })
        ));
    }
}
