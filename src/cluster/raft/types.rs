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

impl std::fmt::Display for WriteBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} writes", self.writes.len())
    }
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
        AsyncRuntime = super::runtime::SeededTokio,
);

/// openraft's node id: node `i` of the topology is `i as u64`.
pub type NodeId = u64;
pub type Node = openraft::EmptyNode;
/// The encoded state machine a snapshot carries.
pub type SnapshotData = Vec<u8>;
pub type Raft = openraft::Raft<TypeConfig, super::state_machine::StateMachine>;
pub type Entry = openraft::type_config::alias::EntryOf<TypeConfig>;
pub type LogId = openraft::type_config::alias::LogIdOf<TypeConfig>;
pub type LeaderId = openraft::type_config::alias::CommittedLeaderIdOf<TypeConfig>;
pub type Vote = openraft::type_config::alias::VoteOf<TypeConfig>;
pub type StoredMembership = openraft::type_config::alias::StoredMembershipOf<TypeConfig>;
pub type SnapshotMeta = openraft::type_config::alias::SnapshotMetaOf<TypeConfig>;
pub type Snapshot = openraft::type_config::alias::SnapshotOf<TypeConfig, SnapshotData>;
pub type StorageError = openraft::StorageError<TypeConfig>;
pub type Metrics = openraft::RaftMetrics<TypeConfig>;
/// A watch on a node's metrics (read it through `openraft::async_runtime::watch::WatchReceiver`).
pub type MetricsWatch = openraft::type_config::alias::WatchReceiverOf<TypeConfig, Metrics>;

/// Error types of the RPCs and client calls, with the generic parameters filled in.
pub mod typ {
    use super::TypeConfig;
    use openraft::error::{self, Infallible};

    pub type RaftError<E = Infallible> = error::RaftError<TypeConfig, E>;
    pub type RpcError = error::RPCError<TypeConfig>;
    pub type StreamingError = error::StreamingError<TypeConfig>;
    pub type ClientWriteError = error::ClientWriteError<TypeConfig>;
    pub type LinearizableReadError = error::LinearizableReadError<TypeConfig>;
    pub type InitializeError = error::InitializeError<TypeConfig>;
    pub type Fatal = error::Fatal<TypeConfig>;
    pub type VoteRequest = openraft::raft::VoteRequest<TypeConfig>;
    pub type VoteResponse = openraft::raft::VoteResponse<TypeConfig>;
    pub type AppendEntriesRequest = openraft::raft::AppendEntriesRequest<TypeConfig>;
    pub type AppendEntriesResponse = openraft::raft::AppendEntriesResponse<TypeConfig>;
    pub type StreamAppendResult = openraft::raft::StreamAppendResult<TypeConfig>;
    pub type SnapshotResponse = openraft::raft::SnapshotResponse<TypeConfig>;
    pub type TransferLeaderRequest = openraft::raft::TransferLeaderRequest<TypeConfig>;
    pub type TransferLeaderResponse = openraft::raft::TransferLeaderResponse<TypeConfig>;
    pub type ClientWriteResult = openraft::raft::ClientWriteResult<TypeConfig>;
}
