//! The relay path, with an iroh relay server running in this process on loopback (its
//! certificate self-signed, trusted through `NetConfig::relay_roots`): a guest whose ticket
//! names the host only by endpoint id and relay URL — no address to dial — still joins and
//! syncs both ways.

#![allow(clippy::unwrap_used)]

mod net_support;

use std::net::Ipv4Addr;
use std::time::Duration;

use duet_sync::net::NetConfig;
use iroh::{EndpointAddr, RelayUrl};
use iroh_relay::server::{CertConfig, RelayConfig, Server, ServerConfig, TlsConfig};
use net_support::{Peer, config, converged, test_dir, wait_until};
use rustls_pki_types::CertificateDer;

/// Starts a relay on 127.0.0.1 (HTTPS on a free port, self-signed certificate); returns it
/// with its URL and the certificate to trust.
async fn spawn_relay() -> (Server, RelayUrl, Vec<CertificateDer<'static>>) {
    let (certs, server_config) = iroh_relay::server::testing::self_signed_tls_certs_and_config();
    let mut relay = RelayConfig::new((Ipv4Addr::LOCALHOST, 0));
    relay.tls = Some(TlsConfig::new(
        (Ipv4Addr::LOCALHOST, 0),
        CertConfig::Manual { server_config },
    ));
    let mut server_config = ServerConfig::default();
    server_config.relay = Some(relay);
    let server = Server::spawn(server_config).await.unwrap();
    let url = format!("https://{}", server.https_addr().unwrap())
        .parse()
        .unwrap();
    (server, url, certs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_that_know_each_other_only_by_relay_sync_through_it() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let (relay, url, certs) = spawn_relay().await;
        let net = NetConfig {
            relay: Some(url.clone()),
            relay_roots: certs,
            ..NetConfig::loopback()
        };
        let dir = test_dir("relay");
        let with_relay = |join| {
            let net = net.clone();
            move |file: &std::path::Path| {
                let mut c = config(file, join, true);
                c.net = Some(net);
                c
            }
        };
        let mut host = Peer::start_configured("host", dir.path(), with_relay(None)).await;
        host.type_at(0, "over the relay\n");

        // The guest learns no address of the host: only its id and the relay.
        let mut ticket = host.ticket();
        ticket.host = EndpointAddr::new(ticket.host.id).with_relay_url(url);
        assert_eq!(ticket.host.ip_addrs().count(), 0);
        let mut guest = Peer::start_configured("guest", dir.path(), with_relay(Some(ticket))).await;

        wait_until(&mut [&mut host, &mut guest], "the guest joins", |ps| {
            ps.iter().all(|p| p.connected() == 1) && converged(ps)
        })
        .await;
        assert_eq!(guest.doc.text(), "over the relay\n");

        guest.type_at(usize::MAX, "typed by the guest\n");
        host.type_at(0, "# ");
        wait_until(
            &mut [&mut host, &mut guest],
            "both edits everywhere",
            converged,
        )
        .await;
        assert_eq!(host.doc.text(), "# over the relay\ntyped by the guest\n");

        guest.stop().await;
        host.stop().await;
        drop(relay);
    })
    .await
    .expect("test took longer than 120 s");
}
