//! Runs one [`GossipCore`] replica on the simulated network.
//!
//! The driver is a single task per node: it takes messages from the node's inbox (client
//! requests and peer messages), wakes for anti-entropy rounds, feeds the core, and carries
//! out the core's [`Output`]: peer messages to send, client replies, `apply` events, and, for
//! a durable replica, appending every newly visible update to the node's log file.
//!
//! Deliberately left out: batching of sends (each core message is one frame, so message
//! counts are the protocol's own) and fsync (a durable replica's log survives our simulated
//! crash, which is a process crash, not a power cut).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::core::{GossipCore, NodeId, Now, Output, PeerMsg, ReadAnswer, Update, Version};
use crate::cluster::client::{
    ClientError, ClientOk, ClientOp, ClientRequest, ClientResponse, Wire,
};
use crate::cluster::{wall_clock_us, ClusterError};
use crate::history::{Event, EventKind, RecordSink, RunClock};
use crate::net::{Delivery, EndpointId, Inbox, Sender};

/// What a node task needs besides its core.
pub(super) struct NodeEnv {
    pub name: String,
    pub sender: Sender<Wire<PeerMsg>>,
    pub inbox: Inbox<Wire<PeerMsg>>,
    pub node_ids: Arc<Vec<EndpointId>>,
    pub clock: RunClock,
    pub skew: Arc<AtomicI64>,
    pub paused: watch::Receiver<bool>,
    pub events: RecordSink<Event>,
    pub log: Option<DurableLog>,
    pub cancel: CancellationToken,
}

/// The append-only file of a durable replica: length-prefixed postcard [`Update`]s.
pub(super) struct DurableLog {
    path: PathBuf,
    out: BufWriter<File>,
}

