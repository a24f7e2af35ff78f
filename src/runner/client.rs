//! A client of a system under test: one endpoint on the simulated network that sends
//! requests to nodes and matches their responses.
//!
//! Each [`Client`] is a real endpoint (its own listener on 127.0.0.1, its own DC, so the
//! link layer applies `client_delay` to nearby nodes and the WAN to remote ones). A router
//! task hands each [`ClientResponse`] to the call waiting for its id; a call that gets no
//! answer within its timeout returns [`CallResult::Timeout`] and a late answer is dropped.
//! A call the lab itself failed (the request could not be encoded or sent, or the link
//! layer lost the request or its answer to a [`crate::net::LabFault`]) returns
//! [`CallResult::LabFailure`]: it says nothing about the system.
//!
//! Deliberately left out: choosing the node (the runner does) and retrying.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::cluster::{ClientError, ClientOk, ClientOp, ClientRequest, ClientResponse, Wire};
use crate::experiment::DcIdx;
use crate::net::{EndpointId, NetError, Network, Role, Sender};

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CallResult {
    Ok(ClientOk),
    /// The system said the operation did not take effect.
    Rejected(String),
    /// The system said it cannot tell whether the operation took effect.
    Indeterminate(String),
    /// No answer in time.
    Timeout,
    /// The lab failed to carry the call (not the system's doing).
    LabFailure(String),
}

type Pending = Arc<Mutex<BTreeMap<u64, oneshot::Sender<ClientResponse>>>>;

/// One client endpoint.
pub struct Client<P> {
    sender: Sender<Wire<P>>,
    net: Network<Wire<P>>,
    pending: Pending,
    next_id: AtomicU64,
    router: tokio::task::JoinHandle<()>,
}

impl<P> Client<P>
where
    P: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Registers and opens a client endpoint named `name` in DC `dc`.
    pub async fn connect(net: &Network<Wire<P>>, name: &str, dc: DcIdx) -> Result<Self, NetError> {
        let endpoint = net.add_endpoint(name, dc, Role::Client).await?;
        let (sender, mut inbox, guard) = endpoint.split();
        let pending: Pending = Arc::new(Mutex::new(BTreeMap::new()));
        let routes = pending.clone();
        let router = tokio::spawn(async move {
            let _guard = guard;
            while let Some(d) = inbox.recv().await {
                if let Wire::Response(r) = d.msg {
                    if let Some(tx) = routes.lock().remove(&r.id) {
                        let _ = tx.send(r);
                    }
                }
            }
        });
        Ok(Client {
            sender,
            net: net.clone(),
            pending,
            next_id: AtomicU64::new(1),
            router,
        })
    }

    pub fn id(&self) -> EndpointId {
        self.sender.id()
    }

    /// Sends `op` to `node` and waits at most `timeout` for the answer.
    pub async fn call(&self, node: EndpointId, op: ClientOp, timeout: Duration) -> CallResult {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        let lab_drops = self.net.lab_drops(self.id(), node);
        if let Err(e) = self
            .sender
            .send(node, &Wire::Request(ClientRequest { id, op }))
        {
            self.pending.lock().remove(&id);
            return CallResult::LabFailure(format!("could not send the request: {e}"));
        }
        let result = tokio::time::timeout(timeout, rx).await;
        self.pending.lock().remove(&id);
        if result.is_err() && self.net.lab_drops(self.id(), node) > lab_drops {
            return CallResult::LabFailure(
                "the link layer lost messages between this client and its node to a lab \
                 failure while the call waited"
                    .into(),
            );
        }
        match result {
            Ok(Ok(ClientResponse { result: Ok(ok), .. })) => CallResult::Ok(ok),
            Ok(Ok(ClientResponse {
                result: Err(ClientError::Rejected(e)),
                ..
            })) => CallResult::Rejected(e),
            Ok(Ok(ClientResponse {
                result: Err(ClientError::Indeterminate(e)),
                ..
            })) => CallResult::Indeterminate(e),
            // The router is gone (network shut down) or the deadline passed.
            Ok(Err(_)) | Err(_) => CallResult::Timeout,
        }
    }
}

impl<P> Drop for Client<P> {
    fn drop(&mut self) {
        self.router.abort();
    }
}
