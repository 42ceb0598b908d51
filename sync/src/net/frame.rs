//! Length-prefixed frames on a byte stream (a QUIC bi-stream in production); each frame's
//! payload is one protocol message ([`proto::encode`](crate::proto::encode)).
//!
//! # Wire format
//! Each frame is a 4-byte big-endian length `n` followed by `n` bytes: one postcard-encoded
//! message. `n` must be at least 1 and at most the reader's maximum; a reader that sees a larger
//! length stops reading at once (before buffering anything) and reports
//! [`FrameError::TooLarge`], so a hostile peer cannot make it allocate more than the limit. The
//! stream ends cleanly only between frames; an end inside a frame is [`FrameError::Truncated`].
//! The framing has no version of its own: it is covered by the ALPN (`duet/sync/1`), which
//! changes if this format ever does.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes of the length prefix.
pub const HEADER_LEN: usize = 4;

/// What went wrong reading or writing a frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The announced (or, when sending, the given) frame is larger than allowed.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The frame's size.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A frame announced zero bytes, which no message encodes to.
    #[error("empty frame")]
    Empty,
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame ({got} of {expected} bytes)")]
    Truncated {
        /// Bytes of the frame (header included) that arrived.
        got: u64,
        /// Bytes the frame should have had.
        expected: u64,
    },
    /// The underlying stream failed.
    #[error("stream error: {0}")]
    Io(#[from] std::io::Error),
}

/// Frames `payload` (header + payload), refusing payloads larger than `max` bytes.
pub fn encode(payload: &[u8], max: usize) -> Result<Vec<u8>, FrameError> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&l| l as usize <= max && l > 0)
        .ok_or(if payload.is_empty() {
            FrameError::Empty
        } else {
            FrameError::TooLarge {
                len: payload.len() as u64,
                max,
            }
        })?;
    let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    Ok(frame)
}

/// Writes one frame made by [`encode`].
pub async fn write<W: AsyncWrite + Unpin>(w: &mut W, frame: &[u8]) -> Result<(), FrameError> {
    w.write_all(frame).await?;
    Ok(())
}

/// Reads one frame's payload: `Ok(None)` if the stream ended cleanly before a new frame.
/// Buffers at most `max` bytes, growing as the bytes actually arrive.
pub async fn read<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let n = r.read(&mut header[got..]).await?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(FrameError::Truncated {
                got: got as u64,
                expected: HEADER_LEN as u64,
            });
        }
        got += n;
    }
    let len = u32::from_be_bytes(header) as u64;
    if len > max as u64 {
        return Err(FrameError::TooLarge { len, max });
    }
    if len == 0 {
        return Err(FrameError::Empty);
    }
    // Grow with the data rather than trusting the announced length with an allocation.
    let mut payload = Vec::with_capacity((len as usize).min(64 * 1024));
    let read = r.take(len).read_to_end(&mut payload).await? as u64;
    if read < len {
        return Err(FrameError::Truncated {
            got: HEADER_LEN as u64 + read,
            expected: HEADER_LEN as u64 + len,
        });
    }
    Ok(Some(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn frames_arrive_whole_and_in_order_and_the_stream_ends_cleanly() {
        rt().block_on(async {
            // A small pipe forces frames to cross it in many pieces.
            let (mut a, mut b) = tokio::io::duplex(64);
            let sent: Vec<Vec<u8>> = vec![b"hello".to_vec(), vec![7; 10_000], vec![0]];
            let writer = async {
                for p in &sent {
                    write(&mut a, &encode(p, 1 << 20).unwrap()).await.unwrap();
                }
                drop(a);
            };
            let reader = async {
                let mut got = Vec::new();
                while let Some(p) = read(&mut b, 1 << 20).await.unwrap() {
                    got.push(p);
                }
                got
            };
            let ((), got) = tokio::join!(writer, reader);
            assert_eq!(got, sent);
        });
    }

    #[test]
    fn an_oversized_frame_is_refused_before_its_body_is_read() {
        rt().block_on(async {
            // Announces 1 GiB and sends nothing more: the reader must not wait for or buffer it.
            let mut input: &[u8] = &(1u32 << 30).to_be_bytes();
            let err = read(&mut input, 1 << 20).await.unwrap_err();
            assert!(
                matches!(err, FrameError::TooLarge { len, max } if len == 1 << 30 && max == 1 << 20)
            );
        });
    }

    #[test]
    fn a_sender_cannot_exceed_the_limit_or_send_nothing() {
        assert!(matches!(
            encode(&[1; 101], 100),
            Err(FrameError::TooLarge { len: 101, max: 100 })
        ));
        assert!(encode(&[1; 100], 100).is_ok());
        assert!(matches!(encode(&[], 100), Err(FrameError::Empty)));
    }

    #[test]
    fn a_stream_cut_inside_a_frame_is_truncated_not_a_clean_end() {
        rt().block_on(async {
            let frame = encode(b"bob", 1024).unwrap();
            for cut in 1..frame.len() {
                let mut input = &frame[..cut];
                let err = read(&mut input, 1024).await.unwrap_err();
                assert!(
                    matches!(err, FrameError::Truncated { .. }),
                    "cut {cut}: {err}"
                );
            }
        });
    }

    #[test]
    fn an_empty_frame_is_refused() {
        rt().block_on(async {
            let mut empty: &[u8] = &[0, 0, 0, 0];
            let err = read(&mut empty, 1024).await.unwrap_err();
            assert!(matches!(err, FrameError::Empty), "{err}");
        });
    }
}
