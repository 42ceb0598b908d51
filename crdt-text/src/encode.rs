//! The compact binary form of a document ([`Doc::encode`]) and of a batch of its ops
//! ([`Doc::encode_since`]).
//!
//! # Format (version 1)
//!
//! ```text
//! header   "DUET" | format version: u8 = 1 | kind: u8 (0 = document, 1 = update)
//!          | body length: varint | zlib(body)
//! body     replicas: varint n, then n × u64 little-endian ReplicaId
//!          runs:     varint n, then n × (varint replica index, varint first counter, varint len)
//!                    — assigns the body's local versions 0, 1, 2, … to wire ids, in order
//!          ops:      varint n, then n × (varint len << 2 | kind, refs…)
//!                    kind 0 insert: ref origin_left, ref origin_right
//!                    kind 1 delete forward, kind 2 delete backward: ref first target
//!          content:  varint byte length, UTF-8 text of every insert in order
//!          spans:    (documents only) varint n, then n × (varint len << 1 | deleted,
//!                    zigzag varint lv − end of previous span): the document order
//! ref      varint: 0 none; 2k+1 the local version (op start − 1 − k);
//!          2 (updates only) an id outside the body: varint replica index, varint counter
//! ```
//!
//! Varints are unsigned LEB128. The zlib stream's Adler-32 catches accidental damage; every
//! length, index and reference is also checked, so no input makes decoding panic.

use crate::doc::Doc;
use crate::history::{DelRun, History, InsRun, Kind};
use crate::tree::{MAX_SPAN, NIL, Span, Tree};
use crate::{DeleteSpan, Lv, Op, OpId, OpKind, Patch, ReplicaId, VersionVector};

const MAGIC: &[u8; 4] = b"DUET";
/// The encoding's format version.
pub const FORMAT_VERSION: u8 = 1;
const KIND_DOC: u8 = 0;
const KIND_UPDATE: u8 = 1;
/// Largest body accepted (uncompressed).
const MAX_BODY: usize = 1 << 30;

/// Why bytes could not be decoded.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes do not start with the duet magic.
    #[error("not a duet document (bad magic)")]
    BadMagic,
    /// Written by a newer (or unknown) format version.
    #[error("unsupported format version {0} (this build reads version {FORMAT_VERSION})")]
    UnsupportedVersion(u8),
    /// A document was expected and this is an update, or the other way round.
    #[error("expected a {expected}, found kind {found}")]
    WrongKind {
        /// What the caller asked for.
        expected: &'static str,
        /// The kind byte found.
        found: u8,
    },
    /// The input ends early.
    #[error("truncated input")]
    Truncated,
    /// The compressed body is damaged.
    #[error("damaged body: {0}")]
    Decompress(String),
    /// The body decodes but is inconsistent.
    #[error("corrupt document: {0}")]
    Corrupt(&'static str),
    /// An update's op could not be applied.
    #[error("update op rejected: {0}")]
    Rejected(#[from] crate::ApplyError),
}

// ---- primitives -----------------------------------------------------------------------------

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(DecodeError::Corrupt("varint too long"))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.varint()?).map_err(|_| DecodeError::Corrupt("number too large"))
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(s)
    }
    /// A count of items that each take at least one byte: bounded by the bytes left.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let n = self.varint()?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(DecodeError::Truncated);
        }
        Ok(n as usize)
    }
}

fn wrap(kind: u8, body: &[u8]) -> Vec<u8> {
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(body, 6);
    let mut out = Vec::with_capacity(packed.len() + 16);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.push(kind);
    put_varint(&mut out, body.len() as u64);
    out.extend_from_slice(&packed);
    out
}

