//! Peers that restart, crash or never finish connecting.

use super::*;

/// Replaces peer `i` by a fresh run of it: same id, new session, its document reloaded.
fn restart(net: &mut Net, i: usize, seed: u8) {
    let mut cfg = config(i);
    cfg.seed = [seed; 32];
    let mut peer = Peer::new(cfg);
    let reloaded = Doc::decode(
        &net.docs[i][&DOC].encode(),
        ReplicaId::from(900 + u64::from(seed)),
    )
    .expect("decodes");
    peer.add_doc(doc_config(DOC, SECRET), &reloaded);
    net.peers[i] = peer;
    net.docs[i].insert(DOC, reloaded);
    // Its old connections died with it; the survivor is not told (QUIC notices much later).
    net.conns.retain(|&(_, a, b)| a != i && b != i);
}

#[test]
fn a_restarted_peer_replaces_its_stale_connection_at_once() {
    let mut net = Net::new(2);
    let old = net.connect(1, 0);
    net.run();
    net.type_text(1, 0, "before ");
    assert_eq!(net.text(0), "before ");
    restart(&mut net, 1, 77);
    let new = net.connect(1, 0);
    net.run();
    assert_eq!(
        net.close_error(0, old),
        Some(&ProtoError::Superseded),
        "the stale connection goes at once"
    );
    assert!(net.close_error(0, new).is_none() && net.close_error(1, new).is_none());
    let duplicates = net.log[0]
        .iter()
        .filter(|o| {
            matches!(
                o,
                Output::Close {
                    error: ProtoError::Duplicate,
                    ..
                }
            )
        })
        .count();
    assert_eq!(duplicates, 0, "no flapping between the two connections");
    assert!(net.events(0).any(|e| matches!(
        e,
        Event::PeerLeft {
            why: Departure::Restarted,
            ..
        }
    )));
    net.type_text(1, 0, "after ");
    assert_eq!(net.text(0), "after before ");
    assert_eq!(net.peers[0].status(&DOC).connected, 1);
}

#[test]
fn a_late_dial_to_a_peer_already_connected_goes_unused() {
    // Peer 0 dialed 1 while 1 was restarting: its first packet was lost and is resent a
    // second later, after 1 (up again) dialed 0 and both are in the document.
    let mut net = Net::new(2);
    let open = net.connect(1, 0);
    net.run();
    net.type_text(1, 0, "hello");
    net.input(1, presence(1, crdt_text::Anchor::START));
    let seen = net.log[0].len();
    let late = net.open(0, 1);
    net.run();
    net.advance(10_000);
    assert_eq!(net.close_error(0, late), Some(&ProtoError::Duplicate));
    assert!(
        net.close_error(0, open).is_none() && net.close_error(1, open).is_none(),
        "the connection in use stays"
    );
    let churn = net.log[0][seen..].iter().any(|o| {
        matches!(
            o,
            Output::Event(
                Event::PeerLeft { .. } | Event::PeerJoined { .. } | Event::Presence { .. }
            )
        )
    });
    assert!(!churn, "nobody saw peer 1 leave and come back");
    assert!(
        !net.events(1).any(|e| matches!(e, Event::Refused { .. })),
        "and peer 1 was not told of a refusal"
    );
    net.type_text(1, 5, " again");
    assert_eq!(net.text(0), "hello again");
    assert_eq!(net.peers[0].status(&DOC).connected, 1);
}

#[test]
fn connections_that_never_speak_are_bounded_per_address_and_overall() {
    let limits = Limits::default();
    let mut raw = Raw::connected();
    let stranger = |n: u64, ip: u8| Input::Connected {
        conn: ConnId(100 + n),
        remote: PeerId([50 + n as u8; 32]),
        addr: Some(format!("10.0.0.{ip}:4000").parse().expect("addr")),
        dialer: false,
    };
    // One address: the first few are let in (raw's own connection is one), then refused.
    let (mut refused, tried) = (0, limits.max_unverified_per_ip as u64 + 6);
    for n in 0..tried {
        let out = raw.at(stranger(n, 9), Millis(1));
        refused += usize::from(matches!(
            closed_with(&out),
            Some(ProtoError::TooManyConnections(_))
        ));
    }
    assert_eq!(refused, 6);
    // Many addresses: bounded overall.
    let mut admitted = limits.max_unverified_per_ip + 1;
    for n in tried..tried + 2 * limits.max_unverified as u64 {
        let out = raw.at(stranger(n, n as u8), Millis(1));
        if closed_with(&out).is_none() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, limits.max_unverified);
    // A peer that proves the secret still gets in on the connection it already has.
    raw.receive(hello(PROTOCOL_VERSION, 1));
    let out = raw.receive(raw.join(DOC, SECRET));
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Event(Event::PeerJoined { .. })))
    );
    // And the strangers are gone after the handshake timeout.
    let out = raw.at(
        Input::Tick,
        Millis(1 + Timers::default().handshake_timeout_ms),
    );
    let closed = out
        .iter()
        .filter(|o| {
            matches!(
                o,
                Output::Close {
                    error: ProtoError::HandshakeTimeout(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(closed, limits.max_unverified - 1);
}

#[test]
fn a_connection_to_ourselves_is_refused_and_said_so() {
    let mut raw = Raw::connected();
    let out = raw.at(
        Input::Connected {
            conn: ConnId(77),
            remote: key(0),
            addr: None,
            dialer: true,
        },
        Millis(1),
    );
    assert_eq!(closed_with(&out), Some(&ProtoError::SelfConnection));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Event(Event::Refused {
            error: ProtoError::SelfConnection,
            ..
        })
    )));
}

#[test]
fn a_peer_that_quits_right_after_receiving_acknowledges_what_it_keeps() {
    let mut net = Net::new(2);
    net.connect(1, 0);
    net.run();
    net.advance(1_000);
    // Peer 0 types twice; peer 1 acknowledged the first at once, so it holds back the
    // acknowledgement of the second (rate limit) and quits before the delay is up.
    net.type_text(0, 0, "first ");
    let op = net.type_text(0, 6, "typed just before the other quit");
    assert!(net.docs[1][&DOC].version().contains(op.id));
    net.input(1, Input::Shutdown);
    let acked = net.peers[0].acked(&DOC).expect("the document");
    assert!(
        acked.contains(op.id),
        "peer 0 counts as unsent what peer 1 keeps: {acked:?}"
    );
}
