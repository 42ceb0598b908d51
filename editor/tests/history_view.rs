//! The editor's history views (issue 13) on the view model: blame (after concurrent edits,
//! merges and undo), the history view's steps and its restore as one undoable step that
//! keeps others' later edits, with TestBackend snapshots of both views.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use crdt_text::{Author, AuthorId};
use duet::model::{Mode, Model};
use duet::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn alice(m: &mut Model) {
    m.doc
        .set_author(Author::new(AuthorId([1; 16]), "alice", None));
}

fn bob(m: &Model) -> FakePeer {
    let mut peer = FakePeer::join(m, 2);
    peer.doc
        .set_author(Author::new(AuthorId([2; 16]), "bob", None));
    peer
}

/// The screen as text.
fn screen(m: &Model) -> String {
    let mut term = Terminal::new(TestBackend::new(m.size.0, m.size.1)).unwrap();
    term.draw(|f| view(m, f)).unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn bg(m: &Model, x: u16, y: u16) -> ratatui::style::Color {
    let mut term = Terminal::new(TestBackend::new(m.size.0, m.size.1)).unwrap();
    term.draw(|f| view(m, f)).unwrap();
    term.backend().buffer()[(x, y)].bg
}

/// alice wrote "hello world\n"; bob then wrote a second line and replaced "world".
fn two_authors() -> (Model, FakePeer) {
    let mut m = model_sized("|", 90, 8);
    alice(&mut m);
    type_text(&mut m, "hello world\n");
    let mut b = bob(&m);
    b.delete(&mut m, 6, 5);
    b.insert(&mut m, 6, "there");
    b.insert(&mut m, 12, "bob was here\n");
    assert_eq!(m.doc.text(), "hello there\nbob was here\n");
    (m, b)
}

#[test]
fn blame_view_colours_each_author_with_a_legend_and_names_the_cursor_line() {
    let (mut m, _) = two_authors();
    press(&mut m, "ctrl-home alt-b");
    assert!(m.blame_on);
    let text = screen(&m);
    insta::assert_snapshot!(text);
    let b = m.blame_view();
    let (alice, bob) = (
        b.people
            .iter()
            .find(|p| p.label() == "alice (you)")
            .unwrap(),
        b.people.iter().find(|p| p.name == "bob").unwrap(),
    );
    assert_ne!(alice.color, bob.color, "two authors, two colours");
    // "hello" is alice's, "there" bob's: their cells carry the authors' colours.
    let x0 = m.gutter_width() as u16;
    assert_eq!(bg(&m, x0, 0), alice.color);
    assert_eq!(bg(&m, x0 + 6, 0), bob.color);
    // The cursor's line (line 1: bob changed it last) is named in the status line.
    let status = text.lines().last().unwrap().to_owned();
    assert!(status.contains("bob · time unknown"), "{status}");
    press(&mut m, "alt-b");
    assert!(!m.blame_on);
    assert!(!screen(&m).contains("(you)"));
}

#[test]
fn blame_follows_concurrent_edits_merges_and_undo() {
    let (mut m, mut b) = two_authors();
    press(&mut m, "alt-b ctrl-end");
    // Concurrently: alice types at the end while bob edits the first line.
    let typed = type_text(&mut m, "mine");
    b.insert(&mut m, 0, ">> ");
    b.receive(&typed);
    assert_eq!(m.doc.text(), b.doc.text(), "merged");
    let view = m.blame_view();
    assert_eq!(view.person_at(0).unwrap().name, "bob");
    assert_eq!(view.person_at(3).unwrap().label(), "alice (you)");
    let end = m.doc.len() - 1;
    assert_eq!(view.person_at(end).unwrap().label(), "alice (you)");
    // Undo takes alice's typing away: the last character is bob's newline again.
    press(&mut m, "ctrl-z");
    let view = m.blame_view();
    let end = m.doc.len() - 1;
    assert_eq!(view.person_at(end).unwrap().name, "bob");
    assert_eq!(view.line(0).unwrap().0.name, "bob");
    // Cached: nothing changed, the same blame is returned without recomputing.
    assert!(std::rc::Rc::ptr_eq(&view, &m.blame_view()));
}

#[test]
fn history_view_steps_through_sessions_and_edits() {
    let (mut m, _) = two_authors();
    press(&mut m, "alt-h");
    assert_eq!(m.mode, Mode::History);
    let v = m.history.as_ref().unwrap();
    assert_eq!(v.sessions.len(), 2);
    assert_eq!(v.session().number, 2, "opens on the newest session");
    insta::assert_snapshot!("history_newest_session", screen(&m));
    press(&mut m, "pageup");
    let v = m.history.as_ref().unwrap();
    assert_eq!(v.session().number, 1);
    assert_eq!(v.past.text, "hello world\n");
    // Back to bob's session, then through its edits: his deletion first.
    press(&mut m, "pagedown right");
    let v = m.history.as_ref().unwrap();
    let (_, k, n) = v.edit().unwrap();
    assert_eq!((k, n), (0, 3), "a deletion and two inserts");
    assert_eq!(v.past.text, "hello world\n");
    assert_eq!(v.counts(), (0, 5), "\"world\" deleted");
    insta::assert_snapshot!("history_one_edit", screen(&m));
    press(&mut m, "right");
    let v = m.history.as_ref().unwrap();
    assert_eq!(v.edit().unwrap().1, 1);
    assert_eq!(v.counts(), (5, 0), "\"there\" inserted");
    assert_eq!(v.past.text, "hello there\n");
    press(&mut m, "esc");
    assert_eq!(m.mode, Mode::Edit);
    assert!(m.history.is_none());
}

#[test]
fn restore_is_one_undo_step_and_keeps_others_later_edits() {
    let (mut m, mut b) = two_authors();
    let today = m.doc.text();
    let effects = press(&mut m, "alt-h pageup enter");
    assert_eq!(m.mode, Mode::Edit);
    assert_eq!(m.doc.text(), "hello world\n");
    assert!(m.message.as_ref().unwrap().text.contains("session 1"));
    // The restore reaches bob; he types on afterwards.
    b.receive(&effects);
    assert_eq!(b.doc.text(), "hello world\n");
    b.insert(&mut m, 0, "!");
    assert_eq!(m.doc.text(), "!hello world\n");
    // One Ctrl-Z brings today's text back, bob's later "!" included.
    let undo = press(&mut m, "ctrl-z");
    assert_eq!(m.doc.text(), format!("!{today}"));
    b.receive(&undo);
    assert_eq!(b.doc.text(), m.doc.text());
    // And redo restores again, keeping the "!".
    press(&mut m, "ctrl-y");
    assert_eq!(m.doc.text(), "!hello world\n");
}

#[test]
fn restoring_the_current_version_says_so() {
    let (mut m, _) = two_authors();
    press(&mut m, "alt-h enter");
    assert_eq!(m.doc.text(), "hello there\nbob was here\n");
    assert!(m.message.as_ref().unwrap().text.contains("already"));
    // No new undo step: Ctrl-Z undoes alice's last edit (her line break), not a restore.
    press(&mut m, "ctrl-z");
    assert_eq!(m.doc.text(), "hello therebob was here\n");
}

#[test]
fn changes_made_while_away_are_summed_up_highlighted_and_visited() {
    let mut m = model_sized("|", 90, 8);
    alice(&mut m);
    type_text(&mut m, "one\ntwo\nthree\n");
    let seen = m.doc.version();
    let mut b = bob(&m);
    let mut carol = FakePeer::join(&m, 3);
    carol
        .doc
        .set_author(Author::new(AuthorId([3; 16]), "carol", None));
    // Reopened: the version last seen is known; the peers' edits arrive while catching up.
    press(&mut m, "ctrl-home");
    m.track_away(seen, 0);
    assert!(m.away_row().is_none(), "nothing changed yet");
    b.insert(&mut m, 4, "TWO ");
    b.delete(&mut m, 12, 5);
    let ops = carol.doc.insert(0, "# ");
    deliver(&mut m, ops);
    duet::update::update(&mut m, duet::msg::Msg::Tick);
    assert_eq!(m.doc.text(), "# one\nTWO two\n\n");
    let row = m.away_row().unwrap();
    assert!(row.contains("bob changed 2 places, carol 1"), "{row}");
    // Carol's "# " is where the cursor is: visited at once.
    assert!(row.contains("2 to visit"), "{row}");
    assert!(row.contains("Alt-J next"), "{row}");
    insta::assert_snapshot!("away_summary", screen(&m));
    assert_eq!(
        bg(&m, m.gutter_width() as u16 + 2, 0),
        ratatui::style::Color::Reset
    );
    let away_bg = m.theme.away_bg;
    assert_eq!(
        bg(&m, m.gutter_width() as u16, 1),
        away_bg,
        "bob's TWO highlighted"
    );
    // The jump key visits bob's places one by one.
    press(&mut m, "alt-j");
    assert_eq!(show(&m), "# one\n|TWO two\n\n");
    press(&mut m, "alt-j");
    assert_eq!(show(&m), "# one\nTWO two\n|\n");
    assert!(m.away_row().is_none(), "every place visited");
    assert_ne!(bg(&m, m.gutter_width() as u16, 1), away_bg);
    // Caught up with the peers and all visited: nothing is left.
    status(
        &mut m,
        sync::proto::SyncStatus {
            connected: 2,
            in_sync: true,
            ..Default::default()
        },
    );
    assert!(m.away.is_none());
}

#[test]
fn changes_made_while_away_can_be_dismissed() {
    let mut m = model_sized("|", 90, 8);
    alice(&mut m);
    type_text(&mut m, "one\n");
    let seen = m.doc.version();
    let mut b = bob(&m);
    press(&mut m, "ctrl-home");
    m.track_away(seen, 0);
    b.insert(&mut m, 4, "bob\n");
    duet::update::update(&mut m, duet::msg::Msg::Tick);
    assert!(m.away_row().unwrap().contains("bob changed 1 place"));
    press(&mut m, "alt-d");
    assert!(m.away.is_none());
    assert!(m.away_row().is_none());
}

/// A model on `doc` decoded under a new replica (as after a restart that renewed the replica
/// id), edited by the author `n`.
fn reopened(m: &Model, n: u8, name: &str) -> Model {
    let doc =
        crdt_text::Doc::decode(&m.doc.encode(), crdt_text::ReplicaId::from(40 + n as u64)).unwrap();
    let mut again = model_sized("|", 90, 8);
    again.doc = doc;
    again
        .doc
        .set_author(Author::new(AuthorId([n; 16]), name, None));
    again
}

#[test]
fn undo_kept_for_the_next_run_undoes_only_this_authors_edits() {
    let (mut m, mut b) = two_authors();
    press(&mut m, "ctrl-end");
    type_text(&mut m, "alice again");
    b.insert(&mut m, 0, "bob: ");
    let kept = m.editor_state();
    assert_eq!(
        kept.undo.len(),
        5,
        "hello , world, the newline, alice , again"
    );

    let mut again = reopened(&m, 1, "alice");
    assert_eq!(
        again.take_editor_state(sync::store::EditorRead::Found(kept.clone())),
        None
    );
    press(&mut again, "ctrl-z");
    assert_eq!(again.doc.text(), "bob: hello there\nbob was here\nalice ");
    press(&mut again, "ctrl-z ctrl-z");
    assert_eq!(
        again.doc.text(),
        "bob: hello therebob was here\n",
        "alice's edits undone, bob's stay"
    );

    // Another author opening the same store does not get alice's stacks.
    let mut other = reopened(&m, 9, "mallory");
    other.take_editor_state(sync::store::EditorRead::Found(kept));
    press(&mut other, "ctrl-z");
    assert_eq!(other.doc.text(), m.doc.text());
    assert!(other.message.unwrap().text.contains("Nothing of yours"));

    // An unreadable file is a note for the user, and undo starts afresh.
    let mut damaged = reopened(&m, 1, "alice");
    let note = damaged.take_editor_state(sync::store::EditorRead::Unreadable("broken".into()));
    assert_eq!(note.as_deref(), Some("broken"));
    assert!(!damaged.undo.can_undo());
}
