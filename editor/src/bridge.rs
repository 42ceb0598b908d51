//! Translation between the sync layer's types and the editor's messages and effects.

use ratatui::style::Color;
use sync::api::{Event, PeerStatus};
use sync::proto::{EndpointKey, PresenceState, SyncStatus};

use crate::model::ConnInfo;
use crate::msg::{NetEvent, PeerId, Presence};

/// The editor's id for a peer: its endpoint key in hex.
pub fn peer_id(key: &EndpointKey) -> PeerId {
    PeerId(key.iter().map(|b| format!("{b:02x}")).collect())
}

/// A colour as `0xRRGGBB` for the wire (named colours map to common terminal values).
pub fn color_to_rgb(color: Color) -> u32 {
    let (r, g, b) = match color {
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Black => (0, 0, 0),
        Color::Red => (205, 49, 49),
        Color::Green => (13, 188, 121),
        Color::Yellow => (229, 229, 16),
        Color::Blue => (36, 114, 200),
        Color::Magenta => (188, 63, 188),
        Color::Cyan => (17, 168, 205),
        Color::Gray => (204, 204, 204),
        Color::DarkGray => (118, 118, 118),
        Color::LightRed => (241, 76, 76),
        Color::LightGreen => (35, 209, 139),
        Color::LightYellow => (245, 245, 67),
        Color::LightBlue => (59, 142, 234),
        Color::LightMagenta => (214, 112, 214),
        Color::LightCyan => (41, 184, 219),
        Color::White => (229, 229, 229),
        Color::Reset | Color::Indexed(_) => (198, 120, 221),
    };
    (u32::from(r) << 16) | (u32::from(g) << 8) | u32::from(b)
}

/// A `0xRRGGBB` colour from the wire.
pub fn rgb_to_color(rgb: u32) -> Color {
    Color::Rgb((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8)
}

/// Our presence as the sync layer sends it.
pub fn presence_state(name: &str, color: Color, p: Presence) -> PresenceState {
    PresenceState {
        name: name.to_owned(),
        color: color_to_rgb(color),
        cursor: p.head,
        selection: (p.tail != p.head).then_some((p.tail, p.head)),
    }
}

/// The sync state as the status line shows it.
pub fn sync_event(status: &SyncStatus) -> NetEvent {
    NetEvent::Sync {
        online: status.connected > 0,
        unacked: status.unacknowledged,
    }
}

/// A sync-layer event as editor messages (`peers` supplies names for joins).
pub fn net_events(event: Event, peers: &[PeerStatus]) -> Vec<NetEvent> {
    match event {
        Event::Remote(ops) => vec![NetEvent::Remote(ops)],
        Event::PeerJoined { peer } => {
            let name = peers
                .iter()
                .find(|p| p.key == peer)
                .and_then(|p| p.name.clone());
            vec![NetEvent::PeerJoined {
                peer: peer_id(&peer),
                name,
            }]
        }
        Event::PeerLeft { peer, error } => {
            let mut out = vec![NetEvent::PeerLeft {
                peer: peer_id(&peer),
            }];
            if let Some(error) = error {
                out.push(NetEvent::ConnectionFailed {
                    peer: Some(peer_id(&peer)),
                    reason: error.to_string(),
                });
            }
            out
        }
        Event::Rejected { peer, error } => {
            vec![NetEvent::ConnectionFailed {
                peer: Some(peer_id(&peer)),
                reason: error.to_string(),
            }]
        }
        Event::Presence {
            peer,
            presence: Some(p),
        } => {
            let tail = p.selection.map_or(p.cursor, |(tail, _)| tail);
            vec![NetEvent::Presence {
                peer: peer_id(&peer),
                name: p.name,
                color: rgb_to_color(p.color),
                presence: Presence {
                    head: p.cursor,
                    tail,
                },
            }]
        }
        Event::Presence {
            peer,
            presence: None,
        } => vec![NetEvent::PresenceHidden {
            peer: peer_id(&peer),
        }],
        Event::Status(status) => vec![sync_event(&status)],
        Event::DialFailed { peer, error } => {
            vec![NetEvent::ConnectionFailed {
                peer: Some(peer_id(&peer)),
                reason: error,
            }]
        }
        Event::StoreFailed(reason) => vec![NetEvent::StoreFailed(reason)],
        Event::LocalRejected(error) => vec![NetEvent::StoreFailed(format!(
            "an edit was refused: {error}"
        ))],
        // Nothing to show for the rest (autosave of headless sessions and the like).
        other => {
            tracing::info!("sync: {other}");
            vec![]
        }
    }
}

/// Connection details for the peers panel.
pub fn connections(peers: &[PeerStatus]) -> Vec<(PeerId, ConnInfo)> {
    peers
        .iter()
        .filter_map(|p| {
            let addr = p.addr.or_else(|| p.known_addrs.first().copied())?;
            Some((
                peer_id(&p.key),
                ConnInfo {
                    addr: addr.to_string(),
                    direct: true,
                    rtt: p.rtt,
                },
            ))
        })
        .collect()
}
