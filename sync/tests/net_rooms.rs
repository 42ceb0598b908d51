//! A big room on real iroh over loopback: 32 headless peers in one process join one document
//! by ticket, gossip in its room with a bounded number of connections each, and converge.

#![allow(clippy::unwrap_used)]

mod net_support;

use std::time::Duration;

use net_support::{Node, config, test_dir, wait_for_nodes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_peers_converge_in_a_room_with_few_connections_each() {
    tokio::time::timeout(Duration::from_secs(240), async {
        let dir = test_dir("room");
        let file = |i: usize| {
            let d = dir.path().join(format!("p{i}"));
            std::fs::create_dir_all(&d).unwrap();
            d.join("notes.md")
        };
        let host = Node::start(config(&file(0), None, true)).await;
        host.type_at(0, "agenda\n");
        let ticket = host.ticket.clone().unwrap();
        let mut nodes = vec![host];
        for i in 1..32 {
            nodes.push(Node::start(config(&file(i), Some(ticket.clone()), true)).await);
        }
        let all: Vec<&Node> = nodes.iter().collect();
        wait_for_nodes(
            &all,
            "everyone in the room with the text",
            Duration::from_secs(120),
            |ls| ls.iter().all(|l| l.in_room && l.text == "agenda\n"),
        )
        .await;
        // Five writers at once.
        for (k, node) in nodes.iter().step_by(7).enumerate() {
            node.type_at(usize::MAX, &format!("item {k}\n"));
        }
        let looks = wait_for_nodes(&all, "convergence", Duration::from_secs(60), |ls| {
            ls.iter()
                .all(|l| l.version == ls[0].version && l.text == ls[0].text)
                && (0..5).all(|k| ls[0].text.contains(&format!("item {k}\n")))
        })
        .await;
        let most = looks.iter().map(|l| l.connections).max().unwrap();
        eprintln!("32 peers in a room converged with at most {most} connections per peer");
        // Spare channels (everyone first dials the ticket's host) are left within seconds:
        // each peer keeps its swarm neighbours and little more.
        let looks = wait_for_nodes(&all, "bounded connections", Duration::from_secs(60), |ls| {
            ls.iter().all(|l| l.connections <= 8)
        })
        .await;
        let most = looks.iter().map(|l| l.connections).max().unwrap();
        eprintln!(
            "then at most {most} connections per peer; peer 0 hears {} others",
            looks[0].status.connected
        );
        // Everyone hears everyone: presence reaches the whole room.
        wait_for_nodes(&all, "everyone here", Duration::from_secs(60), |ls| {
            ls.iter().all(|l| l.status.connected == 31)
        })
        .await;
        for node in nodes {
            node.stop().await;
        }
    })
    .await
    .expect("the room test took longer than 240 s");
}
