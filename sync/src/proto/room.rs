//! One big room's swarm: iroh-gossip's sans-IO membership (HyParView) and broadcast
//! (PlumTree) state for one document, with its timers on the protocol's clock, and what is
//! broadcast in it.
//!
//! The swarm's messages travel on the document's own channels (a `DocMessage::Gossip` on a
//! connection where the document was joined with its proof), so only peers that proved the
//! document secret take part: the gossip layer needs no authentication of its own.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use crdt_text::Op;
use iroh_gossip::proto::topic::{Command, Event, InEvent, Message, OutEvent, State, Timer};
use iroh_gossip::proto::{Config, DeliveryScope, PeerData, Scope};
use rand_gossip::SeedableRng;
use rand_gossip::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::{Millis, PresenceState};
use crate::ids::PeerId;

/// A gossip message of a room's swarm, as it travels in `DocMessage::Gossip`.
pub type GossipMessage = Message<PeerId>;

/// What is broadcast to everyone in a room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Broadcast {
    /// Live ops of the document (any author's; receivers apply what they lack).
    Ops(Vec<Op>),
    /// A peer's name and cursor (`None`: hidden), repeated as a heartbeat: a peer not heard
    /// from for a while has left. `seq` makes every one a distinct message.
    Presence {
        /// Whose.
        from: PeerId,
        /// Counts up per sender, so repeated presences are not taken for duplicates.
        seq: u64,
        /// The name its user goes by.
        name: String,
        /// Its cursor and selection.
        presence: Option<PresenceState>,
    },
    /// A peer leaves the room (it quits or closes the document).
    Bye {
        /// Who.
        from: PeerId,
    },
}

/// Bytes of broadcast content at most: iroh-gossip's default message limit (4 KiB) minus its
/// framing.
pub(crate) const MAX_BROADCAST: usize = 3 * 1024;

/// What the swarm asks of the protocol, in order.
#[derive(Debug)]
pub(crate) enum RoomOut {
    /// Send this swarm message to this peer (on the document's channel to it).
    Send(PeerId, GossipMessage),
    /// This peer is (no longer) a neighbour in the swarm.
    Neighbor(PeerId, bool),
    /// A broadcast arrived, forwarded by this neighbour.
    Received(PeerId, Broadcast),
    /// The swarm no longer needs the document's channel to this peer.
    Drop(PeerId),
    /// The swarm learned how to reach a peer.
    Addrs(PeerId, Vec<SocketAddr>),
}

/// The swarm of one room.
pub(crate) struct Room {
    state: State<PeerId, StdRng>,
    /// The protocol's clock at `Millis(0)`, for the swarm's `Instant`s.
    origin: Instant,
    timers: Vec<(Millis, Timer<PeerId>)>,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room")
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}

impl Room {
    /// A room for us (`me`, reachable at `addrs`), seeded for reproducible randomness.
    pub(crate) fn new(me: PeerId, addrs: &[SocketAddr], seed: [u8; 32]) -> Room {
        let data = PeerData::new(postcard::to_stdvec(addrs).unwrap_or_default());
        let state = State::with_rng(me, Some(data), Config::default(), StdRng::from_seed(seed));
        Room {
            state,
            origin: Instant::now(),
            timers: Vec::new(),
        }
    }

    fn instant(&self, now: Millis) -> Instant {
        self.origin + Duration::from_millis(now.0)
    }

    /// Feeds one event to the swarm.
    fn handle(&mut self, event: InEvent<PeerId>, now: Millis) -> Vec<RoomOut> {
        let at = self.instant(now);
        let events: Vec<OutEvent<PeerId>> = self.state.handle(event, at).collect();
        let mut out = Vec::new();
        for event in events {
            match event {
                OutEvent::SendMessage(to, msg) => out.push(RoomOut::Send(to, msg)),
                OutEvent::ScheduleTimer(delay, timer) => {
                    let due = now.plus(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
                    self.timers.push((due, timer));
                }
                OutEvent::DisconnectPeer(peer) => out.push(RoomOut::Drop(peer)),
                OutEvent::PeerData(peer, data) => {
                    if let Ok(addrs) = postcard::from_bytes::<Vec<SocketAddr>>(data.as_bytes()) {
                        out.push(RoomOut::Addrs(peer, addrs));
                    }
                }
                OutEvent::EmitEvent(Event::NeighborUp(peer)) => {
                    out.push(RoomOut::Neighbor(peer, true));
                }
                OutEvent::EmitEvent(Event::NeighborDown(peer)) => {
                    out.push(RoomOut::Neighbor(peer, false));
                }
                OutEvent::EmitEvent(Event::Received(event)) => {
                    if let DeliveryScope::Swarm(_) = event.scope
                        && let Ok(broadcast) = postcard::from_bytes::<Broadcast>(&event.content)
                    {
                        out.push(RoomOut::Received(event.delivered_from, broadcast));
                    }
                }
            }
        }
        out
    }

    /// Joins the swarm through these peers (none: wait to be joined).
    pub(crate) fn join(&mut self, through: Vec<PeerId>, now: Millis) -> Vec<RoomOut> {
        self.handle(InEvent::Command(Command::Join(through)), now)
    }

    /// Broadcasts to the whole room. Content over [`MAX_BROADCAST`] is not sent (the caller
    /// cuts ops into smaller batches; anti-entropy delivers anything that is lost).
    pub(crate) fn broadcast(&mut self, what: &Broadcast, now: Millis) -> Vec<RoomOut> {
        match postcard::to_stdvec(what) {
            Ok(bytes) if bytes.len() <= MAX_BROADCAST => {
                let command = Command::Broadcast(Bytes::from(bytes), Scope::Swarm);
                self.handle(InEvent::Command(command), now)
            }
            Ok(bytes) => {
                tracing::debug!(bytes = bytes.len(), "broadcast too large for the room");
                Vec::new()
            }
            Err(e) => {
                tracing::error!("cannot encode a broadcast: {e}");
                Vec::new()
            }
        }
    }

    /// A swarm message from `from`.
    pub(crate) fn receive(
        &mut self,
        from: PeerId,
        msg: GossipMessage,
        now: Millis,
    ) -> Vec<RoomOut> {
        self.handle(InEvent::RecvMessage(from, msg), now)
    }

    /// The document's last channel to `peer` closed.
    pub(crate) fn disconnected(&mut self, peer: PeerId, now: Millis) -> Vec<RoomOut> {
        self.handle(InEvent::PeerDisconnected(peer), now)
    }

    /// Our addresses changed.
    pub(crate) fn addrs_changed(&mut self, addrs: &[SocketAddr], now: Millis) -> Vec<RoomOut> {
        let data = PeerData::new(postcard::to_stdvec(addrs).unwrap_or_default());
        self.handle(InEvent::UpdatePeerData(data), now)
    }

    /// Leaves the swarm, telling the neighbours.
    pub(crate) fn quit(&mut self, now: Millis) -> Vec<RoomOut> {
        self.handle(InEvent::Command(Command::Quit), now)
    }

    /// Fires the timers due at `now`.
    pub(crate) fn expire(&mut self, now: Millis) -> Vec<RoomOut> {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.timers)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.timers = later;
        let mut out = Vec::new();
        for (_, timer) in due {
            out.extend(self.handle(InEvent::TimerExpired(timer), now));
        }
        out
    }

    /// When the next timer is due.
    pub(crate) fn next_timer(&self) -> Option<Millis> {
        self.timers.iter().map(|(at, _)| *at).min()
    }
}
