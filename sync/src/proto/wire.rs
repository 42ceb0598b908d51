//! Encoding and decoding of one [`Message`] (one frame's payload); format in [`super::msg`].

use super::{MAX_FRAME_BYTES, Message, PROTOCOL_VERSION};

/// Why bytes are not a valid message.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum WireError {
    /// The frame is longer than [`MAX_FRAME_BYTES`].
    #[error("frame of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The frame's length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A `Hello` of another protocol version, whose layout may differ from ours.
    #[error("peer speaks protocol version {0}, we speak version {PROTOCOL_VERSION}")]
    UnsupportedVersion(u32),
    /// The bytes are not a postcard-encoded message.
    #[error("undecodable message: {0}")]
    Postcard(#[from] postcard::Error),
    /// A message was followed by extra bytes in the same frame.
    #[error("{0} unexpected bytes after the message")]
    TrailingBytes(usize),
}

/// Encodes `msg` as one frame payload. Fails only for messages larger than a frame, which
/// [`Peer`](super::Peer) never produces.
pub fn encode(msg: &Message) -> Result<Vec<u8>, WireError> {
    let bytes = postcard::to_stdvec(msg)?;
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge {
            len: bytes.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    Ok(bytes)
}

/// Decodes one frame payload. Never panics, whatever the bytes.
pub fn decode(bytes: &[u8]) -> Result<Message, WireError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge {
            len: bytes.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    match postcard::take_from_bytes::<Message>(bytes) {
        Ok((msg, [])) => Ok(msg),
        Ok((Message::Hello(h), _)) if h.version != PROTOCOL_VERSION => {
            Err(WireError::UnsupportedVersion(h.version))
        }
        Ok((_, rest)) => Err(WireError::TrailingBytes(rest.len())),
        Err(e) => Err(foreign_hello_version(bytes)
            .map_or(WireError::Postcard(e), WireError::UnsupportedVersion)),
    }
}

/// If `bytes` starts like a `Hello` (variant 0, then the version varint) of another version,
/// that version.
fn foreign_hello_version(bytes: &[u8]) -> Option<u32> {
    let (variant, rest) = postcard::take_from_bytes::<u32>(bytes).ok()?;
    if variant != 0 {
        return None;
    }
    let (version, _) = postcard::take_from_bytes::<u32>(rest).ok()?;
    (version != PROTOCOL_VERSION).then_some(version)
}