fn unwrap_body(bytes: &[u8]) -> Result<(u8, Vec<u8>), DecodeError> {
    if bytes.len() < 6 {
        return Err(if bytes.starts_with(&MAGIC[..bytes.len().min(4)]) {
            DecodeError::Truncated
        } else {
            DecodeError::BadMagic
        });
    }
    if &bytes[..4] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    if bytes[4] != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion(bytes[4]));
    }
    let kind = bytes[5];
    let mut r = Reader { buf: bytes, pos: 6 };
    let len = r.varint()?;
    if len > MAX_BODY as u64 {
        return Err(DecodeError::Corrupt("body too large"));
    }
    let body =
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&bytes[r.pos..], len as usize)
            .map_err(|e| DecodeError::Decompress(format!("{:?}", e.status)))?;
    if body.len() as u64 != len {
        return Err(DecodeError::Corrupt("body length mismatch"));
    }
    Ok((kind, body))
}

// ---- encoding -------------------------------------------------------------------------------

/// Writes op references relative to the body's own local versions.
struct Refs<'a> {
    doc: &'a Doc,
    /// The doc's local-version ranges included in the body, ascending, with the body version
    /// each starts at. `None`: the whole history, numbered as in the doc.
    ranges: Option<Vec<(Lv, u32, Lv)>>,
    /// Replica indexes used by the body.
    replica_map: Vec<u32>,
}

impl Refs<'_> {
    fn body_lv(&self, lv: Lv) -> Option<Lv> {
        let Some(ranges) = &self.ranges else {
            return Some(lv);
        };
        let i = ranges.partition_point(|&(a, n, _)| a + n <= lv);
        ranges
            .get(i)
            .filter(|&&(a, _, _)| a <= lv)
            .map(|&(a, _, b)| b + (lv - a))
    }

    /// How many of `max` targets from `first` on (down, if `backward`) are consecutive
    /// counters of one replica and all in, or all out of, the body.
    fn uniform_len(&self, first: Lv, max: u32, backward: bool) -> u32 {
        let run = self.doc.hist.replicas.run_of(first);
        let mut room = if backward {
            first - run.lv + 1
        } else {
            run.lv + run.len - first
        };
        if let Some(ranges) = &self.ranges {
            let i = ranges.partition_point(|&(a, n, _)| a + n <= first);
            let inside = ranges.get(i).is_some_and(|&(a, _, _)| a <= first);
            let bound = match (inside, backward) {
                (true, false) => ranges[i].0 + ranges[i].1 - first,
                (true, true) => first - ranges[i].0 + 1,
                (false, false) => ranges.get(i).map_or(u32::MAX, |&(a, _, _)| a - first),
                (false, true) => i
                    .checked_sub(1)
                    .map_or(first + 1, |j| first - (ranges[j].0 + ranges[j].1) + 1),
            };
            room = room.min(bound);
        }
        room.min(max).max(1)
    }

    fn put(&self, out: &mut Vec<u8>, lv: Lv, cur: Lv) {
        if lv == NIL {
            return put_varint(out, 0);
        }
        match self.body_lv(lv) {
            Some(b) => put_varint(out, (u64::from(cur - 1 - b) << 1) | 1),
            None => {
                let id = self.doc.hist.replicas.id_of(lv);
                let r = self.doc.hist.replicas.index_of(id.replica).unwrap_or(0);
                put_varint(out, 2);
                put_varint(out, u64::from(self.replica_map[r as usize]));
                put_varint(out, id.counter);
            }
        }
    }
}

impl Doc {
    /// The whole document — full history and current order — in the compact, versioned,
    /// compressed format described in this module. [`Doc::decode`] loads it back in a few ms.
    pub fn encode(&self) -> Vec<u8> {
        let all = vec![(0, self.hist.next_lv)];
        let mut body = self.encode_body(&all, None);
        let mut prev_end: i64 = 0;
        put_varint(&mut body, self.tree.span_count() as u64);
        for s in self.tree.spans() {
            put_varint(
                &mut body,
                (u64::from(s.len()) << 1) | u64::from(s.deleted()),
            );
            put_varint(&mut body, zigzag(i64::from(s.lv()) - prev_end));
            prev_end = i64::from(s.end());
        }
        wrap(KIND_DOC, &body)
    }

