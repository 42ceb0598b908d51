//! Reading documents and updates in the format described in `codec.rs`.

use std::borrow::Cow;

use crate::codec::{
    DecodeError, KIND_DOC, KIND_UPDATE, Reader, V1, V2, open, read_content, unzigzag,
};
use crate::derive::older_neighbours;
use crate::doc::Doc;
use crate::history::{DelRun, History, InsRun};
use crate::tree::{MAX_SPAN, NIL, Span, Tree};
use crate::{
    Applied, Author, DeleteSpan, Lv, Op, OpId, OpKind, OpMeta, Patch, Rejected, ReplicaId, Targets,
    Text,
};

/// The outcome of [`Doc::apply_update`].
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct UpdateApplied {
    /// The visible changes, in order.
    pub patches: Vec<Patch>,
    /// Held ops (received earlier, by any path) that the update unblocked and that were
    /// dropped: see [`Applied::Done`].
    pub rejected: Vec<Rejected>,
}

/// An origin or delete target as stored.
#[derive(Clone, Copy)]
enum Ref {
    None,
    /// Implied by the document order (documents only).
    Derived,
    /// An op of this body.
    Local(Lv),
    /// An op outside the body (updates only).
    External(OpId),
}

enum Entry {
    Ins {
        lv: Lv,
        len: u32,
        left: Ref,
        right: Ref,
    },
    Del {
        lv: Lv,
        len: u32,
        target: Ref,
        backward: bool,
    },
}

/// A parsed body, up to and including its content.
struct Body<'a> {
    ids: Vec<ReplicaId>,
    runs: Vec<(u32, u64, u32)>,
    total: Lv,
    entries: Vec<Entry>,
    content: Cow<'a, str>,
    /// Authors by replica index (format 3).
    authors: Vec<(u32, Author)>,
    /// `(body version, time)`, ascending (format 3; see `History::times`).
    times: Vec<(Lv, u64)>,
    /// Whether the body records history (format 3 on): its ops' times are known.
    recorded: bool,
    /// What follows the history (a document's order).
    rest: Reader<'a>,
}

/// Reads the history section (format 3) of a body with `replicas` replicas and `total` ops.
#[allow(clippy::type_complexity)]
fn read_history(
    r: &mut Reader<'_>,
    replicas: usize,
    total: Lv,
) -> Result<(Vec<(u32, Author)>, Vec<(Lv, u64)>), DecodeError> {
    let n = r.count()?;
    let mut authors = Vec::with_capacity(n);
    for _ in 0..n {
        let i = r.u32()?;
        if i as usize >= replicas || authors.last().is_some_and(|&(j, _)| j >= i) {
            return Err(DecodeError::Corrupt("author of no replica"));
        }
        authors.push((i, crate::author::read_author(r)?));
    }
    let n = r.count()?;
    let (mut at, mut when) = (r.column()?, r.column()?);
    let mut times: Vec<(Lv, u64)> = Vec::with_capacity(n);
    let (mut lv, mut time) = (0u64, 0u64);
    for _ in 0..n {
        let d = at.varint()?;
        if d == 0 && !times.is_empty() {
            return Err(DecodeError::Corrupt("times out of order"));
        }
        lv = lv.saturating_add(d);
        if lv >= u64::from(total) {
            return Err(DecodeError::Corrupt("time of no op"));
        }
        time = time.wrapping_add(unzigzag(when.varint()?) as u64);
        times.push((lv as Lv, time));
    }
    if !(at.is_done() && when.is_done()) {
        return Err(DecodeError::Corrupt("time columns"));
    }
    Ok((authors, times))
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

/// Which inserts have derived origins: version 1 stores a flags varint per insert, version 2
/// only the inserts that differ from the default (see `codec.rs`).
struct Derived<'a> {
    column: Reader<'a>,
    v1: bool,
    default: u64,
    /// The next exception: its insert index and flags.
    next: Option<(u64, u64)>,
}

