//! How the manifest travels: as a text document of its own, the *manifest log*, whose lines
//! are manifest deltas. Peers sync it like any text (catch-up by version vector, acks,
//! durability, repair), so the manifest needs no message of its own in the protocol.
//!
//! # Layout (manifest log format version 1)
//!
//! One line per delta: the unpadded standard base64 of [`ManifestDelta::encode`] (which starts
//! with its own format version), then `\n`. Lines are only ever appended, each with one text
//! operation, so a line is never interleaved with another (Fugue keeps concurrent inserts at
//! one place apart). Because merging deltas is a join, the manifest is the merge of every line
//! whatever their order; a reader applies each line it has not seen yet ([`LogReader`]). A
//! line that does not decode (a newer duet, damage) is reported and skipped, never applied in
//! part.

use std::collections::HashSet;

use data_encoding::BASE64_NOPAD;

use super::format::ManifestFormatError;
use super::manifest::ManifestDelta;

/// The log line of `delta`, newline included.
pub fn log_line(delta: &ManifestDelta) -> String {
    let mut line = BASE64_NOPAD.encode(&delta.encode());
    line.push('\n');
    line
}

/// A line of the log that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogLineError {
    /// Not base64.
    #[error("a manifest log line is not base64")]
    NotBase64,
    /// Not a manifest delta of a known format.
    #[error(transparent)]
    Format(#[from] ManifestFormatError),
}

/// Reads the manifest log: the deltas of lines not read before.
#[derive(Debug, Default)]
pub struct LogReader {
    seen: HashSet<[u8; 16]>,
}

impl LogReader {
    /// The deltas in `log` not read before (merged into one), and the lines that could not be
    /// read (each reported once).
    pub fn read(&mut self, log: &str) -> (ManifestDelta, Vec<LogLineError>) {
        let mut delta = ManifestDelta::default();
        let mut errors = Vec::new();
        // Only complete lines: a line is inserted with its newline in one operation.
        for line in log.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
            let line = &line[..line.len() - 1];
            let mut key = [0u8; 16];
            key.copy_from_slice(&blake3::hash(line.as_bytes()).as_bytes()[..16]);
            if !self.seen.insert(key) {
                continue;
            }
            match BASE64_NOPAD.decode(line.as_bytes()) {
                Err(_) => errors.push(LogLineError::NotBase64),
                Ok(bytes) => match ManifestDelta::decode(&bytes) {
                    Ok(d) => delta.merge(&d),
                    Err(e) => errors.push(e.into()),
                },
            }
        }
        (delta, errors)
    }
}

#[cfg(test)]
mod tests {
    use crdt_text::ReplicaId;

    use super::*;
    use crate::folder::Manifest;

    #[test]
    fn lines_read_in_any_order_give_one_manifest_and_each_is_read_once() {
        let mut alice = Manifest::new(ReplicaId::from(1), "alice");
        let (_, one) = alice.create("a.md").unwrap();
        let (_, two) = alice.create("docs/b.md").unwrap();
        let log = format!("{}{}", log_line(&two), log_line(&one));
        let mut reader = LogReader::default();
        let (delta, errors) = reader.read(&log);
        assert!(errors.is_empty());
        let mut bob = Manifest::new(ReplicaId::from(2), "bob");
        let _ = bob.apply(&delta).unwrap();
        assert_eq!(bob.tree(), alice.tree());
        let (again, _) = reader.read(&log);
        assert!(again.is_empty(), "nothing new the second time");
    }

    #[test]
    fn a_bad_line_is_reported_and_the_others_still_apply() {
        let mut alice = Manifest::new(ReplicaId::from(1), "alice");
        let (_, one) = alice.create("a.md").unwrap();
        let log = format!("not base64!\n{}half a line", log_line(&one));
        let (delta, errors) = LogReader::default().read(&log);
        assert_eq!(errors, vec![LogLineError::NotBase64]);
        assert_eq!(delta, one);
    }
}
