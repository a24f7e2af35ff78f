//! Raft cluster benchmark: 3 nodes in one process, zero configured delay, real loopback TCP
//! through the link layer, for `memory` storage and `disk` storage (fsync = always and
//! batch; both group-commit, batch also waits a 2 ms window before each fsync).
//!
//! Run `cargo bench --bench raft` for everything, or pick with `-- memory`, `-- disk-always`,
//! `-- disk-batch`, `-- overload` (several may be given). For profiling, the environment
//! variables `RAFT_BENCH_WRITE_RATES` and `RAFT_BENCH_READ_RATES` (comma-separated rates, empty
//! to skip) replace the rising series, and `RAFT_BENCH_WORKERS` sets tokio's worker threads
//! (default 2). Each prints, with the load average:
//! - the idle cluster's CPU (the floor under every step's CPU per operation);
//! - unloaded latency (not for `overload`): one client, one operation at a time, p50/p99 of
//!   writes and of linearizable reads (both sent to the leader);
//! - open-loop steps: offered load rising until the cluster saturates (see [`rising`]), for
//!   writes and for linearizable reads; the sustained rate is the highest step whose p99
//!   stayed within 10 ms, and lower steps that missed it are listed beside it. Per step: the rate the generator really sent
//!   during the measured window, the achieved rate of acknowledged operations, p50/p99/max
//!   latency (hdrhistogram), how far the pacer lagged behind its schedule, CPU per
//!   acknowledged operation, messages between nodes and leader log entries per
//!   acknowledged operation (how well writes batch), and the cores used by the generator
//!   thread, the pacer, tokio's workers (the cluster and every connection) and the rest;
//! - `overload` only: writes and reads offered at [`OVERLOAD_FACTOR`] times the peak achieved
//!   rate (at least 30,000/s): the goodput (acknowledged operations per second) as a share of
//!   the peak achieved in the rising steps, and how the rest failed (shed with an explicit
//!   `overloaded` rejection, other rejections, unknown outcomes, timeouts). A step in which
//!   the generator could not offer the load (it sent under 95% of it, or its pacer lag p99
//!   exceeded the runner's `PACER_LATE_LIMIT`) is reported INVALID, not counted;
//! - a results block: each measured number next to its target (sustained writes with p99
//!   <= 10 ms: memory 25,000/s, disk with fsync always 17,200/s; overload goodput >= 80% of
//!   the peak).
//!
//! Clients are `caplab::runner::client::Client` endpoints (4 of them, round robin), as in a
//! real run. Latency is measured from the moment a request is handed to the client to its
//! answer; each request leaves at its own scheduled time, released by the runner's pacer
//! thread (not in bursts at tokio's 1 ms timer ticks), and runs on the benchmark's own thread
//! (see [`open_loop`]), so the generator does not queue behind the cluster on tokio's
//! workers. Every replica records `apply` events into a real events file. On a shared
//! 2-core machine other processes move these numbers a lot: compare the load average.
//!
//! Deliberately left out: a separate process (or machine) for the generator; its cost is
//! measured instead (the `cores gen` column).

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
use caplab::runner::PACER_LATE_LIMIT;
use futures_util::stream::{FuturesUnordered, StreamExt};
use hdrhistogram::Histogram;

