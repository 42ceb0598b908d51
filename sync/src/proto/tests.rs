//! Unit tests of the protocol on a tiny synchronous network: handshake, documents on a
//! connection, catch-up, live forwarding, acknowledgements, restarts, digests and every limit.

use std::collections::{BTreeMap, VecDeque};

use crdt_text::{Doc, Op, OpId, OpKind, ReplicaId};

use super::*;
use crate::ids::{DocId, DocSecret, PeerId};

mod docs;
mod hostile;
mod restarts;
mod rooms;

const SECRET: [u8; 32] = [7; 32];
const DOC: DocId = DocId([3; 32]);
const OTHER_DOC: DocId = DocId([4; 32]);

fn key(i: usize) -> PeerId {
    PeerId([i as u8 + 1; 32])
}

fn addr(i: usize) -> PeerAddr {
    PeerAddr {
        id: key(i),
        addrs: vec![
            format!("127.0.0.{}:{}", i + 1, 7000 + i)
                .parse()
                .expect("addr"),
        ],
    }
}

fn config(i: usize) -> Config {
    Config {
        local: addr(i),
        name: format!("peer-{i}"),
        seed: [i as u8; 32],
        limits: Limits::default(),
        timers: Timers::default(),
    }
}

fn doc_config(id: DocId, secret: [u8; 32]) -> DocConfig {
    DocConfig {
        id,
        secret: DocSecret(secret),
        acked: crdt_text::VersionVector::new(),
        on_demand: false,
    }
}

/// Peers joined by in-order, lossless connections; every message goes through the codec.
/// Each peer owns its replicas and lends them to its protocol, as the real loop does.
struct Net {
    peers: Vec<Peer>,
    docs: Vec<BTreeMap<DocId, Doc>>,
    queue: VecDeque<(usize, Input)>,
    /// (conn, a, b): both ends.
    conns: Vec<(ConnId, usize, usize)>,
    now: Millis,
    /// Every output, by peer.
    log: Vec<Vec<Output>>,
    /// Fed `Durable` automatically after `Persist`.
    auto_durable: bool,
    /// `Dial` outputs open a connection to the peer dialed.
    auto_dial: bool,
    next_conn: u64,
}

impl Net {
    /// `n` peers that all have document [`DOC`] with the same secret.
    fn new(n: usize) -> Net {
        Net::with(n, |_| vec![(DOC, SECRET)])
    }

    /// `n` peers with the documents (and secrets) `docs(i)` gives.
    fn with(n: usize, docs: impl Fn(usize) -> Vec<(DocId, [u8; 32])>) -> Net {
        let mut peers = Vec::new();
        let mut replicas = Vec::new();
        for i in 0..n {
            let mut peer = Peer::new(config(i));
            let mut mine = BTreeMap::new();
            for (id, secret) in docs(i) {
                let doc = Doc::new(ReplicaId::from(100 + i as u64));
                peer.add_doc(doc_config(id, secret), &doc);
                mine.insert(id, doc);
            }
            peers.push(peer);
            replicas.push(mine);
        }
        Net {
            peers,
            docs: replicas,
            queue: VecDeque::new(),
            conns: Vec::new(),
            now: Millis(0),
            log: vec![Vec::new(); n],
            auto_durable: true,
            auto_dial: false,
            next_conn: 0,
        }
    }

    /// Peer `a` learns of `b` for every document it has, and connects to it.
    fn connect(&mut self, a: usize, b: usize) -> ConnId {
        for doc in self.docs[a].keys().copied().collect::<Vec<_>>() {
            self.queue.push_back((
                a,
                Input::AddPeer {
                    doc,
                    addr: addr(b),
                    name: None,
                },
            ));
        }
        self.open(a, b)
    }

    /// A connection from `a` to `b`, without `a` knowing `b` first.
    fn open(&mut self, a: usize, b: usize) -> ConnId {
        self.next_conn += 1;
        let id = ConnId(self.next_conn);
        self.conns.push((id, a, b));
        for (me, other, dialer) in [(a, b, true), (b, a, false)] {
            self.queue.push_back((
                me,
                Input::Connected {
                    conn: id,
                    remote: key(other),
                    addr: addr(other).addrs.first().copied(),
                    dialer,
                },
            ));
        }
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
        self.type_in(i, DOC, pos, text)
    }

