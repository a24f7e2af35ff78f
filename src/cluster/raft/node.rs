//! One incarnation of a Raft node on the simulated network: the driver task that reads the
//! node's inbox, the client-facing service, and the metrics watcher.
//!
//! The driver takes each delivery from the node's endpoint and dispatches it:
//! - peer requests (AppendEntries, Vote, Pre-Vote, snapshot chunks, TransferLeader) get a task
//!   that calls the local openraft instance and answers; the messages of a pipelined
//!   replication stream go, in sequence order, to one task per stream
//!   ([`run_append_stream`]) that feeds them to `Raft::stream_append` and answers each in
//!   order;
//! - peer responses complete the matching call ([`Rpc::complete`]);
//! - a client's write that reaches the leader goes straight to the proposer, which answers
//!   the client itself once the write's entry is applied (no task per write); other client
//!   requests, and client operations forwarded by followers, get a task that serves them
//!   ([`Service::serve`]).
//!
//! Serving, by operation:
//! - **write**: the leader hands it to its proposer and answers once its entry is applied;
//!   a follower forwards it to the leader it knows of and relays the answer (the client pays
//!   the extra round trip); with no known leader it is rejected. A write whose fate cannot be
//!   known (leadership lost after proposing, no commit in time, the forward unanswered) is
//!   `Indeterminate`.
//!
//!   The proposer ([`run_proposer`]) proposes every write the moment it is free to: it takes
//!   the write that arrived and whatever else is already waiting (up to [`MAX_BATCH`] writes
//!   or [`MAX_BATCH_BYTES`]) into one entry, hands it to openraft, and goes straight back for
//!   the next; it does not wait for an entry to commit (each entry's answer comes back
//!   through its own responder) unless [`MAX_OPEN_ENTRIES`] of its entries are still
//!   unanswered: then writes gather until one is answered and go out together as one entry.
//!   So an idle leader proposes a write at once, a busy one proposes a steady stream of
//!   entries, each batching what arrived during the previous proposal, and a saturated one
//!   proposes fewer, larger entries (openraft's work per entry is what saturates it: with one
//!   write per entry a loopback cluster fell to 1.07 writes per entry under overload).
//!   Backpressure is bounded and explicit: a leader with [`MAX_PENDING_WRITES`] writes
//!   proposed and not yet answered rejects further writes at once (`overloaded`) instead of
//!   queueing them without limit, and so does any node with more than
//!   [`MAX_CLIENT_BACKLOG`] client requests waiting in its inbox (for every kind of
//!   operation), so a request is never held long before it is either served or refused.
//! - **read**, `linearizable` policy: ReadIndex on the leader (`ensure_linearizable`, which
//!   confirms leadership with a quorum and waits until the read index is applied), then the
//!   leader's state machine answers; a follower forwards the read to the leader.
//! - **read**, `lease` policy: like `linearizable`, but while the leader's lease holds
//!   (a quorum acknowledged it within the last election timeout) openraft skips the quorum
//!   round trip (LeaseRead). Correct only if clocks drift less than the lease margin: a
//!   follower waits at least `election_timeout_min` of its own time after the last heartbeat
//!   before it may vote for a new leader, and the leader assumes that much of its own time
//!   has not passed yet.
//!
//!   Reads on the leader are bounded as well: beyond [`MAX_PENDING_READS`] waiting for
//!   confirmation, a read is rejected at once (`overloaded`).
//! - **read**, `follower` policy: the local state machine answers at once.
//!
//! A forwarded operation is never forwarded again (no loops while leadership moves).
//! While the node is paused the driver takes nothing from its inbox (the network holds its
//! traffic anyway). When the incarnation ends (crash), every task it spawned is aborted.
//!
//! The watcher records a `leader_change` event whenever the node's view of (term, leader)
//! changes, and bumps a shared counter that [`super::RaftCluster::ready`] waits on.
//!
//! Deliberately left out: retrying on a new leader (the client decides) and de-duplicating
//! retried writes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use openraft::async_runtime::watch::WatchReceiver;
use openraft::error::{ClientWriteError, LinearizableReadError, RaftError};
use openraft::impls::ProgressResponder;
use openraft::ServerState;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::network::{Rpc, RpcRequest, RpcResponse};
use super::state_machine::StateMachine;
use super::types::{
    typ, version, MetricsWatch, NodeId, ProfileWrite, Raft, Snapshot, SnapshotMeta, Vote,
    WriteBatch,
};
use super::RaftPeer;
use crate::cluster::client::{
    ClientError, ClientOk, ClientOp, ClientRequest, ClientResponse, Wire,
};
use crate::experiment::ReadPolicy;
use crate::history::{Event, EventKind, RecordSink, RunClock};
use crate::net::{Delivery, Endpoint, EndpointId};

