//! Hostile input never panics: truncated, bit-flipped and random bytes given to `Doc::decode`,
//! `Doc::apply_update` and op deserialization return errors, in both format versions; random (possibly malicious) ops
//! given to `apply` are applied, held or rejected, and a rejected op changes nothing.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is the test failing

use std::io::{Read, Write};

use crdt_text::{Applied, DeleteSpan, Doc, Op, OpId, OpKind, ReplicaId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn sample_doc() -> Doc {
    let mut a = Doc::new(ReplicaId::from(1));
    let mut b = Doc::new(ReplicaId::from(2));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for i in 0..400 {
        let d = if i % 3 == 0 { &mut b } else { &mut a };
        if d.len() > 3 && rng.random_bool(0.3) {
            let pos = rng.random_range(0..d.len() - 2);
            let _ = d.delete(pos, 2);
        } else {
            let pos = rng.random_range(0..=d.len());
            let _ = d.insert(pos, ["ab", "ç", "\n", "🦀x", "日"][i % 5]);
        }
        if i % 17 == 0 {
            for op in b.ops_since(&a.version()) {
                a.apply(&op).unwrap();
            }
            for op in a.ops_since(&b.version()) {
                b.apply(&op).unwrap();
            }
        }
    }
    a
}

/// Splits a version 2 encoding into its header (without the checksum) and body.
fn open(bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (bytes[..6].to_vec(), bytes[10..].to_vec())
}

/// Wraps a (possibly corrupted) body back into a well-formed container.
fn seal(header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = header.to_vec();
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Splits a version 1 encoding into its header and inflated body.
fn open_v1(bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut i = 6;
    while bytes[i] & 0x80 != 0 {
        i += 1;
    }
    let mut body = Vec::new();
    flate2::read::ZlibDecoder::new(&bytes[i + 1..])
        .read_to_end(&mut body)
        .unwrap();
    (bytes[..6].to_vec(), body)
}

/// Wraps a (possibly corrupted) version 1 body back into a well-formed container.
fn seal_v1(header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = header.to_vec();
    let mut n = body.len() as u64;
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    let mut z = flate2::write::ZlibEncoder::new(out, flate2::Compression::fast());
    z.write_all(body).unwrap();
    z.finish().unwrap()
}

/// Damages a body at random: a bit flip, a truncation or a few random bytes.
fn damage(rng: &mut ChaCha8Rng, body: &[u8]) -> Vec<u8> {
    let mut b = body.to_vec();
    match rng.random_range(0..3) {
        0 => {
            let i = rng.random_range(0..b.len());
            b[i] ^= 1 << rng.random_range(0..8);
        }
        1 => b.truncate(rng.random_range(0..b.len())),
        _ => {
            let i = rng.random_range(0..b.len());
            let n = rng.random_range(1..8).min(b.len() - i);
            rng.fill(&mut b[i..i + n]);
        }
    }
    b
}

fn check_decode(bytes: &[u8]) {
    if let Ok(doc) = Doc::decode(bytes, ReplicaId::from(5)) {
        // Whatever decodes must be usable.
        doc.assert_invariants();
        let _ = doc.text();
    }
    let mut target = sample_doc();
    let before = target.text();
    if target.apply_update(bytes).is_err() {
        let _ = before;
    }
    target.assert_invariants();
}

#[test]
fn damaged_encodings_are_errors_not_panics() {
    let doc = sample_doc();
    let bytes = doc.encode();
    assert_eq!(
        Doc::decode(&bytes, ReplicaId::from(1)).unwrap().text(),
        doc.text()
    );
    let mut rng = ChaCha8Rng::seed_from_u64(1);

    // Every truncation of the container.
    for n in 0..bytes.len() {
        assert!(
            Doc::decode(&bytes[..n], ReplicaId::from(1)).is_err(),
            "truncated at {n}"
        );
    }
    // Bit flips in the container.
    for _ in 0..2000 {
        let mut b = bytes.clone();
        let i = rng.random_range(0..b.len());
        b[i] ^= 1 << rng.random_range(0..8);
        check_decode(&b);
    }
    // Damage inside the body, re-sealed so the parser (not the checksum) must catch it.
    let (header, body) = open(&bytes);
    for _ in 0..3000 {
        check_decode(&seal(&header, &damage(&mut rng, &body)));
    }
    // Random garbage, with and without a valid magic.
    for _ in 0..2000 {
        let n = rng.random_range(0..200);
        let mut b: Vec<u8> = (0..n).map(|_| rng.random()).collect();
        if rng.random_bool(0.5) && b.len() >= 6 {
            let version = rng.random_range(1..=2);
            b[..6].copy_from_slice(&[b'D', b'U', b'E', b'T', version, 0]);
        }
        check_decode(&b);
        assert!(postcard::from_bytes::<Op>(&b).is_err() || postcard::from_bytes::<Op>(&b).is_ok());
    }
}

/// Documents and updates written in format version 1 (stores in the field hold them).
fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn version_1_encodings_still_load() {
    let text = String::from_utf8(fixture("v1-doc.txt")).unwrap();
    let doc = Doc::decode(&fixture("v1-doc.bin"), ReplicaId::from(1)).unwrap();
    assert_eq!(doc.text(), text);
    doc.assert_invariants();
    // It re-encodes in the current version to the same document.
    let again = Doc::decode(&doc.encode(), ReplicaId::from(1)).unwrap();
    assert_eq!(again.text(), text);
    assert_eq!(again.version(), doc.version());
    let all = crdt_text::VersionVector::new();
    assert!(again.ops_since(&all) == doc.ops_since(&all));

    let mut base = Doc::decode(&fixture("v1-base.bin"), ReplicaId::from(2)).unwrap();
    base.apply_update(&fixture("v1-update.bin")).unwrap();
    assert_eq!(
        base.text(),
        String::from_utf8(fixture("v1-merged.txt")).unwrap()
    );

    // Damaged version 1 bodies are errors too.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for bytes in [fixture("v1-doc.bin"), fixture("v1-update.bin")] {
        let (header, body) = open_v1(&bytes);
        for _ in 0..1500 {
            check_decode(&seal_v1(&header, &damage(&mut rng, &body)));
        }
    }
}

#[test]
fn damaged_updates_are_errors_not_panics() {
    let doc = sample_doc();
    let mut behind = Doc::new(ReplicaId::from(9));
    let half: Vec<Op> = doc
        .ops_since(&behind.version())
        .into_iter()
        .take(100)
        .collect();
    for op in &half {
        behind.apply(op).unwrap();
    }
    let update = doc.encode_since(&behind.version());
    let mut ok = behind.clone();
    ok.apply_update(&update).unwrap();
    assert_eq!(ok.text(), doc.text());
    let (header, body) = open(&update);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for _ in 0..3000 {
        let mut b = body.clone();
        let i = rng.random_range(0..b.len());
        b[i] ^= 1 << rng.random_range(0..8);
        let mut d = behind.clone();
        let _ = d.apply_update(&seal(&header, &b));
        d.assert_invariants();
    }
}

#[test]
fn wire_ops_decode_or_fail_cleanly() {
    let doc = sample_doc();
    let ops = doc.ops_since(&Default::default());
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for op in ops.iter().take(200) {
        let bytes = postcard::to_allocvec(op).unwrap();
        for n in 0..bytes.len() {
            assert!(postcard::from_bytes::<Op>(&bytes[..n]).is_err());
        }
        for _ in 0..20 {
            let mut b = bytes.clone();
            let i = rng.random_range(0..b.len());
            b[i] ^= 1 << rng.random_range(0..8);
            if let Ok(op) = postcard::from_bytes::<Op>(&b) {
                let mut d = Doc::new(ReplicaId::from(3));
                let _ = d.apply(&op);
                d.assert_invariants();
            }
        }
    }
}

fn random_id(rng: &mut ChaCha8Rng) -> OpId {
    OpId::new(
        ReplicaId::from(rng.random_range(1..4)),
        rng.random_range(0..700),
    )
}

#[test]
fn malicious_ops_are_held_or_rejected_without_damage() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut doc = sample_doc();
    doc.set_pending_limit(500);
    for _ in 0..5000 {
        let id = random_id(&mut rng);
        let kind = if rng.random_bool(0.5) {
            OpKind::Insert {
                origin_left: rng.random_bool(0.8).then(|| random_id(&mut rng)),
                origin_right: rng.random_bool(0.8).then(|| random_id(&mut rng)),
                text: ["q", "", "zz", "🦀"][rng.random_range(0..4)].into(),
            }
        } else {
            let n = rng.random_range(0..3);
            OpKind::Delete {
                targets: (0..n)
                    .map(|_| DeleteSpan {
                        start: random_id(&mut rng),
                        len: rng.random_range(0..5),
                        backward: rng.random_bool(0.3),
                    })
                    .collect(),
            }
        };
        let op = Op {
            meta: None,
            id,
            kind,
        };
        let (text, version) = (doc.text(), doc.version());
        match doc.apply(&op) {
            Err(_) | Ok(Applied::Pending | Applied::Duplicate) => {
                assert_eq!(doc.text(), text, "{op:?} changed the text without applying");
                assert_eq!(doc.version(), version);
            }
            Ok(Applied::Done { .. }) => {}
        }
        doc.assert_invariants();
    }
    // Ops with absurd sizes.
    let huge = Op {
        meta: None,
        id: OpId::new(ReplicaId::from(1), u64::MAX - 1),
        kind: OpKind::Delete {
            targets: [DeleteSpan {
                start: OpId::new(ReplicaId::from(1), 0),
                len: u64::MAX,
                backward: true,
            }]
            .into(),
        },
    };
    assert!(doc.apply(&huge).is_err());
    doc.assert_invariants();
}
