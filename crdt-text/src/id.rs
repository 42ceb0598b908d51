//! Identifiers: who wrote a character ([`ReplicaId`]) and which character it is ([`OpId`]).
//!
//! These are the *wire* identifiers, stable across peers. Inside a [`Doc`](crate::Doc) every
//! operation is instead numbered by a dense local version, which is cheaper
//! to store and compare; the two never mix.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Identifies one replica (one peer's copy of a document). Must be unique per document:
/// pick it at random (64 bits makes collisions negligible).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReplicaId(u64);

impl ReplicaId {
    /// The raw 64-bit value.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl From<u64> for ReplicaId {
    fn from(value: u64) -> Self {
        ReplicaId(value)
    }
}

impl fmt::Debug for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "R{:x}", self.0)
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The identity of one character (or one deletion) in the history: the replica that created
/// it and that replica's counter. Every replica numbers its operations 0, 1, 2, … with one
/// counter value per inserted or deleted character.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OpId {
    /// The replica that created the operation.
    pub replica: ReplicaId,
    /// Position in that replica's own sequence of operations.
    pub counter: u64,
}

impl OpId {
    /// Builds an id from its parts.
    pub const fn new(replica: ReplicaId, counter: u64) -> Self {
        OpId { replica, counter }
    }
}

impl fmt::Debug for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}@{}", self.replica, self.counter)
    }
}
