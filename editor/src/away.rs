//! "While you were away": what others changed since this user last had the document open.
//!
//! The version the user last saw is kept in the store (with the undo history, see
//! `sync::store::EditorState`). After opening, while the document catches up with the peers,
//! the changes others made since that version ([`crdt_text::Doc::changes_since`]) become
//! *regions*, anchored to the text so they move with later edits: the text others inserted,
//! and the points where they deleted some. A one-line summary names who changed how many
//! places since when; the regions stay highlighted until the cursor visits them (or the
//! jump keys do) or the user dismisses them. Once every connected peer confirmed the same
//! text, the catch-up is over: edits made after it are not "while you were away".

use chrono::{Local, TimeZone};
use crdt_text::{Anchor, Bias, Doc, VersionVector, Who};

use crate::blame::name_of;
use crate::model::Model;

/// A place others changed while this user was away.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Region {
    /// Its first character (or the point of a deletion).
    pub start: Anchor,
    /// Just after its last character (the point again for a deletion).
    pub end: Anchor,
    /// Who changed it.
    pub who: Who,
    /// Whether the user has been there.
    pub visited: bool,
}

/// What others changed while this user was away.
#[derive(Clone, PartialEq, Debug)]
pub struct Away {
    /// The version the user last saw.
    seen: VersionVector,
    /// When they last had the document open (Unix seconds; 0: unknown).
    pub since: u64,
    /// The changed places, in text order.
    pub regions: Vec<Region>,
    /// Still catching up: remote edits are changes made while away.
    tracking: bool,
    /// Remote edits arrived since the regions were computed.
    stale: bool,
}

impl Away {
    /// Starts tracking changes since `seen`, last seen at `since`.
    pub fn new(doc: &Doc, seen: VersionVector, since: u64) -> Away {
        let mut away = Away {
            seen,
            since,
            regions: Vec::new(),
            tracking: true,
            stale: false,
        };
        away.recompute(doc);
        away
    }

    /// Computes the regions again (visited ones stay visited).
    fn recompute(&mut self, doc: &Doc) {
        let me = doc.who(doc.replica());
        let visited: Vec<Anchor> = self
            .regions
            .iter()
            .filter(|r| r.visited)
            .map(|r| r.start)
            .collect();
        self.regions = doc
            .changes_since(&self.seen)
            .into_iter()
            .filter(|c| c.who != me)
            .map(|c| {
                let start = doc.anchor(c.range.start, Bias::Right);
                Region {
                    start,
                    end: doc.anchor(c.range.end, Bias::Left),
                    who: c.who,
                    visited: visited.contains(&start),
                }
            })
            .collect();
        self.stale = false;
    }

    /// Unvisited regions as char ranges (a deletion point as an empty range).
    pub fn unvisited(&self, doc: &Doc) -> Vec<std::ops::Range<usize>> {
        self.regions
            .iter()
            .filter(|r| !r.visited)
            .map(|r| {
                let a = doc.resolve(&r.start);
                a..doc.resolve(&r.end).max(a)
            })
            .collect()
    }

    /// The summary line: "While you were away (since yesterday 18:02): bob changed 4 places,
    /// carol 1".
    pub fn summary(&self, doc: &Doc) -> String {
        let mut counts: Vec<(Who, usize)> = Vec::new();
        for r in &self.regions {
            match counts.iter_mut().find(|(w, _)| *w == r.who) {
                Some((_, n)) => *n += 1,
                None => counts.push((r.who, 1)),
            }
        }
        counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        let who: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(i, &(w, n))| {
                let name = name_of(doc, w);
                match (i, n) {
                    (0, 1) => format!("{name} changed 1 place"),
                    (0, n) => format!("{name} changed {n} places"),
                    (_, n) => format!("{name} {n}"),
                }
            })
            .collect();
        let since = match self.since {
            0 => String::new(),
            t => format!(" since {}", relative_time(t, sync::store::unix_now())),
        };
        format!("{}{since}", who.join(", "))
    }
}

