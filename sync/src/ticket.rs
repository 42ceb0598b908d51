//! Tickets: one copy-pasteable string that lets someone join a document.
//!
//! A [`DocTicket`] carries the document id, the document secret (whoever holds the ticket can
//! read and edit the document: share it like a password), how to reach the sharer (its iroh
//! endpoint id, its direct socket addresses and optionally a relay URL) and the name of the
//! sharer's file, so the joiner's copy gets the same name (and the same highlighting).
//!
//! # String format, version 2
//! `duet2` followed by the payload in lowercase RFC 4648 base32 without padding. Parsing is
//! case-insensitive and ignores whitespace (a ticket copied across wrapped terminal rows may
//! carry line breaks). The single digit after `duet` is the ticket format version, so a ticket
//! from a newer duet is recognised and reported as such; version 1 tickets are still read.
//!
//! The payload is the postcard encoding of
//! ```text
//! doc: [u8; 32], secret: [u8; 32], endpoint: [u8; 32],   // ids and the ed25519 public key
//! addrs: Vec<SocketAddr>,                                 // direct addresses of the sharer
//! relay: Option<String>,                                  // relay URL, if the sharer uses one
//! name: Option<String>,                                   // the sharer's file name (version 2)
//! ```
//! A *folder* ticket (a shared folder, `duet serve DIR`) carries the folder's name followed by
//! `/` in `name` (e.g. `project/`); a file ticket's name never ends with `/`. A duet that
//! predates shared folders drops such a name.
//!
//! followed by 4 check bytes: the first 4 bytes of the blake3 hash of what precedes them, so
//! a mistyped or mangled ticket is detected instead of dialing a wrong address. Version 1 is
//! the same without `name`.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use iroh::{EndpointAddr, EndpointId, RelayUrl, TransportAddr};
use serde::{Deserialize, Serialize};

use crate::ids::{DocId, DocSecret};

/// The prefix before the version digit.
const PREFIX: &str = "duet";
/// The ticket format version this code writes (it also reads version 1).
pub const TICKET_VERSION: u32 = 2;
/// The oldest ticket format version this code reads.
const OLDEST_VERSION: u32 = 1;
/// The longest file name a ticket carries (longer ones are left out).
const MAX_NAME: usize = 255;
/// Bytes of checksum after the payload.
const CHECK_LEN: usize = 4;

/// Everything needed to join a shared document.
#[derive(Clone, PartialEq, Eq)]
pub struct DocTicket {
    /// The document.
    pub doc: DocId,
    /// The document's access secret.
    pub secret: DocSecret,
    /// The sharer: endpoint id, direct addresses and optional relay URL.
    pub host: EndpointAddr,
    /// The name of the sharer's file (a bare file name, never a path), if given.
    pub name: Option<String>,
}

/// Why a string is not a usable ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// The string does not start with `duet` and a version digit.
    #[error("not a duet ticket (a ticket starts with `duet1`)")]
    NotATicket,
    /// A ticket of another format version.
    #[error(
        "ticket format version {0} is not supported by this duet (it reads versions \
         {OLDEST_VERSION} to {TICKET_VERSION}); use the same duet version as the sharer"
    )]
    UnsupportedVersion(u32),
    /// A character that is not base32.
    #[error("ticket contains an invalid character at position {position}")]
    BadCharacter {
        /// Index of the offending character in the string given.
        position: usize,
    },
    /// The ticket ends early: part of it was lost when copying.
    #[error("ticket is truncated: part of it is missing (copy the whole line)")]
    Truncated,
    /// The ticket decodes but its check bytes do not match: it was altered.
    #[error("ticket is damaged (checksum mismatch): copy it again")]
    Corrupted,
    /// The endpoint id is not a valid public key.
    #[error("ticket names an invalid endpoint id")]
    InvalidEndpointId,
    /// The relay URL does not parse.
    #[error("ticket carries an invalid relay URL {0:?}")]
    InvalidRelayUrl(String),
}

