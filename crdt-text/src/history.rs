//! The op history: every operation a document has seen, in the order it was applied.
//!
//! Each character inserted and each character deleted gets the next local version ([`Lv`]),
//! so the history is one dense sequence `0..n`. It is stored run-length encoded:
//! - [`Replicas`] maps local versions to wire ids (`ReplicaId`, counter) and back;
//! - [`InsRun`]s hold inserts (origins and where their text starts in the content buffer);
//! - [`DelRun`]s hold deletions (which characters they deleted).
//!
//! The history is the source of truth; the [`Tree`](crate::tree::Tree) is a view of it.

use std::collections::BTreeMap;

use crate::tree::NIL;
use crate::{Author, Lv, OpId, ReplicaId, VersionVector};

/// A run of local versions of one replica with consecutive counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LvRun {
    pub(crate) lv: Lv,
    pub(crate) len: u32,
    pub(crate) replica: u32,
    pub(crate) counter: u64,
}

/// The same run, seen from the replica's side (counter order).
#[derive(Clone, Copy, Debug)]
struct IdRun {
    counter: u64,
    lv: Lv,
    len: u32,
}

/// Which replica wrote each local version.
#[derive(Clone, Default, Debug)]
pub(crate) struct Replicas {
    pub(crate) ids: Vec<ReplicaId>,
    /// Index by id: a B-tree, so a room of thousands of writers interns each in `O(log n)`
    /// (a sorted `Vec` moved every later entry for each new replica).
    lookup: BTreeMap<ReplicaId, u32>,
    /// Per replica, its runs in counter order (counters `0..next` without gaps).
    runs: Vec<Vec<IdRun>>,
    /// All runs in local-version order.
    pub(crate) by_lv: Vec<LvRun>,
    /// Per replica, the author it edits for, if known.
    pub(crate) authors: Vec<Option<Author>>,
    /// Per replica, the time of its last op (0: unknown): its next op without a stamp has it.
    pub(crate) last_time: Vec<u64>,
}

impl Replicas {
    /// The index of a replica, interning it.
    pub(crate) fn intern(&mut self, id: ReplicaId) -> u32 {
        let next = self.ids.len() as u32;
        let i = *self.lookup.entry(id).or_insert(next);
        if i == next {
            self.ids.push(id);
            self.runs.push(Vec::new());
            self.authors.push(None);
            self.last_time.push(0);
        }
        i
    }

    pub(crate) fn index_of(&self, id: ReplicaId) -> Option<u32> {
        self.lookup.get(&id).copied()
    }

    /// How many ops of replica `r` are known (its next counter).
    pub(crate) fn next_counter(&self, r: u32) -> u64 {
        self.runs[r as usize]
            .last()
            .map_or(0, |run| run.counter + u64::from(run.len))
    }

    /// How many ops of `id` are known.
    pub(crate) fn known(&self, id: ReplicaId) -> u64 {
        self.index_of(id).map_or(0, |r| self.next_counter(r))
    }

    /// Assigns local versions `lv .. lv + len` to the next `len` counters of replica `r`.
    pub(crate) fn push(&mut self, r: u32, lv: Lv, len: u32) {
        let runs = &mut self.runs[r as usize];
        let counter = match runs.last_mut() {
            Some(run) => {
                let counter = run.counter + u64::from(run.len);
                if run.lv + run.len == lv {
                    run.len += len;
                } else {
                    runs.push(IdRun { counter, lv, len });
                }
                counter
            }
            None => {
                runs.push(IdRun {
                    counter: 0,
                    lv,
                    len,
                });
                0
            }
        };
        match self.by_lv.last_mut() {
            Some(run)
                if run.replica == r
                    && run.lv + run.len == lv
                    && run.counter + u64::from(run.len) == counter =>
            {
                run.len += len
            }
            _ => self.by_lv.push(LvRun {
                lv,
                len,
                replica: r,
                counter,
            }),
        }
    }

    /// The run containing `lv`.
    pub(crate) fn run_of(&self, lv: Lv) -> LvRun {
        if let Some(&last) = self.by_lv.last().filter(|r| r.lv <= lv) {
            return last;
        }
        let i = self.by_lv.partition_point(|run| run.lv + run.len <= lv);
        self.by_lv[i]
    }

    /// The wire id of a local version.
    pub(crate) fn id_of(&self, lv: Lv) -> OpId {
        let run = self.run_of(lv);
        OpId::new(
            self.ids[run.replica as usize],
            run.counter + u64::from(lv - run.lv),
        )
    }

    /// The local version of a wire id, if known.
    pub(crate) fn lv_of(&self, id: OpId) -> Option<Lv> {
        self.lv_and_room(id, false).map(|(lv, _)| lv)
    }

