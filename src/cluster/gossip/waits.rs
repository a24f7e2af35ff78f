//! What a replica's coordinating role is waiting for: quorum writes waiting for
//! acknowledgements, quorum reads waiting for replies, session reads waiting for a version,
//! and the writes held for replicas that missed them (hinted handoff).
//!
//! Plain state, below both `core` (which owns one [`Coordinator`] per replica) and `quorum`
//! (the `impl GossipCore` block that fills and drains it), so neither imports the other for
//! it.
//!
//! Deliberately left out: the protocol itself (see `quorum`).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::ring::Ring;
use super::types::{NodeId, ReqId, Update, Version};

/// A quorum write waiting for acknowledgements.
pub(super) struct WriteWait {
    pub(super) req: ReqId,
    pub(super) update: Update,
    pub(super) replicas: Vec<NodeId>,
    pub(super) acked: Vec<NodeId>,
    pub(super) answered: bool,
    pub(super) deadline_us: u64,
}

/// A quorum read waiting for replies.
pub(super) struct ReadWait {
    pub(super) req: ReqId,
    pub(super) replicas: Vec<NodeId>,
    /// `(replica, version it answered with)`.
    pub(super) replies: Vec<(NodeId, Option<Version>)>,
    pub(super) newest: Option<Update>,
    pub(super) answered: bool,
    pub(super) deadline_us: u64,
}

/// A session read waiting for its version.
pub(super) struct SessionWait {
    pub(super) req: ReqId,
    pub(super) key: String,
    pub(super) after: Version,
    pub(super) fetched: bool,
    pub(super) deadline_us: u64,
}

/// The coordinator state of a replica.
pub struct Coordinator {
    pub ring: Arc<Ring>,
    pub(super) writes: BTreeMap<u64, WriteWait>,
    pub(super) reads: BTreeMap<u64, ReadWait>,
    pub(super) sessions: BTreeMap<u64, SessionWait>,
    /// Per replica, per key: the newest write it has not acknowledged.
    pub(super) hints: BTreeMap<NodeId, BTreeMap<String, Update>>,
    pub(super) next_hint_us: u64,
}

impl Coordinator {
    pub fn new(ring: Arc<Ring>) -> Coordinator {
        Coordinator {
            ring,
            writes: BTreeMap::new(),
            reads: BTreeMap::new(),
            sessions: BTreeMap::new(),
            hints: BTreeMap::new(),
            next_hint_us: 0,
        }
    }

    /// The earliest time `tick` has coordinator work to do.
    pub fn next_deadline_us(&self) -> Option<u64> {
        let waits = self
            .writes
            .values()
            .map(|w| w.deadline_us)
            .chain(self.reads.values().map(|r| r.deadline_us))
            .chain(self.sessions.values().map(|s| s.deadline_us));
        let hints = (!self.hints.is_empty()).then_some(self.next_hint_us);
        waits.chain(hints).min()
    }

    /// Writes held for other replicas (hinted handoff), in all.
    pub fn hints_held(&self) -> usize {
        self.hints.values().map(BTreeMap::len).sum()
    }
}