    fn type_in(&mut self, i: usize, doc: DocId, pos: usize, text: &str) -> Op {
        let replica = self.docs[i].get_mut(&doc).expect("peer has the document");
        let op = replica.insert(pos, text);
        let ops = vec![op.clone()];
        self.input(i, Input::Local { doc, ops });
        op
    }

    fn run(&mut self) {
        while let Some((i, input)) = self.queue.pop_front() {
            let outputs = self.peers[i].handle(&mut self.docs[i], input, self.now);
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
                    Output::Dial(to) if self.auto_dial => {
                        if let Some(j) = (0..self.peers.len()).find(|&j| key(j) == to.id) {
                            self.open(i, j);
                        }
                    }
                    Output::Persist { doc, .. } if self.auto_durable => {
                        let version = self.docs[i][&doc].version();
                        self.queue.push_back((i, Input::Durable { doc, version }));
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

    /// Document messages peer `i` sent on `conn`.
    fn sent_doc(&self, i: usize, conn: ConnId) -> Vec<&DocMessage> {
        self.sent(i, conn)
            .into_iter()
            .filter_map(|m| match m {
                Message::Doc { msg, .. } => Some(msg),
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
        self.docs[i][&DOC].text()
    }
}

/// Peer `i` shows its cursor at `cursor` in [`DOC`], as `peer-{i}`.
fn presence(i: usize, cursor: crdt_text::Anchor) -> Input {
    Input::SetPresence {
        doc: DOC,
        presence: Some(PresenceState {
            name: format!("peer-{i}"),
            color: 0x40_80_c0,
            cursor,
            selection: None,
            view: None,
        }),
    }
}

/// A peer 0 with document [`DOC`], fed messages by hand from a remote (`key(5)`) that dialed
/// it. The remote's nonce is `[5; 32]`.
struct Raw {
    peer: Peer,
    docs: BTreeMap<DocId, Doc>,
    conn: ConnId,
    /// Peer 0's nonce, from its `Hello`.
    nonce: [u8; 32],
}

impl Raw {
    fn connected() -> Raw {
        let mut peer = Peer::new(config(0));
        let doc = Doc::new(ReplicaId::from(1));
        peer.add_doc(doc_config(DOC, SECRET), &doc);
        let mut docs = BTreeMap::from([(DOC, doc)]);
        let conn = ConnId(9);
        let input = Input::Connected {
            conn,
            remote: key(5),
            addr: addr(5).addrs.first().copied(),
            dialer: false,
        };
        let out = peer.handle(&mut docs, input, Millis(0));
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
        Raw {
            peer,
            docs,
            conn,
            nonce,
        }
    }

    /// Connected, Hellos exchanged, and [`DOC`] joined with a valid proof.
    fn live() -> Raw {
        let mut raw = Raw::connected();
        raw.receive(hello(PROTOCOL_VERSION, 1));
        let out = raw.receive(raw.join(DOC, SECRET));
        assert!(
            out.iter()
                .any(|o| matches!(o, Output::Event(Event::PeerJoined { .. }))),
            "{out:?}"
        );
        raw
    }

    fn receive(&mut self, msg: Message) -> Vec<Output> {
        let input = Input::Received {
            conn: self.conn,
            msg,
        };
        self.peer.handle(&mut self.docs, input, Millis(1))
    }

    fn at(&mut self, input: Input, now: Millis) -> Vec<Output> {
        self.peer.handle(&mut self.docs, input, now)
    }

    /// The remote's `Join` of `doc` (its number 0), proved with `secret`.
    fn join(&self, doc: DocId, secret: [u8; 32]) -> Message {
        let proof = auth::ProofInput {
            secret: &secret,
            doc: &doc,
            role: auth::Role::Dialer,
            own_key: &key(5),
            other_key: &key(0),
            own_nonce: &[5; 32],
            other_nonce: &self.nonce,
        }
        .mac();
        Message::Join(Join {
            doc,
            chan: 0,
            proof,
        })
    }

    /// A document message from the remote for [`DOC`].
    fn doc_msg(msg: DocMessage) -> Message {
        Message::Doc { chan: 0, msg }
    }

    fn text(&self) -> String {
        self.docs[&DOC].text()
    }
}

fn hello(version: u32, session: u64) -> Message {
    Message::Hello(Hello {
        version,
        key: key(5),
        nonce: [5; 32],
        session,
        name: "remote".into(),
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
    let updates = net
        .sent_doc(0, conn)
        .iter()
        .filter(|m| matches!(m, DocMessage::Update(_)))
        .count();
    assert_eq!(updates, 1, "catch-up is one compact update");
    assert!(
        net.sent_doc(0, conn)
            .iter()
            .all(|m| !matches!(m, DocMessage::Ops(_)))
    );
    assert!(
        net.events(1).any(
            |e| matches!(e, Event::PeerJoined { peer, doc, name } if *peer == key(0) && *doc == DOC && name.as_deref() == Some("peer-0"))
        )
    );
    assert!(net.events(1).any(|e| matches!(
        e,
        Event::Remote { from, ops: 2, .. } if *from == key(0)
    )));
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
        .sent_doc(0, conn2)
        .iter()
        .filter_map(|m| match m {
            DocMessage::Update(u) => Some(u.bytes.len()),
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
    let mut net = Net::new(2);
    for p in &mut net.peers {
        p.cfg.limits.update_chunk_bytes = 1024;
    }
    let mut x = 99_u64;
    for _ in 0..300 {
        // Random letters: the update compresses little and must be cut.
        let text: String = (0..20)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                char::from(b'a' + (x >> 59) as u8)
            })
            .collect();
        let pos = net.docs[0][&DOC].len();
        net.type_text(0, pos, &text);
    }
    let conn = net.connect(1, 0);
    net.run();
    assert_eq!(net.text(1), net.text(0));
    let chunks: Vec<usize> = net
        .sent_doc(0, conn)
        .iter()
        .filter_map(|m| match m {
            DocMessage::Update(u) => Some(u.bytes.len()),
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
        let len = net.docs[0][&DOC].len() as u64;
        if len > 10 && next(4) == 0 {
            let pos = next(len - 3) as usize;
            let doc = net.docs[0].get_mut(&DOC).expect("doc");
            let op = doc.delete(pos, 1 + next(3) as usize);
            net.input(
                0,
                Input::Local {
                    doc: DOC,
                    ops: vec![op],
                },
            );
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
    let document = net.docs[0][&DOC].encode().len();
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
    let doc = net.docs[0].get_mut(&DOC).expect("doc");
    let a = doc.insert(0, "a");
    let b = doc.insert(1, "b");
    let inputs = [
        Input::Local {
            doc: DOC,
            ops: vec![a],
        },
        Input::Local {
            doc: DOC,
            ops: vec![b],
        },
    ];
    let outputs = net.peers[0].handle_all(&mut net.docs[0], inputs, net.now);
    for conn in [c01, c02] {
        let ops = outputs
            .iter()
            .filter(|o| {
                matches!(o, Output::Send { conn: c, msg: Message::Doc { msg: DocMessage::Ops(_), .. } } if *c == conn)
            })
            .count();
        assert_eq!(ops, 1, "one Ops message per connection");
    }
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, Output::Event(Event::Remote { .. }))),
        "the user's own ops are not news to the user"
    );
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
fn remote_ops_are_acknowledged_only_once_durable_and_only_then_stop_counting_as_unsent() {
    let mut net = Net::new(2);
    net.auto_durable = false;
    let conn = net.connect(0, 1);
    net.run();
    let op = net.type_text(0, 0, "abc");
    let acks = |net: &Net| {
        net.sent_doc(1, conn)
            .iter()
            .filter(|m| matches!(m, DocMessage::Ack(v) if v.contains(op.id)))
            .count()
    };
    assert_eq!(acks(&net), 0);
    assert_eq!(net.peers[0].status(&DOC).unsent, Some(3));
    let version = net.docs[1][&DOC].version();
    net.now = net.now.plus(Timers::default().ack_delay_ms);
    net.input(1, Input::Durable { doc: DOC, version });
    assert_eq!(acks(&net), 1);
    assert_eq!(net.peers[0].status(&DOC).unsent, Some(0));
    assert_eq!(
        net.peers[0].status(&DOC).unsaved,
        3,
        "peer 0 itself has not synced yet"
    );
}

#[test]
fn a_document_never_shared_shows_no_unsent_count() {
    let mut net = Net::new(1);
    net.type_text(0, 0, &"x".repeat(5000));
    let status = net.peers[0].status(&DOC);
    assert_eq!(status.unsent, None, "{status:?}");
    assert_eq!(status.connected, 0);
    assert!(!status.in_sync);
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
    assert_eq!(net.peers[0].status(&DOC).connected, 1);
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
        view: None,
    };
    net.input(
        1,
        Input::SetPresence {
            doc: DOC,
            presence: Some(p.clone()),
        },
    );
    assert!(net.events(0).any(|e| *e
        == Event::Presence {
            doc: DOC,
            peer: key(1),
            presence: Some(p.clone())
        }));
    let shown = net.peers[0]
        .peers(&DOC)
        .into_iter()
        .find(|i| i.addr.id == key(1))
        .expect("listed");
    assert_eq!(shown.presence, Some(p.clone()), "the peers panel shows it");
    assert_eq!(shown.name.as_deref(), Some("ada"));
    net.input(0, Input::Disconnected { conn });
    assert!(net.events(0).any(|e| *e
        == Event::Presence {
            doc: DOC,
            peer: key(1),
            presence: None
        }));
    assert!(net.events(0).any(|e| matches!(
        e,
        Event::PeerLeft { peer, why: Departure::Lost, .. } if *peer == key(1)
    )));
    let listed = net.peers[0].peers(&DOC);
    assert!(
        listed.iter().all(|i| i.conn.is_none()),
        "a peer that left is not shown as connected: {listed:?}"
    );
}

#[test]
fn a_peer_that_quits_is_shown_as_left_not_as_an_error() {
    let mut net = Net::new(2);
    net.connect(0, 1);
    net.run();
    net.input(1, Input::Shutdown);
    assert!(
        net.events(0).any(|e| matches!(
            e,
            Event::PeerLeft { peer, why: Departure::Quit, .. } if *peer == key(1)
        )),
        "{:?}",
        net.events(0).collect::<Vec<_>>()
    );
    assert_eq!(net.peers[0].status(&DOC).connected, 0);
}

#[test]
fn peers_learn_each_other_through_gossip_and_remember_verified_ones() {
    let mut net = Net::new(3);
    for i in [1, 2] {
        net.input(
            i,
            Input::AddPeer {
                doc: DOC,
                addr: addr(0),
                name: None,
            },
        );
    }
    let dials = |net: &Net, i: usize| -> Vec<PeerId> {
        net.log[i]
            .iter()
            .filter_map(|o| match o {
                Output::Dial(a) => Some(a.id),
                _ => None,
            })
            .collect()
    };
    assert_eq!(dials(&net, 1), vec![key(0)]);
    net.open(1, 0);
    net.open(2, 0);
    net.run();
    assert!(
        dials(&net, 1).contains(&key(2)) || dials(&net, 2).contains(&key(1)),
        "1 and 2 learn of each other via 0"
    );
    assert!(net.log[1].iter().any(
        |o| matches!(o, Output::RememberPeer { addr, doc, .. } if addr.id == key(0) && *doc == DOC)
    ));
}

#[test]
fn failed_dials_are_retried_with_growing_backoff_and_reported_once() {
    let mut p = Peer::new(config(0));
    let mut docs = BTreeMap::from([(DOC, Doc::new(ReplicaId::from(1)))]);
    p.add_doc(doc_config(DOC, SECRET), &docs[&DOC]);
    let mut dial_times = Vec::new();
    let mut now = Millis(0);
    let add = Input::AddPeer {
        doc: DOC,
        addr: addr(1),
        name: None,
    };
    let mut out = p.handle(&mut docs, add, now);
    let mut told = 0;
    while dial_times.len() < 6 {
        told += out
            .iter()
            .filter(|o| matches!(o, Output::Event(Event::Unreachable { .. })))
            .count();
        if out.iter().any(|o| matches!(o, Output::Dial(_))) {
            dial_times.push(now.0);
            let failed = Input::DialFailed {
                remote: key(1),
                error: "refused".into(),
            };
            out = p.handle(&mut docs, failed, now);
            continue;
        }
        now = p.poll_timeout().expect("a redial is scheduled");
        out = p.handle(&mut docs, Input::Tick, now);
    }
    let gaps: Vec<u64> = dial_times.windows(2).map(|w| w[1] - w[0]).collect();
    // Jitter is ±50 %: the 5th gap (8 s nominal) exceeds the 1st (0.5 s) whatever the draw.
    assert!(gaps[4] > gaps[0] * 3, "backoff grows: {gaps:?}");
    assert_eq!(told, 1, "six failed dials are one message for the user");
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
fn doc_config_debug_does_not_print_the_secret() {
    let text = format!("{:?}", doc_config(DOC, [0xab; 32]));
    assert!(!text.contains("171") && !text.contains("ab, ab"), "{text}");
}
