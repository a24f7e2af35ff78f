//! Applies the planned faults to a running variant, on the run's clock.
//!
//! The nemesis walks the timeline of fault starts and ends (ends first when they coincide),
//! sleeping until each, and carries them out through the network and the cluster:
//!
//! | fault | start | end |
//! |---|---|---|
//! | partition | cut the links between the sides (per DC pair for `isolate_dc`, per node pair otherwise) | lift its own cuts |
//! | crash | crash the node | restart it, unless another crash still holds it |
//! | pause | pause the node | resume it, unless another pause still holds it |
//! | latency | override the DC pair's delay | lift its override |
//! | loss | override the DC pairs' loss | lift its override |
//! | clock-skew | shift the node's wall clock | lift its offset (back to true time or another fault's offset) |
//!
//! Each start and end is recorded as a `fault_start` / `fault_end` event whose `detail` names
//! the links or the node. A `leader` target is the Raft leader at the moment the fault
//! starts; systems without a leader hit the node position a previous variant's leader had for
//! the same fault (shared through [`LeaderMemory`]), else a node chosen from the seed.
//!
//! # Overlapping faults compose
//!
//! Every effect is held per source, so a fault's end lifts only what that fault applied:
//!
//! - cuts (partitions of every kind) and pauses are counted by the network: a link cut by two
//!   faults stays cut until both ended;
//! - a node crashed by two faults restarts when the last of them ends (a crash without a
//!   duration holds it down for good); a node paused by two faults resumes when the last
//!   ends. If a pause still holds a node when a crash of it ends, the restarted node is
//!   frozen again at once;
//! - delay and loss overrides of a DC pair, and clock offsets of a node, stack: the most
//!   recent one in force wins, and when it ends the one below it (or the topology's value,
//!   or true time) applies again, whatever order they end in.
//!
//! `fault_start` and `fault_end` events are recorded when the change was made, so they show
//! each fault's real active window; an end that leaves an effect held by another fault says
//! so in its `detail`.
//!
//! Deliberately left out: interactions inside a system (a crash of a paused Raft node is
//! whatever the cluster's `crash` does to a paused node).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio_util::sync::CancellationToken;

use super::plan::PlannedFault;
use crate::cluster::{Cluster, ClusterError, Wire};
use crate::experiment::{DcIdx, Experiment, FaultAction, NodeIdx, NodeTarget, Partition};
use crate::history::{Event, EventKind, RecordSink, RunClock};
use crate::net::{EndpointId, Network, OverrideId};

/// The node each `leader`-targeted fault hit, by fault label, shared by the variants of a run.
#[derive(Debug, Clone, Default)]
pub struct LeaderMemory(Arc<Mutex<BTreeMap<String, NodeIdx>>>);

/// What undoes a started fault.
enum Undo {
    Endpoints(Vec<(EndpointId, EndpointId)>),
    Dcs(Vec<(DcIdx, DcIdx)>),
    Restart(NodeIdx),
    Resume(NodeIdx),
    /// Delay or loss overrides (`what` names which) of the given DC pairs.
    Overrides {
        what: &'static str,
        ids: Vec<OverrideId>,
        pairs: Vec<(DcIdx, DcIdx)>,
    },
    /// The clock offset the fault with this index applied.
    Skew(NodeIdx, usize),
    Nothing,
}

/// Node-level effects held by running faults (network-level ones are counted by the
/// network itself).
#[derive(Default)]
struct Holds {
    /// How many running faults hold each node crashed.
    crashed: BTreeMap<NodeIdx, usize>,
    /// How many running faults hold each node paused.
    paused: BTreeMap<NodeIdx, usize>,
    /// Clock offsets in force per node, oldest first, by fault index.
    skews: BTreeMap<NodeIdx, Vec<(usize, i64)>>,
}

/// Adds one holder of `node`; true if it is the first.
fn hold(map: &mut BTreeMap<NodeIdx, usize>, node: NodeIdx) -> bool {
    let n = map.entry(node).or_insert(0);
    *n += 1;
    *n == 1
}