#[derive(Serialize, Deserialize)]
struct WireV1 {
    doc: [u8; 32],
    secret: [u8; 32],
    endpoint: [u8; 32],
    addrs: Vec<SocketAddr>,
    relay: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WireV2 {
    doc: [u8; 32],
    secret: [u8; 32],
    endpoint: [u8; 32],
    addrs: Vec<SocketAddr>,
    relay: Option<String>,
    name: Option<String>,
}

/// `name` if it is a plain file name a joiner can use as it is: one path component, not `.`
/// or `..`, no control characters, not too long.
pub fn usable_file_name(name: &str) -> Option<&str> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > MAX_NAME
        || name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    (!bad).then_some(name)
}

impl DocTicket {
    /// A ticket for `doc` hosted at `host`.
    pub fn new(doc: DocId, secret: DocSecret, host: EndpointAddr) -> Self {
        DocTicket {
            doc,
            secret,
            host,
            name: None,
        }
    }

    /// The same ticket carrying the sharer's file name (left out unless it is a usable
    /// file name).
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = usable_file_name(name).map(str::to_owned);
        self
    }

    /// The same ticket, for a shared folder named `name` (see the module docs).
    pub fn with_folder_name(mut self, name: &str) -> Self {
        let name = usable_file_name(name).unwrap_or("shared");
        self.name = Some(format!("{name}/"));
        self
    }

    /// Whether the ticket is for a shared folder; its name if so.
    pub fn folder_name(&self) -> Option<&str> {
        self.name.as_deref()?.strip_suffix('/')
    }

    /// The sharer's endpoint id.
    pub fn endpoint_id(&self) -> EndpointId {
        self.host.id
    }

    /// The sharer's direct addresses.
    pub fn direct_addrs(&self) -> impl Iterator<Item = &SocketAddr> {
        self.host.ip_addrs()
    }

    /// The sharer's relay URL, if it gave one.
    pub fn relay(&self) -> Option<&RelayUrl> {
        self.host.relay_urls().next()
    }

    /// The binary payload (checksum included), as described in the module docs.
    fn to_bytes(&self) -> Vec<u8> {
        let wire = WireV2 {
            doc: self.doc.0,
            secret: self.secret.0,
            endpoint: *self.host.id.as_bytes(),
            addrs: self.host.ip_addrs().copied().collect(),
            relay: self.relay().map(|r| r.to_string()),
            name: self.name.clone(),
        };
        let mut bytes = postcard::to_stdvec(&wire).unwrap_or_default();
        let check = blake3::hash(&bytes);
        bytes.extend_from_slice(&check.as_bytes()[..CHECK_LEN]);
        bytes
    }

    fn from_bytes(bytes: &[u8], version: u32) -> Result<Self, TicketError> {
        let taken = if version == 1 {
            postcard::take_from_bytes::<WireV1>(bytes).map(|(w, rest)| {
                let wire = WireV2 {
                    doc: w.doc,
                    secret: w.secret,
                    endpoint: w.endpoint,
                    addrs: w.addrs,
                    relay: w.relay,
                    name: None,
                };
                (wire, rest)
            })
        } else {
            postcard::take_from_bytes::<WireV2>(bytes)
        };
        let (wire, rest) = match taken {
            Ok(v) => v,
            Err(postcard::Error::DeserializeUnexpectedEnd) => return Err(TicketError::Truncated),
            Err(_) => return Err(TicketError::Corrupted),
        };
        if rest.len() < CHECK_LEN {
            return Err(TicketError::Truncated);
        }
        let payload = &bytes[..bytes.len() - rest.len()];
        if rest.len() > CHECK_LEN || blake3::hash(payload).as_bytes()[..CHECK_LEN] != *rest {
            return Err(TicketError::Corrupted);
        }
        let id =
            EndpointId::from_bytes(&wire.endpoint).map_err(|_| TicketError::InvalidEndpointId)?;
        let mut addrs: Vec<TransportAddr> = wire.addrs.into_iter().map(TransportAddr::Ip).collect();
        if let Some(relay) = wire.relay {
            let url =
                RelayUrl::from_str(&relay).map_err(|_| TicketError::InvalidRelayUrl(relay))?;
            addrs.push(TransportAddr::Relay(url));
        }
        Ok(DocTicket {
            doc: DocId(wire.doc),
            secret: DocSecret(wire.secret),
            host: EndpointAddr::from_parts(id, addrs),
            name: wire
                .name
                .filter(|n| usable_file_name(n.strip_suffix('/').unwrap_or(n)).is_some()),
        })
    }
}

