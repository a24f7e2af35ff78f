//! The client protocol every system speaks, and the wire envelope that carries it.
//!
//! Clients send a [`ClientRequest`] to one node and wait for the [`ClientResponse`] with the
//! same `id`. Every system's network carries [`Wire<P>`]: client traffic plus the system's
//! own peer messages `P`, so one endpoint (one inbox, one port) serves both, as a real server
//! would.
//!
//! Deliberately left out: retries and redirects on the client side. A client talks to the
//! node nearest to it; whether that node forwards (Raft followers do) is the system's
//! business, and the client pays for it in latency.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A client operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientOp {
    /// Replace the picture of `key` with `value` (a unique label) and its bytes.
    Write {
        key: String,
        value: String,
        picture: Bytes,
    },
    /// Return the current picture of `key`. `after`: a session token, the newest version of
    /// `key` the user's devices have seen (systems without sessions ignore it).
    Read {
        key: String,
        #[serde(default)]
        after: Option<SystemVersion>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRequest {
    /// Chosen by the client; echoed in the response.
    pub id: u64,
    pub op: ClientOp,
}

/// A position in a system's own order of writes, compared lexicographically: for gossip
/// the LWW version `[wall_us, logical, node]`, for Raft `[log_index, position_in_entry]`
/// (the leader batches writes that arrive together into one log entry). It lets checks tell
/// whether a write was superseded by a later one in the system's own eyes.
pub type SystemVersion = Vec<u64>;

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientOk {
    /// The write took effect at this position of the system's order.
    Written { version: SystemVersion },
    /// The current value (`None`: no picture yet), its picture bytes, and the version of the
    /// write that produced it.
    Read {
        value: Option<String>,
        picture: Bytes,
        version: Option<SystemVersion>,
    },
}

/// A failed answer. Whether the operation may still take effect matters for checking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientError {
    /// The operation definitely did not take effect (e.g. no leader to accept it).
    Rejected(String),
    /// The node could not tell whether it took effect (e.g. leadership lost mid-commit).
    Indeterminate(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientResponse {
    pub id: u64,
    pub result: Result<ClientOk, ClientError>,
}

/// Everything that travels on a system's network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Wire<P> {
    Request(ClientRequest),
    Response(ClientResponse),
    Peer(P),
}
