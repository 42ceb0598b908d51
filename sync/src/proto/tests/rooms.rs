//! Big rooms on the tiny network: presence is rate-limited so it never crowds out edits.

use super::*;
use crdt_text::{Anchor, Bias};

/// Ten peers that all met through peer 0; more than the room threshold, so they gossip.
fn room() -> Net {
    let mut net = Net::new(10);
    net.auto_dial = true;
    for i in 1..10 {
        net.connect(i, 0);
    }
    net.run();
    net.advance(5_000);
    for i in 0..10 {
        assert!(net.peers[i].in_room(&DOC), "peer {i} is not in the room");
    }
    net
}

#[test]
fn a_cursor_moving_every_few_milliseconds_is_heard_a_few_times_a_second_and_edits_all_arrive() {
    let mut net = room();
    for i in 0..10 {
        net.input(i, presence(i, Anchor::START));
    }
    net.advance(2_000);
    let heard_before = net.log[7].len();
    // Peer 3 types a character and moves its cursor every 10 ms for one second.
    let mut typed = String::new();
    for k in 0..100u64 {
        net.type_text(3, typed.chars().count(), "x");
        typed.push('x');
        let cursor = net.docs[3][&DOC].anchor(typed.chars().count(), Bias::Left);
        net.input(3, presence(3, cursor));
        net.now = net.now.plus(10);
        if k % 5 == 4 {
            for i in 0..10 {
                net.queue.push_back((i, Input::Tick));
            }
            net.run();
        }
    }
    net.advance(2_000);
    let from_3 = net.log[7][heard_before..]
        .iter()
        .filter(|o| {
            matches!(o, Output::Event(Event::Presence { peer, presence: Some(_), .. })
                if *peer == key(3))
        })
        .count();
    // One second of movement, at most one broadcast per 250 ms, plus the heartbeat.
    assert!(
        (1..=7).contains(&from_3),
        "peer 7 heard peer 3's presence {from_3} times"
    );
    for i in 0..10 {
        assert_eq!(net.text(i), typed, "peer {i} lacks some of the typed text");
    }
}

#[test]
fn a_keystroke_reaches_every_member_of_a_room_formed_through_one_ticket_at_once() {
    for n in [12, 16, 24] {
        let mut net = Net::new(n);
        net.auto_dial = true;
        for i in 1..n {
            net.connect(i, 0);
        }
        net.run();
        // Formation, then long enough for spare channels to be left.
        net.advance(15_000);
        for k in 0..20 {
            let writer = 1 + k % (n - 1);
            let op = net.type_text(writer, 0, "k");
            net.advance(300);
            let lacking: Vec<usize> = (0..n)
                .filter(|&i| !net.docs[i][&DOC].version().contains(op.id))
                .collect();
            let conns: Vec<usize> = (0..n)
                .map(|i| {
                    net.conns
                        .iter()
                        .filter(|(_, a, b)| *a == i || *b == i)
                        .count()
                })
                .collect();
            if !lacking.is_empty() {
                for i in 0..n {
                    let nb: Vec<usize> = net.peers[i]
                        .room_neighbors(&DOC)
                        .iter()
                        .filter_map(|p| (0..n).find(|&j| key(j) == *p))
                        .collect();
                    eprintln!("peer {i}: neighbours {nb:?}");
                }
            }
            assert!(
                lacking.is_empty(),
                "room of {n}: keystroke {k} by peer {writer} has not reached peers {lacking:?} \
                 after 300 ms; connections {conns:?}"
            );
        }
        // The swarm's active view and the few channels it asks for, whatever the room's size:
        // connections the room no longer needs close at once instead of idling.
        let most = (0..n).map(|i| net.peers[i].connections()).max();
        assert!(
            most.is_some_and(|m| m <= 8),
            "room of {n}: a peer holds {most:?} connections"
        );
        for i in 0..n {
            let violations: Vec<&Output> = net.log[i]
                .iter()
                .filter(|o| {
                    matches!(o, Output::Close { error, .. } if matches!(error,
                        ProtoError::Violation(_) | ProtoError::Remote { .. }) && !error.is_benign())
                })
                .collect();
            assert!(
                violations.is_empty(),
                "room of {n}, peer {i}: {violations:?}"
            );
        }
    }
}

#[test]
fn nobody_is_shown_leaving_a_room_when_only_the_swarm_moved_on() {
    let n = 16;
    let mut net = Net::new(n);
    net.auto_dial = true;
    for i in 1..n {
        net.connect(i, 0);
    }
    net.run();
    // Formation, then long enough for the channels the swarm no longer uses to be left (every
    // peer joined through peer 0, which keeps only a few of them).
    net.advance(25_000);
    let left: Vec<(usize, PeerId)> = (0..n)
        .flat_map(|i| {
            net.log[i].iter().filter_map(move |o| match o {
                Output::Event(Event::PeerLeft { peer, .. }) => Some((i, *peer)),
                _ => None,
            })
        })
        .collect();
    assert!(
        left.is_empty(),
        "every peer is still in the room, yet these were reported leaving: {left:?}"
    );
    assert!(
        net.peers[0].connections() <= 8,
        "peer 0 left its spare channels"
    );
}
