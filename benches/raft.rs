//! Raft cluster benchmark: 3 nodes in one process, zero configured delay, real loopback TCP
//! through the link layer, for `memory` storage and `disk` storage (fsync on every append,
//! and group commit).
//!
//! Run with `cargo bench --bench raft` (add `-- memory` or `-- disk-always` etc. to pick
//! storages). For each storage it prints:
//! - unloaded latency: one client, one operation at a time, p50/p99 of writes and of
//!   linearizable reads (both sent to the leader);
//! - open-loop steps: offered load rising until the p99 exceeds 10 ms (or operations fail),
//!   for writes and for linearizable reads: achieved rate of acknowledged operations,
//!   p50/p99/max latency (hdrhistogram) and how far the pacer lagged behind its schedule;
//! - the sustained write throughput: the highest step whose p99 stayed within 10 ms;
//! - overload: writes and reads offered at [`OVERLOAD_FACTOR`] times the peak achieved rate
//!   (at least 30,000/s): the goodput (acknowledged operations per second) as a share of the
//!   peak achieved in the rising steps, and how the rest failed (shed with an explicit
//!   `overloaded` rejection, other rejections, unknown outcomes, timeouts). Beyond saturation
//!   the cluster must shed load explicitly and keep its goodput at 80% of the peak or more.
//!
//! Clients are `caplab::runner::client::Client` endpoints (4 of them, round robin), as in a
//! real run. Latency is measured from the moment a request is handed to the client to its
//! answer; each request leaves at its own scheduled time, released by the runner's pacer
//! thread (not in bursts at tokio's 1 ms timer ticks). Every replica records `apply` events into a real events file. The load
//! average is printed with each section: on a shared 2-core machine, other processes move
//! these numbers a lot.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use caplab::cluster::raft::{RaftCluster, RaftPeer};
use caplab::cluster::{ClientOp, Cluster, ClusterContext, Wire};
use caplab::experiment::{parse, Experiment, Overrides};
use caplab::history::{Event, JsonlWriter, RunClock};
use caplab::net::{EndpointId, NetConfig, Network, Role};
use caplab::runner::client::{CallResult, Client};
use caplab::runner::pacer::Pacer;
use hdrhistogram::Histogram;

const P99_LIMIT: Duration = Duration::from_millis(10);
const STEP: Duration = Duration::from_secs(3);
const STEP_WARMUP: Duration = Duration::from_millis(500);
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
const CLIENTS: usize = 4;
const KEYS: usize = 1000;
const PICTURE_BYTES: usize = 1024;
const WRITE_RATES: &[u64] = &[
    1_000, 2_500, 5_000, 7_500, 10_000, 12_500, 15_000, 17_500, 20_000, 25_000, 30_000, 40_000,
];
const READ_RATES: &[u64] = &[1_000, 2_500, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000];
/// Overload is offered at this many times the highest step of the rising series.
const OVERLOAD_FACTOR: u64 = 2;
/// Goodput under overload must stay at least this share of the peak.
const GOODPUT_TARGET: f64 = 0.8;

fn experiment(storage: &str) -> Result<Experiment, String> {
    let storage = match storage {
        "memory" => "storage = \"memory\"".to_string(),
        "disk-always" => "storage = \"disk\"\nfsync = \"always\"".to_string(),
        "disk-batch" => "storage = \"disk\"\nfsync = \"batch\"".to_string(),
        other => return Err(format!("unknown storage {other}")),
    };
    let toml = format!(
        r#"
name = "raft-bench"
seed = 1
duration = "10s"
[topology.dcs.local]
nodes = 3
[[variants]]
name = "raft"
kind = "raft"
read_policy = "linearizable"
heartbeat_interval = "50ms"
election_timeout_min = "500ms"
election_timeout_max = "1s"
rpc_timeout = "1s"
{storage}
[workload]
users = 1
rate = 1.0
write_fraction = 0.5
[workload.readers]
friend = 0.0
laptop = 1.0
"#
    );
    parse(&toml, "bench.toml", &Overrides::default())
        .map(|l| l.experiment)
        .map_err(|e| e.to_string())
}