    /// The ops a replica at `version` lacks, compactly (the same format, as an update). Apply
    /// with [`Doc::apply_update`]. For an empty `version` this is the whole document.
    pub fn encode_since(&self, version: &VersionVector) -> Vec<u8> {
        if version.is_empty() {
            return self.encode();
        }
        let ranges = self.lv_ranges_since(version);
        let mut numbered = Vec::with_capacity(ranges.len());
        let mut next = 0;
        for &(lv, n) in &ranges {
            numbered.push((lv, n, next));
            next += n;
        }
        let body = self.encode_body(&ranges, Some(numbered));
        wrap(KIND_UPDATE, &body)
    }

    fn encode_body(&self, ranges: &[(Lv, u32)], numbered: Option<Vec<(Lv, u32, Lv)>>) -> Vec<u8> {
        let hist = &self.hist;
        let reps = &hist.replicas;
        let mut body =
            Vec::with_capacity(hist.content.len() + 64 * (hist.ins.len() + hist.del.len()));
        // Replicas: all of them (cheap; keeps indexes stable).
        put_varint(&mut body, reps.ids.len() as u64);
        for id in &reps.ids {
            body.extend_from_slice(&id.as_u64().to_le_bytes());
        }
        let refs = Refs {
            doc: self,
            ranges: numbered,
            replica_map: (0..reps.ids.len() as u32).collect(),
        };
        // Runs.
        let mut runs = Vec::new();
        for &(lv, n) in ranges {
            runs.extend(reps.split_lv_range(lv, n));
        }
        put_varint(&mut body, runs.len() as u64);
        for run in &runs {
            put_varint(&mut body, u64::from(run.replica));
            put_varint(&mut body, run.counter);
            put_varint(&mut body, u64::from(run.len));
        }
        // Ops, and their content.
        let mut ops = Vec::new();
        let mut count = 0u64;
        let mut content = String::new();
        for &(start, n) in ranges {
            let end = start + n;
            let mut lv = start;
            while lv < end {
                let cur = refs.body_lv(lv).unwrap_or(lv);
                match hist.kind_of(lv) {
                    Some(Kind::Ins(i)) => {
                        let run = hist.ins[i];
                        let take = end.min(run.end()) - lv;
                        let (left, right) = run.origins_of(lv);
                        put_varint(&mut ops, u64::from(take) << 2);
                        refs.put(&mut ops, left, cur);
                        refs.put(&mut ops, right, cur);
                        content.push_str(hist.text_of(i, lv, take));
                        lv += take;
                    }
                    Some(Kind::Del(i)) => {
                        let run = hist.del[i];
                        let from = lv - run.lv;
                        let (first, _, backward) = run.targets(from, from + 1);
                        // One entry per stretch of targets that a receiver can resolve
                        // alike: one replica's consecutive counters, all in or all out of
                        // the body.
                        let take = refs.uniform_len(first, end.min(run.end()) - lv, backward);
                        let kind = if backward && take > 1 { 2 } else { 1 };
                        put_varint(&mut ops, (u64::from(take) << 2) | kind);
                        refs.put(&mut ops, first, cur);
                        lv += take;
                    }
                    None => break,
                }
                count += 1;
            }
        }
        put_varint(&mut body, count);
        body.extend_from_slice(&ops);
        put_varint(&mut body, content.len() as u64);
        body.extend_from_slice(content.as_bytes());
        body
    }

