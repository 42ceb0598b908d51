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
    /// The peer has another document open.
    #[error("peer has a different document open")]
    WrongDocument,
    /// The endpoint key in `Hello` is not the one the transport authenticated.
    #[error("peer claims another endpoint key than its connection's")]
    KeyMismatch,
    /// A connection to our own endpoint.
    #[error("connected to ourselves")]
    SelfConnection,
    /// The peer's proof did not verify.
    #[error("peer could not prove it knows the document secret (wrong or outdated ticket?)")]
    AuthFailed,
    /// The peer closed the connection and said why.
    #[error("peer closed the connection: {code:?}: {detail}")]
    Remote {
        /// Its reason.
        code: GoodbyeCode,
        /// Its explanation.
        detail: String,
    },
    /// The handshake did not finish in time.
    #[error("handshake did not finish within {0} ms")]
    HandshakeTimeout(u64),
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

impl ProtoError {
    /// The code sent in our `Goodbye` when we close because of this error.
    pub fn goodbye_code(&self) -> GoodbyeCode {
        match self {
            ProtoError::VersionMismatch { ours, .. } => {
                GoodbyeCode::VersionMismatch { supported: *ours }
            }
            ProtoError::WrongDocument => GoodbyeCode::WrongDocument,
            ProtoError::AuthFailed => GoodbyeCode::AuthFailed,
            ProtoError::Duplicate => GoodbyeCode::Duplicate,
            ProtoError::Shutdown => GoodbyeCode::Shutdown,
            _ => GoodbyeCode::Violation,
        }
    }

    /// Whether the error is an ordinary event rather than a fault (no backoff penalty).
    pub fn is_benign(&self) -> bool {
        matches!(
            self,
            ProtoError::Duplicate
                | ProtoError::Shutdown
                | ProtoError::Remote {
                    code: GoodbyeCode::Duplicate | GoodbyeCode::Shutdown,
                    ..
                }
        )
    }
}
