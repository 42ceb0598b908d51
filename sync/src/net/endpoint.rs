//! Building duet's iroh endpoint.
//!
//! duet must work with no internet at all, so by default the endpoint uses no relay servers and
//! no public address lookup (iroh's `Minimal` preset with `RelayMode::Disabled`): peers reach
//! each other on the direct addresses carried by tickets and remembered in the store, which
//! works on loopback and on a LAN. Two options widen that, both off by default:
//! - a relay URL (yours, or n0's public ones) for peers behind NATs; it also goes into the
//!   tickets this peer hands out. A relay whose certificate comes from a private CA (or is
//!   self-signed) is trusted through [`NetConfig::relay_roots`];
//! - LAN discovery by mDNS (cargo feature `mdns`, [`NetConfig::mdns`]): peers on the same
//!   network find each other's current addresses by endpoint id, so a remembered peer whose
//!   address changed is still reached without a new ticket. Only the endpoint id and
//!   addresses are announced (service `_duet._udp.local`), never anything about documents.

use std::net::SocketAddr;

use iroh::endpoint::presets;
use iroh::tls::CaTlsConfig;
use iroh::{Endpoint, RelayMode, RelayUrl, SecretKey};
use rustls_pki_types::CertificateDer;

/// How the endpoint connects to the world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetConfig {
    /// Socket addresses to bind (at most one IPv4 and one IPv6). Port 0 picks a free port.
    /// Default: all IPv4 interfaces on a random port (`0.0.0.0:0`).
    pub bind: Vec<SocketAddr>,
    /// A relay server to use for peers that cannot be reached directly (NAT). `None`: no
    /// relays, no traffic leaves the direct paths.
    pub relay: Option<RelayUrl>,
    /// Extra root certificates to trust for the relay's TLS, beside the public roots built
    /// in: for a relay whose certificate comes from a private CA or is self-signed.
    pub relay_roots: Vec<CertificateDer<'static>>,
    /// Announce this endpoint and look peers up on the LAN by mDNS (needs the `mdns` cargo
    /// feature).
    pub mdns: bool,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            bind: vec![SocketAddr::from(([0, 0, 0, 0], 0))],
            relay: None,
            relay_roots: Vec::new(),
            mdns: false,
        }
    }
}

impl NetConfig {
    /// Binds only to the IPv4 loopback interface on a random port: what tests and
    /// single-machine setups use.
    pub fn loopback() -> Self {
        NetConfig {
            bind: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            relay: None,
            relay_roots: Vec::new(),
            mdns: false,
        }
    }
}

/// Why the endpoint could not be created.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// No address to bind was given.
    #[error("no bind address configured")]
    NoBindAddress,
    /// A bind address was rejected (e.g. two IPv4 addresses).
    #[error("invalid bind address {addr}: {reason}")]
    InvalidBindAddress {
        /// The address.
        addr: SocketAddr,
        /// iroh's explanation.
        reason: String,
    },
    /// LAN discovery was asked for but this build does not include it.
    #[error("LAN discovery (mDNS) is not available in this build of duet (cargo feature `mdns`)")]
    MdnsUnavailable,
    /// Binding the sockets or setting up QUIC failed (e.g. the port is in use).
    #[error("cannot start networking on {addrs:?}: {reason}")]
    Bind {
        /// The addresses asked for.
        addrs: Vec<SocketAddr>,
        /// iroh's explanation, with its causes.
        reason: String,
    },
}

/// The mDNS service name duet announces (`_duet._udp.local`).
#[cfg(feature = "mdns")]
const MDNS_SERVICE: &str = "duet";

/// Creates an endpoint with the user's `secret` key accepting the given ALPN protocols.
pub async fn bind(
    config: &NetConfig,
    secret: SecretKey,
    alpns: Vec<Vec<u8>>,
) -> Result<Endpoint, EndpointError> {
    if config.bind.is_empty() {
        return Err(EndpointError::NoBindAddress);
    }
    let relay_mode = match &config.relay {
        None => RelayMode::Disabled,
        Some(url) => RelayMode::custom([url.clone()]),
    };
    let mut builder = Endpoint::builder(presets::Minimal)
        .relay_mode(relay_mode)
        .secret_key(secret)
        .alpns(alpns)
        .clear_ip_transports();
    if !config.relay_roots.is_empty() {
        builder = builder
            .ca_tls_config(CaTlsConfig::embedded().with_extra_roots(config.relay_roots.clone()));
    }
    if config.mdns {
        #[cfg(feature = "mdns")]
        {
            builder = builder.address_lookup(
                iroh_mdns_address_lookup::MdnsAddressLookup::builder().service_name(MDNS_SERVICE),
            );
        }
        #[cfg(not(feature = "mdns"))]
        return Err(EndpointError::MdnsUnavailable);
    }
    for &addr in &config.bind {
        builder = builder
            .bind_addr(addr)
            .map_err(|e| EndpointError::InvalidBindAddress {
                addr,
                reason: error_chain(&e),
            })?;
    }
    builder.bind().await.map_err(|e| EndpointError::Bind {
        addrs: config.bind.clone(),
        reason: error_chain(&e),
    })
}

