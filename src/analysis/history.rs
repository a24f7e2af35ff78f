//! A variant's recorded history in a compact, analysable form.
//!
//! [`VariantHistory`] holds every operation as a fixed-size [`Op`] whose names (clients,
//! users, DCs, nodes, keys, picture labels, errors) are interned to [`Sym`]s, and whose
//! version lives in one shared pool: a million operations take about 100 MB instead of the
//! half gigabyte of a million [`OpRecord`]s. Events are reduced to what the analyses use:
//! `apply` events, fault windows (each `fault_start` paired with its `fault_end`), node
//! crashes, restarts, pauses and resumes, and counts.
//!
//! Deliberately left out: reading files (see `load`) and any judgement of the history.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::history::{Device, Event, EventKind, OpKind, OpRecord, Outcome};

/// An interned string.
pub type Sym = u32;

/// "No value" for optional [`Sym`]s and indices.
pub const NONE: u32 = u32::MAX;

/// Strings of one history, each stored once.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    map: HashMap<Box<str>, Sym>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.map.get(s) {
            return sym;
        }
        let sym = self.names.len() as Sym;
        self.names.push(s.into());
        self.map.insert(s.into(), sym);
        sym
    }

    /// The string of `sym` (`""` for [`NONE`] or an unknown symbol).
    pub fn name(&self, sym: Sym) -> &str {
        self.names.get(sym as usize).map_or("", |s| s)
    }

    pub fn get(&self, s: &str) -> Option<Sym> {
        self.map.get(s).copied()
    }
}

/// One client operation (see [`OpRecord`] for the meaning of each field).
#[derive(Debug, Clone, Copy)]
pub struct Op {
    pub id: u64,
    pub scheduled_us: u64,
    pub invoke_us: u64,
    pub complete_us: u64,
    pub bytes: u64,
    pub client: Sym,
    /// The user of the client (the part of `client` before `/`).
    pub client_user: Sym,
    pub user: Sym,
    pub dc: Sym,
    /// [`NONE`] when the client reached no node.
    pub node: Sym,
    pub key: Sym,
    /// [`NONE`] for "no value".
    pub value: Sym,
    /// [`NONE`] when absent.
    pub error: Sym,
    version_start: u32,
    /// [`NONE`] when the record has no version.
    version_len: u32,
    pub device: Device,
    pub kind: OpKind,
    pub outcome: Outcome,
}

impl Op {
    pub fn is_ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }

    pub fn is_ok_read(&self) -> bool {
        self.kind == OpKind::Read && self.outcome == Outcome::Ok
    }

    pub fn is_acked_write(&self) -> bool {
        self.kind == OpKind::Write && self.outcome == Outcome::Ok
    }

    /// `complete_us - invoke_us`.
    pub fn latency_us(&self) -> u64 {
        self.complete_us.saturating_sub(self.invoke_us)
    }
}

/// A replica made `value` of `key` visible.
#[derive(Debug, Clone, Copy)]
pub struct Apply {
    pub t_us: u64,
    pub node: Sym,
    pub key: Sym,
    pub value: Sym,
}

/// A fault of the schedule, from its `fault_start` to its `fault_end` event.
#[derive(Debug, Clone)]
pub struct FaultWindow {
    pub fault: usize,
    pub kind: String,
    pub detail: String,
    pub start_us: u64,
    /// `None` when no `fault_end` was recorded (never healed, or instantaneous).
    pub end_us: Option<u64>,
}

/// What happened to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeChange {
    Crash,
    Restart,
    Pause,
    Resume,
}

#[derive(Debug, Clone, Copy)]
pub struct NodeEvent {
    pub t_us: u64,
    pub node: Sym,
    pub change: NodeChange,
}

/// A `lab_error` event: caplab itself failed, so the run is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabError {
    pub t_us: u64,
    pub source: String,
    pub detail: String,
}

