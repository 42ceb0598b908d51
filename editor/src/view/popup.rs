//! Popups over the text: help (generated from the command registry and the keymap), the
//! ticket, the peers panel, and the quit confirmation.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use crate::commands::{COMMANDS, Group};
use crate::keymap::Keymap;
use sync::Network;

use crate::model::{Model, Popup};

/// The introduction at the top of the help screen.
pub const HELP_INTRO: &str = include_str!("../../../assets/help.txt");

/// The help screen's lines: the introduction, then every command of the registry by
/// section, with the keys the keymap binds to it.
pub fn help_lines(keymap: &Keymap) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = HELP_INTRO
        .lines()
        .map(|l| Line::from(l.to_owned()))
        .collect();
    for group in Group::ALL {
        lines.push(Line::default());
        lines.push(Line::styled(
            group.title(),
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        ));
        for cmd in COMMANDS.iter().filter(|c| c.group == group) {
            let keys = keymap
                .keys_for(cmd.name)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let keys = if keys.is_empty() {
                "(unbound)".to_owned()
            } else {
                keys
            };
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {keys:<24}"),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!(" {}", cmd.doc)),
                Span::styled(
                    format!("  [{}]", cmd.name),
                    Style::default().add_modifier(Modifier::DIM),
                ),
            ]));
        }
    }
    lines
}

/// A centred rectangle of at most `w`×`h` inside `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn frame<'a>(model: &Model, title: &'a str) -> Block<'a> {
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

/// Draws `popup` over `area`.
pub fn render_popup(model: &Model, popup: &Popup, area: Rect, buf: &mut Buffer) {
    match popup {
        Popup::Help { scroll } => {
            let lines = help_lines(&model.keymap);
            let rect = centered(area, 100, area.height.saturating_sub(2));
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
        Popup::Ticket => {
            let lines: Vec<Line<'_>> = match &model.sync.ticket {
                Ok(ticket) => vec![
                    Line::from("Others join this document with:"),
                    Line::default(),
                    Line::styled(
                        format!("duet join {ticket}"),
                        Style::default().add_modifier(Modifier::BOLD),
                    ),
                    Line::default(),
                    Line::from("Copied to the clipboard (OSC 52; press c to copy again)."),
                    Line::from("Anyone with the ticket can read and edit the document."),
                ],
                Err(reason) => vec![
                    Line::from("There is no ticket to share:"),
                    Line::from(reason.clone()),
                ],
            };
            let rect = centered(area, 84, 12);
            Clear.render(rect, buf);
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(frame(model, "Ticket"))
                .render(rect, buf);
        }
        Popup::Peers => {
            let mut lines = vec![
                Line::from(format!("You: {}", model.me.name))
                    .style(Style::default().fg(model.me.color)),
            ];
            if model.sync.panel.is_empty() {
                lines.push(Line::from(match &model.sync.network {
                    Network::Unavailable(reason) => {
                        format!("Networking is unavailable: {reason}")
                    }
                    Network::Off => "duet runs with --offline: nobody can join.".to_owned(),
                    Network::On => {
                        "Nobody else yet. Ctrl-T shows the ticket to invite someone.".to_owned()
                    }
                }));
            }
            for p in &model.sync.panel {
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
                let mut spans = vec![
                    Span::styled(
                        format!("{mark} {name:<16}"),
                        Style::default().fg(color).add_modifier(Modifier::BOLD),
                    ),
                    Span::raw(format!(" {detail}")),
                    Span::styled(
                        format!("  {}", p.id),
                        Style::default().add_modifier(Modifier::DIM),
                    ),
                ];
                if p.diverged {
                    spans.push(Span::styled(
                        "  text differs!",
                        Style::default().fg(model.theme.message_error),
                    ));
                }
                lines.push(Line::from(spans));
            }
            let rect = centered(area, 90, lines.len() as u16 + 2);
            Clear.render(rect, buf);
            Paragraph::new(lines)
                .block(frame(model, "Peers"))
                .render(rect, buf);
        }
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
        Popup::Recovery { text, scroll } => {
            let lines: Vec<Line<'_>> = text.lines().map(Line::from).collect();
            let height = (lines.len() as u16 + 3).min(area.height);
            let rect = centered(area, 90, height);
            Clear.render(rect, buf);
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(frame(
                    model,
                    "duet recovered this document — any key closes",
                ))
                .scroll((*scroll as u16, 0))
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
