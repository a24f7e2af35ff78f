//! The eventually consistent profile store: every node accepts reads and writes locally and
//! replicates last-writer-wins registers by rumour mongering and anti-entropy gossip.
//!
//! `core` is the protocol as a pure state machine (`quorum` its coordinating role, over the
//! shared `types`, `waits` and `ring` below both); `node` drives one replica on the
//! simulated network; [`GossipCluster`] starts the replicas and gives the fault injector its
//! controls: crash (the store is lost unless `durable = true`, in which case it is reloaded
//! from the node's append-only file), restart (a new incarnation that catches up by
//! anti-entropy), pause/resume and per-node clock offsets.
//!
//! Deliberately left out: client-side routing (clients pick their nearest node) and read
//! repair or quorums (a gossip node answers reads from its own replica).

pub mod core;
mod node;
pub mod quorum;
pub mod ring;
pub mod types;
pub mod waits;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::core::{GossipConfig, GossipCore, PeerMsg};
use self::node::{run_node, DurableLog, NodeEnv};
use self::ring::Ring;
use super::{Cluster, ClusterContext, ClusterError};
use crate::experiment::{NodeIdx, VariantParams};
use crate::history::{Event, EventKind};

struct Slot {
    /// The running task, if the node is up.
    task: Option<(CancellationToken, JoinHandle<()>)>,
    /// Lives so far; the next start uses this as its incarnation number.
    lives: u32,
    skew: Arc<AtomicI64>,
    paused: watch::Sender<bool>,
}

/// A running gossip cluster.
pub struct GossipCluster {
    ctx: ClusterContext<PeerMsg>,
    config: GossipConfig,
    /// Where quorum replicas live (node DCs from the topology).
    ring: Arc<Ring>,
    node_ids: Arc<Vec<crate::net::EndpointId>>,
    slots: Vec<Mutex<Slot>>,
}

impl GossipCluster {
    fn node_name(&self, node: NodeIdx) -> String {
        self.ctx.experiment.topology.nodes[node].name.clone()
    }

    fn event(&self, kind: EventKind) {
        self.ctx.events.record(Event {
            t_us: self.ctx.clock.now_us(),
            kind,
        });
    }

    fn slot(&self, node: NodeIdx) -> Result<&Mutex<Slot>, ClusterError> {
        self.slots.get(node).ok_or(ClusterError::UnknownNode(node))
    }

    /// Starts node `node` in a new life: a fresh core, restored from its file if durable.
    async fn start_node(&self, node: NodeIdx) -> Result<(), ClusterError> {
        let endpoint = self.ctx.net.listen(self.node_ids[node]).await?;
        let (sender, inbox, guard) = endpoint.split();
        let (incarnation, skew, paused) = {
            let mut slot = self.slot(node)?.lock();
            slot.lives += 1;
            (slot.lives - 1, slot.skew.clone(), slot.paused.subscribe())
        };
        let seed = crate::seed::derive(self.ctx.seed, &format!("gossip-node-{node}-{incarnation}"));
        let mut core = GossipCore::on_ring(
            node as u32,
            self.node_ids.len() as u32,
            self.config.clone(),
            incarnation,
            seed,
            self.ring.clone(),
        );
        let log = if self.config.durable {
            let path = self
                .ctx
                .data_dir
                .join(format!("{}.gossip-log", self.node_name(node)));
            let (log, updates) = DurableLog::open(&path)?;
            core.restore(&updates);
            Some(log)
        } else {
            None
        };
        let cancel = CancellationToken::new();
        let env = NodeEnv {
            name: self.node_name(node),
            sender,
            inbox,
            node_ids: self.node_ids.clone(),
            clock: self.ctx.clock,
            skew,
            paused,
            events: self.ctx.events.clone(),
            log,
            cancel: cancel.clone(),
        };
        let handle = tokio::spawn(async move {
            // The guard keeps the node listening for as long as the task runs.
            let _guard = guard;
            run_node(core, env).await;
        });
        self.slot(node)?.lock().task = Some((cancel, handle));
        Ok(())
    }

    async fn stop_node(&self, node: NodeIdx) -> Result<bool, ClusterError> {
        let task = self.slot(node)?.lock().task.take();
        match task {
            Some((cancel, handle)) => {
                cancel.cancel();
                let _ = handle.await;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

impl Cluster for GossipCluster {
    type Peer = PeerMsg;

    async fn start(ctx: ClusterContext<PeerMsg>) -> Result<Self, ClusterError> {
        let VariantParams::Gossip(config) = ctx.variant.params.clone() else {
            return Err(ClusterError::Other(format!(
                "variant {} is not a gossip variant",
                ctx.variant.name
            )));
        };
        let node_ids = Arc::new(ctx.node_ids.clone());
        let slots = (0..node_ids.len())
            .map(|_| {
                Mutex::new(Slot {
                    task: None,
                    lives: 0,
                    skew: Arc::new(AtomicI64::new(0)),
                    paused: watch::channel(false).0,
                })
            })
            .collect();
        let ring = Arc::new(Ring::new(
            ctx.experiment.topology.nodes.iter().map(|n| n.dc).collect(),
        ));
        let cluster = GossipCluster {
            ctx,
            config,
            ring,
            node_ids,
            slots,
        };
        for node in 0..cluster.slots.len() {
            cluster.start_node(node).await?;
        }
        Ok(cluster)
    }

    async fn ready(&self, _timeout: Duration) -> Result<(), ClusterError> {
        // Every node serves reads and writes as soon as it listens.
        Ok(())
    }

    async fn crash(&self, node: NodeIdx) -> Result<(), ClusterError> {
        if self.stop_node(node).await? {
            self.event(EventKind::Crash {
                node: self.node_name(node),
            });
        }
        Ok(())
    }

    async fn restart(&self, node: NodeIdx) -> Result<(), ClusterError> {
        if self.slot(node)?.lock().task.is_some() {
            return Ok(());
        }
        self.start_node(node).await?;
        self.event(EventKind::Restart {
            node: self.node_name(node),
        });
        Ok(())
    }

    fn pause(&self, node: NodeIdx) -> Result<(), ClusterError> {
        self.slot(node)?.lock().paused.send_replace(true);
        self.ctx.net.pause(self.node_ids[node]);
        self.event(EventKind::Pause {
            node: self.node_name(node),
        });
        Ok(())
    }

    fn resume(&self, node: NodeIdx) -> Result<(), ClusterError> {
        self.ctx.net.resume(self.node_ids[node]);
        self.slot(node)?.lock().paused.send_replace(false);
        self.event(EventKind::Resume {
            node: self.node_name(node),
        });
        Ok(())
    }

    fn set_clock_offset(&self, node: NodeIdx, offset_us: i64) -> Result<(), ClusterError> {
        self.slot(node)?
            .lock()
            .skew
            .store(offset_us, Ordering::Relaxed);
        Ok(())
    }

    fn leader(&self) -> Option<NodeIdx> {
        None
    }

    async fn shutdown(self) {
        for node in 0..self.slots.len() {
            let _ = self.stop_node(node).await;
        }
    }
}
