//! [`ProtoError`]: why a connection was closed.

use crdt_text::{ApplyError, DecodeError, OpId};

use super::{GoodbyeCode, WireError};

/// Why the protocol closed (or refused) a connection. Each one concerns that connection only:
/// the document and the other connections are untouched.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ProtoError {
    /// The peer speaks another protocol version.
    #[error("peer speaks protocol version {theirs}, we speak {ours}: both need a compatible duet")]
    VersionMismatch {
        /// Our version.
        ours: u32,
        /// Theirs.
        theirs: u32,
    },
    /// The peer does not have the document open.
    #[error("peer does not have this document open")]
    UnknownDocument,
    /// The endpoint key in `Hello` is not the one the transport authenticated.
    #[error("peer claims another endpoint key than its connection's")]
    KeyMismatch,
    /// A connection to our own endpoint (a ticket or address of this very process).
    #[error("this is our own address: the ticket was made by this duet")]
    SelfConnection,
    /// The peer's proof did not verify.
    #[error("peer could not prove it knows the document secret (wrong or outdated ticket?)")]
    AuthFailed,
    /// The peer closed the connection (or the document) and said why.
    #[error("{}", remote_reason(*code, detail))]
    Remote {
        /// Its reason.
        code: GoodbyeCode,
        /// Its explanation.
        detail: String,
    },
    /// The handshake did not finish in time.
    #[error("handshake did not finish within {0} ms")]
    HandshakeTimeout(u64),
    /// The connection carried no document for too long.
    #[error("no document open on the connection for {0} ms")]
    Idle(u64),
    /// A big room no longer needs the connection (it carried only that room's document).
    #[error("the room no longer needs this connection")]
    Unneeded,
    /// Too many connections are open (overall, or not yet verified from one address).
    #[error("too many connections: {0}")]
    TooManyConnections(String),
    /// The peer does not read what we send.
    #[error("peer is not reading: {queued} bytes queued (limit {limit})")]
    TooSlow {
        /// Bytes waiting.
        queued: usize,
        /// The limit.
        limit: usize,
    },
    /// A newer connection from the same peer (it restarted) replaces this one.
    #[error("replaced by a newer connection from the same peer (it restarted)")]
    Superseded,
    /// A message that is not allowed at this point.
    #[error("protocol violation: {0}")]
    Violation(String),
    /// Bytes that are not a valid message.
    #[error("malformed message: {0}")]
    Malformed(#[from] WireError),
    /// An op that can never be valid.
    #[error("peer sent an invalid op: {0}")]
    InvalidOp(#[from] ApplyError),
    /// A catch-up update that does not decode.
    #[error("peer sent an undecodable update: {0}")]
    BadUpdate(#[from] DecodeError),
    /// Too many ops in one message.
    #[error("peer sent {count} ops in one message (limit {limit})")]
    TooManyOps {
        /// Ops received.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A chunked update larger than the receive buffer allows.
    #[error("peer announced an update of up to {bytes} bytes (limit {limit})")]
    UpdateTooLarge {
        /// Announced size bound.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many of the peer's ops wait for dependencies.
    #[error("{count} ops from this peer wait for missing dependencies (limit {limit})")]
    TooManyPending {
        /// Ops waiting.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// An op that stayed inapplicable although the peer must have its dependencies.
    #[error("op {op:?} from this peer still lacks its dependencies after {waited_ms} ms")]
    StuckOp {
        /// The op.
        op: OpId,
        /// How long it waited.
        waited_ms: u64,
    },
    /// More messages than the rate limit allows.
    #[error("peer flooded us with messages (over {burst} at once or {rate}/s)")]
    Flood {
        /// Burst allowance.
        burst: u32,
        /// Sustained rate.
        rate: u32,
    },
    /// A peer list or address list over its limit.
    #[error("peer list too long: {0}")]
    TooManyPeers(String),
    /// A presence over its limit.
    #[error("presence name of {chars} characters (limit {limit})")]
    PresenceTooLarge {
        /// Name length.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// Another connection to the same peer is kept instead.
    #[error("duplicate connection to the same peer")]
    Duplicate,
    /// We are shutting down.
    #[error("shutting down")]
    Shutdown,
}

/// A remote's goodbye in words for our user (its `detail` is written from its side).
fn remote_reason(code: GoodbyeCode, detail: &str) -> String {
    match code {
        GoodbyeCode::VersionMismatch { supported } => format!(
            "the peer speaks protocol version {supported}, we speak {}: both need a compatible duet",
            super::PROTOCOL_VERSION
        ),
        GoodbyeCode::UnknownDocument => "the peer does not have this document open".into(),
        GoodbyeCode::AuthFailed => {
            "the peer refused us: our ticket or secret for this document is wrong or outdated"
                .into()
        }
        GoodbyeCode::Duplicate => "a duplicate connection was closed".into(),
        GoodbyeCode::Shutdown => "the peer quit".into(),
        GoodbyeCode::Superseded => "the peer replaced this connection with a newer one".into(),
        GoodbyeCode::TooManyConnections => "the peer has too many connections open".into(),
        GoodbyeCode::TooSlow => {
            "the peer closed the connection: we did not read fast enough".into()
        }
        GoodbyeCode::Idle => "the peer closed an idle connection".into(),
        GoodbyeCode::Violation => format!("the peer closed the connection: {detail}"),
    }
}

impl ProtoError {
    /// The code sent in our `Goodbye` when we close because of this error.
    pub fn goodbye_code(&self) -> GoodbyeCode {
        match self {
            ProtoError::VersionMismatch { ours, .. } => {
                GoodbyeCode::VersionMismatch { supported: *ours }
            }
            ProtoError::UnknownDocument => GoodbyeCode::UnknownDocument,
            ProtoError::AuthFailed => GoodbyeCode::AuthFailed,
            ProtoError::Duplicate => GoodbyeCode::Duplicate,
            ProtoError::Shutdown => GoodbyeCode::Shutdown,
            ProtoError::Superseded => GoodbyeCode::Superseded,
            ProtoError::TooManyConnections(_) => GoodbyeCode::TooManyConnections,
            ProtoError::TooSlow { .. } => GoodbyeCode::TooSlow,
            ProtoError::Idle(_) | ProtoError::Unneeded => GoodbyeCode::Idle,
            _ => GoodbyeCode::Violation,
        }
    }

    /// Whether the error is an ordinary event rather than a fault (no backoff penalty).
    pub fn is_benign(&self) -> bool {
        matches!(
            self,
            ProtoError::Duplicate
                | ProtoError::Shutdown
                | ProtoError::Superseded
                | ProtoError::Idle(_)
                | ProtoError::Unneeded
                | ProtoError::Remote {
                    code: GoodbyeCode::Duplicate
                        | GoodbyeCode::Shutdown
                        | GoodbyeCode::Superseded
                        | GoodbyeCode::Idle,
                    ..
                }
        )
    }
}
