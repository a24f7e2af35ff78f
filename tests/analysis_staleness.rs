//! Staleness on hand-written histories with known answers: k and age of stale reads, the
//! system's order against acknowledgement order, the visibility curve, stable latency and
//! replica convergence lag.

mod support;

use caplab::analysis::order::Order;
use caplab::analysis::replicas::Replicas;
use caplab::analysis::staleness::{Staleness, NO_TIME};
use caplab::analysis::VariantHistory;
use caplab::experiment::Conflict;
use caplab::history::OpRecord;
use support::history::*;

/// (k, age) of each read, by id.
fn facts(ops: &[OpRecord]) -> Vec<(u64, Option<(u32, u64)>)> {
    let h = VariantHistory::from_records(ops.to_vec(), vec![]);
    let order = Order::build(&h);
    let replicas = Replicas::build(&h, &order, &[], false);
    let s = Staleness::compute(&h, &order, &replicas);
    h.ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.is_ok_read())
        .map(|(i, op)| {
            let f = s.reads[i];
            (op.id, f.judged().then_some((f.k, f.age_us)))
        })
        .collect()
}

/// alice writes three pictures; reads at known times return known values.
fn three_writes() -> Vec<OpRecord> {
    vec![
        write(1, "alice", "alice#1", 0, 10).version(&[1]),
        write(2, "alice", "alice#2", 20, 30).version(&[2]),
        write(3, "alice", "alice#3", 40, 50).version(&[3]),
        // Two newer writes acknowledged before it began (at 30 and 50): k = 2, superseded
        // since alice#2's acknowledgement at 30: age 30.
        read(10, "alice/friend-asia", Some("alice#1"), 60, 61).version(&[1]),
        read(11, "alice/friend-asia", Some("alice#3"), 70, 71).version(&[3]),
        // No value, after two acknowledged writes: k = 2, age 35 - 10 = 25.
        read(12, "alice/friend-asia", None, 35, 36),
        // alice#3 is not acknowledged yet: concurrent, not stale.
        read(13, "alice/laptop", Some("alice#2"), 45, 46).version(&[2]),
        // Invoked at the very microsecond alice#3 was acknowledged: not before, not stale.
        read(14, "alice/laptop", Some("alice#2"), 50, 52).version(&[2]),
    ]
}

#[test]
fn stale_reads_have_known_k_and_age() {
    let mut got = facts(&three_writes());
    got.sort();
    assert_eq!(
        got,
        vec![
            (10, Some((2, 30))),
            (11, Some((0, 0))),
            (12, Some((2, 25))),
            (13, Some((0, 0))),
            (14, Some((0, 0))),
        ]
    );

    let s = analyse(three_writes(), vec![], &gossip(Conflict::LwwHlc));
    assert_eq!(s.reads.reads_checked, 5);
    assert_eq!(s.reads.stale_reads, 2);
    assert_eq!(s.reads.stale_fraction, Some(0.4));
    let k = s.staleness.k.unwrap();
    assert_eq!(k.counts.get("2"), Some(&2));
    assert_eq!(k.max, 2);
    let age = s.staleness.age_us.unwrap();
    assert_eq!((age.count, age.p50, age.max), (2, 25, 30));
    // The earliest stale read (id 12, at 35) with the first write that superseded "no
    // value" (alice#1); it returned no value, so no write of its own.
    let ex = &s.staleness.examples[0];
    let ids: Vec<u64> = ex.ops.iter().map(|o| o.id).collect();
    assert_eq!(ids, vec![1, 12]);
    assert!(
        ex.explanation.contains("2 versions behind"),
        "{}",
        ex.explanation
    );
    let ids: Vec<u64> = s.staleness.examples[1].ops.iter().map(|o| o.id).collect();
    assert_eq!(ids, vec![1, 2, 10]);
    // Friends are the other DC (asia) and the only stale readers.
    assert_eq!(s.breakdown.by_device["friend"].stale_reads, 2);
    assert_eq!(s.breakdown.by_device["laptop"].stale_reads, 0);
    assert_eq!(
        s.breakdown.by_locality["other_dc"].stale_fraction,
        Some(0.666667)
    );
}

