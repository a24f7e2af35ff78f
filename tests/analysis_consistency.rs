//! Linearizability, session guarantees and lost writes on hand-written histories with
//! known answers, and the verdict each variant kind gets for them.

mod support;

use caplab::experiment::Conflict;
use caplab::history::OpRecord;
use support::history::*;

fn register(last_read: &str) -> Vec<OpRecord> {
    vec![
        write(1, "alice", "alice#1", 0, 10).version(&[1]),
        read(2, "alice/laptop", Some("alice#1"), 5, 15).version(&[1]),
        write(3, "alice", "alice#2", 20, 30).version(&[2]),
        // Concurrent with the write of alice#2: either value is fine.
        read(4, "alice/friend-asia", Some("alice#1"), 25, 35).version(&[1]),
        read(5, "alice/friend-asia", Some(last_read), 40, 50),
    ]
}

#[test]
fn a_linearizable_history_is_reported_linearizable() {
    let s = analyse(register("alice#2"), vec![], &raft());
    assert_eq!(s.linearizable, Some(true));
    assert_eq!(s.linearizability.keys_linearizable, 1);
    assert!(s.linearizability.counterexample.is_none());
    assert_eq!(s.reads.stale_reads, 0);
    assert_eq!(s.verdict.claim, "linearizable");
    assert_eq!(s.verdict.met, Some(true));
}

#[test]
fn a_stale_read_makes_the_history_not_linearizable() {
    let s = analyse(register("alice#1"), vec![], &raft());
    assert_eq!(s.linearizable, Some(false));
    let ce = s.linearizability.counterexample.as_ref().unwrap();
    let ids: Vec<u64> = ce.ops.iter().map(|o| o.id).collect();
    assert_eq!(ids, vec![1, 3, 5]);
    assert_eq!(s.reads.stale_reads, 1);
    assert_eq!(s.verdict.met, Some(false));
    // Gossip does not claim linearizability: the same history meets its claim.
    let g = analyse(register("alice#1"), vec![], &gossip(Conflict::LwwHlc));
    assert_eq!(g.linearizable, Some(false));
    assert_eq!(
        g.verdict.met, None,
        "no apply events: convergence undecided"
    );
}

#[test]
fn read_your_writes_violations_are_own_devices_reading_older_pictures() {
    let ops = vec![
        write(1, "alice", "alice#1", 0, 10),
        // The phone sees no picture after its write was acknowledged: a violation.
        read(2, "alice/phone", None, 15, 16),
        write(3, "alice", "alice#2", 20, 30),
        // The laptop sees the first picture after the second was acknowledged: a violation.
        read(4, "alice/laptop", Some("alice#1"), 40, 41),
        read(5, "alice/laptop", Some("alice#2"), 50, 51),
        // A friend reading an old picture is not a read-your-writes matter.
        read(6, "alice/friend-asia", Some("alice#1"), 45, 46),
        // Before any acknowledged write: not judged.
        read(7, "alice/laptop", None, 5, 6),
    ];
    let s = analyse(ops, vec![], &gossip(Conflict::LwwHlc));
    let session = &s.session;
    assert_eq!(session.read_your_writes_violations, 2);
    assert_eq!(session.read_your_writes_checked, 3);
    assert_eq!(session.by_device["phone"].read_your_writes_violations, 1);
    assert_eq!(session.by_device["laptop"].read_your_writes_violations, 1);
    assert_eq!(session.by_device["friend"].read_your_writes_checked, 0);
    let examples = &session.examples.read_your_writes;
    assert_eq!(examples.len(), 2);
    let ids: Vec<u64> = examples[1].ops.iter().map(|o| o.id).collect();
    assert_eq!(ids, vec![1, 3, 4], "{examples:#?}");
    assert!(examples[1]
        .explanation
        .contains("alice/laptop read alice#1"));
}

#[test]
fn monotonic_reads_violations_are_a_client_going_back() {
    let ops = vec![
        write(1, "alice", "alice#1", 0, 10),
        write(2, "alice", "alice#2", 20, 30),
        // A friend in asia sees alice#2, then alice#1: a violation.
        read(3, "alice/friend-asia", Some("alice#2"), 35, 36),
        read(4, "alice/friend-asia", Some("alice#1"), 40, 41),
        // Overlapping reads have no order: not a violation.
        read(5, "alice/friend-us", Some("alice#2"), 60, 70),
        read(6, "alice/friend-us", Some("alice#1"), 65, 75),
        // The laptop goes forward.
        read(7, "alice/laptop", Some("alice#1"), 12, 13),
        read(8, "alice/laptop", Some("alice#2"), 50, 51),
    ];
    let s = analyse(ops, vec![], &gossip(Conflict::LwwHlc));
    assert_eq!(s.session.monotonic_read_violations, 1);
    assert_eq!(s.session.monotonic_reads_checked, 2);
    assert_eq!(s.session.by_device["friend"].monotonic_read_violations, 1);
    let ex = &s.session.examples.monotonic_reads[0];
    let ids: Vec<u64> = ex.ops.iter().map(|o| o.id).collect();
    assert_eq!(ids, vec![3, 4]);
}