/// Most writes in one log entry.
pub const MAX_BATCH: usize = 512;
/// Most picture bytes in one log entry (one larger picture still gets an entry of its own).
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// Entries the proposer keeps proposed and not yet answered before it lets writes gather:
/// beyond this, the next entry waits until one of them is answered and then carries every
/// write that arrived meanwhile (up to [`MAX_BATCH`]). On loopback a saturated leader gets
/// there within a millisecond, so it batches instead of paying openraft's per-entry work
/// for every write; on a WAN the open entries are those of one round trip (about 15 at the
/// example experiments' write rates), far below it, so a write there is still proposed on
/// arrival.
pub const MAX_OPEN_ENTRIES: usize = 64;
/// Writes the leader holds proposed and not yet answered, at most; beyond, writes are shed.
/// Small enough that a saturated leader still answers what it accepted well within a
/// client's timeout (at 10,000 writes/s, 2,048 queued writes wait about 0.2 s), so goodput
/// stays near the peak instead of collapsing into timeouts.
pub const MAX_PENDING_WRITES: usize = 2_048;
/// Reads the leader holds waiting for leadership confirmation, at most; beyond, reads are
/// shed (openraft confirms many waiting reads with one quorum round).
pub const MAX_PENDING_READS: usize = 4_096;

/// Client requests waiting in a node's inbox, at most, before it sheds the next one it
/// takes. Without it a node offered far beyond its capacity accepted everything it took
/// (its pending slots drained as fast as it took requests) while the rest queued in its
/// inbox and in TCP: at 80,000 writes/s in memory no write was shed, and writes waited
/// 27-465 ms (p50) before the leader even saw them. At the rate a saturated node takes
/// requests (60,000-80,000/s on loopback) this backlog is about 15 ms.
pub const MAX_CLIENT_BACKLOG: usize = 1_024;

/// A write waiting for the proposer, and where its answer goes.
pub(super) struct Proposal {
    pub write: ProfileWrite,
    pub reply: Reply,
}

/// Where a proposed write's answer goes. Either way the write holds one of the leader's
/// pending-write slots, released when the answer is sent (or, if it never is, when the
/// reply is dropped).
pub(super) enum Reply {
    /// To a task waiting for it (a forwarded write, or one served by a task).
    Waiting {
        tx: oneshot::Sender<Result<ClientOk, ClientError>>,
        slot: Slot,
    },
    /// Straight to the client that sent it.
    Client {
        rpc: Rpc,
        to: EndpointId,
        id: u64,
        slot: Slot,
    },
}

impl Reply {
    fn send(self, result: Result<ClientOk, ClientError>) {
        match self {
            Reply::Waiting { tx, slot } => {
                drop(slot);
                let _ = tx.send(result);
            }
            Reply::Client { rpc, to, id, slot } => {
                drop(slot);
                answer_client(&rpc, to, id, result);
            }
        }
    }
}

/// Sends client `to` the answer to its request `id`. A lost answer shows up as a client
/// timeout.
fn answer_client(rpc: &Rpc, to: EndpointId, id: u64, result: Result<ClientOk, ClientError>) {
    let _ = rpc
        .sender()
        .send(to, &Wire::Response(ClientResponse { id, result }));
}

/// What serving client operations needs; shared by the tasks of one incarnation.
pub(super) struct Service {
    pub me: NodeId,
    pub raft: Raft,
    pub proposals: mpsc::UnboundedSender<Proposal>,
    pub metrics: MetricsWatch,
    pub sm: StateMachine,
    pub rpc: Rpc,
    pub node_ids: Arc<Vec<EndpointId>>,
    pub read_policy: ReadPolicy,
    /// Bound on ReadIndex confirmation.
    pub read_timeout: Duration,
    /// How long a follower waits for the leader's answer to a forwarded operation.
    pub forward_timeout: Duration,
    /// Writes handed to the proposer and not yet answered.
    pub pending_writes: Arc<AtomicUsize>,
    /// Reads waiting for leadership confirmation.
    pub pending_reads: Arc<AtomicUsize>,
    /// Snapshot being received, by sender: (transfer id, bytes so far). A std mutex is fine:
    /// never held across an await.
    pub snapshots: Mutex<BTreeMap<EndpointId, (u64, Vec<u8>)>>,
}

