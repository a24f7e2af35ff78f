//! The Raft model beside the measurement: what a Raft variant's latencies and failovers
//! *should* be on this topology, next to what the run measured.
//!
//! # Latency lower bound
//!
//! A client in DC `d` talks to a node `n` of its DC; `L` is the leader when the operation
//! starts (from the run's `leader_change` events). With mean one-way delays from the
//! topology (`c` client <-> node, `δ(a, b)` node `a` -> node `b`):
//!
//! ```text
//! write = 2c + δ(n, L) + δ(L, n) + q(L)
//! q(L)  = the (majority - 1)-th smallest round trip δ(L, j) + δ(j, L) over the other nodes j
//! ```
//!
//! (`δ(n, L) + δ(L, n) = 0` when `n` is the leader): the client's request, the forward to the
//! leader and back, and one replication round trip to enough followers for a majority. A
//! `linearizable` (ReadIndex) read has the same bound (the leader confirms its leadership
//! with a quorum round trip); a `lease` read skips `q(L)`, a `follower` read is `2c`.
//! Per client DC the bound is the median of the per-operation bounds of its successful
//! operations (so it follows the leader's position over time and the node each client
//! used), shown beside the measured p50 and p99 and their ratio to the bound.
//!
//! The **best placement** is the node whose bound, averaged over the same operations, is
//! the lowest: where `leader = "<node>"` should put the leader for this workload.
//!
//! # Leadership over time
//!
//! A node that records itself as leader for a new term starts a leadership span; the span
//! ends when the next one starts or when its node crashes or is paused. Why it changed:
//! `start` (the first), `transfer` (caplab asked for it, a `leader_transfer` event), `fault`
//! (a fault window was open when the previous leader was lost) or `election` (anything else,
//! e.g. a leader that lost its lease under load).
//!
//! # Failover
//!
//! For every fault during which the leader was lost and another took over, the time from
//! the fault's start to the first successful write invoked after it, next to what openraft
//! 0.10's configuration implies:
//!
//! ```text
//! expected = lease + election timeout + tick + 2 R + R + W - heartbeat age
//! ```
//!
//! - lease = `election_timeout_max`: a follower refuses to vote for anyone else while the
//!   leader it last heard from may still hold its lease;
//! - election timeout: uniform in `[election_timeout_min, election_timeout_max]` after that;
//! - tick: elections are checked every `heartbeat_interval x 13 / 64`;
//! - `2 R`: the Pre-Vote and the vote round trips, `R = q(new leader)`;
//! - `R`: the new leader's first quorum acknowledgement (openraft 0.10 takes writes only
//!   once a quorum acknowledged it);
//! - `W`: the first write's own bound (its client's write bound with the new leader, the
//!   smallest over the DCs);
//! - heartbeat age: the followers last heard from the old leader up to one heartbeat
//!   interval before the fault.
//!
//! `expected` uses the mean of each random term; `min` and `max` their extremes.
//!
//! Deliberately left out: CPU, disk (`fsync`) and queueing time (the bound is the network's
//! share only), delay variance (means only), message loss, and batching effects.

use std::collections::BTreeMap;

use serde::Serialize;

use super::history::{FaultWindow, NodeChange, Op, VariantHistory, NONE};
use crate::experiment::{Experiment, NodeIdx, RaftParams, ReadPolicy, Topology};
use crate::history::OpKind;

/// Why leadership moved to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeaderCause {
    Start,
    Transfer,
    Fault,
    Election,
}

/// One node's leadership, from when it took over to when it was lost.
#[derive(Debug, Clone, Serialize)]
pub struct LeaderSpan {
    pub leader: String,
    pub dc: String,
    pub term: u64,
    /// Run-clock times.
    pub start_us: u64,
    pub end_us: Option<u64>,
    pub cause: LeaderCause,
}

/// Bound and measurement for the clients of one DC.
#[derive(Debug, Clone, Serialize)]
pub struct DcBound {
    pub dc: String,
    pub writes: u64,
    pub write_bound_us: Option<u64>,
    pub write_p50_us: Option<u64>,
    pub write_p99_us: Option<u64>,
    /// Measured p50 / bound.
    pub write_ratio: Option<f64>,
    pub reads: u64,
    pub read_bound_us: Option<u64>,
    pub read_p50_us: Option<u64>,
    pub read_p99_us: Option<u64>,
    pub read_ratio: Option<f64>,
    /// Bounds with the leader at [`RaftModel::best_leader`].
    pub best_write_bound_us: Option<u64>,
    pub best_read_bound_us: Option<u64>,
}

