//! [`Doc`]: one replica of a text document.

mod blame;
mod conflict;
mod history_ops;
mod place;
mod read;
mod remote;
mod travel;
mod undo;

use std::ops::Range;

pub use blame::{Blame, BlameRun, LineBlame, SESSION_GAP, Session, Who};
pub use travel::{Change, Edit, Mark, Past};

use crate::history::{History, Kind};
use crate::pending::Pending;
use crate::tree::{Cursor, MAX_SPAN, NIL, Span, Tree};
use crate::{
    Anchor, Applied, ApplyError, Author, Bias, DeleteSpan, Lv, Op, OpId, OpKind, OpMeta, OpRange,
    Patch, Patches, ReplicaId, TIME_GRAIN, Targets, Text, VersionVector,
};

/// How many ops a document holds back waiting for their dependencies, by default.
pub const DEFAULT_PENDING_LIMIT: usize = 100_000;

/// One replica of a text document: its full history and the text that history produces.
///
/// Local edits ([`insert`](Doc::insert), [`delete`](Doc::delete)) return the [`Op`] to send to
/// other replicas; [`apply`](Doc::apply) merges theirs. Positions count Unicode scalar values
/// (`char`s).
#[derive(Clone)]
pub struct Doc {
    replica: ReplicaId,
    me: u32,
    pub(crate) hist: History,
    pub(crate) tree: Tree,
    pending: Pending,
    /// Concurrent inserts at places where many were made (see `place.rs`).
    siblings: place::Siblings,
    /// Where the last insert ended, while the tree is unchanged since: typing (local or
    /// remote) continues there without searching the tree.
    typing: Option<Typing>,
    /// Reused buffer for the runs a local delete removes.
    scratch: Vec<(Lv, u32)>,
    /// The wall clock for local edits (Unix seconds; 0: unknown), see [`Doc::set_time`].
    clock: u64,
    /// This replica's author was set and no op carried it yet.
    author_news: bool,
}

#[derive(Clone, Copy, Debug)]
struct Typing {
    epoch: u64,
    /// The last character inserted, and its wire id.
    last: Lv,
    last_id: OpId,
    /// The right origin it was inserted against, and its wire id.
    right: Lv,
    right_id: Option<OpId>,
    /// The point just after it, and its visible position.
    after: Cursor,
    pos: u32,
}

impl Typing {
    /// The origins' local versions, if `ids` are the wire ids this typing run knows.
    fn origins(&self, left: Option<OpId>, right: Option<OpId>) -> Option<[Lv; 2]> {
        (left == Some(self.last_id) && right == self.right_id).then_some([self.last, self.right])
    }
}

