//! Building duet's iroh endpoint.
//!
//! duet must work with no internet at all, so by default the endpoint uses no relay servers and
//! no public address lookup (iroh's `Minimal` preset with `RelayMode::Disabled`): peers reach
//! each other on the direct addresses carried by tickets and remembered in the store, which
//! works on loopback and on a LAN. For peers behind NATs a relay URL can be configured (yours or
//! n0's); it then also goes into the tickets this peer hands out.

use std::net::SocketAddr;

use iroh::endpoint::presets;
use iroh::{Endpoint, RelayMode, RelayUrl, SecretKey};

/// How the endpoint connects to the world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetConfig {
    /// Socket addresses to bind (at most one IPv4 and one IPv6). Port 0 picks a free port.
    /// Default: all IPv4 interfaces on a random port (`0.0.0.0:0`).
    pub bind: Vec<SocketAddr>,
    /// A relay server to use for peers that cannot be reached directly (NAT). `None`: no
    /// relays, no traffic leaves the direct paths.
    pub relay: Option<RelayUrl>,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            bind: vec![SocketAddr::from(([0, 0, 0, 0], 0))],
            relay: None,
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
    /// Binding the sockets or setting up QUIC failed (e.g. the port is in use).
    #[error("cannot start networking on {addrs:?}: {reason}")]
    Bind {
        /// The addresses asked for.
        addrs: Vec<SocketAddr>,
        /// iroh's explanation, with its causes.
        reason: String,
    },
}

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

/// An error and its causes on one line ("a: b: c").
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
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
        let ep = bind(&NetConfig::loopback(), secret.clone(), vec![b"duet/test".to_vec()])
            .await
            .unwrap();
        assert_eq!(ep.id(), secret.public());
        let addr = ep.addr();
        assert!(addr.relay_urls().next().is_none());
        let ips: Vec<_> = addr.ip_addrs().collect();
        assert!(!ips.is_empty(), "{addr:?}");
        assert!(ips.iter().all(|a| a.ip().is_loopback() && a.port() != 0), "{ips:?}");
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
            relay: None,
        };
        let err = bind(&config, SecretKey::generate(), vec![]).await.unwrap_err();
        assert!(matches!(err, EndpointError::Bind { .. }), "{err}");
        assert!(err.to_string().contains(&port.to_string()), "{err}");
        first.close().await;
    }

    #[tokio::test]
    async fn no_bind_address_is_refused() {
        let config = NetConfig {
            bind: vec![],
            relay: None,
        };
        let err = bind(&config, SecretKey::generate(), vec![]).await.unwrap_err();
        assert!(matches!(err, EndpointError::NoBindAddress));
    }
}
