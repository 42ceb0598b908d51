//! Keystroke-to-frame time: `update` plus rendering into ratatui's buffer, on a 1 MB,
//! 20,000-line document while 3 remote peers type; and the time to open a 1 MB file cold.
//!
//! Run: `cargo bench -p duet --bench keystroke` (release). Prints medians and p99s.
//! `-- b4x100` runs only the scale case: the automerge-paper trace replayed 100 times into
//! one document (26 M edits, 10.5 MB of text) kept in a store; opening that store (and the
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<44} n={:<6} median {:>8.1} µs   p99 {:>8.1} µs   max {:>8.1} µs",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e6,
        percentile(&samples, 0.99).as_secs_f64() * 1e6,
        samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e6),
    );
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

fn keystrokes(unicode: bool, history: History, steps: usize) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let text = document(&mut rng, unicode);
    println!(
        "document: {} bytes, {} lines, {}, history {history:?}",
        text.len(),
        text.lines().count(),
        if unicode {
            "with Greek and CJK"
        } else {
            "ASCII"
        }
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
    let mut model = Model::new(doc, "big.md", me, Keymap::builtin(), Theme::builtin());
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

    let area = Rect::new(0, 0, WIDTH, HEIGHT);
    let mut buf = Buffer::empty(area);
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
                let op = d.insert(*pos, "r");
                *pos += 1;
                op
            } else {
                *pos -= 1;
                d.delete(*pos, 1)
            };
            // As the loop does: the session applies the op, then the editor hears of it.
            let doc = DocId([1; 32]);
            let applied = Msg::Sync(Event::Remote {
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
            };
            let msg = Msg::Sync(Event::Presence {
                doc,
                peer: *id,
                presence: Some(presence),
            });
            remote.push(frame(&mut model, msg));
        }
        let code = own_keys[step % own_keys.len()];
        local.push(frame(&mut model, key(code)));
    }
    report("keystroke -> frame (update + render)", local);
    report("remote op/presence -> frame", remote);
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

fn main() {
    if std::env::args().skip(1).any(|a| a == "b4x100") {
        return b4x100();
    }
    keystrokes(false, History::OneInsert, 5_000);
    keystrokes(true, History::PerLine, 5_000);
    // Slow with the current crdt-text (reading inside a long non-ASCII run scans it from
    // its start), so fewer steps.
    keystrokes(true, History::OneInsert, 50);
    cold_open();
}
