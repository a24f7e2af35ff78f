//! The strongly consistent profile store: one openraft 0.10 node per topology node, all of
//! their traffic on the simulated network.
//!
//! # Pieces
//!
//! - [`types`]: the openraft type configuration (a log entry carries a batch of
//!   [`types::ProfileWrite`]s with their picture bytes) and short names for openraft's
//!   generic types.
//! - [`log_store`]: log, vote and committed index, in memory or backed by [`log_file`] (an
//!   append-only file per node, group-committed: one fdatasync covers every append queued
//!   while the previous one ran, and none is acknowledged before it).
//! - [`snapshot`]: where the latest snapshot is kept so that it survives a crash.
//! - [`state_machine`]: the profile map; records `apply` events.
//! - [`network`]: Raft RPCs as request/response messages ([`RaftPeer`]), bounded by
//!   `rpc_timeout`, with a short back-off for unreachable peers; replication is a pipelined
//!   stream (AppendEntries sent back to back, answers in order).
//! - `node`: the per-node driver (inbox dispatch, one task per incoming replication stream,
//!   client service with forwarding, ReadIndex and lease reads), the leader's proposer
//!   (writes proposed on arrival, batched with whatever waits, bounded backpressure) and the
//!   metrics watcher (`leader_change` events).
//!
//! # Life of a node
//!
//! [`RaftCluster::start`] opens every node's endpoint, builds its openraft instance and
//! driver, and has node 0 initialise the membership with every node as a voter (so node 0
//! usually wins the first election). With a `leader` key, [`Cluster::ready`] then asks the
//! elected leader to transfer leadership to the configured node (recording a
//! `leader_transfer` event) and returns once every live node follows it; later elections
//! (after a fault) are left alone, so the leader stays where the fault put it. A new
//! openraft 0.10 leader takes writes only once a quorum acknowledged it (its lease), so
//! `ready` waits for that too. A node's
//! *durable part* (log store for `memory`, file paths for `disk`, and its snapshot slot)
//! lives as long as the cluster; an *incarnation* (openraft instance, state machine, driver,
//! endpoint) lives from start or restart to crash. [`Cluster::crash`] stops the incarnation
//! (its listener closes, its tasks are aborted) and keeps the durable part;
//! [`Cluster::restart`] builds a new incarnation from it: the state machine starts from the
//! latest snapshot, openraft re-applies committed entries, and the node rejoins.
//! [`Cluster::pause`] holds the node's traffic in the network, stops its driver taking
//! messages and switches off its election and heartbeat timers, as a frozen process would.
//!
//! # Events
//!
//! `leader_change` (a node's view of term and leader changed), `leader_transfer`, `crash`,
//! `restart`, `pause`,
//! `resume`, and `apply` whenever a replica's visible value of a key changes (including when
//! a restarted replica shows its snapshot again and re-applies its committed log).
//!
//! Pre-Vote is on: a node that was cut off asks whether it could win before it raises its
//! term, so it cannot depose a healthy leader when it returns.
//!
//! Deliberately left out: membership changes after start, learners, and moving the leader
//! back to its configured place after a fault (the placement applies at start only).

pub mod log_file;
pub mod log_store;
pub mod network;
mod node;
pub mod runtime;
pub mod snapshot;
pub mod state_machine;
pub mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::watch::WatchReceiver;
use openraft::{Config, ServerState, SnapshotPolicy};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use network::RaftPeer;

use self::log_store::LogStore;
use self::network::{Network as RaftNetworkFactoryImpl, Rpc};
use self::node::Service;
use self::snapshot::SnapshotSlot;
use self::state_machine::{ApplyEvents, StateMachine};
use self::types::{typ, Metrics, NodeId, Raft};
use crate::cluster::{Cluster, ClusterContext, ClusterError};
use crate::experiment::{Experiment, Fsync, NodeIdx, RaftParams, RaftStorage, VariantParams};
use crate::history::{Event, EventKind, RecordSink, RunClock};
use crate::net::{EndpointId, Network};

use crate::cluster::client::Wire;

