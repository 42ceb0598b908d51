//! Keystroke-to-frame time: `update` plus rendering into ratatui's buffer, on a 1 MB document
//! while 3 remote peers type words and line breaks — as 20,000 lines of prose without
//! highlighting, and as about 38,000 lines of Rust with syntax highlighting (and, as a stress
//! case, with the peers typing one 4,000-character word into the visible line); the time to
//! open a 1 MB file cold; and find and replace-all on a 5 MB file.
//!
//! Run: `cargo bench -p duet --bench keystroke` (release). Prints medians and p99s.
//! `-- rust` runs only the highlighted Rust case. `-- b4x100` runs only the scale case: the
//! automerge-paper trace replayed 100 times into one document (26 M edits, 10.5 MB of text) kept in a store; opening that store (and the
//! first frame), and keystroke → frame in the middle of it.

use std::time::{Duration, Instant};

use crdt_text::{Doc, ReplicaId, VersionVector};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use duet::keymap::Keymap;
use duet::model::{Identity, Model};
use duet::msg::Msg;
use duet::theme::Theme;
use duet::update::update;
use duet::view::render;
use rand::{Rng, SeedableRng};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use sync::proto::PresenceState;
use sync::{DocId, Event, PeerId};

#[path = "../../crdt-text/tests/common/mod.rs"]
mod traces;

const LINES: usize = 20_000;
const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;

/// About 1 MB of prose-like text in 20,000 lines of varying length; `unicode` mixes in
/// Greek and CJK words.
fn document(rng: &mut impl Rng, unicode: bool) -> String {
    let mut words = vec![
        "duet", "peer", "text", "editor", "sync", "anchor", "replica", "the", "a", "of",
    ];
    if unicode {
        words.extend(["λόγος", "字"]);
    }
    let mut out = String::with_capacity(1 << 20);
    for _ in 0..LINES {
        let target = rng.random_range(20..80);
        let start = out.len();
        while out.len() - start < target {
            out.push_str(words[rng.random_range(0..words.len())]);
            out.push(' ');
        }
        out.push('\n');
    }
    out
}

/// 1 MiB of Rust (about 38,000 lines) that looks like real code: structs, impls with doc
/// comments, functions with strings, numbers, loops and block comments.
fn rust_document(rng: &mut impl Rng) -> String {
    let names = [
        "peer", "anchor", "replica", "frame", "store", "cursor", "doc", "op",
    ];
    let mut out = String::with_capacity(1 << 20);
    let mut n = 0;
    while out.len() < 1 << 20 {
        n += 1;
        let name = names[rng.random_range(0..names.len())];
        let chunk = format!(
            "/// A {name} and what it holds ({n}).\n\
             #[derive(Clone, Debug, PartialEq)]\n\
             pub struct {Name}{n} {{\n    \
                 id: u64,\n    \
                 label: String,\n    \
                 weights: Vec<f32>,\n\
             }}\n\
             \n\
             impl {Name}{n} {{\n    \
                 /* Builds one from its parts; the label is trimmed. */\n    \
                 pub fn new(id: u64, label: &str) -> Self {{\n        \
                     let weights = (0..{k}).map(|i| i as f32 * 0.5).collect();\n        \
                     Self {{ id, label: label.trim().to_owned(), weights }}\n    \
                 }}\n\
             \n    \
                 // How heavy it is, or None when empty.\n    \
                 pub fn total(&self) -> Option<f32> {{\n        \
                     if self.weights.is_empty() {{\n            \
                         return None;\n        \
                     }}\n        \
                     let sum: f32 = self.weights.iter().sum();\n        \
                     println!(\"{name} {{}} weighs {{sum:.2}}\", self.id);\n        \
                     Some(sum * {f:.3})\n    \
                 }}\n\
             }}\n\
             \n",
            Name = name[..1].to_uppercase() + &name[1..],
            k = rng.random_range(1..64),
            f = rng.random::<f32>(),
        );
        out.push_str(&chunk);
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Prints the median, p99 and max of `samples`; returns the median.
fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let median = percentile(&samples, 0.5);
    println!(
        "{name:<44} n={:<6} median {:>8.1} µs   p99 {:>8.1} µs   max {:>8.1} µs",
        samples.len(),
        median.as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e6),
    );
    median
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// How the document's history was made.
#[derive(Clone, Copy, Debug)]
enum History {
    /// Pasted (or imported from a file) in one insert.
    OneInsert,
    /// Typed line by line (one insert per line).
    PerLine,
}

/// What the benchmark document is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Prose-like ASCII, not highlighted (`big.txt`).
    Prose,
    /// Prose with Greek and CJK words, not highlighted.
    Unicode,
    /// Rust, highlighted (`big.rs`).
    Rust,
}

