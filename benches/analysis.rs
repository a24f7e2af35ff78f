//! Analysis benchmark: `caplab check` on a synthetic run of 1,000,000 operations.
//!
//! Run with `cargo bench --bench analysis` (optionally `-- OPS USERS` for another size,
//! e.g. `-- 1000000 30` for 33,000 operations per key). The
//! benchmark writes a run directory to a temporary folder, shaped like a real gossip run of
//! the dc-partition experiment scaled up: 3 DCs (eu and us with 2 nodes, asia with 1), 1,000
//! users, 1,000 operations per second over 1,000 s, 20% picture updates from the owner's
//! phone, views by laptops (home DC), phones and friends (another DC). Each write is
//! applied at its coordinator at once, at the other node of its DC within a millisecond and
//! in the other DCs after 40-110 ms, except across a 100 s partition of asia, healed at
//! 400 s: every replica applies every write, in version order, with an `apply` event.
//! Reads return what the reader's node held at the read's invoke, so friends read stale
//! pictures, mostly during the partition. 1% of writes get no answer (`unknown`, half of
//! them applied), 1% of reads fail.
//!
//! The analysis then runs in a child process (this binary with `--analyse DIR`), so that
//! its peak memory (VmHWM from /proc/self/status) does not include the generator's. It
//! prints the time and peak memory; the budget is 10 s and 1 GiB.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use caplab::analysis::{check_run, load};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const RATE: f64 = 1_000.0;
const WINDOW_START_US: u64 = 3_000_000;
const PARTITION: (u64, u64) = (300_000_000, 400_000_000);
const DCS: [&str; 3] = ["asia", "eu", "us"];
const NODES: [(&str, usize); 5] = [
    ("asia-1", 0),
    ("eu-1", 1),
    ("eu-2", 1),
    ("us-1", 2),
    ("us-2", 2),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--analyse") {
        if let Some(dir) = args.get(i + 1) {
            analyse(Path::new(dir));
        }
        return;
    }
    let numbers: Vec<usize> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    let ops = numbers.first().copied().unwrap_or(1_000_000);
    let users = numbers.get(1).copied().unwrap_or(1_000);
    // `--keep DIR` generates into DIR and leaves it there (for profiling `--analyse DIR`).
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = match args.iter().position(|a| a == "--keep") {
        Some(i) => Path::new(args.get(i + 1).expect("--keep DIR")).to_path_buf(),
        None => tmp.path().join("run"),
    };
    std::fs::create_dir_all(dir.join("gossip")).expect("run directory");
    let start = Instant::now();
    let (writes, applies) = generate(&dir, ops, users);
    let size = std::fs::metadata(dir.join("gossip/history.jsonl"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "generated {ops} operations over {users} users ({writes} writes, {applies} apply events, \
         history {:.0} MB) in {:.1} s",
        size as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    let exe = std::env::current_exe().expect("own path");
    let status = Command::new(exe)
        .arg("--analyse")
        .arg(&dir)
        .status()
        .expect("running the analysis");
    assert!(status.success(), "analysis failed: {status}");
}

fn analyse(dir: &Path) {
    let start = Instant::now();
    let outcome = check_run(dir).expect("analysis");
    let elapsed = start.elapsed();
    print!("{}", outcome.table);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: unknown");
    println!(
        "analysis (caplab::analysis::check_run): {:.2} s (budget 10 s), peak memory {} (budget 1 GiB)",
        elapsed.as_secs_f64(),
        hwm.trim_start_matches("VmHWM:").trim()
    );
    // Where the time goes (a second pass, after the peak memory was read).
    let start = Instant::now();
    let history = load::read_variant(&dir.join("gossip")).expect("history");
    let loaded = start.elapsed();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary"))
            .expect("summary.json");
    let lin = &summary["variants"]["gossip"]["linearizability"];
    println!(
        "  of which: reading and interning the files {:.2} s; linearizability check {:.2} s on a \
         second thread ({} keys not linearizable, {} undecided)",
        loaded.as_secs_f64(),
        lin["elapsed_us"].as_f64().unwrap_or(0.0) / 1e6,
        lin["keys_not_linearizable"],
        lin["keys_unknown"],
    );
    drop(history);
}

/// A write of the simulation: its label, version and when each node applied it.
struct Write_ {
    label: String,
    version: [u64; 3],
    applied: [u64; 5],
    visible: bool,
}

/// One-way delay from DC `a` to DC `b`, in microseconds.
fn delay(rng: &mut ChaCha8Rng, a: usize, b: usize) -> u64 {
    let base = match (a.min(b), a.max(b)) {
        (x, y) if x == y => 300,
        (1, 2) => 40_000, // eu-us
        (0, 2) => 80_000, // asia-us
        _ => 110_000,     // asia-eu
    };
    base + rng.random_range(0..base / 10 + 1)
}

fn cut(a: usize, b: usize, t: u64) -> bool {
    (a == 0) != (b == 0) && t >= PARTITION.0 && t < PARTITION.1
}

fn generate(dir: &Path, n_ops: usize, users: usize) -> (u64, u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let duration_s = (n_ops as f64 / RATE).ceil() as u64;
    std::fs::write(dir.join("experiment.toml"), experiment(duration_s, users)).expect("experiment");
    let open =
        |name: &str| BufWriter::with_capacity(1 << 20, File::create(dir.join(name)).expect(name));
    let mut history = open("gossip/history.jsonl");
    let mut events = open("gossip/events.jsonl");
    let names: Vec<String> = (0..users).map(|u| format!("user{u}")).collect();
    let mut log: Vec<Vec<Write_>> = (0..users).map(|_| Vec::new()).collect();
    let mut free_at = vec![0u64; users];
    let (mut writes, mut applies) = (0u64, 0u64);
    let mut t = WINDOW_START_US as f64;
    let mut line = String::with_capacity(512);
    let mut fault_started = false;
    for id in 0..n_ops {
        t += -(1.0 - rng.random::<f64>()).ln() / RATE * 1e6;
        let scheduled = t as u64;
        let rel = scheduled - WINDOW_START_US;
        if !fault_started && rel >= PARTITION.0 {
            fault_started = true;
            for (kind, at) in [("fault_start", PARTITION.0), ("fault_end", PARTITION.1)] {
                let _ = writeln!(
                    events,
                    r#"{{"t_us":{},"type":"{kind}","fault":0,"kind":"partition","detail":"faults[0]: isolate asia"}}"#,
                    WINDOW_START_US + at
                );
            }
        }
        let u = rng.random_range(0..users);
        let home = u % 3;
        let user = &names[u];
        let is_write = rng.random_bool(0.2);
        line.clear();
        if is_write {
            writes += 1;
            let invoke = scheduled.max(free_at[u]) + rng.random_range(50..500);
            let coord = home_node(u, home);
            let ack = invoke + 500 + rng.random_range(0..300);
            let roll: f64 = rng.random();
            let (outcome, visible) = if roll < 0.01 {
                ("unknown", roll < 0.005)
            } else {
                ("ok", true)
            };
            let complete = if outcome == "unknown" {
                invoke + 1_000_000
            } else {
                ack
            };
            free_at[u] = complete;
            let seq = log[u].len() + 1;
            let label = format!("{user}#{seq}");
            let version = [1_000_000_000_000 + invoke + 250, 0, coord as u64];
            let mut applied = [u64::MAX; 5];
            if visible {
                let at_coord = invoke + 250;
                for (n, &(_, dc)) in NODES.iter().enumerate() {
                    let mut at = if n == coord {
                        at_coord
                    } else {
                        at_coord + delay(&mut rng, home, dc)
                    };
                    if cut(home, dc, at.saturating_sub(WINDOW_START_US)) {
                        at = WINDOW_START_US + PARTITION.1 + delay(&mut rng, home, dc);
                    }
                    // A replica applies a user's pictures in version order.
                    if let Some(prev) = log[u].iter().rev().find(|w| w.visible) {
                        at = at.max(prev.applied[n] + 1);
                    }
                    applied[n] = at;
                    applies += 1;
                    let _ = writeln!(
                        events,
                        r#"{{"t_us":{at},"type":"apply","node":"{}","key":"profile/{user}","value":"{label}"}}"#,
                        NODES[n].0
                    );
                }
            }
            let version_json = match outcome {
                "ok" => format!(
                    r#","version":[{},{},{}]"#,
                    version[0], version[1], version[2]
                ),
                _ => String::new(),
            };
            let error = match outcome {
                "ok" => "",
                _ => r#","error":"no answer within 1s""#,
            };
            let _ = write!(
                line,
                r#"{{"id":{id},"client":"{user}/phone","user":"{user}","device":"phone","dc":"{}","node":"{}","kind":"write","key":"profile/{user}","value":"{label}","bytes":2048,"scheduled_us":{scheduled},"invoke_us":{invoke},"complete_us":{complete},"outcome":"{outcome}"{version_json}{error}}}"#,
                DCS[home], NODES[coord].0
            );
            log[u].push(Write_ {
                label,
                version,
                applied,
                visible,
            });
        } else {
            let roll: f64 = rng.random();
            let (device, dc, client) = if roll < 0.45 {
                ("laptop", home, format!("{user}/laptop"))
            } else if roll < 0.9 {
                let dc = (home + 1 + rng.random_range(0..2)) % 3;
                ("friend", dc, format!("{user}/friend-{}", DCS[dc]))
            } else {
                ("phone", home, format!("{user}/phone"))
            };
            let node = home_node(u, dc);
            let invoke = scheduled + rng.random_range(50..500);
            let complete = invoke + 500 + rng.random_range(0..300);
            let fails = rng.random_bool(0.01);
            let seen = log[u]
                .iter()
                .rev()
                .find(|w| w.visible && w.applied[node] <= invoke);
            let (value, version, outcome, bytes) = match (fails, seen) {
                (true, _) => ("null".to_string(), String::new(), "fail", 0),
                (false, None) => ("null".to_string(), String::new(), "ok", 0),
                (false, Some(w)) => (
                    format!("\"{}\"", w.label),
                    format!(
                        r#","version":[{},{},{}]"#,
                        w.version[0], w.version[1], w.version[2]
                    ),
                    "ok",
                    2048,
                ),
            };
            let error = if fails {
                r#","error":"no answer within 1s""#
            } else {
                ""
            };
            let _ = write!(
                line,
                r#"{{"id":{id},"client":"{client}","user":"{user}","device":"{device}","dc":"{}","node":"{}","kind":"read","key":"profile/{user}","value":{value},"bytes":{bytes},"scheduled_us":{scheduled},"invoke_us":{invoke},"complete_us":{complete},"outcome":"{outcome}"{version}{error}}}"#,
                DCS[dc], NODES[node].0
            );
        }
        history.write_all(line.as_bytes()).expect("history");
        history.write_all(b"\n").expect("history");
    }
    history.flush().expect("history");
    events.flush().expect("events");
    std::fs::write(
        dir.join("run.json"),
        format!(
            r#"{{"experiment":"bench","run_id":"bench","seed":7,"status":"ok","operations":{n_ops},
"variants":[{{"name":"gossip","kind":"gossip","status":"ok","outcome":{{"window_start_us":{WINDOW_START_US},
"operations":{n_ops},"ok":0,"fail":0,"unknown":0,"events":0,"interrupted":false}}}}]}}"#
        ),
    )
    .expect("run.json");
    let mut net = String::from("{\"links\":[");
    let mut first = true;
    for (a, _) in NODES {
        for (b, _) in NODES {
            if a != b {
                if !first {
                    net.push(',');
                }
                first = false;
                let sent = n_ops as u64 / 4;
                let _ = write!(
                    net,
                    r#"{{"from":"{a}","to":"{b}","kind":"node-node","sent":{sent},"sent_bytes":{},"delivered":{sent},"delivered_bytes":{},"dropped_partition":0,"dropped_loss":0,"dropped_unreachable":0}}"#,
                    sent * 600,
                    sent * 600
                );
            }
        }
    }
    net.push_str("]}");
    std::fs::write(dir.join("gossip/net.json"), net).expect("net.json");
    (writes, applies)
}

