//! The state of one connection and of each document open on it: handshake progress, what
//! the remote has, rate limiting and the reassembly of a chunked catch-up update.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use crdt_text::{Op, VersionVector};

use super::{ConnId, Limits, Millis, PresenceState, ProtoError, UpdateChunk};
use crate::ids::{DocId, PeerId};

/// Where a connection is in its life.
#[derive(Clone, Debug)]
pub(crate) enum Phase {
    /// Waiting for the remote's `Hello`.
    AwaitHello,
    /// Hellos exchanged: documents may be joined.
    Open {
        /// The remote's nonce.
        their_nonce: [u8; 32],
        /// The remote's process session.
        session: u64,
    },
}

/// One connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub id: ConnId,
    /// The transport-authenticated remote id.
    pub remote: PeerId,
    /// The remote's direct address, if known.
    pub addr: Option<SocketAddr>,
    /// The name the remote's user announced.
    pub name: Option<String>,
    pub dialer: bool,
    pub phase: Phase,
    pub our_nonce: [u8; 32],
    pub opened: Millis,
    /// Since when no document has been live on it (`None`: one is).
    pub idle_since: Option<Millis>,
    /// Whether a document was ever verified on it (it is no longer a stranger's).
    pub verified: bool,
    /// Documents open (or being opened) on it.
    pub chans: BTreeMap<DocId, Chan>,
    /// The remote's numbers for the documents it joined.
    pub their_chans: BTreeMap<u32, DocId>,
    /// The remote's numbers for documents we left on it (the newest few): what it sent on
    /// them before it saw our `Leave` is dropped, not taken for a violation.
    pub left_chans: BTreeSet<u32>,
    /// Our next document number.
    pub next_chan: u32,
    /// `Join`s from the remote whose proof did not verify.
    pub failed_joins: usize,
    pub bucket: TokenBucket,
}

impl Conn {
    pub fn new(
        id: ConnId,
        remote: PeerId,
        addr: Option<SocketAddr>,
        dialer: bool,
        nonce: [u8; 32],
        now: Millis,
        limits: &Limits,
    ) -> Conn {
        Conn {
            id,
            remote,
            addr,
            name: None,
            dialer,
            phase: Phase::AwaitHello,
            our_nonce: nonce,
            opened: now,
            idle_since: Some(now),
            verified: false,
            chans: BTreeMap::new(),
            their_chans: BTreeMap::new(),
            left_chans: BTreeSet::new(),
            next_chan: 0,
            failed_joins: 0,
            bucket: TokenBucket::new(limits.flood_burst, limits.flood_rate_per_sec, now),
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
    }

    /// The document open and verified on this connection, if `doc` is.
    pub fn live(&self, doc: &DocId) -> Option<&Chan> {
        self.chans.get(doc).filter(|c| c.is_live())
    }

    /// Documents verified on this connection.
    pub fn live_docs(&self) -> impl Iterator<Item = DocId> + '_ {
        self.chans
            .iter()
            .filter(|(_, c)| c.is_live())
            .map(|(d, _)| *d)
    }
}

/// Whether a document on a connection is verified.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ChanPhase {
    /// We sent our `Join`; the remote's has not arrived.
    Proposed,
    /// Both proofs verified: document traffic flows.
    Live,
}

/// One document on one connection.
#[derive(Debug)]
pub(crate) struct Chan {
    /// Our number for the document (in our `Doc` frames).
    pub ours: u32,
    /// The remote's number, once its `Join` verified.
    pub theirs: Option<u32>,
    pub phase: ChanPhase,
    /// Ops the remote has (it sent them, acknowledged them or told us its version), or that
    /// we sent it. If it includes ops we lack, we ask for them.
    pub known: VersionVector,
    /// The version the remote last acknowledged as durable.
    pub their_ack: VersionVector,
    /// Ops to send at the end of this `handle` call (coalesced into `Ops` messages).
    pub outbox: Vec<Op>,
    /// The durable version we last acknowledged on this connection, and when.
    pub ack_sent: Option<(VersionVector, Millis)>,
    /// When we last asked the remote for a catch-up.
    pub sync_asked: Option<Millis>,
    /// When we last served the remote a catch-up, and whether it asked for one since.
    pub sync_served: Option<Millis>,
    pub sync_deferred: Option<VersionVector>,
    /// The version our last catch-up update brings the remote to, until it acknowledges it.
    pub sync_unacked: Option<VersionVector>,
    /// Numbers our next catch-up update.
    pub next_update: u32,
    pub inbound: Inbound,
    pub presence: Option<PresenceState>,
    /// The version whose digest we last sent.
    pub digest_sent: Option<VersionVector>,
    /// The version at which the remote's digest matched ours.
    pub confirmed: Option<VersionVector>,
    /// The remote's text differed from ours at an equal version.
    pub diverged: bool,
    /// When the channel went live.
    pub live_since: Option<Millis>,
}