/// A fault that cost the cluster its leader, and how long writes took to resume.
#[derive(Debug, Clone, Serialize)]
pub struct Failover {
    pub fault: usize,
    pub kind: String,
    pub detail: String,
    pub start_us: u64,
    pub old_leader: String,
    pub new_leader: String,
    /// From the fault's start to the first successful write invoked after it.
    pub measured_us: Option<u64>,
    pub expected_us: u64,
    pub expected_min_us: u64,
    pub expected_max_us: u64,
    /// The formula with this run's numbers.
    pub formula: String,
}

/// The model of one Raft variant (see the module docs).
#[derive(Debug, Clone, Serialize)]
pub struct RaftModel {
    pub leaders: Vec<LeaderSpan>,
    pub dcs: Vec<DcBound>,
    /// The node with the lowest mean write bound for this workload.
    pub best_leader: Option<String>,
    pub failovers: Vec<Failover>,
}

/// Mean one-way delays of a topology, in µs.
struct Delays<'a> {
    t: &'a Topology,
    client_us: f64,
}

impl Delays<'_> {
    fn one_way(&self, a: NodeIdx, b: NodeIdx) -> f64 {
        if a == b {
            return 0.0;
        }
        let (da, db) = (self.t.nodes[a].dc, self.t.nodes[b].dc);
        self.t.links[da][db].delay.mean_us().unwrap_or(0.0)
    }

    fn round_trip(&self, a: NodeIdx, b: NodeIdx) -> f64 {
        self.one_way(a, b) + self.one_way(b, a)
    }

    /// The leader's round trip to the (majority - 1)-th nearest other node.
    fn quorum_rtt(&self, leader: NodeIdx) -> f64 {
        let n = self.t.nodes.len();
        let need = n / 2; // majority - 1
        if need == 0 {
            return 0.0;
        }
        let mut rtts: Vec<f64> = (0..n)
            .filter(|j| *j != leader)
            .map(|j| self.round_trip(leader, j))
            .collect();
        rtts.sort_by(f64::total_cmp);
        rtts.get(need - 1).copied().unwrap_or(0.0)
    }

    /// The bound of an operation through `node` with `leader` leading.
    fn bound(&self, kind: OpKind, policy: ReadPolicy, node: NodeIdx, leader: NodeIdx) -> f64 {
        let client = 2.0 * self.client_us;
        let forward = self.round_trip(node, leader);
        match (kind, policy) {
            (OpKind::Read, ReadPolicy::Follower) => client,
            (OpKind::Read, ReadPolicy::Lease) => client + forward,
            _ => client + forward + self.quorum_rtt(leader),
        }
    }
}

