//! Raft's RPCs as messages on the simulated network: the [`RaftPeer`] wire type, the
//! request/response matching ([`Rpc`]), and openraft's `RaftNetworkFactory` over them.
//!
//! A call sends `RaftPeer::Request { rpc_id, body }` to the peer's endpoint and waits for the
//! `Response` with the same id, which the node's driver hands back through [`Rpc::complete`].
//! An AppendEntries whose pictures would exceed [`MAX_APPEND_BYTES`] is refused with
//! `PayloadTooLarge` before sending, and openraft retries with fewer entries (so large
//! pictures never exceed the network's frame limit). Every call is bounded: by `rpc_timeout`, and by openraft's own deadline for the RPC
//! (`RPCOption::hard_ttl`). No answer in time, or a peer whose Raft is stopping, is reported
//! to openraft as [`Unreachable`]: the replication stream then backs off for
//! [`PeerClient::backoff`] (the heartbeat interval, not openraft's 500 ms default, which
//! would stretch every failover) before it tries again. Late answers are dropped.
//!
//! The same request/response pair carries client operations a follower forwards to the
//! leader ([`RpcRequest::Client`]).
//!
//! Deliberately left out: connection management (the network layer owns the TCP
//! connections) and snapshot streaming beyond openraft's chunked `install_snapshot`.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{InstallSnapshotError, PayloadTooLarge, RemoteError, Unreachable};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::types::{typ, Node, NodeId, TypeConfig};
use crate::cluster::client::{ClientError, ClientOk, ClientOp, Wire};
use crate::net::{EndpointId, Sender};

/// Node-to-node messages of the Raft cluster.
#[derive(Serialize, Deserialize)]
pub enum RaftPeer {
    Request { rpc_id: u64, body: RpcRequest },
    Response { rpc_id: u64, body: RpcResponse },
}

#[derive(Serialize, Deserialize)]
pub enum RpcRequest {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A client operation forwarded by a follower to the node it believes leads.
    Client(ClientOp),
}

/// Answers; an `Err` is the peer's Raft refusing (e.g. because it is shutting down).
#[derive(Serialize, Deserialize)]
pub enum RpcResponse {
    AppendEntries(Result<AppendEntriesResponse<NodeId>, typ::RaftError>),
    Vote(Result<VoteResponse<NodeId>, typ::RaftError>),
    InstallSnapshot(Result<InstallSnapshotResponse<NodeId>, typ::RaftError<InstallSnapshotError>>),
    Client(Result<ClientOk, ClientError>),
}

impl fmt::Debug for RaftPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (dir, id, kind) = match self {
            RaftPeer::Request { rpc_id, body } => ("request", rpc_id, body.kind()),
            RaftPeer::Response { rpc_id, body } => ("response", rpc_id, body.kind()),
        };
        write!(f, "{kind} {dir} #{id}")
    }
}

impl RpcRequest {
    fn kind(&self) -> &'static str {
        match self {
            RpcRequest::AppendEntries(_) => "append-entries",
            RpcRequest::Vote(_) => "vote",
            RpcRequest::InstallSnapshot(_) => "install-snapshot",
            RpcRequest::Client(_) => "client",
        }
    }
}

impl RpcResponse {
    fn kind(&self) -> &'static str {
        match self {
            RpcResponse::AppendEntries(_) => "append-entries",
            RpcResponse::Vote(_) => "vote",
            RpcResponse::InstallSnapshot(_) => "install-snapshot",
            RpcResponse::Client(_) => "client",
        }
    }
}

/// Why a call got no answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("no answer from {0} within {1:?}")]
    Timeout(EndpointId, Duration),
    #[error("could not send to {0}: {1}")]
    Send(EndpointId, String),
    #[error("{0} answered {1} to a {2} request")]
    Mismatch(EndpointId, &'static str, &'static str),
    #[error("node {0} is not in the cluster")]
    UnknownNode(NodeId),
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<RpcResponse>>>>;

/// Sends requests from one node and matches their responses. Cheap to clone; one per
/// incarnation of a node (a restarted node starts with no calls in flight).
#[derive(Clone)]
pub struct Rpc {
    sender: Sender<Wire<RaftPeer>>,
    /// A std mutex is fine: it is held only to insert or remove.
    pending: Pending,
    next_id: Arc<AtomicU64>,
}

