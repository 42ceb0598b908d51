//! How an [`Op`] is serialized: a compact byte string for binary formats (the wire and the op
//! log use postcard), the plain struct for human-readable ones (JSON, for debugging).
//!
//! # Binary form (version 2)
//!
//! One serde byte string (postcard: varint length, then the bytes):
//!
//! ```text
//! op       replica: varint | counter: varint | head: u8 | [time: varint] | [author] | body
//! head     bit 0: 0 insert, 1 delete; bit 6: a time stamp follows (Unix seconds);
//!          bit 7: the replica's author follows (16 id bytes, varint name length, name,
//!          varint email length + 1 or 0 for none, email)
//! insert   head bit 1: a left origin follows; bit 2: it is the op's own replica (no replica
//!          follows); bit 3: it is the op's own previous counter (nothing follows)
//!          head bit 4: a right origin follows; bit 5: it is the op's own replica
//!          [left replica: varint] [left counter: varint] [right replica: varint]
//!          [right counter: varint] | text: every remaining byte, UTF-8
//! delete   span* until the end: flags: u8 (bit 0 backward, bit 1 the op's own replica)
//!          | [replica: varint] | counter: varint | len: varint
//! ```
//!
//! Version 1 (duet protocol 3, store format 3) had no bits 6 and 7: it reads unchanged.
//! Varints are unsigned LEB128. A keystroke that continues the author's own typing costs its
//! id, one head byte, its right origin's counter (if any) and its text: origins that repeat
//! the op's 64-bit replica id, the commonest case, cost no replica bytes. Decoding is one
//! bounds-checked pass with no allocation for short text; any malformed input is a serde
//! error, never a panic.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::author::{Source, put_author, read_author};
use crate::codec::put_varint;
use crate::{DeleteSpan, Op, OpId, OpKind, OpMeta, ReplicaId, Targets, Text};

const DELETE: u8 = 1;
const HAS_LEFT: u8 = 1 << 1;
const LEFT_SAME_REPLICA: u8 = 1 << 2;
const LEFT_PREVIOUS: u8 = 1 << 3;
const HAS_RIGHT: u8 = 1 << 4;
const RIGHT_SAME_REPLICA: u8 = 1 << 5;
const HAS_TIME: u8 = 1 << 6;
const HAS_AUTHOR: u8 = 1 << 7;
const SPAN_BACKWARD: u8 = 1;
const SPAN_SAME_REPLICA: u8 = 1 << 1;

/// Appends the binary form of `op`.
fn encode(op: &Op, out: &mut Vec<u8>) {
    let me = op.id.replica;
    put_varint(out, me.as_u64());
    put_varint(out, op.id.counter);
    let meta_at = out.len();
    let mut meta_head = 0;
    if let Some(meta) = &op.meta {
        out.push(0);
        if let Some(t) = meta.time {
            meta_head |= HAS_TIME;
            put_varint(out, t);
        }
        if let Some(a) = &meta.author {
            meta_head |= HAS_AUTHOR;
            put_author(out, a);
        }
    }
    match &op.kind {
        OpKind::Insert {
            origin_left,
            origin_right,
            text,
        } => {
            // The head byte goes first; its flags are known once the origins are written.
            let at = if op.meta.is_some() {
                meta_at
            } else {
                out.push(0);
                out.len() - 1
            };
            let mut head = meta_head;
            if let Some(left) = origin_left {
                head |= HAS_LEFT;
                if left.replica == me {
                    head |= LEFT_SAME_REPLICA;
                } else {
                    put_varint(out, left.replica.as_u64());
                }
                if left.replica == me && op.id.counter.checked_sub(1) == Some(left.counter) {
                    head |= LEFT_PREVIOUS;
                } else {
                    put_varint(out, left.counter);
                }
            }
            if let Some(right) = origin_right {
                head |= HAS_RIGHT;
                if right.replica == me {
                    head |= RIGHT_SAME_REPLICA;
                } else {
                    put_varint(out, right.replica.as_u64());
                }
                put_varint(out, right.counter);
            }
            out[at] = head;
            out.extend_from_slice(text.as_bytes());
        }
        OpKind::Delete { targets } => {
            if op.meta.is_some() {
                out[meta_at] = DELETE | meta_head;
            } else {
                out.push(DELETE);
            }
            for span in targets {
                let same = span.start.replica == me;
                out.push(
                    if span.backward { SPAN_BACKWARD } else { 0 }
                        | if same { SPAN_SAME_REPLICA } else { 0 },
                );
                if !same {
                    put_varint(out, span.start.replica.as_u64());
                }
                put_varint(out, span.start.counter);
                put_varint(out, span.len);
            }
        }
    }
}

