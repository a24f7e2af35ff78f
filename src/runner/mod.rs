//! Running one variant of an experiment, end to end.
//!
//! [`run_variant`] starts a fresh simulated network and cluster, waits until the cluster is
//! ready, lets it settle for the warm-up, then replays the experiment's [`Schedule`] open
//! loop: each operation is sent by its client (one endpoint per user device and DC) to the
//! nearest node at its scheduled offset (released by the [`pacer`] thread, not tokio's
//! millisecond timer), whatever happened to earlier operations. Only one
//! user's writes wait for each other (a user changes the picture from one device at a time);
//! that wait shows as `invoke_us > scheduled_us`. Every completed operation is streamed to
//! `history.jsonl` and every cluster event to `events.jsonl`. After the last operation and
//! the cool-down, the cluster and network are stopped and traffic counters written to
//! `net.json`.
//!
//! Cancelling (Ctrl-C) stops dispatching at once; operations in flight are recorded with the
//! outcome `unknown` (writes) or `fail` (reads) and the error `interrupted`, then everything
//! is shut down and flushed as usual.
//!
//! The fault injector ([`crate::faults::Nemesis`]) runs beside the workload on the same clock,
//! with the same concrete faults for every variant.
//!
//! The lab's own failures are kept apart from the system's ([`lab`]): a variant that cannot
//! get the open files it needs does not start; a link-layer failure, an operation the lab
//! could not send (left out of the history), a pacer more than [`PACER_LATE_LIMIT`] behind
//! the schedule, or an operation record lost on the way to the file becomes a `lab_error`
//! event and is counted in the [`VariantOutcome`].
//!
//! The runner also builds the network's shaping from the experiment's topology
//! ([`net_config`]), so that the network does not depend on the experiment format.
//!
//! Deliberately left out: any analysis of what was recorded.

pub mod client;
pub mod lab;
pub mod pacer;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use indicatif::ProgressBar;
use serde::Serialize;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use self::client::{CallResult, Client};
use self::lab::{LabRecorder, LimitError};
use self::pacer::Pacer;
use crate::cluster::gossip::GossipCluster;
use crate::cluster::raft::RaftCluster;
use crate::cluster::SystemVersion;
use crate::cluster::{ClientOk, ClientOp, Cluster, ClusterContext, ClusterError, Wire};
use crate::experiment::{Engine, Experiment, Routing, Variant, VariantKind, VariantParams};
use crate::faults::{LeaderMemory, Nemesis, PlannedFault};
use crate::history::writer::WriteError;
use crate::history::Device;
use crate::history::{Event, JsonlWriter, OpKind, OpRecord, Outcome, RecordSink, RunClock};
use crate::net::{LinkShape, LinkStats, NetConfig, NetError, Network, Role, Transport};
use crate::workload::{Schedule, ScheduledOp};

/// How long a cluster may take to become ready before the variant fails.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How late the pacer may release an operation before the run records a lab error: far
/// above the scheduler noise of a loaded 2-core machine (a few ms, tens at worst), and
/// short next to the fault windows experiments use (seconds), so an operation released
/// later than this no longer follows the configured load.
pub const PACER_LATE_LIMIT: Duration = Duration::from_millis(250);

/// Failures that stop a variant (not outcomes of operations: those are recorded).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What to run.
pub struct VariantPlan {
    pub experiment: Arc<Experiment>,
    pub schedule: Arc<Schedule>,
    pub variant: Variant,
    /// `<run>/<variant>/`; must exist.
    pub dir: PathBuf,
    /// The run's concrete faults (the same for every variant).
    pub faults: Arc<Vec<PlannedFault>>,
    /// Which node `leader`-targeted faults hit, shared by the run's variants.
    pub leaders: LeaderMemory,
    /// Cancelled on Ctrl-C.
    pub cancel: CancellationToken,
    pub progress: ProgressBar,
}