/// A Raft node's view of the leader changed (`leader_change`), or caplab asked for a
/// leadership transfer (`leader_transfer`: `node` is the leader asked, `leader` the target).
#[derive(Debug, Clone)]
pub struct LeaderEvent {
    pub t_us: u64,
    pub node: String,
    pub term: u64,
    pub leader: Option<String>,
    /// `true` for a `leader_transfer` request.
    pub transfer: bool,
}

/// Everything the analyses need from one variant's `history.jsonl` and `events.jsonl`.
#[derive(Debug, Default, Clone)]
pub struct VariantHistory {
    pub strings: Interner,
    pub ops: Vec<Op>,
    versions: Vec<u64>,
    /// In time order (ties in file order).
    pub applies: Vec<Apply>,
    /// In start order.
    pub faults: Vec<FaultWindow>,
    /// In time order.
    pub node_events: Vec<NodeEvent>,
    /// Number of events of each `type`.
    pub event_counts: BTreeMap<String, u64>,
    /// Partial last lines of the files (a run killed mid-write), skipped.
    pub truncated_lines: u64,
    /// caplab's own failures during the run (`lab_error` events), in file order.
    pub lab_errors: Vec<LabError>,
    /// `leader_change` and `leader_transfer` events (Raft only), in time order.
    pub leader_events: Vec<LeaderEvent>,
    open_faults: HashMap<usize, VecDeque<usize>>,
}

impl VariantHistory {
    pub fn new() -> Self {
        Self::default()
    }

    /// A history made of records already in memory (tests, tools).
    pub fn from_records(
        ops: impl IntoIterator<Item = OpRecord>,
        events: impl IntoIterator<Item = Event>,
    ) -> Self {
        let mut h = Self::new();
        for op in ops {
            h.push_op(&op);
        }
        for ev in events {
            h.push_event(ev);
        }
        h.finish();
        h
    }

    pub fn push_op(&mut self, r: &OpRecord) {
        let s = &mut self.strings;
        let client_user = r.client.split('/').next().unwrap_or_default();
        let (version_start, version_len) = match &r.version {
            Some(v) => {
                let start = self.versions.len() as u32;
                self.versions.extend_from_slice(v);
                (start, v.len() as u32)
            }
            None => (0, NONE),
        };
        self.ops.push(Op {
            id: r.id,
            scheduled_us: r.scheduled_us,
            invoke_us: r.invoke_us,
            complete_us: r.complete_us,
            bytes: r.bytes,
            client: s.intern(&r.client),
            client_user: s.intern(client_user),
            user: s.intern(&r.user),
            dc: s.intern(&r.dc),
            node: r.node.as_deref().map_or(NONE, |n| s.intern(n)),
            key: s.intern(&r.key),
            value: r.value.as_deref().map_or(NONE, |v| s.intern(v)),
            error: r.error.as_deref().map_or(NONE, |e| s.intern(e)),
            version_start,
            version_len,
            device: r.device,
            kind: r.kind,
            outcome: r.outcome,
        });
    }

