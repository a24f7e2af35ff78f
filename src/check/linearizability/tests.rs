//! Tests of the checker as a whole: hand-written histories, and model-based comparisons of
//! the zone test and the exact search with a brute-force enumeration.
//!
//! Deliberately left out: timing (see `benches/linearizability.rs`).

use super::prepare::KeyHistory;
use super::zones::{zone_test, Zones};
use super::*;
use crate::history::{Device, OpKind, Outcome};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LONG: Duration = Duration::from_secs(30);

fn op(
    id: u64,
    kind: OpKind,
    value: Option<&str>,
    invoke_us: u64,
    complete_us: u64,
    outcome: Outcome,
) -> OpRecord {
    OpRecord {
        id,
        client: format!("c{id}"),
        user: "alice".into(),
        device: Device::Phone,
        dc: "eu".into(),
        node: Some("eu-1".into()),
        kind,
        key: "profile/alice".into(),
        value: value.map(str::to_string),
        bytes: 0,
        scheduled_us: invoke_us,
        invoke_us,
        complete_us,
        outcome,
        version: None,
        error: None,
    }
}

fn w(id: u64, label: &str, invoke: u64, complete: u64) -> OpRecord {
    op(
        id,
        OpKind::Write,
        Some(label),
        invoke,
        complete,
        Outcome::Ok,
    )
}

fn w_unknown(id: u64, label: &str, invoke: u64, complete: u64) -> OpRecord {
    op(
        id,
        OpKind::Write,
        Some(label),
        invoke,
        complete,
        Outcome::Unknown,
    )
}

fn r(id: u64, value: Option<&str>, invoke: u64, complete: u64) -> OpRecord {
    op(id, OpKind::Read, value, invoke, complete, Outcome::Ok)
}

fn verdict(ops: &[OpRecord]) -> KeyVerdict {
    let report = check_history(ops, LONG);
    assert_eq!(report.keys.len(), 1);
    report.keys.into_values().next().unwrap()
}

fn counterexample_ids(ops: &[OpRecord]) -> Vec<u64> {
    match verdict(ops) {
        KeyVerdict::NotLinearizable { counterexample } => {
            assert!(counterexample.minimal);
            counterexample.ops.iter().map(|o| o.id).collect()
        }
        other => panic!("expected a violation, got {other:?}"),
    }
}

#[test]
fn sequential_history_is_linearizable() {
    let ops = [
        r(1, None, 0, 10),
        w(2, "a#1", 20, 30),
        r(3, Some("a#1"), 40, 50),
        w(4, "a#2", 60, 70),
        r(5, Some("a#2"), 80, 90),
    ];
    assert_eq!(verdict(&ops), KeyVerdict::Linearizable);
}

#[test]
fn concurrent_write_and_read_may_go_either_way() {
    for seen in [None, Some("a#1")] {
        let ops = [w(1, "a#1", 0, 100), r(2, seen, 10, 90)];
        assert_eq!(verdict(&ops), KeyVerdict::Linearizable, "read {seen:?}");
    }
}

#[test]
fn stale_read_is_found_with_its_three_operations() {
    let ops = [
        w(1, "a#1", 0, 10),
        r(2, Some("a#1"), 12, 15),
        w(3, "a#2", 20, 30),
        r(4, Some("a#2"), 31, 35),
        r(5, Some("a#1"), 40, 50), // began after a#2 was written: stale
        r(6, Some("a#2"), 60, 70),
    ];
    assert_eq!(counterexample_ids(&ops), vec![1, 3, 5]);
    let KeyVerdict::NotLinearizable { counterexample } = verdict(&ops) else {
        unreachable!()
    };
    assert!(
        counterexample.explanation.starts_with("stale read: op 5"),
        "{}",
        counterexample.explanation
    );
    let text = counterexample.to_string();
    assert!(
        text.contains("op 5: c5 read a#1, invoked 0.000040 s"),
        "{text}"
    );
}

#[test]
fn stale_read_of_no_value_is_found() {
    let ops = [w(1, "a#1", 0, 10), r(2, None, 20, 30)];
    assert_eq!(counterexample_ids(&ops), vec![1, 2]);
}

#[test]
fn read_of_a_value_never_written_is_not_linearizable() {
    let ops = [w(1, "a#1", 0, 10), r(2, Some("a#9"), 20, 30)];
    assert_eq!(counterexample_ids(&ops), vec![2]);
}