/// Counts of what a variant run recorded (the `outcome` of a variant in `run.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct VariantOutcome {
    /// Run-clock time at which the measured window (schedule offset 0) began.
    pub window_start_us: u64,
    pub operations: u64,
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    pub events: u64,
    pub interrupted: bool,
    // The lab fields below default to 0 so that run.json files recorded before they existed
    // stay readable.
    /// Failures of the lab itself during the run (each is a `lab_error` event, up to
    /// [`lab::EVENTS_PER_SOURCE`] per source); any makes the run's results invalid.
    #[serde(default)]
    pub lab_errors: u64,
    /// `source: detail` of the lab errors recorded as events.
    #[serde(default)]
    pub lab_error_details: Vec<String>,
    /// Scheduled operations the lab failed to carry out (not in the history).
    #[serde(default)]
    pub lab_failed_ops: u64,
    /// The latest the pacer released an operation after its scheduled time, in µs.
    #[serde(default)]
    pub pacer_max_late_us: u64,
}

/// The network of an experiment: its topology's client delay, every DC pair's link and FIFO
/// rule, and the transport of its engine.
pub fn net_config(exp: &Experiment, seed: u64) -> NetConfig {
    let topology = &exp.topology;
    NetConfig {
        client_delay: topology.client_delay.clone(),
        links: topology
            .links
            .iter()
            .map(|row| {
                row.iter()
                    .map(|l| LinkShape {
                        delay: l.delay.clone(),
                        loss: l.loss,
                    })
                    .collect()
            })
            .collect(),
        fifo: topology.fifo,
        seed,
        transport: match exp.engine {
            Engine::Real => Transport::Tcp,
            Engine::Sim => Transport::Memory,
        },
    }
}

/// Runs a variant of whichever kind it is.
pub async fn run_variant(plan: VariantPlan) -> Result<VariantOutcome, RunError> {
    match plan.variant.kind() {
        VariantKind::Gossip => run_cluster::<GossipCluster>(plan).await,
        VariantKind::Raft => run_cluster::<RaftCluster>(plan).await,
    }
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    fail: AtomicU64,
    unknown: AtomicU64,
    /// Operations the lab failed to carry out (left out of the history).
    lab: AtomicU64,
}

/// Runs a variant on cluster type `C`.
pub async fn run_cluster<C: Cluster>(plan: VariantPlan) -> Result<VariantOutcome, RunError> {
    let exp = plan.experiment.clone();
    let client_keys: std::collections::BTreeSet<(String, usize)> = plan
        .schedule
        .ops
        .iter()
        .map(|op| (plan.schedule.client(op), op.dc))
        .collect();
    if exp.engine == Engine::Real {
        // The sim engine opens no sockets.
        lab::ensure_files(exp.topology.nodes.len() as u64, client_keys.len() as u64)?;
    }
    let history = JsonlWriter::<OpRecord>::create(&plan.dir.join("history.jsonl"))?;
    let events = JsonlWriter::<Event>::create(&plan.dir.join("events.jsonl"))?;
    let clock = RunClock::start();
    let lab = LabRecorder::new(events.sink(), clock);
    let net: Network<Wire<C::Peer>> =
        Network::new(net_config(&exp, crate::seed::derive(exp.seed, "net")))?;
    let node_ids: Vec<_> = exp
        .topology
        .nodes
        .iter()
        .map(|n| net.register(n.name.clone(), n.dc, Role::Node))
        .collect();
    {
        let record = lab.weak_hook();
        net.on_lab_fault(move |f| record(f.source, f.detail));
    }

    // One client endpoint per (client, DC): a travelling phone is a new endpoint abroad.
    let mut client_index: BTreeMap<(String, usize), usize> = BTreeMap::new();
    let mut clients: Vec<Client<C::Peer>> = Vec::new();
    for op in &plan.schedule.ops {
        let key = (plan.schedule.client(op), op.dc);
        if let std::collections::btree_map::Entry::Vacant(slot) = client_index.entry(key) {
            let name = format!("{}@{}", slot.key().0, exp.topology.dcs[op.dc].name);
            clients.push(Client::connect(&net, &name, op.dc).await?);
            slot.insert(clients.len() - 1);
        }
    }

    let data_dir = plan.dir.join("data");
    std::fs::create_dir_all(&data_dir).map_err(|source| RunError::Io {
        path: data_dir.clone(),
        source,
    })?;
    let ctx = ClusterContext {
        experiment: exp.clone(),
        variant: plan.variant.clone(),
        net: net.clone(),
        node_ids: node_ids.clone(),
        clock,
        events: events.sink(),
        data_dir,
        seed: crate::seed::derive(exp.seed, &format!("cluster-{}", plan.variant.name)),
    };
    let cluster = match C::start(ctx).await {
        Ok(c) => Arc::new(c),
        Err(e) => {
            net.shutdown().await;
            return Err(e.into());
        }
    };
    let result = drive(
        &plan,
        &cluster,
        &net,
        &node_ids,
        clients,
        &client_index,
        clock,
        &history,
        events.sink(),
        &lab,
    )
    .await;
    let stats = net.link_stats();
    let names: Vec<String> = (0..net.endpoint_count())
        .map(|i| {
            net.name(crate::net::EndpointId(i as u32))
                .unwrap_or_default()
        })
        .collect();
    match Arc::try_unwrap(cluster) {
        Ok(c) => c.shutdown().await,
        Err(_) => {
            // Every op task has finished, so no other reference can remain; if one did, the
            // network shutdown below still stops all traffic.
        }
    }
    net.shutdown().await;
    let net_stats_written = write_net_stats(&plan.dir, &stats, &names, node_ids.len());
    let ops_written = history.finish()?;
    if let Ok(o) = &result {
        let recorded = o.ok + o.fail + o.unknown;
        if ops_written < recorded {
            lab.record(
                "runner.history",
                format!(
                    "{} of {recorded} operation records never reached history.jsonl",
                    recorded - ops_written
                ),
            );
        }
    }
    let lab_tally = lab.close();
    let events_written = events.finish()?;
    net_stats_written?;
    let mut outcome = result?;
    outcome.events = events_written;
    outcome.lab_errors = lab_tally.total;
    outcome.lab_error_details = lab_tally.recorded;
    Ok(outcome)
}

