//! Sessions on real iroh over loopback: several documents on one connection between two
//! endpoints, tickets pasted again, and strangers that open connections and say nothing.

#![allow(clippy::unwrap_used)]

mod net_support;

use std::collections::BTreeMap;
use std::time::Duration;

use crdt_text::Doc;
use duet_sync::net::NetConfig;
use duet_sync::{DocId, Opened, Session, SyncError};
use net_support::{PATIENCE, Peer, config, converged, test_dir, wait_until};

/// Bounds a whole test: a hung network test fails instead of blocking CI.
async fn bounded<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .expect("test took longer than 120 s");
}

/// A session with several documents, driven like the editor's loop.
struct Multi {
    session: Session,
    docs: BTreeMap<DocId, Doc>,
}

impl Multi {
    async fn pump(&mut self) {
        while let Ok(wake) =
            tokio::time::timeout(Duration::from_millis(5), self.session.next()).await
        {
            self.session.handle(&mut self.docs, wake);
        }
    }

    fn type_in(&mut self, id: DocId, text: &str) {
        let doc = self.docs.get_mut(&id).unwrap();
        let op = doc.insert(doc.len(), text);
        self.session.local(&mut self.docs, id, vec![op]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_documents_sync_between_two_endpoints_over_one_connection() {
    bounded(async {
        let dir = test_dir("two-docs");
        let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a_dir).unwrap();
        std::fs::create_dir_all(&b_dir).unwrap();
        let Opened {
            session,
            id: notes,
            doc,
            ..
        } = Session::open(config(&a_dir.join("notes.md"), None, true))
            .await
            .unwrap();
        let mut a = Multi {
            session,
            docs: BTreeMap::from([(notes, doc)]),
        };
        let (todo, doc, _) = a
            .session
            .add_document(a_dir.join("todo.md"), None, true)
            .await
            .unwrap();
        a.docs.insert(todo, doc);
        a.type_in(notes, "meeting notes\n");
        a.type_in(todo, "- buy milk\n");

        let notes_ticket = a.session.ticket(&notes).unwrap();
        let todo_ticket = a.session.ticket(&todo).unwrap();
        assert_eq!(notes_ticket.host, todo_ticket.host, "one endpoint for both");
        let Opened { session, doc, .. } =
            Session::open(config(&b_dir.join("notes.md"), Some(notes_ticket), true))
                .await
                .unwrap();
        let mut b = Multi {
            session,
            docs: BTreeMap::from([(notes, doc)]),
        };
        let (id, doc, _) = b
            .session
            .add_document(b_dir.join("todo.md"), Some(todo_ticket), true)
            .await
            .unwrap();
        assert_eq!(id, todo);
        b.docs.insert(todo, doc);

        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            a.pump().await;
            b.pump().await;
            let synced = [notes, todo]
                .iter()
                .all(|id| a.docs[id].text() == b.docs[id].text());
            let both_connected = [notes, todo]
                .iter()
                .all(|id| b.session.status(id).connected == 1);
            if synced && both_connected {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "no convergence");
        }
        b.type_in(todo, "- answer ana\n");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while a.docs[&todo].text() != "- buy milk\n- answer ana\n" {
            a.pump().await;
            b.pump().await;
            assert!(tokio::time::Instant::now() < deadline, "no live edit");
        }
        assert_eq!(a.docs[&notes].text(), "meeting notes\n");
        let conns: Vec<_> = [notes, todo]
            .iter()
            .map(|id| b.session.peers(id)[0].conn)
            .collect();
        assert!(conns[0].is_some());
        assert_eq!(conns[0], conns[1], "both documents share one connection");
        a.session.shutdown(&mut a.docs).await.unwrap();
        b.session.shutdown(&mut b.docs).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_pasted_again_reaches_a_host_that_moved_and_another_documents_is_refused() {
    bounded(async {
        let dir = test_dir("ticket-again");
        let mut a = Peer::start("ana", dir.path(), None).await;
        a.type_at(0, "first\n");
        let mut b = Peer::start("bo", dir.path(), Some(a.ticket())).await;
        wait_until(&mut [&mut a, &mut b], "the join", converged).await;
        let old_port = a.ticket().direct_addrs().next().unwrap().port();
        b.stop().await;
        a.stop().await;
        // The host comes back on another port (someone took its old one): the address the
        // guest remembers is stale.
        let squatter = {
            // The old endpoint's socket may take a moment to be released.
            let deadline = tokio::time::Instant::now() + PATIENCE;
            loop {
                match std::net::UdpSocket::bind(("127.0.0.1", old_port)) {
                    Ok(socket) => break socket,
                    Err(_) if tokio::time::Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => panic!("cannot take port {old_port}: {e}"),
                }
            }
        };
        let mut a = Peer::start("ana", dir.path(), None).await;
        assert_ne!(a.ticket().direct_addrs().next().unwrap().port(), old_port);
        a.type_at(usize::MAX, "second\n");
        let ticket = a.ticket();
        let mut b = Peer::start("bo", dir.path(), Some(ticket)).await;
        wait_until(&mut [&mut a, &mut b], "the guest to reach the host", |ps| {
            converged(ps) && ps[1].doc.text() == "first\nsecond\n"
        })
        .await;
        // A ticket of another document is refused for this file, with a clear reason.
        let other = Peer::start("cy", dir.path(), None).await;
        let err = Session::open(config(&b.file, Some(other.ticket()), false)).await;
        // b holds the store's lock; a stopped b would get the OtherDocument error.
        assert!(err.is_err());
        let file = b.stop().await;
        let err = Session::open(config(&file, Some(other.ticket()), false))
            .await
            .unwrap_err();
        assert!(matches!(err, SyncError::OtherDocument { .. }), "{err}");
        assert!(err.to_string().contains("another document"), "{err}");
        a.stop().await;
        other.stop().await;
        drop(squatter);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_speak_cannot_lock_out_a_real_peer() {
    bounded(async {
        let dir = test_dir("strangers");
        let mut a = Peer::start("ana", dir.path(), None).await;
        a.type_at(0, "still reachable\n");
        // A client on 127.0.0.1 opens many connections and never opens a stream.
        let ep = iroh::Endpoint::builder(iroh::endpoint::presets::Minimal)
            .relay_mode(iroh::RelayMode::Disabled)
            .clear_ip_transports()
            .bind_addr("127.0.0.1:0")
            .unwrap()
            .bind()
            .await
            .unwrap();
        let admitted = duet_sync::proto::Limits::default().max_unverified_per_ip;
        let mut silent = Vec::new();
        for _ in 0..admitted + 24 {
            match ep.connect(a.ticket().host, duet_sync::proto::ALPN).await {
                Ok(conn) => silent.push(conn),
                Err(e) => panic!("the QUIC handshake itself should succeed: {e}"),
            }
            a.pump(Duration::from_millis(1)).await;
        }
        a.pump(Duration::from_millis(50)).await;
        let closed = silent.iter().filter(|c| c.close_reason().is_some()).count();
        assert!(
            closed >= 20,
            "only {closed} of {} silent connections were refused",
            silent.len()
        );
        // A real peer from another loopback address still joins at once.
        let mut b = Peer::start_configured("bo", dir.path(), |file| {
            let mut c = config(file, Some(a.ticket()), true);
            c.net = Some(NetConfig {
                bind: vec!["127.0.0.2:0".parse().unwrap()],
                ..NetConfig::loopback()
            });
            c
        })
        .await;
        wait_until(&mut [&mut a, &mut b], "the real peer to sync", |ps| {
            converged(ps) && ps[1].doc.text() == "still reachable\n"
        })
        .await;
        ep.close().await;
        a.stop().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_counts_only_verified_peers_and_unsent_only_once_shared() {
    bounded(async {
        let dir = test_dir("status");
        let mut a = Peer::start("ana", dir.path(), None).await;
        a.type_at(0, &"x".repeat(10_000));
        a.pump(Duration::from_millis(100)).await;
        let alone = a.status();
        assert_eq!(alone.connected, 0);
        assert_eq!(alone.unsent, None, "never shared: no one to send to");
        let mut b = Peer::start("bo", dir.path(), Some(a.ticket())).await;
        wait_until(&mut [&mut a, &mut b], "sync", |ps| {
            converged(ps) && ps.iter().all(|p| p.status().in_sync)
        })
        .await;
        assert_eq!(a.status().unsent, Some(0));
        let file = b.stop().await;
        wait_until(&mut [&mut a], "B to leave", |ps| ps[0].connected() == 0).await;
        // B reopens alone and offline: it was shared, nothing is unsent, no one is here.
        let mut b = Peer::start_configured("bo", dir.path(), |_| config(&file, None, false)).await;
        b.pump(Duration::from_millis(50)).await;
        let status = b.status();
        assert_eq!(status.connected, 0, "{status:?}");
        assert_eq!(
            status.unsent,
            Some(0),
            "everything was stored by A: {status:?}"
        );
        assert!(
            b.session.peers(&b.id).iter().all(|p| p.conn.is_none()),
            "remembered peers are not shown as here"
        );
        a.stop().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_that_all_restart_find_each_other_again_without_a_ticket() {
    bounded(async {
        let dir = test_dir("restart-all");
        let mut a = Peer::start("ana", dir.path(), None).await;
        a.type_at(0, "before\n");
        let ticket = a.ticket();
        let mut b = Peer::start("bo", dir.path(), Some(ticket.clone())).await;
        let mut c = Peer::start("cy", dir.path(), Some(ticket)).await;
        wait_until(&mut [&mut a, &mut b, &mut c], "a full mesh", |ps| {
            converged(ps) && ps.iter().all(|p| p.connected() == 2)
        })
        .await;
        let ports: Vec<u16> = [&a, &b, &c]
            .iter()
            .map(|p| p.ticket().direct_addrs().next().unwrap().port())
            .collect();
        for p in [a, b, c] {
            p.stop().await;
        }
        // Everyone comes back with no ticket: each store binds its old port again and dials the
        // addresses it remembers.
        let started = tokio::time::Instant::now();
        let mut a = Peer::start("ana", dir.path(), None).await;
        let mut b = Peer::start("bo", dir.path(), None).await;
        let mut c = Peer::start("cy", dir.path(), None).await;
        let again: Vec<u16> = [&a, &b, &c]
            .iter()
            .map(|p| p.ticket().direct_addrs().next().unwrap().port())
            .collect();
        assert_eq!(again, ports, "each store rebinds its port");
        c.type_at(0, "after\n");
        wait_until(
            &mut [&mut a, &mut b, &mut c],
            "the new edit everywhere",
            |ps| converged(ps) && ps[0].doc.text() == "after\nbefore\n",
        )
        .await;
        let took = started.elapsed();
        eprintln!("restart-all: new edit on every peer {took:?} after the first restart");
        assert!(took < Duration::from_secs(5), "{took:?}");
        for p in [a, b, c] {
            p.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_forced_onto_one_id_are_reported_never_shown_in_sync() {
    use duet_sync::proto::Departure;
    bounded(async {
        let dir = test_dir("diverge");
        let mut a = Peer::start("ana", dir.path(), None).await;
        a.type_at(0, "common\n");
        let mut b = Peer::start("bo", dir.path(), Some(a.ticket())).await;
        wait_until(&mut [&mut a, &mut b], "the join", converged).await;
        let replica = a.doc.replica();
        let (a_file, b_file) = (a.stop().await, b.stop().await);
        // Both edit offline; B's replica is forced onto A's id, as a copied store would have
        // been before copies were detected.
        let mut a =
            Peer::start_configured("ana", dir.path(), |_| config(&a_file, None, false)).await;
        let mut b =
            Peer::start_configured("bo", dir.path(), |_| config(&b_file, None, false)).await;
        let replica = crdt_text::ReplicaId::from(replica.as_u64());
        b.doc = Doc::decode(&b.doc.encode(), replica).unwrap();
        a.type_at(usize::MAX, "typed by ana\n");
        b.type_at(usize::MAX, "typed by bo!\n");
        let (a_file, b_file) = (a.stop().await, b.stop().await);
        let mut a =
            Peer::start_configured("ana", dir.path(), |_| config(&a_file, None, true)).await;
        let ticket = a.ticket();
        let mut b =
            Peer::start_configured("bo", dir.path(), |_| config(&b_file, Some(ticket), true)).await;
        let reported = |p: &Peer| {
            p.events.iter().any(|e| {
                matches!(e, duet_sync::Event::Diverged { .. })
                    || matches!(
                        e,
                        duet_sync::Event::PeerLeft {
                            why: Departure::Error(_),
                            ..
                        }
                    )
            })
        };
        wait_until(
            &mut [&mut a, &mut b],
            "the divergence to be reported",
            |ps| {
                assert!(
                    ps.iter().all(|p| !p.status().in_sync) || converged(ps),
                    "a peer claims to be in sync with a different text"
                );
                ps.iter().any(|p| reported(p))
            },
        )
        .await;
        assert_ne!(a.doc.text(), b.doc.text());
        assert!(!a.status().in_sync && !b.status().in_sync);
        a.stop().await;
        b.stop().await;
    })
    .await;
}