impl std::fmt::Debug for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doc")
            .field("replica", &self.replica)
            .field("len", &self.len())
            .field("version", &self.version())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl Doc {
    /// An empty document edited as `replica`.
    pub fn new(replica: ReplicaId) -> Doc {
        Doc::from_parts(replica, History::default(), Tree::new())
    }

    pub(crate) fn from_parts(replica: ReplicaId, mut hist: History, tree: Tree) -> Doc {
        let me = hist.replicas.intern(replica);
        // A reloaded replica tells its author again with its next op: whoever receives only
        // live ops may have missed the op that told it first.
        let author_news = hist.replicas.authors[me as usize].is_some();
        Doc {
            replica,
            me,
            hist,
            tree,
            pending: Pending::new(DEFAULT_PENDING_LIMIT),
            siblings: place::Siblings::default(),
            typing: None,
            scratch: Vec::new(),
            clock: 0,
            author_news,
        }
    }

    /// Records who this replica edits for. The next local op carries it to the other
    /// replicas (and [`Doc::encode`] keeps it); two replicas with the same
    /// [`AuthorId`](crate::AuthorId) count as one author.
    pub fn set_author(&mut self, author: Author) {
        let slot = &mut self.hist.replicas.authors[self.me as usize];
        if slot.as_ref() != Some(&author) {
            *slot = Some(author);
            self.author_news = true;
        }
    }

    /// This replica's author and clock (kept when the document is replaced by a decoded one).
    pub(crate) fn local_history(&self) -> (Option<Author>, u64) {
        (
            self.hist.replicas.authors[self.me as usize].clone(),
            self.clock,
        )
    }

    pub(crate) fn restore_local_history(&mut self, author: Option<Author>, clock: u64) {
        if let Some(author) = author {
            self.set_author(author);
        }
        self.clock = clock;
    }

    /// The author replica `replica` edits for, if known.
    pub fn author_of(&self, replica: ReplicaId) -> Option<&Author> {
        let r = self.hist.replicas.index_of(replica)?;
        self.hist.replicas.authors[r as usize].as_ref()
    }

    /// Sets the wall clock (Unix seconds) that the following local edits are recorded at.
    /// Call it before editing, as often as convenient: edits get a new time stamp only when
    /// the clock moved [`TIME_GRAIN`] seconds or more (or backwards). Without it, local edits
    /// have no known time.
    pub fn set_time(&mut self, unix_seconds: u64) {
        self.clock = unix_seconds;
    }

    /// Records the time of a local edit whose first version is `lv`; the op's recorded
    /// history, if it must carry any.
    #[inline]
    fn stamp_local(&mut self, lv: Lv) -> Option<Box<OpMeta>> {
        let me = self.me as usize;
        let last = self.hist.replicas.last_time[me];
        let clock = self.clock;
        let fresh = clock != 0 && (last == 0 || clock < last || clock - last >= TIME_GRAIN);
        self.hist
            .stamp(self.me, lv, if fresh { clock } else { last });
        if !fresh && !self.author_news {
            return None;
        }
        let author = if std::mem::take(&mut self.author_news) {
            self.hist.replicas.authors[me].clone()
        } else {
            None
        };
        Some(Box::new(OpMeta {
            time: fresh.then_some(clock),
            author,
        }))
    }

    /// The replica this document edits as.
    pub fn replica(&self) -> ReplicaId {
        self.replica
    }

    /// Visible length in chars.
    pub fn len(&self) -> usize {
        self.tree.total().chars as usize
    }

    /// Whether no text is visible.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn next_id(&self) -> OpId {
        OpId::new(self.replica, self.hist.replicas.next_counter(self.me))
    }

    // ---- local edits ----------------------------------------------------------------------

    /// Inserts `text` at char position `pos` and returns the op to send to other replicas.
    /// An empty `text` changes nothing and returns an empty op (see [`Op::is_empty`]).
    ///
    /// # Panics
    /// If `pos > self.len()`, or the text is longer than 2³¹ chars.
    #[must_use = "other replicas need the op to see the insert"]
    pub fn insert(&mut self, pos: usize, text: &str) -> Op {
        assert!(
            pos <= self.len(),
            "insert at {pos} beyond the end ({})",
            self.len()
        );
        let pos = pos as u32;
        let c = match self.typing {
            Some(t) if t.epoch == self.tree.epoch() && t.pos == pos => t.after,
            _ => self.tree.find_char(pos),
        };
        self.insert_at(c, Some(pos), text)
    }

    /// Inserts at a point whose visible position is `pos`, if known.
    fn insert_at(&mut self, c: Cursor, pos: Option<u32>, text: &str) -> Op {
        let id = self.next_id();
        let n = text.chars().count();
        assert!(n <= MAX_SPAN as usize, "insert of {n} chars is too long");
        let left = self.tree.item_before(c).unwrap_or(NIL);
        let right = self.tree.item_after(c).unwrap_or(NIL);
        // Typing on: the origins' ids are known without looking them up.
        let typing = self
            .typing
            .filter(|t| t.epoch == self.tree.epoch() && t.last == left);
        let origin_left = match typing {
            Some(t) => Some(t.last_id),
            None => self.hist.origin_id(left),
        };
        let origin_right = match typing {
            Some(t) if t.right == right => t.right_id,
            _ => self.hist.origin_id(right),
        };
        let mut meta = None;
        if n > 0 {
            let n = n as u32;
            let (lv, lines) = self.hist.push_insert(self.me, text, n, left, right);
            meta = self.stamp_local(lv);
            self.siblings.added(left, right, self.replica, lv);
            let span = Span::new(lv, n, false);
            let after = self.tree.insert(c, span, lines, &self.hist.newlines);
            let last_id = OpId::new(id.replica, id.counter + u64::from(n) - 1);
            self.remember_typing(
                after,
                (lv + n - 1, last_id),
                (right, origin_right),
                pos.map(|p| p + n),
            );
        }
        Op {
            meta,
            id,
            kind: OpKind::Insert {
                origin_left,
                origin_right,
                text: Text::from(text),
            },
        }
    }

    /// Deletes `len` chars from `pos` and returns the op to send to other replicas.
    ///
    /// # Panics
    /// If `pos + len > self.len()`.
    #[must_use = "other replicas need the op to see the deletion"]
    pub fn delete(&mut self, pos: usize, len: usize) -> Op {
        assert!(
            pos.checked_add(len).is_some_and(|end| end <= self.len()),
            "delete of {pos}..{pos}+{len} beyond the end ({})",
            self.len()
        );
        let mut runs = std::mem::take(&mut self.scratch);
        runs.clear();
        self.tree
            .delete_visible(pos as u32, len as u32, &self.hist.newlines, &mut runs);
        let op = self.record_local_delete(&runs);
        self.scratch = runs;
        op
    }

    /// Remembers where an insert ended (its last character and the right origin it was
    /// inserted against, each with its wire id) so that typing on is cheap.
    fn remember_typing(
        &mut self,
        after: Option<Cursor>,
        (last, last_id): (Lv, OpId),
        (right, right_id): (Lv, Option<OpId>),
        pos: Option<u32>,
    ) {
        self.typing = match (after, pos) {
            (Some(after), Some(pos)) => Some(Typing {
                epoch: self.tree.epoch(),
                last,
                last_id,
                right,
                right_id,
                after,
                pos,
            }),
            _ => None,
        };
    }

    /// Records deletion of the items `runs` (ascending, in order) as this replica's op.
    fn record_local_delete(&mut self, runs: &[(Lv, u32)]) -> Op {
        let id = self.next_id();
        let mut targets = Targets::new();
        let first = self.hist.next_lv;
        for &(lv, n) in runs {
            self.hist.push_delete(self.me, lv, n, false);
            self.wire_targets(lv, n, false, &mut targets);
        }
        let meta = if runs.is_empty() {
            None
        } else {
            self.stamp_local(first)
        };
        Op {
            meta,
            id,
            kind: OpKind::Delete { targets },
        }
    }

    /// Appends the wire form of deleting `len` items from `lv` on (descending if `backward`).
    fn wire_targets(&self, lv: Lv, len: u32, backward: bool, out: &mut Targets) {
        let (lo, _) = if backward {
            (lv + 1 - len, len)
        } else {
            (lv, len)
        };
        let pieces = self.hist.replicas.split_lv_range(lo, len);
        let mut push = |run: crate::history::LvRun| {
            let start_counter = if backward {
                run.counter + u64::from(run.len) - 1
            } else {
                run.counter
            };
            let start = OpId::new(self.hist.replicas.ids[run.replica as usize], start_counter);
            out.push(DeleteSpan {
                start,
                len: u64::from(run.len),
                backward,
            });
        };
        if backward {
            let v: Vec<_> = pieces.collect();
            v.into_iter().rev().for_each(&mut push);
        } else {
            pieces.for_each(push);
        }
    }

    /// Checks every internal invariant, panicking on the first broken one. Slow; for tests.
    #[doc(hidden)]
    pub fn assert_invariants(&self) {
        self.tree.assert_invariants(&self.hist.newlines);
        let items: u32 = self.hist.ins.iter().map(|r| r.len).sum();
        assert_eq!(
            self.tree.total().items,
            items,
            "every inserted char is in the tree"
        );
        let dels: u32 = self.hist.del.iter().map(|r| r.len).sum();
        assert_eq!(
            items + dels,
            self.hist.next_lv,
            "every version is an insert or a delete"
        );
        assert_eq!(
            self.hist.replicas.version().total(),
            u64::from(self.hist.next_lv)
        );
    }

    /// Approximate bytes of heap memory held (for memory figures).
    #[doc(hidden)]
    pub fn heap_bytes(&self) -> usize {
        self.hist.heap_bytes() + self.tree.heap_bytes()
    }

    /// Spans in the document-order tree (for memory and shape figures).
    #[doc(hidden)]
    pub fn span_count(&self) -> usize {
        self.tree.span_count()
    }
}