#[allow(clippy::too_many_arguments)]
async fn drive<C: Cluster>(
    plan: &VariantPlan,
    cluster: &Arc<C>,
    net: &Network<Wire<C::Peer>>,
    node_ids: &[crate::net::EndpointId],
    clients: Vec<Client<C::Peer>>,
    client_index: &BTreeMap<(String, usize), usize>,
    clock: RunClock,
    history: &JsonlWriter<OpRecord>,
    events: RecordSink<Event>,
    lab: &LabRecorder,
) -> Result<VariantOutcome, RunError> {
    let exp = &plan.experiment;
    let cancel = &plan.cancel;
    tokio::select! {
        biased;
        r = cluster.ready(READY_TIMEOUT) => r?,
        _ = cancel.cancelled() => return Ok(VariantOutcome { interrupted: true, ..Default::default() }),
    }
    if sleep_or_cancel(exp.warmup, cancel).await {
        return Ok(VariantOutcome {
            interrupted: true,
            ..Default::default()
        });
    }
    let window_start_us = clock.now_us();
    let t0 = clock.instant_at(Duration::from_micros(window_start_us));
    // The nemesis runs beside the workload on the same clock until the run ends.
    let stop_faults = cancel.child_token();
    let nemesis = {
        let nemesis = Nemesis {
            experiment: exp.clone(),
            cluster: cluster.clone(),
            net: net.clone(),
            node_ids: node_ids.to_vec(),
            events,
            clock,
            leaders: plan.leaders.clone(),
        };
        let (faults, stop) = (plan.faults.clone(), stop_faults.clone());
        tokio::spawn(async move { nemesis.run(&faults, t0, &stop).await })
    };
    let clients = Arc::new(clients);
    let user_locks: Arc<Vec<tokio::sync::Mutex<()>>> = Arc::new(
        (0..plan.schedule.users.len())
            .map(|_| tokio::sync::Mutex::new(()))
            .collect(),
    );
    let tally = Arc::new(Tally::default());
    let (routing, sessions) = match &plan.variant.params {
        VariantParams::Gossip(g) => (g.routing, g.session.map(|_| Arc::new(Sessions::default()))),
        VariantParams::Raft(_) => (Routing::Nearest, None),
    };
    let picture = Bytes::from(vec![0xA5u8; exp.workload.picture_bytes]);
    let mut tasks = JoinSet::new();
    let mut interrupted = false;
    let mut max_late = Duration::ZERO;
    let due_times = plan
        .schedule
        .ops
        .iter()
        .map(|op| t0 + Duration::from_micros(op.at_us))
        .collect();
    let mut pacer = match exp.engine {
        Engine::Real => Pacer::start(due_times).map_err(|e| {
            RunError::Cluster(ClusterError::Other(format!("starting the pacer: {e}")))
        })?,
        Engine::Sim => Pacer::start_task(due_times),
    };
    loop {
        let i = tokio::select! {
            biased;
            i = pacer.due.recv() => match i {
                Some(i) => i,
                None => break,
            },
            _ = cancel.cancelled() => { interrupted = true; break; }
        };
        let Some(op) = plan.schedule.ops.get(i) else {
            break;
        };
        let late =
            crate::sim::now().saturating_duration_since(t0 + Duration::from_micros(op.at_us));
        max_late = max_late.max(late);
        if late > PACER_LATE_LIMIT {
            lab.record(
                "runner.pacer",
                format!(
                    "op {} released {} ms after its scheduled time (limit {} ms): the load \
                     generator fell behind the schedule",
                    op.id,
                    late.as_millis(),
                    PACER_LATE_LIMIT.as_millis()
                ),
            );
        }
        // Reap finished operations so the set stays small.
        while tasks.try_join_next().is_some() {}
        let job = OpJob {
            op: op.clone(),
            scheduled_us: window_start_us + op.at_us,
            client: client_index
                .get(&(plan.schedule.client(op), op.dc))
                .copied()
                .unwrap_or(0),
            node: match routing {
                Routing::Nearest => nearest_node(exp, op.dc, op.user),
                Routing::HomeDc => nearest_node(exp, plan.schedule.users[op.user].home, op.user),
            },
            key: plan.schedule.key(op),
            user: plan.schedule.users[op.user].name.clone(),
            client_name: plan.schedule.client(op),
            dc_name: exp.topology.dcs[op.dc].name.clone(),
        };
        let env = OpEnv {
            clients: clients.clone(),
            user_locks: user_locks.clone(),
            node_ids: node_ids.to_vec(),
            node_names: exp.topology.nodes.iter().map(|n| n.name.clone()).collect(),
            timeout: exp.workload.timeout,
            picture: picture.clone(),
            clock,
            sink: history.sink(),
            tally: tally.clone(),
            cancel: cancel.clone(),
            progress: plan.progress.clone(),
            sessions: sessions.clone(),
            lab: lab.clone(),
        };
        tasks.spawn(run_op::<C::Peer>(job, env));
    }
    while tasks.join_next().await.is_some() {}
    if !interrupted && sleep_or_cancel(exp.cooldown, cancel).await {
        interrupted = true;
    }
    interrupted |= cancel.is_cancelled();
    stop_faults.cancel();
    match nemesis.await {
        Ok(r) => r?,
        Err(e) => {
            return Err(RunError::Cluster(ClusterError::Other(format!(
                "fault injector: {e}"
            ))))
        }
    }
    Ok(VariantOutcome {
        window_start_us,
        operations: tally.ok.load(Ordering::Relaxed)
            + tally.fail.load(Ordering::Relaxed)
            + tally.unknown.load(Ordering::Relaxed),
        ok: tally.ok.load(Ordering::Relaxed),
        fail: tally.fail.load(Ordering::Relaxed),
        unknown: tally.unknown.load(Ordering::Relaxed),
        events: 0,
        interrupted,
        lab_errors: 0,
        lab_error_details: Vec::new(),
        lab_failed_ops: tally.lab.load(Ordering::Relaxed),
        pacer_max_late_us: max_late.as_micros() as u64,
    })
}

