//! Explicit limits on what a peer accepts, and the protocol's timers.
//!
//! Every limit protects the document and the *other* connections from one broken or hostile
//! connection: exceeding any of them closes only the offending connection with a
//! [`ProtoError`](super::ProtoError) that names the limit.

/// Largest encoded message (one frame) accepted or produced, in bytes. The driver must refuse
/// longer frames before reading them; [`decode`](super::decode) refuses them too.
pub const MAX_FRAME_BYTES: usize = 1 << 20;

/// Bounds on what one connection may send us. The defaults suit documents of millions of
/// characters and groups of dozens of peers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Ops in one `Ops` message (the sender splits larger batches).
    pub max_ops_per_message: usize,
    /// Bytes of one catch-up chunk (`Update` message payload).
    pub update_chunk_bytes: usize,
    /// Total bytes of one chunked catch-up update being reassembled (the per-peer receive
    /// buffer).
    pub max_update_bytes: usize,
    /// Ops received from one connection that may wait for missing dependencies at once.
    pub max_pending_ops_per_peer: usize,
    /// Messages a connection may send in a burst before the rate limit applies.
    pub flood_burst: u32,
    /// Sustained messages per second a connection may send.
    pub flood_rate_per_sec: u32,
    /// Entries in one `Peers` message.
    pub max_peers_per_message: usize,
    /// Socket addresses per peer entry.
    pub max_addrs_per_peer: usize,
    /// Peers remembered (further gossiped peers are ignored).
    pub max_known_peers: usize,
    /// Characters of a presence name.
    pub max_name_chars: usize,
    /// Bytes the driver may hold queued for sending to one connection; past this the driver
    /// reports [`Input::Stalled`](super::Input::Stalled) and the connection is closed.
    pub max_queued_bytes_per_peer: usize,
    /// Open connections at most; more are refused at once.
    pub max_connections: usize,
    /// Connections not yet verified for any document, at most, overall.
    pub max_unverified: usize,
    /// Connections not yet verified for any document from one IP address, at most: a client
    /// that opens connections and sends nothing cannot lock others out. Honest peers share
    /// addresses too (one machine, one NAT) and a big room's swarm opens connections all the
    /// time, so this is well above what they need: at 4, joiners of a 100-peer room on one
    /// machine were refused again and again and backed off for up to 30 s.
    pub max_unverified_per_ip: usize,
    /// Peers (us included) up to which a document keeps a full mesh; beyond, it gossips in a
    /// room.
    pub room_threshold: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_ops_per_message: 1024,
            update_chunk_bytes: 256 * 1024,
            max_update_bytes: 256 << 20,
            max_pending_ops_per_peer: 10_000,
            flood_burst: 8192,
            flood_rate_per_sec: 2048,
            max_peers_per_message: 64,
            max_addrs_per_peer: 16,
            max_known_peers: 256,
            max_name_chars: 64,
            max_queued_bytes_per_peer: 64 << 20,
            max_connections: 128,
            max_unverified: 64,
            max_unverified_per_ip: 16,
            room_threshold: 8,
        }
    }
}

/// The protocol's timers, in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timers {
    /// A connection must verify a document within this time, and is closed when it has
    /// carried none for this long.
    pub handshake_timeout_ms: u64,
    /// A dial with no outcome after this long counts as failed.
    pub dial_timeout_ms: u64,
    /// First reconnect delay; doubles with each failure.
    pub backoff_base_ms: u64,
    /// Longest reconnect delay.
    pub backoff_max_ms: u64,
    /// Acknowledgements (our durable version) and our presence are repeated this often on
    /// every channel not yet settled (see PROTOCOL.md). They double as anti-entropy: a peer
    /// that sees it lacks acknowledged ops asks for them.
    pub ack_interval_ms: u64,
    /// A changed durable version is acknowledged after at most this delay (acknowledgements
    /// are rate-limited to one per connection per delay).
    pub ack_delay_ms: u64,
    /// At most one catch-up is requested from, or served to, one connection per interval.
    pub sync_min_interval_ms: u64,
    /// An op from a peer still waiting for its dependencies after this long closes the
    /// connection: an honest peer always sends dependencies first.
    pub pending_timeout_ms: u64,
    /// A document's text digest (compared with peers at equal versions) is computed at most
    /// once per this interval.
    pub digest_interval_ms: u64,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            handshake_timeout_ms: 10_000,
            dial_timeout_ms: 15_000,
            backoff_base_ms: 250,
            backoff_max_ms: 30_000,
            ack_interval_ms: 5_000,
            ack_delay_ms: 200,
            sync_min_interval_ms: 1_000,
            pending_timeout_ms: 60_000,
            digest_interval_ms: 1_000,
        }
    }
}