    /// The local version of a known wire id and how many ids from it on (or down to the
    /// replica's first, if `backward`) have consecutive local versions.
    pub(crate) fn lv_and_room(&self, id: OpId, backward: bool) -> Option<(Lv, u64)> {
        let r = self.index_of(id.replica)?;
        let runs = &self.runs[r as usize];
        let i = match runs.last() {
            Some(last) if last.counter <= id.counter => runs.len() - 1,
            _ => runs.partition_point(|run| run.counter + u64::from(run.len) <= id.counter),
        };
        let run = runs.get(i).filter(|run| {
            run.counter <= id.counter && id.counter < run.counter + u64::from(run.len)
        })?;
        let off = id.counter - run.counter;
        let room = if backward {
            off + 1
        } else {
            u64::from(run.len) - off
        };
        Some((run.lv + off as u32, room))
    }

    /// Local-version ranges of the counters `from..` of replica `r`, in counter order.
    pub(crate) fn lv_ranges_from(&self, r: u32, from: u64) -> impl Iterator<Item = (Lv, u32)> + '_ {
        let runs = &self.runs[r as usize];
        let i = runs.partition_point(|run| run.counter + u64::from(run.len) <= from);
        runs[i..].iter().map(move |run| {
            let skip = from.saturating_sub(run.counter) as u32;
            (run.lv + skip, run.len - skip)
        })
    }

    /// Splits `lv .. lv + len` at replica-run boundaries.
    pub(crate) fn split_lv_range(&self, lv: Lv, len: u32) -> impl Iterator<Item = LvRun> + '_ {
        let end = lv + len;
        let i = self.by_lv.partition_point(|run| run.lv + run.len <= lv);
        self.by_lv[i..]
            .iter()
            .take_while(move |run| run.lv < end)
            .map(move |run| {
                let a = run.lv.max(lv);
                let b = (run.lv + run.len).min(end);
                LvRun {
                    lv: a,
                    len: b - a,
                    replica: run.replica,
                    counter: run.counter + u64::from(a - run.lv),
                }
            })
    }

    pub(crate) fn version(&self) -> VersionVector {
        (0..self.ids.len())
            .map(|r| (self.ids[r], self.next_counter(r as u32)))
            .collect()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 8
            // B-tree nodes of 11 entries of 12 bytes, at least half full
            + self.lookup.len() * 24
            + self
                .runs
                .iter()
                .map(|r| r.capacity() * std::mem::size_of::<IdRun>() + 24)
                .sum::<usize>()
            + self.by_lv.capacity() * std::mem::size_of::<LvRun>()
            + self.authors.capacity() * std::mem::size_of::<Option<Author>>()
            + self.last_time.capacity() * 8
    }

    /// The replica's last local version, if it has any.
    pub(crate) fn last_lv(&self, r: u32) -> Option<Lv> {
        self.runs[r as usize].last().map(|run| run.lv + run.len - 1)
    }
}

/// Inserted characters `lv .. lv + len`, typed one after another: character `lv + k` has left
/// origin `lv + k - 1` (for `k > 0`) or `origin_left`, and right origin `origin_right`
/// ([`NIL`]: none). Their text starts at byte `byte` of the content buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InsRun {
    pub(crate) lv: Lv,
    pub(crate) len: u32,
    pub(crate) origin_left: Lv,
    pub(crate) origin_right: Lv,
    pub(crate) byte: u32,
}

impl InsRun {
    pub(crate) fn end(&self) -> Lv {
        self.lv + self.len
    }
    /// The origins of the character `lv` of this run.
    pub(crate) fn origins_of(&self, lv: Lv) -> (Lv, Lv) {
        let left = if lv > self.lv {
            lv - 1
        } else {
            self.origin_left
        };
        (left, self.origin_right)
    }
}

/// Deletions `lv .. lv + len`: deletion `lv + k` deleted character `target + k` (forward) or
/// `target - k` (backward).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DelRun {
    pub(crate) lv: Lv,
    pub(crate) len: u32,
    pub(crate) target: Lv,
    pub(crate) backward: bool,
}

impl DelRun {
    pub(crate) fn end(&self) -> Lv {
        self.lv + self.len
    }
    pub(crate) fn target_of(&self, k: u32) -> Lv {
        if self.backward {
            self.target - k
        } else {
            self.target + k
        }
    }
    /// The targets of deletions `lv + from .. lv + to`, as `(first target, len, backward)`.
    pub(crate) fn targets(&self, from: u32, to: u32) -> (Lv, u32, bool) {
        (self.target_of(from), to - from, self.backward)
    }
    /// The lowest target and the count: the targets as one ascending range.
    pub(crate) fn target_range(&self, from: u32, to: u32) -> (Lv, u32) {
        let n = to - from;
        if self.backward {
            (self.target_of(to - 1), n)
        } else {
            (self.target_of(from), n)
        }
    }
}

