//! [`VersionVector`]: which operations a replica has seen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{OpId, ReplicaId};

/// For every replica, how many of its operations have been seen. Because a replica's operations
/// are always applied in counter order, "seen `n` operations of replica `r`" means exactly the
/// counters `0..n`; so a version vector names a set of operations precisely.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionVector(BTreeMap<ReplicaId, u64>);

impl VersionVector {
    /// The empty version: nothing seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many operations of `replica` are included (its next expected counter).
    pub fn get(&self, replica: ReplicaId) -> u64 {
        self.0.get(&replica).copied().unwrap_or(0)
    }

    /// Records that the operations `0..count` of `replica` are included. Never goes backwards.
    pub fn advance(&mut self, replica: ReplicaId, count: u64) {
        if count == 0 {
            return;
        }
        let entry = self.0.entry(replica).or_insert(0);
        *entry = (*entry).max(count);
    }

    /// Whether the operation `id` is included.
    pub fn contains(&self, id: OpId) -> bool {
        id.counter < self.get(id.replica)
    }

    /// Whether every operation in `other` is also in `self`.
    pub fn includes(&self, other: &VersionVector) -> bool {
        other.iter().all(|(r, n)| self.get(r) >= n)
    }

    /// Adds every operation of `other` (the pointwise maximum).
    pub fn merge(&mut self, other: &VersionVector) {
        for (r, n) in other.iter() {
            self.advance(r, n);
        }
    }

    /// The replicas with at least one operation, and how many of each, in replica order.
    pub fn iter(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.0.iter().map(|(r, n)| (*r, *n))
    }

    /// Total number of operations (characters inserted plus characters deleted).
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Whether nothing is included.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for VersionVector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl FromIterator<(ReplicaId, u64)> for VersionVector {
    fn from_iter<T: IntoIterator<Item = (ReplicaId, u64)>>(iter: T) -> Self {
        let mut v = VersionVector::new();
        for (r, n) in iter {
            v.advance(r, n);
        }
        v
    }
}