#[test]
fn newer_means_the_system_order_when_versions_exist_else_acknowledgement_order() {
    // alice#1 carries a larger version than alice#2, which was written later: the system
    // keeps alice#1, so a read of alice#1 after both is not stale (alice#2 is a lost
    // write, see the lost-writes tests) ...
    let with_versions = vec![
        write(1, "alice", "alice#1", 0, 10).version(&[9]),
        write(2, "alice", "alice#2", 20, 30).version(&[5]),
        read(3, "alice/laptop", Some("alice#1"), 40, 41).version(&[9]),
    ];
    assert_eq!(facts(&with_versions), vec![(3, Some((0, 0)))]);
    // ... but without versions "newer" is acknowledged later: the same read is 1 behind,
    // for 10 us.
    let without: Vec<OpRecord> = with_versions
        .into_iter()
        .map(|mut op| {
            op.version = None;
            op
        })
        .collect();
    assert_eq!(facts(&without), vec![(3, Some((1, 10)))]);
}

#[test]
fn unexplained_values_and_unacknowledged_writes() {
    let ops = vec![
        write(1, "alice", "alice#1", 0, 10),
        // alice#2 got no answer; a read returning it cannot be called stale.
        write(2, "alice", "alice#2", 20, 2000).outcome(caplab::history::Outcome::Unknown),
        read(3, "alice/laptop", Some("alice#2"), 30, 31),
        // Nobody wrote "ghost".
        read(4, "alice/laptop", Some("ghost"), 40, 41),
    ];
    assert_eq!(facts(&ops), vec![(3, Some((0, 0))), (4, None)]);
    let s = analyse(ops, vec![], &gossip(Conflict::LwwHlc));
    assert_eq!(s.reads.unexplained_reads, 1);
    assert_eq!(s.reads.reads_checked, 1);
}

#[test]
fn visibility_curve_has_known_points() {
    let ops = vec![
        write(1, "alice", "alice#1", 0, 1000),
        // Same DC (eu), 200 us after the acknowledgement: sees it.
        read(2, "alice/laptop", Some("alice#1"), 1200, 1300),
        // Other DC: 500 us after: misses it; 1.5 ms: sees it; 2.5 ms: sees it; 3 ms: misses.
        read(3, "alice/friend-asia", None, 1500, 1600),
        read(4, "alice/friend-asia", Some("alice#1"), 2500, 2600),
        read(5, "alice/friend-asia", Some("alice#1"), 3500, 3600),
        read(6, "alice/friend-asia", None, 4000, 4100),
        // Before any acknowledged write: not on the curve.
        read(7, "alice/friend-asia", None, 500, 600),
    ];
    let s = analyse(ops, vec![], &gossip(Conflict::LwwHlc));
    let v = &s.staleness.visibility;
    let point = |curve: &[caplab::analysis::staleness::VisibilityBucket], from: u64| {
        let b = curve.iter().find(|b| b.from_us == from).unwrap();
        (b.reads, b.visible, b.p_visible)
    };
    assert_eq!(point(&v.all, 0), (2, 1, Some(0.5)));
    assert_eq!(point(&v.all, 1000), (1, 1, Some(1.0)));
    assert_eq!(point(&v.all, 2000), (2, 1, Some(0.5)));
    assert_eq!(point(&v.all, 5000), (0, 0, None));
    assert_eq!(point(&v.same_dc, 0), (1, 1, Some(1.0)));
    assert_eq!(point(&v.other_dc, 0), (1, 0, Some(0.0)));
    assert_eq!(point(&v.other_dc, 1000), (1, 1, Some(1.0)));
    assert_eq!(point(&v.other_dc, 2000), (2, 1, Some(0.5)));
    assert_eq!(v.all.first().map(|b| b.to_us), Some(Some(1000)));
    assert_eq!(v.all.last().map(|b| b.to_us), Some(None));
}