/// What survives a crash of a node.
enum Durable {
    /// The log store itself (kept, as a disk would keep it) and the snapshot slot.
    Memory {
        log: LogStore,
        snapshot: SnapshotSlot,
    },
    /// The files, and the log writer's batch window; a restart recovers from the files.
    Disk {
        log: PathBuf,
        snapshot: PathBuf,
        window: Duration,
    },
}

/// A running node: lost on crash.
struct Incarnation {
    raft: Raft,
    sm: StateMachine,
    log: LogStore,
    cancel: CancellationToken,
    driver: JoinHandle<()>,
    proposer: JoinHandle<()>,
    watcher: JoinHandle<()>,
}

struct Slot {
    name: String,
    endpoint: EndpointId,
    /// openraft's configuration for this node (nodes differ only in the snapshot period).
    config: Arc<Config>,
    durable: Durable,
    /// A std mutex is fine: it is never held across an await (crash takes the incarnation
    /// out first).
    running: parking_lot::Mutex<Option<Incarnation>>,
    /// Serialises crash and restart of this node.
    control: tokio::sync::Mutex<()>,
    paused: watch::Sender<bool>,
    /// Wall-clock skew; Raft does not read wall clocks, so it is only stored.
    clock_offset_us: AtomicI64,
}

/// A Raft cluster of the experiment's nodes.
pub struct RaftCluster {
    experiment: Arc<Experiment>,
    params: RaftParams,
    net: Network<Wire<RaftPeer>>,
    node_ids: Arc<Vec<EndpointId>>,
    names: Arc<Vec<String>>,
    clock: RunClock,
    events: RecordSink<Event>,
    slots: Vec<Slot>,
    /// Bumped on every metrics change of any node; [`RaftCluster::ready`] waits on it.
    changes: watch::Sender<u64>,
    /// Replication stream ids, shared by every incarnation of every node.
    streams: network::StreamIds,
}

/// The snapshot period of node `node` of `nodes`: `snapshot_after` entries for node 0, up to
/// half as many again for the last node. Replicas that share this machine's cores would
/// otherwise all snapshot at the same log index, at the same moment, and stall each other
/// (a lab artefact: on machines of their own they would not compete); with periods apart
/// they rarely coincide.
pub fn snapshot_period(snapshot_after: u64, node: usize, nodes: usize) -> u64 {
    let extra = u128::from(snapshot_after) * node as u128 / (2 * nodes.max(1)) as u128;
    snapshot_after.saturating_add(u64::try_from(extra).unwrap_or(u64::MAX))
}

/// openraft's configuration for a variant's parameters, for node `node` of `nodes`.
pub fn openraft_config(
    name: &str,
    p: &RaftParams,
    node: usize,
    nodes: usize,
) -> Result<Config, ClusterError> {
    let snapshot_after = snapshot_period(p.snapshot_after, node, nodes);
    // openraft counts in whole milliseconds.
    let ms = |d: Duration| (d.as_millis() as u64).max(1);
    let config = Config {
        cluster_name: name.to_string(),
        // A node that was cut off asks before it campaigns, so it cannot depose a healthy
        // leader with an inflated term when it returns.
        enable_pre_vote: Some(true),
        // Replicate an entry as soon as it is handed to the log store, not only once the
        // leader's own append is flushed: the leader's fsync overlaps the followers'.
        broadcast_submitted_on_append: Some(true),
        heartbeat_interval: ms(p.heartbeat_interval),
        election_timeout_min: ms(p.election_timeout_min),
        election_timeout_max: ms(p.election_timeout_max).max(ms(p.election_timeout_min) + 1),
        install_snapshot_timeout: ms(p.rpc_timeout),
        max_payload_entries: p.max_payload_entries,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(snapshot_after),
        // Lagging followers beyond this get a snapshot; it must exceed the snapshot period.
        replication_lag_threshold: snapshot_after.saturating_mul(2).max(1000),
        ..Default::default()
    };
    config
        .validate()
        .map_err(|e| ClusterError::Other(format!("raft parameters: {e}")))
}

impl RaftCluster {
    fn slot(&self, node: NodeIdx) -> Result<&Slot, ClusterError> {
        self.slots.get(node).ok_or(ClusterError::UnknownNode(node))
    }