/// The model of a Raft variant; `None` for other kinds.
pub fn model(
    h: &VariantHistory,
    exp: &Experiment,
    params: &RaftParams,
    window: (u64, u64),
) -> Option<RaftModel> {
    let t = &exp.topology;
    let d = Delays {
        t,
        client_us: t.client_delay.mean_us().unwrap_or(0.0),
    };
    let node_of = |name: &str| t.node_index(name);
    let leaders = leader_spans(h, t);
    let leader_at = |t_us: u64| {
        leaders
            .iter()
            .rev()
            .find(|s| s.start_us <= t_us)
            .and_then(|s| node_of(&s.leader))
    };
    // The measured operations: successful, invoked in the window, through a known node.
    let (from, to) = window;
    let ops: Vec<(&Op, NodeIdx, Option<NodeIdx>)> = h
        .ops
        .iter()
        .filter(|o| o.is_ok() && o.invoke_us >= from && o.invoke_us < to && o.node != NONE)
        .filter_map(|o| node_of(h.name(o.node)).map(|n| (o, n, leader_at(o.invoke_us))))
        .collect();
    let policy = params.read_policy;
    let best = (0..t.nodes.len()).min_by(|a, b| {
        let mean = |l: NodeIdx| {
            let writes = ops.iter().filter(|(o, ..)| o.kind == OpKind::Write);
            let (sum, n) = writes.fold((0.0, 0u64), |(s, n), (o, node, _)| {
                (s + d.bound(o.kind, policy, *node, l), n + 1)
            });
            sum / n.max(1) as f64
        };
        mean(*a).total_cmp(&mean(*b))
    });
    let mut dcs = Vec::new();
    for (di, dc) in t.dcs.iter().enumerate() {
        let of = |kind: OpKind| -> Vec<&(&Op, NodeIdx, Option<NodeIdx>)> {
            ops.iter()
                .filter(|(o, n, _)| o.kind == kind && t.nodes[*n].dc == di)
                .filter(|(o, ..)| h.name(o.dc) == dc.name)
                .collect()
        };
        let stats = |kind: OpKind| {
            let sel = of(kind);
            let mut lat: Vec<u64> = sel.iter().map(|(o, ..)| o.latency_us()).collect();
            lat.sort_unstable();
            let mut bounds: Vec<u64> = sel
                .iter()
                .filter_map(|(o, n, l)| l.map(|l| d.bound(o.kind, policy, *n, l) as u64))
                .collect();
            bounds.sort_unstable();
            let mut best_bounds: Vec<u64> = best
                .map(|b| {
                    sel.iter()
                        .map(|(o, n, _)| d.bound(o.kind, policy, *n, b) as u64)
                        .collect()
                })
                .unwrap_or_default();
            best_bounds.sort_unstable();
            let p50 = quantile(&lat, 0.5);
            let bound = quantile(&bounds, 0.5);
            let ratio = match (p50, bound) {
                (Some(m), Some(b)) if b > 0 => Some(m as f64 / b as f64),
                _ => None,
            };
            (
                sel.len() as u64,
                bound,
                p50,
                quantile(&lat, 0.99),
                ratio,
                quantile(&best_bounds, 0.5),
            )
        };
        let (writes, wb, wp50, wp99, wr, bwb) = stats(OpKind::Write);
        let (reads, rb, rp50, rp99, rr, brb) = stats(OpKind::Read);
        dcs.push(DcBound {
            dc: dc.name.clone(),
            writes,
            write_bound_us: wb,
            write_p50_us: wp50,
            write_p99_us: wp99,
            write_ratio: wr,
            reads,
            read_bound_us: rb,
            read_p50_us: rp50,
            read_p99_us: rp99,
            read_ratio: rr,
            best_write_bound_us: bwb,
            best_read_bound_us: brb,
        });
    }
    let failovers = h
        .faults
        .iter()
        .filter_map(|f| failover(h, f, &leaders, &d, params))
        .collect();
    Some(RaftModel {
        best_leader: best.map(|b| t.nodes[b].name.clone()),
        leaders,
        dcs,
        failovers,
    })
}

/// The `q`-quantile of sorted values (nearest rank).
fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    super::latency::exact_quantile(sorted, q)
}

/// Who led when (see the module docs).
fn leader_spans(h: &VariantHistory, t: &Topology) -> Vec<LeaderSpan> {
    let mut spans: Vec<LeaderSpan> = Vec::new();
    let mut transfer_to: Option<String> = None;
    for e in &h.leader_events {
        if e.transfer {
            transfer_to = e.leader.clone();
            continue;
        }
        // A node recording itself as the leader of a newer term took over.
        if e.leader.as_deref() != Some(e.node.as_str()) {
            continue;
        }
        if spans
            .last()
            .is_some_and(|s| s.term >= e.term && s.leader == e.node)
        {
            continue;
        }
        if let Some(prev) = spans.last_mut() {
            if prev.end_us.is_none_or(|end| end > e.t_us) {
                prev.end_us = Some(e.t_us);
            }
        }
        let prev_start = spans.last().map(|s| s.start_us);
        let cause = match prev_start {
            None => LeaderCause::Start,
            Some(_) if transfer_to.as_deref() == Some(e.node.as_str()) => LeaderCause::Transfer,
            Some(p)
                if h.faults
                    .iter()
                    .any(|f| f.start_us <= e.t_us && f.end_us.is_none_or(|end| end >= p)) =>
            {
                LeaderCause::Fault
            }
            Some(_) => LeaderCause::Election,
        };
        transfer_to = None;
        let dc = t
            .node_index(&e.node)
            .map(|i| t.dcs[t.nodes[i].dc].name.clone())
            .unwrap_or_default();
        spans.push(LeaderSpan {
            leader: e.node.clone(),
            dc,
            term: e.term,
            start_us: e.t_us,
            end_us: None,
            cause,
        });
    }
    // A leader's span also ends when its node crashes or is paused.
    for s in &mut spans {
        let lost = h.node_events.iter().find(|n| {
            n.t_us >= s.start_us
                && s.end_us.is_none_or(|end| n.t_us < end)
                && h.name(n.node) == s.leader
                && matches!(n.change, NodeChange::Crash | NodeChange::Pause)
        });
        if let Some(n) = lost {
            s.end_us = Some(n.t_us);
        }
    }
    spans
}

