//! The floor: the plain file's text when the store was found damaged, kept until the next
//! save, so that saving never silently writes less than the file had.
//!
//! When opening finds damage, the plain file's text is imported into the document (keeping
//! everything the document had), so the document holds all of it. Until the next save, a
//! save whose text lacks part of the floor fails with [`StoreError::WouldDropText`], saying how
//! much would go; the user confirms ([`Store::confirm_drop`](super::Store::confirm_drop)) or
//! fixes the text. The first successful save removes the floor: from then on the file is the
//! document's export again. A normal store has no floor and pays nothing.
//!
//! # Format (`floor`, format version 3)
//!
//! ```text
//! header     magic "duet-flr", version, document id, check (see `header.rs`)
//! text       the plain file's text (UTF-8, `\n` line endings)
//! checksum   32 bytes: BLAKE3 of everything above
//! ```
//!
//! Written atomically at recovery, so a crash after it keeps the guard.

use std::path::Path;

use similar::DiffOp;

use super::StoreError;
use super::format::{self, Sealed};
use super::header::{self, FileKind};
use super::meta::MetaRead;
use crate::ids::DocId;

/// Reads the floor of document `doc`.
pub fn read(path: &Path, doc: &DocId) -> Result<MetaRead<String>, StoreError> {
    Ok(
        match format::read_sealed(FileKind::Floor, path, Some(doc))? {
            Sealed::Missing => MetaRead::Missing,
            Sealed::Damaged(reason) => MetaRead::Damaged(reason),
            Sealed::Found { body, .. } => match String::from_utf8(body) {
                Ok(text) => MetaRead::Found(text),
                Err(e) => MetaRead::Damaged(format!("its text is not UTF-8: {e}")),
            },
        },
    )
}

/// Writes the floor atomically.
pub fn write(path: &Path, doc: &DocId, text: &str) -> Result<(), StoreError> {
    let mut bytes = header::header(FileKind::Floor, doc).to_vec();
    bytes.extend_from_slice(text.as_bytes());
    format::write_atomic(path, &format::seal(bytes))
}

/// Removes the floor (after a save).
pub fn remove(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("remove", path, e)),
    }
}

/// How much of the floor a text lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// Characters of the floor missing from the text.
    pub chars: usize,
    /// Lines of the floor they touch.
    pub lines: usize,
}

/// What of `floor` is missing from `text`; `None` when all of it is there.
pub fn dropped(floor: &str, text: &str) -> Option<Dropped> {
    if text.contains(floor) {
        return None;
    }
    let old: Vec<char> = floor.chars().collect();
    let new: Vec<char> = text.chars().collect();
    let diff = super::diff::diff_chars(&old, &new);
    let mut gone: Vec<(usize, usize)> = diff
        .iter()
        .filter_map(|hunk| match *hunk {
            DiffOp::Delete {
                old_index, old_len, ..
            } => Some(at_line_start(&old, old_index, old_index + old_len)),
            DiffOp::Replace {
                old_index, old_len, ..
            } => Some((old_index, old_index + old_len)),
            _ => None,
        })
        .collect();
    gone.sort_unstable();
    let chars = gone.iter().map(|(a, b)| b - a).sum();
    if chars == 0 {
        return None;
    }
    // Count the lines of the floor that hold a dropped character.
    let mut lines = 0;
    let mut line = 0;
    let mut last_counted = None;
    let mut ranges = gone.iter().peekable();
    for (i, c) in old.iter().enumerate() {
        while ranges.next_if(|(_, end)| *end <= i).is_some() {}
        if let Some((start, _)) = ranges.peek()
            && *start <= i
            && last_counted != Some(line)
        {
            lines += 1;
            last_counted = Some(line);
        }
        if *c == '\n' {
            line += 1;
        }
    }
    Some(Dropped { chars, lines })
}

/// The deletion of `text[start..end]`, slid (where the same text can be deleted a little
/// earlier or later) to start a line when it can: deleting a line among similar ones is then
/// counted as that one line, not as the tail of one and the head of the next.
fn at_line_start(text: &[char], start: usize, end: usize) -> (usize, usize) {
    let (mut lo, mut hi) = (start, end);
    while lo > 0 && text[lo - 1] == text[hi - 1] {
        lo -= 1;
        hi -= 1;
    }
    loop {
        if lo == 0 || text[lo - 1] == '\n' {
            return (lo, hi);
        }
        if hi >= text.len() || text[lo] != text[hi] {
            return (start, end);
        }
        lo += 1;
        hi += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_text_is_counted_in_chars_and_lines() {
        let floor = "one\ntwo\nthree\nfour\n";
        assert_eq!(dropped(floor, floor), None);
        assert_eq!(dropped(floor, "zero\none\ntwo\nthree\nfour\nfive\n"), None);
        assert_eq!(
            dropped(floor, "one\nfour\n"),
            Some(Dropped {
                chars: 10,
                lines: 2
            })
        );
        assert_eq!(
            dropped(floor, "one\ntwo\nthree\n"),
            Some(Dropped { chars: 5, lines: 1 })
        );
        assert_eq!(
            dropped(floor, ""),
            Some(Dropped {
                chars: 19,
                lines: 4
            })
        );
        // Among lines alike, a deleted line is one line, wherever the diff aligned it.
        let alike = "line 1 text\nline 2 text\nline 3 text\n";
        assert_eq!(
            dropped(alike, "line 1 text\nline 3 text\n"),
            Some(Dropped {
                chars: 12,
                lines: 1
            })
        );
    }

    #[test]
    fn the_floor_round_trips_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("floor");
        let doc = DocId::random();
        write(&path, &doc, "text é\n").unwrap();
        assert!(matches!(read(&path, &doc).unwrap(), MetaRead::Found(t) if t == "text é\n"));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[60] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(read(&path, &doc).unwrap(), MetaRead::Damaged(_)));
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert!(matches!(read(&path, &doc).unwrap(), MetaRead::Missing));
    }
}