/// An error and its causes on one line ("a: b: c"), each told once: a cause whose text the
/// line already holds (an error that prints its source too) is left out.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_loopback_endpoint_advertises_its_direct_address_without_relays() {
        let secret = SecretKey::from_bytes(&[1; 32]);
        let ep = bind(
            &NetConfig::loopback(),
            secret.clone(),
            vec![b"duet/test".to_vec()],
        )
        .await
        .unwrap();
        assert_eq!(ep.id(), secret.public());
        let addr = ep.addr();
        assert!(addr.relay_urls().next().is_none());
        let ips: Vec<_> = addr.ip_addrs().collect();
        assert!(!ips.is_empty(), "{addr:?}");
        assert!(
            ips.iter().all(|a| a.ip().is_loopback() && a.port() != 0),
            "{ips:?}"
        );
        ep.close().await;
    }

    #[tokio::test]
    async fn a_port_in_use_is_a_clear_error() {
        let first = bind(&NetConfig::loopback(), SecretKey::generate(), vec![])
            .await
            .unwrap();
        let port = first.bound_sockets()[0].port();
        let config = NetConfig {
            bind: vec![SocketAddr::from(([127, 0, 0, 1], port))],
            ..NetConfig::loopback()
        };
        let err = bind(&config, SecretKey::generate(), vec![])
            .await
            .unwrap_err();
        assert!(matches!(err, EndpointError::Bind { .. }), "{err}");
        assert!(err.to_string().contains(&port.to_string()), "{err}");
        first.close().await;
    }

    #[cfg(not(feature = "mdns"))]
    #[tokio::test]
    async fn asking_for_lan_discovery_without_it_is_a_clear_error() {
        let config = NetConfig {
            mdns: true,
            ..NetConfig::loopback()
        };
        let err = bind(&config, SecretKey::generate(), vec![])
            .await
            .unwrap_err();
        assert!(matches!(err, EndpointError::MdnsUnavailable), "{err}");
    }

    #[cfg(feature = "mdns")]
    #[tokio::test]
    async fn an_endpoint_with_lan_discovery_starts() {
        let config = NetConfig {
            mdns: true,
            ..NetConfig::loopback()
        };
        let ep = bind(&config, SecretKey::generate(), vec![]).await.unwrap();
        assert!(ep.address_lookup().is_ok());
        ep.close().await;
    }

    /// Needs multicast on the host's network (not available in every container).
    #[cfg(feature = "mdns")]
    #[tokio::test]
    #[ignore = "needs LAN multicast"]
    async fn a_peer_is_found_on_the_lan_by_its_id_alone() {
        let config = NetConfig {
            mdns: true,
            ..NetConfig::default()
        };
        let alpn = b"duet/test".to_vec();
        let a = bind(&config, SecretKey::generate(), vec![alpn.clone()])
            .await
            .unwrap();
        let b = bind(&config, SecretKey::generate(), vec![]).await.unwrap();
        let accept = async {
            let conn = a.accept().await.unwrap().await.unwrap();
            conn.remote_id()
        };
        let dial = async {
            tokio::time::timeout(std::time::Duration::from_secs(20), b.connect(a.id(), &alpn))
                .await
                .expect("not found within 20 s")
                .unwrap()
        };
        let (remote, _conn) = tokio::join!(accept, dial);
        assert_eq!(remote, b.id());
        a.close().await;
        b.close().await;
    }

    #[tokio::test]
    async fn no_bind_address_is_refused() {
        let config = NetConfig {
            bind: vec![],
            ..NetConfig::loopback()
        };
        let err = bind(&config, SecretKey::generate(), vec![])
            .await
            .unwrap_err();
        assert!(matches!(err, EndpointError::NoBindAddress));
    }
}