/// What the remote peers type.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Typing {
    /// Words and line breaks, as people type (a line of code every ~40 keys).
    Text,
    /// One character again and again, never a space or a line break: after 5,000 steps one
    /// line holds a 4,000-character word (a stress case for long lines).
    OneWord,
}

/// What a remote peer types in [`Typing::Text`], round and round.
const TYPED: &str = "let total: f32 = self.weights.iter().sum();\n    total * 0.5\n";

/// Returns the median keystroke -> frame time.
fn keystrokes(kind: Kind, history: History, typing: Typing, steps: usize) -> Duration {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (text, file) = match kind {
        Kind::Prose => (document(&mut rng, false), "big.txt"),
        Kind::Unicode => (document(&mut rng, true), "big.txt"),
        Kind::Rust => (rust_document(&mut rng), "big.rs"),
    };
    println!(
        "document {file}: {} bytes, {} lines, {kind:?}, history {history:?}, peers type {typing:?}",
        text.len(),
        text.lines().count(),
    );
    let mut doc = Doc::new(ReplicaId::from(1));
    match history {
        History::OneInsert => {
            let _ = doc.insert(0, &text);
        }
        History::PerLine => {
            // Last line first, each at the start, so that the lines stay separate runs.
            for line in text
                .split_inclusive('\n')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                let _ = doc.insert(0, line);
            }
        }
    }
    let base = doc.encode_since(&VersionVector::new());
    let me = Identity {
        name: "me".into(),
        color: Color::Blue,
    };
    let mut model = Model::new(doc, file, me, Keymap::builtin(), Theme::builtin());
    update(&mut model, Msg::Resize(WIDTH, HEIGHT));
    // Start in the middle of the document.
    update(
        &mut model,
        Msg::Key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL)),
    );
    for c in "10000".chars() {
        update(&mut model, key(KeyCode::Char(c)));
    }
    update(&mut model, key(KeyCode::Enter));
    // As the runtime does: the first frame there, then the highlighting catches up in the
    // background (timed apart: it is not a keystroke).
    let area = Rect::new(0, 0, WIDTH, HEIGHT);
    let mut buf = Buffer::empty(area);
    let start = Instant::now();
    render(&model, area, &mut buf);
    let first = start.elapsed();
    let start = Instant::now();
    while model.highlight_is_behind() {
        update(&mut model, Msg::Idle);
    }
    if kind == Kind::Rust {
        println!(
            "first frame at line 10,000: {:.1} ms; highlighting caught up in {:.0} ms",
            first.as_secs_f64() * 1e3,
            start.elapsed().as_secs_f64() * 1e3
        );
    }

    // Three remote peers, each typing near its own cursor a few screens away (one inside
    // the visible region).
    let mut peers: Vec<(PeerId, Doc, usize)> = (0..3u64)
        .map(|i| {
            let mut d = Doc::new(ReplicaId::from(100 + i));
            d.apply_update(&base).expect("valid base");
            let line = [10_005, 9_000, 15_000][i as usize];
            let pos = d.line_to_char(line);
            (PeerId([i as u8 + 1; 32]), d, pos)
        })
        .collect();

    let mut frame = |model: &mut Model, msg: Msg| {
        let start = Instant::now();
        update(model, msg);
        buf.reset();
        render(model, area, &mut buf);
        start.elapsed()
    };
    let own_keys = [
        KeyCode::Char('x'),
        KeyCode::Char(' '),
        KeyCode::Right,
        KeyCode::Down,
        KeyCode::Backspace,
        KeyCode::Left,
        KeyCode::Char('é'),
        KeyCode::Up,
    ];
    let mut local = Vec::new();
    let mut remote = Vec::new();
    for step in 0..steps {
        // Each remote peer types (or deletes) one character and moves its cursor.
        for (id, d, pos) in &mut peers {
            let op = if rng.random_bool(0.8) || *pos == 0 {
                let c = match typing {
                    Typing::Text => TYPED.chars().nth(step % TYPED.len()).unwrap_or('r'),
                    Typing::OneWord => 'r',
                };
                let op = d.insert(*pos, c.encode_utf8(&mut [0; 4]));
                *pos += 1;
                op
            } else {
                *pos -= 1;
                d.delete(*pos, 1)
            };
            // As the loop does: the session applies the op, then the editor hears of it.
            let doc = DocId([1; 32]);
            let applied = Msg::from(Event::Remote {
                doc,
                from: *id,
                ops: 1,
            });
            let start = Instant::now();
            model.doc.apply(&op).expect("valid op");
            remote.push(start.elapsed() + frame(&mut model, applied));
            let cursor = model.doc.anchor(*pos, crdt_text::Bias::Left);
            let presence = PresenceState {
                name: id.short(),
                color: 0xc85050,
                cursor,
                selection: None,
                view: None,
            };
            let msg = Msg::from(Event::Presence {
                doc,
                peer: *id,
                presence: Some(presence),
            });
            remote.push(frame(&mut model, msg));
        }
        let code = own_keys[step % own_keys.len()];
        local.push(frame(&mut model, key(code)));
    }
    let median = report("keystroke -> frame (update + render)", local);
    report("remote op/presence -> frame", remote);
    median
}

