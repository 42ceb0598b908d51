//! A sequence CRDT for collaborative plain text: every replica can edit offline, exchange
//! operations in any order, and all replicas that have seen the same operations hold the same
//! text.
//!
//! # The algorithm: Fugue (FugueMax)
//!
//! Every character gets an id ([`OpId`]: replica + per-replica counter) and remembers its
//! *origins*, the characters immediately left and right of where it was typed. A remote insert
//! goes right after its left origin, unless other characters were inserted there
//! concurrently; those are ordered by comparing their origins' positions and, as a last
//! resort, replica ids — the FugueMax rule of Weidner and Kleppmann, written here as Seph
//! Gentle's YjsMod integration loop. Deleted characters stay as tombstones, so ids always
//! resolve.
//!
//! Why Fugue: it is the one member of the RGA/WOOT family proven *maximally
//! non-interleaving*. When two people type at the same place at once, each one's run stays
//! contiguous — for forward typing (where plain RGA already succeeds), for backward typing
//! (where RGA interleaves character by character), and when one writer's text is anchored to
//! a character another writer had not seen yet (where Yjs splits it). It also keeps the
//! cheap common case of RGA/Yjs: a character typed after the previous one needs no search.
//!
//! # Representation
//!
//! History is the source of truth (as in Diamond Types): every inserted or deleted character
//! gets a dense *local version*, and the history stores runs of them (who, origins, which
//! characters a deletion hit, the inserted text). The text is a view: a B-tree of spans of
//! consecutive local versions in document order, with visible char and newline counts per
//! subtree. Typing a sentence costs one span; local and remote edits are `O(log n)` (n =
//! spans), and a remote character typed after the previous one costs `O(1)` tree work: edits
//! that stay in one leaf defer updating the counts above it until an edit lands elsewhere.
//! [`Doc::encode`] stores the history and the order; [`Doc::decode`] rebuilds the tree from
//! the order directly instead of replaying the history.
//!
//! # Recorded history
//!
//! Each replica records once who it edits for ([`Doc::set_author`]: an [`Author`] with a
//! stable [`AuthorId`], so two replicas of one person are one author), and local edits are
//! dated by the clock the caller sets ([`Doc::set_time`], coarse: a stamp at most every
//! [`TIME_GRAIN`] seconds). Both ride on the ops that need them ([`OpMeta`]) and in the
//! encodings. The queries are pure: [`Doc::sessions`], [`Doc::text_after`],
//! [`Doc::text_at_time`], [`Doc::blame`]; for time travel, [`Doc::edits`], [`Doc::past`]
//! (the text at a point of the history with some edits' changes marked) and
//! [`Doc::changes_since`] (what others changed since a version). [`Doc::restore`] makes local
//! ops that bring back the text of an earlier point, by character identity, so that reverting
//! them ([`Doc::revert`]) brings today's text back.
//!
//! # Two peers
//!
//! ```
//! use crdt_text::{Applied, Doc, Patch, ReplicaId};
//!
//! let mut alice = Doc::new(ReplicaId::from(1));
//! let mut bob = Doc::new(ReplicaId::from(2));
//!
//! // Alice types and sends her op to Bob.
//! let hello = alice.insert(0, "hello");
//! assert!(matches!(bob.apply(&hello), Ok(Applied::Done { .. })));
//!
//! // Both edit at once, without seeing each other's edit.
//! let world = alice.insert(5, " world");
//! let shout = bob.insert(0, "¡");
//! let trim = bob.delete(1, 1); // "h"
//!
//! // Ops can arrive in any order, twice, or before what they depend on.
//! alice.apply(&trim).unwrap();
//! alice.apply(&shout).unwrap();
//! let Ok(Applied::Done { patches, .. }) = bob.apply(&world) else { panic!() };
//! assert_eq!(patches[..], [Patch { pos: 5, del: 0, ins: 6 }]);
//! assert_eq!(bob.apply(&world).unwrap(), Applied::Duplicate);
//!
//! assert_eq!(alice.text(), "¡ello world");
//! assert_eq!(alice.text(), bob.text());
//! assert_eq!(alice.version(), bob.version());
//!
//! // A peer that was offline catches up with exactly what it lacks.
//! let mut carol = Doc::new(ReplicaId::from(3));
//! for op in alice.ops_since(&carol.version()) {
//!     carol.apply(&op).unwrap();
//! }
//! assert_eq!(carol.text(), alice.text());
//! ```
#![deny(missing_docs)]

mod anchor;
mod author;
mod codec;
mod decode;
mod derive;
mod doc;
mod encode;
mod history;
mod id;
mod op;
mod parts;
mod pending;
mod tree;
mod version;
mod wire;

pub use anchor::{Anchor, Bias};
pub use author::{Author, AuthorId, MAX_AUTHOR_FIELD, OpMeta, TIME_GRAIN};
pub use codec::{DecodeError, FORMAT_VERSION};
pub use decode::UpdateApplied;
pub use doc::{
    Blame, BlameRun, Change, DEFAULT_PENDING_LIMIT, Doc, Edit, LineBlame, Mark, Past, SESSION_GAP,
    Session, Who,
};
pub use id::{OpId, ReplicaId};
pub use op::{Applied, ApplyError, DeleteSpan, Op, OpKind, OpRange, Patch, Rejected};
pub use parts::{Patches, Targets, Text};
pub use version::VersionVector;

/// A local version: the position of an operation (one inserted or deleted char) in the order
/// this replica applied them. Dense and replica-specific; never sent over the wire.
pub(crate) type Lv = u32;
