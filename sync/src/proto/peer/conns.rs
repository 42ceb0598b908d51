//! Connections: admission, the `Hello` exchange, duplicates and restarts, closing.

use std::net::SocketAddr;

use rand_chacha::rand_core::RngCore;

use super::super::conn::{Conn, Phase};
use super::super::{
    ConnId, Departure, Docs, Event, Goodbye, GoodbyeCode, Hello, MAX_GOODBYE_DETAIL, Message,
    Output, PROTOCOL_VERSION, PeerAddr, ProtoError,
};
use super::Peer;
use crate::ids::{DocId, PeerId};

impl Peer {
    pub(super) fn connected(
        &mut self,
        id: ConnId,
        remote: PeerId,
        addr: Option<SocketAddr>,
        dialer: bool,
    ) {
        if let Some(old) = self.conns.remove(&id) {
            self.gone(old, None);
        }
        let refuse = |this: &mut Self, error: ProtoError| {
            this.out.push(Output::Close { conn: id, error });
        };
        if remote == self.cfg.local.id {
            self.out.push(Output::Event(Event::Refused {
                doc: None,
                peer: remote,
                error: ProtoError::SelfConnection,
            }));
            return refuse(self, ProtoError::SelfConnection);
        }
        // Our dial finished while the remote's dial to us already carries the session (an
        // initial packet lost to a restarting peer is resent a second later): the late one
        // goes unused, so the open one is never traded for it and nobody sees the peer leave
        // and come back. Both cannot do this at once: the remote's connection is open here
        // only after the remote finished dialing it.
        if dialer
            && self
                .conns
                .values()
                .any(|c| c.remote == remote && c.is_open())
        {
            return refuse(self, ProtoError::Duplicate);
        }
        let limits = &self.cfg.limits;
        if self.conns.len() >= limits.max_connections {
            let why = format!(
                "{} open (limit {})",
                self.conns.len(),
                limits.max_connections
            );
            return refuse(self, ProtoError::TooManyConnections(why));
        }
        if !dialer {
            let strangers = self.conns.values().filter(|c| !c.verified);
            let (total, same_ip) = strangers.fold((0, 0), |(t, s), c| {
                let same = addr.is_some() && c.addr.map(|a| a.ip()) == addr.map(|a| a.ip());
                (t + 1, s + usize::from(same))
            });
            if total >= limits.max_unverified {
                let why = format!("{total} not yet verified (limit {})", limits.max_unverified);
                return refuse(self, ProtoError::TooManyConnections(why));
            }
            if same_ip >= limits.max_unverified_per_ip {
                let why = format!(
                    "{same_ip} not yet verified from one address (limit {})",
                    limits.max_unverified_per_ip
                );
                return refuse(self, ProtoError::TooManyConnections(why));
            }
        }
        let mut nonce = [0; 32];
        self.rng.fill_bytes(&mut nonce);
        let conn = Conn::new(id, remote, addr, dialer, nonce, self.now, &self.cfg.limits);
        self.conns.insert(id, conn);
        if self.mesh.peers.contains_key(&remote) {
            self.mesh.connected(&remote);
            if let Some(a) = addr {
                let learned = PeerAddr {
                    id: remote,
                    addrs: vec![a],
                };
                self.mesh.add(learned, self.now, &self.cfg.limits);
            }
        }
        let hello = Hello {
            version: PROTOCOL_VERSION,
            key: self.cfg.local.id,
            nonce,
            session: self.session,
            name: self.cfg.name.clone(),
        };
        self.send(id, Message::Hello(hello));
    }

    pub(super) fn on_message(
        &mut self,
        docs: &mut dyn Docs,
        id: ConnId,
        msg: Message,
    ) -> Result<(), ProtoError> {
        let Some(conn) = self.conns.get(&id) else {
            return Ok(());
        };
        let open = conn.is_open();
        match msg {
            Message::Goodbye(Goodbye { code, detail }) => {
                let error = ProtoError::Remote { code, detail };
                if let Some(c) = self.conns.remove(&id) {
                    self.out.push(Output::Close {
                        conn: id,
                        error: error.clone(),
                    });
                    self.gone(c, Some(error));
                }
                Ok(())
            }
            Message::Hello(hello) if !open => {
                self.touch_all();
                self.on_hello(id, hello)
            }
            Message::Join(join) if open => {
                self.touch(join.doc);
                self.on_join(id, join)
            }
            Message::Leave(leave) if open => {
                self.touch(leave.doc);
                self.on_leave(id, leave);
                Ok(())
            }
            Message::Doc { chan, msg } if open => {
                if self.conns[&id].left_chans.contains(&chan) {
                    // Sent before the remote saw that we left the document.
                    return Ok(());
                }
                let doc = self.conns[&id]
                    .their_chans
                    .get(&chan)
                    .copied()
                    .ok_or_else(|| {
                        ProtoError::Violation(format!("{} for unknown document {chan}", msg.name()))
                    })?;
                self.touch(doc);
                self.on_doc_message(docs, id, doc, msg)
            }
            msg => {
                let phase = if open { "after Hello" } else { "before Hello" };
                Err(ProtoError::Violation(format!("{} {phase}", msg.name())))
            }
        }
    }