/// Sleeps for `d`; returns true if cancelled first.
async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        biased;
        _ = tokio::time::sleep(d) => false,
        _ = cancel.cancelled() => true,
    }
}

/// The node a client talks to: one in its own DC, spread over the DC's nodes by user.
/// The node of DC `dc` that serves `user` (users are spread over the DC's nodes).
fn nearest_node(exp: &Experiment, dc: usize, user: usize) -> usize {
    let local: Vec<usize> = exp.topology.nodes_in(dc).collect();
    match local.len() {
        0 => user % exp.topology.nodes.len(),
        n => local[user % n],
    }
}

/// Session tokens of a variant with `session = "tokens"`: per session, the newest version
/// seen. The owner's phone and laptop share one session (their account); each friend has
/// their own.
#[derive(Default)]
struct Sessions(parking_lot::Mutex<BTreeMap<String, SystemVersion>>);

impl Sessions {
    fn scope(job: &OpJob) -> String {
        match job.op.device {
            Device::Friend => job.client_name.clone(),
            Device::Phone | Device::Laptop => job.user.clone(),
        }
    }

    fn token(&self, scope: &str) -> Option<SystemVersion> {
        self.0.lock().get(scope).cloned()
    }

    fn saw(&self, scope: &str, version: &SystemVersion) {
        let mut m = self.0.lock();
        let newer = m.get(scope).is_none_or(|v| v < version);
        if newer {
            m.insert(scope.to_string(), version.clone());
        }
    }
}