    /// Loads a document made by [`Doc::encode`], to be edited further as `replica` (the same
    /// replica that encoded it, to continue its history, or a fresh one).
    pub fn decode(bytes: &[u8], replica: ReplicaId) -> Result<Doc, DecodeError> {
        let (kind, body) = unwrap_body(bytes)?;
        if kind != KIND_DOC {
            return Err(DecodeError::WrongKind {
                expected: "document",
                found: kind,
            });
        }
        let mut r = Reader { buf: &body, pos: 0 };
        let hist = decode_history(&mut r)?;
        let n = r.count()?;
        let mut spans = Vec::with_capacity(n);
        let mut prev_end: i64 = 0;
        for _ in 0..n {
            let x = r.varint()?;
            let len = u32::try_from(x >> 1).map_err(|_| DecodeError::Corrupt("span too long"))?;
            let lv = prev_end + unzigzag(r.varint()?);
            if len == 0 || len > MAX_SPAN || lv < 0 || lv + i64::from(len) > i64::from(hist.next_lv)
            {
                return Err(DecodeError::Corrupt("span out of range"));
            }
            spans.push(Span::new(lv as Lv, len, x & 1 == 1));
            prev_end = lv + i64::from(len);
        }
        if r.pos != body.len() {
            return Err(DecodeError::Corrupt("trailing bytes"));
        }
        check_spans_cover_inserts(&hist, &spans)?;
        let tree = Tree::from_spans(&spans, &hist.newlines);
        Ok(Doc::from_parts(replica, hist, tree))
    }

    /// Applies an update made by [`Doc::encode_since`] (or a whole document made by
    /// [`Doc::encode`]) on another replica, returning the visible changes in order. Ops this
    /// replica already has are skipped.
    pub fn apply_update(&mut self, bytes: &[u8]) -> Result<Vec<Patch>, DecodeError> {
        let (kind, body) = unwrap_body(bytes)?;
        if kind == KIND_DOC && self.version().is_empty() && self.pending_len() == 0 {
            let doc = Doc::decode(bytes, self.replica())?;
            *self = doc;
            return Ok(if self.is_empty() {
                Vec::new()
            } else {
                vec![Patch {
                    pos: 0,
                    del: 0,
                    ins: self.len(),
                }]
            });
        }
        if kind != KIND_DOC && kind != KIND_UPDATE {
            return Err(DecodeError::WrongKind {
                expected: "update",
                found: kind,
            });
        }
        let ops = decode_update_ops(&body, kind == KIND_DOC)?;
        let mut patches = Vec::new();
        for op in &ops {
            if let crate::Applied::Done(p) = self.apply(op)? {
                patches.extend(p);
            }
        }
        Ok(patches)
    }
}

// ---- decoding -------------------------------------------------------------------------------

/// A reference read from a body.
enum Ref {
    None,
    Local(Lv),
    External(OpId),
}

fn read_ref(r: &mut Reader<'_>, cur: Lv, ids: &[ReplicaId]) -> Result<Ref, DecodeError> {
    let x = r.varint()?;
    if x == 0 {
        Ok(Ref::None)
    } else if x & 1 == 1 {
        let back = x >> 1;
        if back >= u64::from(cur) {
            return Err(DecodeError::Corrupt("reference to a later op"));
        }
        Ok(Ref::Local(cur - 1 - back as Lv))
    } else if x == 2 {
        let ri = r.varint()?;
        let id = *ids
            .get(ri as usize)
            .ok_or(DecodeError::Corrupt("replica index"))?;
        Ok(Ref::External(OpId::new(id, r.varint()?)))
    } else {
        Err(DecodeError::Corrupt("bad reference"))
    }
}

fn read_replicas(r: &mut Reader<'_>) -> Result<Vec<ReplicaId>, DecodeError> {
    let n = r.count()?;
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let b = r.bytes(8)?;
        ids.push(ReplicaId::from(u64::from_le_bytes(
            b.try_into().map_err(|_| DecodeError::Truncated)?,
        )));
    }
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != ids.len() {
        return Err(DecodeError::Corrupt("duplicate replica"));
    }
    Ok(ids)
}