struct Bench {
    cluster: RaftCluster,
    net: Network<Wire<RaftPeer>>,
    nodes: Vec<EndpointId>,
    clients: Vec<Arc<Client<RaftPeer>>>,
    events: JsonlWriter<Event>,
    _dir: tempfile::TempDir,
}

async fn setup(storage: &str) -> Result<Bench, String> {
    let exp = Arc::new(experiment(storage)?);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let events = JsonlWriter::<Event>::create(&dir.path().join("events.jsonl"))
        .map_err(|e| e.to_string())?;
    let net: Network<Wire<RaftPeer>> =
        Network::new(NetConfig::zero(1, exp.seed)).map_err(|e| e.to_string())?;
    let nodes: Vec<EndpointId> = exp
        .topology
        .nodes
        .iter()
        .map(|n| net.register(n.name.clone(), n.dc, Role::Node))
        .collect();
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let c = Client::connect(&net, &format!("bench-{i}"), 0)
            .await
            .map_err(|e| e.to_string())?;
        clients.push(Arc::new(c));
    }
    let ctx = ClusterContext {
        experiment: exp.clone(),
        variant: exp.variants[0].clone(),
        net: net.clone(),
        node_ids: nodes.clone(),
        clock: RunClock::start(),
        events: events.sink(),
        data_dir: dir.path().join("data"),
        seed: exp.seed,
    };
    let cluster = RaftCluster::start(ctx).await.map_err(|e| e.to_string())?;
    cluster
        .ready(Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Bench {
        cluster,
        net,
        nodes,
        clients,
        events,
        _dir: dir,
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Write,
    Read,
}

fn op(kind: Kind, i: u64, picture: &bytes::Bytes) -> ClientOp {
    let key = format!("profile/u{}", i % KEYS as u64);
    match kind {
        Kind::Write => ClientOp::Write {
            key,
            value: format!("v{i}"),
            picture: picture.clone(),
        },
        Kind::Read => ClientOp::Read { key, after: None },
    }
}

fn histogram() -> Histogram<u64> {
    // 1 µs .. 60 s, 3 significant digits; these bounds are valid, so this cannot fail.
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| unreachable!())
}

