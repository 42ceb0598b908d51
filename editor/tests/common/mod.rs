//! Test helpers: models written as annotated text, keys written as in keymap files, and a
//! fake peer that exchanges ops with the model the way the sync layer would.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crdt_text::{Doc, Op, ReplicaId, VersionVector};
use crossterm::event::{KeyEvent, KeyEventKind};
use duet::keymap::{Key, Keymap};
use duet::model::{Identity, Model};
use duet::msg::{Effect, Msg};
use duet::theme::Theme;
use duet::update::update;
use duet::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use sync::proto::{PresenceState, SyncStatus};
use sync::{DocId, Event, PeerId};

/// Builds a model from annotated text: `|` is the cursor, `[` the other end of the
/// selection (if any). The text is typed by replica 1 (this user); the undo history is empty.
pub fn model(annotated: &str) -> Model {
    model_sized(annotated, 40, 10)
}

/// [`model`] with a terminal size.
pub fn model_sized(annotated: &str, width: u16, height: u16) -> Model {
    let text: String = annotated
        .chars()
        .filter(|c| !matches!(c, '|' | '['))
        .collect();
    let mut doc = Doc::new(ReplicaId::from(1));
    if !text.is_empty() {
        let _ = doc.insert(0, &text);
    }
    let me = Identity {
        name: "me".into(),
        color: Color::Blue,
    };
    let mut m = Model::new(doc, "notes.md", me, Keymap::builtin(), Theme::builtin());
    m.size = (width, height);
    m.saved_version = Some(m.doc.version());
    let (head, tail) = marks(annotated);
    let head = head.expect("annotated text needs a | cursor");
    m.select(tail.unwrap_or(head)..head);
    // `select` puts the cursor at the end of its range; place it explicitly instead.
    m.sel.tail = m.anchor_at(tail.unwrap_or(head));
    m.sel.head = m.anchor_at(head);
    m
}

/// Char positions of `|` and `[` in the text without the marks.
fn marks(annotated: &str) -> (Option<usize>, Option<usize>) {
    let (mut head, mut tail, mut pos) = (None, None, 0);
    for c in annotated.chars() {
        match c {
            '|' => head = Some(pos),
            '[' => tail = Some(pos),
            _ => pos += 1,
        }
    }
    (head, tail)
}

/// The model's text with its cursor (`|`) and selection tail (`[`) marked.
pub fn show(m: &Model) -> String {
    let text = m.doc.text();
    let head = m.doc.resolve(&m.sel.head);
    let tail = m.doc.resolve(&m.sel.tail);
    let mut out = String::new();
    for (i, c) in text.chars().chain(std::iter::once('\0')).enumerate() {
        if i == tail && tail != head {
            out.push('[');
        }
        if i == head {
            out.push('|');
        }
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// A key event from its keymap spelling (`ctrl-z`, `shift-left`, `a`).
pub fn key_event(spec: &str) -> KeyEvent {
    let key: Key = spec
        .parse()
        .unwrap_or_else(|e| panic!("bad key {spec:?}: {e}"));
    let mut ev = KeyEvent::new(key.code, key.mods);
    ev.kind = KeyEventKind::Press;
    ev
}

/// Presses keys given as space-separated keymap spellings; returns all effects.
pub fn press(m: &mut Model, keys: &str) -> Vec<Effect> {
    keys.split_whitespace()
        .flat_map(|k| update(m, Msg::Key(key_event(k))))
        .collect()
}

/// Types text character by character (as key presses).
pub fn type_text(m: &mut Model, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| {
            let ev = if c == '\n' {
                key_event("enter")
            } else {
                KeyEvent::new(
                    crossterm::event::KeyCode::Char(c),
                    crossterm::event::KeyModifiers::NONE,
                )
            };
            update(m, Msg::Key(ev))
        })
        .collect()
}

/// Draws the model on a test terminal of its size; returns the screen as text and the
/// cursor position.
pub fn screen(m: &Model) -> (String, (u16, u16)) {
    let mut term = Terminal::new(TestBackend::new(m.size.0, m.size.1)).unwrap();
    term.draw(|f| view(m, f)).unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            out.push_str(sym);
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
        }
        out.push('\n');
    }
    let pos = term.get_cursor_position().unwrap();
    (out, (pos.x, pos.y))
}