#[test]
fn read_of_a_failed_write_names_that_write() {
    let ops = [
        op(1, OpKind::Write, Some("a#1"), 0, 10, Outcome::Fail),
        r(2, Some("a#1"), 20, 30),
    ];
    let KeyVerdict::NotLinearizable { counterexample } = verdict(&ops) else {
        panic!("expected a violation")
    };
    assert_eq!(counterexample.ops.len(), 1);
    assert_eq!(counterexample.related[0].id, 1);
    assert!(counterexample
        .explanation
        .contains("op 1 tried to write it and failed"));
}

#[test]
fn read_completed_before_its_write_began_is_not_linearizable() {
    let ops = [r(1, Some("a#1"), 0, 10), w(2, "a#1", 20, 30)];
    assert_eq!(counterexample_ids(&ops), vec![1, 2]);
}

#[test]
fn unknown_write_seen_later_is_linearizable() {
    let ops = [
        w(1, "a#1", 0, 10),
        w_unknown(2, "a#2", 20, 30), // client gave up at 30
        r(3, Some("a#1"), 40, 50),   // not applied yet
        r(4, Some("a#2"), 60, 70),   // applied after the client gave up
    ];
    assert_eq!(verdict(&ops), KeyVerdict::Linearizable);
}

#[test]
fn unknown_write_never_seen_is_linearizable() {
    let ops = [
        w(1, "a#1", 0, 10),
        w_unknown(2, "a#2", 20, 30),
        r(3, Some("a#1"), 40, 50),
        r(4, Some("a#1"), 60, 70),
    ];
    assert_eq!(verdict(&ops), KeyVerdict::Linearizable);
}

#[test]
fn unknown_write_cannot_be_undone_once_seen() {
    // a#2 was seen at 40..50, then a#1 again with no write of a#1 in between.
    let ops = [
        w(1, "a#1", 0, 10),
        w_unknown(2, "a#2", 20, 30),
        r(3, Some("a#2"), 40, 50),
        r(4, Some("a#1"), 60, 70),
    ];
    assert_eq!(counterexample_ids(&ops), vec![1, 2, 3, 4]);
}

#[test]
fn failed_operations_and_unanswered_reads_are_ignored() {
    let ops = [
        w(1, "a#1", 0, 10),
        op(2, OpKind::Write, Some("a#2"), 20, 30, Outcome::Fail),
        op(3, OpKind::Read, None, 40, 50, Outcome::Unknown),
        op(4, OpKind::Read, None, 40, 50, Outcome::Fail),
        r(5, Some("a#1"), 60, 70),
    ];
    assert_eq!(verdict(&ops), KeyVerdict::Linearizable);
}

#[test]
fn zero_time_limit_gives_unknown() {
    let ops = [w(1, "a#1", 0, 10), r(2, Some("a#1"), 20, 30)];
    let report = check_history(&ops, Duration::ZERO);
    assert_eq!(report.verdict, None);
    assert_eq!(report.keys["profile/alice"], KeyVerdict::Unknown);
    let refs: Vec<&OpRecord> = ops.iter().collect();
    assert_eq!(check_key(&refs, Instant::now()), KeyVerdict::Unknown);
}

#[test]
fn the_exact_search_gives_up_at_the_time_limit() {
    // 40 concurrent writes nobody reads, then reads needing a#1, then a#2, then a#1 again:
    // impossible, and with a label written twice the zone test does not apply, so the
    // exact search would have to try the orders of the 40 writes.
    let mut ops: Vec<OpRecord> = (0..40).map(|i| w(i, &format!("a#{i}"), 0, 1_000)).collect();
    ops.push(w(40, "a#39", 0, 1_000));
    ops.push(r(41, Some("a#1"), 2_000, 2_010));
    ops.push(r(42, Some("a#2"), 2_020, 2_030));
    ops.push(r(43, Some("a#1"), 2_040, 2_050));
    let start = Instant::now();
    let report = check_history(&ops, Duration::from_millis(200));
    assert_eq!(report.verdict, None, "{report}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn non_monotonic_reads_are_not_linearizable() {
    let ops = [
        w(1, "a#1", 0, 10),
        w(2, "a#2", 20, 100), // still in progress while the reads run
        r(3, Some("a#2"), 30, 40),
        r(4, Some("a#1"), 50, 60), // after op 3 saw a#2
    ];
    assert_eq!(counterexample_ids(&ops), vec![1, 2, 3, 4]);
    let KeyVerdict::NotLinearizable { counterexample } = verdict(&ops) else {
        unreachable!()
    };
    assert!(
        counterexample
            .explanation
            .starts_with("non-monotonic reads: op 4"),
        "{}",
        counterexample.explanation
    );
}

#[test]
fn equal_timestamps_count_as_concurrent() {
    // The read completes at the microsecond the write is invoked.
    let ops = [r(1, Some("a#1"), 0, 20), w(2, "a#1", 20, 30)];
    assert_eq!(verdict(&ops), KeyVerdict::Linearizable);
}

#[test]
fn keys_are_independent_and_the_overall_verdict_combines_them() {
    let mut ops = vec![w(1, "a#1", 0, 10), r(2, Some("a#1"), 20, 30)];
    let mut bob = vec![w(3, "b#1", 0, 10), r(4, None, 20, 30)];
    for o in &mut bob {
        o.key = "profile/bob".into();
    }
    ops.extend(bob);
    let report = check_history(&ops, LONG);
    assert_eq!(report.verdict, Some(false));
    assert_eq!(report.keys["profile/alice"], KeyVerdict::Linearizable);
    assert_eq!(report.keys["profile/bob"].as_bool(), Some(false));
    assert_eq!(report.checked_ops, 4);
    assert!(report
        .to_string()
        .starts_with("NOT linearizable: 1 of 2 keys"));

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["verdict"], false);
    assert_eq!(json["keys"]["profile/alice"]["verdict"], "linearizable");
    assert_eq!(json["keys"]["profile/bob"]["verdict"], "not_linearizable");
    assert!(json["elapsed_us"].is_u64());
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(back.keys, report.keys);
}