/// Removes one holder of `node`; returns how many remain.
fn release(map: &mut BTreeMap<NodeIdx, usize>, node: NodeIdx) -> usize {
    let left = match map.get_mut(&node) {
        Some(n) => {
            *n = n.saturating_sub(1);
            *n
        }
        None => 0,
    };
    if left == 0 {
        map.remove(&node);
    }
    left
}

/// Applies faults to one variant's cluster and network.
pub struct Nemesis<C: Cluster> {
    pub experiment: Arc<Experiment>,
    pub cluster: Arc<C>,
    pub net: Network<Wire<C::Peer>>,
    pub node_ids: Vec<EndpointId>,
    pub events: RecordSink<Event>,
    pub clock: RunClock,
    pub leaders: LeaderMemory,
}

impl<C: Cluster> Nemesis<C> {
    /// Runs the timeline of `faults`, offsets counted from `window_start`, until it is done
    /// or `cancel` fires. Returns the first harness error (a failed restart, say); faults of
    /// the system under test are not errors.
    pub async fn run(
        &self,
        faults: &[PlannedFault],
        window_start: Instant,
        cancel: &CancellationToken,
    ) -> Result<(), ClusterError> {
        // (time, is_start, fault index): ends sort before starts at the same time.
        let mut steps: Vec<(Duration, bool, usize)> = Vec::new();
        for (i, f) in faults.iter().enumerate() {
            steps.push((f.at, true, i));
            if let Some(d) = f.duration {
                steps.push((f.at + d, false, i));
            }
        }
        steps.sort();
        let mut undo: BTreeMap<usize, (Undo, String)> = BTreeMap::new();
        let mut holds = Holds::default();
        for (at, is_start, i) in steps {
            tokio::select! {
                biased;
                _ = tokio::time::sleep_until((window_start + at).into()) => {}
                _ = cancel.cancelled() => return Ok(()),
            }
            let fault = &faults[i];
            if is_start {
                let (u, detail) = self.start(i, fault, &mut holds).await?;
                self.event(EventKind::FaultStart {
                    fault: fault.index,
                    kind: kind_name(&fault.action).into(),
                    detail: format!("{}: {detail}", fault.label()),
                });
                undo.insert(i, (u, detail));
            } else if let Some((u, detail)) = undo.remove(&i) {
                let done = self.end(u, &mut holds).await?;
                self.event(EventKind::FaultEnd {
                    fault: fault.index,
                    kind: kind_name(&fault.action).into(),
                    detail: format!("{}: {done} (was: {detail})", fault.label()),
                });
            }
        }
        Ok(())
    }

    fn event(&self, kind: EventKind) {
        self.events.record(Event {
            t_us: self.clock.now_us(),
            kind,
        });
    }

    fn name(&self, node: NodeIdx) -> String {
        self.experiment
            .topology
            .nodes
            .get(node)
            .map_or_else(|| format!("node {node}"), |n| n.name.clone())
    }

    fn dc(&self, dc: DcIdx) -> &str {
        self.experiment
            .topology
            .dcs
            .get(dc)
            .map_or("?", |d| d.name.as_str())
    }

    fn target(&self, fault: &PlannedFault, target: NodeTarget) -> (NodeIdx, &'static str) {
        match target {
            NodeTarget::Node(n) => (n, ""),
            NodeTarget::Leader => {
                let mut memory = self.leaders.0.lock();
                if let Some(l) = self.cluster.leader() {
                    memory.insert(fault.label(), l);
                    return (l, " (the leader)");
                }
                if let Some(l) = memory.get(&fault.label()) {
                    return (*l, " (the node that led in an earlier variant)");
                }
                let seed = crate::seed::derive(self.experiment.seed, &fault.label());
                let n = ChaCha8Rng::seed_from_u64(seed).random_range(0..self.node_ids.len());
                (n, " (no leader known: a node chosen from the seed)")
            }
            // Resolved by the plan; kept total.
            NodeTarget::Random => (0, ""),
        }
    }

