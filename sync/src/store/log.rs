//! The op log: an append-only file of checksummed frames, each a batch of ops.
//!
//! # Format (`log`, format version 2)
//!
//! ```text
//! header   44 bytes   magic "duet-log", version, document id (see `format`)
//! frame*   len        u32 little-endian: payload length in bytes (≤ MAX_FRAME)
//!          payload    postcard encoding of Vec<crdt_text::Op> (each op a byte string in
//!                     crdt-text's compact form; version 1: the derived serde form, read by
//!                     `legacy.rs`)
//!          check      8 bytes: BLAKE3 keyed with the document id, over `len ‖ payload`,
//!                     truncated to 8 bytes
//! ```
//!
//! A frame is written with one `write` and made durable with `fdatasync` before anything that
//! depends on it (the editor's "saved", an acknowledgement to a peer). Keying the checksum with
//! the document id means a frame copied from another document's log never checks out.
//!
//! # Recovery
//!
//! Reading walks the frames. A frame that does not check out starts a bad region; the reader
//! looks for the next offset where a frame checks out (a false match has probability 2⁻⁶⁴).
//! - No valid frame after it: the bad region is the **torn tail** of a write interrupted by a
//!   crash. It holds nothing that was ever acknowledged; it is cut off with a warning.
//! - Valid frames after it: the log is **damaged in the middle** (a flipped bit, a bad
//!   sector). Every frame that checks out is kept; the damaged file is moved aside and a clean
//!   log with the recovered frames replaces it.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crdt_text::Op;

use super::StoreError;
use super::format::{self, FileKind, HEADER_LEN};
use crate::ids::DocId;

/// Bytes of the length prefix.
const LEN_BYTES: usize = 4;
/// Bytes of the per-frame checksum.
const CHECK_BYTES: usize = 8;
/// Largest payload a frame may have. Larger lengths are treated as damage, so a corrupted
/// length can never make the reader allocate or skip gigabytes.
pub const MAX_FRAME: usize = 64 << 20;
/// Ops per frame when a large batch is split (keeps frames well under [`MAX_FRAME`]).
const OPS_PER_FRAME: usize = 4096;

fn checksum(doc: &DocId, len: &[u8], payload: &[u8]) -> [u8; CHECK_BYTES] {
    let mut hasher = blake3::Hasher::new_keyed(doc.as_bytes());
    hasher.update(len);
    hasher.update(payload);
    let mut out = [0u8; CHECK_BYTES];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..CHECK_BYTES]);
    out
}

/// Appends the frames for `ops` to `out` (one frame per [`OPS_PER_FRAME`] ops). Returns how
/// many frames were written.
pub fn encode_frames(doc: &DocId, ops: &[Op], out: &mut Vec<u8>) -> Result<usize, StoreError> {
    let mut frames = 0;
    for chunk in ops.chunks(OPS_PER_FRAME) {
        let payload = postcard::to_stdvec(chunk)?;
        if payload.len() > MAX_FRAME {
            return Err(StoreError::Encode(postcard::Error::SerializeBufferFull));
        }
        let len = (payload.len() as u32).to_le_bytes();
        out.extend_from_slice(&len);
        out.extend_from_slice(&payload);
        out.extend_from_slice(&checksum(doc, &len, &payload));
        frames += 1;
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
            .map_or(HEADER_LEN, |r| r.end + CHECK_BYTES) as u64
    }
}

/// Walks the frames of a log whose header has already been checked.
pub fn scan(doc: &DocId, bytes: &[u8]) -> Scan {
    let mut out = Scan::default();
    let mut pos = HEADER_LEN;
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
    /// The format version of the file's frames.
    version: u16,
}

impl LogWriter {
    /// Atomically replaces the log at `path` with a fresh one holding `frames` (already
    /// encoded), then opens it for appending.
    pub fn create(path: &Path, doc: &DocId, frames: &[u8]) -> Result<Self, StoreError> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + frames.len());
        bytes.extend_from_slice(&format::header(FileKind::Log, doc));
        bytes.extend_from_slice(frames);
        format::write_atomic(path, &bytes)?;
        Self::open(path, bytes.len() as u64, format::FORMAT_VERSION)
    }

    /// Opens an existing log of format `version` for appending after its first `good_len`
    /// bytes, cutting anything beyond (a torn tail) durably.
    pub fn open(path: &Path, good_len: u64, version: u16) -> Result<Self, StoreError> {
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
            version,
        })
    }

    /// The format version of the file's frames.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// Bytes in the log, header included.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Writes encoded frames at the end and `fdatasync`s. On failure the log is cut back to
    /// its previous length, so a half-written frame never sits in front of later ones.
    pub fn append(&mut self, frames: &[u8]) -> Result<(), StoreError> {
        let result = (|| {
            self.file
                .seek(SeekFrom::Start(self.len))
                .and_then(|_| self.file.write_all(frames))
                .map_err(|e| StoreError::io("append to", &self.path, e))?;
            self.file
                .sync_data()
                .map_err(|e| StoreError::io("fdatasync", &self.path, e))
        })();
        match result {
            Ok(()) => {
                self.len += frames.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Best effort: if even this fails, the next open finds a torn tail and cuts it.
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crdt_text::{OpId, OpKind, ReplicaId};

    use super::*;

    fn op(counter: u64, text: &str) -> Op {
        Op {
            id: OpId::new(ReplicaId::from(7), counter),
            kind: OpKind::Insert {
                origin_left: None,
                origin_right: None,
                text: text.into(),
            },
        }
    }

    fn log_with(doc: &DocId, batches: &[Vec<Op>]) -> Vec<u8> {
        let mut bytes = format::header(FileKind::Log, doc).to_vec();
        for batch in batches {
            encode_frames(doc, batch, &mut bytes).unwrap();
        }
        bytes
    }

    fn decoded(bytes: &[u8], scan: &Scan) -> Vec<Op> {
        scan.frames
            .iter()
            .flat_map(|r| decode_payload(&bytes[r.clone()], format::FORMAT_VERSION).unwrap())
            .collect()
    }

    #[test]
    fn frames_round_trip() {
        let doc = DocId::random();
        let batches = vec![vec![op(0, "ab"), op(2, "c")], vec![op(3, "dé")]];
        let bytes = log_with(&doc, &batches);
        let scan = scan(&doc, &bytes);
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
            let s = scan(&doc, &full);
            s.frames.iter().map(|r| r.end + CHECK_BYTES).collect()
        };
        for cut in HEADER_LEN..full.len() {
            let s = scan(&doc, &full[..cut]);
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
        let s = scan(&doc, &bytes);
        let victim = s.frames[2].start + 1;
        bytes[victim] ^= 0x04;
        let s = scan(&doc, &bytes);
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
        let s = scan(&doc, &bytes);
        assert_eq!(s.frames.len(), 1);
        assert_eq!(s.torn.map(|t| t.1), Some(4096));
    }

    #[test]
    fn frames_of_another_document_do_not_check_out() {
        let a = DocId::random();
        let b = DocId::random();
        let bytes = log_with(&a, &[vec![op(0, "a")]]);
        let s = scan(&b, &bytes);
        assert!(s.frames.is_empty());
        assert!(s.torn.is_some());
    }

    #[test]
    fn large_batches_are_split_into_frames() {
        let doc = DocId::random();
        let ops: Vec<Op> = (0..10_000).map(|i| op(i, "k")).collect();
        let mut out = Vec::new();
        assert_eq!(encode_frames(&doc, &ops, &mut out).unwrap(), 3);
    }
}