fn us(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// One operation at a time from one client.
async fn unloaded(b: &Bench, leader: EndpointId, kind: Kind, count: u64) -> (Histogram<u64>, u64) {
    let picture = bytes::Bytes::from(vec![7u8; PICTURE_BYTES]);
    let mut h = histogram();
    let mut failed = 0;
    for i in 0..count {
        let t0 = Instant::now();
        let r = b.clients[0]
            .call(leader, op(kind, i, &picture), CALL_TIMEOUT)
            .await;
        if matches!(r, CallResult::Ok(_)) {
            let _ = h.record(t0.elapsed().as_micros() as u64);
        } else {
            failed += 1;
        }
    }
    (h, failed)
}

struct Step {
    /// Process CPU time (all threads) per acknowledged operation.
    cpu_us_per_op: f64,
    offered: u64,
    achieved: f64,
    latency: Histogram<u64>,
    lag: Histogram<u64>,
    failed: u64,
    /// Failures by kind: shed, other rejections, unknown, timeouts.
    failures: [u64; 4],
}

/// Offers `rate` operations per second for [`STEP`], open loop; measures the operations
/// sent after [`STEP_WARMUP`].
async fn open_loop(b: &Bench, leader: EndpointId, kind: Kind, rate: u64, base: u64) -> Step {
    let picture = bytes::Bytes::from(vec![7u8; PICTURE_BYTES]);
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Answer, u64, u64, bool)>();
    let cpu_before = cpu_time_us();
    // Each operation is released at its own time by the runner's pacer thread, not in
    // bursts at tokio's millisecond timer ticks.
    let start = Instant::now() + Duration::from_millis(5);
    let n = (STEP.as_secs_f64() * rate as f64) as u64;
    let times: Vec<Instant> = (0..n).map(|i| start + interval * i as u32).collect();
    let Ok(mut pacer) = Pacer::start(times.clone()) else {
        eprintln!("cannot start the pacer");
        std::process::exit(2);
    };
    while let Some(i) = pacer.due.recv().await {
        let due = times[i];
        let client = b.clients[i % CLIENTS].clone();
        let o = op(kind, base + i as u64, &picture);
        let measured = due >= start + STEP_WARMUP;
        let tx = tx.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let lag = t0.saturating_duration_since(due).as_micros() as u64;
            let r = client.call(leader, o, CALL_TIMEOUT).await;
            let took = t0.elapsed().as_micros() as u64;
            let answer = match r {
                CallResult::Ok(_) => Answer::Ok,
                CallResult::Rejected(e) if e.starts_with("overloaded") => Answer::Shed,
                CallResult::Rejected(_) => Answer::Rejected,
                CallResult::Indeterminate(_) => Answer::Unknown,
                CallResult::Timeout => Answer::Timeout,
                // The benchmark measures the system: a lab failure invalidates the step.
                CallResult::LabFailure(e) => panic!("the lab failed, not the system: {e}"),
            };
            let _ = tx.send((answer, took, lag, measured));
        });
    }
    drop(tx);
    let mut latency = histogram();
    let mut lag_h = histogram();
    let (mut ok, mut failed, mut all_ok) = (0u64, 0u64, 0u64);
    let mut failures = [0u64; 4];
    while let Some((answer, took, lag, measured)) = rx.recv().await {
        let success = answer == Answer::Ok;
        all_ok += u64::from(success);
        if !measured {
            continue;
        }
        let _ = lag_h.record(lag.max(1));
        if success {
            ok += 1;
            let _ = latency.record(took.max(1));
        } else {
            failed += 1;
            failures[answer as usize - 1] += 1;
        }
    }
    let cpu = cpu_time_us().saturating_sub(cpu_before);
    Step {
        cpu_us_per_op: cpu as f64 / all_ok.max(1) as f64,
        offered: rate,
        achieved: ok as f64 / (STEP - STEP_WARMUP).as_secs_f64(),
        latency,
        lag: lag_h,
        failed,
        failures,
    }
}

/// How one operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ok = 0,
    /// Rejected at once because the leader was saturated (`overloaded: ...`).
    Shed = 1,
    Rejected = 2,
    Unknown = 3,
    Timeout = 4,
}

fn print_step(s: &Step) {
    println!(
        "  offered {:>6}/s  achieved {:>8.0}/s  p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>8.3} ms  \
         pacer lag p99 {:>6.3} ms  cpu {:>5.1} us/op  failed {}",
        s.offered,
        s.achieved,
        us(&s.latency, 0.5),
        us(&s.latency, 0.99),
        s.latency.max() as f64 / 1000.0,
        us(&s.lag, 0.99),
        s.cpu_us_per_op,
        s.failed
    );
}

/// Rising offered load until the p99 exceeds the limit; returns the best sustained step and
/// the highest achieved rate of any step.
async fn rising(b: &Bench, leader: EndpointId, kind: Kind, rates: &[u64]) -> (Option<Step>, f64) {
    let mut best: Option<Step> = None;
    let mut peak = 0.0f64;
    for (n, rate) in rates.iter().enumerate() {
        let s = open_loop(b, leader, kind, *rate, (n as u64 + 1) * 10_000_000).await;
        print_step(&s);
        peak = peak.max(s.achieved);
        let within = s.latency.value_at_quantile(0.99) <= P99_LIMIT.as_micros() as u64
            && s.failed == 0
            && s.achieved >= 0.95 * s.offered as f64;
        if !within {
            break;
        }
        best = Some(s);
    }
    (best, peak)
}

/// Offers `rate` (far beyond saturation) and prints the goodput against `peak`.
async fn overload(b: &Bench, leader: EndpointId, kind: Kind, rate: u64, peak: f64, base: u64) {
    let s = open_loop(b, leader, kind, rate, base).await;
    print_step(&s);
    let share = s.achieved / peak.max(1.0);
    let [shed, rejected, unknown, timeout] = s.failures;
    println!(
        "  goodput {:.0}/s = {:.0}% of the peak {:.0}/s ({}; target {:.0}%); failed: {shed} shed          as overloaded, {rejected} other rejections, {unknown} unknown, {timeout} timeouts",
        s.achieved,
        share * 100.0,
        peak,
        if share >= GOODPUT_TARGET { "met" } else { "NOT met" },
        GOODPUT_TARGET * 100.0,
    );
}

