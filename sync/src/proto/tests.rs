//! Unit tests of the protocol on a tiny synchronous network: handshake, catch-up, live
//! forwarding, acknowledgements and every limit.

use std::collections::VecDeque;

use crdt_text::{Doc, Op, OpId, OpKind, ReplicaId};

use super::*;

mod hostile;

const SECRET: [u8; 32] = [7; 32];
const DOC: [u8; 32] = [3; 32];

fn key(i: usize) -> EndpointKey {
    [i as u8 + 1; 32]
}

fn addr(i: usize) -> PeerAddr {
    PeerAddr {
        key: key(i),
        addrs: vec![format!("127.0.0.1:{}", 7000 + i).parse().expect("addr")],
    }
}

fn config(i: usize, secret: [u8; 32]) -> Config {
    Config {
        doc_id: DOC,
        secret,
        local: addr(i),
        seed: [i as u8; 32],
        limits: Limits::default(),
        timers: Timers::default(),
    }
}

/// Peers joined by in-order, lossless connections; every message goes through the codec.
struct Net {
    peers: Vec<Peer>,
    /// Editor replicas, fed with `Event::Remote`.
    editors: Vec<Doc>,
    queue: VecDeque<(usize, Input)>,
    /// (conn, a, b): both ends.
    conns: Vec<(ConnId, usize, usize)>,
    now: Millis,
    /// Every output, by peer.
    log: Vec<Vec<Output>>,
    /// Fed `Durable` automatically after `Persist`.
    auto_durable: bool,
    next_conn: u64,
}

impl Net {
    fn new(n: usize) -> Net {
        Net::with(n, |i| config(i, SECRET))
    }

    fn with(n: usize, cfg: impl Fn(usize) -> Config) -> Net {
        let peers: Vec<Peer> = (0..n)
            .map(|i| Peer::new(cfg(i), Doc::new(ReplicaId::from(100 + i as u64))))
            .collect();
        let editors = (0..n)
            .map(|i| Doc::new(ReplicaId::from(100 + i as u64)))
            .collect();
        Net {
            peers,
            editors,
            queue: VecDeque::new(),
            conns: Vec::new(),
            now: Millis(0),
            log: vec![Vec::new(); n],
            auto_durable: true,
            next_conn: 0,
        }
    }

    fn connect(&mut self, a: usize, b: usize) -> ConnId {
        self.next_conn += 1;
        let id = ConnId(self.next_conn);
        self.conns.push((id, a, b));
        self.queue.push_back((
            a,
            Input::Connected {
                conn: id,
                remote: key(b),
                dialer: true,
            },
        ));
        self.queue.push_back((
            b,
            Input::Connected {
                conn: id,
                remote: key(a),
                dialer: false,
            },
        ));
        id
    }

    fn other(&self, conn: ConnId, me: usize) -> Option<usize> {
        let &(_, a, b) = self.conns.iter().find(|(c, ..)| *c == conn)?;
        Some(if a == me { b } else { a })
    }

    fn input(&mut self, i: usize, input: Input) {
        self.queue.push_back((i, input));
        self.run();
    }

    fn type_text(&mut self, i: usize, pos: usize, text: &str) -> Op {
        let op = self.editors[i].insert(pos, text);
        self.input(i, Input::Local(op.clone()));
        op
    }

