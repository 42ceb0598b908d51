//! Catch-up without sending the whole tree: which files two peers hold at different versions,
//! found by comparing hashes and descending only where they differ (pure, sans-IO).
//!
//! Each side builds a [`Summary`] of its `(file id, text version)` pairs. Items are placed by
//! a hash of their file id into a trie of fan-out 16 (a nibble per level). A node's hash is
//! the hash of its items' `(id, version)` hashes in order, so two nodes with equal hashes hold
//! equal pairs. The exchange:
//!
//! 1. One side sends [`Summary::start`]: the root's hash and item count.
//! 2. On [`Summary::handle`], each node that differs from ours is answered with its 16
//!    children — or, when either side holds at most [`LEAF_ITEMS`] items there, with our items
//!    under it; the other side answers a list of items with its own list once. Both sides then
//!    know the files whose versions differ there ([`Handled::differ`]).
//! 3. It ends when a message needs no reply.
//!
//! A reconnect where nothing changed costs one root hash each way (under 40 bytes); a change
//! in one file of thousands costs a few rounds of at most 16 hashes per differing node.
//! Messages are versioned ([`SummaryMsg::encode`], layout below).
//!
//! # Layout (summary format version 1)
//!
//! A varint [`SUMMARY_FORMAT`], then the postcard [`SummaryMsg`]: `nodes` (a sequence of
//! [`NodeHash`]: prefix depth `u8`, prefix bits `u128` varint, count varint, 16 hash bytes)
//! then `items` (a sequence of [`ItemList`]: prefix, a sequence of (file id, 16-byte version
//! hash), `answer` as a byte).

use std::collections::{BTreeMap, BTreeSet};

use crdt_text::VersionVector;
use serde::{Deserialize, Serialize};

use super::manifest::FileId;

/// A node holding at most this many items on either side is settled by listing them.
pub const LEAF_ITEMS: u64 = 16;

/// The summary format version written by this code.
pub const SUMMARY_FORMAT: u32 = 1;

/// Bits of the key hash per trie level.
const LEVEL_BITS: u32 = 4;

/// Deepest level (the key hash has 128 bits).
const MAX_DEPTH: u8 = (128 / LEVEL_BITS) as u8;

/// A node of the trie: the items whose key hash starts with `depth` nibbles `bits`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Prefix {
    /// How many nibbles are fixed.
    pub depth: u8,
    /// The fixed nibbles, at the top of the 128 bits; the rest is zero.
    pub bits: u128,
}

impl Prefix {
    const ROOT: Prefix = Prefix { depth: 0, bits: 0 };

    /// The range of key hashes under it, or `None` for a malformed prefix.
    fn range(self) -> Option<(u128, u128)> {
        if self.depth > MAX_DEPTH {
            return None;
        }
        let free = 128 - u32::from(self.depth) * LEVEL_BITS;
        let span = if free == 128 {
            u128::MAX
        } else {
            (1u128 << free) - 1
        };
        (self.bits & span == 0).then_some((self.bits, self.bits | span))
    }

    fn children(self) -> impl Iterator<Item = Prefix> {
        let shift = 128 - u32::from(self.depth + 1) * LEVEL_BITS;
        (0..16u128).map(move |n| Prefix {
            depth: self.depth + 1,
            bits: self.bits | (n << shift),
        })
    }
}

/// A node's item count and hash, as one side holds it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NodeHash {
    /// The node.
    pub prefix: Prefix,
    /// Items under it.
    pub count: u64,
    /// Hash of its items.
    pub hash: [u8; 16],
}

/// Every item under a node, as one side holds them.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ItemList {
    /// The node.
    pub prefix: Prefix,
    /// Its items: file id and the hash of its version.
    pub items: Vec<(FileId, [u8; 16])>,
    /// Whether this answers the other side's list (and needs no list back).
    pub answer: bool,
}

/// One message of the exchange.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct SummaryMsg {
    /// Nodes to compare.
    pub nodes: Vec<NodeHash>,
    /// Item lists to compare.
    pub items: Vec<ItemList>,
}

/// What handling a message gave.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Handled {
    /// The message to send back, if any.
    pub reply: Option<SummaryMsg>,
    /// Files whose versions differ (or that one side lacks), found in this message.
    pub differ: BTreeSet<FileId>,
}

/// One item: its key hash, id, version hash and item hash.
#[derive(Clone, Debug)]
struct Item {
    key: u128,
    id: FileId,
    version: [u8; 16],
    hash: [u8; 32],
}

/// One side's `(file id, version)` pairs, ready to compare.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// By key hash.
    items: Vec<Item>,
}

fn hash16(bytes: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&blake3::hash(bytes).as_bytes()[..16]);
    out
}

