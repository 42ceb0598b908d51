//! Writing documents and updates in the format described in `codec.rs`.

use crate::author::put_author;
use crate::codec::{
    KIND_DOC, KIND_UPDATE, put_column, put_content, put_varint, seal, start, zigzag,
};
use crate::derive::older_neighbours;
use crate::doc::Doc;
use crate::history::{History, Kind, LvRun};
use crate::tree::NIL;
use crate::{Author, Lv, VersionVector};

/// Writes references to ops relative to the body's own numbering.
struct Refs<'a> {
    doc: &'a Doc,
    /// The doc's local-version ranges in the body, ascending, with the body version each
    /// starts at. `None`: the whole history, numbered as in the doc.
    ranges: Option<Vec<(Lv, u32, Lv)>>,
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

    fn put(&self, out: &mut Vec<u8>, lv: Lv, cur: Lv) {
        if lv == NIL {
            return put_varint(out, 0);
        }
        match self.body_lv(lv) {
            Some(b) => put_varint(out, (u64::from(cur - 1 - b) << 1) | 1),
            None => {
                let reps = &self.doc.hist.replicas;
                let id = reps.id_of(lv);
                put_varint(out, 2);
                put_varint(out, u64::from(reps.index_of(id.replica).unwrap_or(0)));
                put_varint(out, id.counter);
            }
        }
    }

    /// How many of `max` delete targets from `first` on (down, if `backward`) are
    /// consecutive counters of one replica and all in, or all out of, the body: a receiver
    /// resolves such a stretch from its first target alone.
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
}

/// Finds what each local version is, for versions visited in ascending order: the runs
/// holding them are usually the current ones or the next.
struct Kinds {
    ins: usize,
    del: usize,
}

impl Kinds {
    fn of(&mut self, hist: &History, lv: Lv) -> Option<Kind> {
        for i in [self.ins, self.ins + 1] {
            if hist.ins.get(i).is_some_and(|r| r.lv <= lv && lv < r.end()) {
                self.ins = i;
                return Some(Kind::Ins(i));
            }
        }
        for i in [self.del, self.del + 1] {
            if hist.del.get(i).is_some_and(|r| r.lv <= lv && lv < r.end()) {
                self.del = i;
                return Some(Kind::Del(i));
            }
        }
        let kind = hist.kind_of(lv)?;
        match kind {
            Kind::Ins(i) => self.ins = i,
            Kind::Del(i) => self.del = i,
        }
        Some(kind)
    }
}

impl Doc {
    /// The whole document — full history and current order — in the compact, versioned
    /// format described in `codec.rs`. [`Doc::decode`] loads it back without replaying the
    /// history.
    pub fn encode(&self) -> Vec<u8> {
        let spans = self.tree.spans();
        let starts: Vec<Lv> = self.hist.ins.iter().map(|r| r.lv).collect();
        let derived = older_neighbours(&spans, &starts);
        let mut out = start(KIND_DOC, self.size_hint() + 4 * spans.len());
        self.encode_body(&mut out, &[(0, self.hist.next_lv)], None, Some(&derived));
        let (mut lens, mut firsts) = (
            Vec::with_capacity(spans.len() * 2),
            Vec::with_capacity(spans.len() * 2),
        );
        let mut prev_end: i64 = 0;
        for s in &spans {
            put_varint(
                &mut lens,
                (u64::from(s.len()) << 1) | u64::from(s.deleted()),
            );
            put_varint(&mut firsts, zigzag(i64::from(s.lv()) - prev_end));
            prev_end = i64::from(s.end());
        }
        put_varint(&mut out, spans.len() as u64);
        put_column(&mut out, &lens);
        put_column(&mut out, &firsts);
        seal(out)
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
        let mut out = start(KIND_UPDATE, 64);
        self.encode_body(&mut out, &ranges, Some(numbered), None);
        seal(out)
    }

    /// Bytes a whole-document body takes, roughly (before packing the text).
    fn size_hint(&self) -> usize {
        self.hist.content.len() / 2 + 4 * (self.hist.ins.len() + self.hist.del.len())
    }

