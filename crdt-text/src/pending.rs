//! Ops that arrived before the ops they depend on.

use std::collections::BTreeMap;

use crate::{ApplyError, Op, OpId, ReplicaId};

/// Held ops, keyed by the id each is waiting for.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    waiting: BTreeMap<OpId, Vec<Op>>,
    count: usize,
    limit: usize,
}

impl Pending {
    pub(crate) fn new(limit: usize) -> Self {
        Pending {
            waiting: BTreeMap::new(),
            count: 0,
            limit,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Every held op.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Op> {
        self.waiting.values().flatten()
    }

    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Holds `op` until `dependency` is known.
    pub(crate) fn hold(&mut self, dependency: OpId, op: Op) -> Result<(), ApplyError> {
        if self.count >= self.limit {
            return Err(ApplyError::PendingFull(self.count));
        }
        self.waiting.entry(dependency).or_default().push(op);
        self.count += 1;
        Ok(())
    }

    /// Takes every op whose dependency is now known, given how many ops of each replica are.
    pub(crate) fn take_ready(&mut self, known: impl Fn(ReplicaId) -> u64) -> Vec<Op> {
        let mut ready = Vec::new();
        if self.count == 0 {
            return ready;
        }
        let mut replica = self.waiting.keys().next().map(|id| id.replica);
        while let Some(r) = replica {
            let upto = OpId::new(r, known(r));
            let keys: Vec<OpId> = self
                .waiting
                .range(OpId::new(r, 0)..upto)
                .map(|(k, _)| *k)
                .collect();
            for k in keys {
                if let Some(ops) = self.waiting.remove(&k) {
                    self.count -= ops.len();
                    ready.extend(ops);
                }
            }
            replica = self
                .waiting
                .range(OpId::new(r, u64::MAX)..)
                .find(|(k, _)| k.replica != r)
                .map(|(k, _)| k.replica);
        }
        ready
    }
}
