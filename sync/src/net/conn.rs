//! Connection tasks: dialing, accepting, and the reader and writer of each connection's single
//! bi-stream. They only move frames and report what happened as protocol inputs; the
//! protocol decides everything.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use iroh::endpoint::{Connection, RecvStream, SendStream, VarInt};
use iroh::{Endpoint, EndpointAddr, TransportAddr};
use tokio::sync::{Semaphore, mpsc};

use super::endpoint::error_chain;
use super::frame::{self, FrameError};
use crate::ids::PeerId;
use crate::proto::{self, ConnId, Input, MAX_FRAME_BYTES, WireError};

/// QUIC application close code: normal close (goodbye said, or shutting down).
pub(crate) const CLOSE_NORMAL: u32 = 0;
/// QUIC application close code: the protocol closed the connection because of an error.
pub(crate) const CLOSE_PROTOCOL_ERROR: u32 = 1;
/// Longest close reason put in the QUIC close frame.
const MAX_CLOSE_REASON: usize = 200;
/// How long a closing writer waits for the peer to take the last frames (e.g. a `Goodbye`).
const LINGER: Duration = Duration::from_secs(1);
/// QUIC handshakes in progress at most; more incoming connections wait.
const MAX_HANDSHAKES: usize = 64;

/// What the transport tells its owner: a protocol input, or a new connection to register.
#[derive(Debug)]
pub(crate) enum Report {
    /// A QUIC connection is up (the stream may still be opening).
    Up {
        /// The connection.
        conn: Connection,
        /// Whether we dialed it.
        dialer: bool,
    },
    /// Something for the protocol.
    Input(Input),
}

/// What the owner hands a connection's writer.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// One encoded frame.
    Frame(Vec<u8>),
    /// Send what is queued, then close the connection with this code and reason.
    Close(u32, String),
}

/// Bytes moved on one connection (frame headers included), for the peers panel and figures.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Bytes written to the stream.
    pub sent: AtomicU64,
    /// Bytes read from the stream.
    pub received: AtomicU64,
}

/// The owner's side of one connection.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    /// The QUIC connection (for RTT, paths, and closing).
    pub(crate) conn: Connection,
    /// The writer's queue.
    out: mpsc::UnboundedSender<Outgoing>,
    /// Bytes in the writer's queue.
    queued: Arc<AtomicUsize>,
    /// Bytes moved so far.
    pub(crate) traffic: Arc<Traffic>,
}

impl ConnHandle {
    /// Opens (dialer) or accepts the connection's stream, then runs its reader and writer.
    pub(crate) fn start(
        id: ConnId,
        conn: Connection,
        dialer: bool,
        stream_timeout: Duration,
        events: mpsc::Sender<Report>,
    ) -> ConnHandle {
        let (out, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let traffic = Arc::new(Traffic::default());
        let task = Stream {
            id,
            conn: conn.clone(),
            dialer,
            timeout: stream_timeout,
            events,
            queued: queued.clone(),
            traffic: traffic.clone(),
        };
        tokio::spawn(task.run(rx));
        ConnHandle {
            conn,
            out,
            queued,
            traffic,
        }
    }

    /// Queues a frame; returns the bytes now queued.
    pub(crate) fn send(&self, frame: Vec<u8>) -> usize {
        let len = frame.len();
        let total = self.queued.fetch_add(len, Ordering::Relaxed) + len;
        let _ = self.out.send(Outgoing::Frame(frame));
        total
    }

    /// Sends what is queued, then closes with `code` and `reason`.
    pub(crate) fn close(&self, code: u32, reason: &str) {
        let _ = self.out.send(Outgoing::Close(code, reason.to_owned()));
    }

    /// The remote's address on the path in use, if it is a direct one.
    pub(crate) fn remote_addr(&self) -> Option<SocketAddr> {
        match self.path()?.0 {
            TransportAddr::Ip(addr) => Some(addr),
            _ => None,
        }
    }

    /// The path in use and its round-trip time.
    pub(crate) fn path(&self) -> Option<(TransportAddr, Duration)> {
        let paths = self.conn.paths();
        let path = paths.iter().find(|p| p.is_selected())?;
        Some((path.remote_addr().clone(), path.rtt()))
    }
}

/// One connection's stream: opened or accepted, then read and written.
struct Stream {
    id: ConnId,
    conn: Connection,
    dialer: bool,
    timeout: Duration,
    events: mpsc::Sender<Report>,
    queued: Arc<AtomicUsize>,
    traffic: Arc<Traffic>,
}

impl Stream {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
        let (conn, dialer) = (self.conn.clone(), self.dialer);
        let opening = async move {
            if dialer {
                conn.open_bi().await
            } else {
                conn.accept_bi().await
            }
        };
        let opening = tokio::time::timeout(self.timeout, opening);
        tokio::pin!(opening);
        // Frames queued before the stream exists (our Hello) are written once it does; a
        // close asked for meanwhile (a refused or timed-out connection) happens at once.
        let mut early = Vec::new();
        let (send, recv) = loop {
            tokio::select! {
                opened = &mut opening => match opened {
                    Ok(Ok(stream)) => break stream,
                    Ok(Err(e)) => return self.down(error_chain(&e)).await,
                    Err(_) => return self.down("no stream opened in time".to_owned()).await,
                },
                out = rx.recv() => match out {
                    Some(Outgoing::Frame(frame)) => early.push(frame),
                    Some(Outgoing::Close(code, reason)) => {
                        self.conn.close(VarInt::from_u32(code), clip(&reason).as_bytes());
                        return;
                    }
                    None => {
                        self.conn.close(VarInt::from_u32(CLOSE_NORMAL), b"closed");
                        return;
                    }
                },
            }
        };
        tokio::spawn(read_loop(
            self.id,
            recv,
            self.events.clone(),
            self.traffic.clone(),
        ));
        let writer = Writer {
            conn: self.conn,
            send,
            queued: self.queued,
            traffic: self.traffic,
        };
        writer.run(early, rx).await;
    }

