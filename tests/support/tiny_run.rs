//! A small, fully deterministic run directory for the chart and report tests: two users
//! (alice at home in asia, bob in eu), a strongly consistent variant whose asia clients fail
//! while asia is cut off, and an eventually consistent one whose asia readers go stale.
//! Its experiment is `tests/fixtures/tiny-partition.toml`. It leaves out real timing: every
//! latency and apply time is computed, so the charts and the report are the same every run.

use std::path::Path;

use super::history::{apply, fault_with};
use super::jsonl;

use caplab::history::{Device, Event, OpKind, OpRecord, Outcome};

/// Run-clock start of the measured window.
pub const T0: u64 = 1_000_000;
pub const FAULT: (u64, u64) = (T0 + 1_500_000, T0 + 3_000_000);
pub const STEP: u64 = 100_000;
pub const OPS: u64 = 40;

fn in_fault(t: u64) -> bool {
    t >= FAULT.0 && t < FAULT.1
}

/// When a write acknowledged at `t` reaches the other DC in the eventual variant.
fn crosses(t: u64) -> u64 {
    let arrive = t + 100_000;
    if in_fault(arrive) || in_fault(t) {
        FAULT.1 + 50_000
    } else {
        arrive
    }
}

#[allow(clippy::too_many_arguments)]
fn op(
    id: u64,
    user: &str,
    device: Device,
    dc: &str,
    kind: OpKind,
    value: Option<String>,
    invoke: u64,
    latency: u64,
    outcome: Outcome,
) -> OpRecord {
    let who = match device {
        Device::Phone => "phone".to_string(),
        Device::Laptop => "laptop".to_string(),
        Device::Friend => format!("friend-{dc}"),
    };
    OpRecord {
        id,
        client: format!("{user}/{who}"),
        user: user.to_string(),
        device,
        dc: dc.to_string(),
        node: Some(format!("{dc}-1")),
        kind,
        key: format!("profile/{user}"),
        value: if outcome == Outcome::Ok || kind == OpKind::Write {
            value
        } else {
            None
        },
        bytes: 10,
        scheduled_us: invoke,
        invoke_us: invoke,
        complete_us: invoke + latency,
        outcome,
        version: None,
        error: None,
    }
}

fn fault_event(t_us: u64, start: bool) -> Event {
    fault_with(t_us, start, "faults[0]: isolate asia")
}

/// The strong variant: every read returns the newest acknowledged picture; asia clients
/// fail during the fault; writes take 80 ms, reads 40 ms.
fn strong() -> (Vec<OpRecord>, Vec<Event>) {
    let mut ops = Vec::new();
    let mut events = vec![fault_event(FAULT.0, true), fault_event(FAULT.1, false)];
    let mut bob = 0;
    for i in 0..OPS {
        let t = T0 + i * STEP;
        let asia_down = in_fault(t);
        let latest = |n: u64| (n > 0).then(|| format!("bob#{n}"));
        let o = match i % 4 {
            0 => {
                bob += 1;
                let v = format!("bob#{bob}");
                for node in ["eu-1", "eu-2", "asia-1"] {
                    let at = if node == "asia-1" {
                        crosses(t)
                    } else {
                        t + 80_000
                    };
                    events.push(apply(at, node, "bob", &v));
                }
                op(
                    i,
                    "bob",
                    Device::Phone,
                    "eu",
                    OpKind::Write,
                    Some(v),
                    t,
                    80_000,
                    Outcome::Ok,
                )
            }
            1 => op(
                i,
                "bob",
                Device::Laptop,
                "eu",
                OpKind::Read,
                latest(bob),
                t,
                40_000,
                Outcome::Ok,
            ),
            2 => op(
                i,
                "bob",
                Device::Friend,
                "asia",
                OpKind::Read,
                latest(bob),
                t,
                if asia_down { 1_000_000 } else { 120_000 },
                if asia_down {
                    Outcome::Unknown
                } else {
                    Outcome::Ok
                },
            ),
            _ => {
                let v = format!("alice#{}", i / 4 + 1);
                if !asia_down {
                    for node in ["eu-1", "eu-2", "asia-1"] {
                        events.push(apply(t + 200_000, node, "alice", &v));
                    }
                }
                let (latency, outcome) = if asia_down {
                    (2_000, Outcome::Fail)
                } else {
                    (200_000, Outcome::Ok)
                };
                op(
                    i,
                    "alice",
                    Device::Phone,
                    "asia",
                    OpKind::Write,
                    Some(v),
                    t,
                    latency,
                    outcome,
                )
            }
        };
        ops.push(o);
    }
    (ops, events)
}

