//! Could users still act? Success shares overall and around each fault.
//!
//! An operation counts at its `invoke_us`. Per fault window (from its `fault_start` to its
//! `fault_end` event, or to the end of the run if it never ended):
//!
//! - the outcome counts of the operations invoked inside it, overall and per client DC, and
//!   the stale share of its judged reads per device;
//! - the **pre-fault level**: the `ok` share of the operations invoked before the fault
//!   began and outside every fault window (if there are none: of all operations outside
//!   every fault window);
//! - the **recovery time**: the fault's end is followed by 1-second windows `[end + j s,
//!   end + (j+1) s)`; recovery is `j` seconds for the first window with operations whose
//!   `ok` share is back to the pre-fault level (allowing one percentage point and one
//!   operation of noise); `null` if none is before the end of the run;
//! - **converged after**: how long after the fault's end every write acknowledged before
//!   the end was held by every node up at the end (`null` if some never was, or without
//!   `apply` events).
//!
//! Deliberately left out: the per-second series (see `timeseries`) and the causes of
//! failures beyond counting the error messages.

use std::collections::BTreeMap;

use serde::Serialize;

use super::breakdown::Group;
use super::history::{FaultWindow, VariantHistory, NONE};
use super::staleness::{fraction, Staleness, NOT_APPLICABLE, NO_TIME};
use crate::history::{Device, Outcome};

