//! Shared folders over real iroh on loopback, in one process: a fresh join brings every file;
//! a reconnect where nothing changed compares summaries and opens no file, so it costs a few
//! kilobytes whatever the number of files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use duet_sync::net::NetConfig;
use duet_sync::share::{FolderConfig, FolderEvent, FolderSession};
use duet_sync::ticket::DocTicket;

const PATIENCE: Duration = Duration::from_secs(60);

fn config(dir: &Path, join: Option<DocTicket>, name: &str) -> FolderConfig {
    let mut config = FolderConfig::new(dir);
    config.net = Some(NetConfig::loopback());
    config.join = join;
    config.name = name.into();
    config.watch = false;
    config.timers.backoff_base_ms = 50;
    config.timers.backoff_max_ms = 500;
    config
}

/// Drives both sessions until `done` holds (or for `at_least`, whichever is later).
async fn pump(
    a: &mut FolderSession,
    b: &mut FolderSession,
    at_least: Duration,
    done: impl Fn(&FolderSession, &FolderSession) -> bool,
) -> Vec<FolderEvent> {
    let start = Instant::now();
    let mut events = Vec::new();
    loop {
        if start.elapsed() >= at_least && done(a, b) {
            return events;
        }
        assert!(start.elapsed() < PATIENCE, "gave up; events: {events:#?}");
        tokio::select! {
            wake = a.next() => { a.handle(wake); }
            wake = b.next() => events.extend(b.handle(wake)),
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
    }
}

/// `len` pseudo-random lowercase letters (texts that do not compress).
fn noise(seed: usize, len: usize) -> String {
    let mut x = seed as u64 * 2_654_435_761 + 1;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(b'a' + (x >> 59) as u8 % 26)
        })
        .collect()
}

/// `n` files `dI/fI.txt` in ten folders, each `file I` and `len` letters of noise.
fn write_tree(dir: &Path, n: usize, len: usize) {
    for i in 0..n {
        let sub = dir.join(format!("d{}", i % 10));
        fs::create_dir_all(&sub).unwrap();
        fs::write(
            sub.join(format!("f{i}.txt")),
            format!("file {i}\n{}", noise(i, len)),
        )
        .unwrap();
    }
}

