//! An endpoint's inbox: two bounded queues, one for messages from nodes and one for
//! messages from clients, read with the nodes' queue first.
//!
//! A node's own protocol traffic (Raft's heartbeats and their answers, gossip rounds) must not
//! wait behind client requests. With one shared queue, a leader offered more client requests
//! than it can take filled its inbox with them, and every heartbeat answer then waited behind
//! thousands of requests: a read that needs a quorum's confirmation took hundreds of
//! milliseconds, and goodput under overload collapsed to a few percent of the peak. Real
//! systems keep the two apart for the same reason (etcd listens for peers and for clients on
//! different ports). Each queue stays in order; which queue a message joins is decided by the
//! sender's [`Role`].
//!
//! Deliberately left out: any further priority among nodes or among clients, and a deadline
//! on how long a client request may wait (the node decides what to do with old requests).
//! On the in-memory transport one reader decodes every frame for the endpoint in arrival
//! order, so a full client queue still holds back the node frames behind it there (the sim
//! engine never queues thousands of client requests); on TCP each connection has its own
//! reader and the queues are independent.

use tokio::sync::mpsc;

use super::network::{Delivery, Role};

/// Capacity of each queue; a full queue stops the reader that feeds it (back-pressure, as a
/// slow process would cause).
pub(super) const CAPACITY: usize = 8192;

/// The receiving side of an endpoint's two queues.
pub struct Inbox<M> {
    nodes: mpsc::Receiver<Delivery<M>>,
    clients: mpsc::Receiver<Delivery<M>>,
}

/// The sending side, held by the readers that decode frames into the inbox.
pub(super) struct InboxSender<M> {
    nodes: mpsc::Sender<Delivery<M>>,
    clients: mpsc::Sender<Delivery<M>>,
}

impl<M> Clone for InboxSender<M> {
    fn clone(&self) -> Self {
        InboxSender {
            nodes: self.nodes.clone(),
            clients: self.clients.clone(),
        }
    }
}

/// A new, empty inbox.
pub(super) fn inbox<M>() -> (InboxSender<M>, Inbox<M>) {
    let (nodes_tx, nodes) = mpsc::channel(CAPACITY);
    let (clients_tx, clients) = mpsc::channel(CAPACITY);
    (
        InboxSender {
            nodes: nodes_tx,
            clients: clients_tx,
        },
        Inbox { nodes, clients },
    )
}

impl<M> InboxSender<M> {
    /// The queue for messages from an endpoint with role `sender`.
    pub(super) fn queue(&self, sender: Role) -> &mpsc::Sender<Delivery<M>> {
        match sender {
            Role::Node => &self.nodes,
            Role::Client => &self.clients,
        }
    }
}

impl<M> Inbox<M> {
    /// The next message, from a node if any is waiting, else from a client; `None` once both
    /// queues are closed (the endpoint closed or the network shut down). Cancel-safe.
    pub async fn recv(&mut self) -> Option<Delivery<M>> {
        tokio::select! {
            biased;
            Some(d) = self.nodes.recv() => Some(d),
            Some(d) = self.clients.recv() => Some(d),
            else => None,
        }
    }

    /// How many client requests wait in the inbox (a node's measure of its own backlog).
    pub fn clients_waiting(&self) -> usize {
        self.clients.len()
    }

    /// True when no message waits in either queue.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.clients.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::EndpointId;

    fn d(from: u32, msg: &'static str) -> Delivery<&'static str> {
        Delivery {
            from: EndpointId(from),
            msg,
        }
    }

    #[tokio::test]
    async fn messages_from_nodes_are_taken_before_waiting_client_requests() {
        let (tx, mut inbox) = inbox();
        for i in 0..3 {
            let m = ["c0", "c1", "c2"][i];
            tx.queue(Role::Client).send(d(9, m)).await.unwrap();
        }
        tx.queue(Role::Node).send(d(1, "n0")).await.unwrap();
        tx.queue(Role::Node).send(d(1, "n1")).await.unwrap();
        let mut got = Vec::new();
        while !inbox.is_empty() {
            got.push(inbox.recv().await.unwrap().msg);
        }
        // Nodes first, each queue in its own order.
        assert_eq!(got, ["n0", "n1", "c0", "c1", "c2"]);
    }

    #[tokio::test]
    async fn the_inbox_ends_only_when_both_queues_are_closed() {
        let (tx, mut inbox) = inbox();
        tx.queue(Role::Client).send(d(9, "c0")).await.unwrap();
        let InboxSender { nodes, clients } = tx;
        drop(nodes);
        assert_eq!(inbox.recv().await.unwrap().msg, "c0");
        drop(clients);
        assert!(inbox.recv().await.is_none());
    }
}
