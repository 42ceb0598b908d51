//! Timers and the end of every `handle` call: timeouts, acknowledgements, catch-up requests,
//! coalesced sends, dials and the status report.

use crdt_text::OpId;

use super::super::split::batches;
use super::super::{ConnId, EndpointKey, Event, Message, Output, ProtoError, SyncStatus};
use super::Peer;

impl Peer {
    pub(super) fn tick(&mut self) {
        let (now, t) = (self.now, self.cfg.timers.clone());
        let expired: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| !c.is_live() && now.since(c.opened) >= t.handshake_timeout_ms)
            .map(|c| c.id)
            .collect();
        for id in expired {
            self.close(id, ProtoError::HandshakeTimeout(t.handshake_timeout_ms));
        }
        let stuck: Vec<(ConnId, OpId, u64)> = self
            .held
            .iter()
            .filter(|h| now.since(h.since) >= t.pending_timeout_ms)
            .map(|h| (h.conn, h.id, now.since(h.since)))
            .collect();
        for (id, op, waited_ms) in stuck {
            self.close(id, ProtoError::StuckOp { op, waited_ms });
        }
        let due: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| {
                c.is_live()
                    && c.ack_sent
                        .as_ref()
                        .is_none_or(|(_, at)| now.since(*at) >= t.ack_interval_ms)
            })
            .map(|c| c.id)
            .collect();
        for id in due {
            self.send_ack(id);
            if let Some(p) = &self.presence {
                self.send(id, Message::Presence(Some(p.clone())));
            }
        }
    }

    pub(super) fn send_ack(&mut self, id: ConnId) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.ack_sent = Some((self.durable.clone(), self.now));
            let v = self.durable.clone();
            self.send(id, Message::Ack(v));
        }
    }

    /// Sends what accumulated during this `handle` call, dials due peers, reports status.
    pub(super) fn flush(&mut self) {
        let now = self.now;
        let min = self.cfg.timers.sync_min_interval_ms;
        let version = self.doc.version();
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            if !c.is_live() {
                continue;
            }
            // The remote has ops we lack (it acknowledged them, or sent ops that wait for
            // dependencies): ask for them, at most once per interval.
            let lacking = !version.includes(&c.known) && !c.inbound.in_progress();
            if lacking && c.sync_asked.is_none_or(|t| now.since(t) >= min) {
                c.sync_asked = Some(now);
                self.send(id, Message::Sync(version.clone()));
            }
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            if c.sync_deferred.is_some() {
                if c.sync_served.is_none_or(|t| now.since(t) >= min) {
                    self.serve_sync(id);
                }
                continue;
            }
            let ops = std::mem::take(&mut c.outbox);
            if !ops.is_empty() {
                for batch in batches(ops, self.cfg.limits.max_ops_per_message) {
                    self.send(id, Message::Ops(batch));
                }
            }
        }
        let delay = self.cfg.timers.ack_delay_ms;
        let stale: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| c.is_live())
            .filter(|c| {
                c.ack_sent
                    .as_ref()
                    .is_none_or(|(v, at)| *v != self.durable && now.since(*at) >= delay)
            })
            .map(|c| c.id)
            .collect();
        for id in stale {
            self.send_ack(id);
        }
        if std::mem::take(&mut self.presence_dirty) {
            self.broadcast(None, Message::Presence(self.presence.clone()));
        }
        for addr in self.mesh.due(now, &self.cfg.timers, &mut self.rng) {
            if self.conns.values().any(|c| c.remote == addr.key) {
                self.mesh.connected(&addr.key);
            } else {
                self.out.push(Output::Dial(addr));
            }
        }
        let status = self.compute_status();
        if status != self.status {
            self.status = status;
            self.out.push(Output::Event(Event::Status(status)));
        }
    }

    pub(super) fn compute_status(&self) -> SyncStatus {
        let me = self.doc.replica();
        let mine = self.doc.version().get(me);
        let mut live: Vec<EndpointKey> = self
            .conns
            .values()
            .filter(|c| c.is_live())
            .map(|c| c.remote)
            .collect();
        live.sort_unstable();
        live.dedup();
        SyncStatus {
            connected: live.len(),
            unsaved: mine.saturating_sub(self.durable.get(me)),
            unacknowledged: mine.saturating_sub(self.acked_any.get(me)),
            pending: self.doc.pending_len(),
            catching_up: self.conns.values().any(|c| c.inbound.in_progress()),
        }
    }

    pub(super) fn send(&mut self, conn: ConnId, msg: Message) {
        self.out.push(Output::Send { conn, msg });
    }

    /// Sends `msg` on every verified connection except `except`.
    pub(super) fn broadcast(&mut self, except: Option<ConnId>, msg: Message) {
        let ids: Vec<ConnId> = self
            .conns
            .values()
            .filter(|c| c.is_live() && Some(c.id) != except)
            .map(|c| c.id)
            .collect();
        for id in ids {
            self.send(id, msg.clone());
        }
    }
}
