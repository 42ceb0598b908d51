//! The status line (file, saved state, whom you follow, peers, sync state, position,
//! messages) and the one-line prompts (find, replace, go to line, save as).

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use sync::Network;

use crate::model::{Level, Model, Peer, Prompt};

/// What the status line says about sharing, and whether it is a problem to point out.
/// `here`: peers connected for the document now.
fn sync_text(model: &Model, here: usize) -> (String, bool) {
    let status = &model.sync.status;
    // A folder with no file open yet is not a read-only view: its sync state matters.
    if model.read_only.is_some() && !model.in_folder() {
        return ("read-only".into(), true);
    }
    if let Some(progress) = &model.sync.progress {
        return (progress.clone(), false);
    }
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

/// A name on the status bar: on the peer's own colour with black text, readable on any
/// status background (light or dark) whatever the colour.
fn chip(text: String, color: Color) -> Span<'static> {
    Span::styled(
        text,
        Style::default()
            .bg(color)
            .fg(Color::Black)
            .add_modifier(Modifier::BOLD),
    )
}

/// `text` cut to at most `room` cells at a word boundary, with `…` when cut.
fn fit_words(text: &str, room: usize) -> String {
    if text.width() <= room {
        return text.to_owned();
    }
    let mut out = String::new();
    for word in text.split_inclusive(' ') {
        if (out.clone() + word).trim_end().width() + 1 > room {
            break;
        }
        out.push_str(word);
    }
    format!("{}…", out.trim_end())
}

/// With more peers than this, the status line names only the nearest to the cursor.
const NAMED_PEERS: usize = 3;

/// The peers the status line names: all of a small group; of a big room, the
/// [`NAMED_PEERS`] here whose cursors are nearest to this user's (by lines), nearest first.
fn named_peers(model: &Model) -> Vec<&Peer> {
    if model.peers.len() <= NAMED_PEERS + 1 {
        return model.peers.values().collect();
    }
    let line = model.doc.char_to_line(model.cursor());
    let mut near: Vec<(usize, &Peer)> = model
        .peers
        .values()
        .filter(|p| p.here)
        .map(|p| {
            let distance = p.selection.as_ref().map_or(usize::MAX, |s| {
                let head = model.doc.resolve(&s.head);
                model.doc.char_to_line(head).abs_diff(line)
            });
            (distance, p)
        })
        .collect();
    near.sort_by(|(a, p), (b, q)| a.cmp(b).then_with(|| p.name.cmp(&q.name)));
    near.into_iter().take(NAMED_PEERS).map(|(_, p)| p).collect()
}

