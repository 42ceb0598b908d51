//! Reading format version 1 logs, whose frames hold ops field by field (crdt-text's first
//! serde form, origins with their full replica ids). Version 2 frames hold crdt-text's compact
//! byte-string form. A version 1 log is rewritten as version 2 when its store opens, so only
//! the reader is kept.

use crdt_text::{DeleteSpan, Op, OpId, OpKind};
use serde::Deserialize;

/// An op as a version 1 frame holds it.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
struct OpV1 {
    id: OpId,
    kind: KindV1,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
enum KindV1 {
    Insert {
        origin_left: Option<OpId>,
        origin_right: Option<OpId>,
        text: String,
    },
    Delete {
        targets: Vec<DeleteSpan>,
    },
}

impl From<OpV1> for Op {
    fn from(op: OpV1) -> Op {
        let kind = match op.kind {
            KindV1::Insert {
                origin_left,
                origin_right,
                text,
            } => OpKind::Insert {
                origin_left,
                origin_right,
                text: text.into(),
            },
            KindV1::Delete { targets } => OpKind::Delete {
                targets: targets.into(),
            },
        };
        Op {
            meta: None,
            id: op.id,
            kind,
        }
    }
}

/// Decodes a version 1 frame payload.
pub fn decode_payload(payload: &[u8]) -> Result<Vec<Op>, postcard::Error> {
    let ops: Vec<OpV1> = postcard::from_bytes(payload)?;
    Ok(ops.into_iter().map(Op::from).collect())
}

#[cfg(test)]
mod tests {
    use crdt_text::ReplicaId;

    use super::*;

    #[test]
    fn version_1_payloads_decode_to_the_same_ops() {
        let r = ReplicaId::from(0x1234_5678_9abc);
        let op = Op {
            meta: None,
            id: OpId::new(r, 5),
            kind: OpKind::Insert {
                origin_left: Some(OpId::new(r, 4)),
                origin_right: None,
                text: "héllo".into(),
            },
        };
        let fields = OpV1 {
            id: op.id,
            kind: KindV1::Insert {
                origin_left: Some(OpId::new(r, 4)),
                origin_right: None,
                text: "héllo".into(),
            },
        };
        let v1 = postcard::to_stdvec(&vec![fields]).unwrap();
        assert_eq!(decode_payload(&v1).unwrap(), vec![op]);
        // The committed fixture's first frame (tests/store_fixtures/v1): "Shared notes\n".
        // It pins the version 1 layout independently of `OpV1`.
        let fixture = [
            0x01, 0x86, 0xa1, 0x8d, 0xa7, 0xaf, 0xe9, 0x9d, 0x91, 0x2b, 0x00, 0x00, 0x00, 0x00,
            0x0d, b'S', b'h', b'a', b'r', b'e', b'd', b' ', b'n', b'o', b't', b'e', b's', b'\n',
        ];
        let ops = decode_payload(&fixture).unwrap();
        assert!(
            matches!(&ops[..], [Op { kind: OpKind::Insert { text, origin_left: None, .. }, .. }] if text == "Shared notes\n")
        );
    }
}
