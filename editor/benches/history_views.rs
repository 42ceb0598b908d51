//! The editor's history views, on the real view-model code: `cargo bench -p duet --bench
//! history_views` (release). Prints medians and their ratios to a baseline measured in the
//! same process.
//!
//! - Blame view of a 1 MB document (26,000 lines by one author, then 4,000 edits by two
//!   others): computing the view (`BlameView`, what the cache does after a change), against
//!   reading the whole text (`Doc::text`); and keystroke → frame with the blame view on
//!   (recomputed after every keystroke) against off.
//! - History view on the automerge-paper trace (260k ops) replayed as a dated session with a
//!   pause of an hour every 20,000 transactions (13 sessions): its blame view, opening the
//!   history view, one step to
//!   the previous edit and to the previous session, and restoring the oldest session, against
//!   `Doc::text` of the same document.
//! - `duet show FILE --at 1` on a store holding that document, the binary end to end, against
//!   `duet --version` (process start).

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use crdt_text::{Author, AuthorId, Doc, ReplicaId};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use duet::blame::BlameView;
use duet::keymap::Keymap;
use duet::model::{Identity, Model};
use duet::msg::Msg;
use duet::past::HistoryView;
use duet::theme::Theme;
use duet::update::update;
use duet::view::render;
use rand::{Rng, SeedableRng};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;

#[path = "../../crdt-text/tests/common/mod.rs"]
mod traces;

const T0: u64 = 1_795_000_000;
const BUDGET: Duration = Duration::from_secs(3);

