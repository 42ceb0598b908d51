//! A sequence CRDT for collaborative plain text.
#![deny(missing_docs)]

mod anchor;
mod codec;
mod decode;
mod derive;
mod doc;
mod encode;
mod history;
mod id;
mod op;
mod pending;
mod tree;
mod version;

pub use anchor::{Anchor, Bias};
pub use codec::{DecodeError, FORMAT_VERSION};
pub use doc::{DEFAULT_PENDING_LIMIT, Doc};
pub use id::{OpId, ReplicaId};
pub use op::{Applied, ApplyError, DeleteSpan, Op, OpKind, Patch};
pub use version::VersionVector;

/// A local version: the position of an operation (one inserted or deleted char) in the order
/// this replica applied them. Dense and replica-specific; never sent over the wire.
pub(crate) type Lv = u32;