/// One cell of the screen as drawn.
pub fn cell(m: &Model, x: u16, y: u16) -> ratatui::buffer::Cell {
    let mut term = Terminal::new(TestBackend::new(m.size.0, m.size.1)).unwrap();
    term.draw(|f| view(m, f)).unwrap();
    term.backend().buffer()[(x, y)].clone()
}

/// The ops among effects.
pub fn submitted(effects: &[Effect]) -> Vec<Op> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Submit(op) => Some(op.clone()),
            _ => None,
        })
        .collect()
}

/// The document the test models have open.
pub const DOC: DocId = DocId([1; 32]);

/// Bob's peer id.
pub const BOB: PeerId = PeerId([0xb0; 32]);

/// Feeds news from the sync layer to the model.
pub fn sync(m: &mut Model, event: Event) -> Vec<Effect> {
    update(m, Msg::from(event))
}

/// `peer` joins, announcing `name`.
pub fn joins(m: &mut Model, peer: PeerId, name: &str) {
    sync(
        m,
        Event::PeerJoined {
            doc: DOC,
            peer,
            name: Some(name.into()),
        },
    );
}

/// `peer` shows its cursor at char `at` in colour `rgb`.
pub fn shows_cursor(m: &mut Model, peer: PeerId, name: &str, rgb: u32, at: usize) {
    shows_cursor_and_view(m, peer, name, rgb, at, None);
}

/// `peer` shares its cursor at `at` and a screen of `rows` rows whose top line is `top`.
pub fn shows_cursor_and_view(
    m: &mut Model,
    peer: PeerId,
    name: &str,
    rgb: u32,
    at: usize,
    view: Option<(usize, u32)>,
) {
    let cursor = m.doc.anchor(at, crdt_text::Bias::Left);
    let view = view.map(|(top, rows)| sync::proto::Viewport {
        top: m
            .doc
            .anchor(m.doc.line_to_char(top), crdt_text::Bias::Right),
        rows,
    });
    let presence = PresenceState {
        name: name.into(),
        color: rgb,
        cursor,
        selection: None,
        view,
    };
    sync(
        m,
        Event::Presence {
            doc: DOC,
            peer,
            presence: Some(presence),
        },
    );
}

/// The document's sync state changes.
pub fn status(m: &mut Model, status: SyncStatus) {
    sync(m, Event::Status { doc: DOC, status });
}

/// Another replica of the same document, standing in for a remote peer: its ops are applied
/// to the model's document (as the protocol does) and the model is told.
pub struct FakePeer {
    /// Its replica.
    pub doc: Doc,
}

impl FakePeer {
    /// A peer with replica id `id` that has received everything the model has.
    pub fn join(m: &Model, id: u64) -> FakePeer {
        let mut doc = Doc::new(ReplicaId::from(id));
        doc.apply_update(&m.doc.encode_since(&VersionVector::new()))
            .expect("valid update");
        FakePeer { doc }
    }

    /// Receives ops the model submitted.
    pub fn receive(&mut self, effects: &[Effect]) {
        for op in submitted(effects) {
            self.doc.apply(&op).expect("valid op");
        }
    }

    /// Inserts text at `pos` and delivers the op to the model.
    pub fn insert(&mut self, m: &mut Model, pos: usize, text: &str) -> Vec<Effect> {
        let op = self.doc.insert(pos, text);
        deliver(m, op)
    }

    /// Deletes `len` chars at `pos` and delivers the op to the model.
    pub fn delete(&mut self, m: &mut Model, pos: usize, len: usize) -> Vec<Effect> {
        let op = self.doc.delete(pos, len);
        deliver(m, op)
    }
}

/// Applies a peer's op to the model's document as the protocol does, then tells the model.
pub fn deliver(m: &mut Model, op: Op) -> Vec<Effect> {
    m.doc.apply(&op).expect("a valid remote op");
    sync(
        m,
        Event::Remote {
            doc: DOC,
            from: BOB,
            ops: 1,
        },
    )
}
