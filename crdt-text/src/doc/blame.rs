//! History queries: editing sessions, the text at a session or a moment, blame, the authors
//! of the surviving text. Pure: everything comes from the recorded history.

use std::collections::HashMap;

use super::*;
use crate::AuthorId;

/// A session ends when its author makes no edit for this long (seconds).
pub const SESSION_GAP: u64 = 20 * 60;

/// Who made an edit: an author, or the replica for edits whose replica never named one
/// (written before history was recorded, or by a program that sets no author).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Who {
    /// A named author (all their replicas).
    Author(AuthorId),
    /// A replica without an author.
    Replica(ReplicaId),
}

/// A run of one author's edits with no pause of [`SESSION_GAP`] or more.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Session {
    /// 1 = the oldest. Numbers follow this copy's history (the order it received the edits
    /// in) and never change as the history grows.
    pub number: usize,
    /// Whose edits.
    pub who: Who,
    /// Time of the first and last edit (Unix seconds; 0: unknown).
    pub start: u64,
    /// See `start`.
    pub end: u64,
    /// Characters inserted.
    pub inserted: u64,
    /// Characters deleted.
    pub deleted: u64,
    /// How many ops (characters inserted or deleted) of this copy's history come up to and
    /// including the session's last edit: [`Doc::text_after`] is the text they make.
    pub through: u64,
}

/// Characters of the current text inserted by one author at one time.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BlameRun {
    /// How many characters.
    pub len: usize,
    /// Who inserted them.
    pub who: Who,
    /// When (Unix seconds; 0: unknown).
    pub time: u64,
}

/// One line of the current text (its newline included) and its last change.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LineBlame {
    /// Who made the line's last change: the latest insertion of one of its characters or
    /// deletion of a character between them.
    pub who: Who,
    /// When (Unix seconds; 0: unknown).
    pub time: u64,
    /// Everyone who wrote characters of the line, most characters first.
    pub authors: Vec<Who>,
}

/// The whole blame of the current text.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Blame {
    /// Every character, in runs, in text order.
    pub chars: Vec<BlameRun>,
    /// Every line, in order (a text ending in a newline has an empty last line, not listed).
    pub lines: Vec<LineBlame>,
}

impl Blame {
    /// Everyone who wrote text still present, most characters first (ties: first in the
    /// text first).
    pub fn authors(&self) -> Vec<(Who, usize)> {
        let mut count: Vec<(Who, usize)> = Vec::new();
        for run in &self.chars {
            match count.iter_mut().find(|(w, _)| *w == run.who) {
                Some((_, n)) => *n += run.len,
                None => count.push((run.who, run.len)),
            }
        }
        count.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        count
    }
}

impl Doc {
    /// Who a replica's edits are by.
    pub fn who(&self, replica: ReplicaId) -> Who {
        match self.author_of(replica) {
            Some(a) => Who::Author(a.id),
            None => Who::Replica(replica),
        }
    }

    /// The author behind `who`, if it is one this document knows.
    pub fn author(&self, who: Who) -> Option<&Author> {
        match who {
            Who::Author(id) => self
                .hist
                .replicas
                .authors
                .iter()
                .flatten()
                .find(|a| a.id == id),
            Who::Replica(_) => None,
        }
    }

    pub(super) fn who_of_index(&self, r: u32) -> Who {
        match &self.hist.replicas.authors[r as usize] {
            Some(a) => Who::Author(a.id),
            None => Who::Replica(self.hist.replicas.ids[r as usize]),
        }
    }

    /// Calls `f(lv, len, replica index, time)` for the versions `lv .. lv + len`, cut where
    /// the replica or the time changes.
    fn segments(&self, mut lv: Lv, len: u32, mut f: impl FnMut(Lv, u32, u32, u64)) {
        let end = lv + len;
        while lv < end {
            let run = self.hist.replicas.run_of(lv);
            let stop = end
                .min(run.lv + run.len)
                .min(self.hist.next_time_change(lv));
            f(lv, stop - lv, run.replica, self.hist.time_of(lv));
            lv = stop;
        }
    }

