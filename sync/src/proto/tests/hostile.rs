//! The handshake against impostors, and every limit on hostile or broken input: each closes
//! only the offending connection and leaves the document untouched.

use super::*;

#[test]
fn a_peer_with_the_wrong_secret_learns_nothing_and_both_sides_say_why() {
    let mut net = Net::with(2, |i| config(i, if i == 0 { SECRET } else { [8; 32] }));
    net.type_text(0, 0, "secret plans");
    let conn = net.connect(1, 0);
    net.run();
    for i in 0..2 {
        let names: Vec<&str> = net.sent(i, conn).iter().map(|m| m.name()).collect();
        assert!(
            names
                .iter()
                .all(|n| ["Hello", "Proof", "Goodbye"].contains(n)),
            "{i}: {names:?}"
        );
    }
    assert_eq!(net.close_error(0, conn), Some(&ProtoError::AuthFailed));
    assert!(matches!(
        net.close_error(1, conn),
        Some(
            ProtoError::AuthFailed
                | ProtoError::Remote {
                    code: GoodbyeCode::AuthFailed,
                    ..
                }
        )
    ));
    assert!(net.events(0).any(|e| matches!(
        e,
        Event::Rejected {
            error: ProtoError::AuthFailed,
            ..
        }
    )));
    assert!(net.events(1).any(|e| matches!(e, Event::Rejected { .. })));
    assert_eq!(net.text(1), "");
}

#[test]
fn a_reflected_proof_is_rejected() {
    let (mut p, conn, now) = raw_peer();
    let out = p.handle(
        Input::Received {
            conn,
            msg: hello(PROTOCOL_VERSION, [5; 32]),
        },
        now,
    );
    let their_proof = out
        .iter()
        .find_map(|o| match o {
            Output::Send {
                msg: Message::Proof(pr),
                ..
            } => Some(pr.clone()),
            _ => None,
        })
        .expect("proof sent after Hello");
    let out = p.handle(
        Input::Received {
            conn,
            msg: Message::Proof(their_proof),
        },
        now,
    );
    assert_eq!(closed_with(&out), Some(&ProtoError::AuthFailed));
}

#[test]
fn another_protocol_version_gets_a_clear_error() {
    let (mut p, conn, now) = raw_peer();
    let out = p.handle(
        Input::Received {
            conn,
            msg: hello(PROTOCOL_VERSION - 1, [5; 32]),
        },
        now,
    );
    assert_eq!(
        closed_with(&out),
        Some(&ProtoError::VersionMismatch {
            ours: PROTOCOL_VERSION,
            theirs: PROTOCOL_VERSION - 1
        })
    );
    let goodbye = out.iter().find_map(|o| match o {
        Output::Send {
            msg: Message::Goodbye(g),
            ..
        } => Some(g.code),
        _ => None,
    });
    assert_eq!(
        goodbye,
        Some(GoodbyeCode::VersionMismatch {
            supported: PROTOCOL_VERSION
        })
    );
    // A future Hello with a different layout is still recognised by its version prefix.
    let mut future = postcard::to_stdvec(&(0u32, 7u32)).expect("encode");
    future.extend_from_slice(&[0xff; 5]);
    assert_eq!(decode(&future), Err(WireError::UnsupportedVersion(7)));
}

#[test]
fn a_hello_with_a_key_other_than_the_connections_is_rejected() {
    let (mut p, conn, now) = raw_peer();
    let msg = Message::Hello(Hello {
        version: PROTOCOL_VERSION,
        doc: DOC,
        key: key(6),
        nonce: [1; 32],
    });
    let out = p.handle(Input::Received { conn, msg }, now);
    assert_eq!(closed_with(&out), Some(&ProtoError::KeyMismatch));
}

#[test]
fn document_messages_before_the_handshake_are_refused_and_not_applied() {
    let (mut p, conn, now) = raw_peer();
    let mut other = Doc::new(ReplicaId::from(50));
    let op = other.insert(0, "sneaky");
    let out = p.handle(
        Input::Received {
            conn,
            msg: Message::Ops(vec![op]),
        },
        now,
    );
    assert!(matches!(closed_with(&out), Some(ProtoError::Violation(_))));
    assert_eq!(p.doc().text(), "");
    assert!(!out.iter().any(|o| matches!(
        o,
        Output::Send {
            msg: Message::Sync(_) | Message::Peers(_),
            ..
        }
    )));
}

#[test]
fn a_stalled_handshake_times_out() {
    let (mut p, conn, _) = raw_peer();
    let out = p.handle(Input::Tick, Millis(Timers::default().handshake_timeout_ms));
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::HandshakeTimeout(_))
    ));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Close { conn: c, .. } if *c == conn))
    );
}

#[test]
fn a_malformed_or_oversized_frame_closes_only_that_connection() {
    let mut net = Net::new(3);
    let c01 = net.connect(0, 1);
    let c02 = net.connect(0, 2);
    net.run();
    let error = decode(&vec![0u8; MAX_FRAME_BYTES + 1]).expect_err("too large");
    assert!(matches!(error, WireError::TooLarge { .. }));
    net.input(0, Input::Malformed { conn: c01, error });
    assert!(matches!(
        net.close_error(0, c01),
        Some(ProtoError::Malformed(_))
    ));
    let garbage = decode(&[5, 0xff, 0xff, 0xff]).expect_err("garbage");
    net.input(
        0,
        Input::Malformed {
            conn: c02,
            error: garbage.clone(),
        },
    );
    assert!(net.close_error(0, c02).is_some());
    // The document is untouched and a new connection syncs normally.
    net.type_text(0, 0, "still fine");
    let c = net.connect(1, 0);
    net.run();
    assert!(net.close_error(0, c).is_none());
    assert_eq!(net.text(1), "still fine");
}