async fn run(storage: &str) -> Result<(), String> {
    println!(
        "== raft, 3 nodes, {storage}, {PICTURE_BYTES}-byte pictures, {KEYS} keys (load average before: {})",
        load_average()
    );
    let b = setup(storage).await?;
    let leader = b
        .cluster
        .leader()
        .ok_or("no leader after ready".to_string())?;
    let leader_ep = b.nodes[leader];

    let (w, wf) = unloaded(&b, leader_ep, Kind::Write, 3000).await;
    let (r, rf) = unloaded(&b, leader_ep, Kind::Read, 3000).await;
    println!(
        "unloaded write:             p50 {:.3} ms  p99 {:.3} ms  ({} failed)",
        us(&w, 0.5),
        us(&w, 0.99),
        wf
    );
    println!(
        "unloaded linearizable read: p50 {:.3} ms  p99 {:.3} ms  ({} failed)",
        us(&r, 0.5),
        us(&r, 0.99),
        rf
    );

    println!("open-loop writes (to the leader):");
    let (best_w, peak_w) = rising(&b, leader_ep, Kind::Write, WRITE_RATES).await;
    println!("open-loop linearizable reads (to the leader):");
    let (best_r, peak_r) = rising(&b, leader_ep, Kind::Read, READ_RATES).await;
    for (kind, peak, base) in [
        (Kind::Write, peak_w, 900_000_000),
        (Kind::Read, peak_r, 950_000_000),
    ] {
        let rate = ((peak as u64 * OVERLOAD_FACTOR).max(30_000) / 1000) * 1000;
        println!(
            "overload, {} offered at {rate}/s:",
            if kind == Kind::Write {
                "writes"
            } else {
                "linearizable reads"
            }
        );
        overload(&b, leader_ep, kind, rate, peak, base).await;
    }
    match best_w {
        Some(s) => println!(
            "sustained writes ({storage}): {:.0}/s with p50 {:.3} ms, p99 {:.3} ms",
            s.achieved,
            us(&s.latency, 0.5),
            us(&s.latency, 0.99)
        ),
        None => println!("sustained writes ({storage}): none of the steps kept p99 within 10 ms"),
    }
    match best_r {
        Some(s) => println!(
            "sustained linearizable reads ({storage}): {:.0}/s with p50 {:.3} ms, p99 {:.3} ms",
            s.achieved,
            us(&s.latency, 0.5),
            us(&s.latency, 0.99)
        ),
        None => println!("sustained reads ({storage}): none of the steps kept p99 within 10 ms"),
    }
    if b.cluster.leader() != Some(leader) {
        println!("note: leadership moved during the benchmark");
    }
    let Bench {
        cluster,
        net,
        clients,
        events,
        ..
    } = b;
    cluster.shutdown().await;
    drop(clients);
    net.shutdown().await;
    events.finish().map_err(|e| e.to_string())?;
    Ok(())
}

/// CPU time (user + system, every thread) this process has used, in µs.
fn cpu_time_us() -> u64 {
    // Fields 14 and 15 of /proc/self/stat, in clock ticks (100 per second on Linux).
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    let Some(rest) = stat.rsplit(')').next() else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After the ")", field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    (ticks(11) + ticks(12)) * 10_000
}

/// The machine's 1/5/15-minute load averages, to tell a quiet run from a contended one.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return ExitCode::from(2);
        }
    };
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let storages: Vec<&str> = ["memory", "disk-always", "disk-batch"]
        .into_iter()
        .filter(|s| wanted.is_empty() || wanted.iter().any(|w| w == s))
        .collect();
    for s in storages {
        if let Err(e) = rt.block_on(run(s)) {
            eprintln!("{s}: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