/// A cursor over an op's bytes.
struct Bytes<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    #[inline(always)]
    fn byte(&mut self) -> Result<u8, &'static str> {
        let b = *self.buf.get(self.pos).ok_or("truncated op")?;
        self.pos += 1;
        Ok(b)
    }

    #[inline(always)]
    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut v = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err("number too long");
            }
        }
    }

    /// A replica id: `me` if `same`, else the next varint.
    #[inline(always)]
    fn replica(&mut self, same: bool, me: ReplicaId) -> Result<ReplicaId, &'static str> {
        if same {
            Ok(me)
        } else {
            self.varint().map(ReplicaId::from)
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        let end = self.pos.checked_add(n).ok_or("truncated op")?;
        let s = self.buf.get(self.pos..end).ok_or("truncated op")?;
        self.pos = end;
        Ok(s)
    }

    fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    fn is_done(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

impl<'a> Source<'a> for Bytes<'a> {
    type Error = &'static str;
    fn varint(&mut self) -> Result<u64, &'static str> {
        Bytes::varint(self)
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        self.take(n)
    }
    fn bad(why: &'static str) -> &'static str {
        why
    }
}

/// Reads the binary form of an op; the message says what is wrong.
fn decode(bytes: &[u8]) -> Result<Op, &'static str> {
    let mut r = Bytes { buf: bytes, pos: 0 };
    let me = ReplicaId::from(r.varint()?);
    let counter = r.varint()?;
    let id = OpId::new(me, counter);
    let head = r.byte()?;
    let meta = if head & (HAS_TIME | HAS_AUTHOR) != 0 {
        let time = if head & HAS_TIME != 0 {
            Some(r.varint()?)
        } else {
            None
        };
        let author = if head & HAS_AUTHOR != 0 {
            Some(read_author(&mut r)?)
        } else {
            None
        };
        Some(Box::new(OpMeta { time, author }))
    } else {
        None
    };
    let head = head & !(HAS_TIME | HAS_AUTHOR);
    let kind = if head & DELETE == 0 {
        let origin_left = if head & HAS_LEFT != 0 {
            let replica = r.replica(head & LEFT_SAME_REPLICA != 0, me)?;
            let counter = if head & LEFT_PREVIOUS != 0 {
                if replica != me {
                    return Err("previous-counter origin of another replica");
                }
                counter
                    .checked_sub(1)
                    .ok_or("previous counter of counter 0")?
            } else {
                r.varint()?
            };
            Some(OpId::new(replica, counter))
        } else if head & (LEFT_SAME_REPLICA | LEFT_PREVIOUS) != 0 {
            return Err("flags for an absent left origin");
        } else {
            None
        };
        let origin_right = if head & HAS_RIGHT != 0 {
            let replica = r.replica(head & RIGHT_SAME_REPLICA != 0, me)?;
            Some(OpId::new(replica, r.varint()?))
        } else if head & RIGHT_SAME_REPLICA != 0 {
            return Err("flags for an absent right origin");
        } else {
            None
        };
        let text = std::str::from_utf8(r.rest()).map_err(|_| "text is not UTF-8")?;
        OpKind::Insert {
            origin_left,
            origin_right,
            text: Text::from(text),
        }
    } else {
        if head != DELETE {
            return Err("unknown delete flags");
        }
        let mut targets = Targets::new();
        while !r.is_done() {
            let flags = r.byte()?;
            if flags & !(SPAN_BACKWARD | SPAN_SAME_REPLICA) != 0 {
                return Err("unknown span flags");
            }
            let replica = r.replica(flags & SPAN_SAME_REPLICA != 0, me)?;
            let start = OpId::new(replica, r.varint()?);
            let len = r.varint()?;
            targets.push(DeleteSpan {
                start,
                len,
                backward: flags & SPAN_BACKWARD != 0,
            });
        }
        OpKind::Delete { targets }
    };
    Ok(Op { meta, id, kind })
}