/// Whether `dir` holds the `n` files of [`write_tree`].
fn all_there(dir: &Path, n: usize) -> bool {
    (0..n).all(|i| {
        fs::read_to_string(dir.join(format!("d{}/f{i}.txt", i % 10)))
            .is_ok_and(|s| s.starts_with(&format!("file {i}\n")))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_where_nothing_changed_opens_no_file() {
    const FILES: usize = 200;
    let scratch = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (scratch.path().join("a"), scratch.path().join("b"));
    write_tree(&a_dir, FILES, 1000);
    let (mut a, _) = FolderSession::open(config(&a_dir, None, "alice"))
        .await
        .unwrap();
    assert_eq!(a.paths().len(), FILES);
    let ticket = a.ticket().unwrap();
    let (mut b, _) = FolderSession::open(config(&b_dir, Some(ticket), "bob"))
        .await
        .unwrap();
    let b_root = b.root().to_path_buf();
    pump(&mut a, &mut b, Duration::ZERO, |_, b| {
        b.paths().len() == FILES && all_there(&b_root, FILES)
    })
    .await;
    let (sent, received) = b.traffic();
    let fresh = sent + received;
    assert!(
        fresh > (FILES * 1000) as u64,
        "the texts came over the network: {fresh} bytes"
    );
    let _ = b.shutdown().await;

    // Bob comes back; nothing changed on either side.
    let (mut b, _) = FolderSession::open(config(&b_dir, None, "bob"))
        .await
        .unwrap();
    let events = pump(&mut a, &mut b, Duration::from_secs(2), |_, _| true).await;
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FolderEvent::PeerJoined { .. })),
        "bob reconnected: {events:#?}"
    );
    let (sent, received) = b.traffic();
    let again = sent + received;
    println!("fresh join of {FILES} files: {fresh} bytes; unchanged reconnect: {again} bytes");
    assert!(
        again < 16 << 10,
        "an unchanged reconnect exchanged {again} bytes"
    );

    // One file changed while apart: only it is sent.
    let _ = b.shutdown().await;
    fs::write(
        a_dir.join("d3/f3.txt"),
        "file 3\nchanged while bob was away\n",
    )
    .unwrap();
    let (mut b, _) = FolderSession::open(config(&b_dir, None, "bob"))
        .await
        .unwrap();
    let b_file = b.root().join("d3/f3.txt");
    // Alice does not watch her folder in this test: she scans when asked.
    let _ = a.rescan_now();
    pump(&mut a, &mut b, Duration::ZERO, |_, _| {
        fs::read_to_string(&b_file).is_ok_and(|s| s.contains("changed while bob was away"))
    })
    .await;
    let (sent, received) = b.traffic();
    assert!(sent + received < 24 << 10, "{} bytes", sent + received);
    let _ = b.shutdown().await;
    let _ = a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outside_edit_made_while_a_peers_edit_was_on_its_way_keeps_both() {
    let scratch = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (scratch.path().join("a"), scratch.path().join("b"));
    fs::create_dir_all(&a_dir).unwrap();
    fs::write(a_dir.join("plan.md"), "base\n").unwrap();
    let (mut a, _) = FolderSession::open(config(&a_dir, None, "alice"))
        .await
        .unwrap();
    let ticket = a.ticket().unwrap();
    let (mut b, _) = FolderSession::open(config(&b_dir, Some(ticket), "bob"))
        .await
        .unwrap();
    let b_file = b.root().join("plan.md");
    pump(&mut a, &mut b, Duration::ZERO, |_, _| {
        fs::read_to_string(&b_file).is_ok_and(|s| s == "base\n")
    })
    .await;

    // Alice's edit is on its way while another program changes bob's file.
    fs::write(a_dir.join("plan.md"), "base\nalice\n").unwrap();
    let _ = a.rescan_now();
    fs::write(&b_file, "bob\nbase\n").unwrap();
    pump(&mut a, &mut b, Duration::ZERO, |_, b| {
        b.text("plan.md").is_some_and(|t| t.contains("alice"))
    })
    .await;
    // Bob's disk still holds bob's change: duet does not write over it...
    assert_eq!(fs::read_to_string(&b_file).unwrap(), "bob\nbase\n");
    // ...it merges it onto what the file held, keeping alice's edit.
    let _ = b.rescan_now();
    let a_file = a.root().join("plan.md");
    pump(&mut a, &mut b, Duration::ZERO, |_, _| {
        let both = |s: &str| s == "bob\nbase\nalice\n";
        fs::read_to_string(&b_file).is_ok_and(|s| both(&s))
            && fs::read_to_string(&a_file).is_ok_and(|s| both(&s))
    })
    .await;
    let _ = b.shutdown().await;
    let _ = a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_tells_its_progress_until_every_file_is_there() {
    const FILES: usize = 200;
    let scratch = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (scratch.path().join("a"), scratch.path().join("b"));
    write_tree(&a_dir, FILES, 2000);
    let (mut a, _) = FolderSession::open(config(&a_dir, None, "alice"))
        .await
        .unwrap();
    assert_eq!(
        a.progress(),
        None,
        "a folder shared from disk waits for nothing"
    );
    let ticket = a.ticket().unwrap();
    let (mut b, _) = FolderSession::open(config(&b_dir, Some(ticket), "bob"))
        .await
        .unwrap();
    let first = b.progress().expect("a fresh join is in progress at once");
    assert!(first.tree, "the file tree comes first: {first:?}");
    assert_eq!(
        first.to_string(),
        "receiving the file tree… 0.0 MB received"
    );

    // Every step of the join, as the status line would show it.
    let b_root = b.root().to_path_buf();
    let mut seen = Vec::new();
    let start = Instant::now();
    while !(all_there(&b_root, FILES) && b.progress().is_none()) {
        assert!(start.elapsed() < PATIENCE, "progress seen: {seen:#?}");
        tokio::select! {
            wake = a.next() => { a.handle(wake); }
            wake = b.next() => { b.handle(wake); }
        }
        if let Some(p) = b.progress()
            && seen.last() != Some(&p)
        {
            seen.push(p);
        }
    }
    let files: Vec<_> = seen.iter().filter(|p| !p.tree).collect();
    assert!(
        files.iter().any(|p| p.files == FILES && p.left > 0),
        "the files were counted down: {seen:#?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0].received <= w[1].received),
        "bytes received only grow: {seen:#?}"
    );
    let last = seen.last().unwrap();
    assert!(
        last.received > (FILES * 2000) as u64 / 2,
        "the texts were counted: {last:?}"
    );
    let _ = b.shutdown().await;
    let _ = a.shutdown().await;
}