/// One of a pending counter's slots: taken by [`Slot::take`], given back when dropped. It
/// owns its counter, so it can travel with a proposal.
pub(super) struct Slot(Arc<AtomicUsize>);

impl Slot {
    /// Takes one of `limit` slots of `counter`, or `None` if all are taken (and then the
    /// count is left as it was).
    fn take(counter: &Arc<AtomicUsize>, limit: usize) -> Option<Self> {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(counter.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn overloaded_writes() -> ClientError {
    ClientError::Rejected(format!(
        "overloaded: {MAX_PENDING_WRITES} writes already pending on the leader"
    ))
}

fn overloaded_reads() -> ClientError {
    ClientError::Rejected(format!(
        "overloaded: {MAX_PENDING_READS} reads already pending on the leader"
    ))
}

/// Where the service stands in the cluster right now.
enum Role {
    Leader,
    Follower { leader: Option<NodeId> },
}

impl Service {
    fn role(&self) -> Role {
        let m = self.metrics.borrow_watched();
        if m.state == ServerState::Leader && m.current_leader == Some(self.me) {
            Role::Leader
        } else {
            Role::Follower {
                leader: m.current_leader.filter(|l| *l != self.me),
            }
        }
    }

    /// Serves one client operation; `forwarded` when a follower sent it here.
    pub async fn serve(&self, op: ClientOp, forwarded: bool) -> Result<ClientOk, ClientError> {
        match op {
            ClientOp::Read { key, .. } => self.read(key, forwarded).await,
            ClientOp::Write {
                key,
                value,
                picture,
            } => {
                self.write(
                    ProfileWrite {
                        key,
                        value,
                        picture,
                    },
                    forwarded,
                )
                .await
            }
        }
    }

    /// The `overloaded` rejection for `op` if more than [`MAX_CLIENT_BACKLOG`] client
    /// requests wait behind it (`backlog`; 0 for an operation forwarded by a node) or the
    /// leader's queue for its kind is full right now, so the driver can answer at once,
    /// before spending a task on it (shedding must cost less than serving, or goodput
    /// collapses beyond saturation). Only a leader's queues fill up; [`Service::serve`]
    /// still takes a slot, so a race here only means the operation is shed a little later.
    fn shed(&self, op: &ClientOp, backlog: usize) -> Option<ClientError> {
        if backlog > MAX_CLIENT_BACKLOG {
            return Some(ClientError::Rejected(format!(
                "overloaded: {backlog} client requests already queued at the node"
            )));
        }
        let full = |n: &AtomicUsize, limit: usize| n.load(Ordering::Acquire) >= limit;
        match op {
            ClientOp::Write { .. } if full(&self.pending_writes, MAX_PENDING_WRITES) => {
                Some(overloaded_writes())
            }
            ClientOp::Read { .. }
                if self.read_policy != ReadPolicy::Follower
                    && full(&self.pending_reads, MAX_PENDING_READS) =>
            {
                Some(overloaded_reads())
            }
            _ => None,
        }
    }

    /// Takes a pending-write slot and hands `write` to the proposer, with the reply `reply`
    /// makes of the slot; `overloaded` if every slot is taken. On an error the reply is
    /// dropped (and its slot given back) unanswered.
    fn propose(
        &self,
        write: ProfileWrite,
        reply: impl FnOnce(Slot) -> Reply,
    ) -> Result<(), ClientError> {
        let slot =
            Slot::take(&self.pending_writes, MAX_PENDING_WRITES).ok_or_else(overloaded_writes)?;
        self.proposals
            .send(Proposal {
                write,
                reply: reply(slot),
            })
            .map_err(|_| ClientError::Rejected("the node is stopping".into()))
    }

    /// Hands a write from client `to` (request `id`) to the proposer, which answers the
    /// client itself; a full queue or a stopping node answers at once.
    fn propose_for(&self, to: EndpointId, id: u64, write: ProfileWrite) {
        let rpc = self.rpc.clone();
        let proposed = self.propose(write, |slot| Reply::Client { rpc, to, id, slot });
        if let Err(e) = proposed {
            answer_client(&self.rpc, to, id, Err(e));
        }
    }

    async fn write(&self, w: ProfileWrite, forwarded: bool) -> Result<ClientOk, ClientError> {
        match self.role() {
            Role::Leader => {}
            Role::Follower { .. } if forwarded => {
                return Err(ClientError::Rejected(
                    "forwarded to a node that is no longer the leader".into(),
                ))
            }
            Role::Follower { leader: Some(l) } => {
                let op = ClientOp::Write {
                    key: w.key,
                    value: w.value,
                    picture: w.picture,
                };
                return self.forward(l, op, true).await;
            }
            Role::Follower { leader: None } => {
                return Err(ClientError::Rejected("no leader known".into()))
            }
        }
        let (tx, answer) = oneshot::channel();
        self.propose(w, |slot| Reply::Waiting { tx, slot })?;
        answer.await.unwrap_or_else(|_| {
            Err(ClientError::Indeterminate(
                "the node stopped while writing".into(),
            ))
        })
    }

    async fn read(&self, key: String, forwarded: bool) -> Result<ClientOk, ClientError> {
        if self.read_policy == ReadPolicy::Follower {
            return Ok(self.local_read(&key));
        }
        match self.role() {
            Role::Leader => {}
            Role::Follower { .. } if forwarded => {
                return Err(ClientError::Rejected(
                    "forwarded to a node that is no longer the leader".into(),
                ))
            }
            Role::Follower { leader: Some(l) } => {
                return self
                    .forward(l, ClientOp::Read { key, after: None }, false)
                    .await
            }
            Role::Follower { leader: None } => {
                return Err(ClientError::Rejected("no leader known".into()))
            }
        }
        let Some(_slot) = Slot::take(&self.pending_reads, MAX_PENDING_READS) else {
            return Err(overloaded_reads());
        };
        let policy = match self.read_policy {
            ReadPolicy::Lease => openraft::ReadPolicy::LeaseRead,
            _ => openraft::ReadPolicy::ReadIndex,
        };
        match tokio::time::timeout(self.read_timeout, self.raft.ensure_linearizable(policy)).await {
            Ok(Ok(_)) => Ok(self.local_read(&key)),
            Ok(Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(f)))) => {
                match f.leader_id {
                    Some(l) if !forwarded && l != self.me => {
                        self.forward(l, ClientOp::Read { key, after: None }, false)
                            .await
                    }
                    _ => Err(ClientError::Rejected("not the leader any more".into())),
                }
            }
            Ok(Err(e)) => Err(ClientError::Rejected(e.to_string())),
            Err(_) => Err(ClientError::Rejected(format!(
                "leadership not confirmed within {:?}",
                self.read_timeout
            ))),
        }
    }

    fn local_read(&self, key: &str) -> ClientOk {
        match self.sm.read(key) {
            Some(p) => ClientOk::Read {
                value: Some(p.value),
                picture: p.picture,
                version: Some(p.version),
            },
            None => ClientOk::Read {
                value: None,
                picture: bytes::Bytes::new(),
                version: None,
            },
        }
    }

    async fn forward(
        &self,
        leader: NodeId,
        op: ClientOp,
        is_write: bool,
    ) -> Result<ClientOk, ClientError> {
        let Some(to) = usize::try_from(leader)
            .ok()
            .and_then(|i| self.node_ids.get(i).copied())
        else {
            return Err(ClientError::Rejected(format!("unknown leader {leader}")));
        };
        match self
            .rpc
            .call(to, RpcRequest::Client(op), self.forward_timeout)
            .await
        {
            Ok(RpcResponse::Client(r)) => r,
            Ok(_) => Err(ClientError::Rejected(
                "the leader answered out of protocol".into(),
            )),
            Err(e) if is_write => Err(ClientError::Indeterminate(format!(
                "forwarded to the leader: {e}"
            ))),
            Err(e) => Err(ClientError::Rejected(format!(
                "forwarded to the leader: {e}"
            ))),
        }
    }
}

/// Proposes the leader's writes in batches (see the module docs) until cancelled or every
/// sender is gone. Each write's answer goes to its [`Proposal::reply`].
pub(super) async fn run_proposer(
    raft: Raft,
    mut proposals: mpsc::UnboundedReceiver<Proposal>,
    commit_timeout: Duration,
    cancel: CancellationToken,
) {
    let mut waiting = JoinSet::new();
    'propose: loop {
        // Under load, writes gather while the pipeline is this full: the next entry then
        // carries all of them instead of one entry per write.
        while waiting.len() >= MAX_OPEN_ENTRIES {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break 'propose,
                _ = waiting.join_next() => {}
            }
        }
        let first = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            p = proposals.recv() => match p {
                Some(p) => p,
                None => break,
            },
            // An entry answered: its task is done (nothing else to do with it).
            Some(_) = waiting.join_next(), if !waiting.is_empty() => continue,
        };
        let mut bytes = first.write.picture.len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match proposals.try_recv() {
                Ok(p) => {
                    bytes += p.write.picture.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        let (writes, replies): (Vec<ProfileWrite>, Vec<_>) =
            batch.into_iter().map(|p| (p.write, p.reply)).unzip();
        let (responder, applied) = ProgressResponder::complete_only();
        match raft
            .client_write_ff(WriteBatch { writes }, Some(responder))
            .await
        {
            // The core is gone: the entry was never proposed.
            Err(e) => {
                for r in replies {
                    r.send(Err(ClientError::Rejected(format!(
                        "the node is stopping: {e}"
                    ))));
                }
            }
            Ok(()) => {
                waiting.spawn(async move {
                    let outcome = tokio::time::timeout(commit_timeout, applied).await;
                    for (position, r) in replies.into_iter().enumerate() {
                        r.send(write_outcome(&outcome, position, commit_timeout));
                    }
                });
            }
        }
        while waiting.try_join_next().is_some() {}
    }
    waiting.shutdown().await;
}