/// An [`Op`] field by field: what human-readable formats (JSON, for debugging) show.
#[derive(Serialize, Deserialize)]
#[serde(rename = "Op")]
struct OpFields {
    id: OpId,
    kind: OpKindFields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    author: Option<crate::Author>,
}

/// [`OpKind`] field by field (see [`OpFields`]).
#[derive(Serialize, Deserialize)]
#[serde(rename = "OpKind")]
enum OpKindFields {
    Insert {
        origin_left: Option<OpId>,
        origin_right: Option<OpId>,
        text: String,
    },
    Delete {
        targets: Vec<DeleteSpan>,
    },
}

impl From<&Op> for OpFields {
    fn from(op: &Op) -> OpFields {
        let kind = match &op.kind {
            OpKind::Insert {
                origin_left,
                origin_right,
                text,
            } => OpKindFields::Insert {
                origin_left: *origin_left,
                origin_right: *origin_right,
                text: text.to_string(),
            },
            OpKind::Delete { targets } => OpKindFields::Delete {
                targets: targets.to_vec(),
            },
        };
        OpFields {
            id: op.id,
            kind,
            time: op.time(),
            author: op.author().cloned(),
        }
    }
}

impl From<OpFields> for Op {
    fn from(op: OpFields) -> Op {
        let kind = match op.kind {
            OpKindFields::Insert {
                origin_left,
                origin_right,
                text,
            } => OpKind::Insert {
                origin_left,
                origin_right,
                text: text.into(),
            },
            OpKindFields::Delete { targets } => OpKind::Delete {
                targets: targets.into(),
            },
        };
        let meta = (op.time.is_some() || op.author.is_some()).then(|| {
            Box::new(OpMeta {
                time: op.time,
                author: op.author,
            })
        });
        Op {
            meta,
            id: op.id,
            kind,
        }
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            OpFields::from(self).serialize(serializer)
        } else {
            let mut buf = Vec::with_capacity(24 + self.text_bytes());
            encode(self, &mut buf);
            serializer.serialize_bytes(&buf)
        }
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Op, D::Error> {
        if deserializer.is_human_readable() {
            OpFields::deserialize(deserializer).map(Op::from)
        } else {
            deserializer.deserialize_bytes(OpVisitor)
        }
    }
}

struct OpVisitor;

impl<'de> Visitor<'de> for OpVisitor {
    type Value = Op;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duet op in its binary form")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Op, E> {
        decode(bytes).map_err(|why| E::custom(format_args!("invalid op: {why}")))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Op, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        self.visit_bytes(&bytes)
    }
}

