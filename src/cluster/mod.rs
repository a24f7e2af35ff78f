//! The systems under test, behind one interface the runner drives.
//!
//! A system implements [`Cluster`]: start its nodes on the simulated network (node `i` of
//! the topology is endpoint `node_ids[i]`), say when it is ready for clients, answer the
//! [`client`] protocol at every node, record `apply` / `leader_change` / `crash` /
//! `restart` events, and let the fault injector crash, restart, pause and skew its nodes.
//!
//! Deliberately left out: anything about the workload. Clusters see only client requests.

pub mod client;
pub mod gossip;
pub mod raft;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::experiment::{Experiment, NodeIdx, Variant};
use crate::history::{Event, RecordSink, RunClock};
use crate::net::{EndpointId, NetError, Network};
pub use client::{
    ClientError, ClientOk, ClientOp, ClientRequest, ClientResponse, SystemVersion, Wire,
};

/// Failures of a cluster harness (not of the system under test: those are outcomes).
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the cluster was not ready within {0:?}: {1}")]
    NotReady(Duration, String),
    #[error("no node {0}")]
    UnknownNode(NodeIdx),
    #[error("{0}")]
    Other(String),
}

/// Everything a cluster needs to start.
pub struct ClusterContext<P> {
    pub experiment: Arc<Experiment>,
    pub variant: Variant,
    pub net: Network<Wire<P>>,
    /// Endpoint of each node, in topology order (registered, not yet listening).
    pub node_ids: Vec<EndpointId>,
    pub clock: RunClock,
    pub events: RecordSink<Event>,
    /// A directory of this variant's own for durable state.
    pub data_dir: PathBuf,
    pub seed: u64,
}

/// A running system under test.
pub trait Cluster: Sized + Send + Sync + 'static {
    /// The system's own node-to-node messages.
    type Peer: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Starts every node.
    fn start(
        ctx: ClusterContext<Self::Peer>,
    ) -> impl Future<Output = Result<Self, ClusterError>> + Send;

    /// Waits until clients can be served (e.g. a leader is elected).
    fn ready(&self, timeout: Duration) -> impl Future<Output = Result<(), ClusterError>> + Send;

    /// Stops a node as a crash would: volatile state is lost, durable state kept.
    fn crash(&self, node: NodeIdx) -> impl Future<Output = Result<(), ClusterError>> + Send;

    /// Starts a crashed node again from its durable state.
    fn restart(&self, node: NodeIdx) -> impl Future<Output = Result<(), ClusterError>> + Send;

    /// Freezes a node: it stops processing and its traffic queues.
    fn pause(&self, node: NodeIdx) -> Result<(), ClusterError>;

    fn resume(&self, node: NodeIdx) -> Result<(), ClusterError>;

    /// Shifts a node's wall clock (matters to systems that timestamp with it).
    fn set_clock_offset(&self, node: NodeIdx, offset_us: i64) -> Result<(), ClusterError>;

    /// The node currently believed to lead, for systems that have one.
    fn leader(&self) -> Option<NodeIdx>;

    /// Stops every node and waits for their tasks.
    fn shutdown(self) -> impl Future<Output = ()> + Send;
}

/// A node's wall clock: a fixed epoch plus the run's clock plus the node's skew, in µs.
/// The epoch keeps a negative skew from going below zero.
pub fn wall_clock_us(clock: &RunClock, offset_us: i64) -> u64 {
    const EPOCH_US: i64 = 1_000_000_000_000;
    (EPOCH_US + clock.now_us() as i64 + offset_us).max(0) as u64
}