struct OpJob {
    op: ScheduledOp,
    scheduled_us: u64,
    client: usize,
    node: usize,
    key: String,
    user: String,
    client_name: String,
    dc_name: String,
}

struct OpEnv<P> {
    clients: Arc<Vec<Client<P>>>,
    user_locks: Arc<Vec<tokio::sync::Mutex<()>>>,
    node_ids: Vec<crate::net::EndpointId>,
    node_names: Vec<String>,
    timeout: Duration,
    picture: Bytes,
    clock: RunClock,
    sink: crate::history::RecordSink<OpRecord>,
    tally: Arc<Tally>,
    cancel: CancellationToken,
    progress: ProgressBar,
    sessions: Option<Arc<Sessions>>,
    lab: LabRecorder,
}

async fn run_op<P>(job: OpJob, env: OpEnv<P>)
where
    P: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let op = &job.op;
    // A user's writes go one after another; reads never wait.
    let _turn = match op.kind {
        OpKind::Write => tokio::select! {
            biased;
            g = env.user_locks[op.user].lock() => Some(g),
            _ = env.cancel.cancelled() => return,
        },
        OpKind::Read => None,
    };
    let client_op = match op.kind {
        OpKind::Write => ClientOp::Write {
            key: job.key.clone(),
            value: op.value.clone().unwrap_or_default(),
            picture: env
                .picture
                .slice(..op.bytes.min(env.picture.len() as u64) as usize),
        },
        OpKind::Read => ClientOp::Read {
            key: job.key.clone(),
            after: env
                .sessions
                .as_ref()
                .and_then(|s| s.token(&Sessions::scope(&job))),
        },
    };
    let invoke_us = env.clock.now_us();
    let result = tokio::select! {
        biased;
        r = env.clients[job.client].call(env.node_ids[job.node], client_op, env.timeout) => Some(r),
        _ = env.cancel.cancelled() => None,
    };
    let complete_us = env.clock.now_us();
    if let Some(CallResult::LabFailure(e)) = &result {
        // Not the system's outcome: the operation is left out of the history (it was never
        // carried out as scheduled) and the run is marked by a lab error instead.
        env.tally.lab.fetch_add(1, Ordering::Relaxed);
        env.lab.record(
            "runner.client",
            format!(
                "op {} ({:?} of {} by {} to {}) not carried out: {e}",
                op.id,
                op.kind,
                job.key,
                job.client_name,
                env.node_names.get(job.node).map_or("?", |n| n.as_str())
            ),
        );
        env.progress.inc(1);
        return;
    }
    let (outcome, value, bytes, version, error) = match (op.kind, result) {
        (OpKind::Write, Some(CallResult::Ok(ClientOk::Written { version }))) => {
            (Outcome::Ok, op.value.clone(), op.bytes, Some(version), None)
        }
        (
            OpKind::Read,
            Some(CallResult::Ok(ClientOk::Read {
                value,
                picture,
                version,
            })),
        ) => (Outcome::Ok, value, picture.len() as u64, version, None),
        (_, Some(CallResult::Ok(other))) => {
            let e = format!("answer of the wrong kind: {other:?}");
            (Outcome::Fail, None, 0, None, Some(e))
        }
        (_, Some(CallResult::Rejected(e))) => (Outcome::Fail, None, 0, None, Some(e)),
        (kind, Some(CallResult::Indeterminate(e))) => (indeterminate(kind), None, 0, None, Some(e)),
        // Handled above.
        (kind, Some(CallResult::LabFailure(e))) => (indeterminate(kind), None, 0, None, Some(e)),
        (kind, Some(CallResult::Timeout)) => {
            let e = format!(
                "no answer within {}",
                humantime::format_duration(env.timeout)
            );
            (indeterminate(kind), None, 0, None, Some(e))
        }
        (kind, None) => (
            indeterminate(kind),
            None,
            0,
            None,
            Some("interrupted".to_string()),
        ),
    };
    if let (Some(s), Some(v)) = (&env.sessions, &version) {
        s.saw(&Sessions::scope(&job), v);
    }
    // A write's value is recorded even when it failed: it names what was attempted.
    let value = if op.kind == OpKind::Write {
        op.value.clone()
    } else {
        value
    };
    let counter = match outcome {
        Outcome::Ok => &env.tally.ok,
        Outcome::Fail => &env.tally.fail,
        Outcome::Unknown => &env.tally.unknown,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    env.sink.record(OpRecord {
        id: op.id,
        client: job.client_name,
        user: job.user,
        device: op.device,
        dc: job.dc_name,
        node: env.node_names.get(job.node).cloned(),
        kind: op.kind,
        key: job.key,
        value,
        bytes,
        scheduled_us: job.scheduled_us,
        invoke_us,
        complete_us,
        outcome,
        version,
        error,
    });
    env.progress.inc(1);
}

