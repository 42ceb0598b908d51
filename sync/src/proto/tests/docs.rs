//! Several documents on one connection, and the digests that make "in sync" mean the same
//! text.

use super::*;

#[test]
fn one_connection_carries_two_documents_and_keeps_them_apart() {
    let mut net = Net::with(2, |_| vec![(DOC, SECRET), (OTHER_DOC, [9; 32])]);
    net.type_in(0, DOC, 0, "notes");
    net.type_in(0, OTHER_DOC, 0, "todo");
    let conn = net.connect(1, 0);
    net.run();
    assert_eq!(net.conns.len(), 1, "one connection for both documents");
    assert_eq!(net.docs[1][&DOC].text(), "notes");
    assert_eq!(net.docs[1][&OTHER_DOC].text(), "todo");
    net.type_in(1, OTHER_DOC, 4, " list");
    net.type_in(0, DOC, 5, "!");
    assert_eq!(net.docs[0][&OTHER_DOC].text(), "todo list");
    assert_eq!(net.docs[1][&DOC].text(), "notes!");
    for doc in [DOC, OTHER_DOC] {
        assert_eq!(net.peers[0].status(&doc).connected, 1);
        assert!(
            net.events(0)
                .any(|e| matches!(e, Event::PeerJoined { doc: d, .. } if *d == doc))
        );
    }
    let joins = net
        .sent(1, conn)
        .iter()
        .filter(|m| matches!(m, Message::Join(_)))
        .count();
    assert_eq!(joins, 2);
}

#[test]
fn a_document_the_other_side_lacks_is_refused_without_closing_the_connection() {
    // Peer 1 has both documents, peer 0 only the first.
    let mut net = Net::with(2, |i| match i {
        0 => vec![(DOC, SECRET)],
        _ => vec![(DOC, SECRET), (OTHER_DOC, [9; 32])],
    });
    net.type_in(1, OTHER_DOC, 0, "private");
    let conn = net.connect(1, 0);
    net.run();
    assert!(net.close_error(0, conn).is_none() && net.close_error(1, conn).is_none());
    assert!(net.sent(0, conn).iter().any(|m| matches!(
        m,
        Message::Leave(Leave { doc, code: GoodbyeCode::UnknownDocument, .. }) if *doc == OTHER_DOC
    )));
    assert_eq!(net.peers[1].status(&OTHER_DOC).connected, 0);
    net.type_in(1, DOC, 0, "shared");
    assert_eq!(net.text(0), "shared", "the other document still syncs");
}

#[test]
fn a_wrong_secret_for_one_document_leaves_the_others_alone() {
    let mut net = Net::with(2, |i| match i {
        0 => vec![(DOC, SECRET), (OTHER_DOC, [9; 32])],
        _ => vec![(DOC, SECRET), (OTHER_DOC, [8; 32])],
    });
    net.type_in(0, OTHER_DOC, 0, "secret plans");
    let conn = net.connect(1, 0);
    net.run();
    assert_eq!(net.docs[1][&OTHER_DOC].text(), "", "nothing leaked");
    assert!(net.events(0).any(|e| matches!(
        e,
        Event::Refused { doc: Some(d), error: ProtoError::AuthFailed, .. } if *d == OTHER_DOC
    )));
    assert!(net.events(1).any(|e| matches!(
        e,
        Event::Refused { doc: Some(d), error: ProtoError::Remote { code: GoodbyeCode::AuthFailed, .. }, .. } if *d == OTHER_DOC
    )));
    net.type_in(0, DOC, 0, "public");
    assert_eq!(net.text(1), "public");
    assert!(net.close_error(0, conn).is_none());
}

#[test]
fn peers_with_equal_texts_confirm_they_are_in_sync() {
    let mut net = Net::new(2);
    net.type_text(0, 0, "same text");
    net.connect(1, 0);
    net.run();
    net.advance(2000);
    for i in 0..2 {
        let status = net.peers[i].status(&DOC);
        assert!(status.in_sync, "peer {i}: {status:?}");
        assert_eq!(status.diverged, 0);
    }
    net.type_text(1, 0, "more ");
    assert!(
        !net.peers[0].status(&DOC).in_sync || net.text(0) == net.text(1),
        "never in sync with a differing text"
    );
    net.advance(2000);
    assert!(net.peers[0].status(&DOC).in_sync);
}