/// All operations, by local version.
#[derive(Clone, Default, Debug)]
pub(crate) struct History {
    pub(crate) replicas: Replicas,
    pub(crate) ins: Vec<InsRun>,
    pub(crate) del: Vec<DelRun>,
    /// The text of every insert, in local-version order.
    pub(crate) content: String,
    /// Local versions of every inserted `'\n'`, ascending.
    pub(crate) newlines: Vec<Lv>,
    /// `(lv, byte)`: where the character `lv` starts in `content`, at the start of every
    /// non-ASCII insert and every [`MARK_EVERY`] versions inside one, so that reading
    /// inside a long non-ASCII run never decodes it from its start. Ascending.
    pub(crate) marks: Vec<(Lv, u32)>,
    /// The next local version.
    pub(crate) next_lv: Lv,
    /// `(lv, time)`: versions from `lv` on were made at `time` (Unix seconds of their
    /// author's clock; 0: unknown), until the next entry. Ascending, no two equal times in a
    /// row; empty: every time unknown.
    pub(crate) times: Vec<(Lv, u64)>,
}

/// What a local version is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Ins(usize),
    Del(usize),
}

impl History {
    /// Records inserted characters (fresh versions from `next_lv`) by replica `r`; returns the
    /// first one's local version and how many newlines they hold.
    pub(crate) fn push_insert(
        &mut self,
        r: u32,
        text: &str,
        len: u32,
        origin_left: Lv,
        origin_right: Lv,
    ) -> (Lv, u32) {
        let lv = self.next_lv;
        let byte = self.content.len() as u32;
        let lines = if let &[b] = text.as_bytes() {
            // A keystroke: no scanning, no copy call.
            self.content.push(char::from(b));
            if b == b'\n' {
                self.newlines.push(lv);
            }
            u32::from(b == b'\n')
        } else {
            let before = self.newlines.len();
            for (k, ch) in text.chars().enumerate() {
                if ch == '\n' {
                    self.newlines.push(lv + k as u32);
                }
            }
            if !text.is_ascii() {
                push_marks(&mut self.marks, lv, byte, text);
            }
            self.content.push_str(text);
            (self.newlines.len() - before) as u32
        };
        match self.ins.last_mut() {
            Some(run)
                if run.end() == lv && origin_left == lv - 1 && run.origin_right == origin_right =>
            {
                run.len += len
            }
            _ => self.ins.push(InsRun {
                lv,
                len,
                origin_left,
                origin_right,
                byte,
            }),
        }
        self.replicas.push(r, lv, len);
        self.next_lv += len;
        (lv, lines)
    }

    /// Records deletion of `len` characters from `target` on (ascending, or descending when
    /// `backward`) by replica `r`.
    pub(crate) fn push_delete(&mut self, r: u32, target: Lv, len: u32, backward: bool) {
        let lv = self.next_lv;
        let merged = match self.del.last_mut() {
            Some(run) if run.end() == lv => {
                let next = |back: bool| {
                    if back {
                        run.target.checked_sub(run.len)
                    } else {
                        Some(run.target + run.len)
                    }
                };
                if run.len == 1 && len == 1 && run.target.checked_sub(1) == Some(target) {
                    run.backward = true;
                    run.len += 1;
                    true
                } else if (len == 1 || backward == run.backward)
                    && next(run.backward) == Some(target)
                {
                    run.len += len;
                    true
                } else {
                    false
                }
            }
            _ => false,
        };
        if !merged {
            self.del.push(DelRun {
                lv,
                len,
                target,
                backward,
            });
        }
        self.replicas.push(r, lv, len);
        self.next_lv += len;
    }

    /// The run holding `lv`.
    pub(crate) fn kind_of(&self, lv: Lv) -> Option<Kind> {
        if let Some(last) = self.ins.last().filter(|r| r.lv <= lv && lv < r.end()) {
            let _ = last;
            return Some(Kind::Ins(self.ins.len() - 1));
        }
        let i = self.ins.partition_point(|run| run.end() <= lv);
        if self.ins.get(i).is_some_and(|run| run.lv <= lv) {
            return Some(Kind::Ins(i));
        }
        let i = self.del.partition_point(|run| run.end() <= lv);
        if self.del.get(i).is_some_and(|run| run.lv <= lv) {
            return Some(Kind::Del(i));
        }
        None
    }

    pub(crate) fn is_char(&self, lv: Lv) -> bool {
        matches!(self.kind_of(lv), Some(Kind::Ins(_)))
    }

