//! The binary container for documents ([`Doc::encode`](crate::Doc::encode)) and updates
//! ([`Doc::encode_since`](crate::Doc::encode_since)), and its primitives.
//!
//! # Format (version 1)
//!
//! ```text
//! container  "DUET" | format version: u8 = 1 | kind: u8 (0 document, 1 update)
//!            | body length: varint | zlib(body)
//! body       replicas: varint n, n × u64 little-endian ReplicaId
//!            runs:     varint n, n × (varint replica index, varint first counter, varint len)
//!                      — numbers the body's ops: local versions 0, 1, 2, … in order
//!            ops:      varint n, then four columns, each `varint byte length, bytes`:
//!              heads   per op: varint len << 2 | kind (0 insert, 1 delete, 2 delete backward)
//!              derived per insert: varint bit 0: left origin derived, bit 1: right derived
//!              refs    per origin not derived, left then right: a ref
//!              targets per delete: documents: varint d << 1 | 0, first target = where the
//!                      previous delete's targets would continue + zigzag(d); or d << 1 | 1,
//!                      first target = op start − 1 − d. Updates: a ref.
//!            content:  varint byte length, the UTF-8 text of every insert in order
//!            order:    (documents only) varint n, then two columns (`varint byte length,
//!                      bytes`): per span varint len << 1 | deleted; per span zigzag varint
//!                      (first version − end of the previous span). The document order.
//! ref        varint 0: none; 2k + 1: the op (op start − 1 − k) of this body;
//!            2 (updates only): an op outside the body: varint replica index, varint counter
//! ```
//!
//! A *derived* origin is the nearest older character in the document order (see
//! `derive.rs`); for histories without concurrency every origin is derived, so inserts cost
//! their length and two bits. Varints are unsigned LEB128. The zlib Adler-32 checksum catches
//! accidental damage; every length, index and reference is checked as well, so no input makes
//! decoding panic.

/// The container's magic bytes.
pub(crate) const MAGIC: &[u8; 4] = b"DUET";
/// The encoding's format version.
pub const FORMAT_VERSION: u8 = 1;
pub(crate) const KIND_DOC: u8 = 0;
pub(crate) const KIND_UPDATE: u8 = 1;
/// Largest body accepted (uncompressed).
const MAX_BODY: usize = 1 << 30;

/// Why bytes could not be decoded.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes do not start with the duet magic.
    #[error("not a duet document (bad magic)")]
    BadMagic,
    /// Written by a newer (or unknown) format version.
    #[error("unsupported format version {0} (this build reads version {FORMAT_VERSION})")]
    UnsupportedVersion(u8),
    /// A document was expected and this is an update, or the other way round.
    #[error("expected a {expected}, found kind {found}")]
    WrongKind {
        /// What the caller asked for.
        expected: &'static str,
        /// The kind byte found.
        found: u8,
    },
    /// The input ends early.
    #[error("truncated input")]
    Truncated,
    /// The compressed body is damaged.
    #[error("damaged body: {0}")]
    Decompress(String),
    /// The body decodes but is inconsistent.
    #[error("corrupt document: {0}")]
    Corrupt(&'static str),
    /// An update's op could not be applied.
    #[error("update op rejected: {0}")]
    Rejected(#[from] crate::ApplyError),
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends a column: its byte length, then its bytes.
pub(crate) fn put_column(out: &mut Vec<u8>, column: &[u8]) {
    put_varint(out, column.len() as u64);
    out.extend_from_slice(column);
}

/// A cursor over bytes that reports running out as [`DecodeError::Truncated`].
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or(DecodeError::Truncated)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(DecodeError::Corrupt("varint too long"))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.varint()?).map_err(|_| DecodeError::Corrupt("number too large"))
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    /// A count of items that each take at least one byte: bounded by the bytes left.
    pub(crate) fn count(&mut self) -> Result<usize, DecodeError> {
        let n = self.varint()?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(DecodeError::Truncated);
        }
        Ok(n as usize)
    }

    /// A column written by [`put_column`], as its own reader.
    pub(crate) fn column(&mut self) -> Result<Reader<'a>, DecodeError> {
        let n = self.count()?;
        Ok(Reader::new(self.bytes(n)?))
    }

    pub(crate) fn is_done(&self) -> bool {
        self.pos == self.buf.len()
    }
}

/// Compresses a body into a container.
pub(crate) fn wrap(kind: u8, body: &[u8]) -> Vec<u8> {
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(body, 6);
    let mut out = Vec::with_capacity(packed.len() + 16);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.push(kind);
    put_varint(&mut out, body.len() as u64);
    out.extend_from_slice(&packed);
    out
}

/// Checks a container's header and inflates its body.
pub(crate) fn unwrap(bytes: &[u8]) -> Result<(u8, Vec<u8>), DecodeError> {
    if bytes.len() < 6 {
        return Err(if bytes.starts_with(&MAGIC[..bytes.len().min(4)]) {
            DecodeError::Truncated
        } else {
            DecodeError::BadMagic
        });
    }
    if &bytes[..4] != MAGIC {
        return Err(DecodeError::BadMagic);
    }
    if bytes[4] != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion(bytes[4]));
    }
    let kind = bytes[5];
    let mut r = Reader { buf: bytes, pos: 6 };
    let len = r.varint()?;
    if len > MAX_BODY as u64 {
        return Err(DecodeError::Corrupt("body too large"));
    }
    let body =
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&bytes[r.pos..], len as usize)
            .map_err(|e| DecodeError::Decompress(format!("{:?}", e.status)))?;
    if body.len() as u64 != len {
        return Err(DecodeError::Corrupt("body length mismatch"));
    }
    Ok((kind, body))
}