#[test]
fn documents_confirmed_in_sync_are_quiet_until_one_changes() {
    // A shared folder: a hundred documents on one connection.
    let docs = |_| (0..100u8).map(|d| (DocId([d; 32]), [d; 32])).collect();
    let mut net = Net::with(2, docs);
    for d in 0..100u8 {
        net.type_in(0, DocId([d; 32]), 0, "text");
    }
    let conn = net.connect(1, 0);
    net.run();
    net.advance(3_000);
    let all_in_sync =
        |net: &Net, i: usize| (0..100u8).all(|d| net.peers[i].status(&DocId([d; 32])).in_sync);
    assert!(all_in_sync(&net, 0) && all_in_sync(&net, 1));
    assert_eq!(
        net.peers[0].poll_timeout(),
        None,
        "no timer while all is settled"
    );
    assert_eq!(
        net.peers[1].poll_timeout(),
        None,
        "no timer while all is settled"
    );

    // A minute idle: not one message either way (QUIC keeps the connection alive).
    let before = (net.sent(0, conn).len(), net.sent(1, conn).len());
    net.advance(60_000);
    assert_eq!((net.sent(0, conn).len(), net.sent(1, conn).len()), before);

    // An edit in one document: only that document speaks, and it settles again.
    net.type_in(1, DocId([7; 32]), 4, "!");
    net.advance(3_000);
    assert_eq!(net.docs[0][&DocId([7; 32])].text(), "text!");
    for (i, from) in [(0, before.0), (1, before.1)] {
        let chans: std::collections::BTreeSet<u32> = net.sent(i, conn)[from..]
            .iter()
            .filter_map(|m| match m {
                Message::Doc { chan, .. } => Some(*chan),
                _ => None,
            })
            .collect();
        assert_eq!(
            chans.len(),
            1,
            "peer {i} spoke of the edited document only: {chans:?}"
        );
    }
    assert!(all_in_sync(&net, 0) && all_in_sync(&net, 1));
    assert_eq!(net.peers[0].poll_timeout(), None);
}

#[test]
fn two_replicas_sharing_an_id_are_reported_as_diverged_never_as_in_sync() {
    let mut net = Net::new(2);
    // Peer 1's replica is a copy of peer 0's (same replica id), as after `cp -r`.
    let copy = Doc::new(net.docs[0][&DOC].replica());
    net.peers[1].add_doc(doc_config(DOC, SECRET), &copy);
    net.docs[1].insert(DOC, copy);
    net.type_text(0, 0, "typed on the original");
    net.type_text(1, 0, "typed on the copy!!!!");
    net.connect(1, 0);
    net.run();
    net.advance(3000);
    let reported = (0..2).any(|i| {
        net.events(i).any(|e| {
            matches!(e, Event::Diverged { .. })
                || matches!(
                    e,
                    Event::PeerLeft {
                        why: Departure::Error(ProtoError::InvalidOp(
                            crdt_text::ApplyError::Conflict(_)
                        )),
                        ..
                    }
                )
        })
    });
    assert!(reported, "{:?}", net.events(0).collect::<Vec<_>>());
    assert_ne!(net.text(0), net.text(1));
    for i in 0..2 {
        assert!(
            !net.peers[i].status(&DOC).in_sync,
            "peer {i} claims to be in sync"
        );
    }
}

#[test]
fn an_op_reusing_known_ids_for_other_text_closes_the_connection() {
    let mut raw = Raw::live();
    let mut theirs = Doc::new(ReplicaId::from(50));
    let op = theirs.insert(0, "abc");
    raw.receive(Raw::doc_msg(DocMessage::Ops(vec![op.clone()])));
    assert_eq!(raw.text(), "abc");
    let forged = Op {
        meta: None,
        id: op.id,
        kind: OpKind::Insert {
            origin_left: None,
            origin_right: None,
            text: "xyz".into(),
        },
    };
    let out = raw.receive(Raw::doc_msg(DocMessage::Ops(vec![forged])));
    assert!(
        matches!(
            closed_with(&out),
            Some(ProtoError::InvalidOp(crdt_text::ApplyError::Conflict(_)))
        ),
        "{out:?}"
    );
    assert_eq!(raw.text(), "abc");
}

#[test]
fn a_held_op_that_turns_out_invalid_closes_the_connection_that_sent_it() {
    let mut raw = Raw::live();
    let mut theirs = Doc::new(ReplicaId::from(50));
    let typed = theirs.insert(0, "ab");
    let deleted = theirs.delete(0, 1);
    // Names the deletion (counter 2) as its left origin: held until that id arrives, then
    // invalid — no replica inserts next to a deletion.
    let forged = Op {
        meta: None,
        id: OpId::new(ReplicaId::from(60), 0),
        kind: OpKind::Insert {
            origin_left: Some(OpId::new(ReplicaId::from(50), 2)),
            origin_right: None,
            text: "x".into(),
        },
    };
    let out = raw.receive(Raw::doc_msg(DocMessage::Ops(vec![forged])));
    assert!(closed_with(&out).is_none(), "held, not refused: {out:?}");
    let out = raw.receive(Raw::doc_msg(DocMessage::Ops(vec![typed, deleted])));
    assert!(
        matches!(
            closed_with(&out),
            Some(ProtoError::InvalidOp(
                crdt_text::ApplyError::BadOrigin { .. }
            ))
        ),
        "{out:?}"
    );
    assert_eq!(raw.text(), "b", "the valid ops still applied");
}