impl Rpc {
    pub fn new(sender: Sender<Wire<RaftPeer>>) -> Self {
        Rpc {
            sender,
            pending: Arc::new(Mutex::new(HashMap::new())),
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    pub fn sender(&self) -> &Sender<Wire<RaftPeer>> {
        &self.sender
    }

    /// Sends `body` to `to` and waits at most `timeout` for the answer.
    pub async fn call(
        &self,
        to: EndpointId,
        body: RpcRequest,
        timeout: Duration,
    ) -> Result<RpcResponse, CallError> {
        let rpc_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(rpc_id, tx);
        let msg = Wire::Peer(RaftPeer::Request { rpc_id, body });
        if let Err(e) = self.sender.send(to, &msg) {
            self.pending.lock().remove(&rpc_id);
            return Err(CallError::Send(to, e.to_string()));
        }
        let res = tokio::time::timeout(timeout, rx).await;
        self.pending.lock().remove(&rpc_id);
        match res {
            Ok(Ok(r)) => Ok(r),
            // Dropped sender: the incarnation is going away; as good as no answer.
            Ok(Err(_)) | Err(_) => Err(CallError::Timeout(to, timeout)),
        }
    }

    /// Hands a response to the call waiting for it (a late one is dropped).
    pub fn complete(&self, rpc_id: u64, body: RpcResponse) {
        if let Some(tx) = self.pending.lock().remove(&rpc_id) {
            let _ = tx.send(body);
        }
    }

    /// Answers request `rpc_id` from `to`.
    pub fn respond(&self, to: EndpointId, rpc_id: u64, body: RpcResponse) {
        // Encoding cannot fail for these types; a lost answer is the network's business.
        let _ = self
            .sender
            .send(to, &Wire::Peer(RaftPeer::Response { rpc_id, body }));
    }
}

/// Largest AppendEntries message sent in one piece, well below the network's frame limit.
pub const MAX_APPEND_BYTES: usize = 4 << 20;

/// `None` if `entries` fit in one AppendEntries message; otherwise how many leading entries
/// do (at least one: a single entry is sent whatever its size).
fn entries_that_fit(entries: &[super::types::Entry]) -> Option<u64> {
    if entries.len() < 2 {
        return None;
    }
    let mut total = 0usize;
    for (i, e) in entries.iter().enumerate() {
        if let openraft::EntryPayload::Normal(b) = &e.payload {
            total += b
                .writes
                .iter()
                .map(|w| w.picture.len() + w.key.len() + w.value.len())
                .sum::<usize>();
        }
        if total > MAX_APPEND_BYTES {
            return Some(i.max(1) as u64);
        }
    }
    None
}

/// openraft's network factory for one node.
pub struct Network {
    pub rpc: Rpc,
    /// Endpoint of each openraft node id.
    pub node_ids: Arc<Vec<EndpointId>>,
    pub rpc_timeout: Duration,
    pub backoff: Duration,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, _node: &Node) -> PeerClient {
        PeerClient {
            rpc: self.rpc.clone(),
            target,
            to: usize::try_from(target)
                .ok()
                .and_then(|i| self.node_ids.get(i).copied()),
            rpc_timeout: self.rpc_timeout,
            backoff: self.backoff,
        }
    }
}

/// A connection to one peer, as openraft sees it.
pub struct PeerClient {
    rpc: Rpc,
    target: NodeId,
    to: Option<EndpointId>,
    rpc_timeout: Duration,
    backoff: Duration,
}

impl PeerClient {
    async fn call(&self, body: RpcRequest, option: &RPCOption) -> Result<RpcResponse, Unreachable> {
        let to = self
            .to
            .ok_or_else(|| Unreachable::new(&CallError::UnknownNode(self.target)))?;
        let timeout = self.rpc_timeout.min(option.hard_ttl());
        self.rpc
            .call(to, body, timeout)
            .await
            .map_err(|e| Unreachable::new(&e))
    }

    fn mismatch(&self, got: &RpcResponse, want: &'static str) -> Unreachable {
        Unreachable::new(&CallError::Mismatch(
            self.to.unwrap_or_default(),
            got.kind(),
            want,
        ))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, typ::RpcError> {
        if let Some(fit) = entries_that_fit(&rpc.entries) {
            return Err(PayloadTooLarge::new_entries_hint(fit).into());
        }
        match self.call(RpcRequest::AppendEntries(rpc), &option).await? {
            RpcResponse::AppendEntries(Ok(r)) => Ok(r),
            // The peer's Raft is stopping (crashing): treat it as down.
            RpcResponse::AppendEntries(Err(e)) => Err(Unreachable::new(&e).into()),
            other => Err(self.mismatch(&other, "append-entries").into()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, typ::InstallSnapshotRpcError> {
        match self.call(RpcRequest::InstallSnapshot(rpc), &option).await? {
            RpcResponse::InstallSnapshot(Ok(r)) => Ok(r),
            RpcResponse::InstallSnapshot(Err(e @ openraft::error::RaftError::APIError(_))) => {
                // A snapshot mismatch: openraft restarts the transfer from offset 0.
                Err(RemoteError::new(self.target, e).into())
            }
            RpcResponse::InstallSnapshot(Err(e)) => Err(Unreachable::new(&e).into()),
            other => Err(self.mismatch(&other, "install-snapshot").into()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, typ::RpcError> {
        match self.call(RpcRequest::Vote(rpc), &option).await? {
            RpcResponse::Vote(Ok(r)) => Ok(r),
            RpcResponse::Vote(Err(e)) => Err(Unreachable::new(&e).into()),
            other => Err(self.mismatch(&other, "vote").into()),
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(self.backoff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::raft::types::{Entry, LogId, ProfileWrite, WriteBatch};
    use openraft::{CommittedLeaderId, EntryPayload};

    fn entry(index: u64, picture_bytes: usize) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 0), index),
            payload: EntryPayload::Normal(WriteBatch {
                writes: vec![ProfileWrite {
                    key: "k".into(),
                    value: "v".into(),
                    picture: bytes::Bytes::from(vec![0u8; picture_bytes]),
                }],
            }),
        }
    }

    #[test]
    fn append_entries_over_the_size_limit_are_split() {
        let small: Vec<Entry> = (1..=100).map(|i| entry(i, 1024)).collect();
        assert_eq!(entries_that_fit(&small), None);
        let big: Vec<Entry> = (1..=10).map(|i| entry(i, 1 << 20)).collect();
        assert_eq!(entries_that_fit(&big), Some(3));
        // One entry goes whatever its size.
        assert_eq!(entries_that_fit(&big[..1]), None);
        let huge = vec![entry(1, MAX_APPEND_BYTES + 1), entry(2, 1)];
        assert_eq!(entries_that_fit(&huge), Some(1));
    }
}
