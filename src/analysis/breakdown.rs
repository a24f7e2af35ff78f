//! Per-group statistics: the same counts, latencies and staleness for all operations and
//! broken down by operation kind, client DC, device, and reader locality.
//!
//! Every group ([`Group`]) has the outcome counts and fractions (availability), read and
//! write latency distributions of `ok` operations, and the stale share of its judged reads.
//! Locality is "same DC as the write" vs "other DC" (see `order`); writes are `same_dc`.
//!
//! Deliberately left out: crossed breakdowns (DC x device); the per-second CSVs and the
//! history itself are there for those.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::AnalysisError;
use super::history::{Op, VariantHistory};
use super::latency::{DurationStats, Durations};
use super::order::Order;
use super::staleness::{fraction, Staleness};
use crate::history::{OpKind, Outcome};

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub ops: u64,
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    pub ok_fraction: Option<f64>,
    pub fail_fraction: Option<f64>,
    pub unknown_fraction: Option<f64>,
    /// `ok` reads.
    pub read_latency_us: Option<DurationStats>,
    /// `ok` writes.
    pub write_latency_us: Option<DurationStats>,
    pub reads_checked: u64,
    pub stale_reads: u64,
    pub stale_fraction: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct GroupAcc {
    ops: u64,
    ok: u64,
    fail: u64,
    unknown: u64,
    read_latency: Durations,
    write_latency: Durations,
    reads_checked: u64,
    stale_reads: u64,
}

impl GroupAcc {
    pub fn new() -> Result<Self, AnalysisError> {
        Ok(GroupAcc {
            ops: 0,
            ok: 0,
            fail: 0,
            unknown: 0,
            read_latency: Durations::new()?,
            write_latency: Durations::new()?,
            reads_checked: 0,
            stale_reads: 0,
        })
    }

    /// Counts `op`; `stale` is `Some` for a judged read.
    pub fn add(&mut self, op: &Op, stale: Option<bool>) {
        self.ops += 1;
        match op.outcome {
            Outcome::Ok => {
                self.ok += 1;
                match op.kind {
                    OpKind::Read => self.read_latency.record(op.latency_us()),
                    OpKind::Write => self.write_latency.record(op.latency_us()),
                }
            }
            Outcome::Fail => self.fail += 1,
            Outcome::Unknown => self.unknown += 1,
        }
        if let Some(stale) = stale {
            self.reads_checked += 1;
            self.stale_reads += u64::from(stale);
        }
    }

    pub fn finish(&self) -> Group {
        Group {
            ops: self.ops,
            ok: self.ok,
            fail: self.fail,
            unknown: self.unknown,
            ok_fraction: fraction(self.ok, self.ops),
            fail_fraction: fraction(self.fail, self.ops),
            unknown_fraction: fraction(self.unknown, self.ops),
            read_latency_us: self.read_latency.stats(),
            write_latency_us: self.write_latency.stats(),
            reads_checked: self.reads_checked,
            stale_reads: self.stale_reads,
            stale_fraction: fraction(self.stale_reads, self.reads_checked),
        }
    }
}

/// Groups by one dimension, created on first use.
#[derive(Debug, Clone, Default)]
pub struct Groups(BTreeMap<String, GroupAcc>);

impl Groups {
    pub fn add(&mut self, name: &str, op: &Op, stale: Option<bool>) -> Result<(), AnalysisError> {
        if !self.0.contains_key(name) {
            self.0.insert(name.to_string(), GroupAcc::new()?);
        }
        if let Some(g) = self.0.get_mut(name) {
            g.add(op, stale);
        }
        Ok(())
    }

    pub fn finish(&self) -> BTreeMap<String, Group> {
        self.0
            .iter()
            .map(|(k, g)| (k.clone(), g.finish()))
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    pub all: Group,
    pub by_kind: BTreeMap<String, Group>,
    pub by_dc: BTreeMap<String, Group>,
    pub by_device: BTreeMap<String, Group>,
    pub by_locality: BTreeMap<String, Group>,
}

pub fn analyse(
    h: &VariantHistory,
    order: &Order,
    staleness: &Staleness,
) -> Result<Breakdown, AnalysisError> {
    let mut all = GroupAcc::new()?;
    let mut kind = Groups::default();
    let mut dc = Groups::default();
    let mut device = Groups::default();
    let mut locality = Groups::default();
    for (i, op) in h.ops.iter().enumerate() {
        let fact = &staleness.reads[i];
        let stale = fact.judged().then(|| fact.stale());
        all.add(op, stale);
        kind.add(
            match op.kind {
                OpKind::Read => "read",
                OpKind::Write => "write",
            },
            op,
            stale,
        )?;
        dc.add(h.name(op.dc), op, stale)?;
        device.add(op.device.as_str(), op, stale)?;
        locality.add(order.locality[i].as_str(), op, stale)?;
    }
    Ok(Breakdown {
        all: all.finish(),
        by_kind: kind.finish(),
        by_dc: dc.finish(),
        by_device: device.finish(),
        by_locality: locality.finish(),
    })
}
