//! Where a remote insert goes: FugueMax placement among concurrent inserts.
//!
//! An insert between `left` and `right` that others inserted at concurrently is placed by
//! scanning the items between them (Gentle's YjsMod loop, which gives FugueMax's order). When
//! many replicas insert at one place — a sign-up list, a shared agenda — the scan would pass
//! every earlier one: quadratic in the writers. So where a scan is long, the left origin gets
//! a *sibling group*: its children (inserts with that left origin) between it and `right`,
//! by replica id. If they all share `right`, the scan passes every sibling with a smaller
//! replica id (and everything inserted into their runs) and stops at the first with a larger
//! one, so a binary search finds that one, or the last smaller one to scan on from: `O(log n)`
//! per insert whatever order the inserts arrive in. Items that are no child of `left` lie
//! either inside a sibling's run of descendants or after them all, so they never change the
//! outcome before the last sibling.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use super::*;

/// Where a remote insert goes.
pub(super) enum Placed {
    At(Cursor, u32),
    BadLeft,
    BadRight,
}

/// A scan past more items than this gives its left origin a sibling group.
const GROUP_AFTER: i64 = 8;

/// Sibling groups by left origin (see the module docs). Only places where a scan was long
/// have one, so typing and ordinary merges never touch this.
#[derive(Clone, Default, Debug)]
pub(super) struct Siblings {
    groups: HashMap<Lv, Group>,
}

#[derive(Clone, Debug)]
struct Group {
    /// The right origin of the siblings.
    right: Lv,
    /// A child of the left origin with another right origin exists: no shortcut here.
    mixed: bool,
    /// The siblings' first characters, by replica id (then version).
    by_replica: BTreeSet<(ReplicaId, Lv)>,
}

impl Siblings {
    /// Records an insert whose first character `lv` (by `replica`) has origins `left` and
    /// `right` (local or remote: every child of a grouped origin must be seen here).
    pub(super) fn added(&mut self, left: Lv, right: Lv, replica: ReplicaId, lv: Lv) {
        if self.groups.is_empty() {
            return;
        }
        if let Some(g) = self.groups.get_mut(&left) {
            if g.right == right {
                g.by_replica.insert((replica, lv));
            } else {
                g.mixed = true;
            }
        }
    }
}

impl Doc {
    /// Where a remote insert between `left` and `right` goes (Fugue / YjsMod integration),
    /// checking that both origins are characters.
    pub(super) fn place(&mut self, r: u32, [left, right]: [Lv; 2]) -> Placed {
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
        let right_c = match right {
            NIL => None,
            _ => match self.tree.locate(right) {
                Some(c) => Some(c),
                None => return Placed::BadRight,
            },
        };
        let total = i64::from(self.tree.total().items);
        let left_i = i64::from(self.tree.offsets(after_left).items) - 1;
        let right_i = right_c.map_or(total, |c| i64::from(self.tree.offsets(c).items));
        let c = self.scan_concurrent(r, [left, right], [left_i, right_i]);
        Placed::At(c, self.tree.chars_before(c))
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
    /// them concurrently: FugueMax's order, through the sibling group when there is one.
    fn scan_concurrent(
        &mut self,
        r: u32,
        [left, right]: [Lv; 2],
        [left_i, right_i]: [i64; 2],
    ) -> Cursor {
        let me = self.hist.replicas.ids[r as usize];
        let mut from = left_i + 1;
        let group = self.siblings.groups.get(&left);
        if let Some(g) = group.filter(|g| g.right == right && !g.mixed) {
            let larger = (Bound::Excluded((me, Lv::MAX)), Bound::Unbounded);
            if let Some(&(_, first)) = g.by_replica.range(larger).next() {
                return self
                    .tree
                    .locate(first)
                    .expect("known character is in the tree");
            }
            if let Some(&(_, last)) = g.by_replica.range(..(me, Lv::MAX)).next_back() {
                from = self.item_index(last, 0);
            }
        }
        let grouped = group.is_some();
        let (dest, steps) = self.scan(me, [left, right], [left_i, right_i], from);
        if !grouped && steps > GROUP_AFTER {
            self.group(left, right, left_i, right_i);
        }
        self.tree.find_item(dest as u32)
    }

    /// The YjsMod loop (as in Gentle's reference CRDTs) from item `from`, where the insert
    /// would go if nothing followed: returns the destination and the items passed.
    fn scan(
        &self,
        me: ReplicaId,
        [left, right]: [Lv; 2],
        [left_i, right_i]: [i64; 2],
        from: i64,
    ) -> (i64, i64) {
        let total = i64::from(self.tree.total().items);
        // Concurrent siblings share the origins: no tree lookups for those.
        let index = |lv: Lv, none: i64| match lv {
            NIL => none,
            _ if lv == left => left_i,
            _ if lv == right => right_i,
            _ => self.item_index(lv, none),
        };
        let mut dest = from;
        let mut scanning = false;
        let mut i = from;
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
            let o_left_i = index(o_left, -1);
            let o_right_i = index(o_right, total);
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
        (dest, i - from)
    }

    /// Builds the sibling group of `left` from the children of `left` between it and
    /// `right` (item indexes `left_i`, `right_i`).
    fn group(&mut self, left: Lv, right: Lv, left_i: i64, right_i: i64) {
        let mut g = Group {
            right,
            mixed: false,
            by_replica: BTreeSet::new(),
        };
        let hist = &self.hist;
        let mut child = |lv: Lv, (o_left, o_right): (Lv, Lv)| {
            if o_left == left {
                if o_right == right {
                    let replica = hist.replicas.ids[hist.replicas.run_of(lv).replica as usize];
                    g.by_replica.insert((replica, lv));
                } else {
                    g.mixed = true;
                }
            }
        };
        let mut i = left_i + 1;
        for span in self.tree.spans_from(self.tree.find_item(i as u32)) {
            if i >= right_i {
                break;
            }
            let a = span.lv();
            let end = a + (i64::from(span.len()).min(right_i - i)) as Lv;
            // The span's first item, and every insert run starting inside it (runs placed one
            // after another share a span).
            let k = hist.ins.partition_point(|run| run.end() <= a);
            child(a, hist.ins[k].origins_of(a));
            for run in hist.ins[k + 1..].iter().take_while(|run| run.lv < end) {
                child(run.lv, (run.origin_left, run.origin_right));
            }
            i += i64::from(span.len());
        }
        self.siblings.groups.insert(left, g);
    }
}