/// The eventual variant: everything answers locally in 1 ms; asia learns of bob's
/// pictures 100 ms later, or when the fault ends.
fn eventual() -> (Vec<OpRecord>, Vec<Event>) {
    let mut ops = Vec::new();
    let mut events = vec![fault_event(FAULT.0, true), fault_event(FAULT.1, false)];
    let mut bob_writes: Vec<u64> = Vec::new(); // acknowledgement times
    for i in 0..OPS {
        let t = T0 + i * STEP;
        let o = match i % 4 {
            0 => {
                bob_writes.push(t + 1_000);
                let v = format!("bob#{}", bob_writes.len());
                events.push(apply(t + 500, "eu-1", "bob", &v));
                events.push(apply(t + 900, "eu-2", "bob", &v));
                events.push(apply(crosses(t), "asia-1", "bob", &v));
                op(
                    i,
                    "bob",
                    Device::Phone,
                    "eu",
                    OpKind::Write,
                    Some(v),
                    t,
                    1_000,
                    Outcome::Ok,
                )
            }
            1 => {
                let n = bob_writes.iter().filter(|&&a| a <= t).count();
                let v = (n > 0).then(|| format!("bob#{n}"));
                op(
                    i,
                    "bob",
                    Device::Laptop,
                    "eu",
                    OpKind::Read,
                    v,
                    t,
                    1_000,
                    Outcome::Ok,
                )
            }
            2 => {
                // asia holds the newest picture that has crossed by now.
                let n = bob_writes
                    .iter()
                    .filter(|&&a| crosses(a - 1_000) <= t)
                    .count();
                let v = (n > 0).then(|| format!("bob#{n}"));
                op(
                    i,
                    "bob",
                    Device::Friend,
                    "asia",
                    OpKind::Read,
                    v,
                    t,
                    1_000,
                    Outcome::Ok,
                )
            }
            _ => {
                let v = format!("alice#{}", i / 4 + 1);
                events.push(apply(t + 500, "asia-1", "alice", &v));
                events.push(apply(crosses(t), "eu-1", "alice", &v));
                events.push(apply(crosses(t), "eu-2", "alice", &v));
                op(
                    i,
                    "alice",
                    Device::Phone,
                    "asia",
                    OpKind::Write,
                    Some(v),
                    t,
                    1_000,
                    Outcome::Ok,
                )
            }
        };
        ops.push(o);
    }
    events.sort_by_key(|e| e.t_us);
    (ops, events)
}

/// Writes the run directory into `dir`.
pub fn write_run(dir: &Path) {
    std::fs::write(
        dir.join("experiment.toml"),
        super::fixture("tiny-partition"),
    )
    .unwrap();
    let outcome = format!(
        r#"{{"window_start_us":{T0},"operations":{OPS},"ok":0,"fail":0,"unknown":0,"events":0,"interrupted":false,"lab_errors":0,"lab_error_details":[],"lab_failed_ops":0,"pacer_max_late_us":0}}"#
    );
    std::fs::write(
        dir.join("run.json"),
        format!(
            r#"{{"experiment":"tiny-partition","run_id":"20261126T000000Z","seed":7,"status":"ok","operations":{OPS},
            "variants":[
              {{"name":"strong","kind":"raft","status":"ok","outcome":{outcome}}},
              {{"name":"eventual","kind":"gossip","status":"ok","outcome":{outcome}}}
            ]}}"#
        ),
    )
    .unwrap();
    for (name, (mut ops, mut events), node_msgs) in
        [("strong", strong(), 240u64), ("eventual", eventual(), 120)]
    {
        ops.sort_by_key(|o| o.complete_us);
        events.sort_by_key(|e| e.t_us);
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("history.jsonl"), jsonl(&ops)).unwrap();
        std::fs::write(d.join("events.jsonl"), jsonl(&events)).unwrap();
        std::fs::write(
            d.join("net.json"),
            format!(
                r#"{{"links":[
                {{"from":"eu-1","to":"asia-1","kind":"node-node","sent":{node_msgs},"sent_bytes":{b},"delivered":{node_msgs},"delivered_bytes":{b},"dropped_partition":0,"dropped_loss":0,"dropped_unreachable":0}},
                {{"from":"bob/phone","to":"eu-1","kind":"client-node","sent":40,"sent_bytes":4000,"delivered":40,"delivered_bytes":4000,"dropped_partition":0,"dropped_loss":0,"dropped_unreachable":0}}
                ]}}"#,
                b = node_msgs * 100
            ),
        )
        .unwrap();
    }
}
