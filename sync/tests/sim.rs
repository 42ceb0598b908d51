//! The protocol under the seeded network simulator: loss, duplication, reordering, delay,
//! partitions, crashes noticed only after QUIC's idle timeout, restarts on the same endpoint
//! id, several documents per connection; after healing all replicas converge and nothing
//! acknowledged is lost (the simulator checks invariants after every step).

use duet_sync::proto::sim::{Sim, SimConfig, SimReport};

fn run(cfg: SimConfig) -> SimReport {
    let report = Sim::new(cfg.clone()).run();
    assert!(
        report.edits > 0 && report.final_ops > 0,
        "{cfg:?}: {report:?}"
    );
    eprintln!("seed {} ({} peers): {report:?}", cfg.seed, cfg.peers);
    report
}

#[test]
fn three_to_six_peers_converge_after_partitions_and_crashes() {
    for (seed, peers) in [(1, 3), (2, 4), (3, 6)] {
        let report = run(SimConfig::reliable(seed, peers));
        assert!(
            report.crashes + report.cuts > 0,
            "seed {seed}: no faults happened: {report:?}"
        );
    }
}

#[test]
fn peers_converge_on_a_network_that_loses_duplicates_and_reorders_messages() {
    for (seed, peers) in [(11, 3), (12, 5)] {
        run(SimConfig::lossy(seed, peers));
    }
}

#[test]
fn peers_that_cannot_connect_directly_converge_through_the_others() {
    let cfg = SimConfig {
        blocked: vec![(0, 2), (1, 3)],
        ..SimConfig::reliable(21, 4)
    };
    run(cfg);
}

#[test]
fn an_intruder_with_a_wrong_secret_learns_nothing() {
    let cfg = SimConfig {
        intruder: true,
        ..SimConfig::reliable(31, 3)
    };
    let report = run(cfg);
    assert!(report.intruder_rejections > 0, "{report:?}");
}

#[test]
fn eight_peers_joining_through_one_ticket_form_a_full_mesh() {
    // The simulator checks at the end that every peer is connected to all 7 others.
    let cfg = SimConfig {
        chaos_ms: 8000,
        cut_rate: 0.0,
        split_rate: 0.0,
        crash_rate: 0.0,
        ..SimConfig::reliable(41, 8)
    };
    run(cfg);
}

#[test]
fn two_documents_share_every_connection_through_crashes_and_partitions() {
    for (seed, peers) in [(51, 3), (52, 4)] {
        let cfg = SimConfig {
            docs: 2,
            ..SimConfig::reliable(seed, peers)
        };
        run(cfg);
    }
}

#[test]
fn crashed_peers_restart_on_their_endpoint_id_before_the_survivors_notice() {
    // Crashes every few seconds: most restarts happen well within the 30 s the survivors
    // need to notice the old connection is dead.
    let cfg = SimConfig {
        crash_rate: 0.6,
        cut_rate: 0.0,
        split_rate: 0.0,
        ..SimConfig::reliable(61, 4)
    };
    let report = run(cfg);
    assert!(report.crashes >= 5, "{report:?}");
}

#[test]
fn two_replicas_sharing_an_id_are_reported_and_never_shown_in_sync() {
    for seed in [71, 72] {
        let cfg = SimConfig {
            fork: Some((1, 2)),
            ..SimConfig::reliable(seed, 3)
        };
        let report = Sim::new(cfg).run();
        assert!(report.divergences > 0, "seed {seed}: {report:?}");
    }
}

#[test]
#[ignore = "long randomized run: cargo test -p duet-sync --test sim -- --ignored"]
fn long_randomized_run() {
    for seed in 1000..1200 {
        let peers = 3 + (seed as usize % 4);
        let mut cfg = if seed % 2 == 0 {
            SimConfig::lossy(seed, peers)
        } else {
            SimConfig::reliable(seed, peers)
        };
        cfg.chaos_ms = 60_000;
        cfg.intruder = seed % 5 == 0;
        if seed % 7 == 0 {
            cfg.blocked = vec![(0, 1)];
        }
        cfg.docs = 1 + (seed as usize % 3);
        if seed % 10 == 0 {
            // A big room: gossip instead of a full mesh.
            cfg.peers = 24;
            cfg.docs = 1;
        }
        run(cfg);
    }
}

#[test]
fn thirty_two_peers_gossip_in_a_room_with_few_connections_each() {
    for (seed, lossy) in [(81, false), (82, true)] {
        let cfg = SimConfig {
            chaos_ms: 15_000,
            edit_interval_ms: 20,
            ..if lossy {
                SimConfig::lossy(seed, 32)
            } else {
                SimConfig::reliable(seed, 32)
            }
        };
        let report = run(cfg);
        assert_eq!(report.in_rooms, 32, "seed {seed}: {report:?}");
        assert!(
            report.max_connections <= 8,
            "seed {seed}: a peer keeps {} connections in a room of 32",
            report.max_connections
        );
    }
}

#[test]
fn an_intruder_cannot_enter_a_big_room() {
    let cfg = SimConfig {
        intruder: true,
        ..SimConfig::reliable(91, 12)
    };
    let report = run(cfg);
    assert!(report.intruder_rejections > 0, "{report:?}");
    assert_eq!(report.in_rooms, 12, "{report:?}");
}