    /// How many of the versions `lv .. lv + len` are inserted characters.
    fn inserts_in(&self, lv: Lv, len: u32) -> u32 {
        let end = lv + len;
        let i = self.hist.ins.partition_point(|r| r.end() <= lv);
        self.hist.ins[i..]
            .iter()
            .take_while(|r| r.lv < end)
            .map(|r| r.end().min(end) - r.lv.max(lv))
            .sum()
    }

    /// The editing sessions, oldest first (see [`Session`]).
    pub fn sessions(&self) -> Vec<Session> {
        self.walk_sessions(|_, _, _, _| {})
    }

    /// The sessions, calling `f(session number, lv, len, time)` for each segment of the
    /// history on the way (in history order).
    pub(super) fn walk_sessions(&self, mut f: impl FnMut(usize, Lv, u32, u64)) -> Vec<Session> {
        let mut sessions: Vec<Session> = Vec::new();
        let mut open: HashMap<Who, usize> = HashMap::new();
        let whos: Vec<Who> = (0..self.hist.replicas.ids.len() as u32)
            .map(|r| self.who_of_index(r))
            .collect();
        self.segments(0, self.hist.next_lv, |lv, len, r, time| {
            let who = whos[r as usize];
            let ins = u64::from(self.inserts_in(lv, len));
            let i = match open.get(&who) {
                Some(&i)
                    if time == 0
                        || sessions[i].end == 0
                        || time.abs_diff(sessions[i].end) < SESSION_GAP =>
                {
                    i
                }
                _ => {
                    sessions.push(Session {
                        number: sessions.len() + 1,
                        who,
                        start: time,
                        end: time,
                        inserted: 0,
                        deleted: 0,
                        through: 0,
                    });
                    open.insert(who, sessions.len() - 1);
                    sessions.len() - 1
                }
            };
            let s = &mut sessions[i];
            if s.start == 0 {
                s.start = time;
            }
            s.end = s.end.max(time);
            s.inserted += ins;
            s.deleted += u64::from(len) - ins;
            s.through = u64::from(lv + len);
            f(s.number, lv, len, time);
        });
        sessions
    }

    /// The text just after `session`: every op of this copy's history up to its last edit.
    pub fn text_after(&self, session: &Session) -> String {
        self.text_upto(session.through)
    }

    /// The text as it was at `unix_seconds`: the edits made (by their authors' clocks) at or
    /// before then. Edits of unknown time count as made before.
    pub fn text_at_time(&self, unix_seconds: u64) -> String {
        let mut kept = vec![true; self.hist.next_lv as usize];
        let times = &self.hist.times;
        for (i, &(lv, t)) in times.iter().enumerate() {
            if t > unix_seconds {
                let end = times.get(i + 1).map_or(self.hist.next_lv, |&(a, _)| a);
                kept[lv as usize..end as usize].fill(false);
            }
        }
        self.text_where(|lv| kept[lv as usize])
    }

    /// The text made by the ops `keep` selects: their inserted characters, less those one of
    /// them deleted, in document order.
    fn text_where(&self, keep: impl Fn(Lv) -> bool) -> String {
        let mut dead = vec![false; self.hist.next_lv as usize];
        for run in &self.hist.del {
            for k in 0..run.len {
                if keep(run.lv + k) {
                    dead[run.target_of(k) as usize] = true;
                }
            }
        }
        let mut out = String::new();
        for span in self.tree.spans() {
            let (mut lv, end) = (span.lv(), span.end());
            while lv < end {
                let shown = |v: Lv| keep(v) && !dead[v as usize];
                if !shown(lv) {
                    lv += 1;
                    continue;
                }
                let start = lv;
                while lv < end && shown(lv) {
                    lv += 1;
                }
                out.extend(self.hist.text_pieces(start, lv - start));
            }
        }
        out
    }

