//! Popups over the text: help (generated from the command registry and the keymap), the
//! ticket, the peers panel, and the quit confirmation.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use unicode_width::UnicodeWidthStr;

use crate::commands::{Command, Group};
use crate::keymap::Keymap;
use sync::Network;

use crate::model::{Mode, Model, Popup};

/// The introduction at the top of the help screen.
pub const HELP_INTRO: &str = include_str!("../../../assets/help.txt");

/// Width of the keys column of the help screen.
const KEYS_COLUMN: usize = 24;

/// `text` broken into lines of at most `width` cells at spaces (a longer word is cut); the
/// continuation lines keep the first line's indentation.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let body = text.trim_start_matches(' ');
    let indent = &text[..text.len() - body.len()];
    let width = width.saturating_sub(indent.len()).max(8);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in body.split(' ') {
        if !line.is_empty() && line.width() + 1 + word.width() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.width() > width {
            let cut: String = line.chars().take(width).collect();
            let rest = line[cut.len()..].to_owned();
            lines.push(cut);
            line = rest;
        }
    }
    lines.push(line);
    lines.into_iter().map(|l| format!("{indent}{l}")).collect()
}

/// The help screen's lines for a popup `width` cells wide inside: the introduction, then
/// every command of the registry by section, with the keys the keymap binds to it. Long
/// lines wrap (descriptions under their own column).
pub fn help_lines(keymap: &Keymap, width: usize) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = HELP_INTRO
        .lines()
        .flat_map(|l| wrap(l, width))
        .map(Line::from)
        .collect();
    let doc_width = width.saturating_sub(KEYS_COLUMN + 3);
    for group in Group::ALL {
        lines.push(Line::default());
        lines.push(Line::styled(
            group.title(),
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        ));
        for cmd in Command::ALL.iter().filter(|c| c.group() == group) {
            let keys = keymap
                .keys_for(*cmd)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let keys = if keys.is_empty() {
                "(unbound)".to_owned()
            } else {
                keys
            };
            let text = format!("{} [{}]", cmd.doc(), cmd.name());
            let bold = Style::default().add_modifier(Modifier::BOLD);
            let mut rows = wrap(&text, doc_width).into_iter();
            let first = rows.next().unwrap_or_default();
            let keys = if keys.width() > KEYS_COLUMN {
                lines.push(Line::styled(format!("  {keys}"), bold));
                String::new()
            } else {
                keys
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<KEYS_COLUMN$}"), bold),
                Span::raw(format!(" {first}")),
            ]));
            for rest in rows {
                lines.push(Line::from(format!("{:w$}{rest}", "", w = KEYS_COLUMN + 3)));
            }
        }
    }
    lines
}

/// A centred rectangle of at most `w`×`h` inside `area`.
pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A popup's border with its title.
pub(super) fn frame<'a>(model: &Model, title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(model.theme.popup_border))
        .title(Span::styled(
            format!(" {title} "),
            Style::default()
                .fg(model.theme.popup_title)
                .add_modifier(Modifier::BOLD),
        ))
}

