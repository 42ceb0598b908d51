//! Editing together: remote edits arrive while this user edits; the cursor stays on its
//! character and undo only touches this user's own edits.

mod common;

use common::*;
use crdt_text::Anchor;
use duet::model::Model;
use sync::proto::Departure;
use sync::{Event, PeerId};

#[test]
fn remote_insert_before_the_cursor_moves_it_along() {
    let mut m = model("hello wor|ld");
    let mut bob = FakePeer::join(&m, 2);
    bob.insert(&mut m, 0, ">> ");
    assert_eq!(show(&m), ">> hello wor|ld");
}

#[test]
fn remote_insert_at_the_cursor_lands_after_it() {
    let mut m = model("ab|cd");
    let mut bob = FakePeer::join(&m, 2);
    bob.insert(&mut m, 2, "XY");
    assert_eq!(show(&m), "ab|XYcd");
}

#[test]
fn remote_delete_of_the_selection_collapses_it() {
    let mut m = model("a[bcd|e");
    let mut bob = FakePeer::join(&m, 2);
    bob.delete(&mut m, 1, 3);
    assert_eq!(show(&m), "a|e");
}

#[test]
fn undo_leaves_remote_edits_in_place() {
    let mut m = model("|");
    let mut bob = FakePeer::join(&m, 2);
    let fx = type_text(&mut m, "hello");
    bob.receive(&fx);
    // Bob types inside and after this user's word.
    bob.insert(&mut m, 2, "BOB");
    bob.insert(&mut m, 8, "!");
    assert_eq!(m.doc.text(), "heBOBllo!");
    let fx = press(&mut m, "ctrl-z");
    assert_eq!(m.doc.text(), "BOB!", "only my 'hello' is undone");
    bob.receive(&fx);
    assert_eq!(
        bob.doc.text(),
        "BOB!",
        "the undo reached the peer as ordinary ops"
    );
    let fx = press(&mut m, "ctrl-y");
    bob.receive(&fx);
    assert_eq!(m.doc.text(), "heBOBllo!");
    assert_eq!(bob.doc.text(), m.doc.text());
}

#[test]
fn undo_of_a_delete_restores_text_between_remote_edits() {
    let mut m = model("one two |three");
    let mut bob = FakePeer::join(&m, 2);
    let fx = press(&mut m, "alt-backspace");
    bob.receive(&fx);
    assert_eq!(m.doc.text(), "one three");
    bob.insert(&mut m, 0, "[");
    bob.insert(&mut m, 10, "]");
    assert_eq!(m.doc.text(), "[one three]");
    press(&mut m, "ctrl-z");
    assert_eq!(show(&m), "[one two |three]");
}

#[test]
fn undo_after_the_peer_deleted_my_text_does_nothing_harmful() {
    let mut m = model("|");
    let mut bob = FakePeer::join(&m, 2);
    let fx = type_text(&mut m, "abc");
    bob.receive(&fx);
    bob.delete(&mut m, 0, 3);
    bob.insert(&mut m, 0, "xyz");
    press(&mut m, "ctrl-z");
    assert_eq!(m.doc.text(), "xyz");
}

#[test]
fn peers_join_share_their_cursor_and_leave() {
    let mut m = model("hello |world");
    joins(&mut m, BOB, "bob");
    assert!(
        m.message
            .as_ref()
            .is_some_and(|msg| msg.text == "bob joined")
    );
    shows_cursor(&mut m, BOB, "bob", 0xff0000, 2);
    let p = &m.peers[&BOB];
    assert_eq!(p.selection.map(|s| m.doc.resolve(&s.head)), Some(2));
    assert!(p.here);
    sync(
        &mut m,
        Event::PeerLeft {
            doc: DOC,
            peer: BOB,
            why: Departure::Quit,
        },
    );
    assert!(!m.peers[&BOB].here);
    assert_eq!(m.peers[&BOB].selection, None);
    assert!(m.message.as_ref().is_some_and(|msg| msg.text == "bob left"));
}