fn encoded<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing plain data into a Vec cannot fail.
    postcard::to_stdvec(value).unwrap_or_default()
}

impl Summary {
    /// The summary of these files at these versions.
    pub fn new<'a>(versions: impl IntoIterator<Item = (FileId, &'a VersionVector)>) -> Summary {
        let mut items: Vec<Item> = versions
            .into_iter()
            .map(|(id, version)| {
                let key = u128::from_be_bytes(hash16(&encoded(&id)));
                let version = hash16(&encoded(version));
                let mut both = encoded(&id);
                both.extend_from_slice(&version);
                Item {
                    key,
                    id,
                    version,
                    hash: *blake3::hash(&both).as_bytes(),
                }
            })
            .collect();
        items.sort_by_key(|i| (i.key, i.id));
        Summary { items }
    }

    fn under(&self, prefix: Prefix) -> &[Item] {
        let Some((lo, hi)) = prefix.range() else {
            return &[];
        };
        let start = self.items.partition_point(|i| i.key < lo);
        let end = self.items.partition_point(|i| i.key <= hi);
        &self.items[start..end]
    }

    fn node(&self, prefix: Prefix) -> NodeHash {
        let items = self.under(prefix);
        let mut hasher = blake3::Hasher::new();
        for item in items {
            hasher.update(&item.hash);
        }
        NodeHash {
            prefix,
            count: items.len() as u64,
            hash: hash16(hasher.finalize().as_bytes()),
        }
    }

    fn list(&self, prefix: Prefix, answer: bool) -> ItemList {
        ItemList {
            prefix,
            items: self
                .under(prefix)
                .iter()
                .map(|i| (i.id, i.version))
                .collect(),
            answer,
        }
    }

    /// The first message: the root.
    pub fn start(&self) -> SummaryMsg {
        SummaryMsg {
            nodes: vec![self.node(Prefix::ROOT)],
            items: Vec::new(),
        }
    }

    /// Compares a message with our side: what to answer, and which files differ.
    pub fn handle(&self, msg: &SummaryMsg) -> Handled {
        let mut reply = SummaryMsg::default();
        let mut differ = BTreeSet::new();
        for theirs in &msg.nodes {
            if theirs.prefix.range().is_none() {
                continue;
            }
            let mine = self.node(theirs.prefix);
            if mine.count == theirs.count && mine.hash == theirs.hash {
                continue;
            }
            let small = mine.count.min(theirs.count) <= LEAF_ITEMS;
            if small || theirs.prefix.depth == MAX_DEPTH {
                reply.items.push(self.list(theirs.prefix, false));
            } else {
                reply
                    .nodes
                    .extend(theirs.prefix.children().map(|p| self.node(p)));
            }
        }
        for list in &msg.items {
            if list.prefix.range().is_none() {
                continue;
            }
            let mine: BTreeMap<FileId, [u8; 16]> = self
                .under(list.prefix)
                .iter()
                .map(|i| (i.id, i.version))
                .collect();
            let theirs: BTreeMap<FileId, [u8; 16]> = list.items.iter().copied().collect();
            for (id, version) in &mine {
                if theirs.get(id) != Some(version) {
                    differ.insert(*id);
                }
            }
            differ.extend(theirs.keys().filter(|id| !mine.contains_key(id)));
            if !list.answer {
                reply.items.push(self.list(list.prefix, true));
            }
        }
        let reply = (!reply.nodes.is_empty() || !reply.items.is_empty()).then_some(reply);
        Handled { reply, differ }
    }
}

/// Why bytes are not a summary message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SummaryFormatError {
    /// Another format version.
    #[error("summary format version {0} is not supported (this duet speaks {SUMMARY_FORMAT})")]
    UnsupportedVersion(u32),
    /// The bytes do not parse.
    #[error("undecodable summary: {0}")]
    Postcard(#[from] postcard::Error),
    /// Bytes follow the message.
    #[error("{0} unexpected bytes after the summary")]
    TrailingBytes(usize),
}

impl SummaryMsg {
    /// Encodes it (layout in the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = encoded(&SUMMARY_FORMAT);
        out.extend_from_slice(&encoded(self));
        out
    }

    /// Decodes bytes written by [`encode`](Self::encode). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<SummaryMsg, SummaryFormatError> {
        let (version, rest) = postcard::take_from_bytes::<u32>(bytes)?;
        if version != SUMMARY_FORMAT {
            return Err(SummaryFormatError::UnsupportedVersion(version));
        }
        let (msg, rest) = postcard::take_from_bytes::<SummaryMsg>(rest)?;
        if !rest.is_empty() {
            return Err(SummaryFormatError::TrailingBytes(rest.len()));
        }
        Ok(msg)
    }
}