/// What the client of the write at `position` in an entry hears, given the entry's fate.
fn write_outcome<E>(
    outcome: &Result<Result<typ::ClientWriteResult, E>, tokio::time::error::Elapsed>,
    position: usize,
    commit_timeout: Duration,
) -> Result<ClientOk, ClientError> {
    match outcome {
        Ok(Ok(Ok(resp))) => Ok(ClientOk::Written {
            version: version(resp.log_id.index, position),
        }),
        // Refused before it was appended: it never entered any log.
        Ok(Ok(Err(ClientWriteError::ForwardToLeader(f)))) => Err(ClientError::Rejected(format!(
            "not the leader (leader: {:?})",
            f.leader_id
        ))),
        // Appended, then discarded when leadership moved: it may still commit elsewhere.
        Ok(Ok(Err(ClientWriteError::LogEntryDiscarded(f)))) => {
            Err(ClientError::Indeterminate(format!(
                "leadership moved while writing (new leader: {:?})",
                f.leader_id
            )))
        }
        Ok(Ok(Err(e))) => Err(ClientError::Rejected(e.to_string())),
        Ok(Err(_)) => Err(ClientError::Indeterminate(
            "the node stopped while writing".into(),
        )),
        Err(_) => Err(ClientError::Indeterminate(format!(
            "not committed within {commit_timeout:?}"
        ))),
    }
}