impl Op {
    fn text_bytes(&self) -> usize {
        match &self.kind {
            OpKind::Insert { text, .. } => text.len(),
            OpKind::Delete { targets } => targets.len() * 12,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(replica: u64, counter: u64) -> OpId {
        OpId::new(ReplicaId::from(replica), counter)
    }

    fn insert(at: OpId, left: Option<OpId>, right: Option<OpId>, text: &str) -> Op {
        Op {
            meta: None,
            id: at,
            kind: OpKind::Insert {
                origin_left: left,
                origin_right: right,
                text: text.into(),
            },
        }
    }

    fn samples() -> Vec<Op> {
        let me = u64::MAX - 7;
        let other = 0x1234_5678;
        let span = |replica, counter, len, backward| DeleteSpan {
            start: id(replica, counter),
            len,
            backward,
        };
        vec![
            insert(id(me, 0), None, None, "a"),
            insert(id(me, 9), Some(id(me, 8)), None, "typing on"),
            insert(id(me, 9), Some(id(me, 3)), Some(id(me, 2)), "é🦀\r\n字"),
            insert(id(me, 9), Some(id(other, 8)), Some(id(other, 0)), ""),
            insert(
                id(me, 0),
                Some(id(other, 0)),
                Some(id(me, u64::MAX)),
                &"long ".repeat(40),
            ),
            Op {
                meta: None,
                id: id(me, 100),
                kind: OpKind::Delete {
                    targets: [span(me, 99, 1, false)].into(),
                },
            },
            Op {
                meta: None,
                id: id(other, u64::MAX - 1),
                kind: OpKind::Delete {
                    targets: Targets::from([
                        span(me, 50, 20, true),
                        span(other, 3, 1, false),
                        span(7, 0, 0, true),
                    ]),
                },
            },
            Op {
                meta: None,
                id: id(0, 0),
                kind: OpKind::Delete {
                    targets: Targets::new(),
                },
            },
            Op {
                meta: Some(Box::new(OpMeta {
                    time: Some(1_795_000_000),
                    author: Some(crate::Author::new(
                        crate::AuthorId([7; 16]),
                        "Zoë",
                        Some("zoe@example.org"),
                    )),
                })),
                ..insert(id(me, 4), Some(id(me, 3)), Some(id(other, 1)), "stamped")
            },
            Op {
                meta: Some(Box::new(OpMeta {
                    time: Some(0),
                    author: None,
                })),
                id: id(me, 5),
                kind: OpKind::Delete {
                    targets: [span(other, 2, 3, true)].into(),
                },
            },
            Op {
                meta: Some(Box::new(OpMeta {
                    time: None,
                    author: Some(crate::Author::new(crate::AuthorId([0; 16]), "", None)),
                })),
                ..insert(id(me, 0), None, None, "")
            },
        ]
    }

    #[test]
    fn ops_round_trip_through_binary_and_readable_formats() {
        for op in samples() {
            let bytes = postcard::to_stdvec(&op).unwrap();
            assert_eq!(postcard::from_bytes::<Op>(&bytes).unwrap(), op);
            let json = serde_json::to_string(&op).unwrap();
            assert!(json.contains("\"kind\""), "readable: {json}");
            assert_eq!(serde_json::from_str::<Op>(&json).unwrap(), op);
        }
    }

    #[test]
    fn a_keystroke_costs_its_id_a_head_byte_its_right_origin_and_its_text() {
        let me = 0xdead_beef_dead_beef; // a random 64-bit replica id: a 10-byte varint
        let op = insert(id(me, 1000), Some(id(me, 999)), Some(id(me, 10)), "x");
        // length + replica + counter + head + right counter + text
        assert_eq!(
            postcard::to_stdvec(&op).unwrap().len(),
            1 + 10 + 2 + 1 + 1 + 1
        );
    }

    #[test]
    fn malformed_bytes_are_errors_never_panics() {
        for op in samples() {
            let mut body = Vec::new();
            encode(&op, &mut body);
            for cut in 0..body.len() {
                // Truncations either fail or (cutting text) decode to a shorter op.
                let _ = decode(&body[..cut]);
            }
            for bit in 0..body.len() * 8 {
                let mut flipped = body.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                let _ = decode(&flipped);
            }
        }
        assert_eq!(decode(&[]), Err("truncated op"));
        assert_eq!(decode(&[1, 0, HAS_AUTHOR]), Err("truncated op"));
        assert_eq!(decode(&[1, 0, HAS_TIME | DELETE]), Err("truncated op"));
        assert_eq!(decode(&[1, 0, 0x03]), Err("unknown delete flags"));
        assert_eq!(decode(&[1, 0, 0, 0xff]), Err("text is not UTF-8"));
        assert_eq!(
            decode(&[1, 0, LEFT_PREVIOUS]),
            Err("flags for an absent left origin")
        );
        assert_eq!(
            decode(&[1, 0, HAS_LEFT | LEFT_SAME_REPLICA | LEFT_PREVIOUS]),
            Err("previous counter of counter 0")
        );
        assert_eq!(decode(&[1, 0, 1, 4]), Err("unknown span flags"));
        assert_eq!(decode(&[0xff; 12]), Err("number too long"));
        // Postcard framing errors surface as deserialization errors too.
        assert!(postcard::from_bytes::<Op>(&[5, 1, 0]).is_err());
    }
}
