//! The handshake against impostors, and every limit on hostile or broken input: each closes
//! only the offending connection and leaves the document untouched.

use super::*;

#[test]
fn a_peer_with_the_wrong_secret_learns_nothing_and_both_sides_say_why() {
    let mut net = Net::with(2, |i| vec![(DOC, if i == 0 { SECRET } else { [8; 32] })]);
    net.type_text(0, 0, "secret plans");
    let conn = net.connect(1, 0);
    net.run();
    let names: Vec<&str> = net.sent(0, conn).iter().map(|m| m.name()).collect();
    assert!(
        names
            .iter()
            .all(|n| ["Hello", "Leave", "Goodbye"].contains(n)),
        "the host sends nothing about the document: {names:?}"
    );
    assert!(net.events(0).any(|e| matches!(
        e,
        Event::Refused {
            error: ProtoError::AuthFailed,
            ..
        }
    )));
    assert!(net.events(1).any(|e| matches!(
        e,
        Event::Refused {
            error: ProtoError::Remote {
                code: GoodbyeCode::AuthFailed,
                ..
            },
            ..
        }
    )));
    assert_eq!(net.text(1), "");
    let shown = ProtoError::Remote {
        code: GoodbyeCode::AuthFailed,
        detail: "whatever they said".into(),
    }
    .to_string();
    assert!(shown.contains("ticket"), "the joiner is told why: {shown}");
}

#[test]
fn a_reflected_proof_is_rejected() {
    let mut raw = Raw::connected();
    let out = raw.receive(hello(PROTOCOL_VERSION, 1));
    assert!(
        !out.iter().any(|o| matches!(
            o,
            Output::Send {
                msg: Message::Join(_),
                ..
            }
        )),
        "no proof is offered to a stranger"
    );
    // A Join proved as if the remote were the acceptor (its role reflected).
    let proof = auth::ProofInput {
        secret: &SECRET,
        doc: &DOC,
        role: auth::Role::Acceptor,
        own_key: &key(5),
        other_key: &key(0),
        own_nonce: &[5; 32],
        other_nonce: &raw.nonce,
    }
    .mac();
    let out = raw.receive(Message::Join(Join {
        doc: DOC,
        chan: 0,
        proof,
    }));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Send {
            msg: Message::Leave(Leave {
                code: GoodbyeCode::AuthFailed,
                ..
            }),
            ..
        }
    )));
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Event(Event::PeerJoined { .. })))
    );
}

#[test]
fn repeated_failed_joins_close_the_connection() {
    let mut raw = Raw::connected();
    raw.receive(hello(PROTOCOL_VERSION, 1));
    let mut closed = None;
    for chan in 0..10 {
        let mut join = raw.join(DOC, [8; 32]);
        if let Message::Join(j) = &mut join {
            j.chan = chan;
        }
        if let Some(e) = closed_with(&raw.receive(join)) {
            closed = Some(e.clone());
            break;
        }
    }
    assert_eq!(closed, Some(ProtoError::AuthFailed));
}

#[test]
fn another_protocol_version_gets_a_clear_error() {
    let mut raw = Raw::connected();
    let out = raw.receive(hello(PROTOCOL_VERSION - 1, 1));
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
    let mut raw = Raw::connected();
    let msg = Message::Hello(Hello {
        version: PROTOCOL_VERSION,
        key: key(6),
        nonce: [1; 32],
        session: 1,
        name: String::new(),
    });
    let out = raw.receive(msg);
    assert_eq!(closed_with(&out), Some(&ProtoError::KeyMismatch));
}

#[test]
fn document_messages_before_the_handshake_are_refused_and_not_applied() {
    let mut raw = Raw::connected();
    let mut other = Doc::new(ReplicaId::from(50));
    let op = other.insert(0, "sneaky");
    let out = raw.receive(Raw::doc_msg(DocMessage::Ops(vec![op.clone()])));
    assert!(matches!(closed_with(&out), Some(ProtoError::Violation(_))));
    assert_eq!(raw.text(), "");
    // After Hello but without a verified Join, the document number means nothing.
    let mut raw = Raw::connected();
    raw.receive(hello(PROTOCOL_VERSION, 1));
    let out = raw.receive(Raw::doc_msg(DocMessage::Ops(vec![op])));
    assert!(matches!(closed_with(&out), Some(ProtoError::Violation(_))));
    assert_eq!(raw.text(), "");
    assert!(!out.iter().any(|o| matches!(
        o,
        Output::Send {
            msg: Message::Doc { .. },
            ..
        }
    )));
}

#[test]
fn a_stalled_handshake_times_out() {
    let mut raw = Raw::connected();
    let out = raw.at(Input::Tick, Millis(Timers::default().handshake_timeout_ms));
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::HandshakeTimeout(_))
    ));
}

