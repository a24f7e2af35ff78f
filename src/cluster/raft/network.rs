//! Raft's RPCs as messages on the simulated network: the [`RaftPeer`] wire type, the
//! request/response matching ([`Rpc`]), and openraft's `RaftNetworkV2` over them.
//!
//! A call sends `RaftPeer::Request { rpc_id, body }` to the peer's endpoint and waits for the
//! `Response` with the same id, which the node's driver hands back through [`Rpc::complete`].
//! Every call is bounded by `rpc_timeout` (and openraft's own `RPCOption` deadline). No answer
//! in time, or a peer whose Raft is stopping, is reported to openraft as `Unreachable`: the
//! replication stream then backs off for [`PeerClient`]'s back-off (the heartbeat interval,
//! not openraft's default, which would stretch every failover). Late answers are dropped.
//!
//! **Pipelined replication** ([`PeerClient`]'s `stream_append`): openraft hands the network a
//! stream of AppendEntries requests. Each is sent the moment openraft produces it, back to
//! back, without waiting for earlier answers; the answers are awaited and yielded in request
//! order. Every message of one stream carries the stream's id and a sequence number, and the
//! follower's driver feeds them to its own `Raft::stream_append` strictly in sequence order
//! (see `node::run_append_stream`), so the pipeline is correct even on a link that reorders
//! (`fifo = false`). The stream ends at the first error or partial match, as openraft expects;
//! openraft then opens a new one. A request whose pictures exceed [`MAX_APPEND_BYTES`] is
//! sent as several consecutive requests (each continuing from the previous one's last log
//! id) and answered with the last one's result, so no frame exceeds the network's limit.
//!
//! Snapshots go as chunks of at most [`SNAPSHOT_CHUNK_BYTES`], one after another; the
//! follower assembles them and installs the whole snapshot with the leader's vote.
//! Pre-Vote and TransferLeader are ordinary request/response pairs. The same pair also carries
//! client operations a follower forwards to the leader ([`RpcRequest::Client`]).
//!
//! Deliberately left out: connection management (the network layer owns the TCP
//! connections) and resuming an interrupted snapshot transfer (it restarts from the start).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use openraft::error::{NetworkError, ReplicationClosed, Unreachable};
use openraft::network::{Backoff, RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::{OptionalSend, Snapshot};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::types::{typ, Entry, LogId, Node, NodeId, SnapshotData, SnapshotMeta, TypeConfig, Vote};
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
    /// A single AppendEntries (heartbeats and openraft's unary path).
    AppendEntries(typ::AppendEntriesRequest),
    /// Message `seq` of pipelined replication stream `stream` (see the module docs); `lane`
    /// tells the leader's log replication (0) from its heartbeats (1), which openraft sends
    /// over a second, concurrent stream.
    StreamAppend {
        lane: u8,
        stream: u64,
        seq: u64,
        req: typ::AppendEntriesRequest,
    },
    Vote(typ::VoteRequest),
    PreVote(typ::VoteRequest),
    /// Part of a snapshot transfer; the last part (`done`) carries the leader's vote and the
    /// snapshot's metadata.
    SnapshotChunk {
        transfer: u64,
        offset: u64,
        data: Vec<u8>,
        done: Option<(Vote, SnapshotMeta)>,
    },
    TransferLeader(typ::TransferLeaderRequest),
    /// A client operation forwarded by a follower to the node it believes leads.
    Client(ClientOp),
}

/// Answers; an `Err(text)` is the peer's Raft refusing (e.g. because it is shutting down).
#[derive(Serialize, Deserialize)]
pub enum RpcResponse {
    AppendEntries(Result<typ::AppendEntriesResponse, String>),
    StreamAppend(Result<typ::StreamAppendResult, String>),
    Vote(Result<typ::VoteResponse, String>),
    /// `None` until the last chunk of a snapshot has been installed.
    SnapshotChunk(Result<Option<typ::SnapshotResponse>, String>),
    TransferLeader(Result<typ::TransferLeaderResponse, String>),
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
            RpcRequest::StreamAppend { .. } => "stream-append",
            RpcRequest::Vote(_) => "vote",
            RpcRequest::PreVote(_) => "pre-vote",
            RpcRequest::SnapshotChunk { .. } => "snapshot-chunk",
            RpcRequest::TransferLeader(_) => "transfer-leader",
            RpcRequest::Client(_) => "client",
        }
    }
}