/// `t` as "today 10:15", "yesterday 18:02" or "2026-11-28 09:00" (local time), seen at `now`.
pub fn relative_time(t: u64, now: u64) -> String {
    let (Some(at), Some(now)) = (
        Local.timestamp_opt(t as i64, 0).single(),
        Local.timestamp_opt(now as i64, 0).single(),
    ) else {
        return "an unknown time".into();
    };
    let days = (now.date_naive() - at.date_naive()).num_days();
    match days {
        0 => format!("today {}", at.format("%H:%M")),
        1 => format!("yesterday {}", at.format("%H:%M")),
        _ => at.format("%Y-%m-%d %H:%M").to_string(),
    }
}

impl Model {
    /// Starts showing what others changed since `seen` (the version last seen, at `since`).
    pub fn track_away(&mut self, seen: VersionVector, since: u64) {
        self.away = Some(Away::new(&self.doc, seen, since));
        self.settle_away();
    }

    /// Remote edits arrived: while catching up, they count as changes made while away.
    pub fn away_remote(&mut self) {
        if let Some(a) = self.away.as_mut().filter(|a| a.tracking) {
            a.stale = true;
        }
    }

    /// The document caught up with the peers: the regions are final.
    pub fn away_caught_up(&mut self) {
        if let Some(a) = self.away.as_mut().filter(|a| a.tracking) {
            a.recompute(&self.doc);
            a.tracking = false;
        }
        self.settle_away();
    }

    /// Recomputes the regions if remote edits arrived (called a few times a second, not per
    /// edit: the computation walks the history).
    pub fn refresh_away(&mut self) {
        if let Some(a) = self.away.as_mut().filter(|a| a.stale) {
            a.recompute(&self.doc);
        }
        self.settle_away();
    }

    /// Marks regions under the cursor visited; forgets the whole thing once every region
    /// was visited (and the catch-up is over).
    pub fn settle_away(&mut self) {
        let cursor = self.cursor();
        let Some(a) = self.away.as_mut() else { return };
        for r in &mut a.regions {
            let (s, e) = (self.doc.resolve(&r.start), self.doc.resolve(&r.end));
            if !r.visited && s <= cursor && cursor <= e.max(s) {
                r.visited = true;
            }
        }
        if !a.tracking && a.regions.iter().all(|r| r.visited) {
            self.away = None;
        }
    }

    /// Moves the cursor to the next (or previous) unvisited changed region, wrapping around.
    pub fn goto_away_change(&mut self, forward: bool) {
        let Some(a) = &self.away else {
            self.notify(
                crate::model::Level::Info,
                "No changes by others to visit since you were last here",
            );
            return;
        };
        let ranges = a.unvisited(&self.doc);
        let cursor = self.cursor();
        let target = if forward {
            ranges.iter().find(|r| r.start > cursor).or(ranges.first())
        } else {
            ranges
                .iter()
                .rev()
                .find(|r| r.start < cursor)
                .or(ranges.last())
        };
        match target.map(|r| r.start) {
            Some(pos) => {
                self.move_to(pos, false);
                self.center_on(pos);
                self.settle_away();
            }
            None => self.notify(crate::model::Level::Info, "Every change was visited"),
        }
    }

    /// Stops highlighting the changes made while away.
    pub fn dismiss_away(&mut self) {
        self.away = None;
    }

    /// Whether the summary row is shown: some change is left to visit.
    pub fn away_shown(&self) -> bool {
        self.away
            .as_ref()
            .is_some_and(|a| a.regions.iter().any(|r| !r.visited))
    }

    /// The summary row, while there is something left to visit, with the keys that visit
    /// and dismiss.
    pub fn away_row(&self) -> Option<String> {
        let a = self.away.as_ref().filter(|_| self.away_shown())?;
        let left = a.regions.iter().filter(|r| !r.visited).count();
        let key = |c: crate::commands::Command| {
            self.keymap
                .keys_for(c)
                .first()
                .map_or_else(|| c.name().to_owned(), ToString::to_string)
        };
        Some(format!(
            "While you were away: {} · {left} to visit: {} next · {} dismiss",
            a.summary(&self.doc),
            key(crate::commands::Command::NextChange),
            key(crate::commands::Command::DismissChanges),
        ))
    }
}