fn ms(us: f64) -> String {
    format!("{:.0} ms", us / 1000.0)
}

/// The failover a fault caused, if it cost the cluster its leader.
fn failover(
    h: &VariantHistory,
    f: &FaultWindow,
    spans: &[LeaderSpan],
    d: &Delays,
    p: &RaftParams,
) -> Option<Failover> {
    let old = spans
        .iter()
        .rev()
        // The leader when the fault began (a crash may be recorded a moment before its fault).
        .find(|s| s.start_us <= f.start_us && s.end_us.is_none_or(|e| e + 1_000 >= f.start_us))?;
    let lost_at = old.end_us?;
    if f.end_us.is_some_and(|end| lost_at > end) {
        return None;
    }
    let new = spans.iter().find(|s| s.start_us >= lost_at)?;
    let new_node = d.t.node_index(&new.leader)?;
    let first_write = h
        .ops
        .iter()
        .filter(|o| o.kind == OpKind::Write && o.is_acked_write() && o.invoke_us >= f.start_us)
        .map(|o| o.complete_us)
        .min();
    let us = |x: std::time::Duration| x.as_micros() as f64;
    let lease = us(p.election_timeout_max);
    let (et_min, et_max) = (us(p.election_timeout_min), us(p.election_timeout_max));
    let hb = us(p.heartbeat_interval);
    let tick = hb * 13.0 / 64.0;
    let r = d.quorum_rtt(new_node);
    let w = (0..d.t.nodes.len())
        .map(|n| d.bound(OpKind::Write, p.read_policy, n, new_node))
        .fold(f64::INFINITY, f64::min);
    let w = if w.is_finite() { w } else { 0.0 };
    let base = lease + 3.0 * r + w;
    let expected = base + (et_min + et_max) / 2.0 + tick / 2.0 - hb / 2.0;
    let min = (base + et_min - hb).max(0.0);
    let max = base + et_max + tick;
    let formula = format!(
        "lease {} + election timeout {}–{} + tick ≤ {} + Pre-Vote and vote 2 × {} + first \
         quorum ack {} + first write {} − heartbeat age ≤ {}",
        ms(lease),
        ms(et_min),
        ms(et_max),
        ms(tick),
        ms(r),
        ms(r),
        ms(w),
        ms(hb)
    );
    Some(Failover {
        fault: f.fault,
        kind: f.kind.clone(),
        detail: f.detail.clone(),
        start_us: f.start_us,
        old_leader: old.leader.clone(),
        new_leader: new.leader.clone(),
        measured_us: first_write.map(|t| t.saturating_sub(f.start_us)),
        expected_us: expected.max(0.0) as u64,
        expected_min_us: min as u64,
        expected_max_us: max as u64,
        formula,
    })
}