    /// The origins of the inserted character `lv`.
    pub(crate) fn origins(&self, lv: Lv) -> (Lv, Lv) {
        let i = self.ins.partition_point(|run| run.end() <= lv);
        self.ins[i].origins_of(lv)
    }

    /// The text of inserted characters `lv .. lv + len` (within the run `i`).
    pub(crate) fn text_of(&self, i: usize, lv: Lv, len: u32) -> &str {
        let run = &self.ins[i];
        let end_byte = self
            .ins
            .get(i + 1)
            .map_or(self.content.len(), |r| r.byte as usize);
        let start = run.byte as usize;
        if end_byte - start == run.len as usize {
            let from = start + (lv - run.lv) as usize;
            return &self.content[from..from + len as usize];
        }
        // Start from the nearest mark inside this run, if any.
        let k = self.marks.partition_point(|&(m, _)| m <= lv);
        let (mark_lv, mark_byte) = match k.checked_sub(1).map(|k| self.marks[k]) {
            Some((m, b)) if m >= run.lv => (m, b as usize),
            _ => (run.lv, start),
        };
        let a = advance(&self.content, mark_byte, (lv - mark_lv) as usize);
        let b = advance(&self.content, a, len as usize);
        &self.content[a..b]
    }

    /// The text of any inserted characters `lv .. lv + len`, in pieces.
    pub(crate) fn text_pieces(&self, mut lv: Lv, len: u32) -> impl Iterator<Item = &str> + '_ {
        let end = lv + len;
        let mut i = self.ins.partition_point(|run| run.end() <= lv);
        std::iter::from_fn(move || {
            if lv >= end {
                return None;
            }
            let run = self.ins.get(i)?;
            let take = end.min(run.end()) - lv;
            let s = self.text_of(i, lv, take);
            lv += take;
            i += 1;
            Some(s)
        })
    }

    /// Records that the versions from `lv` on, made by replica `r`, were made at `time`.
    #[inline]
    pub(crate) fn stamp(&mut self, r: u32, lv: Lv, time: u64) {
        self.replicas.last_time[r as usize] = time;
        if self.times.last().map_or(0, |&(_, t)| t) != time {
            self.times.push((lv, time));
        }
    }

    /// When version `lv` was made (0: unknown).
    pub(crate) fn time_of(&self, lv: Lv) -> u64 {
        let i = self.times.partition_point(|&(a, _)| a <= lv);
        i.checked_sub(1).map_or(0, |i| self.times[i].1)
    }

    /// The first version after `lv` whose time may differ from `lv`'s (`NIL`: none).
    pub(crate) fn next_time_change(&self, lv: Lv) -> Lv {
        let i = self.times.partition_point(|&(a, _)| a <= lv);
        self.times.get(i).map_or(NIL, |&(a, _)| a)
    }

    /// Sets every replica's last time from the recorded times (after decoding).
    pub(crate) fn fill_last_times(&mut self) {
        for r in 0..self.replicas.ids.len() {
            let t = self
                .replicas
                .last_lv(r as u32)
                .map_or(0, |lv| self.time_of(lv));
            self.replicas.last_time[r] = t;
        }
    }

    pub(crate) fn origin_id(&self, lv: Lv) -> Option<OpId> {
        (lv != NIL).then(|| self.replicas.id_of(lv))
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.replicas.heap_bytes()
            + self.ins.capacity() * std::mem::size_of::<InsRun>()
            + self.del.capacity() * std::mem::size_of::<DelRun>()
            + self.content.capacity()
            + self.newlines.capacity() * 4
            + self.marks.capacity() * 8
            + self.times.capacity() * 16
    }
}

/// Versions between two marks inside a non-ASCII insert.
pub(crate) const MARK_EVERY: u32 = 64;

/// Records marks for `text`, inserted as versions from `lv` at byte `byte` of the content.
pub(crate) fn push_marks(marks: &mut Vec<(Lv, u32)>, lv: Lv, byte: u32, text: &str) {
    for (k, (b, _)) in text.char_indices().enumerate() {
        let v = lv + k as u32;
        if k == 0 || v.is_multiple_of(MARK_EVERY) {
            marks.push((v, byte + b as u32));
        }
    }
}

/// The byte offset `n` chars after byte `from` of `text` (ASCII stretches without decoding).
fn advance(text: &str, from: usize, n: usize) -> usize {
    let bytes = text.as_bytes();
    if bytes.get(from..from + n).is_some_and(|b| b.is_ascii()) {
        return from + n;
    }
    text[from..]
        .char_indices()
        .nth(n)
        .map_or(text.len(), |(b, _)| from + b)
}
