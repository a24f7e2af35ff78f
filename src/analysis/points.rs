//! Per-operation points of a variant, kept for charts: when each operation was invoked, how
//! long it took, how it ended, where its client was and whether a read was stale; plus the
//! stable latency and replica convergence lag of every acknowledged write.
//!
//! These are the raw samples behind the summary's percentiles, in a compact form (names are
//! indices into small tables), so the chart stage can draw every operation and any
//! distribution without reading the history files again.
//!
//! Deliberately left out: values, keys and versions (the report's anomaly examples come from
//! the summary).

use std::collections::HashMap;

use super::history::{Sym, VariantHistory, NONE};
use super::order::{Locality, Order};
use super::staleness::{Staleness, NOT_APPLICABLE, NO_TIME};
use crate::history::{Device, OpKind, Outcome};

/// One operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpPoint {
    /// Invoke time, microseconds since the start of the measured window (negative before
    /// it).
    pub t_us: i64,
    pub latency_us: u64,
    pub kind: OpKind,
    pub outcome: Outcome,
    pub device: Device,
    /// Index into [`Points::dcs`]: the client's DC.
    pub dc: u16,
    /// Index into [`Points::users`]: the profile's owner.
    pub user: u32,
    /// Reads only: the read's DC relative to the newest write's DC.
    pub locality: Locality,
    /// `Some(stale)` for judged `ok` reads.
    pub stale: Option<bool>,
    /// Index into [`Points::nodes`]: the node the client contacted ([`NO_NODE`]: none).
    pub node: u16,
    /// Judged reads after an acknowledged write: the time since the newest one was
    /// acknowledged (the visibility curve's `t`) and that write (index into `ops`).
    pub since_latest: Option<(u64, u32)>,
}

/// "The client reached no node".
pub const NO_NODE: u16 = u16::MAX;

/// The samples of a variant.
#[derive(Debug, Clone, Default)]
pub struct Points {
    pub ops: Vec<OpPoint>,
    pub dcs: Vec<String>,
    pub users: Vec<String>,
    pub nodes: Vec<String>,
    /// Per acknowledged write followed by a read: stable latency (`None`: never stable).
    pub stable_us: Vec<Option<u64>>,
    /// Per acknowledged write, when `apply` events exist: replica convergence lag (`None`:
    /// some replica never held it).
    pub convergence_lag_us: Vec<Option<u64>>,
}

pub fn collect(
    h: &VariantHistory,
    order: &Order,
    staleness: &Staleness,
    window_start_us: u64,
) -> Points {
    let (mut dcs, mut users, mut nodes) = (Table::default(), Table::default(), Table::default());
    let mut p = Points::default();
    for (i, op) in h.ops.iter().enumerate() {
        let fact = &staleness.reads[i];
        let dc = dcs.index(h, op.dc);
        let user = users.index(h, op.user);
        let node = if op.node == NONE {
            NO_NODE
        } else {
            nodes.index(h, op.node) as u16
        };
        p.ops.push(OpPoint {
            t_us: op.invoke_us as i64 - window_start_us as i64,
            latency_us: op.latency_us(),
            kind: op.kind,
            outcome: op.outcome,
            device: op.device,
            dc: dc as u16,
            user: user as u32,
            locality: order.locality[i],
            stale: fact.judged().then(|| fact.stale()),
            node,
            since_latest: (fact.judged() && fact.since_latest_us != NO_TIME)
                .then_some((fact.since_latest_us, fact.latest_write)),
        });
        if !op.is_acked_write() {
            continue;
        }
        match staleness.stable_us[i] {
            NOT_APPLICABLE => {}
            NO_TIME => p.stable_us.push(None),
            us => p.stable_us.push(Some(us)),
        }
        match staleness.converged_at_us[i] {
            NOT_APPLICABLE => {}
            NO_TIME => p.convergence_lag_us.push(None),
            t => p
                .convergence_lag_us
                .push(Some(t.saturating_sub(op.complete_us))),
        }
    }
    p.dcs = dcs.names;
    p.users = users.names;
    p.nodes = nodes.names;
    p
}

/// Names in first-seen order, indexed by their interned symbol (one hash lookup per
/// operation, whatever the number of names).
#[derive(Default)]
struct Table {
    names: Vec<String>,
    by_sym: HashMap<Sym, usize>,
}

impl Table {
    /// The position of `sym`'s name, appending it if new.
    fn index(&mut self, h: &VariantHistory, sym: Sym) -> usize {
        *self.by_sym.entry(sym).or_insert_with(|| {
            self.names.push(h.name(sym).to_string());
            self.names.len() - 1
        })
    }
}