    /// Builds and starts a new incarnation of `node` from its durable part.
    async fn launch(&self, node: NodeIdx) -> Result<Incarnation, ClusterError> {
        let slot = self.slot(node)?;
        let (log, snapshot) = match &slot.durable {
            Durable::Memory { log, snapshot } => (log.clone(), snapshot.clone()),
            Durable::Disk {
                log,
                snapshot,
                window,
            } => {
                let path = log.clone();
                let window = *window;
                let store = tokio::task::spawn_blocking(move || LogStore::open_disk(&path, window))
                    .await
                    .map_err(|e| ClusterError::Other(e.to_string()))?
                    .map_err(|source| ClusterError::Io {
                        path: log.clone(),
                        source,
                    })?;
                (store, SnapshotSlot::file(snapshot.clone()))
            }
        };
        let sm = StateMachine::restore(
            snapshot,
            ApplyEvents {
                node: slot.name.clone(),
                clock: self.clock,
                events: self.events.clone(),
            },
        )
        .map_err(|e| ClusterError::Other(format!("{}: restoring the snapshot: {e}", slot.name)))?;
        let endpoint = self.net.listen(slot.endpoint).await?;
        let rpc = Rpc::new(endpoint.sender());
        let factory = RaftNetworkFactoryImpl {
            rpc: rpc.clone(),
            node_ids: self.node_ids.clone(),
            rpc_timeout: self.params.rpc_timeout,
            backoff: self.params.heartbeat_interval.min(self.params.rpc_timeout),
            streams: self.streams.clone(),
        };
        let raft = Raft::new(
            node as NodeId,
            slot.config.clone(),
            factory,
            log.clone(),
            sm.clone(),
        )
        .await
        .map_err(|e| ClusterError::Other(format!("{}: starting raft: {e}", slot.name)))?;
        if *slot.paused.borrow() {
            raft.runtime_config().elect(false);
            raft.runtime_config().heartbeat(false);
        }
        let cancel = CancellationToken::new();
        let commit_timeout = self.params.rpc_timeout * 2;
        let (proposals, proposals_rx) = tokio::sync::mpsc::unbounded_channel();
        let proposer = tokio::spawn(node::run_proposer(
            raft.clone(),
            proposals_rx,
            commit_timeout,
            cancel.clone(),
        ));
        let service = Arc::new(Service {
            me: node as NodeId,
            raft: raft.clone(),
            proposals,
            metrics: raft.metrics(),
            sm: sm.clone(),
            rpc,
            node_ids: self.node_ids.clone(),
            read_policy: self.params.read_policy,
            read_timeout: self.params.rpc_timeout,
            forward_timeout: self.params.rpc_timeout * 3,
            pending_writes: Arc::new(AtomicUsize::new(0)),
            pending_reads: Arc::new(AtomicUsize::new(0)),
            snapshots: parking_lot::Mutex::new(std::collections::BTreeMap::new()),
        });
        let driver = tokio::spawn(node::run_driver(
            service,
            endpoint,
            slot.paused.subscribe(),
            cancel.clone(),
        ));
        let watcher = tokio::spawn(node::watch_metrics(
            raft.metrics(),
            slot.name.clone(),
            self.names.clone(),
            self.clock,
            self.events.clone(),
            self.changes.clone(),
            cancel.clone(),
        ));
        Ok(Incarnation {
            raft,
            sm,
            log,
            cancel,
            driver,
            proposer,
            watcher,
        })
    }

    /// Stops an incarnation as a crash would: the driver (and with it the endpoint) first,
    /// so nothing more is answered, then openraft; a disk log is closed last.
    async fn stop(inc: Incarnation) {
        inc.cancel.cancel();
        let _ = inc.driver.await;
        let _ = inc.proposer.await;
        let _ = inc.raft.shutdown().await;
        let _ = inc.watcher.await;
        let log = inc.log;
        let _ = crate::sim::blocking(move || log.close()).await;
    }