#[test]
fn decoding_random_bytes_never_panics() {
    let mut x = 0x1234_5678_u64;
    for len in 0..2000 {
        let bytes: Vec<u8> = (0..len % 64)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let _ = decode(&bytes);
    }
}

#[test]
fn an_invalid_op_closes_the_connection_and_leaves_the_document_alone() {
    let (mut p, conn) = live_raw_peer();
    // Its left origin is a character that only a later op of the same replica could create.
    let origin_left = Some(OpId::new(ReplicaId::from(50), 7));
    let kind = OpKind::Insert {
        origin_left,
        origin_right: None,
        text: "x".into(),
    };
    let bad = Op {
        id: OpId::new(ReplicaId::from(50), 0),
        kind,
    };
    let out = p.handle(
        Input::Received {
            conn,
            msg: Message::Ops(vec![bad]),
        },
        Millis(1),
    );
    assert!(
        matches!(closed_with(&out), Some(ProtoError::InvalidOp(_))),
        "{out:?}"
    );
    assert_eq!(p.doc().text(), "");
}

#[test]
fn too_many_ops_in_one_message_closes_the_connection() {
    let (mut p, conn) = live_raw_peer();
    let mut other = Doc::new(ReplicaId::from(50));
    let ops: Vec<Op> = (0..Limits::default().max_ops_per_message + 1)
        .map(|k| other.insert(k, "x"))
        .collect();
    let out = p.handle(
        Input::Received {
            conn,
            msg: Message::Ops(ops),
        },
        Millis(1),
    );
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::TooManyOps { .. })
    ));
    assert_eq!(p.doc().len(), 0);
}

/// Ops of replica 50 that all depend on its first op, which is withheld.
fn orphans(n: usize) -> Vec<Op> {
    let mut other = Doc::new(ReplicaId::from(50));
    other.insert(0, "x");
    (0..n).map(|k| other.insert(k + 1, "y")).collect()
}

#[test]
fn too_many_ops_waiting_for_dependencies_closes_the_connection() {
    let (mut p, conn) = live_raw_peer();
    let limit = Limits::default().max_pending_ops_per_peer;
    let mut closed = None;
    for (k, batch) in orphans(limit + 1).chunks(1000).enumerate() {
        let out = p.handle(
            Input::Received {
                conn,
                msg: Message::Ops(batch.to_vec()),
            },
            Millis(k as u64),
        );
        if let Some(e) = closed_with(&out) {
            closed = Some(e.clone());
            break;
        }
    }
    assert!(
        matches!(
            closed,
            Some(ProtoError::TooManyPending { .. } | ProtoError::InvalidOp(_))
        ),
        "{closed:?}"
    );
    assert_eq!(p.doc().len(), 0);
}

#[test]
fn an_op_that_never_becomes_applicable_closes_the_connection() {
    let (mut p, conn) = live_raw_peer();
    let out = p.handle(
        Input::Received {
            conn,
            msg: Message::Ops(orphans(1)),
        },
        Millis(1),
    );
    assert!(closed_with(&out).is_none());
    assert_eq!(p.status().pending, 1);
    let out = p.handle(
        Input::Tick,
        Millis(1 + Timers::default().pending_timeout_ms),
    );
    assert!(
        matches!(closed_with(&out), Some(ProtoError::StuckOp { .. })),
        "{out:?}"
    );
}

#[test]
fn an_update_larger_than_the_receive_buffer_closes_the_connection() {
    let (mut p, conn) = live_raw_peer();
    let limits = Limits::default();
    let count = (limits.max_update_bytes / limits.update_chunk_bytes) as u32 + 1;
    let chunk = UpdateChunk {
        update: 0,
        index: 0,
        count,
        bytes: vec![0; 16],
    };
    let out = p.handle(
        Input::Received {
            conn,
            msg: Message::Update(chunk),
        },
        Millis(1),
    );
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::UpdateTooLarge { .. })
    ));
}

#[test]
fn a_garbage_update_closes_the_connection() {
    let (mut p, conn) = live_raw_peer();
    let chunk = UpdateChunk {
        update: 0,
        index: 0,
        count: 1,
        bytes: b"not an update".to_vec(),
    };
    let out = p.handle(
        Input::Received {
            conn,
            msg: Message::Update(chunk),
        },
        Millis(1),
    );
    assert!(
        matches!(closed_with(&out), Some(ProtoError::BadUpdate(_))),
        "{out:?}"
    );
    assert_eq!(p.doc().len(), 0);
}

#[test]
fn a_message_flood_closes_the_connection() {
    let (mut p, conn) = live_raw_peer();
    let burst = Limits::default().flood_burst as usize;
    let inputs = (0..burst + 10).map(|_| Input::Received {
        conn,
        msg: Message::Presence(None),
    });
    let out = p.handle_all(inputs, Millis(1));
    assert!(matches!(closed_with(&out), Some(ProtoError::Flood { .. })));
}

#[test]
fn oversized_peer_lists_and_names_close_the_connection() {
    let (mut p, conn) = live_raw_peer();
    let list = (0..Limits::default().max_peers_per_message + 1)
        .map(|i| addr(i + 10))
        .collect();
    let out = p.handle(
        Input::Received {
            conn,
            msg: Message::Peers(list),
        },
        Millis(1),
    );
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::TooManyPeers(_))
    ));

    let (mut p, conn) = live_raw_peer();
    let presence = PresenceState {
        name: "n".repeat(65),
        color: 0,
        cursor: crdt_text::Anchor::START,
        selection: None,
    };
    let out = p.handle(
        Input::Received {
            conn,
            msg: Message::Presence(Some(presence)),
        },
        Millis(1),
    );
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::PresenceTooLarge { .. })
    ));
}