    /// Appends replicas, runs, op columns and content for the local versions in `ranges`.
    /// `derived[i]`: the origins of insert run `i` that the order implies (documents only).
    fn encode_body(
        &self,
        body: &mut Vec<u8>,
        ranges: &[(Lv, u32)],
        numbered: Option<Vec<(Lv, u32, Lv)>>,
        derived: Option<&[(Lv, Lv)]>,
    ) {
        let hist = &self.hist;
        let reps = &hist.replicas;
        put_varint(body, reps.ids.len() as u64);
        for id in &reps.ids {
            body.extend_from_slice(&id.as_u64().to_le_bytes());
        }
        let refs = Refs {
            doc: self,
            ranges: numbered,
        };
        let mut runs = Vec::new();
        for &(lv, n) in ranges {
            runs.extend(reps.split_lv_range(lv, n));
        }
        put_varint(body, runs.len() as u64);
        for run in &runs {
            put_varint(body, u64::from(run.replica));
            put_varint(body, run.counter);
            put_varint(body, u64::from(run.len));
        }

        let ops = hist.ins.len() + hist.del.len();
        let (mut heads, mut exceptions, mut origins, mut targets) = (
            Vec::with_capacity(ops * 2),
            Vec::new(),
            Vec::new(),
            Vec::with_capacity(hist.del.len() * 2),
        );
        // Documents: both origins derived unless told otherwise; updates: none.
        let default_flags = if derived.is_some() { 3 } else { 0 };
        let (mut inserts, mut next_exception) = (0u64, 0u64);
        let mut count = 0u64;
        // A document holds every insert in order: its text is the history's content.
        let whole = derived.is_some();
        let mut content = String::new();
        let mut next_target: i64 = 0;
        let mut kinds = Kinds { ins: 0, del: 0 };
        for &(start, n) in ranges {
            let end = start + n;
            let mut lv = start;
            while lv < end {
                let cur = refs.body_lv(lv).unwrap_or(lv);
                // An update's ops carry their times: cut them where the time changes.
                let end = if whole {
                    end
                } else {
                    end.min(hist.next_time_change(lv))
                };
                match kinds.of(hist, lv) {
                    Some(Kind::Ins(i)) => {
                        let run = hist.ins[i];
                        let take = end.min(run.end()) - lv;
                        let (left, right) = run.origins_of(lv);
                        let (d_left, d_right) = derived.map_or((NIL, NIL), |d| d[i]);
                        let (l_ok, r_ok) = (
                            derived.is_some() && left == d_left,
                            derived.is_some() && right == d_right,
                        );
                        put_varint(&mut heads, u64::from(take) << 2);
                        let flags = u64::from(l_ok) | (u64::from(r_ok) << 1);
                        if flags != default_flags {
                            put_varint(&mut exceptions, ((inserts - next_exception) << 2) | flags);
                            next_exception = inserts + 1;
                        }
                        inserts += 1;
                        if !l_ok {
                            refs.put(&mut origins, left, cur);
                        }
                        if !r_ok {
                            refs.put(&mut origins, right, cur);
                        }
                        if !whole {
                            content.push_str(hist.text_of(i, lv, take));
                        }
                        lv += take;
                    }
                    Some(Kind::Del(i)) => {
                        let run = hist.del[i];
                        let from = lv - run.lv;
                        let (first, _, backward) = run.targets(from, from + 1);
                        let take = refs.uniform_len(first, end.min(run.end()) - lv, backward);
                        let kind = if backward && take > 1 { 2 } else { 1 };
                        put_varint(&mut heads, (u64::from(take) << 2) | kind);
                        if derived.is_some() {
                            // Near where the previous delete left off, or near the op itself.
                            let near_prev = zigzag(i64::from(first) - next_target) << 1;
                            let near_op = (u64::from(cur - 1 - first) << 1) | 1;
                            put_varint(&mut targets, near_prev.min(near_op));
                            let last = if kind == 2 {
                                first - (take - 1)
                            } else {
                                first + (take - 1)
                            };
                            next_target = if kind == 2 {
                                i64::from(last) - 1
                            } else {
                                i64::from(last) + 1
                            };
                        } else {
                            refs.put(&mut targets, first, cur);
                        }
                        lv += take;
                    }
                    None => break,
                }
                count += 1;
            }
        }
        put_varint(body, count);
        for column in [&heads, &exceptions, &origins, &targets] {
            put_column(body, column);
        }
        put_content(body, if whole { &hist.content } else { &content });
        self.put_history(body, ranges, &refs, &runs);
    }

    /// Appends the history section (format 3): the authors of the body's replicas and the
    /// times of its ops (see `codec.rs`).
    fn put_history(
        &self,
        body: &mut Vec<u8>,
        ranges: &[(Lv, u32)],
        refs: &Refs<'_>,
        runs: &[LvRun],
    ) {
        let reps = &self.hist.replicas;
        let mut present = vec![refs.ranges.is_none(); reps.ids.len()];
        for run in runs {
            present[run.replica as usize] = true;
        }
        let authors: Vec<(usize, &Author)> = reps
            .authors
            .iter()
            .enumerate()
            .filter_map(|(r, a)| Some((r, a.as_ref().filter(|_| present[r])?)))
            .collect();
        put_varint(body, authors.len() as u64);
        for (r, a) in authors {
            put_varint(body, r as u64);
            put_author(body, a);
        }
        let (mut at, mut when) = (Vec::new(), Vec::new());
        let (mut prev_lv, mut prev_time, mut n) = (0u64, 0u64, 0u64);
        let mut entry = |b: Lv, t: u64| {
            if t == prev_time {
                return;
            }
            put_varint(&mut at, u64::from(b) - prev_lv);
            put_varint(&mut when, zigzag(t.wrapping_sub(prev_time) as i64));
            (prev_lv, prev_time) = (u64::from(b), t);
            n += 1;
        };
        let times = &self.hist.times;
        for &(lv, len) in ranges {
            let body_lv = |v: Lv| refs.body_lv(v).unwrap_or(v);
            entry(body_lv(lv), self.hist.time_of(lv));
            let i = times.partition_point(|&(a, _)| a <= lv);
            for &(a, t) in times[i..].iter().take_while(|&&(a, _)| a < lv + len) {
                entry(body_lv(a), t);
            }
        }
        put_varint(body, n);
        put_column(body, &at);
        put_column(body, &when);
    }
}
