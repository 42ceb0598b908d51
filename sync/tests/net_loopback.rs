//! Real iroh on loopback, in one process: peers join by ticket, edit concurrently, survive an
//! outage, keep strangers and broken clients out.

#![allow(clippy::unwrap_used)]

mod net_support;

use std::time::Duration;

use duet_sync::Event;
use duet_sync::ids::DocSecret;
use duet_sync::proto::{self, ProtoError};
use iroh::endpoint::{ConnectionError, VarInt};
use net_support::{PATIENCE, Peer, converged, pump_while, test_dir, wait_until};

/// Bounds a whole test: a hung network test fails instead of blocking CI.
async fn bounded<F: std::future::Future<Output = ()>>(f: F) {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .expect("test took longer than 120 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_peers_edit_concurrently_survive_an_outage_and_converge() {
    bounded(async {
        let dir = test_dir("outage");
        let mut a = Peer::start("ana", dir.path(), None).await;
        a.type_at(0, "shared notes\n");
        let ticket = a.ticket();
        let mut b = Peer::start("bo", dir.path(), Some(ticket.clone())).await;
        let mut c = Peer::start("cy", dir.path(), Some(ticket)).await;

        // Everyone meets everyone (C learns of B through A) and gets A's text.
        wait_until(&mut [&mut a, &mut b, &mut c], "a full mesh", |ps| {
            ps.iter().all(|p| p.connected() == 2) && converged(ps)
        })
        .await;
        assert_eq!(c.doc.text(), "shared notes\n");

        // Concurrent typing everywhere.
        for i in 0..20 {
            a.type_at(0, &format!("a{i} "));
            b.type_at(usize::MAX, &format!("b{i} "));
            c.type_at(5, &format!("c{i} "));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        wait_until(&mut [&mut a, &mut b, &mut c], "convergence", |ps| {
            converged(ps)
        })
        .await;
        let text = a.doc.text();
        for i in 0..20 {
            for who in ["a", "b", "c"] {
                assert!(
                    text.contains(&format!("{who}{i} ")),
                    "{who}{i} missing: {text:?}"
                );
            }
        }

        // C goes offline (its endpoint closes) and edits there; A and B keep editing.
        let c_name = c.name;
        let c_file = c.stop().await;
        let mut c = Peer::start_with(c_name, dir.path(), None, false).await;
        assert_eq!(c.doc.text(), text, "C reopens its store as it left it");
        c.type_at(0, "offline by C\n");
        wait_until(&mut [&mut a, &mut b], "A and B to see C leave", |ps| {
            ps.iter().all(|p| p.connected() == 1)
        })
        .await;
        a.type_at(0, "while C was away, A\n");
        b.type_at(usize::MAX, "while C was away, B\n");
        wait_until(&mut [&mut a, &mut b], "A and B to converge", |ps| {
            converged(ps)
        })
        .await;
        c.stop().await;

        // C comes back with no ticket: it redials the peers its store remembers.
        let mut c = Peer::start(c_name, dir.path(), None).await;
        assert_eq!(c.file, c_file);
        wait_until(
            &mut [&mut a, &mut b, &mut c],
            "convergence after the outage",
            |ps| ps.iter().all(|p| p.connected() == 2) && converged(ps),
        )
        .await;
        let text = a.doc.text();
        for line in [
            "offline by C\n",
            "while C was away, A\n",
            "while C was away, B\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from {text:?}");
        }
        // The sync layer's own replica agrees with the editor's: nothing lost on either side.
        assert!(
            c.events
                .iter()
                .any(|e| matches!(e, Event::PeerJoined { .. }))
        );
        for p in [a, b, c] {
            p.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_with_the_wrong_secret_is_refused_and_learns_nothing() {
    bounded(async {
        let dir = test_dir("secret");
        let mut a = Peer::start("ana", dir.path(), None).await;
        a.type_at(0, "private text");
        let mut forged = a.ticket();
        forged.secret = DocSecret([0x42; 32]);
        let mut mallory = Peer::start("mallory", dir.path(), Some(forged)).await;

        wait_until(&mut [&mut a, &mut mallory], "the refusal", |ps| {
            ps[0].events.iter().any(|e| {
                matches!(
                    e,
                    Event::Refused {
                        error: ProtoError::AuthFailed,
                        ..
                    }
                )
            })
        })
        .await;
        // Give stray messages a moment to arrive, should there be any.
        mallory.pump(Duration::from_millis(200)).await;
        assert_eq!(
            mallory.doc.text(),
            "",
            "mallory must not learn the document"
        );
        assert!(
            !mallory
                .events
                .iter()
                .any(|e| matches!(e, Event::Remote { .. })),
            "{:?}",
            mallory.events
        );
        assert_eq!(a.connected(), 0);
        a.stop().await;
        let file = mallory.stop().await;
        assert!(
            !file.parent().unwrap().join(".duet").exists(),
            "a join that never got in leaves no store behind"
        );
    })
    .await;
}

/// Connects a raw client speaking duet's ALPN to `peer`, sends `bytes` on a stream, and returns
/// how the connection ended.
async fn raw_client_sends(target: iroh::EndpointAddr, bytes: Vec<u8>) -> ConnectionError {
    let ep = iroh::Endpoint::builder(iroh::endpoint::presets::Minimal)
        .relay_mode(iroh::RelayMode::Disabled)
        .clear_ip_transports()
        .bind_addr("127.0.0.1:0")
        .unwrap()
        .bind()
        .await
        .unwrap();
    let conn = ep.connect(target, proto::ALPN).await.unwrap();
    let (mut send, _recv) = conn.open_bi().await.unwrap();
    send.write_all(&bytes).await.unwrap();
    let closed = tokio::time::timeout(PATIENCE, conn.closed())
        .await
        .expect("the hostile connection was not closed");
    ep.close().await;
    closed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversized_frames_are_disconnected_while_others_keep_syncing() {
    bounded(async {
        let dir = test_dir("garbage");
        let mut a = Peer::start("ana", dir.path(), None).await;
        let mut b = Peer::start("bo", dir.path(), Some(a.ticket())).await;
        wait_until(&mut [&mut a, &mut b], "A and B to connect", |ps| {
            ps.iter().all(|p| p.connected() == 1)
        })
        .await;

        // A well-framed message that is not a message.
        let mut garbage = 16u32.to_be_bytes().to_vec();
        garbage.extend([0xff; 16]);
        // A frame announcing far more than the limit.
        let oversized = ((proto::MAX_FRAME_BYTES as u32) + 1).to_be_bytes().to_vec();
        for (what, bytes) in [("garbage", garbage), ("oversized", oversized)] {
            let hostile = raw_client_sends(a.ticket().host, bytes);
            let closed = pump_while(&mut [&mut a, &mut b], hostile).await;
            for i in 0..10 {
                b.type_at(usize::MAX, &format!("{what}{i} "));
            }
            match closed {
                ConnectionError::ApplicationClosed(close) => {
                    assert_eq!(close.error_code, VarInt::from_u32(1), "{what}: {close:?}");
                    let reason = String::from_utf8_lossy(&close.reason).to_string();
                    assert!(reason.contains("malformed"), "{what}: {reason}");
                }
                other => panic!("{what}: expected an application close, got {other}"),
            }
            // The document and the good connection are untouched.
            wait_until(&mut [&mut a, &mut b], "A and B to converge", |ps| {
                converged(ps) && ps[0].connected() == 1
            })
            .await;
            assert!(a.doc.text().contains(&format!("{what}9 ")));
        }
        a.stop().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ticket_of_an_open_document_is_published_beside_its_store() {
    bounded(async {
        let dir = test_dir("ticketfile");
        let a = Peer::start("ana", dir.path(), None).await;
        let published = duet_sync::session::running_ticket(&a.file).unwrap();
        assert_eq!(published, a.ticket());
        let file = a.stop().await;
        let err = duet_sync::session::running_ticket(&file).unwrap_err();
        assert!(matches!(err, duet_sync::SyncError::NotShared(_)), "{err}");
        assert!(
            err.to_string().contains("not open in a running duet"),
            "{err}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_speaking_another_protocol_version_is_told_so() {
    use duet_sync::net::frame;
    use duet_sync::proto::{GoodbyeCode, Hello, Message};
    bounded(async {
        let dir = test_dir("version");
        let mut a = Peer::start("ana", dir.path(), None).await;
        let host = a.ticket().host;
        let ep = iroh::Endpoint::builder(iroh::endpoint::presets::Minimal)
            .relay_mode(iroh::RelayMode::Disabled)
            .clear_ip_transports()
            .bind_addr("127.0.0.1:0")
            .unwrap()
            .bind()
            .await
            .unwrap();
        let client = async {
            let conn = ep.connect(host, proto::ALPN).await.unwrap();
            let (mut send, mut recv) = conn.open_bi().await.unwrap();
            let hello = Message::Hello(Hello {
                version: proto::PROTOCOL_VERSION + 1,
                key: duet_sync::PeerId::from(ep.id()),
                nonce: [7; 32],
                session: 7,
                name: "from the future".into(),
            });
            let payload = proto::encode(&hello).unwrap();
            frame::write(
                &mut send,
                &frame::encode(&payload, proto::MAX_FRAME_BYTES).unwrap(),
            )
            .await
            .unwrap();
            // Read until the stream ends: A's Hello, then its Goodbye saying why.
            let mut goodbye = None;
            while let Ok(Some(payload)) = frame::read(&mut recv, proto::MAX_FRAME_BYTES).await {
                if let Ok(Message::Goodbye(g)) = proto::decode(&payload) {
                    goodbye = Some(g);
                }
            }
            goodbye
        };
        let goodbye = pump_while(&mut [&mut a], client).await;
        let goodbye = goodbye.expect("no goodbye received");
        assert_eq!(
            goodbye.code,
            GoodbyeCode::VersionMismatch {
                supported: proto::PROTOCOL_VERSION
            }
        );
        assert!(goodbye.detail.contains("version"), "{}", goodbye.detail);
        ep.close().await;
        a.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_peer_keeps_its_file_current_and_shares_outside_edits_to_it() {
    bounded(async {
        let dir = test_dir("headless");
        let mut server = Peer::start_configured("server", dir.path(), |file| {
            let mut c = net_support::config(file, None, true);
            c.autosave = Some(Duration::from_millis(100));
            c
        })
        .await;
        let mut b = Peer::start("bo", dir.path(), Some(server.ticket())).await;
        b.type_at(0, "typed by B\n");
        let file = server.file.clone();
        let on_disk = || std::fs::read_to_string(&file).unwrap_or_default();
        wait_until(
            &mut [&mut server, &mut b],
            "B's edit on the server's disk",
            |_| on_disk() == "typed by B\n",
        )
        .await;

        // Someone edits the file with another program while the server runs.
        std::fs::write(&file, "written by vim\ntyped by B\n").unwrap();
        wait_until(
            &mut [&mut server, &mut b],
            "the outside edit to reach B",
            |ps| ps[1].doc.text() == "written by vim\ntyped by B\n",
        )
        .await;
        assert!(
            server.events.iter().any(|e| matches!(
                e,
                Event::OutsideEdits {
                    inserted: 15,
                    deleted: 0,
                    ..
                }
            )),
            "{:?}",
            server.events
        );
        // Both kinds of edit end up in the file, and nothing is lost on the way.
        b.type_at(usize::MAX, "more from B\n");
        wait_until(
            &mut [&mut server, &mut b],
            "the file to have everything",
            |_| on_disk() == "written by vim\ntyped by B\nmore from B\n",
        )
        .await;
        server.stop().await;
        b.stop().await;
    })
    .await;
}
