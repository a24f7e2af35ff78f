//! Per-second series of the measured window, for plotting.
//!
//! Second `s` holds the operations invoked in `[window_start + s, window_start + s + 1)`
//! seconds of the run clock. The series covers the whole measured window (the experiment's
//! duration) and any later second in which an operation was still invoked (a user's write
//! waiting for the previous one). Latency percentiles are exact (nearest rank) over the
//! second's `ok` operations; `faults_active` counts the fault windows overlapping the
//! second.
//!
//! Deliberately left out: smoothing and rates per DC pair (the CSV is the raw material).

use std::collections::BTreeMap;

use super::history::VariantHistory;
use super::latency::exact_quantile;
use super::staleness::Staleness;
use crate::history::{OpKind, Outcome};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecondRow {
    pub second: u64,
    pub ops: u64,
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    /// Reads invoked, whatever their outcome.
    pub reads: u64,
    pub reads_checked: u64,
    pub stale_reads: u64,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub read_p50_us: Option<u64>,
    pub read_p99_us: Option<u64>,
    pub write_p50_us: Option<u64>,
    pub write_p99_us: Option<u64>,
    pub faults_active: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DcSecondRow {
    pub second: u64,
    pub dc: String,
    pub ops: u64,
    pub ok: u64,
    pub fail: u64,
    pub unknown: u64,
    pub reads_checked: u64,
    pub stale_reads: u64,
}

#[derive(Debug, Clone, Default)]
pub struct TimeSeries {
    pub seconds: Vec<SecondRow>,
    /// Per second, per client DC (DCs in name order).
    pub by_dc: Vec<DcSecondRow>,
}

pub fn analyse(
    h: &VariantHistory,
    staleness: &Staleness,
    window_start_us: u64,
    window_len_us: u64,
) -> TimeSeries {
    let second_of = |t: u64| t.saturating_sub(window_start_us) / 1_000_000;
    let last = h.ops.iter().map(|op| second_of(op.invoke_us)).max();
    let n = (window_len_us.div_ceil(1_000_000)).max(last.map_or(0, |s| s + 1)) as usize;
    let mut rows: Vec<SecondRow> = (0..n)
        .map(|s| SecondRow {
            second: s as u64,
            ..SecondRow::default()
        })
        .collect();
    let mut dcs: BTreeMap<&str, Vec<DcSecondRow>> = BTreeMap::new();
    // Latencies per second: all ok ops, reads, writes.
    let mut lat: Vec<[Vec<u64>; 2]> = vec![[Vec::new(), Vec::new()]; n];
    for (i, op) in h.ops.iter().enumerate() {
        let s = second_of(op.invoke_us) as usize;
        let (Some(row), Some(lat)) = (rows.get_mut(s), lat.get_mut(s)) else {
            continue;
        };
        let dc = dcs.entry(h.name(op.dc)).or_insert_with(|| {
            (0..n)
                .map(|s| DcSecondRow {
                    second: s as u64,
                    dc: h.name(op.dc).to_string(),
                    ..DcSecondRow::default()
                })
                .collect()
        });
        let dc = &mut dc[s];
        row.ops += 1;
        dc.ops += 1;
        match op.outcome {
            Outcome::Ok => {
                row.ok += 1;
                dc.ok += 1;
                let k = usize::from(op.kind == OpKind::Write);
                lat[k].push(op.latency_us());
            }
            Outcome::Fail => {
                row.fail += 1;
                dc.fail += 1;
            }
            Outcome::Unknown => {
                row.unknown += 1;
                dc.unknown += 1;
            }
        }
        if op.kind == OpKind::Read {
            row.reads += 1;
        }
        let fact = &staleness.reads[i];
        if fact.judged() {
            row.reads_checked += 1;
            dc.reads_checked += 1;
            row.stale_reads += u64::from(fact.stale());
            dc.stale_reads += u64::from(fact.stale());
        }
    }
    for (row, [reads, writes]) in rows.iter_mut().zip(lat.iter_mut()) {
        reads.sort_unstable();
        writes.sort_unstable();
        row.read_p50_us = exact_quantile(reads, 0.5);
        row.read_p99_us = exact_quantile(reads, 0.99);
        row.write_p50_us = exact_quantile(writes, 0.5);
        row.write_p99_us = exact_quantile(writes, 0.99);
        let mut all: Vec<u64> = Vec::with_capacity(reads.len() + writes.len());
        all.extend_from_slice(reads);
        all.extend_from_slice(writes);
        all.sort_unstable();
        row.p50_us = exact_quantile(&all, 0.5);
        row.p99_us = exact_quantile(&all, 0.99);
        let from = window_start_us + row.second * 1_000_000;
        let to = from + 1_000_000;
        row.faults_active = h
            .faults
            .iter()
            .filter(|f| f.start_us < to && f.end_us.is_none_or(|e| e > from))
            .count() as u32;
    }
    TimeSeries {
        seconds: rows,
        by_dc: {
            let mut v: Vec<DcSecondRow> = Vec::new();
            for s in 0..n {
                for rows in dcs.values() {
                    v.push(rows[s].clone());
                }
            }
            v
        },
    }
}
