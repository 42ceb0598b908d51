//! Skeleton of the public API; bodies arrive with the implementation.
#![allow(missing_docs, unused_variables, clippy::todo)]
use std::ops::Range;

use crate::*;

#[derive(Debug, Clone)]
pub struct Doc {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a duet document (bad magic)")]
    BadMagic,
}

impl Doc {
    pub fn new(replica: ReplicaId) -> Doc { todo!() }
    pub fn replica(&self) -> ReplicaId { todo!() }
    /// Panics if pos > len. Empty text gives an empty op (apply → Duplicate).
    pub fn insert(&mut self, pos: usize, text: &str) -> Op { todo!() }
    /// Panics if pos + len > self.len().
    pub fn delete(&mut self, pos: usize, len: usize) -> Op { todo!() }
    pub fn apply(&mut self, op: &Op) -> Result<Applied, ApplyError> { todo!() }
    /// Number of ops held waiting for dependencies.
    pub fn pending_len(&self) -> usize { todo!() }
    pub fn version(&self) -> VersionVector { todo!() }
    /// Exactly the ops `version` lacks, in causal order (safe to apply one by one).
    pub fn ops_since(&self, version: &VersionVector) -> Vec<Op> { todo!() }
    /// Compact encoding of the ops `version` lacks (like encode, but partial).
    pub fn encode_since(&self, version: &VersionVector) -> Vec<u8> { todo!() }
    /// Applies an update made by `encode_since` (or `encode`) of another replica.
    pub fn apply_update(&mut self, bytes: &[u8]) -> Result<Vec<Patch>, DecodeError> { todo!() }
    pub fn len(&self) -> usize { todo!() }
    pub fn is_empty(&self) -> bool { todo!() }
    pub fn text(&self) -> String { todo!() }
    pub fn slice(&self, range: Range<usize>) -> String { todo!() }
    /// Borrowed pieces of the text in `range`, in order.
    pub fn chunks(&self, range: Range<usize>) -> impl Iterator<Item = &str> + '_ { std::iter::empty() }
    pub fn char_at(&self, pos: usize) -> Option<char> { todo!() }
    /// Number of lines: newlines + 1.
    pub fn line_count(&self) -> usize { todo!() }
    /// The line containing char `pos` (pos may equal len).
    pub fn char_to_line(&self, pos: usize) -> usize { todo!() }
    /// The char position where `line` starts (line may equal line_count → len).
    pub fn line_to_char(&self, line: usize) -> usize { todo!() }
    /// Who wrote the visible character at `pos`.
    pub fn author_at(&self, pos: usize) -> Option<ReplicaId> { todo!() }
    /// The text in `range` as runs of (author, text).
    pub fn authors(&self, range: Range<usize>) -> impl Iterator<Item = (ReplicaId, &str)> + '_ { std::iter::empty() }
    pub fn anchor(&self, pos: usize, bias: Bias) -> Anchor { todo!() }
    /// Unknown ids resolve to the nearest sensible place (start/end).
    pub fn resolve(&self, anchor: &Anchor) -> usize { todo!() }
    /// Local ops that undo the visible effect of `op` (one of this replica's own ops):
    /// an insert's still-visible characters are deleted; a delete's targets are re-inserted.
    pub fn revert(&mut self, op: &Op) -> Vec<Op> { todo!() }
    pub fn encode(&self) -> Vec<u8> { todo!() }
    pub fn decode(bytes: &[u8], replica: ReplicaId) -> Result<Doc, DecodeError> { todo!() }
}