/// The peers panel: one row per peer (from the session), the picked one marked.
fn render_peers(model: &Model, selected: usize, area: Rect, buf: &mut Buffer) {
    let mut lines = vec![
        Line::from(format!("You: {}", model.me.name)).style(Style::default().fg(model.me.color)),
    ];
    if model.sync.panel.is_empty() {
        lines.push(Line::from(match &model.sync.network {
            Network::Unavailable(reason) => {
                format!("Networking is unavailable: {reason}")
            }
            Network::Off => "duet runs with --offline: nobody can join.".to_owned(),
            Network::On => "Nobody else yet. Ctrl-T shows the ticket to invite someone.".to_owned(),
        }));
    }
    for (i, p) in model.sync.panel.iter().enumerate() {
        let color = p.color.map_or_else(
            || model.theme.color_for(&p.id.to_hex()),
            crate::theme::rgb_to_color,
        );
        let name = p.name.clone().unwrap_or_else(|| p.id.short());
        let detail = match &p.link {
            Some(link) => {
                let rtt = link.rtt.map_or("—".to_owned(), |d| {
                    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
                });
                let route = link
                    .route
                    .as_ref()
                    .map_or_else(|| "connecting".to_owned(), ToString::to_string);
                format!("here   {route}  rtt {rtt}")
            }
            None => match p.addrs.first() {
                Some(addr) => format!("away   last seen at {addr}"),
                None => "away".to_owned(),
            },
        };
        let mark = if p.link.is_some() { "●" } else { "○" };
        let picked = if i == selected { "▶ " } else { "  " };
        let mut spans = vec![
            Span::styled(picked, Style::default().add_modifier(Modifier::BOLD)),
            Span::styled(
                format!("{mark} {name:<16}"),
                Style::default()
                    .bg(color)
                    .fg(ratatui::style::Color::Black)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(" {detail}")),
        ];
        // In a shared folder: the file they are in.
        if let Some(file) = model.peers.get(&p.id).and_then(|e| e.file.as_ref()) {
            spans.push(Span::styled(
                format!("  in {file}"),
                Style::default().add_modifier(Modifier::BOLD),
            ));
        }
        spans.extend([Span::styled(
            format!("  {}", p.id),
            Style::default().add_modifier(Modifier::DIM),
        )]);
        if p.diverged {
            spans.push(Span::styled(
                "  text differs!",
                Style::default().fg(model.theme.message_error),
            ));
        }
        lines.push(Line::from(spans));
    }
    let rect = centered(area, 96, lines.len() as u16 + 2);
    // A big room does not fit: scroll so that the picked row (after "You") stays in view.
    let inner = usize::from(rect.height.saturating_sub(2)).max(1);
    let scroll = (selected + 2).saturating_sub(inner);
    Clear.render(rect, buf);
    Paragraph::new(lines)
        .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
        .block(frame(
            model,
            "Peers — ↑↓ pick, g go to their cursor, f follow them, any other key closes",
        ))
        .render(rect, buf);
}

/// Where the ticket popup puts the ticket: its first row, and how many rows it takes at the
/// full width of `area` (no border beside it, so a mouse selection copies nothing else).
pub fn ticket_rows(area: Rect, ticket: &str) -> (u16, u16) {
    let width = usize::from(area.width.max(1));
    let rows = ticket.len().div_ceil(width).max(1) as u16;
    let popup_h = rows + 7;
    let top = area.y + area.height.saturating_sub(popup_h) / 2;
    (top + 3, rows)
}

/// The ticket to draw in its popup, if that popup is open and there is one.
pub fn open_ticket(model: &Model) -> Option<&str> {
    match (&model.mode, &model.sync.ticket) {
        (Mode::Popup(Popup::Ticket), Ok(ticket)) => Some(ticket),
        _ => None,
    }
}