/// How many distinct error messages are listed.
const ERRORS: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Availability {
    pub ops: u64,
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    pub ok_fraction: Option<f64>,
    pub fail_fraction: Option<f64>,
    pub unknown_fraction: Option<f64>,
    /// `ok` share per client DC.
    pub by_dc: BTreeMap<String, Option<f64>>,
    /// The most frequent error messages of `fail` and `unknown` operations, with counts.
    pub errors: BTreeMap<String, u64>,
    pub faults: Vec<FaultReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FaultReport {
    /// Index of the fault in the experiment's `[[faults]]`.
    pub fault: usize,
    pub kind: String,
    pub detail: String,
    pub start_us: u64,
    pub end_us: Option<u64>,
    /// Seconds into the measured window.
    pub start_s: f64,
    pub end_s: Option<f64>,
    pub ops: u64,
    pub ok: u64,
    pub ok_fraction: Option<f64>,
    pub unknown_fraction: Option<f64>,
    pub by_dc: BTreeMap<String, DcCounts>,
    pub reads_checked: u64,
    pub stale_reads: u64,
    pub stale_fraction: Option<f64>,
    pub stale_by_device: BTreeMap<String, StaleCounts>,
    pub pre_fault_ok_fraction: Option<f64>,
    pub recovery_us: Option<u64>,
    pub converged_after_us: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DcCounts {
    pub ops: u64,
    pub ok: u64,
    pub ok_fraction: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct StaleCounts {
    pub reads_checked: u64,
    pub stale_reads: u64,
    pub stale_fraction: Option<f64>,
}

pub fn analyse(
    h: &VariantHistory,
    staleness: &Staleness,
    all: &Group,
    by_dc: &BTreeMap<String, Group>,
    window_start_us: u64,
) -> Availability {
    let ops = &h.ops;
    let mut by_invoke: Vec<u32> = (0..ops.len() as u32).collect();
    by_invoke.sort_by_key(|&i| (ops[i as usize].invoke_us, ops[i as usize].id));
    let range = |f: &FaultWindow| {
        let from = by_invoke.partition_point(|&i| ops[i as usize].invoke_us < f.start_us);
        let to = match f.end_us {
            Some(end) => by_invoke.partition_point(|&i| ops[i as usize].invoke_us < end),
            None => by_invoke.len(),
        };
        from..to.max(from)
    };
    // Operations (in invoke order) outside every fault window, as prefix sums.
    let mut in_fault = vec![false; by_invoke.len()];
    for f in &h.faults {
        for flag in &mut in_fault[range(f)] {
            *flag = true;
        }
    }
    let mut clean_ops = vec![0u64; by_invoke.len() + 1];
    let mut clean_ok = vec![0u64; by_invoke.len() + 1];
    for (pos, &i) in by_invoke.iter().enumerate() {
        let clean = !in_fault[pos];
        clean_ops[pos + 1] = clean_ops[pos] + u64::from(clean);
        clean_ok[pos + 1] = clean_ok[pos] + u64::from(clean && ops[i as usize].is_ok());
    }
    let level = |upto: usize| {
        fraction(clean_ok[upto], clean_ops[upto])
            .or_else(|| fraction(clean_ok[by_invoke.len()], clean_ops[by_invoke.len()]))
    };
    // Acknowledged writes by acknowledgement time, with the running latest convergence.
    let mut acked: Vec<(u64, u64)> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.is_acked_write())
        .map(|(i, op)| (op.complete_us, staleness.converged_at_us[i]))
        .collect();
    acked.sort_unstable();
    let mut latest = 0u64;
    for a in &mut acked {
        latest = latest.max(a.1);
        a.1 = latest;
    }

    let mut faults = Vec::new();
    for f in &h.faults {
        let r = range(f);
        let mut report = FaultReport {
            fault: f.fault,
            kind: f.kind.clone(),
            detail: f.detail.clone(),
            start_us: f.start_us,
            end_us: f.end_us,
            start_s: seconds(f.start_us, window_start_us),
            end_s: f.end_us.map(|e| seconds(e, window_start_us)),
            ops: 0,
            ok: 0,
            ok_fraction: None,
            unknown_fraction: None,
            by_dc: BTreeMap::new(),
            reads_checked: 0,
            stale_reads: 0,
            stale_fraction: None,
            stale_by_device: [Device::Phone, Device::Laptop, Device::Friend]
                .iter()
                .map(|d| (d.as_str().to_string(), StaleCounts::default()))
                .collect(),
            pre_fault_ok_fraction: level(r.start),
            recovery_us: None,
            converged_after_us: None,
        };
        let mut unknown = 0;
        for &i in &by_invoke[r.clone()] {
            let op = &ops[i as usize];
            report.ops += 1;
            report.ok += u64::from(op.is_ok());
            unknown += u64::from(op.outcome == Outcome::Unknown);
            let dc = report.by_dc.entry(h.name(op.dc).to_string()).or_default();
            dc.ops += 1;
            dc.ok += u64::from(op.is_ok());
            let fact = &staleness.reads[i as usize];
            if fact.judged() {
                report.reads_checked += 1;
                report.stale_reads += u64::from(fact.stale());
                let d = report
                    .stale_by_device
                    .entry(op.device.as_str().to_string())
                    .or_default();
                d.reads_checked += 1;
                d.stale_reads += u64::from(fact.stale());
            }
        }
        report.ok_fraction = fraction(report.ok, report.ops);
        report.unknown_fraction = fraction(unknown, report.ops);
        report.stale_fraction = fraction(report.stale_reads, report.reads_checked);
        for dc in report.by_dc.values_mut() {
            dc.ok_fraction = fraction(dc.ok, dc.ops);
        }
        for d in report.stale_by_device.values_mut() {
            d.stale_fraction = fraction(d.stale_reads, d.reads_checked);
        }
        if let (Some(end), Some(pre)) = (f.end_us, report.pre_fault_ok_fraction) {
            report.recovery_us = recovery(h, &by_invoke, end, pre);
            let before = acked.partition_point(|&(t, _)| t < end);
            report.converged_after_us = match before.checked_sub(1).map(|i| acked[i].1) {
                None => Some(0),
                Some(NO_TIME | NOT_APPLICABLE) => None,
                Some(t) => Some(t.saturating_sub(end)),
            };
        }
        faults.push(report);
    }

    let mut errors: BTreeMap<u32, u64> = BTreeMap::new();
    for op in ops {
        if op.error != NONE {
            *errors.entry(op.error).or_default() += 1;
        }
    }
    let mut errors: Vec<(u32, u64)> = errors.into_iter().collect();
    errors.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Availability {
        ops: all.ops,
        ok: all.ok,
        fail: all.fail,
        unknown: all.unknown,
        ok_fraction: all.ok_fraction,
        fail_fraction: all.fail_fraction,
        unknown_fraction: all.unknown_fraction,
        by_dc: by_dc
            .iter()
            .map(|(dc, g)| (dc.clone(), g.ok_fraction))
            .collect(),
        errors: errors
            .into_iter()
            .take(ERRORS)
            .map(|(e, n)| (h.name(e).to_string(), n))
            .collect(),
        faults,
    }
}

fn seconds(t_us: u64, window_start_us: u64) -> f64 {
    (t_us as f64 - window_start_us as f64) / 1e6
}

/// Seconds (as microseconds) after `end` until a 1-second window's `ok` share is back to
/// `pre` (see the module docs).
fn recovery(h: &VariantHistory, by_invoke: &[u32], end: u64, pre: f64) -> Option<u64> {
    let ops = &h.ops;
    let mut pos = by_invoke.partition_point(|&i| ops[i as usize].invoke_us < end);
    let mut window = 0u64;
    while pos < by_invoke.len() {
        let until = end + (window + 1) * 1_000_000;
        let (mut n, mut ok) = (0u64, 0u64);
        while let Some(&i) = by_invoke.get(pos) {
            let op = &ops[i as usize];
            if op.invoke_us >= until {
                break;
            }
            n += 1;
            ok += u64::from(op.is_ok());
            pos += 1;
        }
        if n > 0 && ok as f64 >= (pre - 0.01) * n as f64 - 1.0 {
            return Some(window * 1_000_000);
        }
        window += 1;
    }
    None
}
