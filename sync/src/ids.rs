//! Identities: the public [`DocId`] that names a shared document, the [`DocSecret`] that
//! proves a peer was invited to it, and the [`PeerId`] of a peer on the network.
//!
//! Each is 32 bytes. The document id is not secret (it appears in file headers and logs,
//! printed as 64 lowercase hex digits); the secret is, so its `Debug` output never shows the
//! bytes and it has no `Display`. A peer id is the public key of an iroh endpoint; people see
//! it in one short form only ([`PeerId::short`], also its `Display`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The id of a shared document: 32 random bytes, the same on every peer. Displayed and parsed
/// as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocId(pub [u8; 32]);

/// The secret shared by the peers of a document (carried in its tickets). Its `Debug` output
/// is redacted so it never ends up in a log by accident.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DocSecret(pub [u8; 32]);

/// A peer on the network: the public key of its iroh endpoint (what the transport
/// authenticates). Displayed in its short form, the first 8 hex digits, wherever a person
/// reads it; [`PeerId::to_hex`] gives all 64.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PeerId(pub [u8; 32]);

impl PeerId {
    /// Digits in the short form: enough to tell peers apart on one screen.
    pub const SHORT_LEN: usize = 8;

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The short form people see: the first [`PeerId::SHORT_LEN`] hex digits.
    pub fn short(&self) -> String {
        let mut hex = self.to_hex();
        hex.truncate(Self::SHORT_LEN);
        hex
    }

    /// All 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(&self.0)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.short())
    }
}

impl From<iroh::EndpointId> for PeerId {
    fn from(id: iroh::EndpointId) -> Self {
        PeerId(*id.as_bytes())
    }
}

impl DocId {
    /// A fresh random id.
    pub fn random() -> Self {
        DocId(rand::random())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl DocSecret {
    /// A fresh random secret.
    pub fn random() -> Self {
        DocSecret(rand::random())
    }

    /// The raw bytes (handle with care: this is the invitation secret).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&data_encoding::HEXLOWER.encode(&self.0))
    }
}

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({self})")
    }
}

impl fmt::Debug for DocSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DocSecret(<redacted>)")
    }
}

/// Why a string is not a [`DocId`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseDocIdError {
    /// The string does not have exactly 64 characters.
    #[error("a document id has 64 hex digits, not {0} characters")]
    Length(usize),
    /// A character is not a lowercase or uppercase hex digit.
    #[error("a document id is hex, but character {index} is {found:?}")]
    NotHex {
        /// Char index of the offending character.
        index: usize,
        /// The offending character.
        found: char,
    },
}

impl FromStr for DocId {
    type Err = ParseDocIdError;

    /// Parses 64 hex digits (either case; `Display` prints lowercase).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let count = s.chars().count();
        if count != 64 {
            return Err(ParseDocIdError::Length(count));
        }
        let mut bytes = [0u8; 32];
        let mut digits = s.chars().enumerate().map(|(index, found)| {
            found
                .to_digit(16)
                .map(|d| d as u8)
                .ok_or(ParseDocIdError::NotHex { index, found })
        });
        for byte in &mut bytes {
            let hi = digits.next().ok_or(ParseDocIdError::Length(count))??;
            let lo = digits.next().ok_or(ParseDocIdError::Length(count))??;
            *byte = hi << 4 | lo;
        }
        Ok(DocId(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_id_round_trips_through_lowercase_hex() {
        let id = DocId::random();
        let text = id.to_string();
        assert_eq!(text.len(), 64);
        assert!(
            text.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(text.parse::<DocId>(), Ok(id));
        assert_eq!(text.to_uppercase().parse::<DocId>(), Ok(id));
    }

    #[test]
    fn doc_id_display_is_big_endian_byte_order() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let text = DocId(bytes).to_string();
        assert!(text.starts_with("ab00"));
        assert!(text.ends_with("0001"));
    }

    #[test]
    fn malformed_doc_ids_are_rejected_with_the_reason() {
        assert_eq!("abc".parse::<DocId>(), Err(ParseDocIdError::Length(3)));
        let mut bad = "0".repeat(64);
        bad.replace_range(10..11, "g");
        assert_eq!(
            bad.parse::<DocId>(),
            Err(ParseDocIdError::NotHex {
                index: 10,
                found: 'g'
            })
        );
        let wide = "é".repeat(64);
        assert!(matches!(
            wide.parse::<DocId>(),
            Err(ParseDocIdError::NotHex { index: 0, .. })
        ));
    }

    #[test]
    fn a_peer_id_shows_its_short_form() {
        let mut bytes = [0x11; 32];
        bytes[0] = 0xab;
        let id = PeerId(bytes);
        assert_eq!(id.to_string(), "ab111111");
        assert_eq!(format!("{id:?}"), "PeerId(ab111111)");
        assert_eq!(id.to_hex().len(), 64);
    }

    #[test]
    fn random_ids_and_secrets_differ() {
        assert_ne!(DocId::random(), DocId::random());
        assert_ne!(DocSecret::random(), DocSecret::random());
    }

    #[test]
    fn secret_debug_output_hides_the_bytes() {
        let secret = DocSecret([0x5a; 32]);
        let shown = format!("{secret:?}");
        assert!(!shown.contains("5a") && !shown.contains("90"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn ids_survive_postcard() {
        let id = DocId::random();
        let secret = DocSecret::random();
        let bytes = postcard::to_stdvec(&(id, secret.clone())).unwrap();
        let back: (DocId, DocSecret) = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, (id, secret));
    }
}