/// alice#2 is written through eu-2 after alice#1 was acknowledged, but gets a smaller
/// version (eu-1's clock runs ahead): alice#1 wins everywhere.
fn inverted(eu2_saw_alice1_at: u64) -> (Vec<OpRecord>, Vec<caplab::history::Event>) {
    let ops = vec![
        write(1, "alice", "alice#1", 0, 10).version(&[100, 0, 1]),
        write(2, "alice", "alice#2", 20, 30)
            .version(&[50, 0, 2])
            .node("eu-2"),
        read(3, "alice/laptop", Some("alice#1"), 40, 41).version(&[100, 0, 1]),
    ];
    let mut events = vec![
        apply(5, "eu-1", "alice", "alice#1"),
        apply(eu2_saw_alice1_at, "eu-2", "alice", "alice#1"),
        apply(25, "asia-1", "alice", "alice#1"),
    ];
    if eu2_saw_alice1_at > 25 {
        events.push(apply(25, "eu-2", "alice", "alice#2"));
    }
    (ops, events)
}

#[test]
fn a_write_ordered_before_an_older_one_is_lost() {
    let (ops, events) = inverted(15);
    for (ctx, unexplained) in [
        (gossip(Conflict::LwwWallclock), 0),
        // eu-2 had applied alice#1 before alice#2 was invoked: HLC should have ordered
        // alice#2 after it.
        (gossip(Conflict::LwwHlc), 1),
        (raft(), 1),
    ] {
        let s = analyse(ops.clone(), events.clone(), &ctx);
        assert_eq!(s.lost_writes, 1);
        assert_eq!(s.lost.real_time_inversions, 1);
        assert_eq!(s.lost.vanished, Some(0));
        assert_eq!(s.lost.unexplained, unexplained);
        let ex = &s.lost.examples.inversions[0];
        let ids: Vec<u64> = ex.ops.iter().map(|o| o.id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert!(
            ex.explanation.contains("alice#2 is lost"),
            "{}",
            ex.explanation
        );
        // The user sees it as the laptop reading an older picture.
        assert_eq!(s.session.read_your_writes_violations, 1);
        // Not stale in the system's own order.
        assert_eq!(s.reads.stale_reads, 0);
    }
    assert_eq!(
        analyse(ops.clone(), events.clone(), &gossip(Conflict::LwwWallclock))
            .verdict
            .met,
        Some(true)
    );
    assert_eq!(
        analyse(ops, events, &gossip(Conflict::LwwHlc)).verdict.met,
        Some(false)
    );
    // Had eu-2 not seen alice#1 yet, HLC explains the inversion too.
    let (ops, events) = inverted(40);
    let s = analyse(ops, events, &gossip(Conflict::LwwHlc));
    assert_eq!((s.lost_writes, s.lost.unexplained), (1, 0));
}

#[test]
fn a_write_no_replica_ends_up_holding_is_lost() {
    let ops = vec![
        write(1, "alice", "alice#1", 0, 10).version(&[1]),
        write(2, "alice", "alice#2", 20, 30).version(&[2]),
    ];
    // Every node holds alice#1 at the end; alice#2 was acknowledged but is nowhere.
    let events = NODES
        .iter()
        .map(|n| apply(5, n, "alice", "alice#1"))
        .collect::<Vec<_>>();
    let s = analyse(ops, events, &gossip(Conflict::LwwHlc));
    assert_eq!(s.lost_writes, 1);
    assert_eq!(s.lost.vanished, Some(1));
    assert_eq!(s.lost.unexplained, 1);
    assert_eq!(s.convergence.converged, Some(true));
    assert_eq!(s.verdict.met, Some(false));
    let ex = &s.lost.examples.vanished[0];
    assert_eq!(ex.ops.len(), 1);
    assert_eq!(ex.ops[0].value.as_deref(), Some("alice#2"));
}

#[test]
fn an_unacknowledged_write_invoked_as_the_previous_one_was_acknowledged_supersedes_it() {
    // The sim engine's clock moves in whole milliseconds: alice#2 is invoked in the same
    // microsecond in which alice#1 was acknowledged, gets no answer, yet commits after it
    // and is what every replica holds at the end. alice#1 is superseded, not lost.
    let ops = vec![
        write(1, "alice", "alice#1", 0, 10).version(&[1, 0]),
        write(2, "alice", "alice#2", 10, 1010).outcome(caplab::history::Outcome::Unknown),
    ];
    let mut events: Vec<_> = NODES
        .iter()
        .map(|n| apply(5, n, "alice", "alice#1"))
        .collect();
    events.extend(NODES.iter().map(|n| apply(500, n, "alice", "alice#2")));
    let s = analyse(ops, events, &raft());
    assert_eq!(s.lost.vanished, Some(0));
    assert_eq!(s.lost_writes, 0);
}

#[test]
fn a_volatile_replica_that_crashed_holds_nothing_it_had_before() {
    use caplab::history::{Event, EventKind};
    let ops = vec![write(1, "alice", "alice#1", 0, 10).version(&[1])];
    let mut events: Vec<Event> = NODES
        .iter()
        .map(|n| apply(5, n, "alice", "alice#1"))
        .collect();
    events.push(Event {
        t_us: 100,
        kind: EventKind::Crash {
            node: "asia-1".into(),
        },
    });
    events.push(Event {
        t_us: 200,
        kind: EventKind::Restart {
            node: "asia-1".into(),
        },
    });
    // Volatile gossip: asia-1 lost alice#1 and never relearned it.
    let s = analyse(ops.clone(), events.clone(), &gossip(Conflict::LwwHlc));
    assert_eq!(s.convergence.converged, Some(false));
    // It relearns it: converged.
    events.push(apply(300, "asia-1", "alice", "alice#1"));
    let s = analyse(ops, events, &gossip(Conflict::LwwHlc));
    assert_eq!(s.convergence.converged, Some(true));
}