impl RpcResponse {
    fn kind(&self) -> &'static str {
        match self {
            RpcResponse::AppendEntries(_) => "append-entries",
            RpcResponse::StreamAppend(_) => "stream-append",
            RpcResponse::Vote(_) => "vote",
            RpcResponse::SnapshotChunk(_) => "snapshot-chunk",
            RpcResponse::TransferLeader(_) => "transfer-leader",
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
    #[error("{0} refused: {1}")]
    Refused(EndpointId, String),
}

type Pending = Arc<Mutex<BTreeMap<u64, oneshot::Sender<RpcResponse>>>>;

/// Sends requests from one node and matches their responses. Cheap to clone; one per
/// incarnation of a node (a restarted node starts with no calls in flight).
#[derive(Clone)]
pub struct Rpc {
    sender: Sender<Wire<RaftPeer>>,
    /// A std mutex is fine: it is held only to insert or remove.
    pending: Pending,
    next_id: Arc<AtomicU64>,
}

/// A request on its way: its answer arrives on `rx`. Dropping it forgets the call, so a late
/// answer is dropped and the pending table does not grow.
pub struct InFlight {
    rpc_id: u64,
    to: EndpointId,
    rx: oneshot::Receiver<RpcResponse>,
    pending: Pending,
}

impl InFlight {
    /// Waits at most `timeout` for the answer.
    pub async fn answer(mut self, timeout: Duration) -> Result<RpcResponse, CallError> {
        match tokio::time::timeout(timeout, &mut self.rx).await {
            Ok(Ok(r)) => Ok(r),
            // Dropped sender: the incarnation is going away; as good as no answer.
            Ok(Err(_)) | Err(_) => Err(CallError::Timeout(self.to, timeout)),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.pending.lock().remove(&self.rpc_id);
    }
}

impl Rpc {
    pub fn new(sender: Sender<Wire<RaftPeer>>) -> Self {
        Rpc {
            sender,
            pending: Arc::new(Mutex::new(BTreeMap::new())),
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    pub fn sender(&self) -> &Sender<Wire<RaftPeer>> {
        &self.sender
    }

    /// Sends `body` to `to` now, without waiting for the answer.
    pub fn send(&self, to: EndpointId, body: RpcRequest) -> Result<InFlight, CallError> {
        let rpc_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(rpc_id, tx);
        let flight = InFlight {
            rpc_id,
            to,
            rx,
            pending: self.pending.clone(),
        };
        let msg = Wire::Peer(RaftPeer::Request { rpc_id, body });
        self.sender
            .send(to, &msg)
            .map_err(|e| CallError::Send(to, e.to_string()))?;
        Ok(flight)
    }

    /// Sends `body` to `to` and waits at most `timeout` for the answer.
    pub async fn call(
        &self,
        to: EndpointId,
        body: RpcRequest,
        timeout: Duration,
    ) -> Result<RpcResponse, CallError> {
        self.send(to, body)?.answer(timeout).await
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
/// Largest snapshot chunk sent in one message.
pub const SNAPSHOT_CHUNK_BYTES: usize = 4 << 20;

fn entry_bytes(e: &Entry) -> usize {
    match &e.payload {
        openraft::EntryPayload::Normal(b) => b
            .writes
            .iter()
            .map(|w| w.picture.len() + w.key.len() + w.value.len())
            .sum(),
        _ => 0,
    }
}

/// How many entries each consecutive piece of `entries` holds so that no piece exceeds
/// [`MAX_APPEND_BYTES`] (a single larger entry is a piece of its own). Empty for no entries.
fn piece_sizes(entries: &[Entry]) -> Vec<usize> {
    let mut sizes = Vec::new();
    let (mut n, mut bytes) = (0usize, 0usize);
    for e in entries {
        let b = entry_bytes(e);
        if n > 0 && bytes + b > MAX_APPEND_BYTES {
            sizes.push(n);
            (n, bytes) = (0, 0);
        }
        n += 1;
        bytes += b;
    }
    if n > 0 {
        sizes.push(n);
    }
    sizes
}

/// Splits `req` into consecutive requests that each fit in one message (see [`piece_sizes`]).
fn split_append(req: typ::AppendEntriesRequest) -> Vec<typ::AppendEntriesRequest> {
    let sizes = piece_sizes(&req.entries);
    if sizes.len() < 2 {
        return vec![req];
    }
    let mut out = Vec::with_capacity(sizes.len());
    let mut prev = req.prev_log_id;
    let mut rest = req.entries.into_iter();
    for n in sizes {
        let entries: Vec<Entry> = rest.by_ref().take(n).collect();
        let last = entries.last().map(|e| e.log_id);
        out.push(typ::AppendEntriesRequest {
            vote: req.vote,
            prev_log_id: prev,
            entries,
            leader_commit: req.leader_commit,
        });
        prev = last;
    }
    out
}

/// openraft's network factory for one node.
pub struct Network {
    pub rpc: Rpc,
    /// Endpoint of each openraft node id.
    pub node_ids: Arc<Vec<EndpointId>>,
    pub rpc_timeout: Duration,
    pub backoff: Duration,
    pub streams: StreamIds,
}

/// Ids of replication streams and snapshot transfers, one counter per cluster (shared by
/// every incarnation of its nodes): a restarted node never reuses an id its peers still
/// associate with its previous incarnation, and a newer stream from a node always has a
/// larger id. Per cluster, not per process, so that a run's messages (and their sizes) do
/// not depend on what ran before it in the same process.
#[derive(Debug, Clone)]
pub struct StreamIds(Arc<AtomicU64>);

impl Default for StreamIds {
    fn default() -> Self {
        StreamIds(Arc::new(AtomicU64::new(1)))
    }
}

impl StreamIds {
    fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, _node: &Node) -> PeerClient {
        self.client(target, REPLICATION_LANE)
    }

    async fn new_heartbeat_client(&mut self, target: NodeId, _node: &Node) -> PeerClient {
        self.client(target, HEARTBEAT_LANE)
    }
}

/// The lane of a leader's log replication stream to a follower.
pub const REPLICATION_LANE: u8 = 0;
/// The lane of a leader's heartbeat stream to a follower.
pub const HEARTBEAT_LANE: u8 = 1;

impl Network {
    fn client(&self, target: NodeId, lane: u8) -> PeerClient {
        PeerClient {
            lane,
            rpc: self.rpc.clone(),
            target,
            to: usize::try_from(target)
                .ok()
                .and_then(|i| self.node_ids.get(i).copied()),
            rpc_timeout: self.rpc_timeout,
            backoff: self.backoff,
            streams: self.streams.clone(),
        }
    }
}

/// A connection to one peer, as openraft sees it.
pub struct PeerClient {
    /// Which of the leader's streams this client carries (see [`RpcRequest::StreamAppend`]).
    lane: u8,
    rpc: Rpc,
    target: NodeId,
    to: Option<EndpointId>,
    rpc_timeout: Duration,
    backoff: Duration,
    streams: StreamIds,
}

fn unreachable(e: &(impl std::error::Error + 'static)) -> typ::RpcError {
    Unreachable::new(e).into()
}

impl PeerClient {
    fn endpoint(&self) -> Result<EndpointId, CallError> {
        self.to.ok_or(CallError::UnknownNode(self.target))
    }

    fn timeout(&self, option: &RPCOption) -> Duration {
        self.rpc_timeout.min(option.soft_ttl())
    }

    async fn call(&self, body: RpcRequest, option: &RPCOption) -> Result<RpcResponse, CallError> {
        self.rpc
            .call(self.endpoint()?, body, self.timeout(option))
            .await
    }

    fn mismatch(&self, got: &RpcResponse, want: &'static str) -> CallError {
        CallError::Mismatch(self.to.unwrap_or_default(), got.kind(), want)
    }

    fn refused(&self, e: String) -> CallError {
        CallError::Refused(self.to.unwrap_or_default(), e)
    }

    async fn vote_call(
        &self,
        body: RpcRequest,
        option: &RPCOption,
    ) -> Result<typ::VoteResponse, typ::RpcError> {
        match self.call(body, option).await {
            Ok(RpcResponse::Vote(Ok(r))) => Ok(r),
            Ok(RpcResponse::Vote(Err(e))) => Err(unreachable(&self.refused(e))),
            Ok(other) => Err(unreachable(&self.mismatch(&other, "vote"))),
            Err(e) => Err(unreachable(&e)),
        }
    }
}

/// The answer to one request of a pipelined stream: the in-flight messages of its pieces
/// and the last log id it asks the follower to hold.
struct Sent {
    pieces: Vec<InFlight>,
    last: Option<LogId>,
}

/// Awaits the answers of `sent`'s pieces in order; the result of the request is the first
/// refusal, or the last piece's result.
async fn stream_result(
    sent: Sent,
    timeout: Duration,
) -> Result<typ::StreamAppendResult, CallError> {
    let mut result = None;
    for piece in sent.pieces {
        let to = piece.to;
        let r = match piece.answer(timeout).await? {
            RpcResponse::StreamAppend(Ok(r)) => r,
            RpcResponse::StreamAppend(Err(e)) => return Err(CallError::Refused(to, e)),
            other => return Err(CallError::Mismatch(to, other.kind(), "stream-append")),
        };
        let refused = r.is_err();
        result = Some(r);
        if refused {
            break;
        }
    }
    // A request always has at least one piece; none would be a bug in `split_append`.
    result.ok_or_else(|| CallError::Refused(EndpointId::default(), "empty request".into()))
}

impl RaftNetworkV2<TypeConfig> for PeerClient {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: typ::AppendEntriesRequest,
        option: RPCOption,
    ) -> Result<typ::AppendEntriesResponse, typ::RpcError> {
        match self.call(RpcRequest::AppendEntries(rpc), &option).await {
            Ok(RpcResponse::AppendEntries(Ok(r))) => Ok(r),
            // The peer's Raft is stopping (crashing): treat it as down.
            Ok(RpcResponse::AppendEntries(Err(e))) => Err(unreachable(&self.refused(e))),
            Ok(other) => Err(unreachable(&self.mismatch(&other, "append-entries"))),
            Err(e) => Err(unreachable(&e)),
        }
    }

    fn stream_append<'s, S>(
        &'s mut self,
        input: S,
        _option: RPCOption,
    ) -> openraft::base::BoxFuture<
        's,
        Result<
            openraft::base::BoxStream<'s, Result<typ::StreamAppendResult, typ::RpcError>>,
            typ::RpcError,
        >,
    >
    where
        S: futures_util::Stream<Item = typ::AppendEntriesRequest> + OptionalSend + Unpin + 'static,
    {
        // Per answer, `rpc_timeout` (not openraft's soft TTL, one heartbeat interval): a
        // pipelined answer waits behind the earlier ones, and under load a stream cut at the
        // heartbeat interval would restart and resend everything again and again.
        let timeout = self.rpc_timeout;
        let rpc = self.rpc.clone();
        let to = self.endpoint();
        let stream = self.streams.next();
        let lane = self.lane;
        Box::pin(async move {
            let to = to.map_err(|e| unreachable(&e))?;
            // The sender: every request leaves as soon as openraft produces it.
            let (sent_tx, sent_rx) = mpsc::unbounded_channel::<Result<Sent, CallError>>();
            let sender = tokio::spawn(async move {
                let mut input = input;
                let mut seq = 0u64;
                while let Some(req) = input.next().await {
                    let last = req.entries.last().map(|e| e.log_id).or(req.prev_log_id);
                    let mut pieces = Vec::new();
                    let mut failed = None;
                    for req in split_append(req) {
                        match rpc.send(
                            to,
                            RpcRequest::StreamAppend {
                                lane,
                                stream,
                                seq,
                                req,
                            },
                        ) {
                            Ok(f) => pieces.push(f),
                            Err(e) => {
                                failed = Some(e);
                                break;
                            }
                        }
                        seq += 1;
                    }
                    let item = match failed {
                        Some(e) => Err(e),
                        None => Ok(Sent { pieces, last }),
                    };
                    let stop = item.is_err();
                    if sent_tx.send(item).is_err() || stop {
                        break;
                    }
                }
            });
            let abort = AbortOnDrop(sender);
            // The answers, in request order; the stream ends after the first error or
            // partial match.
            let out =
                futures_util::stream::unfold(Some((sent_rx, abort)), move |state| async move {
                    let (mut sent_rx, abort) = state?;
                    let sent = sent_rx.recv().await?;
                    let item = match sent {
                        Err(e) => Err(e),
                        Ok(sent) => {
                            let last = sent.last;
                            stream_result(sent, timeout).await.map(|r| (r, last))
                        }
                    };
                    match item {
                        Ok((r, last)) => {
                            let go_on = matches!(&r, Ok(m) if *m == last);
                            let next = go_on.then_some((sent_rx, abort));
                            Some((Ok(r), next))
                        }
                        Err(e) => Some((Err(unreachable(&e)), None)),
                    }
                });
            let out: openraft::base::BoxStream<'s, _> = Box::pin(out);
            Ok(out)
        })
    }

    async fn vote(
        &mut self,
        rpc: typ::VoteRequest,
        option: RPCOption,
    ) -> Result<typ::VoteResponse, typ::RpcError> {
        self.vote_call(RpcRequest::Vote(rpc), &option).await
    }

    async fn pre_vote(
        &mut self,
        rpc: typ::VoteRequest,
        option: RPCOption,
    ) -> Result<typ::VoteResponse, typ::RpcError> {
        self.vote_call(RpcRequest::PreVote(rpc), &option).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot<LeaderIdOfC, NodeId, Node, SnapshotData>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<typ::SnapshotResponse, typ::StreamingError> {
        let to = self.endpoint().map_err(|e| Unreachable::new(&e))?;
        let transfer = self.streams.next();
        let timeout = self.timeout(&option);
        let data = snapshot.snapshot;
        let meta = snapshot.meta;
        let send_all = async {
            let mut offset = 0usize;
            loop {
                let end = (offset + SNAPSHOT_CHUNK_BYTES).min(data.len());
                let done = (end == data.len()).then(|| (vote, meta.clone()));
                let body = RpcRequest::SnapshotChunk {
                    transfer,
                    offset: offset as u64,
                    data: data[offset..end].to_vec(),
                    done,
                };
                let answer = self
                    .rpc
                    .call(to, body, timeout)
                    .await
                    .map_err(|e| Unreachable::new(&e))?;
                match answer {
                    RpcResponse::SnapshotChunk(Ok(Some(r))) => return Ok(r),
                    RpcResponse::SnapshotChunk(Ok(None)) if end < data.len() => offset = end,
                    RpcResponse::SnapshotChunk(Ok(None)) => {
                        return Err(NetworkError::from_string("snapshot not installed").into())
                    }
                    RpcResponse::SnapshotChunk(Err(e)) => {
                        return Err(Unreachable::new(&self.refused(e)).into())
                    }
                    other => {
                        return Err(
                            Unreachable::new(&self.mismatch(&other, "snapshot-chunk")).into()
                        )
                    }
                }
            }
        };
        tokio::select! {
            biased;
            closed = cancel => Err(closed.into()),
            r = send_all => r,
        }
    }

    async fn transfer_leader(
        &mut self,
        req: typ::TransferLeaderRequest,
        option: RPCOption,
    ) -> Result<typ::TransferLeaderResponse, typ::RpcError> {
        match self.call(RpcRequest::TransferLeader(req), &option).await {
            Ok(RpcResponse::TransferLeader(Ok(r))) => Ok(r),
            Ok(RpcResponse::TransferLeader(Err(e))) => Err(unreachable(&self.refused(e))),
            Ok(other) => Err(unreachable(&self.mismatch(&other, "transfer-leader"))),
            Err(e) => Err(unreachable(&e)),
        }
    }

    fn backoff(&self) -> Option<Backoff> {
        Some(Backoff::new(std::iter::repeat(self.backoff)))
    }
}

type LeaderIdOfC = super::types::LeaderId;

/// Aborts the task when dropped (the pipelined sender stops with its stream).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::raft::types::LeaderId;
    use crate::cluster::raft::types::{Entry, LogId, ProfileWrite, WriteBatch};
    use openraft::vote::RaftLeaderId as _;
    use openraft::EntryPayload;

    fn entry(index: u64, picture_bytes: usize) -> Entry {
        Entry {
            log_id: LogId::new(LeaderId::new(1, 0), index),
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
        assert_eq!(piece_sizes(&small), vec![100]);
        let big: Vec<Entry> = (1..=10).map(|i| entry(i, 1 << 20)).collect();
        assert_eq!(piece_sizes(&big), vec![3, 3, 3, 1]);
        // One entry goes whatever its size.
        assert_eq!(piece_sizes(&big[..1]), vec![1]);
        let huge = vec![entry(1, MAX_APPEND_BYTES + 1), entry(2, 1)];
        assert_eq!(piece_sizes(&huge), vec![1, 1]);
        assert!(piece_sizes(&[]).is_empty());
    }

    #[test]
    fn split_requests_continue_from_each_other() {
        let vote = Vote::new_committed(1, 0);
        let req = typ::AppendEntriesRequest {
            vote,
            prev_log_id: None,
            entries: (1..=10).map(|i| entry(i, 1 << 20)).collect(),
            leader_commit: None,
        };
        let parts = split_append(req);
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0].prev_log_id, None);
        for w in parts.windows(2) {
            assert_eq!(w[1].prev_log_id, w[0].entries.last().map(|e| e.log_id));
        }
        let total: usize = parts.iter().map(|p| p.entries.len()).sum();
        assert_eq!(total, 10);
    }
}