impl fmt::Display for DocTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = format!("{PREFIX}{TICKET_VERSION}");
        data_encoding::BASE32_NOPAD.encode_append(&self.to_bytes(), &mut s);
        s.make_ascii_lowercase();
        f.write_str(&s)
    }
}

/// Never prints the secret: tickets end up in logs.
impl fmt::Debug for DocTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocTicket")
            .field("doc", &self.doc)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl FromStr for DocTicket {
    type Err = TicketError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Whitespace anywhere is dropped (a ticket copied across wrapped rows); positions in
        // errors count the characters that remain.
        let lower: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        let rest = lower.strip_prefix(PREFIX).ok_or(TicketError::NotATicket)?;
        // One digit: base32 bodies may themselves start with a digit (2-7).
        let version = rest
            .chars()
            .next()
            .and_then(|c| c.to_digit(10))
            .ok_or(TicketError::NotATicket)?;
        if !(OLDEST_VERSION..=TICKET_VERSION).contains(&version) {
            return Err(TicketError::UnsupportedVersion(version));
        }
        let body = &rest[1..];
        let body_start = PREFIX.len() + 1;
        if let Some(i) = body
            .bytes()
            .position(|b| !matches!(b, b'a'..=b'z' | b'2'..=b'7'))
        {
            return Err(TicketError::BadCharacter {
                position: body_start + i,
            });
        }
        let bytes = data_encoding::BASE32_NOPAD
            .decode(body.to_ascii_uppercase().as_bytes())
            .map_err(|e| match e.kind {
                data_encoding::DecodeKind::Length | data_encoding::DecodeKind::Trailing => {
                    TicketError::Truncated
                }
                _ => TicketError::BadCharacter {
                    position: body_start + e.position,
                },
            })?;
        DocTicket::from_bytes(&bytes, version)
    }
}

impl Serialize for DocTicket {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DocTicket {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(seed: u8) -> EndpointId {
        iroh::SecretKey::from_bytes(&[seed; 32]).public()
    }

    fn sample(relay: bool) -> DocTicket {
        let mut host = EndpointAddr::new(endpoint(9))
            .with_ip_addr("127.0.0.1:4242".parse().unwrap())
            .with_ip_addr("[::1]:4243".parse().unwrap())
            .with_ip_addr("192.168.1.20:4242".parse().unwrap());
        if relay {
            host = host.with_relay_url("https://relay.example.com./".parse().unwrap());
        }
        DocTicket::new(DocId([1; 32]), DocSecret([2; 32]), host)
    }

    #[test]
    fn a_ticket_round_trips_through_its_string() {
        for relay in [false, true] {
            let ticket = sample(relay);
            let s = ticket.to_string();
            assert!(s.starts_with("duet2"), "{s}");
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            );
            let back: DocTicket = s.parse().unwrap();
            assert_eq!(back, ticket);
            assert_eq!(back.relay().is_some(), relay);
            // Pasted with whitespace or shouted: still fine.
            let pasted: DocTicket = format!("  {}\n", s.to_uppercase()).parse().unwrap();
            assert_eq!(pasted, ticket);
        }
    }

    #[test]
    fn tickets_of_any_content_round_trip() {
        // Bodies starting with a base32 digit must not be mistaken for a longer version.
        for seed in 0..=255u8 {
            let host = EndpointAddr::new(endpoint(seed.max(1)))
                .with_ip_addr(SocketAddr::from(([10, 0, seed, 1], 1000 + u16::from(seed))));
            let t = DocTicket::new(DocId([seed; 32]), DocSecret([!seed; 32]), host);
            assert_eq!(t.to_string().parse::<DocTicket>(), Ok(t));
        }
    }

    #[test]
    fn a_ticket_without_addresses_still_names_the_host() {
        let t = DocTicket::new(
            DocId([3; 32]),
            DocSecret([4; 32]),
            EndpointAddr::new(endpoint(5)),
        );
        let back: DocTicket = t.to_string().parse().unwrap();
        assert_eq!(back.endpoint_id(), endpoint(5));
        assert_eq!(back.direct_addrs().count(), 0);
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let dbg = format!("{:?}", sample(false));
        assert!(!dbg.contains(&format!("{:?}", [2u8; 32])));
        assert!(!dbg.contains("secret"), "{dbg}");
    }