impl<'a> Derived<'a> {
    fn new(mut column: Reader<'a>, version: u8, is_doc: bool) -> Result<Self, DecodeError> {
        let v1 = version == V1;
        let next = if v1 || column.is_done() {
            None
        } else {
            let x = column.varint()?;
            Some((x >> 2, x & 3))
        };
        Ok(Derived {
            column,
            v1,
            default: if is_doc { 3 } else { 0 },
            next,
        })
    }

    /// The flags of insert `k` (asked for in ascending order, each once).
    fn flags(&mut self, k: u64) -> Result<u64, DecodeError> {
        if self.v1 {
            return self.column.varint();
        }
        match self.next {
            Some((at, flags)) if at == k => {
                self.next = if self.column.is_done() {
                    None
                } else {
                    let x = self.column.varint()?;
                    let skip = x >> 2;
                    Some((
                        k.checked_add(1 + skip)
                            .ok_or(DecodeError::Corrupt("bad origin flags"))?,
                        x & 3,
                    ))
                };
                if flags == self.default {
                    return Err(DecodeError::Corrupt("bad origin flags"));
                }
                Ok(flags)
            }
            _ => Ok(self.default),
        }
    }

    fn is_done(&self) -> bool {
        self.column.is_done() && self.next.is_none()
    }
}