/// Runs the driver of one incarnation until cancelled or the network closes its inbox.
pub(super) async fn run_driver(
    service: Arc<Service>,
    mut endpoint: Endpoint<Wire<RaftPeer>>,
    mut paused: watch::Receiver<bool>,
    cancel: CancellationToken,
) {
    let mut tasks = JoinSet::new();
    let mut streams = Streams::new();
    loop {
        // A paused node takes nothing from its inbox until resumed.
        if *paused.borrow_and_update() {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                r = paused.changed() => if r.is_err() { break },
            }
            continue;
        }
        let delivery = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            r = paused.changed() => { if r.is_err() { break } continue }
            d = endpoint.recv() => match d {
                Some(d) => d,
                None => break,
            },
        };
        let backlog = endpoint.clients_waiting();
        dispatch(&service, delivery, backlog, &mut tasks, &mut streams);
        while tasks.try_join_next().is_some() {}
    }
    // The process died: whatever it was doing stops with it.
    tasks.shutdown().await;
}

/// One message of a pipelined replication stream: its sequence number, the id to answer,
/// and the request.
type StreamMsg = (u64, u64, typ::AppendEntriesRequest);

/// The replication streams this node follows: by leader endpoint and lane (replication or
/// heartbeats), the newest stream's id and the sender feeding its task. A leader has one
/// stream per lane at a time, so messages of an older stream are dropped (its leader gave up
/// on it) and a newer one replaces it (dropping the sender ends the older stream's task).
type Streams = BTreeMap<(EndpointId, u8), (u64, mpsc::UnboundedSender<StreamMsg>)>;