    fn run(&mut self) {
        while let Some((i, input)) = self.queue.pop_front() {
            let outputs = self.peers[i].handle(input, self.now);
            for out in outputs {
                self.log[i].push(out.clone());
                match out {
                    Output::Send { conn, msg } => {
                        let bytes = encode(&msg).expect("encodable");
                        assert!(bytes.len() <= MAX_FRAME_BYTES);
                        if let Some(to) = self.other(conn, i) {
                            let msg = decode(&bytes).expect("decodable");
                            self.queue.push_back((to, Input::Received { conn, msg }));
                        }
                    }
                    Output::Close { conn, .. } => {
                        if let Some(to) = self.other(conn, i) {
                            self.queue.push_back((to, Input::Disconnected { conn }));
                        }
                        self.conns.retain(|(c, ..)| *c != conn);
                    }
                    Output::Persist(_) if self.auto_durable => {
                        self.queue
                            .push_back((i, Input::Durable(self.peers[i].doc().version())));
                    }
                    Output::Event(Event::Remote(ops)) => {
                        for op in ops {
                            self.editors[i]
                                .apply(&op)
                                .expect("editor applies remote ops");
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Lets `ms` pass, ticking every peer every 50 ms.
    fn advance(&mut self, ms: u64) {
        for _ in 0..ms.div_ceil(50) {
            self.now = self.now.plus(50);
            for i in 0..self.peers.len() {
                self.queue.push_back((i, Input::Tick));
            }
            self.run();
        }
    }

    /// Messages peer `i` sent on `conn`.
    fn sent(&self, i: usize, conn: ConnId) -> Vec<&Message> {
        self.log[i]
            .iter()
            .filter_map(|o| match o {
                Output::Send { conn: c, msg } if *c == conn => Some(msg),
                _ => None,
            })
            .collect()
    }

    fn close_error(&self, i: usize, conn: ConnId) -> Option<&ProtoError> {
        self.log[i].iter().find_map(|o| match o {
            Output::Close { conn: c, error } if *c == conn => Some(error),
            _ => None,
        })
    }

    fn events(&self, i: usize) -> impl Iterator<Item = &Event> {
        self.log[i].iter().filter_map(|o| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
    }

    fn text(&self, i: usize) -> String {
        self.peers[i].doc().text()
    }
}

/// Hand-feeds messages to peer 0 on a connection whose other end (`key(5)`) is us.
fn raw_peer() -> (Peer, ConnId, Millis) {
    let (p, conn, _) = raw_peer_with_nonce();
    (p, conn, Millis(0))
}

/// [`raw_peer`] and the nonce of peer 0's `Hello`.
fn raw_peer_with_nonce() -> (Peer, ConnId, [u8; 32]) {
    let mut p = Peer::new(config(0, SECRET), Doc::new(ReplicaId::from(1)));
    let conn = ConnId(9);
    let out = p.handle(
        Input::Connected {
            conn,
            remote: key(5),
            dialer: false,
        },
        Millis(0),
    );
    let nonce = out
        .iter()
        .find_map(|o| match o {
            Output::Send {
                msg: Message::Hello(h),
                ..
            } => Some(h.nonce),
            _ => None,
        })
        .expect("Hello sent on connect");
    (p, conn, nonce)
}

/// Completes the handshake with a raw peer 0 as its dialer (endpoint `key(5)`).
fn live_raw_peer() -> (Peer, ConnId) {
    let (mut p, conn, their_nonce) = raw_peer_with_nonce();
    let now = Millis(0);
    p.handle(
        Input::Received {
            conn,
            msg: hello(PROTOCOL_VERSION, [5; 32]),
        },
        now,
    );
    let mac = auth::ProofInput {
        secret: &SECRET,
        doc: &DOC,
        role: auth::Role::Dialer,
        own_key: &key(5),
        other_key: &key(0),
        own_nonce: &[5; 32],
        other_nonce: &their_nonce,
    }
    .mac();
    let out = p.handle(
        Input::Received {
            conn,
            msg: Message::Proof(Proof { mac }),
        },
        now,
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Event(Event::PeerJoined { .. }))),
        "{out:?}"
    );
    (p, conn)
}

fn hello(version: u32, nonce: [u8; 32]) -> Message {
    Message::Hello(Hello {
        version,
        doc: DOC,
        key: key(5),
        nonce,
    })
}

fn closed_with(out: &[Output]) -> Option<&ProtoError> {
    out.iter().find_map(|o| match o {
        Output::Close { error, .. } => Some(error),
        _ => None,
    })
}

#[test]
fn two_peers_handshake_and_a_fresh_peer_catches_up_with_one_update() {
    let mut net = Net::new(2);
    net.type_text(0, 0, "hello world");
    net.type_text(0, 5, ",");
    let conn = net.connect(1, 0);
    net.run();
    assert_eq!(net.text(1), "hello, world");
    assert_eq!(net.editors[1].text(), "hello, world");
    let updates = net
        .sent(0, conn)
        .iter()
        .filter(|m| matches!(m, Message::Update(_)))
        .count();
    assert_eq!(updates, 1, "catch-up is one compact update");
    assert!(
        net.sent(0, conn)
            .iter()
            .all(|m| !matches!(m, Message::Ops(_)))
    );
    assert!(
        net.events(1)
            .any(|e| matches!(e, Event::PeerJoined { peer } if *peer == key(0)))
    );
}

#[test]
fn catch_up_sends_only_what_the_other_side_lacks() {
    let mut net = Net::new(2);
    let conn = net.connect(0, 1);
    net.run();
    let long: String = "lorem ipsum dolor sit amet ".repeat(400);
    net.type_text(0, 0, &long);
    net.input(1, Input::Disconnected { conn });
    net.input(0, Input::Disconnected { conn });
    net.type_text(0, 3, "X");
    let conn2 = net.connect(0, 1);
    net.run();
    assert_eq!(net.text(1), net.text(0));
    let update_bytes: usize = net
        .sent(0, conn2)
        .iter()
        .filter_map(|m| match m {
            Message::Update(u) => Some(u.bytes.len()),
            _ => None,
        })
        .sum();
    assert!(
        update_bytes > 0 && update_bytes < 200,
        "one missing op costs {update_bytes} bytes"
    );
}

#[test]
fn a_large_history_is_sent_in_bounded_chunks() {
    let mut net = Net::with(2, |i| {
        let mut c = config(i, SECRET);
        c.limits.update_chunk_bytes = 1024;
        c
    });
    let mut x = 99_u64;
    for _ in 0..300 {
        // Random letters: the update compresses little and must be cut.
        let text: String = (0..20)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                char::from(b'a' + (x >> 59) as u8)
            })
            .collect();
        let pos = net.editors[0].len();
        net.type_text(0, pos, &text);
    }
    let conn = net.connect(1, 0);
    net.run();
    assert_eq!(net.text(1), net.text(0));
    let chunks: Vec<usize> = net
        .sent(0, conn)
        .iter()
        .filter_map(|m| match m {
            Message::Update(u) => Some(u.bytes.len()),
            _ => None,
        })
        .collect();
    assert!(chunks.len() > 1, "{chunks:?}");
    assert!(chunks.iter().all(|&n| n <= 1024));
}

#[test]
fn catching_up_a_long_history_costs_about_one_encoded_document() {
    let mut net = Net::new(2);
    let mut x = 7_u64;
    let mut next = move |n: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % n.max(1)
    };
    for _ in 0..4000 {
        let len = net.editors[0].len() as u64;
        if len > 10 && next(4) == 0 {
            let pos = next(len - 3) as usize;
            let op = net.editors[0].delete(pos, 1 + next(3) as usize);
            net.input(0, Input::Local(op));
        } else {
            let word = ["the ", "quick ", "brown ", "fox\n", "jumps "][next(5) as usize];
            net.type_text(0, next(len + 1) as usize, word);
        }
    }
    let conn = net.connect(1, 0);
    net.run();
    assert_eq!(net.text(1), net.text(0));
    let sent: usize = net
        .sent(0, conn)
        .iter()
        .map(|m| encode(m).expect("encodable").len())
        .sum();
    let document = net.peers[0].doc().encode().len();
    // Handshake, peer list and acknowledgement add a fixed few hundred bytes.
    assert!(
        sent * 10 <= document * 12 + 4000,
        "sent {sent} bytes for a {document}-byte document"
    );
}

#[test]
fn local_ops_reach_every_connected_peer_in_one_coalesced_message() {
    let mut net = Net::new(3);
    let c01 = net.connect(0, 1);
    let c02 = net.connect(0, 2);
    net.run();
    let a = net.editors[0].insert(0, "a");
    let b = net.editors[0].insert(1, "b");
    let outputs = net.peers[0].handle_all([Input::Local(a), Input::Local(b)], net.now);
    for conn in [c01, c02] {
        let ops: Vec<&Message> = outputs
            .iter()
            .filter_map(|o| match o {
                Output::Send {
                    conn: c,
                    msg: m @ Message::Ops(_),
                } if *c == conn => Some(m),
                _ => None,
            })
            .collect();
        assert_eq!(ops.len(), 1, "one Ops message per connection");
    }
}

#[test]
fn ops_are_forwarded_to_peers_that_cannot_connect_directly() {
    // 0 — 1 — 2: peers 0 and 2 never connect to each other.
    let mut net = Net::new(3);
    net.connect(0, 1);
    net.connect(1, 2);
    net.run();
    net.type_text(0, 0, "from zero ");
    net.type_text(2, 0, "from two ");
    assert_ne!(net.text(0), net.text(2));
    // Peer 1 acknowledges what it stored to both; each end asks it for what it lacks.
    net.advance(1500);
    assert_eq!(net.text(0), net.text(2));
    assert_eq!(net.text(0), net.text(1));
    assert!(net.text(0).contains("from zero") && net.text(0).contains("from two"));
}

#[test]
fn remote_ops_are_acknowledged_only_once_durable() {
    let mut net = Net::new(2);
    net.auto_durable = false;
    let conn = net.connect(0, 1);
    net.run();
    let op = net.type_text(0, 0, "abc");
    let acks_before = net
        .sent(1, conn)
        .iter()
        .filter(|m| matches!(m, Message::Ack(v) if v.contains(op.id)))
        .count();
    assert_eq!(acks_before, 0);
    assert_eq!(net.peers[0].status().unacknowledged, 3);
    let durable = net.peers[1].doc().version();
    net.now = net.now.plus(Timers::default().ack_delay_ms);
    net.input(1, Input::Durable(durable));
    assert!(
        net.sent(1, conn)
            .iter()
            .any(|m| matches!(m, Message::Ack(v) if v.contains(op.id)))
    );
    assert_eq!(net.peers[0].status().unacknowledged, 0);
    assert_eq!(
        net.peers[0].status().unsaved,
        3,
        "peer 0 itself has not synced yet"
    );
}

#[test]
fn duplicate_connections_between_two_peers_collapse_to_one() {
    let mut net = Net::new(2);
    let a = net.connect(0, 1);
    let b = net.connect(1, 0);
    net.run();
    let closed: Vec<bool> = [a, b]
        .iter()
        .map(|c| net.close_error(0, *c).is_some() || net.close_error(1, *c).is_some())
        .collect();
    assert_eq!(
        closed.iter().filter(|c| **c).count(),
        1,
        "exactly one connection is dropped"
    );
    assert_eq!(net.peers[0].status().connected, 1);
    net.type_text(1, 0, "hi");
    assert_eq!(net.text(0), "hi");
}

#[test]
fn presence_is_shown_while_connected_and_gone_when_the_peer_leaves() {
    let mut net = Net::new(2);
    let conn = net.connect(0, 1);
    net.run();
    let p = PresenceState {
        name: "ada".into(),
        color: 0xff0000,
        cursor: crdt_text::Anchor::START,
        selection: None,
    };
    net.input(1, Input::SetPresence(Some(p.clone())));
    assert!(net.events(0).any(|e| *e
        == Event::Presence {
            peer: key(1),
            presence: Some(p.clone())
        }));
    let shown = net.peers[0]
        .peers()
        .into_iter()
        .find(|i| i.addr.key == key(1))
        .and_then(|i| i.presence);
    assert_eq!(shown, Some(p.clone()), "the peers panel shows it");
    net.input(0, Input::Disconnected { conn });
    assert!(net.events(0).any(|e| *e
        == Event::Presence {
            peer: key(1),
            presence: None
        }));
    assert!(
        net.events(0)
            .any(|e| matches!(e, Event::PeerLeft { peer, .. } if *peer == key(1)))
    );
}

#[test]
fn peers_learn_each_other_through_gossip_and_remember_verified_ones() {
    let mut net = Net::new(3);
    net.input(1, Input::AddPeer(addr(0)));
    net.input(2, Input::AddPeer(addr(0)));
    let dials = |net: &Net, i: usize| -> Vec<EndpointKey> {
        net.log[i]
            .iter()
            .filter_map(|o| {
                if let Output::Dial(a) = o {
                    Some(a.key)
                } else {
                    None
                }
            })
            .collect()
    };
    assert_eq!(dials(&net, 1), vec![key(0)]);
    net.connect(1, 0);
    net.connect(2, 0);
    net.run();
    assert!(
        dials(&net, 1).contains(&key(2)) || dials(&net, 2).contains(&key(1)),
        "1 and 2 learn of each other via 0"
    );
    assert!(
        net.log[1]
            .iter()
            .any(|o| matches!(o, Output::RememberPeer(a) if a.key == key(0)))
    );
}

#[test]
fn failed_dials_are_retried_with_growing_backoff() {
    let mut p = Peer::new(config(0, SECRET), Doc::new(ReplicaId::from(1)));
    let mut dial_times = Vec::new();
    let mut now = Millis(0);
    let mut out = p.handle(Input::AddPeer(addr(1)), now);
    while dial_times.len() < 6 {
        if out.iter().any(|o| matches!(o, Output::Dial(_))) {
            dial_times.push(now.0);
            out = p.handle(
                Input::DialFailed {
                    remote: key(1),
                    error: "refused".into(),
                },
                now,
            );
            continue;
        }
        now = p.poll_timeout().expect("a redial is scheduled");
        out = p.handle(Input::Tick, now);
    }
    let gaps: Vec<u64> = dial_times.windows(2).map(|w| w[1] - w[0]).collect();
    // Jitter is ±50 %: the 5th gap (8 s nominal) exceeds the 1st (0.5 s) whatever the draw.
    assert!(gaps[4] > gaps[0] * 3, "backoff grows: {gaps:?}");
}

#[test]
fn long_pastes_are_split_into_frames_that_fit() {
    let mut net = Net::new(2);
    net.connect(0, 1);
    net.run();
    let big = "0123456789abcdef".repeat(200_000);
    net.type_text(0, 0, &big);
    assert_eq!(net.text(1).len(), big.len());
}

#[test]
fn config_debug_does_not_print_the_secret() {
    let text = format!("{:?}", config(0, [0xab; 32]));
    assert!(!text.contains("171"), "{text}");
}
