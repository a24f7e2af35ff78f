//! One variant, end to end: from its [`VariantHistory`] to its [`VariantSummary`] and
//! per-second [`TimeSeries`].
//!
//! The order of work: index the keys (`order`), rebuild replica states (`replicas`), judge
//! every read and write (`staleness`), then the breakdowns, availability, sessions, lost
//! writes, cost and the verdict. The linearizability check, the slowest step on large
//! histories, runs on a second thread beside the rest.
//!
//! Deliberately left out: files (see `load` and `summary`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::availability::{self, Availability};
use super::breakdown::{self, Breakdown};
use super::cost::{self, Cost, NetReport};
use super::error::AnalysisError;
use super::fault_devices::{self, FaultDevices};
use super::history::VariantHistory;
use super::home::{self, HomeLatency};
use super::latency::DurationStats;
use super::latency_groups::{self, GroupLatency, PercentileCurves};
use super::linearizable::{self, Linearizability};
use super::lost_writes::{self, LostWrites, WriteOrder};
use super::order::Order;
use super::pbs_compare::{self, PbsComparison};
use super::points::{self, Points};
use super::replicas::{Convergence, Replicas};
use super::session::{self, SessionSummary};
use super::staleness::{Staleness, StalenessSummary};
use super::timeseries::{self, TimeSeries};
use super::verdict::{self, VariantVerdict};
use super::visibility_facts::{self, VisibilityFacts};
use crate::experiment::{Conflict, Experiment, VariantKind, VariantParams};
use crate::history::{OpKind, Outcome};
use crate::run_dir::manifest::VariantStatus;

/// What the analysis needs to know about a variant besides its history.
#[derive(Debug, Clone)]
pub struct VariantContext {
    pub kind: VariantKind,
    /// The variant's parameters from the run's `experiment.toml` (`None`: defaults of the
    /// kind).
    pub params: Option<VariantParams>,
    /// Every node of the experiment's topology, in topology order.
    pub nodes: Vec<String>,
    /// Run-clock time at which the measured window began.
    pub window_start_us: u64,
    /// Length of the measured window (the experiment's duration).
    pub window_len_us: u64,
    /// Time limit of the linearizability check.
    pub lin_time_limit: Duration,
    /// The variant's `net.json`, if any.
    pub net: Option<NetReport>,
    /// `ok`, `interrupted` or `running` (killed).
    pub status: VariantStatus,
    /// The run's experiment, for what needs the topology or the workload's users: the
    /// home-DC latency split and the PBS prediction (`None`: both are left out).
    pub experiment: Option<Arc<Experiment>>,
}

impl VariantContext {
    /// A context for a variant of `kind` with default parameters (tests, tools).
    pub fn new(kind: VariantKind, nodes: &[&str]) -> VariantContext {
        VariantContext {
            kind,
            params: None,
            nodes: nodes.iter().map(|n| n.to_string()).collect(),
            window_start_us: 0,
            window_len_us: 0,
            lin_time_limit: Duration::from_secs(10),
            net: None,
            status: VariantStatus::Ok,
            experiment: None,
        }
    }

    fn write_order(&self) -> WriteOrder {
        match (&self.params, self.kind) {
            (_, VariantKind::Raft) => WriteOrder::RealTime,
            (Some(VariantParams::Gossip(g)), _) if g.conflict == Conflict::LwwWallclock => {
                WriteOrder::WallClock
            }
            _ => WriteOrder::Hlc,
        }
    }

    /// Whether a crash wipes a replica's store.
    fn volatile(&self) -> bool {
        match (&self.params, self.kind) {
            (Some(VariantParams::Gossip(g)), _) => !g.durable,
            (None, VariantKind::Gossip) => true,
            _ => false,
        }
    }
}

