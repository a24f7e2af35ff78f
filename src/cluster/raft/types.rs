//! The openraft type configuration of the profile store, and short names for the generic
//! openraft types the other modules use.
//!
//! A log entry's application data is a [`WriteBatch`]: one or more [`ProfileWrite`]s, each
//! with its key, its unique value label and the picture bytes themselves, so an N-byte
//! picture really travels in AppendEntries and really lands in the log file. The leader puts
//! writes that arrive while earlier ones are still committing into one entry (see
//! [`super::node`]). A write's place in the Raft order is its [`version`]: the entry's log
//! index, then its position in the batch. Applying answers nothing (`R = ()`): the client
//! only needs to know that its entry committed.
//!
//! Deliberately left out: reads in the log (reads are served by ReadIndex or locally, never
//! by appending an entry) and node addresses in the membership (`EmptyNode`: node `i` is
//! endpoint `node_ids[i]`, fixed for the whole run).

use std::io::Cursor;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// One picture update, as replicated through the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileWrite {
    pub key: String,
    /// The write's unique label (e.g. `alice#17`).
    pub value: String,
    pub picture: Bytes,
}

/// The writes of one log entry, applied in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteBatch {
    pub writes: Vec<ProfileWrite>,
}

/// The system version of the write at `position` in the entry at `index`: compared
/// lexicographically, it is the order in which Raft applies writes.
pub fn version(index: u64, position: usize) -> Vec<u64> {
    vec![index, position as u64]
}

openraft::declare_raft_types!(
    /// The profile store's openraft types.
    pub TypeConfig:
        D = WriteBatch,
        R = (),
        NodeId = u64,
        Node = openraft::EmptyNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// openraft's node id: node `i` of the topology is `i as u64`.
pub type NodeId = u64;
pub type Node = openraft::EmptyNode;
pub type Raft = openraft::Raft<TypeConfig>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, Node>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, Node>;
pub type Snapshot = openraft::storage::Snapshot<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;
pub type Metrics = openraft::RaftMetrics<NodeId, Node>;

/// Error types of the RPCs and client calls, with the generic parameters filled in.
pub mod typ {
    use super::{Node, NodeId};
    use openraft::error::{self, Infallible, InstallSnapshotError};

    pub type RaftError<E = Infallible> = error::RaftError<NodeId, E>;
    pub type RpcError<E = Infallible> = error::RPCError<NodeId, Node, RaftError<E>>;
    pub type InstallSnapshotRpcError = RpcError<InstallSnapshotError>;
    pub type ClientWriteError = error::ClientWriteError<NodeId, Node>;
    pub type CheckIsLeaderError = error::CheckIsLeaderError<NodeId, Node>;
    pub type InitializeError = error::InitializeError<NodeId, Node>;
}