#[test]
fn empty_history_is_linearizable() {
    let report = check_history(&[], LONG);
    assert_eq!(report.verdict, Some(true));
}

/// Fuzzing knobs for the brute-force comparisons, for longer runs by hand, e.g.
/// `LIN_ROUNDS=300000 LIN_MAX_OPS=10 LIN_SEED=5 cargo test --release --lib check`.
fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Brute force: is there an order of the informative operations (each `unknown` write
/// included or not) that respects real time and register semantics?
fn brute_force_linearizable(ops: &[&OpRecord]) -> bool {
    let ops: Vec<&OpRecord> = ops
        .iter()
        .copied()
        .filter(|o| match o.kind {
            OpKind::Write => o.outcome != Outcome::Fail,
            OpKind::Read => o.outcome == Outcome::Ok,
        })
        .collect();
    let end = |o: &OpRecord| match o.outcome {
        Outcome::Unknown => u64::MAX,
        _ => o.complete_us.max(o.invoke_us),
    };
    fn extend(
        ops: &[&OpRecord],
        end: &dyn Fn(&OpRecord) -> u64,
        used: &mut Vec<bool>,
        state: Option<&str>,
    ) -> bool {
        // Done when every required operation is placed (unknown writes may be left out).
        if ops
            .iter()
            .zip(used.iter())
            .all(|(o, &u)| u || o.outcome == Outcome::Unknown)
        {
            return true;
        }
        for i in 0..ops.len() {
            if used[i] {
                continue;
            }
            // Everything not yet placed must not have completed before ops[i] began.
            let blocked = (0..ops.len()).any(|j| {
                j != i
                    && !used[j]
                    && ops[j].outcome != Outcome::Unknown
                    && end(ops[j]) < ops[i].invoke_us
            });
            if blocked {
                continue;
            }
            let next = match ops[i].kind {
                OpKind::Write => ops[i].value.as_deref(),
                OpKind::Read if ops[i].value.as_deref() == state => state,
                OpKind::Read => continue,
            };
            used[i] = true;
            let found = extend(ops, end, used, next);
            used[i] = false;
            if found {
                return true;
            }
        }
        false
    }
    let mut used = vec![false; ops.len()];
    extend(&ops, &end, &mut used, None)
}

fn random_small_history(rng: &mut ChaCha8Rng) -> Vec<OpRecord> {
    let n = rng.random_range(1..env_or("LIN_MAX_OPS", 7) + 1);
    let mut ops = Vec::new();
    let mut written = 0;
    for id in 0..n {
        let invoke = rng.random_range(0..20);
        let complete = invoke + rng.random_range(0..12);
        let outcome = match rng.random_range(0..10) {
            0 => Outcome::Fail,
            1 | 2 => Outcome::Unknown,
            _ => Outcome::Ok,
        };
        let rec = if rng.random_bool(0.45) {
            // Now and then a label written before: values are not unique, so only the
            // exact search applies.
            let label = if written > 0 && rng.random_bool(0.08) {
                format!("v{}", rng.random_range(1..=written))
            } else {
                written += 1;
                format!("v{written}")
            };
            op(id, OpKind::Write, Some(&label), invoke, complete, outcome)
        } else {
            let value = match rng.random_range(0..written + 2) {
                0 => None,
                k if k <= written => Some(format!("v{k}")),
                _ => Some("never".to_string()),
            };
            op(
                id,
                OpKind::Read,
                value.as_deref(),
                invoke,
                complete,
                outcome,
            )
        };
        ops.push(rec);
    }
    ops
}

#[test]
fn agrees_with_brute_force_and_counterexamples_are_minimal() {
    let rounds = env_or("LIN_ROUNDS", 4000);
    let mut rng = ChaCha8Rng::seed_from_u64(env_or("LIN_SEED", 99));
    let mut violations = 0;
    for round in 0..rounds {
        let ops = random_small_history(&mut rng);
        let refs: Vec<&OpRecord> = ops.iter().collect();
        let expected = brute_force_linearizable(&refs);
        let got = verdict(&ops);
        assert_eq!(got.as_bool(), Some(expected), "round {round}: {ops:#?}");
        let KeyVerdict::NotLinearizable { counterexample } = got else {
            continue;
        };
        violations += 1;
        let ce: Vec<&OpRecord> = counterexample.ops.iter().collect();
        assert!(
            !brute_force_linearizable(&ce),
            "round {round}: {counterexample}"
        );
        assert!(counterexample.minimal);
        for skip in 0..ce.len() {
            let rest: Vec<&OpRecord> = ce
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != skip)
                .map(|(_, &o)| o)
                .collect();
            let needed_by_a_read = ce[skip].kind == OpKind::Write
                && rest
                    .iter()
                    .any(|o| o.kind == OpKind::Read && o.value == ce[skip].value);
            if !needed_by_a_read {
                assert!(
                    brute_force_linearizable(&rest),
                    "round {round}: op {} is not needed in {counterexample}",
                    ce[skip].id
                );
            }
        }
    }
    assert!(
        violations > rounds / 8,
        "only {violations} violations generated"
    );
}

