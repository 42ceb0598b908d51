//! The status line (file, saved state, peers, sync state, position, messages) and the
//! one-line prompts (find, go to line).

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use sync::Network;

use crate::model::{Level, Model, Prompt};

/// What the status line says about sharing, and whether it is a problem to point out.
/// `here`: peers connected for the document now.
fn sync_text(model: &Model, here: usize) -> (String, bool) {
    let status = &model.sync.status;
    match &model.sync.network {
        Network::Off => ("offline".into(), true),
        Network::Unavailable(_) => ("no network".into(), true),
        Network::On if status.diverged > 0 => ("TEXT DIFFERS".into(), true),
        Network::On if here == 0 => match status.unsent {
            None => ("only you · Ctrl-T shares".into(), false),
            Some(0) => ("nobody here".into(), false),
            Some(n) => (format!("nobody here · {n} unsent"), false),
        },
        Network::On if status.in_sync => ("synced".into(), false),
        Network::On => match status.unsent {
            Some(n) if n > 0 => (format!("sending {n}"), false),
            _ => ("syncing".into(), false),
        },
    }
}

/// Draws the status line.
pub fn render_status(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = &model.theme;
    let offline = !matches!(model.sync.network, Network::On);
    let bg = if offline {
        theme.status_offline_bg
    } else {
        theme.status_bg
    };
    let base = Style::default().fg(theme.status_fg).bg(bg);
    buf.set_style(area, base);

    // Left: the file and whether it is saved.
    let mut left = vec![Span::styled(
        format!(" {} ", model.file_name),
        base.add_modifier(Modifier::BOLD),
    )];
    if model.is_dirty() {
        left.push(Span::styled(
            "[+] ",
            base.fg(theme.status_dirty_fg).add_modifier(Modifier::BOLD),
        ));
    }

    // Right: peers, sync state, position; on a narrow terminal the peer names go first,
    // then the peer count, so the sync state and position stay visible.
    let online = model.peers.values().filter(|p| p.here).count();
    let away = model.peers.len() - online;
    let names: Vec<Span<'_>> = model
        .peers
        .values()
        .map(|p| {
            let mark = if p.here { "●" } else { "○" };
            Span::styled(
                format!("{mark}{} ", p.name),
                base.fg(p.color).add_modifier(Modifier::BOLD),
            )
        })
        .collect();
    let count = match (model.peers.is_empty(), away) {
        (true, _) => String::new(),
        (false, 0) => format!("({online} here) "),
        (false, _) => format!("({online} here, {away} away) "),
    };
    let (sync, alarm) = sync_text(model, online);
    let sync_style = if model.sync.status.diverged > 0 {
        base.fg(theme.message_error).add_modifier(Modifier::BOLD)
    } else if alarm {
        base.add_modifier(Modifier::BOLD)
    } else {
        base
    };
    let cursor = model.cursor();
    let line = model.doc.char_to_line(cursor);
    let col = cursor - model.doc.line_to_char(line) + 1;
    let tail = vec![
        Span::styled(format!("{sync} │ "), sync_style),
        Span::styled(
            format!("Ln {}/{}, Col {col} ", line + 1, model.doc.line_count()),
            base,
        ),
    ];
    let left_w = Line::from(left.clone()).width();
    let room = usize::from(area.width).saturating_sub(left_w + 1);
    let full: Vec<Span<'_>> = names
        .iter()
        .cloned()
        .chain([Span::styled(count.clone(), base)])
        .chain(tail.clone())
        .collect();
    let counted: Vec<Span<'_>> = [Span::styled(count, base)]
        .into_iter()
        .chain(tail.clone())
        .collect();
    let right = [full, counted, tail.clone(), tail[1..].to_vec()]
        .into_iter()
        .find(|spans| Line::from(spans.clone()).width() <= room)
        .unwrap_or_else(|| tail[1..].to_vec());

    let left = Line::from(left);
    let right = Line::from(right);
    let right_w = right.width() as u16;
    let (lx, _) = buf.set_line(area.x, area.y, &left, area.width);
    let right_x = area.right().saturating_sub(right_w).max(lx);
    buf.set_line(right_x, area.y, &right, area.right() - right_x);

    // Middle: the latest message, in the space left.
    if let Some(message) = &model.message {
        let color = match message.level {
            Level::Info => theme.message_info,
            Level::Warn => theme.message_warn,
            Level::Error => theme.message_error,
        };
        let room = right_x.saturating_sub(lx + 1);
        if room > 3 {
            let style = Style::default()
                .fg(color)
                .bg(theme.status_fg)
                .add_modifier(Modifier::BOLD);
            let text = format!(" {} ", message.text);
            let w = (text.width() as u16).min(room);
            buf.set_stringn(lx + 1, area.y, &text, usize::from(w), style);
        }
    }
}

/// Draws a prompt; returns where the cursor goes (after the typed text).
pub fn render_prompt(model: &Model, prompt: &Prompt, area: Rect, buf: &mut Buffer) -> Position {
    let theme = &model.theme;
    let base = Style::default().fg(theme.prompt_fg);
    buf.set_style(area, base);
    let (label, input, hint, failed) = match prompt {
        Prompt::Find { query, failed, .. } => (
            "Find: ",
            query.as_str(),
            "  Enter/F3 next · Shift-Enter/Shift-F3 previous · Esc close",
            *failed,
        ),
        Prompt::Goto { input, .. } => (
            "Go to line: ",
            input.as_str(),
            "  Enter go · Esc cancel",
            false,
        ),
    };
    let input_style = if failed {
        base.fg(theme.prompt_fail_fg)
    } else {
        base
    };
    let line = Line::from(vec![
        Span::styled(label, base.add_modifier(Modifier::BOLD)),
        Span::styled(input, input_style),
    ]);
    let (x, _) = buf.set_line(area.x, area.y, &line, area.width);
    let hint_text = if failed {
        format!("  (no match){hint}")
    } else {
        hint.to_owned()
    };
    if x < area.right() {
        buf.set_stringn(
            x,
            area.y,
            hint_text,
            usize::from(area.right() - x),
            base.add_modifier(Modifier::DIM),
        );
    }
    Position {
        x: x.min(area.right().saturating_sub(1)),
        y: area.y,
    }
}