    async fn down(&self, reason: String) {
        tracing::debug!(conn = self.id.0, "connection down: {reason}");
        let _ = self
            .events
            .send(Report::Input(Input::Disconnected { conn: self.id }))
            .await;
    }
}

/// Dials `addr` and reports `Up` or a failed dial.
pub(crate) async fn dial(
    endpoint: Endpoint,
    addr: EndpointAddr,
    timeout: Duration,
    events: mpsc::Sender<Report>,
) {
    let remote = PeerId::from(addr.id);
    let report = match tokio::time::timeout(timeout, endpoint.connect(addr, proto::ALPN)).await {
        Ok(Ok(conn)) => Report::Up { conn, dialer: true },
        Ok(Err(e)) => Report::Input(Input::DialFailed {
            remote,
            error: error_chain(&e),
        }),
        Err(_) => Report::Input(Input::DialFailed {
            remote,
            error: format!("no answer within {} s", timeout.as_secs()),
        }),
    };
    let _ = events.send(report).await;
}

/// Accepts connections until the endpoint closes; each QUIC handshake must finish within
/// `timeout`, and at most [`MAX_HANDSHAKES`] run at once.
pub(crate) async fn accept_loop(
    endpoint: Endpoint,
    timeout: Duration,
    events: mpsc::Sender<Report>,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    while let Some(incoming) = endpoint.accept().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let events = events.clone();
        tokio::spawn(async move {
            let attempt = async {
                incoming
                    .accept()
                    .map_err(|e| error_chain(&e))?
                    .await
                    .map_err(|e| error_chain(&e))
            };
            match tokio::time::timeout(timeout, attempt).await {
                Ok(Ok(conn)) => {
                    let _ = events
                        .send(Report::Up {
                            conn,
                            dialer: false,
                        })
                        .await;
                }
                Ok(Err(error)) => tracing::debug!("incoming connection failed: {error}"),
                Err(_) => tracing::debug!("incoming connection timed out in the QUIC handshake"),
            }
            drop(slot);
        });
    }
}

async fn read_loop(
    id: ConnId,
    mut recv: RecvStream,
    events: mpsc::Sender<Report>,
    traffic: Arc<Traffic>,
) {
    loop {
        let input = match frame::read(&mut recv, MAX_FRAME_BYTES).await {
            Ok(Some(payload)) => {
                let len = (frame::HEADER_LEN + payload.len()) as u64;
                traffic.received.fetch_add(len, Ordering::Relaxed);
                match proto::decode(&payload) {
                    Ok(msg) => Input::Received { conn: id, msg },
                    Err(error) => Input::Malformed { conn: id, error },
                }
            }
            Ok(None) => Input::Disconnected { conn: id },
            Err(FrameError::TooLarge { len, max }) => Input::Malformed {
                conn: id,
                error: WireError::TooLarge {
                    len: usize::try_from(len).unwrap_or(usize::MAX),
                    limit: max,
                },
            },
            Err(FrameError::Empty) => Input::Malformed {
                conn: id,
                error: WireError::Postcard(postcard::Error::DeserializeUnexpectedEnd),
            },
            Err(e) => {
                tracing::debug!(conn = id.0, "stream ended: {e}");
                Input::Disconnected { conn: id }
            }
        };
        let last = !matches!(input, Input::Received { .. });
        if events.send(Report::Input(input)).await.is_err() || last {
            return;
        }
    }
}

/// Writes a connection's frames in order.
struct Writer {
    conn: Connection,
    send: SendStream,
    queued: Arc<AtomicUsize>,
    traffic: Arc<Traffic>,
}

impl Writer {
    async fn run(mut self, early: Vec<Vec<u8>>, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
        for frame in early {
            if !self.write(frame).await {
                return;
            }
        }
        while let Some(out) = rx.recv().await {
            match out {
                Outgoing::Frame(frame) => {
                    if !self.write(frame).await {
                        return;
                    }
                }
                Outgoing::Close(code, reason) => {
                    // Let the last frames (a Goodbye) reach the peer before closing.
                    let _ = self.send.finish();
                    tokio::select! {
                        _ = self.send.stopped() => {}
                        _ = self.conn.closed() => {}
                        _ = tokio::time::sleep(LINGER) => {}
                    }
                    self.conn
                        .close(VarInt::from_u32(code), clip(&reason).as_bytes());
                    return;
                }
            }
        }
        // The owner dropped the connection without a reason: it is shutting down.
        self.conn.close(VarInt::from_u32(CLOSE_NORMAL), b"closed");
    }

    /// Writes one frame; `false` once the connection is gone (its reader reports it).
    async fn write(&mut self, frame: Vec<u8>) -> bool {
        let len = frame.len();
        if frame::write(&mut self.send, &frame).await.is_err() {
            return false;
        }
        self.queued.fetch_sub(len, Ordering::Relaxed);
        self.traffic.sent.fetch_add(len as u64, Ordering::Relaxed);
        true
    }
}

/// At most [`MAX_CLOSE_REASON`] bytes of `reason`, cut at a char boundary.
fn clip(reason: &str) -> &str {
    if reason.len() <= MAX_CLOSE_REASON {
        return reason;
    }
    let mut end = MAX_CLOSE_REASON;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_are_clipped_at_a_char_boundary() {
        let long = "é".repeat(300);
        let clipped = clip(&long);
        assert!(clipped.len() <= MAX_CLOSE_REASON);
        assert!(clipped.chars().all(|c| c == 'é'));
        assert_eq!(clip("short"), "short");
    }
}
