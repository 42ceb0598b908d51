//! Two separate OS processes, each a headless peer, syncing one document over loopback.
//!
//! The test re-runs its own binary as the second process (selecting [`child_peer`] and
//! passing the ticket in the environment), so no other binary needs to be built.

#![allow(clippy::unwrap_used)]

mod net_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use duet_sync::ticket::DocTicket;
use net_support::{Peer, converged, pump_while, test_dir, wait_until};

const CHILD_ENV: &str = "DUET_TEST_CHILD_TICKET";
const CHILD_DIR_ENV: &str = "DUET_TEST_CHILD_DIR";

#[test]
fn two_processes_sync_over_loopback() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(120), parent())
            .await
            .expect("the two-process test took longer than 120 s");
    });
}

async fn parent() {
    let dir = test_dir("process");
    let mut a = Peer::start("parent", dir.path(), None).await;
    a.type_at(0, "from the parent process\n");
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_peer",
            "--exact",
            "--nocapture",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, a.ticket().to_string())
        .env(CHILD_DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();

    wait_until(&mut [&mut a], "the child's edit", |ps| {
        ps[0].doc.text().contains("from the child process\n")
    })
    .await;
    // The parent's loop keeps running (acknowledging the child's edit) until the child exits.
    let exited = tokio::task::spawn_blocking(move || child.wait_with_output());
    let output = pump_while(&mut [&mut a], exited).await.unwrap().unwrap();
    assert!(output.status.success(), "child failed: {output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let child_text = stdout
        .lines()
        .find_map(|l| l.split_once("CHILD-TEXT: ").map(|(_, text)| text))
        .unwrap_or_else(|| panic!("child printed no text: {stdout}"));
    let child_text: String = serde_json::from_str(child_text).unwrap();
    assert_eq!(child_text, a.doc.text());
    a.stop().await;
}

/// The second process's entry point: does nothing unless started by
/// [`two_processes_sync_over_loopback`] (which sets the ticket in the environment).
#[test]
#[ignore = "run by two_processes_sync_over_loopback in a child process"]
fn child_peer() {
    let (Ok(ticket), Ok(dir)) = (std::env::var(CHILD_ENV), std::env::var(CHILD_DIR_ENV)) else {
        return;
    };
    let ticket: DocTicket = ticket.parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut b = Peer::start("child", std::path::Path::new(&dir), Some(ticket)).await;
        wait_until(&mut [&mut b], "the parent's text", |ps| {
            ps[0].doc.text().contains("from the parent process\n")
        })
        .await;
        b.type_at(0, "from the child process\n");
        // Done once a peer has stored our edit durably.
        wait_until(&mut [&mut b], "the parent's acknowledgement", |ps| {
            converged(ps) && ps[0].status().unsent == Some(0)
        })
        .await;
        println!(
            "CHILD-TEXT: {}",
            serde_json::to_string(&b.doc.text()).unwrap()
        );
        b.stop().await;
    });
}