/// Per-DC rows keyed by DC name (for tools that look one DC up).
pub fn by_dc(m: &RaftModel) -> BTreeMap<&str, &DcBound> {
    m.dcs.iter().map(|d| (d.dc.as_str(), d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{parse, Overrides, VariantParams};
    use crate::history::{Device, Event, EventKind, OpRecord, Outcome};

    const TOML: &str = r#"
name = "m"
seed = 1
duration = "10s"
[topology]
client_delay = { dist = "constant", value = "1ms" }
local_delay = { dist = "constant", value = "1ms" }
[topology.dcs.asia]
nodes = 1
[topology.dcs.eu]
nodes = 1
[topology.dcs.us]
nodes = 1
[[topology.links]]
from = "eu"
to = "us"
delay = { dist = "constant", value = "40ms" }
[[topology.links]]
from = "us"
to = "asia"
delay = { dist = "constant", value = "80ms" }
[[topology.links]]
from = "eu"
to = "asia"
delay = { dist = "constant", value = "110ms" }
[[variants]]
name = "raft"
kind = "raft"
[workload]
users = 3
rate = 1.0
write_fraction = 0.5
"#;

    fn op(id: u64, dc: &str, node: &str, kind: OpKind, invoke: u64, took: u64) -> OpRecord {
        OpRecord {
            id,
            client: format!("u{id}/phone"),
            user: format!("u{id}"),
            device: Device::Phone,
            dc: dc.into(),
            node: Some(node.into()),
            kind,
            key: "k".into(),
            value: Some(format!("v{id}")),
            bytes: 1,
            scheduled_us: invoke,
            invoke_us: invoke,
            complete_us: invoke + took,
            outcome: Outcome::Ok,
            version: None,
            error: None,
        }
    }

    fn leader(t_us: u64, node: &str, term: u64) -> Event {
        Event {
            t_us,
            kind: EventKind::LeaderChange {
                node: node.into(),
                term,
                leader: Some(node.into()),
            },
        }
    }

    #[test]
    fn bounds_follow_the_leader_and_the_best_placement_is_found() {
        let exp = parse(TOML, "m.toml", &Overrides::default())
            .unwrap()
            .experiment;
        let VariantParams::Raft(params) = &exp.variants[0].params else {
            panic!("raft")
        };
        // asia-1 leads: an eu client pays 2 x 1 ms + 2 x 110 ms + asia's quorum round trip
        // (160 ms to us); an asia client only 2 ms + 160 ms.
        let ops = vec![
            op(1, "eu", "eu-1", OpKind::Write, 1_000_000, 400_000),
            op(2, "asia", "asia-1", OpKind::Write, 1_000_000, 170_000),
            op(3, "us", "us-1", OpKind::Read, 1_000_000, 330_000),
        ];
        let h = VariantHistory::from_records(ops, [leader(500_000, "asia-1", 1)]);
        let m = model(&h, &exp, params, (0, 10_000_000)).unwrap();
        let dcs = by_dc(&m);
        assert_eq!(dcs["eu"].write_bound_us, Some(2_000 + 220_000 + 160_000));
        assert_eq!(dcs["asia"].write_bound_us, Some(2_000 + 160_000));
        assert_eq!(dcs["us"].read_bound_us, Some(2_000 + 160_000 + 160_000));
        let ratio = dcs["eu"].write_ratio.unwrap();
        assert!((ratio - 400.0 / 382.0).abs() < 1e-9, "{ratio}");
        // With the leader in eu (round trip 80 ms to us), the mean write bound is lowest.
        assert_eq!(m.best_leader.as_deref(), Some("eu-1"));
        assert_eq!(dcs["eu"].best_write_bound_us, Some(2_000 + 80_000));
        assert_eq!(m.leaders.len(), 1);
        assert_eq!(m.leaders[0].cause, LeaderCause::Start);
    }

    #[test]
    fn a_crashed_leader_gives_a_failover_with_the_configured_expectation() {
        let exp = parse(TOML, "m.toml", &Overrides::default())
            .unwrap()
            .experiment;
        let VariantParams::Raft(params) = &exp.variants[0].params else {
            panic!("raft")
        };
        let fault = |t_us, start| Event {
            t_us,
            kind: if start {
                EventKind::FaultStart {
                    fault: 0,
                    kind: "crash".into(),
                    detail: "crash asia-1".into(),
                }
            } else {
                EventKind::FaultEnd {
                    fault: 0,
                    kind: "crash".into(),
                    detail: "restart asia-1".into(),
                }
            },
        };
        let events = vec![
            leader(100_000, "asia-1", 1),
            fault(2_000_000, true),
            Event {
                t_us: 2_000_000,
                kind: EventKind::Crash {
                    node: "asia-1".into(),
                },
            },
            leader(4_000_000, "eu-1", 2),
            fault(6_000_000, false),
        ];
        let ops = vec![
            op(1, "eu", "eu-1", OpKind::Write, 2_100_000, 3_000_000),
            op(2, "us", "us-1", OpKind::Write, 3_000_000, 1_500_000),
        ];
        let h = VariantHistory::from_records(ops, events);
        let m = model(&h, &exp, params, (0, 10_000_000)).unwrap();
        assert_eq!(m.leaders.len(), 2);
        assert_eq!(m.leaders[0].end_us, Some(2_000_000));
        assert_eq!(m.leaders[1].cause, LeaderCause::Fault);
        assert_eq!(m.failovers.len(), 1);
        let f = &m.failovers[0];
        assert_eq!(
            (f.old_leader.as_str(), f.new_leader.as_str()),
            ("asia-1", "eu-1")
        );
        // The us write completed first: 4.5 s, 2.5 s after the fault.
        assert_eq!(f.measured_us, Some(2_500_000));
        assert!(f.expected_min_us <= f.expected_us && f.expected_us <= f.expected_max_us);
        // At least the lease plus the shortest election timeout.
        let floor =
            params.election_timeout_max + params.election_timeout_min - params.heartbeat_interval;
        assert!(f.expected_min_us >= floor.as_micros() as u64);
    }
}