fn median<T>(min: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < min || (start.elapsed() < BUDGET && samples.len() < 51) {
        let t = Instant::now();
        let v = black_box(f());
        samples.push(t.elapsed());
        drop(v);
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(what: &str, d: Duration, base: Duration, base_name: &str) {
    println!(
        "{what:<48} {:>9.2} ms   {:>7.2}× {base_name} ({:.2} ms)",
        ms(d),
        d.as_secs_f64() / base.as_secs_f64(),
        ms(base)
    );
}

fn author(n: u8, name: &str) -> Author {
    Author::new(AuthorId([n; 16]), name, None)
}

/// About 1 MB in 26,000 lines typed by alice, then 2,000 edits each by bob and carol.
fn three_authors() -> Doc {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    let words = ["duet", "peer", "text", "editor", "sync", "the", "a", "of"];
    let mut a = Doc::new(ReplicaId::from(1));
    a.set_author(author(1, "alice"));
    a.set_time(T0);
    for i in 0..26_000u64 {
        let mut line = String::new();
        while line.len() < rng.random_range(20..80) {
            line.push_str(words[rng.random_range(0..words.len())]);
            line.push(' ');
        }
        line.push('\n');
        a.set_time(T0 + i);
        let _ = a.insert(a.len(), &line);
    }
    for (n, name) in [(2u8, "bob"), (3, "carol")] {
        let mut d = Doc::decode(&a.encode(), ReplicaId::from(u64::from(n))).expect("decode");
        d.set_author(author(n, name));
        for i in 0..2_000 {
            d.set_time(T0 + 100_000 * u64::from(n) + i);
            let pos = rng.random_range(0..d.len() - 10);
            if rng.random_bool(0.5) {
                let _ = d.delete(pos, rng.random_range(1..8));
            } else {
                let _ = d.insert(pos, words[rng.random_range(0..words.len())]);
            }
        }
        let _ = a
            .apply_update(&d.encode_since(&a.version()))
            .expect("merge");
    }
    a
}

fn blame_figures() {
    let doc = three_authors();
    println!(
        "1 MB document: {} chars, {} lines, {} ops",
        doc.len(),
        doc.line_count(),
        doc.history_len()
    );
    let theme = Theme::builtin();
    let text = median(11, || doc.text());
    let blame = median(11, || BlameView::new(&doc, &doc.blame(), &theme));
    report("blame view of the 1 MB document", blame, text, "Doc::text");

    // Keystroke → frame, blame view off and on.
    let (w, h) = (120u16, 40u16);
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    let mut frames = |blame_on: bool| {
        let me = Identity {
            name: "alice".into(),
            color: Color::Blue,
        };
        let mut m = Model::new(
            doc.clone(),
            "big.md",
            me,
            Keymap::builtin(),
            Theme::builtin(),
        );
        update(&mut m, Msg::Resize(w, h));
        m.goto_line(13_000);
        m.blame_on = blame_on;
        render(&m, area, &mut buf);
        let mut n = 0u32;
        median(31, || {
            n += 1;
            let c = char::from(b'a' + (n % 26) as u8);
            update(
                &mut m,
                Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
            );
            buf.reset();
            render(&m, area, &mut buf);
        })
    };
    let off = frames(false);
    let on = frames(true);
    report(
        "keystroke → frame, blame view on",
        on,
        off,
        "blame view off",
    );
}

/// automerge-paper as a dated session of one author, with an hour's pause every 20,000
/// transactions.
fn paper() -> Doc {
    let trace = traces::sequential("automerge-paper");
    let mut doc = Doc::new(ReplicaId::from(7));
    doc.set_author(author(7, "ann"));
    let mut t = T0;
    for (i, txn) in trace.txns.iter().enumerate() {
        t += if i % 20_000 == 19_999 { 3600 } else { 1 };
        doc.set_time(t);
        for (pos, del, ins) in &txn.patches {
            if *del > 0 {
                let _ = doc.delete(*pos, *del);
            }
            if !ins.is_empty() {
                let _ = doc.insert(*pos, ins);
            }
        }
    }
    doc
}

fn history_figures(doc: &Doc) {
    println!(
        "automerge-paper: {} ops, {} sessions, {} edits",
        doc.history_len(),
        doc.sessions().len(),
        doc.edits().len()
    );
    let text = median(11, || doc.text());
    let theme = Theme::builtin();
    let blame = median(11, || BlameView::new(doc, &doc.blame(), &theme));
    report("blame view of automerge-paper", blame, text, "Doc::text");
    let open = median(11, || HistoryView::open(doc).expect("history"));
    report("open the history view", open, text, "Doc::text");
    let mut view = HistoryView::open(doc).expect("history");
    view.step(doc, 0, -1);
    let mut back = true;
    let edit = median(21, || {
        view.step(doc, 0, if back { -1 } else { 1 });
        back = !back;
    });
    report(
        "one step: the next or previous edit",
        edit,
        text,
        "Doc::text",
    );
    let mut back = true;
    let session = median(21, || {
        view.step(doc, if back { -1 } else { 1 }, 0);
        back = !back;
    });
    report(
        "one step: the next or previous session",
        session,
        text,
        "Doc::text",
    );
    let oldest = doc.sessions()[0].through;
    let restore = median(11, || {
        let mut d = doc.clone();
        let t = Instant::now();
        let ops = d.restore(oldest);
        (t.elapsed(), ops)
    });
    let clone = median(11, || doc.clone());
    report(
        "restore the oldest session (incl. a clone)",
        restore,
        clone,
        "Doc::clone",
    );
}

fn show_figures(doc: &Doc) {
    let dir = std::env::temp_dir().join(format!("duet-bench-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("paper.tex");
    let opened = sync::store::Store::open(&file).expect("create store");
    let mut store = opened.store;
    store.snapshot_now(doc).expect("snapshot");
    store.write_plain_file(doc).expect("export");
    store.close().expect("close");
    let run = |args: &[&str]| {
        median(11, || {
            let out = Command::new(env!("CARGO_BIN_EXE_duet"))
                .args(args)
                .env("DUET_HOME", &dir)
                .output()
                .expect("run duet");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout.len()
        })
    };
    let file = file.to_string_lossy().into_owned();
    let version = run(&["--version"]);
    let show = run(&["show", &file, "--at", "1"]);
    report(
        "duet show --at 1 (the binary)",
        show,
        version,
        "duet --version",
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |name: &str| only.is_empty() || only.iter().any(|o| name.contains(o.as_str()));
    if want("blame") {
        blame_figures();
    }
    if want("history") || want("show") {
        let doc = paper();
        if want("history") {
            history_figures(&doc);
        }
        if want("show") {
            show_figures(&doc);
        }
    }
}