    fn on_hello(&mut self, id: ConnId, hello: Hello) -> Result<(), ProtoError> {
        if hello.version != PROTOCOL_VERSION {
            return Err(ProtoError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: hello.version,
            });
        }
        let Some(conn) = self.conns.get_mut(&id) else {
            return Ok(());
        };
        if hello.key != conn.remote {
            return Err(ProtoError::KeyMismatch);
        }
        let (chars, limit) = (hello.name.chars().count(), self.cfg.limits.max_name_chars);
        if chars > limit {
            return Err(ProtoError::PresenceTooLarge { chars, limit });
        }
        if !hello.name.is_empty() {
            conn.name = Some(hello.name.clone());
            if let Some(k) = self.mesh.peers.get_mut(&hello.key) {
                k.name = Some(hello.name);
            }
        }
        conn.phase = Phase::Open {
            their_nonce: hello.nonce,
            session: hello.session,
        };
        if !self.dedupe(id) {
            return Ok(());
        }
        let remote = self.conns[&id].remote;
        // Documents whose peers include the remote, or whose room asked to reach it.
        let docs: Vec<DocId> = self
            .docs
            .iter()
            .filter(|(_, d)| {
                (d.known.contains(&remote) && !d.on_demand)
                    || d.room
                        .as_ref()
                        .is_some_and(|r| r.waiting.contains_key(&remote))
            })
            .map(|(doc, _)| *doc)
            .collect();
        for doc in docs {
            self.join(id, doc);
        }
        Ok(())
    }

    /// Another open connection to the same peer: from a previous run of it (another session),
    /// it is stale and goes at once; from this run (both dialed at once), both ends keep the
    /// same one. Returns whether `id` stays.
    fn dedupe(&mut self, id: ConnId) -> bool {
        let (remote, session) = match &self.conns[&id].phase {
            Phase::Open { session, .. } => (self.conns[&id].remote, *session),
            Phase::AwaitHello => return true,
        };
        let twins: Vec<(ConnId, u64)> = self
            .conns
            .values()
            .filter(|c| c.id != id && c.remote == remote)
            .filter_map(|c| match c.phase {
                Phase::Open { session, .. } => Some((c.id, session)),
                Phase::AwaitHello => None,
            })
            .collect();
        for (twin, theirs) in twins {
            if theirs != session {
                self.close(twin, ProtoError::Superseded);
                continue;
            }
            let loser = if self.tie_break(id) < self.tie_break(twin) {
                twin
            } else {
                id
            };
            self.close(loser, ProtoError::Duplicate);
            if loser == id {
                return false;
            }
        }
        true
    }

    /// Both ends order duplicate connections the same way: by the dialer's key, then the
    /// dialer's nonce. The smaller one is kept.
    fn tie_break(&self, id: ConnId) -> ([u8; 32], [u8; 32]) {
        let c = &self.conns[&id];
        let their = match c.phase {
            Phase::Open { their_nonce, .. } => their_nonce,
            Phase::AwaitHello => [0xff; 32],
        };
        if c.dialer {
            (self.cfg.local.id.0, c.our_nonce)
        } else {
            (c.remote.0, their)
        }
    }

    /// Closes `id`, telling the remote why.
    pub(super) fn close(&mut self, id: ConnId, error: ProtoError) {
        let Some(conn) = self.conns.remove(&id) else {
            return;
        };
        let goodbye = Goodbye {
            code: error.goodbye_code(),
            detail: clip(error.to_string()),
        };
        self.send(id, Message::Goodbye(goodbye));
        self.out.push(Output::Close {
            conn: id,
            error: error.clone(),
        });
        self.gone(conn, Some(error));
    }

    /// Bookkeeping after `conn` ended, with `error` if it was closed because of one.
    pub(super) fn gone(&mut self, conn: Conn, error: Option<ProtoError>) {
        self.touch_all();
        let remote = conn.remote;
        let why = departure(error.as_ref());
        for (doc, chan) in &conn.chans {
            if let Some(d) = self.docs.get_mut(doc) {
                d.held.retain(|h| h.conn != conn.id);
            }
            if chan.is_live() {
                self.chan_gone(*doc, remote, why.clone());
                self.room_channel_down(*doc, remote);
            }
        }
        if !conn.verified
            && let Some(e) = &error
            && !e.is_benign()
            && !matches!(e, ProtoError::TooManyConnections(_))
        {
            self.out.push(Output::Event(Event::Refused {
                doc: None,
                peer: remote,
                error: e.clone(),
            }));
        }
        if !self.conns.values().any(|c| c.remote == remote) {
            let fault = error.as_ref().map_or(!conn.verified, |e| !e.is_benign());
            self.mesh
                .lost(&remote, fault, self.now, &self.cfg.timers, &mut self.rng);
        }
    }

    /// A document's channel to `remote` closed: remember how, for when the user is told it
    /// left (see `report_here`).
    pub(super) fn chan_gone(&mut self, doc: DocId, remote: PeerId, why: Departure) {
        if let Some(d) = self.docs.get_mut(&doc) {
            d.departures.insert(remote, why);
        }
    }
}

/// How a connection that ended with `error` looks to the user.
pub(super) fn departure(error: Option<&ProtoError>) -> Departure {
    match error {
        None => Departure::Lost,
        Some(
            ProtoError::Shutdown
            | ProtoError::Remote {
                code: GoodbyeCode::Shutdown,
                ..
            },
        ) => Departure::Quit,
        Some(
            ProtoError::Superseded
            | ProtoError::Remote {
                code: GoodbyeCode::Superseded,
                ..
            },
        ) => Departure::Restarted,
        Some(e) => Departure::Error(e.clone()),
    }
}

/// At most [`MAX_GOODBYE_DETAIL`] bytes of `detail`, cut at a char boundary.
pub(super) fn clip(mut detail: String) -> String {
    if detail.len() > MAX_GOODBYE_DETAIL {
        let mut cut = MAX_GOODBYE_DETAIL;
        while !detail.is_char_boundary(cut) {
            cut -= 1;
        }
        detail.truncate(cut);
    }
    detail
}
