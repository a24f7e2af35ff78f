//! Latency distributions drawn by the report's latency charts, measured here so the charts
//! only draw: the percentile curve of `ok` reads and writes on a "nines" scale, and exact
//! p50 / p99 of `ok` operations by client DC and by device.
//!
//! Exact nearest-rank percentiles over every kept sample ([`Points`]), unlike the
//! HdrHistogram summaries of `breakdown` (within 0.1%), so a chart's curve and bars show the
//! samples themselves.
//!
//! Deliberately left out: failed and unknown operations (their latency is a timeout or an
//! error path; the scatter chart shows them), and crossed groups (DC x device).

use std::collections::BTreeMap;

use serde::Serialize;

use super::home::P50P99;
use super::latency::exact_quantile;
use super::points::Points;
use crate::history::{OpKind, Outcome};

/// Highest percentile a curve goes to, in nines (99.999%).
const MAX_NINES: f64 = 5.0;

/// Step of a percentile curve, in nines.
const STEP_NINES: f64 = 0.05;

/// p50 / p99 of `ok` operations (reads and writes together) by client DC and by device.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroupLatency {
    pub by_dc: BTreeMap<String, P50P99>,
    pub by_device: BTreeMap<String, P50P99>,
}

/// Percentile curves of `ok` operations as `(nines, milliseconds)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PercentileCurves {
    pub read: Vec<(f64, f64)>,
    pub write: Vec<(f64, f64)>,
}

impl PercentileCurves {
    pub fn of(points: &Points) -> PercentileCurves {
        PercentileCurves {
            read: percentile_curve(points, OpKind::Read),
            write: percentile_curve(points, OpKind::Write),
        }
    }

    pub fn get(&self, kind: OpKind) -> &[(f64, f64)] {
        match kind {
            OpKind::Read => &self.read,
            OpKind::Write => &self.write,
        }
    }
}

/// Latency percentile curve of the `ok` operations of `kind`: `(nines, milliseconds)` from
/// p0 up to the percentile the sample count supports (one in `n`), in steps of 0.05 nines,
/// and the maximum as the last point.
pub fn percentile_curve(points: &Points, kind: OpKind) -> Vec<(f64, f64)> {
    let mut lat: Vec<u64> = points
        .ops
        .iter()
        .filter(|p| p.kind == kind && p.outcome == Outcome::Ok)
        .map(|p| p.latency_us)
        .collect();
    if lat.is_empty() {
        return Vec::new();
    }
    lat.sort_unstable();
    let top = (lat.len() as f64).log10().min(MAX_NINES);
    let mut out = Vec::new();
    let mut x = 0.0;
    while x < top {
        let p = 1.0 - 10f64.powf(-x);
        if let Some(us) = exact_quantile(&lat, p) {
            out.push((x, us as f64 / 1e3));
        }
        x += STEP_NINES;
    }
    if let Some(&max) = lat.last() {
        out.push((top, max as f64 / 1e3));
    }
    out
}

/// p50 / p99 of `ok` operations by client DC and by device.
pub fn group_latency(points: &Points) -> GroupLatency {
    let mut by_dc: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut by_device: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for p in points.ops.iter().filter(|p| p.outcome == Outcome::Ok) {
        if let Some(dc) = points.dcs.get(p.dc as usize) {
            by_dc.entry(dc.clone()).or_default().push(p.latency_us);
        }
        by_device
            .entry(p.device.as_str().to_string())
            .or_default()
            .push(p.latency_us);
    }
    let finish = |m: BTreeMap<String, Vec<u64>>| {
        m.into_iter()
            .filter_map(|(k, v)| Some((k, P50P99::of(v)?)))
            .collect()
    };
    GroupLatency {
        by_dc: finish(by_dc),
        by_device: finish(by_device),
    }
}
