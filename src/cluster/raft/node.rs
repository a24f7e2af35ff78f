//! One incarnation of a Raft node on the simulated network: the driver task that reads the
//! node's inbox, the client-facing service, and the metrics watcher.
//!
//! The driver takes each delivery from the node's endpoint and dispatches it:
//! - peer requests (AppendEntries, Vote, InstallSnapshot) get a task that calls the local
//!   openraft instance and answers;
//! - peer responses complete the matching call ([`Rpc::complete`]);
//! - client requests, and client operations forwarded by followers, get a task that serves
//!   them ([`Service::serve`]).
//!
//! Serving, by operation:
//! - **write**: the leader hands it to its proposer and answers once its entry is applied;
//!   a follower forwards it to the leader it knows of and relays the answer (the client pays
//!   the extra round trip); with no known leader it is rejected. A write whose fate cannot be
//!   known (leadership lost after proposing, no commit in time, the forward unanswered) is
//!   `Indeterminate`.
//!
//!   The proposer ([`run_proposer`]) keeps at most [`MAX_IN_FLIGHT`] entries proposed and not
//!   yet applied; writes arriving meanwhile wait and go into the next entry together (up to
//!   [`MAX_BATCH`] writes or [`MAX_BATCH_BYTES`]). An idle leader proposes a write at once;
//!   a busy one commits many per entry. This matters because openraft 0.9's core waits for
//!   every log append to be flushed before it does anything else, so without batching a
//!   `disk` leader could commit at most one write per fsync.
//! - **read**, `linearizable` policy: ReadIndex on the leader (`ensure_linearizable`, which
//!   confirms leadership with a quorum and waits until the read index is applied), then the
//!   leader's state machine answers; a follower forwards the read to the leader.
//! - **read**, `follower` policy: the local state machine answers at once.
//!
//! A forwarded operation is never forwarded again (no loops while leadership moves).
//! While the node is paused the driver takes nothing from its inbox (the network holds its
//! traffic anyway). When the incarnation ends (crash), every task it spawned is aborted.
//!
//! The watcher records a `leader_change` event whenever the node's view of (term, leader)
//! changes, and bumps a shared counter that [`super::RaftCluster::ready`] waits on.
//!
//! Deliberately left out: retrying on a new leader (the client decides) and batching client
//! requests (openraft batches entries in replication already).

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use openraft::ServerState;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::network::{Rpc, RpcRequest, RpcResponse};
use super::state_machine::StateMachine;
use super::types::{version, Metrics, NodeId, ProfileWrite, Raft, WriteBatch};
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
/// Entries the leader's proposer has proposed and not yet seen applied, at most.
pub const MAX_IN_FLIGHT: usize = 4;

/// A write waiting for the proposer, and where its answer goes.
pub(super) struct Proposal {
    pub write: ProfileWrite,
    pub reply: oneshot::Sender<Result<ClientOk, ClientError>>,
}

/// What serving client operations needs; shared by the tasks of one incarnation.
pub(super) struct Service {
    pub me: NodeId,
    pub raft: Raft,
    pub proposals: mpsc::UnboundedSender<Proposal>,
    pub metrics: watch::Receiver<Metrics>,
    pub sm: StateMachine,
    pub rpc: Rpc,
    pub node_ids: Arc<Vec<EndpointId>>,
    pub read_policy: ReadPolicy,
    /// Bound on ReadIndex confirmation.
    pub read_timeout: Duration,
    /// How long a follower waits for the leader's answer to a forwarded operation.
    pub forward_timeout: Duration,
}

/// Where the service stands in the cluster right now.
enum Role {
    Leader,
    Follower { leader: Option<NodeId> },
}