/// The node of `dc` a user's clients talk to.
fn home_node(u: usize, dc: usize) -> usize {
    let local: Vec<usize> = (0..NODES.len()).filter(|&n| NODES[n].1 == dc).collect();
    local[u % local.len()]
}

fn experiment(duration_s: u64, users: usize) -> String {
    format!(
        r#"name = "bench"
seed = 7
duration = "{duration_s}s"
warmup = "3s"
cooldown = "5s"

[topology]
client_delay = {{ dist = "constant", value = "200us" }}
local_delay = {{ dist = "uniform", low = "150us", high = "350us" }}

[topology.dcs.asia]
nodes = 1

[topology.dcs.eu]
nodes = 2

[topology.dcs.us]
nodes = 2

[[topology.links]]
from = "eu"
to = "us"
delay = {{ dist = "normal", mean = "40ms", stddev = "2ms" }}

[[topology.links]]
from = "us"
to = "asia"
delay = {{ dist = "normal", mean = "80ms", stddev = "4ms" }}

[[topology.links]]
from = "eu"
to = "asia"
delay = {{ dist = "normal", mean = "110ms", stddev = "5ms" }}

[[variants]]
name = "gossip"
kind = "gossip"

[workload]
users = {users}
rate = {RATE}
write_fraction = 0.2
picture_bytes = 2048
timeout = "1s"

[[faults]]
at = "300s"
duration = "100s"
kind = "partition"
isolate_dc = "asia"
"#
    )
}
