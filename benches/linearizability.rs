//! Linearizability checker benchmark on synthetic register histories.
//!
//! Run with `cargo bench --bench linearizability`. Each history is generated from a real
//! sequential register per key: every operation gets a linearization point in order and a
//! random invoke/complete window around it (up to 20 ms either side, points ~1 ms apart, so
//! about 17 operations of a key are in flight at any invoke). Writes are unique labels; 8% of writes get no
//! answer (`unknown`: half of them take effect, possibly after the client gave up), 4% fail,
//! 5% of reads fail. Prints, for each scenario, total check time and operations per second:
//! - 100,000 operations over 1,000 keys (the budget is 10 s; three runs, median);
//! - 100,000 operations over 10 hot keys (10,000 operations per key);
//! - 100,000 operations over 1,000 keys with 70% writes (many never read: more branching);
//! - 100,000 operations over 100 keys with windows of up to 300 ms either side (about 250
//!   in flight) and one read two-thirds in made stale in 20 keys;
//! - the first history with one read in the middle of 50 keys made stale (the search must
//!   exhaust the window around it), and with 20 stale reads appended (finding and shrinking
//!   counterexamples).

use std::time::Duration;

use caplab::check::linearizability::{check_history, Report};
use caplab::history::{Device, OpKind, OpRecord, Outcome};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LIMIT: Duration = Duration::from_secs(60);

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);

    let history = generate(&mut rng, 1_000, 100, 0.3, 20_000);
    describe_history("100k ops / 1k keys", &history);
    let mut times = Vec::new();
    for run in 1..=3 {
        let report = check_history(&history, LIMIT);
        print_run(&format!("  run {run}"), &report);
        assert_eq!(
            report.verdict,
            Some(true),
            "synthetic history judged {report}"
        );
        times.push(report.elapsed);
    }
    times.sort();
    println!(
        "  median {:.3} s, {:.0} ops/s (budget: 10 s)",
        times[1].as_secs_f64(),
        history.len() as f64 / times[1].as_secs_f64()
    );

    let hot = generate(&mut rng, 10, 10_000, 0.3, 20_000);
    describe_history("100k ops / 10 hot keys", &hot);
    let report = check_history(&hot, LIMIT);
    print_run("  run", &report);
    assert_eq!(
        report.verdict,
        Some(true),
        "synthetic history judged {report}"
    );

    let heavy = generate(&mut rng, 1_000, 100, 0.7, 20_000);
    describe_history("100k ops / 1k keys, 70% writes", &heavy);
    let report = check_history(&heavy, LIMIT);
    print_run("  run", &report);
    assert_eq!(
        report.verdict,
        Some(true),
        "synthetic history judged {report}"
    );

    let mut middle = history.clone();
    let changed = make_reads_stale(&mut rng, &mut middle, 50, 1.0 / 3.0);
    describe_history("100k ops / 1k keys, reads made stale mid-history", &middle);
    let report = check_history(&middle, LIMIT);
    print_run("  run", &report);
    let sizes: Vec<usize> = report.counterexamples().map(|c| c.ops.len()).collect();
    println!(
        "  changed {changed} reads, found {} not linearizable keys; counterexample sizes {sizes:?}",
        report.counts().not_linearizable
    );

    let mut extreme = generate(&mut rng, 100, 1_000, 0.5, 300_000);
    let changed = make_reads_stale(&mut rng, &mut extreme, 20, 2.0 / 3.0);
    describe_history(
        "100k ops / 100 keys, windows up to 300 ms, reads made stale",
        &extreme,
    );
    let report = check_history(&extreme, LIMIT);
    print_run("  run", &report);
    let sizes: Vec<usize> = report.counterexamples().map(|c| c.ops.len()).collect();
    println!(
        "  changed {changed} reads, found {} not linearizable keys; counterexample sizes {sizes:?}",
        report.counts().not_linearizable
    );

    let mut broken = history.clone();
    let injected = inject_stale_reads(&mut rng, &mut broken, 20);
    describe_history("100k ops / 1k keys + stale reads", &broken);
    let report = check_history(&broken, LIMIT);
    print_run("  run", &report);
    let sizes: Vec<usize> = report.counterexamples().map(|c| c.ops.len()).collect();
    let minimal = report.counterexamples().filter(|c| c.minimal).count();
    println!(
        "  injected {injected}, found {} not linearizable keys; counterexample sizes {:?}, {minimal} minimal",
        report.counts().not_linearizable,
        sizes
    );
    let first = report.counterexamples().next();
    if let Some(first) = first {
        print!("  first counterexample:\n{first}");
    }
}

fn print_run(label: &str, report: &Report) {
    let c = report.counts();
    println!(
        "{label}: {:.3} s, {:.0} ops/s, verdict {:?} ({} linearizable, {} not, {} unknown keys)",
        report.elapsed.as_secs_f64(),
        report.checked_ops as f64 / report.elapsed.as_secs_f64(),
        report.verdict,
        c.linearizable,
        c.not_linearizable,
        c.unknown
    );
}