/// The blame view's legend: every author of the text in their colour, most characters
/// first, and the cursor line's last change.
pub fn render_legend(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = &model.theme;
    let blame = model.blame_view();
    let base = Style::default().fg(theme.text_fg).bg(theme.text_bg);
    buf.set_style(area, base);
    let mut spans = vec![Span::styled(" Blame ", base.add_modifier(Modifier::BOLD))];
    let line = model.doc.char_to_line(model.cursor());
    if let Some((person, time)) = blame.line(line) {
        spans.push(Span::styled(
            format!(
                "line {}: {}, {} │ ",
                line + 1,
                person.label(),
                crate::blame::when(time)
            ),
            base,
        ));
    }
    for p in &blame.people {
        spans.push(Span::styled(
            format!(" {} ", p.label()),
            Style::default().bg(p.color).fg(theme.history_fg),
        ));
        spans.push(Span::styled(" ", base));
    }
    if blame.people.is_empty() {
        spans.push(Span::styled("(no text)", base));
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

/// The summary of what others changed while this user was away, on the colour the changed
/// places are highlighted with.
pub fn render_away(model: &Model, row: &str, area: Rect, buf: &mut Buffer) {
    let style = Style::default()
        .fg(model.theme.history_fg)
        .bg(model.theme.away_bg);
    buf.set_style(area, style);
    buf.set_stringn(
        area.x,
        area.y,
        format!(
            " {}",
            fit_words(row, usize::from(area.width).saturating_sub(1))
        ),
        usize::from(area.width),
        style,
    );
}

/// Draws the status line.
pub fn render_status(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = &model.theme;
    let offline = !matches!(model.sync.network, Network::On)
        && (model.read_only.is_none() || model.in_folder());
    let bg = if offline {
        theme.status_offline_bg
    } else {
        theme.status_bg
    };
    let base = Style::default().fg(theme.status_fg).bg(bg);
    buf.set_style(area, base);

    // Left: the file, whether it is saved, whom this user follows.
    let mut left = vec![Span::styled(
        format!(" {} ", model.file_name),
        base.add_modifier(Modifier::BOLD),
    )];
    if model.is_dirty() && model.read_only.is_none() {
        left.push(Span::styled(
            "[+] ",
            base.fg(theme.status_dirty_fg).add_modifier(Modifier::BOLD),
        ));
    }
    if model.blame_on
        && let Some((person, time)) = model
            .blame_view()
            .line(model.doc.char_to_line(model.cursor()))
    {
        left.push(chip(
            format!(" {} · {} ", person.label(), crate::blame::when(time)),
            person.color,
        ));
        left.push(Span::styled(" ", base));
    }
    if let Some(peer) = model.follow {
        let color = model.peers.get(&peer).map_or(Color::Gray, |p| p.color);
        left.push(chip(
            format!(" following {} ", model.peer_name(&peer)),
            color,
        ));
        left.push(Span::styled(" ", base));
    }

    // Right: peers, sync state, position; on a narrow terminal the peer names go first,
    // then the peer count, so the sync state and position stay visible.
    let online = model.peers.values().filter(|p| p.here).count();
    let away = model.peers.len() - online;
    let shown = named_peers(model);
    let unnamed = model.peers.len() - shown.len();
    let mut names: Vec<Span<'_>> = shown
        .into_iter()
        .flat_map(|p| {
            let mark = if p.here { "●" } else { "○" };
            // In a shared folder, a peer in another file is named with it.
            let elsewhere = p
                .file
                .as_deref()
                .filter(|f| *f != model.file_name)
                .map(|f| format!(" in {}", f.rsplit('/').next().unwrap_or(f)))
                .unwrap_or_default();
            [
                chip(format!("{mark}{}{elsewhere}", p.name), p.color),
                Span::styled(" ", base),
            ]
        })
        .collect();
    if unnamed > 0 {
        names.push(Span::styled(format!("+{unnamed} "), base));
    }
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
    // A message takes room from the peer names and counts first (never from the position),
    // and is cut at a word only when even that is not enough.
    let message_w = model.message.as_ref().map_or(0, |m| m.text.width() + 3);
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
    // Shorter and shorter right sides: a message (if any) takes room from the peer names,
    // then the count, then the sync state, never from the position.
    let candidates = [full, counted, tail.clone(), tail[1..].to_vec()];
    let right = candidates
        .iter()
        .find(|spans| Line::from(spans.to_vec()).width() + message_w <= room)
        .unwrap_or(&candidates[3])
        .clone();

    let left = Line::from(left);
    let right = Line::from(right);
    let right_w = right.width() as u16;
    let (lx, _) = buf.set_line(area.x, area.y, &left, area.width);
    let right_x = area.right().saturating_sub(right_w).max(lx);
    buf.set_line(right_x, area.y, &right, area.right() - right_x);

    // Middle: the latest message, in the space left (cut at a word, never mid-word).
    if let Some(message) = &model.message {
        let color = match message.level {
            Level::Info => theme.message_info,
            Level::Warn => theme.message_warn,
            Level::Error => theme.message_error,
        };
        let room = usize::from(right_x.saturating_sub(lx + 1));
        if room > 4 {
            let style = Style::default()
                .fg(color)
                .bg(theme.status_fg)
                .add_modifier(Modifier::BOLD);
            let text = format!(" {} ", fit_words(&message.text, room - 2));
            buf.set_stringn(lx + 1, area.y, &text, room, style);
        }
    }
}

/// The prompt's label, its input, its hint, and whether to show the input as failed.
fn prompt_parts(model: &Model, prompt: &Prompt) -> (String, String, String, bool) {
    match prompt {
        Prompt::Find(p) => {
            let opts = format!(
                "[{}{}]",
                model.search.case.label(),
                if model.search.regex { ", regex" } else { "" }
            );
            let (count, failed) = match_count(model, &p.query);
            let keys = "Alt-C case · Alt-R regex · Esc";
            match &p.replacement {
                None => (
                    "Find: ".into(),
                    p.query.clone(),
                    format!("  {count}{opts}  Enter/F3 next · Shift-Enter/↑ previous · {keys}"),
                    failed,
                ),
                Some(r) if p.in_replacement => (
                    format!("Replace {:?} with: ", p.query),
                    r.clone(),
                    format!("  {count}{opts}  Enter: go through the matches · Tab · {keys}"),
                    false,
                ),
                Some(_) => (
                    "Replace: ".into(),
                    p.query.clone(),
                    format!("  {count}{opts}  Enter/Tab: the replacement · {keys}"),
                    failed,
                ),
            }
        }
        Prompt::Replace(r) => {
            let (count, _) = match_count(model, &r.query);
            (
                format!("Replace with {:?}? ", r.replacement),
                String::new(),
                format!("{count} y: replace · n: skip · a: all the rest · Esc: stop"),
                false,
            )
        }
        Prompt::Goto { input } => (
            "Go to line: ".into(),
            input.clone(),
            "  Enter go · Esc cancel".into(),
            false,
        ),
        Prompt::SaveAs { input } => (
            "Save as: ".into(),
            input.clone(),
            "  Enter save (the store moves along) · Esc cancel".into(),
            false,
        ),
    }
}

/// "3 of 17 " for the current query (the selection's place among the matches), and whether
/// the query fails (no match, or not a valid expression).
fn match_count(model: &Model, query: &str) -> (String, bool) {
    let Some(found) = model.found(query) else {
        return (String::new(), false);
    };
    match &*found {
        Err(e) => (format!("({e}) "), true),
        Ok(f) if f.matches.is_empty() => ("no match ".into(), true),
        Ok(f) => {
            let total = if f.capped {
                format!("{}+", f.matches.len())
            } else {
                f.matches.len().to_string()
            };
            let at = f.index_of(&model.selection_range());
            let text = match at {
                Some(i) => format!("{} of {total} ", i + 1),
                None => format!("{total} matches "),
            };
            (text, false)
        }
    }
}

/// Draws a prompt; returns where the cursor goes (after the typed text).
pub fn render_prompt(model: &Model, prompt: &Prompt, area: Rect, buf: &mut Buffer) -> Position {
    let theme = &model.theme;
    let base = Style::default().fg(theme.prompt_fg);
    buf.set_style(area, base);
    let (label, input, hint, failed) = prompt_parts(model, prompt);
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
    if x < area.right() {
        buf.set_stringn(
            x,
            area.y,
            hint,
            usize::from(area.right() - x),
            base.add_modifier(Modifier::DIM),
        );
    }
    Position {
        x: x.min(area.right().saturating_sub(1)),
        y: area.y,
    }
}
