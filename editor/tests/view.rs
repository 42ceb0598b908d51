//! Snapshots of the screen, drawn on ratatui's `TestBackend`.

mod common;

use common::*;
use duet::msg::Msg;
use duet::update::update;
use ratatui::style::Color;
use sync::proto::{Departure, SyncStatus};
use sync::{Event, Network, PeerId};

fn cell_bg(m: &duet::model::Model, x: u16, y: u16) -> Color {
    cell(m, x, y).bg
}

/// A model of a file called `name`.
fn named(name: &str, annotated: &str, width: u16, height: u16) -> duet::model::Model {
    let mut m = model_sized(annotated, width, height);
    m.set_file_name(name);
    m.message = None;
    m
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
    let mut m = model_sized("|", 100, 46);
    press(&mut m, "f1");
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
    assert!(
        text.contains("Ctrl-Z") && text.contains("only yours"),
        "{text}"
    );
}

#[test]
fn ticket_popup_shows_the_ticket_alone_on_full_width_rows() {
    let mut m = online(model_sized("|", 60, 14));
    let ticket = format!("duet2{}", "abcdefghijklmnopqrstuvwxyz234567".repeat(3));
    m.sync.ticket = Ok(ticket.clone());
    let effects = press(&mut m, "ctrl-t");
    assert!(effects.contains(&duet::msg::Effect::Clipboard(ticket.clone())));
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
    // The rows that hold the ticket hold nothing else: selecting them copies the ticket.
    let area = ratatui::layout::Rect::new(0, 0, 60, 14);
    let (y, rows) = duet::view::ticket_rows(area, &ticket);
    let lines: Vec<&str> = text.lines().collect();
    let joined: String = (y..y + rows)
        .map(|r| lines[usize::from(r)].trim_end())
        .collect();
    assert_eq!(joined, ticket);
}

#[test]
fn highlighted_code_with_a_remote_cursor_and_a_selection_on_top() {
    let mut m = named(
        "main.rs",
        "// a comment\nfn [main|() {\n    let s = \"hi\";\n}",
        40,
        6,
    );
    join_bob(&mut m, 35);
    m.message = None;
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
    let comment = cell(&m, 4, 0);
    let keyword = cell(&m, 4, 1);
    let string = cell(&m, 4 + 13, 2);
    assert_eq!(comment.fg, Color::DarkGray, "comment");
    assert_eq!(keyword.fg, Color::Magenta, "`fn`");
    assert_eq!(string.fg, Color::Green, "string");
    // The selection (`main`) and bob's cursor (on `=`) keep their own colours, with text
    // that reads on them.
    let selected = cell(&m, 7, 1);
    assert_eq!(selected.bg, m.theme.selection_bg);
    assert_eq!(selected.fg, m.theme.selection_fg);
    let bob = cell(&m, 4 + 10, 2);
    assert_eq!(bob.symbol(), "=");
    assert_eq!((bob.bg, bob.fg), (Color::Rgb(0, 200, 0), Color::Black));
}

#[test]
fn every_match_on_screen_is_marked_and_the_current_one_stands_out() {
    let mut m = model_sized("|one two one\nthree one", 40, 5);
    press(&mut m, "ctrl-f");
    type_text(&mut m, "one");
    press(&mut m, "enter");
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
    assert!(text.contains("Find: one  2 of 3"), "{text}");
    let first = cell(&m, 4, 0);
    let current = cell(&m, 4 + 8, 0);
    let third = cell(&m, 4 + 6, 1);
    assert_eq!(first.bg, m.theme.match_bg);
    assert_eq!(third.bg, m.theme.match_bg);
    assert_eq!(current.bg, m.theme.match_current_bg);
    assert_ne!(current.bg, first.bg);
    assert_eq!(cell(&m, 4 + 4, 0).bg, m.theme.text_bg, "`two` is no match");
}

#[test]
fn the_status_line_says_whom_you_follow() {
    let lines: Vec<String> = (1..=60).map(|i| format!("line {i}")).collect();
    let mut m = online(model_sized(&format!("|{}", lines.join("\n")), 50, 6));
    joins(&mut m, BOB, "bob");
    let far = m.doc.line_to_char(40);
    shows_cursor(&mut m, BOB, "bob", 0x00c800, far);
    press(&mut m, "alt-f");
    m.message = None;
    let (text, _) = screen(&m);
    insta::assert_snapshot!(text);
    assert!(text.contains("following bob"), "{text}");
    assert!(text.contains("line 41"), "the view went to bob: {text}");
    // Bob moves on: the view goes along; a key press stops following.
    let further = m.doc.line_to_char(55);
    shows_cursor(&mut m, BOB, "bob", 0x00c800, further);
    assert!(screen(&m).0.contains("line 56"));
    press(&mut m, "esc");
    assert!(m.follow.is_none());
    m.message = None;
    assert!(!screen(&m).0.contains("following"));
    assert_eq!(m.cursor(), 0, "following never moved this user's cursor");
}

#[test]
fn a_line_exactly_as_wide_as_the_view_takes_one_row() {
    // 16 columns of text after a 4-column gutter.
    let mut m = model_sized("abcdefghijklmnop|\nnext", 20, 4);
    m.message = None;
    let (text, cursor) = screen(&m);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "  1 abcdefghijklmnop");
    assert_eq!(
        rows[1].trim_end(),
        "  2 next",
        "no blank row between: {text}"
    );
    assert_eq!(
        cursor,
        (19, 0),
        "the cursor at the end sits on the last cell"
    );
    press(&mut m, "down");
    assert_eq!(show(&m), "abcdefghijklmnop\nnext|");
}

