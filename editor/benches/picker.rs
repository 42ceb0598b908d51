//! The file picker on 10,000 paths: `cargo bench -p duet --bench picker` (release). Prints
//! medians and their ratios to a baseline measured in the same process.
//!
//! - One keystroke in the query (every path rescored and the matches ordered), against
//!   nucleo-matcher's own convenience matcher (`Pattern::match_list`, which allocates per
//!   call) on the same paths and query.
//! - The keystroke through `update` plus a frame drawn (the visible rows' matched characters),
//!   against the same frame with the picker closed (the text view alone).

use std::hint::black_box;
use std::time::{Duration, Instant};

use crdt_text::{Doc, ReplicaId};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use duet::keymap::Keymap;
use duet::model::{Identity, Model};
use duet::msg::Msg;
use duet::picker::{FolderFiles, Picker};
use duet::theme::Theme;
use duet::update::update;
use duet::view::render;
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;

const BUDGET: Duration = Duration::from_secs(3);

fn median(mut f: impl FnMut()) -> Duration {
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 5 || (start.elapsed() < BUDGET && samples.len() < 201) {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn report(what: &str, d: Duration, base: Duration, base_name: &str) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what:<44} {:>8.3} ms   {:>6.2}× {base_name} ({:.3} ms)",
        ms(d),
        d.as_secs_f64() / base.as_secs_f64(),
        ms(base)
    );
}

/// 10,000 paths of a generated source tree, 20 of them recently opened.
fn folder() -> FolderFiles {
    let files: Vec<String> = (0..10_000)
        .map(|i| format!("crate{}/src/module{}/file_{i}_name.rs", i % 13, i % 97))
        .collect();
    let recent = files.iter().step_by(500).cloned().collect();
    FolderFiles {
        files,
        skipped: Vec::new(),
        recent,
    }
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn main() {
    let folder = folder();
    // Each sample types `e` or erases it again: one query change, every path scored afresh.
    let queries = ["modfile", "modfil"];

    let mut picker = Picker::new(&folder);
    for c in "modfil".chars() {
        picker.push(c);
    }
    let mut k = 0;
    let ours = median(|| {
        k += 1;
        if k % 2 == 0 {
            picker.push('e');
        } else {
            picker.pop();
        }
        black_box(picker.len());
    });
    let mut matcher = Matcher::new(Config::DEFAULT.match_paths());
    let base = median(|| {
        k += 1;
        let pattern = Pattern::parse(queries[k % 2], CaseMatching::Smart, Normalization::Smart);
        black_box(pattern.match_list(&folder.files, &mut matcher).len());
    });
    report(
        "keystroke: rescore and order 10,000 paths",
        ours,
        base,
        "Pattern::match_list",
    );

    let me = Identity {
        name: "me".into(),
        color: Color::Blue,
    };
    let text: String = (0..200).map(|i| format!("fn line_{i}() {{}}\n")).collect();
    let mut doc = Doc::new(ReplicaId::from(1));
    let _ = doc.insert(0, &text);
    let mut model = Model::new(doc, "src/main.rs", me, Keymap::builtin(), Theme::builtin());
    model.size = (120, 40);
    model.set_folder(Some(folder.clone()));
    let area = Rect::new(0, 0, 120, 40);
    let mut buf = Buffer::empty(area);
    let closed = median(|| {
        buf.reset();
        black_box(render(&model, area, &mut buf));
    });
    model.open_picker();
    for c in "modfil".chars() {
        update(&mut model, key(c));
    }
    let open = median(|| {
        k += 1;
        let typed = if k % 2 == 0 {
            key('e')
        } else {
            Msg::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE))
        };
        update(&mut model, typed);
        buf.reset();
        black_box(render(&model, area, &mut buf));
    });
    report(
        "keystroke + frame, picker open",
        open,
        closed,
        "frame, picker closed",
    );
}