fn render_ticket(model: &Model, area: Rect, buf: &mut Buffer) {
    let ticket = match &model.sync.ticket {
        Ok(ticket) => ticket,
        Err(reason) => {
            let lines = vec![
                Line::from("There is no ticket to share:"),
                Line::from(reason.clone()),
            ];
            let rect = centered(area, 84, 5);
            Clear.render(rect, buf);
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(frame(model, "Ticket"))
                .render(rect, buf);
            return;
        }
    };
    let (ticket_y, rows) = ticket_rows(area, ticket);
    let rect = Rect {
        x: area.x,
        y: ticket_y - 3,
        width: area.width,
        height: (rows + 7).min(area.height),
    };
    Clear.render(rect, buf);
    let block = Block::default()
        .borders(Borders::TOP | Borders::BOTTOM)
        .border_style(Style::default().fg(model.theme.popup_border))
        .title(Span::styled(
            " Ticket — any key closes ",
            Style::default()
                .fg(model.theme.popup_title)
                .add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(rect);
    block.render(rect, buf);
    let width = usize::from(inner.width);
    buf.set_stringn(
        inner.x,
        inner.y,
        if model.in_folder() {
            "Others join the whole folder with `duet join` and this ticket:"
        } else {
            "Others join with `duet join` and this ticket:"
        },
        width,
        Style::default(),
    );
    // The ticket alone, row after row from the left edge (the runtime also writes it with
    // the terminal's own wrapping, so a selection across its rows copies one line).
    let bold = Style::default().add_modifier(Modifier::BOLD);
    for (i, chunk) in ticket.as_bytes().chunks(width.max(1)).enumerate() {
        let piece = std::str::from_utf8(chunk).unwrap_or_default();
        buf.set_stringn(area.x, ticket_y + i as u16, piece, width, bold);
    }
    let notes = [
        "It is in your clipboard (c copies it again).",
        "Anyone with it can read and edit: share it like a password.",
    ];
    for (i, line) in notes.iter().enumerate() {
        let y = ticket_y + rows + 1 + i as u16;
        if y < rect.bottom().saturating_sub(1) {
            buf.set_stringn(inner.x, y, line, width, Style::default());
        }
    }
}

/// Draws `popup` over `area`.
pub fn render_popup(model: &Model, popup: &Popup, area: Rect, buf: &mut Buffer) {
    match popup {
        Popup::Help { scroll } => {
            let rect = centered(area, 100, area.height.saturating_sub(2));
            let lines = help_lines(&model.keymap, usize::from(rect.width.saturating_sub(2)));
            let inner_h = usize::from(rect.height.saturating_sub(2));
            let scroll = (*scroll).min(lines.len().saturating_sub(inner_h));
            Clear.render(rect, buf);
            Paragraph::new(lines)
                .block(frame(
                    model,
                    "Help — ↑↓ PgUp PgDn scroll, any other key closes",
                ))
                .scroll((scroll as u16, 0))
                .render(rect, buf);
        }
        Popup::Ticket => render_ticket(model, area, buf),
        Popup::Peers { selected } => render_peers(model, *selected, area, buf),
        Popup::ConfirmDrop { chars, lines } => {
            let text = vec![
                Line::from(format!(
                    "Saving would drop {chars} characters ({lines} lines) that {} held",
                    model.file_name
                )),
                Line::from("when duet found its store damaged and recovered the text from it."),
                Line::default(),
                Line::from("s: save anyway   any other key: keep the file as it is"),
            ];
            let rect = centered(area, 76, 6);
            Clear.render(rect, buf);
            Paragraph::new(text)
                .block(frame(model, "Drop text from the file?"))
                .render(rect, buf);
        }
        Popup::Report {
            title,
            text,
            scroll,
        } => {
            let rect = centered(area, 90, area.height);
            let lines: Vec<Line<'_>> = text
                .lines()
                .flat_map(|l| wrap(l, usize::from(rect.width.saturating_sub(2))))
                .map(Line::from)
                .collect();
            let height = (lines.len() as u16 + 2).min(area.height);
            let rect = centered(area, 90, height);
            let inner_h = usize::from(rect.height.saturating_sub(2));
            let scroll = (*scroll).min(lines.len().saturating_sub(inner_h));
            Clear.render(rect, buf);
            Paragraph::new(lines)
                .block(frame(model, &format!("{title} — any key closes")))
                .scroll((scroll as u16, 0))
                .render(rect, buf);
        }
        Popup::ConfirmQuit => {
            let lines = vec![
                Line::from(format!(
                    "{} has changes not written to the file.",
                    model.file_name
                )),
                Line::from("(They are safe in duet's store either way.)"),
                Line::default(),
                Line::from("s: save and quit   q: quit without saving   Esc: keep editing"),
            ];
            let rect = centered(area, 68, 6);
            Clear.render(rect, buf);
            Paragraph::new(lines)
                .block(frame(model, "Quit?"))
                .render(rect, buf);
        }
    }
}
