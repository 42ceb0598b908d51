//! The binary container for documents ([`Doc::encode`](crate::Doc::encode)) and updates
//! ([`Doc::encode_since`](crate::Doc::encode_since)), and its primitives.
//!
//! # Format (version 3)
//!
//! ```text
//! container  "DUET" | format version: u8 = 3 | kind: u8 (0 document, 1 update)
//!            | CRC-32 of the body: u32 little-endian | body
//! body       replicas: varint n, n × u64 little-endian ReplicaId
//!            runs:     varint n, n × (varint replica index, varint first counter, varint len)
//!                      — numbers the body's ops: local versions 0, 1, 2, … in order
//!            ops:      varint n, then four columns, each `varint byte length, bytes`:
//!              heads   per op: varint len << 2 | kind (0 insert, 1 delete, 2 delete backward)
//!              derived the inserts whose origins are not the default (documents: both derived;
//!                      updates: none derived), ascending: varint (inserts skipped since the
//!                      previous one) << 2 | bit 0: left origin derived, bit 1: right derived
//!              refs    per origin not derived, left then right: a ref
//!              targets per delete: documents: varint d << 1 | 0, first target = where the
//!                      previous delete's targets would continue + zigzag(d); or d << 1 | 1,
//!                      first target = op start − 1 − d. Updates: a ref.
//!            content:  varint byte length n, varint packed length p, then p bytes: the UTF-8
//!                      text of every insert in order, as one LZ4 block (p = 0: n plain bytes)
//!            history:  (version 3) authors: varint n, n × (varint replica index, author);
//!                      times: varint n, then two columns: per entry varint (first version it
//!                      dates − the previous entry's), zigzag varint (Unix seconds − the
//!                      previous entry's); versions before the first entry: time unknown.
//!                      Documents: every replica's author; updates: those of the replicas in
//!                      the body, and an entry at the start of every range of the body.
//!            order:    (documents only) varint n, then two columns (`varint byte length,
//!                      bytes`): per span varint len << 1 | deleted; per span zigzag varint
//!                      (first version − end of the previous span). The document order.
//! author     16 id bytes | varint name length, name | varint email length + 1 (0: none), email
//! ref        varint 0: none; 2k + 1: the op (op start − 1 − k) of this body;
//!            2 (updates only): an op outside the body: varint replica index, varint counter
//! ```
//!
//! A *derived* origin is the nearest older character in the document order (see
//! `derive.rs`); for histories without concurrency every origin is derived, so inserts cost
//! their length and no origin at all. Varints are unsigned LEB128. The CRC catches accidental
//! damage; every length, index and reference is checked as well, so no input makes decoding
//! panic. Version 2 (still read) had no history section. Version 1 (still read) had no CRC, a flags byte per insert instead of the `derived`
//! exceptions, plain content, and the whole body deflated (zlib).
//!
//! # Why no general-purpose compressor
//!
//! Version 1 deflated the whole body, and deflate took 80–90% of encoding time: every
//! snapshot and every catch-up of a fresh peer paid for it. The columns are already compact
//! varints (small numbers, most origins implied by the order) that deflate shrank by only a
//! quarter; the bulk of a document is its inserted text. So only the text is compressed, and
//! with LZ4, which packs ~350 MB/s and unpacks several GB/s on this machine's cores: encoding
//! got ~10× faster and decoding no longer inflates anything, for a size that differs from the
//! deflated one by the ratio of LZ4 to deflate on prose. (Diamond Types makes the same choice
//! for its text.) Authors and times (version 3) are a few bytes per author and per time stamp.

use std::borrow::Cow;

/// The container's magic bytes.
pub(crate) const MAGIC: &[u8; 4] = b"DUET";
/// The encoding's format version (written; version 1 is still read).
pub const FORMAT_VERSION: u8 = 3;
/// The first format: no CRC, the whole body deflated.
pub(crate) const V1: u8 = 1;
/// The format before authors and times (same container as version 3).
pub(crate) const V2: u8 = 2;
pub(crate) const KIND_DOC: u8 = 0;
pub(crate) const KIND_UPDATE: u8 = 1;
/// Largest body (version 1, inflated) or content (unpacked) accepted.
const MAX_BODY: usize = 1 << 30;

