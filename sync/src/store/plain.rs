//! The plain text file: duet's export of the document, and a way in for edits made by other
//! programs.
//!
//! The document always holds `\n` line endings. The file keeps its own: a file whose line
//! breaks are mostly `\r\n` is read with `\r\n` → `\n` and written back with `\n` → `\r\n`;
//! any other file is taken byte for byte. A UTF-8 byte order mark is stripped on import and
//! restored on export. How the file is written is in `save.rs`.
//!
//! Any text file up to [`MAX_PLAIN_FILE`] opens: an import makes one op per
//! [`IMPORT_CHUNK`] characters, and the log cuts them into frames.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crdt_text::{Doc, Op};
use serde::{Deserialize, Serialize};
use similar::DiffOp;

use super::StoreError;

const BOM: &str = "\u{feff}";

/// The largest plain file duet opens (1 GiB): the document, its history and a diff must fit in
/// memory several times over. A larger file is refused with [`StoreError::FileTooLarge`].
pub const MAX_PLAIN_FILE: u64 = 1 << 30;

/// Characters per op that an import makes, so that no op outgrows a log frame.
const IMPORT_CHUNK: usize = 1 << 18;

/// How lines end in the plain file.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum LineEnding {
    /// `\n` (Unix).
    Lf,
    /// `\r\n` (Windows).
    CrLf,
}

/// The plain file's content, as the document sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainText {
    /// The text with `\n` line endings and no byte order mark.
    pub text: String,
    /// The file's line endings.
    pub line_ending: LineEnding,
    /// Whether the file starts with a byte order mark.
    pub bom: bool,
    /// BLAKE3 of the file's bytes.
    pub hash: [u8; 32],
}

/// Reads the plain file; `None` if it does not exist.
pub fn read(path: &Path) -> Result<Option<PlainText>, StoreError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", path, e)),
    };
    let too_large = |bytes: u64| StoreError::FileTooLarge {
        path: path.to_path_buf(),
        bytes,
        limit: MAX_PLAIN_FILE,
    };
    let len = file
        .metadata()
        .map_err(|e| StoreError::io("stat", path, e))?
        .len();
    if len > MAX_PLAIN_FILE {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // The file may grow while it is read: read at most one byte past the limit.
    file.take(MAX_PLAIN_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::io("read", path, e))?;
    if bytes.len() as u64 > MAX_PLAIN_FILE {
        return Err(too_large(bytes.len() as u64));
    }
    decode(path, &bytes).map(Some)
}

/// Interprets the bytes of the plain file at `path`.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<PlainText, StoreError> {
    let hash = *blake3::hash(bytes).as_bytes();
    let raw = std::str::from_utf8(bytes).map_err(|e| StoreError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.valid_up_to() as u64,
    })?;
    let (bom, raw) = match raw.strip_prefix(BOM) {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let crlf = raw.matches("\r\n").count();
    let lf_only = raw.matches('\n').count() - crlf;
    let (line_ending, text) = if crlf > lf_only {
        (LineEnding::CrLf, raw.replace("\r\n", "\n"))
    } else {
        (LineEnding::Lf, raw.to_string())
    };
    Ok(PlainText {
        text,
        line_ending,
        bom,
        hash,
    })
}

/// The bytes of the plain file for document text `text`.
pub fn render(text: &str, line_ending: LineEnding, bom: bool) -> Vec<u8> {
    let mut out = String::with_capacity(text.len() + if bom { 3 } else { 0 });
    if bom {
        out.push_str(BOM);
    }
    match line_ending {
        LineEnding::Lf => out.push_str(text),
        LineEnding::CrLf => {
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    out.push_str("\r\n");
                }
                out.push_str(line);
            }
        }
    }
    out.into_bytes()
}

/// What importing a changed file did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// The local ops made (already applied to the document).
    pub ops: Vec<Op>,
    /// Characters inserted.
    pub inserted: usize,
    /// Characters deleted.
    pub deleted: usize,
}

