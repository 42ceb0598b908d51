//! Snapshots of the screen, drawn on ratatui's `TestBackend`.

mod common;

use common::*;
use duet::msg::Msg;
use duet::update::update;
use duet::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use sync::proto::{Departure, SyncStatus};
use sync::{Event, Network, PeerId};

/// Draws the model on a test terminal of its size; returns the screen as text and the
/// cursor position.
fn screen(m: &duet::model::Model) -> (String, (u16, u16)) {
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

fn cell_bg(m: &duet::model::Model, x: u16, y: u16) -> Color {
    let mut term = Terminal::new(TestBackend::new(m.size.0, m.size.1)).unwrap();
    term.draw(|f| view(m, f)).unwrap();
    term.backend().buffer()[(x, y)].bg
}

fn join_bob(m: &mut duet::model::Model, at: usize) {
    joins(m, BOB, "bob");
    shows_cursor(m, BOB, "bob", 0x00c800, at);
}

/// A model on the network, as after a session started.
fn online(mut m: duet::model::Model) -> duet::model::Model {
    m.sync.network = Network::On;
    m
}

#[test]
fn status_line_shows_file_saved_state_and_position() {
    let mut m = online(model_sized("hello\nwor|ld", 60, 5));
    let (text, cursor) = screen(&m);
    insta::assert_snapshot!(text);
    assert_eq!(cursor, (4 + 3, 1), "cursor after the gutter, on 'l'");
    type_text(&mut m, "!");
    let (text, _) = screen(&m);
    assert!(
        text.lines().last().unwrap().contains("[+]"),
        "unsaved mark after an edit:\n{text}"
    );
}

#[test]
fn status_line_shows_peers_and_sync_state() {
    let mut m = online(model_sized("hello|", 70, 4));
    join_bob(&mut m, 0);
    let carol = PeerId([0xca; 32]);
    joins(&mut m, carol, "carol");
    sync(
        &mut m,
        Event::PeerLeft {
            doc: DOC,
            peer: carol,
            why: Departure::Quit,
        },
    );
    status(
        &mut m,
        SyncStatus {
            connected: 1,
            unsent: Some(3),
            ..SyncStatus::default()
        },
    );
    m.message = None;
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
}

#[test]
fn the_status_line_tells_the_truth_about_sharing() {
    let mut m = model_sized("x|", 70, 3);
    let says = |m: &duet::model::Model| screen(m).0.lines().last().unwrap().to_owned();
    m.sync.network = Network::Off;
    assert!(says(&m).contains("offline"), "{}", says(&m));
    m.sync.network = Network::Unavailable("port in use".into());
    assert!(says(&m).contains("no network"), "{}", says(&m));
    // Online but alone: not an alarm, and it says how to share.
    m.sync.network = Network::On;
    assert!(
        says(&m).contains("only you · Ctrl-T shares"),
        "{}",
        says(&m)
    );
    let bg_alone = cell_bg(&m, 0, 2);
    assert_eq!(
        bg_alone, m.theme.status_bg,
        "no offline colour while online"
    );
    // Shared before, nobody here now, 7 edits not on any peer yet.
    status(
        &mut m,
        SyncStatus {
            unsent: Some(7),
            ..SyncStatus::default()
        },
    );
    assert!(says(&m).contains("nobody here · 7 unsent"), "{}", says(&m));
    // Connected, but "synced" only once a peer confirmed the same text.
    joins(&mut m, BOB, "bob");
    let mut here = SyncStatus {
        connected: 1,
        unsent: Some(0),
        ..SyncStatus::default()
    };
    status(&mut m, here);
    assert!(!says(&m).contains("synced"), "{}", says(&m));
    here.in_sync = true;
    status(&mut m, here);
    assert!(says(&m).contains("synced"), "{}", says(&m));
    here.diverged = 1;
    status(&mut m, here);
    assert!(says(&m).contains("TEXT DIFFERS"), "{}", says(&m));
}

#[test]
fn remote_cursor_is_drawn_in_its_colour_with_its_name() {
    let mut m = model_sized("|hello world\nsecond line", 40, 5);
    join_bob(&mut m, 6);
    m.message = None;
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
    assert_eq!(
        cell_bg(&m, 4 + 6, 0),
        Color::Rgb(0, 200, 0),
        "bob's cursor cell is green"
    );
}

#[test]
fn remote_cursor_follows_remote_edits() {
    let mut m = model_sized("|abc", 30, 4);
    let mut bob = FakePeer::join(&m, 2);
    join_bob(&mut m, 3);
    bob.insert(&mut m, 0, "xyz");
    let p = m.peers.values().next().unwrap().selection.unwrap();
    assert_eq!(m.doc.resolve(&p.head), 6);
}

#[test]
fn soft_wrap_and_wide_characters() {
    let mut m = model_sized(
        "|漢字かなカナ漢字かなカナ漢字 and some words that wrap\n🎉 party",
        24,
        8,
    );
    m.message = None;
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
    // The cursor on the wrapped part lands on the right screen row.
    press(&mut m, "end");
    let (_, cursor) = screen(&m);
    assert!(
        cursor.1 >= 2,
        "end of a wrapped line is below its first row: {cursor:?}"
    );
}

#[test]
fn tabs_and_combining_marks() {
    let m = model_sized("|\tx\ne\u{301}e\u{301}|", 20, 4);
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
}

#[test]
fn help_popup_lists_commands_with_their_keys() {
    let mut m = model_sized("|", 100, 40);
    press(&mut m, "f1");
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
    assert!(
        text.contains("Ctrl-Z") && text.contains("only yours"),
        "{text}"
    );
}

#[test]
fn ticket_popup() {
    let mut m = online(model_sized("|", 90, 14));
    m.sync.ticket = Ok("duet1abcdefghijklmnopqrstuvwxyz234567".into());
    let effects = press(&mut m, "ctrl-t");
    assert!(effects.contains(&duet::msg::Effect::Clipboard(
        "duet1abcdefghijklmnopqrstuvwxyz234567".into()
    )));
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
}

#[test]
fn peers_popup() {
    let mut m = online(model_sized("|", 96, 10));
    join_bob(&mut m, 0);
    m.sync.panel = vec![
        sync::PeerView {
            id: BOB,
            name: Some("bob".into()),
            color: Some(0x00c800),
            conn: Some(sync::proto::ConnId(1)),
            link: Some(sync::net::Link {
                route: Some(sync::net::Route::Direct("127.0.0.1:4919".parse().unwrap())),
                rtt: Some(std::time::Duration::from_micros(1500)),
                sent: 1000,
                received: 2000,
            }),
            addrs: vec!["127.0.0.1:4919".parse().unwrap()],
            diverged: false,
        },
        sync::PeerView {
            id: PeerId([0xca; 32]),
            name: Some("carol".into()),
            color: None,
            conn: None,
            link: None,
            addrs: vec!["192.168.1.7:4919".parse().unwrap()],
            diverged: false,
        },
    ];
    m.message = None;
    press(&mut m, "ctrl-p");
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
}

#[test]
fn find_prompt() {
    let mut m = model_sized("|alpha beta gamma", 60, 4);
    press(&mut m, "ctrl-f");
    type_text(&mut m, "beta");
    let (text, cursor) = screen(&m);
    insta::assert_snapshot!(text);
    assert_eq!(cursor.1, 2, "the cursor is in the prompt");
}

#[test]
fn scrolling_follows_the_cursor() {
    let lines: Vec<String> = (1..=100).map(|i| format!("line {i}")).collect();
    let mut m = model_sized(&format!("|{}", lines.join("\n")), 30, 6);
    press(&mut m, "ctrl-end");
    let (text, cursor) = screen(&m);
    assert!(text.contains("line 100"), "{text}");
    assert_eq!(cursor.1, 4, "last text row");
    press(&mut m, "ctrl-home");
    let (text, _) = screen(&m);
    assert!(text.starts_with("  1 line 1"), "{text}");
    press(&mut m, "pagedown");
    let (text, _) = screen(&m);
    assert!(!text.contains("line 1\n"), "{text}");
}

#[test]
fn mouse_click_places_the_cursor_and_wheel_scrolls() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mut m = model_sized("|first line\nsecond line\nthird", 30, 6);
    let click = |kind, column, row| {
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    update(
        &mut m,
        click(MouseEventKind::Down(MouseButton::Left), 4 + 3, 1),
    );
    assert_eq!(show(&m), "first line\nsec|ond line\nthird");
    update(
        &mut m,
        click(MouseEventKind::Drag(MouseButton::Left), 4 + 2, 2),
    );
    assert_eq!(show(&m), "first line\nsec[ond line\nth|ird");
    update(
        &mut m,
        click(MouseEventKind::Down(MouseButton::Left), 25, 0),
    );
    assert_eq!(
        show(&m),
        "first line|\nsecond line\nthird",
        "past the end of a line"
    );
    update(&mut m, click(MouseEventKind::ScrollDown, 0, 0));
    assert_eq!(
        m.top(),
        (2, 0),
        "wheel scrolls without moving the cursor (clamped to the last line)"
    );
}