const P99_LIMIT: Duration = Duration::from_millis(10);
const STEP: Duration = Duration::from_secs(3);
const STEP_WARMUP: Duration = Duration::from_millis(500);
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
const CLIENTS: usize = 4;
const KEYS: usize = 1000;
const PICTURE_BYTES: usize = 1024;
const WRITE_RATES: &[u64] = &[
    1_000, 2_500, 5_000, 7_500, 10_000, 12_500, 15_000, 17_200, 20_000, 25_000, 30_000, 40_000,
];
const READ_RATES: &[u64] = &[
    1_000, 2_500, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 40_000,
];
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
    /// The leader after start (index and endpoint); every operation goes to it.
    leader: usize,
    leader_ep: EndpointId,
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
    let leader = cluster.leader().ok_or("no leader after ready")?;
    Ok(Bench {
        cluster,
        leader,
        leader_ep: nodes[leader],
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

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Write => "writes",
            Kind::Read => "linearizable reads",
        }
    }
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
async fn unloaded(b: &Bench, kind: Kind, count: u64) -> (Histogram<u64>, u64) {
    let picture = bytes::Bytes::from(vec![7u8; PICTURE_BYTES]);
    let mut h = histogram();
    let mut failed = 0;
    for i in 0..count {
        let t0 = Instant::now();
        let r = b.clients[0]
            .call(b.leader_ep, op(kind, i, &picture), CALL_TIMEOUT)
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
    /// Messages between cluster nodes per acknowledged operation.
    peer_msgs_per_op: f64,
    /// Leader log entries appended per acknowledged operation (writes batch into entries).
    entries_per_op: f64,
    /// Cores used during the step by the generator thread, the pacer, tokio's workers and
    /// the other threads (see [`cpu_by_thread_us`]).
    cores: [f64; 4],
    offered: u64,
    /// Operations the generator actually sent per second during the measured window: below
    /// `offered` when the generator (or the machine) could not keep up.
    sent: f64,
    achieved: f64,
    latency: Histogram<u64>,
    lag: Histogram<u64>,
    failed: u64,
    /// Failures by kind: shed, other rejections, unknown, timeouts.
    failures: [u64; 4],
}

/// Offers `rate` operations per second for [`STEP`], open loop; measures the operations
/// due after [`STEP_WARMUP`].
///
/// The generator runs on the benchmark's own thread (the one that blocks on the runtime),
/// not on the runtime's workers: each operation released by the pacer becomes a call in one
/// `FuturesUnordered`, without a task of its own. So the load generator's cost stays off
/// the workers that run the cluster, and the pacer lag says how far the generator itself
/// fell behind.
async fn open_loop(b: &Bench, kind: Kind, rate: u64, base: u64) -> Step {
    let picture = bytes::Bytes::from(vec![7u8; PICTURE_BYTES]);
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let cpu_before = cpu_time_us();
    let threads_before = cpu_by_thread_us();
    let msgs_before = peer_messages(b);
    let index_before = b.cluster.last_log_index(b.leader).unwrap_or(0);
    // Each operation is released at its own time by the runner's pacer thread, not in
    // bursts at tokio's millisecond timer ticks.
    let start = Instant::now() + Duration::from_millis(5);
    let measure_from = start + STEP_WARMUP;
    let n = (STEP.as_secs_f64() * rate as f64) as u64;
    let times: Vec<Instant> = (0..n).map(|i| start + interval * i as u32).collect();
    let Ok(mut pacer) = Pacer::start(times.clone()) else {
        eprintln!("cannot start the pacer");
        std::process::exit(2);
    };
    let mut latency = histogram();
    let mut lag_h = histogram();
    let (mut ok, mut failed, mut all_ok, mut sent_in_window) = (0u64, 0u64, 0u64, 0u64);
    let mut failures = [0u64; 4];
    let mut calls = FuturesUnordered::new();
    let mut pacer_done = false;
    let call = |i: usize| {
        let due = times[i];
        let client = b.clients[i % CLIENTS].clone();
        let o = op(kind, base + i as u64, &picture);
        let leader = b.leader_ep;
        async move {
            let t0 = Instant::now();
            let r = client.call(leader, o, CALL_TIMEOUT).await;
            let answer = match r {
                CallResult::Ok(_) => Answer::Ok,
                CallResult::Rejected(e) if e.starts_with("overloaded") => Answer::Shed,
                CallResult::Rejected(_) => Answer::Rejected,
                CallResult::Indeterminate(_) => Answer::Unknown,
                CallResult::Timeout => Answer::Timeout,
                // The benchmark measures the system: a lab failure invalidates the step.
                CallResult::LabFailure(e) => panic!("the lab failed, not the system: {e}"),
            };
            (answer, due, t0, t0.elapsed().as_micros() as u64)
        }
    };
    while !(pacer_done && calls.is_empty()) {
        tokio::select! {
            d = pacer.due.recv(), if !pacer_done => match d {
                Some(i) => {
                    calls.push(call(i));
                    // Whatever else is due already joins without another wake-up.
                    while let Ok(i) = pacer.due.try_recv() {
                        calls.push(call(i));
                    }
                }
                None => pacer_done = true,
            },
            Some((answer, due, t0, took)) = calls.next(), if !calls.is_empty() => {
                let success = answer == Answer::Ok;
                all_ok += u64::from(success);
                if due < measure_from {
                    continue;
                }
                let lag = t0.saturating_duration_since(due).as_micros() as u64;
                let _ = lag_h.record(lag.max(1));
                if t0 >= measure_from && t0 < start + STEP {
                    sent_in_window += 1;
                }
                if success {
                    ok += 1;
                    let _ = latency.record(took.max(1));
                } else {
                    failed += 1;
                    failures[answer as usize - 1] += 1;
                }
            }
        }
    }
    let cpu = cpu_time_us().saturating_sub(cpu_before);
    let threads_after = cpu_by_thread_us();
    let elapsed = start.elapsed().as_micros().max(1) as f64;
    let cores = |i: usize| threads_after[i].saturating_sub(threads_before[i]) as f64 / elapsed;
    let msgs = peer_messages(b).saturating_sub(msgs_before);
    let entries = b
        .cluster
        .last_log_index(b.leader)
        .unwrap_or(0)
        .saturating_sub(index_before);
    let window = (STEP - STEP_WARMUP).as_secs_f64();
    Step {
        cpu_us_per_op: cpu as f64 / all_ok.max(1) as f64,
        peer_msgs_per_op: msgs as f64 / all_ok.max(1) as f64,
        entries_per_op: entries as f64 / all_ok.max(1) as f64,
        cores: [cores(0), cores(1), cores(2), cores(3)],
        offered: rate,
        sent: sent_in_window as f64 / window,
        achieved: ok as f64 / window,
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
        "  offered {:>6}/s  sent {:>6.0}/s  achieved {:>6.0}/s  p50 {:>7.3} ms  p99 {:>7.3} ms  \
         max {:>8.3} ms  pacer lag p99 {:>7.3} ms  cpu {:>5.1} us/op  peer msgs {:>5.2}/op  \
         entries {:>5.3}/op  cores gen {:.2} pacer {:.2} workers {:.2} other {:.2}  failed {}",
        s.offered,
        s.sent,
        s.achieved,
        us(&s.latency, 0.5),
        us(&s.latency, 0.99),
        s.latency.max() as f64 / 1000.0,
        us(&s.lag, 0.99),
        s.cpu_us_per_op,
        s.peer_msgs_per_op,
        s.entries_per_op,
        s.cores[0],
        s.cores[1],
        s.cores[2],
        s.cores[3],
        s.failed
    );
}

/// Whether the generator offered the step's load: it sent at least 95% of the offered rate
/// during the measured window and released operations at most [`PACER_LATE_LIMIT`] late
/// (the limit beyond which the runner calls a run's load a lab error).
fn generator_kept_up(s: &Step) -> bool {
    s.sent >= 0.95 * s.offered as f64
        && s.lag.value_at_quantile(0.99) <= PACER_LATE_LIMIT.as_micros() as u64
}

/// Rising offered load until the cluster saturates (it acknowledges under 95% of the
/// offered rate, operations fail, or the p99 exceeds ten times the limit); returns the
/// highest step whose p99 stayed within [`P99_LIMIT`] with nothing failed (the sustained
/// rate), the lower steps that missed the limit (on a busy machine a short stall can push
/// one step's p99 over while higher ones pass: they are printed, not hidden), and the
/// highest achieved rate of any step.
async fn rising(b: &Bench, kind: Kind, rates: &[u64]) -> (Option<Step>, Vec<u64>, f64) {
    let mut best: Option<Step> = None;
    let mut missed = Vec::new();
    let mut peak = 0.0f64;
    for (n, rate) in rates.iter().enumerate() {
        let s = open_loop(b, kind, *rate, (n as u64 + 1) * 10_000_000).await;
        print_step(&s);
        peak = peak.max(s.achieved);
        let p99 = s.latency.value_at_quantile(0.99);
        let saturated = s.failed > 0
            || s.achieved < 0.95 * s.offered as f64
            || p99 > 10 * P99_LIMIT.as_micros() as u64;
        if saturated {
            if !generator_kept_up(&s) {
                println!(
                    "  (the generator did not offer this step's load: the machine is the limit)"
                );
            }
            break;
        }
        if p99 <= P99_LIMIT.as_micros() as u64 {
            best = Some(s);
        } else {
            missed.push(s.offered);
        }
    }
    let below: Vec<u64> = missed
        .into_iter()
        .filter(|m| best.as_ref().is_some_and(|b| *m < b.offered))
        .collect();
    (best, below, peak)
}

/// The goodput share of the peak under overload, or why the step says nothing.
enum Overload {
    Share(f64),
    /// The generator could not offer the load: the step is not counted.
    Invalid {
        sent: f64,
        lag_p99_ms: f64,
    },
    /// The rising series was skipped (`RAFT_BENCH_*_RATES` empty): nothing to compare with.
    NoPeak,
}

/// Offers `rate` (far beyond saturation) and prints the goodput against `peak`.
async fn overload(b: &Bench, kind: Kind, rate: u64, peak: f64, base: u64) -> Overload {
    let s = open_loop(b, kind, rate, base).await;
    print_step(&s);
    let [shed, rejected, unknown, timeout] = s.failures;
    println!(
        "  failed: {shed} shed as overloaded, {rejected} other rejections, {unknown} unknown, \
         {timeout} timeouts"
    );
    if !generator_kept_up(&s) {
        let lag_p99_ms = us(&s.lag, 0.99);
        println!(
            "  INVALID step: the generator sent {:.0}/s of {}/s (pacer lag p99 {lag_p99_ms:.1} ms, \
             limit {} ms); the load was not offered, so the goodput says nothing",
            s.sent,
            s.offered,
            PACER_LATE_LIMIT.as_millis()
        );
        return Overload::Invalid {
            sent: s.sent,
            lag_p99_ms,
        };
    }
    if peak <= 0.0 {
        println!(
            "  goodput {:.0}/s (no peak to compare with: the rising series was skipped)",
            s.achieved
        );
        return Overload::NoPeak;
    }
    let share = s.achieved / peak;
    println!(
        "  goodput {:.0}/s = {:.0}% of the peak {:.0}/s",
        s.achieved,
        share * 100.0,
        peak
    );
    Overload::Share(share)
}

/// What one run of the benchmark measures.
struct Plan {
    name: &'static str,
    storage: &'static str,
    /// Sustained writes (p99 within [`P99_LIMIT`]) this storage must reach, if any.
    write_target: Option<u64>,
    unloaded: bool,
    overload: bool,
}

const PLANS: &[Plan] = &[
    Plan {
        name: "memory",
        storage: "memory",
        write_target: Some(25_000),
        unloaded: true,
        overload: false,
    },
    Plan {
        name: "disk-always",
        storage: "disk-always",
        write_target: Some(17_200),
        unloaded: true,
        overload: false,
    },
    Plan {
        name: "disk-batch",
        storage: "disk-batch",
        write_target: None,
        unloaded: true,
        overload: false,
    },
    // The rising series again (they give the peaks), then overload; memory storage.
    Plan {
        name: "overload",
        storage: "memory",
        write_target: Some(25_000),
        unloaded: false,
        overload: true,
    },
];

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

async fn run(plan: &Plan) -> Result<(), String> {
    let storage = plan.storage;
    println!(
        "== {}: raft, 3 nodes, {storage}, {PICTURE_BYTES}-byte pictures, {KEYS} keys (load average before: {})",
        plan.name,
        load_average()
    );
    let b = setup(storage).await?;
    // What the process costs with nothing offered (heartbeats, timers, idle polling): the
    // floor under every step's CPU per operation.
    let cpu_before = cpu_time_us();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "idle cluster: {:.1}% of a core",
        cpu_time_us().saturating_sub(cpu_before) as f64 / t0.elapsed().as_micros() as f64 * 100.0
    );
    if storage.starts_with("disk") {
        match fdatasync_latency(b._dir.path()) {
            Ok(h) => println!(
                "this disk: 1 KiB overwrite + fdatasync p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms \
                 (a floor under every disk write; one per group commit)",
                us(&h, 0.5),
                us(&h, 0.99),
                h.max() as f64 / 1000.0
            ),
            Err(e) => println!("this disk: fdatasync not measured ({e})"),
        }
    }
    if plan.unloaded {
        let (w, wf) = unloaded(&b, Kind::Write, 3000).await;
        let (r, rf) = unloaded(&b, Kind::Read, 3000).await;
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
    }

    println!("open-loop writes (to the leader):");
    let write_rates = rates_from_env("RAFT_BENCH_WRITE_RATES", WRITE_RATES);
    let (best_w, missed_w, peak_w) = rising(&b, Kind::Write, &write_rates).await;
    println!("open-loop linearizable reads (to the leader):");
    let read_rates = rates_from_env("RAFT_BENCH_READ_RATES", READ_RATES);
    let (best_r, missed_r, peak_r) = rising(&b, Kind::Read, &read_rates).await;
    let mut overloads = Vec::new();
    if plan.overload {
        for (kind, peak, base) in [
            (Kind::Write, peak_w, 900_000_000),
            (Kind::Read, peak_r, 950_000_000),
        ] {
            let rate = ((peak as u64 * OVERLOAD_FACTOR).max(30_000) / 1000) * 1000;
            println!("overload, {} offered at {rate}/s:", kind.name());
            overloads.push((kind, overload(&b, kind, rate, peak, base).await));
        }
    }
    if b.cluster.leader() != Some(b.leader) {
        println!("note: leadership moved during the benchmark");
    }

    println!(
        "-- {} results (load average now: {}):",
        plan.name,
        load_average()
    );
    let sustained_w = best_w.as_ref().map_or(0.0, |s| s.achieved);
    match &best_w {
        Some(s) => print!(
            "  sustained writes, p99 <= 10 ms: {:>6.0}/s (p50 {:.3} ms, p99 {:.3} ms)",
            s.achieved,
            us(&s.latency, 0.5),
            us(&s.latency, 0.99)
        ),
        None => print!("  sustained writes, p99 <= 10 ms: none of the steps"),
    }
    if !missed_w.is_empty() {
        print!(" [lower steps over 10 ms: {missed_w:?}/s]");
    }
    match plan.write_target {
        Some(t) => println!("   target >= {t}/s: {}", verdict(sustained_w >= t as f64)),
        None => println!("   (no target)"),
    }
    match &best_r {
        Some(s) => println!(
            "  sustained linearizable reads, p99 <= 10 ms: {:>6.0}/s (p50 {:.3} ms, p99 {:.3} ms)   (no target)",
            s.achieved,
            us(&s.latency, 0.5),
            us(&s.latency, 0.99)
        ),
        None => println!("  sustained linearizable reads, p99 <= 10 ms: none of the steps   (no target)"),
    }
    if !missed_r.is_empty() {
        println!("    [reads: lower steps over 10 ms: {missed_r:?}/s]");
    }
    for (kind, o) in overloads {
        match o {
            Overload::Share(share) => println!(
                "  overload goodput, {}: {:>4.0}% of the peak   target >= {:.0}%: {}",
                kind.name(),
                share * 100.0,
                GOODPUT_TARGET * 100.0,
                verdict(share >= GOODPUT_TARGET)
            ),
            Overload::Invalid { sent, lag_p99_ms } => println!(
                "  overload goodput, {}: INVALID (generator sent {sent:.0}/s, pacer lag p99 \
                 {lag_p99_ms:.1} ms)   target >= {:.0}%: not measured",
                kind.name(),
                GOODPUT_TARGET * 100.0
            ),
            Overload::NoPeak => println!(
                "  overload goodput, {}: no peak (rising series skipped)   target >= {:.0}%: \
                 not measured",
                kind.name(),
                GOODPUT_TARGET * 100.0
            ),
        }
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

/// What the disk itself costs: 500 overwrites of 1 KiB in a preallocated file under `dir`,
/// each followed by `fdatasync`, as the Raft log's writer does per group commit.
fn fdatasync_latency(dir: &std::path::Path) -> std::io::Result<Histogram<u64>> {
    use std::os::unix::fs::FileExt;
    let path = dir.join("fdatasync-probe");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)?;
    file.write_all_at(&vec![0u8; 1 << 20], 0)?;
    file.sync_all()?;
    let mut h = histogram();
    let block = vec![7u8; 1024];
    for i in 0..500u64 {
        let t0 = Instant::now();
        file.write_all_at(&block, (i * 1024) % (1 << 20))?;
        file.sync_data()?;
        let _ = h.record((t0.elapsed().as_micros() as u64).max(1));
    }
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(h)
}

/// Messages sent so far between any two cluster nodes (clients' traffic excluded).
fn peer_messages(b: &Bench) -> u64 {
    b.net
        .link_stats()
        .iter()
        .filter(|l| b.nodes.contains(&l.from) && b.nodes.contains(&l.to))
        .map(|l| l.sent)
        .sum()
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

/// CPU time (user + system) of each thread of this process so far, in µs, summed by thread
/// name: the benchmark's own thread (the generator), the pacer, tokio's workers (the
/// cluster, its network tasks and the clients' connections), and the rest.
fn cpu_by_thread_us() -> [u64; 4] {
    let mut out = [0u64; 4];
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    let main = std::process::id().to_string();
    for t in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let us = (ticks(11) + ticks(12)) * 10_000;
        let slot = if t.file_name().to_string_lossy() == main {
            0
        } else if name.starts_with("caplab-pacer") {
            1
        } else if name.starts_with("tokio-rt-worker") {
            2
        } else {
            3
        };
        out[slot] += us;
    }
    out
}

/// The rising series of offered rates: `default`, or the comma-separated list in the
/// environment variable `var` (for profiling one rate; an empty list skips the series).
fn rates_from_env(var: &str, default: &[u64]) -> Vec<u64> {
    match std::env::var(var) {
        Ok(list) => list
            .split(',')
            .filter_map(|r| r.trim().parse().ok())
            .collect(),
        Err(_) => default.to_vec(),
    }
}

/// The machine's 1/5/15-minute load averages, to tell a quiet run from a contended one.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() -> ExitCode {
    let workers = std::env::var("RAFT_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(2);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
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
    if let Some(w) = wanted
        .iter()
        .find(|w| PLANS.iter().all(|p| p.name != w.as_str()))
    {
        eprintln!(
            "unknown benchmark {w}; pick from: {}",
            PLANS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
        );
        return ExitCode::from(2);
    }
    for plan in PLANS
        .iter()
        .filter(|p| wanted.is_empty() || wanted.iter().any(|w| w == p.name))
    {
        if let Err(e) = rt.block_on(run(plan)) {
            eprintln!("{}: {e}", plan.name);
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