#[test]
fn without_soft_wrap_the_view_scrolls_sideways_and_numbers_can_go() {
    let mut m = model_sized(
        "|short\nthis line is much longer than the view is wide",
        20,
        4,
    );
    press(&mut m, "alt-s alt-n");
    m.message = None;
    let (text, _) = screen(&m);
    assert_eq!(text.lines().nth(1), Some("this line is much lo"));
    press(&mut m, "down end");
    let (text, cursor) = screen(&m);
    assert!(
        text.lines().nth(1).unwrap().trim_end().ends_with("is wide"),
        "{text}"
    );
    assert_eq!(cursor.1, 1);
}

#[test]
fn peer_names_on_the_status_line_are_chips_in_their_colour() {
    let mut m = online(model_sized("hello|", 70, 4));
    join_bob(&mut m, 0);
    m.message = None;
    let (text, _) = screen(&m);
    let status = text.lines().last().unwrap();
    let x = status.find("●bob").expect("bob on the status line") as u16;
    let chip = cell(&m, x + 1, 3);
    assert_eq!((chip.bg, chip.fg), (Color::Rgb(0, 200, 0), Color::Black));
}

#[test]
fn a_long_status_message_is_cut_at_a_word() {
    let mut m = online(model_sized("x|", 60, 3));
    m.notify(
        duet::model::Level::Warn,
        "Cannot reach bob yet: no answer within 15000 ms from any of the addresses",
    );
    let (text, _) = screen(&m);
    let status = text.lines().last().unwrap();
    assert!(status.contains('…'), "{status}");
    let shown = status.split('…').next().unwrap();
    let last_word = shown.split_whitespace().last().unwrap();
    assert!(
        "Cannot reach bob yet: no answer within 15000 ms from any of the addresses"
            .split_whitespace()
            .any(|w| w == last_word),
        "cut mid-word: {status}"
    );
}

#[test]
fn help_wraps_long_lines_in_a_narrow_terminal() {
    let mut m = model_sized("|", 60, 200);
    press(&mut m, "f1");
    let (text, _) = screen(&m);
    assert!(
        !text.contains("Replace: type what to find, Enter, the replacement, Enter; then"),
        "wrapped: {text}"
    );
    assert!(text.contains("Replace: type what to find"), "{text}");
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
    // Picking bob (the first row) and pressing g goes to his cursor.
    press(&mut m, "g");
    assert_eq!(m.mode, duet::model::Mode::Edit);
    assert_eq!(m.picked, Some(BOB));
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

#[test]
fn in_a_big_room_the_status_line_names_the_peers_nearest_the_cursor_and_counts_the_rest() {
    // 40 lines; this user on line 20; 30 peers, peer k's cursor on line k.
    let text: String = (0..40).map(|i| format!("line {i}\n")).collect();
    let at = text.find("line 20").unwrap();
    let annotated = format!("{}|{}", &text[..at], &text[at..]);
    let mut m = online(model_sized(&annotated, 120, 6));
    for k in 0..30u8 {
        let peer = PeerId([k + 1; 32]);
        let name = format!("p{k:02}");
        joins(&mut m, peer, &name);
        let line_start = text.find(&format!("line {k}\n")).unwrap();
        shows_cursor(&mut m, peer, &name, 0x40_80_c0, line_start);
    }
    m.message = None;
    let (screen_text, _) = screen(&m);
    let status = screen_text.lines().last().unwrap();
    for near in ["p20", "p19", "p21"] {
        assert!(status.contains(near), "{near} is nearest: {status}");
    }
    for far in ["p00", "p05", "p29"] {
        assert!(!status.contains(far), "{far} is far away: {status}");
    }
    assert!(status.contains("+27"), "the others are counted: {status}");
    assert!(status.contains("(30 here)"), "{status}");
}

#[test]
fn the_peers_panel_of_a_big_room_scrolls_to_the_picked_peer() {
    let mut m = online(model_sized("|", 96, 12));
    m.sync.panel = (0..60u8)
        .map(|k| sync::PeerView {
            id: PeerId([k + 1; 32]),
            name: Some(format!("peer-{k:02}")),
            color: Some(0x40_80_c0),
            conn: None,
            link: None,
            addrs: Vec::new(),
            diverged: false,
        })
        .collect();
    m.message = None;
    press(&mut m, "ctrl-p");
    for _ in 0..50 {
        press(&mut m, "down");
    }
    let (text, _) = screen(&m);
    let picked = text
        .lines()
        .find(|l| l.contains("▶"))
        .unwrap_or_else(|| panic!("the picked row is on screen:\n{text}"));
    assert!(picked.contains("peer-50"), "{text}");
}

#[test]
fn a_join_under_way_shows_its_progress_on_the_status_line_until_it_is_done() {
    use sync::share::Progress;
    let mut m = online(named("notes.md", "hello|", 100, 4));
    let last = |m: &duet::model::Model| screen(m).0.lines().last().unwrap().to_string();
    // What the folder session reports while the tree arrives, then while the files do.
    let mut shown = |tree, files, left, received| {
        let progress = Progress {
            tree,
            files,
            left,
            received,
        };
        m.sync.progress = Some(progress.to_string());
        last(&m)
    };
    let status = shown(true, 0, 0, 300_000);
    assert!(
        status.contains("receiving the file tree… 0.3 MB received"),
        "{status}"
    );
    let status = shown(false, 1000, 880, 1_234_567);
    assert!(
        status.contains("syncing files: 120 of 1000 (880 left), 1.2 MB received"),
        "{status}"
    );
    // Done: the status line says how sharing stands again.
    m.sync.progress = None;
    let status = last(&m);
    assert!(!status.contains("syncing files"), "{status}");
    assert!(status.contains("only you"), "{status}");
}