impl Service {
    fn role(&self) -> Role {
        let m = self.metrics.borrow();
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
        let (reply, answer) = oneshot::channel();
        if self.proposals.send(Proposal { write: w, reply }).is_err() {
            return Err(ClientError::Rejected("the node is stopping".into()));
        }
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
        match tokio::time::timeout(self.read_timeout, self.raft.ensure_linearizable()).await {
            Ok(Ok(_)) => Ok(self.local_read(&key)),
            Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)))) => {
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
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut waiting = JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = cancel.cancelled() => break,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let first = tokio::select! {
            _ = cancel.cancelled() => break,
            p = proposals.recv() => match p {
                Some(p) => p,
                None => break,
            },
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
        match raft.client_write_ff(WriteBatch { writes }).await {
            // The core is gone: the entry was never proposed.
            Err(e) => {
                for r in replies {
                    let _ = r.send(Err(ClientError::Rejected(format!(
                        "the node is stopping: {e}"
                    ))));
                }
            }
            Ok(applied) => {
                waiting.spawn(async move {
                    let _permit = permit;
                    let outcome = tokio::time::timeout(commit_timeout, applied).await;
                    for (position, r) in replies.into_iter().enumerate() {
                        let _ = r.send(match &outcome {
                            Ok(Ok(Ok(resp))) => Ok(ClientOk::Written {
                                version: version(resp.log_id.index, position),
                            }),
                            // openraft answers ForwardToLeader both when it refuses a
                            // proposal and when a proposed entry is truncated after
                            // leadership moved; the latter may still commit elsewhere, so
                            // the outcome is unknown.
                            Ok(Ok(Err(ClientWriteError::ForwardToLeader(f)))) => {
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
                        });
                    }
                });
            }
        }
        while waiting.try_join_next().is_some() {}
    }
    waiting.shutdown().await;
}

/// Runs the driver of one incarnation until cancelled or the network closes its inbox.
pub(super) async fn run_driver(
    service: Arc<Service>,
    mut endpoint: Endpoint<Wire<RaftPeer>>,
    mut paused: watch::Receiver<bool>,
    cancel: CancellationToken,
) {
    let mut tasks = JoinSet::new();
    loop {
        // A paused node takes nothing from its inbox until resumed.
        if *paused.borrow_and_update() {
            tokio::select! {
                _ = cancel.cancelled() => break,
                r = paused.changed() => if r.is_err() { break },
            }
            continue;
        }
        let delivery = tokio::select! {
            _ = cancel.cancelled() => break,
            r = paused.changed() => { if r.is_err() { break } continue }
            d = endpoint.recv() => match d {
                Some(d) => d,
                None => break,
            },
        };
        dispatch(&service, delivery, &mut tasks);
        while tasks.try_join_next().is_some() {}
    }
    // The process died: whatever it was doing stops with it.
    tasks.shutdown().await;
}

fn dispatch(service: &Arc<Service>, d: Delivery<Wire<RaftPeer>>, tasks: &mut JoinSet<()>) {
    let from = d.from;
    match d.msg {
        Wire::Peer(RaftPeer::Response { rpc_id, body }) => service.rpc.complete(rpc_id, body),
        Wire::Peer(RaftPeer::Request { rpc_id, body }) => {
            let s = service.clone();
            tasks.spawn(async move {
                let answer = match body {
                    RpcRequest::AppendEntries(req) => {
                        RpcResponse::AppendEntries(s.raft.append_entries(req).await)
                    }
                    RpcRequest::Vote(req) => RpcResponse::Vote(s.raft.vote(req).await),
                    RpcRequest::InstallSnapshot(req) => {
                        RpcResponse::InstallSnapshot(s.raft.install_snapshot(req).await)
                    }
                    RpcRequest::Client(op) => RpcResponse::Client(s.serve(op, true).await),
                };
                s.rpc.respond(from, rpc_id, answer);
            });
        }
        Wire::Request(ClientRequest { id, op }) => {
            let s = service.clone();
            tasks.spawn(async move {
                let result = s.serve(op, false).await;
                // A lost answer shows up as a client timeout.
                let _ = s
                    .rpc
                    .sender()
                    .send(from, &Wire::Response(ClientResponse { id, result }));
            });
        }
        Wire::Response(_) => {}
    }
}

/// Records a `leader_change` event whenever the node's (term, leader) changes, and bumps
/// `changes` on every metrics update. Ends when the Raft instance stops or on `cancel`.
pub(super) async fn watch_metrics(
    mut metrics: watch::Receiver<Metrics>,
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
            _ = cancel.cancelled() => return,
            r = metrics.changed() => if r.is_err() { return },
        }
    }
}
