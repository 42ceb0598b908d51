//! The transport: one iroh endpoint, its QUIC connections and their frames. Connections and
//! messages come in as [`proto::Input`]s; [`Transport`] sends, closes and dials as the
//! protocol's [`proto::Output`]s say. It decides nothing: limits, duplicates, timeouts and
//! slow peers are the protocol's business.

mod conn;
pub mod endpoint;
pub mod frame;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use iroh::{Endpoint, EndpointAddr, EndpointId, RelayUrl, SecretKey, TransportAddr};
use tokio::sync::mpsc;

pub use endpoint::{EndpointError, NetConfig};

use self::conn::{CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, ConnHandle, Report};
use crate::ids::PeerId;
use crate::proto::{self, ConnId, Input, MAX_FRAME_BYTES, Message, PeerAddr, ProtoError};

/// Capacity of the channel from connection tasks to the owner: readers wait when it is
/// full, which pushes back on fast senders through QUIC flow control.
const QUEUE: usize = 1024;

/// How a connection reaches its peer, for the peers panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Straight to this socket address.
    Direct(SocketAddr),
    /// Through this relay server.
    Relay(RelayUrl),
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Direct(addr) => write!(f, "direct {addr}"),
            Route::Relay(url) => write!(f, "relay {url}"),
        }
    }
}

/// A live connection's path and traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The path in use, if known yet.
    pub route: Option<Route>,
    /// Its round-trip time.
    pub rtt: Option<Duration>,
    /// Bytes sent on the connection.
    pub sent: u64,
    /// Bytes received.
    pub received: u64,
}

/// The endpoint and its connections.
#[derive(Debug)]
pub struct Transport {
    endpoint: Endpoint,
    relay: Option<RelayUrl>,
    conns: HashMap<ConnId, ConnHandle>,
    next_conn: u64,
    reports: mpsc::Sender<Report>,
    incoming: mpsc::Receiver<Report>,
    dial_timeout: Duration,
    stream_timeout: Duration,
    max_queued: usize,
    /// Bytes sent and received on connections that are gone.
    retired: (u64, u64),
}

impl Transport {
    /// Binds the endpoint with identity `secret` and starts accepting connections.
    pub async fn bind(
        config: &NetConfig,
        secret: SecretKey,
        timers: &proto::Timers,
        limits: &proto::Limits,
    ) -> Result<Transport, EndpointError> {
        let endpoint = endpoint::bind(config, secret, vec![proto::ALPN.to_vec()]).await?;
        let (reports, incoming) = mpsc::channel(QUEUE);
        let stream_timeout = Duration::from_millis(timers.handshake_timeout_ms);
        tokio::spawn(conn::accept_loop(
            endpoint.clone(),
            stream_timeout,
            reports.clone(),
        ));
        Ok(Transport {
            endpoint,
            relay: config.relay.clone(),
            conns: HashMap::new(),
            next_conn: 0,
            reports,
            incoming,
            dial_timeout: Duration::from_millis(timers.dial_timeout_ms),
            stream_timeout,
            max_queued: limits.max_queued_bytes_per_peer,
            retired: (0, 0),
        })
    }

    /// Our id.
    pub fn id(&self) -> PeerId {
        PeerId::from(self.endpoint.id())
    }