    /// Asks leader `from` to hand leadership to `to` (openraft's TransferLeader: `from` stops
    /// taking writes, and `to` campaigns at once once its log has caught up), and records a
    /// `leader_transfer` event.
    async fn transfer_leader(&self, from: NodeIdx, to: NodeIdx) {
        let (Some(f), Some(t)) = (self.slots.get(from), self.slots.get(to)) else {
            return;
        };
        let raft = f.running.lock().as_ref().map(|i| i.raft.clone());
        let Some(raft) = raft else { return };
        if raft.trigger().transfer_leader(to as NodeId).await.is_ok() {
            self.record(EventKind::LeaderTransfer {
                from: f.name.clone(),
                to: t.name.clone(),
            });
        }
    }

    fn record(&self, kind: EventKind) {
        self.events.record(Event {
            t_us: self.clock.now_us(),
            kind,
        });
    }

    /// The metrics of `node`'s current incarnation (`None` while it is crashed).
    pub fn metrics(&self, node: NodeIdx) -> Option<Metrics> {
        let slot = self.slots.get(node)?;
        let running = slot.running.lock();
        running
            .as_ref()
            .map(|i| i.raft.metrics().borrow_watched().clone())
    }

    /// Every profile's value label in `node`'s replica (`None` while it is crashed).
    pub fn replica_values(&self, node: NodeIdx) -> Option<BTreeMap<String, String>> {
        let slot = self.slots.get(node)?;
        let running = slot.running.lock();
        running.as_ref().map(|i| i.sm.values())
    }

    /// Index of the last entry in `node`'s log store (`None` while crashed or empty).
    pub fn last_log_index(&self, node: NodeIdx) -> Option<u64> {
        let slot = self.slots.get(node)?;
        let running = slot.running.lock();
        running.as_ref().and_then(|i| i.log.last_index())
    }

    /// The profile writes in `node`'s log store as `(version, key, value)`, in log order
    /// (`None` while it is crashed). Purged entries are not included.
    pub fn logged_writes(&self, node: NodeIdx) -> Option<Vec<(Vec<u64>, String, String)>> {
        let slot = self.slots.get(node)?;
        let running = slot.running.lock();
        running.as_ref().map(|i| i.log.writes())
    }

    /// Where `node` keeps its log file (`disk` storage only).
    pub fn log_path(&self, node: NodeIdx) -> Option<PathBuf> {
        match &self.slots.get(node)?.durable {
            Durable::Disk { log, .. } => Some(log.clone()),
            Durable::Memory { .. } => None,
        }
    }

    /// Nodes that are running and not paused.
    fn live(&self) -> Vec<(NodeIdx, Metrics)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !*s.paused.borrow())
            .filter_map(|(i, _)| self.metrics(i).map(|m| (i, m)))
            .collect()
    }

    /// The leader every live node agrees on, if there is one.
    fn agreed_leader(&self) -> Option<NodeIdx> {
        let live = self.live();
        let (_, first) = live.first()?;
        let leader = first.current_leader?;
        let all_agree = live.iter().all(|(_, m)| m.current_leader == Some(leader));
        // openraft 0.10's leader accepts writes only once a quorum has acknowledged it (its
        // lease), one round trip after the followers learn of it.
        let leads = live.iter().any(|(i, m)| {
            *i as NodeId == leader
                && m.state == ServerState::Leader
                && m.last_quorum_acked.is_some()
        });
        (all_agree && leads).then_some(leader as NodeIdx)
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| match self.metrics(i) {
                None => format!("{}: down", s.name),
                Some(m) => format!(
                    "{}: {:?} term {} leader {:?}",
                    s.name, m.state, m.current_term, m.current_leader
                ),
            })
            .collect();
        parts.join(", ")
    }
}

impl Cluster for RaftCluster {
    type Peer = RaftPeer;

