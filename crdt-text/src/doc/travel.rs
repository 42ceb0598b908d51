//! Time travel: the edits of the history one by one, the text at any point of it with one
//! edit's (or session's) changes marked, and what others changed since a version.
//!
//! A *point* of the history is a count of ops (`through`): the first `through` ops of this
//! copy's history, in the order it applied them (as [`Session::through`] counts).

use std::ops::Range;

use super::*;

/// One edit: a run of one author's ops of one kind (typing at one place, one deletion),
/// within one session. Edits of different authors interleave in the history.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Edit {
    /// The [`Session::number`] it belongs to.
    pub session: usize,
    /// Its ops: `from .. through` of this copy's history.
    pub from: u64,
    /// See `from`; the text just after the edit is [`Doc::text_upto`]`(through)`.
    pub through: u64,
    /// Whether it inserted (else it deleted) characters.
    pub insert: bool,
    /// When it was made (Unix seconds; 0: unknown).
    pub time: u64,
}

/// How a character of a [`Past`] text is marked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mark {
    /// Inserted by the changes shown.
    Inserted,
    /// Deleted by the changes shown: not part of the text at that point, shown where it was.
    Deleted,
}

/// The text at a point of the history, with some ops' changes marked.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Past {
    /// The text at that point, with the characters the marked ops deleted put back where
    /// they were (marked [`Mark::Deleted`]).
    pub text: String,
    /// Marked char ranges of `text`, ascending, not overlapping.
    pub marks: Vec<(Range<usize>, Mark)>,
}

/// What others changed since a version: a visible range they inserted, or the point where
/// they deleted text (an empty range).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Change {
    /// Where, in chars of the current text.
    pub range: Range<usize>,
    /// Who.
    pub who: Who,
    /// When (Unix seconds; 0: unknown): the latest of the ops in the range.
    pub time: u64,
}

impl Doc {
    /// How many ops this copy's history holds: the point of the current text.
    pub fn history_len(&self) -> u64 {
        u64::from(self.hist.next_lv)
    }

    /// The text after the first `through` ops of this copy's history.
    pub fn text_upto(&self, through: u64) -> String {
        let upto = through.min(u64::from(self.hist.next_lv)) as Lv;
        let dead = self.dead_before(upto);
        self.past_where(upto, &dead, |_| None).text
    }

    /// Every edit, in history order (see [`Edit`]); each names its session, numbered as
    /// [`Doc::sessions`] numbers them.
    pub fn edits(&self) -> Vec<Edit> {
        let mut edits: Vec<Edit> = Vec::new();
        let mut last_run: Option<(bool, usize)> = None;
        self.walk_sessions(|session, lv, len, time| {
            let end = lv + len;
            let mut at = lv;
            while at < end {
                let (insert, idx, run_end) = match self.hist.kind_of(at) {
                    Some(Kind::Ins(i)) => (true, i, self.hist.ins[i].end()),
                    Some(Kind::Del(i)) => (false, i, self.hist.del[i].end()),
                    None => break,
                };
                let stop = run_end.min(end);
                let same_run = last_run == Some((insert, idx));
                match edits.last_mut() {
                    Some(e) if same_run && e.session == session && e.through == u64::from(at) => {
                        e.through = u64::from(stop);
                        e.time = e.time.max(time);
                    }
                    _ => edits.push(Edit {
                        session,
                        from: u64::from(at),
                        through: u64::from(stop),
                        insert,
                        time,
                    }),
                }
                last_run = Some((insert, idx));
                at = stop;
            }
        });
        edits
    }