impl DurableLog {
    /// Opens (creating if needed) the log and returns it with every update it holds.
    pub fn open(path: &Path) -> Result<(DurableLog, Vec<Update>), ClusterError> {
        let io = |source| ClusterError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut bytes = Vec::new();
        if path.exists() {
            File::open(path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(io)?;
        }
        let mut updates = Vec::new();
        let mut rest = &bytes[..];
        // A torn last record (crash mid-append) is ignored.
        while rest.len() >= 4 {
            let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if rest.len() < 4 + len {
                break;
            }
            match postcard::from_bytes::<Update>(&rest[4..4 + len]) {
                Ok(u) => updates.push(u),
                Err(_) => break,
            }
            rest = &rest[4 + len..];
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok((
            DurableLog {
                path: path.to_path_buf(),
                out: BufWriter::new(file),
            },
            updates,
        ))
    }

    fn append(&mut self, u: &Update) -> Result<(), ClusterError> {
        let io = |source| ClusterError::Io {
            path: self.path.clone(),
            source,
        };
        let bytes = postcard::to_stdvec(u).map_err(|e| ClusterError::Other(e.to_string()))?;
        self.out
            .write_all(&(bytes.len() as u32).to_le_bytes())
            .map_err(io)?;
        self.out.write_all(&bytes).map_err(io)
    }

    fn flush(&mut self) -> Result<(), ClusterError> {
        self.out.flush().map_err(|source| ClusterError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

/// Runs a replica until cancelled.
pub(super) async fn run_node(mut core: GossipCore, mut env: NodeEnv) {
    let by_endpoint: BTreeMap<EndpointId, NodeId> = env
        .node_ids
        .iter()
        .enumerate()
        .map(|(i, e)| (*e, i as NodeId))
        .collect();
    let mut pending: BTreeMap<u64, (EndpointId, u64)> = BTreeMap::new();
    let mut next_req = 0u64;
    loop {
        // A paused node does nothing at all until resumed (its traffic is held meanwhile).
        while *env.paused.borrow() {
            tokio::select! {
                biased;
                _ = env.cancel.cancelled() => return,
                r = env.paused.changed() => if r.is_err() { return },
            }
        }
        let wake = core.next_tick_us().map(|t| {
            env.clock
                .instant_at(Duration::from_micros(t))
                .max(crate::sim::now())
        });
        let delivery = tokio::select! {
            biased;
            _ = env.cancel.cancelled() => return,
            _ = env.paused.changed() => continue,
            _ = sleep_until(wake) => None,
            d = env.inbox.recv() => match d {
                Some(d) => Some(d),
                None => return,
            },
        };
        let now = Now {
            mono_us: env.clock.now_us(),
            wall_us: wall_clock_us(&env.clock, env.skew.load(Ordering::Relaxed)),
        };
        let out = match delivery {
            None => core.tick(now),
            Some(Delivery {
                from,
                msg: Wire::Peer(m),
            }) => match by_endpoint.get(&from) {
                Some(peer) => core.step(now, *peer, m),
                None => Output::default(),
            },
            Some(Delivery {
                from,
                msg: Wire::Request(ClientRequest { id, op }),
            }) => match op {
                ClientOp::Read { key, after } => {
                    next_req += 1;
                    pending.insert(next_req, (from, id));
                    let after = after.as_deref().and_then(Version::from_order);
                    core.read_request(now, next_req, &key, after)
                }
                ClientOp::Write {
                    key,
                    value,
                    picture,
                } => {
                    next_req += 1;
                    pending.insert(next_req, (from, id));
                    core.write(now, next_req, &key, &value, picture)
                }
            },
            Some(Delivery {
                msg: Wire::Response(_),
                ..
            }) => Output::default(),
        };
        if let Err(e) = carry_out(&core, &mut env, out, &mut pending) {
            // The durable log failed: the node cannot keep its promise, so it stops, as a
            // real server with a broken disk would.
            env.events.record(Event {
                t_us: env.clock.now_us(),
                kind: EventKind::Crash {
                    node: format!("{} ({e})", env.name),
                },
            });
            return;
        }
    }
}

async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

fn reply(env: &NodeEnv, to: EndpointId, id: u64, result: Result<ClientOk, ClientError>) {
    // A failed send (encoding) cannot happen for these types; a lost reply is the network's
    // business and shows up as a client timeout.
    let _ = env
        .sender
        .send(to, &Wire::Response(ClientResponse { id, result }));
}

fn carry_out(
    core: &GossipCore,
    env: &mut NodeEnv,
    out: Output,
    pending: &mut BTreeMap<u64, (EndpointId, u64)>,
) -> Result<(), ClusterError> {
    for (peer, msg) in out.send {
        if let Some(to) = env.node_ids.get(peer as usize) {
            let _ = env.sender.send(*to, &Wire::Peer(msg));
        }
    }
    if !out.applied.is_empty() {
        let t_us = env.clock.now_us();
        for (key, value) in &out.applied {
            if let Some(log) = env.log.as_mut() {
                if let Some(u) = core.updates_for(key) {
                    log.append(&u)?;
                }
            }
            env.events.record(Event {
                t_us,
                kind: EventKind::Apply {
                    node: env.name.clone(),
                    key: key.clone(),
                    value: value.clone(),
                },
            });
        }
        if let Some(log) = env.log.as_mut() {
            log.flush()?;
        }
    }
    for (req, version) in out.acked {
        if let Some((client, id)) = pending.remove(&req) {
            reply(
                env,
                client,
                id,
                Ok(ClientOk::Written {
                    version: version.to_order(),
                }),
            );
        }
    }
    for (req, answer) in out.read_done {
        if let Some((client, id)) = pending.remove(&req) {
            let result = match answer {
                ReadAnswer::Value(Some((value, picture, version))) => Ok(ClientOk::Read {
                    value: Some(value),
                    picture,
                    version: Some(version.to_order()),
                }),
                ReadAnswer::Value(None) => Ok(ClientOk::Read {
                    value: None,
                    picture: bytes::Bytes::new(),
                    version: None,
                }),
                ReadAnswer::Failed(why) => Err(ClientError::Rejected(why)),
            };
            reply(env, client, id, result);
        }
    }
    for (req, why) in out.write_failed {
        if let Some((client, id)) = pending.remove(&req) {
            reply(env, client, id, Err(ClientError::Indeterminate(why)));
        }
    }
    Ok(())
}