    /// Our direct addresses, as peers should dial them.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.endpoint.addr().ip_addrs().copied().collect()
    }

    /// The ports the endpoint is bound to.
    pub fn bound_ports(&self) -> Vec<u16> {
        self.endpoint
            .bound_sockets()
            .iter()
            .map(SocketAddr::port)
            .collect()
    }

    /// How others reach us: id, direct addresses and relay.
    pub fn addr(&self) -> EndpointAddr {
        let mut addr = EndpointAddr::from_parts(
            self.endpoint.id(),
            self.local_addrs().into_iter().map(TransportAddr::Ip),
        );
        if let Some(url) = &self.relay {
            addr = addr.with_relay_url(url.clone());
        }
        addr
    }

    /// The next inputs from `transport`, or never when there is none (offline): one arm of a
    /// session's `select!` (cancel-safe).
    pub async fn next_of(transport: Option<&mut Transport>) -> Vec<Input> {
        match transport {
            Some(t) => t.next().await,
            None => std::future::pending().await,
        }
    }

    /// The next inputs for the protocol (waits for at least one; cancel-safe). New
    /// connections are registered here and reported as `Connected`.
    pub async fn next(&mut self) -> Vec<Input> {
        let Some(first) = self.incoming.recv().await else {
            return Vec::new();
        };
        let mut inputs = Vec::new();
        self.take(first, &mut inputs);
        while inputs.len() < 256 {
            match self.incoming.try_recv() {
                Ok(report) => self.take(report, &mut inputs),
                Err(_) => break,
            }
        }
        inputs
    }

    fn take(&mut self, report: Report, inputs: &mut Vec<Input>) {
        match report {
            Report::Up { conn, dialer } => {
                let id = ConnId(self.next_conn);
                self.next_conn += 1;
                let remote = PeerId::from(conn.remote_id());
                let handle =
                    ConnHandle::start(id, conn, dialer, self.stream_timeout, self.reports.clone());
                let addr = handle.remote_addr();
                self.conns.insert(id, handle);
                inputs.push(Input::Connected {
                    conn: id,
                    remote,
                    addr,
                    dialer,
                });
            }
            Report::Input(input) => {
                if let Input::Disconnected { conn } = &input {
                    self.retire(*conn);
                }
                inputs.push(input);
            }
        }
    }

    /// Sends `msg` on `conn`; returns an input for the protocol if the connection's queue is
    /// over the limit (the remote stopped reading).
    #[must_use]
    pub fn send(&mut self, conn: ConnId, msg: &Message) -> Option<Input> {
        let handle = self.conns.get(&conn)?;
        let frame = proto::encode(msg)
            .map_err(|e| e.to_string())
            .and_then(|payload| {
                frame::encode(&payload, MAX_FRAME_BYTES).map_err(|e| e.to_string())
            });
        match frame {
            Ok(frame) => {
                let queued = handle.send(frame);
                (queued > self.max_queued).then_some(Input::Stalled { conn, queued })
            }
            Err(e) => {
                // Our own message does not fit a frame: a bug; keep the connection, say so.
                tracing::error!("cannot send {}: {e}", msg.name());
                None
            }
        }
    }

    /// Closes `conn` after what is queued (at once if its stream never opened).
    pub fn close(&mut self, conn: ConnId, error: &ProtoError) {
        if let Some(handle) = self.retire(conn) {
            let code = if error.is_benign() {
                CLOSE_NORMAL
            } else {
                CLOSE_PROTOCOL_ERROR
            };
            handle.close(code, &error.to_string());
        }
    }

    /// Dials a peer at its direct addresses (and the relay, if one is configured); the
    /// outcome arrives from [`next`](Self::next).
    pub fn dial(&mut self, addr: &PeerAddr, relay: Option<&RelayUrl>) {
        let Ok(id) = EndpointId::from_bytes(addr.id.as_bytes()) else {
            let reports = self.reports.clone();
            let remote = addr.id;
            tokio::spawn(async move {
                let error = "not a valid endpoint id".to_owned();
                let _ = reports
                    .send(Report::Input(Input::DialFailed { remote, error }))
                    .await;
            });
            return;
        };
        let mut target =
            EndpointAddr::from_parts(id, addr.addrs.iter().copied().map(TransportAddr::Ip));
        if let Some(url) = relay.or(self.relay.as_ref()) {
            target = target.with_relay_url(url.clone());
        }
        tokio::spawn(conn::dial(
            self.endpoint.clone(),
            target,
            self.dial_timeout,
            self.reports.clone(),
        ));
    }

    /// The path, round-trip time and traffic of a live connection.
    pub fn link(&self, conn: ConnId) -> Option<Link> {
        let handle = self.conns.get(&conn)?;
        let path = handle.path();
        Some(Link {
            route: path.as_ref().and_then(|(addr, _)| match addr {
                TransportAddr::Ip(a) => Some(Route::Direct(*a)),
                TransportAddr::Relay(url) => Some(Route::Relay(url.clone())),
                _ => None,
            }),
            rtt: path.map(|(_, rtt)| rtt),
            sent: handle.traffic.sent.load(Ordering::Relaxed),
            received: handle.traffic.received.load(Ordering::Relaxed),
        })
    }

    /// Lets the last frames (goodbyes) leave, then closes the endpoint.
    pub async fn shutdown(mut self) {
        let handles: Vec<ConnHandle> = self.conns.drain().map(|(_, h)| h).collect();
        for h in &handles {
            h.close(CLOSE_NORMAL, "shutting down");
        }
        let wait_writers = async {
            for h in &handles {
                let _ = h.conn.closed().await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), wait_writers).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint.close()).await;
        drop(handles);
    }

    /// Bytes sent and received on every connection so far, frames included.
    pub fn traffic(&self) -> (u64, u64) {
        self.conns.values().fold(self.retired, |(s, r), h| {
            (
                s + h.traffic.sent.load(Ordering::Relaxed),
                r + h.traffic.received.load(Ordering::Relaxed),
            )
        })
    }

    /// Forgets a connection, keeping count of its traffic.
    fn retire(&mut self, conn: ConnId) -> Option<ConnHandle> {
        let handle = self.conns.remove(&conn)?;
        self.retired.0 += handle.traffic.sent.load(Ordering::Relaxed);
        self.retired.1 += handle.traffic.received.load(Ordering::Relaxed);
        Some(handle)
    }
}