    async fn start(
        &self,
        i: usize,
        fault: &PlannedFault,
        holds: &mut Holds,
    ) -> Result<(Undo, String), ClusterError> {
        Ok(match &fault.action {
            FaultAction::Partition(Partition::IsolateDc(dc)) => {
                let pairs = self.net.isolate_dc(*dc);
                let others: Vec<&str> = pairs
                    .iter()
                    .filter(|(a, _)| a == dc)
                    .map(|(_, b)| self.dc(*b))
                    .collect();
                let detail = format!(
                    "isolate {}: cut {} <-> {} both ways",
                    self.dc(*dc),
                    self.dc(*dc),
                    others.join(", ")
                );
                (Undo::Dcs(pairs), detail)
            }
            FaultAction::Partition(p) => {
                let (cuts, detail) = self.node_cuts(p);
                for (a, b) in &cuts {
                    self.net.block(*a, *b);
                }
                (Undo::Endpoints(cuts), detail)
            }
            FaultAction::Crash(t) => {
                let (n, why) = self.target(fault, *t);
                let mut detail = format!("crash {}{why}", self.name(n));
                if hold(&mut holds.crashed, n) {
                    self.cluster.crash(n).await?;
                } else {
                    detail.push_str(" (already down: another fault holds it)");
                }
                (
                    if fault.duration.is_some() {
                        Undo::Restart(n)
                    } else {
                        Undo::Nothing
                    },
                    detail,
                )
            }
            FaultAction::Pause(t) => {
                let (n, why) = self.target(fault, *t);
                let mut detail = format!("pause {}{why}", self.name(n));
                if hold(&mut holds.paused, n) {
                    self.cluster.pause(n)?;
                } else {
                    detail.push_str(" (already paused: another fault holds it)");
                }
                (Undo::Resume(n), detail)
            }
            FaultAction::Latency {
                from,
                to,
                both_ways,
                delay,
            } => {
                let pairs = pairs(*from, *to, *both_ways);
                let ids = pairs
                    .iter()
                    .map(|(a, b)| self.net.override_dc_delay(*a, *b, delay.clone()))
                    .collect();
                let detail = format!("delay {} set to {delay}", self.pairs_text(&pairs));
                (
                    Undo::Overrides {
                        what: "delay",
                        ids,
                        pairs,
                    },
                    detail,
                )
            }
            FaultAction::Loss {
                from,
                to,
                both_ways,
                rate,
            } => {
                let dcs = self.experiment.topology.dcs.len();
                let mut pairs = Vec::new();
                for a in from.map_or_else(|| (0..dcs).collect(), |d| vec![d]) {
                    for b in to.map_or_else(|| (0..dcs).collect(), |d| vec![d]) {
                        // The links inside a DC are hit only when named explicitly.
                        if a == b && (from.is_none() || to.is_none()) {
                            continue;
                        }
                        pairs.push((a, b));
                        if *both_ways && a != b {
                            pairs.push((b, a));
                        }
                    }
                }
                pairs.sort();
                pairs.dedup();
                let ids = pairs
                    .iter()
                    .map(|(a, b)| self.net.override_dc_loss(*a, *b, *rate))
                    .collect();
                let detail = format!("drop {:.0}% on {}", rate * 100.0, self.pairs_text(&pairs));
                (
                    Undo::Overrides {
                        what: "loss",
                        ids,
                        pairs,
                    },
                    detail,
                )
            }
            FaultAction::ClockSkew { target, offset_us } => {
                let (n, why) = self.target(fault, *target);
                self.cluster.set_clock_offset(n, *offset_us)?;
                holds.skews.entry(n).or_default().push((i, *offset_us));
                let detail = format!(
                    "clock of {}{why} shifted by {:+.3} s",
                    self.name(n),
                    *offset_us as f64 / 1e6
                );
                (Undo::Skew(n, i), detail)
            }
            // Expanded by the plan.
            FaultAction::Random(_) => (
                Undo::Nothing,
                "random (expanded into the faults it generated)".into(),
            ),
        })
    }