/// How an import treats text that the document has and the file lacks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Merge {
    /// The file is the newer text: the document becomes the file (outside edits).
    Replace,
    /// Both hold text to keep (recovery from damage): the document gains what the file has
    /// and keeps everything it had, so its text is never less than either.
    Union,
}

/// Edits `doc` (as local edits) with a minimal diff (by lines, then by characters inside
/// changed lines: see `diff.rs`) until its text is `target`
/// ([`Merge::Replace`]) or holds all of `target` as well as all of its own text
/// ([`Merge::Union`]).
pub fn import_diff(doc: &mut Doc, target: &str, merge: Merge) -> Imported {
    // Recorded history: an outside edit is dated when duet finds it.
    doc.set_time(super::unix_now());
    let mut out = Imported::default();
    if doc.is_empty() {
        // Nothing to diff against; a large file is not copied into a char vector.
        insert_chunked(doc, 0, target, &mut out);
        return out;
    }
    let old: Vec<char> = doc.text().chars().collect();
    let new: Vec<char> = target.chars().collect();
    let diff = super::diff::diff_chars(&old, &new);
    // Back to front, so the old indexes of earlier hunks stay valid.
    for hunk in diff.iter().rev() {
        let (pos, del, ins) = match *hunk {
            DiffOp::Equal { .. } => continue,
            DiffOp::Delete {
                old_index, old_len, ..
            } => (old_index, old_len, 0..0),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => (old_index, 0, new_index..new_index + new_len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (old_index, old_len, new_index..new_index + new_len),
        };
        let at = match merge {
            Merge::Replace => {
                delete_chunked(doc, pos, del, &mut out);
                pos
            }
            // The document's text stays; the file's follows it.
            Merge::Union => pos + del,
        };
        if !ins.is_empty() {
            let text: String = new[ins].iter().collect();
            insert_chunked(doc, at, &text, &mut out);
        }
    }
    out.ops.retain(|op| !op.is_empty());
    out
}

/// Inserts `text` at `pos`, one op per [`IMPORT_CHUNK`] characters.
fn insert_chunked(doc: &mut Doc, mut pos: usize, text: &str, out: &mut Imported) {
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest
            .char_indices()
            .nth(IMPORT_CHUNK)
            .map_or(rest.len(), |(at, _)| at);
        let (piece, after) = rest.split_at(cut);
        let chars = piece.chars().count();
        out.ops.push(doc.insert(pos, piece));
        out.inserted += chars;
        pos += chars;
        rest = after;
    }
}