    #[test]
    fn every_truncation_is_reported_as_truncated() {
        let s = sample(true).to_string();
        for cut in "duet2".len() + 1..s.len() {
            let err = s[..cut].parse::<DocTicket>().unwrap_err();
            assert_eq!(err, TicketError::Truncated, "cut at {cut} of {}", s.len());
        }
    }

    #[test]
    fn a_changed_character_is_detected() {
        let s = sample(false).to_string();
        for i in "duet2".len()..s.len() {
            let mut b = s.clone().into_bytes();
            b[i] = if b[i] == b'a' { b'b' } else { b'a' };
            let altered = String::from_utf8(b).unwrap();
            let err = altered.parse::<DocTicket>().unwrap_err();
            assert!(
                matches!(
                    err,
                    TicketError::Corrupted
                        | TicketError::Truncated
                        | TicketError::InvalidEndpointId
                        | TicketError::InvalidRelayUrl(_)
                ),
                "position {i}: {err:?}"
            );
        }
    }

    #[test]
    fn wrong_strings_give_clear_errors() {
        assert_eq!(
            "".parse::<DocTicket>().unwrap_err(),
            TicketError::NotATicket
        );
        assert_eq!(
            "endpointabc".parse::<DocTicket>().unwrap_err(),
            TicketError::NotATicket
        );
        assert_eq!(
            "duetabc".parse::<DocTicket>().unwrap_err(),
            TicketError::NotATicket
        );
        assert_eq!(
            "duet3aaaa".parse::<DocTicket>().unwrap_err(),
            TicketError::UnsupportedVersion(3)
        );
        let s = sample(false).to_string();
        let with_bad = format!("{}!{}", &s[..10], &s[11..]);
        assert_eq!(
            with_bad.parse::<DocTicket>().unwrap_err(),
            TicketError::BadCharacter { position: 10 }
        );
        let msg = TicketError::UnsupportedVersion(3).to_string();
        assert!(msg.contains("version 3"), "{msg}");
    }

    #[test]
    fn a_folder_ticket_says_so_and_a_file_ticket_does_not() {
        let t = sample(false).with_folder_name("project");
        let back: DocTicket = t.to_string().parse().unwrap();
        assert_eq!(back.folder_name(), Some("project"));
        let file: DocTicket = sample(false)
            .with_name("notes.md")
            .to_string()
            .parse()
            .unwrap();
        assert_eq!(file.folder_name(), None);
    }

    #[test]
    fn the_file_name_travels_and_only_a_plain_name_is_kept() {
        let t = sample(false).with_name("notes.md");
        let back: DocTicket = t.to_string().parse().unwrap();
        assert_eq!(back.name.as_deref(), Some("notes.md"));
        for bad in ["../x", "/etc/passwd", "..", "a\nb", ""] {
            assert_eq!(sample(false).with_name(bad).name, None, "{bad:?}");
        }
        // Wrapped across rows when copied: still the same ticket.
        let s = t.to_string();
        let wrapped = format!("{}\n{}\r\n  {}", &s[..40], &s[40..90], &s[90..]);
        assert_eq!(wrapped.parse::<DocTicket>(), Ok(t));
    }

    #[test]
    fn version_1_tickets_are_still_read() {
        let t = sample(true);
        let wire = WireV1 {
            doc: t.doc.0,
            secret: t.secret.0,
            endpoint: *t.host.id.as_bytes(),
            addrs: t.host.ip_addrs().copied().collect(),
            relay: t.relay().map(|r| r.to_string()),
        };
        let mut bytes = postcard::to_stdvec(&wire).unwrap();
        let check = blake3::hash(&bytes);
        bytes.extend_from_slice(&check.as_bytes()[..CHECK_LEN]);
        let s = format!("duet1{}", data_encoding::BASE32_NOPAD.encode(&bytes));
        assert_eq!(s.parse::<DocTicket>(), Ok(t));
    }

    #[test]
    fn tickets_serialize_as_their_string() {
        let t = sample(true);
        let bytes = postcard::to_stdvec(&t).unwrap();
        let back: DocTicket = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, t);
    }
}