/// Each decision procedure on its own against brute force: the exact search, and the
/// zone test (which must find a conflict exactly when there is a violation that the
/// label checks of `prepare` did not already report).
#[test]
fn exact_search_and_zone_test_each_agree_with_brute_force() {
    let mut rng = ChaCha8Rng::seed_from_u64(env_or("LIN_SEED", 3));
    for round in 0..env_or("LIN_ROUNDS", 3000) {
        let ops = random_small_history(&mut rng);
        let refs: Vec<&OpRecord> = ops.iter().collect();
        let expected = brute_force_linearizable(&refs);
        let history = KeyHistory::new("k", &refs);
        let all: Vec<usize> = (0..history.ops.len()).collect();
        let exact = history.search_exact(&all, Deadline::never());
        assert_eq!(
            matches!(exact, Decision::Linearizable),
            expected,
            "round {round}: {ops:#?}"
        );
        if let Ok(prepared) = history.prepare(&all) {
            match zone_test(&prepared, 4) {
                Zones::Clean => assert!(expected, "round {round}: {ops:#?}"),
                Zones::Conflicts(witnesses) => {
                    assert!(!expected, "round {round}: {ops:#?}");
                    for witness in witnesses {
                        let confirmed = history.confirm(&prepared, witness, Deadline::never());
                        assert!(confirmed.is_some(), "round {round}: {ops:#?}");
                    }
                }
                Zones::NotApplicable => {}
            }
        }
    }
}

/// A register driven by concurrent clients: each operation gets a linearization point in
/// order and an invoke/complete window around it; some writes are `unknown` (applied or
/// not, the client giving up at any time) and some fail.
fn simulated_history(rng: &mut ChaCha8Rng, keys: usize, per_key: usize) -> Vec<OpRecord> {
    let mut ops = Vec::new();
    for k in 0..keys {
        let key = format!("profile/u{k}");
        let mut value: Option<String> = None;
        let mut t = 1_000u64;
        for j in 0..per_key {
            t += rng.random_range(1..50);
            let invoke = t - rng.random_range(0..200).min(t);
            let complete = t + rng.random_range(0..200);
            let id = ops.len() as u64;
            let mut rec = if rng.random_bool(0.4) {
                let label = format!("u{k}#{j}");
                let roll: f64 = rng.random();
                if roll < 0.75 {
                    value = Some(label.clone());
                    op(
                        id,
                        OpKind::Write,
                        Some(&label),
                        invoke,
                        complete,
                        Outcome::Ok,
                    )
                } else if roll < 0.9 {
                    if rng.random_bool(0.5) {
                        value = Some(label.clone());
                    }
                    let gave_up = invoke + rng.random_range(0..300);
                    op(
                        id,
                        OpKind::Write,
                        Some(&label),
                        invoke,
                        gave_up,
                        Outcome::Unknown,
                    )
                } else {
                    op(
                        id,
                        OpKind::Write,
                        Some(&label),
                        invoke,
                        complete,
                        Outcome::Fail,
                    )
                }
            } else if rng.random_bool(0.9) {
                op(
                    id,
                    OpKind::Read,
                    value.as_deref(),
                    invoke,
                    complete,
                    Outcome::Ok,
                )
            } else {
                op(id, OpKind::Read, None, invoke, complete, Outcome::Unknown)
            };
            rec.key = key.clone();
            ops.push(rec);
        }
    }
    ops
}

