//! A sequence CRDT for collaborative plain text (API skeleton; implementation in progress).
#![deny(missing_docs)]

mod anchor;
mod doc;
mod id;
mod op;
mod version;

pub use anchor::{Anchor, Bias};
pub use doc::{DecodeError, Doc};
pub use id::{OpId, ReplicaId};
pub use op::{Applied, ApplyError, DeleteSpan, Op, OpKind, Patch};
pub use version::VersionVector;