    async fn end(&self, undo: Undo, holds: &mut Holds) -> Result<String, ClusterError> {
        Ok(match undo {
            Undo::Endpoints(cuts) => {
                for (a, b) in &cuts {
                    self.net.unblock(*a, *b);
                }
                let still = cuts
                    .iter()
                    .filter(|(a, b)| self.net.blocked(*a, *b))
                    .count();
                let mut done = format!("lifted its cut of {} node links", cuts.len());
                if still > 0 {
                    done.push_str(&format!("; {still} of them stay cut by another fault"));
                }
                done
            }
            Undo::Dcs(pairs) => {
                for (a, b) in &pairs {
                    self.net.unblock_dcs(*a, *b);
                }
                let still: Vec<(DcIdx, DcIdx)> = pairs
                    .iter()
                    .copied()
                    .filter(|(a, b)| self.net.dcs_blocked(*a, *b))
                    .collect();
                let healed: Vec<(DcIdx, DcIdx)> = pairs
                    .iter()
                    .copied()
                    .filter(|p| !still.contains(p))
                    .collect();
                match (healed.is_empty(), still.is_empty()) {
                    (_, true) => format!("healed {}", self.pairs_text(&healed)),
                    (true, false) => format!(
                        "nothing healed: {} stay cut by another fault",
                        self.pairs_text(&still)
                    ),
                    (false, false) => format!(
                        "healed {}; {} stay cut by another fault",
                        self.pairs_text(&healed),
                        self.pairs_text(&still)
                    ),
                }
            }
            Undo::Restart(n) => match release(&mut holds.crashed, n) {
                0 => {
                    self.cluster.restart(n).await?;
                    if holds.paused.contains_key(&n) {
                        // A pause still holds the node: freeze the new incarnation too (the
                        // resume/pause pair keeps the network's pause count balanced).
                        self.cluster.resume(n)?;
                        self.cluster.pause(n)?;
                        format!(
                            "restarted {} (frozen: a pause still holds it)",
                            self.name(n)
                        )
                    } else {
                        format!("restarted {}", self.name(n))
                    }
                }
                k => format!("{} stays down: {k} other fault(s) hold it", self.name(n)),
            },
            Undo::Resume(n) => match release(&mut holds.paused, n) {
                0 => {
                    self.cluster.resume(n)?;
                    format!("resumed {}", self.name(n))
                }
                k => format!("{} stays paused: {k} other fault(s) hold it", self.name(n)),
            },
            Undo::Overrides { what, ids, pairs } => {
                for id in ids {
                    self.net.lift_override(id);
                }
                let still: Vec<String> = pairs
                    .iter()
                    .filter_map(|(a, b)| {
                        let now = match what {
                            "delay" => self.net.dc_delay_override(*a, *b).map(|d| d.to_string()),
                            _ => self
                                .net
                                .dc_loss_override(*a, *b)
                                .map(|l| format!("{:.0}%", l * 100.0)),
                        }?;
                        Some(format!("{}->{} {now}", self.dc(*a), self.dc(*b)))
                    })
                    .collect();
                let mut done = format!("lifted its {what} override of {}", self.pairs_text(&pairs));
                if still.is_empty() {
                    done.push_str(&format!("; back to the topology's {what}"));
                } else {
                    done.push_str(&format!(
                        "; another fault's override still applies: {}",
                        still.join(", ")
                    ));
                }
                done
            }
            Undo::Skew(n, i) => {
                let stack = holds.skews.entry(n).or_default();
                stack.retain(|(f, _)| *f != i);
                let back_to = stack.last().map(|(_, o)| *o);
                if stack.is_empty() {
                    holds.skews.remove(&n);
                }
                self.cluster.set_clock_offset(n, back_to.unwrap_or(0))?;
                match back_to {
                    None => format!("clock of {} back to true time", self.name(n)),
                    Some(o) => format!(
                        "clock of {} back to {:+.3} s (another fault still shifts it)",
                        self.name(n),
                        o as f64 / 1e6
                    ),
                }
            }
            Undo::Nothing => "nothing to undo".into(),
        })
    }

