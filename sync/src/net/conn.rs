//! Connection tasks: dialing, accepting, and the reader and writer of each connection's single
//! bi-stream. They only move frames; the protocol decides everything (see `actor`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use iroh::endpoint::{Connection, RecvStream, SendStream, VarInt};
use iroh::{Endpoint, EndpointAddr};
use tokio::sync::mpsc;

use super::endpoint::error_chain;
use super::frame::{self, FrameError};
use crate::proto::{self, ConnId, EndpointKey, MAX_FRAME_BYTES, Message, WireError};

/// QUIC application close code: normal close (goodbye said, or shutting down).
pub(crate) const CLOSE_NORMAL: u32 = 0;
/// QUIC application close code: the protocol closed the connection because of an error.
pub(crate) const CLOSE_PROTOCOL_ERROR: u32 = 1;
/// QUIC application close code: the peer did not read what we sent (send queue full).
pub(crate) const CLOSE_TOO_SLOW: u32 = 2;
/// QUIC application close code: we have too many connections open.
pub(crate) const CLOSE_TOO_MANY: u32 = 3;
/// Longest close reason put in the QUIC close frame.
const MAX_CLOSE_REASON: usize = 200;
/// How long a closing writer waits for the peer to take the last frames (e.g. a `Goodbye`).
const LINGER: Duration = Duration::from_secs(1);

/// What connection tasks tell the actor.
#[derive(Debug)]
pub(crate) enum NetEvent {
    /// A connection and its stream are open.
    Up {
        /// The connection.
        conn: Connection,
        /// Its stream's sending half.
        send: SendStream,
        /// Its stream's receiving half.
        recv: RecvStream,
        /// Whether we dialed it.
        dialer: bool,
    },
    /// A dial failed before a connection opened.
    DialFailed {
        /// Whom we dialed.
        remote: EndpointKey,
        /// Why.
        error: String,
    },
    /// A message arrived.
    Received {
        /// On this connection.
        conn: ConnId,
        /// The message.
        msg: Message,
    },
    /// A frame could not be read as a message; the reader stopped.
    Malformed {
        /// On this connection.
        conn: ConnId,
        /// What was wrong.
        error: WireError,
    },
    /// The connection's stream ended or failed; the reader stopped.
    Down {
        /// This connection.
        conn: ConnId,
        /// Why (for logs and the UI).
        reason: String,
    },
}

/// What the actor hands a connection's writer.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// One encoded frame.
    Frame(Vec<u8>),
    /// Send what is queued, then close the connection with this code and reason.
    Close(u32, String),
}

/// Bytes moved on one connection (frame headers included), for the peers panel and figures.
#[derive(Debug, Default)]
pub(crate) struct Traffic {
    /// Bytes written to the stream.
    pub(crate) sent: AtomicU64,
    /// Bytes read from the stream.
    pub(crate) received: AtomicU64,
}

/// The actor's side of one connection.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    /// The QUIC connection (for RTT, paths, and closing).
    pub(crate) conn: Connection,
    /// The remote's key.
    pub(crate) remote: EndpointKey,
    /// The writer's queue.
    pub(crate) out: mpsc::UnboundedSender<Outgoing>,
    /// Bytes in the writer's queue.
    pub(crate) queued: Arc<AtomicUsize>,
    /// Bytes moved so far.
    pub(crate) traffic: Arc<Traffic>,
}