    /// Who inserted every character of the current text and when, and each line's last
    /// change.
    pub fn blame(&self) -> Blame {
        let whos: Vec<Who> = (0..self.hist.replicas.ids.len() as u32)
            .map(|r| self.who_of_index(r))
            .collect();
        // The deletion of each deleted character (the latest, if several deleted it at once).
        let key = |lv: Lv| (self.hist.time_of(lv), self.hist.replicas.id_of(lv));
        let mut deleted_by = vec![NIL; self.hist.next_lv as usize];
        for run in &self.hist.del {
            for k in 0..run.len {
                let (d, t) = (run.lv + k, run.target_of(k) as usize);
                if deleted_by[t] == NIL || key(d) > key(deleted_by[t]) {
                    deleted_by[t] = d;
                }
            }
        }
        let mut blame = Blame::default();
        let mut line = LineState::default();
        for span in self.tree.spans() {
            if span.deleted() {
                // Deleted characters change the line they were in; those before the line's
                // first character up to a deleted newline were whole lines, gone: no change.
                let mut lv = span.lv();
                for piece in self.hist.text_pieces(span.lv(), span.len()) {
                    for c in piece.chars() {
                        let d = deleted_by[lv as usize];
                        if line.chars == 0 && c == '\n' {
                            line.before = None;
                        } else if d != NIL {
                            let r = self.hist.replicas.run_of(d).replica;
                            line.change(whos[r as usize], key(d), 0);
                        }
                        lv += 1;
                    }
                }
                continue;
            }
            let mut pieces = self.hist.text_pieces(span.lv(), span.len());
            let mut piece = pieces.next().unwrap_or("").chars();
            self.segments(span.lv(), span.len(), |lv, len, r, time| {
                let who = whos[r as usize];
                match blame.chars.last_mut() {
                    Some(last) if last.who == who && last.time == time => last.len += len as usize,
                    _ => blame.chars.push(BlameRun {
                        len: len as usize,
                        who,
                        time,
                    }),
                }
                let mut counted = 0;
                for k in 0..len {
                    let c = piece.next().or_else(|| {
                        piece = pieces.next().unwrap_or("").chars();
                        piece.next()
                    });
                    if c == Some('\n') {
                        let id = self.hist.replicas.id_of(lv + k);
                        line.change(who, (time, id), k + 1 - counted);
                        counted = k + 1;
                        blame.lines.push(line.finish());
                    }
                }
                if counted < len {
                    let id = self.hist.replicas.id_of(lv + len - 1);
                    line.change(who, (time, id), len - counted);
                }
            });
        }
        if line.chars > 0 {
            blame.lines.push(line.finish());
        }
        blame
    }
}

/// The line being blamed.
#[derive(Default)]
struct LineState {
    /// The latest change: (time, id, who); ids break ties alike on every copy.
    last: Option<(u64, OpId, Who)>,
    /// The latest deletion before the line's first character (after any deleted newline):
    /// counts once the line has a character.
    before: Option<(u64, OpId, Who)>,
    /// Characters per author.
    by: Vec<(Who, usize)>,
    chars: usize,
}

impl LineState {
    /// A change by `who` at `time` (op `id`), inserting `chars` characters of the line.
    fn change(&mut self, who: Who, (time, id): (u64, OpId), chars: u32) {
        let slot = if chars == 0 && self.chars == 0 {
            &mut self.before
        } else {
            &mut self.last
        };
        if slot.is_none_or(|(t, i, _)| (time, id) > (t, i)) {
            *slot = Some((time, id, who));
        }
        if chars > 0 {
            if let Some(b) = self.before.take()
                && self.last.is_none_or(|l| (b.0, b.1) > (l.0, l.1))
            {
                self.last = Some(b);
            }
            self.chars += chars as usize;
            match self.by.iter_mut().find(|(w, _)| *w == who) {
                Some((_, n)) => *n += chars as usize,
                None => self.by.push((who, chars as usize)),
            }
        }
    }

    fn finish(&mut self) -> LineBlame {
        let done = std::mem::take(self);
        // A line always has a character (its newline, or the last line's text).
        let (time, _, who) = done.last.unwrap_or((
            0,
            OpId::new(ReplicaId::from(0), 0),
            Who::Replica(ReplicaId::from(0)),
        ));
        let mut by = done.by;
        by.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        LineBlame {
            who,
            time,
            authors: by.into_iter().map(|(w, _)| w).collect(),
        }
    }
}