#[test]
fn stable_latency_is_until_the_last_read_that_missed_the_write() {
    let ops = vec![
        write(1, "alice", "alice#1", 0, 1000),
        read(2, "alice/friend-asia", None, 1100, 1200),
        read(3, "alice/friend-asia", None, 1600, 1700),
        read(4, "alice/friend-asia", Some("alice#1"), 2000, 2100),
        read(5, "alice/laptop", Some("alice#1"), 3000, 3100),
        // Followed by no read: not reported.
        write(6, "alice", "alice#2", 5000, 6000),
    ];
    let s = analyse(ops, vec![], &gossip(Conflict::LwwHlc));
    let st = &s.staleness.stable_latency_us;
    assert_eq!(st.writes_followed_by_reads, 1);
    assert_eq!(st.never_stable, 0);
    let stats = st.stats.unwrap();
    assert_eq!((stats.count, stats.max), (1, 600));

    // If the very last read still misses it, the write never became stable.
    let ops = vec![
        write(1, "alice", "alice#1", 0, 1000),
        read(2, "alice/friend-asia", Some("alice#1"), 2000, 2100),
        read(3, "alice/friend-asia", None, 3000, 3100),
    ];
    let s = analyse(ops, vec![], &gossip(Conflict::LwwHlc));
    assert_eq!(s.staleness.stable_latency_us.never_stable, 1);
    assert!(s.staleness.stable_latency_us.stats.is_none());
}

#[test]
fn convergence_lag_counts_newer_values_as_holding_a_write() {
    let ops = vec![
        write(1, "alice", "alice#1", 0, 1000).version(&[1]),
        write(2, "alice", "alice#2", 4000, 5000).version(&[2]),
        write(3, "alice", "alice#3", 5500, 6000).version(&[3]),
    ];
    let events = vec![
        apply(900, "eu-1", "alice", "alice#1"),
        apply(1300, "eu-2", "alice", "alice#1"),
        apply(1800, "asia-1", "alice", "alice#1"),
        apply(4900, "eu-1", "alice", "alice#2"),
        apply(5100, "eu-2", "alice", "alice#2"),
        apply(5900, "eu-1", "alice", "alice#3"),
        apply(6100, "eu-2", "alice", "alice#3"),
        // asia never gets alice#2, but alice#3 supersedes it there at 7000.
        apply(7000, "asia-1", "alice", "alice#3"),
    ];
    let h = VariantHistory::from_records(ops.clone(), events.clone());
    let order = Order::build(&h);
    let nodes: Vec<String> = NODES.iter().map(|n| n.to_string()).collect();
    let replicas = Replicas::build(&h, &order, &nodes, true);
    let s = Staleness::compute(&h, &order, &replicas);
    let lags: Vec<u64> = h
        .ops
        .iter()
        .enumerate()
        .map(|(i, op)| s.converged_at_us[i] - op.complete_us)
        .collect();
    assert_eq!(lags, vec![800, 2000, 1000]);

    let summary = analyse(ops.clone(), events.clone(), &gossip(Conflict::LwwHlc));
    let lag = summary.staleness.convergence_lag_us.unwrap();
    assert_eq!((lag.writes, lag.never_converged), (3, 0));
    assert_eq!(lag.stats.unwrap().max, 2000);
    assert_eq!(summary.convergence.converged, Some(true));

    // Without asia's last apply, alice#2 and alice#3 never converge and the replicas end
    // different.
    let events: Vec<_> = events.into_iter().take(7).collect();
    let h = VariantHistory::from_records(ops.clone(), events.clone());
    let order = Order::build(&h);
    let replicas = Replicas::build(&h, &order, &nodes, true);
    let s = Staleness::compute(&h, &order, &replicas);
    assert_eq!(s.converged_at_us[1], NO_TIME);
    let summary = analyse(ops, events, &gossip(Conflict::LwwHlc));
    assert_eq!(summary.convergence.converged, Some(false));
    assert_eq!(summary.convergence.diverged_keys, 1);
    assert_eq!(summary.verdict.met, Some(false));
}