    async fn start(ctx: ClusterContext<RaftPeer>) -> Result<Self, ClusterError> {
        let VariantParams::Raft(params) = &ctx.variant.params else {
            return Err(ClusterError::Other(format!(
                "variant {} is not a raft variant",
                ctx.variant.name
            )));
        };
        let params = params.clone();
        // openraft's election timeouts come from this thread's seeded stream (under the sim
        // engine, every task of the run draws from it in a deterministic order).
        runtime::seed_this_thread(crate::seed::derive(ctx.seed, "openraft"));
        let nodes = &ctx.experiment.topology.nodes;
        if ctx.node_ids.len() != nodes.len() || nodes.is_empty() {
            return Err(ClusterError::Other(format!(
                "{} endpoints for {} nodes",
                ctx.node_ids.len(),
                nodes.len()
            )));
        }
        std::fs::create_dir_all(&ctx.data_dir).map_err(|source| ClusterError::Io {
            path: ctx.data_dir.clone(),
            source,
        })?;
        let mut slots = Vec::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            let durable = match params.storage {
                RaftStorage::Memory => Durable::Memory {
                    log: LogStore::memory(),
                    snapshot: SnapshotSlot::memory(),
                },
                // Both group-commit; `batch` also waits a batch window (see `log_file`).
                RaftStorage::Disk { fsync } => {
                    let log = ctx.data_dir.join(format!("{}.raftlog", n.name));
                    let snapshot = ctx.data_dir.join(format!("{}.snapshot", n.name));
                    // A start is a fresh cluster: leftovers of an earlier run must not leak in.
                    for p in [&log, &snapshot] {
                        match std::fs::remove_file(p) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                return Err(ClusterError::Io {
                                    path: p.clone(),
                                    source: e,
                                })
                            }
                            _ => {}
                        }
                    }
                    let window = match fsync {
                        Fsync::Always => Duration::ZERO,
                        Fsync::Batch => log_file::BATCH_WINDOW,
                    };
                    Durable::Disk {
                        log,
                        snapshot,
                        window,
                    }
                }
            };
            slots.push(Slot {
                name: n.name.clone(),
                endpoint: ctx.node_ids[i],
                config: Arc::new(openraft_config(&ctx.variant.name, &params, i, nodes.len())?),
                durable,
                running: parking_lot::Mutex::new(None),
                control: tokio::sync::Mutex::new(()),
                paused: watch::channel(false).0,
                clock_offset_us: AtomicI64::new(0),
            });
        }
        let cluster = RaftCluster {
            experiment: ctx.experiment.clone(),
            params,
            net: ctx.net.clone(),
            node_ids: Arc::new(ctx.node_ids.clone()),
            names: Arc::new(nodes.iter().map(|n| n.name.clone()).collect()),
            clock: ctx.clock,
            events: ctx.events.clone(),
            slots,
            changes: watch::channel(0).0,
            streams: network::StreamIds::default(),
        };
        for i in 0..cluster.slots.len() {
            let inc = match cluster.launch(i).await {
                Ok(inc) => inc,
                Err(e) => {
                    cluster.shutdown().await;
                    return Err(e);
                }
            };
            *cluster.slots[i].running.lock() = Some(inc);
        }
        let members: BTreeSet<NodeId> = (0..cluster.slots.len() as NodeId).collect();
        let first = cluster.slots[0]
            .running
            .lock()
            .as_ref()
            .map(|i| i.raft.clone());
        if let Some(raft) = first {
            match raft.initialize(members).await {
                Ok(()) => {}
                // Already initialised: nothing to do.
                Err(openraft::error::RaftError::APIError(typ::InitializeError::NotAllowed(_))) => {}
                Err(e) => {
                    cluster.shutdown().await;
                    return Err(ClusterError::Other(format!(
                        "initialising the membership: {e}"
                    )));
                }
            }
        }
        Ok(cluster)
    }

    async fn ready(&self, timeout: Duration) -> Result<(), ClusterError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.changes.subscribe();
        // When the last transfer to the configured leader was requested (see `leader`).
        let mut asked: Option<tokio::time::Instant> = None;
        let retry = self.params.election_timeout_max * 2;
        loop {
            changes.borrow_and_update();
            match (self.agreed_leader(), self.params.leader) {
                (Some(l), Some(want)) if l != want => {
                    if asked.is_none_or(|t| t.elapsed() >= retry) {
                        self.transfer_leader(l, want).await;
                        asked = Some(tokio::time::Instant::now());
                    }
                }
                (Some(_), _) => return Ok(()),
                (None, _) => {}
            }
            let wake = match asked {
                Some(t) => (t + retry).min(deadline),
                None => deadline,
            };
            if wake < deadline {
                match tokio::time::timeout_at(wake, changes.changed()).await {
                    Ok(Ok(())) | Err(_) => continue,
                    Ok(Err(_)) => return Err(ClusterError::NotReady(timeout, self.describe())),
                }
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => {
                    return Err(ClusterError::NotReady(timeout, self.describe()));
                }
            }
        }
    }

    async fn crash(&self, node: NodeIdx) -> Result<(), ClusterError> {
        let slot = self.slot(node)?;
        let _control = slot.control.lock().await;
        let Some(inc) = slot.running.lock().take() else {
            return Ok(());
        };
        self.record(EventKind::Crash {
            node: slot.name.clone(),
        });
        Self::stop(inc).await;
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    async fn restart(&self, node: NodeIdx) -> Result<(), ClusterError> {
        let slot = self.slot(node)?;
        let _control = slot.control.lock().await;
        if slot.running.lock().is_some() {
            return Ok(());
        }
        let inc = self.launch(node).await?;
        *slot.running.lock() = Some(inc);
        self.record(EventKind::Restart {
            node: slot.name.clone(),
        });
        Ok(())
    }

    fn pause(&self, node: NodeIdx) -> Result<(), ClusterError> {
        let slot = self.slot(node)?;
        slot.paused.send_replace(true);
        self.net.pause(slot.endpoint);
        // A frozen process runs no timers: no elections, no heartbeats until resumed.
        if let Some(inc) = slot.running.lock().as_ref() {
            inc.raft.runtime_config().elect(false);
            inc.raft.runtime_config().heartbeat(false);
        }
        self.record(EventKind::Pause {
            node: slot.name.clone(),
        });
        Ok(())
    }

    fn resume(&self, node: NodeIdx) -> Result<(), ClusterError> {
        let slot = self.slot(node)?;
        if let Some(inc) = slot.running.lock().as_ref() {
            inc.raft.runtime_config().elect(true);
            inc.raft.runtime_config().heartbeat(true);
        }
        self.net.resume(slot.endpoint);
        slot.paused.send_replace(false);
        self.record(EventKind::Resume {
            node: slot.name.clone(),
        });
        Ok(())
    }

    fn set_clock_offset(&self, node: NodeIdx, offset_us: i64) -> Result<(), ClusterError> {
        self.slot(node)?
            .clock_offset_us
            .store(offset_us, Ordering::Relaxed);
        Ok(())
    }

    fn leader(&self) -> Option<NodeIdx> {
        self.live()
            .into_iter()
            .filter(|(_, m)| m.state == ServerState::Leader)
            .max_by_key(|(_, m)| m.current_term)
            .map(|(i, _)| i)
    }

    async fn shutdown(self) {
        let incs: Vec<Incarnation> = self
            .slots
            .iter()
            .filter_map(|s| s.running.lock().take())
            .collect();
        for inc in incs {
            Self::stop(inc).await;
        }
    }
}

impl RaftCluster {
    /// The experiment this cluster runs.
    pub fn experiment(&self) -> &Experiment {
        &self.experiment
    }

    /// The node's current wall-clock skew (stored only; Raft ignores wall clocks).
    pub fn clock_offset_us(&self, node: NodeIdx) -> Option<i64> {
        self.slots
            .get(node)
            .map(|s| s.clock_offset_us.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::snapshot_period;

    #[test]
    fn snapshot_periods_are_spread_over_the_nodes() {
        let periods: Vec<u64> = (0..3).map(|i| snapshot_period(5000, i, 3)).collect();
        assert_eq!(periods, vec![5000, 5833, 6666]);
        // One node, or a huge setting: no overflow, node 0 keeps the setting.
        assert_eq!(snapshot_period(7, 0, 1), 7);
        assert_eq!(snapshot_period(u64::MAX, 1, 2), u64::MAX);
        assert!(snapshot_period(1_000_000_000, 1999, 2000) < 1_500_000_000);
    }
}
