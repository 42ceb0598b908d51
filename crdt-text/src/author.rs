//! Who wrote an edit and when: the recorded history that travels with the ops.
//!
//! A replica id changes (after a crash, in a copied store, on another machine), a person does
//! not: each replica records once which [`Author`] it edits for, and two replicas with the
//! same [`AuthorId`] are one author. Times are the author's wall clock in whole seconds,
//! recorded per run of ops (see [`TIME_GRAIN`]), not per character.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A local edit gets a new time stamp only when the clock moved this many seconds or more
/// since the replica's last one (or went backwards); until then its edits share the last
/// stamp, so recorded times are up to a minute early. A keystroke then costs no time bytes,
/// and a stamp (≈ 6 bytes on the wire, 3 in an encoded document) comes at most once a minute
/// of typing: a stamp every 10 s grew the encoded automerge-paper typed session by 10.6 %,
/// one a minute by the figure in the README.
pub const TIME_GRAIN: u64 = 60;

/// Longest author name or email kept, in bytes (longer ones are cut at a char boundary
/// locally and refused from the wire).
pub const MAX_AUTHOR_FIELD: usize = 256;

/// A stable identity of a person, the same for all their replicas: 16 bytes derived from the
/// user's identity key (duet: `sync::identity`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AuthorId(pub [u8; 16]);

impl fmt::Debug for AuthorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "A{self}")
    }
}

impl fmt::Display for AuthorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The person a replica edits for.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Author {
    /// Stable across the person's replicas.
    pub id: AuthorId,
    /// Display name (at most [`MAX_AUTHOR_FIELD`] bytes).
    pub name: String,
    /// Email, if the person gave one (at most [`MAX_AUTHOR_FIELD`] bytes).
    pub email: Option<String>,
}

impl Author {
    /// An author, with name and email cut to [`MAX_AUTHOR_FIELD`] bytes.
    pub fn new(id: AuthorId, name: &str, email: Option<&str>) -> Author {
        Author {
            id,
            name: cut(name).to_owned(),
            email: email.map(|e| cut(e).to_owned()),
        }
    }
}

fn cut(s: &str) -> &str {
    if s.len() <= MAX_AUTHOR_FIELD {
        return s;
    }
    let mut end = MAX_AUTHOR_FIELD;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The recorded history an [`Op`](crate::Op) carries, when it has any: a time stamp when its
/// replica's time changed, its replica's author when that is news to the receiver.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct OpMeta {
    /// When the op (and the replica's later ops without a stamp) was made: Unix seconds of
    /// the author's clock.
    pub time: Option<u64>,
    /// Who the op's replica edits for.
    pub author: Option<Author>,
}

/// Appends an author: 16 id bytes, varint name length and name, varint (email length + 1, or
/// 0 for none) and email.
pub(crate) fn put_author(out: &mut Vec<u8>, a: &Author) {
    use crate::codec::put_varint;
    out.extend_from_slice(&a.id.0);
    put_varint(out, a.name.len() as u64);
    out.extend_from_slice(a.name.as_bytes());
    match &a.email {
        None => put_varint(out, 0),
        Some(e) => {
            put_varint(out, e.len() as u64 + 1);
            out.extend_from_slice(e.as_bytes());
        }
    }
}

/// An input [`read_author`] reads from (the codec's reader and the wire's).
pub(crate) trait Source<'a> {
    type Error;
    fn varint(&mut self) -> Result<u64, Self::Error>;
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Self::Error>;
    fn bad(why: &'static str) -> Self::Error;
}

/// Reads what [`put_author`] wrote.
pub(crate) fn read_author<'a, S: Source<'a>>(r: &mut S) -> Result<Author, S::Error> {
    let id: [u8; 16] = r.bytes(16)?.try_into().map_err(|_| S::bad("author id"))?;
    let n = r.varint()?;
    if n > MAX_AUTHOR_FIELD as u64 {
        return Err(S::bad("author name too long"));
    }
    let name = std::str::from_utf8(r.bytes(n as usize)?).map_err(|_| S::bad("author name"))?;
    let name = name.to_owned();
    let e = r.varint()?;
    if e > MAX_AUTHOR_FIELD as u64 + 1 {
        return Err(S::bad("author email too long"));
    }
    let email = match e {
        0 => None,
        e => Some(
            std::str::from_utf8(r.bytes(e as usize - 1)?)
                .map_err(|_| S::bad("author email"))?
                .to_owned(),
        ),
    };
    Ok(Author {
        id: AuthorId(id),
        name,
        email,
    })
}