#[test]
fn a_connection_that_never_joins_a_document_times_out() {
    let mut raw = Raw::connected();
    raw.receive(hello(PROTOCOL_VERSION, 1));
    let out = raw.at(
        Input::Tick,
        Millis(1 + Timers::default().handshake_timeout_ms),
    );
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::HandshakeTimeout(_))
    ));
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
fn a_peer_that_stops_reading_is_closed() {
    let mut raw = Raw::live();
    let queued = Limits::default().max_queued_bytes_per_peer + 1;
    let out = raw.at(
        Input::Stalled {
            conn: raw.conn,
            queued,
        },
        Millis(2),
    );
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::TooSlow { .. })
    ));
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
    let mut raw = Raw::live();
    // Its left origin is a character that only a later op of the same replica could create.
    let origin_left = Some(OpId::new(ReplicaId::from(50), 7));
    let kind = OpKind::Insert {
        origin_left,
        origin_right: None,
        text: "x".into(),
    };
    let bad = Op {
        meta: None,
        id: OpId::new(ReplicaId::from(50), 0),
        kind,
    };
    let out = raw.receive(Raw::doc_msg(DocMessage::Ops(vec![bad])));
    assert!(
        matches!(closed_with(&out), Some(ProtoError::InvalidOp(_))),
        "{out:?}"
    );
    assert_eq!(raw.text(), "");
}

#[test]
fn too_many_ops_in_one_message_closes_the_connection() {
    let mut raw = Raw::live();
    let mut other = Doc::new(ReplicaId::from(50));
    let ops: Vec<Op> = (0..Limits::default().max_ops_per_message + 1)
        .map(|k| other.insert(k, "x"))
        .collect();
    let out = raw.receive(Raw::doc_msg(DocMessage::Ops(ops)));
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::TooManyOps { .. })
    ));
    assert_eq!(raw.docs[&DOC].len(), 0);
}

/// Ops of replica 50 that all depend on its first op, which is withheld.
fn orphans(n: usize) -> Vec<Op> {
    let mut other = Doc::new(ReplicaId::from(50));
    let _ = other.insert(0, "x");
    (0..n).map(|k| other.insert(k + 1, "y")).collect()
}

#[test]
fn too_many_ops_waiting_for_dependencies_closes_the_connection() {
    let mut raw = Raw::live();
    let limit = Limits::default().max_pending_ops_per_peer;
    let mut closed = None;
    for (k, batch) in orphans(limit + 1).chunks(1000).enumerate() {
        let msg = Raw::doc_msg(DocMessage::Ops(batch.to_vec()));
        let input = Input::Received {
            conn: raw.conn,
            msg,
        };
        let out = raw.at(input, Millis(k as u64 + 1));
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
    assert_eq!(raw.docs[&DOC].len(), 0);
}

#[test]
fn an_op_that_never_becomes_applicable_closes_the_connection() {
    let mut raw = Raw::live();
    let out = raw.receive(Raw::doc_msg(DocMessage::Ops(orphans(1))));
    assert!(closed_with(&out).is_none());
    assert_eq!(raw.peer.status(&DOC).pending, 1);
    let out = raw.at(
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
    let mut raw = Raw::live();
    let limits = Limits::default();
    let count = (limits.max_update_bytes / limits.update_chunk_bytes) as u32 + 1;
    let chunk = UpdateChunk {
        update: 0,
        index: 0,
        count,
        bytes: vec![0; 16],
    };
    let out = raw.receive(Raw::doc_msg(DocMessage::Update(chunk)));
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::UpdateTooLarge { .. })
    ));
}

#[test]
fn a_garbage_update_closes_the_connection() {
    let mut raw = Raw::live();
    let chunk = UpdateChunk {
        update: 0,
        index: 0,
        count: 1,
        bytes: b"not an update".to_vec(),
    };
    let out = raw.receive(Raw::doc_msg(DocMessage::Update(chunk)));
    assert!(
        matches!(closed_with(&out), Some(ProtoError::BadUpdate(_))),
        "{out:?}"
    );
    assert_eq!(raw.docs[&DOC].len(), 0);
}

#[test]
fn a_message_flood_closes_the_connection() {
    let mut raw = Raw::live();
    let burst = Limits::default().flood_burst as usize;
    let conn = raw.conn;
    let inputs = (0..burst + 10).map(|_| Input::Received {
        conn,
        msg: Raw::doc_msg(DocMessage::Presence(None)),
    });
    let out = raw.peer.handle_all(&mut raw.docs, inputs, Millis(1));
    assert!(matches!(closed_with(&out), Some(ProtoError::Flood { .. })));
}

#[test]
fn oversized_peer_lists_and_names_close_the_connection() {
    let mut raw = Raw::live();
    let list = (0..Limits::default().max_peers_per_message + 1)
        .map(|i| addr(i + 10))
        .collect();
    let out = raw.receive(Raw::doc_msg(DocMessage::Peers(list)));
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::TooManyPeers(_))
    ));

    let mut raw = Raw::live();
    let presence = PresenceState {
        name: "n".repeat(65),
        color: 0,
        cursor: crdt_text::Anchor::START,
        selection: None,
        view: None,
    };
    let out = raw.receive(Raw::doc_msg(DocMessage::Presence(Some(presence))));
    assert!(matches!(
        closed_with(&out),
        Some(ProtoError::PresenceTooLarge { .. })
    ));
}
