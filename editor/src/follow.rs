//! Going to another peer's cursor, and following a peer: the view tracks their scroll and
//! their cursor as they move and type, until this user presses a key.

use sync::PeerId;

use crate::model::{Arrival, Level, Model};

impl Model {
    /// Whether `peer` is here and shows a cursor (in this file, or in a shared folder in
    /// another file: going there opens it).
    pub fn shows_cursor(&self, peer: &PeerId) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|p| p.here && (p.selection.is_some() || p.file.is_some()))
    }

    /// In a shared folder: the other file `peer` is in, if it is in another one.
    fn elsewhere(&self, peer: &PeerId) -> Option<String> {
        let p = self.peers.get(peer).filter(|p| p.here)?;
        p.file.clone().filter(|f| *f != self.file_name)
    }

    /// The next peer showing a cursor after `after` (in a stable order, wrapping), or the
    /// first.
    pub fn next_peer(&self, after: Option<PeerId>) -> Option<PeerId> {
        let shown: Vec<PeerId> = self
            .peers
            .keys()
            .filter(|p| self.shows_cursor(p))
            .copied()
            .collect();
        let next = after
            .and_then(|a| shown.iter().position(|p| *p == a))
            .map_or(0, |i| i + 1);
        shown.get(next).or_else(|| shown.first()).copied()
    }

    /// The name this user knows `peer` by.
    pub fn peer_name(&self, peer: &PeerId) -> String {
        self.peers
            .get(peer)
            .map_or_else(|| peer.short(), |p| p.name.clone())
    }

    /// Where `peer`'s cursor is, if they show one.
    fn peer_cursor(&self, peer: &PeerId) -> Option<usize> {
        let p = self.peers.get(peer).filter(|p| p.here)?;
        p.selection.map(|s| self.doc.resolve(&s.head))
    }

    /// Moves this user's cursor to `peer`'s and centres the view there (opening the file
    /// they are in first, in a shared folder).
    pub fn go_to_peer(&mut self, peer: PeerId) {
        if let Some(file) = self.elsewhere(&peer) {
            self.picked = Some(peer);
            self.arrive = Some(Arrival::GoTo(peer));
            self.emit(crate::msg::Effect::Open(file));
            return;
        }
        let Some(pos) = self.peer_cursor(&peer) else {
            let name = self.peer_name(&peer);
            self.notify(Level::Info, format!("{name} shows no cursor here"));
            return;
        };
        self.picked = Some(peer);
        self.move_to(pos, false);
        self.reveal = false;
        self.center_on(pos);
        let name = self.peer_name(&peer);
        self.notify(Level::Info, format!("At {name}'s cursor"));
    }

    /// Starts following `peer`: the view goes to their cursor and stays with it (and with
    /// them from file to file, in a shared folder).
    pub fn start_following(&mut self, peer: PeerId) {
        if let Some(file) = self.elsewhere(&peer) {
            self.picked = Some(peer);
            self.arrive = Some(Arrival::Follow(peer));
            self.emit(crate::msg::Effect::Open(file));
            return;
        }
        let Some(pos) = self.peer_cursor(&peer) else {
            let name = self.peer_name(&peer);
            self.notify(Level::Info, format!("{name} shows no cursor here"));
            return;
        };
        self.picked = Some(peer);
        self.follow = Some(peer);
        self.center_on(pos);
        self.track_followed();
        let name = self.peer_name(&peer);
        self.notify(Level::Info, format!("Following {name}: any key stops"));
    }

    /// Stops following (a key was pressed, or the peer left).
    pub fn stop_following(&mut self) {
        if let Some(peer) = self.follow.take() {
            let name = self.peer_name(&peer);
            self.notify(Level::Info, format!("Stopped following {name}"));
        }
    }

    /// While following: shows what the followed peer's screen shows (the same top line, when
    /// they share it, then scrolled just enough to keep their cursor on this screen, which may
    /// be smaller, if it is on theirs); without their view, keeps their cursor in view (centred when it jumps off
    /// screen). Stops if they left.
    pub fn track_followed(&mut self) {
        let Some(peer) = self.follow else { return };
        if let Some(file) = self.elsewhere(&peer) {
            // They went to another file of the folder: so does the view.
            self.emit(crate::msg::Effect::Open(file));
            return;
        }
        let Some(pos) = self.peer_cursor(&peer) else {
            // In a folder, a peer still here shows no cursor for a moment: between files, or
            // in this one before its cursor arrives.
            if self.in_folder() && self.peers.get(&peer).is_some_and(|p| p.here) {
                return;
            }
            self.follow = None;
            let name = self.peer_name(&peer);
            self.notify(Level::Info, format!("{name} left: no longer following"));
            return;
        };
        if let Some(view) = self.peers.get(&peer).and_then(|p| p.view) {
            let line = self.doc.char_to_line(self.doc.resolve(&view.top));
            if self.top() != (line, 0) {
                self.set_top(line, 0);
            }
            // Their cursor, when their screen shows it, stays on this one too.
            let cursor_line = self.doc.char_to_line(pos);
            if (line..line.saturating_add(view.rows as usize)).contains(&cursor_line) {
                self.reveal_pos(pos);
            }
        } else if self.is_near(pos) {
            self.reveal_pos(pos);
        } else {
            self.center_on(pos);
        }
    }

    /// A file of the folder was opened: goes to (or follows) the peer that was the reason.
    pub fn arrived(&mut self) {
        match self.arrive.take() {
            Some(Arrival::GoTo(peer)) => self.go_to_peer(peer),
            Some(Arrival::Follow(peer)) => self.start_following(peer),
            None => self.track_followed(),
        }
    }

    /// Whether `pos` is on or near the screen (near enough to scroll to rather than jump).
    fn is_near(&self, pos: usize) -> bool {
        let line = self.doc.char_to_line(pos);
        let (top, _) = self.top();
        let h = self.text_height();
        line + h >= top && line <= top + 2 * h
    }
}