/// A write without a definite answer may still take effect; a read without one had none.
fn indeterminate(kind: OpKind) -> Outcome {
    match kind {
        OpKind::Write => Outcome::Unknown,
        OpKind::Read => Outcome::Fail,
    }
}

#[derive(Serialize)]
struct NetReport<'a> {
    links: Vec<NamedLink<'a>>,
}

/// One link of `net.json`: endpoint names instead of numbers, and the link's counters.
#[derive(Serialize)]
struct NamedLink<'a> {
    from: &'a str,
    to: &'a str,
    /// `node-node`, `client-node` or `node-client`.
    kind: &'static str,
    sent: u64,
    sent_bytes: u64,
    delivered: u64,
    delivered_bytes: u64,
    dropped_partition: u64,
    dropped_loss: u64,
    dropped_unreachable: u64,
    /// Lost to a failure of the lab itself (a `lab_error`), not to the simulated network.
    dropped_lab: u64,
}

fn write_net_stats(
    dir: &std::path::Path,
    stats: &[LinkStats],
    names: &[String],
    nodes: usize,
) -> Result<(), RunError> {
    let name = |id: crate::net::EndpointId| names.get(id.0 as usize).map_or("?", |s| s.as_str());
    let is_node = |id: crate::net::EndpointId| (id.0 as usize) < nodes;
    let links = stats
        .iter()
        .map(|l| NamedLink {
            from: name(l.from),
            to: name(l.to),
            kind: match (is_node(l.from), is_node(l.to)) {
                (true, true) => "node-node",
                (false, _) => "client-node",
                (true, false) => "node-client",
            },
            sent: l.sent,
            sent_bytes: l.sent_bytes,
            delivered: l.delivered,
            delivered_bytes: l.delivered_bytes,
            dropped_partition: l.dropped_partition,
            dropped_loss: l.dropped_loss,
            dropped_unreachable: l.dropped_unreachable,
            dropped_lab: l.dropped_lab,
        })
        .collect();
    let path = dir.join("net.json");
    let json = serde_json::to_vec_pretty(&NetReport { links }).map_err(|e| RunError::Io {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&path, json).map_err(|source| RunError::Io { path, source })
}
