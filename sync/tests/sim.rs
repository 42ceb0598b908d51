//! The protocol under the seeded network simulator: loss, duplication, reordering, delay,
//! partitions, crashes and restarts; after healing all replicas converge and nothing
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
        run(cfg);
    }
}
