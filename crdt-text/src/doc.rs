//! [`Doc`]: one replica of a text document.

use std::ops::Range;

use crate::history::{History, Kind};
use crate::pending::Pending;
use crate::tree::{Cursor, MAX_SPAN, NIL, Span, Tree};
use crate::{
    Anchor, Applied, ApplyError, Bias, DeleteSpan, Lv, Op, OpId, OpKind, Patch, ReplicaId,
    VersionVector,
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
    errors: Vec<(Op, ApplyError)>,
    /// Where the last insert ended, while the tree is unchanged since: typing (local or
    /// remote) continues there without searching the tree.
    typing: Option<Typing>,
    /// Reused buffer for the runs a local delete removes.
    scratch: Vec<(Lv, u32)>,
}

#[derive(Clone, Copy, Debug)]
struct Typing {
    epoch: u64,
    /// The last character inserted.
    last: Lv,
    /// The point just after it, and its visible position.
    after: Cursor,
    pos: u32,
}

/// Where a remote insert goes.
enum Placed {
    At(Cursor, u32),
    BadLeft,
    BadRight,
}

/// The result of trying one op.
enum Step {
    Applied,
    Duplicate,
    Pending(OpId),
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
        Doc {
            replica,
            me,
            hist,
            tree,
            pending: Pending::new(DEFAULT_PENDING_LIMIT),
            errors: Vec::new(),
            typing: None,
            scratch: Vec::new(),
        }
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
        if n > 0 {
            let (lv, lines) = self.hist.push_insert(self.me, text, n as u32, left, right);
            let span = Span::new(lv, n as u32, false);
            let after = self.tree.insert(c, span, lines, &self.hist.newlines);
            self.remember_typing(after, lv + n as u32 - 1, pos.map(|p| p + n as u32));
        }
        Op {
            id,
            kind: OpKind::Insert {
                origin_left: self.hist.origin_id(left),
                origin_right: self.hist.origin_id(right),
                text: text.to_owned(),
            },
        }
    }

    /// Deletes `len` chars from `pos` and returns the op to send to other replicas.
    ///
    /// # Panics
    /// If `pos + len > self.len()`.
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

    fn remember_typing(&mut self, after: Option<Cursor>, last: Lv, pos: Option<u32>) {
        self.typing = match (after, pos) {
            (Some(after), Some(pos)) => Some(Typing {
                epoch: self.tree.epoch(),
                last,
                after,
                pos,
            }),
            _ => None,
        };
    }

    /// Records deletion of the items `runs` (ascending, in order) as this replica's op.
    fn record_local_delete(&mut self, runs: &[(Lv, u32)]) -> Op {
        let id = self.next_id();
        let mut targets = Vec::with_capacity(runs.len());
        for &(lv, n) in runs {
            self.hist.push_delete(self.me, lv, n, false);
            self.wire_targets(lv, n, false, &mut targets);
        }
        Op {
            id,
            kind: OpKind::Delete { targets },
        }
    }

    /// Appends the wire form of deleting `len` items from `lv` on (descending if `backward`).
    fn wire_targets(&self, lv: Lv, len: u32, backward: bool, out: &mut Vec<DeleteSpan>) {
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

    // ---- remote ops -----------------------------------------------------------------------

    /// Applies an op from another replica (or a duplicate, or one whose dependencies have not
    /// arrived yet — it is then held and applied when they do).
    pub fn apply(&mut self, op: &Op) -> Result<Applied, ApplyError> {
        let mut patches = Vec::new();
        match self.try_apply(op, &mut patches)? {
            Step::Duplicate => return Ok(Applied::Duplicate),
            Step::Pending(dep) => {
                self.pending.hold(dep, op.clone())?;
                return Ok(Applied::Pending);
            }
            Step::Applied => {}
        }
        self.drain_pending(&mut patches);
        Ok(Applied::Done(patches))
    }

    fn drain_pending(&mut self, patches: &mut Vec<Patch>) {
        loop {
            let ready = self.pending.take_ready(|r| self.hist.replicas.known(r));
            if ready.is_empty() {
                return;
            }
            for op in ready {
                match self.try_apply(&op, patches) {
                    Ok(Step::Applied | Step::Duplicate) => {}
                    Ok(Step::Pending(dep)) => {
                        if let Err(e) = self.pending.hold(dep, op.clone()) {
                            self.errors.push((op, e));
                        }
                    }
                    Err(e) => self.errors.push((op, e)),
                }
            }
        }
    }

    /// Ops that were held as pending and turned out invalid once their dependencies arrived,
    /// with the reason. Taking them clears the list.
    pub fn take_errors(&mut self) -> Vec<(Op, ApplyError)> {
        std::mem::take(&mut self.errors)
    }

    /// How many ops are held waiting for their dependencies.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Sets how many ops may be held waiting (default [`DEFAULT_PENDING_LIMIT`]); beyond it
    /// `apply` returns [`ApplyError::PendingFull`].
    pub fn set_pending_limit(&mut self, limit: usize) {
        self.pending.set_limit(limit);
    }

    fn try_apply(&mut self, op: &Op, patches: &mut Vec<Patch>) -> Result<Step, ApplyError> {
        let len = op.len();
        if len == 0 {
            return Ok(Step::Duplicate);
        }
        let end = op
            .id
            .counter
            .checked_add(len)
            .ok_or(ApplyError::TooLarge(op.id))?;
        if len > u64::from(MAX_SPAN) || self.hist.next_lv as u64 + len >= u64::from(NIL) {
            return Err(ApplyError::TooLarge(op.id));
        }
        let known = self.hist.replicas.known(op.id.replica);
        if end <= known {
            return Ok(Step::Duplicate);
        }
        if op.id.counter > known {
            return Ok(Step::Pending(OpId::new(op.id.replica, op.id.counter - 1)));
        }
        let skip = known - op.id.counter;
        match &op.kind {
            OpKind::Insert {
                origin_left,
                origin_right,
                text,
            } => {
                let origin_left = if skip > 0 {
                    Some(OpId::new(op.id.replica, known - 1))
                } else {
                    *origin_left
                };
                for origin in [origin_left, *origin_right].into_iter().flatten() {
                    if origin.replica == op.id.replica && origin.counter >= op.id.counter + skip {
                        return Err(ApplyError::Acausal {
                            op: op.id,
                            dependency: origin,
                        });
                    }
                }
                let mut origins = [NIL; 2];
                for (lv, id) in origins.iter_mut().zip([origin_left, *origin_right]) {
                    if let Some(id) = id {
                        match self.hist.replicas.lv_of(id) {
                            Some(known) => *lv = known,
                            None => return Ok(Step::Pending(id)),
                        }
                    }
                }
                let [left, right] = origins;
                let text = match text.char_indices().nth(skip as usize) {
                    Some((b, _)) => &text[b..],
                    None => "",
                };
                let r = self.hist.replicas.intern(op.id.replica);
                let n = (len - skip) as u32;
                let bad = |origin: Option<OpId>| ApplyError::BadOrigin {
                    op: op.id,
                    origin: origin.unwrap_or(op.id),
                };
                match self.place(r, left, right) {
                    Placed::At(c, pos) => {
                        self.integrate(c, pos, r, [left, right], text, n, patches)
                    }
                    Placed::BadLeft => return Err(bad(origin_left)),
                    Placed::BadRight => return Err(bad(*origin_right)),
                }
            }
            OpKind::Delete { targets } => {
                let runs = self.resolve_delete(op.id, targets, skip)?;
                let runs = match runs {
                    Ok(runs) => runs,
                    Err(dep) => return Ok(Step::Pending(dep)),
                };
                let r = self.hist.replicas.intern(op.id.replica);
                for (lv, n, backward) in runs {
                    let lo = if backward { lv + 1 - n } else { lv };
                    self.tree
                        .delete_items(lo, lo + n, &self.hist.newlines, |pos, k| {
                            patches.push(Patch {
                                pos: pos as usize,
                                del: k as usize,
                                ins: 0,
                            })
                        });
                    self.hist.push_delete(r, lv, n, backward);
                }
            }
        }
        Ok(Step::Applied)
    }

    /// The local versions a delete targets, after skipping its first `skip` counters, as
    /// `(first target, len, backward)` runs in the op's counter order; or the first unknown
    /// dependency.
    #[allow(clippy::type_complexity)]
    fn resolve_delete(
        &self,
        op: OpId,
        targets: &[DeleteSpan],
        mut skip: u64,
    ) -> Result<Result<Vec<(Lv, u32, bool)>, OpId>, ApplyError> {
        let mut runs = Vec::new();
        for span in targets {
            if skip >= span.len {
                skip -= span.len;
                continue;
            }
            if span.backward && span.start.counter + 1 < span.len {
                return Err(ApplyError::TooLarge(op));
            }
            let (first, n) = if span.backward {
                (span.start.counter - skip, span.len - skip)
            } else {
                (
                    span.start
                        .counter
                        .checked_add(skip)
                        .ok_or(ApplyError::TooLarge(op))?,
                    span.len - skip,
                )
            };
            skip = 0;
            let (lo, hi) = if span.backward {
                (first + 1 - n, first)
            } else {
                (first, first + n - 1)
            };
            let replica = span.start.replica;
            if replica == op.replica && hi >= op.counter {
                return Err(ApplyError::Acausal {
                    op,
                    dependency: OpId::new(replica, hi),
                });
            }
            if self.hist.replicas.known(replica) <= hi {
                return Ok(Err(OpId::new(replica, hi)));
            }
            // Walk the ids in the op's order, one local-version run at a time.
            let mut c = first;
            let mut left = n;
            while left > 0 {
                let lv = self
                    .hist
                    .replicas
                    .lv_of(OpId::new(replica, c))
                    .unwrap_or(NIL);
                let avail = self.run_room(replica, c, span.backward);
                let k = avail.min(left);
                let lo_lv = if span.backward { lv + 1 - k as u32 } else { lv };
                self.check_chars(op, lo_lv, k as u32)?;
                runs.push((lv, k as u32, span.backward));
                left -= k;
                c = if span.backward {
                    c.wrapping_sub(k)
                } else {
                    c + k
                };
            }
            let _ = lo;
        }
        Ok(Ok(runs))
    }

    /// How many ids from `counter` on (or down, if `backward`) have consecutive local versions.
    fn run_room(&self, replica: ReplicaId, counter: u64, backward: bool) -> u64 {
        let Some(lv) = self.hist.replicas.lv_of(OpId::new(replica, counter)) else {
            return 1;
        };
        let run = self.hist.replicas.run_of(lv);
        if backward {
            u64::from(lv - run.lv) + 1
        } else {
            u64::from(run.lv + run.len - lv)
        }
    }

    /// Errors unless every local version in `lv .. lv + len` is an inserted character.
    fn check_chars(&self, op: OpId, mut lv: Lv, len: u32) -> Result<(), ApplyError> {
        let end = lv + len;
        while lv < end {
            match self.hist.kind_of(lv) {
                Some(Kind::Ins(i)) => lv = self.hist.ins[i].end(),
                _ => {
                    return Err(ApplyError::NotACharacter {
                        op,
                        target: self.hist.replicas.id_of(lv),
                    });
                }
            }
        }
        Ok(())
    }

    /// Where a remote insert between `left` and `right` goes (Fugue / YjsMod integration),
    /// checking that both origins are characters.
    fn place(&self, r: u32, left: Lv, right: Lv) -> Placed {
        let (after_left, known_pos) = match self.typing {
            Some(t) if t.epoch == self.tree.epoch() && t.last == left && left != NIL => {
                (t.after, Some(t.pos))
            }
            _ if left == NIL => (self.tree.find_item(0), None),
            _ => match self.tree.locate(left) {
                Some(mut c) => {
                    c.off += 1;
                    (c, None)
                }
                None => return Placed::BadLeft,
            },
        };
        if self.tree.item_after(after_left).unwrap_or(NIL) == right {
            let pos = known_pos.unwrap_or_else(|| self.tree.chars_before(after_left));
            return Placed::At(after_left, pos);
        }
        if right != NIL && self.tree.locate(right).is_none() {
            return Placed::BadRight;
        }
        let c = self.scan_concurrent(r, left, right);
        Placed::At(c, self.tree.chars_before(c))
    }

    /// Records a remote insert placed at `c` (visible position `pos`).
    #[allow(clippy::too_many_arguments)]
    fn integrate(
        &mut self,
        c: Cursor,
        pos: u32,
        r: u32,
        [left, right]: [Lv; 2],
        text: &str,
        n: u32,
        patches: &mut Vec<Patch>,
    ) {
        let (lv, lines) = self.hist.push_insert(r, text, n, left, right);
        let after = self
            .tree
            .insert(c, Span::new(lv, n, false), lines, &self.hist.newlines);
        self.remember_typing(after, lv + n - 1, Some(pos + n));
        patches.push(Patch {
            pos: pos as usize,
            del: 0,
            ins: n as usize,
        });
    }

    /// Item index of a character, or `none` for [`NIL`].
    fn item_index(&self, lv: Lv, none: i64) -> i64 {
        if lv == NIL {
            return none;
        }
        let c = self
            .tree
            .locate(lv)
            .expect("known character is in the tree");
        i64::from(self.tree.offsets(c).items)
    }

    /// Where an insert between `left` and `right` goes when other inserts were made between
    /// them concurrently: FugueMax's order (as written for YjsMod in Gentle's reference CRDTs).
    fn scan_concurrent(&self, r: u32, left: Lv, right: Lv) -> Cursor {
        let total = i64::from(self.tree.total().items);
        let me = self.hist.replicas.ids[r as usize];
        let left_i = self.item_index(left, -1);
        let right_i = self.item_index(right, total);
        let mut dest = left_i + 1;
        let mut scanning = false;
        let mut i = left_i + 1;
        loop {
            if !scanning {
                dest = i;
            }
            if i >= total || i == right_i {
                break;
            }
            let other = self
                .tree
                .item_after(self.tree.find_item(i as u32))
                .unwrap_or(NIL);
            let (o_left, o_right) = self.hist.origins(other);
            let o_left_i = self.item_index(o_left, -1);
            let o_right_i = self.item_index(o_right, total);
            let other_replica =
                self.hist.replicas.ids[self.hist.replicas.run_of(other).replica as usize];
            if o_left_i < left_i
                || (o_left_i == left_i && o_right_i == right_i && me < other_replica)
            {
                break;
            }
            if o_left_i == left_i {
                scanning = o_right_i < right_i;
            }
            i += 1;
        }
        self.tree.find_item(dest as u32)
    }

    // ---- history --------------------------------------------------------------------------

    /// The set of operations this replica has applied.
    pub fn version(&self) -> VersionVector {
        self.hist.replicas.version()
    }

    /// Whether the character or deletion `id` has been applied.
    pub fn contains(&self, id: OpId) -> bool {
        self.hist.replicas.known(id.replica) > id.counter
    }

    /// Exactly the ops that a replica at `version` lacks, in an order that applies cleanly
    /// (every op after the ops it depends on).
    pub fn ops_since(&self, version: &VersionVector) -> Vec<Op> {
        let mut ops: Vec<Op> = Vec::new();
        for (lv, len) in self.lv_ranges_since(version) {
            self.ops_in(lv, lv + len, &mut ops);
        }
        ops
    }

    /// The local-version ranges a replica at `version` lacks, ascending.
    pub(crate) fn lv_ranges_since(&self, version: &VersionVector) -> Vec<(Lv, u32)> {
        let reps = &self.hist.replicas;
        let mut ranges: Vec<(Lv, u32)> = Vec::new();
        for (r, &id) in reps.ids.iter().enumerate() {
            ranges.extend(reps.lv_ranges_from(r as u32, version.get(id)));
        }
        ranges.sort_unstable();
        ranges
    }

    /// Appends the ops for local versions `lv .. end` (one replica, consecutive counters).
    fn ops_in(&self, mut lv: Lv, end: Lv, ops: &mut Vec<Op>) {
        while lv < end {
            let id = self.hist.replicas.id_of(lv);
            match self.hist.kind_of(lv) {
                Some(Kind::Ins(i)) => {
                    let run = self.hist.ins[i];
                    let take = end.min(run.end()) - lv;
                    let (left, right) = run.origins_of(lv);
                    ops.push(Op {
                        id,
                        kind: OpKind::Insert {
                            origin_left: self.hist.origin_id(left),
                            origin_right: self.hist.origin_id(right),
                            text: self.hist.text_of(i, lv, take).to_owned(),
                        },
                    });
                    lv += take;
                }
                Some(Kind::Del(i)) => {
                    let run = self.hist.del[i];
                    let take = end.min(run.end()) - lv;
                    let from = lv - run.lv;
                    let (first, n, backward) = run.targets(from, from + take);
                    let mut spans = Vec::new();
                    self.wire_targets(first, n, backward, &mut spans);
                    match ops.last_mut() {
                        Some(Op {
                            id: last,
                            kind: OpKind::Delete { targets },
                        }) if last.replica == id.replica
                            && last.counter + targets.iter().map(|s| s.len).sum::<u64>()
                                == id.counter =>
                        {
                            targets.extend(spans)
                        }
                        _ => ops.push(Op {
                            id,
                            kind: OpKind::Delete { targets: spans },
                        }),
                    }
                    lv += take;
                }
                None => return,
            }
        }
    }

    // ---- reading the text -----------------------------------------------------------------

    /// The whole visible text.
    pub fn text(&self) -> String {
        self.slice(0..self.len())
    }

    /// The text in a char range.
    ///
    /// # Panics
    /// If the range is out of bounds or reversed.
    pub fn slice(&self, range: Range<usize>) -> String {
        let mut s = String::with_capacity(range.len());
        s.extend(self.chunks(range));
        s
    }

    /// The text in a char range as borrowed pieces, in order: no copying.
    ///
    /// # Panics
    /// If the range is out of bounds or reversed.
    pub fn chunks(&self, range: Range<usize>) -> impl Iterator<Item = &str> + '_ {
        self.visible_runs(range)
            .flat_map(move |(lv, n)| self.hist.text_pieces(lv, n))
    }

    /// Visible `(lv, len)` runs covering a char range.
    fn visible_runs(&self, range: Range<usize>) -> impl Iterator<Item = (Lv, u32)> + '_ {
        assert!(
            range.start <= range.end && range.end <= self.len(),
            "range {range:?} out of bounds"
        );
        let mut remaining = (range.end - range.start) as u32;
        // Start at the first char itself, not before the tombstones preceding it.
        let c = if range.is_empty() {
            self.tree.find_char(range.start as u32)
        } else {
            self.tree.find_visible(range.start as u32)
        };
        self.tree
            .spans_from(c)
            .filter(|s| !s.deleted())
            .map_while(move |s| {
                if remaining == 0 {
                    return None;
                }
                let take = remaining.min(s.len());
                remaining -= take;
                Some((s.lv(), take))
            })
    }

    /// The char at a position.
    pub fn char_at(&self, pos: usize) -> Option<char> {
        if pos >= self.len() {
            return None;
        }
        self.chunks(pos..pos + 1)
            .next()
            .and_then(|s| s.chars().next())
    }

    /// Number of lines: newlines + 1.
    pub fn line_count(&self) -> usize {
        self.tree.total().lines as usize + 1
    }

    /// The line (0-based) holding char position `pos` (`pos` may be `len()`).
    pub fn char_to_line(&self, pos: usize) -> usize {
        let pos = pos.min(self.len());
        self.tree.lines_before_char(pos as u32, &self.hist.newlines) as usize
    }

    /// The char position where `line` starts; `len()` for lines past the last.
    pub fn line_to_char(&self, line: usize) -> usize {
        if line == 0 {
            return 0;
        }
        if line > self.tree.total().lines as usize {
            return self.len();
        }
        self.tree
            .find_line_start(line as u32, &self.hist.newlines)
            .map_or(self.len(), |p| p as usize)
    }

    /// Who wrote the visible char at `pos`.
    pub fn author_at(&self, pos: usize) -> Option<ReplicaId> {
        self.authors(pos..pos.checked_add(1)?.min(self.len()))
            .next()
            .map(|(r, _)| r)
    }

    /// The text in a char range as `(author, text)` runs in order (neighbouring runs may share
    /// an author).
    pub fn authors(&self, range: Range<usize>) -> impl Iterator<Item = (ReplicaId, &str)> + '_ {
        let reps = &self.hist.replicas;
        self.visible_runs(range).flat_map(move |(lv, n)| {
            reps.split_lv_range(lv, n).flat_map(move |run| {
                let who = reps.ids[run.replica as usize];
                self.hist
                    .text_pieces(run.lv, run.len)
                    .map(move |s| (who, s))
            })
        })
    }

    // ---- anchors --------------------------------------------------------------------------

    /// A stable anchor for the point before char `pos` (`pos <= len()`).
    pub fn anchor(&self, pos: usize, bias: Bias) -> Anchor {
        let pos = pos.min(self.len()) as u32;
        let c = self.tree.find_char(pos);
        let lv = match bias {
            Bias::Left => self.tree.item_before(c),
            Bias::Right => {
                if pos == self.tree.total().chars {
                    None
                } else {
                    let c = self.tree.find_visible(pos);
                    Some(self.tree.span_at(c).lv() + c.off)
                }
            }
        };
        Anchor {
            id: lv.map(|lv| self.hist.replicas.id_of(lv)),
            bias,
        }
    }

    /// The current char position of an anchor. An anchor naming a character this replica has
    /// not seen yet resolves to the document start (`Bias::Left`) or end (`Bias::Right`).
    pub fn resolve(&self, anchor: &Anchor) -> usize {
        let lv = anchor
            .id
            .and_then(|id| self.hist.replicas.lv_of(id))
            .filter(|&lv| self.hist.is_char(lv));
        match (lv, anchor.bias) {
            (None, Bias::Left) => 0,
            (None, Bias::Right) => self.len(),
            (Some(lv), bias) => {
                let Some(c) = self.tree.locate(lv) else {
                    return 0;
                };
                let before = self.tree.offsets(c).chars as usize;
                let visible = !self.tree.span_at(c).deleted();
                if bias == Bias::Left && visible {
                    before + 1
                } else {
                    before
                }
            }
        }
    }

    // ---- undo -----------------------------------------------------------------------------

    /// Local ops that undo the visible effect of `op`, one of this replica's earlier ops
    /// (others' later edits stay): the still-visible characters an insert added are deleted,
    /// and the characters a delete removed are inserted again where they were.
    pub fn revert(&mut self, op: &Op) -> Vec<Op> {
        let mut out = Vec::new();
        let Some(first) = self.hist.replicas.lv_of(op.id) else {
            return out;
        };
        let len = op.len().min(u64::from(self.hist.next_lv - first)) as u32;
        match &op.kind {
            OpKind::Insert { .. } => {
                let mut visible = Vec::new();
                let mut lv = first;
                while lv < first + len {
                    let Some(c) = self.tree.locate(lv) else { break };
                    let s = self.tree.span_at(c);
                    let take = (first + len - lv).min(s.len() - c.off);
                    if !s.deleted() {
                        visible.push((lv, take));
                    }
                    lv += take;
                }
                if !visible.is_empty() {
                    for &(lv, n) in &visible {
                        self.tree
                            .delete_items(lv, lv + n, &self.hist.newlines, |_, _| {});
                    }
                    out.push(self.record_local_delete(&visible));
                }
            }
            OpKind::Delete { .. } => {
                // The characters deleted, ascending, grouped into runs adjacent in the text.
                let mut targets: Vec<Lv> = Vec::new();
                let mut lv = first;
                while lv < first + len {
                    let Some(Kind::Del(i)) = self.hist.kind_of(lv) else {
                        break;
                    };
                    let run = self.hist.del[i];
                    let take = (first + len).min(run.end()) - lv;
                    let from = lv - run.lv;
                    let (lo, n) = run.target_range(from, from + take);
                    targets.extend(lo..lo + n);
                    lv += take;
                }
                targets.sort_unstable();
                targets.dedup();
                let mut groups: Vec<(Lv, u32)> = Vec::new();
                for t in targets {
                    let Some(c) = self.tree.locate(t) else {
                        continue;
                    };
                    if !self.tree.span_at(c).deleted() {
                        continue;
                    }
                    let adjacent = |prev: Lv| {
                        self.tree.locate(prev).is_some_and(|mut p| {
                            p.off += 1;
                            self.tree.item_after(p) == Some(t)
                        })
                    };
                    match groups.last_mut() {
                        Some((lo, n)) if *lo + *n == t && adjacent(t - 1) => *n += 1,
                        _ => groups.push((t, 1)),
                    }
                }
                for (lo, n) in groups {
                    let text: String = self.hist.text_pieces(lo, n).collect();
                    let mut c = self.tree.locate(lo + n - 1).expect("target in tree");
                    c.off += 1;
                    out.push(self.insert_at(c, None, &text));
                }
            }
        }
        out
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