/// Why bytes could not be decoded.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes do not start with the duet magic.
    #[error("not a duet document (bad magic)")]
    BadMagic,
    /// Written by a newer (or unknown) format version.
    #[error("unsupported format version {0} (this build reads versions 1 to {FORMAT_VERSION})")]
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
    /// The body is damaged: its checksum does not match, or it does not decompress.
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

impl<'a> crate::author::Source<'a> for Reader<'a> {
    type Error = DecodeError;
    fn varint(&mut self) -> Result<u64, DecodeError> {
        Reader::varint(self)
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        Reader::bytes(self, n)
    }
    fn bad(why: &'static str) -> DecodeError {
        DecodeError::Corrupt(why)
    }
}

/// Header bytes of a version 2 container: magic, version, kind, CRC.
const HEADER: usize = 10;

/// A container of `kind` with an empty body, to be filled and then [`seal`]ed.
pub(crate) fn start(kind: u8, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + capacity);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.push(kind);
    out.extend_from_slice(&[0; 4]);
    out
}

/// Writes the body's CRC into a container made by [`start`].
pub(crate) fn seal(mut out: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&out[HEADER..]);
    out[HEADER - 4..HEADER].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Appends the content section: the text, LZ4-packed when that makes it smaller.
pub(crate) fn put_content(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    let packed = lz4_flex::block::compress(text.as_bytes());
    if packed.len() < text.len() {
        put_varint(out, packed.len() as u64);
        out.extend_from_slice(&packed);
    } else {
        put_varint(out, 0);
        out.extend_from_slice(text.as_bytes());
    }
}

/// Reads the content section written by [`put_content`] (version 1: the plain text).
pub(crate) fn read_content<'a>(
    r: &mut Reader<'a>,
    version: u8,
) -> Result<Cow<'a, str>, DecodeError> {
    let not_utf8 = |_| DecodeError::Corrupt("content is not UTF-8");
    if version == V1 {
        let n = r.count()?;
        return std::str::from_utf8(r.bytes(n)?)
            .map(Cow::Borrowed)
            .map_err(not_utf8);
    }
    let n = r.varint()?;
    let packed = r.count()?;
    if packed == 0 {
        let n = usize::try_from(n).map_err(|_| DecodeError::Truncated)?;
        return std::str::from_utf8(r.bytes(n)?)
            .map(Cow::Borrowed)
            .map_err(not_utf8);
    }
    // LZ4 expands at most ~255×: a larger claim is damage, not a reason to allocate.
    if n > MAX_BODY as u64 || n > 255 * packed as u64 + 16 {
        return Err(DecodeError::Corrupt("content length"));
    }
    let mut text = vec![0; n as usize];
    let got = lz4_flex::block::decompress_into(r.bytes(packed)?, &mut text)
        .map_err(|e| DecodeError::Decompress(e.to_string()))?;
    if got != text.len() {
        return Err(DecodeError::Corrupt("content length"));
    }
    String::from_utf8(text)
        .map(Cow::Owned)
        .map_err(|_| DecodeError::Corrupt("content is not UTF-8"))
}

/// Checks a container's header and returns its kind, format version and body (version 1:
/// inflated).
pub(crate) fn open(bytes: &[u8]) -> Result<(u8, u8, Cow<'_, [u8]>), DecodeError> {
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
    let (version, kind) = (bytes[4], bytes[5]);
    match version {
        V1 => inflate_v1(bytes).map(|body| (kind, version, Cow::Owned(body))),
        V2 | FORMAT_VERSION => {
            let crc = bytes.get(6..HEADER).ok_or(DecodeError::Truncated)?;
            let body = &bytes[HEADER..];
            if crc32fast::hash(body).to_le_bytes() != crc {
                return Err(DecodeError::Decompress("checksum mismatch".into()));
            }
            Ok((kind, version, Cow::Borrowed(body)))
        }
        v => Err(DecodeError::UnsupportedVersion(v)),
    }
}

/// The body of a version 1 container: a varint length, then the zlib-deflated body.
fn inflate_v1(bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
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
    Ok(body)
}