/// Runs as `(replica index, first counter, len)`, with the total length.
fn read_runs(
    r: &mut Reader<'_>,
    replicas: usize,
) -> Result<(Vec<(u32, u64, u32)>, Lv), DecodeError> {
    let n = r.count()?;
    let mut runs = Vec::with_capacity(n);
    let mut total: u64 = 0;
    for _ in 0..n {
        let ri = r.u32()?;
        let counter = r.varint()?;
        let len = r.u32()?;
        if ri as usize >= replicas || len == 0 || counter.checked_add(u64::from(len)).is_none() {
            return Err(DecodeError::Corrupt("bad run"));
        }
        total += u64::from(len);
        runs.push((ri, counter, len));
    }
    if total >= u64::from(NIL) {
        return Err(DecodeError::Corrupt("history too long"));
    }
    Ok((runs, total as Lv))
}

fn decode_history(r: &mut Reader<'_>) -> Result<History, DecodeError> {
    let ids = read_replicas(r)?;
    let (runs, total) = read_runs(r, ids.len())?;
    let mut hist = History::default();
    for id in &ids {
        hist.replicas.intern(*id);
    }
    let mut lv = 0;
    for &(ri, counter, len) in &runs {
        if hist.replicas.next_counter(ri) != counter {
            return Err(DecodeError::Corrupt("counters out of order"));
        }
        hist.replicas.push(ri, lv, len);
        lv += len;
    }
    // Ops.
    let n = r.count()?;
    let mut cur: Lv = 0;
    let mut content_chars: u64 = 0;
    for _ in 0..n {
        let x = r.varint()?;
        let len = u32::try_from(x >> 2).map_err(|_| DecodeError::Corrupt("op too long"))?;
        if len == 0 || u64::from(cur) + u64::from(len) > u64::from(total) || len > MAX_SPAN {
            return Err(DecodeError::Corrupt("op length"));
        }
        match x & 3 {
            0 => {
                let left = local_ref(read_ref(r, cur, &ids)?)?;
                let right = local_ref(read_ref(r, cur, &ids)?)?;
                for o in [left, right] {
                    if o != NIL && !hist.is_char(o) {
                        return Err(DecodeError::Corrupt("origin is not a character"));
                    }
                }
                hist.ins.push(InsRun {
                    lv: cur,
                    len,
                    origin_left: left,
                    origin_right: right,
                    byte: 0,
                });
                content_chars += u64::from(len);
            }
            k @ (1 | 2) => {
                let target = local_ref(read_ref(r, cur, &ids)?)?;
                let backward = k == 2;
                if target == NIL
                    || (backward && target + 1 < len)
                    || (!backward && target + len > cur)
                {
                    return Err(DecodeError::Corrupt("delete target out of range"));
                }
                let lo = if backward { target + 1 - len } else { target };
                let mut t = lo;
                while t < lo + len {
                    match hist.kind_of(t) {
                        Some(Kind::Ins(i)) => t = hist.ins[i].end(),
                        _ => return Err(DecodeError::Corrupt("delete of a non-character")),
                    }
                }
                hist.del.push(DelRun {
                    lv: cur,
                    len,
                    target,
                    backward,
                });
            }
            _ => return Err(DecodeError::Corrupt("bad op kind")),
        }
        cur += len;
    }
    if cur != total {
        return Err(DecodeError::Corrupt("ops do not match runs"));
    }
    hist.next_lv = total;
    // Content.
    let n = r.count()?;
    let text = std::str::from_utf8(r.bytes(n)?)
        .map_err(|_| DecodeError::Corrupt("content is not UTF-8"))?;
    let ascii = text.is_ascii();
    if ascii && text.len() as u64 != content_chars {
        return Err(DecodeError::Corrupt("content length"));
    }
    let mut byte = 0usize;
    let mut chars = text.char_indices();
    for run in &mut hist.ins {
        run.byte = byte as u32;
        let run_bytes = if ascii {
            run.len as usize
        } else {
            let start = byte;
            let mut end = start;
            for _ in 0..run.len {
                let (b, c) = chars.next().ok_or(DecodeError::Corrupt("content length"))?;
                end = b + c.len_utf8();
            }
            end - start
        };
        for (k, &b) in text.as_bytes()[byte..byte + run_bytes].iter().enumerate() {
            if b == b'\n' {
                let k = if ascii {
                    k
                } else {
                    text[byte..byte + k].chars().count()
                };
                hist.newlines.push(run.lv + k as u32);
            }
        }
        byte += run_bytes;
    }
    if byte != text.len() {
        return Err(DecodeError::Corrupt("content length"));
    }
    hist.content = text.to_owned();
    Ok(hist)
}