/// Beyond brute force's reach: on simulated histories with some reads changed to
/// another value of the key, the zone test's verdict and the exact search's agree, and
/// every counterexample is confirmed by the exact search.
#[test]
fn zone_test_agrees_with_exact_search_on_larger_histories() {
    let mut rng = ChaCha8Rng::seed_from_u64(env_or("LIN_SEED", 17));
    let mut violations = 0;
    for round in 0..env_or("LIN_ROUNDS", 400) {
        let mut ops = simulated_history(&mut rng, 1, 10 + round as usize % 70);
        let labels: Vec<Option<String>> = ops
            .iter()
            .filter(|o| o.kind == OpKind::Write)
            .map(|o| o.value.clone())
            .chain([None])
            .collect();
        for o in ops.iter_mut() {
            if o.kind == OpKind::Read && rng.random_bool(0.03) {
                o.value = labels[rng.random_range(0..labels.len())].clone();
            }
        }
        let refs: Vec<&OpRecord> = ops.iter().collect();
        let history = KeyHistory::new("k", &refs);
        let all: Vec<usize> = (0..history.ops.len()).collect();
        let exact = history.search_exact(&all, Deadline::never());
        let fast = history.analyse(&all, Deadline::never());
        // Every conflict the zone test reports holds up on its own (if one did not, the
        // checker would fall back to the exponential search).
        if let Ok(prepared) = history.prepare(&all) {
            if let Zones::Conflicts(witnesses) = zone_test(&prepared, 8) {
                for witness in witnesses {
                    let confirmed = history.confirm(&prepared, witness, Deadline::never());
                    assert!(confirmed.is_some(), "round {round}: {ops:#?}");
                }
            }
        }
        assert_eq!(
            matches!(fast, Decision::Linearizable),
            matches!(exact, Decision::Linearizable),
            "round {round}: {ops:#?}"
        );
        if let Decision::Violation(set) = fast {
            violations += 1;
            let counterexample = history.counterexample(set, Deadline::never());
            let ce: Vec<&OpRecord> = counterexample.ops.iter().collect();
            let again = KeyHistory::new("k", &ce);
            let ce_all: Vec<usize> = (0..again.ops.len()).collect();
            assert!(
                matches!(
                    again.search_exact(&ce_all, Deadline::never()),
                    Decision::Violation(_)
                ),
                "round {round}: {counterexample}"
            );
        }
    }
    assert!(violations > 50, "only {violations} violations");
}

#[test]
fn simulated_register_histories_are_always_linearizable() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    for round in 0..300 {
        let ops = simulated_history(&mut rng, 3, 1 + round % 60);
        let report = check_history(&ops, LONG);
        if report.verdict != Some(true) {
            panic!("round {round}: {report}");
        }
    }
}

#[test]
fn a_stale_read_injected_into_a_simulated_history_is_found() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut checked = 0;
    for _ in 0..50 {
        let mut ops = simulated_history(&mut rng, 1, 60);
        let end = ops.iter().map(|o| o.complete_us).max().unwrap_or(0);
        let ok_writes: Vec<&OpRecord> = ops
            .iter()
            .filter(|o| o.kind == OpKind::Write && o.outcome == Outcome::Ok)
            .collect();
        // A write that surely completed before a later ok write began.
        let Some(old) = ok_writes.iter().find_map(|a| {
            ok_writes
                .iter()
                .any(|b| a.complete_us < b.invoke_us)
                .then(|| a.value.clone())
        }) else {
            continue;
        };
        let stale_id = ops.len() as u64;
        let mut stale = r(stale_id, old.as_deref(), end + 10, end + 20);
        stale.key = ops[0].key.clone();
        ops.push(stale);
        let KeyVerdict::NotLinearizable { counterexample } = verdict(&ops) else {
            panic!("stale read not found")
        };
        assert!(counterexample.minimal);
        // The minimal set need not be the three-operation one (another read may be the
        // evidence that the old value was overwritten), but it is small and has the read.
        assert!(counterexample.ops.len() <= 5, "{counterexample}");
        assert!(counterexample.ops.iter().any(|o| o.id == stale_id));
        checked += 1;
    }
    assert!(checked > 40);
}