    fn pairs_text(&self, pairs: &[(DcIdx, DcIdx)]) -> String {
        pairs
            .iter()
            .map(|(a, b)| format!("{}->{}", self.dc(*a), self.dc(*b)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Node-level cuts of a partition, and a description of the sides.
    fn node_cuts(&self, p: &Partition) -> (Vec<(EndpointId, EndpointId)>, String) {
        let n = self.node_ids.len();
        let id = |i: NodeIdx| self.node_ids[i];
        let names = |v: &[NodeIdx]| {
            v.iter()
                .map(|i| self.name(*i))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut cuts = Vec::new();
        let between = |groups: &[Vec<NodeIdx>], cuts: &mut Vec<(EndpointId, EndpointId)>| {
            for (gi, g) in groups.iter().enumerate() {
                for (hi, h) in groups.iter().enumerate() {
                    if gi != hi {
                        for a in g {
                            for b in h {
                                cuts.push((id(*a), id(*b)));
                            }
                        }
                    }
                }
            }
        };
        let detail = match p {
            Partition::Groups(groups) => {
                between(groups, &mut cuts);
                format!(
                    "split into {}",
                    groups
                        .iter()
                        .map(|g| format!("[{}]", names(g)))
                        .collect::<Vec<_>>()
                        .join(" | ")
                )
            }
            Partition::Halves => {
                let groups = vec![(0..n / 2).collect::<Vec<_>>(), (n / 2..n).collect()];
                between(&groups, &mut cuts);
                format!("halves [{}] | [{}]", names(&groups[0]), names(&groups[1]))
            }
            Partition::MajoritiesRing => {
                let k = (n / 2).div_ceil(2).max(1);
                let mut seen = Vec::new();
                for a in 0..n {
                    let mut visible = Vec::new();
                    for b in 0..n {
                        let d = a.abs_diff(b).min(n - a.abs_diff(b));
                        if d <= k {
                            visible.push(b);
                        } else {
                            cuts.push((id(a), id(b)));
                        }
                    }
                    seen.push(format!("{} sees [{}]", self.name(a), names(&visible)));
                }
                format!("majorities ring: {}", seen.join("; "))
            }
            Partition::OneWay { from, to } => {
                for a in from {
                    for b in to {
                        cuts.push((id(*a), id(*b)));
                    }
                }
                format!(
                    "one way: [{}] cannot reach [{}] (the reverse still works)",
                    names(from),
                    names(to)
                )
            }
            Partition::IsolateDc(_) => String::new(),
        };
        (cuts, detail)
    }
}

fn pairs(from: DcIdx, to: DcIdx, both_ways: bool) -> Vec<(DcIdx, DcIdx)> {
    if both_ways && from != to {
        vec![(from, to), (to, from)]
    } else {
        vec![(from, to)]
    }
}

/// The experiment-file name of a fault's kind.
pub fn kind_name(action: &FaultAction) -> &'static str {
    match action {
        FaultAction::Partition(_) => "partition",
        FaultAction::Crash(_) => "crash",
        FaultAction::Pause(_) => "pause",
        FaultAction::Latency { .. } => "latency",
        FaultAction::Loss { .. } => "loss",
        FaultAction::ClockSkew { .. } => "clock-skew",
        FaultAction::Random(_) => "random",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ClusterContext;
    use crate::experiment::{parse, Overrides};
    use crate::history::JsonlWriter;
    use crate::net::{NetConfig, Role};

    /// A cluster that only records what the nemesis asked of it.
    struct Recorder(Mutex<Vec<String>>);

    impl Cluster for Recorder {
        type Peer = ();
        async fn start(_: ClusterContext<()>) -> Result<Self, ClusterError> {
            Ok(Recorder(Mutex::new(Vec::new())))
        }
        async fn ready(&self, _: Duration) -> Result<(), ClusterError> {
            Ok(())
        }
        async fn crash(&self, node: NodeIdx) -> Result<(), ClusterError> {
            self.0.lock().push(format!("crash {node}"));
            Ok(())
        }
        async fn restart(&self, node: NodeIdx) -> Result<(), ClusterError> {
            self.0.lock().push(format!("restart {node}"));
            Ok(())
        }
        fn pause(&self, node: NodeIdx) -> Result<(), ClusterError> {
            self.0.lock().push(format!("pause {node}"));
            Ok(())
        }
        fn resume(&self, node: NodeIdx) -> Result<(), ClusterError> {
            self.0.lock().push(format!("resume {node}"));
            Ok(())
        }
        fn set_clock_offset(&self, node: NodeIdx, offset_us: i64) -> Result<(), ClusterError> {
            self.0.lock().push(format!("clock {node} {offset_us:+}"));
            Ok(())
        }
        fn leader(&self) -> Option<NodeIdx> {
            None
        }
        async fn shutdown(self) {}
    }

    fn at(ms: u64, duration_ms: Option<u64>, action: FaultAction) -> PlannedFault {
        PlannedFault {
            index: 0,
            generated: None,
            at: Duration::from_millis(ms),
            duration: duration_ms.map(Duration::from_millis),
            action,
        }
    }

    /// What the cluster was asked, in order, for `faults` applied to a 3-node topology.
    async fn apply(faults: Vec<PlannedFault>) -> Vec<String> {
        let exp = parse(
            r#"
name = "n"
seed = 1
duration = "1s"
[topology.dcs.eu]
nodes = 3
[[variants]]
name = "g"
kind = "gossip"
[workload]
users = 1
rate = 1.0
write_fraction = 0.5
[workload.readers]
phone = 1.0
"#,
            "t",
            &Overrides::default(),
        )
        .unwrap()
        .experiment;
        let net: Network<Wire<()>> = Network::new(NetConfig::zero(1, 1)).unwrap();
        let node_ids = (0..3)
            .map(|i| net.register(format!("eu-{}", i + 1), 0, Role::Node))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let events = JsonlWriter::<Event>::create(&dir.path().join("events.jsonl")).unwrap();
        let cluster = Arc::new(Recorder(Mutex::new(Vec::new())));
        let nemesis = Nemesis {
            experiment: Arc::new(exp),
            cluster: cluster.clone(),
            net: net.clone(),
            node_ids,
            events: events.sink(),
            clock: RunClock::start(),
            leaders: LeaderMemory::default(),
        };
        nemesis
            .run(&faults, Instant::now(), &CancellationToken::new())
            .await
            .unwrap();
        net.shutdown().await;
        let calls = cluster.0.lock().clone();
        calls
    }

    #[tokio::test]
    async fn overlapping_crashes_and_pauses_act_once_and_end_with_the_last() {
        let calls = apply(vec![
            at(0, Some(60), FaultAction::Crash(NodeTarget::Node(1))),
            at(20, Some(20), FaultAction::Crash(NodeTarget::Node(1))),
            // A crash without a duration holds its node down for good.
            at(0, Some(20), FaultAction::Crash(NodeTarget::Node(2))),
            at(10, None, FaultAction::Crash(NodeTarget::Node(2))),
            // A crash inside a pause: the node restarts frozen, resumes with the pause.
            at(0, Some(80), FaultAction::Pause(NodeTarget::Node(0))),
            at(30, Some(20), FaultAction::Crash(NodeTarget::Node(0))),
        ])
        .await;
        assert_eq!(
            calls,
            [
                "crash 1",
                "crash 2",
                "pause 0", // t = 0
                "crash 0", // t = 30
                "restart 0",
                "resume 0",
                "pause 0",   // t = 50: still paused
                "restart 1", // t = 60: the last crash of node 1 ends
                "resume 0",  // t = 80
            ]
        );
    }

    #[tokio::test]
    async fn clock_offsets_stack_and_the_most_recent_in_force_wins() {
        let skew = |offset_us| FaultAction::ClockSkew {
            target: NodeTarget::Node(0),
            offset_us,
        };
        let calls = apply(vec![
            at(0, Some(60), skew(2_000_000)),
            at(10, Some(20), skew(-1_000_000)),
            at(20, Some(60), skew(500_000)),
        ])
        .await;
        assert_eq!(
            calls,
            [
                "clock 0 +2000000",
                "clock 0 -1000000",
                "clock 0 +500000",
                // t = 30: the -1 s ends; the most recent still in force is +0.5 s.
                "clock 0 +500000",
                // t = 60: the +2 s ends; +0.5 s stays.
                "clock 0 +500000",
                // t = 80: the last ends: true time.
                "clock 0 +0",
            ]
        );
    }
}
