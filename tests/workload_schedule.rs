//! The workload schedule is a pure function of the experiment and its seed, and has the
//! shape the experiment asks for.

mod support;

use std::collections::{HashMap, HashSet};

use caplab::experiment::Experiment;
use caplab::history::{Device, OpKind};
use caplab::workload::Schedule;
use support::{edit, fixture};

/// The `schedule-test` fixture with `seed`, and `extra` appended to its `[workload]`.
fn experiment(seed: u64, extra: &str) -> Experiment {
    let text = edit(
        &fixture("schedule-test"),
        "seed = 1\n",
        &format!("seed = {seed}\n"),
    );
    support::cluster::experiment(&format!("{text}{extra}\n"))
}

#[test]
fn same_seed_gives_byte_identical_schedules_and_different_seeds_differ() {
    let a = Schedule::generate(&experiment(1, "")).to_jsonl();
    let b = Schedule::generate(&experiment(1, "")).to_jsonl();
    let c = Schedule::generate(&experiment(2, "")).to_jsonl();
    assert!(!a.is_empty());
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn arrivals_are_poisson_at_the_configured_rate_within_the_window() {
    let exp = experiment(3, "");
    let s = Schedule::generate(&exp);
    // 60 s at 500/s: mean 30,000, sd ~173.
    let n = s.ops.len() as f64;
    assert!((n - 30_000.0).abs() < 900.0, "{n} operations");
    assert!(s.ops.windows(2).all(|w| w[0].at_us <= w[1].at_us));
    assert!(s.ops.iter().all(|o| o.at_us < 60_000_000));
    // Exponential gaps: the coefficient of variation is about 1.
    let gaps: Vec<f64> = s
        .ops
        .windows(2)
        .map(|w| (w[1].at_us - w[0].at_us) as f64)
        .collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
    assert!((sd / mean - 1.0).abs() < 0.05, "cv {}", sd / mean);
    let writes = s.writes() as f64 / n;
    assert!((writes - 0.25).abs() < 0.02, "write share {writes}");
}

#[test]
fn devices_act_where_they_live_and_values_are_unique() {
    let s = Schedule::generate(&experiment(4, ""));
    let mut values = HashSet::new();
    for op in &s.ops {
        let user = &s.users[op.user];
        match (op.kind, op.device) {
            (OpKind::Write, Device::Phone) => {
                let v = op.value.clone().unwrap();
                assert!(v.starts_with(&format!("{}#", user.name)));
                assert!(values.insert(v), "duplicate value");
                assert_eq!(op.dc, user.home);
                assert_eq!(op.bytes, 1024);
            }
            (OpKind::Write, d) => panic!("a {d:?} wrote"),
            (OpKind::Read, Device::Laptop | Device::Phone) => assert_eq!(op.dc, user.home),
            (OpKind::Read, Device::Friend) => assert_ne!(op.dc, user.home),
        }
    }
    // 30 users over 3 DCs: 10 each.
    let mut homes: HashMap<usize, usize> = HashMap::new();
    for u in &s.users {
        *homes.entry(u.home).or_default() += 1;
    }
    assert_eq!(
        homes.values().copied().collect::<Vec<_>>(),
        vec![10, 10, 10]
    );
    assert_eq!(
        s.client(&s.ops[0]).split('/').next().unwrap(),
        s.users[s.ops[0].user].name
    );
}

#[test]
fn zipf_popularity_favours_the_first_users() {
    let s = Schedule::generate(&experiment(5, "popularity = \"zipf\"\nzipf_exponent = 1.2"));
    let mut per_user = vec![0usize; 30];
    for op in &s.ops {
        per_user[op.user] += 1;
    }
    assert!(per_user[0] > 5 * per_user[29], "{per_user:?}");
}

#[test]
fn travellers_phones_move_at_the_given_time() {
    let s = Schedule::generate(&experiment(
        6,
        "[workload.travel]\nusers = 3\nto = \"us\"\nat = \"30s\"",
    ));
    // DCs are sorted by name (asia, eu, us); users 0..10 live in asia and 0..3 travel to us.
    let us = 2;
    assert_eq!(s.users[0].home, 0);
    let mut moved = 0;
    for op in s
        .ops
        .iter()
        .filter(|o| o.device == Device::Phone && o.user < 3)
    {
        if op.at_us >= 30_000_000 {
            assert_eq!(op.dc, us);
            moved += 1;
        } else {
            assert_eq!(op.dc, s.users[op.user].home);
        }
    }
    assert!(moved > 0);
    assert!(s
        .client(
            s.ops
                .iter()
                .find(|o| o.user < 3 && o.device == Device::Phone)
                .unwrap()
        )
        .ends_with("/phone"));
}

/// Validation bounds every weight, but an experiment built in code is not validated:
/// weights whose sum is infinite must not panic (rand's `WeightedIndex` does on an infinite
/// sum) nor put every user in the last DC.
#[test]
fn weights_whose_sum_overflows_do_not_panic_generation() {
    let mut exp = experiment(5, "");
    exp.workload.readers.phone = 1e308;
    exp.workload.readers.laptop = 1e308;
    exp.workload.readers.friend = 1e308;
    exp.workload.friend_weights = vec![1e308; 3];
    exp.workload.home_weights = vec![1e308; 3];
    let schedule = Schedule::generate(&exp);
    assert!(!schedule.ops.is_empty());
    let homes: HashSet<usize> = schedule.users.iter().map(|u| u.home).collect();
    assert_eq!(homes.len(), 3, "users spread over every DC: {homes:?}");
    for op in schedule.ops.iter().filter(|o| o.device == Device::Friend) {
        assert_ne!(op.dc, schedule.users[op.user].home);
    }
}