#[test]
fn a_lost_connection_and_a_restart_are_told_apart_from_a_quit() {
    let mut m = model("|");
    joins(&mut m, BOB, "bob");
    for (why, says) in [
        (Departure::Restarted, "bob restarted"),
        (Departure::Lost, "Lost the connection to bob"),
    ] {
        sync(
            &mut m,
            Event::PeerLeft {
                doc: DOC,
                peer: BOB,
                why,
            },
        );
        let text = m.message.as_ref().map(|msg| msg.text.clone());
        assert!(
            text.as_deref().is_some_and(|t| t.starts_with(says)),
            "{text:?}"
        );
    }
}

#[test]
fn moving_the_cursor_shares_presence() {
    let mut m = model("ab|c");
    let fx = press(&mut m, "left");
    assert!(fx.contains(&duet::msg::Effect::Presence), "{fx:?}");
    let p = m.presence();
    assert_eq!(m.doc.resolve(&p.cursor), 1);
    assert_ne!(p.cursor, Anchor::END);
    assert_eq!(p.name, "me");
}

#[test]
fn randomized_concurrent_editing_converges_and_keeps_the_cursor_valid() {
    use rand::{Rng, SeedableRng};
    for seed in 0..20u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut m = model("|start");
        let mut bob = FakePeer::join(&m, 2);
        let mut to_bob = Vec::new();
        let keys = [
            "left",
            "right",
            "up",
            "down",
            "backspace",
            "delete",
            "enter",
            "ctrl-z",
            "ctrl-y",
            "shift-left",
            "ctrl-right",
            "alt-backspace",
        ];
        for _ in 0..200 {
            match rng.random_range(0..4) {
                0 => to_bob.extend(type_text(
                    &mut m,
                    ["a", "é", "漢", "👍", " "][rng.random_range(0..5)],
                )),
                1 => to_bob.extend(press(&mut m, keys[rng.random_range(0..keys.len())])),
                2 => {
                    let len = bob.doc.len();
                    let pos = rng.random_range(0..=len);
                    bob.insert(&mut m, pos, "b");
                }
                _ => {
                    let len = bob.doc.len();
                    if len > 0 {
                        let pos = rng.random_range(0..len);
                        bob.delete(&mut m, pos, 1);
                    }
                }
            }
            // Invariants: the cursor is inside the text, on a char boundary of the text.
            assert!(m.cursor() <= m.doc.len());
            if rng.random_bool(0.3) {
                bob.receive(&std::mem::take(&mut to_bob));
            }
        }
        bob.receive(&to_bob);
        assert_eq!(
            m.doc.text(),
            bob.doc.text(),
            "seed {seed}: replicas converge"
        );
    }
}

#[test]
fn go_to_a_peer_jumps_to_their_cursor_and_cycles_through_peers() {
    let mut m = model("|one\ntwo\nthree");
    press(&mut m, "alt-g");
    assert!(
        m.message
            .as_ref()
            .is_some_and(|msg| msg.text.contains("Nobody here"))
    );
    joins(&mut m, BOB, "bob");
    shows_cursor(&mut m, BOB, "bob", 0xff0000, 6);
    let carol = PeerId([0xca; 32]);
    joins(&mut m, carol, "carol");
    shows_cursor(&mut m, carol, "carol", 0x00ff00, 10);
    press(&mut m, "alt-g");
    assert_eq!(show(&m), "one\ntw|o\nthree", "bob first");
    press(&mut m, "alt-g");
    assert_eq!(show(&m), "one\ntwo\nth|ree", "then carol");
    press(&mut m, "alt-g");
    assert_eq!(show(&m), "one\ntw|o\nthree", "and around");
}