fn local_ref(r: Ref) -> Result<Lv, DecodeError> {
    match r {
        Ref::None => Ok(NIL),
        Ref::Local(lv) => Ok(lv),
        Ref::External(_) => Err(DecodeError::Corrupt("external reference in a document")),
    }
}

/// Every inserted character must be in exactly one span.
fn check_spans_cover_inserts(hist: &History, spans: &[Span]) -> Result<(), DecodeError> {
    let words = (hist.next_lv as usize).div_ceil(64);
    let mut bits = vec![0u64; words];
    for run in &hist.ins {
        set_bits(&mut bits, run.lv, run.len);
    }
    for s in spans {
        if !clear_bits(&mut bits, s.lv(), s.len()) {
            return Err(DecodeError::Corrupt(
                "span is not a set of fresh characters",
            ));
        }
    }
    if bits.iter().any(|&w| w != 0) {
        return Err(DecodeError::Corrupt("character missing from the order"));
    }
    Ok(())
}

fn set_bits(bits: &mut [u64], lv: Lv, len: u32) {
    for i in lv..lv + len {
        bits[(i / 64) as usize] |= 1 << (i % 64);
    }
}

/// Clears the bits, returning false if any was not set.
fn clear_bits(bits: &mut [u64], lv: Lv, len: u32) -> bool {
    let mut ok = true;
    for i in lv..lv + len {
        let w = &mut bits[(i / 64) as usize];
        let m = 1u64 << (i % 64);
        ok &= *w & m != 0;
        *w &= !m;
    }
    ok
}