impl Chan {
    pub fn new(ours: u32) -> Chan {
        Chan {
            ours,
            theirs: None,
            phase: ChanPhase::Proposed,
            known: VersionVector::new(),
            their_ack: VersionVector::new(),
            outbox: Vec::new(),
            ack_sent: None,
            sync_asked: None,
            sync_served: None,
            sync_deferred: None,
            sync_unacked: None,
            next_update: 0,
            inbound: Inbound::Idle,
            presence: None,
            digest_sent: None,
            confirmed: None,
            diverged: false,
            live_since: None,
        }
    }

    pub fn is_live(&self) -> bool {
        self.phase == ChanPhase::Live
    }

    /// Records that the remote has (or was sent) `op`, when that keeps `known` exact: a
    /// version vector can only say "counters `0..n`", so a run after a gap is not recorded.
    pub fn learn(&mut self, op: &Op) {
        if self.known.get(op.id.replica) >= op.id.counter {
            self.known.advance(op.id.replica, op.end());
        }
    }

    /// Whether the remote has (or was sent) all of `op`.
    pub fn has(&self, op: &Op) -> bool {
        self.known.get(op.id.replica) >= op.end()
    }
}

/// Reassembly of the chunks of one catch-up update.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// No update in progress.
    Idle,
    /// Collecting update `update`: `bytes` hold chunks `0..next` of `count`.
    Collecting {
        update: u32,
        next: u32,
        count: u32,
        bytes: Vec<u8>,
    },
    /// A chunk of `update` went missing (only on lossy test networks): skip its rest.
    Skipping { update: u32 },
}

/// What one chunk means for the reassembly.
pub(crate) enum ChunkOutcome {
    /// More chunks to come.
    Partial,
    /// The update is complete.
    Complete(Vec<u8>),
    /// A chunk out of sequence (lost, duplicated or stale): ignored, anti-entropy recovers.
    Ignored,
}

impl Inbound {
    /// Adds `chunk`, enforcing the receive buffer limit.
    pub fn push(
        &mut self,
        chunk: UpdateChunk,
        limits: &Limits,
    ) -> Result<ChunkOutcome, ProtoError> {
        let UpdateChunk {
            update,
            index,
            count,
            bytes,
        } = chunk;
        let bound = (count as usize).saturating_mul(limits.update_chunk_bytes);
        if bytes.len() > limits.update_chunk_bytes || bound > limits.max_update_bytes {
            let bytes = bound.max(bytes.len());
            return Err(ProtoError::UpdateTooLarge {
                bytes,
                limit: limits.max_update_bytes,
            });
        }
        if count == 0 || index >= count {
            return Err(ProtoError::Violation(format!(
                "update chunk {index} of {count}"
            )));
        }
        let state = std::mem::replace(self, Inbound::Idle);
        let (mut buf, next) = match state {
            Inbound::Collecting {
                update: u,
                next,
                count: c,
                bytes: buf,
            } if u == update => {
                if index != next || c != count {
                    *self = if index < next && c == count {
                        Inbound::Collecting {
                            update: u,
                            next,
                            count: c,
                            bytes: buf,
                        }
                    } else {
                        Inbound::Skipping { update }
                    };
                    return Ok(ChunkOutcome::Ignored);
                }
                (buf, next)
            }
            Inbound::Skipping { update: u } if u == update => {
                *self = Inbound::Skipping { update: u };
                return Ok(ChunkOutcome::Ignored);
            }
            _ if index == 0 => (Vec::with_capacity(bytes.len()), 0),
            _ => {
                *self = Inbound::Skipping { update };
                return Ok(ChunkOutcome::Ignored);
            }
        };
        buf.extend_from_slice(&bytes);
        if next + 1 == count {
            return Ok(ChunkOutcome::Complete(buf));
        }
        *self = Inbound::Collecting {
            update,
            next: next + 1,
            count,
            bytes: buf,
        };
        Ok(ChunkOutcome::Partial)
    }