fn cold_open() {
    let dir = std::env::temp_dir().join(format!("duet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let text = document(&mut rng, false);
    let mut first = Vec::new();
    let mut again = Vec::new();
    for i in 0..15 {
        let file = dir.join(format!("big{i}.md"));
        std::fs::write(&file, &text).expect("write");
        for samples in [&mut first, &mut again] {
            let start = Instant::now();
            let opened = sync::store::Store::open(&file).expect("open");
            let me = Identity {
                name: "me".into(),
                color: Color::Blue,
            };
            let mut model = Model::new(
                opened.doc,
                "big.md",
                me,
                Keymap::builtin(),
                Theme::builtin(),
            );
            update(&mut model, Msg::Resize(WIDTH, HEIGHT));
            let area = Rect::new(0, 0, WIDTH, HEIGHT);
            let mut buf = Buffer::empty(area);
            render(&model, area, &mut buf);
            samples.push(start.elapsed());
            opened.store.close().expect("close");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    report("open 1 MB file, first time (import) + frame", first);
    report("open 1 MB file, from its store + frame", again);
}

/// B4x100 in the editor: see the module docs.
fn b4x100() {
    let trace = traces::sequential("automerge-paper");
    let dir = std::env::temp_dir().join(format!("duet-bench-b4x100-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("paper.tex");
    let opened = sync::store::Store::open(&file).expect("create store");
    let (mut store, mut doc) = (opened.store, opened.doc);
    let start = Instant::now();
    let mut edits = 0;
    for _ in 0..100 {
        let base = doc.len();
        for txn in &trace.txns {
            for (pos, del, ins) in &txn.patches {
                if *del > 0 {
                    let _ = doc.delete(base + pos, *del);
                }
                if !ins.is_empty() {
                    let _ = doc.insert(base + pos, ins);
                }
                edits += 1;
            }
        }
    }
    assert_eq!(doc.len(), 100 * trace.end_content.chars().count());
    println!(
        "B4x100: {edits} edits, {} chars, {} lines, built in {:.1} s",
        doc.len(),
        doc.line_count(),
        start.elapsed().as_secs_f64()
    );
    store.snapshot_now(&doc).expect("snapshot");
    store.write_plain_file(&doc).expect("export");
    store.close().expect("close");
    drop(doc);

    let area = Rect::new(0, 0, WIDTH, HEIGHT);
    let mut buf = Buffer::empty(area);
    let mut opens = Vec::new();
    let mut model = None;
    for _ in 0..5 {
        drop(model.take());
        let start = Instant::now();
        let opened = sync::store::Store::open(&file).expect("open");
        let me = Identity {
            name: "me".into(),
            color: Color::Blue,
        };
        let mut m = Model::new(
            opened.doc,
            "paper.tex",
            me,
            Keymap::builtin(),
            Theme::builtin(),
        );
        update(&mut m, Msg::Resize(WIDTH, HEIGHT));
        buf.reset();
        render(&m, area, &mut buf);
        opens.push(start.elapsed());
        opened.store.close().expect("close");
        model = Some(m);
    }
    report("B4x100: open the store + first frame", opens);

    let mut model = model.expect("opened");
    assert_eq!(model.doc.len(), 100 * trace.end_content.chars().count());
    // Into the middle of the document.
    update(
        &mut model,
        Msg::Key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL)),
    );
    for c in (model.doc.line_count() / 2).to_string().chars() {
        update(&mut model, key(KeyCode::Char(c)));
    }
    update(&mut model, key(KeyCode::Enter));
    let own_keys = [
        KeyCode::Char('x'),
        KeyCode::Char(' '),
        KeyCode::Right,
        KeyCode::Down,
        KeyCode::Backspace,
        KeyCode::Left,
        KeyCode::Char('é'),
        KeyCode::Up,
    ];
    let mut local = Vec::new();
    for step in 0..5_000 {
        let start = Instant::now();
        update(&mut model, key(own_keys[step % own_keys.len()]));
        buf.reset();
        render(&model, area, &mut buf);
        local.push(start.elapsed());
    }
    report("B4x100: keystroke -> frame (update + render)", local);
    std::fs::remove_dir_all(&dir).ok();
}

/// Find and replace-all on a 5 MB file, each run on a fresh model: the time to count the
/// matches while the query is typed, and to replace all of them (as one undo step: the
/// document edits, their ops, the undo record). The baseline, run in the same process, is
/// the least such a command does: the `regex` crate replacing every match in a `String`.
fn replace_all(runs: usize) {
    let line = "let total = peer.weight * 3 + anchor.offset; // keep the total in sync\n";
    let text = line.repeat((5 << 20) / line.len());
    let me = Identity {
        name: "me".into(),
        color: Color::Blue,
    };
    let ctrl = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    let (mut typed, mut replaced, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    let mut ops = 0;
    for _ in 0..runs {
        let mut doc = Doc::new(ReplicaId::from(1));
        let _ = doc.insert(0, &text);
        let mut model = Model::new(
            doc,
            "big.rs",
            me.clone(),
            Keymap::builtin(),
            Theme::builtin(),
        );
        update(&mut model, Msg::Resize(WIDTH, HEIGHT));
        update(&mut model, ctrl('r'));
        let start = Instant::now();
        for c in "total".chars() {
            update(&mut model, key(KeyCode::Char(c)));
        }
        typed.push(start.elapsed());
        update(&mut model, key(KeyCode::Enter));
        for c in "sum".chars() {
            update(&mut model, key(KeyCode::Char(c)));
        }
        update(&mut model, key(KeyCode::Enter));
        let start = Instant::now();
        let effects = update(&mut model, key(KeyCode::Char('a')));
        replaced.push(start.elapsed());
        assert!(!model.doc.text().contains("total"), "every match replaced");
        ops = effects
            .iter()
            .filter(|e| matches!(e, duet::msg::Effect::Submit(_)))
            .count();

        let start = Instant::now();
        // Compiled in the timed part: the editor compiles each query too.
        #[allow(clippy::regex_creation_in_loops)]
        let regex = regex::Regex::new("total").expect("a valid pattern");
        let out = regex.replace_all(&text, "sum");
        baseline.push(start.elapsed());
        assert_eq!(out.len(), text.len() - 2 * 2 * text.lines().count());
    }
    println!(
        "5 MB file, {} lines, {} matches of `total` ({ops} ops per replace-all):",
        text.lines().count(),
        2 * text.lines().count(),
    );
    let typed = report("  typing the 5-letter query (counts per key)", typed);
    let replaced = report("  replace all (one undo step)", replaced);
    let baseline = report("  baseline: Regex::replace_all on a String", baseline);
    println!(
        "  ratios to the baseline: replace all {:.1}x, typing the query {:.1}x",
        replaced.as_secs_f64() / baseline.as_secs_f64(),
        typed.as_secs_f64() / baseline.as_secs_f64(),
    );
}

fn main() {
    if std::env::args().skip(1).any(|a| a == "b4x100") {
        return b4x100();
    }
    // `-- rust`: only the highlighted case.
    if std::env::args().skip(1).any(|a| a == "rust") {
        keystrokes(Kind::Rust, History::OneInsert, Typing::Text, 5_000);
        keystrokes(Kind::Rust, History::OneInsert, Typing::OneWord, 5_000);
        return;
    }
    let prose = keystrokes(Kind::Prose, History::OneInsert, Typing::Text, 5_000);
    let rust = keystrokes(Kind::Rust, History::OneInsert, Typing::Text, 5_000);
    println!(
        "highlighted Rust / unhighlighted prose, keystroke -> frame median: {:.2}x",
        rust.as_secs_f64() / prose.as_secs_f64()
    );
    keystrokes(Kind::Rust, History::OneInsert, Typing::OneWord, 5_000);
    keystrokes(Kind::Unicode, History::PerLine, Typing::Text, 5_000);
    // Slow with the current crdt-text (reading inside a long non-ASCII run scans it from
    // its start), so fewer steps.
    keystrokes(Kind::Unicode, History::OneInsert, Typing::Text, 50);
    cold_open();
    replace_all(7);
}