/// Deletes `len` characters at `pos`, one op per [`IMPORT_CHUNK`] characters.
fn delete_chunked(doc: &mut Doc, pos: usize, mut len: usize, out: &mut Imported) {
    while len > 0 {
        let n = len.min(IMPORT_CHUNK);
        out.ops.push(doc.delete(pos, n));
        out.deleted += n;
        len -= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_files_are_normalised_and_restored() {
        let bytes = b"one\r\ntwo\r\nthree";
        let plain = decode(Path::new("f"), bytes).unwrap();
        assert_eq!(plain.text, "one\ntwo\nthree");
        assert_eq!(plain.line_ending, LineEnding::CrLf);
        assert_eq!(render(&plain.text, plain.line_ending, plain.bom), bytes);
    }

    #[test]
    fn lf_files_and_stray_carriage_returns_are_kept_byte_for_byte() {
        let bytes = "a\nb\r\nc\n\rd é\n".as_bytes();
        let plain = decode(Path::new("f"), bytes).unwrap();
        assert_eq!(plain.line_ending, LineEnding::Lf);
        assert_eq!(render(&plain.text, plain.line_ending, plain.bom), bytes);
    }

    #[test]
    fn byte_order_mark_is_stripped_and_restored() {
        let bytes = "\u{feff}hi\r\n".as_bytes();
        let plain = decode(Path::new("f"), bytes).unwrap();
        assert!(plain.bom);
        assert_eq!(plain.text, "hi\n");
        assert_eq!(render(&plain.text, plain.line_ending, plain.bom), bytes);
    }

    #[test]
    fn binary_files_are_refused_with_the_offset() {
        let err = decode(Path::new("img.png"), b"ok\xff\xfe").unwrap_err();
        assert!(
            matches!(err, StoreError::NotUtf8 { offset: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("img.png"));
    }

    #[test]
    fn replace_makes_the_file_and_union_keeps_both() {
        let mut doc = Doc::new(crdt_text::ReplicaId::from(1));
        import_diff(&mut doc, "one\ntwo\nthree\n", Merge::Replace);
        let mut replaced = doc.clone();
        import_diff(&mut replaced, "one\n2\nthree\nfour\n", Merge::Replace);
        assert_eq!(replaced.text(), "one\n2\nthree\nfour\n");
        let imported = import_diff(&mut doc, "one\n2\nthree\nfour\n", Merge::Union);
        assert_eq!(imported.deleted, 0);
        let text = doc.text();
        for line in ["one", "two", "2", "three", "four"] {
            assert!(text.lines().any(|l| l.contains(line)), "{line} in {text:?}");
        }
    }

    #[test]
    fn large_imports_are_cut_into_many_ops() {
        let mut doc = Doc::new(crdt_text::ReplicaId::from(1));
        let text = "é".repeat(IMPORT_CHUNK * 2 + 5);
        let imported = import_diff(&mut doc, &text, Merge::Replace);
        assert_eq!(imported.ops.len(), 3);
        assert_eq!(imported.inserted, IMPORT_CHUNK * 2 + 5);
        assert_eq!(doc.text(), text);
        let imported = import_diff(&mut doc, "", Merge::Replace);
        assert_eq!(imported.ops.len(), 3);
        assert!(doc.is_empty());
    }

    /// `doc`'s text with each run marked by who typed it (replica 1 alice, 2 bob).
    fn by_author(doc: &Doc) -> String {
        doc.authors(0..doc.len())
            .map(|(who, text)| {
                let name = if who == crdt_text::ReplicaId::from(1) {
                    "alice"
                } else {
                    "bob"
                };
                format!("[{name}:{text}]")
            })
            .collect()
    }

    #[test]
    fn a_rewrite_keeps_the_characters_of_the_lines_it_left_alone() {
        let mut alice = Doc::new(crdt_text::ReplicaId::from(1));
        let typed = alice.insert(
            0,
            "fn main() {\n    let x = 1;\n    println!(\"{x}\");\n}\n",
        );
        let mut bob = Doc::new(crdt_text::ReplicaId::from(2));
        let _ = bob.apply(&typed).unwrap();
        // A formatter on bob's machine rewrites the whole file, changing one character.
        import_diff(
            &mut bob,
            "fn main() {\n    let x = 2;\n    println!(\"{x}\");\n}\n",
            Merge::Replace,
        );
        assert_eq!(
            by_author(&bob),
            "[alice:fn main() {\n    let x = ][bob:2][alice:;\n    println!(\"{x}\");\n}\n]"
        );

        // A large rewrite touching every line (too large to diff by characters at once):
        // each line is diffed with its counterpart, and only what changed is bob's.
        let mut alice = Doc::new(crdt_text::ReplicaId::from(1));
        let old: String = (0..2000)
            .map(|i| format!("line {i}: unchanged\n"))
            .collect();
        let typed = alice.insert(0, &old);
        let mut bob = Doc::new(crdt_text::ReplicaId::from(2));
        let _ = bob.apply(&typed).unwrap();
        let new: String = (0..2000)
            .map(|i| format!("Line {i}: unchanged\n"))
            .collect();
        import_diff(&mut bob, &new, Merge::Replace);
        assert_eq!(bob.text(), new);
        let bobs: usize = bob
            .authors(0..bob.len())
            .filter(|(who, _)| *who == crdt_text::ReplicaId::from(2))
            .map(|(_, text)| text.chars().count())
            .sum();
        assert_eq!(bobs, 2000, "one character per line is bob's");
    }
}