/// The `summary.json` entry of an analysed variant.
#[derive(Debug, Clone, Serialize)]
pub struct VariantSummary {
    pub kind: String,
    /// `ok`, `interrupted` or `running` (killed), from `run.json`.
    pub status: VariantStatus,
    pub verdict: VariantVerdict,
    pub window_start_us: u64,
    pub reads: ReadsSummary,
    pub writes: WritesSummary,
    pub availability: Availability,
    pub linearizable: Option<bool>,
    pub linearizability: Linearizability,
    pub session: SessionSummary,
    pub lost_writes: u64,
    pub lost: LostWrites,
    pub convergence: Convergence,
    pub staleness: StalenessSummary,
    pub messages_per_op: Option<f64>,
    pub cost: Option<Cost>,
    pub breakdown: Breakdown,
    /// Events per `type`.
    pub events: BTreeMap<String, u64>,
    /// Partial last lines skipped while reading the files.
    pub truncated_lines: u64,
    /// `ok` latency at the profile owner's home DC and elsewhere (`None`: the experiment
    /// was not given).
    pub home_latency_us: Option<HomeLatency>,
    /// Per reader class: reads after an acknowledged write, how many saw it, from when 99%.
    pub reader_visibility: VisibilityFacts,
    /// Per fault (as in `availability.faults`): operations per device, the worst DC.
    pub fault_devices: Vec<FaultDevices>,
    /// Partial-quorum gossip variants: the PBS prediction beside the measured visibility.
    pub pbs: Option<PbsComparison>,
    /// Exact p50 / p99 of `ok` operations by client DC and by device.
    pub latency_by_group_us: GroupLatency,
    /// Raft variants: the latency bound, leadership over time and failovers (see
    /// `raft_model`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raft_model: Option<super::raft_model::RaftModel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReadsSummary {
    pub ops: u64,
    pub ok: u64,
    pub latency_us: Option<DurationStats>,
    pub reads_checked: u64,
    pub stale_reads: u64,
    pub stale_fraction: Option<f64>,
    pub unexplained_reads: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WritesSummary {
    pub ops: u64,
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    pub latency_us: Option<DurationStats>,
}

/// A variant's results.
#[derive(Debug, Clone)]
pub struct VariantAnalysis {
    pub summary: VariantSummary,
    pub timeseries: TimeSeries,
    /// Per-operation samples, for charts.
    pub points: Points,
    /// Percentile curves of `ok` reads and writes, for the percentile chart.
    pub percentiles: PercentileCurves,
}

pub fn analyse(h: &VariantHistory, ctx: &VariantContext) -> Result<VariantAnalysis, AnalysisError> {
    let order = Order::build(h);
    std::thread::scope(|scope| {
        let lin = scope.spawn(|| linearizable::analyse(h, &order, ctx.lin_time_limit));
        let rest = analyse_rest(h, ctx, &order);
        let lin = match lin.join() {
            Ok(l) => l,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        rest.map(|(parts, timeseries, points)| VariantAnalysis {
            summary: parts.finish(ctx, lin),
            timeseries,
            percentiles: PercentileCurves::of(&points),
            points,
        })
    })
}

struct Parts {
    breakdown: Breakdown,
    staleness: StalenessSummary,
    availability: Availability,
    session: SessionSummary,
    lost: LostWrites,
    convergence: Convergence,
    cost: Option<Cost>,
    events: BTreeMap<String, u64>,
    truncated_lines: u64,
    home_latency: Option<HomeLatency>,
    fault_devices: Vec<FaultDevices>,
    pbs: Option<PbsComparison>,
    latency_by_group: GroupLatency,
    reads: (u64, u64),
    writes: (u64, u64, u64, u64),
}

fn analyse_rest(
    h: &VariantHistory,
    ctx: &VariantContext,
    order: &Order,
) -> Result<(Parts, TimeSeries, Points), AnalysisError> {
    let replicas = Replicas::build(h, order, &ctx.nodes, ctx.volatile());
    let staleness = Staleness::compute(h, order, &replicas);
    let breakdown = breakdown::analyse(h, order, &staleness)?;
    let availability = availability::analyse(
        h,
        &staleness,
        &breakdown.all,
        &breakdown.by_dc,
        ctx.window_start_us,
    );
    let timeseries = timeseries::analyse(h, &staleness, ctx.window_start_us, ctx.window_len_us);
    let session = session::analyse(h, order);
    let lost = lost_writes::analyse(h, order, &replicas, ctx.write_order());
    let convergence = replicas.convergence(h, order);
    let cost = ctx
        .net
        .as_ref()
        .map(|net| cost::analyse(net, h.ops.len() as u64, &ctx.nodes));
    let mut reads = (0, 0);
    let mut writes = (0, 0, 0, 0);
    for op in &h.ops {
        match op.kind {
            OpKind::Read => {
                reads.0 += 1;
                reads.1 += u64::from(op.is_ok());
            }
            OpKind::Write => {
                writes.0 += 1;
                match op.outcome {
                    Outcome::Ok => writes.1 += 1,
                    Outcome::Fail => writes.2 += 1,
                    Outcome::Unknown => writes.3 += 1,
                }
            }
        }
    }
    let staleness_summary = staleness.summarise(h, order, &replicas)?;
    let points = points::collect(h, order, &staleness, ctx.window_start_us);
    let exp = ctx.experiment.as_deref();
    let home_latency = exp.map(|e| home::analyse(h, &home::homes(e)));
    let fault_devices = fault_devices::analyse(&availability.faults, &points);
    let latency_by_group = latency_groups::group_latency(&points);
    let pbs = exp
        .zip(ctx.params.as_ref())
        .and_then(|(e, params)| pbs_compare::compare(h, &points, &e.topology, params));
    Ok((
        Parts {
            breakdown,
            staleness: staleness_summary,
            availability,
            session,
            lost,
            convergence,
            cost,
            events: h.event_counts.clone(),
            truncated_lines: h.truncated_lines,
            home_latency,
            fault_devices,
            pbs,
            latency_by_group,
            reads,
            writes,
        },
        timeseries,
        points,
    ))
}

impl Parts {
    fn finish(self, ctx: &VariantContext, lin: Linearizability) -> VariantSummary {
        let verdict = verdict::judge(
            ctx.kind,
            ctx.params.as_ref(),
            &lin,
            &self.lost,
            &self.convergence,
        );
        let s = &self.staleness;
        let reader_visibility = visibility_facts::analyse(&s.visibility);
        VariantSummary {
            kind: ctx.kind.as_str().to_string(),
            status: ctx.status,
            verdict,
            window_start_us: ctx.window_start_us,
            reads: ReadsSummary {
                ops: self.reads.0,
                ok: self.reads.1,
                latency_us: self.breakdown.all.read_latency_us,
                reads_checked: s.reads_checked,
                stale_reads: s.stale_reads,
                stale_fraction: s.stale_fraction,
                unexplained_reads: s.unexplained_reads,
            },
            writes: WritesSummary {
                ops: self.writes.0,
                ok: self.writes.1,
                fail: self.writes.2,
                unknown: self.writes.3,
                latency_us: self.breakdown.all.write_latency_us,
            },
            availability: self.availability,
            linearizable: lin.verdict,
            linearizability: lin,
            session: self.session,
            lost_writes: self.lost.lost_writes,
            lost: self.lost,
            convergence: self.convergence,
            staleness: self.staleness,
            messages_per_op: self.cost.as_ref().and_then(|c| c.messages_per_op),
            cost: self.cost,
            breakdown: self.breakdown,
            events: self.events,
            truncated_lines: self.truncated_lines,
            home_latency_us: self.home_latency,
            reader_visibility,
            fault_devices: self.fault_devices,
            pbs: self.pbs,
            latency_by_group_us: self.latency_by_group,
            raft_model: None,
        }
    }
}