    pub fn push_event(&mut self, ev: Event) {
        let name = match &ev.kind {
            EventKind::FaultStart { .. } => "fault_start",
            EventKind::FaultEnd { .. } => "fault_end",
            EventKind::LeaderChange { .. } => "leader_change",
            EventKind::LeaderTransfer { .. } => "leader_transfer",
            EventKind::Crash { .. } => "crash",
            EventKind::Restart { .. } => "restart",
            EventKind::Pause { .. } => "pause",
            EventKind::Resume { .. } => "resume",
            EventKind::Apply { .. } => "apply",
            EventKind::LabError { .. } => "lab_error",
        };
        *self.event_counts.entry(name.to_string()).or_default() += 1;
        let t_us = ev.t_us;
        let node_event = |s: &mut Interner, node: &str, change| NodeEvent {
            t_us,
            node: s.intern(node),
            change,
        };
        match ev.kind {
            EventKind::Apply { node, key, value } => {
                let s = &mut self.strings;
                self.applies.push(Apply {
                    t_us,
                    node: s.intern(&node),
                    key: s.intern(&key),
                    value: s.intern(&value),
                });
            }
            EventKind::FaultStart {
                fault,
                kind,
                detail,
            } => {
                self.open_faults
                    .entry(fault)
                    .or_default()
                    .push_back(self.faults.len());
                self.faults.push(FaultWindow {
                    fault,
                    kind,
                    detail,
                    start_us: t_us,
                    end_us: None,
                });
            }
            EventKind::FaultEnd { fault, .. } => {
                // Random faults share their schedule index: an end closes the earliest
                // still-open start of the same index.
                if let Some(i) = self.open_faults.get_mut(&fault).and_then(|q| q.pop_front()) {
                    self.faults[i].end_us = Some(t_us);
                }
            }
            EventKind::Crash { node } => {
                let e = node_event(&mut self.strings, &node, NodeChange::Crash);
                self.node_events.push(e);
            }
            EventKind::Restart { node } => {
                let e = node_event(&mut self.strings, &node, NodeChange::Restart);
                self.node_events.push(e);
            }
            EventKind::Pause { node } => {
                let e = node_event(&mut self.strings, &node, NodeChange::Pause);
                self.node_events.push(e);
            }
            EventKind::Resume { node } => {
                let e = node_event(&mut self.strings, &node, NodeChange::Resume);
                self.node_events.push(e);
            }
            EventKind::LeaderChange { node, term, leader } => {
                self.leader_events.push(LeaderEvent {
                    t_us,
                    node,
                    term,
                    leader,
                    transfer: false,
                });
            }
            EventKind::LeaderTransfer { from, to } => {
                self.leader_events.push(LeaderEvent {
                    t_us,
                    node: from,
                    term: 0,
                    leader: Some(to),
                    transfer: true,
                });
            }
            EventKind::LabError { source, detail } => {
                self.lab_errors.push(LabError {
                    t_us,
                    source,
                    detail,
                });
            }
        }
    }

    /// Puts events in time order (writers of `events.jsonl` on different threads may
    /// interleave by a few microseconds). Call once everything is pushed.
    pub fn finish(&mut self) {
        self.applies.sort_by_key(|a| a.t_us);
        self.node_events.sort_by_key(|e| e.t_us);
        self.leader_events.sort_by_key(|e| e.t_us);
        self.faults.sort_by_key(|f| f.start_us);
        self.open_faults.clear();
    }

    /// The system's version recorded with `op`, if any.
    pub fn version(&self, op: &Op) -> Option<&[u64]> {
        if op.version_len == NONE {
            return None;
        }
        let start = op.version_start as usize;
        self.versions.get(start..start + op.version_len as usize)
    }

    pub fn name(&self, sym: Sym) -> &str {
        self.strings.name(sym)
    }

    fn opt_name(&self, sym: Sym) -> Option<String> {
        (sym != NONE).then(|| self.name(sym).to_string())
    }

    /// The operation as `history.jsonl` recorded it.
    pub fn record(&self, op: &Op) -> OpRecord {
        OpRecord {
            id: op.id,
            client: self.name(op.client).to_string(),
            user: self.name(op.user).to_string(),
            device: op.device,
            dc: self.name(op.dc).to_string(),
            node: self.opt_name(op.node),
            kind: op.kind,
            key: self.name(op.key).to_string(),
            value: self.opt_name(op.value),
            bytes: op.bytes,
            scheduled_us: op.scheduled_us,
            invoke_us: op.invoke_us,
            complete_us: op.complete_us,
            outcome: op.outcome,
            version: self.version(op).map(<[u64]>::to_vec),
            error: self.opt_name(op.error),
        }
    }

    /// [`Self::record`] of the operation at index `i`.
    pub fn record_at(&self, i: u32) -> Option<OpRecord> {
        self.ops.get(i as usize).map(|op| self.record(op))
    }
}