/// Handles one message; `backlog` is how many client requests still wait in the inbox.
fn dispatch(
    service: &Arc<Service>,
    d: Delivery<Wire<RaftPeer>>,
    backlog: usize,
    tasks: &mut JoinSet<()>,
    streams: &mut Streams,
) {
    let from = d.from;
    match d.msg {
        Wire::Peer(RaftPeer::Response { rpc_id, body }) => service.rpc.complete(rpc_id, body),
        Wire::Peer(RaftPeer::Request {
            rpc_id,
            body:
                RpcRequest::StreamAppend {
                    lane,
                    stream,
                    seq,
                    req,
                },
        }) => {
            let msg = (seq, rpc_id, req);
            match streams.get(&(from, lane)) {
                // If the stream's task ended (at an error), its leader has stopped waiting.
                Some((id, tx)) if *id == stream => {
                    let _ = tx.send(msg);
                }
                Some((id, _)) if *id > stream => {}
                // A newer stream of this leader on this lane.
                _ => {
                    let (tx, rx) = mpsc::unbounded_channel();
                    let _ = tx.send(msg);
                    streams.insert((from, lane), (stream, tx));
                    tasks.spawn(run_append_stream(service.clone(), from, rx));
                }
            }
        }
        Wire::Peer(RaftPeer::Request { rpc_id, body }) => {
            if let RpcRequest::Client(op) = &body {
                if let Some(e) = service.shed(op, 0) {
                    service
                        .rpc
                        .respond(from, rpc_id, RpcResponse::Client(Err(e)));
                    return;
                }
            }
            let s = service.clone();
            tasks.spawn(async move {
                let text = |e: &dyn std::fmt::Display| e.to_string();
                let answer = match body {
                    RpcRequest::AppendEntries(req) => RpcResponse::AppendEntries(
                        s.raft.append_entries(req).await.map_err(|e| text(&e)),
                    ),
                    RpcRequest::Vote(req) => {
                        RpcResponse::Vote(s.raft.vote(req).await.map_err(|e| text(&e)))
                    }
                    RpcRequest::PreVote(req) => {
                        RpcResponse::Vote(s.raft.pre_vote(req).await.map_err(|e| text(&e)))
                    }
                    RpcRequest::SnapshotChunk {
                        transfer,
                        offset,
                        data,
                        done,
                    } => RpcResponse::SnapshotChunk(
                        s.snapshot_chunk(from, transfer, offset, data, done).await,
                    ),
                    RpcRequest::TransferLeader(req) => RpcResponse::TransferLeader(
                        s.raft
                            .handle_transfer_leader(req)
                            .await
                            .map_err(|e| text(&e)),
                    ),
                    RpcRequest::Client(op) => RpcResponse::Client(s.serve(op, true).await),
                    // Routed to its stream above.
                    RpcRequest::StreamAppend { .. } => return,
                };
                s.rpc.respond(from, rpc_id, answer);
            });
        }
        Wire::Request(ClientRequest { id, op }) => {
            if let Some(e) = service.shed(&op, backlog) {
                answer_client(&service.rpc, from, id, Err(e));
                return;
            }
            // A write to the leader goes straight to the proposer and is answered from there:
            // no task, channel or wake-up of its own (and writes that arrive together reach
            // the proposer together, so they share entries).
            let op = match op {
                ClientOp::Write {
                    key,
                    value,
                    picture,
                } if matches!(service.role(), Role::Leader) => {
                    let write = ProfileWrite {
                        key,
                        value,
                        picture,
                    };
                    service.propose_for(from, id, write);
                    return;
                }
                op => op,
            };
            let s = service.clone();
            tasks.spawn(async move {
                let result = s.serve(op, false).await;
                answer_client(&s.rpc, from, id, result);
            });
        }
        Wire::Response(_) => {}
    }
}