fn parse_body(body: &[u8], is_doc: bool, version: u8) -> Result<Body<'_>, DecodeError> {
    let mut r = Reader::new(body);
    let n = r.count()?;
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let b: [u8; 8] = r.bytes(8)?.try_into().map_err(|_| DecodeError::Truncated)?;
        ids.push(ReplicaId::from(u64::from_le_bytes(b)));
    }
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != ids.len() {
        return Err(DecodeError::Corrupt("duplicate replica"));
    }
    let n = r.count()?;
    let mut runs = Vec::with_capacity(n);
    let mut total: u64 = 0;
    for _ in 0..n {
        let (ri, counter, len) = (r.u32()?, r.varint()?, r.u32()?);
        if ri as usize >= ids.len() || len == 0 || counter.checked_add(u64::from(len)).is_none() {
            return Err(DecodeError::Corrupt("bad run"));
        }
        total += u64::from(len);
        runs.push((ri, counter, len));
    }
    if total >= u64::from(NIL) {
        return Err(DecodeError::Corrupt("history too long"));
    }
    let total = total as Lv;

    let n = r.count()?;
    let (mut heads, flags, mut origins, mut targets) =
        (r.column()?, r.column()?, r.column()?, r.column()?);
    let mut flags = Derived::new(flags, version, is_doc)?;
    let mut inserts = 0u64;
    let mut entries = Vec::with_capacity(n);
    let mut cur: Lv = 0;
    let mut next_target: i64 = 0;
    for _ in 0..n {
        let x = heads.varint()?;
        let len = u32::try_from(x >> 2).map_err(|_| DecodeError::Corrupt("op too long"))?;
        if len == 0 || len > MAX_SPAN || u64::from(cur) + u64::from(len) > u64::from(total) {
            return Err(DecodeError::Corrupt("op length"));
        }
        match x & 3 {
            0 => {
                let f = flags.flags(inserts)?;
                inserts += 1;
                if f > 3 || (f != 0 && !is_doc) {
                    return Err(DecodeError::Corrupt("bad origin flags"));
                }
                let mut side = |bit: u64| {
                    if f & bit != 0 {
                        Ok(Ref::Derived)
                    } else {
                        read_ref(&mut origins, cur, &ids)
                    }
                };
                let left = side(1)?;
                let right = side(2)?;
                entries.push(Entry::Ins {
                    lv: cur,
                    len,
                    left,
                    right,
                });
            }
            k @ (1 | 2) => {
                let backward = k == 2;
                let target = if is_doc {
                    let t = targets.varint()?;
                    let first = if t & 1 == 0 {
                        next_target + unzigzag(t >> 1)
                    } else {
                        i64::from(cur) - 1 - (t >> 1).min(u64::from(NIL)) as i64
                    };
                    if first < 0 || first >= i64::from(cur) {
                        return Err(DecodeError::Corrupt("delete target out of range"));
                    }
                    let last = if backward {
                        first - (i64::from(len) - 1)
                    } else {
                        first + (i64::from(len) - 1)
                    };
                    next_target = if backward { last - 1 } else { last + 1 };
                    Ref::Local(first as Lv)
                } else {
                    read_ref(&mut targets, cur, &ids)?
                };
                entries.push(Entry::Del {
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
    if cur != total
        || !(heads.is_done() && flags.is_done() && origins.is_done() && targets.is_done())
    {
        return Err(DecodeError::Corrupt("ops do not match runs"));
    }
    let content = read_content(&mut r, version)?;
    let (authors, times) = if version == V1 || version == V2 {
        (Vec::new(), Vec::new())
    } else {
        read_history(&mut r, ids.len(), total)?
    };
    Ok(Body {
        ids,
        runs,
        total,
        entries,
        content,
        authors,
        times,
        recorded: version != V1 && version != V2,
        rest: r,
    })
}

impl Doc {
    /// Loads a document made by [`Doc::encode`], to be edited further as `replica` (the same
    /// replica that encoded it, to continue its history, or a fresh one).
    pub fn decode(bytes: &[u8], replica: ReplicaId) -> Result<Doc, DecodeError> {
        let (kind, version, raw) = open(bytes)?;
        if kind != KIND_DOC {
            return Err(DecodeError::WrongKind {
                expected: "document",
                found: kind,
            });
        }
        let mut body = parse_body(&raw, true, version)?;
        let spans = read_order(&mut body.rest, body.total)?;
        if !body.rest.is_done() {
            return Err(DecodeError::Corrupt("trailing bytes"));
        }
        let chars = Bits::of_inserts(&body);
        check_spans_cover_inserts(&chars, &spans)?;
        let hist = build_history(&mut body, &spans, &chars)?;
        let tree = Tree::from_spans(&spans, &hist.newlines);
        Ok(Doc::from_parts(replica, hist, tree))
    }

    /// Applies an update made by [`Doc::encode_since`] (or a whole document made by
    /// [`Doc::encode`]) on another replica, returning the visible changes in order. Ops this
    /// replica already has are skipped. An invalid op in the update is an error (ops before
    /// it stay applied); held ops the update unblocks that turn out invalid are returned.
    pub fn apply_update(&mut self, bytes: &[u8]) -> Result<UpdateApplied, DecodeError> {
        let (kind, version, raw) = open(bytes)?;
        if kind == KIND_DOC {
            if self.version().is_empty() && self.pending_len() == 0 {
                let (author, clock) = self.local_history();
                *self = Doc::decode(bytes, self.replica())?;
                self.restore_local_history(author, clock);
                let len = self.len();
                let patches = if len == 0 {
                    Vec::new()
                } else {
                    vec![Patch {
                        pos: 0,
                        del: 0,
                        ins: len,
                    }]
                };
                return Ok(UpdateApplied {
                    patches,
                    rejected: Vec::new(),
                });
            }
            // Merge a whole document into a non-empty one op by op.
            let doc = Doc::decode(bytes, self.replica())?;
            return self.apply_ops(&doc.ops_since(&self.version()));
        }
        if kind != KIND_UPDATE {
            return Err(DecodeError::WrongKind {
                expected: "update",
                found: kind,
            });
        }
        let body = parse_body(&raw, false, version)?;
        if !body.rest.is_done() {
            return Err(DecodeError::Corrupt("trailing bytes"));
        }
        self.apply_ops(&update_ops(&body)?)
    }

    fn apply_ops(&mut self, ops: &[Op]) -> Result<UpdateApplied, DecodeError> {
        let mut out = UpdateApplied::default();
        for op in ops {
            if let Applied::Done { patches, rejected } = self.apply(op)? {
                out.patches.extend(patches);
                out.rejected.extend(rejected);
            }
        }
        Ok(out)
    }
}

fn read_order(r: &mut Reader<'_>, total: Lv) -> Result<Vec<Span>, DecodeError> {
    let n = r.count()?;
    let (mut lens, mut firsts) = (r.column()?, r.column()?);
    let mut spans = Vec::with_capacity(n);
    let mut prev_end: i64 = 0;
    for _ in 0..n {
        let x = lens.varint()?;
        let len = u32::try_from(x >> 1).map_err(|_| DecodeError::Corrupt("span too long"))?;
        let lv = prev_end + unzigzag(firsts.varint()?);
        if len == 0 || len > MAX_SPAN || lv < 0 || lv + i64::from(len) > i64::from(total) {
            return Err(DecodeError::Corrupt("span out of range"));
        }
        spans.push(Span::new(lv as Lv, len, x & 1 == 1));
        prev_end = lv + i64::from(len);
    }
    if !(lens.is_done() && firsts.is_done()) {
        return Err(DecodeError::Corrupt("order columns"));
    }
    Ok(spans)
}

/// `chars`: which local versions are inserted characters (every one of them is in `spans`).
fn build_history(
    body: &mut Body<'_>,
    spans: &[Span],
    chars: &Bits,
) -> Result<History, DecodeError> {
    let mut hist = History::default();
    for id in &body.ids {
        hist.replicas.intern(*id);
    }
    let mut lv = 0;
    for &(ri, counter, len) in &body.runs {
        if hist.replicas.next_counter(ri) != counter {
            return Err(DecodeError::Corrupt("counters out of order"));
        }
        hist.replicas.push(ri, lv, len);
        lv += len;
    }
    let starts: Vec<Lv> = body
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Ins { lv, .. } => Some(*lv),
            Entry::Del { .. } => None,
        })
        .collect();
    let derived = older_neighbours(spans, &starts);
    let mut k = 0;
    for e in &body.entries {
        match *e {
            Entry::Ins {
                lv,
                len,
                left,
                right,
            } => {
                let (d_left, d_right) = derived[k];
                k += 1;
                let resolve = |r: Ref, d: Lv| -> Result<Lv, DecodeError> {
                    let o = match r {
                        Ref::None => NIL,
                        // The nearest older neighbour in a valid order: a character.
                        Ref::Derived => return Ok(d),
                        Ref::Local(o) => o,
                        Ref::External(_) => {
                            return Err(DecodeError::Corrupt("external reference in a document"));
                        }
                    };
                    if o != NIL && (o >= lv || !chars.all(o, 1)) {
                        return Err(DecodeError::Corrupt("origin is not an earlier character"));
                    }
                    Ok(o)
                };
                let (origin_left, origin_right) =
                    (resolve(left, d_left)?, resolve(right, d_right)?);
                hist.ins.push(InsRun {
                    lv,
                    len,
                    origin_left,
                    origin_right,
                    byte: 0,
                });
            }
            Entry::Del {
                lv,
                len,
                target,
                backward,
            } => {
                let Ref::Local(target) = target else {
                    return Err(DecodeError::Corrupt("delete target"));
                };
                if backward && target + 1 < len {
                    return Err(DecodeError::Corrupt("delete target out of range"));
                }
                let lo = if backward { target + 1 - len } else { target };
                if lo + len > lv || !chars.all(lo, len) {
                    return Err(DecodeError::Corrupt("delete of a non-character"));
                }
                hist.del.push(DelRun {
                    lv,
                    len,
                    target,
                    backward,
                });
            }
        }
    }
    hist.next_lv = body.total;
    fill_content(&mut hist, std::mem::take(&mut body.content))?;
    for (r, author) in body.authors.drain(..) {
        hist.replicas.authors[r as usize] = Some(author);
    }
    hist.times = std::mem::take(&mut body.times);
    hist.fill_last_times();
    Ok(hist)
}

/// Sets each insert run's byte offset and collects the newlines, in one pass over the text
/// (ASCII stretches without decoding chars).
fn fill_content(hist: &mut History, content: Cow<'_, str>) -> Result<(), DecodeError> {
    let text: &str = &content;
    let bytes = text.as_bytes();
    let all_ascii = bytes.is_ascii();
    // Newlines found by one fast scan, matched to the runs as they go by.
    let mut newlines = memchr::memchr_iter(b'\n', bytes).peekable();
    let mut byte = 0usize;
    for run in &mut hist.ins {
        run.byte = byte as u32;
        let n = run.len as usize;
        let ascii = bytes
            .get(byte..byte + n)
            .is_some_and(|b| all_ascii || b.is_ascii());
        let start = byte;
        if ascii {
            byte += n;
            while let Some(&at) = newlines.peek().filter(|&&at| at < byte) {
                hist.newlines.push(run.lv + (at - start) as u32);
                newlines.next();
            }
        } else {
            let rest = text
                .get(byte..)
                .ok_or(DecodeError::Corrupt("content length"))?;
            let mut chars = rest.chars();
            for k in 0..run.len {
                let c = chars.next().ok_or(DecodeError::Corrupt("content length"))?;
                if c == '\n' {
                    hist.newlines.push(run.lv + k);
                }
                byte += c.len_utf8();
            }
            while newlines.next_if(|&at| at < byte).is_some() {}
            crate::history::push_marks(&mut hist.marks, run.lv, start as u32, &text[start..byte]);
        }
    }
    if byte != text.len() {
        return Err(DecodeError::Corrupt("content length"));
    }
    hist.content = content.into_owned();
    Ok(())
}

/// A set of local versions, as a bitmap with whole-word range operations.
struct Bits(Vec<u64>);

impl Bits {
    /// The inserted characters of a body.
    fn of_inserts(body: &Body<'_>) -> Bits {
        let mut bits = Bits(vec![0; (body.total as usize).div_ceil(64)]);
        for e in &body.entries {
            if let Entry::Ins { lv, len, .. } = *e {
                bits.for_words(lv, len, |w, m| *w |= m);
            }
        }
        bits
    }

    /// Calls `f(word, mask)` for the words covering `lv .. lv + len`.
    fn for_words(&mut self, lv: Lv, len: u32, mut f: impl FnMut(&mut u64, u64)) {
        let (mut i, end) = (lv as usize, lv as usize + len as usize);
        while i < end {
            let (w, b) = (i / 64, i % 64);
            let n = (64 - b).min(end - i);
            let mask = if n == 64 { !0 } else { ((1u64 << n) - 1) << b };
            f(&mut self.0[w], mask);
            i += n;
        }
    }

    /// Whether every version in `lv .. lv + len` is in the set.
    fn all(&self, lv: Lv, len: u32) -> bool {
        let (mut i, end) = (lv as usize, lv as usize + len as usize);
        if end > self.0.len() * 64 {
            return false;
        }
        while i < end {
            let (w, b) = (i / 64, i % 64);
            let n = (64 - b).min(end - i);
            let mask = if n == 64 { !0 } else { ((1u64 << n) - 1) << b };
            if self.0[w] & mask != mask {
                return false;
            }
            i += n;
        }
        true
    }
}

/// Every inserted character must be in exactly one span.
fn check_spans_cover_inserts(chars: &Bits, spans: &[Span]) -> Result<(), DecodeError> {
    let mut left = Bits(chars.0.clone());
    let mut ok = true;
    for s in spans {
        left.for_words(s.lv(), s.len(), |w, m| {
            ok &= *w & m == m;
            *w &= !m;
        });
        if !ok {
            return Err(DecodeError::Corrupt(
                "span is not a set of fresh characters",
            ));
        }
    }
    if left.0.iter().any(|&w| w != 0) {
        return Err(DecodeError::Corrupt("character missing from the order"));
    }
    Ok(())
}

/// The ops of an update body, as wire ops.
fn update_ops(body: &Body<'_>) -> Result<Vec<Op>, DecodeError> {
    // Body local version → wire id.
    let mut starts = Vec::with_capacity(body.runs.len());
    let mut lv = 0;
    for &(ri, counter, len) in &body.runs {
        starts.push((lv, body.ids[ri as usize], counter, len));
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
            Ref::Derived => Err(DecodeError::Corrupt("derived reference in an update")),
        }
    };
    let text: &str = &body.content;
    let mut chars = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()));
    let mut byte = chars.next().unwrap_or(0);
    let mut ops = Vec::with_capacity(body.entries.len());
    let has_history = body.recorded;
    // Per replica index: the time its previous op in the update had (`None`: no op yet).
    let mut last: Vec<Option<u64>> = vec![None; body.ids.len()];
    let mut times = body.times.iter().peekable();
    let mut time = 0;
    let mut meta_of = |lv: Lv| -> Result<Option<Box<OpMeta>>, DecodeError> {
        while let Some(&(_, t)) = times.next_if(|&&(a, _)| a <= lv) {
            time = t;
        }
        let i = starts.partition_point(|&(a, _, _, n)| a + n <= lv);
        let r = body
            .runs
            .get(i)
            .ok_or(DecodeError::Corrupt("reference out of range"))?
            .0 as usize;
        if !has_history {
            return Ok(None);
        }
        let first = last[r].is_none();
        let stamp = (last[r] != Some(time)).then_some(time);
        last[r] = Some(time);
        let author = if first {
            body.authors
                .iter()
                .find(|&&(i, _)| i as usize == r)
                .map(|(_, a)| a.clone())
        } else {
            None
        };
        Ok((stamp.is_some() || author.is_some()).then(|| {
            Box::new(OpMeta {
                time: stamp,
                author,
            })
        }))
    };
    for e in &body.entries {
        match *e {
            Entry::Ins {
                lv,
                len,
                left,
                right,
            } => {
                let start = byte;
                byte = chars
                    .nth(len as usize - 1)
                    .ok_or(DecodeError::Corrupt("content length"))?;
                ops.push(Op {
                    meta: meta_of(lv)?,
                    id: id_of(lv)?,
                    kind: OpKind::Insert {
                        origin_left: to_id(left)?,
                        origin_right: to_id(right)?,
                        text: Text::from(&text[start..byte]),
                    },
                });
            }
            Entry::Del {
                lv,
                len,
                target,
                backward,
            } => {
                let first = to_id(target)?.ok_or(DecodeError::Corrupt("delete of nothing"))?;
                let targets = split_targets(first, len, backward, &starts)?;
                ops.push(Op {
                    meta: meta_of(lv)?,
                    id: id_of(lv)?,
                    kind: OpKind::Delete { targets },
                });
            }
        }
    }
    if byte != text.len() {
        return Err(DecodeError::Corrupt("content length"));
    }
    Ok(ops)
}

/// Splits `len` delete targets from `first` into spans of consecutive counters. Targets
/// outside the body are consecutive counters of their replica (the encoder guarantees it);
/// targets inside follow the body's runs.
fn split_targets(
    first: OpId,
    len: u32,
    backward: bool,
    starts: &[(Lv, ReplicaId, u64, u32)],
) -> Result<Targets, DecodeError> {
    let inside = starts.iter().position(|&(_, id, c, n)| {
        id == first.replica && c <= first.counter && first.counter < c + u64::from(n)
    });
    let Some(i) = inside else {
        if backward && first.counter + 1 < u64::from(len) {
            return Err(DecodeError::Corrupt("delete target out of range"));
        }
        return Ok(Targets::from([DeleteSpan {
            start: first,
            len: u64::from(len),
            backward,
        }]));
    };
    let mut spans = Targets::new();
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