    pub fn in_progress(&self) -> bool {
        matches!(self, Inbound::Collecting { .. })
    }
}

/// A token bucket limiting the messages a connection may send.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    burst: u32,
    rate: u32,
    /// Tokens in thousandths.
    milli_tokens: u64,
    last: Millis,
}

impl TokenBucket {
    pub fn new(burst: u32, rate: u32, now: Millis) -> TokenBucket {
        TokenBucket {
            burst,
            rate,
            milli_tokens: u64::from(burst) * 1000,
            last: now,
        }
    }

    /// Takes one token; `Err` when the bucket is empty.
    pub fn take(&mut self, now: Millis) -> Result<(), ProtoError> {
        let refill = now.since(self.last).saturating_mul(u64::from(self.rate));
        self.milli_tokens = (self.milli_tokens + refill).min(u64::from(self.burst) * 1000);
        self.last = now.max(self.last);
        if self.milli_tokens < 1000 {
            return Err(ProtoError::Flood {
                burst: self.burst,
                rate: self.rate,
            });
        }
        self.milli_tokens -= 1000;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(update: u32, index: u32, count: u32) -> UpdateChunk {
        UpdateChunk {
            update,
            index,
            count,
            bytes: vec![index as u8; 3],
        }
    }

    #[test]
    fn chunks_in_order_reassemble_and_gaps_skip_the_update() {
        let limits = Limits::default();
        let mut inb = Inbound::Idle;
        assert!(matches!(
            inb.push(chunk(0, 0, 3), &limits),
            Ok(ChunkOutcome::Partial)
        ));
        assert!(
            matches!(inb.push(chunk(0, 0, 3), &limits), Ok(ChunkOutcome::Ignored)),
            "duplicate"
        );
        assert!(matches!(
            inb.push(chunk(0, 1, 3), &limits),
            Ok(ChunkOutcome::Partial)
        ));
        match inb.push(chunk(0, 2, 3), &limits) {
            Ok(ChunkOutcome::Complete(b)) => assert_eq!(b, vec![0, 0, 0, 1, 1, 1, 2, 2, 2]),
            _ => panic!("expected a complete update"),
        }
        assert!(matches!(
            inb.push(chunk(1, 0, 3), &limits),
            Ok(ChunkOutcome::Partial)
        ));
        assert!(
            matches!(inb.push(chunk(1, 2, 3), &limits), Ok(ChunkOutcome::Ignored)),
            "gap"
        );
        assert!(
            matches!(inb.push(chunk(1, 1, 3), &limits), Ok(ChunkOutcome::Ignored)),
            "skipping"
        );
        assert!(matches!(
            inb.push(chunk(2, 0, 1), &limits),
            Ok(ChunkOutcome::Complete(_))
        ));
    }

    #[test]
    fn an_update_announcing_more_than_the_receive_buffer_is_an_error() {
        let limits = Limits {
            max_update_bytes: 1000,
            update_chunk_bytes: 100,
            ..Limits::default()
        };
        let mut inb = Inbound::Idle;
        assert!(matches!(
            inb.push(chunk(0, 0, 11), &limits),
            Err(ProtoError::UpdateTooLarge { .. })
        ));
        let big = UpdateChunk {
            update: 0,
            index: 0,
            count: 1,
            bytes: vec![0; 101],
        };
        assert!(matches!(
            inb.push(big, &limits),
            Err(ProtoError::UpdateTooLarge { .. })
        ));
    }

    #[test]
    fn the_token_bucket_allows_a_burst_then_the_sustained_rate() {
        let mut b = TokenBucket::new(3, 10, Millis(0));
        for _ in 0..3 {
            assert!(b.take(Millis(0)).is_ok());
        }
        assert!(b.take(Millis(0)).is_err());
        assert!(
            b.take(Millis(100)).is_ok(),
            "10/s refills one token per 100 ms"
        );
        assert!(b.take(Millis(100)).is_err());
    }
}
