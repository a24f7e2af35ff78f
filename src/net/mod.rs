//! The simulated WAN: real TCP on 127.0.0.1 (or, for the sim engine, in-memory inboxes in
//! virtual time), shaped by one link layer.
//!
//! Every message between two endpoints (cluster nodes and clients) is handed to the
//! [`Network`], which picks the directed link's shaping from the topology (a client and a
//! node in the same DC use `client_delay`; anything else uses the DC pair's link), decides
//! drop / send now / queue in the link's pure [`link::LinkState`], and releases queued
//! messages at their delivery time from the [`delay_line`]. A per-link task then writes the
//! frames to a real TCP connection to the destination's listener (ports picked by the OS),
//! whose reader decodes them into the destination's inbox (messages from nodes queue apart
//! from client requests and are taken first, see [`Inbox`]). On the in-memory
//! [`Transport`] the released frames go straight to the destination's reader task instead,
//! and the delay line is a task on tokio's (paused, virtual) clock: the shaping, the rules
//! and the counters are the same code on both.
//!
//! At run time the network can cut links (one way or both, per endpoint pair or per DC
//! pair), heal them, override a DC pair's delay or loss, and pause an endpoint's traffic.
//! These rules compose: cuts and pauses are counted per source (a link cut twice stays cut
//! until both cuts are lifted), and delay and loss overrides stack (the most recent one in
//! force wins; lifting it restores the one below, else the topology's value). It counts
//! messages and bytes per link and per endpoint.
//!
//! Failures of the lab itself (a socket, bind, accept or connect that fails while the
//! destination listens, an undecodable frame) are [`LabFault`]s: the messages they cost are
//! counted apart (`dropped_lab`), and each is handed to a hook the runner turns into a
//! `lab_error` event. The network's configuration is plain shaping ([`NetConfig`]); it does
//! not know experiment files (the runner builds the configuration from the topology).
//!
//! Deliberately left out: bandwidth limits, duplication, and any knowledge of what the
//! messages mean (the network is generic over the message type).

pub mod delay;
pub mod delay_line;
pub mod frame;
mod inbox;
pub mod link;
mod network;
pub mod stats;

pub use inbox::Inbox;
pub use network::{
    Delivery, Endpoint, LabFault, LinkShape, NetConfig, NetError, Network, OverrideId, Role,
    Sender, Transport,
};
pub use stats::{EndpointStats, LinkStats};

use serde::{Deserialize, Serialize};

/// Index of a data centre (its position in the topology's list of DCs).
pub type DcIdx = usize;

/// Identifies one endpoint (a node or a client) of a [`Network`].
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct EndpointId(pub u32);

impl std::fmt::Display for EndpointId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "endpoint {}", self.0)
    }
}