/// The ops of an update body (or of a document body, ignoring its spans), as wire ops.
fn decode_update_ops(body: &[u8], is_doc: bool) -> Result<Vec<Op>, DecodeError> {
    let mut r = Reader { buf: body, pos: 0 };
    let ids = read_replicas(&mut r)?;
    let (runs, total) = read_runs(&mut r, ids.len())?;
    // Body local version → wire id.
    let mut starts = Vec::with_capacity(runs.len());
    let mut lv = 0;
    for &(ri, counter, len) in &runs {
        starts.push((lv, ids[ri as usize], counter, len));
        lv += len;
    }
    let id_of = |lv: Lv| -> Result<OpId, DecodeError> {
        let i = starts.partition_point(|&(a, _, _, n)| a + n <= lv);
        let &(a, id, counter, _) = starts
            .get(i)
            .ok_or(DecodeError::Corrupt("reference out of range"))?;
        Ok(OpId::new(id, counter + u64::from(lv - a)))
    };
    let to_id = |r: Ref| -> Result<Option<OpId>, DecodeError> {
        match r {
            Ref::None => Ok(None),
            Ref::Local(lv) => id_of(lv).map(Some),
            Ref::External(id) => Ok(Some(id)),
        }
    };
    enum Raw {
        Ins(OpId, Option<OpId>, Option<OpId>, u32),
        Del(OpId, OpId, u32, bool),
    }
    let n = r.count()?;
    let mut raw = Vec::with_capacity(n);
    let mut cur: Lv = 0;
    for _ in 0..n {
        let x = r.varint()?;
        let len = u32::try_from(x >> 2).map_err(|_| DecodeError::Corrupt("op too long"))?;
        if len == 0 || u64::from(cur) + u64::from(len) > u64::from(total) {
            return Err(DecodeError::Corrupt("op length"));
        }
        let id = id_of(cur)?;
        match x & 3 {
            0 => {
                let left = to_id(read_ref(&mut r, cur, &ids)?)?;
                let right = to_id(read_ref(&mut r, cur, &ids)?)?;
                raw.push(Raw::Ins(id, left, right, len));
            }
            k @ (1 | 2) => {
                let target = to_id(read_ref(&mut r, cur, &ids)?)?
                    .ok_or(DecodeError::Corrupt("delete of nothing"))?;
                raw.push(Raw::Del(id, target, len, k == 2));
            }
            _ => return Err(DecodeError::Corrupt("bad op kind")),
        }
        cur += len;
    }
    let n = r.count()?;
    let text = std::str::from_utf8(r.bytes(n)?)
        .map_err(|_| DecodeError::Corrupt("content is not UTF-8"))?;
    if !is_doc && r.pos != body.len() {
        return Err(DecodeError::Corrupt("trailing bytes"));
    }
    let mut chars = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()));
    let mut byte = chars.next().unwrap_or(0);
    let mut ops: Vec<Op> = Vec::with_capacity(raw.len());
    for op in raw {
        match op {
            Raw::Ins(id, origin_left, origin_right, len) => {
                let start = byte;
                byte = chars
                    .nth(len as usize - 1)
                    .ok_or(DecodeError::Corrupt("content length"))?;
                ops.push(Op {
                    id,
                    kind: OpKind::Insert {
                        origin_left,
                        origin_right,
                        text: text[start..byte].to_owned(),
                    },
                });
            }
            Raw::Del(id, target, len, backward) => {
                // The targets may cross runs of the body's local versions; the wire form
                // names them by id, which is what the receiving replica resolves.
                let spans = split_targets(target, len, backward, &starts)?;
                ops.push(Op {
                    id,
                    kind: OpKind::Delete { targets: spans },
                });
            }
        }
    }
    Ok(ops)
}

/// Splits `len` targets from `first` (wire id) into spans of consecutive counters. External
/// targets are taken as consecutive counters of their replica; targets inside the body follow
/// the body's runs.
fn split_targets(
    first: OpId,
    len: u32,
    backward: bool,
    starts: &[(Lv, ReplicaId, u64, u32)],
) -> Result<Vec<DeleteSpan>, DecodeError> {
    // Find whether `first` lies in the body: then consecutive body versions may change replica.
    let pos = starts.iter().position(|&(_, id, c, n)| {
        id == first.replica && c <= first.counter && first.counter < c + u64::from(n)
    });
    let Some(i) = pos else {
        if backward && first.counter + 1 < u64::from(len) {
            return Err(DecodeError::Corrupt("delete target out of range"));
        }
        return Ok(vec![DeleteSpan {
            start: first,
            len: u64::from(len),
            backward,
        }]);
    };
    let mut spans = Vec::new();
    let (a, _, c0, _) = starts[i];
    let mut lv = a + (first.counter - c0) as Lv;
    let mut left = len;
    while left > 0 {
        let j = starts.partition_point(|&(s, _, _, n)| s + n <= lv);
        let &(s, id, c, n) = starts
            .get(j)
            .ok_or(DecodeError::Corrupt("delete target out of range"))?;
        let room = if backward { lv - s + 1 } else { s + n - lv };
        let k = room.min(left);
        spans.push(DeleteSpan {
            start: OpId::new(id, c + u64::from(lv - s)),
            len: u64::from(k),
            backward,
        });
        left -= k;
        if left > 0 {
            lv = if backward {
                lv.checked_sub(k)
                    .ok_or(DecodeError::Corrupt("delete target out of range"))?
            } else {
                lv + k
            };
        }
    }
    Ok(spans)
}