impl ConnHandle {
    /// Starts the reader and writer tasks of a freshly opened connection.
    pub(crate) fn start(
        id: ConnId,
        conn: Connection,
        send: SendStream,
        recv: RecvStream,
        events: mpsc::Sender<NetEvent>,
    ) -> ConnHandle {
        let (out, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let traffic = Arc::new(Traffic::default());
        tokio::spawn(read_loop(id, recv, events, traffic.clone()));
        tokio::spawn(write_loop(
            conn.clone(),
            send,
            rx,
            queued.clone(),
            traffic.clone(),
        ));
        ConnHandle {
            remote: *conn.remote_id().as_bytes(),
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

    /// Closes at once, dropping whatever is queued.
    pub(crate) fn abort(&self, code: u32, reason: &str) {
        self.conn
            .close(VarInt::from_u32(code), clip(reason).as_bytes());
    }
}

/// Dials `addr` and opens the stream; reports `Up` or `DialFailed`.
pub(crate) async fn dial(
    endpoint: Endpoint,
    addr: EndpointAddr,
    timeout: Duration,
    events: mpsc::Sender<NetEvent>,
) {
    let remote = *addr.id.as_bytes();
    let attempt = async {
        let conn = endpoint
            .connect(addr, proto::ALPN)
            .await
            .map_err(|e| error_chain(&e))?;
        let (send, recv) = conn.open_bi().await.map_err(|e| error_chain(&e))?;
        Ok::<_, String>((conn, send, recv))
    };
    let event = match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok((conn, send, recv))) => NetEvent::Up {
            conn,
            send,
            recv,
            dialer: true,
        },
        Ok(Err(error)) => NetEvent::DialFailed { remote, error },
        Err(_) => NetEvent::DialFailed {
            remote,
            error: format!("no answer within {} ms", timeout.as_millis()),
        },
    };
    let _ = events.send(event).await;
}

/// Accepts connections until the endpoint closes; each one must open its stream within
/// `timeout`.
pub(crate) async fn accept_loop(
    endpoint: Endpoint,
    timeout: Duration,
    events: mpsc::Sender<NetEvent>,
) {
    while let Some(incoming) = endpoint.accept().await {
        let events = events.clone();
        tokio::spawn(async move {
            let attempt = async {
                let conn = incoming
                    .accept()
                    .map_err(|e| error_chain(&e))?
                    .await
                    .map_err(|e| error_chain(&e))?;
                let stream = tokio::time::timeout(timeout, conn.accept_bi()).await;
                match stream {
                    Ok(Ok((send, recv))) => Ok((conn, send, recv)),
                    Ok(Err(e)) => Err(error_chain(&e)),
                    Err(_) => {
                        conn.close(
                            VarInt::from_u32(CLOSE_PROTOCOL_ERROR),
                            b"no stream opened in time",
                        );
                        Err("the peer opened no stream in time".to_owned())
                    }
                }
            };
            match tokio::time::timeout(timeout, attempt).await {
                Ok(Ok((conn, send, recv))) => {
                    let _ = events
                        .send(NetEvent::Up {
                            conn,
                            send,
                            recv,
                            dialer: false,
                        })
                        .await;
                }
                Ok(Err(error)) => tracing::debug!("incoming connection failed: {error}"),
                Err(_) => tracing::debug!("incoming connection timed out in the handshake"),
            }
        });
    }
}

async fn read_loop(
    id: ConnId,
    mut recv: RecvStream,
    events: mpsc::Sender<NetEvent>,
    traffic: Arc<Traffic>,
) {
    loop {
        let event = match frame::read(&mut recv, MAX_FRAME_BYTES).await {
            Ok(Some(payload)) => match proto::decode(&{
                let len = (frame::HEADER_LEN + payload.len()) as u64;
                traffic.received.fetch_add(len, Ordering::Relaxed);
                payload
            }) {
                Ok(msg) => NetEvent::Received { conn: id, msg },
                Err(error) => NetEvent::Malformed { conn: id, error },
            },
            Ok(None) => NetEvent::Down {
                conn: id,
                reason: "the peer ended the stream".to_owned(),
            },
            Err(FrameError::TooLarge { len, max }) => NetEvent::Malformed {
                conn: id,
                error: WireError::TooLarge {
                    len: usize::try_from(len).unwrap_or(usize::MAX),
                    limit: max,
                },
            },
            Err(FrameError::Empty) => NetEvent::Malformed {
                conn: id,
                error: WireError::Postcard(postcard::Error::DeserializeUnexpectedEnd),
            },
            Err(e) => NetEvent::Down {
                conn: id,
                reason: e.to_string(),
            },
        };
        let last = !matches!(event, NetEvent::Received { .. });
        if events.send(event).await.is_err() || last {
            return;
        }
    }
}

async fn write_loop(
    conn: Connection,
    mut send: SendStream,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    queued: Arc<AtomicUsize>,
    traffic: Arc<Traffic>,
) {
    while let Some(out) = rx.recv().await {
        match out {
            Outgoing::Frame(bytes) => {
                let len = bytes.len();
                if frame::write(&mut send, &bytes).await.is_err() {
                    // The connection is gone; its reader reports why.
                    return;
                }
                queued.fetch_sub(len, Ordering::Relaxed);
                traffic.sent.fetch_add(len as u64, Ordering::Relaxed);
            }
            Outgoing::Close(code, reason) => {
                // Let the last frames (a Goodbye) reach the peer before closing.
                let _ = send.finish();
                tokio::select! {
                    _ = send.stopped() => {}
                    _ = conn.closed() => {}
                    _ = tokio::time::sleep(LINGER) => {}
                }
                conn.close(VarInt::from_u32(code), clip(&reason).as_bytes());
                return;
            }
        }
    }
    // The actor dropped the connection without a reason: it is shutting down.
    conn.close(VarInt::from_u32(CLOSE_NORMAL), b"closed");
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