impl Service {
    /// Takes one chunk of a snapshot from `from`; the last one installs the whole snapshot.
    async fn snapshot_chunk(
        &self,
        from: EndpointId,
        transfer: u64,
        offset: u64,
        data: Vec<u8>,
        done: Option<(Vote, SnapshotMeta)>,
    ) -> Result<Option<typ::SnapshotResponse>, String> {
        let complete = {
            let mut held = self.snapshots.lock();
            let entry = held.entry(from).or_insert_with(|| (transfer, Vec::new()));
            if entry.0 != transfer || offset == 0 {
                *entry = (transfer, Vec::new());
            }
            if entry.1.len() as u64 != offset {
                return Err(format!(
                    "snapshot chunk at {offset}, expected {}",
                    entry.1.len()
                ));
            }
            entry.1.extend_from_slice(&data);
            match done {
                None => return Ok(None),
                Some(d) => held.remove(&from).map(|(_, bytes)| (d, bytes)),
            }
        };
        let Some(((vote, meta), snapshot)) = complete else {
            return Err("snapshot transfer lost".into());
        };
        self.raft
            .install_full_snapshot(vote, Snapshot { meta, snapshot })
            .await
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

/// Follows one pipelined replication stream from `from`: feeds its requests to the local
/// `Raft::stream_append` strictly in sequence order and answers each, in order, as openraft
/// yields its result. Ends at the first error (as the leader's side does) or when the driver
/// goes away.
async fn run_append_stream(
    s: Arc<Service>,
    from: EndpointId,
    mut inbox: mpsc::UnboundedReceiver<StreamMsg>,
) {
    let (feed, fed) = mpsc::unbounded_channel::<typ::AppendEntriesRequest>();
    let input =
        futures_util::stream::unfold(
            fed,
            |mut fed| async move { fed.recv().await.map(|r| (r, fed)) },
        );
    let mut output = Box::pin(s.raft.stream_append(input));
    let mut next_seq = 0u64;
    let mut early: BTreeMap<u64, (u64, typ::AppendEntriesRequest)> = BTreeMap::new();
    let mut answer_to: VecDeque<u64> = VecDeque::new();
    loop {
        tokio::select! {
            biased;
            m = inbox.recv() => {
                let Some((seq, rpc_id, req)) = m else { break };
                early.insert(seq, (rpc_id, req));
                while let Some((rpc_id, req)) = early.remove(&next_seq) {
                    answer_to.push_back(rpc_id);
                    if feed.send(req).is_err() {
                        return;
                    }
                    next_seq += 1;
                }
            }
            r = output.next(), if !answer_to.is_empty() => {
                let (Some(r), Some(rpc_id)) = (r, answer_to.pop_front()) else { break };
                let stop = !matches!(r, Ok(Ok(_)));
                s.rpc.respond(from, rpc_id, RpcResponse::StreamAppend(r.map_err(|e| e.to_string())));
                if stop {
                    break;
                }
            }
        }
    }
}

/// Records a `leader_change` event whenever the node's (term, leader) changes, and bumps
/// `changes` on every metrics update. Ends when the Raft instance stops or on `cancel`.
pub(super) async fn watch_metrics(
    mut metrics: MetricsWatch,
    node: String,
    names: Arc<Vec<String>>,
    clock: RunClock,
    events: RecordSink<Event>,
    changes: watch::Sender<u64>,
    cancel: CancellationToken,
) {
    let mut last: (u64, Option<NodeId>) = (0, None);
    loop {
        let now = {
            let m = metrics.borrow_and_update();
            (m.current_term, m.current_leader)
        };
        if now != last {
            last = now;
            events.record(Event {
                t_us: clock.now_us(),
                kind: EventKind::LeaderChange {
                    node: node.clone(),
                    term: now.0,
                    leader: now
                        .1
                        .and_then(|l| usize::try_from(l).ok())
                        .and_then(|l| names.get(l).cloned()),
                },
            });
        }
        changes.send_modify(|n| *n = n.wrapping_add(1));
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            r = metrics.changed() => if r.is_err() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_slot_leaves_the_count_alone_and_a_dropped_one_gives_its_slot_back() {
        let count = Arc::new(AtomicUsize::new(0));
        let a = Slot::take(&count, 2).expect("first slot");
        let b = Slot::take(&count, 2).expect("second slot");
        for _ in 0..3 {
            assert!(Slot::take(&count, 2).is_none());
        }
        assert_eq!(
            count.load(Ordering::Acquire),
            2,
            "refusals changed the count"
        );
        drop(a);
        assert_eq!(count.load(Ordering::Acquire), 1);
        assert!(
            Slot::take(&count, 2).is_some(),
            "a given-back slot can be taken again"
        );
        drop(b);
        assert_eq!(count.load(Ordering::Acquire), 0);
    }
}
