//! The store's one text diff: by lines first, then by characters inside each run of
//! changed lines. A whole-file rewrite by another program (a formatter, a checkout) costs a
//! line diff, not a character diff of the whole file, and the characters of every line it
//! left alone keep their ids (and their authors).

use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp, capture_diff_slices_deadline};

/// How long one diff may search for a minimal edit before settling for a larger one.
const BUDGET: Duration = Duration::from_secs(1);

/// Changed runs of lines larger than this (characters on both sides) are diffed line by line
/// when both sides have as many lines, else replaced whole: a character diff of two large,
/// unrelated texts costs far more than it saves.
const CHAR_DIFF_MAX: usize = 4096;

/// The diff from `old` to `new`, in character indexes: minimal inside changed lines, and
/// never splitting an unchanged line.
pub fn diff_chars(old: &[char], new: &[char]) -> Vec<DiffOp> {
    let deadline = Some(Instant::now() + BUDGET);
    let (old_lines, new_lines) = (lines(old), lines(new));
    let line_diff =
        capture_diff_slices_deadline(Algorithm::Myers, &old_lines, &new_lines, deadline);
    let (old_at, new_at) = (starts(&old_lines), starts(&new_lines));
    let mut out = Vec::new();
    for op in line_diff {
        let (o, n) = (op.old_range(), op.new_range());
        let (o_at, n_at) = (old_at[o.start], new_at[n.start]);
        let (o_len, n_len) = (old_at[o.end] - o_at, new_at[n.end] - n_at);
        match op {
            DiffOp::Equal { .. } => push(
                &mut out,
                DiffOp::Equal {
                    old_index: o_at,
                    new_index: n_at,
                    len: o_len,
                },
            ),
            DiffOp::Delete { .. } => push(
                &mut out,
                DiffOp::Delete {
                    old_index: o_at,
                    old_len: o_len,
                    new_index: n_at,
                },
            ),
            DiffOp::Insert { .. } => push(
                &mut out,
                DiffOp::Insert {
                    old_index: o_at,
                    new_index: n_at,
                    new_len: n_len,
                },
            ),
            DiffOp::Replace { .. } if o_len + n_len <= CHAR_DIFF_MAX => {
                let (a, b) = (&old[o_at..o_at + o_len], &new[n_at..n_at + n_len]);
                chars_within(&mut out, a, b, o_at, n_at, deadline);
            }
            DiffOp::Replace { .. } if o.len() == n.len() => {
                let (mut oi, mut ni) = (o_at, n_at);
                for (a, b) in old_lines[o].iter().zip(&new_lines[n]) {
                    chars_within(&mut out, a, b, oi, ni, deadline);
                    oi += a.len();
                    ni += b.len();
                }
            }
            DiffOp::Replace { .. } => push(
                &mut out,
                DiffOp::Replace {
                    old_index: o_at,
                    old_len: o_len,
                    new_index: n_at,
                    new_len: n_len,
                },
            ),
        }
    }
    out
}

/// `text` cut after each `\n` (the last line may lack one).
fn lines(text: &[char]) -> Vec<&[char]> {
    text.split_inclusive(|c| *c == '\n').collect()
}

/// Where each line starts, in characters, and where the text ends.
fn starts(lines: &[&[char]]) -> Vec<usize> {
    let mut at = Vec::with_capacity(lines.len() + 1);
    let mut sum = 0;
    at.push(0);
    for line in lines {
        sum += line.len();
        at.push(sum);
    }
    at
}

/// The character diff of `a` (at `old_at` in the old text) to `b` (at `new_at`).
fn chars_within(
    out: &mut Vec<DiffOp>,
    a: &[char],
    b: &[char],
    old_at: usize,
    new_at: usize,
    deadline: Option<Instant>,
) {
    for op in capture_diff_slices_deadline(Algorithm::Myers, a, b, deadline) {
        let (o, n) = (op.old_range(), op.new_range());
        let shifted = match op {
            DiffOp::Equal { .. } => DiffOp::Equal {
                old_index: old_at + o.start,
                new_index: new_at + n.start,
                len: o.len(),
            },
            DiffOp::Delete { .. } => DiffOp::Delete {
                old_index: old_at + o.start,
                old_len: o.len(),
                new_index: new_at + n.start,
            },
            DiffOp::Insert { .. } => DiffOp::Insert {
                old_index: old_at + o.start,
                new_index: new_at + n.start,
                new_len: n.len(),
            },
            DiffOp::Replace { .. } => DiffOp::Replace {
                old_index: old_at + o.start,
                old_len: o.len(),
                new_index: new_at + n.start,
                new_len: n.len(),
            },
        };
        push(out, shifted);
    }
}

/// Appends `op`, leaving out empty ones.
fn push(out: &mut Vec<DiffOp>, op: DiffOp) {
    if op.old_range().is_empty() && op.new_range().is_empty() {
        return;
    }
    out.push(op);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(old: &str, new: &str) -> String {
        let (a, b): (Vec<char>, Vec<char>) = (old.chars().collect(), new.chars().collect());
        let mut text = String::new();
        for op in diff_chars(&a, &b) {
            match op {
                DiffOp::Equal { old_index, len, .. } => {
                    text.extend(&a[old_index..old_index + len]);
                }
                DiffOp::Delete { .. } => {}
                DiffOp::Insert {
                    new_index, new_len, ..
                }
                | DiffOp::Replace {
                    new_index, new_len, ..
                } => text.extend(&b[new_index..new_index + new_len]),
            }
        }
        text
    }

    #[test]
    fn the_diff_rebuilds_the_new_text_whatever_changed() {
        let cases = [
            ("", "new\n"),
            ("old\n", ""),
            ("one\ntwo\nthree", "one\n2\nthree\nfour"),
            ("a\nb\nc\n", "a\nB\nc\n"),
            ("é\nß\n", "é\nßx\n"),
        ];
        for (old, new) in cases {
            assert_eq!(apply(old, new), new, "{old:?} -> {new:?}");
        }
        // Large changed runs: paired line by line, or replaced whole.
        let old: String = (0..400)
            .map(|i| format!("line {i} of the old text\n"))
            .collect();
        let same_count: String = (0..400)
            .map(|i| format!("LINE {i} of the new text\n"))
            .collect();
        let other_count: String = (0..300).map(|i| format!("row {i}\n")).collect();
        assert_eq!(apply(&old, &same_count), same_count);
        assert_eq!(apply(&old, &other_count), other_count);
    }

    #[test]
    fn a_changed_line_is_diffed_by_characters() {
        let (a, b): (Vec<char>, Vec<char>) = (
            "keep\nhello world\n".chars().collect(),
            "keep\nhello there world\n".chars().collect(),
        );
        let diff = diff_chars(&a, &b);
        let inserted: usize = diff
            .iter()
            .filter(|op| !matches!(op, DiffOp::Equal { .. }))
            .map(|op| op.new_range().len())
            .sum();
        assert_eq!(inserted, "there ".len());
    }
}