#[test]
fn following_ends_on_a_key_and_when_the_peer_leaves() {
    let mut m = model("|a\nb\nc");
    joins(&mut m, BOB, "bob");
    shows_cursor(&mut m, BOB, "bob", 0xff0000, 2);
    press(&mut m, "alt-f");
    assert_eq!(m.follow, Some(BOB));
    // The first key only stops following when it is Esc; any other key also does its job.
    press(&mut m, "right");
    assert_eq!(m.follow, None);
    assert_eq!(show(&m), "a|\nb\nc");
    press(&mut m, "alt-f");
    sync(
        &mut m,
        Event::PeerLeft {
            doc: DOC,
            peer: BOB,
            why: Departure::Quit,
        },
    );
    assert_eq!(m.follow, None);
    assert!(
        m.message
            .as_ref()
            .is_some_and(|msg| msg.text.contains("no longer following"))
    );
}

#[test]
fn following_shows_the_peers_screen_and_their_cursor_on_a_smaller_one() {
    let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    // Ten rows of text here; bob's screen shows twenty.
    let mut m = model_sized(&format!("|{text}"), 40, 11);
    let line_start = |m: &Model, line: usize| m.doc.line_to_char(line);
    joins(&mut m, BOB, "bob");
    let at = line_start(&m, 44);
    shows_cursor_and_view(&mut m, BOB, "bob", 0xff0000, at, Some((40, 20)));
    press(&mut m, "alt-f");
    assert_eq!(m.top(), (40, 0), "the top line of bob's screen");

    // Bob scrolls without moving his cursor: the view goes with him.
    shows_cursor_and_view(&mut m, BOB, "bob", 0xff0000, at, Some((42, 20)));
    assert_eq!(m.top(), (42, 0));

    // Bob's cursor is on his screen but below this shorter one: just enough to show it.
    let at = line_start(&m, 58);
    shows_cursor_and_view(&mut m, BOB, "bob", 0xff0000, at, Some((42, 20)));
    let (top, _) = m.top();
    assert!(
        (top..top + 10).contains(&58) && top > 42,
        "bob's cursor on line 59 is on screen, top at {top}"
    );

    // Bob scrolls away from his cursor (the mouse wheel): his screen, not his cursor.
    shows_cursor_and_view(&mut m, BOB, "bob", 0xff0000, at, Some((80, 20)));
    assert_eq!(m.top(), (80, 0));
    assert_eq!(m.follow, Some(BOB));
    assert_eq!(
        show(&m).find('|'),
        Some(0),
        "following never moves this user's cursor"
    );
}

/// A peers-panel row for `peer`, as the session reports it.
fn panel_row(peer: PeerId, name: &str) -> sync::PeerView {
    sync::PeerView {
        id: peer,
        name: Some(name.into()),
        color: Some(0xff0000),
        conn: Some(sync::proto::ConnId(1)),
        link: None,
        addrs: Vec::new(),
        diverged: false,
    }
}

#[test]
fn the_peers_panel_picks_whom_to_go_to_or_follow_and_alt_f_toggles() {
    let mut m = model("|a\nb\nc");
    let carol = PeerId([0xca; 32]);
    joins(&mut m, BOB, "bob");
    shows_cursor(&mut m, BOB, "bob", 0xff0000, 2);
    joins(&mut m, carol, "carol");
    shows_cursor(&mut m, carol, "carol", 0x00ff00, 4);
    m.sync.panel = vec![panel_row(BOB, "bob"), panel_row(carol, "carol")];
    // The second row, f: follow carol (the cursor stays where it is).
    press(&mut m, "ctrl-p down f");
    assert_eq!(m.follow, Some(carol));
    assert_eq!(show(&m), "|a\nb\nc");
    // Alt-F again stops following, and does not start again.
    press(&mut m, "alt-f");
    assert_eq!(m.follow, None);
    // The panel opens on the peer picked last (carol); up to bob, g: go to his cursor.
    press(&mut m, "ctrl-p up g");
    assert_eq!(show(&m), "a\n|b\nc");
    assert_eq!(m.follow, None);
}
