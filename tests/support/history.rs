//! Hand-written histories for the analysis tests: short constructors for operations and
//! events, and one call to analyse them. It leaves out any timing model: every time is the
//! caller's, so each test states the interleaving it checks.

use caplab::analysis::{analyse_variant, VariantContext, VariantHistory, VariantSummary};
use caplab::experiment::{Conflict, GossipParams, VariantKind, VariantParams};
use caplab::history::{Device, Event, EventKind, OpKind, OpRecord, Outcome};

/// Nodes of the hand-written clusters.
pub const NODES: [&str; 3] = ["eu-1", "eu-2", "asia-1"];

/// A successful operation by `user`'s phone in `eu` through `eu-1` on `user`'s profile.
fn ok_op(
    id: u64,
    user: &str,
    kind: OpKind,
    value: Option<&str>,
    invoke: u64,
    complete: u64,
) -> OpRecord {
    OpRecord {
        id,
        client: format!("{user}/phone"),
        user: user.to_string(),
        device: Device::Phone,
        dc: "eu".to_string(),
        node: Some("eu-1".to_string()),
        kind,
        key: format!("profile/{user}"),
        value: value.map(str::to_string),
        bytes: 10,
        scheduled_us: invoke,
        invoke_us: invoke,
        complete_us: complete,
        outcome: Outcome::Ok,
        version: None,
        error: None,
    }
}

/// An acknowledged write by `user`'s phone in `eu` through `eu-1`.
pub fn write(id: u64, user: &str, value: &str, invoke: u64, complete: u64) -> OpRecord {
    ok_op(id, user, OpKind::Write, Some(value), invoke, complete)
}

/// A successful read of `owner`'s profile by `client` (`alice/laptop`,
/// `alice/friend-asia`, ...), in `eu` unless a friend (then in the DC after `friend-`).
pub fn read(id: u64, client: &str, value: Option<&str>, invoke: u64, complete: u64) -> OpRecord {
    let (owner, who) = client.split_once('/').unwrap();
    let (device, dc) = match who {
        "phone" => (Device::Phone, "eu".to_string()),
        "laptop" => (Device::Laptop, "eu".to_string()),
        friend => (
            Device::Friend,
            friend.trim_start_matches("friend-").to_string(),
        ),
    };
    OpRecord {
        client: client.to_string(),
        device,
        node: Some(if dc == "eu" {
            "eu-1".into()
        } else {
            format!("{dc}-1")
        }),
        dc,
        ..ok_op(id, owner, OpKind::Read, value, invoke, complete)
    }
}

/// Builder-style changes to a record.
pub trait With {
    fn version(self, v: &[u64]) -> Self;
    fn outcome(self, o: Outcome) -> Self;
    fn node(self, n: &str) -> Self;
    fn dc(self, dc: &str) -> Self;
}

impl With for OpRecord {
    fn version(mut self, v: &[u64]) -> Self {
        self.version = Some(v.to_vec());
        self
    }
    fn outcome(mut self, o: Outcome) -> Self {
        self.outcome = o;
        if o != Outcome::Ok && self.kind == OpKind::Read {
            self.value = None;
        }
        self
    }
    fn node(mut self, n: &str) -> Self {
        self.node = Some(n.to_string());
        self
    }
    fn dc(mut self, dc: &str) -> Self {
        self.dc = dc.to_string();
        self
    }
}

pub fn apply(t_us: u64, node: &str, user: &str, value: &str) -> Event {
    Event {
        t_us,
        kind: EventKind::Apply {
            node: node.to_string(),
            key: format!("profile/{user}"),
            value: value.to_string(),
        },
    }
}

pub fn fault(t_us: u64, start: bool) -> Event {
    fault_with(t_us, start, "isolate asia")
}

/// The start or end of partition `faults[0]`, with its `detail` text.
pub fn fault_with(t_us: u64, start: bool, detail: &str) -> Event {
    let (fault, kind, detail) = (0, "partition".to_string(), detail.to_string());
    Event {
        t_us,
        kind: if start {
            EventKind::FaultStart {
                fault,
                kind,
                detail,
            }
        } else {
            EventKind::FaultEnd {
                fault,
                kind,
                detail,
            }
        },
    }
}

pub fn gossip(conflict: Conflict) -> VariantContext {
    let mut ctx = VariantContext::new(VariantKind::Gossip, &NODES);
    ctx.params = Some(VariantParams::Gossip(GossipParams {
        conflict,
        ..GossipParams::default()
    }));
    ctx
}

pub fn raft() -> VariantContext {
    VariantContext::new(VariantKind::Raft, &NODES)
}

pub fn analyse(ops: Vec<OpRecord>, events: Vec<Event>, ctx: &VariantContext) -> VariantSummary {
    let h = VariantHistory::from_records(ops, events);
    analyse_variant(&h, ctx).unwrap().summary
}