/// `keys` registers with `per_key` operations each, interleaved in one history sorted by
/// invoke time (ids are positions, as in a real history).
fn generate(
    rng: &mut ChaCha8Rng,
    keys: usize,
    per_key: usize,
    writes: f64,
    window_us: u64,
) -> Vec<OpRecord> {
    let mut ops = Vec::with_capacity(keys * per_key);
    for k in 0..keys {
        let key = format!("profile/u{k}");
        let mut value: Option<String> = None;
        let mut t: u64 = 10_000_000 + rng.random_range(0..1_000_000);
        for j in 0..per_key {
            t += rng.random_range(1..2_000);
            let invoke = t - rng.random_range(0..window_us);
            let complete = t + rng.random_range(0..window_us);
            let client = format!("u{k}/c{}", rng.random_range(0..30));
            let (kind, outcome, recorded, end) = if rng.random_bool(writes) {
                let label = format!("u{k}#{j}");
                let roll: f64 = rng.random();
                if roll < 0.88 {
                    value = Some(label.clone());
                    (OpKind::Write, Outcome::Ok, Some(label), complete)
                } else if roll < 0.96 {
                    if rng.random_bool(0.5) {
                        value = Some(label.clone());
                    }
                    let gave_up = invoke + rng.random_range(0..window_us * 3 / 2);
                    (OpKind::Write, Outcome::Unknown, Some(label), gave_up)
                } else {
                    (OpKind::Write, Outcome::Fail, Some(label), complete)
                }
            } else if rng.random_bool(0.95) {
                (OpKind::Read, Outcome::Ok, value.clone(), complete)
            } else {
                (OpKind::Read, Outcome::Fail, None, complete)
            };
            ops.push(record(&key, client, kind, recorded, invoke, end, outcome));
        }
    }
    ops.sort_by_key(|op| op.invoke_us);
    for (i, op) in ops.iter_mut().enumerate() {
        op.id = i as u64;
    }
    ops
}

fn record(
    key: &str,
    client: String,
    kind: OpKind,
    value: Option<String>,
    invoke_us: u64,
    complete_us: u64,
    outcome: Outcome,
) -> OpRecord {
    OpRecord {
        id: 0,
        client,
        user: key.trim_start_matches("profile/").to_string(),
        device: Device::Laptop,
        dc: "eu".into(),
        node: Some("eu-1".into()),
        kind,
        key: key.to_string(),
        value,
        bytes: 1024,
        scheduled_us: invoke_us,
        invoke_us,
        complete_us,
        outcome,
        version: None,
        error: None,
    }
}

/// Appends, for `count` keys, a read after everything else that returns a value that a later
/// `ok` write surely overwrote. Returns how many were injected.
fn inject_stale_reads(rng: &mut ChaCha8Rng, ops: &mut Vec<OpRecord>, count: usize) -> usize {
    let end = ops.iter().map(|o| o.complete_us).max().unwrap_or(0);
    let keys: Vec<String> = {
        let mut keys: Vec<String> = ops.iter().map(|o| o.key.clone()).collect();
        keys.sort();
        keys.dedup();
        keys
    };
    let mut injected = 0;
    for _ in 0..count {
        let key = &keys[rng.random_range(0..keys.len())];
        let writes: Vec<&OpRecord> = ops
            .iter()
            .filter(|o| &o.key == key && o.kind == OpKind::Write && o.outcome == Outcome::Ok)
            .collect();
        let old = writes.iter().find_map(|a| {
            writes
                .iter()
                .any(|b| a.complete_us < b.invoke_us)
                .then(|| a.value.clone())
        });
        if let Some(old) = old {
            let mut stale = record(
                key,
                "stale/reader".into(),
                OpKind::Read,
                old,
                end,
                end + 100,
                Outcome::Ok,
            );
            stale.id = ops.len() as u64;
            ops.push(stale);
            injected += 1;
        }
    }
    injected
}

/// For `count` keys, makes the first `ok` read past fraction `at` of the key's history return
/// the key's first written label (stale if a later write completed before the read began).
fn make_reads_stale(rng: &mut ChaCha8Rng, ops: &mut [OpRecord], count: usize, at: f64) -> usize {
    let mut changed = 0;
    for _ in 0..count {
        let key = &ops[rng.random_range(0..ops.len())].key.clone();
        let of_key: Vec<usize> = (0..ops.len()).filter(|&i| &ops[i].key == key).collect();
        let first = of_key
            .iter()
            .find(|&&i| ops[i].kind == OpKind::Write && ops[i].outcome == Outcome::Ok)
            .map(|&i| ops[i].value.clone());
        let middle = of_key[(of_key.len() as f64 * at) as usize..]
            .iter()
            .find(|&&i| ops[i].kind == OpKind::Read && ops[i].outcome == Outcome::Ok);
        if let (Some(first), Some(&i)) = (first, middle) {
            if ops[i].value != first {
                ops[i].value = first;
                changed += 1;
            }
        }
    }
    changed
}

/// Prints the size of a history and how many operations of a key are in flight, on average,
/// when one is invoked.
fn describe_history(name: &str, ops: &[OpRecord]) {
    let mut by_key: std::collections::HashMap<&str, Vec<(u64, bool)>> = Default::default();
    for op in ops {
        let events = by_key.entry(op.key.as_str()).or_default();
        events.push((op.invoke_us, false));
        events.push((op.complete_us, true));
    }
    let (mut sum, mut count) = (0u64, 0u64);
    for events in by_key.values_mut() {
        events.sort();
        let mut in_flight = 0i64;
        for &(_, done) in events.iter() {
            if done {
                in_flight -= 1;
            } else {
                sum += in_flight as u64;
                count += 1;
                in_flight += 1;
            }
        }
    }
    let unknown = ops.iter().filter(|o| o.outcome == Outcome::Unknown).count();
    println!(
        "{name}: {} ops, {} keys, {unknown} unknown; on average {:.1} ops of the key in flight at an invoke",
        ops.len(),
        by_key.len(),
        sum as f64 / count.max(1) as f64
    );
}