    /// The text after the first `through` ops, with the changes of the ops in `shown`
    /// (ranges of op counts, as [`Edit::from`]`..`[`Edit::through`]) marked: what they
    /// inserted that is still there at that point, and what they deleted.
    pub fn past(&self, through: u64, shown: &[Range<u64>]) -> Past {
        let upto = through.min(u64::from(self.hist.next_lv)) as Lv;
        let mut marked = vec![false; upto as usize];
        for r in shown {
            let a = r.start.min(u64::from(upto)) as usize;
            let b = r.end.min(u64::from(upto)) as usize;
            if a < b {
                marked[a..b].fill(true);
            }
        }
        // Who deleted each character first within the point (for the deletions shown).
        let mut dead = vec![false; self.hist.next_lv as usize];
        let mut removed = vec![false; self.hist.next_lv as usize];
        for run in &self.hist.del {
            if run.lv >= upto {
                break;
            }
            for k in 0..run.len.min(upto - run.lv) {
                let t = run.target_of(k) as usize;
                dead[t] = true;
                if marked[(run.lv + k) as usize] {
                    removed[t] = true;
                }
            }
        }
        self.past_where(upto, &dead, |lv| {
            if removed[lv as usize] {
                Some(Mark::Deleted)
            } else if marked[lv as usize] {
                Some(Mark::Inserted)
            } else {
                None
            }
        })
    }

    /// The text of the characters inserted before `upto` (those `dead` shown only when
    /// `mark` marks them), in document order.
    fn past_where(&self, upto: Lv, dead: &[bool], mark: impl Fn(Lv) -> Option<Mark>) -> Past {
        let mut past = Past::default();
        let mut chars = 0usize;
        let mut push_mark = |range: Range<usize>, m: Mark| match past.marks.last_mut() {
            Some((r, last)) if *last == m && r.end == range.start => r.end = range.end,
            _ => past.marks.push((range, m)),
        };
        for span in self.tree.spans() {
            let (mut lv, end) = (span.lv(), span.end().min(upto));
            while lv < end {
                // A run of characters shown alike.
                let kind = |v: Lv| {
                    let m = mark(v);
                    match (dead[v as usize], m) {
                        (true, Some(Mark::Deleted)) => Some(m),
                        (true, _) => None,
                        (false, Some(Mark::Deleted)) => Some(None),
                        (false, m) => Some(m),
                    }
                };
                let k = kind(lv);
                let start = lv;
                while lv < end && kind(lv) == k {
                    lv += 1;
                }
                let Some(m) = k else { continue };
                let n = (lv - start) as usize;
                past.text.extend(self.hist.text_pieces(start, lv - start));
                if let Some(m) = m {
                    push_mark(chars..chars + n, m);
                }
                chars += n;
            }
        }
        past
    }

    /// What replicas other than those `version` covers fully changed since it: every visible
    /// run they inserted and every point where they deleted text that `version` had, in text
    /// order, neighbouring changes of one author merged.
    pub fn changes_since(&self, version: &VersionVector) -> Vec<Change> {
        let n = self.hist.next_lv as usize;
        // Which versions are new since `version`.
        let mut new = vec![false; n];
        for (r, id) in self.hist.replicas.ids.iter().enumerate() {
            for (lv, len) in self
                .hist
                .replicas
                .lv_ranges_from(r as u32, version.get(*id))
            {
                new[lv as usize..(lv + len) as usize].fill(true);
            }
        }
        let mut deleted_by = vec![NIL; n];
        for run in &self.hist.del {
            for k in 0..run.len {
                let d = run.lv + k;
                if new[d as usize] {
                    deleted_by[run.target_of(k) as usize] = d;
                }
            }
        }
        let whos: Vec<Who> = (0..self.hist.replicas.ids.len() as u32)
            .map(|r| self.who_of_index(r))
            .collect();
        let who_of = |lv: Lv| whos[self.hist.replicas.run_of(lv).replica as usize];
        let mut out: Vec<Change> = Vec::new();
        let mut pos = 0usize;
        let mut push = |range: Range<usize>, who: Who, time: u64| match out.last_mut() {
            Some(c) if c.who == who && c.range.end == range.start => {
                c.range.end = range.end;
                c.time = c.time.max(time);
            }
            _ => out.push(Change { range, who, time }),
        };
        for span in self.tree.spans() {
            for lv in span.lv()..span.end() {
                if !span.deleted() {
                    if new[lv as usize] {
                        push(pos..pos + 1, who_of(lv), self.hist.time_of(lv));
                    }
                    pos += 1;
                } else {
                    let d = deleted_by[lv as usize];
                    // Deleted since, and it was there before (not inserted since too).
                    if d != NIL && !new[lv as usize] {
                        push(pos..pos, who_of(d), self.hist.time_of(d));
                    }
                }
            }
        }
        out
    }
}
