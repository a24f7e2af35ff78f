//! The data the gossip protocol's parts share: node ids, versions, updates, the messages
//! between replicas, a step's [`Output`] and the time it happens at ([`Now`]).
//!
//! Plain types below `core` (the replica), `quorum` (its coordinating role) and `ring`
//! (replica placement), so that none of those imports another for them.
//!
//! Deliberately left out: behaviour (see `core` and `quorum`) and encoding (the messages are
//! serde types; `net` frames them).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// Index of a node in the cluster (the topology's node order).
pub type NodeId = u32;

/// A LWW version; larger wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    pub wall_us: u64,
    pub logical: u32,
    pub node: NodeId,
}

impl Version {
    /// The version as the client protocol's system-agnostic order key.
    pub fn to_order(self) -> Vec<u64> {
        vec![self.wall_us, u64::from(self.logical), u64::from(self.node)]
    }

    /// The inverse of [`Version::to_order`] (`None` if `order` is not a gossip version).
    pub fn from_order(order: &[u64]) -> Option<Version> {
        match order {
            [wall_us, logical, node] => Some(Version {
                wall_us: *wall_us,
                logical: u32::try_from(*logical).ok()?,
                node: NodeId::try_from(*node).ok()?,
            }),
            _ => None,
        }
    }
}

/// Where an update was first written: a node in one of its lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    pub node: NodeId,
    pub incarnation: u32,
}

/// One write of a key, as it travels between replicas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub key: String,
    pub value: String,
    pub picture: Bytes,
    pub version: Version,
    pub origin: Origin,
    pub seq: u64,
}

/// What a replica has seen of one origin's updates: every sequence up to `contiguous`, and
/// the few above it that arrived early (rumours overtake each other).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Summary {
    pub origin: Origin,
    pub contiguous: u64,
    pub above: Vec<u64>,
}

/// Per-origin summaries: the anti-entropy digest.
pub type Digest = Vec<Summary>;

/// Messages between replicas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PeerMsg {
    /// A rumour: a new update, forwarded `hops` times so far.
    Rumor { update: Update, hops: u32 },
    /// Opens an anti-entropy exchange. `digest` lets the responder send what the initiator
    /// lacks (pull); `push` asks for the responder's digest so the initiator can push.
    Syn {
        digest: Digest,
        pull: bool,
        push: bool,
    },
    /// The responder's answer: what the initiator lacks (pull) and the responder's digest.
    Ack {
        updates: Vec<Update>,
        digest: Digest,
        push: bool,
    },
    /// The initiator's push: what the responder lacks, and the initiator's digest.
    Ack2 {
        updates: Vec<Update>,
        digest: Digest,
    },
    /// Direct replication of a write that needs `write_acks > 1`.
    Replicate { update: Update, token: u64 },
    /// Acknowledges a `Replicate`.
    Replicated { token: u64 },
    /// Quorum write: store `update` as one of its key's replicas.
    QWrite { update: Update, token: u64 },
    /// Acknowledges a `QWrite`.
    QWriteAck { token: u64 },
    /// Quorum read: what do you hold of `key`?
    QRead { key: String, token: u64 },
    /// The answer to a `QRead` (or a `Fetch`): the replica's entry, if any.
    QReadReply { token: u64, update: Option<Update> },
    /// Read repair: a newer value than the one this replica answered with.
    Repair { update: Update },
    /// Hinted handoff: writes this replica missed while it was unreachable.
    Hint { updates: Vec<Update> },
    /// Acknowledges a `Hint`: the versions now held.
    HintAck { held: Vec<(String, Version)> },
    /// Session read: send me your entry of `key` (answered with `QReadReply`).
    Fetch { key: String, token: u64 },
}

/// The answer to a client read.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadAnswer {
    /// The value read (`None`: the key has no value).
    Value(Option<(String, Bytes, Version)>),
    /// The read could not be answered as configured (too few replicas, session version
    /// unavailable).
    Failed(String),
}

/// Identifies a client request inside the driver (opaque to the core).
pub type ReqId = u64;

/// What a step produced.
#[derive(Debug, Default, PartialEq)]
pub struct Output {
    pub send: Vec<(NodeId, PeerMsg)>,
    /// Writes now acknowledged to their clients.
    pub acked: Vec<(ReqId, Version)>,
    /// `(key, value)` pairs this replica just made visible.
    pub applied: Vec<(String, String)>,
    /// Reads now answered.
    pub read_done: Vec<(ReqId, ReadAnswer)>,
    /// Writes that could not reach their quorum in time: their outcome is unknown (some
    /// replicas may hold them).
    pub write_failed: Vec<(ReqId, String)>,
}

/// The time a step happens at: the run's monotonic time (for scheduling) and this node's
/// wall clock (for versions; the run's clock plus the node's skew).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub mono_us: u64,
    pub wall_us: u64,
}
