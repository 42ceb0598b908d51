//! A shared folder's files in one editor: each file keeps its own cursor, scroll and undo
//! while another is on screen, and going to or following a peer crosses files.

mod common;

use common::*;
use crdt_text::{Doc, ReplicaId};
use duet::buffers::Parked;
use duet::msg::{Effect, FolderNews, Msg};
use duet::picker::FolderFiles;
use duet::update::update;
use sync::PeerId;

/// A file's document typed by this user's replica.
fn doc(text: &str) -> Doc {
    let mut doc = Doc::new(ReplicaId::from(1));
    if !text.is_empty() {
        let _ = doc.insert(0, text);
    }
    doc
}

/// Puts `doc` (file `name`) on screen as the runtime does, fresh or from `parked`; returns
/// the file that was on screen.
fn open(m: &mut duet::model::Model, doc: Doc, name: &str, parked: Option<Parked>) -> (Doc, Parked) {
    let state = parked.unwrap_or_else(|| Parked::fresh(m, &doc, name.into(), m.settings));
    m.switch_buffer(doc, state)
}

fn news(m: &mut duet::model::Model, news: FolderNews) -> Vec<Effect> {
    update(m, Msg::Folder(Box::new(news)))
}

fn peer_in(m: &mut duet::model::Model, peer: PeerId, file: &str) -> Vec<Effect> {
    news(
        m,
        FolderNews::PeerIn {
            peer,
            file: file.into(),
            name: Some("bob".into()),
        },
    )
}

#[test]
fn each_file_keeps_its_cursor_and_its_own_undo() {
    let mut m = model("hel|lo");
    m.set_folder(Some(FolderFiles::default()));
    type_text(&mut m, "X");
    assert_eq!(show(&m), "helX|lo");
    // Another file: fresh cursor at the start, its own undo.
    let (notes_doc, notes) = open(&mut m, doc("one\ntwo"), "src/two.md", None);
    assert_eq!(show(&m), "|one\ntwo");
    assert_eq!(m.file_name, "src/two.md");
    press(&mut m, "ctrl-end");
    type_text(&mut m, "!");
    // Back: the cursor where it was, and undo undoes this file's edit only.
    let (two_doc, two) = open(&mut m, notes_doc, "notes.md", Some(notes));
    assert_eq!(m.file_name, "notes.md");
    assert_eq!(show(&m), "helX|lo");
    press(&mut m, "ctrl-z");
    assert_eq!(show(&m), "hel|lo");
    let _ = open(&mut m, two_doc, "src/two.md", Some(two));
    assert_eq!(show(&m), "one\ntwo!|");
    assert!(!m.is_dirty(), "a folder's files are written as they change");
}

#[test]
fn going_to_a_peer_in_another_file_opens_it_at_their_cursor() {
    let mut m = model("|notes");
    m.set_folder(Some(FolderFiles::default()));
    joins(&mut m, BOB, "bob");
    peer_in(&mut m, BOB, "src/main.rs");
    let fx = press(&mut m, "alt-g");
    assert_eq!(fx, vec![Effect::Open("src/main.rs".into())]);
    // The runtime opens the file, tells bob's cursor there, then that it is open.
    let _ = open(&mut m, doc("fn main() {}\n"), "src/main.rs", None);
    shows_cursor(&mut m, BOB, "bob", 0xff0000, 5);
    news(&mut m, FolderNews::Opened);
    assert_eq!(show(&m), "fn ma|in() {}\n");
    assert_eq!(m.follow, None);
}

#[test]
fn following_a_peer_goes_with_them_from_file_to_file() {
    let mut m = model("|notes");
    m.set_folder(Some(FolderFiles::default()));
    joins(&mut m, BOB, "bob");
    peer_in(&mut m, BOB, "a.md");
    let fx = press(&mut m, "alt-f");
    assert_eq!(fx, vec![Effect::Open("a.md".into())]);
    let _ = open(&mut m, doc("alpha\n"), "a.md", None);
    shows_cursor(&mut m, BOB, "bob", 0xff0000, 2);
    news(&mut m, FolderNews::Opened);
    assert_eq!(m.follow, Some(BOB));
    // Bob leaves a.md for b.md: between the two, following waits; then the view goes along.
    let fx = news(
        &mut m,
        FolderNews::PeerOut {
            peer: BOB,
            file: "a.md".into(),
        },
    );
    assert!(fx.is_empty() && m.follow == Some(BOB), "{fx:?}");
    let fx = peer_in(&mut m, BOB, "b.md");
    assert_eq!(fx, vec![Effect::Open("b.md".into())]);
    let _ = open(&mut m, doc("beta\n"), "b.md", None);
    shows_cursor(&mut m, BOB, "bob", 0xff0000, 3);
    news(&mut m, FolderNews::Opened);
    assert_eq!(m.follow, Some(BOB));
    assert_eq!(show(&m), "|beta\n", "this user's own cursor never moves");
    // Any key stops following.
    press(&mut m, "right");
    assert_eq!(m.follow, None);
}

#[test]
fn following_waits_while_a_peer_in_this_file_has_not_shown_its_cursor_yet() {
    let mut m = model("|alpha");
    m.set_folder(Some(FolderFiles::default()));
    m.set_file_name("a.md");
    joins(&mut m, BOB, "bob");
    peer_in(&mut m, BOB, "a.md");
    shows_cursor(&mut m, BOB, "bob", 0xff0000, 2);
    press(&mut m, "alt-f");
    assert_eq!(m.follow, Some(BOB));
    // Bob's channel for a.md is opened again: the news that he is in a.md comes a moment
    // before his cursor does. Following waits for it instead of ending.
    news(
        &mut m,
        FolderNews::PeerOut {
            peer: BOB,
            file: "a.md".into(),
        },
    );
    let hidden = sync::Event::Presence {
        doc: DOC,
        peer: BOB,
        presence: None,
    };
    sync(&mut m, hidden);
    peer_in(&mut m, BOB, "a.md");
    assert_eq!(m.follow, Some(BOB), "{:?}", m.message);
    shows_cursor(&mut m, BOB, "bob", 0xff0000, 4);
    assert_eq!(m.follow, Some(BOB));
    // Leaving the folder ends it.
    sync(
        &mut m,
        sync::Event::PeerLeft {
            doc: DOC,
            peer: BOB,
            why: sync::proto::Departure::Quit,
        },
    );
    assert_eq!(m.follow, None);
}
